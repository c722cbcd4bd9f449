//! The rest of the JSON API: every operation of the web UI that the first API (`api.rs`) did
//! not have — the library's documents and clauses, the 公示 list and objections, 免申即享
//! offers, the review queue, applicants and their eligibility, budgets (write), import and
//! export, the calendar and notifications, and the plans. Each handler has the authorization of
//! the page or form it mirrors (`Session::require` / `Session::may_see`, or the store's own
//! checks, exactly as the page does).
//!
//! `document` completes the OpenAPI document: it merges these paths into `api.rs`'s and marks
//! every operation that is not in `PUBLIC` as needing the session cookie (and, for writes, the
//! `X-CSRF-Token` header), with a 401 response.

pub(crate) mod endpoints;

// Each feature's API lives with the feature; this module assembles them (routes and the OpenAPI
// document), above the features.
use crate::features::audit::api as audit;
use crate::features::budget::api as budgets;
use crate::features::calendar::api as calendar;
use crate::features::library::api as library;
use crate::features::notices::api as notices;
use crate::features::plans::api as plans;
use crate::features::review::api as review;
use crate::features::transfer::api as transfer;

pub(crate) use audit::AuditQuery;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};

/// Operations anyone may call without logging in (government open data: the library, the
/// calculator, the 公示 list, the calendar, the plans; and logging in itself). Every other
/// operation needs a session.
pub const PUBLIC: &[&str] = &[
    "measures",
    "eligibility",
    "login",
    "logout",
    "library_documents",
    "library_clauses",
    "library_measure",
    "public_notices",
    "lodge_objection",
    "calendar",
    "link_info",
    "use_link",
    "market_search",
    "market_listings",
    "market_listing",
    "listing_matches",
    "market_services",
];

/// Tag of the public operations in the OpenAPI document.
pub const PUBLIC_TAG: &str = "public";

pub fn routes() -> Router<crate::Platform> {
    Router::new()
        .route("/library/documents", get(library::library_documents))
        .route(
            "/library/documents/{doc}/clauses",
            get(library::library_clauses),
        )
        .route("/library/measures/{id}", get(library::library_measure))
        .route("/notices", get(notices::public_notices))
        .route("/notices/{id}/objections", post(notices::object_notice))
        .route("/offers", get(notices::offers))
        .route("/offers/{id}/confirm", post(notices::confirm_offer))
        .route("/offers/{id}/decline", post(notices::decline_offer))
        .route("/review", get(review::review_queue))
        .route("/applicants", get(review::applicants_list))
        .route(
            "/applicants/{id}/eligibility",
            get(review::applicant_eligibility),
        )
        .route("/budgets/levels", get(budgets::budget_levels))
        .route("/budgets/lines", post(budgets::set_budget))
        .route("/import/{table}", post(transfer::import_table))
        .route("/export/{table}", get(transfer::export_table))
        .route(
            "/jurisdiction",
            get(crate::features::overview::api::overview),
        )
        .route("/calendar", get(calendar::calendar))
        .route("/notifications", get(calendar::notifications))
        .route("/notifications/unread", get(calendar::notifications_unread))
        .route("/plans/tasks", get(plans::plan_tasks))
        .route("/plans/tasks.xlsx", get(plans::plan_tasks_xlsx))
        .merge(crate::features::notices::api_routes())
        .merge(crate::features::applications::materials::api_routes())
        .merge(crate::features::organisation::api::api_routes())
        .merge(crate::features::market::api::api_routes())
        .merge(crate::features::simulate::api::api_routes())
        .merge(crate::features::policy_admin::api::api_routes())
}

#[derive(OpenApi)]
#[openapi(
    paths(
        library::library_documents,
        library::library_clauses,
        library::library_measure,
        notices::public_notices,
        notices::object_notice,
        notices::offers,
        notices::confirm_offer,
        notices::decline_offer,
        review::review_queue,
        review::applicants_list,
        review::applicant_eligibility,
        budgets::budget_levels,
        budgets::set_budget,
        transfer::import_table,
        transfer::export_table,
        crate::features::overview::api::overview,
        calendar::calendar,
        calendar::notifications,
        calendar::notifications_unread,
        crate::features::plans::api_status,
        crate::features::plans::api_record_actual,
        crate::features::plans::api_record_progress,
        plans::plan_tasks,
        plans::plan_tasks_xlsx,
        crate::features::notices::lodge_api,
        crate::features::notices::objections_api,
        crate::features::applications::materials::materials_api,
        crate::features::applications::materials::upload_api,
        crate::features::applications::materials::answer_api,
        crate::features::applications::materials::account_api,
        crate::features::applications::materials::pledge_api,
        crate::features::applications::materials::download_api,
        crate::features::applications::materials::remove_api,
        crate::features::organisation::api::my_organisations,
        crate::features::organisation::api::switch_organisation,
        crate::features::organisation::api::organisation_users,
        crate::features::organisation::api::invite_user,
        crate::features::organisation::api::remove_user,
        crate::features::organisation::api::organisation_audit,
        crate::features::organisation::api::reset_link,
        crate::features::organisation::api::staff_users,
        crate::features::organisation::api::invite_staff_api,
        crate::features::organisation::api::link_info,
        crate::features::organisation::api::use_link_api,
        crate::features::market::api::search,
        crate::features::market::api::listings,
        crate::features::market::api::create,
        crate::features::market::api::listing,
        crate::features::market::api::update,
        crate::features::market::api::status,
        crate::features::market::api::review,
        crate::features::market::api::matches,
        crate::features::market::api::import,
        crate::features::market::api::export,
        crate::features::market::api::fairs,
        crate::features::market::api::create_fair,
        crate::features::market::api::fair,
        crate::features::market::api::add_fair_listings,
        crate::features::market::api::match_fair,
        crate::features::market::api::meeting,
        crate::features::market::api::contracts,
        crate::features::market::api::register,
        crate::features::market::api::stats,
        crate::features::market::api::settle,
        crate::features::market::api::services,
        crate::features::market::api::add_service,
        crate::features::market::api::vouchers,
        crate::features::market::api::issue,
        crate::features::market::api::order,
        crate::features::market::api::redeem,
        crate::features::market::api::relation,
        crate::features::simulate::api::knobs,
        crate::features::simulate::api::start,
        crate::features::simulate::api::runs,
        crate::features::simulate::api::one,
        crate::features::simulate::api::xlsx,
        crate::features::simulate::api::stop,
        crate::features::simulate::api::populations,
        crate::features::simulate::api::upload_population,
        crate::features::simulate::api::delete_population,
        crate::features::policy_admin::api::versions,
        crate::features::policy_admin::api::create,
        crate::features::policy_admin::api::one,
        crate::features::policy_admin::api::put_file,
        crate::features::policy_admin::api::delete_file,
        crate::features::policy_admin::api::check,
        crate::features::policy_admin::api::check_file,
        crate::features::policy_admin::api::submit,
        crate::features::policy_admin::api::approve,
        crate::features::policy_admin::api::return_draft,
        crate::features::policy_admin::api::discard,
        crate::features::policy_admin::api::cost,
        crate::features::policy_admin::api::compare,
        crate::features::policy_admin::api::skeleton,
        crate::features::policy_admin::api::decided,
    ),
    components(schemas(
        notices::ObjectionRequest,
        crate::features::notices::ObjectionForm,
        crate::features::applications::materials::FileBody,
        crate::features::applications::materials::MaterialsBody,
        crate::features::applications::materials::AnswerRequest,
        crate::features::applications::materials::AccountRequest,
        notices::ConfirmRequest,
        budgets::BudgetRequest,
        transfer::ImportReportBody,
        transfer::RowErrorBody,
        transfer::ImportErrorBody,
        crate::features::plans::ActualBody,
        crate::features::plans::ProgressBody,
        crate::features::organisation::api::SwitchRequest,
        crate::features::organisation::api::InviteRequest,
        crate::features::organisation::api::StaffInviteRequest,
        crate::features::organisation::api::UseLinkRequest,
        crate::features::market::api::NewListing,
        crate::features::market::api::ListingRowError,
        crate::features::market::api::ListingImportErrors,
        crate::features::market::api::StatusRequest,
        crate::features::market::api::ReviewRequest,
        crate::features::market::api::FairRequest,
        crate::features::market::api::FairListingsRequest,
        crate::features::market::api::MeetingRequest,
        crate::features::market::api::ContractRequest,
        crate::features::market::api::SettleRequest,
        crate::features::market::api::ServiceRequest,
        crate::features::market::api::VoucherRequest,
        crate::features::market::api::OrderRequest,
        crate::features::market::api::RedeemRequest,
        crate::features::market::api::RelationRequest,
        crate::features::simulate::api::KnobBody,
        crate::features::simulate::api::SimulationRunBody,
        crate::features::simulate::api::ChangeRequest,
        crate::features::simulate::api::SimulationRequest,
        crate::features::simulate::api::PopulationBody,
        crate::features::policy_admin::api::VersionBody,
        crate::features::policy_admin::api::CheckBody,
        crate::features::policy_admin::api::DraftRequest,
        crate::features::policy_admin::api::FileRequest,
        crate::features::policy_admin::api::ApproveRequest,
        crate::features::policy_admin::api::ReturnRequest,
        crate::features::policy_admin::api::SkeletonRequest,
        crate::features::policy_admin::api::RemoveRequest,
    ))
)]
struct ExtDoc;

/// The whole OpenAPI document: `api.rs`'s paths and these, with security marked.
pub fn document(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    doc.merge(ExtDoc::openapi());
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            crate::auth::SESSION_COOKIE,
            "Session cookie set by POST /api/login (HttpOnly, SameSite=Strict).",
        ))),
    );
    components.add_security_scheme(
        "csrf",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-CSRF-Token",
            "The `csrf` value returned by POST /api/login; required on every write.",
        ))),
    );
    let error = utoipa::openapi::ResponseBuilder::new()
        .description("not logged in: {code: \"unauthorized\", message}")
        .content(
            "application/json",
            utoipa::openapi::content::ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    let binary: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> =
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .into();
    for (path, item) in doc.paths.paths.iter_mut() {
        // One tag per area: the first segment after /api (library, applications, plans, …).
        let area = path
            .trim_start_matches("/api/")
            .split('/')
            .next()
            .unwrap_or("")
            .to_string();
        for (write, op) in [
            (false, &mut item.get),
            (true, &mut item.post),
            (true, &mut item.put),
            (true, &mut item.delete),
            (true, &mut item.patch),
        ] {
            let Some(op) = op else { continue };
            let id = op.operation_id.clone().unwrap_or_default();
            // Files (CSV, xlsx) are bytes, not JSON arrays of numbers.
            let bodies = op
                .request_body
                .iter_mut()
                .flat_map(|b| b.content.iter_mut());
            let answers = op.responses.responses.values_mut().flat_map(|r| match r {
                utoipa::openapi::RefOr::T(r) => Some(r.content.iter_mut()),
                _ => None,
            });
            for (ct, content) in bodies.chain(answers.flatten()) {
                if ct != "application/json" {
                    content.schema = Some(binary.clone());
                }
            }
            let public = PUBLIC.contains(&id.as_str());
            op.tags = Some(if public {
                vec![area.clone(), PUBLIC_TAG.to_string()]
            } else {
                vec![area.clone()]
            });
            if public {
                op.security = None;
                continue;
            }
            let mut need = SecurityRequirement::new("session", Vec::<String>::new());
            if write {
                need = need.add("csrf", Vec::<String>::new());
            }
            op.security = Some(vec![need]);
            op.responses
                .responses
                .entry("401".to_string())
                .or_insert_with(|| error.clone().into());
        }
    }
    doc
}

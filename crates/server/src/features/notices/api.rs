//! The 公示 list (public) and objections to it; 免申即享 offers and the applicant's 意愿确认.
//! Objections, confirmations and declines are workflow steps: the store checks the role and the
//! organisation through `kc_domain::transition`, exactly as for the application page's forms.

use crate::AppState;
use crate::api::{ApiResult, ApiSession, ErrorBody, app_json, body, csrf};
use crate::schemas::{ApplicationBody, NoticeBody};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use kc_domain::{Action, AppState as St};
use kc_store::ActArgs;
use serde::Deserialize;
use serde_json::{Value as J, json};
use utoipa::ToSchema;

/// The 公示 list: every application in public notice with applicant, measure, document and
/// clause, approved amount and the date the notice period ends, soonest first. Public.
#[utoipa::path(get, path = "/api/notices", operation_id = "public_notices",
    responses((status = 200, description = "the 公示 list", body = Vec<NoticeBody>)))]
pub(crate) async fn public_notices(State(st): State<AppState>) -> ApiResult<Json<J>> {
    let notices = st.store.public_notices().await?;
    Ok(Json(json!(
        notices
            .iter()
            .map(|n| {
                let m = st.lib.measure(&n.measure);
                json!({
                    "application": n.application, "applicant": n.applicant_id, "applicant_name": n.applicant_name,
                    "measure": n.measure, "title": m.map(|m| m.label.zh.clone()),
                    "document": m.map(|m| st.lib.documents[m.doc].number.clone()), "clause": m.map(|m| m.clause.id.clone()),
                    "amount": n.amount.plain(), "until": n.until,
                })
            })
            .collect::<Vec<_>>()
    )))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ObjectionRequest {
    /// Why (required): recorded as 公示异议:….
    reason: String,
}

/// Records an objection during 公示 (reviewers, admins): the commitment is reversed and the
/// application goes back to review.
#[utoipa::path(post, path = "/api/notices/{id}/objections", operation_id = "object_notice",
    params(("id" = String, Path, description = "application number")), request_body = ObjectionRequest,
    responses((status = 200, description = "the application after the step", body = ApplicationBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn object_notice(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let req: ObjectionRequest = body(&bytes)?;
    let args = ActArgs {
        reason: Some(req.reason).filter(|r| !r.trim().is_empty()),
        ..Default::default()
    };
    let a = st
        .store
        .act(&s.user.actor(), &id, Action::Object, args)
        .await?;
    Ok(Json(app_json(&a)))
}

/// 免申即享 offers waiting for 意愿确认: an applicant's own (staff: all).
#[utoipa::path(get, path = "/api/offers", operation_id = "offers",
    responses((status = 200, description = "applications in state offered", body = Vec<ApplicationBody>)))]
pub(crate) async fn offers(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> ApiResult<Json<J>> {
    let apps = st.store.applications(&s.user.actor(), None).await?;
    Ok(Json(json!(
        apps.iter()
            .filter(|a| a.state == St::Offered)
            .map(app_json)
            .collect::<Vec<_>>()
    )))
}

#[derive(Deserialize, ToSchema, Default)]
pub(crate) struct ConfirmRequest {
    /// Days of 公示 (default 7; within the configured range, 5 to 30 unless `serve --notice-days` sets another).
    notice_days: Option<i64>,
}

/// 意愿确认 (the applicant, for its own organisation): commits the engine's amount through the
/// same checks as an approval and starts the 公示. An empty body is allowed.
#[utoipa::path(post, path = "/api/offers/{id}/confirm", operation_id = "confirm_offer",
    params(("id" = String, Path, description = "application number")), request_body(content = ConfirmRequest, description = "optional"),
    responses((status = 200, description = "the application after the step", body = ApplicationBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn confirm_offer(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let req: ConfirmRequest = if bytes.is_empty() {
        ConfirmRequest::default()
    } else {
        body(&bytes)?
    };
    let args = ActArgs {
        notice_days: req.notice_days,
        ..Default::default()
    };
    let a = st
        .store
        .act(&s.user.actor(), &id, Action::ConfirmOffer, args)
        .await?;
    Ok(Json(app_json(&a)))
}

/// Declines an offer (the applicant, for its own organisation): the application is withdrawn.
#[utoipa::path(post, path = "/api/offers/{id}/decline", operation_id = "decline_offer",
    params(("id" = String, Path, description = "application number")),
    responses((status = 200, description = "the application after the step", body = ApplicationBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn decline_offer(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let a = st
        .store
        .act(
            &s.user.actor(),
            &id,
            Action::DeclineOffer,
            ActArgs::default(),
        )
        .await?;
    Ok(Json(app_json(&a)))
}

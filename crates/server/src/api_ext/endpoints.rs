//! The first endpoints of the JSON API — measures, eligibility, login, applicants, applications
//! and their steps, payments, budgets, audit — and the OpenAPI root they are documented under
//! (`/api/openapi.json`). Every error is `{code, message}` with a stable code; writes need the
//! session's CSRF token in the `X-CSRF-Token` header.

use crate::api::*;
use crate::auth::{self, MaybeSession};
use crate::guard::{self, ClientIp};
use crate::{AppError, AppState};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kc_store::{ActArgs, Actor};
use serde::Deserialize;
use serde_json::{Value as J, json};
use utoipa::{IntoParams, OpenApi, ToSchema};

pub fn routes() -> Router<crate::Platform> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/library/measures", get(measures))
        .route(
            "/eligibility",
            post(eligibility).layer(guard::body_limit(guard::MAX_CALC_BODY_BYTES)),
        )
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/applicants/{id}", get(applicant))
        .route("/applications", get(applications).post(create_application))
        .route("/applications/{id}", get(application))
        .route("/applications/{id}/actions", post(act))
        .route("/applications/{id}/payments", post(pay))
        .route("/budgets", get(budgets))
        .route("/audit", get(audit))
        .merge(crate::features::plans::api_routes())
        .merge(crate::api_ext::routes())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kechuang 科创 API",
        description = "S&T innovation policy as code: library, eligibility, applications, review, payments, budgets, audit."
    ),
    paths(
        measures,
        eligibility,
        login,
        logout,
        applicant,
        applications,
        create_application,
        application,
        act,
        pay,
        budgets,
        audit
    ),
    components(schemas(LoginRequest, NewApplication, ActRequest, PayRequest, ErrorBody))
)]
struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::api_ext::document(ApiDoc::openapi()))
}

/// The measures of the library with document, clause and amount rule.
#[utoipa::path(get, path = "/api/library/measures", responses((status = 200, description = "measures", body = Vec<Object>)))]
async fn measures(State(st): State<AppState>) -> Json<J> {
    let lib = &st.lib;
    Json(json!(lib.measures.iter().map(|m| json!({
        "measure": m.id, "title": m.label.zh, "title_en": m.label.en,
        "document": lib.documents[m.doc].number, "clause": m.clause.id, "clause_heading": m.clause.heading,
        "form": m.form.map(|f| f.zh()), "event": lib.vocab.events[m.event].name,
        "valid": [m.valid.0.to_string(), m.valid.1.to_string()],
    })).collect::<Vec<_>>()))
}

#[derive(Deserialize, IntoParams)]
struct Detail {
    /// `summary` (default): awards, possible and within-reach outcomes in full, the rest
    /// counted; `full`: every outcome with every condition (kechuang/eval-output/v1).
    detail: Option<String>,
}

/// Evaluates an applicant (kechuang/eval-input/v1) against the whole library: the 政策计算器.
/// Public: it reads no stored data. Bounded: at most 256 KiB of body, 200 events, 1,000
/// history entries and 8 MiB of response; callers without a session are rate-limited per
/// address (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/eligibility", params(Detail), request_body(content = Object, description = "kechuang/eval-input/v1 (docs/json.md)"),
    responses((status = 200, description = "kechuang/eval-output/v1", body = Object), (status = 400, body = ErrorBody),
        (status = 413, description = "over a limit of the calculator", body = ErrorBody), (status = 429, description = "rate limited", body = ErrorBody),
        (status = 503, description = "busy", body = ErrorBody)))]
async fn eligibility(
    State(st): State<AppState>,
    MaybeSession(session): MaybeSession,
    ip: ClientIp,
    Query(d): Query<Detail>,
    bytes: Bytes,
) -> ApiResult<Response> {
    if session.is_none() {
        st.guard.anon_calc(ip.0)?;
    }
    let full = match d.detail.as_deref() {
        Some("full") => true,
        None | Some("summary") => false,
        Some(other) => {
            return Err(AppError::BadRequest {
                code: "invalid",
                message: format!("detail: “{other}” (summary or full)"),
            }
            .into());
        }
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| AppError::BadRequest {
        code: "bad_json",
        message: "body is not UTF-8".into(),
    })?;
    let input = kc_wire::parse_input(&st.lib, text, None).map_err(|e| AppError::BadRequest {
        code: "invalid",
        message: e.to_string(),
    })?;
    if input.events.len() > guard::MAX_CALC_EVENTS {
        return Err(AppError::TooLarge(format!(
            "$.events:{} 个事件,超过政策计算器每次最多 {} 个 (too many events in one request)",
            input.events.len(),
            guard::MAX_CALC_EVENTS
        ))
        .into());
    }
    if input.history.len() > guard::MAX_CALC_HISTORY {
        return Err(AppError::TooLarge(format!(
            "$.history:{} 条已获支持记录,超过每次最多 {} 条 (too many history entries in one request)",
            input.history.len(),
            guard::MAX_CALC_HISTORY
        ))
        .into());
    }
    let lib = st.lib.clone();
    let body = st
        .guard
        .evaluate(move || {
            let ev = kc_eval::evaluate(&lib, &input);
            let out = if full {
                kc_wire::to_json(&lib, &input, &ev)
            } else {
                kc_wire::to_json_summary(&lib, &input, &ev)
            };
            serde_json::to_vec(&out)
        })
        .await?
        .map_err(|e| AppError::Internal(e.to_string()))?;
    if body.len() > guard::MAX_CALC_RESPONSE_BYTES {
        return Err(AppError::TooLarge(format!(
            "结果超过 {} 字节,请改用摘要 (?detail=summary) 或减少事件 (the response would exceed the limit)",
            guard::MAX_CALC_RESPONSE_BYTES
        ))
        .into());
    }
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Deserialize, ToSchema)]
struct LoginRequest {
    user: String,
    password: String,
}

/// Opens a session: sets the HttpOnly session cookie and returns the CSRF token for writes.
#[utoipa::path(post, path = "/api/login", request_body = LoginRequest,
    responses((status = 200, description = "logged in", body = Object), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(State(st): State<AppState>, ip: ClientIp, bytes: Bytes) -> ApiResult<Response> {
    let req: LoginRequest = body(&bytes)?;
    let s = auth::login(&st, ip, &req.user, &req.password).await?;
    let cookie = auth::session_cookie(&st, &s.id);
    let out = Json(
        json!({"user": s.user.id, "name": s.user.name, "role": s.user.role.code(), "applicant": s.user.applicant_id, "csrf": s.csrf}),
    );
    Ok(([(header::SET_COOKIE, cookie)], out).into_response())
}

/// Closes the session.
#[utoipa::path(post, path = "/api/logout", responses((status = 200, description = "logged out")))]
async fn logout(
    State(st): State<AppState>,
    MaybeSession(s): MaybeSession,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(s) = s {
        csrf(&s, &headers)?;
        st.store.delete_session(&s.id).await?;
    }
    Ok((
        [(header::SET_COOKIE, auth::clear_cookie(&st))],
        Json(json!({"ok": true})),
    )
        .into_response())
}

/// 一企一档: an applicant's profile, events, applications and ledger rows.
#[utoipa::path(get, path = "/api/applicants/{id}", params(("id" = String, Path, description = "统一社会信用代码")),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn applicant(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    s.may_see(&st.store, &id).await?;
    let profile = st.store.profile(&id).await?;
    let events = st.store.events_of(&id).await?;
    let apps = st.store.applications(&s.user.actor(), Some(&id)).await?;
    let ledger = st.store.ledger_of(&id).await?;
    Ok(Json(json!({
        "profile": profile, "events": events,
        "applications": apps.iter().map(app_json).collect::<Vec<_>>(),
        "ledger": ledger.iter().map(|r| json!({"application": r.application, "measure": r.measure, "entry": r.entry.code(), "level": r.level, "amount": r.amount.plain(), "at": r.at})).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize, IntoParams)]
struct ApplicantFilter {
    /// Only this applicant's (staff); applicants always see only their own.
    applicant: Option<String>,
}

/// Applications: an applicant's own, or (staff) all or one applicant's.
#[utoipa::path(get, path = "/api/applications", params(ApplicantFilter), responses((status = 200, body = Vec<crate::schemas::ApplicationBody>), (status = 401, body = ErrorBody)))]
async fn applications(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Query(f): Query<ApplicantFilter>,
) -> ApiResult<Json<J>> {
    let apps = st
        .store
        .applications(&s.user.actor(), f.applicant.as_deref())
        .await?;
    Ok(Json(json!(apps.iter().map(app_json).collect::<Vec<_>>())))
}

/// One application.
#[utoipa::path(get, path = "/api/applications/{id}", params(("id" = String, Path)), responses((status = 200, body = crate::schemas::ApplicationBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn application(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    Ok(Json(app_json(
        &st.store.application(&s.user.actor(), &id).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
struct NewApplication {
    applicant: String,
    measure: String,
    event: String,
}

/// Starts an application (applicants, for their own organisation).
#[utoipa::path(post, path = "/api/applications", request_body = NewApplication,
    responses((status = 200, body = crate::schemas::ApplicationBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_application(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let req: NewApplication = body(&bytes)?;
    let id = st
        .store
        .apply(&s.user.actor(), &req.applicant, &req.measure, &req.event)
        .await?;
    Ok(Json(app_json(
        &st.store.application(&s.user.actor(), &id).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
struct ActRequest {
    /// submit, start_review, request_material, approve, reject, withdraw, publish_notice,
    /// object, confirm_offer, decline_offer
    action: String,
    amount: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    missing: Vec<String>,
    notice_days: Option<i64>,
}

/// Takes a workflow step; approval checks the engine's cap, once-only rules, caps and budgets.
#[utoipa::path(post, path = "/api/applications/{id}/actions", params(("id" = String, Path)), request_body = ActRequest,
    responses((status = 200, body = crate::schemas::ApplicationBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn act(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let req: ActRequest = body(&bytes)?;
    let args = ActArgs {
        amount: req
            .amount
            .as_deref()
            .map(|a| money(a, "amount"))
            .transpose()?,
        reason: req.reason,
        missing: req.missing,
        notice_days: req.notice_days,
    };
    let a = st
        .store
        .act(&s.user.actor(), &id, parse_action(&req.action)?, args)
        .await?;
    Ok(Json(app_json(&a)))
}

#[derive(Deserialize, ToSchema)]
struct PayRequest {
    /// central, province, city, district, institution
    level: String,
    amount: String,
}

/// Records a payment of one level's part (finance).
#[utoipa::path(post, path = "/api/applications/{id}/payments", params(("id" = String, Path)), request_body = PayRequest,
    responses((status = 200, body = crate::schemas::ApplicationBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn pay(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let req: PayRequest = body(&bytes)?;
    let a = st
        .store
        .pay(
            &s.user.actor(),
            &id,
            &req.level,
            money(&req.amount, "amount")?,
        )
        .await?;
    Ok(Json(app_json(&a)))
}

/// Budgets: per measure and year, per level, budget / committed / paid and warnings.
#[utoipa::path(get, path = "/api/budgets", responses((status = 200, body = Vec<crate::schemas::BudgetLineBody>), (status = 403, body = ErrorBody)))]
async fn budgets(State(st): State<AppState>, ApiSession(s): ApiSession) -> ApiResult<Json<J>> {
    s.require_access(kc_domain::Access::Budgets)?;
    let mut out = Vec::new();
    let actor = s.user.actor();
    for (measure, year) in st.store.budget_keys().await? {
        for l in st
            .store
            .budget_status_for(&actor, &measure, year as i32)
            .await?
        {
            out.push(json!({
                "measure": measure, "year": year, "level": l.level, "jurisdiction": l.jurisdiction,
                "budget": l.budget_fen.map(|b| kc_domain::from_fen(b).plain()),
                "committed": kc_domain::from_fen(l.committed_fen).plain(), "paid": kc_domain::from_fen(l.paid_fen).plain(),
                "warning": l.warning(),
            }));
        }
    }
    Ok(Json(json!(out)))
}

/// The audit log, newest first (admins), filtered by actor, action, entity, id and time.
#[utoipa::path(get, path = "/api/audit", params(crate::api_ext::AuditQuery), responses((status = 200, body = Vec<Object>), (status = 403, body = ErrorBody)))]
async fn audit(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Query(q): Query<crate::api_ext::AuditQuery>,
) -> ApiResult<Json<J>> {
    s.require_access(kc_domain::Access::Audit)?;
    Ok(Json(json!(
        st.store.audit_for(&s.user.actor(), &q.filter()).await?
    )))
}

#[allow(dead_code)]
fn _actor_is_used(a: Actor) -> Actor {
    a
}

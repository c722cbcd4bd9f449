//! Staff views: the review queue, the list of applicants; and the calculator on a stored
//! applicant's record (with its ledger history).

use super::in_review_queue;
use crate::api::{ApiResult, ApiSession, ErrorBody, app_json};
use crate::schemas::{ApplicantBody, ApplicationBody};
use crate::{AppError, AppState};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value as J, json};
use utoipa::IntoParams;

/// The review queue (reviewers, finance, admins): applications from submission to 公示.
#[utoipa::path(get, path = "/api/review", operation_id = "review_queue",
    responses((status = 200, description = "applications in the queue", body = Vec<ApplicationBody>), (status = 403, body = ErrorBody)))]
pub(crate) async fn review_queue(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> ApiResult<Json<J>> {
    s.require_access(kc_domain::Access::AllApplicants)?;
    let apps = st.store.applications(&s.user.actor(), None).await?;
    Ok(Json(json!(
        apps.iter()
            .filter(|a| in_review_queue(a.state))
            .map(app_json)
            .collect::<Vec<_>>()
    )))
}

/// The applicants (申报主体; reviewers, finance, admins).
#[utoipa::path(get, path = "/api/applicants", operation_id = "applicants_list",
    responses((status = 200, description = "the applicants", body = Vec<ApplicantBody>), (status = 403, body = ErrorBody)))]
pub(crate) async fn applicants_list(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> ApiResult<Json<J>> {
    s.require_access(kc_domain::Access::AllApplicants)?;
    let list = st.store.applicants(&s.user.actor()).await?;
    Ok(Json(json!(
        list.iter()
            .map(|a| json!({"id": a.id, "name": a.name, "kind": a.kind, "region": a.region}))
            .collect::<Vec<_>>()
    )))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct EligibilityQuery {
    /// `summary` (default) or `full` (kechuang/eval-output/v1 with every outcome).
    detail: Option<String>,
}

/// The 政策计算器 on a stored applicant: its profile, all its events and the history read from
/// the ledger, as of today (an applicant: its own; staff: any).
#[utoipa::path(get, path = "/api/applicants/{id}/eligibility", operation_id = "applicant_eligibility",
    params(("id" = String, Path, description = "统一社会信用代码"), EligibilityQuery),
    responses((status = 200, description = "kechuang/eval-output/v1 (summary or full)", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn applicant_eligibility(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
    Query(q): Query<EligibilityQuery>,
) -> ApiResult<Json<J>> {
    s.may_see(&st.store, &id).await?;
    let today = st.store.today();
    let full = match q.detail.as_deref() {
        None | Some("summary") => false,
        Some("full") => true,
        Some(other) => {
            return Err(AppError::BadRequest {
                code: "invalid",
                message: format!("detail: “{other}” (summary or full)"),
            }
            .into());
        }
    };
    let doc = st.store.eval_input(&id, today).await?;
    let input = kc_wire::parse_input(&st.lib, &doc.to_string(), None).map_err(|e| {
        AppError::BadRequest {
            code: "invalid",
            message: e.to_string(),
        }
    })?;
    let ev = kc_eval::evaluate(&st.lib, &input);
    Ok(Json(if full {
        kc_wire::to_json(&st.lib, &input, &ev)
    } else {
        kc_wire::to_json_summary(&st.lib, &input, &ev)
    }))
}

//! 辖区概览 as JSON: a jurisdiction's applications by state (grouped by the jurisdiction
//! directly below it) and the shares of each measure by level and payer.

use crate::AppState;
use crate::api::{ApiResult, ApiSession, ErrorBody};
use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value as J, json};
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub(crate) struct OverviewParams {
    /// A jurisdiction inside the caller's own (a region code such as hunnan); default the
    /// caller's own, or the whole platform for staff of the whole platform.
    j: Option<String>,
}

/// The overview of a jurisdiction (reviewers, finance, admins; staff of a jurisdiction only
/// their own and the jurisdictions in it): applications by state per jurisdiction directly
/// below, and each measure's committed and paid amounts per level and paying jurisdiction.
#[utoipa::path(get, path = "/api/jurisdiction", operation_id = "jurisdiction_overview", params(OverviewParams),
    responses((status = 200, description = "the overview", body = Object), (status = 403, body = ErrorBody)))]
pub(crate) async fn overview(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Query(q): Query<OverviewParams>,
) -> ApiResult<Json<J>> {
    s.require_access(kc_domain::Access::AllApplicants)?;
    let o = st
        .store
        .overview(&s.user.actor(), q.j.as_deref().filter(|j| !j.is_empty()))
        .await?;
    Ok(Json(json!({
        "jurisdiction": o.jurisdiction,
        "by_state": o.by_state.iter().map(|(g, state, n)| json!({"jurisdiction": g, "state": state, "count": n})).collect::<Vec<_>>(),
        "shares": o.shares.iter().map(|(m, level, payer, c, p)| json!({
            "measure": m, "level": level, "payer": payer,
            "committed": kc_domain::from_fen(*c).plain(), "paid": kc_domain::from_fen(*p).plain(),
        })).collect::<Vec<_>>(),
    })))
}

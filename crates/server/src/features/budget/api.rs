//! Budgets: setting one (finance, admins; the store checks the role, as for the page's form)
//! and the committed and paid totals per government level (the 预算 page's first table).

use super::{budget_rows, by_level};
use crate::AppState;
use crate::api::{ApiResult, ApiSession, ErrorBody, body, csrf, money};
use crate::schemas::{BudgetLineBody, LevelBody};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value as J, json};
use utoipa::ToSchema;

/// Committed and paid per government level, over all measures and years (reviewers, finance,
/// admins).
#[utoipa::path(get, path = "/api/budgets/levels", operation_id = "budget_levels",
    responses((status = 200, description = "per level", body = Vec<LevelBody>), (status = 403, body = ErrorBody)))]
pub(crate) async fn budget_levels(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> ApiResult<Json<J>> {
    s.require_access(kc_domain::Access::Budgets)?;
    let rows = budget_rows(&st.store, &s.user.actor()).await?;
    Ok(Json(json!(
        by_level(&rows)
            .iter()
            .map(|((l, j), (c, p))| json!({"level": l, "jurisdiction": j, "committed": kc_domain::from_fen(*c).plain(), "paid": kc_domain::from_fen(*p).plain()}))
            .collect::<Vec<_>>()
    )))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct BudgetRequest {
    measure: String,
    year: i32,
    /// central, province, city, district, institution
    level: String,
    /// the jurisdiction whose budget this is (a region code such as hunnan, of the level's
    /// tier); staff of a jurisdiction set only their own and may leave it out; staff of the
    /// whole platform leave it out for a budget of the whole level
    jurisdiction: Option<String>,
    /// 元, at most two decimals, not negative
    amount: String,
}

/// Sets (or replaces) the budget of one measure, year and level (finance, admins); audited.
/// Returns the measure's budget lines for that year.
#[utoipa::path(post, path = "/api/budgets/lines", operation_id = "set_budget", request_body = BudgetRequest,
    responses((status = 200, description = "the measure's budget lines of that year", body = Vec<BudgetLineBody>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn set_budget(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let req: BudgetRequest = body(&bytes)?;
    let amount = money(&req.amount, "amount")?;
    let actor = s.user.actor();
    let jurisdiction = req.jurisdiction.clone().or(actor.jurisdiction.clone());
    st.store
        .set_budget_of(
            &actor,
            &req.measure,
            req.year,
            &req.level,
            jurisdiction.as_deref().filter(|j| !j.is_empty()),
            amount,
        )
        .await?;
    let lines = st
        .store
        .budget_status_for(&actor, &req.measure, req.year)
        .await?;
    Ok(Json(json!(
        lines
            .iter()
            .map(|l| json!({
                "measure": req.measure, "year": req.year, "level": l.level, "jurisdiction": l.jurisdiction,
                "budget": l.budget_fen.map(|b| kc_domain::from_fen(b).plain()),
                "committed": kc_domain::from_fen(l.committed_fen).plain(), "paid": kc_domain::from_fen(l.paid_fen).plain(),
                "warning": l.warning(),
            }))
            .collect::<Vec<_>>()
    )))
}

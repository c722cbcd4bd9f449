//! The per-unit task list (督办清单) of the plans, as JSON and as the xlsx download. Public,
//! like the pages.

use super::{UnitQuery, canonical, effective, unit_xlsx, units};
use crate::AppState;
use crate::api::{ApiResult, ApiSession, ErrorBody};
use crate::schemas::PlanTasksBody;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use kc_plans::milestone;
use serde_json::{Value as J, json};
use std::str::FromStr;

/// The units named in the plans, and (with `unit`) that unit's tasks as lead or co-operating
/// unit with each milestone's status (`done`, `late`, `open`) as of a date.
#[utoipa::path(get, path = "/api/plans/tasks", operation_id = "plan_tasks", params(UnitQuery),
    responses((status = 200, description = "units and tasks", body = PlanTasksBody)))]
pub(crate) async fn plan_tasks(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Query(q): Query<UnitQuery>,
) -> ApiResult<Json<J>> {
    s.require_access(kc_domain::Access::Plans)?;
    let lib = effective(&st, &s.user.actor()).await?;
    let at = q
        .date
        .as_deref()
        .and_then(|d| Date::from_str(d).ok())
        .unwrap_or_else(|| st.store.today());
    let unit = canonical(&lib, q.unit.as_deref());
    let mut tasks = Vec::new();
    for p in &lib.plans {
        for t in p
            .tasks
            .iter()
            .filter(|t| !unit.is_empty() && (t.lead == unit || t.co.contains(&unit)))
        {
            tasks.push(json!({
                "plan": p.id, "document": p.document, "number": t.number, "title": t.title,
                "role": if t.lead == unit { "lead" } else { "co" },
                "milestones": t.milestones.iter().map(|(y, text)| json!({
                    "year": y, "status": milestone(&lib, &p.id, &t.number, *y, at).code(), "text": text,
                })).collect::<Vec<_>>(),
            }));
        }
    }
    Ok(Json(json!({
        "units": units(&lib), "unit": (!unit.is_empty()).then_some(&unit), "as_of": at.to_string(), "tasks": tasks,
    })))
}

/// A unit's 督办清单 as an xlsx workbook (the page's download).
#[utoipa::path(get, path = "/api/plans/tasks.xlsx", operation_id = "plan_tasks_xlsx", params(UnitQuery),
    responses((status = 200, description = "the workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn plan_tasks_xlsx(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Query(q): Query<UnitQuery>,
) -> ApiResult<Response> {
    s.require_access(kc_domain::Access::Plans)?;
    let bytes = unit_xlsx(&st, &s.user.actor(), &q).await?;
    Ok((
        [
            (header::CONTENT_TYPE, crate::api::XLSX.to_string()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"duban.xlsx\"".to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}

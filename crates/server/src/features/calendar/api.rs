//! The 政策日历 (public): documents in force, expiring within 180 days, expired; and the
//! notifications of the logged-in user (the changes to its applications, from the audit log).

use super::{DocStatus, doc_status};
use crate::AppState;
use crate::api::{ApiResult, ApiSession};
use crate::labels::step_zh;
use crate::schemas::{CalendarBody, NotificationBody};
use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value as J, json};
use utoipa::IntoParams;

impl DocStatus {
    pub(crate) fn code(self) -> &'static str {
        match self {
            DocStatus::InForce => "in_force",
            DocStatus::Expiring => "expiring",
            DocStatus::Expired => "expired",
        }
    }
}

/// The policy calendar: every document with its validity, number of measures and status
/// (`in_force`, `expiring` within 180 days, `expired`) as of today (China Standard Time), and
/// every application window (申报期) with its dates and status (`open`, `upcoming`, `closed`).
#[utoipa::path(get, path = "/api/calendar", operation_id = "calendar",
    responses((status = 200, description = "the calendar", body = CalendarBody)))]
pub(crate) async fn calendar(State(st): State<AppState>) -> Json<J> {
    let today = st.store.today();
    let lib = &st.lib;
    Json(json!({
        "today": today.to_string(),
        "documents": lib.documents.iter().enumerate().map(|(di, d)| json!({
            "id": crate::labels::doc_id(d), "number": d.number, "title": d.title,
            "valid": [d.valid.0.to_string(), d.valid.1.to_string()],
            "measures": lib.measures.iter().filter(|m| m.doc == di).count(),
            "status": doc_status(d, today).code(),
        })).collect::<Vec<_>>(),
        "windows": lib.windows.iter().map(|w| json!({
            "id": w.id, "title": w.label.zh, "title_en": w.label.en, "document": lib.documents[w.doc].number,
            "applications": [w.applications.0.to_string(), w.applications.1.to_string()],
            "events": w.events.map(|(a, b)| vec![a.to_string(), b.to_string()]),
            "measures": w.measures.iter().map(|&mi| lib.measures[mi].id.clone()).collect::<Vec<_>>(),
            "status": if w.applications.1 < today { "closed" } else if w.applications.0 > today { "upcoming" } else { "open" },
        })).collect::<Vec<_>>(),
    }))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct NotificationQuery {
    /// at most this many (default 30, at most 500)
    limit: Option<i64>,
}

/// Notifications: the latest changes to the user's applications, newest first (an applicant's
/// own; staff: all).
#[utoipa::path(get, path = "/api/notifications", operation_id = "notifications", params(NotificationQuery),
    responses((status = 200, description = "newest first", body = Vec<NotificationBody>)))]
pub(crate) async fn notifications(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Query(q): Query<NotificationQuery>,
) -> ApiResult<Json<J>> {
    let notes = st
        .store
        .notifications(&s.user.actor(), q.limit.unwrap_or(30).clamp(1, 500))
        .await?;
    Ok(Json(json!(
        notes
            .iter()
            .map(|n| json!({
                "at": n.at, "application": n.application, "measure": n.measure, "action": n.action,
                "step": step_zh(&n.action, &n.origin), "origin": n.origin,
                "state": n.state.code(), "state_zh": n.state.zh(),
            }))
            .collect::<Vec<_>>()
    )))
}

/// How many notifications the caller has not seen in its inbox (the 通知 (N) of the menu);
/// `null` for a role without notifications (the plan office). Opening `/notifications` marks
/// them seen.
#[utoipa::path(get, path = "/api/notifications/unread", operation_id = "notifications_unread",
    responses((status = 200, description = "{unread: number | null}", body = Object), (status = 401, body = crate::api::ErrorBody)))]
pub(crate) async fn notifications_unread(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> ApiResult<Json<J>> {
    let n = st.store.unread_notifications(&s.user.actor()).await?;
    Ok(Json(json!({ "unread": n })))
}

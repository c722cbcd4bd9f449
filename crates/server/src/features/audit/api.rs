//! Filters of `GET /api/audit` (the handler is in `api.rs`).

use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub(crate) struct AuditQuery {
    /// `role:id`, e.g. `reviewer:wang`
    actor: Option<String>,
    /// e.g. `approve`, `pay`, `set_budget`, `record_actual`
    action: Option<String>,
    /// e.g. `application`, `applicant`, `budget`, `indicator`
    entity: Option<String>,
    /// e.g. an application number
    entity_id: Option<String>,
    /// at or after (ISO date or timestamp, China Standard Time)
    from: Option<String>,
    /// before (ISO date or timestamp)
    until: Option<String>,
    /// at most this many rows (default 500, at most 5000)
    limit: Option<i64>,
}

impl AuditQuery {
    pub(crate) fn filter(self) -> kc_store::AuditFilter {
        kc_store::AuditFilter {
            actor: self.actor,
            action: self.action,
            entity: self.entity,
            entity_id: self.entity_id,
            from: self.from,
            until: self.until,
            before_seq: None,
            limit: self.limit.unwrap_or(500).clamp(1, 5000),
        }
    }
}

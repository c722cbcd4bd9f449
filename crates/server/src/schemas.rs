//! Schemas of the answers, for the OpenAPI document only: the handlers build their JSON with
//! `json!`, and the contract test checks that every required field here is in the answer.

#![allow(dead_code)]

use utoipa::ToSchema;

/// An application (申请).
#[derive(ToSchema)]
pub(crate) struct ApplicationBody {
    /// application number, e.g. A2026-000001
    id: String,
    /// 统一社会信用代码
    applicant: String,
    measure: String,
    event: String,
    /// `application` or `offer` (免申即享)
    origin: String,
    /// draft, submitted, in_review, needs_material, approved, public_notice, disbursed,
    /// rejected, withdrawn, offered
    state: String,
    state_zh: String,
    /// the engine's amount at the last evaluation (元)
    computed: Option<String>,
    /// fixed, cap, review
    amount_kind: Option<String>,
    approved: Option<String>,
    reason: Option<String>,
    /// material requested, `;`-separated
    missing: Option<String>,
    notice_until: Option<String>,
}

/// A line of the 公示 list.
#[derive(ToSchema)]
pub(crate) struct NoticeBody {
    application: String,
    applicant: String,
    applicant_name: String,
    measure: String,
    title: Option<String>,
    /// document number
    document: Option<String>,
    clause: Option<String>,
    /// approved amount (元)
    amount: String,
    /// the last day of the notice period
    until: String,
}

/// One document changing another (修订, 延期, 废止).
#[derive(ToSchema)]
pub(crate) struct DocChangeBody {
    /// amends, extends, repeals
    kind: String,
    /// the number of the document that made the change
    by: String,
    /// from (amends, repeals) or to (extends)
    date: String,
}

/// A policy document.
#[derive(ToSchema)]
pub(crate) struct DocumentBody {
    /// the file name without `.md`, e.g. shenyang-2021-11
    id: String,
    number: String,
    title: String,
    issuer: Option<String>,
    issued: Option<String>,
    published: Option<String>,
    /// [from, until] in force, after other documents extended or repealed it
    valid: Vec<String>,
    /// [from, until] as the document itself declares
    declared_valid: Vec<String>,
    /// what other documents did to it, by date
    changes: Vec<DocChangeBody>,
    /// number of clauses
    clauses: usize,
    /// the measures' ids
    measures: Vec<String>,
}

/// A clause of a document.
#[derive(ToSchema)]
pub(crate) struct ClauseBody {
    /// e.g. (五)
    id: String,
    heading: String,
    /// the verbatim text
    quote: String,
    /// the measures that encode this clause
    measures: Vec<String>,
    /// why the clause holds no payment rule, when declared
    unpaid: Option<String>,
}

/// An applicant (申报主体) in a list.
#[derive(ToSchema)]
pub(crate) struct ApplicantBody {
    id: String,
    name: String,
    kind: String,
    region: String,
}

/// Committed and paid money of one government level.
#[derive(ToSchema)]
pub(crate) struct LevelBody {
    level: String,
    /// the jurisdiction paying the level (a region code such as hunnan); empty for a budget of
    /// the whole level
    jurisdiction: String,
    committed: String,
    paid: String,
}

/// A budget line: one measure, year and level.
#[derive(ToSchema)]
pub(crate) struct BudgetLineBody {
    measure: String,
    year: i64,
    level: String,
    /// the jurisdiction whose budget or commitments the line counts; empty for the whole level
    jurisdiction: String,
    /// none when no budget is set (no limit)
    budget: Option<String>,
    committed: String,
    paid: String,
    /// 70% / 90% warning
    warning: Option<String>,
}

/// A document in the policy calendar.
#[derive(ToSchema)]
pub(crate) struct CalendarDocument {
    id: String,
    number: String,
    title: String,
    valid: Vec<String>,
    measures: usize,
    /// in_force, expiring (within 180 days), expired
    status: String,
}

/// An application window (申报期): a call opening measures for applications.
#[derive(ToSchema)]
pub(crate) struct CalendarWindow {
    id: String,
    title: String,
    title_en: Option<String>,
    /// the number of the document (申报通知) that declares it
    document: String,
    /// first and last day applications are taken
    applications: Vec<String>,
    /// the period the events must fall in, if the call names one
    events: Option<Vec<String>>,
    /// the measures it opens
    measures: Vec<String>,
    /// open, upcoming, closed
    status: String,
}

/// The policy calendar.
#[derive(ToSchema)]
pub(crate) struct CalendarBody {
    today: String,
    documents: Vec<CalendarDocument>,
    windows: Vec<CalendarWindow>,
}

/// A change to an application.
#[derive(ToSchema)]
pub(crate) struct NotificationBody {
    at: String,
    application: String,
    measure: String,
    /// the step: submit, approve, pay, …; create for a new application or offer
    action: String,
    /// the step in Chinese
    step: String,
    origin: String,
    /// the application's state now
    state: String,
    state_zh: String,
}

/// A unit's tasks.
#[derive(ToSchema)]
pub(crate) struct PlanTasksBody {
    /// every unit named in the plans
    units: Vec<String>,
    unit: Option<String>,
    as_of: String,
    /// [{plan, document, number, title, role: lead|co, milestones: [{year, status, text}]}]
    tasks: Vec<serde_json::Value>,
}

/// `{ok: true}`
#[derive(ToSchema)]
pub(crate) struct OkBody {
    ok: bool,
}

//! Plans in the platform: the dashboard (indicators with status colours and a chart of actuals
//! against the path), the per-unit task list (督办清单), and the plan office's forms and API to
//! record indicator values and milestones (audited).

use crate::api::ApiSession;
use crate::auth::{CurrentSession, Lang, MaybeSession};
use crate::{AppError, AppState};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use jiff::civil::Date;
use kc_domain::Role;
use kc_money::Dec;
use kc_plans::{Actual, Done, Indicator, PlanLibrary, Status, judge, milestone};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value as J, json};
use std::collections::BTreeMap;
use std::str::FromStr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plans", get(dashboard))
        .route("/plans/tasks", get(tasks))
        .route("/plans/tasks.xlsx", get(tasks_xlsx))
        .route("/plans/actuals", post(record_actual_form))
        .route("/plans/progress", post(record_progress_form))
}

/// The plan API, nested under `/api` by the API router.
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/plans", get(api_status))
        .route("/plans/actuals", post(api_record_actual))
        .route("/plans/progress", post(api_record_progress))
}

pub(crate) fn today() -> Date {
    jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date()
}

/// The plan library with the progress recorded in the database added.
pub(crate) async fn effective(st: &AppState) -> Result<PlanLibrary, AppError> {
    let mut lib = (*st.plans).clone();
    let (actuals, progress) = st.store.plan_records().await?;
    for (indicator, value, date, source) in actuals {
        if let (Ok(value), Ok(date)) = (Dec::from_str(&value), Date::from_str(&date)) {
            lib.actuals.push(Actual {
                indicator,
                value,
                date,
                source,
            });
        }
    }
    for (task, year, done, source) in progress {
        if let (Ok(year), Ok(date)) = (year.parse::<i16>(), Date::from_str(&done)) {
            lib.done.push(Done {
                task,
                year,
                date,
                source,
            });
        }
    }
    Ok(lib)
}

fn status_colour(s: Status) -> &'static str {
    match s {
        Status::Achieved => "#1b7f3b",
        Status::OnTrack => "#2f6fb0",
        Status::AtRisk => "#c77700",
        Status::OffTrack => "#b71c1c",
        Status::NoData | Status::NoPath => "#627d98",
    }
}

/// A small chart: the straight path from baseline to target, and the actual values.
fn chart(ind: &Indicator, actuals: &[&Actual]) -> Markup {
    let (w, h, pad) = (220.0f64, 70.0f64, 6.0f64);
    let Some((b, t0)) = ind.baseline.or_else(|| {
        actuals
            .iter()
            .min_by_key(|a| a.date)
            .map(|a| (a.value, a.date))
    }) else {
        return html! { span.muted { "—" } };
    };
    let t1 = ind.deadline;
    let span_days = ((t1 - t0).get_days() as f64).max(1.0);
    let to_f = |d: Dec| d.to_string().parse::<f64>().unwrap_or(0.0);
    let mut lo = to_f(b).min(to_f(ind.target));
    let mut hi = to_f(b).max(to_f(ind.target));
    for a in actuals {
        lo = lo.min(to_f(a.value));
        hi = hi.max(to_f(a.value));
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let x = |d: Date| {
        pad + (w - 2.0 * pad) * (((d - t0).get_days() as f64) / span_days).clamp(0.0, 1.0)
    };
    let y = |v: f64| h - pad - (h - 2.0 * pad) * ((v - lo) / (hi - lo));
    html! {
        svg width=(w) height=(h) viewBox=(format!("0 0 {w} {h}")) role="img" aria-label="实际值与计划路径" {
            line x1=(x(t0)) y1=(y(to_f(b))) x2=(x(t1)) y2=(y(to_f(ind.target))) stroke="#9fb3c8" stroke-width="2" stroke-dasharray="4 3" {}
            circle cx=(x(t1)) cy=(y(to_f(ind.target))) r="3" fill="#9fb3c8" {}
            @for a in actuals { circle cx=(x(a.date)) cy=(y(to_f(a.value))) r="4" fill="#b71c1c" { title { (a.date) ": " (a.value.normalize()) } } }
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(crate) struct PlanQuery {
    /// one plan's id (default: all)
    plan: Option<String>,
    /// as of (YYYY-MM-DD; default today)
    date: Option<String>,
}

async fn dashboard(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
    Query(q): Query<PlanQuery>,
) -> Result<Response, AppError> {
    let lib = effective(&st).await?;
    let at = q
        .date
        .as_deref()
        .and_then(|d| Date::from_str(d).ok())
        .unwrap_or_else(today);
    let can_record = s
        .as_ref()
        .is_some_and(|s| matches!(s.role(), Role::PlanOffice | Role::Admin));
    let body = html! {
        form.card method="get" action="/plans" {
            label { (lang.t("评估日期", "As of")) " " input type="date" name="date" value=(at.to_string()); }
            button type="submit" { (lang.t("查看", "Show")) }
            " " a href="/plans/tasks" { (lang.t("督办清单(按单位)", "Task list by unit")) }
        }
        @for p in lib.plans.iter().filter(|p| q.plan.as_deref().is_none_or(|id| p.id == id)) {
            div.card.plan data-plan=(p.id) {
                h2 { (p.document) }
                p.muted { (p.issuer) " · " (p.period.0) " – " (p.period.1) " · " (p.indicators.len()) (lang.t(" 项指标, ", " indicators, ")) (p.tasks.len()) (lang.t(" 项任务", " tasks")) }
                @let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                @for i in &p.indicators { @let _ = counts.entry(judge(i, &lib.actuals_of(&p.id, &i.id), at).status.zh()).and_modify(|c| *c += 1).or_insert(1); }
                p { @for (k, v) in &counts { span.tag { (k) " " (v) } " " } }
                table {
                    tr { th { (lang.t("指标", "Indicator")) } th.num { (lang.t("目标", "Target")) } th { (lang.t("期限", "Deadline")) } th.num { (lang.t("实际", "Actual")) } th.num { (lang.t("应达", "Expected")) } th { (lang.t("状态", "Status")) } th { (lang.t("走势", "Path")) } }
                    @for i in &p.indicators {
                        @let acts = lib.actuals_of(&p.id, &i.id);
                        @let j = judge(i, &acts, at);
                        tr data-indicator=(format!("{}:{}", p.id, i.id)) {
                            td { (i.name) " " span.muted { (i.clause) } }
                            td.num { (i.target.normalize()) " " (i.unit) }
                            td { (i.deadline) }
                            td.num { @if let Some((v, d)) = j.actual { (v.normalize()) " " span.muted { (d) } } @else { "—" } }
                            td.num { (j.expected.map(|e| e.round_dp(2).normalize().to_string()).unwrap_or_else(|| "—".into())) }
                            td.status { span.tag style={"color:#fff;background:" (status_colour(j.status))} { (j.status.zh()) } }
                            td { (chart(i, &acts)) }
                        }
                    }
                }
            }
        }
        @if can_record {
            @let sess = s.as_ref().expect("checked");
            h2 { (lang.t("填报指标实际值", "Record an indicator value")) }
            form.card method="post" action="/plans/actuals" {
                input type="hidden" name="csrf" value=(sess.csrf);
                label { (lang.t("指标", "Indicator")) " " select name="indicator" { @for p in &lib.plans { @for i in &p.indicators { option value=(format!("{}:{}", p.id, i.id)) { (p.id) " · " (i.name) } } } } }
                label { (lang.t("数值", "Value")) " " input name="value" required; }
                label { (lang.t("日期", "Date")) " " input type="date" name="date" required; }
                label { (lang.t("来源", "Source")) " " input name="source" required; }
                button type="submit" { (lang.t("保存", "Save")) }
            }
            h2 { (lang.t("填报任务节点完成", "Record a milestone done")) }
            form.card method="post" action="/plans/progress" {
                input type="hidden" name="csrf" value=(sess.csrf);
                label { (lang.t("任务", "Task")) " " select name="task" { @for p in &lib.plans { @for t in &p.tasks { option value=(format!("{}:{}", p.id, t.number)) { (p.id) " · " (t.number) ". " (t.title) } } } } }
                label { (lang.t("年度", "Year")) " " input name="year" size="5" required; }
                label { (lang.t("完成日期", "Done on")) " " input type="date" name="done" required; }
                label { (lang.t("来源", "Source")) " " input name="source" required; }
                button type="submit" { (lang.t("保存", "Save")) }
            }
        }
    };
    Ok(crate::pages::render(
        lang,
        s.as_ref(),
        lang.t("计划与目标", "Plans and targets"),
        body,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(crate) struct UnitQuery {
    /// the unit (牵头或配合单位), as written in the plans
    pub(crate) unit: Option<String>,
    /// as of (YYYY-MM-DD; default today)
    pub(crate) date: Option<String>,
}

/// Every unit named as lead or co-operating unit of a task, sorted.
pub(crate) fn units(lib: &PlanLibrary) -> Vec<String> {
    let mut units: Vec<String> = lib
        .plans
        .iter()
        .flat_map(|p| {
            p.tasks
                .iter()
                .flat_map(|t| std::iter::once(t.lead.clone()).chain(t.co.iter().cloned()))
        })
        .collect();
    units.sort();
    units.dedup();
    units
}

async fn tasks(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
    Query(q): Query<UnitQuery>,
) -> Result<Response, AppError> {
    let lib = effective(&st).await?;
    let at = q
        .date
        .as_deref()
        .and_then(|d| Date::from_str(d).ok())
        .unwrap_or_else(today);
    let units = units(&lib);
    let unit = q.unit.clone().unwrap_or_default();
    let body = html! {
        form.card method="get" action="/plans/tasks" {
            label { (lang.t("单位", "Unit")) " " select name="unit" { @for u in &units { option value=(u) selected[*u == unit] { (u) } } } }
            button type="submit" { (lang.t("查看", "Show")) }
        }
        @if !unit.is_empty() {
            p { a href={"/plans/tasks.xlsx?unit=" (utf8_percent(&unit))} { (lang.t("导出 Excel 督办清单", "Download the report (.xlsx)")) } }
            table id="unit-tasks" {
                tr { th { (lang.t("计划", "Plan")) } th { (lang.t("任务", "Task")) } th { (lang.t("角色", "Role")) } th { (lang.t("节点", "Milestones")) } }
                @for p in &lib.plans { @for t in p.tasks.iter().filter(|t| t.lead == unit || t.co.contains(&unit)) {
                    tr {
                        td { (p.document) }
                        td { (t.number) ". " (t.title) }
                        td { (if t.lead == unit { lang.t("牵头", "lead") } else { lang.t("配合", "co-operate") }) }
                        td { @for (y, text) in &t.milestones { @let m = milestone(&lib, &p.id, &t.number, *y, at); div { span.tag { (y) " " (m.zh()) } " " span.muted { (text.chars().take(60).collect::<String>()) } } } }
                    }
                } }
            }
        }
    };
    Ok(crate::pages::render(
        lang,
        s.as_ref(),
        lang.t("督办清单", "Task list by unit"),
        body,
    ))
}

fn check_indicator(lib: &PlanLibrary, key: &str) -> Result<(), AppError> {
    let (p, i) = key.split_once(':').unwrap_or(("", ""));
    if lib
        .plans
        .iter()
        .any(|x| x.id == p && x.indicators.iter().any(|ind| ind.id == i))
    {
        Ok(())
    } else {
        Err(AppError::BadRequest {
            code: "invalid",
            message: format!("指标 indicator:没有“{key}”"),
        })
    }
}

fn check_task(lib: &PlanLibrary, key: &str) -> Result<(), AppError> {
    let (p, t) = key.split_once(':').unwrap_or(("", ""));
    if lib
        .plans
        .iter()
        .any(|x| x.id == p && x.tasks.iter().any(|task| task.number == t))
    {
        Ok(())
    } else {
        Err(AppError::BadRequest {
            code: "invalid",
            message: format!("任务 task:没有“{key}”"),
        })
    }
}

fn valid_date(s: &str, field: &str) -> Result<(), AppError> {
    match Date::from_str(s) {
        Ok(_) if s.len() == 10 => Ok(()),
        _ => Err(AppError::BadRequest {
            code: "invalid",
            message: format!("{field}:“{s}”不是有效日期 (YYYY-MM-DD)"),
        }),
    }
}

fn valid_value(s: &str) -> Result<String, AppError> {
    kc_money::parse_number(s)
        .map(|d| d.normalize().to_string())
        .map_err(|e| AppError::BadRequest {
            code: "invalid",
            message: format!("数值 value:“{s}”不是有效数字 (not a valid number): {e}"),
        })
}

#[derive(Deserialize)]
struct ActualForm {
    csrf: Option<String>,
    indicator: String,
    value: String,
    date: String,
    source: String,
}

async fn record_actual_form(
    CurrentSession(s): CurrentSession,
    State(st): State<AppState>,
    Form(f): Form<ActualForm>,
) -> Result<Response, AppError> {
    s.require_access(kc_domain::Access::RecordPlans)?;
    s.check_csrf(f.csrf.as_deref())?;
    check_indicator(&st.plans, &f.indicator)?;
    valid_date(&f.date, "日期 date")?;
    let v = valid_value(&f.value)?;
    st.store
        .record_plan_actual(&s.user.actor(), &f.indicator, &v, &f.date, f.source.trim())
        .await?;
    Ok(Redirect::to("/plans").into_response())
}

#[derive(Deserialize)]
struct ProgressForm {
    csrf: Option<String>,
    task: String,
    year: String,
    done: String,
    source: String,
}

async fn record_progress_form(
    CurrentSession(s): CurrentSession,
    State(st): State<AppState>,
    Form(f): Form<ProgressForm>,
) -> Result<Response, AppError> {
    s.require_access(kc_domain::Access::RecordPlans)?;
    s.check_csrf(f.csrf.as_deref())?;
    check_task(&st.plans, &f.task)?;
    valid_date(&f.done, "完成日期 done")?;
    let year: i64 = f.year.trim().parse().map_err(|_| AppError::BadRequest {
        code: "invalid",
        message: format!("年度 year:“{}”不是年份", f.year),
    })?;
    st.store
        .record_plan_progress(&s.user.actor(), &f.task, year, &f.done, f.source.trim())
        .await?;
    Ok(Redirect::to("/plans").into_response())
}

/// The plans with every indicator's status as of a date (计划; public, like the dashboard).
#[utoipa::path(get, path = "/api/plans", operation_id = "plan_status", params(PlanQuery),
    responses((status = 200, description = "[{plan, document, as_of, indicators: [{id, name, target, unit, deadline, actual, expected, status}]}]", body = Vec<Object>)))]
pub(crate) async fn api_status(
    State(st): State<AppState>,
    Query(q): Query<PlanQuery>,
) -> Result<Json<J>, crate::api::ApiError> {
    let lib = effective(&st).await?;
    let at = q
        .date
        .as_deref()
        .and_then(|d| Date::from_str(d).ok())
        .unwrap_or_else(today);
    Ok(Json(json!(lib.plans.iter().filter(|p| q.plan.as_deref().is_none_or(|id| p.id == id)).map(|p| json!({
        "plan": p.id, "document": p.document, "as_of": at.to_string(),
        "indicators": p.indicators.iter().map(|i| {
            let j = judge(i, &lib.actuals_of(&p.id, &i.id), at);
            json!({"id": i.id, "name": i.name, "target": i.target.normalize().to_string(), "unit": i.unit, "deadline": i.deadline.to_string(),
                   "actual": j.actual.map(|(v, d)| json!({"value": v.normalize().to_string(), "date": d.to_string()})),
                   "expected": j.expected.map(|e| e.round_dp(2).normalize().to_string()), "status": j.status.code()})
        }).collect::<Vec<_>>(),
    })).collect::<Vec<_>>())))
}

fn api_body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, AppError> {
    serde_json::from_slice(bytes).map_err(|e| AppError::BadRequest {
        code: "bad_json",
        message: format!("请求体无效 (invalid JSON body): {e}"),
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ActualBody {
    /// `plan:indicator`, e.g. `003:rd_intensity`
    indicator: String,
    value: String,
    date: String,
    source: String,
}

/// Records an indicator's actual value (plan office, admins); audited.
#[utoipa::path(post, path = "/api/plans/actuals", operation_id = "record_actual", request_body = ActualBody,
    responses((status = 200, description = "recorded", body = crate::api_ext::OkBody), (status = 400, body = crate::api::ErrorBody), (status = 403, body = crate::api::ErrorBody)))]
pub(crate) async fn api_record_actual(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<J>, crate::api::ApiError> {
    s.require_access(kc_domain::Access::RecordPlans)?;
    s.check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))?;
    let b: ActualBody = api_body(&bytes)?;
    check_indicator(&st.plans, &b.indicator)?;
    valid_date(&b.date, "date")?;
    let v = valid_value(&b.value)?;
    st.store
        .record_plan_actual(&s.user.actor(), &b.indicator, &v, &b.date, &b.source)
        .await?;
    Ok(Json(json!({"ok": true})))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct ProgressBody {
    /// `plan:task number`, e.g. `004:12`
    task: String,
    year: i64,
    done: String,
    source: String,
}

/// Records a task's milestone of a year done (plan office, admins); audited.
#[utoipa::path(post, path = "/api/plans/progress", operation_id = "record_progress", request_body = ProgressBody,
    responses((status = 200, description = "recorded", body = crate::api_ext::OkBody), (status = 400, body = crate::api::ErrorBody), (status = 403, body = crate::api::ErrorBody)))]
pub(crate) async fn api_record_progress(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<J>, crate::api::ApiError> {
    s.require_access(kc_domain::Access::RecordPlans)?;
    s.check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))?;
    let b: ProgressBody = api_body(&bytes)?;
    check_task(&st.plans, &b.task)?;
    valid_date(&b.done, "done")?;
    st.store
        .record_plan_progress(&s.user.actor(), &b.task, b.year, &b.done, &b.source)
        .await?;
    Ok(Json(json!({"ok": true})))
}

fn utf8_percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A unit's 督办清单 as an `.xlsx` download: its tasks (lead or co-operating) and milestones.
async fn tasks_xlsx(
    State(st): State<AppState>,
    Query(q): Query<UnitQuery>,
) -> Result<Response, AppError> {
    let bytes = unit_xlsx(&st, &q).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"duban.xlsx\"".to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The bytes of a unit's 督办清单 workbook (the page's download and the API's).
pub(crate) async fn unit_xlsx(st: &AppState, q: &UnitQuery) -> Result<Vec<u8>, AppError> {
    let lib = effective(st).await?;
    let at = q
        .date
        .as_deref()
        .and_then(|d| Date::from_str(d).ok())
        .unwrap_or_else(today);
    let unit = q
        .unit
        .clone()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| AppError::BadRequest {
            code: "invalid",
            message: "单位 unit:必填 (required)".into(),
        })?;
    let headers = kc_plans::UNIT_REPORT_HEADERS;
    let rows = kc_plans::unit_report(&lib, &unit, at);
    if rows.is_empty() {
        return Err(AppError::NotFound(format!("没有单位“{unit}”的任务")));
    }
    kc_tabular::xlsx_bytes("督办清单", &headers, &rows)
        .map_err(|e| AppError::Internal(e.to_string()))
}

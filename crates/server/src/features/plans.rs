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
use kc_money::Dec;
use kc_plans::{Actual, Done, Indicator, PlanLibrary, Status, judge, milestone};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value as J, json};
use std::str::FromStr;

pub mod api;

pub fn routes() -> Router<crate::Platform> {
    Router::new()
        .route("/plans", get(dashboard))
        .route("/plans/tasks", get(tasks))
        .route("/plans/tasks.xlsx", get(tasks_xlsx))
        .route("/plans/actuals", post(record_actual_form))
        .route("/plans/progress", post(record_progress_form))
}

/// The plan API, nested under `/api` by the API router.
pub fn api_routes() -> Router<crate::Platform> {
    Router::new()
        .route("/plans", get(api_status))
        .route("/plans/actuals", post(api_record_actual))
        .route("/plans/progress", post(api_record_progress))
}

/// The plan library with the progress recorded in the database added, holding the plans the
/// actor's jurisdiction takes part in (see `Store::sees_plan`).
pub(crate) async fn effective(
    st: &AppState,
    actor: &kc_store::Actor,
) -> Result<PlanLibrary, AppError> {
    let mut lib = (*st.plans).clone();
    lib.plans.retain(|p| st.store.sees_plan(actor, &p.region));
    let (actuals, progress) = st.store.plan_records().await?;
    // Oldest first: a later record for the same indicator and date supersedes (a correction),
    // also a value of the plan files.
    for (indicator, value, date, source) in actuals {
        if let (Ok(value), Ok(date)) = (Dec::from_str(&value), Date::from_str(&date)) {
            lib.add_actual(Actual {
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
        Status::AtRisk => "#a35f00",
        Status::OffTrack => "#b71c1c",
        Status::NoData | Status::NoPath => "#52667a",
    }
}

/// The chart's frame: a 480×200 view box, the plot inside these margins.
const CHART: (f64, f64) = (480.0, 200.0);
const PLOT_LEFT: f64 = 56.0;
const PLOT_RIGHT: f64 = 464.0;
const PLOT_TOP: f64 = 36.0;
const PLOT_BOTTOM: f64 = 168.0;

/// The y axis: from 0 (or below, for a rate that fell) to at least the highest value, in 3 to
/// 5 ticks of a round step (1, 2, 2.5 or 5 × 10ⁿ), exact decimals for the labels.
fn y_ticks(values: &[Dec]) -> Vec<Dec> {
    let lo = values.iter().copied().fold(Dec::ZERO, Dec::min);
    let mut hi = values.iter().copied().fold(Dec::ZERO, Dec::max);
    if hi == lo {
        hi = lo + Dec::ONE;
    }
    let range = hi - lo;
    // Start from a power of ten a little below range/4 and grow through the round steps.
    let mut unit = Dec::new(1, 6);
    while unit * Dec::from(10) <= range / Dec::from(4) {
        unit *= Dec::from(10);
    }
    let steps = [Dec::ONE, Dec::TWO, Dec::new(25, 1), Dec::from(5)];
    for _ in 0..40 {
        for m in steps {
            let step = unit * m;
            let first = (lo / step).floor();
            let last = (hi / step).ceil();
            if last - first <= Dec::from(4) {
                let n = (last - first)
                    .to_string()
                    .parse::<i64>()
                    .unwrap_or(4)
                    .max(2);
                return (0..=n)
                    .map(|k| ((first + Dec::from(k)) * step).normalize())
                    .collect();
            }
        }
        unit *= Dec::from(10);
    }
    vec![lo, hi]
}

fn f(d: Dec) -> f64 {
    d.to_string().parse::<f64>().unwrap_or(0.0)
}

/// Coordinates are written with one decimal.
fn c(v: f64) -> String {
    format!("{:.1}", v)
}

/// An indicator's chart (server-side SVG, responsive through its view box): years on the x
/// axis, 0 to the highest value on the y axis with the unit, the planned path (dashed, baseline
/// to target), the target marked, the actual values (solid, labelled) and a legend. `start` is
/// where the x axis begins when there is neither baseline nor actual (the plan's start).
pub(crate) fn chart(lang: Lang, ind: &Indicator, actuals: &[&Actual], start: Date) -> Markup {
    let mut acts: Vec<&Actual> = actuals.to_vec();
    acts.sort_by_key(|a| a.date);
    let t_min = ind
        .baseline
        .map(|b| b.1)
        .into_iter()
        .chain(acts.iter().map(|a| a.date))
        .min()
        .unwrap_or(start)
        .min(ind.deadline);
    let mut t_max = ind
        .deadline
        .max(acts.last().map(|a| a.date).unwrap_or(ind.deadline));
    if t_max <= t_min {
        t_max = t_min
            .checked_add(jiff::Span::new().days(365))
            .unwrap_or(t_max);
    }
    let days = ((t_max - t_min).get_days() as f64).max(1.0);
    let x =
        |d: Date| PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * (((d - t_min).get_days() as f64) / days);
    let mut values: Vec<Dec> = vec![ind.target];
    values.extend(ind.baseline.map(|b| b.0));
    values.extend(acts.iter().map(|a| a.value));
    let ticks = y_ticks(&values);
    let (lo, hi) = (f(ticks[0]), f(*ticks.last().unwrap_or(&Dec::ONE)));
    let y = |v: Dec| PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * ((f(v) - lo) / (hi - lo).max(1e-12));
    // Year ticks at each 31 December inside the axis (plan figures are year-end figures).
    let years: Vec<(i16, f64)> = (t_min.year()..=t_max.year())
        .filter_map(|yr| {
            let d = Date::new(yr, 12, 31).ok()?;
            (d >= t_min && d <= t_max).then(|| (yr, x(d)))
        })
        .collect();
    let unit = &ind.unit;
    let n = |d: Dec| d.normalize().to_string();
    let title = format!(
        "{}:目标 {} {}({}前)",
        ind.name,
        n(ind.target),
        unit,
        ind.deadline
    );
    let desc = match acts.last() {
        Some(a) => format!(
            "最新实际值 {} {}({});共 {} 个实际值。{}",
            n(a.value),
            unit,
            a.date,
            acts.len(),
            ind.baseline
                .map(|(b, d)| format!(
                    "计划路径:{} {}({})至 {} {}({})。",
                    n(b),
                    unit,
                    d,
                    n(ind.target),
                    unit,
                    ind.deadline
                ))
                .unwrap_or_else(|| "无基线,未画计划路径。".into())
        ),
        None => format!(
            "暂无实际值。{}",
            ind.baseline
                .map(|(b, d)| format!(
                    "计划路径:{} {}({})至 {} {}({})。",
                    n(b),
                    unit,
                    d,
                    n(ind.target),
                    unit,
                    ind.deadline
                ))
                .unwrap_or_else(|| "无基线,未画计划路径。".into())
        ),
    };
    let (tx, ty) = (x(ind.deadline), y(ind.target));
    let (w, h) = CHART;
    html! {
        svg.chart viewBox=(format!("0 0 {w} {h}")) width=(w) height=(h) role="img"
            preserveAspectRatio="xMidYMid meet" font-size="11" font-family="sans-serif" {
            title { (title) }
            desc { (desc) }
            // Legend.
            g.legend {
                line x1="60" y1="12" x2="84" y2="12" stroke="#627d98" stroke-width="2" stroke-dasharray="5 3" {}
                text x="88" y="16" { (lang.t("计划路径", "planned")) }
                circle cx="172" cy="12" r="4" fill="#b71c1c" {}
                text x="180" y="16" { (lang.t("实际", "actual")) }
                path d="M 250 7 L 255 12 L 250 17 L 245 12 Z" fill="#1b7f3b" {}
                text x="260" y="16" { (lang.t("目标", "target")) }
            }
            // Axes, grid and labels.
            g.y-axis {
                text x="4" y="28" fill="#486581" { (unit) }
                @for t in &ticks {
                    @let yy = c(y(*t));
                    line x1=(c(PLOT_LEFT)) y1=(yy) x2=(c(PLOT_RIGHT)) y2=(yy) stroke="#e4e7eb" {}
                    line x1=(c(PLOT_LEFT - 4.0)) y1=(yy) x2=(c(PLOT_LEFT)) y2=(yy) stroke="#486581" {}
                    text x=(c(PLOT_LEFT - 6.0)) y=(c(y(*t) + 4.0)) text-anchor="end" fill="#486581" { (n(*t)) }
                }
                line x1=(c(PLOT_LEFT)) y1=(c(PLOT_TOP)) x2=(c(PLOT_LEFT)) y2=(c(PLOT_BOTTOM)) stroke="#486581" {}
            }
            g.x-axis {
                line x1=(c(PLOT_LEFT)) y1=(c(PLOT_BOTTOM)) x2=(c(PLOT_RIGHT)) y2=(c(PLOT_BOTTOM)) stroke="#486581" {}
                @for (yr, xx) in &years {
                    line x1=(c(*xx)) y1=(c(PLOT_BOTTOM)) x2=(c(*xx)) y2=(c(PLOT_BOTTOM + 4.0)) stroke="#486581" {}
                    text x=(c(*xx)) y=(c(PLOT_BOTTOM + 16.0)) text-anchor="middle" fill="#486581" { (yr) }
                }
            }
            // The planned path, baseline → target.
            @if let Some((b, t0)) = ind.baseline {
                line.planned x1=(c(x(t0))) y1=(c(y(b))) x2=(c(tx)) y2=(c(ty)) stroke="#627d98" stroke-width="2" stroke-dasharray="5 3" {}
            }
            // The target.
            path.target d=(format!("M {} {} L {} {} L {} {} L {} {} Z", c(tx), c(ty - 6.0), c(tx + 6.0), c(ty), c(tx), c(ty + 6.0), c(tx - 6.0), c(ty))) fill="#1b7f3b" {
                title { (lang.t("目标", "target")) " " (n(ind.target)) " " (unit) " (" (ind.deadline) ")" }
            }
            text x=(c(tx - 8.0)) y=(c(ty - 8.0)) text-anchor="end" fill="#1b7f3b" { (n(ind.target)) }
            // The actual values, joined in date order.
            @if acts.len() > 1 {
                polyline.actual points=(acts.iter().map(|a| format!("{},{}", c(x(a.date)), c(y(a.value)))).collect::<Vec<_>>().join(" ")) fill="none" stroke="#b71c1c" stroke-width="2" {}
            }
            @for a in &acts {
                circle.actual cx=(c(x(a.date))) cy=(c(y(a.value))) r="4" fill="#b71c1c" { title { (a.date) ": " (n(a.value)) " " (unit) } }
                // A label at either end of the axis is anchored inwards, clear of the axes.
                @let (lx, anchor) = match x(a.date) {
                    v if v < PLOT_LEFT + 24.0 => (v + 4.0, "start"),
                    v if v > PLOT_RIGHT - 24.0 => (v - 4.0, "end"),
                    v => (v, "middle"),
                };
                text.actual x=(c(lx)) y=(c(y(a.value) - 8.0)) text-anchor=(anchor) fill="#b71c1c" { (n(a.value)) }
            }
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
    dashboard_view(s, lang, &st, q, None).await
}

/// A recording form that was refused: which form (an indicator's key, or `progress:PLAN`), why,
/// and what was typed, so the dashboard shows the reason beside that form with the input kept.
struct Refused {
    form: String,
    message: String,
    values: std::collections::BTreeMap<String, String>,
}

impl Refused {
    fn value(r: Option<&Refused>, k: &str) -> String {
        r.and_then(|r| r.values.get(k).cloned()).unwrap_or_default()
    }
}

async fn dashboard_view(
    s: Option<crate::auth::Session>,
    lang: Lang,
    st: &AppState,
    q: PlanQuery,
    refused: Option<Refused>,
) -> Result<Response, AppError> {
    let refused = refused.as_ref();
    s.as_ref()
        .ok_or(AppError::Unauthorized)?
        .require_access(kc_domain::Access::Plans)?;
    let actor = s
        .as_ref()
        .map(|s| s.user.actor())
        .ok_or(AppError::Unauthorized)?;
    let lib = effective(st, &actor).await?;
    let at = q
        .date
        .as_deref()
        .and_then(|d| Date::from_str(d).ok())
        .unwrap_or_else(|| st.store.today());
    let can_record = s
        .as_ref()
        .is_some_and(|s| s.role().may(kc_domain::Access::RecordPlans));
    let shown: Vec<&kc_plans::Plan> = lib
        .plans
        .iter()
        .filter(|p| q.plan.as_deref().is_none_or(|id| p.id == id))
        .collect();
    // Every indicator judged once: (plan, indicator, its actuals, judgement).
    let judged: Vec<Vec<(&Indicator, Vec<&Actual>, kc_plans::Judgement)>> = shown
        .iter()
        .map(|p| {
            p.indicators
                .iter()
                .map(|i| {
                    let acts = lib.actuals_of(&p.id, &i.id);
                    let j = judge(i, &acts, at);
                    (i, acts, j)
                })
                .collect()
        })
        .collect();
    let count = |rows: &[(&Indicator, Vec<&Actual>, kc_plans::Judgement)], st: Status| {
        rows.iter().filter(|r| r.2.status == st).count()
    };
    let all: Vec<(&Indicator, Vec<&Actual>, kc_plans::Judgement)> =
        judged.iter().flatten().cloned().collect();
    let badge = |st: Status| {
        html! { span.tag.status style={"color:#fff;background:" (status_colour(st))} data-status=(st.code()) { (lang.t(st.zh(), st.en())) } }
    };
    let body = html! {
        form.card method="get" action="/plans" {
            label { (lang.t("评估日期", "As of")) " " input type="date" name="date" value=(at.to_string()); }
            button type="submit" { (lang.t("查看", "Show")) }
            " " a href="/plans/tasks" { (lang.t("督办清单(按单位)", "Task list by unit")) }
        }
        div.card #status-counts {
            strong { (lang.t("指标状态", "Indicators by status")) " (" (all.len()) "):" }
            " "
            @for st in Status::ALL {
                @let k = count(&all, st);
                @if k > 0 { span.count data-status=(st.code()) { (badge(st)) " " (k) } " " }
            }
            p.muted { (lang.t("“暂无数据”表示尚未填报实际值,不等于滞后。", "“No data” means no actual value has been reported yet — not a shortfall.")) }
        }
        @for (p, rows) in shown.iter().zip(&judged) {
            div.card.plan data-plan=(p.id) id=(p.id) {
                h2 { (p.document) }
                p.muted { (p.issuer) " · " (p.period.0) " – " (p.period.1) " · " (p.indicators.len()) (lang.t(" 项指标, ", " indicators, ")) (p.tasks.len()) (lang.t(" 项任务", " tasks")) }
                p { @for st in Status::ALL { @let k = count(rows, st); @if k > 0 { (badge(st)) " " (k) " " } } }
                table {
                    tr { th { (lang.t("指标", "Indicator")) } th.num { (lang.t("目标", "Target")) } th { (lang.t("期限", "Deadline")) } th.num { (lang.t("实际", "Actual")) } th.num { (lang.t("应达", "Expected")) } th { (lang.t("状态", "Status")) } }
                    @for (i, acts, j) in rows {
                        @let key = format!("{}:{}", p.id, i.id);
                        tr data-indicator=(key) id=(key) {
                            td { (i.name) " " span.muted { (i.clause) } }
                            td.num { (i.target.normalize()) " " (i.unit) }
                            td { (i.deadline) }
                            td.num { @if let Some((v, d)) = j.actual { (v.normalize()) " " span.muted { (d) } } @else { "—" } }
                            td.num { (j.expected.map(|e| e.round_dp(2).normalize().to_string()).unwrap_or_else(|| "—".into())) }
                            td.status { (badge(j.status)) }
                        }
                        tr.detail data-detail=(key) {
                            td colspan="6" {
                                details.chart open[!acts.is_empty()] {
                                    summary { (lang.t("走势图", "Chart")) }
                                    (chart(lang, i, acts, p.period.0))
                                }
                                @if let Some(sess) = s.as_ref().filter(|_| can_record) {
                                    @let r = refused.filter(|r| r.form == key);
                                    details.record open[r.is_some()] {
                                        summary { (lang.t("填报实际值", "Record a value")) }
                                        form.record method="post" action="/plans/actuals" {
                                            @if let Some(r) = r { div.error.form-error role="alert" { (r.message) } }
                                            input type="hidden" name="csrf" value=(sess.csrf);
                                            input type="hidden" name="indicator" value=(key);
                                            label { (lang.t("数值", "Value")) " (" (i.unit) ") " input name="value" inputmode="decimal" required value=(Refused::value(r, "value")); }
                                            label { (lang.t("日期", "Date")) " " input type="date" name="date" min=(p.period.0.to_string()) max=(st.store.today().to_string()) required value=(Refused::value(r, "date")); }
                                            label { (lang.t("来源", "Source")) " " input name="source" required value=(Refused::value(r, "source")); }
                                            p.muted { (lang.t("同一日期再次填报即为更正,原值保留在审计日志中。", "Recording again for the same date corrects the value; the old one stays in the audit log.")) }
                                            button type="submit" { (lang.t("保存", "Save")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(sess) = s.as_ref().filter(|_| can_record && !p.tasks.is_empty()) {
                    @let r = refused.filter(|r| r.form == format!("progress:{}", p.id));
                    details.record open[r.is_some()] {
                        summary { (lang.t("填报任务节点完成", "Record a milestone done")) }
                        form.record method="post" action="/plans/progress" {
                            @if let Some(r) = r { div.error.form-error role="alert" { (r.message) } }
                            input type="hidden" name="csrf" value=(sess.csrf);
                            label { (lang.t("任务", "Task")) " " select name="task" { @for t in &p.tasks { @let v = format!("{}:{}", p.id, t.number); option value=(v) selected[Refused::value(r, "task") == v] { (t.number) ". " (t.title) } } } }
                            label { (lang.t("年度", "Year")) " " input name="year" size="5" required value=(Refused::value(r, "year")); }
                            label { (lang.t("完成日期", "Done on")) " " input type="date" name="done" required value=(Refused::value(r, "done")); }
                            label { (lang.t("来源", "Source")) " " input name="source" required value=(Refused::value(r, "source")); }
                            button type="submit" { (lang.t("保存", "Save")) }
                        }
                    }
                }
            }
        }
    };
    Ok(crate::layout::render(
        lang,
        s.as_ref(),
        lang.t("计划与目标", "Plans and targets"),
        body,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(crate) struct UnitQuery {
    /// the unit (牵头或配合单位): its canonical name or any alias (plans/units.md)
    pub(crate) unit: Option<String>,
    /// as of (YYYY-MM-DD; default today)
    pub(crate) date: Option<String>,
}

/// The canonical name of the unit asked for by any of its names (as asked if no unit has it;
/// empty if none was asked).
pub(crate) fn canonical(lib: &PlanLibrary, unit: Option<&str>) -> String {
    let unit = unit.unwrap_or("").trim();
    lib.canonical_unit(unit).unwrap_or(unit).to_string()
}

/// Every unit named as lead or co-operating unit of a task (canonical names), sorted.
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
    s.as_ref()
        .ok_or(AppError::Unauthorized)?
        .require_access(kc_domain::Access::Plans)?;
    let actor = s
        .as_ref()
        .map(|s| s.user.actor())
        .ok_or(AppError::Unauthorized)?;
    let lib = effective(&st, &actor).await?;
    let at = q
        .date
        .as_deref()
        .and_then(|d| Date::from_str(d).ok())
        .unwrap_or_else(|| st.store.today());
    let units = units(&lib);
    let unit = canonical(&lib, q.unit.as_deref());
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
    Ok(crate::layout::render(
        lang,
        s.as_ref(),
        lang.t("督办清单", "Task list by unit"),
        body,
    ))
}

/// Validates and records an indicator's value (the form's and the API's one path): a known
/// indicator, a number valid in its unit, a date within the plan and not after today. A value
/// for a date that already has one supersedes it (audited as a correction); returns the
/// superseded value.
async fn record_actual(
    st: &AppState,
    s: &crate::auth::Session,
    indicator: &str,
    value: &str,
    date: &str,
    source: &str,
) -> Result<Option<String>, AppError> {
    let (plan, ind) = st
        .plans
        .indicator(indicator)
        .ok_or_else(|| AppError::BadRequest {
            code: "invalid",
            message: format!("指标 indicator:没有“{indicator}”"),
        })?;
    valid_date(date, "日期 date")?;
    let v = valid_value(value)?;
    let (dv, dd) = (
        Dec::from_str(&v).map_err(|e| AppError::Internal(e.to_string()))?,
        Date::from_str(date).map_err(|e| AppError::Internal(e.to_string()))?,
    );
    kc_plans::check_actual(plan, ind, dv, dd, st.store.today()).map_err(|message| {
        AppError::BadRequest {
            code: "invalid",
            message,
        }
    })?;
    if source.trim().is_empty() {
        return Err(AppError::BadRequest {
            code: "invalid",
            message: "来源 source:必填 (required)".into(),
        });
    }
    let shipped = st
        .plans
        .actuals
        .iter()
        .find(|a| a.indicator == indicator && a.date == dd)
        .map(|a| a.value.normalize().to_string());
    Ok(st
        .store
        .record_plan_actual(
            &s.user.actor(),
            indicator,
            &v,
            date,
            source,
            shipped.as_deref(),
        )
        .await?)
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

/// The dashboard again with a refused form's reason beside it, under the error's status;
/// errors that are not the form's (not logged in, internal) go out as they are.
async fn refused_form(
    s: crate::auth::Session,
    lang: Lang,
    st: &AppState,
    plan: &str,
    form: String,
    e: AppError,
    values: std::collections::BTreeMap<String, String>,
) -> Result<Response, AppError> {
    if !matches!(e, AppError::BadRequest { .. } | AppError::Conflict { .. }) {
        return Err(e);
    }
    let status = e.status();
    let q = PlanQuery {
        plan: Some(plan.to_string()).filter(|p| !p.is_empty()),
        date: None,
    };
    let refused = Refused {
        form,
        message: e.message(),
        values,
    };
    let mut res = dashboard_view(Some(s), lang, st, q, Some(refused)).await?;
    *res.status_mut() = status;
    Ok(res)
}

async fn record_actual_form(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Form(f): Form<ActualForm>,
) -> Result<Response, AppError> {
    s.require_access(kc_domain::Access::RecordPlans)?;
    s.check_csrf(f.csrf.as_deref())?;
    let plan = f.indicator.split(':').next().unwrap_or("");
    if let Err(e) = record_actual(&st, &s, &f.indicator, &f.value, &f.date, f.source.trim()).await {
        let values = [
            ("value".to_string(), f.value.clone()),
            ("date".to_string(), f.date.clone()),
            ("source".to_string(), f.source.clone()),
        ]
        .into();
        return refused_form(s.clone(), lang, &st, plan, f.indicator.clone(), e, values).await;
    }
    Ok(Redirect::to(&format!(
        "/plans?plan={}#{}",
        utf8_percent(plan),
        utf8_percent(&f.indicator)
    ))
    .into_response())
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
    lang: Lang,
    State(st): State<AppState>,
    Form(f): Form<ProgressForm>,
) -> Result<Response, AppError> {
    s.require_access(kc_domain::Access::RecordPlans)?;
    s.check_csrf(f.csrf.as_deref())?;
    let done = async {
        check_task(&st.plans, &f.task)?;
        valid_date(&f.done, "完成日期 done")?;
        let year: i64 = f.year.trim().parse().map_err(|_| AppError::BadRequest {
            code: "invalid",
            message: format!("年度 year:“{}”不是年份", f.year),
        })?;
        st.store
            .record_plan_progress(&s.user.actor(), &f.task, year, &f.done, f.source.trim())
            .await?;
        Ok::<(), AppError>(())
    }
    .await;
    if let Err(e) = done {
        let plan = f.task.split(':').next().unwrap_or("").to_string();
        let values = [
            ("task".to_string(), f.task.clone()),
            ("year".to_string(), f.year.clone()),
            ("done".to_string(), f.done.clone()),
            ("source".to_string(), f.source.clone()),
        ]
        .into();
        return refused_form(
            s.clone(),
            lang,
            &st,
            &plan,
            format!("progress:{plan}"),
            e,
            values,
        )
        .await;
    }
    Ok(Redirect::to("/plans").into_response())
}

/// The plans with every indicator's status as of a date (计划; public, like the dashboard).
#[utoipa::path(get, path = "/api/plans", operation_id = "plan_status", params(PlanQuery),
    responses((status = 200, description = "[{plan, document, as_of, indicators: [{id, name, target, unit, deadline, actual, expected, status}]}]", body = Vec<Object>)))]
pub(crate) async fn api_status(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Query(q): Query<PlanQuery>,
) -> Result<Json<J>, crate::api::ApiError> {
    s.require_access(kc_domain::Access::Plans)?;
    let lib = effective(&st, &s.user.actor()).await?;
    let at = q
        .date
        .as_deref()
        .and_then(|d| Date::from_str(d).ok())
        .unwrap_or_else(|| st.store.today());
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
    responses((status = 200, description = "recorded", body = crate::schemas::OkBody), (status = 400, body = crate::api::ErrorBody), (status = 403, body = crate::api::ErrorBody)))]
pub(crate) async fn api_record_actual(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<J>, crate::api::ApiError> {
    s.require_access(kc_domain::Access::RecordPlans)?;
    s.check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))?;
    let b: ActualBody = api_body(&bytes)?;
    let superseded = record_actual(&st, &s, &b.indicator, &b.value, &b.date, &b.source).await?;
    Ok(Json(json!({"ok": true, "superseded": superseded})))
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
    responses((status = 200, description = "recorded", body = crate::schemas::OkBody), (status = 400, body = crate::api::ErrorBody), (status = 403, body = crate::api::ErrorBody)))]
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
    CurrentSession(s): CurrentSession,
    State(st): State<AppState>,
    Query(q): Query<UnitQuery>,
) -> Result<Response, AppError> {
    s.require_access(kc_domain::Access::Plans)?;
    let bytes = unit_xlsx(&st, &s.user.actor(), &q).await?;
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
pub(crate) async fn unit_xlsx(
    st: &AppState,
    actor: &kc_store::Actor,
    q: &UnitQuery,
) -> Result<Vec<u8>, AppError> {
    let lib = effective(st, actor).await?;
    let at = q
        .date
        .as_deref()
        .and_then(|d| Date::from_str(d).ok())
        .unwrap_or_else(|| st.store.today());
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

#[cfg(test)]
mod tests {
    use super::*;
    use kc_plans::Direction;

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn dec(s: &str) -> Dec {
        Dec::from_str(s).unwrap()
    }

    #[test]
    fn y_ticks_are_round_and_cover_the_values() {
        let t = |v: &[&str]| -> Vec<String> {
            y_ticks(&v.iter().map(|s| dec(s)).collect::<Vec<_>>())
                .iter()
                .map(|d| d.to_string())
                .collect()
        };
        // 2,000 in steps of 100, 200, 250 need more than 4 intervals; 500 needs 4.
        assert_eq!(
            t(&["2000", "1000", "1400"]),
            ["0", "500", "1000", "1500", "2000"]
        );
        // 2.3%: steps of 0.5 need 5 intervals, 1 needs 3.
        assert_eq!(t(&["2.3", "1.8"]), ["0", "1", "2", "3"]);
        // A rate that fell: −1.5 to 3 in steps of 2 (−2 … 4, 3 intervals).
        assert_eq!(t(&["-1.5", "3"]), ["-2", "0", "2", "4"]);
        // All zero: the axis is 0 to 1; a step of 0.2 needs 5 intervals, 0.25 needs 4.
        assert_eq!(t(&["0"]), ["0", "0.25", "0.5", "0.75", "1"]);
    }

    #[test]
    fn the_chart_of_a_hand_worked_indicator() {
        // Baseline 1,000 家 at 2018-12-31, target 2,000 at 2020-12-31 (731 days), an actual of
        // 1,400 at 2019-12-31. x: 56 + 408 × days/731, so 2019-12-31 (365 days) is at
        // 56 + 203.72 = 259.7. y: 0 … 2,000 over 168 … 36 (132 px), so 1,400 is at
        // 168 − 132 × 0.7 = 75.6, 1,000 at 102, 2,000 at 36.
        let ind = Indicator {
            id: "hte".into(),
            clause: "一、".into(),
            name: "高新技术企业数".into(),
            name_en: None,
            unit: "家".into(),
            scope: "city".into(),
            direction: Direction::Up,
            target: dec("2000"),
            deadline: day("2020-12-31"),
            baseline: Some((dec("1000"), day("2018-12-31"))),
        };
        let a = Actual {
            indicator: "p:hte".into(),
            value: dec("1400"),
            date: day("2019-12-31"),
            source: "s".into(),
        };
        let svg = chart(Lang(false), &ind, &[&a], day("2018-01-01")).into_string();
        assert!(svg.contains(r#"viewBox="0 0 480 200""#), "{svg}");
        assert!(
            svg.contains("<title>高新技术企业数:目标 2000 家(2020-12-31前)</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("<desc>最新实际值 1400 家(2019-12-31);共 1 个实际值。计划路径:1000 家(2018-12-31)至 2000 家(2020-12-31)。</desc>"),
            "{svg}"
        );
        // The actual point, labelled 8 px above.
        assert!(
            svg.contains(r#"<circle class="actual" cx="259.7" cy="75.6""#),
            "{svg}"
        );
        assert!(
            svg.contains(r##"<text class="actual" x="259.7" y="67.6" text-anchor="middle" fill="#b71c1c">1400</text>"##),
            "{svg}"
        );
        // The planned path, baseline → target, dashed.
        assert!(
            svg.contains(r#"<line class="planned" x1="56.0" y1="102.0" x2="464.0" y2="36.0""#),
            "{svg}"
        );
        // The target: a diamond around (464, 36).
        assert!(
            svg.contains(r#"d="M 464.0 30.0 L 470.0 36.0 L 464.0 42.0 L 458.0 36.0 Z""#),
            "{svg}"
        );
        // The x axis: a tick and label for each year end.
        for (yr, x) in [("2018", "56.0"), ("2019", "259.7"), ("2020", "464.0")] {
            assert!(
                svg.contains(&format!(
                    r##"<text x="{x}" y="184.0" text-anchor="middle" fill="#486581">{yr}</text>"##
                )),
                "{yr}: {svg}"
            );
        }
        // The y axis: five ticks 0 … 2,000 with their labels, and the unit.
        for (v, y) in [
            ("0", 172.0),
            ("500", 139.0),
            ("1000", 106.0),
            ("1500", 73.0),
            ("2000", 40.0),
        ] {
            assert!(
                svg.contains(&format!(
                    r##"<text x="50.0" y="{y:.1}" text-anchor="end" fill="#486581">{v}</text>"##
                )),
                "{v}: {svg}"
            );
        }
        assert!(svg.contains(r##"<text x="4" y="28" fill="#486581">家</text>"##));
        // The legend, Chinese first, English on request.
        for w in ["计划路径", "实际", "目标"] {
            assert!(svg.contains(&format!(">{w}</text>")), "{w}");
        }
        let en = chart(Lang(true), &ind, &[&a], day("2018-01-01")).into_string();
        assert!(en.contains(">planned</text>") && en.contains(">actual</text>"));
        // A point on the axis's first day is labelled inwards: 1,000 at (56, 102), label at 60.
        let b = Actual {
            value: dec("1000"),
            date: day("2018-12-31"),
            ..a.clone()
        };
        let two = chart(Lang(false), &ind, &[&a, &b], day("2018-01-01")).into_string();
        assert!(
            two.contains(r##"<text class="actual" x="60.0" y="94.0" text-anchor="start" fill="#b71c1c">1000</text>"##),
            "{two}"
        );
        assert!(
            two.contains(r#"<polyline class="actual" points="56.0,102.0 259.7,75.6""#),
            "joined in date order: {two}"
        );
        // No actual: no point, the path still drawn, and the description says so.
        let none = chart(Lang(false), &ind, &[], day("2018-01-01")).into_string();
        assert!(!none.contains("<circle class=\"actual\""));
        assert!(none.contains("<desc>暂无实际值。"), "{none}");
        assert!(none.contains(r#"<line class="planned" x1="56.0" y1="102.0""#));
    }
}

//! 预算执行: commitments and payments per measure, year and level against the budgets, and
//! setting a budget.

use crate::auth::{CurrentSession, Lang, Session};
use crate::forms::*;
use crate::labels::*;
use crate::layout::*;
use crate::{AppError, AppState};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use kc_domain::Access;
use maud::html;
use serde::Deserialize;
use std::collections::BTreeMap;

pub mod api;

/// The pages of this feature.
pub fn routes() -> Router<crate::Platform> {
    Router::new().route("/budget", get(budget).post(set_budget))
}

pub(crate) async fn budget(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    budget_page(&s, lang, &st, None).await
}

pub(crate) async fn budget_page(
    s: &Session,
    lang: Lang,
    st: &AppState,
    problem: Option<FormProblem>,
) -> PageResult {
    let p = FormProblem::for_form(problem.as_ref(), "set_budget");
    s.require_access(Access::Budgets)?;
    let actor = s.user.actor();
    let rows = budget_rows(&st.store, &actor).await?;
    let js = st.store.jurisdictions();
    let jname = |j: &str| -> String {
        if j.is_empty() {
            lang.t("全级次", "whole level").to_string()
        } else if lang.0 {
            js.get(j).map(|x| x.en.clone()).unwrap_or(j.to_string())
        } else {
            js.zh(j).to_string()
        }
    };
    let own = actor.jurisdiction.as_deref().and_then(|j| js.get(j));
    let by_level = by_level(&rows);
    let pct = |a: i64, b: i64| {
        if b <= 0 {
            0.0
        } else {
            (a as f64 / b as f64 * 100.0).min(100.0)
        }
    };
    let body = html! {
        @if let Some(j) = own {
            p.card.scope { (lang.t("本页为", "This page shows ")) strong { (jname(&j.code)) } (lang.t("辖区的预算与分担:本级预算及所辖区县的分担。", "'s budgets and shares: its own level and the jurisdictions in it.")) }
        }
        h2 { (lang.t("分级承担", "By level and jurisdiction")) }
        table id="shares" tabindex="0" aria-label=(lang.t("分级承担", "By level and jurisdiction")) {
            tr { th { (lang.t("级次", "Level")) } th { (lang.t("承担方", "Paid by")) } th.num { (lang.t("已承诺", "Committed")) } th.num { (lang.t("已拨付", "Paid")) } }
            @for ((l, j), (c, p)) in &by_level { tr { td { (level_in(lang, l)) } td.payer { (jname(j)) } td.num.committed { (yuan(kc_domain::from_fen(*c))) } td.num.paid { (yuan(kc_domain::from_fen(*p))) } } }
        }
        h2 { (lang.t("措施与年度", "By measure and year")) }
        table id="budgets" tabindex="0" aria-label=(lang.t("措施与年度的预算执行", "Budgets by measure and year")) {
            tr { th { (lang.t("措施", "Measure")) } th { (lang.t("年度", "Year")) } th { (lang.t("级次", "Level")) } th { (lang.t("承担方", "Paid by")) } th.num { (lang.t("预算", "Budget")) } th.num { (lang.t("已承诺", "Committed")) } th.num { (lang.t("已拨付", "Paid")) } th { (lang.t("执行", "Use")) } }
            @for (m, y, l) in &rows {
                tr {
                    td { (st.lib.measure(m).map(|x| x.label.zh.clone()).unwrap_or(m.clone())) }
                    td { (y) } td { (level_in(lang, &l.level)) } td.payer { (jname(&l.jurisdiction)) }
                    td.num { (l.budget_fen.map(|b| yuan(kc_domain::from_fen(b))).unwrap_or_else(|| "—".into())) }
                    td.num.committed { (yuan(kc_domain::from_fen(l.committed_fen))) }
                    td.num.paid { (yuan(kc_domain::from_fen(l.paid_fen))) }
                    td {
                        // Bars only against a budget: without one there is nothing to fill.
                        @if let Some(base) = l.budget_fen {
                            div.bar title=(lang.t("已承诺占预算", "committed of budget")) { span style={"width:" (format!("{:.0}", pct(l.committed_fen, base))) "%"} {} }
                            div.bar title=(lang.t("已拨付占预算", "paid of budget")) { span.paid style={"width:" (format!("{:.0}", pct(l.paid_fen, base))) "%"} {} }
                            span.muted { (lang.t("剩余 ", "left ")) (crate::labels::yuan_wan(kc_domain::from_fen(base - l.committed_fen))) }
                        } @else {
                            span.muted { (lang.t("未设预算", "no budget set")) }
                        }
                        @if let Some(w) = l.warning() { span.no { (w) } }
                    }
                }
            }
        }
        // A refusal for someone who has no form here (only finance and admin set budgets).
        @if !s.role().may(Access::SetBudget) { (problem_box(p)) }
        @if s.role().may(Access::SetBudget) {
            h2 { (lang.t("设置预算", "Set a budget")) }
            form.card id="set-budget" method="post" action="/budget" {
                (problem_box(p))
                (csrf_field(s))
                label { (lang.t("措施", "Measure")) " " select name="measure" { @for m in &st.lib.measures { option value=(m.id) selected[FormProblem::value(p, "measure").as_deref() == Some(m.id.as_str())] { (kc_eval::plain::label(&m.label, lang.0)) } } } }
                label { (lang.t("年度", "Year")) " " input name="year" size="5" value=(FormProblem::value(p, "year").unwrap_or_default()); }
                @if let Some(j) = own {
                    // A jurisdiction sets its own budget, of its own level.
                    input type="hidden" name="level" value=(j.tier.level());
                    span { (lang.t("级次 ", "Level ")) strong { (jname(&j.code)) " · " (level_in(lang, j.tier.level())) } }
                } @else {
                    label { (lang.t("级次", "Level")) " " select name="level" { @for l in ["city", "district", "province", "central"] { option value=(l) selected[FormProblem::value(p, "level").as_deref() == Some(l)] { (level_in(lang, l)) } } } }
                }
                label { (lang.t("金额(元)", "Amount (yuan)")) " " input name="amount" value=(FormProblem::value(p, "amount").unwrap_or_default()); }
                button type="submit" { (lang.t("保存", "Save")) }
            }
        }
    };
    page(lang, Some(s), lang.t("预算执行", "Budgets"), body)
}

#[derive(Deserialize)]
pub(crate) struct BudgetForm {
    csrf: Option<String>,
    measure: String,
    year: String,
    level: String,
    amount: Option<String>,
}

pub(crate) async fn set_budget(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Form(f): Form<BudgetForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let values: BTreeMap<String, String> = [
        ("measure".to_string(), f.measure.clone()),
        ("year".to_string(), f.year.clone()),
        ("level".to_string(), f.level.clone()),
        ("amount".to_string(), f.amount.clone().unwrap_or_default()),
    ]
    .into();
    match save_budget(&s, &st, f).await {
        Ok(()) => Ok(Redirect::to("/budget").into_response()),
        Err(e) => {
            let problem = FormProblem::from_error("set_budget", e, values)?;
            let status = problem.status;
            let mut res = budget_page(&s, lang, &st, Some(problem)).await?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

pub(crate) async fn save_budget(s: &Session, st: &AppState, f: BudgetForm) -> Result<(), AppError> {
    let year = f
        .year
        .trim()
        .parse::<i32>()
        .map_err(|_| AppError::BadRequest {
            code: "invalid",
            message: format!("年度 year:“{}”不是年份", f.year),
        })?;
    let amount = form_money(&f.amount, "预算金额 amount")?.ok_or_else(|| AppError::BadRequest {
        code: "invalid",
        message: "预算金额 amount:必填 (required)".into(),
    })?;
    st.store
        .set_budget(&s.user.actor(), &f.measure, year, &f.level, amount)
        .await?;
    Ok(())
}

/// Every budget line the actor sees: (measure, year, line), by measure and year.
pub(crate) async fn budget_rows(
    store: &kc_store::Store,
    actor: &kc_store::Actor,
) -> Result<Vec<(String, i64, kc_store::BudgetLine)>, AppError> {
    let mut rows = Vec::new();
    for (measure, year) in store.budget_keys().await? {
        for l in store
            .budget_status_for(actor, &measure, year as i32)
            .await?
        {
            rows.push((measure.clone(), year, l));
        }
    }
    Ok(rows)
}

/// Committed and paid fen per level and paying jurisdiction over all lines (分级承担).
pub(crate) fn by_level(
    rows: &[(String, i64, kc_store::BudgetLine)],
) -> BTreeMap<(String, String), (i64, i64)> {
    let mut out: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for (_, _, l) in rows {
        let e = out
            .entry((l.level.clone(), l.jurisdiction.clone()))
            .or_default();
        e.0 = e.0.saturating_add(l.committed_fen);
        e.1 = e.1.saturating_add(l.paid_fen);
    }
    out
}

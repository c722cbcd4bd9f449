//! 辖区概览: a jurisdiction's dashboard for its staff — its applications by state (a city's
//! grouped by district, its roll-up), each jurisdiction's share of each measure (committed
//! and paid), and its exports. Staff of the whole platform see it by province and may open
//! any jurisdiction; a city may open each of its districts; a district sees itself.

use crate::AppState;
use crate::auth::{CurrentSession, Lang};
use crate::labels::*;
use crate::layout::*;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use kc_domain::{Access, AppState as St};
use maud::html;
use serde::Deserialize;

pub mod api;

/// The pages of this feature.
pub fn routes() -> Router<crate::Platform> {
    Router::new().route("/jurisdiction", get(overview))
}

#[derive(Deserialize)]
pub(crate) struct OverviewQuery {
    /// A jurisdiction inside the caller's own (a region code such as hunnan).
    j: Option<String>,
}

pub(crate) async fn overview(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Query(q): Query<OverviewQuery>,
) -> PageResult {
    s.require_access(Access::AllApplicants)?;
    let actor = s.user.actor();
    let wanted = q.j.as_deref().filter(|j| !j.is_empty());
    let o = st.store.overview(&actor, wanted).await?;
    let js = st.store.jurisdictions();
    let name = |code: &str| -> String {
        match js.get(code) {
            Some(j) if lang.0 => j.en.clone(),
            Some(j) => j.zh.clone(),
            None => member_in(&st, lang, "Region", code),
        }
    };
    let title = match &o.jurisdiction {
        Some(j) => format!(
            "{} · {}",
            lang.t("辖区概览", "Jurisdiction overview"),
            name(j)
        ),
        None => format!(
            "{} · {}",
            lang.t("辖区概览", "Jurisdiction overview"),
            lang.t("全平台", "whole platform")
        ),
    };
    // The groups (rows) and the states that occur (columns), in workflow order.
    let mut groups: Vec<&str> = Vec::new();
    for (g, _, _) in &o.by_state {
        if !groups.contains(&g.as_str()) {
            groups.push(g);
        }
    }
    let states: Vec<St> = St::ALL
        .into_iter()
        .filter(|x| o.by_state.iter().any(|(_, c, _)| c == x.code()))
        .collect();
    let count = |g: &str, x: St| -> i64 {
        o.by_state
            .iter()
            .filter(|(gg, c, _)| gg == g && c == x.code())
            .map(|e| e.2)
            .sum()
    };
    let total = |x: St| -> i64 { groups.iter().map(|g| count(g, x)).sum() };
    // Jurisdictions one may open from here: those directly below the one shown.
    let below: Vec<String> = match &o.jurisdiction {
        Some(j) => js.children(j).iter().map(|c| c.code.clone()).collect(),
        None => js
            .all()
            .iter()
            .filter(|j| j.parent.is_none())
            .map(|j| j.code.clone())
            .collect(),
    };
    let here = o.jurisdiction.clone().unwrap_or_default();
    let export = |table: &str| {
        if here.is_empty() {
            format!("/api/export/{table}?format=xlsx")
        } else {
            format!("/api/export/{table}?format=xlsx&jurisdiction={here}")
        }
    };
    let body = html! {
        @if let Some(own) = &actor.jurisdiction {
            @if o.jurisdiction.as_deref() != Some(own.as_str()) {
                p { a href="/jurisdiction" { "← " (name(own)) } }
            }
        }
        h2 { (lang.t("申请情况", "Applications by state")) }
        @if groups.is_empty() {
            p.muted { (lang.t("暂无申请。", "No applications yet.")) }
        } @else {
            table id="by-state" {
                tr {
                    th { (lang.t("所在辖区", "Located in")) }
                    @for x in &states { th.num { (if lang.0 { code_en(x.code()) } else { x.zh() }) } }
                    th.num { (lang.t("合计", "Total")) }
                }
                @for g in &groups {
                    tr {
                        td {
                            @if below.iter().any(|b| b == g) { a href={"/jurisdiction?j=" (g)} { (name(g)) } }
                            @else { (name(g)) }
                        }
                        @for x in &states { td.num { (count(g, *x)) } }
                        td.num { (states.iter().map(|x| count(g, *x)).sum::<i64>()) }
                    }
                }
                @if groups.len() > 1 {
                    tr.total {
                        th { (lang.t("合计", "Total")) }
                        @for x in &states { th.num { (total(*x)) } }
                        th.num { (states.iter().map(|x| total(*x)).sum::<i64>()) }
                    }
                }
            }
        }
        h2 { (lang.t("各级分担", "Shares by level")) }
        @if o.shares.is_empty() {
            p.muted { (lang.t("暂无承诺或拨付。", "Nothing committed or paid yet.")) }
        } @else {
            table id="shares" {
                tr { th { (lang.t("措施", "Measure")) } th { (lang.t("级次", "Level")) } th { (lang.t("承担方", "Paid by")) } th.num { (lang.t("已承诺", "Committed")) } th.num { (lang.t("已拨付", "Paid")) } }
                @for (m, level, payer, c, p) in &o.shares {
                    tr {
                        td { (st.lib.measure(m).map(|x| kc_eval::plain::label(&x.label, lang.0).to_string()).unwrap_or(m.clone())) }
                        td { (level_in(lang, level)) }
                        td.payer { (name(payer)) }
                        td.num.committed { (yuan(kc_domain::from_fen(*c))) }
                        td.num.paid { (yuan(kc_domain::from_fen(*p))) }
                    }
                }
            }
        }
        p {
            a href="/budget" { (lang.t("预算执行", "Budgets")) } " · "
            a href=(export("applications")) { (lang.t("导出申请(xlsx)", "Export applications (xlsx)")) } " · "
            a href=(export("ledger")) { (lang.t("导出台账(xlsx)", "Export the ledger (xlsx)")) }
        }
    };
    page(lang, Some(&s), &title, body)
}

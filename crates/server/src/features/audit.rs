//! 审计日志: every change, in words, with filters and paging.

use crate::AppState;
use crate::auth::{CurrentSession, Lang};
use crate::labels::*;
use crate::layout::*;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use kc_domain::{Access, AppState as St, Role};
use kc_money::Money;
use maud::html;
use serde::Deserialize;
use serde_json::Value as J;

pub mod api;

/// The pages of this feature.
pub fn routes() -> Router<crate::Platform> {
    Router::new().route("/audit", get(audit))
}

#[derive(Deserialize, Default)]
pub(crate) struct AuditPageQuery {
    actor: Option<String>,
    action: Option<String>,
    entity: Option<String>,
    entity_id: Option<String>,
    from: Option<String>,
    until: Option<String>,
    before: Option<i64>,
}

pub(crate) const AUDIT_PAGE: i64 = 50;

/// Who did it, in words: `审核员 wang` for `reviewer:wang`.
pub(crate) fn actor_words(lang: Lang, actor: &str) -> String {
    match actor.split_once(':') {
        Some((role, who)) => match Role::parse(role) {
            Some(r) => format!(
                "{} {who}",
                if lang.0 {
                    r.code().replace('_', " ")
                } else {
                    role_zh(r).to_string()
                }
            ),
            None => actor.to_string(),
        },
        None => actor.to_string(),
    }
}

/// What an audit entry changed, in words: known fields by name, amounts in 元, states and
/// measures by their names. The exact record stays one click away for the auditor.
pub(crate) fn change_words(lang: Lang, st: &AppState, entity: &str, after: &str) -> String {
    let Ok(v) = serde_json::from_str::<J>(after) else {
        return after.chars().take(120).collect();
    };
    let money = |x: &J| match x {
        J::Number(n) => n.as_i64().map(|f| yuan(kc_domain::from_fen(f))),
        J::String(t) => Money::parse_amount(t).ok().map(yuan),
        _ => None,
    };
    if let (J::Number(_), "budget") = (&v, entity) {
        return format!(
            "{}{}",
            lang.t("预算 ", "budget "),
            money(&v).unwrap_or_default()
        );
    }
    let J::Object(o) = &v else {
        return String::new();
    };
    let mut out = Vec::new();
    for (k, x) in o {
        let text = x.as_str().unwrap_or("");
        let w = match k.as_str() {
            "state" => St::parse(text).map(|s| {
                format!(
                    "{}{}",
                    lang.t("状态 ", "state "),
                    if lang.0 { code_en(s.code()) } else { s.zh() }
                )
            }),
            "measure" => st
                .lib
                .measure(text)
                .map(|m| kc_eval::plain::label(&m.label, lang.0).to_string()),
            "approved_fen" | "computed_fen" | "amount_fen" => money(x).map(|m| {
                format!(
                    "{}{m}",
                    if k == "approved_fen" {
                        lang.t("批准 ", "approved ")
                    } else if k == "computed_fen" {
                        lang.t("计算 ", "computed ")
                    } else {
                        ""
                    }
                )
            }),
            "amount" => money(x).map(|m| format!("{}{m}", lang.t("金额 ", "amount "))),
            "level" => Some(format!(
                "{}{}",
                lang.t("级次 ", "level "),
                level_in(lang, text)
            )),
            "reason" if !text.is_empty() => Some(format!("{}{text}", lang.t("理由:", "reason: "))),
            "missing" if !text.is_empty() => {
                Some(format!("{}{text}", lang.t("需补正:", "missing: ")))
            }
            "notice_until" if !text.is_empty() => {
                Some(format!("{}{text}", lang.t("公示至 ", "notice until ")))
            }
            "origin" => Some(crate::labels::origin_in(lang, text).to_string()),
            "name" if !text.is_empty() => Some(text.to_string()),
            "value" | "actual" => Some(format!(
                "{}{}",
                lang.t("数值 ", "value "),
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            )),
            "date" if !text.is_empty() => Some(text.to_string()),
            _ => None,
        };
        out.extend(w);
    }
    out.join(lang.t(";", "; "))
}

pub(crate) async fn audit(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Query(q): Query<AuditPageQuery>,
) -> PageResult {
    s.require_access(Access::Audit)?;
    let nonempty = |x: &Option<String>| {
        x.clone()
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().to_string())
    };
    let filter = kc_store::AuditFilter {
        actor: nonempty(&q.actor),
        action: nonempty(&q.action),
        entity: nonempty(&q.entity),
        entity_id: nonempty(&q.entity_id),
        from: nonempty(&q.from),
        until: nonempty(&q.until).map(|u| {
            // "until 2026-11-30" means the whole day.
            jiff::civil::Date::strptime("%Y-%m-%d", &u)
                .ok()
                .and_then(|d| d.tomorrow().ok())
                .map(|d| d.to_string())
                .unwrap_or(u)
        }),
        before_seq: q.before,
        limit: AUDIT_PAGE + 1,
    };
    let mut log = st.store.audit_for(&s.user.actor(), &filter).await?;
    let more = log.len() as i64 > AUDIT_PAGE;
    log.truncate(AUDIT_PAGE as usize);
    // Applicants by name, their code beside it.
    let applicant_names = st
        .store
        .applicant_names(
            log.iter()
                .filter(|e| e["entity"] == "applicant")
                .filter_map(|e| e["entity_id"].as_str()),
        )
        .await?;
    let next = log.last().and_then(|e| e["seq"].as_i64());
    let keep = |k: &str, v: &Option<String>| {
        v.as_deref()
            .filter(|x| !x.is_empty())
            .map(|x| {
                format!(
                    "&{k}={}",
                    form_urlencoded::byte_serialize(x.as_bytes()).collect::<String>()
                )
            })
            .unwrap_or_default()
    };
    let carry = format!(
        "{}{}{}{}{}{}",
        keep("actor", &q.actor),
        keep("action", &q.action),
        keep("entity", &q.entity),
        keep("entity_id", &q.entity_id),
        keep("from", &q.from),
        keep("until", &q.until)
    );
    let sel = |cur: &Option<String>, v: &str| cur.as_deref() == Some(v);
    let body = html! {
        form.card.filters method="get" action="/audit" {
            label { (lang.t("操作人", "Who")) " " input name="actor" value=(q.actor.clone().unwrap_or_default()) placeholder=(lang.t("如 reviewer:wang", "e.g. reviewer:wang")); }
            label { (lang.t("操作", "What")) " " select name="action" { option value="" { (lang.t("全部", "all")) } @for a in crate::labels::AUDIT_ACTIONS { option value=(a) selected[sel(&q.action, a)] { (crate::labels::action_words(a, lang.0)) } } } }
            label { (lang.t("对象类型", "Record")) " " select name="entity" { option value="" { (lang.t("全部", "all")) } @for e in crate::labels::AUDIT_ENTITIES { option value=(e) selected[sel(&q.entity, e)] { (crate::labels::entity_words(e, lang.0)) } } } }
            label { (lang.t("对象编号(申请编号、统一社会信用代码…)", "Record id (application no., USCC …)")) " " input name="entity_id" value=(q.entity_id.clone().unwrap_or_default()); }
            label { (lang.t("自", "From")) " " input type="date" name="from" value=(q.from.clone().unwrap_or_default()); }
            label { (lang.t("至", "Until")) " " input type="date" name="until" value=(q.until.clone().unwrap_or_default()); }
            button type="submit" { (lang.t("筛选", "Filter")) } " " a href="/audit" { (lang.t("清除", "Clear")) }
        }
        @if log.is_empty() { p.muted { (lang.t("没有符合条件的记录。", "No entries match.")) } }
        table.cards.audit {
            tr { th { (lang.t("时间", "When")) } th { (lang.t("操作人", "Who")) } th { (lang.t("操作", "What")) } th { (lang.t("对象", "Record")) } th { (lang.t("变更", "Change")) } }
            @for e in &log {
                @let entity = e["entity"].as_str().unwrap_or("");
                @let after = e["after"].as_str().unwrap_or("");
                tr {
                    td { (readable_time(e["at"].as_str().unwrap_or(""))) }
                    td { (actor_words(lang, e["actor"].as_str().unwrap_or(""))) }
                    td { (crate::labels::action_words(e["action"].as_str().unwrap_or(""), lang.0)) }
                    td { (crate::labels::entity_words(entity, lang.0)) " "
                        @if entity == "application" { a href={"/applications/" (e["entity_id"].as_str().unwrap_or(""))} { (e["entity_id"].as_str().unwrap_or("")) } }
                        @else if entity == "applicant" {
                            @let code = e["entity_id"].as_str().unwrap_or("");
                            a href={"/applicants/" (code)} { (applicant_names.get(code).map(String::as_str).unwrap_or(code)) } " " span.muted.uscc { (code) } }
                        @else if entity == "indicator" {
                            @let key = e["entity_id"].as_str().unwrap_or("");
                            @match st.plans.indicator(key) {
                                Some((plan, ind)) => { (ind.name) " " span.muted { (plan.document) } }
                                None => (key),
                            }
                        }
                        @else { (e["entity_id"].as_str().unwrap_or("")) } }
                    td.wrap { (change_words(lang, &st, entity, after))
                        // The exact record, with its codes, is the API's (`GET /api/audit`), not the page's.
                    }
                }
            }
        }
        p.paging {
            @if q.before.is_some() { a href={"/audit?" (carry.trim_start_matches('&'))} { (lang.t("« 最新", "« Newest")) } " " }
            @if more { @if let Some(n) = next { a.next href={"/audit?before=" (n) (carry)} { (lang.t("更早的记录 »", "Older »")) } } }
        }
    };
    page(lang, Some(&s), lang.t("审计日志", "Audit log"), body)
}

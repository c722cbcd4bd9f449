//! 政策库: the documents and their measures, each measure with its clause, its conditions and
//! amount in words, and the rule code beside them.

use crate::auth::{Lang, MaybeSession};
use crate::labels::*;
use crate::layout::*;
use crate::{AppError, AppState};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use kc_check::ir::Measure;
use kc_domain::Role;
use maud::html;

pub mod api;

/// The pages of this feature.
pub fn routes() -> Router<crate::Platform> {
    Router::new()
        .route("/library", get(library))
        .route("/library/{measure}", get(measure_page))
}

pub(crate) fn amount_rule(m: &Measure) -> String {
    use kc_check::GrantRule;
    let one = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    match &m.grant {
        GrantRule::Fixed(n) => format!("定额 {}", one(&n.text)),
        GrantRule::UpTo(n) => format!("最高 {}", one(&n.text)),
        GrantRule::Review(None) => "评审确定".into(),
        GrantRule::Review(Some((a, b))) => format!("评审确定 {} – {}", a.text, b.text),
        GrantRule::Parts(ps) => ps
            .iter()
            .map(|(l, n)| format!("{} {}", l.zh(), one(&n.text)))
            .collect::<Vec<_>>()
            .join(" + "),
    }
}

pub(crate) async fn library(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    let lib = &st.lib;
    let body = html! {
        @for (di, d) in lib.documents.iter().enumerate() {
            div.card {
                h2 { (doc_name(d)) }
                p.muted { (d.issuer.clone().unwrap_or_default()) " · " (lang.t("有效期", "valid")) " " (d.valid.0) " – " (d.valid.1)
                    @for c in &d.changes { " · " (c.words(lang.0)) } }
                table {
                    tr { th { (lang.t("条款", "Clause")) } th { (lang.t("措施", "Measure")) } th { (lang.t("方式", "Form")) } th { (lang.t("金额规则", "Amount rule")) } }
                    @for m in lib.measures.iter().filter(|m| m.doc == di) {
                        tr {
                            td { (m.clause.id) }
                            td { a href={"/library/" (m.id)} { (if lang.0 { m.label.en.clone().unwrap_or(m.label.zh.clone()) } else { m.label.zh.clone() }) } }
                            td { (m.form.map(|f| if lang.0 { f.en() } else { f.zh() }).unwrap_or("")) }
                            td { (kc_eval::plain::grant_words(lib, m, lang.0)) }
                        }
                    }
                }
            }
        }
    };
    page(lang, s.as_ref(), lang.t("政策库", "Policy library"), body)
}

pub(crate) async fn measure_page(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    let lib = &st.lib;
    let m = lib
        .measure(&id)
        .ok_or_else(|| AppError::NotFound(format!("measure {id}")))?;
    let d = &lib.documents[m.doc];
    let en = lang.0;
    // Applicants read the conditions in words; the rule as written is one click away. Staff
    // see it open.
    let staff = s.as_ref().is_some_and(|x| x.role() != Role::Applicant);
    let body = html! {
        p.muted { (doc_name(d)) " · " (m.clause.heading) }
        div style="display:flex;flex-wrap:wrap;gap:1rem" {
            div.col { h2 { (lang.t("原文", "Source text")) } div.quote { (m.clause.quote) } }
            div.col {
                h2 { (lang.t("支持内容", "What it gives")) }
                table {
                    tr { th { (lang.t("金额", "Amount")) } td { (kc_eval::plain::grant_words(lib, m, en)) } }
                    tr { th { (lang.t("方式", "Form")) } td { (m.form.map(|f| if lang.0 { f.en() } else { f.zh() }).unwrap_or("")) } }
                    tr { th { (lang.t("触发事项", "Event")) } td { (kc_eval::plain::label(&lib.vocab.events[m.event].label, en)) } }
                    tr { th { (lang.t("有效期", "Valid")) } td { (m.valid.0) " – " (m.valid.1)
                        @if let Some(c) = &m.start_change { " " span.muted { "(" (lang.t("依", "under ")) (c.by) (lang.t("修订自 ", "'s amendment from ")) (c.date) (lang.t(" 起施行)", ")")) } }
                        @if let Some(c) = &m.end_change { " " span.muted { "(" (c.words(en)) ")" } } } }
                    @if let Some(p) = m.claim_within { tr { th { (lang.t("申请期限", "Claim within")) } td { (lang.t("事项发生后", "")) (p.words(en)) (lang.t("内", " of the event")) } } }
                    @let windows: Vec<&kc_check::Window> = lib.windows_of(st.lib.measure_index[&m.id]).collect();
                    @if !windows.is_empty() { tr { th { (lang.t("申报期", "Application windows")) } td { @for w in &windows { (kc_eval::plain::label(&w.label, en)) " " (w.applications.0) " – " (w.applications.1) br; } } } }
                    tr { th { (lang.t("资金分担", "Split")) } td { (kc_eval::plain::split_words(lib, m, en).join(lang.t(";", "; "))) } }
                }
                h2 { (lang.t("申报条件", "Conditions")) }
                ul.conditions {
                    @for i in 0..m.conditions.len() { li { (kc_eval::plain::condition_words(lib, m, i, en)) } }
                    @for o in &m.once {
                        li { @match o {
                            kc_check::ir::OnceRule::PerApplicant => (lang.t("每个申报主体仅支持一次", "once per applicant")),
                            kc_check::ir::OnceRule::PerKey(k) => { (lang.t("同一", "once per ")) (kc_eval::plain::words(lib, m, k, en)) (lang.t("仅支持一次", "")) }
                        } }
                    }
                    @if let Some(y) = m.consecutive { li { (lang.t(&format!("连续支持不超过{y}年"), &format!("at most {y} consecutive years"))) } }
                }
                details.rule-code open[staff] {
                    summary { (lang.t("规则代码", "Rule code")) }
                    pre.rule-code { (m.source) }
                }
            }
        }
    };
    page(lang, s.as_ref(), kc_eval::plain::label(&m.label, en), body)
}

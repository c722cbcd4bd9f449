//! 申报主体 and 一企一档: the list of applicants and one applicant's file (certifications,
//! events, applications, ledger).

use crate::AppState;
use crate::auth::{CurrentSession, Lang};
use crate::labels::*;
use crate::layout::*;
use crate::listing::*;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use kc_domain::Access;
use maud::html;

/// The pages of this feature.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/applicants", get(applicants))
        .route("/applicants/{id}", get(applicant))
}

pub(crate) async fn applicants(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    s.require_access(Access::AllApplicants)?;
    let list = st.store.applicants(&s.user.actor()).await?;
    let body = html! {
        table.cards {
            tr { th { (lang.t("名称", "Name")) } th { (lang.t("统一社会信用代码", "USCC")) } th { (lang.t("类型", "Kind")) } th { (lang.t("地区", "Region")) } }
            @for a in &list { tr { td { a href={"/applicants/" (a.id)} { (a.name) } } td.uscc { (a.id) } td { (member_in(&st, lang, "ApplicantKind", &a.kind)) } td { (member_in(&st, lang, "Region", &a.region)) } } }
        }
    };
    page(lang, Some(&s), lang.t("申报主体", "Applicants"), body)
}

pub(crate) async fn applicant(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    s.may_see(&st.store, &id).await?;
    let en = lang.0;
    let profile = st.store.profile(&id).await?;
    let events = st.store.events_of(&id).await?;
    let apps = st.store.applications(&s.user.actor(), Some(&id)).await?;
    let names = Names::of(&st, &apps).await?;
    let ledger = st.store.ledger_of(&id).await?;
    // 资质: the certifications of the record and those its events record (认定, 入库 …).
    let mut certs: Vec<(String, String)> = profile["certifications"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|x| {
                    (
                        member_in(&st, lang, "Certification", x["cert"].as_str().unwrap_or("")),
                        x["date"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    for e in &events {
        if let Some(c) = e["cert"].as_str() {
            certs.push((
                member_in(&st, lang, "Certification", c),
                e["date"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    certs.sort_by(|a, b| b.1.cmp(&a.1));
    certs.dedup();
    let body = html! {
        div.card {
            p { strong { (profile["name"].as_str().unwrap_or("")) } " · " span.uscc { (id) } " · " (member_in(&st, lang, "ApplicantKind", profile["kind"].as_str().unwrap_or(""))) " · " (member_in(&st, lang, "Region", profile["region"].as_str().unwrap_or(""))) }
            p { (lang.t("资质:", "Certifications: "))
                @if certs.is_empty() { span.muted { (lang.t("暂无记录", "none recorded")) } }
                @for (c, d) in &certs { span.tag { (c) " " (d) } " " } }
            p { a href={"/calculator?applicant=" (id)} { (lang.t("按本单位信息计算可享政策", "What this applicant can claim")) } }
        }
        h2 { (lang.t("事项", "Events")) }
        table.cards { tr { th { (lang.t("事项(类型 · 日期 · 要点)", "Event (kind · date · details)")) } }
            @for e in &events { tr {
                td { (crate::labels::event_words(&st.lib, e["kind"].as_str().unwrap_or(""), e["date"].as_str().unwrap_or(""), e, en)) } } } }
        h2 { (lang.t("申请与支持", "Applications and awards")) }
        (app_rows(lang, &st, &apps, &names))
        h2 { (lang.t("资金台账", "Ledger")) }
        table.cards { tr { th { (lang.t("申请", "Application")) } th { (lang.t("类型", "Entry")) } th { (lang.t("级次", "Level")) } th.num { (lang.t("金额", "Amount")) } th { (lang.t("时间", "When")) } }
            @for r in &ledger { tr { td { a href={"/applications/" (r.application)} { (r.application) } } td { (entry_in(lang, r.entry.code())) } td { (level_in(lang, &r.level)) } td.num { (yuan(r.amount)) } td { (readable_time(&r.at)) } } } }
    };
    page(lang, Some(&s), lang.t("一企一档", "Applicant file"), body)
}

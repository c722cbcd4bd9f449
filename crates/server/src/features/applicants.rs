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
pub fn routes() -> Router<crate::Platform> {
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
    let words = |table: &'static [(&'static str, &'static str, &'static str)], code: &str| {
        let (zh, en) = kc_store::market::label(table, code);
        lang.t(zh, en).to_string()
    };
    // 科技大市场: its listings, the contracts it is a party of, its vouchers (each as the
    // reader may see them).
    let actor = s.user.actor();
    let listings = st
        .store
        .listings(
            Some(&actor),
            &kc_store::market::ListingFilter {
                owner: Some(id.clone()),
                ..Default::default()
            },
        )
        .await?;
    let contracts: Vec<_> = st
        .store
        .contracts(&actor, None)
        .await?
        .into_iter()
        .filter(|c| {
            c.seller_id == id || c.buyer_id == id || c.broker_id.as_deref() == Some(id.as_str())
        })
        .collect();
    let vouchers: Vec<_> = st
        .store
        .vouchers(&actor)
        .await?
        .into_iter()
        .filter(|v| v.applicant_id == id)
        .collect();
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
        h2 #market { (lang.t("科技大市场", "S&T market")) }
        @if listings.is_empty() && contracts.is_empty() && vouchers.is_empty() {
            p.muted { (lang.t("暂无成果、需求、技术合同或创新券。", "No achievements, demands, contracts or vouchers.")) }
        }
        @if !listings.is_empty() {
            table.cards #file-listings { tr { th { (lang.t("成果与需求", "Achievements and demands")) } th { (lang.t("状态", "Status")) } }
                @for l in &listings { tr { td { a href={"/market/listings/" (l.id)} { (l.title) } } td { (words(l.statuses(), &l.status)) " · " (words(kc_store::market::REVIEW_STATES, &l.review)) } } } }
        }
        @if !contracts.is_empty() {
            table.cards #file-contracts { tr { th { (lang.t("技术合同", "Technology contracts")) } th { (lang.t("登记日期", "Registered")) } th.num { (lang.t("成交额", "Amount")) } }
                @for c in &contracts { tr { td { (c.reg_no) " " (c.title) } td { (c.registered_on) } td.num { (yuan(c.amount)) } } } }
        }
        @if !vouchers.is_empty() {
            table.cards #file-vouchers { tr { th { (lang.t("创新券", "Vouchers")) } th.num { (lang.t("额度", "Quota")) } th.num { (lang.t("已兑付", "Redeemed")) } }
                @for v in &vouchers { tr { td { a href="/market/vouchers" { (v.year) " " (v.id) } } td.num { (yuan(v.quota)) } td.num { (yuan(v.redeemed)) } } } }
        }
        h2 { (lang.t("资金台账", "Ledger")) }
        table.cards { tr { th { (lang.t("申请", "Application")) } th { (lang.t("类型", "Entry")) } th { (lang.t("级次", "Level")) } th.num { (lang.t("金额", "Amount")) } th { (lang.t("时间", "When")) } }
            @for r in &ledger { tr { td { a href={"/applications/" (r.application)} { (r.application) } } td { (entry_in(lang, r.entry.code())) } td { (level_in(lang, &r.level)) } td.num { (yuan(r.amount)) } td { (readable_time(&r.at)) } } } }
    };
    page(lang, Some(&s), lang.t("一企一档", "Applicant file"), body)
}

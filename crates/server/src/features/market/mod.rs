//! 科技大市场 (the S&T market): search over achievements and demands, each listing's page with
//! the matches and their reasons, posting and editing by owners with the staff's light
//! review, "matches for me", the 对接会 workspace, technology-contract registration and
//! innovation vouchers. The market is where the engine's contract and voucher events come
//! from: a registration or a redemption here opens the application the policy allows.

use crate::auth::{CurrentSession, Lang, MaybeSession, Session};
use crate::forms::*;
use crate::layout::*;
use crate::{AppError, AppState};
use axum::Router;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use kc_market::{Maturity, Side};
use kc_store::market::contracts::{CONTRACT_TYPES, ContractInput};
use kc_store::market::fairs::OUTCOMES;
use kc_store::market::vouchers::SERVICE_CATEGORIES;
use kc_store::market::{
    ListingFilter, ListingInput, ListingView, REVIEW_STATES, TRANSFER_MODES, label, market_staff,
};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;

pub mod api;

/// The pages of this feature.
pub fn routes() -> Router<crate::Platform> {
    Router::new()
        .route("/market", get(home))
        .route("/market/new", get(new_listing))
        .route("/market/listings", post(create_listing))
        .route(
            "/market/listings/{id}",
            get(listing_page).post(update_listing),
        )
        .route("/market/listings/{id}/edit", get(edit_listing))
        .route("/market/listings/{id}/status", post(listing_status))
        .route("/market/listings/{id}/review", post(review_listing))
        .route("/market/mine", get(mine))
        .route("/market/review", get(review_queue))
        .route("/market/fairs", get(fairs).post(create_fair))
        .route("/market/fairs/{id}", get(fair_page))
        .route("/market/fairs/{id}/import", post(fair_import))
        .route("/market/fairs/{id}/match", post(fair_match))
        .route("/market/fairs/{id}/meetings", post(fair_meeting))
        .route("/market/contracts", get(contracts).post(register_contract))
        .route("/market/contracts/settle", post(settle_contracts))
        .route("/market/vouchers", get(vouchers))
        .route("/market/services", post(add_service))
        .route("/market/vouchers/issue", post(issue_voucher))
        .route("/market/orders", post(order_service))
        .route("/market/orders/{id}/redeem", post(redeem_order))
        .route("/market/relations", post(declare_relation))
}

fn side_words(lang: Lang, side: Side) -> &'static str {
    match side {
        Side::Achievement => lang.t("科技成果", "Achievement"),
        Side::Demand => lang.t("技术需求", "Demand"),
    }
}

fn field_words(lang: Lang, code: &str) -> String {
    kc_market::field(code)
        .map(|f| lang.t(f.zh, f.en).to_string())
        .unwrap_or_else(|| code.to_string())
}

fn maturity_words(lang: Lang, m: Maturity) -> &'static str {
    match m {
        Maturity::Lab => lang.t("实验室", "Laboratory"),
        Maturity::SmallPilot => lang.t("小试", "Small pilot"),
        Maturity::Pilot => lang.t("中试", "Pilot"),
        Maturity::Industrial => lang.t("产业化", "Industrial"),
    }
}

fn words(lang: Lang, table: &[(&str, &str, &str)], code: &str) -> String {
    let (zh, en) = label(table, code);
    if zh.is_empty() {
        code.to_string()
    } else {
        lang.t(zh, en).to_string()
    }
}

fn region_words(st: &AppState, lang: Lang, code: &str) -> String {
    crate::labels::member_in(st, lang, "Region", code)
}

fn status_words(lang: Lang, l: &ListingView) -> String {
    words(lang, l.statuses(), &l.status)
}

/// One listing in a list: its title (linked), side, field, region, maturity, price, state.
fn listing_row(st: &AppState, lang: Lang, l: &ListingView) -> Markup {
    listing_row_with(st, lang, l, html! {})
}

/// The same list item with more below it (a search hit's terms, a match's reasons): inside the
/// `li`, since an `li` directly in an `li` (or a `div` directly in a `ul`) breaks the list.
fn listing_row_with(st: &AppState, lang: Lang, l: &ListingView, more: Markup) -> Markup {
    html! {
        li.listing data-id=(l.id) {
            span.tag { (side_words(lang, l.side)) } " "
            a href={"/market/listings/" (l.id)} { (l.title) } " "
            span.muted {
                (l.owner_name) " · " (field_words(lang, &l.field)) " · " (region_words(st, lang, &l.region))
                @if let Some(m) = l.maturity { " · " (maturity_words(lang, m)) }
                @if let Some(p) = l.price { " · " (match l.side { Side::Achievement => lang.t("报价 ", "price "), Side::Demand => lang.t("预算 ", "budget ") }) (crate::labels::yuan_wan(p)) }
                " · " (status_words(lang, l))
                @if !l.is_public() { " · " strong { (words(lang, REVIEW_STATES, &l.review)) } }
            }
            (more)
        }
    }
}

/// Whether the actor may list: an organisation's account, or the market staff (the store's rule
/// in `create_listing`); others (finance, planners) are not offered the form.
fn may_list(a: &kc_store::Actor) -> bool {
    (a.role == kc_domain::Role::Applicant && a.applicant.is_some()) || market_staff(a)
}

fn nav(lang: Lang, s: Option<&Session>) -> Markup {
    let staff = s.is_some_and(|s| market_staff(&s.user.actor()));
    let lister = s.is_some_and(|s| may_list(&s.user.actor()));
    html! {
        nav.card.market-nav aria-label=(lang.t("科技大市场", "S&T market")) {
            a href="/market" { (lang.t("搜索", "Search")) }
            @if lister {
                " · " a href="/market/new?side=demand" { (lang.t("发布技术需求", "Post a demand")) }
                " · " a href="/market/new?side=achievement" { (lang.t("发布科技成果", "List an achievement")) }
            }
            @if s.is_some() {
                " · " a href="/market/mine" { (lang.t("我的发布与匹配", "My listings and matches")) }
                " · " a href="/market/contracts" { (lang.t("技术合同登记", "Contract registration")) }
                " · " a href="/market/vouchers" { (lang.t("创新券", "Innovation vouchers")) }
            }
            @if staff {
                " · " a href="/market/review" { (lang.t("待审核", "Review queue")) }
                " · " a href="/market/fairs" { (lang.t("对接会", "Matchmaking events")) }
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    q: Option<String>,
    side: Option<String>,
}

pub(crate) async fn home(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> PageResult {
    let actor = s.as_ref().map(|s| s.user.actor());
    let query = q.q.clone().unwrap_or_default();
    let side = match q.side.as_deref() {
        Some("achievement") => Some(Side::Achievement),
        Some("demand") => Some(Side::Demand),
        _ => None,
    };
    let hits = st
        .store
        .market_search(actor.as_ref(), &query, side, 30)
        .await?;
    let recent = if query.trim().is_empty() {
        st.store
            .listings(actor.as_ref(), &ListingFilter::default())
            .await?
            .into_iter()
            .filter(|l| l.is_public())
            .take(30)
            .collect()
    } else {
        Vec::new()
    };
    let body = html! {
        (nav(lang, s.as_ref()))
        form.card #market-search method="get" action="/market" role="search" {
            label { (lang.t("搜索成果与需求", "Search achievements and demands")) " "
                input name="q" size="40" value=(query) placeholder=(lang.t("如:焊缝开裂、AGV、锂电回收", "e.g. weld cracks, AGV, battery recycling"));
            }
            label { (lang.t("范围", "In")) " "
                select name="side" {
                    option value="" { (lang.t("全部", "Both")) }
                    option value="achievement" selected[side == Some(Side::Achievement)] { (lang.t("科技成果", "Achievements")) }
                    option value="demand" selected[side == Some(Side::Demand)] { (lang.t("技术需求", "Demands")) }
                }
            }
            button type="submit" { (lang.t("搜索", "Search")) }
        }
        @if !query.trim().is_empty() {
            h2 { (lang.t("搜索结果", "Results")) }
            @if hits.is_empty() {
                p.muted #no-hits { (lang.t("没有找到相关的成果或需求。可换个说法,或发布需求等待匹配。", "Nothing found. Try other words, or post a demand and wait for matches.")) }
            } @else {
                ul #hits {
                    @for h in &hits {
                        (listing_row_with(&st, lang, &h.listing, html! {
                            @if !h.terms.is_empty() { div.muted { (lang.t("命中词:", "Matched: ")) (h.terms.join("、")) } }
                        }))
                    }
                }
            }
        } @else {
            h2 { (lang.t("最新发布", "Latest")) }
            @if recent.is_empty() { p.muted { (lang.t("暂无发布。", "Nothing listed yet.")) } }
            ul #recent { @for l in &recent { (listing_row(&st, lang, l)) } }
        }
    };
    page(lang, s.as_ref(), lang.t("科技大市场", "S&T market"), body)
}

#[derive(Deserialize)]
pub(crate) struct SideQuery {
    side: Option<String>,
}

fn listing_form(
    st: &AppState,
    lang: Lang,
    s: &Session,
    side: Side,
    action: &str,
    current: Option<&ListingView>,
    p: Option<&FormProblem>,
) -> Markup {
    let v = |field: &str, stored: Option<String>| -> String {
        FormProblem::value(p, field).or(stored).unwrap_or_default()
    };
    let staff = market_staff(&s.user.actor());
    let region_members: Vec<(String, String)> = st
        .store
        .jurisdictions()
        .all()
        .iter()
        .map(|j| (j.code.clone(), lang.t(&j.zh, &j.en).to_string()))
        .collect();
    html! {
        form.card.questionnaire #listing-form method="post" action=(action) {
            (problem_box(p))
            (csrf_field(s))
            input type="hidden" name="side" value=(side.code());
            label for="f-title" { (lang.t("标题", "Title")) }
            input #f-title name="title" required value=(v("title", current.map(|l| l.title.clone())));
            label for="f-field" { (lang.t("领域", "Field")) }
            select #f-field name="field" {
                @for f in kc_market::FIELDS {
                    option value=(f.code) selected[v("field", current.map(|l| l.field.clone())) == f.code] { (lang.t(f.zh, f.en)) }
                }
            }
            label for="f-text" { (match side { Side::Achievement => lang.t("成果简介", "Abstract"), Side::Demand => lang.t("遇到的问题(用自己的话写)", "The problem, in your own words") }) }
            textarea #f-text name="text" rows="5" cols="60" required { (v("text", current.map(|l| l.text.clone()))) }
            label for="f-keywords" { (lang.t("关键词(用;分隔)", "Keywords (separated by ;)")) }
            input #f-keywords name="keywords" value=(v("keywords", current.map(|l| l.keywords.join("；"))));
            label for="f-maturity" { (match side { Side::Achievement => lang.t("成熟度", "Maturity"), Side::Demand => lang.t("至少需要的成熟度", "Least maturity needed") }) }
            select #f-maturity name="maturity" {
                @if side == Side::Demand { option value="" { (lang.t("不限", "Any")) } }
                @for m in Maturity::ALL {
                    option value=(m.code()) selected[v("maturity", current.and_then(|l| l.maturity).map(|m| m.code().to_string())) == m.code()] { (maturity_words(lang, m)) }
                }
            }
            @if side == Side::Achievement {
                label for="f-ip" { (lang.t("知识产权(如专利号)", "IP (e.g. patent number)")) }
                input #f-ip name="ip" value=(v("ip", current.and_then(|l| l.ip.clone())));
                label for="f-mode" { (lang.t("转化方式", "Transfer mode")) }
                select #f-mode name="transfer_mode" {
                    option value="" { (lang.t("面议", "Open")) }
                    @for (c, zh, en) in TRANSFER_MODES {
                        option value=(c) selected[v("transfer_mode", current.and_then(|l| l.transfer_mode.clone())) == *c] { (lang.t(zh, en)) }
                    }
                }
            }
            label for="f-price" { (match side { Side::Achievement => lang.t("报价(元,可空:面议)", "Asking price (yuan; empty: open)"), Side::Demand => lang.t("预算(元,可空)", "Budget (yuan; may be empty)") }) }
            input #f-price name="price" value=(v("price", current.and_then(|l| l.price).map(|p| p.plain())));
            @if side == Side::Demand {
                label for="f-deadline" { (lang.t("期望解决日期", "Wanted by")) }
                input #f-deadline name="deadline" type="date" value=(v("deadline", current.and_then(|l| l.deadline.clone())));
            }
            label for="f-contact" { (lang.t("联系方式", "Contact")) }
            input #f-contact name="contact" value=(v("contact", current.and_then(|l| l.contact.clone())));
            @if staff {
                fieldset {
                    legend { (lang.t("所有者(工作人员代为发布)", "Owner (staff listing for someone)")) }
                    label for="f-owner-id" { (lang.t("统一社会信用代码(平台上的单位)", "USCC (an organisation on the platform)")) }
                    input #f-owner-id name="owner_id" value=(v("owner_id", current.and_then(|l| l.owner_id.clone())));
                    label for="f-owner-name" { (lang.t("或名称(平台外的单位)", "or the name (outside the platform)")) }
                    input #f-owner-name name="owner_name" value=(v("owner_name", current.map(|l| l.owner_name.clone())));
                    label for="f-region" { (lang.t("所在地区", "Region")) }
                    select #f-region name="region" {
                        @for (code, name) in &region_members {
                            option value=(code) selected[v("region", current.map(|l| l.region.clone())) == *code] { (name) }
                        }
                    }
                }
            }
            p { button type="submit" { (if current.is_some() { lang.t("保存并提交审核", "Save and submit for review") } else { lang.t("提交审核", "Submit for review") }) } }
            @if !staff { p.muted { (lang.t("发布前由科技局工作人员审核;审核通过后公开。", "S&T staff review each listing before it is public.")) } }
        }
    }
}

pub(crate) async fn new_listing(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Query(q): Query<SideQuery>,
) -> PageResult {
    if !may_list(&s.user.actor()) {
        return Err(AppError::Forbidden(
            "只有申报主体和科技局工作人员可以发布 (only organisations and S&T staff list)".into(),
        ));
    }
    let side = match q.side.as_deref() {
        Some("achievement") => Side::Achievement,
        _ => Side::Demand,
    };
    new_page(&s, lang, &st, side, None).await
}

async fn new_page(
    s: &Session,
    lang: Lang,
    st: &AppState,
    side: Side,
    p: Option<FormProblem>,
) -> PageResult {
    let title = match side {
        Side::Achievement => lang.t("发布科技成果", "List an achievement"),
        Side::Demand => lang.t("发布技术需求", "Post a demand"),
    };
    let body = html! {
        (nav(lang, Some(s)))
        (listing_form(st, lang, s, side, "/market/listings", None, p.as_ref()))
    };
    page(lang, Some(s), title, body)
}

#[derive(Deserialize)]
pub(crate) struct ListingForm {
    csrf: Option<String>,
    side: String,
    title: String,
    field: String,
    text: String,
    keywords: Option<String>,
    maturity: Option<String>,
    ip: Option<String>,
    transfer_mode: Option<String>,
    price: Option<String>,
    deadline: Option<String>,
    contact: Option<String>,
    owner_id: Option<String>,
    owner_name: Option<String>,
    region: Option<String>,
}

impl ListingForm {
    fn values(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        for (k, v) in [
            ("title", Some(&self.title)),
            ("field", Some(&self.field)),
            ("text", Some(&self.text)),
            ("keywords", self.keywords.as_ref()),
            ("maturity", self.maturity.as_ref()),
            ("ip", self.ip.as_ref()),
            ("transfer_mode", self.transfer_mode.as_ref()),
            ("price", self.price.as_ref()),
            ("deadline", self.deadline.as_ref()),
            ("contact", self.contact.as_ref()),
            ("owner_id", self.owner_id.as_ref()),
            ("owner_name", self.owner_name.as_ref()),
            ("region", self.region.as_ref()),
        ] {
            if let Some(v) = v {
                m.insert(k.to_string(), v.clone());
            }
        }
        m
    }

    fn input(&self, staff: bool) -> ListingInput {
        let opt = |v: &Option<String>| v.clone().filter(|x| !x.trim().is_empty());
        ListingInput {
            id: None,
            title: self.title.clone(),
            field: self.field.clone(),
            keywords: opt(&self.keywords).into_iter().collect(),
            text: self.text.clone(),
            maturity: opt(&self.maturity),
            ip: opt(&self.ip),
            transfer_mode: opt(&self.transfer_mode),
            price: opt(&self.price),
            deadline: opt(&self.deadline),
            contact: opt(&self.contact),
            owner_id: if staff { opt(&self.owner_id) } else { None },
            owner_name: if staff { opt(&self.owner_name) } else { None },
            region: if staff { opt(&self.region) } else { None },
        }
    }
}

pub(crate) async fn create_listing(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Form(f): Form<ListingForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let side = api::side(&f.side)?;
    let actor = s.user.actor();
    match st
        .store
        .create_listing(&actor, side, &f.input(market_staff(&actor)))
        .await
    {
        Ok(id) => Ok(Redirect::to(&format!("/market/listings/{id}")).into_response()),
        Err(e) => {
            let problem = FormProblem::from_error("listing", e.into(), f.values())?;
            let status = problem.status;
            let mut res = new_page(&s, lang, &st, side, Some(problem)).await?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

pub(crate) async fn edit_listing(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    edit_page(&s, lang, &st, &id, None).await
}

async fn edit_page(
    s: &Session,
    lang: Lang,
    st: &AppState,
    id: &str,
    p: Option<FormProblem>,
) -> PageResult {
    let actor = s.user.actor();
    let l = st.store.listing(Some(&actor), id).await?;
    let body = html! {
        (nav(lang, Some(s)))
        (listing_form(st, lang, s, l.side, &format!("/market/listings/{id}"), Some(&l), p.as_ref()))
    };
    page(lang, Some(s), lang.t("修改发布", "Edit listing"), body)
}

pub(crate) async fn update_listing(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<ListingForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let actor = s.user.actor();
    match st
        .store
        .update_listing(&actor, &id, &f.input(market_staff(&actor)))
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/market/listings/{id}")).into_response()),
        Err(e) => {
            let problem = FormProblem::from_error("listing", e.into(), f.values())?;
            let status = problem.status;
            let mut res = edit_page(&s, lang, &st, &id, Some(problem)).await?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

fn matches_block(st: &AppState, lang: Lang, m: &kc_store::market::search::Matches) -> Markup {
    html! {
        @if m.no_good_match {
            p.muted #no-good-match { (lang.t("暂无足够相关的匹配。我们不凑数:有新的发布时会再匹配。", "No good match yet. We do not pad the list: new listings are matched as they come.")) }
        }
        @if !m.matches.is_empty() {
            ol.matches #matches {
                @for x in &m.matches {
                    (listing_row_with(st, lang, &x.listing, html! {
                        ul.reasons { @for (zh, en) in &x.reasons { li { (if lang.0 { en } else { zh }) } } }
                    }))
                }
            }
        }
    }
}

pub(crate) async fn listing_page(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    listing_page_with(s.as_ref(), lang, &st, &id, None).await
}

async fn listing_page_with(
    s: Option<&Session>,
    lang: Lang,
    st: &AppState,
    id: &str,
    p: Option<FormProblem>,
) -> PageResult {
    let actor = s.map(|s| s.user.actor());
    let l = st.store.listing(actor.as_ref(), id).await?;
    let mine = actor.as_ref().is_some_and(|a| {
        a.applicant.is_some() && a.applicant == l.owner_id && a.role == kc_domain::Role::Applicant
    });
    let staff = actor
        .as_ref()
        .is_some_and(|a| market_staff(a) && st.store.sees_region(a, &l.region));
    let matches = if l.is_public() || mine || staff {
        Some(st.store.market_matches(actor.as_ref(), id, 10).await?)
    } else {
        None
    };
    let p = p.as_ref();
    let body = html! {
        (nav(lang, s))
        div.card #listing {
            p { span.tag { (side_words(lang, l.side)) } " " span.status { (status_words(lang, &l)) } " · " span.review { (words(lang, REVIEW_STATES, &l.review)) } }
            @if let Some(note) = &l.review_note { @if l.review == "returned" { p.error { (lang.t("退回理由:", "Returned: ")) (note) } } }
            table {
                tr { th { (lang.t("发布单位", "Owner")) } td { (l.owner_name) } }
                tr { th { (lang.t("领域", "Field")) } td { (field_words(lang, &l.field)) } }
                tr { th { (lang.t("所在地区", "Region")) } td { (region_words(st, lang, &l.region)) } }
                @if !l.keywords.is_empty() { tr { th { (lang.t("关键词", "Keywords")) } td { (l.keywords.join("、")) } } }
                tr { th { (match l.side { Side::Achievement => lang.t("成果简介", "Abstract"), Side::Demand => lang.t("问题描述", "Problem") }) } td.text { (l.text) } }
                @if let Some(m) = l.maturity { tr { th { (match l.side { Side::Achievement => lang.t("成熟度", "Maturity"), Side::Demand => lang.t("至少需要", "Least needed") }) } td { (maturity_words(lang, m)) } } }
                @if let Some(ip) = &l.ip { tr { th { (lang.t("知识产权", "IP")) } td { (ip) } } }
                @if let Some(t) = &l.transfer_mode { tr { th { (lang.t("转化方式", "Transfer mode")) } td { (words(lang, TRANSFER_MODES, t)) } } }
                tr { th { (match l.side { Side::Achievement => lang.t("报价", "Asking price"), Side::Demand => lang.t("预算", "Budget") }) } td.num { (l.price.map(crate::labels::yuan_wan).unwrap_or_else(|| lang.t("面议", "open").to_string())) } }
                @if let Some(d) = &l.deadline { tr { th { (lang.t("期望解决日期", "Wanted by")) } td { (d) } } }
                @if s.is_some() { @if let Some(c) = &l.contact { tr { th { (lang.t("联系方式", "Contact")) } td { (c) } } } }
            }
            @if s.is_none() { p.muted { (lang.t("登录后可见联系方式。", "Log in to see the contact.")) } }
        }
        (problem_box(p))
        @if mine || staff {
            @if let Some(s) = s {
                div.card #owner-actions {
                    a href={"/market/listings/" (l.id) "/edit"} { (lang.t("修改", "Edit")) }
                    form.inline method="post" action={"/market/listings/" (l.id) "/status"} {
                        (csrf_field(s))
                        label { (lang.t("状态", "Status")) " "
                            select name="status" { @for (c, zh, en) in l.statuses() { option value=(c) selected[*c == l.status] { (lang.t(zh, en)) } } }
                        }
                        button.secondary type="submit" { (lang.t("更新状态", "Update status")) }
                    }
                }
            }
        }
        @if staff && l.review != "published" {
            @if let Some(s) = s {
                div.card #review-actions {
                    h2 { (lang.t("审核", "Review")) }
                    form.inline method="post" action={"/market/listings/" (l.id) "/review"} {
                        (csrf_field(s)) input type="hidden" name="decision" value="publish";
                        button type="submit" { (lang.t("审核通过并发布", "Publish")) }
                    }
                    form.inline method="post" action={"/market/listings/" (l.id) "/review"} {
                        (csrf_field(s)) input type="hidden" name="decision" value="return";
                        label { (lang.t("退回理由", "Reason")) " " input name="reason" required; }
                        button.secondary type="submit" { (lang.t("退回", "Return")) }
                    }
                }
            }
        }
        @if let Some(m) = &matches {
            h2 { (match l.side { Side::Achievement => lang.t("可能需要它的企业", "Enterprises that may need it"), Side::Demand => lang.t("可能解决问题的成果", "Achievements that may solve it") }) }
            (matches_block(st, lang, m))
        }
    };
    page(lang, s, &l.title, body)
}

#[derive(Deserialize)]
pub(crate) struct StatusForm {
    csrf: Option<String>,
    status: String,
}

pub(crate) async fn listing_status(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<StatusForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let r = st
        .store
        .set_listing_status(&s.user.actor(), &id, &f.status)
        .await;
    back_or_problem(
        &s,
        lang,
        &st,
        &id,
        "status",
        r.map(|_| ()).map_err(Into::into),
    )
    .await
}

async fn back_or_problem(
    s: &Session,
    lang: Lang,
    st: &AppState,
    id: &str,
    form: &str,
    r: Result<(), AppError>,
) -> PageResult {
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/market/listings/{id}")).into_response()),
        Err(e) => {
            let problem = FormProblem::from_error(form, e, BTreeMap::new())?;
            let status = problem.status;
            let mut res = listing_page_with(Some(s), lang, st, id, Some(problem)).await?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct ReviewForm {
    csrf: Option<String>,
    decision: String,
    reason: Option<String>,
}

pub(crate) async fn review_listing(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<ReviewForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let r = st
        .store
        .review_listing(
            &s.user.actor(),
            &id,
            f.decision == "publish",
            f.reason.as_deref().unwrap_or(""),
        )
        .await;
    back_or_problem(
        &s,
        lang,
        &st,
        &id,
        "review",
        r.map(|_| ()).map_err(Into::into),
    )
    .await
}

pub(crate) async fn mine(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    let actor = s.user.actor();
    let own = st
        .store
        .listings(
            Some(&actor),
            &ListingFilter {
                mine: true,
                ..Default::default()
            },
        )
        .await?;
    let mut blocks = Vec::new();
    for l in &own {
        let m = st.store.market_matches(Some(&actor), &l.id, 5).await?;
        blocks.push((l, m));
    }
    let body = html! {
        (nav(lang, Some(&s)))
        @if actor.applicant.is_none() {
            p.muted { (lang.t("本页列出单位自己的发布;工作人员请用搜索与对接会。", "This page lists an organisation's own listings; staff use search and the matchmaking events.")) }
        }
        @if own.is_empty() {
            p.muted #nothing-mine { (lang.t("还没有发布。发布一条技术需求,平台会为您匹配能解决它的成果。", "Nothing listed yet. Post a demand and the platform matches achievements that can solve it.")) }
        }
        @for (l, m) in &blocks {
            section.card.mine {
                h2 { a href={"/market/listings/" (l.id)} { (l.title) } }
                p.muted { (side_words(lang, l.side)) " · " (words(lang, REVIEW_STATES, &l.review)) " · " (status_words(lang, l)) }
                (matches_block(&st, lang, m))
            }
        }
    };
    page(
        lang,
        Some(&s),
        lang.t("我的发布与匹配", "My listings and matches"),
        body,
    )
}

pub(crate) async fn review_queue(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    let actor = s.user.actor();
    if !market_staff(&actor) {
        return Err(AppError::Forbidden(
            "只有科技局工作人员审核发布 (S&T staff review listings)".into(),
        ));
    }
    let queue = st
        .store
        .listings(
            Some(&actor),
            &ListingFilter {
                queue: true,
                ..Default::default()
            },
        )
        .await?;
    let body = html! {
        (nav(lang, Some(&s)))
        @if queue.is_empty() { p.muted { (lang.t("没有待审核的发布。", "Nothing awaits review.")) } }
        ul #queue { @for l in &queue { (listing_row(&st, lang, l)) } }
    };
    page(lang, Some(&s), lang.t("发布审核", "Listing review"), body)
}

fn require_staff(s: &Session) -> Result<(), AppError> {
    if market_staff(&s.user.actor()) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "只有科技局工作人员组织对接会 (only S&T staff run matchmaking events)".into(),
        ))
    }
}

pub(crate) async fn fairs(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    fairs_page(&s, lang, &st, None).await
}

async fn fairs_page(s: &Session, lang: Lang, st: &AppState, p: Option<FormProblem>) -> PageResult {
    require_staff(s)?;
    let all = st.store.fairs(&s.user.actor()).await?;
    let p = p.as_ref();
    let body = html! {
        (nav(lang, Some(s)))
        table #fairs {
            tr { th { (lang.t("对接会", "Event")) } th { (lang.t("日期", "Date")) } th { (lang.t("地区", "Region")) } th.num { (lang.t("成果", "Achievements")) } th.num { (lang.t("需求", "Demands")) } }
            @for f in &all {
                tr { td { a href={"/market/fairs/" (f.id)} { (f.name) } } td { (f.held_on) } td { (region_words(st, lang, &f.region)) } td.num { (f.achievements) } td.num { (f.demands) } }
            }
        }
        h2 { (lang.t("新建对接会", "New matchmaking event")) }
        form.card #new-fair method="post" action="/market/fairs" {
            (problem_box(p))
            (csrf_field(s))
            label { (lang.t("名称", "Name")) " " input name="name" required size="40" value=(FormProblem::value(p, "name").unwrap_or_default()); }
            label { (lang.t("日期", "Date")) " " input name="held_on" type="date" required value=(FormProblem::value(p, "held_on").unwrap_or_default()); }
            label { (lang.t("地区", "Region")) " "
                select name="region" {
                    @for j in st.store.jurisdictions().all() {
                        @if st.store.sees_region(&s.user.actor(), &j.code) { option value=(j.code) { (lang.t(&j.zh, &j.en)) } }
                    }
                }
            }
            button type="submit" { (lang.t("创建", "Create")) }
        }
    };
    page(lang, Some(s), lang.t("对接会", "Matchmaking events"), body)
}

#[derive(Deserialize)]
pub(crate) struct FairForm {
    csrf: Option<String>,
    name: String,
    held_on: String,
    region: String,
}

pub(crate) async fn create_fair(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Form(f): Form<FairForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    match st
        .store
        .create_fair(&s.user.actor(), &f.name, &f.held_on, &f.region)
        .await
    {
        Ok(id) => Ok(Redirect::to(&format!("/market/fairs/{id}")).into_response()),
        Err(e) => {
            let values = [
                ("name".to_string(), f.name.clone()),
                ("held_on".to_string(), f.held_on.clone()),
            ]
            .into();
            let problem = FormProblem::from_error("fair", e.into(), values)?;
            let status = problem.status;
            let mut res = fairs_page(&s, lang, &st, Some(problem)).await?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

pub(crate) async fn fair_page(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    fair_page_with(&s, lang, &st, &id, None, None).await
}

async fn fair_page_with(
    s: &Session,
    lang: Lang,
    st: &AppState,
    id: &str,
    p: Option<FormProblem>,
    rows: Option<Vec<(usize, String, String)>>,
) -> PageResult {
    require_staff(s)?;
    let v = st.store.fair(&s.user.actor(), id).await?;
    let f = &v.figures;
    let titles: BTreeMap<&str, &ListingView> =
        v.listings.iter().map(|l| (l.id.as_str(), l)).collect();
    let p = p.as_ref();
    let body = html! {
        (nav(lang, Some(s)))
        p { (v.fair.held_on) " · " (region_words(st, lang, &v.fair.region)) }
        table #fair-figures {
            tr { th { (lang.t("成果", "Achievements")) } th { (lang.t("需求", "Demands")) } th { (lang.t("推荐对接", "Pairs proposed")) } th { (lang.t("有推荐的需求", "Demands with a proposal")) } th { (lang.t("已对接", "Meetings")) } th { (lang.t("意向", "Intentions")) } th { (lang.t("签约", "Contracts")) } th { (lang.t("未成", "No deal")) } th { (lang.t("达成意向的需求", "Demands with an intention")) } }
            tr { td.num { (f.achievements) } td.num { (f.demands) } td.num.proposed { (f.pairs_proposed) } td.num { (f.demands_with_proposal) } td.num { (f.meetings) } td.num.intentions { (f.intentions) } td.num.contracts { (f.contracts) } td.num { (f.failed) } td.num { (f.demands_with_intention) } }
        }
        (problem_box(p))
        @if let Some(rows) = &rows {
            table.error #import-errors {
                tr { th { (lang.t("行", "Row")) } th { (lang.t("列", "Column")) } th { (lang.t("问题", "Problem")) } }
                @for (r, c, m) in rows { tr { td.num { (r) } td { (c) } td { (m) } } }
            }
        }
        div.card {
            h2 { (lang.t("导入成果或需求", "Import achievements or demands")) }
            form #fair-import method="post" action={"/market/fairs/" (v.fair.id) "/import"} enctype="multipart/form-data" {
                (csrf_field(s))
                label { (lang.t("类别", "Kind")) " " select name="side" { option value="achievement" { (lang.t("科技成果", "Achievements")) } option value="demand" { (lang.t("技术需求", "Demands")) } } }
                label { (lang.t("文件(CSV 或 xlsx,列见说明)", "File (CSV or xlsx; columns in the guide)")) " " input type="file" name="file" accept=".csv,.xlsx" required; }
                button type="submit" { (lang.t("导入(全部或全不)", "Import (all or nothing)")) }
            }
            form.inline #fair-match method="post" action={"/market/fairs/" (v.fair.id) "/match"} {
                (csrf_field(s))
                button type="submit" { (lang.t("批量匹配", "Run the matching")) }
            }
            @if let Some(at) = &v.fair.matched_at { span.muted { (lang.t("上次匹配:", "Last matched: ")) (crate::labels::readable_time(at)) } }
        }
        h2 { (lang.t("推荐对接与结果", "Proposed meetings and outcomes")) }
        @if v.pairs.is_empty() { p.muted { (lang.t("尚未匹配。导入成果和需求后点“批量匹配”。", "Not matched yet. Import achievements and demands, then run the matching.")) } }
        table #fair-pairs {
            tr { th { (lang.t("技术需求", "Demand")) } th { (lang.t("科技成果", "Achievement")) } th { (lang.t("理由", "Why")) } th { (lang.t("对接结果", "Outcome")) } }
            @for pair in &v.pairs {
                tr {
                    td { a href={"/market/listings/" (pair.demand_id)} { (pair.demand_title) } @if let Some(d) = titles.get(pair.demand_id.as_str()) { div.muted { (d.owner_name) } } }
                    td { a href={"/market/listings/" (pair.achievement_id)} { (pair.achievement_title) } @if let Some(a) = titles.get(pair.achievement_id.as_str()) { div.muted { (a.owner_name) } } }
                    td { ul.reasons { @for r in pair.reasons.as_array().into_iter().flatten() { li { (r[if lang.0 { "en" } else { "zh" }].as_str().unwrap_or("")) } } } }
                    td {
                        form.inline method="post" action={"/market/fairs/" (v.fair.id) "/meetings"} {
                            (csrf_field(s))
                            input type="hidden" name="demand" value=(pair.demand_id);
                            input type="hidden" name="achievement" value=(pair.achievement_id);
                            select name="outcome" required aria-label=(lang.t("对接结果", "Outcome")) {
                                // Nothing chosen until someone records the meeting: one click must not record an intention.
                                @if pair.outcome.is_empty() { option value="" selected { (lang.t("— 选择结果 —", "— choose —")) } }
                                @for (c, zh, en) in OUTCOMES { option value=(c) selected[pair.outcome == *c] { (lang.t(zh, en)) } }
                            }
                            button.secondary type="submit" { (lang.t("记录", "Record")) }
                        }
                        @if !pair.outcome.is_empty() { span.outcome { (words(lang, OUTCOMES, &pair.outcome)) } }
                    }
                }
            }
        }
    };
    page(lang, Some(s), &v.fair.name, body)
}

pub(crate) async fn fair_import(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
    mp: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let bad = |m: String| AppError::BadRequest {
        code: "invalid",
        message: m,
    };
    let read = async {
        let mut csrf = None;
        let mut side = None;
        let mut file: Option<(String, Vec<u8>)> = None;
        let mut mp = mp.map_err(|e| bad(format!("表单无效 (invalid form): {e}")))?;
        while let Some(field) = mp
            .next_field()
            .await
            .map_err(|e| bad(format!("表单无效 (invalid form): {e}")))?
        {
            let name = field.name().unwrap_or("").to_string();
            if name == "file" {
                let filename = field.file_name().unwrap_or("").to_string();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| bad(format!("文件读取失败 (the file could not be read): {e}")))?;
                file = Some((filename, bytes.to_vec()));
            } else {
                let text = field
                    .text()
                    .await
                    .map_err(|e| bad(format!("表单无效 (invalid form): {e}")))?;
                match name.as_str() {
                    "csrf" => csrf = Some(text),
                    "side" => side = Some(text),
                    _ => {}
                }
            }
        }
        Ok::<_, AppError>((csrf, side, file))
    };
    let outcome: Result<Result<Vec<String>, serde_json::Value>, AppError> = async {
        let (csrf, side, file) = read.await?;
        s.check_csrf(csrf.as_deref())?;
        let side = api::side(side.as_deref().unwrap_or(""))?;
        let (filename, bytes) = file
            .filter(|(_, b)| !b.is_empty())
            .ok_or_else(|| bad("请选择要导入的文件 (choose a file)".into()))?;
        let format = if filename.to_lowercase().ends_with(".xlsx") {
            "xlsx"
        } else {
            "csv"
        };
        api::import_file(&st, &s.user.actor(), side, format, &bytes, Some(&id)).await
    }
    .await;
    match outcome {
        Ok(Ok(_)) => Ok(Redirect::to(&format!("/market/fairs/{id}")).into_response()),
        Ok(Err(errors)) => {
            let rows = errors["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    (
                        e["row"].as_u64().unwrap_or(0) as usize,
                        e["column"].as_str().unwrap_or("").to_string(),
                        e["message"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect();
            let problem = FormProblem {
                form: "import".into(),
                message: errors["message"].as_str().unwrap_or("").to_string(),
                status: axum::http::StatusCode::BAD_REQUEST,
                values: BTreeMap::new(),
            };
            let mut res = fair_page_with(&s, lang, &st, &id, Some(problem), Some(rows)).await?;
            *res.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            Ok(res)
        }
        Err(e) => {
            let problem = FormProblem::from_error("import", e, BTreeMap::new())?;
            let status = problem.status;
            let mut res = fair_page_with(&s, lang, &st, &id, Some(problem), None).await?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    csrf: Option<String>,
}

pub(crate) async fn fair_match(
    CurrentSession(s): CurrentSession,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    st.store.match_fair(&s.user.actor(), &id).await?;
    Ok(Redirect::to(&format!("/market/fairs/{id}")).into_response())
}

#[derive(Deserialize)]
pub(crate) struct MeetingForm {
    csrf: Option<String>,
    demand: String,
    achievement: String,
    outcome: String,
    note: Option<String>,
}

pub(crate) async fn fair_meeting(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<MeetingForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    match st
        .store
        .record_meeting(
            &s.user.actor(),
            &id,
            &f.demand,
            &f.achievement,
            &f.outcome,
            f.note.as_deref().unwrap_or(""),
        )
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/market/fairs/{id}")).into_response()),
        Err(e) => {
            let problem = FormProblem::from_error("meeting", e.into(), BTreeMap::new())?;
            let status = problem.status;
            let mut res = fair_page_with(&s, lang, &st, &id, Some(problem), None).await?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct YearQuery {
    year: Option<i32>,
}

pub(crate) async fn contracts(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Query(q): Query<YearQuery>,
) -> PageResult {
    contracts_page(&s, lang, &st, q.year, None, None).await
}

async fn contracts_page(
    s: &Session,
    lang: Lang,
    st: &AppState,
    year: Option<i32>,
    p: Option<FormProblem>,
    done: Option<kc_store::market::contracts::Registered>,
) -> PageResult {
    let actor = s.user.actor();
    let year = year.unwrap_or(st.store.today().year() as i32);
    let list = st.store.contracts(&actor, Some(year)).await?;
    let stats = st.store.contract_stats(&actor, year).await?;
    let may_register = market_staff(&actor)
        || match &actor.applicant {
            Some(org) => {
                st.store.profile(org).await?["kind"].as_str()
                    == Some("contract_registration_institution")
            }
            None => false,
        };
    let p = p.as_ref();
    let v = |f: &str| FormProblem::value(p, f).unwrap_or_default();
    let stat_table = |id: &str, title: &str, lines: &[kc_store::market::contracts::StatLine]| {
        html! {
            h3 { (title) }
            table id=(id) {
                tr { th { "" } th.num { (lang.t("份数", "Contracts")) } th.num { (lang.t("合同成交额", "Contract amount")) } th.num { (lang.t("技术交易额", "Technology amount")) } }
                @for l in lines { tr { td { (l.label) } td.num { (l.contracts) } td.num { (crate::labels::yuan_wan(l.amount)) } td.num { (crate::labels::yuan_wan(l.tech_amount)) } } }
            }
        }
    };
    let body = html! {
        (nav(lang, Some(s)))
        form.inline method="get" action="/market/contracts" {
            label { (lang.t("年度", "Year")) " " input name="year" size="5" value=(year); }
            button.secondary type="submit" { (lang.t("查看", "Show")) }
        }
        @if let Some(d) = &done {
            div.card #registered role="status" {
                (lang.t("已登记 ", "Registered ")) strong { (d.reg_no) } "。"
                @if d.applications.is_empty() {
                    (lang.t("卖方不在平台上或本合同不符合补助条件,未生成申请。", "The seller is not on the platform or the contract meets no measure: no application."))
                } @else {
                    (lang.t("已为卖方生成申请:", "Applications opened for the seller: "))
                    @for a in &d.applications { a href={"/applications/" (a)} { (a) } " " }
                }
            }
        }
        h2 { (year) (lang.t("年登记情况", " registrations")) }
        p #contract-total { (lang.t("合计 ", "Total ")) (stats.total.contracts) (lang.t(" 份,合同成交额 ", " contracts, contract amount ")) (crate::labels::yuan_wan(stats.total.amount)) (lang.t(",技术交易额 ", ", technology amount ")) (crate::labels::yuan_wan(stats.total.tech_amount)) }
        (stat_table("by-institution", lang.t("按登记机构", "By registration institution"), &stats.by_institution))
        (stat_table("by-district", lang.t("按卖方所在地区", "By the seller's district"), &stats.by_district))
        (stat_table("by-type", lang.t("按合同类型", "By contract type"), &stats.by_type))
        h2 { (lang.t("合同", "Contracts")) }
        table #contracts {
            tr { th { (lang.t("登记编号", "No.")) } th { (lang.t("类型", "Type")) } th { (lang.t("合同名称", "Title")) } th { (lang.t("卖方", "Seller")) } th { (lang.t("买方", "Buyer")) } th.num { (lang.t("成交额", "Amount")) } th { (lang.t("登记日期", "Registered")) } }
            @for c in &list {
                tr { td { (c.reg_no) } td { (CONTRACT_TYPES.iter().find(|t| t.0 == c.contract_type).map(|t| lang.t(t.1, t.2)).unwrap_or("")) } td { (c.title) } td { (c.seller_name) } td { (c.buyer_name) } td.num { (crate::labels::yuan_wan(c.amount)) } td { (c.registered_on) } }
            }
        }
        (problem_box(p))
        @if may_register {
            h2 { (lang.t("认定登记合同", "Register a contract")) }
            form.card.questionnaire #register-contract method="post" action="/market/contracts" {
                (csrf_field(s))
                label for="c-reg" { (lang.t("登记编号", "Registration number")) } input #c-reg name="reg_no" required value=(v("reg_no"));
                label for="c-type" { (lang.t("合同类型", "Type")) }
                select #c-type name="contract_type" { @for (c, zh, en, _) in CONTRACT_TYPES { option value=(c) selected[v("contract_type") == *c] { (lang.t(zh, en)) } } }
                label for="c-title" { (lang.t("合同名称", "Title")) } input #c-title name="title" required value=(v("title"));
                label for="c-seller" { (lang.t("卖方统一社会信用代码", "Seller's USCC")) } input #c-seller name="seller_id" required value=(v("seller_id"));
                label for="c-seller-name" { (lang.t("卖方名称(不在平台上时填写)", "Seller's name (if not on the platform)")) } input #c-seller-name name="seller_name" value=(v("seller_name"));
                label for="c-seller-region" { (lang.t("卖方所在地区代码(不在平台上时填写)", "Seller's region code (if not on the platform)")) } input #c-seller-region name="seller_region" value=(v("seller_region"));
                label for="c-buyer" { (lang.t("买方统一社会信用代码", "Buyer's USCC")) } input #c-buyer name="buyer_id" required value=(v("buyer_id"));
                label for="c-buyer-name" { (lang.t("买方名称(不在平台上时填写)", "Buyer's name (if not on the platform)")) } input #c-buyer-name name="buyer_name" value=(v("buyer_name"));
                label for="c-buyer-region" { (lang.t("买方所在地区代码(不在平台上时填写)", "Buyer's region code (if not on the platform)")) } input #c-buyer-region name="buyer_region" value=(v("buyer_region"));
                label for="c-broker" { (lang.t("居间技术转移机构统一社会信用代码(可空)", "Brokering transfer institution's USCC (optional)")) } input #c-broker name="broker_id" value=(v("broker_id"));
                label for="c-ach" { (lang.t("转化的科技成果编号(可空)", "Achievement transferred (optional)")) } input #c-ach name="achievement_id" value=(v("achievement_id"));
                label for="c-dem" { (lang.t("对应的技术需求编号(可空)", "Demand it answers (optional)")) } input #c-dem name="demand_id" value=(v("demand_id"));
                label for="c-item" { (lang.t("转让的项目或技术(未关联成果时必填)", "Project or technology (required without an achievement)")) } input #c-item name="item" value=(v("item"));
                label for="c-amount" { (lang.t("合同成交额(元)", "Contract amount (yuan)")) } input #c-amount name="amount" required value=(v("amount"));
                label for="c-tech" { (lang.t("技术交易额(元)", "Technology amount (yuan)")) } input #c-tech name="tech_amount" required value=(v("tech_amount"));
                label for="c-signed" { (lang.t("签订日期", "Signed on")) } input #c-signed name="signed_on" type="date" required value=(v("signed_on"));
                label for="c-registered" { (lang.t("登记日期(默认今天)", "Registered on (default today)")) } input #c-registered name="registered_on" type="date" value=(v("registered_on"));
                p { button type="submit" { (lang.t("登记", "Register")) } }
            }
        }
        @if market_staff(&actor) && actor.jurisdiction.is_none() {
            h2 { (lang.t("年度结算", "Close a year")) }
            form.card #settle method="post" action="/market/contracts/settle" {
                (csrf_field(s))
                label { (lang.t("年度", "Year")) " " input name="year" size="5" value=(year - 1); }
                button.secondary type="submit" { (lang.t("结算:登记机构奖励与技术转移机构成交额", "Close: registration and transfer institutions' yearly events")) }
            }
        }
    };
    page(
        lang,
        Some(s),
        lang.t("技术合同认定登记", "Technology contract registration"),
        body,
    )
}

#[derive(Deserialize)]
pub(crate) struct ContractForm {
    csrf: Option<String>,
    reg_no: String,
    contract_type: String,
    title: String,
    seller_id: String,
    seller_name: Option<String>,
    seller_region: Option<String>,
    buyer_id: String,
    buyer_name: Option<String>,
    buyer_region: Option<String>,
    broker_id: Option<String>,
    achievement_id: Option<String>,
    demand_id: Option<String>,
    item: Option<String>,
    amount: String,
    tech_amount: String,
    signed_on: String,
    registered_on: Option<String>,
}

pub(crate) async fn register_contract(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Form(f): Form<ContractForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let opt = |v: &Option<String>| v.clone().filter(|x| !x.trim().is_empty());
    let input = ContractInput {
        reg_no: f.reg_no.clone(),
        contract_type: f.contract_type.clone(),
        title: f.title.clone(),
        seller_id: f.seller_id.clone(),
        seller_name: opt(&f.seller_name),
        seller_region: opt(&f.seller_region),
        buyer_id: f.buyer_id.clone(),
        buyer_name: opt(&f.buyer_name),
        buyer_region: opt(&f.buyer_region),
        broker_id: opt(&f.broker_id),
        achievement_id: opt(&f.achievement_id),
        demand_id: opt(&f.demand_id),
        item: opt(&f.item),
        activity: None,
        amount: f.amount.clone(),
        tech_amount: f.tech_amount.clone(),
        signed_on: f.signed_on.clone(),
        registered_on: opt(&f.registered_on),
    };
    match st.store.register_contract(&s.user.actor(), &input).await {
        Ok(done) => contracts_page(&s, lang, &st, None, None, Some(done)).await,
        Err(e) => {
            let values = serde_json::to_value(&input)
                .ok()
                .and_then(|v| v.as_object().cloned())
                .map(|o| {
                    o.into_iter()
                        .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            let problem = FormProblem::from_error("contract", e.into(), values)?;
            let status = problem.status;
            let mut res = contracts_page(&s, lang, &st, None, Some(problem), None).await?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct SettleForm {
    csrf: Option<String>,
    year: String,
}

pub(crate) async fn settle_contracts(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Form(f): Form<SettleForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let r: Result<(), AppError> = async {
        let year = f
            .year
            .trim()
            .parse::<i32>()
            .map_err(|_| AppError::BadRequest {
                code: "invalid",
                message: format!("year: “{}”不是年份 (not a year)", f.year),
            })?;
        st.store.settle_contract_year(&s.user.actor(), year).await?;
        Ok(())
    }
    .await;
    match r {
        Ok(()) => Ok(Redirect::to("/market/contracts").into_response()),
        Err(e) => {
            let problem = FormProblem::from_error("settle", e, BTreeMap::new())?;
            let status = problem.status;
            let mut res = contracts_page(&s, lang, &st, None, Some(problem), None).await?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

pub(crate) async fn vouchers(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    vouchers_page(&s, lang, &st, None).await
}

async fn vouchers_page(
    s: &Session,
    lang: Lang,
    st: &AppState,
    p: Option<FormProblem>,
) -> PageResult {
    let actor = s.user.actor();
    let services = st.store.services().await?;
    let mine = st.store.vouchers(&actor).await?;
    let staff = market_staff(&actor);
    let org = actor.applicant.clone();
    let provider = match &org {
        Some(o) => {
            services.iter().any(|x| &x.institution_id == o)
                || st.store.profile(o).await?["kind"]
                    .as_str()
                    .is_some_and(|k| kc_store::market::vouchers::PROVIDER_KINDS.contains(&k))
        }
        None => false,
    };
    let p = p.as_ref();
    let v = |f: &str| FormProblem::value(p, f).unwrap_or_default();
    // The relation form starts from the acting organisation, as one usually declares one's own.
    let first_party = match FormProblem::value(p, "a") {
        Some(a) => a,
        None => org.clone().unwrap_or_default(),
    };
    let body = html! {
        (nav(lang, Some(s)))
        (problem_box(p))
        h2 { (lang.t("服务目录(科技条件平台)", "Service catalogue")) }
        table #services {
            tr { th { (lang.t("服务", "Service")) } th { (lang.t("类别", "Category")) } th { (lang.t("服务机构", "Institution")) } th { (lang.t("地区", "Region")) } }
            @for x in &services { tr { td { (x.name) @if !x.description.is_empty() { div.muted { (x.description) } } } td { (words(lang, SERVICE_CATEGORIES, &x.category)) } td { (x.institution_name) } td { (region_words(st, lang, &x.region)) } } }
        }
        h2 { (lang.t("创新券", "Vouchers")) }
        @if mine.is_empty() { p.muted { (lang.t("暂无创新券。", "No vouchers.")) } }
        @for vch in &mine {
            section.card.voucher data-id=(vch.id) {
                h3 { (vch.applicant_name) " · " (vch.year) (lang.t("年度 ", " ")) (vch.id) }
                p { (lang.t("额度 ", "Quota ")) (crate::labels::yuan_wan(vch.quota)) (lang.t(",已兑付 ", ", redeemed ")) span.redeemed { (crate::labels::yuan_wan(vch.redeemed)) } (lang.t(",有效期至 ", ", valid until ")) (vch.valid_until) }
                table.orders {
                    tr { th { (lang.t("订单", "Order")) } th { (lang.t("服务", "Service")) } th { (lang.t("机构", "Institution")) } th.num { (lang.t("金额", "Amount")) } th { (lang.t("状态", "State")) } th { "" } }
                    @for o in &vch.orders {
                        tr {
                            td { (o.id) } td { (o.service_name) } td { (o.institution_name) } td.num { (crate::labels::yuan_wan(o.amount)) }
                            td { (match o.state.as_str() { "redeemed" => lang.t("已兑付", "Redeemed"), "cancelled" => lang.t("已取消", "Cancelled"), _ => lang.t("已下单", "Ordered") }) @if let Some(d) = &o.redeemed_on { " " (d) } }
                            td {
                                @if o.state == "ordered" && (staff || org.as_deref() == Some(o.institution_id.as_str())) {
                                    form.inline.redeem method="post" action={"/market/orders/" (o.id) "/redeem"} {
                                        (csrf_field(s))
                                        input name="contract_no" placeholder=(lang.t("服务合同编号", "Contract no.")) aria-label=(lang.t("服务合同编号", "Contract no.")) required;
                                        input name="receipt_no" placeholder=(lang.t("发票号", "Receipt no.")) aria-label=(lang.t("发票号", "Receipt no.")) required;
                                        button type="submit" { (lang.t("兑付", "Redeem")) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if org.as_deref() == Some(vch.applicant_id.as_str()) {
                    form.inline.order method="post" action="/market/orders" {
                        (csrf_field(s))
                        input type="hidden" name="voucher" value=(vch.id);
                        label { (lang.t("服务", "Service")) " " select name="service" { @for x in services.iter().filter(|x| x.active) { option value=(x.id) { (x.name) " · " (x.institution_name) } } } }
                        label { (lang.t("金额(元)", "Amount (yuan)")) " " input name="amount" size="10" required; }
                        button type="submit" { (lang.t("用券下单", "Order with the voucher")) }
                    }
                }
            }
        }
        @if staff {
            h2 { (lang.t("发放创新券", "Issue a voucher")) }
            form.card #issue-voucher method="post" action="/market/vouchers/issue" {
                (csrf_field(s))
                label { (lang.t("企业统一社会信用代码", "Enterprise's USCC")) " " input name="applicant" required value=(v("applicant")); }
                label { (lang.t("年度", "Year")) " " input name="year" size="5" required value=(v("year")); }
                label { (lang.t("额度(元)", "Quota (yuan)")) " " input name="quota" required value=(v("quota")); }
                label { (lang.t("有效期至", "Valid until")) " " input name="valid_until" type="date" required value=(v("valid_until")); }
                button type="submit" { (lang.t("发放", "Issue")) }
            }
        }
        @if staff || provider {
            h2 { (lang.t("登记服务", "List a service")) }
            form.card #add-service method="post" action="/market/services" {
                (csrf_field(s))
                @if staff { label { (lang.t("服务机构统一社会信用代码", "Institution's USCC")) " " input name="institution" value=(v("institution")); } }
                label { (lang.t("服务名称", "Name")) " " input name="name" required value=(v("name")); }
                label { (lang.t("类别", "Category")) " " select name="category" { @for (c, zh, en) in SERVICE_CATEGORIES { option value=(c) { (lang.t(zh, en)) } } } }
                label { (lang.t("说明", "Description")) " " input name="description" size="40" value=(v("description")); }
                button type="submit" { (lang.t("登记", "Add")) }
            }
        }
        h2 { (lang.t("申报关联关系", "Declare a relation")) }
        p.muted { (lang.t("存在关联关系的单位之间不能兑付创新券。", "No voucher is redeemed between related parties.")) }
        form.card #declare-relation method="post" action="/market/relations" {
            (csrf_field(s))
            label { (lang.t("单位一统一社会信用代码", "First party's USCC")) " " input name="a" required value=(first_party); }
            label { (lang.t("单位二统一社会信用代码", "Second party's USCC")) " " input name="b" required value=(v("b")); }
            label { (lang.t("关联关系说明", "What relates them")) " " input name="note" required value=(v("note")); }
            button.secondary type="submit" { (lang.t("申报", "Declare")) }
        }
    };
    page(lang, Some(s), lang.t("创新券", "Innovation vouchers"), body)
}

/// A voucher-page form: its store call, then back to the page or the page with the reason.
async fn voucher_form(
    s: &Session,
    lang: Lang,
    st: &AppState,
    form: &str,
    values: BTreeMap<String, String>,
    r: Result<(), AppError>,
) -> PageResult {
    match r {
        Ok(()) => Ok(Redirect::to("/market/vouchers").into_response()),
        Err(e) => {
            let problem = FormProblem::from_error(form, e, values)?;
            let status = problem.status;
            let mut res = vouchers_page(s, lang, st, Some(problem)).await?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct ServiceForm {
    csrf: Option<String>,
    institution: Option<String>,
    name: String,
    category: String,
    description: Option<String>,
}

pub(crate) async fn add_service(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Form(f): Form<ServiceForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let institution = f.institution.clone().filter(|x| !x.trim().is_empty());
    let r = st
        .store
        .add_service(
            &s.user.actor(),
            institution.as_deref(),
            &f.name,
            &f.category,
            f.description.as_deref().unwrap_or(""),
        )
        .await
        .map(|_| ())
        .map_err(|e| match AppError::from(e) {
            // An institution's code typed that is not on the platform: a mistake in the form.
            e @ AppError::NotFound(_) => AppError::BadRequest {
                code: "invalid",
                message: format!(
                    "服务机构统一社会信用代码 (institution's USCC): {}",
                    e.message()
                ),
            },
            e => e,
        });
    let values = [
        ("name".to_string(), f.name.clone()),
        (
            "institution".to_string(),
            f.institution.clone().unwrap_or_default(),
        ),
    ]
    .into();
    voucher_form(&s, lang, &st, "service", values, r).await
}

#[derive(Deserialize)]
pub(crate) struct IssueForm {
    csrf: Option<String>,
    applicant: String,
    year: String,
    quota: String,
    valid_until: String,
}

pub(crate) async fn issue_voucher(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Form(f): Form<IssueForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let values: BTreeMap<String, String> = [
        ("applicant".to_string(), f.applicant.clone()),
        ("year".to_string(), f.year.clone()),
        ("quota".to_string(), f.quota.clone()),
        ("valid_until".to_string(), f.valid_until.clone()),
    ]
    .into();
    let r: Result<(), AppError> = async {
        let year = f
            .year
            .trim()
            .parse::<i32>()
            .map_err(|_| AppError::BadRequest {
                code: "invalid",
                message: format!("year: “{}”不是年份 (not a year)", f.year),
            })?;
        st.store
            .issue_voucher(
                &s.user.actor(),
                f.applicant.trim(),
                year,
                &f.quota,
                &f.valid_until,
            )
            .await?;
        Ok(())
    }
    .await;
    voucher_form(&s, lang, &st, "issue", values, r).await
}

#[derive(Deserialize)]
pub(crate) struct OrderForm {
    csrf: Option<String>,
    voucher: String,
    service: String,
    amount: String,
}

pub(crate) async fn order_service(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Form(f): Form<OrderForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let r = st
        .store
        .order_service(&s.user.actor(), &f.voucher, &f.service, &f.amount)
        .await
        .map(|_| ())
        .map_err(Into::into);
    voucher_form(&s, lang, &st, "order", BTreeMap::new(), r).await
}

#[derive(Deserialize)]
pub(crate) struct RedeemForm {
    csrf: Option<String>,
    contract_no: String,
    receipt_no: String,
    redeemed_on: Option<String>,
}

pub(crate) async fn redeem_order(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<RedeemForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let r = st
        .store
        .redeem_order(
            &s.user.actor(),
            &id,
            &f.contract_no,
            &f.receipt_no,
            f.redeemed_on.as_deref(),
        )
        .await
        .map(|_| ())
        .map_err(Into::into);
    voucher_form(&s, lang, &st, "redeem", BTreeMap::new(), r).await
}

#[derive(Deserialize)]
pub(crate) struct RelationForm {
    csrf: Option<String>,
    a: String,
    b: String,
    note: String,
}

pub(crate) async fn declare_relation(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Form(f): Form<RelationForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let values: BTreeMap<String, String> = [
        ("a".to_string(), f.a.clone()),
        ("b".to_string(), f.b.clone()),
        ("note".to_string(), f.note.clone()),
    ]
    .into();
    let r = st
        .store
        .declare_relation(&s.user.actor(), &f.a, &f.b, &f.note)
        .await
        .map_err(Into::into);
    voucher_form(&s, lang, &st, "relation", values, r).await
}

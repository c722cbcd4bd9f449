//! 首页: the applicant's 工作台 (offers to confirm, material requested, applications in
//! progress, payments received) and the notifications inbox; staff and visitors get the menu.

use crate::auth::{CurrentSession, Lang, MaybeSession, Session};
use crate::labels::*;
use crate::layout::*;
use crate::listing::*;
use crate::{AppError, AppState};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use kc_domain::{Access, AppState as St, Role};
use kc_money::Money;
use maud::{Markup, html};
use std::collections::BTreeMap;

/// The pages of this feature.
pub fn routes() -> Router<crate::Platform> {
    Router::new()
        .route("/", get(home))
        .route("/notifications", get(inbox))
}

/// The applicant's 工作台: what waits for it (offers to confirm, material requested), what is
/// under way, what has been paid, and the latest notifications.
pub(crate) async fn workbench(lang: Lang, st: &AppState, s: &Session) -> Result<Markup, AppError> {
    let actor = s.user.actor();
    let apps = st.store.applications(&actor, None).await?;
    let label = |m: &str| {
        st.lib
            .measure(m)
            .map(|x| x.label.zh.clone())
            .unwrap_or(m.to_string())
    };
    let offers: Vec<_> = apps.iter().filter(|a| a.state == St::Offered).collect();
    let material: Vec<_> = apps
        .iter()
        .filter(|a| a.state == St::NeedsMaterial)
        .collect();
    let running: Vec<_> = apps
        .iter()
        .filter(|a| {
            matches!(
                a.state,
                St::Draft | St::Submitted | St::InReview | St::Approved | St::PublicNotice
            )
        })
        .collect();
    // Payments received, summed per application (exact: integer fen from the ledger).
    let mut paid: BTreeMap<String, (String, Money)> = BTreeMap::new();
    if let Some(own) = &s.user.applicant_id {
        for r in st.store.ledger_of(own).await? {
            if r.entry == kc_domain::EntryKind::Payment {
                let e = paid
                    .entry(r.application)
                    .or_insert((r.measure, Money::ZERO));
                e.1 = e.1 + r.amount;
            }
        }
    }
    let notes = st.store.notifications(&actor, 5).await?;
    // Deadlines: 公示 periods of its applications ending, and documents whose validity ends
    // within 180 days (events before the end still count; later ones do not).
    let today = st.store.today();
    let soon = today.saturating_add(jiff::Span::new().days(180));
    let mut deadlines: Vec<(jiff::civil::Date, String, Option<String>)> = running
        .iter()
        .filter(|a| a.state == St::PublicNotice)
        .filter_map(|a| {
            let d = a.notice_until.as_deref()?.parse().ok()?;
            Some((
                d,
                format!(
                    "{} {}",
                    lang.t("公示期满:", "notice ends: "),
                    label(&a.measure)
                ),
                Some(format!("/applications/{}", a.id)),
            ))
        })
        .collect();
    for d in &st.lib.documents {
        if d.valid.1 >= today && d.valid.1 <= soon {
            deadlines.push((
                d.valid.1,
                format!(
                    "{} {}",
                    d.number,
                    lang.t(
                        "有效期届满,届满前发生的事项请及时申报",
                        "expires: apply for events before then"
                    )
                ),
                Some("/calendar".to_string()),
            ));
        }
    }
    // 申报期 open now or opening soon: the last day to apply.
    for w in &st.lib.windows {
        if w.applications.1 >= today && w.applications.0 <= soon {
            deadlines.push((
                w.applications.1,
                format!(
                    "{} {} ({} {})",
                    kc_eval::plain::label(&w.label, lang.0),
                    lang.t("申报截止", "applications close"),
                    lang.t("申报开始", "open from"),
                    w.applications.0
                ),
                Some("/calendar#windows".to_string()),
            ));
        }
    }
    deadlines.sort();
    Ok(html! {
        p { (lang.t("您好,", "Hello, ")) (s.user.name) " · " a href="/calculator" { (lang.t("我能享受哪些政策?", "What can we claim?")) } " · " a href="/applications" { (lang.t("我的申报", "My applications")) } }
        div.card.offers {
            h2 { (lang.t("待确认的免申即享", "Offers to confirm")) " (" (offers.len()) ")" }
            @if offers.is_empty() { p.muted { (lang.t("暂无", "None")) } }
            ul { @for a in &offers {
                li { a href={"/applications/" (a.id)} { (label(&a.measure)) } " · " strong.amount { (a.computed.map(yuan).unwrap_or_default()) } " · " (lang.t("请进行意愿确认", "please confirm")) }
            } }
        }
        div.card.deadlines {
            h2 { (lang.t("近期截止", "Deadlines")) " (" (deadlines.len()) ")" }
            @if deadlines.is_empty() { p.muted { (lang.t("180天内没有截止事项", "Nothing ends within 180 days")) " · " a href="/calendar" { (lang.t("政策日历", "calendar")) } } }
            ul { @for (d, text, href) in &deadlines { li { strong { (d) } " " @if let Some(h) = href { a href=(h) { (text) } } @else { (text) } } } }
        }
        div.card.material {
            h2 { (lang.t("待补正材料", "Material requested")) " (" (material.len()) ")" }
            @if material.is_empty() { p.muted { (lang.t("暂无", "None")) } }
            @for a in &material {
                p { a href={"/applications/" (a.id)} { (a.id) " " (label(&a.measure)) } }
                ul { @for item in a.missing.as_deref().unwrap_or("").split(';').filter(|x| !x.trim().is_empty()) { li { (item) } } }
            }
        }
        div.card.running {
            h2 { (lang.t("办理中的申请", "Applications in progress")) " (" (running.len()) ")" }
            @if running.is_empty() { p.muted { (lang.t("暂无", "None")) } }
            ul { @for a in &running {
                li { a href={"/applications/" (a.id)} { (a.id) " " (label(&a.measure)) } " · " span.tag.badge { (state_words(lang, a)) }
                    @if let (St::PublicNotice, Some(u)) = (a.state, &a.notice_until) { " · " (lang.t("公示期满 ", "notice ends ")) (u) } }
            } }
        }
        div.card.paid {
            h2 { (lang.t("已到账", "Payments received")) }
            @if paid.is_empty() { p.muted { (lang.t("暂无", "None")) } }
            ul { @for (app, (measure, sum)) in &paid {
                li { a href={"/applications/" (app)} { (app) " " (label(measure)) } " · " strong.amount { (yuan(*sum)) } }
            } }
        }
        div.card.latest {
            h2 { (lang.t("最新通知", "Latest notifications")) " · " a href="/notifications" { (lang.t("全部", "all")) } }
            (notes_table(lang, st, &notes))
        }
    })
}

/// The notifications inbox: the latest changes to the user's applications. Opening it marks
/// them seen, so the header's count drops to 0.
pub(crate) async fn inbox(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    let actor = s.user.actor();
    let notes = st.store.notifications(&actor, 100).await?;
    if let Some(newest) = notes.iter().map(|n| n.seq).max() {
        st.store.mark_notifications_seen(&actor, newest).await?;
    }
    let mut s = s;
    let unread_before = s.unread.unwrap_or(0);
    s.unread = s.unread.map(|_| 0);
    let body = html! {
        @if unread_before > 0 { p { (lang.t("新通知 ", "New: ")) strong.unread { (unread_before) } } }
        (notes_table(lang, &st, &notes))
    };
    page(lang, Some(&s), lang.t("通知", "Notifications"), body)
}

pub(crate) async fn home(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    let body = html! {
        div.card {
            p { (lang.t("科创把科技创新政策写成可执行的规则:每一项措施都引用原文条款,每一笔金额都有计算过程。",
                         "kechuang runs S&T innovation policy as code: every measure cites its clause, every amount shows how it was computed.")) }
            p { (st.lib.documents.len()) (lang.t(" 份政策文件,", " documents, ")) (st.lib.measures.len()) (lang.t(" 项措施。", " measures.")) }
        }
        @match &s {
            None => div.card { a href="/login" { (lang.t("登录", "Log in")) } " · " a href="/calculator" { (lang.t("试用政策计算器", "Try the eligibility checker")) } }
            Some(s) if s.role() == Role::Applicant => (workbench(lang, &st, s).await?),
            Some(s) => div.card {
                p { (lang.t("您好,", "Hello, ")) (s.user.name) }
                ul {
                    @if s.role() == Role::Applicant { li { a href="/calculator" { (lang.t("我能享受哪些政策?", "What can we claim?")) } } li { a href="/applications" { (lang.t("我的申报", "My applications")) } } }
                    @if s.role().may(Access::AllApplicants) { li { a href="/review" { (lang.t("待审核申请", "Review queue")) } } }
                    @if s.role().may(Access::Budgets) { li { a href="/budget" { (lang.t("预算执行", "Budget dashboard")) } } }
                    @if s.role() == Role::Admin { li { a href="/audit" { (lang.t("审计日志", "Audit log")) } } }
                }
            }
        }
    };
    page(
        lang,
        s.as_ref(),
        lang.t("科技创新政策兑现平台", "S&T policy fulfilment platform"),
        body,
    )
}

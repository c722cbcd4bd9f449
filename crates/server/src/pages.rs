//! The web UI, server-rendered with maud: Chinese first (English with the 中/EN switch), plain
//! HTML forms that work without JavaScript, a layout that reflows on a phone. Every form that
//! changes state carries the session's CSRF token.

use crate::auth::{self, CurrentSession, Lang, MaybeSession, Session};
use crate::{AppError, AppState};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use kc_check::ir::{Measure, Type};
use kc_domain::{Access, Action, AppState as St, Role};
use kc_eval::{Status, Tri};
use kc_money::Money;
use kc_store::ActArgs;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use serde_json::{Value as J, json};
use std::collections::BTreeMap;

type PageResult = Result<Response, AppError>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/lang/{lang}", get(set_lang))
        .route("/library", get(library))
        .route("/library/{measure}", get(measure_page))
        .route("/calculator", get(calculator))
        .route("/applications", get(applications).post(apply))
        .route("/applications/{id}", get(application))
        .route("/applications/{id}/act", post(act))
        .route(
            "/applications/{id}/decline",
            get(decline_form).post(decline),
        )
        .route("/applications/{id}/pay", post(pay))
        .route("/review", get(review))
        .route("/budget", get(budget).post(set_budget))
        .route("/audit", get(audit))
        .route("/applicants", get(applicants))
        .route("/applicants/{id}", get(applicant))
        .route("/calendar", get(calendar))
        .route("/notifications", get(inbox))
}

const CSS: &str = r#"
*{box-sizing:border-box}body{margin:0;font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;color:#1f2933;background:#f5f7fa;line-height:1.6}
header{background:#b71c1c;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.8rem;align-items:center}
header a{color:#fff;text-decoration:none;font-size:.95rem}header .brand{font-weight:700;font-size:1.15rem;margin-right:.5rem}
header .right{margin-left:auto;display:flex;gap:.6rem;align-items:center}
main{max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5rem 0}th,td{border:1px solid #d9e2ec;padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.92rem}
th{background:#eef2f7}.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.card{background:#fff;border:1px solid #d9e2ec;border-radius:6px;padding:.8rem 1rem;margin:.7rem 0}
.quote{border-left:4px solid #b71c1c;background:#fff8f6;padding:.5rem .8rem;margin:.5rem 0;white-space:pre-wrap}
pre{background:#0b1021;color:#e6e6e6;padding:.6rem;border-radius:4px;overflow-x:auto;font-size:.85rem;white-space:pre-wrap;word-break:break-word}
.col{flex:1 1 380px;min-width:0}td.wrap{word-break:break-all;max-width:28rem}
.ok{color:#1b7f3b}.no{color:#b71c1c}.unk{color:#8a5a00}.muted{color:#4a5f73;font-size:.88rem}
.skip{position:absolute;left:-999px;top:0;background:#fff;color:#b71c1c;padding:.5rem;z-index:9}.skip:focus{left:.5rem}
header nav{display:flex;flex-wrap:wrap;gap:.8rem;align-items:center}header a[aria-current=page]{text-decoration:underline;text-underline-offset:.3rem;font-weight:700}
header .who{color:#fff}.badge{font-weight:600}details.notmet summary{font-size:1.05rem;font-weight:600;margin-top:1rem}
fieldset{min-width:0;border:1px solid #d9e2ec;border-radius:4px;margin:.5rem 0;padding:.3rem .7rem}legend{font-weight:600}
form.questionnaire label{display:block;margin:.35rem 0 .1rem}form.questionnaire select,form.questionnaire input{width:100%;max-width:28rem}
.validity{border-left:4px solid #9a6700}table.month-grid{table-layout:fixed}table.month-grid td{height:5.2rem;font-size:.8rem;overflow-wrap:anywhere}
td.day.today{outline:2px solid #b71c1c}.daynum{font-weight:700;display:block}.entry{margin:.1rem 0;padding:0 .2rem;border-radius:3px;background:#eef2f7}
.entry.end{background:#fdecea}.entry.notice{background:#fff4db}.entry.target{background:#e6f0fa}td.blank{background:#f5f7fa}nav.month{margin:.5rem 0}.summary .total{font-size:1.1rem}td.reason{color:#7a1212}
.tag{display:inline-block;border-radius:3px;padding:0 .4rem;font-size:.8rem;background:#eef2f7}
form.inline{display:inline-block;margin:.2rem .3rem .2rem 0}input,select,textarea{font:inherit;padding:.25rem .4rem;max-width:100%}
button{font:inherit;background:#b71c1c;color:#fff;border:0;border-radius:4px;padding:.3rem .8rem;cursor:pointer}button.secondary{background:#486581}
label{display:block;margin:.3rem 0}.bar{background:#eef2f7;height:14px;border-radius:3px;position:relative;min-width:120px}
.bar span{position:absolute;left:0;top:0;bottom:0;background:#b71c1c;border-radius:3px}.bar span.paid{background:#1b7f3b}
svg.chart{width:100%;max-width:480px;height:auto;display:block}details summary{cursor:pointer;color:#2f6fb0}
details.record form{background:#f5f7fa;padding:.4rem .6rem;border-radius:4px}tr.detail td{border-top:0;padding-top:0}
tr.detail details{display:inline-block;vertical-align:top;margin-right:1.2rem;max-width:100%}tr.detail details.chart[open]{width:480px}
.error{background:#fff1f0;border:1px solid #b71c1c;padding:.8rem;border-radius:6px}
@media (max-width:640px){th,td{font-size:.9rem;padding:.3rem}header{gap:.3rem;padding:.3rem .5rem}header nav{flex-wrap:nowrap;overflow-x:auto;gap:.2rem;width:100%;order:3}
header nav a,header .right a{padding:.55rem .45rem;white-space:nowrap;display:inline-block}main{padding:.5rem}table{display:block;overflow-x:auto}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}table.cards tr:first-child{display:none}
table.cards tr{border:1px solid #d9e2ec;border-radius:6px;margin:.4rem 0;background:#fff}table.cards td{border:0;text-align:left}
button,input,select{min-height:2.6rem}table.month-grid{display:none}}
"#;

/// A menu entry, marked as the current page where it is (`aria-current`, underlined).
fn menu_link(cur: &str, href: &str, text: &str) -> Markup {
    let here = cur == href || (href != "/" && cur.starts_with(&format!("{href}/")));
    html! { a href=(href) aria-current=[here.then_some("page")] { (text) } }
}

fn layout(lang: Lang, s: Option<&Session>, title: &str, body: Markup) -> Markup {
    let cur = crate::labels::current_path();
    let role = s.map(|s| s.role());
    let staff = matches!(role, Some(Role::Reviewer | Role::Finance | Role::Admin));
    html! {
        (DOCTYPE)
        html lang=(if lang.0 { "en" } else { "zh-CN" }) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 科创 kechuang" }
                style { (PreEscaped(CSS)) }
            }
            body {
                a.skip href="#main" { (lang.t("跳到正文", "Skip to content")) }
                header {
                    a.brand href="/" { "科创 kechuang" }
                    nav aria-label=(lang.t("主菜单", "Main menu")) {
                        (menu_link(&cur, "/library", lang.t("政策库", "Policies")))
                        (menu_link(&cur, "/calculator", lang.t("政策计算器", "Eligibility")))
                        @if s.is_some() { (menu_link(&cur, "/applications", lang.t("申报", "Applications"))) }
                        @if let Some(Session { user, .. }) = s { @if let Some(a) = &user.applicant_id { (menu_link(&cur, &format!("/applicants/{a}"), lang.t("一企一档", "My file"))) } }
                        @if staff { (menu_link(&cur, "/review", lang.t("审核", "Review"))) (menu_link(&cur, "/budget", lang.t("预算", "Budgets"))) (menu_link(&cur, "/applicants", lang.t("申报主体", "Applicants"))) }
                        @if role == Some(Role::Admin) { (menu_link(&cur, "/audit", lang.t("审计", "Audit"))) }
                        (menu_link(&cur, "/notices", lang.t("公示", "Notices")))
                        (menu_link(&cur, "/calendar", lang.t("政策日历", "Calendar")))
                        @if let Some(n) = s.and_then(|s| s.unread) {
                            a.inbox href="/notifications" aria-current=[(cur == "/notifications").then_some("page")] { (lang.t("通知", "Notifications")) " (" (n) ")" }
                        }
                        @if role.is_some_and(|r| r.may(Access::Plans)) { (menu_link(&cur, "/plans", lang.t("计划", "Plans"))) }
                    }
                    div.right {
                        a href="/lang/zh" lang="zh-CN" { "中" } "/" a href="/lang/en" lang="en" { "EN" }
                        @match s {
                            Some(s) => {
                                span.who { (s.user.name) " · " (if lang.0 { s.user.role.code() } else { role_zh(s.user.role) }) }
                                form.inline method="post" action="/logout" { input type="hidden" name="csrf" value=(s.csrf); button.secondary type="submit" { (lang.t("退出", "Log out")) } }
                            }
                            None => { a href="/login" { (lang.t("登录", "Log in")) } }
                        }
                    }
                }
                main id="main" { h1 { (title) } (body) }
            }
        }
    }
}

pub fn error_page(status: StatusCode, code: &str, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head { meta charset="utf-8"; meta name="viewport" content="width=device-width, initial-scale=1"; title { "出错了 error" } style { (PreEscaped(CSS)) } }
            body {
                // The public part of the menu: an error page does not know the session, but
                // never leaves the user without a way on.
                header {
                    a.brand href="/" { "科创 kechuang" }
                    a href="/library" { "政策库" }
                    a href="/calculator" { "政策计算器" }
                    a href="/applications" { "申报" }
                    a href="/calendar" { "政策日历" }
                    div.right { a href="/login" { "登录" } }
                }
                main {
                    div.error {
                        h1 { "出错了 (" (status.as_u16()) ")" }
                        p { (message) }
                        p.muted { "错误代码 code: " (code) }
                        @if code == "unauthorized" { p { a href="/login" { "登录 log in" } } }
                        p { a href="/" { "首页 home" } }
                    }
                }
            }
        }
    }
}

/// A page in the common layout (for the other page modules).
pub(crate) fn render(lang: Lang, s: Option<&Session>, title: &str, body: Markup) -> Response {
    layout(lang, s, title, body).into_response()
}

fn page(lang: Lang, s: Option<&Session>, title: &str, body: Markup) -> PageResult {
    Ok(layout(lang, s, title, body).into_response())
}

fn csrf_field(s: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}

pub(crate) fn yuan(m: Money) -> String {
    m.to_string()
}

/// A government level's Chinese name for a stored keyword.
/// A unit of the vocabulary in the page's language (元 is yuan in English).
fn unit_in(lang: Lang, u: &str) -> &str {
    match (lang.0, u) {
        (true, "元") => "yuan",
        (true, "万元") => "10,000 yuan",
        _ => u,
    }
}

/// A government level in the page's language.
fn level_in(lang: Lang, l: &str) -> &str {
    if lang.0 {
        kc_syntax_level(l).map(|_| l).unwrap_or(l)
    } else {
        level_zh(l)
    }
}

/// A ledger entry kind in the page's language.
fn entry_in(lang: Lang, e: &str) -> &str {
    if lang.0 { e } else { entry_zh(e) }
}

fn level_zh(l: &str) -> &str {
    kc_syntax_level(l).unwrap_or(l)
}

fn kc_syntax_level(l: &str) -> Option<&'static str> {
    Some(match l {
        "central" => "中央",
        "province" => "省级",
        "city" => "市级",
        "district" => "区县级",
        "institution" => "单位",
        _ => return None,
    })
}

fn entry_zh(e: &str) -> &str {
    match e {
        "commitment" => "承诺",
        "payment" => "拨付",
        "reversal" => "冲销",
        other => other,
    }
}

fn kind_zh(k: &str) -> &str {
    match k {
        "fixed" => "定额",
        "cap" => "最高",
        "review" => "评审确定",
        other => other,
    }
}

pub(crate) fn role_zh(r: Role) -> &'static str {
    match r {
        Role::Applicant => "申报主体",
        Role::Reviewer => "审核员",
        Role::Finance => "财务",
        Role::Admin => "管理员",
        Role::PlanOffice => "督查考核",
        Role::System => "系统",
    }
}

/// A document's number and title, once when they are the same (documents without a number).
fn doc_name(d: &kc_check::Document) -> Markup {
    // The document's own name: Chinese in either language, marked so for screen readers.
    let text = if d.number == d.title {
        d.number.clone()
    } else {
        format!("{} {}", d.number, d.title)
    };
    html! { span lang="zh-CN" { (text) } }
}

/// A time of the audit log as people read it, in China Standard Time: `2026-11-30 14:05`.
fn readable_time(at: &str) -> String {
    at.parse::<jiff::Timestamp>()
        .map(|t| {
            t.to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| at.to_string())
}

fn notes_table(lang: Lang, st: &AppState, notes: &[kc_store::Notification]) -> Markup {
    let step_zh = |a: &str, o: &str| {
        if lang.0 {
            crate::api_ext::step_en(a, o)
        } else {
            crate::api_ext::step_zh(a, o)
        }
    };
    let lib = &st.lib;
    html! {
        table.notifications {
            tr { th { (lang.t("时间", "When")) } th { (lang.t("申请", "Application")) } th { (lang.t("措施", "Measure")) } th { (lang.t("变化", "Change")) } th { (lang.t("当前状态", "Now")) } }
            @for n in notes {
                tr {
                    td.when { (readable_time(&n.at)) }
                    td { a href={"/applications/" (n.application)} { (n.application) } }
                    td { (lib.measure(&n.measure).map(|m| m.label.zh.clone()).unwrap_or(n.measure.clone())) }
                    td { @if n.action == "create" && n.origin == "offer" { strong { (step_zh(&n.action, &n.origin)) } } @else { (step_zh(&n.action, &n.origin)) } }
                    td { span.tag { (if n.origin == "offer" && n.state == St::Withdrawn { "已放弃" } else { n.state.zh() }) } }
                }
            }
        }
    }
}

/// The applicant's 工作台: what waits for it (offers to confirm, material requested), what is
/// under way, what has been paid, and the latest notifications.
async fn workbench(lang: Lang, st: &AppState, s: &Session) -> Result<Markup, AppError> {
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
        for (app, measure, entry, _, amount, _) in st.store.ledger_of(own).await? {
            if entry == "payment" {
                let e = paid.entry(app).or_insert((measure, Money::ZERO));
                e.1 = e.1 + amount;
            }
        }
    }
    let notes = st.store.notifications(&actor, 5).await?;
    Ok(html! {
        p { (lang.t("您好,", "Hello, ")) (s.user.name) " · " a href="/calculator" { (lang.t("我能享受哪些政策?", "What can we claim?")) } " · " a href="/applications" { (lang.t("我的申报", "My applications")) } }
        div.card.offers {
            h2 { (lang.t("待确认的免申即享", "Offers to confirm")) " (" (offers.len()) ")" }
            @if offers.is_empty() { p.muted { (lang.t("暂无", "None")) } }
            ul { @for a in &offers {
                li { a href={"/applications/" (a.id)} { (label(&a.measure)) } " · " strong.amount { (a.computed.map(yuan).unwrap_or_default()) } " · " (lang.t("请进行意愿确认", "please confirm")) }
            } }
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
                li { a href={"/applications/" (a.id)} { (a.id) " " (label(&a.measure)) } " · " span.tag { (a.state.zh()) }
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
async fn inbox(
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

async fn home(MaybeSession(s): MaybeSession, lang: Lang, State(st): State<AppState>) -> PageResult {
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
                    @if matches!(s.role(), Role::Reviewer | Role::Admin) { li { a href="/review" { (lang.t("待审核申请", "Review queue")) } } }
                    @if matches!(s.role(), Role::Finance | Role::Admin) { li { a href="/budget" { (lang.t("预算执行", "Budget dashboard")) } } }
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

#[derive(Deserialize)]
struct LoginForm {
    user: String,
    password: String,
}

async fn login_form(MaybeSession(s): MaybeSession, lang: Lang) -> PageResult {
    page(
        lang,
        s.as_ref(),
        lang.t("登录", "Log in"),
        login_body(lang, "", None),
    )
}

/// The login form; after a refusal, the reason above it and the user name kept.
fn login_body(lang: Lang, user: &str, problem: Option<&str>) -> Markup {
    html! {
        form.card method="post" action="/login" {
            @if let Some(p) = problem { div.error.form-error role="alert" { (p) } }
            label { (lang.t("用户名", "User")) br; input name="user" autocomplete="username" required value=(user); }
            label { (lang.t("密码", "Password")) br; input name="password" type="password" autocomplete="current-password" required aria-invalid=[problem.map(|_| "true")]; }
            button type="submit" { (lang.t("登录", "Log in")) }
        }
        p.muted { (lang.t("演示账号见启动时的提示(密码 demo-kechuang)。", "Demo accounts are printed at first start (password demo-kechuang).")) }
    }
}

async fn login(
    State(st): State<AppState>,
    lang: Lang,
    ip: crate::guard::ClientIp,
    Form(f): Form<LoginForm>,
) -> PageResult {
    match auth::login(&st, ip, f.user.trim(), &f.password).await {
        Ok(s) => Ok((
            [(header::SET_COOKIE, auth::session_cookie(&st, &s.id))],
            Redirect::to("/"),
        )
            .into_response()),
        Err(e @ AppError::Internal(_)) => Err(e),
        Err(e) => {
            let status = e.status();
            let mut res = page(
                lang,
                None,
                lang.t("登录", "Log in"),
                login_body(lang, f.user.trim(), Some(&e.message())),
            )?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

async fn logout(
    State(st): State<AppState>,
    CurrentSession(s): CurrentSession,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    st.store.delete_session(&s.id).await?;
    Ok((
        [(header::SET_COOKIE, auth::clear_cookie(&st))],
        Redirect::to("/"),
    )
        .into_response())
}

async fn set_lang(
    State(st): State<AppState>,
    Path(l): Path<String>,
    headers: HeaderMap,
) -> Response {
    let v = if l == "en" { "en" } else { "zh" };
    let back = same_site_path(&headers).unwrap_or_else(|| "/".into());
    let secure = if st.secure_cookies { "; Secure" } else { "" };
    (
        [(
            header::SET_COOKIE,
            format!(
                "{}={v}; Path=/; SameSite=Lax; Max-Age=31536000{secure}",
                auth::LANG_COOKIE
            ),
        )],
        Redirect::to(&back),
    )
        .into_response()
}

/// The page to go back to after switching language: the Referer's path and query, only when
/// the Referer is this host (or a bare path) and the path cannot be read as another host
/// (`//evil`, `/\evil`). Anything else goes home (issue 9: the redirect followed any Referer).
fn same_site_path(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let uri: axum::http::Uri = referer.parse().ok()?;
    if let Some(authority) = uri.authority() {
        let host = headers.get(header::HOST)?.to_str().ok()?;
        if !authority.as_str().eq_ignore_ascii_case(host) {
            return None;
        }
    } else if uri.scheme().is_some() {
        return None;
    }
    let path = uri.path_and_query()?.as_str();
    let safe = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.contains('\\')
        && !path.starts_with("/lang/");
    safe.then(|| path.to_string())
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

async fn library(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    let lib = &st.lib;
    let body = html! {
        @for (di, d) in lib.documents.iter().enumerate() {
            div.card {
                h2 { (doc_name(d)) }
                p.muted { (d.issuer.clone().unwrap_or_default()) " · " (lang.t("有效期", "valid")) " " (d.valid.0) " – " (d.valid.1) }
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

async fn measure_page(
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
                    tr { th { (lang.t("有效期", "Valid")) } td { (m.valid.0) " – " (m.valid.1) } }
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

fn status_class(t: Tri) -> &'static str {
    match t {
        Tri::Met => "ok",
        Tri::NotMet => "no",
        Tri::Unknown => "unk",
    }
}

/// Renders an evaluation for people: the documents' validity up front, a total, every award
/// with its trace in plain words, the measures that may apply once a fact is known, those
/// within reach with what they need, and every measure that does not apply with the one
/// reason that matters ("政策已于 2024-07-13 到期"). No identifier of the rule language.
fn evaluation_view(
    lang: Lang,
    st: &AppState,
    input: &kc_eval::Input,
    ev: &kc_eval::Evaluation,
    apply_as: Option<&Session>,
    existing: &[kc_store::ApplicationView],
    visitor: bool,
) -> Markup {
    use crate::labels::{input_event_words, yuan_wan};
    let lib = &st.lib;
    let en = lang.0;
    let by = |status: Status| ev.outcomes.iter().filter(move |o| o.status == status);
    let title = |m: &Measure| kc_eval::plain::label(&m.label, en).to_string();
    let ev_words = |o: &kc_eval::Outcome| {
        o.event
            .map(|i| input_event_words(lib, &input.events[i], en))
            .unwrap_or_default()
    };
    let as_of = input.as_of;
    let expired: Vec<&kc_check::Document> =
        lib.documents.iter().filter(|d| d.valid.1 < as_of).collect();
    let latest_end = lib.documents.iter().map(|d| d.valid.1).max();
    let awards: Vec<&kc_eval::Award> = by(Status::Awarded)
        .filter_map(|o| o.award.as_ref())
        .collect();
    let fixed: Money = awards
        .iter()
        .filter(|a| a.kind == kc_eval::AmountKind::Fixed)
        .filter_map(|a| a.amount)
        .sum();
    let capped: Money = awards
        .iter()
        .filter(|a| a.kind == kc_eval::AmountKind::Cap)
        .filter_map(|a| a.amount)
        .sum();
    let review = awards.iter().filter(|a| a.amount.is_none()).count();
    let not_met: Vec<&kc_eval::Outcome> = by(Status::NotMet).collect();
    html! {
        @if !expired.is_empty() {
            div.card.validity {
                @if expired.len() == lib.documents.len() {
                    p { strong { (lang.t("本库收录的政策文件均已到期", "Every document in the library has expired")) }
                        (lang.t(&format!("(最晚的于 {} 到期)。", latest_end.map(|d| d.to_string()).unwrap_or_default()),
                                &format!(" (the last on {}). ", latest_end.map(|d| d.to_string()).unwrap_or_default())))
                        (lang.t("有效期内发生的事项仍按原文件兑现;有效期后的事项不适用。", "Events within a document's validity are still paid under it; later events are not.")) }
                } @else {
                    p { strong { (lang.t("已到期的政策文件:", "Expired documents: ")) }
                        @for (i, d) in expired.iter().enumerate() { @if i > 0 { "、" } (d.number) " (" (lang.t("至 ", "until ")) (d.valid.1) ")" } }
                }
            }
        }
        div.card.summary {
            p {
                (lang.t("评估日期 ", "Assessed on ")) (as_of) " · "
                strong { (lang.t("可获支持 ", "Awards: ")) (awards.len()) (lang.t(" 项", "")) }
                @if !awards.is_empty() {
                    " · " (lang.t("可计算金额合计 ", "computable total ")) strong.total { (yuan_wan(fixed + capped)) }
                    @if capped > Money::ZERO { " " span.muted { (lang.t("(其中“最高”金额 ", "(of which maximums ")) (yuan_wan(capped)) (lang.t(",以审核批准为准)", ", subject to approval)")) } }
                    @if review > 0 { " · " (review) (lang.t(" 项金额由评审确定", " set by review")) }
                }
            }
        }
        h2 { (lang.t("可获支持", "Awarded")) " (" (awards.len()) ")" }
        @if awards.is_empty() { p.muted { (lang.t("暂无符合条件的支持;原因见下方“不适用的措施”。", "Nothing is awarded; see “Does not apply” below for why.")) } }
        @for o in by(Status::Awarded) {
            @let m = &lib.measures[o.measure];
            div.card data-measure=(m.id) {
                strong { (title(m)) } " " span.tag { (lib.documents[m.doc].number) " " (m.clause.id) } " " span.tag { (m.form.map(|f| if lang.0 { f.en() } else { f.zh() }).unwrap_or("")) }
                @if o.event.is_some() { p.muted { (lang.t("依据事项:", "For: ")) (ev_words(o)) } }
                @if let Some(a) = &o.award {
                    p { (if en { a.kind.code() } else { a.kind.zh() }) " " strong.amount { (a.amount.map(yuan_wan).unwrap_or_else(|| lang.t("评审确定", "set by review").into())) } }
                    ul { @for (_, line) in a.describe_trace_in(lib, m, en) { li { (line) } } }
                    @if visitor { p { a.apply-login href="/login" { (lang.t("登录后申报", "Log in to apply")) } } }
                    @if let (Some(sess), Some(ei)) = (apply_as, o.event) {
                        @if let Some(app) = existing.iter().find(|a| a.measure == m.id && a.event_id == input.events[ei].id && !matches!(a.state, St::Withdrawn | St::Rejected)) {
                            p { (lang.t("已申报:", "Applied: ")) a href={"/applications/" (app.id)} { (app.id) } " " span.tag { (state_words(lang, app)) } }
                        } @else if sess.role() == Role::Applicant {
                            form.inline method="post" action="/applications" {
                                (csrf_field(sess))
                                input type="hidden" name="measure" value=(m.id);
                                input type="hidden" name="event" value=(input.events[ei].id);
                                button type="submit" { (lang.t("申报", "Apply")) }
                            }
                        }
                    }
                }
            }
        }
        @if by(Status::Possible).count() > 0 {
            h2 { (lang.t("可能符合(待补充信息)", "Possible, once these are known")) }
            @for o in by(Status::Possible) {
                @let m = &lib.measures[o.measure];
                div.card { strong { (title(m)) } " " span.tag { (lib.documents[m.doc].number) " " (m.clause.id) }
                    @if o.event.is_some() { p.muted { (lang.t("依据事项:", "For: ")) (ev_words(o)) } }
                    ul { @for c in o.conditions.iter().filter(|c| c.status != Tri::Met) { @let (t, f) = c.describe_in(lib, m, en); li class=(status_class(c.status)) { (t) " — " (f) } } }
                }
            }
        }
        h2 { (lang.t("可争取", "Within reach")) " (" (by(Status::Potential).count()) ")" }
        table.cards {
            tr { th { (lang.t("措施", "Measure")) } th { (lang.t("需要", "Needs")) } th.num { (lang.t("最高可获", "Up to")) } }
            @for o in by(Status::Potential) {
                @let m = &lib.measures[o.measure];
                tr {
                    td { a href={"/library/" (m.id)} { (title(m)) } " " span.muted { (lib.documents[m.doc].number) " " (m.clause.id) } }
                    td { (lang.t("发生“", "a “")) (kc_eval::plain::label(&lib.vocab.events[m.event].label, en)) (lang.t("”", "”"))
                        @for c in o.conditions.iter().filter(|c| c.status == Tri::Unknown) { @let (t, _) = c.describe_in(lib, m, en); br; span.muted { (t) } } }
                    td.num { (o.award.as_ref().and_then(|a| a.amount).map(yuan_wan).unwrap_or_else(|| kc_eval::plain::grant_words(lib, m, en))) }
                }
            }
        }
        details.notmet open[awards.is_empty()] {
            summary { (lang.t("不适用的措施", "Does not apply")) " (" (not_met.len()) ")" }
            table.cards {
                tr { th { (lang.t("措施", "Measure")) } th { (lang.t("事项", "Event")) } th { (lang.t("原因", "Why not")) } }
                @for o in &not_met {
                    @let m = &lib.measures[o.measure];
                    tr { td { a href={"/library/" (m.id)} { (title(m)) } } td { (ev_words(o)) } td.reason { (o.reason(lib, en).unwrap_or_default()) } }
                }
            }
        }
    }
}

/// How many events the questionnaire takes at once.
const CALC_EVENTS: usize = 3;
/// How many certifications it takes.
const CALC_CERTS: usize = 2;

/// The query key of event `n`'s field (`e.date` / `event_kind` for the first, as links made
/// before several events were possible still work).
fn event_key(n: usize, field: &str) -> String {
    match (n, field) {
        (1, "kind") => "event_kind".into(),
        (1, f) => format!("e.{f}"),
        (n, "kind") => format!("event_kind{n}"),
        (n, f) => format!("e{n}.{f}"),
    }
}

/// The 政策计算器's questionnaire for visitors: the applicant's profile, its certifications, one
/// year's figures and up to three events, each with the fields its kind asks for.
fn calculator_form(lang: Lang, st: &AppState, q: &BTreeMap<String, String>) -> Markup {
    let v = &st.lib.vocab;
    let en = lang.0;
    let select = |name: String, e: usize, cur: Option<&String>| {
        html! {
            select name=(name) id=(name) { option value="" { "—" } @for m in &v.enums[e].members { option value=(m.name) selected[cur == Some(&m.name)] { (kc_eval::plain::label(&m.label, en)) } } }
        }
    };
    let input_for = |name: String, ty: Type, cur: Option<&String>| match ty {
        Type::Enum(e) => select(name, e, cur),
        Type::Bool => {
            html! { select name=(name) id=(name) { option value="" { "—" } option value="true" selected[cur.map(|c| c.as_str()) == Some("true")] { (lang.t("是", "yes")) } option value="false" selected[cur.map(|c| c.as_str()) == Some("false")] { (lang.t("否", "no")) } } }
        }
        Type::Date => {
            html! { input type="date" name=(name) id=(name) value=(cur.cloned().unwrap_or_default()); }
        }
        Type::Money | Type::Int | Type::Decimal | Type::Rate => {
            html! { input name=(name) id=(name) inputmode="decimal" value=(cur.cloned().unwrap_or_default()); }
        }
        _ => html! { input name=(name) id=(name) value=(cur.cloned().unwrap_or_default()); },
    };
    let cert_enum = v.certification;
    html! {
        form.card.questionnaire method="get" action="/calculator" {
            fieldset {
                legend { (lang.t("申报主体", "Applicant")) }
                @for f in &v.applicant { @if f.name != "name" {
                    @let key = format!("a.{}", f.name);
                    label for=(key) { (kc_eval::plain::label(&f.label, en)) @if let Some(u) = &f.label.unit { " (" (unit_in(lang, u)) ")" } }
                    (input_for(key.clone(), f.ty, q.get(&key)))
                } }
            }
            fieldset {
                legend { (lang.t("已获资质(如有)", "Certifications held (if any)")) }
                @for n in 1..=CALC_CERTS {
                    @let ck = format!("c{n}.cert"); @let dk = format!("c{n}.date");
                    label for=(ck) { (lang.t("资质", "Certification")) " " (n) } (select(ck.clone(), cert_enum, q.get(&ck)))
                    label for=(dk) { (lang.t("认定日期", "Date")) } input type="date" name=(dk) id=(dk) value=(q.get(&dk).cloned().unwrap_or_default());
                }
            }
            fieldset {
                legend { (lang.t("年度数据(如有)", "Yearly figures (if any)")) }
                label for="fy" { (lang.t("年度", "Year")) } input name="fy" id="fy" inputmode="numeric" size="5" value=(q.get("fy").cloned().unwrap_or_default());
                @for f in &v.figures {
                    @let key = format!("f.{}", f.name);
                    label for=(key) { (kc_eval::plain::label(&f.label, en)) @if let Some(u) = &f.label.unit { " (" (unit_in(lang, u)) ")" } }
                    (input_for(key.clone(), f.ty, q.get(&key)))
                }
            }
            @for n in 1..=CALC_EVENTS {
                @let kk = event_key(n, "kind");
                @let kind = q.get(&kk).and_then(|k| v.event_by_name(k));
                fieldset.event {
                    legend { (lang.t("事项", "Event")) " " (n) }
                    label for=(kk) { (lang.t("事项类型", "Kind")) }
                    select name=(kk) id=(kk) { option value="" { "—" } @for e in &v.events { option value=(e.name) selected[q.get(&kk) == Some(&e.name)] { (kc_eval::plain::label(&e.label, en)) } } }
                    @let dk = event_key(n, "date");
                    label for=(dk) { (lang.t("日期", "Date")) } input type="date" name=(dk) id=(dk) value=(q.get(&dk).cloned().unwrap_or_default());
                    @if let Some(k) = kind {
                        @for f in &v.events[k].fields {
                            @let key = event_key(n, &f.name);
                            label for=(key) { (kc_eval::plain::label(&f.label, en)) @if let Some(u) = &f.label.unit { " (" (unit_in(lang, u)) ")" } }
                            (input_for(key.clone(), f.ty, q.get(&key)))
                        }
                    } @else { p.muted { (lang.t("选择事项类型后点“计算”,再填写该事项的具体信息。", "Pick a kind and press Compute to fill in its details.")) } }
                }
            }
            button type="submit" { (lang.t("计算", "Compute")) }
        }
    }
}

fn typed_json(ty: Type, s: &str) -> J {
    match ty {
        Type::Int => s.parse::<i64>().map(J::from).unwrap_or(J::from(s)),
        Type::Bool => J::Bool(s == "true"),
        _ => J::from(s),
    }
}

async fn calculator(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
    Query(q): Query<BTreeMap<String, String>>,
) -> PageResult {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date();
    // An applicant (or staff with ?applicant=) evaluates the stored record with its ledger.
    let record = match (&s, q.get("applicant")) {
        (Some(sess), Some(id)) => {
            sess.may_see(id)?;
            Some(id.clone())
        }
        (Some(sess), None) if !q.contains_key("a.kind") => sess.user.applicant_id.clone(),
        _ => None,
    };
    let mut body = html! {};
    let v = &st.lib.vocab;
    let doc = if let Some(id) = &record {
        Some(st.store.eval_input(id, today).await?)
    } else if q.get("a.kind").is_some_and(|k| !k.is_empty()) {
        let mut applicant = serde_json::Map::new();
        for f in &v.applicant {
            if let Some(val) = q.get(&format!("a.{}", f.name)).filter(|x| !x.is_empty()) {
                applicant.insert(f.name.clone(), typed_json(f.ty, val));
            }
        }
        let filled = |k: &str| {
            q.get(k)
                .filter(|x| !x.trim().is_empty())
                .map(|x| x.trim().to_string())
        };
        let mut certs = Vec::new();
        for n in 1..=CALC_CERTS {
            if let Some(c) = filled(&format!("c{n}.cert")) {
                certs.push(json!({"cert": c, "date": filled(&format!("c{n}.date")).unwrap_or(today.to_string())}));
            }
        }
        if !certs.is_empty() {
            applicant.insert("certifications".into(), J::Array(certs));
        }
        let mut figures = serde_json::Map::new();
        for f in &v.figures {
            if let Some(x) = filled(&format!("f.{}", f.name)) {
                figures.insert(f.name.clone(), typed_json(f.ty, &x));
            }
        }
        if !figures.is_empty() {
            let year = filled("fy").unwrap_or_else(|| (today.year() - 1).to_string());
            applicant.insert("figures".into(), json!({ year: figures }));
        }
        let mut events = Vec::new();
        for n in 1..=CALC_EVENTS {
            let Some(k) = q
                .get(&event_key(n, "kind"))
                .and_then(|k| v.event_by_name(k))
            else {
                continue;
            };
            let mut e = serde_json::Map::new();
            e.insert("id".into(), json!(format!("what-if-{n}")));
            e.insert("kind".into(), json!(v.events[k].name));
            e.insert(
                "date".into(),
                json!(filled(&event_key(n, "date")).unwrap_or(today.to_string())),
            );
            for f in &v.events[k].fields {
                if let Some(val) = filled(&event_key(n, &f.name)) {
                    e.insert(f.name.clone(), typed_json(f.ty, &val));
                }
            }
            events.push(J::Object(e));
        }
        Some(
            json!({"schema": kc_wire::INPUT_SCHEMA, "as_of": today.to_string(), "applicant": applicant, "events": events}),
        )
    } else {
        None
    };
    if let Some(doc) = doc {
        match kc_wire::parse_input(&st.lib, &doc.to_string(), None) {
            Ok(input) => {
                let ev = kc_eval::evaluate(&st.lib, &input);
                let existing = match (&record, &s) {
                    (Some(id), Some(sess)) => {
                        st.store.applications(&sess.user.actor(), Some(id)).await?
                    }
                    _ => Vec::new(),
                };
                let who = record
                    .as_ref()
                    .map(|_| input.applicant.name.clone())
                    .unwrap_or_default();
                body = html! {
                    @if !who.is_empty() { p { (lang.t("按本单位登记的信息和已获支持计算:", "Computed from the stored record and its ledger: ")) strong { (who) } } }
                    (evaluation_view(lang, &st, &input, &ev, if record.is_some() { s.as_ref() } else { None }, &existing, s.is_none()))
                };
            }
            Err(e) => {
                // Name the field by its label, as the form does, not by its JSON path.
                let field = e.path.rsplit('.').next().unwrap_or("");
                let label = v
                    .applicant
                    .iter()
                    .chain(v.events.iter().flat_map(|x| x.fields.iter()))
                    .find(|f| f.name == field)
                    .map(|f| kc_eval::plain::label(&f.label, lang.0).to_string())
                    .unwrap_or_else(|| e.path.clone());
                body = html! { div.error role="alert" { strong { (lang.t("输入有误:", "Input error: ")) } (label) " — " (e.message) } };
            }
        }
    }
    let form = if record.is_none() {
        calculator_form(lang, &st, &q)
    } else {
        html! {}
    };
    page(
        lang,
        s.as_ref(),
        lang.t("政策计算器", "Eligibility checker"),
        html! { (form) (body) },
    )
}

/// An application's state in words. A declined 免申即享 offer is stored as `withdrawn` (the
/// workflow's `decline_offer` step), but the applicant did not withdraw anything: it gave the
/// offer up, so the page says 已放弃.
fn state_label(a: &kc_store::ApplicationView) -> (&'static str, &'static str) {
    if a.origin == "offer" && a.state == St::Withdrawn {
        ("已放弃", "declined")
    } else {
        (a.state.zh(), a.state.code())
    }
}

/// An application's state in the page's language (a consistent badge text).
fn state_words(lang: Lang, a: &kc_store::ApplicationView) -> &'static str {
    let (zh, code) = state_label(a);
    if lang.0 { code_en(code) } else { zh }
}

fn code_en(code: &'static str) -> &'static str {
    match code {
        "draft" => "draft",
        "submitted" => "submitted",
        "in_review" => "in review",
        "needs_material" => "material requested",
        "approved" => "approved",
        "public_notice" => "public notice",
        "objected" => "objected",
        "rejected" => "rejected",
        "withdrawn" => "withdrawn",
        "disbursed" => "paid",
        "offered" => "offered",
        "declined" => "declined",
        other => other,
    }
}

/// The names behind the ids of some applications: applicants and events.
pub(crate) struct Names {
    applicants: BTreeMap<String, String>,
    events: BTreeMap<String, kc_store::EventLine>,
}

impl Names {
    pub(crate) async fn of(
        st: &AppState,
        apps: &[kc_store::ApplicationView],
    ) -> Result<Names, AppError> {
        Ok(Names {
            applicants: st
                .store
                .applicant_names(apps.iter().map(|a| a.applicant_id.as_str()))
                .await?,
            events: st
                .store
                .event_lines(apps.iter().map(|a| a.event_id.as_str()))
                .await?,
        })
    }
    /// The applicant's name (its code only where the store has no name).
    pub(crate) fn applicant<'a>(&'a self, id: &'a str) -> &'a str {
        self.applicants.get(id).map(String::as_str).unwrap_or(id)
    }
    pub(crate) fn event(&self, lib: &kc_check::Library, id: &str, en: bool) -> String {
        self.events
            .get(id)
            .map(|e| crate::labels::event_words(lib, &e.kind, &e.date, &e.body, en))
            .unwrap_or_else(|| id.to_string())
    }
}

fn app_rows(
    lang: Lang,
    st: &AppState,
    apps: &[kc_store::ApplicationView],
    names: &Names,
) -> Markup {
    let en = lang.0;
    html! {
        table.cards {
            tr { th { (lang.t("编号", "No.")) } th { (lang.t("申报主体", "Applicant")) } th { (lang.t("措施", "Measure")) } th { (lang.t("事项", "Event")) } th { (lang.t("状态", "State")) } th.num { (lang.t("计算金额", "Computed")) } th.num { (lang.t("批准金额", "Approved")) } }
            @for a in apps {
                tr {
                    td { a href={"/applications/" (a.id)} { (a.id) } }
                    td { a href={"/applicants/" (a.applicant_id)} { (names.applicant(&a.applicant_id)) } }
                    td { (st.lib.measure(&a.measure).map(|m| kc_eval::plain::label(&m.label, en).to_string()).unwrap_or(a.measure.clone())) }
                    td.muted { (names.event(&st.lib, &a.event_id, en)) }
                    td { span.tag.badge { (state_words(lang, a)) } }
                    td.num { (a.computed.map(crate::labels::yuan_wan).unwrap_or_default()) }
                    td.num { (a.approved.map(crate::labels::yuan_wan).unwrap_or_default()) }
                }
            }
        }
    }
}

async fn applications(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    let apps = st.store.applications(&s.user.actor(), None).await?;
    let names = Names::of(&st, &apps).await?;
    page(
        lang,
        Some(&s),
        lang.t("申报", "Applications"),
        app_rows(lang, &st, &apps, &names),
    )
}

#[derive(Deserialize)]
struct ApplyForm {
    csrf: Option<String>,
    measure: String,
    event: String,
}

async fn apply(
    CurrentSession(s): CurrentSession,
    State(st): State<AppState>,
    Form(f): Form<ApplyForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let applicant = s.user.applicant_id.clone().ok_or_else(|| {
        AppError::Forbidden("只有申报主体可以申报 (only applicants apply)".into())
    })?;
    let id = st
        .store
        .apply(&s.user.actor(), &applicant, &f.measure, &f.event)
        .await?;
    Ok(Redirect::to(&format!("/applications/{id}")).into_response())
}

/// A form that was refused: which form, why, and what was typed, so the page shows the
/// reason beside the form and keeps the input (a mistake never costs the user a full error
/// page or their typing).
pub(crate) struct FormProblem {
    pub form: String,
    pub message: String,
    pub status: StatusCode,
    pub values: BTreeMap<String, String>,
}

impl FormProblem {
    /// The problem for a refused form, or the error itself where it is not the user's to fix
    /// in the form (not logged in, not theirs, internal).
    pub(crate) fn from_error(
        form: &str,
        e: AppError,
        values: BTreeMap<String, String>,
    ) -> Result<FormProblem, AppError> {
        match e {
            AppError::BadRequest { .. } | AppError::Conflict { .. } => Ok(FormProblem {
                form: form.to_string(),
                message: e.message(),
                status: e.status(),
                values,
            }),
            other => Err(other),
        }
    }
    fn for_form<'a>(p: Option<&'a FormProblem>, form: &str) -> Option<&'a FormProblem> {
        p.filter(|p| p.form == form)
    }
    fn value(p: Option<&FormProblem>, field: &str) -> Option<String> {
        p.and_then(|p| p.values.get(field).cloned())
    }
}

/// The reason a form was refused, next to it.
fn problem_box(p: Option<&FormProblem>) -> Markup {
    html! { @if let Some(p) = p { div.error.form-error role="alert" { (p.message) } } }
}

async fn application(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    application_page(&s, lang, &st, &id, None).await
}

/// The application page; `problem` re-shows a form that was refused (an action, a payment or
/// one of the materials forms) with its reason beside it and its input kept.
pub(crate) async fn application_page(
    s: &Session,
    lang: Lang,
    st: &AppState,
    id: &str,
    problem: Option<FormProblem>,
) -> PageResult {
    let problem = problem.as_ref();
    let a = st.store.application(&s.user.actor(), id).await?;
    let names = Names::of(st, std::slice::from_ref(&a)).await?;
    let m = st
        .lib
        .measure(&a.measure)
        .ok_or_else(|| AppError::NotFound(a.measure.clone()))?;
    let d = &st.lib.documents[m.doc];
    let role = s.role();
    let acts: Vec<Action> = [
        Action::Submit,
        Action::Withdraw,
        Action::ConfirmOffer,
        Action::DeclineOffer,
        Action::StartReview,
        Action::RequestMaterial,
        Action::Approve,
        Action::Reject,
        Action::PublishNotice,
        Action::Object,
    ]
    .into_iter()
    .filter(|act| kc_domain::transition(a.state, *act, role).is_ok())
    .collect();
    let levels: Vec<&str> = m.split.shares.iter().map(|x| x.0.keyword()).collect();
    // What each level committed and paid for this application: the pay form shows what is left.
    let mut per_level: Vec<(String, Money, Money)> = levels
        .iter()
        .map(|l| (l.to_string(), Money::ZERO, Money::ZERO))
        .collect();
    if a.state == St::PublicNotice && matches!(role, Role::Finance | Role::Admin) {
        for (app, _, entry, level, amount, _) in st.store.ledger_of(&a.applicant_id).await? {
            if app != a.id {
                continue;
            }
            if let Some(row) = per_level.iter_mut().find(|r| r.0 == level) {
                match entry.as_str() {
                    "commitment" | "reversal" => row.1 = row.1 + amount,
                    "payment" => row.2 = row.2 + amount,
                    _ => {}
                }
            }
        }
    }
    let notice_range = st.store.notice_days();
    let notice_default = st
        .store
        .notice_period(None)
        .unwrap_or(*notice_range.start());
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date()
        .to_string();
    let materials = crate::materials::section(st, lang, s, &a, problem).await?;
    let body = html! {
        div.card {
            p { strong { (m.label.zh) } " · " (d.number) " " (m.clause.id) " · " a href={"/library/" (m.id)} { (lang.t("条款与规则", "clause and rule")) } }
            table {
                tr { th { (lang.t("申报主体", "Applicant")) } td { a href={"/applicants/" (a.applicant_id)} { (names.applicant(&a.applicant_id)) } " " span.muted.uscc { (a.applicant_id) } } }
                tr { th { (lang.t("事项", "Event")) } td { (names.event(&st.lib, &a.event_id, lang.0)) } }
                tr { th { (lang.t("来源", "Origin")) } td { (if a.origin == "offer" { "免申即享" } else { "申报" }) } }
                tr { th { (lang.t("状态", "State")) } td.state { span.badge { (state_words(lang, &a)) } } }
                tr { th { (lang.t("计算金额", "Computed")) } td { (a.computed.map(crate::labels::yuan_wan).unwrap_or_default()) " " (kind_zh(a.amount_kind.as_deref().unwrap_or(""))) } }
                tr { th { (lang.t("批准金额", "Approved")) } td.approved { (a.approved.map(yuan).unwrap_or_default()) } }
                @if let Some(r) = &a.reason { tr { th { (lang.t("理由", "Reason")) } td { (r) } } }
                @if let Some(mm) = &a.missing { tr { th { (lang.t("需补正材料", "Missing")) } td { (mm) } } }
                @if let Some(n) = &a.notice_until { tr { th { (lang.t("公示期满", "Notice until")) } td { (n) } } }
            }
            div.quote { (m.clause.quote) }
        }
        (materials)
        @if !acts.is_empty() {
            h2 { (lang.t("办理", "Actions")) }
            // Declining an offer cannot be undone: a secondary link to a page that asks first.
            @if acts.contains(&Action::DeclineOffer) {
                p.card { a.decline href={"/applications/" (a.id) "/decline"} { (lang.t("放弃此免申即享…", "Decline this offer…")) } " " span.muted { (lang.t("(将先确认,放弃后不能恢复)", "(asks first; cannot be undone)")) } }
            }
            @for act in acts.iter().filter(|x| **x != Action::DeclineOffer) {
                @let p = FormProblem::for_form(problem, act.code());
                form.card method="post" action={"/applications/" (a.id) "/act"} {
                    (problem_box(p))
                    (csrf_field(s))
                    input type="hidden" name="action" value=(act.code());
                    @match act {
                        // A fixed sum (定额) is prefilled; a maximum (最高) or an amount set by
                        // review is the reviewer's to name (the store refuses without one).
                        Action::Approve if matches!(a.amount_kind.as_deref(), Some("cap" | "review")) => {
                            label {
                                (lang.t("批准金额(元,必填)", "Amount (yuan, required)")) " "
                                input name="amount" value=(FormProblem::value(p, "amount").unwrap_or_default()) required aria-invalid=[p.map(|_| "true")];
                                @if let (Some("cap"), Some(c)) = (a.amount_kind.as_deref(), a.computed) {
                                    " " span.muted { (lang.t("本措施最高 ", "at most ")) span.cap { (yuan(c)) } }
                                }
                            }
                            label { (lang.t("理由(低于计算金额时必填)", "Reason (required below the computed amount)")) " " input name="reason" value=(FormProblem::value(p, "reason").unwrap_or_default()); }
                        }
                        Action::Approve => {
                            label { (lang.t("批准金额(元,不超过计算金额)", "Amount (yuan, at most the computed amount)")) " " input name="amount" value=(FormProblem::value(p, "amount").unwrap_or_else(|| a.computed.map(|c| c.plain()).unwrap_or_default())) aria-invalid=[p.map(|_| "true")]; }
                            label { (lang.t("理由(低于计算金额时必填)", "Reason (required below the computed amount)")) " " input name="reason" value=(FormProblem::value(p, "reason").unwrap_or_default()); }
                        }
                        Action::Reject | Action::Object => { label { (lang.t("理由", "Reason")) " " input name="reason" required value=(FormProblem::value(p, "reason").unwrap_or_default()); } }
                        Action::RequestMaterial => { label { (lang.t("一次性告知所缺材料(每行一项)", "All missing material, one per line")) br; textarea name="missing" rows="3" cols="40" { (FormProblem::value(p, "missing").unwrap_or_default()) } } }
                        Action::PublishNotice => {
                            label {
                                (lang.t("公示天数", "Notice days")) " "
                                input name="notice_days" type="number" value=(FormProblem::value(p, "notice_days").unwrap_or_else(|| notice_default.to_string())) min=(notice_range.start()) max=(notice_range.end()) size="3";
                                " " span.muted { (lang.t(&format!("{} 至 {} 天", notice_range.start(), notice_range.end()), &format!("{} to {} days", notice_range.start(), notice_range.end()))) }
                            }
                        }
                        _ => {}
                    }
                    button type="submit" name="do" value=(act.code()) { (act.zh()) }
                }
            }
        }
        @if a.state == St::PublicNotice && matches!(role, Role::Finance | Role::Admin) && a.notice_until.as_deref().is_none_or(|u| u <= today.as_str()) {
            h2 { (lang.t("拨付", "Payment")) }
            @let p = FormProblem::for_form(problem, "pay");
            form.card method="post" action={"/applications/" (a.id) "/pay"} {
                (problem_box(p))
                (csrf_field(s))
                table.remaining {
                    tr { th { (lang.t("级次", "Level")) } th.num { (lang.t("应拨付(已承诺)", "Committed")) } th.num { (lang.t("已拨付", "Paid")) } th.num { (lang.t("待拨付", "Left to pay")) } }
                    @for (l, c, p) in &per_level { tr { td { (level_in(lang, l)) } td.num { (yuan(*c)) } td.num { (yuan(*p)) } td.num.left { (yuan(*c - *p)) } } }
                }
                label { (lang.t("承担级次", "Level")) " " select name="level" { @for l in &levels { option value=(l) selected[FormProblem::value(p, "level").as_deref() == Some(*l)] { (level_in(lang, l)) } } } }
                label { (lang.t("金额(元)", "Amount (yuan)")) " " input name="amount" value=(FormProblem::value(p, "amount").unwrap_or_default()) aria-invalid=[p.map(|_| "true")]; }
                button type="submit" { (lang.t("记录拨付", "Record payment")) }
            }
        }
    };
    page(
        lang,
        Some(s),
        &format!("{} {}", lang.t("申请", "Application"), a.id),
        body,
    )
}

/// 放弃免申即享: what will be given up, and that it cannot be undone, before the POST.
async fn decline_form(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    let a = st.store.application(&s.user.actor(), &id).await?;
    let label = st
        .lib
        .measure(&a.measure)
        .map(|m| m.label.zh.clone())
        .unwrap_or(a.measure.clone());
    let may = kc_domain::transition(a.state, Action::DeclineOffer, s.role()).is_ok();
    let body = html! {
        div.card {
            table {
                tr { th { (lang.t("申请", "Application")) } td { a href={"/applications/" (a.id)} { (a.id) } } }
                tr { th { (lang.t("措施", "Measure")) } td { (label) } }
                tr { th { (lang.t("金额", "Amount")) } td.num { (a.computed.map(yuan).unwrap_or_default()) } }
                tr { th { (lang.t("状态", "State")) } td.state { span.badge { (state_words(lang, &a)) } } }
            }
        }
        @if may {
            div.error {
                p { strong { (lang.t("放弃后不能恢复。", "Declining cannot be undone.")) } }
                p { (lang.t("放弃后,本次免申即享不再兑现,同一事件不会再次推送。如只是暂不确认,请返回。",
                            "The offer will not be paid, and the same event will not be offered again. To decide later, go back.")) }
            }
            form.card method="post" action={"/applications/" (a.id) "/decline"} {
                (csrf_field(&s))
                button.secondary type="submit" name="do" value="decline_offer" { (lang.t("确认放弃", "Decline the offer")) }
                " " a href={"/applications/" (a.id)} { (lang.t("返回,不放弃", "Go back, keep the offer")) }
            }
        } @else {
            p.muted { (lang.t("此申请当前不能放弃。", "This application cannot be declined now.")) }
        }
    };
    page(
        lang,
        Some(&s),
        lang.t("放弃免申即享", "Decline an offer"),
        body,
    )
}

#[derive(Deserialize)]
struct DeclineForm {
    csrf: Option<String>,
}

async fn decline(
    CurrentSession(s): CurrentSession,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<DeclineForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    st.store
        .act(
            &s.user.actor(),
            &id,
            Action::DeclineOffer,
            ActArgs::default(),
        )
        .await?;
    Ok(Redirect::to(&format!("/applications/{id}")).into_response())
}

#[derive(Deserialize)]
struct ActForm {
    csrf: Option<String>,
    action: String,
    amount: Option<String>,
    reason: Option<String>,
    missing: Option<String>,
    notice_days: Option<String>,
}

fn form_money(v: &Option<String>, field: &str) -> Result<Option<Money>, AppError> {
    match v.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
        None => Ok(None),
        Some(x) => {
            let m = Money::parse_amount(x).map_err(|e| AppError::BadRequest {
                code: "invalid",
                message: match e {
                    kc_money::ParseError::TooPrecise(_) => {
                        format!("{field}:“{x}”超过两位小数,金额精确到分 ({e})")
                    }
                    kc_money::ParseError::NotANumber(_) => {
                        format!("{field}:“{x}”不是有效金额,请填写如 1234.56 的数字 ({e})")
                    }
                    kc_money::ParseError::BadGrouping(_) | kc_money::ParseError::OutOfRange(_) => {
                        format!("{field}:{e}")
                    }
                },
            })?;
            if m.is_negative() || m == Money::ZERO {
                return Err(AppError::BadRequest {
                    code: "invalid",
                    message: format!("{field}:金额须为正数 (must be positive)"),
                });
            }
            Ok(Some(m))
        }
    }
}

async fn act(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let form = f.action.clone();
    let values: BTreeMap<String, String> = [
        ("amount", &f.amount),
        ("reason", &f.reason),
        ("missing", &f.missing),
        ("notice_days", &f.notice_days),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
    .collect();
    match act_on(&s, &st, &id, f).await {
        Ok(()) => Ok(Redirect::to(&format!("/applications/{id}")).into_response()),
        Err(e) => refused_form(&s, lang, &st, &id, &form, e, values).await,
    }
}

/// Re-shows the application page with the refused form's reason next to it and the input
/// kept, under the error's status (400 for a mistake in a field, 409 for a refused step).
async fn refused_form(
    s: &Session,
    lang: Lang,
    st: &AppState,
    id: &str,
    form: &str,
    e: AppError,
    values: BTreeMap<String, String>,
) -> PageResult {
    let problem = FormProblem::from_error(form, e, values)?;
    let status = problem.status;
    let mut res = application_page(s, lang, st, id, Some(problem)).await?;
    *res.status_mut() = status;
    Ok(res)
}

async fn act_on(s: &Session, st: &AppState, id: &str, f: ActForm) -> Result<(), AppError> {
    let action = crate::api::parse_action(&f.action)?;
    if action == Action::DeclineOffer {
        // Declining cannot be undone: the page asks first (GET /applications/{id}/decline).
        return Err(AppError::BadRequest {
            code: "invalid",
            message: format!(
                "放弃免申即享须在确认页面操作:/applications/{id}/decline (decline an offer on its confirmation page)"
            ),
        });
    }
    let notice_days = match f
        .notice_days
        .as_deref()
        .map(str::trim)
        .filter(|x| !x.is_empty())
    {
        None => None,
        Some(x) => Some(x.parse::<i64>().map_err(|_| AppError::BadRequest {
            code: "invalid",
            message: format!("公示天数 notice days:“{x}”不是整数"),
        })?),
    };
    let args = ActArgs {
        amount: form_money(&f.amount, "批准金额 amount")?,
        reason: f.reason.filter(|r| !r.trim().is_empty()),
        missing: f
            .missing
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        notice_days,
    };
    st.store.act(&s.user.actor(), id, action, args).await?;
    Ok(())
}

#[derive(Deserialize)]
struct PayForm {
    csrf: Option<String>,
    level: String,
    amount: Option<String>,
}

async fn pay(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<PayForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let values: BTreeMap<String, String> = [
        ("level".to_string(), f.level.clone()),
        ("amount".to_string(), f.amount.clone().unwrap_or_default()),
    ]
    .into();
    let done = async {
        let amount =
            form_money(&f.amount, "拨付金额 amount")?.ok_or_else(|| AppError::BadRequest {
                code: "invalid",
                message: "拨付金额 amount:必填 (required)".into(),
            })?;
        st.store.pay(&s.user.actor(), &id, &f.level, amount).await?;
        Ok::<(), AppError>(())
    }
    .await;
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/applications/{id}")).into_response()),
        Err(e) => refused_form(&s, lang, &st, &id, "pay", e, values).await,
    }
}

async fn review(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    s.require_access(Access::AllApplicants)?;
    let apps = st.store.applications(&s.user.actor(), None).await?;
    let queue: Vec<_> = apps
        .iter()
        .filter(|a| crate::api_ext::in_review_queue(a.state))
        .cloned()
        .collect();
    let notices = st.store.public_notices().await?;
    let objections = st.store.public_objections(&s.user.actor()).await?;
    let names = Names::of(&st, &queue).await?;
    let body = html! {
        (app_rows(lang, &st, &queue, &names))
        @if !objections.is_empty() {
            h2 { (lang.t("社会公众提出的异议", "Objections from the public")) " (" (objections.len()) ")" }
            table {
                tr { th { (lang.t("申请", "Application")) } th { (lang.t("提出人", "From")) } th { (lang.t("联系方式", "Contact")) } th { (lang.t("理由", "Reason")) } th { (lang.t("时间", "When")) } }
                @for o in &objections {
                    tr { td { a href={"/applications/" (o.application)} { (o.application) } } td { (o.name) } td { (o.contact) } td.wrap { (o.reason) } td { (o.at.get(..16).unwrap_or(&o.at).replace('T', " ")) } }
                }
            }
        }
        h2 { (lang.t("公示名单", "Public notice")) }
        table {
            tr { th { (lang.t("申报主体", "Applicant")) } th { (lang.t("措施", "Measure")) } th { (lang.t("条款", "Clause")) } th.num { (lang.t("金额", "Amount")) } th { (lang.t("期满", "Until")) } }
            @for n in &notices {
                @let m = st.lib.measure(&n.measure);
                tr { td { (n.applicant_name) } td { (m.map(|m| m.label.zh.clone()).unwrap_or_default()) } td { (m.map(|m| format!("{} {}", st.lib.documents[m.doc].number, m.clause.id)).unwrap_or_default()) } td.num { (yuan(n.amount)) } td { (n.until) } }
            }
        }
    };
    page(lang, Some(&s), lang.t("审核", "Review queue"), body)
}

async fn budget(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    budget_page(&s, lang, &st, None).await
}

async fn budget_page(
    s: &Session,
    lang: Lang,
    st: &AppState,
    problem: Option<FormProblem>,
) -> PageResult {
    let p = FormProblem::for_form(problem.as_ref(), "set_budget");
    s.require_access(Access::Budgets)?;
    let rows = crate::api_ext::budget_rows(&st.store).await?;
    let by_level = crate::api_ext::by_level(&rows);
    let pct = |a: i64, b: i64| {
        if b <= 0 {
            0.0
        } else {
            (a as f64 / b as f64 * 100.0).min(100.0)
        }
    };
    let body = html! {
        h2 { (lang.t("分级承担(市 / 区县)", "By level (city / district)")) }
        table {
            tr { th { (lang.t("级次", "Level")) } th.num { (lang.t("已承诺", "Committed")) } th.num { (lang.t("已拨付", "Paid")) } }
            @for (l, (c, p)) in &by_level { tr { td { (level_in(lang, l)) } td.num { (yuan(kc_domain::from_fen(*c))) } td.num { (yuan(kc_domain::from_fen(*p))) } } }
        }
        h2 { (lang.t("措施与年度", "By measure and year")) }
        table id="budgets" {
            tr { th { (lang.t("措施", "Measure")) } th { (lang.t("年度", "Year")) } th { (lang.t("级次", "Level")) } th.num { (lang.t("预算", "Budget")) } th.num { (lang.t("已承诺", "Committed")) } th.num { (lang.t("已拨付", "Paid")) } th { (lang.t("执行", "Use")) } }
            @for (m, y, l) in &rows {
                tr {
                    td { (st.lib.measure(m).map(|x| x.label.zh.clone()).unwrap_or(m.clone())) }
                    td { (y) } td { (level_in(lang, &l.level)) }
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
        @if !matches!(s.role(), Role::Finance | Role::Admin) { (problem_box(p)) }
        @if matches!(s.role(), Role::Finance | Role::Admin) {
            h2 { (lang.t("设置预算", "Set a budget")) }
            form.card id="set-budget" method="post" action="/budget" {
                (problem_box(p))
                (csrf_field(s))
                label { (lang.t("措施", "Measure")) " " select name="measure" { @for m in &st.lib.measures { option value=(m.id) selected[FormProblem::value(p, "measure").as_deref() == Some(m.id.as_str())] { (kc_eval::plain::label(&m.label, lang.0)) } } } }
                label { (lang.t("年度", "Year")) " " input name="year" size="5" value=(FormProblem::value(p, "year").unwrap_or_default()); }
                label { (lang.t("级次", "Level")) " " select name="level" { @for l in ["city", "district", "province", "central"] { option value=(l) selected[FormProblem::value(p, "level").as_deref() == Some(l)] { (level_in(lang, l)) } } } }
                label { (lang.t("金额(元)", "Amount (yuan)")) " " input name="amount" value=(FormProblem::value(p, "amount").unwrap_or_default()); }
                button type="submit" { (lang.t("保存", "Save")) }
            }
        }
    };
    page(lang, Some(s), lang.t("预算执行", "Budgets"), body)
}

#[derive(Deserialize)]
struct BudgetForm {
    csrf: Option<String>,
    measure: String,
    year: String,
    level: String,
    amount: Option<String>,
}

async fn set_budget(
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

async fn save_budget(s: &Session, st: &AppState, f: BudgetForm) -> Result<(), AppError> {
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

#[derive(Deserialize, Default)]
struct AuditPageQuery {
    actor: Option<String>,
    action: Option<String>,
    entity: Option<String>,
    entity_id: Option<String>,
    from: Option<String>,
    until: Option<String>,
    before: Option<i64>,
}

const AUDIT_PAGE: i64 = 50;

/// Who did it, in words: `审核员 wang` for `reviewer:wang`.
fn actor_words(lang: Lang, actor: &str) -> String {
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
fn change_words(lang: Lang, st: &AppState, entity: &str, after: &str) -> String {
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
            "origin" => Some(if text == "offer" {
                lang.t("免申即享", "offer").to_string()
            } else {
                lang.t("申报", "application").to_string()
            }),
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

async fn audit(
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
    let mut log = st.store.audit_query(&filter).await?;
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
                        @if !after.is_empty() { details.raw { summary { (lang.t("原始记录", "Exact record")) } pre.raw { (after) } } } }
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

async fn applicants(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    s.require_access(Access::AllApplicants)?;
    let list = st.store.applicants().await?;
    let body = html! {
        table.cards {
            tr { th { (lang.t("名称", "Name")) } th { (lang.t("统一社会信用代码", "USCC")) } th { (lang.t("类型", "Kind")) } th { (lang.t("地区", "Region")) } }
            @for (id, name, kind, region) in &list { tr { td { a href={"/applicants/" (id)} { (name) } } td.uscc { (id) } td { (member_in(&st, lang, "ApplicantKind", kind)) } td { (member_in(&st, lang, "Region", region)) } } }
        }
    };
    page(lang, Some(&s), lang.t("申报主体", "Applicants"), body)
}

/// An enum member stored by name, in the page's language.
fn member_in(st: &AppState, lang: Lang, enum_name: &str, member: &str) -> String {
    let v = &st.lib.vocab;
    v.enum_by_name(enum_name)
        .and_then(|e| {
            v.enums[e].member(member).map(|m| {
                kc_eval::plain::label(&v.enums[e].members[m as usize].label, lang.0).to_string()
            })
        })
        .unwrap_or_else(|| member.to_string())
}

async fn applicant(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    s.may_see(&id)?;
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
            @for (a, _, e, l, x, at) in &ledger { tr { td { a href={"/applications/" (a)} { (a) } } td { (entry_in(lang, e)) } td { (level_in(lang, l)) } td.num { (yuan(*x)) } td { (readable_time(at)) } } } }
    };
    page(lang, Some(&s), lang.t("一企一档", "Applicant file"), body)
}

#[derive(Deserialize, Default)]
struct CalendarQuery {
    /// `YYYY-MM`; default the current month.
    month: Option<String>,
}

/// One dated entry of the 政策日历.
struct DayEntry {
    date: jiff::civil::Date,
    kind: &'static str,
    text: String,
    href: Option<String>,
}

async fn calendar(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
    Query(q): Query<CalendarQuery>,
) -> PageResult {
    use jiff::civil::Date;
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date();
    let lib = &st.lib;
    let en = lang.0;
    let first = q
        .month
        .as_deref()
        .and_then(|m| Date::strptime("%Y-%m-%d", format!("{m}-01")).ok())
        .unwrap_or_else(|| today.first_of_month());
    let next_month = first
        .checked_add(jiff::Span::new().months(1))
        .unwrap_or(first);
    let prev_month = first
        .checked_sub(jiff::Span::new().months(1))
        .unwrap_or(first);
    // Every dated thing a user plans around: documents taking effect and ending, each
    // measure's own window where it differs, 公示 periods ending, plan targets falling due.
    let mut entries: Vec<DayEntry> = Vec::new();
    for d in &lib.documents {
        entries.push(DayEntry {
            date: d.valid.0,
            kind: "start",
            text: format!("{} {}", d.number, lang.t("开始施行", "takes effect")),
            href: Some("/library".into()),
        });
        entries.push(DayEntry {
            date: d.valid.1,
            kind: "end",
            text: format!("{} {}", d.number, lang.t("有效期届满", "expires")),
            href: Some("/library".into()),
        });
    }
    for m in &lib.measures {
        let d = &lib.documents[m.doc];
        if m.valid.1 != d.valid.1 {
            entries.push(DayEntry {
                date: m.valid.1,
                kind: "end",
                text: format!(
                    "{} {}",
                    kc_eval::plain::label(&m.label, en),
                    lang.t("申报窗口截止", "window closes")
                ),
                href: Some(format!("/library/{}", m.id)),
            });
        }
    }
    for n in st.store.public_notices().await? {
        if let Ok(d) = n.until.parse::<Date>() {
            let title = lib
                .measure(&n.measure)
                .map(|m| kc_eval::plain::label(&m.label, en).to_string())
                .unwrap_or_default();
            entries.push(DayEntry {
                date: d,
                kind: "notice",
                text: format!(
                    "{} {} · {}",
                    lang.t("公示期满", "notice ends"),
                    n.applicant_name,
                    title
                ),
                href: Some("/notices".into()),
            });
        }
    }
    if s.as_ref().is_some_and(|x| x.role().may(Access::Plans)) {
        for p in &st.plans.plans {
            for i in &p.indicators {
                entries.push(DayEntry {
                    date: i.deadline,
                    kind: "target",
                    text: format!(
                        "{} {} {}{}",
                        lang.t("目标期限", "target due"),
                        i.name,
                        i.target.normalize(),
                        i.unit
                    ),
                    href: Some(format!("/plans?plan={}", p.id)),
                });
            }
        }
    }
    entries.sort_by(|a, b| a.date.cmp(&b.date).then(a.text.cmp(&b.text)));
    let in_month: Vec<&DayEntry> = entries
        .iter()
        .filter(|e| e.date >= first && e.date < next_month)
        .collect();
    let upcoming: Vec<&DayEntry> = entries.iter().filter(|e| e.date >= today).take(8).collect();
    let last_entry = entries
        .iter()
        .rfind(|e| e.date < first)
        .map(|e| e.date.first_of_month());
    let next_entry = entries
        .iter()
        .find(|e| e.date >= next_month)
        .map(|e| e.date.first_of_month());
    let ym = |d: Date| d.strftime("%Y-%m").to_string();
    // The grid: weeks from Monday; blank cells before the 1st and after the last day.
    let lead = first.weekday().to_monday_zero_offset() as usize;
    let days = first.days_in_month() as usize;
    let cells: Vec<Option<Date>> = (0..lead)
        .map(|_| None)
        .chain((0..days).map(|k| first.checked_add(jiff::Span::new().days(k as i64)).ok()))
        .collect();
    let weeks: Vec<&[Option<Date>]> = cells.chunks(7).collect();
    // Notifications: the latest changes to the user's applications, from the audit log.
    let notes = match &s {
        Some(sess) if sess.role().may(Access::ApplicantFile) => {
            st.store.notifications(&sess.user.actor(), 30).await?
        }
        _ => Vec::new(),
    };
    use crate::api_ext::{DocStatus, doc_status};
    let kind_words = |k: &str| match k {
        "start" => lang.t("施行", "in force"),
        "end" => lang.t("截止", "ends"),
        "notice" => lang.t("公示", "notice"),
        _ => lang.t("目标", "target"),
    };
    let body = html! {
        nav.month aria-label=(lang.t("月份", "Month")) {
            a href={"/calendar?month=" (ym(prev_month))} { "« " (ym(prev_month)) }
            " " strong { (first.strftime(if en { "%Y-%m" } else { "%Y年%m月" }).to_string()) } " "
            a href={"/calendar?month=" (ym(next_month))} { (ym(next_month)) " »" }
            " · " a href="/calendar" { (lang.t("本月", "This month")) }
            @if in_month.is_empty() {
                @if let Some(d) = last_entry { " · " a href={"/calendar?month=" (ym(d))} { (lang.t("上一个有事项的月份 ", "previous month with entries ")) (ym(d)) } }
                @if let Some(d) = next_entry { " · " a href={"/calendar?month=" (ym(d))} { (lang.t("下一个有事项的月份 ", "next month with entries ")) (ym(d)) } }
            }
        }
        table.month-grid {
            caption.muted { (lang.t("政策施行与届满、申报窗口截止、公示期满", "Documents in force and ending, windows closing, notices ending")) }
            tr { @for w in ["一", "二", "三", "四", "五", "六", "日"].iter().zip(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]) { th scope="col" { (if en { w.1 } else { w.0 }) } } }
            @for week in &weeks {
                tr {
                    @for k in 0..7 {
                        @match week.get(k).copied().flatten() {
                            Some(d) => td.day.today[d == today] {
                                span.daynum { (d.day()) }
                                @for e in in_month.iter().filter(|e| e.date == d) {
                                    div class={"entry " (e.kind)} { @if let Some(h) = &e.href { a href=(h) { (e.text) } } @else { (e.text) } }
                                }
                            },
                            None => td.blank {},
                        }
                    }
                }
            }
        }
        h2 { (lang.t("本月事项", "This month")) }
        @if in_month.is_empty() { p.muted { (lang.t("本月没有日程。", "Nothing falls in this month.")) } }
        ul.agenda { @for e in &in_month { li { span.tag { (kind_words(e.kind)) } " " (e.date) " " @if let Some(h) = &e.href { a href=(h) { (e.text) } } @else { (e.text) } } } }
        h2 { (lang.t("即将到来", "Coming up")) }
        @if upcoming.is_empty() { p.muted { (lang.t("今后没有已知的截止日期:本库政策均已到期。", "No dates ahead: every document of the library has expired.")) } }
        ul.agenda { @for e in &upcoming { li { span.tag { (kind_words(e.kind)) } " " (e.date) " " @if let Some(h) = &e.href { a href=(h) { (e.text) } } @else { (e.text) } } } }
        h2 { (lang.t("正在有效的政策", "In force now")) }
        table {
            tr { th { (lang.t("文件", "Document")) } th { (lang.t("有效期", "Valid")) } th { (lang.t("措施数", "Measures")) } th { (lang.t("提示", "Note")) } }
            @for (di, d) in lib.documents.iter().enumerate() {
                @if doc_status(d, today) != DocStatus::Expired {
                    tr { td { (doc_name(d)) } td { (d.valid.0) " – " (d.valid.1) } td { (lib.measures.iter().filter(|m| m.doc == di).count()) }
                        td { @if doc_status(d, today) == DocStatus::Expiring { span.no { (lang.t("180天内到期", "expires within 180 days")) } } } }
                }
            }
        }
        h2 { (lang.t("已失效", "Expired")) }
        ul { @for d in lib.documents.iter().filter(|d| doc_status(d, today) == DocStatus::Expired) { li { (doc_name(d)) " (" (d.valid.1) ")" } } }
        @if s.is_some() {
            h2 { (lang.t("通知", "Notifications")) }
            (notes_table(lang, &st, &notes))
        }
    };
    page(
        lang,
        s.as_ref(),
        lang.t("政策日历", "Policy calendar"),
        body,
    )
}

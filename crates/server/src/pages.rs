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
.ok{color:#1b7f3b}.no{color:#b71c1c}.unk{color:#9a6700}.muted{color:#627d98;font-size:.88rem}
.tag{display:inline-block;border-radius:3px;padding:0 .4rem;font-size:.8rem;background:#eef2f7}
form.inline{display:inline-block;margin:.2rem .3rem .2rem 0}input,select,textarea{font:inherit;padding:.25rem .4rem;max-width:100%}
button{font:inherit;background:#b71c1c;color:#fff;border:0;border-radius:4px;padding:.3rem .8rem;cursor:pointer}button.secondary{background:#486581}
label{display:block;margin:.3rem 0}.bar{background:#eef2f7;height:14px;border-radius:3px;position:relative;min-width:120px}
.bar span{position:absolute;left:0;top:0;bottom:0;background:#b71c1c;border-radius:3px}.bar span.paid{background:#1b7f3b}
svg.chart{width:100%;max-width:480px;height:auto;display:block}details summary{cursor:pointer;color:#2f6fb0}
details.record form{background:#f5f7fa;padding:.4rem .6rem;border-radius:4px}tr.detail td{border-top:0;padding-top:0}
tr.detail details{display:inline-block;vertical-align:top;margin-right:1.2rem;max-width:100%}tr.detail details.chart[open]{width:480px}
.error{background:#fff1f0;border:1px solid #b71c1c;padding:.8rem;border-radius:6px}
@media (max-width:640px){th,td{font-size:.82rem;padding:.25rem}header{gap:.5rem}main{padding:.5rem}table{display:block;overflow-x:auto}}
"#;

fn layout(lang: Lang, s: Option<&Session>, title: &str, body: Markup) -> Markup {
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
                header {
                    a.brand href="/" { "科创 kechuang" }
                    a href="/library" { (lang.t("政策库", "Policies")) }
                    a href="/calculator" { (lang.t("政策计算器", "Eligibility")) }
                    @if s.is_some() { a href="/applications" { (lang.t("申报", "Applications")) } }
                    @if let Some(Session { user, .. }) = s { @if let Some(a) = &user.applicant_id { a href={"/applicants/" (a)} { (lang.t("一企一档", "My file")) } } }
                    @if staff { a href="/review" { (lang.t("审核", "Review")) } a href="/budget" { (lang.t("预算", "Budgets")) } a href="/applicants" { (lang.t("申报主体", "Applicants")) } }
                    @if role == Some(Role::Admin) { a href="/audit" { (lang.t("审计", "Audit")) } }
                    a href="/notices" { (lang.t("公示", "Notices")) }
                    a href="/calendar" { (lang.t("政策日历", "Calendar")) }
                    @if let Some(n) = s.and_then(|s| s.unread) {
                        a.inbox href="/notifications" { (lang.t("通知", "Notifications")) " (" (n) ")" }
                    }
                    @if role.is_some_and(|r| r.may(Access::Plans)) { a href="/plans" { (lang.t("计划", "Plans")) } }
                    div.right {
                        a href="/lang/zh" { "中" } "/" a href="/lang/en" { "EN" }
                        @match s {
                            Some(s) => {
                                span.muted style="color:#ffe" { (s.user.name) " · " (if lang.0 { s.user.role.code() } else { role_zh(s.user.role) }) }
                                form.inline method="post" action="/logout" { input type="hidden" name="csrf" value=(s.csrf); button.secondary type="submit" { (lang.t("退出", "Log out")) } }
                            }
                            None => { a href="/login" { (lang.t("登录", "Log in")) } }
                        }
                    }
                }
                main { h1 { (title) } (body) }
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

/// The Chinese label of an enum member stored by name, e.g. a region or kind.
fn member_zh(st: &AppState, enum_name: &str, member: &str) -> String {
    let v = &st.lib.vocab;
    v.enum_by_name(enum_name)
        .and_then(|e| {
            v.enums[e]
                .member(member)
                .map(|m| v.member_zh(e, m).to_string())
        })
        .unwrap_or_else(|| member.to_string())
}

/// A document's number and title, once when they are the same (documents without a number).
fn doc_name(d: &kc_check::Document) -> String {
    if d.number == d.title {
        d.number.clone()
    } else {
        format!("{} {}", d.number, d.title)
    }
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
    let step_zh = crate::api_ext::step_zh;
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
    let body = html! {
        form.card method="post" action="/login" {
            label { (lang.t("用户名", "User")) br; input name="user" autocomplete="username" required; }
            label { (lang.t("密码", "Password")) br; input name="password" type="password" autocomplete="current-password" required; }
            button type="submit" { (lang.t("登录", "Log in")) }
        }
        p.muted { (lang.t("演示账号见启动时的提示(密码 demo-kechuang)。", "Demo accounts are printed at first start (password demo-kechuang).")) }
    };
    page(lang, s.as_ref(), lang.t("登录", "Log in"), body)
}

async fn login(
    State(st): State<AppState>,
    ip: crate::guard::ClientIp,
    Form(f): Form<LoginForm>,
) -> PageResult {
    let s = auth::login(&st, ip, f.user.trim(), &f.password).await?;
    Ok((
        [(header::SET_COOKIE, auth::session_cookie(&st, &s.id))],
        Redirect::to("/"),
    )
        .into_response())
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
                            td { (m.form.map(|f| f.zh()).unwrap_or("")) }
                            td { code { (amount_rule(m)) } }
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
    let body = html! {
        p.muted { (doc_name(d)) " · " (m.clause.heading) }
        div style="display:flex;flex-wrap:wrap;gap:1rem" {
            div.col { h2 { (lang.t("原文", "Source text")) } div.quote { (m.clause.quote) } }
            div.col {
                h2 { (lang.t("规则", "Rule")) }
                pre { (m.source) }
                table {
                    tr { th { (lang.t("金额", "Amount")) } td { (amount_rule(m)) } }
                    tr { th { (lang.t("方式", "Form")) } td { (m.form.map(|f| f.zh()).unwrap_or("")) } }
                    tr { th { (lang.t("触发事件", "Event")) } td { (lib.vocab.events[m.event].label.zh) } }
                    tr { th { (lang.t("有效期", "Valid")) } td { (m.valid.0) " – " (m.valid.1) } }
                    tr { th { (lang.t("资金分担", "Split")) } td { @for (l, _, t) in &m.split.shares { (l.zh()) " " (t) " " } } }
                }
            }
        }
    };
    page(lang, s.as_ref(), &m.label.zh, body)
}

fn status_class(t: Tri) -> &'static str {
    match t {
        Tri::Met => "ok",
        Tri::NotMet => "no",
        Tri::Unknown => "unk",
    }
}

/// Renders an evaluation: awards with trace, possible, potential ("if you … you could receive
/// up to …"), and a count of the rest.
fn evaluation_view(
    lang: Lang,
    st: &AppState,
    input: &kc_eval::Input,
    ev: &kc_eval::Evaluation,
    apply_as: Option<&Session>,
    existing: &[kc_store::ApplicationView],
) -> Markup {
    let lib = &st.lib;
    let by = |status: Status| ev.outcomes.iter().filter(move |o| o.status == status);
    html! {
        h2 { (lang.t("可获支持", "Awarded")) " (" (by(Status::Awarded).count()) ")" }
        @for o in by(Status::Awarded) {
            @let m = &lib.measures[o.measure];
            div.card data-measure=(m.id) {
                strong { (m.label.zh) } " " span.tag { (lib.documents[m.doc].number) " " (m.clause.id) } " " span.tag { (m.form.map(|f| f.zh()).unwrap_or("")) }
                @if let Some(a) = &o.award {
                    p { (a.kind.zh()) " " strong.amount { (a.amount.map(yuan).unwrap_or_else(|| "评审确定".into())) } }
                    ul { @for (_, line) in a.describe_trace(lib, m) { li { (line) } } }
                    @if let (Some(sess), Some(ei)) = (apply_as, o.event) {
                        @if let Some(app) = existing.iter().find(|a| a.measure == m.id && a.event_id == input.events[ei].id && !matches!(a.state, St::Withdrawn | St::Rejected)) {
                            p { (lang.t("已申报:", "Applied: ")) a href={"/applications/" (app.id)} { (app.id) } " " span.tag { (state_label(app).0) } }
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
            h2 { (lang.t("可能符合(待补充信息)", "Possible, if …")) }
            @for o in by(Status::Possible) {
                @let m = &lib.measures[o.measure];
                div.card { strong { (m.label.zh) } " " span.tag { (m.clause.id) }
                    ul { @for c in o.conditions.iter().filter(|c| c.status != Tri::Met) { @let (t, f) = c.describe(lib, m); li class=(status_class(c.status)) { (t) " — " (f) } } }
                }
            }
        }
        h2 { (lang.t("可争取", "Within reach")) " (" (by(Status::Potential).count()) ")" }
        table {
            tr { th { (lang.t("措施", "Measure")) } th { (lang.t("条件", "If")) } th.num { (lang.t("最高可获", "Up to")) } }
            @for o in by(Status::Potential) {
                @let m = &lib.measures[o.measure];
                tr {
                    td { a href={"/library/" (m.id)} { (m.label.zh) } " " span.muted { (lib.documents[m.doc].number) " " (m.clause.id) } }
                    td { (lang.t("若发生", "if ")) "“" (lib.vocab.events[m.event].label.zh) "”" }
                    td.num { (o.award.as_ref().and_then(|a| a.amount).map(yuan).unwrap_or_else(|| lang.t("按规则计算", "by the rule").to_string())) }
                }
            }
        }
        p.muted { (lang.t("不符合的措施与事件:", "Measure–event pairs not met: ")) (by(Status::NotMet).count()) }
    }
}

fn calculator_form(lang: Lang, st: &AppState, q: &BTreeMap<String, String>) -> Markup {
    let v = &st.lib.vocab;
    let select = |name: String, e: usize, cur: Option<&String>| {
        html! {
            select name=(name) { option value="" { "—" } @for m in &v.enums[e].members { option value=(m.name) selected[cur == Some(&m.name)] { (m.label.zh) } } }
        }
    };
    let input_for = |name: String, ty: Type, cur: Option<&String>| match ty {
        Type::Enum(e) => select(name, e, cur),
        Type::Bool => {
            html! { select name=(name) { option value="" { "—" } option value="true" selected[cur.map(|c| c.as_str()) == Some("true")] { "是" } option value="false" selected[cur.map(|c| c.as_str()) == Some("false")] { "否" } } }
        }
        Type::Date => {
            html! { input type="date" name=(name) value=(cur.cloned().unwrap_or_default()); }
        }
        _ => html! { input name=(name) value=(cur.cloned().unwrap_or_default()); },
    };
    let ev_kind = q.get("event_kind").and_then(|k| v.event_by_name(k));
    html! {
        form.card method="get" action="/calculator" {
            strong { (lang.t("申报主体", "Applicant")) }
            @for f in &v.applicant { @if f.name != "name" { label { (f.label.zh) " " (input_for(format!("a.{}", f.name), f.ty, q.get(&format!("a.{}", f.name)))) } } }
            strong { (lang.t("事件", "Event")) }
            label { (lang.t("事件类型", "Event kind")) " "
                select name="event_kind" { option value="" { "—" } @for e in &v.events { option value=(e.name) selected[q.get("event_kind") == Some(&e.name)] { (e.label.zh) } } }
            }
            label { (lang.t("事件日期", "Event date")) " " input type="date" name="e.date" value=(q.get("e.date").cloned().unwrap_or_default()); }
            @if let Some(k) = ev_kind {
                @for f in &v.events[k].fields { label { (f.label.zh) @if let Some(u) = &f.label.unit { " (" (u) ")" } " " (input_for(format!("e.{}", f.name), f.ty, q.get(&format!("e.{}", f.name)))) } }
            } @else { p.muted { (lang.t("选择事件类型后点“计算”,再填写事件字段。", "Pick an event kind and press Compute to see its fields.")) } }
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
        let mut events = Vec::new();
        if let Some(k) = q.get("event_kind").and_then(|k| v.event_by_name(k)) {
            let mut e = serde_json::Map::new();
            e.insert("id".into(), json!("what-if"));
            e.insert("kind".into(), json!(v.events[k].name));
            e.insert(
                "date".into(),
                json!(
                    q.get("e.date")
                        .filter(|d| !d.is_empty())
                        .cloned()
                        .unwrap_or(today.to_string())
                ),
            );
            for f in &v.events[k].fields {
                if let Some(val) = q.get(&format!("e.{}", f.name)).filter(|x| !x.is_empty()) {
                    e.insert(f.name.clone(), typed_json(f.ty, val));
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
                    (evaluation_view(lang, &st, &input, &ev, if record.is_some() { s.as_ref() } else { None }, &existing))
                };
            }
            Err(e) => {
                body = html! { div.error { strong { (lang.t("输入有误:", "Input error: ")) } (e.path) " — " (e.message) } };
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

fn app_rows(lang: Lang, st: &AppState, apps: &[kc_store::ApplicationView]) -> Markup {
    html! {
        table {
            tr { th { (lang.t("编号", "No.")) } th { (lang.t("申报主体", "Applicant")) } th { (lang.t("措施", "Measure")) } th { (lang.t("状态", "State")) } th.num { (lang.t("计算金额", "Computed")) } th.num { (lang.t("批准金额", "Approved")) } }
            @for a in apps {
                tr {
                    td { a href={"/applications/" (a.id)} { (a.id) } }
                    td { a href={"/applicants/" (a.applicant_id)} { (a.applicant_id) } }
                    td { (st.lib.measure(&a.measure).map(|m| m.label.zh.clone()).unwrap_or(a.measure.clone())) }
                    td { span.tag { (state_label(a).0) } }
                    td.num { (a.computed.map(yuan).unwrap_or_default()) }
                    td.num { (a.approved.map(yuan).unwrap_or_default()) }
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
    page(
        lang,
        Some(&s),
        lang.t("申报", "Applications"),
        app_rows(lang, &st, &apps),
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

async fn application(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    application_page(&s, lang, &st, &id, None).await
}

/// The application page; `note` re-shows a materials form that went wrong, with its input.
pub(crate) async fn application_page(
    s: &Session,
    lang: Lang,
    st: &AppState,
    id: &str,
    note: Option<&crate::materials::FormNote>,
) -> PageResult {
    let s = s.clone();
    let a = st.store.application(&s.user.actor(), id).await?;
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
    let notice_range = st.store.notice_days();
    let notice_default = st
        .store
        .notice_period(None)
        .unwrap_or(*notice_range.start());
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date()
        .to_string();
    let materials = crate::materials::section(st, lang, &s, &a, note).await?;
    let body = html! {
        div.card {
            p { strong { (m.label.zh) } " · " (d.number) " " (m.clause.id) " · " a href={"/library/" (m.id)} { (lang.t("条款与规则", "clause and rule")) } }
            table {
                tr { th { (lang.t("申报主体", "Applicant")) } td { a href={"/applicants/" (a.applicant_id)} { (a.applicant_id) } } }
                tr { th { (lang.t("事件", "Event")) } td { (a.event_id) } }
                tr { th { (lang.t("来源", "Origin")) } td { (if a.origin == "offer" { "免申即享" } else { "申报" }) } }
                tr { th { (lang.t("状态", "State")) } td.state { (state_label(&a).0) " (" (state_label(&a).1) ")" } }
                tr { th { (lang.t("计算金额", "Computed")) } td { (a.computed.map(yuan).unwrap_or_default()) " " (kind_zh(a.amount_kind.as_deref().unwrap_or(""))) } }
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
                form.card method="post" action={"/applications/" (a.id) "/act"} {
                    (csrf_field(&s))
                    input type="hidden" name="action" value=(act.code());
                    @match act {
                        // A fixed sum (定额) is prefilled; a maximum (最高) or an amount set by
                        // review is the reviewer's to name (the store refuses without one).
                        Action::Approve if matches!(a.amount_kind.as_deref(), Some("cap" | "review")) => {
                            label {
                                (lang.t("批准金额(元,必填)", "Amount (元, required)")) " "
                                input name="amount" value="" required;
                                @if let (Some("cap"), Some(c)) = (a.amount_kind.as_deref(), a.computed) {
                                    " " span.muted { (lang.t("本措施最高 ", "at most ")) span.cap { (yuan(c)) } }
                                }
                            }
                            label { (lang.t("理由(低于计算金额时必填)", "Reason (required below the computed amount)")) " " input name="reason"; }
                        }
                        Action::Approve => {
                            label { (lang.t("批准金额(元,不超过计算金额)", "Amount (元, at most the computed amount)")) " " input name="amount" value=(a.computed.map(|c| c.plain()).unwrap_or_default()); }
                            label { (lang.t("理由(低于计算金额时必填)", "Reason (required below the computed amount)")) " " input name="reason"; }
                        }
                        Action::Reject | Action::Object => { label { (lang.t("理由", "Reason")) " " input name="reason" required; } }
                        Action::RequestMaterial => { label { (lang.t("一次性告知所缺材料(每行一项)", "All missing material, one per line")) br; textarea name="missing" rows="3" cols="40" {} } }
                        Action::PublishNotice => {
                            label {
                                (lang.t("公示天数", "Notice days")) " "
                                input name="notice_days" type="number" value=(notice_default) min=(notice_range.start()) max=(notice_range.end()) size="3";
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
            form.card method="post" action={"/applications/" (a.id) "/pay"} {
                (csrf_field(&s))
                label { (lang.t("承担级次", "Level")) " " select name="level" { @for l in &levels { option value=(l) { (level_zh(l)) } } } }
                label { (lang.t("金额(元)", "Amount (元)")) " " input name="amount"; }
                button type="submit" { (lang.t("记录拨付", "Record payment")) }
            }
        }
    };
    page(
        lang,
        Some(&s),
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
                tr { th { (lang.t("状态", "State")) } td.state { (state_label(&a).0) " (" (state_label(&a).1) ")" } }
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
    match st.store.act(&s.user.actor(), &id, action, args).await {
        Ok(_) => Ok(Redirect::to(&format!("/applications/{id}")).into_response()),
        // Materials still missing: the page again, saying what to hand in next to the forms.
        Err(e) => crate::materials::reshow_refused_submit(&st, lang, &s, &id, e.into()).await,
    }
}

#[derive(Deserialize)]
struct PayForm {
    csrf: Option<String>,
    level: String,
    amount: Option<String>,
}

async fn pay(
    CurrentSession(s): CurrentSession,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<PayForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let amount = form_money(&f.amount, "拨付金额 amount")?.ok_or_else(|| AppError::BadRequest {
        code: "invalid",
        message: "拨付金额 amount:必填 (required)".into(),
    })?;
    st.store.pay(&s.user.actor(), &id, &f.level, amount).await?;
    Ok(Redirect::to(&format!("/applications/{id}")).into_response())
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
    let body = html! {
        (app_rows(lang, &st, &queue))
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
            @for (l, (c, p)) in &by_level { tr { td { (level_zh(l)) } td.num { (yuan(kc_domain::from_fen(*c))) } td.num { (yuan(kc_domain::from_fen(*p))) } } }
        }
        h2 { (lang.t("措施与年度", "By measure and year")) }
        table id="budgets" {
            tr { th { (lang.t("措施", "Measure")) } th { (lang.t("年度", "Year")) } th { (lang.t("级次", "Level")) } th.num { (lang.t("预算", "Budget")) } th.num { (lang.t("已承诺", "Committed")) } th.num { (lang.t("已拨付", "Paid")) } th { (lang.t("执行", "Use")) } }
            @for (m, y, l) in &rows {
                tr {
                    td { (st.lib.measure(m).map(|x| x.label.zh.clone()).unwrap_or(m.clone())) }
                    td { (y) } td { (level_zh(&l.level)) }
                    td.num { (l.budget_fen.map(|b| yuan(kc_domain::from_fen(b))).unwrap_or_else(|| "—".into())) }
                    td.num.committed { (yuan(kc_domain::from_fen(l.committed_fen))) }
                    td.num.paid { (yuan(kc_domain::from_fen(l.paid_fen))) }
                    td {
                        @let base = l.budget_fen.unwrap_or(l.committed_fen.max(1));
                        div.bar title="committed" { span style={"width:" (format!("{:.0}", pct(l.committed_fen, base))) "%"} {} }
                        div.bar title="paid" { span.paid style={"width:" (format!("{:.0}", pct(l.paid_fen, base))) "%"} {} }
                        @if let Some(w) = l.warning() { span.no { (w) } }
                    }
                }
            }
        }
        @if matches!(s.role(), Role::Finance | Role::Admin) {
            h2 { (lang.t("设置预算", "Set a budget")) }
            form.card method="post" action="/budget" {
                (csrf_field(&s))
                label { (lang.t("措施", "Measure")) " " select name="measure" { @for m in &st.lib.measures { option value=(m.id) { (m.label.zh) } } } }
                label { (lang.t("年度", "Year")) " " input name="year" size="5"; }
                label { (lang.t("级次", "Level")) " " select name="level" { @for l in ["city", "district", "province", "central"] { option value=(l) { (level_zh(l)) } } } }
                label { (lang.t("金额(元)", "Amount (元)")) " " input name="amount"; }
                button type="submit" { (lang.t("保存", "Save")) }
            }
        }
    };
    page(lang, Some(&s), lang.t("预算执行", "Budgets"), body)
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
    State(st): State<AppState>,
    Form(f): Form<BudgetForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
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
    Ok(Redirect::to("/budget").into_response())
}

async fn audit(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    s.require_access(Access::Audit)?;
    let log = st.store.audit_log(300).await?;
    let body = html! {
        table {
            tr { th { "#" } th { (lang.t("时间", "When")) } th { (lang.t("操作人", "Who")) } th { (lang.t("操作", "What")) } th { (lang.t("对象", "Entity")) } th { (lang.t("变更后", "After")) } }
            @for e in &log { tr { td { (e["seq"]) } td { (e["at"].as_str().unwrap_or("")) } td { (e["actor"].as_str().unwrap_or("")) } td { (e["action"].as_str().unwrap_or("")) } td { (e["entity"].as_str().unwrap_or("")) " " (e["entity_id"].as_str().unwrap_or("")) } td.muted.wrap { (e["after"].as_str().unwrap_or("").chars().take(160).collect::<String>()) } } }
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
        table {
            tr { th { (lang.t("名称", "Name")) } th { (lang.t("统一社会信用代码", "USCC")) } th { (lang.t("类型", "Kind")) } th { (lang.t("地区", "Region")) } }
            @for (id, name, kind, region) in &list { tr { td { a href={"/applicants/" (id)} { (name) } } td { (id) } td { (kind) } td { (region) } } }
        }
    };
    page(lang, Some(&s), lang.t("申报主体", "Applicants"), body)
}

async fn applicant(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    s.may_see(&id)?;
    let profile = st.store.profile(&id).await?;
    let events = st.store.events_of(&id).await?;
    let apps = st.store.applications(&s.user.actor(), Some(&id)).await?;
    let ledger = st.store.ledger_of(&id).await?;
    let body = html! {
        div.card {
            p { strong { (profile["name"].as_str().unwrap_or("")) } " · " (id) " · " (member_zh(&st, "ApplicantKind", profile["kind"].as_str().unwrap_or(""))) " · " (member_zh(&st, "Region", profile["region"].as_str().unwrap_or(""))) }
            @if let Some(c) = profile["certifications"].as_array() { p { (lang.t("资质:", "Certifications: ")) @for x in c { span.tag { (member_zh(&st, "Certification", x["cert"].as_str().unwrap_or(""))) " " (x["date"].as_str().unwrap_or("")) } " " } } }
            p { a href={"/calculator?applicant=" (id)} { (lang.t("按本单位信息计算可享政策", "What this applicant can claim")) } }
        }
        h2 { (lang.t("事件", "Events")) }
        table { tr { th { "id" } th { (lang.t("类型", "Kind")) } th { (lang.t("日期", "Date")) } } @for e in &events { tr { td { (e["id"].as_str().unwrap_or("")) } td { (st.lib.vocab.event_by_name(e["kind"].as_str().unwrap_or("")).map(|k| st.lib.vocab.events[k].label.zh.clone()).unwrap_or_default()) } td { (e["date"].as_str().unwrap_or("")) } } } }
        h2 { (lang.t("申请与支持", "Applications and awards")) }
        (app_rows(lang, &st, &apps))
        h2 { (lang.t("资金台账", "Ledger")) }
        table { tr { th { (lang.t("申请", "Application")) } th { (lang.t("类型", "Entry")) } th { (lang.t("级次", "Level")) } th.num { (lang.t("金额", "Amount")) } th { (lang.t("时间", "When")) } }
            @for (a, _, e, l, x, at) in &ledger { tr { td { (a) } td { (entry_zh(e)) } td { (level_zh(l)) } td.num { (yuan(*x)) } td { (at) } } } }
    };
    page(lang, Some(&s), lang.t("一企一档", "Applicant file"), body)
}

async fn calendar(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date();
    let lib = &st.lib;
    // Notifications: the latest changes to the user's applications, from the audit log.
    let notes = match &s {
        Some(sess) if sess.role().may(Access::ApplicantFile) => {
            st.store.notifications(&sess.user.actor(), 30).await?
        }
        _ => Vec::new(),
    };
    use crate::api_ext::{DocStatus, doc_status};
    let body = html! {
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

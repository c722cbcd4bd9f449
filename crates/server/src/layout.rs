//! The page frame every page shares: the style sheet, the header with its menu (the current
//! page marked), the skip link and landmarks, the error page. A leaf: it knows sessions and
//! words, no feature.

use crate::AppError;
use crate::auth::{Lang, Session};
use crate::labels::*;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kc_domain::Access;
use maud::{DOCTYPE, Markup, PreEscaped, html};

pub(crate) type PageResult = Result<Response, AppError>;

pub(crate) const CSS: &str = r#"
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
header nav{display:flex;flex-wrap:wrap;gap:.8rem;align-items:center}.menu-toggle,.menu-button{display:none}header a[aria-current=page]{text-decoration:underline;text-underline-offset:.3rem;font-weight:700}
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
svg.chart{width:100%;max-width:480px;height:auto;display:block}svg.hbars{max-width:760px}table.knobs input[type=text]{width:9rem}fieldset.measure{background:#fff}details summary{cursor:pointer;color:#2f6fb0}
details.record form{background:#f5f7fa;padding:.4rem .6rem;border-radius:4px}tr.detail td{border-top:0;padding-top:0}
tr.detail details{display:inline-block;vertical-align:top;margin-right:1.2rem;max-width:100%}tr.detail details.chart[open]{width:480px}
.error{background:#fff1f0;border:1px solid #b71c1c;padding:.8rem;border-radius:6px}
pre.listing,pre.diff,.side-by-side pre{overflow-x:auto;background:#f5f7fa;color:#1a1a1a;padding:.5rem;border-radius:4px;font-size:.85rem;max-height:40rem}
pre.diff ins{background:#e6ffed;text-decoration:none;display:inline-block;min-width:100%}pre.diff del{background:#ffeef0;text-decoration:none;display:inline-block;min-width:100%}
pre.listing mark{background:#fff3bf}textarea#text{width:100%;box-sizing:border-box;font-family:monospace;font-size:.85rem}
#version-facts code{word-break:break-all}main textarea{max-width:100%;box-sizing:border-box}
.side-by-side{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1rem}
@media (max-width:640px){th,td{font-size:.9rem;padding:.3rem}header{gap:.3rem;padding:.3rem .5rem}header nav{display:none;flex-direction:column;align-items:stretch;gap:0;width:100%;order:3}.menu-button{display:inline-block;order:2;padding:.5rem .6rem;border:1px solid #fff;border-radius:4px;cursor:pointer}.menu-toggle{display:inline-block;position:absolute;opacity:0;width:1px;height:1px}.menu-toggle:checked~nav{display:flex}.menu-toggle:focus-visible+.menu-button{outline:2px solid #fff;outline-offset:2px}header .right{order:1}
header nav a,header .right a{padding:.55rem .45rem;white-space:nowrap;display:inline-block}header .who{display:none}header .right button{padding:.2rem .6rem}main{padding:.5rem}table{display:block;overflow-x:auto}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}table.cards tr:first-child{display:none}
table.cards tr{border:1px solid #d9e2ec;border-radius:6px;margin:.4rem 0;background:#fff}table.cards td{border:0;text-align:left}
button,input,select{min-height:2.6rem}table.month-grid{display:none}.side-by-side{grid-template-columns:minmax(0,1fr)}}
"#;

/// A menu entry, marked as the current page where it is (`aria-current`, underlined).
pub(crate) fn menu_link(cur: &str, href: &str, text: &str) -> Markup {
    let here = cur == href || (href != "/" && cur.starts_with(&format!("{href}/")));
    html! { a href=(href) aria-current=[here.then_some("page")] { (text) } }
}

pub(crate) fn layout(lang: Lang, s: Option<&Session>, title: &str, body: Markup) -> Markup {
    let cur = crate::labels::current_path();
    let role = s.map(|s| s.role());
    let staff = role.is_some_and(|r| r.may(Access::AllApplicants));
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
                    // On a phone the menu folds behind one button (a checkbox and its label: no
                    // script); on a desktop both are hidden and the menu is a row.
                    input.menu-toggle #menu-toggle type="checkbox";
                    label.menu-button for="menu-toggle" { "☰ " (lang.t("菜单", "Menu")) }
                    nav aria-label=(lang.t("主菜单", "Main menu")) {
                        (menu_link(&cur, "/library", lang.t("政策库", "Policies")))
                        (menu_link(&cur, "/calculator", lang.t("政策计算器", "Eligibility")))
                        (menu_link(&cur, "/market", lang.t("科技大市场", "S&T market")))
                        @if s.is_some() { (menu_link(&cur, "/applications", lang.t("申报", "Applications"))) }
                        @if let Some(Session { user, .. }) = s { @if let Some(a) = &user.applicant_id { (menu_link(&cur, &format!("/applicants/{a}"), lang.t("一企一档", "My file"))) } }
                        @if role == Some(kc_domain::Role::Applicant) { (menu_link(&cur, "/organisation", lang.t("我的单位", "My organisation"))) }
                        @if role == Some(kc_domain::Role::Admin) { (menu_link(&cur, "/staff", lang.t("工作人员账号", "Staff accounts"))) }
                        @if staff { (menu_link(&cur, "/review", lang.t("审核", "Review"))) (menu_link(&cur, "/budget", lang.t("预算", "Budgets"))) (menu_link(&cur, "/jurisdiction", lang.t("辖区", "Jurisdiction"))) (menu_link(&cur, "/applicants", lang.t("申报主体", "Applicants"))) }
                        @if role.is_some_and(|r| r.may(Access::Audit)) { (menu_link(&cur, "/audit", lang.t("审计", "Audit"))) }
                        (menu_link(&cur, "/notices", lang.t("公示", "Notices")))
                        (menu_link(&cur, "/calendar", lang.t("政策日历", "Calendar")))
                        @if let Some(n) = s.and_then(|s| s.unread) {
                            a.inbox href="/notifications" aria-current=[(cur == "/notifications").then_some("page")] { (lang.t("通知", "Notifications")) " (" (n) ")" }
                        }
                        @if role.is_some_and(|r| r.may(Access::Plans)) { (menu_link(&cur, "/plans", lang.t("计划", "Plans"))) }
                        @if role.is_some_and(|r| r.may(Access::Simulate)) { (menu_link(&cur, "/simulate", lang.t("测算", "Simulation"))) }
                        @if role.is_some_and(|r| r.may(Access::DraftPolicy) || r.may(Access::ApprovePolicy)) { (menu_link(&cur, "/policy-admin", lang.t("政策管理", "Policy management"))) }
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

pub(crate) fn page(lang: Lang, s: Option<&Session>, title: &str, body: Markup) -> PageResult {
    Ok(layout(lang, s, title, body).into_response())
}

pub(crate) fn csrf_field(s: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}

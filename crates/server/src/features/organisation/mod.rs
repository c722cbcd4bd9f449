//! 我的单位 and accounts (issue 11, items 3 and 4): the organisations a user acts for and the
//! switch between them; the organisation administrator's 单位用户管理 (users, invitations,
//! removal, password-reset links, who did what); the staff administrator's 工作人员账号; the
//! one-time link page (接受邀请 / 重置密码); and unified login (`oidc`).
//!
//! The rules live in the store (`kc_store::organisations`): these pages and the API (`api`)
//! call the same functions and add no rule of their own. A one-time link is shown once, on
//! the page that made it, for the administrator to hand over: there is no e-mail.

pub mod api;
pub mod oidc;

use crate::auth::{self, CurrentSession, Lang, MaybeSession, Session};
use crate::forms::{FormProblem, problem_box};
use crate::labels::*;
use crate::layout::*;
use crate::{AppError, AppState};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use kc_domain::Role;
use kc_store::{IssuedLink, LinkInfo, LinkPurpose, Member, MemberStatus, Membership, StaffRow};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The pages of this feature.
pub fn routes() -> Router<crate::Platform> {
    Router::new()
        .route("/organisation", get(organisation_page))
        .route("/organisation/switch", post(switch))
        .route("/organisation/users", post(invite))
        .route("/organisation/users/{user}/remove", post(remove))
        .route("/users/{user}/reset", post(reset))
        .route("/staff", get(staff_page).post(invite_staff))
        .route("/link/{token}", get(link_page).post(use_link))
        .route("/login/oidc", get(oidc::start))
        .route("/login/oidc/callback", get(oidc::callback))
}

/// A link made for handing over: its path and, from the request's host, the whole address.
pub(crate) fn link_address(st: &AppState, headers: &HeaderMap, token: &str) -> (String, String) {
    let path = format!("/link/{token}");
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    let scheme = if st.secure_cookies { "https" } else { "http" };
    (path.clone(), format!("{scheme}://{host}{path}"))
}

/// The organisation the session acts for, or a 403 that says to choose one.
pub(crate) fn current_org(s: &Session) -> Result<String, AppError> {
    match (&s.user.role, &s.user.applicant_id) {
        (Role::Applicant, Some(org)) => Ok(org.clone()),
        (Role::Applicant, None) => Err(AppError::Forbidden(
            "当前未代表任何单位,请在“我的单位”中选择 (acting for no organisation: choose one under 我的单位)".into(),
        )),
        _ => Err(AppError::Forbidden(
            "只有申报单位的用户管理单位用户 (only an organisation's users manage its users)"
                .into(),
        )),
    }
}

/// What the organisation page shows.
pub(crate) struct OrgView {
    pub memberships: Vec<Membership>,
    pub current: Option<String>,
    pub admin: bool,
    pub members: Vec<Member>,
    pub audit: Vec<serde_json::Value>,
}

pub(crate) async fn org_view(st: &AppState, s: &Session) -> Result<OrgView, AppError> {
    if s.user.role != Role::Applicant {
        return Err(AppError::Forbidden(
            "“我的单位”只对申报单位的用户开放 (我的单位 is for organisations' users)".into(),
        ));
    }
    let actor = s.user.actor();
    let memberships = st.store.memberships(&s.user.id).await?;
    let admin = st.store.is_org_admin(&actor).await?;
    let (members, audit) = match (&s.user.applicant_id, admin) {
        (Some(org), true) => (
            st.store.members(&actor, org).await?,
            st.store.org_audit(&actor, org, 100).await?,
        ),
        _ => (vec![], vec![]),
    };
    Ok(OrgView {
        memberships,
        current: s.user.applicant_id.clone(),
        admin,
        members,
        audit,
    })
}

fn status_words(lang: Lang, m: &Member) -> &'static str {
    match m.status {
        MemberStatus::Active => lang.t("已启用", "active"),
        MemberStatus::AwaitingPassword => lang.t("待设置密码", "awaiting a password"),
        MemberStatus::AwaitingAcceptance => lang.t("待接受邀请", "invitation open"),
    }
}

/// The box with a link just made, to hand over.
fn issued_box(lang: Lang, link: &IssuedLink, url: &str) -> Markup {
    html! {
        div.card role="status" {
            p { strong { @match link.purpose {
                LinkPurpose::Invite => (lang.t("邀请链接已生成", "Invitation link made")),
                LinkPurpose::Reset => (lang.t("重置密码链接已生成", "Password-reset link made")),
            } } " · " (lang.t("账号", "user")) " " (link.user_id) }
            p { (lang.t("请将以下链接交给本人(仅显示这一次,一次有效,有效期至 ", "Hand this link to the user (shown only now, single use, valid until ")) (readable_time(&link.expires_at)) (lang.t(")。", ").")) }
            p { input readonly size="80" value=(url) aria-label=(lang.t("一次性链接", "One-time link")); }
        }
    }
}

fn org_body(
    lang: Lang,
    s: &Session,
    v: &OrgView,
    problem: Option<&FormProblem>,
    issued: Option<(&IssuedLink, &str)>,
) -> Markup {
    let name_of = |id: &str| {
        v.memberships
            .iter()
            .find(|m| m.applicant_id == id)
            .map(|m| m.applicant_name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let invite_p = FormProblem::for_form(problem, "invite");
    let other_p = problem.filter(|p| p.form != "invite");
    html! {
        @if let Some((link, url)) = issued { (issued_box(lang, link, url)) }
        (problem_box(other_p))
        div.card {
            p { (lang.t("当前代表:", "Acting for: "))
                @match &v.current {
                    Some(org) => { strong { (name_of(org)) } " " span.uscc { (org) } @if v.admin { " " span.tag { (lang.t("单位管理员", "administrator")) } } }
                    None => { span.no { (lang.t("未选择单位", "no organisation chosen")) } }
                }
            }
            @if v.memberships.is_empty() {
                p.muted { (lang.t("您的账号目前不属于任何单位,请联系单位管理员。", "Your account belongs to no organisation: ask an organisation's administrator.")) }
            }
            @if v.memberships.len() > 1 || (v.current.is_none() && !v.memberships.is_empty()) {
                form method="post" action="/organisation/switch" {
                    (csrf_field(s))
                    label { (lang.t("切换单位", "Switch organisation")) " "
                        select name="applicant" { @for m in &v.memberships { option value=(m.applicant_id) selected[v.current.as_deref() == Some(m.applicant_id.as_str())] { (m.applicant_name) } } } }
                    button type="submit" { (lang.t("切换", "Switch")) }
                }
            }
        }
        @if v.admin {
            h2 { (lang.t("单位用户管理", "Users of this organisation")) }
            table.cards {
                tr { th { (lang.t("账号", "User")) } th { (lang.t("姓名", "Name")) } th { (lang.t("身份", "Role")) } th { (lang.t("状态", "Status")) } th { (lang.t("操作", "Actions")) } }
                @for m in &v.members { tr {
                    td { (m.user_id) } td { (m.name) }
                    td { (if m.is_admin { lang.t("单位管理员", "administrator") } else { lang.t("经办人", "clerk") }) }
                    td { (status_words(lang, m)) }
                    td {
                        @if m.user_id != s.user.id {
                            form.inline method="post" action={"/organisation/users/" (m.user_id) "/remove"} { (csrf_field(s)) button.secondary type="submit" { (lang.t("移除", "Remove")) } }
                            @if m.status != MemberStatus::AwaitingAcceptance {
                                form.inline method="post" action={"/users/" (m.user_id) "/reset"} { (csrf_field(s)) button.secondary type="submit" { (lang.t("生成重置密码链接", "Password-reset link")) } }
                            }
                        }
                    }
                } }
            }
            form.card method="post" action="/organisation/users" {
                h3 { (lang.t("邀请用户", "Invite a user")) }
                (problem_box(invite_p))
                (csrf_field(s))
                label { (lang.t("账号(登录名,3–64 个字母、数字或 . _ - @)", "User name (3–64 letters, digits or . _ - @)")) br; input name="user" required value=(FormProblem::value(invite_p, "user").unwrap_or_default()); }
                label { (lang.t("姓名(新账号必填)", "Name (for a new account)")) br; input name="name" value=(FormProblem::value(invite_p, "name").unwrap_or_default()); }
                label { input type="checkbox" name="admin" value="1" checked[FormProblem::value(invite_p, "admin").as_deref() == Some("1")]; " " (lang.t("设为单位管理员", "make an administrator")) }
                p.muted { (lang.t("新账号通过链接设置密码;已有账号的用户登录后打开链接即加入本单位。", "A new account sets its password through the link; an existing account joins by opening the link while logged in.")) }
                button type="submit" { (lang.t("生成邀请链接", "Make an invitation link")) }
            }
            h2 { (lang.t("操作记录", "Who did what")) }
            table.cards {
                tr { th { (lang.t("时间", "When")) } th { (lang.t("用户", "User")) } th { (lang.t("操作", "What")) } th { (lang.t("对象", "Record")) } }
                @for e in &v.audit { tr {
                    td { (readable_time(e["at"].as_str().unwrap_or(""))) }
                    td { (e["actor"].as_str().unwrap_or("").split_once(':').map_or("", |(_, u)| u)) }
                    td { (action_words(e["action"].as_str().unwrap_or(""), lang.0)) }
                    td { (entity_words(e["entity"].as_str().unwrap_or(""), lang.0)) " "
                        @let id = e["entity_id"].as_str().unwrap_or("");
                        @if e["entity"] == "application" || e["entity"] == "materials" { a href={"/applications/" (id)} { (id) } } @else { (name_of(id)) } }
                } }
            }
        }
    }
}

async fn render_org(
    st: &AppState,
    s: &Session,
    lang: Lang,
    problem: Option<FormProblem>,
    issued: Option<(&IssuedLink, &str)>,
) -> PageResult {
    let v = org_view(st, s).await?;
    let status = problem.as_ref().map(|p| p.status);
    let mut res = page(
        lang,
        Some(s),
        lang.t("我的单位", "My organisation"),
        org_body(lang, s, &v, problem.as_ref(), issued),
    )?;
    if let Some(status) = status {
        *res.status_mut() = status;
    }
    Ok(res)
}

pub(crate) async fn organisation_page(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    render_org(&st, &s, lang, None, None).await
}

#[derive(Deserialize)]
pub(crate) struct SwitchForm {
    csrf: Option<String>,
    applicant: String,
}

pub(crate) async fn switch(
    CurrentSession(s): CurrentSession,
    State(st): State<AppState>,
    Form(f): Form<SwitchForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    st.store
        .switch_org(&s.id, &s.user.id, f.applicant.trim())
        .await?;
    Ok(Redirect::to("/organisation").into_response())
}

#[derive(Deserialize)]
pub(crate) struct InviteForm {
    csrf: Option<String>,
    user: String,
    #[serde(default)]
    name: String,
    admin: Option<String>,
}

/// Invites into the organisation the session acts for: the link's token and what was made.
pub(crate) async fn do_invite(
    st: &AppState,
    s: &Session,
    user: &str,
    name: &str,
    admin: bool,
) -> Result<(IssuedLink, String), AppError> {
    let org = current_org(s)?;
    let token = auth::random_token();
    let link = st
        .store
        .invite_member(&s.user.actor(), &org, user.trim(), name, admin, &token)
        .await?;
    Ok((link, token))
}

pub(crate) async fn invite(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<InviteForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let admin = f.admin.as_deref() == Some("1");
    match do_invite(&st, &s, &f.user, &f.name, admin).await {
        Ok((link, token)) => {
            let (_, url) = link_address(&st, &headers, &token);
            render_org(&st, &s, lang, None, Some((&link, &url))).await
        }
        Err(e) => {
            let values: BTreeMap<String, String> = [
                ("user".to_string(), f.user.clone()),
                ("name".to_string(), f.name.clone()),
                ("admin".to_string(), f.admin.clone().unwrap_or_default()),
            ]
            .into();
            let p = FormProblem::from_error("invite", e, values)?;
            render_org(&st, &s, lang, Some(p), None).await
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    csrf: Option<String>,
}

pub(crate) async fn remove(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(user): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let org = current_org(&s)?;
    match st.store.remove_member(&s.user.actor(), &org, &user).await {
        Ok(()) => Ok(Redirect::to("/organisation").into_response()),
        Err(e) => {
            let p = FormProblem::from_error("remove", e.into(), BTreeMap::new())?;
            render_org(&st, &s, lang, Some(p), None).await
        }
    }
}

/// A password-reset link for `user`, with the rights the store checks (the organisation's
/// administrator for its users, the admin role, a staff administrator for staff).
pub(crate) async fn do_reset(
    st: &AppState,
    s: &Session,
    user: &str,
) -> Result<(IssuedLink, String), AppError> {
    let token = auth::random_token();
    let link = st.store.reset_link(&s.user.actor(), user, &token).await?;
    Ok((link, token))
}

pub(crate) async fn reset(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(user): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let staff = s.user.role != Role::Applicant;
    match do_reset(&st, &s, &user).await {
        Ok((link, token)) => {
            let (_, url) = link_address(&st, &headers, &token);
            if staff {
                render_staff(&st, &s, lang, None, Some((&link, &url))).await
            } else {
                render_org(&st, &s, lang, None, Some((&link, &url))).await
            }
        }
        Err(e) => {
            let p = FormProblem::from_error("reset", e, BTreeMap::new())?;
            if staff {
                render_staff(&st, &s, lang, Some(p), None).await
            } else {
                render_org(&st, &s, lang, Some(p), None).await
            }
        }
    }
}

pub(crate) async fn staff_rows(st: &AppState, s: &Session) -> Result<Vec<StaffRow>, AppError> {
    Ok(st.store.staff_users(&s.user.actor()).await?)
}

async fn render_staff(
    st: &AppState,
    s: &Session,
    lang: Lang,
    problem: Option<FormProblem>,
    issued: Option<(&IssuedLink, &str)>,
) -> PageResult {
    let rows = staff_rows(st, s).await?;
    let p = problem.as_ref();
    let invite_p = FormProblem::for_form(p, "invite_staff");
    // The jurisdictions an invited account may work in: the inviter's own and those in it.
    let js = st.store.jurisdictions();
    let jname = |code: &str| -> String {
        match js.get(code) {
            Some(j) if lang.0 => j.en.clone(),
            Some(j) => j.zh.clone(),
            None => code.to_string(),
        }
    };
    let places: Vec<&kc_store::Jurisdiction> = js
        .all()
        .iter()
        .filter(|j| {
            s.user
                .jurisdiction
                .as_deref()
                .is_none_or(|own| js.contains(own, &j.code))
        })
        .collect();
    let roles: Vec<Role> = if s.user.role == Role::Admin {
        vec![Role::Reviewer, Role::Finance, Role::PlanOffice, Role::Admin]
    } else {
        vec![Role::Reviewer, Role::Finance, Role::PlanOffice]
    };
    let body = html! {
        @if let Some((link, url)) = issued { (issued_box(lang, link, url)) }
        (problem_box(p.filter(|p| p.form != "invite_staff")))
        table.cards {
            tr { th { (lang.t("账号", "User")) } th { (lang.t("姓名", "Name")) } th { (lang.t("角色", "Role")) } th { (lang.t("辖区", "Jurisdiction")) } th { (lang.t("工号", "Staff id")) } th { (lang.t("状态", "Status")) } th { (lang.t("操作", "Actions")) } }
            @for r in &rows { tr {
                td { (r.user_id) } td { (r.name) }
                td { (if lang.0 { r.role.code() } else { role_zh(r.role) }) @if r.is_admin { " " span.tag { (lang.t("可邀请工作人员", "invites staff")) } } }
                td { (r.jurisdiction.as_deref().map(&jname).unwrap_or_else(|| lang.t("全平台", "whole platform").to_string())) }
                td { (r.staff_id.clone().unwrap_or_default()) }
                td { (if r.has_password { lang.t("已启用", "active") } else { lang.t("待设置密码", "awaiting a password") }) }
                td { @if r.user_id != s.user.id && (r.role != Role::Admin || s.user.role == Role::Admin) {
                    form.inline method="post" action={"/users/" (r.user_id) "/reset"} { (csrf_field(s)) button.secondary type="submit" { (lang.t("生成重置密码链接", "Password-reset link")) } }
                } }
            } }
        }
        form.card method="post" action="/staff" {
            h3 { (lang.t("邀请工作人员", "Invite a staff member")) }
            (problem_box(invite_p))
            (csrf_field(s))
            label { (lang.t("账号(登录名)", "User name")) br; input name="user" required value=(FormProblem::value(invite_p, "user").unwrap_or_default()); }
            label { (lang.t("姓名", "Name")) br; input name="name" required value=(FormProblem::value(invite_p, "name").unwrap_or_default()); }
            label { (lang.t("角色", "Role")) br; select name="role" { @for r in &roles { option value=(r.code()) selected[FormProblem::value(invite_p, "role").as_deref() == Some(r.code())] { (if lang.0 { r.code() } else { role_zh(*r) }) } } } }
            label { (lang.t("工号(统一身份认证,可选)", "Staff id (unified login, optional)")) br; input name="staff_id" value=(FormProblem::value(invite_p, "staff_id").unwrap_or_default()); }
            label { input type="checkbox" name="admin" value="1" checked[FormProblem::value(invite_p, "admin").as_deref() == Some("1")]; " " (lang.t("可邀请工作人员", "may invite staff")) }
            label { (lang.t("辖区", "Jurisdiction")) br; select name="jurisdiction" {
                @if s.user.jurisdiction.is_none() { option value="" { (lang.t("全平台", "whole platform")) } }
                @for j in &places { option value=(j.code) selected[FormProblem::value(invite_p, "jurisdiction").as_deref().or(s.user.jurisdiction.as_deref()) == Some(j.code.as_str())] { (jname(&j.code)) " · " (if lang.0 { j.tier.en() } else { j.tier.zh() }) } }
            } }
            p.muted { (lang.t("受邀账号只能查看和办理所属辖区内的申报主体。", "The invited account sees and acts on the applicants of its jurisdiction only.")) }
            button type="submit" { (lang.t("生成邀请链接", "Make an invitation link")) }
        }
    };
    let status = problem.as_ref().map(|p| p.status);
    let mut res = page(
        lang,
        Some(s),
        lang.t("工作人员账号", "Staff accounts"),
        body,
    )?;
    if let Some(status) = status {
        *res.status_mut() = status;
    }
    Ok(res)
}

pub(crate) async fn staff_page(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    render_staff(&st, &s, lang, None, None).await
}

#[derive(Deserialize)]
pub(crate) struct StaffForm {
    csrf: Option<String>,
    user: String,
    name: String,
    role: String,
    staff_id: Option<String>,
    admin: Option<String>,
    jurisdiction: Option<String>,
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn do_invite_staff(
    st: &AppState,
    s: &Session,
    user: &str,
    name: &str,
    role: &str,
    admin: bool,
    staff_id: Option<&str>,
    jurisdiction: Option<&str>,
) -> Result<(IssuedLink, String), AppError> {
    let role = Role::parse(role.trim()).ok_or_else(|| AppError::BadRequest {
        code: "invalid",
        message: format!("角色:“{role}”不是已知角色 (role: unknown “{role}”)"),
    })?;
    let token = auth::random_token();
    let link = st
        .store
        .invite_staff(
            &s.user.actor(),
            user.trim(),
            name,
            role,
            admin,
            staff_id,
            jurisdiction,
            &token,
        )
        .await?;
    Ok((link, token))
}

pub(crate) async fn invite_staff(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<StaffForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let admin = f.admin.as_deref() == Some("1");
    match do_invite_staff(
        &st,
        &s,
        &f.user,
        &f.name,
        &f.role,
        admin,
        f.staff_id.as_deref(),
        f.jurisdiction.as_deref(),
    )
    .await
    {
        Ok((link, token)) => {
            let (_, url) = link_address(&st, &headers, &token);
            render_staff(&st, &s, lang, None, Some((&link, &url))).await
        }
        Err(e) => {
            let values: BTreeMap<String, String> = [
                ("user".to_string(), f.user.clone()),
                ("name".to_string(), f.name.clone()),
                ("role".to_string(), f.role.clone()),
                (
                    "staff_id".to_string(),
                    f.staff_id.clone().unwrap_or_default(),
                ),
                ("admin".to_string(), f.admin.clone().unwrap_or_default()),
                (
                    "jurisdiction".to_string(),
                    f.jurisdiction.clone().unwrap_or_default(),
                ),
            ]
            .into();
            let p = FormProblem::from_error("invite_staff", e, values)?;
            render_staff(&st, &s, lang, Some(p), None).await
        }
    }
}

fn link_body(
    lang: Lang,
    s: Option<&Session>,
    token: &str,
    info: &LinkInfo,
    problem: Option<&str>,
) -> Markup {
    let title = match info.purpose {
        LinkPurpose::Invite => lang.t("接受邀请", "Accept the invitation"),
        LinkPurpose::Reset => lang.t("重置密码", "Reset the password"),
    };
    html! {
        form.card method="post" action={"/link/" (token)} {
            h2 { (title) }
            @if let Some(p) = problem { div.error.form-error role="alert" { (p) } }
            p { (lang.t("账号:", "User: ")) strong { (info.user_id) } " (" (info.user_name) ")"
                @if let Some(org) = &info.applicant_name { " · " (lang.t("单位:", "organisation: ")) (org) } }
            p.muted { (lang.t("链接有效期至 ", "Valid until ")) (readable_time(&info.expires_at)) (lang.t(",只能使用一次。", "; it works once.")) }
            @if info.sets_password {
                label { (lang.t("新密码(至少 10 个字符)", "New password (at least 10 characters)")) br; input name="password" type="password" autocomplete="new-password" required minlength="10" aria-invalid=[problem.map(|_| "true")]; }
                label { (lang.t("再次输入新密码", "New password again")) br; input name="password2" type="password" autocomplete="new-password" required minlength="10"; }
                button type="submit" { (lang.t("设置密码", "Set the password")) }
            } @else {
                @match s {
                    Some(s) if s.user.id == info.user_id => {
                        input type="hidden" name="csrf" value=(s.csrf);
                        button type="submit" { (lang.t("加入该单位", "Join this organisation")) }
                    }
                    _ => { p { (lang.t("请先以该账号登录,再打开此链接。", "Log in as this user first, then open this link again.")) " " a href="/login" { (lang.t("登录", "Log in")) } } }
                }
            }
        }
    }
}

pub(crate) async fn link_page(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(token): Path<String>,
) -> PageResult {
    let info = st.store.link(&token).await?;
    page(
        lang,
        s.as_ref(),
        lang.t("一次性链接", "One-time link"),
        link_body(lang, s.as_ref(), &token, &info, None),
    )
}

#[derive(Deserialize)]
pub(crate) struct LinkForm {
    csrf: Option<String>,
    password: Option<String>,
    password2: Option<String>,
}

/// Uses a link: the password checked by the policy and hashed here, the rest in the store.
/// An existing account's invitation needs its session and that session's CSRF token.
pub(crate) async fn do_use_link(
    st: &AppState,
    s: Option<&Session>,
    csrf: Option<&str>,
    token: &str,
    password: Option<&str>,
    again: Option<&str>,
) -> Result<LinkInfo, AppError> {
    let info = st.store.link(token).await?;
    if info.sets_password {
        let pw = password.unwrap_or("");
        auth::check_new_password(pw, &info.user_id)?;
        if again.is_some_and(|a| a != pw) {
            return Err(AppError::BadRequest {
                code: "invalid",
                message: "再次输入新密码:两次输入不一致 (new password again: the two do not match)"
                    .into(),
            });
        }
        let hash = auth::hash_password(pw);
        Ok(st.store.use_link(token, Some(&hash), None).await?)
    } else {
        if let Some(s) = s {
            s.check_csrf(csrf)?;
        }
        Ok(st
            .store
            .use_link(token, None, s.map(|s| s.user.id.as_str()))
            .await?)
    }
}

pub(crate) async fn use_link(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(token): Path<String>,
    Form(f): Form<LinkForm>,
) -> PageResult {
    match do_use_link(
        &st,
        s.as_ref(),
        f.csrf.as_deref(),
        &token,
        f.password.as_deref(),
        f.password2.as_deref(),
    )
    .await
    {
        Ok(info) => {
            let body = html! {
                div.card role="status" {
                    @if info.sets_password {
                        p { (lang.t("密码已设置,请用新密码登录。", "The password is set: log in with it.")) }
                        p { a href="/login" { (lang.t("去登录", "Log in")) } }
                    } @else {
                        p { (lang.t("已加入单位,可在“我的单位”中切换。", "You joined the organisation: switch to it under 我的单位.")) }
                        p { a href="/organisation" { (lang.t("我的单位", "My organisation")) } }
                    }
                }
            };
            // Setting a password ended the account's sessions, this browser's included.
            let s = if info.sets_password { None } else { s };
            page(lang, s.as_ref(), lang.t("完成", "Done"), body)
        }
        Err(e @ (AppError::BadRequest { .. } | AppError::Forbidden(_))) => {
            let info = st.store.link(&token).await?;
            let status = e.status();
            let mut res = page(
                lang,
                s.as_ref(),
                lang.t("一次性链接", "One-time link"),
                link_body(lang, s.as_ref(), &token, &info, Some(&e.message())),
            )?;
            *res.status_mut() = status;
            Ok(res)
        }
        Err(e) => Err(e),
    }
}

/// A plain page that sends the browser on to `to`: after a redirect from another site
/// (the identity provider), a SameSite=Strict cookie set on the way is not sent with an
/// immediate redirect, but it is with the next navigation from this site.
pub(crate) fn continue_page(lang: Lang, to: &str, set_cookies: Vec<String>) -> PageResult {
    let body = html! {
        div.card role="status" {
            p { (lang.t("登录成功。", "Logged in.")) }
            p { a href=(to) { (lang.t("继续", "Continue")) } }
        }
    };
    let mut res = page(lang, None, lang.t("登录", "Log in"), body)?;
    for c in set_cookies {
        if let Ok(v) = c.parse() {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    if let Ok(v) = format!("0; url={to}").parse() {
        res.headers_mut().insert("refresh", v);
    }
    *res.status_mut() = StatusCode::OK;
    Ok(res)
}

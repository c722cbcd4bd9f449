//! The JSON API of 我的单位, 单位用户管理, 工作人员账号 and one-time links: the same functions as
//! the pages, with the store's checks.

use super::*;
use crate::api::{ApiError, ApiResult, ApiSession, ErrorBody, body, csrf};
use axum::Json;
use axum::body::Bytes;
use serde_json::{Value as J, json};
use utoipa::ToSchema;

/// The API routes of this feature.
pub fn api_routes() -> Router<crate::Platform> {
    Router::new()
        .route("/organisations", get(my_organisations))
        .route("/organisations/current", post(switch_organisation))
        .route(
            "/organisation/users",
            get(organisation_users).post(invite_user),
        )
        .route("/organisation/users/{user}/remove", post(remove_user))
        .route("/organisation/audit", get(organisation_audit))
        .route("/users/{user}/reset_link", post(reset_link))
        .route("/staff", get(staff_users).post(invite_staff_api))
        .route("/links/{token}", get(link_info).post(use_link_api))
}

fn membership_json(m: &Membership) -> J {
    json!({"applicant": m.applicant_id, "name": m.applicant_name, "admin": m.is_admin})
}

fn member_json(m: &Member) -> J {
    json!({"user": m.user_id, "name": m.name, "admin": m.is_admin, "status": m.status.code()})
}

fn issued_json(st: &AppState, headers: &HeaderMap, link: &IssuedLink, token: &str) -> J {
    let (path, url) = link_address(st, headers, token);
    json!({"user": link.user_id, "purpose": link.purpose.code(), "expires_at": link.expires_at, "token": token, "path": path, "url": url})
}

/// The organisations the caller belongs to and the one its session acts for (applicants).
#[utoipa::path(get, path = "/api/organisations", operation_id = "my_organisations",
    responses((status = 200, description = "{current, admin, memberships: [{applicant, name, admin}]}", body = Object), (status = 403, body = ErrorBody)))]
pub(crate) async fn my_organisations(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> ApiResult<Json<J>> {
    let v = org_view(&st, &s).await?;
    Ok(Json(json!({
        "current": v.current, "admin": v.admin,
        "memberships": v.memberships.iter().map(membership_json).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct SwitchRequest {
    /// The 统一社会信用代码 of an organisation the caller belongs to
    applicant: String,
}

/// Makes the session act for another organisation the caller belongs to.
#[utoipa::path(post, path = "/api/organisations/current", operation_id = "switch_organisation", request_body = SwitchRequest,
    responses((status = 200, description = "{current}", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn switch_organisation(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let req: SwitchRequest = body(&bytes)?;
    st.store
        .switch_org(&s.id, &s.user.id, req.applicant.trim())
        .await?;
    Ok(Json(json!({"current": req.applicant.trim()})))
}

/// The users of the organisation the caller acts for, and its open invitations (its
/// administrator).
#[utoipa::path(get, path = "/api/organisation/users", operation_id = "organisation_users",
    responses((status = 200, description = "[{user, name, admin, status}]", body = Vec<Object>), (status = 403, body = ErrorBody)))]
pub(crate) async fn organisation_users(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> ApiResult<Json<J>> {
    let org = current_org(&s)?;
    let members = st.store.members(&s.user.actor(), &org).await?;
    Ok(Json(json!(
        members.iter().map(member_json).collect::<Vec<_>>()
    )))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct InviteRequest {
    /// The account name (3–64 letters, digits or . _ - @); an existing applicant account joins
    /// when it opens the link while logged in
    user: String,
    /// The user's name (required for a new account)
    #[serde(default)]
    name: String,
    /// Make an administrator of the organisation
    #[serde(default)]
    admin: bool,
}

/// Invites a user into the organisation the caller administers: a one-time link (72 h) to
/// hand over; only its hash is stored. Audited.
#[utoipa::path(post, path = "/api/organisation/users", operation_id = "invite_user", request_body = InviteRequest,
    responses((status = 200, description = "{user, purpose, expires_at, token, path, url}", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn invite_user(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let req: InviteRequest = body(&bytes)?;
    let (link, token) = do_invite(&st, &s, &req.user, &req.name, req.admin).await?;
    Ok(Json(issued_json(&st, &headers, &link, &token)))
}

/// Removes a user (or an open invitation) from the organisation the caller administers: the
/// user's sessions stop acting for it at once. Audited.
#[utoipa::path(post, path = "/api/organisation/users/{user}/remove", operation_id = "remove_user",
    params(("user" = String, Path, description = "account name")),
    responses((status = 200, body = crate::schemas::OkBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn remove_user(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    Path(user): Path<String>,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let org = current_org(&s)?;
    st.store.remove_member(&s.user.actor(), &org, &user).await?;
    Ok(Json(json!({"ok": true})))
}

/// Who did what for the organisation the caller administers: its users' audit entries about
/// the organisation and its applications, newest first.
#[utoipa::path(get, path = "/api/organisation/audit", operation_id = "organisation_audit",
    responses((status = 200, description = "[{seq, at, actor, action, entity, entity_id}]", body = Vec<Object>), (status = 403, body = ErrorBody)))]
pub(crate) async fn organisation_audit(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> ApiResult<Json<J>> {
    let org = current_org(&s)?;
    Ok(Json(json!(
        st.store.org_audit(&s.user.actor(), &org, 500).await?
    )))
}

/// A one-time password-reset link (24 h) for an account: the organisation's administrator for
/// its own users, a staff administrator or the admin role for staff. Audited.
#[utoipa::path(post, path = "/api/users/{user}/reset_link", operation_id = "reset_link",
    params(("user" = String, Path, description = "account name")),
    responses((status = 200, description = "{user, purpose, expires_at, token, path, url}", body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn reset_link(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    Path(user): Path<String>,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let (link, token) = do_reset(&st, &s, &user).await?;
    Ok(Json(issued_json(&st, &headers, &link, &token)))
}

/// Staff accounts (the admin role or a staff administrator).
#[utoipa::path(get, path = "/api/staff", operation_id = "staff_users",
    responses((status = 200, description = "[{user, name, role, staff_id, admin, active}]", body = Vec<Object>), (status = 403, body = ErrorBody)))]
pub(crate) async fn staff_users(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> ApiResult<Json<J>> {
    let rows = staff_rows(&st, &s).await?;
    Ok(Json(json!(
        rows.iter()
            .map(|r| json!({"user": r.user_id, "name": r.name, "role": r.role.code(), "staff_id": r.staff_id, "admin": r.is_admin, "active": r.has_password, "jurisdiction": r.jurisdiction}))
            .collect::<Vec<_>>()
    )))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct StaffInviteRequest {
    user: String,
    name: String,
    /// reviewer, finance, plan_office, or admin (the admin role only)
    role: String,
    /// The staff id in the identity service, for unified login
    staff_id: Option<String>,
    /// May invite staff in turn
    #[serde(default)]
    admin: bool,
    /// The jurisdiction the account works in (a region code such as hunnan, inside the
    /// inviter's own); default the inviter's
    jurisdiction: Option<String>,
}

/// Invites a staff account into the inviter's jurisdiction: a one-time link (72 h). Audited.
#[utoipa::path(post, path = "/api/staff", operation_id = "invite_staff", request_body = StaffInviteRequest,
    responses((status = 200, description = "{user, purpose, expires_at, token, path, url}", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn invite_staff_api(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let req: StaffInviteRequest = body(&bytes)?;
    let (link, token) = do_invite_staff(
        &st,
        &s,
        &req.user,
        &req.name,
        &req.role,
        req.admin,
        req.staff_id.as_deref(),
        req.jurisdiction.as_deref(),
    )
    .await?;
    Ok(Json(issued_json(&st, &headers, &link, &token)))
}

fn link_json(info: &LinkInfo) -> J {
    json!({
        "purpose": info.purpose.code(), "user": info.user_id, "name": info.user_name,
        "applicant": info.applicant_id, "applicant_name": info.applicant_name,
        "sets_password": info.sets_password, "expires_at": info.expires_at,
    })
}

/// What a one-time link is for (public: the link is the credential). An unknown, used or
/// expired link is one 409 `invalid_link`.
#[utoipa::path(get, path = "/api/links/{token}", operation_id = "link_info",
    params(("token" = String, Path, description = "the link's token")),
    responses((status = 200, description = "{purpose, user, name, applicant, applicant_name, sets_password, expires_at}", body = Object), (status = 409, body = ErrorBody)))]
pub(crate) async fn link_info(
    State(st): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Json<J>> {
    Ok(Json(link_json(&st.store.link(&token).await?)))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct UseLinkRequest {
    /// The new password (a reset, or a new account's invitation): 10 to 128 characters
    password: Option<String>,
}

/// Uses a one-time link, once: sets the password (a reset ends the account's sessions), or —
/// an existing account's invitation — joins the organisation, with that account's session
/// and its `X-CSRF-Token`. Audited.
#[utoipa::path(post, path = "/api/links/{token}", operation_id = "use_link",
    params(("token" = String, Path, description = "the link's token")), request_body = UseLinkRequest,
    responses((status = 200, description = "the link as it was", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn use_link_api(
    State(st): State<AppState>,
    MaybeSession(s): MaybeSession,
    headers: HeaderMap,
    Path(token): Path<String>,
    bytes: Bytes,
) -> Result<Json<J>, ApiError> {
    let req: UseLinkRequest = if bytes.is_empty() {
        UseLinkRequest { password: None }
    } else {
        body(&bytes)?
    };
    let header_csrf = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    let info = do_use_link(
        &st,
        s.as_ref(),
        header_csrf,
        &token,
        req.password.as_deref(),
        None,
    )
    .await?;
    Ok(Json(link_json(&info)))
}

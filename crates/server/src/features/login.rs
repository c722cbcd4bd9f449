//! Logging in and out and the language switch, as pages. Sessions themselves live in
//! [`crate::auth`].

use crate::auth::{self, CurrentSession, Lang, MaybeSession};
use crate::layout::*;
use crate::{AppError, AppState};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

/// The pages of this feature.
pub fn routes() -> Router<crate::Platform> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/lang/{lang}", get(set_lang))
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    user: String,
    password: String,
}

pub(crate) async fn login_form(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    page(
        lang,
        s.as_ref(),
        lang.t("登录", "Log in"),
        login_body(lang, "", None, st.oidc.is_some()),
    )
}

/// The login form; after a refusal, the reason above it and the user name kept. With unified
/// login configured, its button beside the form.
pub(crate) fn login_body(lang: Lang, user: &str, problem: Option<&str>, oidc: bool) -> Markup {
    html! {
        form.card method="post" action="/login" {
            @if let Some(p) = problem { div.error.form-error role="alert" { (p) } }
            label { (lang.t("用户名", "User")) br; input name="user" autocomplete="username" required value=(user); }
            label { (lang.t("密码", "Password")) br; input name="password" type="password" autocomplete="current-password" required aria-invalid=[problem.map(|_| "true")]; }
            button type="submit" { (lang.t("登录", "Log in")) }
        }
        @if oidc {
            p.card { a href="/login/oidc" { (lang.t("统一身份认证登录", "Log in with unified login (统一身份认证)")) } }
        }
        p.muted { (lang.t("演示账号见启动时的提示(密码 demo-kechuang)。", "Demo accounts are printed at first start (password demo-kechuang).")) }
    }
}

pub(crate) async fn login(
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
                login_body(lang, f.user.trim(), Some(&e.message()), st.oidc.is_some()),
            )?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    csrf: Option<String>,
}

pub(crate) async fn logout(
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

pub(crate) async fn set_lang(
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
pub(crate) fn same_site_path(headers: &HeaderMap) -> Option<String> {
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

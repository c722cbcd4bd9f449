//! Unified login (统一身份认证) through OpenID Connect: the authorization-code flow with PKCE
//! (S256), state and nonce, beside passwords.
//!
//! The key decisions: nothing is kept in memory — the login in flight (hashed state, the
//! browser's binding cookie hashed, nonce, PKCE verifier) is a database row taken once, so any
//! server process may receive the callback; the provider's metadata and keys are read afresh at
//! each login (`/.well-known/openid-configuration` and its JWKS), so a key rotation needs no
//! restart; the ID token's signature, issuer, audience, expiry and nonce are checked by the
//! `openidconnect` crate before any claim is read; and an identity maps only to an account that
//! exists — an organisation's administrator by the 统一社会信用代码 claim, a staff account by its
//! staff id — never to a new one.

use super::continue_page;
use crate::auth::{self, Lang};
use crate::layout::*;
use crate::{AppError, AppState, OidcConfig};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use kc_domain::Role;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use std::collections::HashMap;

/// The cookie binding a login in flight to the browser that started it (SameSite=Lax: it must
/// come back with the provider's redirect, a top-level navigation from another site).
const BROWSER_COOKIE: &str = "kc_oidc";

fn failed(detail: impl std::fmt::Debug) -> AppError {
    tracing::warn!(?detail, "unified login failed");
    AppError::BadRequest {
        code: "oidc_failed",
        message: "统一身份认证登录失败,请重试或使用密码登录 (unified login failed: try again or log in with a password)".into(),
    }
}

fn http_client() -> Result<openidconnect::reqwest::Client, AppError> {
    // No redirects: the token endpoint answering with one would be an open door (SSRF).
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| AppError::Internal(format!("OIDC HTTP client: {e}")))
}

type Client = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

async fn client(
    cfg: &OidcConfig,
    http: &openidconnect::reqwest::Client,
) -> Result<Client, AppError> {
    let issuer = IssuerUrl::new(cfg.issuer.clone()).map_err(failed)?;
    let meta = CoreProviderMetadata::discover_async(issuer, http)
        .await
        .map_err(failed)?;
    let redirect = RedirectUrl::new(cfg.redirect_url.clone()).map_err(failed)?;
    Ok(CoreClient::from_provider_metadata(
        meta,
        ClientId::new(cfg.client_id.clone()),
        cfg.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(redirect))
}

fn config(st: &AppState) -> Result<&OidcConfig, AppError> {
    st.oidc.as_deref().ok_or_else(|| {
        AppError::NotFound("统一身份认证未启用 (unified login is not configured)".into())
    })
}

/// `GET /login/oidc`: to the provider, with PKCE, state and nonce.
pub(crate) async fn start(State(st): State<AppState>) -> Result<Response, AppError> {
    let cfg = config(&st)?;
    let http = http_client()?;
    let client = client(cfg, &http).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in &cfg.scopes {
        req = req.add_scope(Scope::new(s.clone()));
    }
    let (url, state, nonce) = req.set_pkce_challenge(challenge).url();
    let browser = auth::random_token();
    st.store
        .begin_oidc_login(state.secret(), &browser, nonce.secret(), verifier.secret())
        .await?;
    let secure = if st.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{BROWSER_COOKIE}={browser}; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age=600{secure}"
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(url.as_str())).into_response())
}

/// The page of an identity that maps to no account, or of a failed login: Chinese first.
fn refusal(lang: Lang, status: StatusCode, message: &str) -> Result<Response, AppError> {
    let body = maud::html! {
        div.error role="alert" { (message) }
        p { a href="/login" { (lang.t("返回登录", "Back to log in")) } }
    };
    let mut res = page(
        lang,
        None,
        lang.t("统一身份认证登录", "Unified login"),
        body,
    )?;
    *res.status_mut() = status;
    Ok(res)
}

/// `GET /login/oidc/callback`: the code exchanged (with the PKCE verifier), the ID token
/// verified, the identity mapped to its account, a session opened.
pub(crate) async fn callback(
    State(st): State<AppState>,
    lang: Lang,
    headers: axum::http::HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let cfg = config(&st)?;
    if let Some(err) = q.get("error") {
        let message = format!("统一身份认证未完成:{err} (unified login did not complete: {err})");
        return refusal(lang, StatusCode::BAD_REQUEST, &message);
    }
    let (Some(code), Some(state)) = (q.get("code"), q.get("state")) else {
        return refusal(
            lang,
            StatusCode::BAD_REQUEST,
            "统一身份认证回调缺少 code 或 state 参数 (the callback lacks code or state)",
        );
    };
    let browser = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == BROWSER_COOKIE)
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    let Some((nonce, verifier)) = st.store.take_oidc_login(state, &browser).await? else {
        return refusal(
            lang,
            StatusCode::BAD_REQUEST,
            "登录请求已失效或不是从本浏览器发起的,请重新登录 (the login expired or was not started in this browser: start again)",
        );
    };
    let http = http_client()?;
    let client = client(cfg, &http).await?;
    let token = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .map_err(failed)?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http)
        .await
        .map_err(failed)?;
    let id_token = token
        .id_token()
        .ok_or_else(|| failed("the token response has no ID token"))?;
    // Signature (the provider's JWKS), issuer, audience, expiry and nonce.
    id_token
        .claims(&client.id_token_verifier(), &Nonce::new(nonce))
        .map_err(failed)?;
    let claims = verified_payload(&id_token.to_string())?;
    let claim = |name: &str| {
        claims
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
    };
    let (user, org) = if let Some(uscc) = claim(&cfg.uscc_claim) {
        let Ok(uscc) = kc_domain::Uscc::parse(&uscc) else {
            let message = format!(
                "统一身份认证提供的统一社会信用代码“{uscc}”无效 (the identity's 统一社会信用代码 is not valid)"
            );
            return refusal(lang, StatusCode::FORBIDDEN, &message);
        };
        let uscc = uscc.to_string();
        match st.store.org_login_user(&uscc).await? {
            Some(u) => (u, Some(uscc)),
            None => {
                let message = format!(
                    "统一社会信用代码 {uscc} 的单位尚未在本平台开通账号,请联系主管部门 (no account on this platform for the organisation {uscc}: contact the bureau)"
                );
                return refusal(lang, StatusCode::FORBIDDEN, &message);
            }
        }
    } else if let Some(staff_id) = claim(&cfg.staff_claim) {
        match st.store.user_by_staff_id(&staff_id).await? {
            Some(u) if u.role != Role::Applicant => (u, None),
            _ => {
                let message = format!(
                    "工号 {staff_id} 未对应本平台的工作人员账号,请联系管理员 (staff id {staff_id} maps to no staff account here: ask an administrator)"
                );
                return refusal(lang, StatusCode::FORBIDDEN, &message);
            }
        }
    } else {
        let message = format!(
            "统一身份认证未提供统一社会信用代码({})或工号({}),无法对应本平台账号 (the identity carries neither claim, so it maps to no account)",
            cfg.uscc_claim, cfg.staff_claim
        );
        return refusal(lang, StatusCode::FORBIDDEN, &message);
    };
    let session = auth::open_session(&st, user).await?;
    if let Some(org) = org {
        st.store
            .switch_org(&session.id, &session.user.id, &org)
            .await?;
    }
    let secure = if st.secure_cookies { "; Secure" } else { "" };
    continue_page(
        lang,
        "/",
        vec![
            auth::session_cookie(&st, &session.id),
            format!(
                "{BROWSER_COOKIE}=; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
            ),
        ],
    )
}

/// The claims of an ID token whose signature and claims `openidconnect` has just verified:
/// its payload, read for the claims the platform's mapping names (which the crate's typed
/// claims do not carry).
fn verified_payload(jwt: &str) -> Result<serde_json::Map<String, serde_json::Value>, AppError> {
    use base64::Engine;
    let payload = jwt
        .split('.')
        .nth(1)
        .ok_or_else(|| failed("the ID token is not a JWS"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(failed)?;
    serde_json::from_slice(&bytes).map_err(failed)
}

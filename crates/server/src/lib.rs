//! The platform: an HTTP JSON API (described by an OpenAPI document generated from the code)
//! and a server-rendered web UI, Chinese first with an English switch. The only crate that
//! knows HTTP.
//!
//! The key decision is statelessness: the server keeps nothing that matters in memory.
//! Sessions, CSRF tokens and failed-login counts live in the database, and every write goes
//! through kc-store's serialised transactions, so several `kechuang serve` processes can run
//! against one PostgreSQL behind a load balancer and a session opened on one is valid on all,
//! and the no-overpayment rule holds across them. Errors are one enum: JSON with a stable code
//! for `/api`, a page in Chinese (and English) for people; database details go to the log,
//! never to the user.

mod api;
mod api_ext;
mod auth;
mod features;
mod forms;
pub mod guard;
mod labels;
mod layout;
mod listing;
mod schemas;
pub mod seed;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kc_check::Library;
use kc_store::{Store, StoreError};
use std::sync::Arc;

pub use auth::{hash_password, verify_password};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub lib: Arc<Library>,
    /// Set the `Secure` flag on cookies (behind HTTPS).
    pub secure_cookies: bool,
    /// The plan library (progress recorded in the database is added per request).
    pub plans: Arc<kc_plans::PlanLibrary>,
    /// Rate limits, work limits, the client's address (see `guard`).
    pub guard: Arc<guard::Guard>,
    /// Unified login (统一身份认证) through OpenID Connect, when configured.
    pub oidc: Option<Arc<OidcConfig>>,
}

/// The router's state: the platform as started. Each request's handlers get an [`AppState`]
/// whose `lib` is one snapshot of the active library version, taken when the request is
/// extracted ([`axum::extract::FromRef`]) after `refresh_library` has read which version is
/// active: a version published by any process is used from the next request on, and no
/// request sees half a library.
#[derive(Clone)]
pub struct Platform(pub AppState);

impl axum::extract::FromRef<Platform> for AppState {
    fn from_ref(p: &Platform) -> AppState {
        let mut s = p.0.clone();
        s.lib = s.store.library();
        s
    }
}

/// Before each request: which library version is active (one indexed read), swapping in one
/// another process published. A failure to read it is logged and the request goes on with
/// the library this process holds (the request will meet the same database anyway).
async fn refresh_library(
    axum::extract::State(p): axum::extract::State<Platform>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Err(e) = p.0.store.refresh_library().await {
        tracing::warn!("cannot read the active library version: {e}");
    }
    next.run(req).await
}

/// Unified login (统一身份认证): the OpenID Connect provider and how its identities map to
/// accounts. Set by `kechuang serve --oidc-*` (or `KECHUANG_OIDC_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcConfig {
    /// The issuer URL; its `/.well-known/openid-configuration` is read at each login.
    pub issuer: String,
    pub client_id: String,
    /// `None`: a public client (PKCE alone).
    pub client_secret: Option<String>,
    /// This platform's callback, as registered with the provider: `https://HOST/login/oidc/callback`.
    pub redirect_url: String,
    /// Scopes asked for besides `openid` (the ones that release the claims below).
    pub scopes: Vec<String>,
    /// The claim holding an organisation's 统一社会信用代码.
    pub uscc_claim: String,
    /// The claim holding a staff member's id (工号).
    pub staff_claim: String,
}

/// How `kechuang serve` runs: the settings an operator chooses.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    /// Set the `Secure` flag on every cookie (behind HTTPS).
    pub secure_cookies: bool,
    /// Take the client's address from `X-Forwarded-For` (only behind our own reverse proxy).
    pub trust_proxy: bool,
    /// Rate limits for callers without a session.
    pub quota: guard::AnonQuota,
    /// Unified login, when configured.
    pub oidc: Option<OidcConfig>,
    /// The files of the library the process was started with (policies and scenarios): on
    /// first start they become library version 1 in the database, which is then the library
    /// the platform evaluates with. Empty: no versions (the started library serves).
    pub seed_library: Vec<kc_store::versions::VersionFile>,
}

/// The router: pages, the JSON API, the OpenAPI document.
pub fn router(state: AppState) -> Router {
    let platform = Platform(state);
    Router::new()
        .merge(features::routes())
        .nest("/api", api_ext::endpoints::routes())
        .layer(axum::middleware::from_fn_with_state(
            platform.clone(),
            refresh_library,
        ))
        .layer(axum::middleware::from_fn(guard::reject_nul))
        .layer(axum::middleware::from_fn(labels::with_current_path))
        .layer(axum::middleware::from_fn_with_state(
            platform.0.clone(),
            guard::anon_rate_limit,
        ))
        .layer(axum::middleware::from_fn(guard::error_shape))
        .layer(axum::middleware::from_fn(guard::security_headers))
        // Every request logged at info: method, path, status, latency (RUST_LOG filters).
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(
                    tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::INFO),
                )
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
                ),
        )
        .with_state(platform)
}

/// The router as a service that knows each connection's peer address (for rate limits and
/// login throttling); what `serve` and the tests run.
pub fn app(
    state: AppState,
) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<Router, std::net::SocketAddr> {
    router(state).into_make_service_with_connect_info::<std::net::SocketAddr>()
}

/// Errors of the platform. `/api` renders them as JSON `{code, message}`; pages as HTML.
#[derive(Debug)]
pub enum AppError {
    /// 401: not logged in.
    Unauthorized,
    /// 403: logged in, but this is not yours or not your role.
    Forbidden(String),
    /// 404
    NotFound(String),
    /// 400: a value is wrong; names the field.
    BadRequest { code: &'static str, message: String },
    /// 409: a business rule refused the step (duplicate, cap, budget, illegal transition…).
    Conflict { code: &'static str, message: String },
    /// 429: too many failed logins.
    TooManyRequests,
    /// 429: an anonymous client over its rate limit; `Retry-After` says when to come back.
    RateLimited,
    /// 413: the request asks for more work than one request may (events, history, response
    /// size); the message names the limit.
    TooLarge(String),
    /// 405
    MethodNotAllowed,
    /// 503: the evaluations are all busy or the deadline passed; try again.
    Busy,
    /// 403: missing or wrong CSRF token.
    Csrf,
    /// 500: logged with its detail; the user sees only that something failed.
    Internal(String),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::TooManyRequests | AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::BadRequest { code, .. } | AppError::Conflict { code, .. } => code,
            AppError::TooManyRequests => "too_many_requests",
            AppError::RateLimited => "rate_limited",
            AppError::TooLarge(_) => "too_large",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::Busy => "busy",
            AppError::Csrf => "csrf",
            AppError::Internal(_) => "internal",
        }
    }
    pub fn message(&self) -> String {
        match self {
            AppError::Unauthorized => "请先登录 (please log in)".into(),
            AppError::Forbidden(m) => m.clone(),
            AppError::NotFound(m) => format!("未找到 not found: {m}"),
            AppError::BadRequest { message, .. } | AppError::Conflict { message, .. } => {
                message.clone()
            }
            AppError::TooManyRequests => {
                "登录失败次数过多,请10分钟后再试 (too many failed logins; try again in 10 minutes)"
                    .into()
            }
            AppError::RateLimited => {
                "请求过于频繁,请稍后再试 (too many requests from this address; try again shortly)"
                    .into()
            }
            AppError::TooLarge(m) => m.clone(),
            AppError::MethodNotAllowed => "不支持此请求方法 (method not allowed)".into(),
            AppError::Busy => "系统繁忙,请稍后再试 (the server is busy; try again shortly)".into(),
            AppError::Csrf => {
                "表单已失效,请刷新页面后重试 (the form expired: reload the page and try again)"
                    .into()
            }
            AppError::Internal(_) => "系统内部错误,已记录 (internal error, logged)".into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::Db(e) => AppError::Internal(e.to_string()),
            StoreError::Invalid(m) => AppError::BadRequest {
                code: "invalid",
                message: m,
            },
            StoreError::NotFound(m) => AppError::NotFound(m),
            StoreError::Transition(t) => match t {
                kc_domain::TransitionError::Forbidden { .. } => AppError::Forbidden(t.to_string()),
                kc_domain::TransitionError::Illegal { .. } => AppError::Conflict {
                    code: "illegal_transition",
                    message: t.to_string(),
                },
            },
            StoreError::Refused {
                code: "forbidden",
                message,
            } => AppError::Forbidden(message),
            StoreError::Refused { code, message } => AppError::Conflict { code, message },
        }
    }
}

impl AppError {
    fn log(&self) {
        if let AppError::Internal(detail) = self {
            tracing::error!(%detail, "internal error");
        }
    }

    pub(crate) fn json(self) -> Response {
        self.log();
        let body = serde_json::json!({"code": self.code(), "message": self.message()});
        let retry = matches!(self, AppError::RateLimited | AppError::Busy);
        let mut res = (self.status(), axum::Json(body)).into_response();
        if retry {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("10"),
            );
        }
        res
    }

    /// JSON under `/api`, the error page elsewhere.
    pub(crate) fn respond(self, api: bool) -> Response {
        if api {
            self.json()
        } else {
            self.into_response()
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let page = layout::error_page(status, self.code(), &self.message());
        (status, page).into_response()
    }
}

/// Seeds an empty database (see `seed::first_start`) under the start-up lock: several
/// processes may start at once on one empty database; one seeds, the others wait and find it
/// done (issue 9, defect 8). `demo` as for [`serve`].
pub async fn first_start(
    store: &Store,
    demo: Option<&[(String, String)]>,
) -> Result<Vec<String>, StoreError> {
    let lock = store.startup_lock().await?;
    let report = seed::first_start(store, demo).await?;
    lock.release().await?;
    Ok(report)
}

/// Opens the store, seeds it on first start, and serves until Ctrl-C. `demo` is the demo data
/// to load on first start — `(path, eval-input JSON)` per applicant, in order — or `None` for
/// an empty production instance (`--no-demo`).
pub async fn serve(
    addr: &str,
    store: Store,
    lib: Arc<Library>,
    demo: Option<Vec<(String, String)>>,
    options: ServeOptions,
    plans: kc_plans::PlanLibrary,
) -> anyhow_free::Result<()> {
    let report = first_start(&store, demo.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    for line in report {
        println!("{line}");
    }
    if !options.seed_library.is_empty() {
        let lock = store.startup_lock().await.map_err(|e| e.to_string())?;
        let seeded = store.seed_library(&options.seed_library).await;
        lock.release().await.map_err(|e| e.to_string())?;
        let (version, new) = seeded.map_err(|e| format!("政策库版本 library version: {e}"))?;
        let a = store.active();
        println!(
            "政策库版本 {version}{} 生效: {} 个文件, {} 项措施 (library version {version} active{})",
            if new { "(首次启动写入)" } else { "" },
            options.seed_library.len(),
            a.lib.measures.len(),
            if new { ", seeded on first start" } else { "" }
        );
    }
    // Runs of the 测算 workspace left queued or running by a process that stopped (their
    // heartbeat is old) are marked failed, so none stays "running" forever.
    let stale = store
        .fail_stale_simulations()
        .await
        .map_err(|e| e.to_string())?;
    if stale > 0 {
        println!("测算 simulations: {stale} run(s) of a stopped process marked failed");
    }
    let guard = Arc::new(guard::Guard::new(options.quota, options.trust_proxy));
    guard::spawn_sweeper(guard.clone());
    let state = AppState {
        store,
        lib,
        secure_cookies: options.secure_cookies,
        plans: Arc::new(plans),
        guard,
        oidc: options.oidc.map(Arc::new),
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let shutdown = shutdown_signal();
    println!(
        "科创 kechuang 已启动 serving at http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Ctrl-C or SIGTERM (what `docker stop` and systemd send): stop accepting connections and
/// let the requests in flight finish, so no approval is cut off between its checks and its
/// commit by a routine restart. The SIGTERM handler is installed here, before the server says
/// it is serving, so a signal sent as soon as it is up is never the default (fatal) one.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async move {
            match terminate {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = terminate => {},
        }
        println!("科创 kechuang 正在停止 shutting down: finishing requests in flight");
    }
}

/// Plain string errors for `serve` (the CLI wraps them): no `anyhow` below the binary.
pub mod anyhow_free {
    pub type Result<T> = std::result::Result<T, String>;
}

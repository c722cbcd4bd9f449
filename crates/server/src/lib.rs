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
mod auth;
mod pages;
mod plans;
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
}

/// The router: pages, the JSON API, the OpenAPI document.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(pages::routes())
        .merge(plans::routes())
        .nest("/api", api::routes())
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
        .with_state(state)
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
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
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
        (self.status(), axum::Json(body)).into_response()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let page = pages::error_page(status, self.code(), &self.message());
        (status, page).into_response()
    }
}

/// Opens the store, seeds it on first start, and serves until Ctrl-C. `demo` is the demo data
/// to load on first start — `(path, eval-input JSON)` per applicant, in order — or `None` for
/// an empty production instance (`--no-demo`).
pub async fn serve(
    addr: &str,
    store: Store,
    lib: Arc<Library>,
    demo: Option<Vec<(String, String)>>,
    secure_cookies: bool,
    plans: kc_plans::PlanLibrary,
) -> anyhow_free::Result<()> {
    let report = seed::first_start(&store, demo.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    for line in report {
        println!("{line}");
    }
    let state = AppState {
        store,
        lib,
        secure_cookies,
        plans: Arc::new(plans),
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!(
        "科创 kechuang 已启动 serving at http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Plain string errors for `serve` (the CLI wraps them): no `anyhow` below the binary.
pub mod anyhow_free {
    pub type Result<T> = std::result::Result<T, String>;
}

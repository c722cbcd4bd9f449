//! What protects the platform from its callers: the limits on the work one request may cause,
//! the rate limit for anonymous use, the client's address, the security headers of every
//! response, and the one error shape for what axum itself rejects (413, 415, …). A leaf module:
//! it knows no feature of the platform.
//!
//! The key decision: the public calculator is bounded *before* it works — the body by size,
//! the input by events and history entries, the evaluations by a semaphore sized to the cores
//! and by a deadline — so an anonymous request costs at most a fixed amount of memory and time
//! however it is built (issue 9, defect 1). Rate-limit state is in memory, per process, and
//! bounded (stale keys are dropped); it is a brake, not a record, so it need not be shared
//! between `serve` processes the way sessions are.

use crate::AppState;
use crate::auth;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// The most one calculator request may ask for. Far above a real applicant's record (the demo
/// applicants have at most a dozen events), far below what hurts the server.
pub const MAX_CALC_BODY_BYTES: usize = 256 * 1024;
/// Events in one calculator input.
pub const MAX_CALC_EVENTS: usize = 200;
/// Earlier awards (history entries) in one calculator input.
pub const MAX_CALC_HISTORY: usize = 1_000;
/// Bytes of one calculator response (`?detail=full` is the large one).
pub const MAX_CALC_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// How long a calculator request may wait for and run its evaluation.
pub const EVAL_DEADLINE: Duration = Duration::from_secs(5);

/// Rate limits for callers without a session, per client address.
#[derive(Clone, Copy, Debug)]
pub struct AnonQuota {
    /// Calculator evaluations per minute (the expensive call).
    pub calc_per_minute: u32,
    /// Any other request per minute (library, 公示, pages).
    pub read_per_minute: u32,
}

impl Default for AnonQuota {
    fn default() -> Self {
        AnonQuota {
            calc_per_minute: 60,
            read_per_minute: 600,
        }
    }
}

/// The platform's guard: shared by every handler through `AppState`.
pub struct Guard {
    /// Read the client's address from `X-Forwarded-For` (behind our own reverse proxy only).
    pub trust_forwarded: bool,
    calc: DefaultKeyedRateLimiter<IpAddr>,
    read: DefaultKeyedRateLimiter<IpAddr>,
    evaluations: tokio::sync::Semaphore,
}

fn per_minute(n: u32) -> Quota {
    let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
    // A burst of a third of the minute's allowance, refilled evenly.
    let burst = NonZeroU32::new((n.get() / 3).max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(n).allow_burst(burst)
}

impl Guard {
    pub fn new(quota: AnonQuota, trust_forwarded: bool) -> Guard {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Guard {
            trust_forwarded,
            calc: RateLimiter::keyed(per_minute(quota.calc_per_minute)),
            read: RateLimiter::keyed(per_minute(quota.read_per_minute)),
            evaluations: tokio::sync::Semaphore::new(cores * 2),
        }
    }

    /// Counts one anonymous calculator call of `ip`; `Err` when over the quota.
    pub fn anon_calc(&self, ip: IpAddr) -> Result<(), crate::AppError> {
        self.calc
            .check_key(&ip)
            .map_err(|_| crate::AppError::RateLimited)
    }

    fn anon_read(&self, ip: IpAddr) -> bool {
        self.read.check_key(&ip).is_ok()
    }

    /// Drops the state of clients that have been quiet long enough to be back at full quota,
    /// so the limiter's memory is bounded by the clients of the last minute.
    pub fn forget_idle(&self) {
        self.calc.retain_recent();
        self.read.retain_recent();
        self.calc.shrink_to_fit();
        self.read.shrink_to_fit();
    }

    /// Runs `work` (an evaluation) on the blocking pool, at most `2 × cores` at once, within
    /// [`EVAL_DEADLINE`] of the call.
    pub async fn evaluate<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, crate::AppError> {
        let busy = || crate::AppError::Busy;
        let run = async {
            let _permit = self.evaluations.acquire().await.map_err(|_| busy())?;
            tokio::task::spawn_blocking(work)
                .await
                .map_err(|e| crate::AppError::Internal(format!("evaluation task: {e}")))
        };
        tokio::time::timeout(EVAL_DEADLINE, run)
            .await
            .map_err(|_| busy())?
    }
}

impl Default for Guard {
    fn default() -> Guard {
        Guard::new(AnonQuota::default(), false)
    }
}

/// Sweeps the limiters once a minute for as long as the server runs.
pub fn spawn_sweeper(guard: Arc<Guard>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            guard.forget_idle();
        }
    });
}

/// The client's address: the peer of the connection, or — only with `--trust-proxy`, behind
/// our own reverse proxy — the last address the proxy appended to `X-Forwarded-For`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    pub fn of(parts: &Parts, trust_forwarded: bool) -> ClientIp {
        if trust_forwarded
            && let Some(ip) = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|a| a.trim().parse::<IpAddr>().ok())
                .next_back()
        {
            return ClientIp(ip);
        }
        ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        )
    }
}

impl FromRequestParts<crate::Platform> for ClientIp {
    type Rejection = crate::AppError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::Platform,
    ) -> Result<Self, crate::AppError> {
        Ok(ClientIp::of(parts, state.0.guard.trust_forwarded))
    }
}

/// Anonymous requests (no live session) count against the per-address read quota; the
/// calculator counts again against its own, in its handler.
pub async fn anon_rate_limit(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let has_session = match auth::cookie(&parts, auth::SESSION_COOKIE) {
        Some(id) => matches!(st.store.session(id).await, Ok(Some(_))),
        None => false,
    };
    if !has_session {
        let ip = ClientIp::of(&parts, st.guard.trust_forwarded);
        if !st.guard.anon_read(ip.0) {
            let api = parts.uri.path().starts_with("/api");
            return crate::AppError::RateLimited.respond(api);
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Security headers on every response: no framing, no sniffing, no referrer beyond the
/// origin, a content security policy that allows only our own inline styles and our own
/// script files (one: the policy editor's live diagnostics, an enhancement the page works
/// without; no inline script ever), and no caching of anything but the public library.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, "x-frame-options", "DENY");
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "same-origin");
    let public = path == "/api/openapi.json" || path == "/policy-admin/editor.js";
    if !public && !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    res
}

/// What axum rejects before a handler runs (a body over the limit → 413, a wrong content type
/// → 415, a malformed path or query → 400, a wrong method → 405) comes as plain text; this
/// gives it the platform's error shape: JSON `{code, message}` under `/api`, the error page
/// elsewhere.
pub async fn error_shape(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api");
    let res = next.run(req).await;
    let status = res.status();
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|t| t.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return res;
    }
    let detail = axum::body::to_bytes(res.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let e = match status {
        StatusCode::PAYLOAD_TOO_LARGE => crate::AppError::TooLarge(format!(
            "请求体过大 (the request body is too large){}",
            if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            }
        )),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => crate::AppError::BadRequest {
            code: "unsupported_media_type",
            message: format!("请求体类型不受支持 (unsupported content type): {detail}"),
        },
        StatusCode::METHOD_NOT_ALLOWED => crate::AppError::MethodNotAllowed,
        StatusCode::NOT_FOUND => crate::AppError::NotFound(detail_or(&detail, "页面 page")),
        s if s.is_server_error() => crate::AppError::Internal(detail),
        _ => crate::AppError::BadRequest {
            code: "invalid",
            message: format!("请求无效 (invalid request): {detail}"),
        },
    };
    let mut out = e.respond(api);
    *out.status_mut() = status;
    out
}

fn detail_or(detail: &str, fallback: &str) -> String {
    if detail.trim().is_empty() {
        fallback.to_string()
    } else {
        detail.to_string()
    }
}

/// A body that is at most `limit` bytes, for handlers that take raw bytes with their own limit.
pub fn body_limit(limit: usize) -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(limit)
}

/// The largest body any route reads (axum's default limit; the calculator has a smaller one).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// A NUL character in the path, the query or a text body (JSON, form, plain text) is bad input
/// on both databases — PostgreSQL cannot store it, and no user types it (issue 9, defect 7).
/// Refused here with a 400 that says where, before any handler or query sees it. Binary bodies
/// (spreadsheets, multipart uploads) are left to their handlers.
pub async fn reject_nul(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api");
    let refuse = |place: &str| {
        crate::AppError::BadRequest {
            code: "invalid_text",
            message: format!(
                "{place}含有空字符 (NUL),请删除后重试 (a NUL character in the {place})"
            ),
        }
        .respond(api)
    };
    let uri = req.uri();
    if has_encoded_nul(uri.path()) || uri.query().is_some_and(has_encoded_nul) {
        return refuse("地址 URL ");
    }
    let kind = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let text = kind.is_empty()
        || kind.starts_with("application/json")
        || kind.starts_with("application/x-www-form-urlencoded")
        || kind.starts_with("text/");
    if !text {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return crate::AppError::TooLarge(format!(
                "请求体超过 {} 字节 (the request body is too large)",
                MAX_BODY_BYTES
            ))
            .respond(api);
        }
    };
    let nul = bytes.contains(&0)
        || contains(&bytes, b"\\u0000")
        || (kind.starts_with("application/x-www-form-urlencoded") && has_encoded_nul_bytes(&bytes));
    if nul {
        return refuse("请求内容 body ");
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

fn has_encoded_nul(s: &str) -> bool {
    has_encoded_nul_bytes(s.as_bytes()) || s.contains('\0')
}

fn has_encoded_nul_bytes(b: &[u8]) -> bool {
    contains(b, b"%00")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

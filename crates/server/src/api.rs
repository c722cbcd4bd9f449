//! The API's shared pieces: the error shape `{code, message}` with a stable code, the session
//! of an API call (`ApiSession`), JSON bodies read with the field named, the CSRF header every
//! write must carry, amounts and actions typed in a request. A leaf: the handlers live in
//! `api_ext` and with their features.

use crate::AppError;
use crate::auth::{self};
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use kc_domain::Action;
use kc_money::Money;
use serde_json::{Value as J, json};
use utoipa::ToSchema;

/// An API error: rendered as JSON.
pub struct ApiError(pub(crate) AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> ApiError {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.json()
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// A live session for the API: a missing one is a JSON 401, not a page.
pub struct ApiSession(pub auth::Session);

impl axum::extract::FromRequestParts<crate::Platform> for ApiSession {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &crate::Platform,
    ) -> Result<Self, ApiError> {
        match auth::load_session(parts, &state.0, false).await? {
            Some(s) => Ok(ApiSession(s)),
            None => Err(AppError::Unauthorized.into()),
        }
    }
}

pub(crate) fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, AppError> {
    serde_json::from_slice(bytes).map_err(|e| AppError::BadRequest {
        code: "bad_json",
        message: format!("请求体无效 (invalid JSON body): {e}"),
    })
}

pub(crate) fn csrf(s: &auth::Session, headers: &HeaderMap) -> Result<(), AppError> {
    s.check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))
}

pub(crate) fn money(s: &str, field: &str) -> Result<Money, AppError> {
    let m = Money::parse_amount(s).map_err(|e| AppError::BadRequest {
        code: "invalid_amount",
        message: format!("{field}: {e}"),
    })?;
    if m.is_negative() {
        return Err(AppError::BadRequest {
            code: "invalid_amount",
            message: format!("{field}: {s} is negative"),
        });
    }
    Ok(m)
}

/// Every error of the API.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ErrorBody {
    /// Stable code: unauthorized, forbidden, not_found, invalid, bad_json, csrf, duplicate,
    /// cap_exceeded, budget, not_awarded, illegal_transition, too_many_requests, internal, …
    code: String,
    /// In Chinese, with English.
    message: String,
}

pub(crate) fn app_json(a: &kc_store::ApplicationView) -> J {
    json!({
        "id": a.id, "applicant": a.applicant_id, "measure": a.measure, "event": a.event_id, "origin": a.origin,
        "state": a.state.code(), "state_zh": a.state.zh(), "computed": a.computed.map(|m| m.plain()),
        "amount_kind": a.amount_kind, "approved": a.approved.map(|m| m.plain()), "reason": a.reason,
        "missing": a.missing, "notice_until": a.notice_until,
    })
}

pub(crate) fn parse_action(s: &str) -> Result<Action, AppError> {
    use Action::*;
    [
        Submit,
        StartReview,
        RequestMaterial,
        Approve,
        Recommend,
        Reject,
        Withdraw,
        PublishNotice,
        Object,
        ConfirmOffer,
        DeclineOffer,
    ]
    .into_iter()
    .find(|a| a.code() == s)
    .ok_or_else(|| AppError::BadRequest {
        code: "invalid",
        message: format!("action: unknown “{s}”"),
    })
}

pub(crate) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A table as a download named `{name}.{ext}`: `xlsx` (the default) or `csv`, exact text
/// cells either way. Every export of the API answers through this.
pub(crate) fn table_download(
    format: Option<&str>,
    name: &str,
    sheet: &str,
    heads: &[&str],
    rows: &[Vec<String>],
) -> Result<axum::response::Response, AppError> {
    use axum::http::header;
    let to_internal = |e: kc_tabular::TableError| AppError::Internal(e.to_string());
    let (ct, ext, bytes) = match format.unwrap_or("xlsx") {
        "xlsx" => (
            XLSX,
            "xlsx",
            kc_tabular::xlsx_bytes(sheet, heads, rows).map_err(to_internal)?,
        ),
        "csv" => (
            "text/csv; charset=utf-8",
            "csv",
            kc_tabular::csv_bytes(heads, rows).map_err(to_internal)?,
        ),
        other => {
            return Err(AppError::BadRequest {
                code: "invalid",
                message: format!("format: “{other}” (csv or xlsx)"),
            });
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, ct.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.{ext}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

//! Import and export of tables. Import takes one file (CSV or xlsx) as the request body and is
//! all or nothing, as on the command line: every row is validated first, and a bad row imports
//! nothing and is reported with its row and column. Export returns the file.

use crate::api::{ApiResult, ApiSession, ErrorBody, csrf};
use crate::{AppError, AppState};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::api::XLSX;

#[derive(Deserialize, IntoParams)]
pub(crate) struct FormatQuery {
    /// `csv` or `xlsx`. Import: default from the Content-Type (text/csv or the xlsx type).
    /// Export: default `xlsx`.
    format: Option<String>,
    /// Export: only the applicants located in this jurisdiction (a region code such as
    /// hunnan, inside the caller's own); default the caller's own jurisdiction.
    jurisdiction: Option<String>,
}

/// What an import did.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ImportReportBody {
    applicants: usize,
    events: usize,
    /// 免申即享 offers created by the imported events
    offers: usize,
}

/// One problem of an import file.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct RowErrorBody {
    file: String,
    row: usize,
    column: String,
    message: String,
}

/// An import refused because of bad rows: nothing was imported.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ImportErrorBody {
    /// `invalid_rows`
    code: String,
    message: String,
    /// every problem found (up to 50), by row and column
    errors: Vec<RowErrorBody>,
}

fn format_of(q: &FormatQuery, headers: &HeaderMap) -> Result<&'static str, AppError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match q.format.as_deref() {
        Some("csv") => Ok("csv"),
        Some("xlsx") => Ok("xlsx"),
        Some(other) => Err(AppError::BadRequest {
            code: "invalid",
            message: format!("format: “{other}” (csv or xlsx)"),
        }),
        None if ct.starts_with("text/csv") => Ok("csv"),
        None if ct.starts_with(XLSX) => Ok("xlsx"),
        None => Err(AppError::BadRequest {
            code: "invalid",
            message: "format: give ?format=csv|xlsx or Content-Type text/csv or the xlsx type"
                .into(),
        }),
    }
}

/// Imports applicants or events (admins; the command line imports as admin). The body is the
/// file (docs/import.md). All or nothing: 400 with every bad row and column, nothing written.
#[utoipa::path(post, path = "/api/import/{table}", operation_id = "import_table",
    params(("table" = String, Path, description = "`applicants` or `events`"), FormatQuery),
    request_body(description = "the table file", content(
        (Vec<u8> = "text/csv"),
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, description = "imported", body = ImportReportBody),
        (status = 400, description = "bad rows (nothing imported) or bad file", body = ImportErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn import_table(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(table): Path<String>,
    Query(q): Query<FormatQuery>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    csrf(&s, &headers)?;
    s.require_access(kc_domain::Access::Import)?;
    if table != "applicants" && table != "events" {
        return Err(AppError::NotFound(format!("table {table} (applicants or events)")).into());
    }
    let format = format_of(&q, &headers)?;
    let name = format!("{table}.{format}");
    let t = kc_tabular::read_bytes(&name, format, &bytes).map_err(|e| AppError::BadRequest {
        code: "invalid",
        message: e.to_string(),
    })?;
    let rows = kc_store::Rows {
        headers: &t.headers,
        rows: &t.rows,
    };
    let (a, e) = if table == "applicants" {
        (Some((name.as_str(), rows)), None)
    } else {
        (None, Some((name.as_str(), rows)))
    };
    let (profiles, events) = match st.store.validate_import(a, e) {
        Ok(v) => v,
        Err(errors) => {
            let body = json!({
                "code": "invalid_rows",
                "message": format!("导入未执行 nothing imported: {} problem(s) found (showing up to 50)", errors.len()),
                "errors": errors.iter().map(|e| json!({"file": e.file, "row": e.row, "column": e.column, "message": e.message})).collect::<Vec<_>>(),
            });
            return Ok((StatusCode::BAD_REQUEST, Json(body)).into_response());
        }
    };
    let report = st
        .store
        .import(&s.user.actor(), &profiles, &events, &|_, _| {})
        .await?;
    Ok(Json(
        json!({"applicants": report.applicants, "events": report.events, "offers": report.offers}),
    )
    .into_response())
}

/// Exports applications or the ledger as a spreadsheet (reviewers, finance, admins).
#[utoipa::path(get, path = "/api/export/{table}", operation_id = "export_table",
    params(("table" = String, Path, description = "`applications` or `ledger`"), FormatQuery),
    responses((status = 200, description = "the table file", content(
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (Vec<u8> = "text/csv"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn export_table(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(table): Path<String>,
    Query(q): Query<FormatQuery>,
) -> ApiResult<Response> {
    s.require_access(kc_domain::Access::AllApplicants)?;
    // Each jurisdiction exports its own (a city may name one of its districts).
    let scope = st
        .store
        .export_scope(&s.user.actor(), q.jurisdiction.as_deref())?;
    let (sheet, (heads, rows)) = match table.as_str() {
        "applications" => (
            "申请 applications",
            st.store.applications_table_in(scope.as_deref()).await?,
        ),
        "ledger" => (
            "台账 ledger",
            st.store.ledger_table_in(scope.as_deref()).await?,
        ),
        other => {
            return Err(
                AppError::NotFound(format!("table {other} (applications or ledger)")).into(),
            );
        }
    };
    Ok(crate::api::table_download(
        q.format.as_deref(),
        &table,
        sheet,
        &heads,
        &rows,
    )?)
}

//! The 政策管理 API: library versions, drafts and their files, the checker's diagnostics (also
//! for text not yet saved: the editor's live diagnostics), submission, four-eyes approval and
//! publication, the cost difference against the active version, the comparison of two
//! versions, a skeleton from a document's text, and an application re-evaluated under the
//! version it was decided under. The pages' actions with the pages' authorization.

use super::work;
use crate::AppState;
use crate::api::{ApiResult, ApiSession, ErrorBody, body, csrf};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kc_domain::Access;
use kc_store::versions::VersionFile;
use serde::Deserialize;
use serde_json::{Value as J, json};
use std::sync::Arc;
use utoipa::ToSchema;

pub fn api_routes() -> axum::Router<crate::Platform> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/policy/versions", get(versions).post(create))
        .route("/policy/versions/{id}", get(one))
        .route("/policy/versions/{id}/files", post(put_file))
        .route("/policy/versions/{id}/files/remove", post(delete_file))
        .route("/policy/versions/{id}/check", get(check))
        .route("/policy/versions/{id}/check-file", post(check_file))
        .route("/policy/versions/{id}/submit", post(submit))
        .route("/policy/versions/{id}/approve", post(approve))
        .route("/policy/versions/{id}/return", post(return_draft))
        .route("/policy/versions/{id}/discard", post(discard))
        .route("/policy/versions/{id}/cost", get(cost))
        .route("/policy/versions/{id}/compare", get(compare))
        .route("/policy/skeleton", post(skeleton))
        .route("/applications/{id}/decided-evaluation", get(decided))
}

/// A library version.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct VersionBody {
    id: i64,
    /// draft, submitted, published, discarded
    state: String,
    title: String,
    /// the version it was drafted from
    base: Option<i64>,
    /// SHA-256 over the files
    hash: String,
    drafted_by: String,
    drafted_by_name: String,
    created_at: String,
    updated_at: String,
    submitted_by: Option<String>,
    submitted_at: Option<String>,
    approved_by: Option<String>,
    approved_by_name: Option<String>,
    published_at: Option<String>,
    /// YYYY-MM-DD
    applies_from: Option<String>,
    returned_reason: Option<String>,
    /// the version the platform evaluates with
    active: bool,
    /// with one version: its files {path, text}
    files: Option<Vec<J>>,
}

/// What the checker says of a version: diagnostics (path, line, column, severity, message,
/// label, rendered), scenarios (path, name, passed, problems), coverage gaps (document,
/// clause, heading), counts, and whether it may be published.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct CheckBody {
    diagnostics: Vec<J>,
    scenarios: Vec<J>,
    gaps: Vec<J>,
    measures: usize,
    documents: usize,
    ready: bool,
    /// why it cannot be published, in words
    blockers: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct DraftRequest {
    /// what the draft changes (修订说明), 1–200 characters
    title: String,
    /// the version to copy (default: the active one)
    from: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct FileRequest {
    /// policies/NAME.md or tests/scenarios/NAME.json
    path: String,
    text: String,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ApproveRequest {
    /// from when the version applies, YYYY-MM-DD (default: today)
    applies_from: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ReturnRequest {
    reason: String,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct SkeletonRequest {
    /// the document's published text, one paragraph per line
    text: String,
    /// 文号, e.g. 沈政发〔2025〕3号
    number: String,
    /// default: the text's first line
    title: Option<String>,
    /// YYYY-MM-DD
    valid_from: String,
    /// YYYY-MM-DD
    valid_to: String,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct RemoveRequest {
    /// the file to remove
    path: String,
}

#[derive(Deserialize)]
pub(crate) struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct WithQuery {
    with: Option<i64>,
}

fn may_see(s: &crate::auth::Session) -> Result<(), crate::AppError> {
    s.require_access(Access::DraftPolicy)
        .or_else(|_| s.require_access(Access::ApprovePolicy))
}

/// A version's facts after a step on it (the answer of the step).
async fn summary(st: &AppState, actor: &kc_store::Actor, id: i64) -> ApiResult<Json<J>> {
    Ok(Json(json!(
        st.store.library_version(actor, id).await?.summary
    )))
}

pub(crate) fn check_json(c: &kc_store::versions::DraftCheck) -> J {
    let mut j = json!(c);
    j["ready"] = json!(c.ready());
    j["blockers"] = json!(c.blockers());
    j
}

/// Every library version, newest first.
#[utoipa::path(get, path = "/api/policy/versions", operation_id = "library_versions",
    responses((status = 200, description = "the versions", body = Vec<VersionBody>), (status = 403, body = ErrorBody)))]
pub(crate) async fn versions(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> ApiResult<Json<J>> {
    Ok(Json(json!(
        st.store.library_versions(&s.user.actor()).await?
    )))
}

/// A new draft, a copy of a version (default: the active one).
#[utoipa::path(post, path = "/api/policy/versions", operation_id = "create_library_draft", request_body = DraftRequest,
    responses((status = 201, description = "the draft", body = VersionBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn create(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    csrf(&s, &headers)?;
    let r: DraftRequest = body(&bytes)?;
    let id = st
        .store
        .create_draft(&s.user.actor(), &s.user.name, &r.title, r.from, None)
        .await?;
    let v = st.store.library_version(&s.user.actor(), id).await?;
    Ok((StatusCode::CREATED, Json(json!(v.summary))).into_response())
}

/// One version with its files.
#[utoipa::path(get, path = "/api/policy/versions/{id}", operation_id = "library_version",
    params(("id" = i64, Path, description = "the version")),
    responses((status = 200, description = "the version", body = VersionBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn one(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Json<J>> {
    Ok(Json(json!(
        st.store.library_version(&s.user.actor(), id).await?
    )))
}

/// Writes (or adds) one file of a draft; answers with the draft's check.
#[utoipa::path(post, path = "/api/policy/versions/{id}/files", operation_id = "put_library_file", request_body = FileRequest,
    params(("id" = i64, Path, description = "the draft")),
    responses((status = 200, description = "saved; the draft's check", body = CheckBody), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "not a draft", body = ErrorBody)))]
pub(crate) async fn put_file(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<i64>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: FileRequest = body(&bytes)?;
    let actor = s.user.actor();
    st.store
        .put_draft_file(&actor, id, &r.path, &r.text)
        .await?;
    Ok(Json(check_json(&st.store.check_version(&actor, id).await?)))
}

/// Removes one file of a draft; answers with the draft's check.
#[utoipa::path(post, path = "/api/policy/versions/{id}/files/remove", operation_id = "delete_library_file", request_body = RemoveRequest,
    params(("id" = i64, Path, description = "the draft")),
    responses((status = 200, description = "removed; the draft's check", body = CheckBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn delete_file(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<i64>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: RemoveRequest = body(&bytes)?;
    let actor = s.user.actor();
    st.store.delete_draft_file(&actor, id, &r.path).await?;
    Ok(Json(check_json(&st.store.check_version(&actor, id).await?)))
}

/// The checker on a version: diagnostics at line and column, scenarios, coverage gaps.
#[utoipa::path(get, path = "/api/policy/versions/{id}/check", operation_id = "check_library_version",
    params(("id" = i64, Path, description = "the version")),
    responses((status = 200, description = "the check", body = CheckBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn check(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<i64>,
) -> ApiResult<Json<J>> {
    Ok(Json(check_json(
        &st.store.check_version(&s.user.actor(), id).await?,
    )))
}

/// The checker on a version with one file replaced by text not yet saved (the editor's live
/// diagnostics); nothing is written.
#[utoipa::path(post, path = "/api/policy/versions/{id}/check-file", operation_id = "check_library_file", request_body = FileRequest,
    params(("id" = i64, Path, description = "the version")),
    responses((status = 200, description = "the check", body = CheckBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn check_file(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<i64>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: FileRequest = body(&bytes)?;
    Ok(Json(check_json(
        &super::check_with(&st, &s, id, &r.path, &r.text).await?,
    )))
}

/// Submits a draft for approval: refused (409) while it has a diagnostic, a failing scenario
/// or a coverage gap, each named.
#[utoipa::path(post, path = "/api/policy/versions/{id}/submit", operation_id = "submit_library_draft",
    params(("id" = i64, Path, description = "the draft")),
    responses((status = 200, description = "submitted", body = VersionBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn submit(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let actor = s.user.actor();
    st.store.submit_draft(&actor, id).await?;
    summary(&st, &actor, id).await
}

/// Approves and publishes a submitted draft: a second person with the approving role, never
/// its drafter or submitter (409 four_eyes); every process uses it from its next request.
#[utoipa::path(post, path = "/api/policy/versions/{id}/approve", operation_id = "approve_library_draft", request_body = ApproveRequest,
    params(("id" = i64, Path, description = "the draft")),
    responses((status = 200, description = "published and active", body = VersionBody), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn approve(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<i64>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: ApproveRequest = if bytes.is_empty() {
        ApproveRequest { applies_from: None }
    } else {
        body(&bytes)?
    };
    let from = r
        .applies_from
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .map(|d| work::date(d, "applies_from"))
        .transpose()?;
    let actor = s.user.actor();
    st.store
        .approve_draft(&actor, &s.user.name, id, from)
        .await?;
    summary(&st, &actor, id).await
}

/// Returns a submitted draft to its author with the reason.
#[utoipa::path(post, path = "/api/policy/versions/{id}/return", operation_id = "return_library_draft", request_body = ReturnRequest,
    params(("id" = i64, Path, description = "the draft")),
    responses((status = 200, description = "returned to draft", body = VersionBody), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn return_draft(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<i64>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: ReturnRequest = body(&bytes)?;
    let actor = s.user.actor();
    st.store.return_draft(&actor, id, &r.reason).await?;
    summary(&st, &actor, id).await
}

/// Discards a draft.
#[utoipa::path(post, path = "/api/policy/versions/{id}/discard", operation_id = "discard_library_draft",
    params(("id" = i64, Path, description = "the draft")),
    responses((status = 200, description = "discarded", body = VersionBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn discard(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let actor = s.user.actor();
    st.store.discard_draft(&actor, id).await?;
    summary(&st, &actor, id).await
}

/// What the version would cost against the active one over the stored applicants the caller
/// may simulate (events of the period; default this year): per measure and year, the totals,
/// who gains and who loses. Exact to the fen (the simulation engine).
#[utoipa::path(get, path = "/api/policy/versions/{id}/cost", operation_id = "library_cost_difference",
    params(("id" = i64, Path, description = "the version"), ("from" = Option<String>, Query, description = "YYYY-MM-DD"), ("to" = Option<String>, Query, description = "YYYY-MM-DD")),
    responses((status = 200, description = "the difference", body = J), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "the version does not check", body = ErrorBody)))]
pub(crate) async fn cost(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<i64>,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Json<J>> {
    may_see(&s)?;
    let (from, to) = super::period(&st, q.from.as_deref(), q.to.as_deref())?;
    let v = st.store.library_version(&s.user.actor(), id).await?;
    let lib = Arc::new(work::library_of(&v.files)?);
    Ok(Json(work::cost_difference(&st, &s, lib, from, to).await?))
}

/// Two versions side by side: changed files with their line diff, changed measures (rule
/// text), and the scenarios whose awards differ. `with`: the other version (default: the
/// version this one was drafted from).
#[utoipa::path(get, path = "/api/policy/versions/{id}/compare", operation_id = "compare_library_versions",
    params(("id" = i64, Path, description = "the version"), ("with" = Option<i64>, Query, description = "the other version")),
    responses((status = 200, description = "the comparison", body = J), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn compare(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<i64>,
    Query(q): Query<WithQuery>,
) -> ApiResult<Json<J>> {
    let actor = s.user.actor();
    let v = st.store.library_version(&actor, id).await?;
    let other = q.with.or(v.summary.base).unwrap_or(id);
    let w = st.store.library_version(&actor, other).await?;
    let files: Vec<VersionFile> = v.files;
    let mut j = work::compare(&w.files, &files);
    j["left"] = json!(other);
    j["right"] = json!(id);
    Ok(Json(j))
}

/// A literate skeleton of a document from its published text: each clause by its numbering,
/// quoted verbatim, none encoded (save it into a draft as `policies/NAME.md`).
#[utoipa::path(post, path = "/api/policy/skeleton", operation_id = "policy_skeleton", request_body = SkeletonRequest,
    responses((status = 200, description = "the file's text", body = J), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn skeleton(
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    s.require_access(Access::DraftPolicy)?;
    let r: SkeletonRequest = body(&bytes)?;
    let text = work::skeleton(
        &r.text,
        &r.number,
        r.title.as_deref(),
        (&r.valid_from, &r.valid_to),
    )?;
    Ok(Json(json!({"text": text})))
}

/// An application re-evaluated under the library version its award was decided under (the
/// active version if undecided): the evaluation with its trace, and the version.
#[utoipa::path(get, path = "/api/applications/{id}/decided-evaluation", operation_id = "decided_evaluation",
    params(("id" = String, Path, description = "the application")),
    responses((status = 200, description = "{version, evaluation}", body = J), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn decided(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    let (version, evaluation) = st.store.reevaluate(&s.user.actor(), &id).await?;
    Ok(Json(json!({"version": version, "evaluation": evaluation})))
}

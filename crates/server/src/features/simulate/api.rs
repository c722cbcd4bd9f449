//! The 测算 API: the knobs a reform may turn, starting and stopping a run, the runs and one run
//! with its result, the result as xlsx, and uploaded populations (upload, list, delete) — the
//! page's actions with the page's authorization (`Access::Simulate`: finance, the plan office,
//! admins; stopping a run and deleting a population: the person who started or uploaded it, or
//! an admin).

use super::run::{self, Request};
use crate::AppState;
use crate::api::{ApiResult, ApiSession, ErrorBody, body, csrf};
use crate::labels::doc_id;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kc_domain::Access;
use serde::Deserialize;
use serde_json::{Value as J, json};
use utoipa::{IntoParams, ToSchema};

pub fn api_routes() -> axum::Router<crate::Platform> {
    use axum::routing::get;
    axum::Router::new()
        .route("/simulations", get(runs).post(start))
        .route("/simulations/knobs", get(knobs))
        .route(
            "/simulations/populations",
            get(populations)
                .post(upload_population)
                .layer(DefaultBodyLimit::max(super::UPLOAD_BODY)),
        )
        .route(
            "/simulations/populations/{id}/delete",
            axum::routing::post(delete_population),
        )
        .route("/simulations/{id}", get(one))
        .route("/simulations/{id}/stop", axum::routing::post(stop))
        .route("/simulations/{id}/result.xlsx", get(xlsx))
}

/// A knob of the policy library.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct KnobBody {
    /// `name` of a named parameter, `measure#n` for the n-th number of a measure,
    /// `measure@valid_from` / `measure@valid_to`
    id: String,
    /// the document's id (file name), null for a named parameter
    document: Option<String>,
    measure: Option<String>,
    measure_label: Option<String>,
    /// the clause the measure implements, e.g. (五)
    clause: Option<String>,
    /// parameter, let, condition, grant, cap, tier, validity
    role: String,
    /// money, rate, int, decimal, date, bool
    r#type: String,
    /// the current value in words (20,000.00 元, 10%, 2025-12-31)
    value: String,
    /// the rule it sits in, as written (a named parameter: its label)
    context: String,
}

/// A run of the 测算 workspace.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct SimulationRunBody {
    /// CS2026-1A2B3C4D
    id: String,
    title: String,
    created_by: String,
    created_by_name: String,
    created_at: String,
    /// queued, running, done, failed, stopped
    status: String,
    /// applicants evaluated
    done: i64,
    /// applicants of the population
    total: i64,
    from: String,
    to: String,
    /// the reform's changes: {knob, value, from}
    changes: Vec<J>,
    /// measures the reform removes
    removed: Vec<String>,
    /// baseline total, 元 (fixed amounts plus maxima), when done
    baseline_total: Option<String>,
    /// reform total, 元, when done with a reform
    reform_total: Option<String>,
    error: Option<String>,
    finished_at: Option<String>,
    /// who stopped the run (status `stopped`: its progress is kept, it has no result)
    stopped_by_name: Option<String>,
    /// `stored`, a calibration (`shenyang`, `liaocheng`) or an uploaded population's id
    population: String,
    /// the uploaded population: {id, name, format, applicants, events, sha256}
    upload: Option<J>,
    /// the measures a reform file rewrites: {replace: MEASURE} or {add_to: DOCUMENT}
    measures: Vec<J>,
    /// the reform file as typed
    reform_text: Option<String>,
    /// when done: {baseline, reform?, comparison?}; baseline and reform in the
    /// `kechuang/simulation/v1` shape with `levels` (each level's total); the applicants of the
    /// comparison are named only to roles that see every applicant
    result: Option<J>,
}

/// Every knob a reform may turn, in library order (named parameters first).
#[utoipa::path(get, path = "/api/simulations/knobs", operation_id = "simulation_knobs",
    responses((status = 200, description = "the knobs", body = Vec<KnobBody>), (status = 403, body = ErrorBody)))]
pub(crate) async fn knobs(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> ApiResult<Json<J>> {
    s.require_access(Access::Simulate)?;
    let lib = &st.lib;
    let ty = |t: kc_check::Type| match t {
        kc_check::Type::Money => "money",
        kc_check::Type::Rate => "rate",
        kc_check::Type::Int => "int",
        kc_check::Type::Decimal => "decimal",
        kc_check::Type::Date => "date",
        kc_check::Type::Bool => "bool",
        kc_check::Type::Text => "text",
        kc_check::Type::Enum(_) => "enum",
    };
    Ok(Json(json!(
        kc_simulate::reform::knobs(lib)
            .iter()
            .map(|k| {
                let m = k.measure.as_deref().and_then(|m| lib.measure(m));
                json!({
                    "id": k.id, "document": m.map(|m| doc_id(&lib.documents[m.doc])),
                    "measure": k.measure, "measure_label": m.map(|m| m.label.zh.clone()),
                    "clause": m.map(|m| m.clause.id.clone()), "role": k.role, "type": ty(k.ty),
                    "value": kc_eval::describe_value(lib, &k.value), "context": k.context,
                })
            })
            .collect::<Vec<_>>()
    )))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ChangeRequest {
    /// a knob id of GET /api/simulations/knobs
    knob: String,
    /// the new value as a person writes it: 3万元, 500000, 12%, 2‰, 2026-12-31
    value: String,
    /// from this date on (before it the old value holds); none: the whole validity
    from: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct SimulationRequest {
    title: Option<String>,
    /// the period's first day (default: 1 January of this year)
    from: Option<String>,
    /// the period's last day (default: 31 December of this year)
    to: Option<String>,
    /// the population: `stored` (default: the applicants on the platform), a synthetic
    /// population generated over the period from a shipped calibration (`shenyang`,
    /// `liaocheng`), or the id of an uploaded population (GET /api/simulations/populations)
    population: Option<String>,
    /// applicants of a synthetic population (default 10,000, at most 200,000)
    size: Option<u64>,
    /// the reform's changes; none: the baseline alone
    #[serde(default)]
    changes: Vec<ChangeRequest>,
    /// measures the reform removes
    #[serde(default)]
    removed: Vec<String>,
    /// a reform file's text: `set KNOB = VALUE [from DATE]`, `remove MEASURE`, and
    /// `replace MEASURE` / `add to "DOCUMENT"` followed by measures in the policy language,
    /// checked like any policy file (docs/simulation.md); each error names its line and column
    reform: Option<String>,
}

/// Starts a run over the stored applicants (those of the caller's jurisdiction for staff of
/// one), a synthetic or an uploaded population in the background; answers at once with the
/// queued run. A wrong value is refused (400) with its field named (`k:KNOB`, `f:KNOB`, `from`,
/// `to`, `rm:MEASURE`, `population`, `reform_text` with the reform file's line and column) and
/// nothing runs.
#[utoipa::path(post, path = "/api/simulations", operation_id = "start_simulation", request_body = SimulationRequest,
    responses((status = 202, description = "the run, queued", body = SimulationRunBody), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, description = "busy: too many runs at once", body = ErrorBody)))]
pub(crate) async fn start(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    csrf(&s, &headers)?;
    s.require_access(Access::Simulate)?;
    let req: SimulationRequest = body(&bytes)?;
    let year = st.store.today().year();
    let r = Request {
        title: req.title.unwrap_or_default(),
        from: req.from.unwrap_or(format!("{year}-01-01")),
        to: req.to.unwrap_or(format!("{year}-12-31")),
        population: req.population.unwrap_or_default(),
        size: req.size.map(|n| n.to_string()).unwrap_or_default(),
        changes: req
            .changes
            .into_iter()
            .map(|c| (c.knob, c.value, c.from.unwrap_or_default()))
            .collect(),
        removed: req.removed,
        reform_text: req.reform.unwrap_or_default(),
    };
    let checked = run::check(&st, &s, &r)
        .await?
        .map_err(|p| crate::AppError::BadRequest {
            code: "invalid",
            message: run::problems_message(&p),
        })?;
    let id = run::start(&st, &s, checked).await?;
    let r = st.store.simulation_run(&s.user.actor(), &id).await?;
    Ok((StatusCode::ACCEPTED, Json(run::run_json(&s, &r))).into_response())
}

/// The runs the caller may see, newest first (at most 200), with their totals.
#[utoipa::path(get, path = "/api/simulations", operation_id = "simulation_runs",
    responses((status = 200, description = "the runs", body = Vec<SimulationRunBody>), (status = 403, body = ErrorBody)))]
pub(crate) async fn runs(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> ApiResult<Json<J>> {
    s.require_access(Access::Simulate)?;
    let runs = st.store.simulation_runs(&s.user.actor(), 200).await?;
    Ok(Json(json!(
        runs.iter()
            .map(|r| {
                let mut j = run::run_json(&s, r);
                // The list is light: the totals, not the whole result.
                j["result"] = J::Null;
                j
            })
            .collect::<Vec<_>>()
    )))
}

/// One run: progress while it runs, the result when done, the error when it failed.
#[utoipa::path(get, path = "/api/simulations/{id}", operation_id = "simulation_run",
    params(("id" = String, Path, description = "the run")),
    responses((status = 200, description = "the run", body = SimulationRunBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn one(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    s.require_access(Access::Simulate)?;
    let r = st.store.simulation_run(&s.user.actor(), &id).await?;
    Ok(Json(run::run_json(&s, &r)))
}

/// The result of a finished run as an xlsx workbook: baseline and reform per measure and year
/// (recipients, awards, fixed, up to, review cases and bounds, each level, percentiles), then
/// the delta per measure and year.
#[utoipa::path(get, path = "/api/simulations/{id}/result.xlsx", operation_id = "simulation_xlsx",
    params(("id" = String, Path, description = "the run")),
    responses((status = 200, description = "the workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "not done yet", body = ErrorBody)))]
pub(crate) async fn xlsx(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(super::download(&st, &s, &id).await?)
}

/// Stops a queued or running run: it is recorded as `stopped` with the progress it reached,
/// and its runner ends between two batches without writing a result (a partial sum is not a
/// forecast). The person who started it or an admin (403 otherwise); 409 `not_running` for a
/// run that is over.
#[utoipa::path(post, path = "/api/simulations/{id}/stop", operation_id = "stop_simulation",
    params(("id" = String, Path, description = "the run")),
    responses((status = 200, description = "the run, stopped", body = SimulationRunBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "not_running: the run is over", body = ErrorBody)))]
pub(crate) async fn stop(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    run::stop(&st, &s, &id).await?;
    let r = st.store.simulation_run(&s.user.actor(), &id).await?;
    Ok(Json(run::run_json(&s, &r)))
}

/// A population uploaded to the 测算 workspace.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct PopulationBody {
    /// PP2026-1A2B3C4D
    id: String,
    /// the file's name as uploaded
    name: String,
    /// csv, jsonl, parquet
    format: String,
    /// bytes
    size: i64,
    /// hex
    sha256: String,
    applicants: i64,
    events: i64,
    rows: i64,
    uploaded_by: String,
    uploaded_by_name: String,
    uploaded_at: String,
}

/// The uploaded populations the caller may use (those uploaded within its jurisdiction for
/// staff of one), newest first.
#[utoipa::path(get, path = "/api/simulations/populations", operation_id = "simulation_populations",
    responses((status = 200, description = "the populations", body = Vec<PopulationBody>), (status = 403, body = ErrorBody)))]
pub(crate) async fn populations(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> ApiResult<Json<J>> {
    s.require_access(Access::Simulate)?;
    let list = st.store.simulation_populations(&s.user.actor()).await?;
    Ok(Json(json!(
        list.iter().map(run::population_json).collect::<Vec<_>>()
    )))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct PopulationQuery {
    /// the file's name with its extension: .csv, .jsonl or .parquet (the format)
    filename: String,
}

/// Uploads a population file: the body is the file (CSV, JSON lines or Parquet in the format of
/// docs/population.md, at most 20 MiB). Every row is read against the active library; the first
/// wrong one is refused (400) with its row and column and nothing is stored.
#[utoipa::path(post, path = "/api/simulations/populations", operation_id = "upload_simulation_population",
    params(PopulationQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file's bytes"),
    responses((status = 201, description = "the population, kept", body = PopulationBody), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub(crate) async fn upload_population(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    Query(q): Query<PopulationQuery>,
    bytes: Bytes,
) -> ApiResult<Response> {
    csrf(&s, &headers)?;
    match run::upload(&st, &s, &q.filename, bytes.to_vec()).await? {
        Ok(p) => Ok((StatusCode::CREATED, Json(run::population_json(&p))).into_response()),
        Err(message) => Err(crate::AppError::BadRequest {
            code: "invalid",
            message,
        }
        .into()),
    }
}

/// Deletes an uploaded population: the person who uploaded it or an admin (403 otherwise).
/// Runs made over it keep their results.
#[utoipa::path(post, path = "/api/simulations/populations/{id}/delete", operation_id = "delete_simulation_population",
    params(("id" = String, Path, description = "the population")),
    responses((status = 200, body = crate::schemas::OkBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_population(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    s.require_access(Access::Simulate)?;
    st.store
        .delete_simulation_population(&s.user.actor(), &id)
        .await?;
    Ok(Json(json!({"ok": true})))
}

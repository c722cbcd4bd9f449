//! The S&T market as JSON: search and matching (public over the published listings),
//! listings and their review, import and export, 对接会, contract registration, the service
//! catalogue, vouchers and their redemption. Each handler has the store's authorization, the
//! same as the page it mirrors; amounts are decimal text in yuan.

use crate::api::{ApiResult, ApiSession, ErrorBody, body, csrf};
use crate::auth::MaybeSession;
use crate::{AppError, AppState};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kc_market::Side;
use kc_store::market::contracts::ContractInput;
use kc_store::market::{ListingFilter, ListingInput};
use serde::Deserialize;
use serde_json::{Value as J, json};
use utoipa::{IntoParams, ToSchema};

pub(crate) fn side(s: &str) -> Result<Side, AppError> {
    match s {
        "achievement" | "achievements" => Ok(Side::Achievement),
        "demand" | "demands" => Ok(Side::Demand),
        other => Err(AppError::BadRequest {
            code: "invalid",
            message: format!("side: “{other}” (achievement or demand)"),
        }),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> J {
    serde_json::to_value(v).unwrap_or(J::Null)
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct SearchParams {
    /// The words to search for, in Chinese or English (synonyms and abbreviations of the
    /// market dictionary count).
    q: String,
    /// `achievement` or `demand`; default both.
    side: Option<String>,
    /// At most this many (1–100, default 20).
    limit: Option<usize>,
}

/// Full-text search over the published achievements and demands (public).
#[utoipa::path(get, path = "/api/market/search", operation_id = "market_search", params(SearchParams),
    responses((status = 200, description = "hits, best first: {hits: [{listing, terms}]}", body = Object), (status = 400, body = ErrorBody)))]
pub(crate) async fn search(
    State(st): State<AppState>,
    MaybeSession(s): MaybeSession,
    Query(q): Query<SearchParams>,
) -> ApiResult<Json<J>> {
    let side = q.side.as_deref().map(side).transpose()?;
    let actor = s.map(|s| s.user.actor());
    let hits = st
        .store
        .market_search(actor.as_ref(), &q.q, side, q.limit.unwrap_or(20))
        .await?;
    Ok(Json(json!({"hits": to_json(&hits)})))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct ListParams {
    /// `achievement` or `demand`; default both.
    side: Option<String>,
    /// `true`: only the acting organisation's own listings (any review state).
    mine: Option<bool>,
    /// `true`: only those awaiting review (staff).
    queue: Option<bool>,
}

/// Listings the caller may read: published ones for everybody; their own and (staff) their
/// jurisdiction's unpublished ones besides.
#[utoipa::path(get, path = "/api/market/listings", operation_id = "market_listings", params(ListParams),
    responses((status = 200, description = "{listings: [...]}", body = Object)))]
pub(crate) async fn listings(
    State(st): State<AppState>,
    MaybeSession(s): MaybeSession,
    Query(q): Query<ListParams>,
) -> ApiResult<Json<J>> {
    let actor = s.map(|s| s.user.actor());
    let filter = ListingFilter {
        side: q.side.as_deref().map(side).transpose()?,
        mine: q.mine.unwrap_or(false),
        queue: q.queue.unwrap_or(false),
        owner: None,
    };
    let all = st.store.listings(actor.as_ref(), &filter).await?;
    Ok(Json(json!({"listings": to_json(&all)})))
}

/// A new listing: `side` and the listing's fields.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub(crate) struct NewListing {
    /// `achievement` 科技成果 or `demand` 技术需求
    side: String,
    title: String,
    /// a field code such as intelligent_manufacturing (docs/market.md)
    field: String,
    keywords: Option<Vec<String>>,
    /// the abstract, or the problem in the enterprise's own words
    text: String,
    /// lab, small_pilot, pilot, industrial (实验室/小试/中试/产业化)
    maturity: Option<String>,
    ip: Option<String>,
    /// 转让, 许可, 作价入股, 合作开发
    transfer_mode: Option<String>,
    /// asking price or budget in yuan, e.g. "200000.00"
    price: Option<String>,
    deadline: Option<String>,
    region: Option<String>,
    contact: Option<String>,
    /// staff only: the owner on the platform (统一社会信用代码) or an outside owner's name
    owner_id: Option<String>,
    owner_name: Option<String>,
}

/// Lists an achievement or a demand: an organisation in its own name (it awaits review),
/// staff for anyone (published at once).
#[utoipa::path(post, path = "/api/market/listings", operation_id = "create_listing", request_body = NewListing,
    responses((status = 200, description = "{id, listing}", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn create(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let mut v: J = body(&bytes)?;
    let side = side(v["side"].as_str().unwrap_or(""))?;
    if let Some(o) = v.as_object_mut() {
        o.remove("side");
    }
    let input: ListingInput = serde_json::from_value(v).map_err(|e| AppError::BadRequest {
        code: "bad_json",
        message: format!("请求体无效 (invalid body): {e}"),
    })?;
    let actor = s.user.actor();
    let id = st.store.create_listing(&actor, side, &input).await?;
    let l = st.store.listing(Some(&actor), &id).await?;
    Ok(Json(json!({"id": id, "listing": to_json(&l)})))
}

/// One listing (public when published).
#[utoipa::path(get, path = "/api/market/listings/{id}", operation_id = "market_listing",
    params(("id" = String, Path, description = "listing id")),
    responses((status = 200, description = "the listing", body = Object), (status = 404, body = ErrorBody)))]
pub(crate) async fn listing(
    State(st): State<AppState>,
    MaybeSession(s): MaybeSession,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    let actor = s.map(|s| s.user.actor());
    Ok(Json(to_json(&st.store.listing(actor.as_ref(), &id).await?)))
}

/// Changes a listing (its owner, which sends it back to review; or staff).
#[utoipa::path(post, path = "/api/market/listings/{id}", operation_id = "update_listing",
    params(("id" = String, Path, description = "listing id")), request_body = NewListing,
    responses((status = 200, description = "the listing", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn update(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let mut v: J = body(&bytes)?;
    if let Some(o) = v.as_object_mut() {
        o.remove("side");
    }
    let input: ListingInput = serde_json::from_value(v).map_err(|e| AppError::BadRequest {
        code: "bad_json",
        message: format!("请求体无效 (invalid body): {e}"),
    })?;
    let l = st
        .store
        .update_listing(&s.user.actor(), &id, &input)
        .await?;
    Ok(Json(to_json(&l)))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct StatusRequest {
    /// listed, negotiating, transferred, withdrawn (achievements); open, negotiating, solved,
    /// withdrawn (demands)
    status: String,
}

/// Moves a listing along its life (its owner or staff).
#[utoipa::path(post, path = "/api/market/listings/{id}/status", operation_id = "listing_status",
    params(("id" = String, Path, description = "listing id")), request_body = StatusRequest,
    responses((status = 200, description = "the listing", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn status(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: StatusRequest = body(&bytes)?;
    let l = st
        .store
        .set_listing_status(&s.user.actor(), &id, &r.status)
        .await?;
    Ok(Json(to_json(&l)))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ReviewRequest {
    /// true: publish; false: return to the owner
    publish: bool,
    /// required when returning
    reason: Option<String>,
}

/// The light review of a listing: publish, or return with a reason (staff of its region).
#[utoipa::path(post, path = "/api/market/listings/{id}/review", operation_id = "review_listing",
    params(("id" = String, Path, description = "listing id")), request_body = ReviewRequest,
    responses((status = 200, description = "the listing", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn review(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: ReviewRequest = body(&bytes)?;
    let l = st
        .store
        .review_listing(
            &s.user.actor(),
            &id,
            r.publish,
            r.reason.as_deref().unwrap_or(""),
        )
        .await?;
    Ok(Json(to_json(&l)))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct MatchParams {
    /// At most this many (1–50, default 10).
    limit: Option<usize>,
}

/// The listings of the other side that could go with this one, best first, each with its
/// reasons; `no_good_match` when nothing scores above the threshold.
#[utoipa::path(get, path = "/api/market/listings/{id}/matches", operation_id = "listing_matches",
    params(("id" = String, Path, description = "listing id"), MatchParams),
    responses((status = 200, description = "{matches: [{listing, score, reasons: [[zh, en]]}], no_good_match}", body = Object), (status = 404, body = ErrorBody)))]
pub(crate) async fn matches(
    State(st): State<AppState>,
    MaybeSession(s): MaybeSession,
    Path(id): Path<String>,
    Query(q): Query<MatchParams>,
) -> ApiResult<Json<J>> {
    let actor = s.map(|s| s.user.actor());
    let m = st
        .store
        .market_matches(actor.as_ref(), &id, q.limit.unwrap_or(10))
        .await?;
    Ok(Json(to_json(&m)))
}

/// One problem of a listings file.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ListingRowError {
    file: String,
    /// the row as a spreadsheet shows it (the header is row 1)
    row: usize,
    column: String,
    message: String,
}

/// A listings import refused because of bad rows: nothing was imported.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ListingImportErrors {
    /// `invalid_rows`
    code: String,
    message: String,
    /// every problem found (up to 50), by row and column
    errors: Vec<ListingRowError>,
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct ImportParams {
    /// `csv` or `xlsx`; default from the Content-Type.
    format: Option<String>,
    /// Add the imported listings to this 对接会.
    fair: Option<String>,
}

/// Imports achievements or demands (staff; docs/market.md has the columns). All or nothing:
/// 400 with every bad row and column, nothing written.
#[utoipa::path(post, path = "/api/market/import/{side}", operation_id = "import_listings",
    params(("side" = String, Path, description = "`achievements` or `demands`"), ImportParams),
    request_body(description = "the table file", content(
        (Vec<u8> = "text/csv"),
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, description = "{imported, ids}", body = Object),
        (status = 400, description = "bad rows (nothing imported) or bad file", body = ListingImportErrors),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn import(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(which): Path<String>,
    Query(q): Query<ImportParams>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    csrf(&s, &headers)?;
    let side = side(&which)?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = match q.format.as_deref() {
        Some("csv") => "csv",
        Some("xlsx") => "xlsx",
        None if ct.starts_with("text/csv") => "csv",
        None if ct.starts_with(crate::api::XLSX) => "xlsx",
        _ => {
            return Err(AppError::BadRequest {
                code: "invalid",
                message: "format: give ?format=csv|xlsx or Content-Type text/csv or the xlsx type"
                    .into(),
            }
            .into());
        }
    };
    let actor = s.user.actor();
    match import_file(&st, &actor, side, format, &bytes, q.fair.as_deref()).await? {
        Ok(ids) => Ok(Json(json!({"imported": ids.len(), "ids": ids})).into_response()),
        Err(errors) => Ok((StatusCode::BAD_REQUEST, Json(errors)).into_response()),
    }
}

/// Reads and imports a listings file; `Err` holds the row errors as the API shows them.
pub(crate) async fn import_file(
    st: &AppState,
    actor: &kc_store::Actor,
    side: Side,
    format: &str,
    bytes: &[u8],
    fair: Option<&str>,
) -> Result<Result<Vec<String>, J>, AppError> {
    if !kc_store::market::market_staff(actor) {
        return Err(AppError::Forbidden(
            "只有科技局工作人员可以批量导入 (only S&T staff import listings)".into(),
        ));
    }
    let name = format!("{}s.{format}", side.code());
    let t = kc_tabular::read_bytes(&name, format, bytes).map_err(|e| AppError::BadRequest {
        code: "invalid",
        message: e.to_string(),
    })?;
    match st
        .store
        .validate_listing_import(side, &name, &t.headers, &t.rows)
    {
        Ok(checked) => Ok(Ok(st.store.import_listings(actor, &checked, fair).await?)),
        Err(errors) => Ok(Err(json!({
            "code": "invalid_rows",
            "message": format!("导入未执行 nothing imported: {} problem(s) found (showing up to 50)", errors.len()),
            "errors": errors.iter().take(50).map(|e| json!({"file": e.file, "row": e.row, "column": e.column, "message": e.message})).collect::<Vec<_>>(),
        }))),
    }
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct ExportParams {
    /// `csv` or `xlsx` (default).
    format: Option<String>,
}

/// Exports the achievements or demands the caller may read, with the import columns.
#[utoipa::path(get, path = "/api/market/export/{side}", operation_id = "export_listings",
    params(("side" = String, Path, description = "`achievements` or `demands`"), ExportParams),
    responses((status = 200, description = "the table file", content(
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (Vec<u8> = "text/csv"))), (status = 400, body = ErrorBody)))]
pub(crate) async fn export(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(which): Path<String>,
    Query(q): Query<ExportParams>,
) -> ApiResult<Response> {
    let side = side(&which)?;
    let (heads, rows) = st.store.listings_table(&s.user.actor(), side).await?;
    let heads: Vec<&str> = heads.iter().map(String::as_str).collect();
    Ok(crate::api::table_download(
        q.format.as_deref(),
        &format!("{}s", side.code()),
        side.zh(),
        &heads,
        &rows,
    )?)
}

/// The 对接会 of the caller's jurisdiction (staff).
#[utoipa::path(get, path = "/api/market/fairs", operation_id = "market_fairs",
    responses((status = 200, description = "{fairs: [...]}", body = Object), (status = 403, body = ErrorBody)))]
pub(crate) async fn fairs(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> ApiResult<Json<J>> {
    Ok(Json(
        json!({"fairs": to_json(&st.store.fairs(&s.user.actor()).await?)}),
    ))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct FairRequest {
    name: String,
    /// YYYY-MM-DD
    held_on: String,
    /// a region code such as liaocheng
    region: String,
}

/// Creates a 对接会 (staff).
#[utoipa::path(post, path = "/api/market/fairs", operation_id = "create_fair", request_body = FairRequest,
    responses((status = 200, description = "{id}", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn create_fair(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: FairRequest = body(&bytes)?;
    let id = st
        .store
        .create_fair(&s.user.actor(), &r.name, &r.held_on, &r.region)
        .await?;
    Ok(Json(json!({"id": id})))
}

/// A 对接会: its listings, the proposed pairs with their reasons and meetings, its figures.
#[utoipa::path(get, path = "/api/market/fairs/{id}", operation_id = "market_fair",
    params(("id" = String, Path, description = "the 对接会")),
    responses((status = 200, description = "{fair, figures, pairs, listings}", body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn fair(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    Ok(Json(to_json(&st.store.fair(&s.user.actor(), &id).await?)))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct FairListingsRequest {
    /// listing ids
    ids: Vec<String>,
}

/// Adds listings to a 对接会 (staff).
#[utoipa::path(post, path = "/api/market/fairs/{id}/listings", operation_id = "add_fair_listings",
    params(("id" = String, Path, description = "the 对接会")), request_body = FairListingsRequest,
    responses((status = 200, description = "{added}", body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn add_fair_listings(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: FairListingsRequest = body(&bytes)?;
    let added = st.store.add_to_fair(&s.user.actor(), &id, &r.ids).await?;
    Ok(Json(json!({"added": added})))
}

/// Runs the batch matching of a 对接会 (every demand × every achievement; a shortlist each).
#[utoipa::path(post, path = "/api/market/fairs/{id}/match", operation_id = "match_fair",
    params(("id" = String, Path, description = "the 对接会")),
    responses((status = 200, description = "the figures", body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn match_fair(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    Ok(Json(to_json(
        &st.store.match_fair(&s.user.actor(), &id).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct MeetingRequest {
    demand: String,
    achievement: String,
    /// intention 意向, signed 签约, failed 未成
    outcome: String,
    note: Option<String>,
}

/// Records the outcome of a meeting at a 对接会 (staff).
#[utoipa::path(post, path = "/api/market/fairs/{id}/meetings", operation_id = "record_meeting",
    params(("id" = String, Path, description = "the 对接会")), request_body = MeetingRequest,
    responses((status = 200, description = "the figures", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn meeting(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: MeetingRequest = body(&bytes)?;
    let actor = s.user.actor();
    st.store
        .record_meeting(
            &actor,
            &id,
            &r.demand,
            &r.achievement,
            &r.outcome,
            r.note.as_deref().unwrap_or(""),
        )
        .await?;
    Ok(Json(to_json(&st.store.fair(&actor, &id).await?.figures)))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct YearParams {
    /// Registration year; default all (contracts) or this year (stats).
    year: Option<i32>,
}

/// Registered technology contracts the caller may see.
#[utoipa::path(get, path = "/api/market/contracts", operation_id = "market_contracts", params(YearParams),
    responses((status = 200, description = "{contracts: [...]}", body = Object)))]
pub(crate) async fn contracts(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Query(q): Query<YearParams>,
) -> ApiResult<Json<J>> {
    let c = st.store.contracts(&s.user.actor(), q.year).await?;
    Ok(Json(json!({"contracts": to_json(&c)})))
}

/// A technology contract to register (技术合同认定登记); amounts in yuan.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub(crate) struct ContractRequest {
    reg_no: String,
    /// 技术开发, 技术转让, 技术许可, 技术咨询, 技术服务 (or development, transfer, license,
    /// consulting, service)
    contract_type: String,
    title: String,
    seller_id: String,
    seller_name: Option<String>,
    seller_region: Option<String>,
    buyer_id: String,
    buyer_name: Option<String>,
    buyer_region: Option<String>,
    broker_id: Option<String>,
    achievement_id: Option<String>,
    demand_id: Option<String>,
    item: Option<String>,
    activity: Option<String>,
    amount: String,
    tech_amount: String,
    signed_on: String,
    registered_on: Option<String>,
}

/// Registers a technology contract (a registration institution or staff): the seller's
/// event, and the applications the engine opens for it.
#[utoipa::path(post, path = "/api/market/contracts", operation_id = "register_contract", request_body = ContractRequest,
    responses((status = 200, description = "{reg_no, event_id, applications}", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn register(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let input: ContractInput = body(&bytes)?;
    Ok(Json(to_json(
        &st.store.register_contract(&s.user.actor(), &input).await?,
    )))
}

/// The year's registrations: totals per registration institution, seller's district, type.
#[utoipa::path(get, path = "/api/market/contracts/stats", operation_id = "contract_stats", params(YearParams),
    responses((status = 200, description = "the statistics", body = Object)))]
pub(crate) async fn stats(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Query(q): Query<YearParams>,
) -> ApiResult<Json<J>> {
    let year = q.year.unwrap_or(st.store.today().year() as i32);
    Ok(Json(to_json(
        &st.store.contract_stats(&s.user.actor(), year).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct SettleRequest {
    year: i32,
}

/// Closes a year of registrations (platform staff): the registration institutions' and the
/// brokers' yearly events, with their offers.
#[utoipa::path(post, path = "/api/market/contracts/settle", operation_id = "settle_contracts", request_body = SettleRequest,
    responses((status = 200, description = "what was settled", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn settle(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: SettleRequest = body(&bytes)?;
    Ok(Json(to_json(
        &st.store
            .settle_contract_year(&s.user.actor(), r.year)
            .await?,
    )))
}

/// The service catalogue of the 科技条件平台 (public).
#[utoipa::path(get, path = "/api/market/services", operation_id = "market_services",
    responses((status = 200, description = "{services: [...]}", body = Object)))]
pub(crate) async fn services(State(st): State<AppState>) -> ApiResult<Json<J>> {
    Ok(Json(
        json!({"services": to_json(&st.store.services().await?)}),
    ))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ServiceRequest {
    /// staff only: the institution (统一社会信用代码); an institution lists its own
    institution: Option<String>,
    name: String,
    /// instrument_sharing 大型仪器共享, testing 检验检测, rd_design 研发设计
    category: String,
    description: Option<String>,
}

/// Adds a service to the catalogue (a service institution, university or institute; staff).
#[utoipa::path(post, path = "/api/market/services", operation_id = "add_service", request_body = ServiceRequest,
    responses((status = 200, description = "{id}", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn add_service(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: ServiceRequest = body(&bytes)?;
    let id = st
        .store
        .add_service(
            &s.user.actor(),
            r.institution.as_deref(),
            &r.name,
            &r.category,
            r.description.as_deref().unwrap_or(""),
        )
        .await?;
    Ok(Json(json!({"id": id})))
}

/// Vouchers the caller may see (holder, institution of an order, staff of the jurisdiction).
#[utoipa::path(get, path = "/api/market/vouchers", operation_id = "market_vouchers",
    responses((status = 200, description = "{vouchers: [...]}", body = Object)))]
pub(crate) async fn vouchers(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> ApiResult<Json<J>> {
    Ok(Json(
        json!({"vouchers": to_json(&st.store.vouchers(&s.user.actor()).await?)}),
    ))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct VoucherRequest {
    /// the SME (统一社会信用代码)
    applicant: String,
    year: i32,
    /// yuan
    quota: String,
    /// YYYY-MM-DD
    valid_until: String,
}

/// Issues a yearly voucher quota to an eligible SME (staff).
#[utoipa::path(post, path = "/api/market/vouchers", operation_id = "issue_voucher", request_body = VoucherRequest,
    responses((status = 200, description = "{id}", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn issue(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: VoucherRequest = body(&bytes)?;
    let id = st
        .store
        .issue_voucher(
            &s.user.actor(),
            &r.applicant,
            r.year,
            &r.quota,
            &r.valid_until,
        )
        .await?;
    Ok(Json(json!({"id": id})))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct OrderRequest {
    voucher: String,
    service: String,
    /// yuan
    amount: String,
}

/// The holder orders a service with its voucher.
#[utoipa::path(post, path = "/api/market/orders", operation_id = "order_service", request_body = OrderRequest,
    responses((status = 200, description = "{id}", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn order(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: OrderRequest = body(&bytes)?;
    let id = st
        .store
        .order_service(&s.user.actor(), &r.voucher, &r.service, &r.amount)
        .await?;
    Ok(Json(json!({"id": id})))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct RedeemRequest {
    contract_no: String,
    receipt_no: String,
    /// YYYY-MM-DD; default today
    redeemed_on: Option<String>,
}

/// Redeems a delivered order with its contract and receipt (the institution or staff); each
/// abuse rule refuses with its reason (409: already_redeemed, receipt_reused, over_quota,
/// voucher_expired, related_parties).
#[utoipa::path(post, path = "/api/market/orders/{id}/redeem", operation_id = "redeem_order",
    params(("id" = String, Path, description = "the order")), request_body = RedeemRequest,
    responses((status = 200, description = "{order, events, applications}", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn redeem(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: RedeemRequest = body(&bytes)?;
    Ok(Json(to_json(
        &st.store
            .redeem_order(
                &s.user.actor(),
                &id,
                &r.contract_no,
                &r.receipt_no,
                r.redeemed_on.as_deref(),
            )
            .await?,
    )))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct RelationRequest {
    a: String,
    b: String,
    /// what relates them (e.g. 同一控股股东)
    note: String,
}

/// Declares two parties related: no voucher is redeemed between them (a party or staff).
#[utoipa::path(post, path = "/api/market/relations", operation_id = "declare_relation", request_body = RelationRequest,
    responses((status = 200, description = "{ok}", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn relation(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Json<J>> {
    csrf(&s, &headers)?;
    let r: RelationRequest = body(&bytes)?;
    st.store
        .declare_relation(&s.user.actor(), &r.a, &r.b, &r.note)
        .await?;
    Ok(Json(json!({"ok": true})))
}

/// The market's API routes (under /api).
pub fn api_routes() -> axum::Router<crate::Platform> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/market/search", get(search))
        .route("/market/listings", get(listings).post(create))
        .route("/market/listings/{id}", get(listing).post(update))
        .route("/market/listings/{id}/status", post(status))
        .route("/market/listings/{id}/review", post(review))
        .route("/market/listings/{id}/matches", get(matches))
        .route("/market/import/{side}", post(import))
        .route("/market/export/{side}", get(export))
        .route("/market/fairs", get(fairs).post(create_fair))
        .route("/market/fairs/{id}", get(fair))
        .route("/market/fairs/{id}/listings", post(add_fair_listings))
        .route("/market/fairs/{id}/match", post(match_fair))
        .route("/market/fairs/{id}/meetings", post(meeting))
        .route("/market/contracts", get(contracts).post(register))
        .route("/market/contracts/stats", get(stats))
        .route("/market/contracts/settle", post(settle))
        .route("/market/services", get(services).post(add_service))
        .route("/market/vouchers", get(vouchers).post(issue))
        .route("/market/orders", post(order))
        .route("/market/orders/{id}/redeem", post(redeem))
        .route("/market/relations", post(relation))
}

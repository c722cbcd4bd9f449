//! The policy library as open data: documents, their clauses (verbatim text and the measures
//! that encode each), and one measure with its rule. Public, like the 政策库 pages.

use crate::AppError;
use crate::AppState;
use crate::api::{ApiResult, ErrorBody};
use crate::schemas::{ClauseBody, DocumentBody};
use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value as J, json};

use crate::labels::doc_id;

/// The documents of the library: number, title, issuer, validity, counts (政策库).
#[utoipa::path(get, path = "/api/library/documents", operation_id = "library_documents",
    responses((status = 200, description = "the documents", body = Vec<DocumentBody>)))]
pub(crate) async fn library_documents(State(st): State<AppState>) -> Json<J> {
    let lib = &st.lib;
    Json(json!(
        lib.documents
            .iter()
            .enumerate()
            .map(|(di, d)| json!({
                "id": doc_id(d), "number": d.number, "title": d.title, "issuer": d.issuer,
                "issued": d.issued.map(|x| x.to_string()), "published": d.published.map(|x| x.to_string()),
                "valid": [d.valid.0.to_string(), d.valid.1.to_string()],
                "declared_valid": [d.declared_valid.0.to_string(), d.declared_valid.1.to_string()],
                "changes": d.changes.iter().map(|c| json!({"kind": c.kind.keyword(), "by": c.by, "date": c.date.to_string()})).collect::<Vec<_>>(),
                "clauses": d.clauses.len(),
                "measures": lib.measures.iter().filter(|m| m.doc == di).map(|m| m.id.clone()).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()
    ))
}

/// The clauses of one document, each with its verbatim text and the measures that encode it
/// (or why it pays nothing).
#[utoipa::path(get, path = "/api/library/documents/{doc}/clauses", operation_id = "library_clauses",
    params(("doc" = String, Path, description = "document id from /api/library/documents, e.g. shenyang-2021-11")),
    responses((status = 200, description = "the clauses", body = Vec<ClauseBody>), (status = 404, body = ErrorBody)))]
pub(crate) async fn library_clauses(
    State(st): State<AppState>,
    Path(doc): Path<String>,
) -> ApiResult<Json<J>> {
    let lib = &st.lib;
    let (di, d) = lib
        .documents
        .iter()
        .enumerate()
        .find(|(_, d)| doc_id(d) == doc)
        .ok_or_else(|| AppError::NotFound(format!("document {doc}")))?;
    Ok(Json(json!(
        d.clauses
            .iter()
            .map(|c| json!({
                "id": c.id, "heading": c.heading, "quote": c.quote,
                "measures": lib.measures.iter().filter(|m| m.doc == di && m.clause.id == c.id).map(|m| m.id.clone()).collect::<Vec<_>>(),
                "unpaid": d.unpaid.iter().find(|(id, _)| *id == c.id).map(|(_, why)| why.clone()),
            }))
            .collect::<Vec<_>>()
    )))
}

/// One measure: the clause it cites (verbatim), its rule as written, amount rule, form, event,
/// validity (with the amendment, extension or repeal that moved it), claim deadline,
/// application windows and the split between levels (the measure page).
#[utoipa::path(get, path = "/api/library/measures/{id}", operation_id = "library_measure",
    params(("id" = String, Path, description = "measure id, e.g. hitech_first")),
    responses((status = 200, description = "measure: {measure, title, document, clause, rule, amount_rule, form, event, valid, valid_changes, claim_within, windows, split}", body = Object), (status = 404, body = ErrorBody)))]
pub(crate) async fn library_measure(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    let lib = &st.lib;
    let m = lib
        .measure(&id)
        .ok_or_else(|| AppError::NotFound(format!("measure {id}")))?;
    let d = &lib.documents[m.doc];
    Ok(Json(json!({
        "measure": m.id, "title": m.label.zh, "title_en": m.label.en,
        "document": {"id": doc_id(d), "number": d.number, "title": d.title},
        "clause": {"id": m.clause.id, "heading": m.clause.heading, "quote": m.clause.quote},
        "rule": m.source, "amount_rule": super::amount_rule(m), "amount_words": kc_eval::plain::grant_words(&st.lib, m, false),
        "form": m.form.map(|f| f.zh()), "event": lib.vocab.events[m.event].name,
        "valid": [m.valid.0.to_string(), m.valid.1.to_string()],
        // What other documents did to this window (amended from, extended to, repealed from).
        "valid_changes": m.start_change.iter().chain(m.end_change.iter()).map(|c| json!({
            "kind": c.kind.keyword(), "by": c.by, "date": c.date.to_string(), "measure": c.measure,
            "words": c.words(false), "words_en": c.words(true),
        })).collect::<Vec<_>>(),
        "claim_within": m.claim_within.map(|p| json!({"words": p.words(false), "words_en": p.words(true)})),
        "windows": lib.windows_of(lib.measure_index[&m.id]).map(|w| json!({
            "id": w.id, "title": w.label.zh, "applications": [w.applications.0.to_string(), w.applications.1.to_string()],
            "events": w.events.map(|(a, b)| vec![a.to_string(), b.to_string()]),
        })).collect::<Vec<_>>(),
        "split": m.split.shares.iter().map(|(l, _, t)| json!({"level": l.keyword(), "share": t})).collect::<Vec<_>>(),
    })))
}

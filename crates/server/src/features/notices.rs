//! The public 公示 page: anyone reads the list of awards in public notice and lodges an
//! objection with a name, a way to be reached and the reason — the point of a 公示 is that the
//! public can object (issue 10, item 8). Reviewers see the objections on the review page and in
//! the API, and decide; an objection lodged here moves no money (the reviewer's `object` step
//! does). The page and its API counterparts live together in this module.

use crate::api::{ApiError, ApiSession, ErrorBody};
use crate::auth::{Lang, MaybeSession};
use crate::{AppError, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use maud::html;
use serde::Deserialize;
use serde_json::{Value as J, json};
use utoipa::ToSchema;

pub mod api;

pub fn routes() -> Router<crate::Platform> {
    Router::new()
        .route("/notices", get(notices_page))
        .route("/notices/{id}/objection", post(lodge_form))
}

pub fn api_routes() -> Router<crate::Platform> {
    Router::new()
        .route("/notices/{id}/public-objections", post(lodge_api))
        .route("/objections", get(objections_api))
}

async fn notices_page(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
) -> Result<Response, AppError> {
    notices_view(s.as_ref(), lang, &st, None).await
}

/// An objection that was refused: for which application, why, and what was typed.
struct Refused {
    application: String,
    message: String,
    form: ObjectionForm,
}

async fn notices_view(
    s: Option<&crate::auth::Session>,
    lang: Lang,
    st: &AppState,
    refused: Option<&Refused>,
) -> Result<Response, AppError> {
    let notices = st.store.public_notices().await?;
    let body = html! {
        p.muted { (lang.t(
            "以下支持在公示期内接受社会监督。对名单有异议的,请在期满前提出,并留下姓名(或单位)和联系方式,以便核实。",
            "These awards are open to public scrutiny until the date shown. To object, give your name (or organisation) and a way to reach you, before the notice ends."
        )) }
        // Refused for an application no longer listed (the notice ended): say so at the top.
        @if let Some(r) = refused.filter(|r| !notices.iter().any(|n| n.application == r.application)) { div.error.form-error role="alert" { (r.message) } }
        @if notices.is_empty() { p { (lang.t("目前没有公示中的项目。", "Nothing is in public notice now.")) } }
        @for n in &notices {
            @let m = st.lib.measure(&n.measure);
            div.card {
                p { strong { (n.applicant_name) } " · " (m.map(|m| m.label.zh.clone()).unwrap_or_default())
                    " · " (m.map(|m| format!("{} {}", st.lib.documents[m.doc].number, m.clause.id)).unwrap_or_default()) }
                p { (lang.t("金额", "Amount")) ":" (crate::labels::yuan(n.amount)) " · "
                    (lang.t("公示期满", "Notice ends")) ":" (n.until) " · " span.muted { (n.application) } }
                @let r = refused.filter(|r| r.application == n.application);
                details open[r.is_some()] {
                    summary { (lang.t("提出异议", "Lodge an objection")) }
                    form method="post" action={"/notices/" (n.application) "/objection"} {
                        @if let Some(r) = r { div.error.form-error role="alert" { (r.message) } }
                        label { (lang.t("姓名或单位", "Name or organisation")) br; input name="name" required maxlength="100" value=(r.map(|r| r.form.name.as_str()).unwrap_or("")); }
                        label { (lang.t("联系方式(电话或邮箱)", "Contact (phone or e-mail)")) br; input name="contact" required maxlength="100" value=(r.map(|r| r.form.contact.as_str()).unwrap_or("")); }
                        label { (lang.t("异议理由", "Reason")) br; textarea name="reason" required maxlength="2000" rows="3" { (r.map(|r| r.form.reason.as_str()).unwrap_or("")) } }
                        button type="submit" { (lang.t("提交异议", "Submit")) }
                    }
                }
            }
        }
    };
    Ok(crate::layout::render(
        lang,
        s,
        lang.t("公示", "Public notice"),
        body,
    ))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ObjectionForm {
    /// Name or organisation of whoever objects.
    name: String,
    /// Phone or e-mail, for the reviewer to follow up.
    contact: String,
    /// Why.
    reason: String,
}

async fn lodge_form(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<ObjectionForm>,
) -> Result<Response, AppError> {
    let no = match st
        .store
        .lodge_objection(&id, &f.name, &f.contact, &f.reason)
        .await
    {
        Ok(no) => no,
        Err(e) => {
            // A mistake in the form: the list again, the reason beside this form, input kept.
            let e = AppError::from(e);
            if !matches!(e, AppError::BadRequest { .. } | AppError::Conflict { .. }) {
                return Err(e);
            }
            let status = e.status();
            let refused = Refused {
                application: id,
                message: e.message(),
                form: f,
            };
            let mut res = notices_view(s.as_ref(), lang, &st, Some(&refused)).await?;
            *res.status_mut() = status;
            return Ok(res);
        }
    };
    let body = html! {
        div.card {
            p { (lang.t("异议已登记,编号 ", "Objection recorded, number ")) strong { (no) } "。" }
            p { (lang.t("审核人员将核实并通过您留下的联系方式与您联系。", "A reviewer will look into it and contact you.")) }
            p { a href="/notices" { (lang.t("返回公示名单", "Back to the public notice")) } }
        }
    };
    Ok(crate::layout::render(
        lang,
        s.as_ref(),
        lang.t("异议已登记", "Objection recorded"),
        body,
    ))
}

/// Lodges an objection to an application in 公示 — public: anyone, no account (rate-limited per
/// address). Moves no money; a reviewer looks into it.
#[utoipa::path(post, path = "/api/notices/{id}/public-objections", operation_id = "lodge_objection",
    params(("id" = String, Path, description = "application number")), request_body = ObjectionForm,
    responses((status = 200, description = "the objection's number", body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "not in public notice", body = ErrorBody)))]
pub(crate) async fn lodge_api(
    State(st): State<AppState>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<J>, ApiError> {
    let f: ObjectionForm = crate::api::body(&bytes)?;
    let no = st
        .store
        .lodge_objection(&id, &f.name, &f.contact, &f.reason)
        .await?;
    Ok(Json(json!({"id": no, "application": id})))
}

/// Objections lodged by the public, oldest first (staff who review).
#[utoipa::path(get, path = "/api/objections", operation_id = "public_objections_list",
    responses((status = 200, description = "objections", body = Vec<Object>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn objections_api(
    State(st): State<AppState>,
    ApiSession(s): ApiSession,
) -> Result<Json<J>, ApiError> {
    let list = st.store.public_objections(&s.user.actor()).await?;
    Ok(Json(json!(
        list.iter()
            .map(|o| json!({"id": o.id, "application": o.application, "name": o.name, "contact": o.contact, "reason": o.reason, "at": o.at}))
            .collect::<Vec<_>>()
    )))
}

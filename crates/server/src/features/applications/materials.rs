//! An application's materials (issue 10, item 5), pages and API together: the applicant
//! uploads its 申报书, 承诺书 and 佐证材料, answers each item of a reviewer's 一次性告知补正材料
//! list with text and/or files, gives the bank account the award is paid to and accepts the
//! 承诺书; the reviewer (and finance, admin) sees every file with a download link, and the 补正
//! list of every round with its answers, also after the resubmission.
//!
//! The rules (who, when, which files) live in kc-store (`materials.rs`) and
//! `kc_domain::Access`; this module turns forms and requests into those calls. A form mistake
//! re-shows the application page with the reason next to the form and what was typed kept
//! (`crate::forms::FormProblem`, status 400 or 409), never a bare error page. Downloads are `Content-Disposition: attachment` with
//! the type the file's bytes were recognised as (never the uploader's claim), under the
//! platform's `nosniff` and `default-src 'none'` headers.

use crate::api::{ApiError, ApiSession, ErrorBody};
use crate::auth::{CurrentSession, Lang, Session};
use crate::forms::FormProblem;
use crate::{AppError, AppState};
use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use kc_domain::{Access, AppState as St, Role};
use kc_store::materials::{ACCEPTED_TYPES, FileType, PLEDGE_TEXT, human};
use kc_store::{ApplicationView, Attachment, BankAccount, MaterialKind, Materials};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value as J, json};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// The largest request an upload route reads (after the session is checked). Well above the
/// file limit, so that a file somewhat too large is read to its end and refused with a clear
/// message (a connection cut while the client still sends shows as a network error in the
/// browser); beyond it the request is cut off (413).
const UPLOAD_BODY: usize = 64 * 1024 * 1024;

pub fn routes() -> Router<crate::Platform> {
    Router::new()
        .route(
            "/applications/{id}/materials",
            post(upload_form).layer(DefaultBodyLimit::max(UPLOAD_BODY)),
        )
        .route("/applications/{id}/account", post(account_form))
        .route("/applications/{id}/pledge", post(pledge_form))
        .route("/files/{id}", get(download_page))
        .route("/files/{id}/remove", post(remove_form))
}

pub fn api_routes() -> Router<crate::Platform> {
    Router::new()
        .route(
            "/applications/{id}/materials",
            get(materials_api)
                .post(upload_api)
                .layer(DefaultBodyLimit::max(UPLOAD_BODY)),
        )
        .route("/applications/{id}/answers", post(answer_api))
        .route("/applications/{id}/account", post(account_api))
        .route("/applications/{id}/pledge", post(pledge_api))
        .route("/files/{id}", get(download_api))
        .route("/files/{id}/remove", post(remove_api))
}

/// What was typed into a refused form, if `problem` is that form's.
fn kept<'a>(problem: Option<&'a FormProblem>, form: &str, field: &str) -> Option<&'a str> {
    problem_for(problem, form).and_then(|p| p.values.get(field).map(String::as_str))
}

fn problem_for<'a>(problem: Option<&'a FormProblem>, form: &str) -> Option<&'a FormProblem> {
    problem.filter(|p| p.form == form)
}

/// The reason a form was refused, inside it (as the other forms of the page show theirs).
fn error_box(lang: Lang, note: Option<&FormProblem>, form: &str) -> Markup {
    html! {
        @if let Some(n) = problem_for(note, form) {
            div.error.form-error role="alert" { strong { (lang.t("未保存:", "Not saved: ")) } (n.message) }
        }
    }
}

/// The materials part of the application page.
pub(crate) async fn section(
    st: &AppState,
    lang: Lang,
    s: &Session,
    a: &ApplicationView,
    note: Option<&FormProblem>,
) -> Result<Markup, AppError> {
    let m = st.store.materials(&s.user.actor(), &a.id).await?;
    let limits = st.store.upload_limits();
    let open = matches!(a.state, St::Draft | St::NeedsMaterial | St::Offered);
    let mine = s.role() == Role::Applicant && s.role().may(Access::HandInMaterials);
    let hand_in = mine && open;
    let csrf = html! { input type="hidden" name="csrf" value=(s.csrf); };
    let current_round = m.current_round().next().map(|r| r.round);
    let accept = ".pdf,.jpg,.jpeg,.png,.ofd,.docx,.xlsx";
    let limits_text = format!(
        "{}{}{}{}{}",
        lang.t("接受 ", "Accepted: "),
        lang.t(ACCEPTED_TYPES, "PDF, JPEG, PNG, OFD, DOCX, XLSX"),
        lang.t(";单个文件不超过 ", "; at most "),
        human(limits.per_file),
        if lang.0 {
            format!(
                " per file, {} per application.",
                human(limits.per_application)
            )
        } else {
            format!(",每个申请合计不超过 {}。", human(limits.per_application))
        }
    );
    let own_files: Vec<&Attachment> = m
        .files
        .iter()
        .filter(|f| f.kind != MaterialKind::Supplement)
        .collect();
    let has_form = m
        .files
        .iter()
        .any(|f| f.kind == MaterialKind::ApplicationForm);
    Ok(html! {
        section #materials {
            h2 { (lang.t("申报材料", "Materials")) }
            @if hand_in && matches!(a.state, St::Draft | St::Offered) {
                @let offer = a.state == St::Offered;
                div.card.checklist {
                    p { strong { (if offer { lang.t("意愿确认前请完成:", "Before confirming the offer:") } else { lang.t("提交前请完成:", "Before submitting:") }) } }
                    ul {
                        @if !offer {
                            li class=(if has_form { "ok" } else { "no" }) { (if has_form { "✓ " } else { "✗ " }) (lang.t("上传申报书", "upload the application form")) }
                        }
                        li class=(if m.account.is_some() { "ok" } else { "no" }) { (if m.account.is_some() { "✓ " } else { "✗ " }) (lang.t("填写收款账户", "give the bank account")) }
                        li class=(if m.pledge.is_some() { "ok" } else { "no" }) { (if m.pledge.is_some() { "✓ " } else { "✗ " }) (lang.t("确认承诺书", "accept the commitment")) }
                    }
                }
            }
            @if own_files.is_empty() {
                p.muted { (lang.t("尚未上传材料。", "No files yet.")) }
            } @else {
                (files_table(lang, &own_files, hand_in && a.state != St::NeedsMaterial, &csrf))
            }
            @if hand_in {
                form.card.upload method="post" action={"/applications/" (a.id) "/materials"} enctype="multipart/form-data" {
                    (csrf)
                    (error_box(lang, note, "upload"))
                    label { (lang.t("材料类别", "Kind")) " "
                        select name="kind" {
                            @for k in [MaterialKind::ApplicationForm, MaterialKind::Pledge, MaterialKind::Evidence] {
                                option value=(k.code()) selected[kept(note, "upload", "kind") == Some(k.code())] { (lang.t(k.zh(), k.en())) }
                            }
                        }
                    }
                    label { (lang.t("文件", "File")) " " input type="file" name="file" required accept=(accept); }
                    p.muted { (limits_text) }
                    button type="submit" { (lang.t("上传", "Upload")) }
                }
            }

            @if !m.requests.is_empty() {
                h3 #supplements { (lang.t("补正材料(一次性告知)", "Material requested (all at once)")) }
                @for round in rounds(&m) {
                    @let first = &m.requests.iter().find(|r| r.round == round).expect("a round has items");
                    @let answering = hand_in && a.state == St::NeedsMaterial && Some(round) == current_round;
                    div.card.round {
                        p { strong { (lang.t("第 ", "Round ")) (round) (lang.t(" 轮", "")) } " · "
                            span.muted { (lang.t("告知时间 ", "requested ")) (short_time(&first.requested_at)) } }
                        table {
                            tr { th { (lang.t("序号", "No.")) } th { (lang.t("所缺材料", "Item")) } th { (lang.t("答复", "Answer")) } th { (lang.t("状态", "Status")) } }
                            @for r in m.requests.iter().filter(|r| r.round == round) {
                                @let files: Vec<&Attachment> = m.files_for(&r.id).collect();
                                @let answered = r.answer.is_some() || !files.is_empty();
                                tr.item data-item=(r.id) {
                                    td { (r.seq) }
                                    td.wrap { (r.item) }
                                    td.wrap {
                                        @if let Some(t) = &r.answer { p { (t) } }
                                        @for f in &files {
                                            div.answer-file { a.file href={"/files/" (f.id)} download { (f.filename) } " " span.muted { (human(f.size as usize)) }
                                                @if answering {
                                                    " " form.inline method="post" action={"/files/" (f.id) "/remove"} { (csrf) button.secondary type="submit" { (lang.t("删除", "Remove")) } }
                                                }
                                            }
                                        }
                                        @if answering {
                                            @let form = format!("answer:{}", r.id);
                                            form.answer method="post" action={"/applications/" (a.id) "/materials"} enctype="multipart/form-data" {
                                                (csrf)
                                                (error_box(lang, note, &form))
                                                input type="hidden" name="kind" value="supplement";
                                                input type="hidden" name="request" value=(r.id);
                                                label { (lang.t("说明(可选)", "Note (optional)")) br;
                                                    textarea name="answer" rows="2" maxlength="2000" { (kept(note, &form, "answer").unwrap_or_default()) } }
                                                label { (lang.t("上传文件(可选)", "File (optional)")) " " input type="file" name="file" accept=(accept); }
                                                button type="submit" { (lang.t("提交本项答复", "Answer this item")) }
                                            }
                                        }
                                    }
                                    td { @if answered { span.ok { (lang.t("已答复", "answered")) } } @else { span.no { (lang.t("待答复", "open")) } } }
                                }
                            }
                        }
                        @if answering {
                            p.muted { (limits_text) " " (lang.t("每项可填写说明、上传文件,或两者都有;全部答复后请在“办理”中重新提交。", "Answer each item with a note, a file or both; then resubmit under Actions.")) }
                        }
                    }
                }
            }

            h3 { (lang.t("收款账户", "Bank account")) }
            @match &m.account {
                Some(acc) => {
                    table.account {
                        tr { th { (lang.t("开户名", "Account name")) } td { (acc.account_name) } }
                        tr { th { (lang.t("开户银行", "Bank")) } td { (acc.bank) } }
                        tr { th { (lang.t("账号", "Account number")) } td { (acc.account_no) } }
                    }
                }
                None => { p.muted { (lang.t("尚未填写。", "Not given yet.")) } }
            }
            @if hand_in {
                @let keep = |field: &str, current: Option<&str>| -> String {
                    kept(note, "account", field).or(current).unwrap_or_default().to_string()
                };
                details open[m.account.is_none() || problem_for(note, "account").is_some()] {
                    summary { (if m.account.is_some() { lang.t("修改收款账户", "Change the account") } else { lang.t("填写收款账户", "Give the account") }) }
                    form.card.account method="post" action={"/applications/" (a.id) "/account"} {
                        (csrf)
                        (error_box(lang, note, "account"))
                        label { (lang.t("开户名(须与单位名称一致)", "Account name (the organisation's registered name)")) br;
                            input name="account_name" required maxlength="100" size="40" value=(keep("account_name", Some(m.account.as_ref().map(|x| x.account_name.as_str()).unwrap_or(&m.applicant_name)))); }
                        label { (lang.t("开户银行(含支行)", "Bank and branch")) br;
                            input name="bank" required maxlength="100" size="40" value=(keep("bank", m.account.as_ref().map(|x| x.bank.as_str()))); }
                        label { (lang.t("账号", "Account number")) br;
                            input name="account_no" required maxlength="40" size="30" inputmode="numeric" value=(keep("account_no", m.account.as_ref().map(|x| x.account_no.as_str()))); }
                        button type="submit" { (lang.t("保存收款账户", "Save the account")) }
                    }
                }
            }

            h3 { (lang.t("承诺书", "Commitment")) }
            div.quote { (m.pledge.as_ref().map(|p| p.text.as_str()).unwrap_or(PLEDGE_TEXT)) }
            @match &m.pledge {
                Some(p) => { p.pledged { span.ok { "✓ " } (lang.t("申报单位已于 ", "Accepted on ")) (short_time(&p.at)) (lang.t(" 确认", "")) " " span.muted { "(" (lang.t("确认账号:", "by account ")) (p.by.split_once(':').map(|x| x.1).unwrap_or(&p.by)) ")" } } }
                None => {
                    @if hand_in {
                        form.card.pledge method="post" action={"/applications/" (a.id) "/pledge"} {
                            (csrf)
                            (error_box(lang, note, "pledge"))
                            label { input type="checkbox" name="accept" value="yes" required; " " (lang.t("本单位已阅读并同意以上承诺", "We have read and accept this commitment")) }
                            button type="submit" { (lang.t("确认承诺", "Accept")) }
                        }
                    } @else {
                        p.muted { (lang.t("申报单位尚未确认承诺书。", "The applicant has not accepted the commitment yet.")) }
                    }
                }
            }
        }
    })
}

fn rounds(m: &Materials) -> Vec<i64> {
    let mut r: Vec<i64> = m.requests.iter().map(|r| r.round).collect();
    r.dedup();
    r
}

fn short_time(at: &str) -> String {
    at.get(..16).unwrap_or(at).replace('T', " ")
}

fn files_table(lang: Lang, files: &[&Attachment], removable: bool, csrf: &Markup) -> Markup {
    html! {
        table.files {
            tr { th { (lang.t("类别", "Kind")) } th { (lang.t("文件", "File")) } th.num { (lang.t("大小", "Size")) } th { (lang.t("上传时间", "Uploaded")) } th { "SHA-256" } @if removable { th {} } }
            @for f in files {
                tr {
                    td { (lang.t(f.kind.zh(), f.kind.en())) }
                    td.wrap { a.file href={"/files/" (f.id)} download { (f.filename) } }
                    td.num { (human(f.size as usize)) }
                    td { (short_time(&f.uploaded_at)) }
                    td { span.muted title=(f.sha256) { (f.sha256.get(..12).unwrap_or(&f.sha256)) "…" } }
                    @if removable {
                        td { form.inline method="post" action={"/files/" (f.id) "/remove"} { (csrf) button.secondary type="submit" { (lang.t("删除", "Remove")) } } }
                    }
                }
            }
        }
    }
}

/// What an upload form sent.
#[derive(Default)]
struct UploadParts {
    csrf: Option<String>,
    kind: Option<String>,
    request: Option<String>,
    answer: Option<String>,
    filename: Option<String>,
    bytes: Vec<u8>,
}

async fn read_multipart(
    mp: Result<Multipart, MultipartRejection>,
    per_file: usize,
) -> Result<UploadParts, String> {
    let too_large = || {
        format!(
            "文件过大:单个文件不超过 {} (the file is too large)",
            human(per_file)
        )
    };
    let mut mp = mp.map_err(|e| format!("表单无效,请重新选择文件后提交 (invalid form: {e})"))?;
    let mut out = UploadParts::default();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(e) => return Err(format!("表单无效,请重新提交 (invalid form: {e})")),
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let filename = field.file_name().unwrap_or("").to_string();
            let mut field = field;
            let mut bytes = Vec::new();
            let mut total = 0usize;
            // Read to the end (so the browser gets the answer), keeping at most the limit.
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        total += chunk.len();
                        if total <= per_file {
                            bytes.extend_from_slice(&chunk);
                        }
                    }
                    Ok(None) => break,
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        return Err(too_large());
                    }
                    Err(e) => {
                        return Err(format!(
                            "文件读取失败,请重试 (the file could not be read: {e})"
                        ));
                    }
                }
            }
            if total > per_file {
                return Err(format!(
                    "文件“{filename}”大小 {} 超过单个文件上限 {} (a file may be at most {})",
                    human(total),
                    human(per_file),
                    human(per_file)
                ));
            }
            // A file input left empty sends a part without a name and without bytes.
            if !filename.is_empty() || !bytes.is_empty() {
                out.filename = Some(filename);
                out.bytes = bytes;
            }
        } else {
            let text = field
                .text()
                .await
                .map_err(|e| format!("表单无效,请重新提交 (invalid form: {e})"))?;
            if text.contains('\0') {
                return Err("表单内容含有空字符 (NUL),请删除后重试".into());
            }
            match name.as_str() {
                "csrf" => out.csrf = Some(text),
                "kind" => out.kind = Some(text),
                "request" => out.request = Some(text).filter(|t| !t.trim().is_empty()),
                "answer" => out.answer = Some(text),
                _ => {}
            }
        }
    }
    Ok(out)
}

fn kind_of(code: Option<&str>) -> Result<MaterialKind, AppError> {
    let code = code.unwrap_or("");
    MaterialKind::parse(code).ok_or_else(|| AppError::BadRequest {
        code: "invalid",
        message: format!(
            "材料类别:“{code}”不是可选的类别(申报书 application_form、承诺书 pledge、佐证材料 evidence、补正材料 supplement)"
        ),
    })
}

/// The application page again, with the form's reason beside it and its input kept, under
/// the error's status (400 for a mistake in a field, 409 for a refused step); an error that is
/// not the user's to fix in the form (not logged in, not theirs) as it is.
async fn reshow(
    st: &AppState,
    lang: Lang,
    s: &Session,
    id: &str,
    form: &str,
    e: AppError,
    values: BTreeMap<String, String>,
) -> Result<Response, AppError> {
    let problem = FormProblem::from_error(form, e, values)?;
    let status = problem.status;
    let mut res = super::application_page(s, lang, st, id, Some(problem)).await?;
    *res.status_mut() = status;
    Ok(res)
}

fn back(id: &str, anchor: &str) -> Response {
    Redirect::to(&format!("/applications/{id}#{anchor}")).into_response()
}

async fn upload_form(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
    mp: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let parts = match read_multipart(mp, st.store.upload_limits().per_file).await {
        Ok(p) => p,
        Err(message) => {
            let e = AppError::BadRequest {
                code: "invalid",
                message,
            };
            return reshow(&st, lang, &s, &id, "upload", e, BTreeMap::new()).await;
        }
    };
    s.check_csrf(parts.csrf.as_deref())?;
    let form = match &parts.request {
        Some(r) => format!("answer:{r}"),
        None => "upload".to_string(),
    };
    let actor = s.user.actor();
    let result: Result<(), AppError> = async {
        let kind = kind_of(parts.kind.as_deref())?;
        let answer = parts.answer.as_deref().map(str::trim).unwrap_or("");
        if kind == MaterialKind::Supplement && answer.is_empty() && parts.filename.is_none() {
            return Err(AppError::BadRequest {
                code: "invalid",
                message: "答复:请填写说明或选择文件,至少一项 (give a note, a file or both)".into(),
            });
        }
        if kind != MaterialKind::Supplement && parts.filename.is_none() {
            return Err(AppError::BadRequest {
                code: "invalid",
                message: "文件:请选择要上传的文件 (choose a file)".into(),
            });
        }
        if let Some(name) = &parts.filename {
            st.store
                .upload_material(
                    &actor,
                    &id,
                    kind,
                    parts.request.as_deref(),
                    name,
                    &parts.bytes,
                )
                .await?;
        }
        if let (Some(req), false) = (&parts.request, answer.is_empty()) {
            st.store.answer_request(&actor, &id, req, answer).await?;
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(back(
            &id,
            if parts.request.is_some() {
                "supplements"
            } else {
                "materials"
            },
        )),
        Err(e) => {
            let mut kept = BTreeMap::new();
            for (k, v) in [("kind", &parts.kind), ("answer", &parts.answer)] {
                if let Some(v) = v {
                    kept.insert(k.to_string(), v.clone());
                }
            }
            reshow(&st, lang, &s, &id, &form, e, kept).await
        }
    }
}

/// The bank account form.
#[derive(Deserialize)]
struct AccountForm {
    csrf: Option<String>,
    account_name: String,
    bank: String,
    account_no: String,
}

impl AccountForm {
    fn account(&self) -> BankAccount {
        BankAccount {
            account_name: self.account_name.clone(),
            bank: self.bank.clone(),
            account_no: self.account_no.clone(),
        }
    }
}

/// The bank account an award is paid to.
#[derive(Deserialize, ToSchema)]
pub(crate) struct AccountRequest {
    /// 开户名: the organisation's registered name.
    account_name: String,
    /// 开户银行, with the branch.
    bank: String,
    /// 账号: 8 to 32 digits (spaces and hyphens are ignored).
    account_no: String,
}

async fn account_form(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<AccountForm>,
) -> Result<Response, AppError> {
    s.check_csrf(f.csrf.as_deref())?;
    match st
        .store
        .set_bank_account(&s.user.actor(), &id, &f.account())
        .await
    {
        Ok(_) => Ok(back(&id, "materials")),
        Err(e) => {
            let kept = [
                ("account_name", &f.account_name),
                ("bank", &f.bank),
                ("account_no", &f.account_no),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
            reshow(&st, lang, &s, &id, "account", e.into(), kept).await
        }
    }
}

#[derive(Deserialize)]
struct PledgeForm {
    csrf: Option<String>,
    accept: Option<String>,
}

async fn pledge_form(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<PledgeForm>,
) -> Result<Response, AppError> {
    s.check_csrf(f.csrf.as_deref())?;
    let result: Result<(), AppError> = async {
        if f.accept.as_deref() != Some("yes") {
            return Err(AppError::BadRequest {
                code: "invalid",
                message: "承诺书:请勾选“本单位已阅读并同意以上承诺”后确认 (tick the box to accept)"
                    .into(),
            });
        }
        st.store.accept_pledge(&s.user.actor(), &id).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(back(&id, "materials")),
        Err(e) => reshow(&st, lang, &s, &id, "pledge", e, BTreeMap::new()).await,
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

async fn remove_form(
    CurrentSession(s): CurrentSession,
    State(st): State<AppState>,
    Path(file): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, AppError> {
    s.check_csrf(f.csrf.as_deref())?;
    let (att, _) = st.store.attachment(&s.user.actor(), &file).await?;
    st.store.remove_material(&s.user.actor(), &file).await?;
    Ok(back(&att.application, "materials"))
}

/// A file as a download: its recognised type, `attachment` with its name (RFC 6266: an ASCII
/// fallback and the UTF-8 name), its SHA-256 in `X-Content-SHA256`.
fn download(att: &Attachment, bytes: Vec<u8>) -> Response {
    // Only the types the store recognises; anything else as opaque bytes.
    let known = [
        FileType::Pdf,
        FileType::Jpeg,
        FileType::Png,
        FileType::Ofd,
        FileType::Docx,
        FileType::Xlsx,
    ]
    .iter()
    .any(|t| t.content_type() == att.content_type);
    let ct = if known {
        att.content_type.as_str()
    } else {
        "application/octet-stream"
    };
    let ascii: String = att
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = att
        .filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(ct).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&att.sha256) {
        h.insert("x-content-sha256", v);
    }
    (h, bytes).into_response()
}

async fn download_page(
    CurrentSession(s): CurrentSession,
    State(st): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let (att, bytes) = st.store.attachment(&s.user.actor(), &file).await?;
    Ok(download(&att, bytes))
}

fn file_json(f: &Attachment) -> J {
    json!({
        "id": f.id, "application": f.application, "kind": f.kind.code(), "kind_zh": f.kind.zh(),
        "request": f.request, "filename": f.filename, "content_type": f.content_type,
        "size": f.size, "sha256": f.sha256, "uploaded_by": f.uploaded_by, "uploaded_at": f.uploaded_at,
        "download": format!("/api/files/{}", f.id),
    })
}

fn materials_json(m: &Materials) -> J {
    json!({
        "applicant_name": m.applicant_name,
        "account": m.account.as_ref().map(|a| json!({"account_name": a.account_name, "bank": a.bank, "account_no": a.account_no})),
        "pledge": m.pledge.as_ref().map(|p| json!({"text": p.text, "by": p.by, "at": p.at})),
        "pledge_text": PLEDGE_TEXT,
        "files": m.files.iter().map(file_json).collect::<Vec<_>>(),
        "requests": m.requests.iter().map(|r| json!({
            "id": r.id, "round": r.round, "seq": r.seq, "item": r.item,
            "requested_by": r.requested_by, "requested_at": r.requested_at,
            "answer": r.answer, "answered_by": r.answered_by, "answered_at": r.answered_at,
            "files": m.files_for(&r.id).map(|f| f.id.clone()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// A stored file (without its bytes).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct FileBody {
    /// e.g. F1A2B3C4D5E6F7A8B
    id: String,
    application: String,
    /// application_form (申报书), pledge (承诺书), evidence (佐证材料), supplement (补正材料)
    kind: String,
    kind_zh: String,
    /// the 补正 item it answers
    request: Option<String>,
    filename: String,
    /// recognised from the file's bytes
    content_type: String,
    size: i64,
    /// hex
    sha256: String,
    uploaded_by: String,
    uploaded_at: String,
    /// where to download it
    download: String,
}

/// Everything handed in with an application.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct MaterialsBody {
    /// the applicant's registered name: the 开户名 the bank account must have
    applicant_name: String,
    /// `{account_name, bank, account_no}` or null
    #[schema(value_type = Option<Object>)]
    account: J,
    /// `{text, by, at}` once accepted, or null
    #[schema(value_type = Option<Object>)]
    pledge: J,
    /// the 承诺书 to accept
    pledge_text: String,
    files: Vec<FileBody>,
    /// every 补正 item of every round: `{id, round, seq, item, requested_by, requested_at,
    /// answer, answered_by, answered_at, files: [file id]}`
    #[schema(value_type = Vec<Object>)]
    requests: J,
}

/// An application's materials: files, the 补正 items of every round with their answers, the
/// bank account and the 承诺书 (the applicant itself; reviewer, finance, admin).
#[utoipa::path(get, path = "/api/applications/{id}/materials", operation_id = "materials",
    params(("id" = String, Path, description = "application number")),
    responses((status = 200, body = MaterialsBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn materials_api(
    ApiSession(s): ApiSession,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<J>, ApiError> {
    let m = st.store.materials(&s.user.actor(), &id).await?;
    Ok(Json(materials_json(&m)))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct UploadQuery {
    /// application_form (申报书), pledge (承诺书), evidence (佐证材料) or supplement (补正材料)
    kind: String,
    /// the file's name, with its extension (.pdf, .jpg, .png, .ofd, .docx, .xlsx)
    filename: String,
    /// for `supplement`: the 补正 item it answers
    request: Option<String>,
}

/// Uploads one file (the applicant, for its own application, while it is a draft, an offer or
/// material was requested): the body is the file's bytes. Its type is recognised from the
/// bytes (PDF, JPEG, PNG, OFD, DOCX, XLSX) and must match the name's extension; at most 10 MiB
/// per file and 50 MiB per application; the virus scanner runs when one is configured.
#[utoipa::path(post, path = "/api/applications/{id}/materials", operation_id = "upload_material",
    params(("id" = String, Path, description = "application number"), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file's bytes"),
    responses((status = 200, body = FileBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "file_type, file_too_large, materials_too_large, materials_closed, virus_scan", body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub(crate) async fn upload_api(
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    bytes: Bytes,
) -> Result<Json<J>, ApiError> {
    crate::api::csrf(&s, &headers)?;
    let kind = kind_of(Some(&q.kind))?;
    let f = st
        .store
        .upload_material(
            &s.user.actor(),
            &id,
            kind,
            q.request.as_deref(),
            &q.filename,
            &bytes,
        )
        .await?;
    Ok(Json(file_json(&f)))
}

/// An answer in words to one item of the newest 补正 round.
#[derive(Deserialize, ToSchema)]
pub(crate) struct AnswerRequest {
    /// the item's id (from `GET /api/applications/{id}/materials`)
    request: String,
    /// at most 2000 characters
    answer: String,
}

/// Answers one 补正 item in words (the applicant, while material is requested); files answer
/// it through the upload with `kind=supplement&request=…`.
#[utoipa::path(post, path = "/api/applications/{id}/answers", operation_id = "answer_material",
    params(("id" = String, Path, description = "application number")), request_body = AnswerRequest,
    responses((status = 200, body = crate::schemas::OkBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn answer_api(
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    State(st): State<AppState>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<J>, ApiError> {
    crate::api::csrf(&s, &headers)?;
    let r: AnswerRequest = crate::api::body(&bytes)?;
    st.store
        .answer_request(&s.user.actor(), &id, &r.request, &r.answer)
        .await?;
    Ok(Json(json!({"ok": true})))
}

/// Sets the bank account the award is paid to (the applicant): 开户名 is the organisation's
/// registered name, 账号 8 to 32 digits.
#[utoipa::path(post, path = "/api/applications/{id}/account", operation_id = "set_bank_account",
    params(("id" = String, Path, description = "application number")), request_body = AccountRequest,
    responses((status = 200, description = "the account as stored", body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn account_api(
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    State(st): State<AppState>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<J>, ApiError> {
    crate::api::csrf(&s, &headers)?;
    let f: AccountRequest = crate::api::body(&bytes)?;
    let account = BankAccount {
        account_name: f.account_name,
        bank: f.bank,
        account_no: f.account_no,
    };
    let a = st
        .store
        .set_bank_account(&s.user.actor(), &id, &account)
        .await?;
    Ok(Json(
        json!({"account_name": a.account_name, "bank": a.bank, "account_no": a.account_no}),
    ))
}

/// Accepts the 承诺书 (the applicant): stored word for word with who and when.
#[utoipa::path(post, path = "/api/applications/{id}/pledge", operation_id = "accept_pledge",
    params(("id" = String, Path, description = "application number")),
    responses((status = 200, description = "`{text, by, at}`", body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn pledge_api(
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<J>, ApiError> {
    crate::api::csrf(&s, &headers)?;
    let p = st.store.accept_pledge(&s.user.actor(), &id).await?;
    Ok(Json(json!({"text": p.text, "by": p.by, "at": p.at})))
}

/// Downloads a file (whoever may see the application): `Content-Disposition: attachment`, the
/// type recognised at upload, the SHA-256 in `X-Content-SHA256`.
#[utoipa::path(get, path = "/api/files/{id}", operation_id = "download_material",
    params(("id" = String, Path, description = "file id")),
    responses((status = 200, description = "the file's bytes",
        content((Vec<u8> = "application/pdf"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "application/ofd"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn download_api(
    ApiSession(s): ApiSession,
    State(st): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let (att, bytes) = st.store.attachment(&s.user.actor(), &file).await?;
    Ok(download(&att, bytes))
}

/// Removes a file handed in by mistake (the applicant, while the application is open for
/// materials; not an answer of an earlier 补正 round).
#[utoipa::path(post, path = "/api/files/{id}/remove", operation_id = "remove_material",
    params(("id" = String, Path, description = "file id")),
    responses((status = 200, body = crate::schemas::OkBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn remove_api(
    ApiSession(s): ApiSession,
    headers: HeaderMap,
    State(st): State<AppState>,
    Path(file): Path<String>,
) -> Result<Json<J>, ApiError> {
    crate::api::csrf(&s, &headers)?;
    st.store.remove_material(&s.user.actor(), &file).await?;
    Ok(Json(json!({"ok": true})))
}

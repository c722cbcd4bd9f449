//! 政策管理 (the policy lifecycle, issue 14): library versions kept in the database, drafted by
//! a 政策编辑 and published by a second person. A draft is a copy of a version; its documents
//! and scenarios are edited in the browser (an editor with the clause quotes and rule blocks as
//! written, a numbered listing, and the checker's diagnostics at line and column each time the
//! text is checked or saved — the platform runs no script, so "live" is one click); the page
//! shows the scenarios, the coverage, the cost difference against the active version over the
//! stored applicants, and a comparison with any other version (text, rules in words, amounts
//! on the scenarios). Submitting and publishing are refused while a diagnostic, a failing
//! scenario or a coverage gap remains; the approver is never the drafter (four eyes). A new
//! document starts from its published text pasted in (the skeleton of `kechuang policy new`).

use crate::auth::{CurrentSession, Lang, Session};
use crate::labels::*;
use crate::layout::*;
use crate::{AppError, AppState};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use jiff::civil::Date;
use kc_domain::Access;
use kc_store::versions::{self, DraftCheck, VersionFile};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value as J;
use std::sync::Arc;

pub mod api;
pub(crate) mod work;

/// The pages of this feature.
pub fn routes() -> Router<crate::Platform> {
    Router::new()
        .route("/policy-admin", get(home).post(create))
        .route("/policy-admin/{id}", get(version_page))
        .route("/policy-admin/{id}/action", post(action))
        .route("/policy-admin/{id}/edit", get(editor).post(save))
        .route("/policy-admin/{id}/skeleton", post(from_text))
        .route("/policy-admin/{id}/cost", get(cost_page))
        .route("/policy-admin/{id}/compare", get(compare_page))
        .route("/policy-admin/editor.js", get(editor_js))
}

/// The editor's live diagnostics (progressive: the form works without it).
const EDITOR_JS: &str = include_str!("../../../assets/editor.js");

async fn editor_js() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        EDITOR_JS,
    )
}

fn may_see(s: &Session) -> Result<(), AppError> {
    s.require_access(Access::DraftPolicy)
        .or_else(|_| s.require_access(Access::ApprovePolicy))
}

pub(crate) fn state_words(lang: Lang, state: &str) -> &'static str {
    match state {
        "draft" => lang.t("草稿", "draft"),
        "submitted" => lang.t("待批准", "awaiting approval"),
        "published" => lang.t("已发布", "published"),
        "discarded" => lang.t("已废弃", "discarded"),
        _ => lang.t("未知", "unknown"),
    }
}

/// The period of a cost difference: as given, else this year.
pub(crate) fn period(
    st: &AppState,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Date, Date), AppError> {
    let year = st.store.today().year();
    let from = match from.filter(|x| !x.trim().is_empty()) {
        Some(f) => work::date(f, "from")?,
        None => Date::new(year, 1, 1).expect("a date"),
    };
    let to = match to.filter(|x| !x.trim().is_empty()) {
        Some(t) => work::date(t, "to")?,
        None => Date::new(year, 12, 31).expect("a date"),
    };
    Ok((from, to))
}

/// The check of version `id` with `path` replaced by `text` (not saved).
pub(crate) async fn check_with(
    st: &AppState,
    s: &Session,
    id: i64,
    path: &str,
    text: &str,
) -> Result<DraftCheck, AppError> {
    versions::check_path(path)?;
    let v = st.store.library_version(&s.user.actor(), id).await?;
    let mut files: Vec<VersionFile> = v.files.into_iter().filter(|f| f.path != path).collect();
    files.push(VersionFile {
        path: path.to_string(),
        text: text.to_string(),
    });
    Ok(versions::check_files(&files).0)
}

fn check_summary(lang: Lang, c: &DraftCheck) -> Markup {
    html! {
        @if c.ready() {
            p.ok #ready role="status" { (lang.t("检查通过:没有诊断,全部场景通过,没有覆盖缺口,可以提交和发布。",
                "The check passes: no diagnostic, every scenario passes, no coverage gap — it may be submitted and published.")) }
        } @else {
            div.error #blockers role="alert" {
                p { (lang.t("尚不能提交或发布:", "Not ready to submit or publish:")) }
                ul { @for b in c.blockers() { li { (b) } } }
            }
        }
        @if c.documents > 0 {
            p.muted { (c.documents) (lang.t(" 份文件,", " documents, ")) (c.measures) (lang.t(" 项措施,", " measures, "))
                (c.scenarios.len()) (lang.t(" 个场景(", " scenarios (")) (c.scenarios.iter().filter(|x| x.passed).count()) (lang.t(" 个通过)", " passing)")) }
        } @else {
            p.muted { (lang.t("政策库未通过检查,场景和覆盖情况在改正诊断后显示。", "The library does not check: scenarios and coverage show once the diagnostics are fixed.")) }
        }
    }
}

fn diagnostics_table(lang: Lang, id: i64, c: &DraftCheck, only: Option<&str>) -> Markup {
    let ds: Vec<&versions::FileProblem> = c
        .diagnostics
        .iter()
        .filter(|d| only.is_none_or(|p| d.path == p))
        .collect();
    html! {
        @if !ds.is_empty() {
            table #diagnostics tabindex="0" aria-label=(lang.t("检查诊断", "Diagnostics")) {
                tr { th { (lang.t("文件", "File")) } th.num { (lang.t("行", "Line")) } th.num { (lang.t("列", "Column")) } th { (lang.t("诊断", "Diagnostic")) } }
                @for d in ds {
                    tr.diagnostic data-line=(d.line) data-column=(d.column) {
                        td { a href=(format!("/policy-admin/{id}/edit?path={}#L{}", d.path, d.line)) { code { (d.path) } } }
                        td.num { (d.line) } td.num { (d.column) }
                        td.rule-code lang="zh-CN" { (d.message) @if !d.label.is_empty() { " — " (d.label) } }
                    }
                }
            }
        }
    }
}

async fn home(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    home_page(&s, lang, &st, None).await
}

async fn home_page(s: &Session, lang: Lang, st: &AppState, problem: Option<String>) -> PageResult {
    may_see(s)?;
    let list = st.store.library_versions(&s.user.actor()).await?;
    let author = s.user.role.may(Access::DraftPolicy);
    let body = html! {
        p { (lang.t("政策库以版本保存在数据库中。政策编辑从生效版本新建草稿,在浏览器中修改政策文件和测试场景,查看检查诊断、覆盖情况和相对生效版本的测算差额;提交后由另一位有批准权限的人员批准发布,发布后所有服务进程自下一个请求起按新版本计算。",
            "The policy library is kept in the database as versions. A policy author drafts from the active version, edits the policy files and scenarios in the browser, and sees the checker's diagnostics, the coverage and the cost difference against the active version; once submitted, a second person with the approving role publishes it, and every server process evaluates with it from its next request.")) }
        @if author {
            h2 { (lang.t("新建草稿", "New draft")) }
            form.card #new-draft method="post" action="/policy-admin" {
                @if let Some(p) = &problem { div.error.form-error role="alert" { (p) } }
                (csrf_field(s))
                label { (lang.t("修订说明", "What the draft changes")) " " input type="text" name="title" size="50" required maxlength="200"; }
                p { button type="submit" { (lang.t("从生效版本新建草稿", "Draft from the active version")) } }
            }
        }
        h2 { (lang.t("版本", "Versions")) }
        @if list.is_empty() {
            p.muted { (lang.t("数据库中还没有政策库版本(serve 首次启动时写入)。", "No library version in the database yet (serve writes the first on its first start).")) }
        } @else {
            table #versions tabindex="0" aria-label=(lang.t("版本", "Versions")) {
                tr { th { (lang.t("版本", "Version")) } th { (lang.t("状态", "State")) } th { (lang.t("说明", "Title")) } th { (lang.t("起草", "Drafted by")) } th { (lang.t("批准", "Approved by")) } th { (lang.t("发布时间", "Published")) } th { (lang.t("适用自", "Applies from")) } }
                @for v in &list {
                    tr data-version=(v.id) data-state=(v.state) {
                        td { a href=(format!("/policy-admin/{}", v.id)) { "v" (v.id) } @if v.active { " " strong.ok { (lang.t("生效中", "active")) } } }
                        td { (state_words(lang, &v.state)) }
                        td lang="zh-CN" { (v.title) }
                        td { (v.drafted_by_name) }
                        td { (v.approved_by_name.as_deref().unwrap_or("")) }
                        td { (v.published_at.as_deref().map(readable_time).unwrap_or_default()) }
                        td { (v.applies_from.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    };
    let mut res =
        layout(lang, Some(s), lang.t("政策管理", "Policy management"), body).into_response();
    if problem.is_some() {
        *res.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(res)
}

#[derive(Deserialize)]
struct NewDraft {
    csrf: Option<String>,
    title: String,
}

async fn create(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Form(f): Form<NewDraft>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    match st
        .store
        .create_draft(&s.user.actor(), &s.user.name, &f.title, None, None)
        .await
    {
        Ok(id) => Ok(Redirect::to(&format!("/policy-admin/{id}")).into_response()),
        Err(kc_store::StoreError::Invalid(m)) => home_page(&s, lang, &st, Some(m)).await,
        Err(e) => Err(e.into()),
    }
}

async fn version_page(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<i64>,
) -> PageResult {
    version_view(&s, lang, &st, id, None).await
}

async fn version_view(
    s: &Session,
    lang: Lang,
    st: &AppState,
    id: i64,
    problem: Option<AppError>,
) -> PageResult {
    may_see(s)?;
    let v = st.store.library_version(&s.user.actor(), id).await?;
    let (check, _) = versions::check_files(&v.files);
    let base_files = match v.summary.base {
        Some(b) => Some(st.store.library_version(&s.user.actor(), b).await?.files),
        None => None,
    };
    let changed = |f: &VersionFile| match &base_files {
        Some(bf) => bf.iter().find(|x| x.path == f.path).map(|x| &x.text) != Some(&f.text),
        None => false,
    };
    let sum = &v.summary;
    let me = format!("{}:{}", s.user.role.code(), s.user.id);
    let is_draft = sum.state == "draft";
    let author = s.user.role.may(Access::DraftPolicy);
    let approver = s.user.role.may(Access::ApprovePolicy);
    let year = st.store.today().year();
    let title = format!("{} v{}", lang.t("政策库版本", "Library version"), id);
    let body = html! {
        @if let Some(e) = &problem { div.error.form-error #action-error role="alert" { (e.message()) } }
        dl.card #version-facts {
            dt { (lang.t("状态", "State")) } dd #state data-state=(sum.state) { (state_words(lang, &sum.state)) @if sum.active { " · " strong.ok { (lang.t("生效中", "active")) } } }
            dt { (lang.t("说明", "Title")) } dd lang="zh-CN" { (sum.title) }
            dt { (lang.t("起草", "Drafted by")) } dd { (sum.drafted_by_name) " · " (readable_time(&sum.created_at)) @if let Some(b) = sum.base { " · " (lang.t("源自", "from")) " " a href=(format!("/policy-admin/{b}")) { "v" (b) } } }
            @if let Some(a) = &sum.approved_by_name { dt { (lang.t("批准", "Approved by")) } dd { (a) " · " (sum.published_at.as_deref().map(readable_time).unwrap_or_default()) } }
            @if let Some(f) = &sum.applies_from { dt { (lang.t("适用自", "Applies from")) } dd { (f) } }
            dt { "SHA-256" } dd { code { (sum.hash) } }
            @if let Some(r) = &sum.returned_reason { dt { (lang.t("退回原因", "Returned because")) } dd.no lang="zh-CN" { (r) } }
        }
        h2 { (lang.t("检查", "Check")) }
        (check_summary(lang, &check))
        (diagnostics_table(lang, id, &check, None))
        @if !check.gaps.is_empty() {
            h3 { (lang.t("覆盖缺口", "Coverage gaps")) }
            ul #gaps { @for g in &check.gaps { li lang="zh-CN" { (g.document) " " (g.clause) " " (g.heading) } } }
        }
        @let failing: Vec<&versions::ScenarioRun> = check.scenarios.iter().filter(|x| !x.passed).collect();
        @if !failing.is_empty() {
            h3 { (lang.t("未通过的场景", "Failing scenarios")) }
            ul #failing { @for f in failing { li { a href=(format!("/policy-admin/{id}/edit?path={}", f.path)) { code { (f.path) } } " " span lang="zh-CN" { (f.name) } pre.rule-code { (f.problems.join("\n")) } } } }
        }
        h2 { (lang.t("操作", "Actions")) }
        div.actions {
            @if is_draft && author {
                form.inline method="post" action=(format!("/policy-admin/{id}/action")) { (csrf_field(s)) input type="hidden" name="do" value="submit"; button type="submit" { (lang.t("提交批准", "Submit for approval")) } }
            }
            @if sum.state == "submitted" && approver {
                @if sum.drafted_by == me || sum.submitted_by.as_deref() == Some(me.as_str()) {
                    p.muted { (lang.t("这是您起草或提交的草稿,须由另一位有批准权限的人员批准。", "You drafted or submitted this draft: a second person with the approving role must approve it.")) }
                }
                form.card #approve-form method="post" action=(format!("/policy-admin/{id}/action")) {
                    (csrf_field(s)) input type="hidden" name="do" value="approve";
                    label { (lang.t("适用自(默认今天)", "Applies from (default today)")) " " input type="date" name="applies_from"; }
                    button type="submit" { (lang.t("批准并发布", "Approve and publish")) }
                }
                form.card #return-form method="post" action=(format!("/policy-admin/{id}/action")) {
                    (csrf_field(s)) input type="hidden" name="do" value="return";
                    label { (lang.t("退回原因", "Reason for returning")) " " input type="text" name="reason" size="40" required; }
                    button.secondary type="submit" { (lang.t("退回修改", "Return to the author")) }
                }
            }
            @if (is_draft || sum.state == "submitted") && author {
                form.inline method="post" action=(format!("/policy-admin/{id}/action")) { (csrf_field(s)) input type="hidden" name="do" value="discard"; button.secondary type="submit" { (lang.t("废弃草稿", "Discard the draft")) } }
            }
        }
        h2 { (lang.t("文件", "Files")) }
        table #files tabindex="0" aria-label=(lang.t("文件", "Files")) {
            tr { th { (lang.t("文件", "File")) } th { (lang.t("相对源版本", "Against its base")) } th.num { (lang.t("诊断", "Diagnostics")) } }
            @for f in v.files.iter().filter(|f| versions::is_policy_file(&f.path) || changed(f) || check.scenarios.iter().any(|x| x.path == f.path && !x.passed)) {
                tr data-path=(f.path) {
                    td { a href=(format!("/policy-admin/{id}/edit?path={}", f.path)) { code { (f.path) } } }
                    td { @if changed(f) { strong { (lang.t("已修改", "changed")) } } }
                    td.num { (check.diagnostics.iter().filter(|d| d.path == f.path).count()) }
                }
            }
        }
        p.muted { (v.files.iter().filter(|f| versions::is_scenario_file(&f.path)).count()) (lang.t(" 个测试场景文件(上表只列出修改过或未通过的)。", " scenario files (the table lists those changed or failing).")) }
        @if is_draft && author {
            h3 { (lang.t("编辑或新增文件", "Edit or add a file")) }
            form.card method="get" action=(format!("/policy-admin/{id}/edit")) {
                label { (lang.t("文件路径", "File path")) " " input type="text" name="path" size="40" placeholder="tests/scenarios/new-case.json" required; }
                button type="submit" { (lang.t("打开", "Open")) }
            }
            h3 { (lang.t("从公文原文新建政策文件", "A new policy file from a document's text")) }
            form.card #skeleton-form method="post" action=(format!("/policy-admin/{id}/skeleton")) {
                (csrf_field(s))
                label { (lang.t("文件名", "File name")) " " input type="text" name="name" size="24" placeholder="shenyang-2025-3" required; }
                label { (lang.t("文号", "Number")) " " input type="text" name="number" size="24" placeholder="沈政发〔2025〕3号" required; }
                label { (lang.t("标题(默认原文第一行)", "Title (default: the first line)")) " " input type="text" name="title" size="40"; }
                label { (lang.t("有效期自", "Valid from")) " " input type="date" name="valid_from" value=(format!("{year}-01-01")) required; }
                label { (lang.t("至", "to")) " " input type="date" name="valid_to" value=(format!("{}-12-31", year + 4)) required; }
                label { (lang.t("公文原文(每段一行)", "The published text (one paragraph per line)")) textarea name="text" rows="8" cols="80" required {} }
                button type="submit" { (lang.t("生成骨架", "Make the skeleton")) }
            }
        }
        h2 { (lang.t("测算差额与对比", "Cost difference and comparison")) }
        form.card #cost-form method="get" action=(format!("/policy-admin/{id}/cost")) {
            label { (lang.t("期间自", "From")) " " input type="date" name="from" value=(format!("{year}-01-01")); }
            label { (lang.t("至", "To")) " " input type="date" name="to" value=(format!("{year}-12-31")); }
            button type="submit" { (lang.t("对比生效版本测算", "Cost against the active version")) }
        }
        p { a #compare-link href=(format!("/policy-admin/{id}/compare")) { (lang.t("与源版本逐项对比(文本、规则、场景金额)", "Compare with its base (text, rules, amounts on the scenarios)")) } }
    };
    let mut res = layout(lang, Some(s), &title, body).into_response();
    if let Some(e) = problem {
        *res.status_mut() = e.status();
    }
    Ok(res)
}

#[derive(Deserialize)]
struct ActionForm {
    csrf: Option<String>,
    #[serde(rename = "do")]
    what: String,
    applies_from: Option<String>,
    reason: Option<String>,
}

async fn action(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<i64>,
    Form(f): Form<ActionForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let actor = s.user.actor();
    let done: Result<(), AppError> = async {
        match f.what.as_str() {
            "submit" => st.store.submit_draft(&actor, id).await?,
            "approve" => {
                let from = f
                    .applies_from
                    .as_deref()
                    .filter(|d| !d.trim().is_empty())
                    .map(|d| work::date(d, "applies_from"))
                    .transpose()?;
                st.store
                    .approve_draft(&actor, &s.user.name, id, from)
                    .await?
            }
            "return" => {
                st.store
                    .return_draft(&actor, id, f.reason.as_deref().unwrap_or(""))
                    .await?
            }
            "discard" => st.store.discard_draft(&actor, id).await?,
            other => {
                return Err(AppError::BadRequest {
                    code: "invalid",
                    message: format!("do: 未知操作 “{other}” (unknown action)"),
                });
            }
        }
        Ok(())
    }
    .await;
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/policy-admin/{id}")).into_response()),
        Err(e @ (AppError::Conflict { .. } | AppError::BadRequest { .. })) => {
            version_view(&s, lang, &st, id, Some(e)).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct EditQuery {
    path: String,
}

#[derive(Deserialize)]
struct EditForm {
    csrf: Option<String>,
    path: String,
    text: String,
    /// "check" (not saved) or "save"
    #[serde(rename = "do")]
    what: Option<String>,
}

async fn editor(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<EditQuery>,
) -> PageResult {
    may_see(&s)?;
    let v = st.store.library_version(&s.user.actor(), id).await?;
    let text = v
        .files
        .iter()
        .find(|f| f.path == q.path)
        .map(|f| f.text.clone());
    if text.is_none()
        && let Err(e) = versions::check_path(&q.path)
    {
        return version_view(&s, lang, &st, id, Some(e.into())).await;
    }
    let check = versions::check_files(&v.files).0;
    editor_page(
        &s,
        lang,
        id,
        &v.summary,
        &q.path,
        &text.unwrap_or_default(),
        &check,
        None,
    )
}

#[allow(clippy::too_many_arguments)]
fn editor_page(
    s: &Session,
    lang: Lang,
    id: i64,
    sum: &versions::VersionSummary,
    path: &str,
    text: &str,
    check: &DraftCheck,
    note: Option<(bool, String)>,
) -> PageResult {
    let editable = sum.state == "draft" && s.user.role.may(Access::DraftPolicy);
    let bad: std::collections::BTreeSet<usize> = check
        .diagnostics
        .iter()
        .filter(|d| d.path == path)
        .map(|d| d.line)
        .collect();
    let scenario = check.scenarios.iter().find(|x| x.path == path);
    let body = html! {
        p { a href=(format!("/policy-admin/{id}")) { "← " (lang.t("返回版本", "Back to the version")) " v" (id) } " · " code #path { (path) } " · " (state_words(lang, &sum.state)) }
        @if let Some((ok, m)) = &note {
            @if *ok { p.ok #saved role="status" { (m) } } @else { div.error.form-error role="alert" { (m) } }
        }
        (check_summary(lang, check))
        (diagnostics_table(lang, id, check, Some(path)))
        @if let Some(sc) = scenario {
            @if sc.passed { p.ok #scenario-result { (lang.t("本场景通过。", "This scenario passes.")) } }
            @else { div.error #scenario-result role="alert" { p { (lang.t("本场景未通过:", "This scenario fails:")) } pre.rule-code { (sc.problems.join("\n")) } } }
        }
        @if editable {
            div #live aria-live="polite" {}
            form.card #editor method="post" action=(format!("/policy-admin/{id}/edit")) data-version=(id) {
                (csrf_field(s))
                input type="hidden" name="path" value=(path);
                label for="text" { (lang.t("文件内容(条款原文引用、kc 规则块)", "The file (clause quotes and kc rule blocks)")) }
                textarea #text name="text" rows="30" cols="100" wrap="off" spellcheck="false" { (text) }
                p {
                    button type="submit" name="do" value="check" { (lang.t("检查(不保存)", "Check (not saved)")) }
                    " "
                    button type="submit" name="do" value="save" { (lang.t("保存", "Save")) }
                    " "
                    button.secondary type="submit" name="do" value="remove" formnovalidate { (lang.t("从草稿中删除此文件", "Remove this file from the draft")) }
                }
            }
        }
        @if editable { script src="/policy-admin/editor.js" defer {} }
        details #listing open[!editable || !bad.is_empty()] {
            summary { (lang.t("带行号的文本", "The text with line numbers")) }
            pre.listing.rule-code lang="zh-CN" {
                @for (i, line) in text.lines().enumerate() {
                    @let n = i + 1;
                    @if bad.contains(&n) { mark id=(format!("L{n}")) { (format!("{n:>5}  ")) (line) } "\n" }
                    @else { span id=(format!("L{n}")) { (format!("{n:>5}  ")) (line) } "\n" }
                }
            }
        }
    };
    page(
        lang,
        Some(s),
        &format!("{} · {}", lang.t("编辑", "Edit"), path),
        body,
    )
}

async fn save(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<i64>,
    Form(f): Form<EditForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    s.require_access(Access::DraftPolicy)?;
    // Browsers send a textarea's lines with CR LF.
    let text = f.text.replace("\r\n", "\n");
    let actor = s.user.actor();
    if f.what.as_deref() == Some("remove") {
        return match st.store.delete_draft_file(&actor, id, &f.path).await {
            Ok(()) => Ok(Redirect::to(&format!("/policy-admin/{id}")).into_response()),
            Err(e) => version_view(&s, lang, &st, id, Some(e.into())).await,
        };
    }
    let checking = f.what.as_deref() == Some("check");
    let note = if checking {
        None
    } else {
        match st.store.put_draft_file(&actor, id, &f.path, &text).await {
            Ok(()) => Some((true, lang.t("已保存。", "Saved.").to_string())),
            Err(e) => {
                let e: AppError = e.into();
                match e {
                    AppError::BadRequest { .. } | AppError::Conflict { .. } => {
                        Some((false, e.message()))
                    }
                    other => return Err(other),
                }
            }
        }
    };
    let v = st.store.library_version(&actor, id).await?;
    let check = check_with(&st, &s, id, &f.path, &text).await?;
    let failed = note.as_ref().is_some_and(|(ok, _)| !ok);
    let mut res = editor_page(&s, lang, id, &v.summary, &f.path, &text, &check, note)?;
    if failed {
        *res.status_mut() = StatusCode::CONFLICT;
    }
    Ok(res)
}

#[derive(Deserialize)]
struct SkeletonForm {
    csrf: Option<String>,
    name: String,
    number: String,
    title: Option<String>,
    valid_from: String,
    valid_to: String,
    text: String,
}

async fn from_text(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<i64>,
    Form(f): Form<SkeletonForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    s.require_access(Access::DraftPolicy)?;
    let path = format!("policies/{}.md", f.name.trim().trim_end_matches(".md"));
    let made = async {
        versions::check_path(&path)?;
        let text = work::skeleton(
            &f.text.replace("\r\n", "\n"),
            &f.number,
            f.title.as_deref(),
            (&f.valid_from, &f.valid_to),
        )?;
        let v = st.store.library_version(&s.user.actor(), id).await?;
        if v.files.iter().any(|x| x.path == path) {
            return Err(AppError::Conflict {
                code: "duplicate",
                message: format!("草稿中已有文件 {path} (the draft already has {path})"),
            });
        }
        st.store
            .put_draft_file(&s.user.actor(), id, &path, &text)
            .await?;
        Ok::<(), AppError>(())
    }
    .await;
    match made {
        Ok(()) => Ok(Redirect::to(&format!("/policy-admin/{id}/edit?path={path}")).into_response()),
        Err(e @ (AppError::Conflict { .. } | AppError::BadRequest { .. })) => {
            version_view(&s, lang, &st, id, Some(e)).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

fn measure_label(lib: &kc_check::Library, lang: Lang, id: &str) -> Markup {
    match lib.measure(id) {
        Some(m) if lang.0 && m.label.en.is_some() => {
            html! { (m.label.en.as_deref().unwrap_or_default()) }
        }
        Some(m) => html! { span lang="zh-CN" { (m.label.zh) " " (m.clause.id) } },
        None => html! { code.rule-code { (id) } },
    }
}

async fn cost_page(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<PeriodQuery>,
) -> PageResult {
    may_see(&s)?;
    let (from, to) = period(&st, q.from.as_deref(), q.to.as_deref())?;
    let v = st.store.library_version(&s.user.actor(), id).await?;
    let lib = Arc::new(work::library_of(&v.files)?);
    let j = work::cost_difference(&st, &s, lib.clone(), from, to).await?;
    let m = |x: &J| {
        kc_money::Money::parse_amount(x.as_str().unwrap_or("0")).unwrap_or(kc_money::Money::ZERO)
    };
    let body = html! {
        p { a href=(format!("/policy-admin/{id}")) { "← " (lang.t("返回版本", "Back to the version")) " v" (id) } }
        p { (lang.t("本平台登记的申报主体", "Applicants registered on the platform")) " " (j["applicants"]) (lang.t(" 个,事件期间 ", "; events of ")) (from) " – " (to) (lang.t("。", ".")) }
        table #cost-totals tabindex="0" aria-label=(lang.t("合计", "Totals")) {
            tr { th { (lang.t("生效版本", "Active version")) } th { (lang.t("本版本", "This version")) } th { (lang.t("差额", "Difference")) } }
            tr { td.num { (yuan(m(&j["active_total"]))) } td.num { (yuan(m(&j["draft_total"]))) } td.num #cost-delta data-delta=(j["delta"].as_str().unwrap_or("")) { (yuan(m(&j["delta"]))) } }
        }
        @let lines = j["lines"].as_array().cloned().unwrap_or_default();
        @if lines.is_empty() {
            p.muted #no-change { (lang.t("本期间内各措施金额没有变化。", "No measure's amount changes in this period.")) }
        } @else {
            table #cost-lines tabindex="0" aria-label=(lang.t("按措施和年度", "By measure and year")) {
                tr { th { (lang.t("措施", "Measure")) } th { (lang.t("年度", "Year")) } th.num { (lang.t("生效版本", "Active")) } th.num { (lang.t("本版本", "This version")) } th.num { (lang.t("差额", "Difference")) } }
                @for l in &lines {
                    tr data-measure=(l["measure"].as_str().unwrap_or("")) {
                        td { (measure_label(&lib, lang, l["measure"].as_str().unwrap_or(""))) }
                        td { (l["year"]) }
                        td.num { (yuan(m(&l["active"]))) } td.num { (yuan(m(&l["draft"]))) } td.num { (yuan(m(&l["delta"]))) }
                    }
                }
            }
        }
        p { (lang.t("受益主体 ", "Gaining: ")) (j["winners"]["count"]) (lang.t(" 个,合计 ", ", total ")) (yuan(m(&j["winners"]["total"])))
            (lang.t(";受损主体 ", "; losing: ")) (j["losers"]["count"]) (lang.t(" 个,合计 ", ", total ")) (yuan(m(&j["losers"]["total"]))) (lang.t("。", ".")) }
        p.muted { (lang.t("固定金额与“最高”金额合计;评审确定的金额不计入。更大的总体请用测算页面。", "Fixed amounts plus maxima; amounts set by review are not counted. For larger populations use the 测算 page.")) }
    };
    page(
        lang,
        Some(&s),
        &format!("{} v{}", lang.t("测算差额", "Cost difference"), id),
        body,
    )
}

/// A measure as the 政策库 shows it: its clause quoted, the amount, the conditions, the split
/// and the validity in plain words — what publishing the version would show the public.
fn preview(lib: &Option<kc_check::Library>, id: &str, lang: Lang) -> Markup {
    let Some((lib, m)) = lib.as_ref().and_then(|l| l.measure(id).map(|m| (l, m))) else {
        return html! { p.muted { (lang.t("(此版本中没有这项措施)", "(not in this version)")) } };
    };
    let en = lang.0;
    html! {
        div.preview data-measure=(id) {
            p lang="zh-CN" { strong { (lib.documents[m.doc].number) " " (m.clause.id) } " " (m.clause.heading) }
            blockquote.quote lang="zh-CN" { (m.clause.quote) }
            p.words { (lang.t("金额:", "Amount: ")) (kc_eval::plain::grant_words(lib, m, en)) }
            ul { @for i in 0..m.conditions.len() { li { (kc_eval::plain::condition_words(lib, m, i, en)) } } }
            p { (lang.t("资金分担:", "Split: ")) (kc_eval::plain::split_words(lib, m, en).join(lang.t(";", "; "))) }
            p { (lang.t("有效期:", "Valid: ")) (m.valid.0) " – " (m.valid.1) }
        }
    }
}

#[derive(Deserialize)]
struct WithQuery {
    with: Option<i64>,
}

async fn compare_page(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<WithQuery>,
) -> PageResult {
    may_see(&s)?;
    let actor = s.user.actor();
    let v = st.store.library_version(&actor, id).await?;
    let other = q.with.or(v.summary.base).unwrap_or(id);
    let w = st.store.library_version(&actor, other).await?;
    let j = work::compare(&w.files, &v.files);
    let (left, right) = (
        versions::check_files(&w.files).1,
        versions::check_files(&v.files).1,
    );
    let body = html! {
        p { a href=(format!("/policy-admin/{id}")) { "← " (lang.t("返回版本", "Back to the version")) " v" (id) } }
        form.card method="get" action=(format!("/policy-admin/{id}/compare")) {
            label { (lang.t("对比版本", "Compare with version")) " " input type="number" name="with" min="1" value=(other); }
            button type="submit" { (lang.t("对比", "Compare")) }
        }
        p { "v" (other) " ⟶ v" (id) }
        h2 { (lang.t("措施(规则与金额说明)", "Measures (rules and amounts in words)")) }
        @let measures = j["measures"].as_array().cloned().unwrap_or_default();
        @if measures.is_empty() { p.muted { (lang.t("没有措施的规则变化。", "No measure's rule changed.")) } }
        @for mm in &measures {
            @let id_ = mm["measure"].as_str().unwrap_or("");
            section.card.measure-change data-measure=(id_) data-change=(mm["change"].as_str().unwrap_or("")) {
                h3 lang="zh-CN" { (mm["label"].as_str().unwrap_or_default()) }
                div.side-by-side {
                    div { h4 { "v" (other) } (preview(&left, id_, lang)) pre.rule-code lang="zh-CN" { (mm["old"].as_str().unwrap_or("")) } }
                    div { h4 { "v" (id) } (preview(&right, id_, lang)) pre.rule-code lang="zh-CN" { (mm["new"].as_str().unwrap_or("")) } }
                }
            }
        }
        h2 { (lang.t("场景金额", "Amounts on the scenarios")) }
        @let scen = j["scenarios"].as_array().cloned().unwrap_or_default();
        @if scen.is_empty() { p.muted { (lang.t("各场景的金额没有变化。", "No scenario's amounts changed.")) } }
        @else {
            table #scenario-amounts tabindex="0" aria-label=(lang.t("场景金额", "Amounts on the scenarios")) {
                tr { th { (lang.t("场景", "Scenario")) } th { (lang.t("措施", "Measure")) } th { (lang.t("事件", "Event")) } th.num { "v" (other) } th.num { "v" (id) } }
                @for sc in &scen { @for a in sc["awards"].as_array().into_iter().flatten() {
                    tr { td lang="zh-CN" { (sc["name"].as_str().unwrap_or("")) } td { code.rule-code { (a["measure"].as_str().unwrap_or("")) } } td { (a["event"].as_str().unwrap_or("")) }
                         td.num { (a["old"].as_str().unwrap_or("—")) } td.num { (a["new"].as_str().unwrap_or("—")) } }
                } }
            }
        }
        h2 { (lang.t("文本", "Text")) }
        @let files = j["files"].as_array().cloned().unwrap_or_default();
        @if files.is_empty() { p.muted { (lang.t("文件没有变化。", "No file changed.")) } }
        @for f in &files {
            details.card.file-diff open {
                summary { code { (f["path"].as_str().unwrap_or("")) } " · " (f["change"].as_str().unwrap_or("")) }
                pre.diff.rule-code lang="zh-CN" {
                    @for l in f["lines"].as_array().into_iter().flatten() {
                        @let tag = l["tag"].as_str().unwrap_or(" ");
                        @let n = |k: &str| l[k].as_u64().map(|x| format!("{x:>5}")).unwrap_or_else(|| "     ".into());
                        @match tag {
                            "+" => { ins { (n("old")) " " (n("new")) " + " (l["text"].as_str().unwrap_or("")) } "\n" }
                            "-" => { del { (n("old")) " " (n("new")) " - " (l["text"].as_str().unwrap_or("")) } "\n" }
                            "…" => { "   …\n" }
                            _ => { (n("old")) " " (n("new")) "   " (l["text"].as_str().unwrap_or("")) "\n" }
                        }
                    }
                }
            }
        }
    };
    page(
        lang,
        Some(&s),
        &format!(
            "{} v{} / v{}",
            lang.t("版本对比", "Compare versions"),
            other,
            id
        ),
        body,
    )
}

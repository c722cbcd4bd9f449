//! 测算 (cost simulation): the whole policy library over the stored applicants, a synthetic
//! population or an uploaded population file for a period, per measure, year and government
//! level, and a reform against it — for finance, the plan office and admins. A run is recorded
//! and evaluated in the background (progress on its page, which refreshes itself while it runs,
//! with a 停止 button for the person who started it and admins); runs are kept and listed. The
//! knob editor lists every number, date and named parameter of the library
//! (`kc_simulate::reform::knobs`) by document and measure with the rule it sits in; a reform
//! file typed beside it may also replace and add measures in the policy language. A wrong value
//! is named beside its field and nothing runs. Population files (CSV, JSON lines, Parquet) are
//! uploaded in a multipart form, checked row by row, kept, listed and deleted.

use crate::auth::{CurrentSession, Lang, Session};
use crate::labels::*;
use crate::layout::*;
use crate::{AppError, AppState};
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Form, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Router, http::StatusCode};
use kc_check::Library;
use kc_domain::Access;
use kc_money::Money;
use kc_simulate::reform::Knob;
use maud::{Markup, html};
use serde_json::Value as J;
use std::collections::{BTreeMap, BTreeSet};

pub mod api;
pub(crate) mod run;

use run::{Problems, Request, money_of};

/// The pages of this feature.
pub fn routes() -> Router<crate::Platform> {
    Router::new()
        .route("/simulate", get(home).post(start))
        .route(
            "/simulate/populations",
            post(upload_form).layer(DefaultBodyLimit::max(UPLOAD_BODY)),
        )
        .route("/simulate/populations/{id}/delete", post(delete_form))
        .route("/simulate/runs/{id}", get(run_page))
        .route("/simulate/runs/{id}/stop", post(stop_form))
        .route("/simulate/runs/{id}/result.xlsx", get(xlsx))
}

/// The largest request the upload reads: the file limit and room for the form's other fields,
/// so that a file somewhat too large is read to its end and refused with a clear message.
pub(crate) const UPLOAD_BODY: usize = run::MAX_UPLOAD + 1024 * 1024;

/// The runs listed on the page.
const LISTED: i64 = 50;

/// A measure's name in the page's language; a Chinese label in an English page is marked so.
fn measure_name(lib: &Library, lang: Lang, id: &str) -> Markup {
    match lib.measure(id) {
        Some(m) if lang.0 && m.label.en.is_some() => {
            html! { (m.label.en.as_deref().unwrap_or_default()) }
        }
        Some(m) => html! { span lang="zh-CN" { (m.label.zh) } },
        None => html! { span lang="zh-CN" { (id) } },
    }
}

fn role_words(lang: Lang, k: &Knob) -> &'static str {
    match k.role {
        "parameter" => lang.t("命名参数", "named parameter"),
        "let" => lang.t("中间量", "intermediate value"),
        "condition" => lang.t("条件", "condition"),
        "grant" => lang.t("金额", "amount"),
        "cap" => lang.t("上限", "cap"),
        "tier" => lang.t("分档界限", "tier bound"),
        "validity" if k.id.ends_with("@valid_from") => lang.t("有效期起", "valid from"),
        "validity" => lang.t("有效期止", "valid to"),
        _ => lang.t("数值", "value"),
    }
}

fn example(k: &Knob) -> &'static str {
    match k.ty {
        kc_check::Type::Money => "3万元",
        kc_check::Type::Rate => "12%",
        kc_check::Type::Date => "2026-12-31",
        kc_check::Type::Int => "3",
        _ => "",
    }
}

/// An HTML id from a field name (knob ids carry `#` and `@`).
fn html_id(field: &str) -> String {
    field
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn status_words(lang: Lang, status: &str) -> &'static str {
    match status {
        "queued" => lang.t("排队中", "queued"),
        "running" => lang.t("运行中", "running"),
        "done" => lang.t("已完成", "done"),
        "failed" => lang.t("失败", "failed"),
        "stopped" => lang.t("已停止", "stopped"),
        _ => lang.t("未知", "unknown"),
    }
}

/// What was typed in the form, kept when it comes back with problems.
#[derive(Default)]
struct Typed {
    values: BTreeMap<String, String>,
    removed: BTreeSet<String>,
    problems: Problems,
}

impl Typed {
    fn value(&self, field: &str) -> Option<&str> {
        self.values.get(field).map(String::as_str)
    }
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems.get(field).map(String::as_str)
    }
}

/// One field's problem beside it.
fn field_problem(t: &Typed, field: &str) -> Markup {
    html! {
        @if let Some(p) = t.problem(field) {
            span.no.field-error id=(format!("err-{}", html_id(field))) role="alert" { (p) }
        }
    }
}

pub(crate) async fn home(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    home_page(&s, lang, &st, Typed::default()).await
}

async fn home_page(s: &Session, lang: Lang, st: &AppState, typed: Typed) -> PageResult {
    s.require_access(Access::Simulate)?;
    let actor = s.user.actor();
    let runs = st.store.simulation_runs(&actor, LISTED).await?;
    let uploads = st.store.simulation_populations(&actor).await?;
    let year = st.store.today().year();
    let from = typed
        .value("from")
        .map(String::from)
        .unwrap_or(format!("{year}-01-01"));
    let to = typed
        .value("to")
        .map(String::from)
        .unwrap_or(format!("{year}-12-31"));
    let knobs = kc_simulate::reform::knobs(&st.lib);
    let lib = &st.lib;
    // Named parameters first, then per document its measures, in library order.
    let params: Vec<&Knob> = knobs.iter().filter(|k| k.measure.is_none()).collect();
    let mut by_measure: BTreeMap<&str, Vec<&Knob>> = BTreeMap::new();
    for k in &knobs {
        if let Some(m) = &k.measure {
            by_measure.entry(m.as_str()).or_default().push(k);
        }
    }
    let scope = actor
        .jurisdiction
        .as_deref()
        .map(|j| st.store.jurisdictions().zh(j).to_string());
    let knob_rows = |ks: &[&Knob]| -> Markup {
        html! {
            table.knobs {
                tr { th { (lang.t("位置", "Where")) } th { (lang.t("规则原文", "Rule as written")) } th { (lang.t("当前值", "Current value")) } th { (lang.t("新值", "New value")) } th { (lang.t("自何日起(可选)", "From (optional)")) } }
                @for k in ks {
                    @let vf = format!("k:{}", k.id);
                    @let df = format!("f:{}", k.id);
                    tr data-knob=(k.id) {
                        td { (role_words(lang, k)) }
                        td { @if k.role != "validity" { code.rule-code lang="zh-CN" { (k.context) } } }
                        td.num.current { (kc_eval::describe_value_in(lib, &k.value, lang.0)) }
                        td {
                            input type="text" name=(vf) size="10" placeholder=(example(k)) value=(typed.value(&vf).unwrap_or_default())
                                aria-label=(format!("{} {}", lang.t("新值", "New value"), role_words(lang, k)))
                                aria-describedby=[typed.problem(&vf).map(|_| format!("err-{}", html_id(&vf)))];
                            (field_problem(&typed, &vf))
                        }
                        td {
                            @if k.role != "validity" {
                                input type="date" name=(df) value=(typed.value(&df).unwrap_or_default())
                                    aria-label=(lang.t("自何日起", "From"))
                                    aria-describedby=[typed.problem(&df).map(|_| format!("err-{}", html_id(&df)))];
                                (field_problem(&typed, &df))
                            }
                        }
                    }
                }
            }
        }
    };
    let touched = |ks: &[&Knob]| {
        ks.iter().any(|k| {
            let (v, d) = (format!("k:{}", k.id), format!("f:{}", k.id));
            typed.value(&v).is_some_and(|x| !x.trim().is_empty())
                || typed.value(&d).is_some_and(|x| !x.trim().is_empty())
                || typed.problem(&v).is_some()
                || typed.problem(&d).is_some()
        })
    };
    let body = html! {
        p { (lang.t("测算把政策库的全部措施用于本平台登记的申报主体,按措施、年度和级次汇总兑现金额;可调整参数(比例、金额上限、日期)或删除措施,对比改革前后的差额和受益、受损主体。测算在后台运行,结果保存在下方列表中。",
            "A simulation evaluates every measure of the policy library for the applicants registered on this platform and totals the awards per measure, year and government level; change a parameter (a rate, a cap, a date) or remove a measure to compare a reform with the baseline, with who gains and who loses. Runs go on in the background and are kept in the list below.")) }
        @if let Some(j) = &scope {
            p.card.scope { (lang.t("本账号的测算范围:", "This account simulates the applicants of ")) strong lang="zh-CN" { (j) } }
        }
        h2 { (lang.t("新建测算", "New simulation")) }
        form.card #simulate-form method="post" action="/simulate" {
            @if let Some(p) = typed.problem("reform").or(typed.problem("run")) { div.error.form-error role="alert" { (p) } }
            @if !typed.problems.is_empty() && typed.problem("reform").is_none() && typed.problem("run").is_none() {
                div.error.form-error role="alert" { (lang.t("请更正标出的内容,测算未运行。", "Please correct the fields marked below; nothing was run.")) }
            }
            (csrf_field(s))
            label { (lang.t("标题(可选)", "Title (optional)")) " " input type="text" name="title" size="40" value=(typed.value("title").unwrap_or_default()); (field_problem(&typed, "title")) }
            fieldset {
                legend { (lang.t("期间", "Period")) }
                label { (lang.t("自", "From")) " " input type="date" name="from" value=(from) required aria-describedby=[typed.problem("from").map(|_| "err-from")]; (field_problem(&typed, "from")) }
                label { (lang.t("至", "To")) " " input type="date" name="to" value=(to) required aria-describedby=[typed.problem("to").map(|_| "err-to")]; (field_problem(&typed, "to")) }
                p.muted { (lang.t("事件发生在期间内的兑现计入测算;期间之前的事件也参与计算(一次性和年度上限据此判断),但不计入合计。",
                    "Awards of events inside the period are counted; earlier events are evaluated too (once-only rules and yearly caps see them) but not counted.")) }
            }
            fieldset #population {
                legend { (lang.t("测算总体", "Population")) }
                @let chosen = typed.value("population").unwrap_or("stored");
                label {
                    input type="radio" name="population" value="stored" checked[chosen == "stored" || chosen.is_empty()];
                    " " (lang.t("本平台登记的申报主体", "The applicants registered on this platform"))
                }
                @for c in &run::CALIBRATIONS {
                    label {
                        input type="radio" name="population" value=(c.name) checked[chosen == c.name];
                        " " (lang.t(c.zh, c.en))
                    }
                }
                @for u in &uploads {
                    label {
                        input type="radio" name="population" value=(u.id) checked[chosen == u.id];
                        " " (lang.t("上传的总体 ", "Uploaded population ")) span.filename { (u.name) }
                        " (" (u.applicants) (lang.t(" 个申报主体", " applicants")) ")"
                    }
                }
                (field_problem(&typed, "population"))
                label { (lang.t("模拟总体规模(个申报主体)", "Size of a synthetic population (applicants)")) " "
                    input type="number" name="size" min="1" max=(run::MAX_SIZE) step="1" inputmode="numeric"
                        value=(typed.value("size").map(str::to_string).unwrap_or_else(|| run::DEFAULT_SIZE.to_string()))
                        aria-describedby=[typed.problem("size").map(|_| "err-size")];
                    (field_problem(&typed, "size"))
                }
                p.muted { (lang.t("模拟总体按校准文件(data/population/,每个数字注明出处)在测算期间内生成,同一设置生成同一总体;更大的总体请用命令行 kechuang simulate。",
                    "A synthetic population is generated over the period from a calibration file (data/population/, every figure with its source); the same settings give the same population. For larger populations use kechuang simulate on the command line.")) }
            }
            h3 { (lang.t("改革方案(可选)", "Reform (optional)")) }
            p.muted { (lang.t("在要调整的项目中填写新值,如 3万元、12%、2‰ 或日期;可填写自何日起适用(之前仍按原值)。不填写任何新值即为基线测算。",
                "Type a new value where you want a change — 3万元 (30,000 yuan), 12%, 2‰ or a date — and optionally the date from which it applies (before it the old value holds). Leave every field empty for the baseline alone.")) }
            details.knobs #reform-file open[typed.value("reform_text").is_some_and(|t| !t.trim().is_empty()) || typed.problem("reform_text").is_some()] {
                summary { (lang.t("改革方案文件(可选):调整参数、删除、替换或新增措施", "Reform file (optional): set knobs, remove, replace or add measures")) }
                p.muted { (lang.t("每行一项:set 名称 = 值 [from 日期]、remove 措施;replace 措施 或 add to \"文件号\" 之后用政策语言写出措施(见 docs/simulation.md)。措施与政策文件一样检查,错误标明行和列。",
                    "One line each: set KNOB = VALUE [from DATE], remove MEASURE; after replace MEASURE or add to \"DOCUMENT\", the measure in the policy language (see docs/simulation.md). Measures are checked like any policy file; each error names its line and column.")) }
                label for="reform_text" { (lang.t("改革方案", "Reform file")) }
                textarea #reform_text name="reform_text" rows="10" cols="80" spellcheck="false"
                    aria-describedby=[typed.problem("reform_text").map(|_| "err-reform_text")] {
                    (typed.value("reform_text").unwrap_or_default())
                }
                @if let Some(p) = typed.problem("reform_text") {
                    ul.no.field-error #err-reform_text role="alert" { @for l in p.lines() { li { (l) } } }
                }
            }
            @if !params.is_empty() {
                details.knobs open[touched(&params)] {
                    summary { (lang.t("命名参数", "Named parameters")) " (" (params.len()) ")" }
                    (knob_rows(&params))
                }
            }
            @for (di, d) in lib.documents.iter().enumerate() {
                @let measures: Vec<&kc_check::Measure> = lib.measures.iter().filter(|m| m.doc == di && by_measure.contains_key(m.id.as_str())).collect();
                @if !measures.is_empty() {
                    @let open = measures.iter().any(|m| touched(&by_measure[m.id.as_str()]) || typed.removed.contains(&m.id) || typed.problem(&format!("rm:{}", m.id)).is_some());
                    details.knobs.document open[open] {
                        // The document's name is Chinese in either language: the summary is marked so.
                        @if lang.0 { summary lang="zh-CN" { (doc_name(d)) } } @else { summary { (doc_name(d)) " · " (measures.len()) " 项措施" } }
                        @for m in &measures {
                            fieldset.measure data-measure=(m.id) {
                                @if lang.0 && m.label.en.is_some() {
                                    legend { (measure_name(lib, lang, &m.id)) }
                                    p.muted.clause { "Clause " span lang="zh-CN" { (m.clause.id) } }
                                } @else if lang.0 {
                                    legend lang="zh-CN" { (m.label.zh) " " (m.clause.id) }
                                } @else {
                                    legend { (m.label.zh) " " (m.clause.id) }
                                }
                                (knob_rows(&by_measure[m.id.as_str()]))
                                label.remove { input type="checkbox" name="rm" value=(m.id) checked[typed.removed.contains(&m.id)]; " " (lang.t("删除此措施(改革后不再兑现)", "Remove this measure (the reform pays nothing under it)")) }
                                (field_problem(&typed, &format!("rm:{}", m.id)))
                            }
                        }
                    }
                }
            }
            p { button type="submit" { (lang.t("运行测算", "Run the simulation")) } }
        }
        h2 #populations { (lang.t("上传的总体", "Uploaded populations")) }
        p.muted { (lang.t("上传 CSV、JSON lines(.jsonl)或 Parquet 格式的总体文件(格式见 docs/population.md),每个文件不超过 ", "Upload a population file in CSV, JSON lines (.jsonl) or Parquet (the format of docs/population.md), at most "))
            (run::MAX_UPLOAD >> 20) " MiB"
            (lang.t(";上传时逐行检查,有错误时指出行和列,不保存。", "; it is checked row by row when uploaded, and a wrong row is named by its row and column and nothing is kept.")) }
        form.card #upload-form method="post" action="/simulate/populations" enctype="multipart/form-data" {
            (csrf_field(s))
            @if let Some(p) = typed.problem("file") { div.error.form-error #err-file role="alert" { (p) } }
            label { (lang.t("总体文件", "Population file")) " "
                input type="file" name="file" accept=".csv,.jsonl,.parquet" required aria-describedby=[typed.problem("file").map(|_| "err-file")];
            }
            " " button type="submit" { (lang.t("上传", "Upload")) }
        }
        @if uploads.is_empty() {
            p.muted { (lang.t("还没有上传的总体。", "No population has been uploaded yet.")) }
        } @else {
            table #uploads tabindex="0" aria-label=(lang.t("上传的总体", "Uploaded populations")) {
                tr { th { (lang.t("文件", "File")) } th { (lang.t("格式", "Format")) } th.num { (lang.t("申报主体", "Applicants")) } th.num { (lang.t("事项", "Events")) } th.num { (lang.t("大小", "Size")) } th { (lang.t("上传人", "Uploaded by")) } th { (lang.t("上传时间", "Uploaded")) } th {} }
                @for u in &uploads {
                    tr data-population=(u.id) {
                        td.filename { (u.name) }
                        td { (u.format) }
                        td.num.applicants { (u.applicants) }
                        td.num { (u.events) }
                        td.num { (kib(u.size)) }
                        td { (u.uploaded_by_name) }
                        td { (readable_time(&u.uploaded_at)) }
                        td {
                            @if u.uploaded_by == actor.id || s.role() == kc_domain::Role::Admin {
                                form.inline method="post" action=(format!("/simulate/populations/{}/delete", u.id)) {
                                    (csrf_field(s))
                                    button.secondary type="submit" aria-label=(format!("{} {}", lang.t("删除", "Delete"), u.name)) { (lang.t("删除", "Delete")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (lang.t("测算记录", "Runs")) }
        @if runs.is_empty() {
            p.muted { (lang.t("还没有测算。", "No simulation has been run yet.")) }
        } @else {
            table #runs tabindex="0" aria-label=(lang.t("测算记录", "Runs")) {
                tr { th { (lang.t("测算", "Run")) } th { (lang.t("期间", "Period")) } th { (lang.t("运行人", "Run by")) } th { (lang.t("开始时间", "Started")) } th { (lang.t("状态", "Status")) } th.num { (lang.t("进度", "Progress")) } th.num { (lang.t("基线合计", "Baseline total")) } th.num { (lang.t("改革合计", "Reform total")) } }
                @for r in &runs {
                    tr data-run=(r.id) {
                        td { a href=(format!("/simulate/runs/{}", r.id)) { (r.title) } }
                        td { (r.params["from"].as_str().unwrap_or("")) " – " (r.params["to"].as_str().unwrap_or("")) }
                        td { (r.created_by_name) }
                        td { (readable_time(&r.created_at)) }
                        td.status data-status=(r.status) { (status_words(lang, &r.status)) }
                        td.num { (r.done) " / " (r.total) }
                        td.num { @if let Some(t) = r.result.as_ref().and_then(|x| x.pointer("/baseline/total")) { (yuan(money_of(t))) } }
                        td.num { @if let Some(t) = r.result.as_ref().and_then(|x| x.pointer("/reform/total")) { (yuan(money_of(t))) } }
                    }
                }
            }
        }
    };
    let status = if typed.problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut res = layout(lang, Some(s), lang.t("测算", "Simulation"), body).into_response();
    *res.status_mut() = status;
    Ok(res)
}

/// A size in KiB (at least 1).
fn kib(bytes: i64) -> String {
    format!("{} KiB", (bytes + 1023) / 1024)
}

/// The form as a request: `title`, `from`, `to`, `population`, `size`, `reform_text`, `k:KNOB`
/// and `f:KNOB` per knob, `rm` per removed measure.
fn request_of(fields: &[(String, String)]) -> (Request, Typed, Option<String>) {
    let mut r = Request::default();
    let mut typed = Typed::default();
    let mut csrf = None;
    let mut changes: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (k, v) in fields {
        match k.as_str() {
            "csrf" => csrf = Some(v.clone()),
            "title" => r.title = v.clone(),
            "from" => r.from = v.clone(),
            "to" => r.to = v.clone(),
            "population" => r.population = v.clone(),
            "size" => r.size = v.clone(),
            "reform_text" => r.reform_text = v.clone(),
            "rm" => {
                r.removed.push(v.clone());
                typed.removed.insert(v.clone());
            }
            _ => {
                if let Some(knob) = k.strip_prefix("k:") {
                    changes.entry(knob.to_string()).or_default().0 = v.clone();
                } else if let Some(knob) = k.strip_prefix("f:") {
                    changes.entry(knob.to_string()).or_default().1 = v.clone();
                } else {
                    continue;
                }
            }
        }
        if k != "csrf" && k != "rm" {
            typed.values.insert(k.clone(), v.clone());
        }
    }
    // Knobs in library order, as the editor lists them.
    r.changes = changes.into_iter().map(|(k, (v, d))| (k, v, d)).collect();
    (r, typed, csrf)
}

pub(crate) async fn start(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let (req, mut typed, csrf) = request_of(&fields);
    s.check_csrf(csrf.as_deref())?;
    s.require_access(Access::Simulate)?;
    match run::check(&st, &s, &req).await? {
        Err(problems) => {
            typed.problems = problems;
            home_page(&s, lang, &st, typed).await
        }
        Ok(checked) => match run::start(&st, &s, checked).await {
            Ok(id) => Ok(Redirect::to(&format!("/simulate/runs/{id}")).into_response()),
            Err(e @ (AppError::Conflict { .. } | AppError::BadRequest { .. })) => {
                typed.problems.insert("run".into(), e.message());
                let mut res = home_page(&s, lang, &st, typed).await?;
                *res.status_mut() = e.status();
                Ok(res)
            }
            Err(e) => Err(e),
        },
    }
}

/// What the upload form sent: the CSRF token, the file's name and bytes (at most the limit
/// kept; `too_large` when it was longer).
#[derive(Default)]
struct Upload {
    csrf: Option<String>,
    filename: String,
    bytes: Vec<u8>,
    too_large: bool,
}

async fn read_upload(mp: Result<Multipart, MultipartRejection>) -> Result<Upload, String> {
    let invalid =
        |e: &dyn std::fmt::Display| format!("表单无效,请重新选择文件后提交 (invalid form: {e})");
    let mut mp = mp.map_err(|e| invalid(&e))?;
    let mut out = Upload::default();
    while let Some(mut field) = mp.next_field().await.map_err(|e| invalid(&e))? {
        match field.name().unwrap_or("") {
            "file" => {
                out.filename = field.file_name().unwrap_or("").to_string();
                // Read to the end (so the browser gets the answer), keeping at most the limit.
                while let Some(chunk) = field.chunk().await.map_err(|e| invalid(&e))? {
                    if out.bytes.len() + chunk.len() > run::MAX_UPLOAD {
                        out.too_large = true;
                    } else {
                        out.bytes.extend_from_slice(&chunk);
                    }
                }
            }
            "csrf" => out.csrf = Some(field.text().await.map_err(|e| invalid(&e))?),
            _ => {}
        }
    }
    Ok(out)
}

/// The upload form: the file checked and kept, or the page again with the problem beside it.
pub(crate) async fn upload_form(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    mp: Result<Multipart, MultipartRejection>,
) -> PageResult {
    s.require_access(Access::Simulate)?;
    let problem = match read_upload(mp).await {
        Err(p) => p,
        Ok(u) => {
            s.check_csrf(u.csrf.as_deref())?;
            if u.too_large {
                run::too_large()
            } else {
                match run::upload(&st, &s, &u.filename, u.bytes).await? {
                    Ok(_) => return Ok(Redirect::to("/simulate#populations").into_response()),
                    Err(p) => p,
                }
            }
        }
    };
    let mut typed = Typed::default();
    typed.problems.insert("file".into(), problem);
    home_page(&s, lang, &st, typed).await
}

#[derive(serde::Deserialize)]
pub(crate) struct CsrfForm {
    csrf: Option<String>,
}

/// Deletes an uploaded population (its uploader or an admin).
pub(crate) async fn delete_form(
    CurrentSession(s): CurrentSession,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    s.require_access(Access::Simulate)?;
    st.store
        .delete_simulation_population(&s.user.actor(), &id)
        .await?;
    Ok(Redirect::to("/simulate#populations").into_response())
}

/// Stops a run (the person who started it or an admin); back to its page, which shows it
/// stopped.
pub(crate) async fn stop_form(
    CurrentSession(s): CurrentSession,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    run::stop(&st, &s, &id).await?;
    Ok(Redirect::to(&format!("/simulate/runs/{id}")).into_response())
}

/// Bars of the totals per measure (fixed amounts plus maxima over the period), baseline and,
/// with a reform, the reform beside it: inline SVG with a title and a description; the table
/// above carries the same numbers.
fn chart(lib: &Library, lang: Lang, base: &J, reform: Option<&J>) -> Markup {
    let totals = |f: &J| -> BTreeMap<String, Money> {
        let mut out = BTreeMap::new();
        for l in f["lines"].as_array().into_iter().flatten() {
            let e = out
                .entry(l["measure"].as_str().unwrap_or("").to_string())
                .or_insert(Money::ZERO);
            *e = *e + money_of(&l["fixed"]) + money_of(&l["up_to"]);
        }
        out
    };
    let b = totals(base);
    let r = reform.map(totals);
    let mut measures: Vec<&String> = b.keys().collect();
    if let Some(r) = &r {
        for m in r.keys() {
            if !b.contains_key(m) {
                measures.push(m);
            }
        }
    }
    let get = |t: &BTreeMap<String, Money>, m: &str| t.get(m).copied().unwrap_or(Money::ZERO);
    measures.sort_by(|x, y| get(&b, y).cmp(&get(&b, x)).then(x.cmp(y)));
    let max = measures
        .iter()
        .flat_map(|m| [Some(get(&b, m)), r.as_ref().map(|r| get(r, m))])
        .flatten()
        .max()
        .unwrap_or(Money::ZERO);
    let per = if r.is_some() { 2 } else { 1 };
    let (label_w, bar_w, row_h) = (230i64, 330i64, 18i64);
    let height = 40 + measures.len() as i64 * (row_h * per + 8);
    // Bar length in whole pixels of the widest: integer arithmetic on fen, no float.
    let fen = |m: Money| kc_domain::to_fen(m).unwrap_or(0);
    let len = |m: Money| {
        if max == Money::ZERO {
            0
        } else {
            ((fen(m) as i128 * bar_w as i128) / fen(max).max(1) as i128) as i64
        }
    };
    let name = |m: &str| -> String {
        let label = lib
            .measure(m)
            .map(|x| kc_eval::plain::label(&x.label, lang.0).to_string())
            .unwrap_or(m.to_string());
        let limit = if lang.0 { 34 } else { 15 };
        if label.chars().count() > limit {
            format!("{}…", label.chars().take(limit - 1).collect::<String>())
        } else {
            label
        }
    };
    let desc = measures
        .iter()
        .map(|m| {
            let full = lib
                .measure(m)
                .map(|x| kc_eval::plain::label(&x.label, lang.0).to_string())
                .unwrap_or(m.to_string());
            match &r {
                None => format!("{full}: {}", yuan(get(&b, m))),
                Some(r) => format!("{full}: {} → {}", yuan(get(&b, m)), yuan(get(r, m))),
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    html! {
        svg.chart.hbars #chart role="img" aria-labelledby="chart-title chart-desc" viewBox=(format!("0 0 {} {height}", label_w + bar_w + 160)) xmlns="http://www.w3.org/2000/svg" {
            title #chart-title { (lang.t("各措施测算合计(定额与最高额之和)", "Total per measure (fixed amounts plus maxima)")) }
            desc #chart-desc { (desc) }
            @if r.is_some() {
                rect x=(label_w) y="6" width="12" height="12" fill="#486581" {}
                text x=(label_w + 16) y="16" font-size="12" { (lang.t("基线", "baseline")) }
                rect x=(label_w + 90) y="6" width="12" height="12" fill="#b71c1c" {}
                text x=(label_w + 106) y="16" font-size="12" { (lang.t("改革", "reform")) }
            }
            @for (i, m) in measures.iter().enumerate() {
                @let y = 30 + i as i64 * (row_h * per + 8);
                g {
                    text x=(label_w - 6) y=(y + 13) font-size="12" text-anchor="end" { (name(m)) }
                    rect x=(label_w) y=(y) width=(len(get(&b, m))) height=(row_h - 2) fill="#486581" {}
                    text x=(label_w + len(get(&b, m)) + 4) y=(y + 13) font-size="11" { (get(&b, m).grouped()) }
                    @if let Some(r) = &r {
                        rect x=(label_w) y=(y + row_h) width=(len(get(r, m))) height=(row_h - 2) fill="#b71c1c" {}
                        text x=(label_w + len(get(r, m)) + 4) y=(y + row_h + 13) font-size="11" { (get(r, m).grouped()) }
                    }
                }
            }
        }
    }
}

fn levels_of(j: &J) -> BTreeMap<String, Money> {
    j.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), money_of(v)))
        .collect()
}

/// The forecast per measure and year: recipients, awards, fixed and up-to totals, review cases
/// with their bounds, each level's share, the distribution.
fn lines_table(lib: &Library, lang: Lang, id: &str, f: &J) -> Markup {
    html! {
        table.lines id=(id) tabindex="0" aria-label=(lang.t("按措施和年度", "By measure and year")) {
            tr {
                th { (lang.t("措施", "Measure")) } th { (lang.t("年度", "Year")) } th.num { (lang.t("受益主体", "Recipients")) } th.num { (lang.t("笔数", "Awards")) }
                th.num { (lang.t("定额合计", "Fixed total")) } th.num { (lang.t("最高额合计", "Up-to total")) } th { (lang.t("评审确定", "Set by review")) }
                th { (lang.t("分级", "By level")) } th.num { "p10" } th.num { "p50" } th.num { "p90" }
            }
            @for l in f["lines"].as_array().into_iter().flatten() {
                tr data-measure=(l["measure"].as_str().unwrap_or("")) {
                    td { (measure_name(lib, lang, l["measure"].as_str().unwrap_or(""))) }
                    td { (l["year"]) }
                    td.num.recipients { (l["recipients"]) }
                    td.num { (l["awards"]) }
                    td.num.fixed { (yuan(money_of(&l["fixed"]))) }
                    td.num.up-to { (yuan(money_of(&l["up_to"]))) }
                    td {
                        @if l["review_cases"].as_u64().unwrap_or(0) > 0 {
                            (l["review_cases"]) (lang.t(" 笔", " cases"))
                            @if money_of(&l["review_upper"]) != Money::ZERO {
                                "; " (lang.t("区间上限合计 ", "range bounds ")) (yuan(money_of(&l["review_upper"])))
                            } @else {
                                "; " (lang.t("条款无上限", "no maximum in the clause"))
                            }
                        } @else { "—" }
                    }
                    td { @for (k, m) in levels_of(&l["by_level"]) { span.level { (level_in(lang, &k)) " " (yuan(m)) } br; } }
                    td.num { (l["p10"].as_str().map(|_| yuan(money_of(&l["p10"]))).unwrap_or("—".into())) }
                    td.num { (l["p50"].as_str().map(|_| yuan(money_of(&l["p50"]))).unwrap_or("—".into())) }
                    td.num { (l["p90"].as_str().map(|_| yuan(money_of(&l["p90"]))).unwrap_or("—".into())) }
                }
            }
        }
    }
}

pub(crate) async fn run_page(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    s.require_access(Access::Simulate)?;
    let r = st.store.simulation_run(&s.user.actor(), &id).await?;
    let lib = &st.lib;
    let live = r.status == "queued" || r.status == "running";
    let result = r.result.clone().map(|x| run::result_for(&s, x));
    let kind_enum = lib.vocab.enums[lib.vocab.applicant_kind].name.clone();
    let region_enum = lib.vocab.enums[lib.vocab.region].name.clone();
    let changes: Vec<&J> = r.params["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let removed: Vec<&str> = r.params["removed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(J::as_str)
        .collect();
    let knobs = kc_simulate::reform::knobs(lib);
    let knob_words = |id: &str| -> Markup {
        match knobs.iter().find(|k| k.id == id) {
            Some(k) => html! {
                @if let Some(m) = &k.measure { (measure_name(lib, lang, m)) " · " }
                (role_words(lang, k)) " " @if k.role != "validity" { code.rule-code lang="zh-CN" { (k.context) } }
                " (" (lang.t("原值 ", "was ")) (kc_eval::describe_value_in(lib, &k.value, lang.0)) ")"
            },
            None => html! { span.rule-code { (id) } },
        }
    };
    let body = html! {
        p #run-status data-status=(r.status) {
            (lang.t("状态:", "Status: ")) strong.status { (status_words(lang, &r.status)) }
            " · " (lang.t("期间 ", "period ")) (r.params["from"].as_str().unwrap_or("")) " – " (r.params["to"].as_str().unwrap_or(""))
            " · " (lang.t("运行人 ", "run by ")) (r.created_by_name) " · " (readable_time(&r.created_at))
            " · " (lang.t("总体 ", "population ")) span #run-population {
                @match run::CALIBRATIONS.iter().find(|c| Some(c.name) == r.params["population"].as_str()) {
                    Some(c) => { (lang.t(c.zh, c.en)) ", " (r.params["size"].as_u64().unwrap_or(0)) (lang.t(" 个", " applicants")) }
                    None if r.params["upload"].is_object() => {
                        (lang.t("上传的总体 ", "uploaded population ")) span.filename { (r.params["upload"]["name"].as_str().unwrap_or("")) }
                        ", " (r.params["upload"]["applicants"]) (lang.t(" 个", " applicants"))
                    }
                    None => { (lang.t("本平台登记的申报主体", "the applicants on this platform")) }
                }
            }
        }
        @if live {
            p {
                progress #progress value=(r.done) max=(r.total.max(1)) aria-label=(lang.t("测算进度", "Progress")) { (r.done) " / " (r.total) }
                " " (r.done) " / " (r.total) (lang.t(" 个申报主体", " applicants"))
            }
            p.muted { (lang.t("测算在后台运行,本页每2秒自动刷新。", "The simulation runs in the background; this page refreshes every 2 seconds.")) }
            @if r.created_by == s.user.actor().id || s.role() == kc_domain::Role::Admin {
                form #stop-form method="post" action=(format!("/simulate/runs/{}/stop", r.id)) {
                    (csrf_field(&s))
                    button.secondary #stop type="submit" { (lang.t("停止", "Stop")) }
                    " " span.muted { (lang.t("在当前批次结束后停止;已算部分不作为测算结果。", "Stops after the current batch; what was computed is not kept as a forecast.")) }
                }
            }
        }
        @if r.status == "stopped" {
            div.notice #stopped role="status" {
                strong { (lang.t("测算已停止", "The simulation was stopped")) }
                @if let Some(n) = &r.stopped_by_name { (lang.t(",停止人 ", " by ")) (n) }
                (lang.t(",停止时已完成 ", "; it had evaluated ")) (r.done) " / " (r.total) (lang.t(" 个申报主体。未完成的测算没有结果,不能作为预测;需要结果请重新运行。",
                    " applicants. A run that did not finish has no result and is not a forecast; run it again for one."))
            }
        }
        @if let Some(e) = &r.error {
            div.error #failure role="alert" { strong { (lang.t("测算失败:", "The simulation failed: ")) } (e) }
        }
        @if let Some(text) = r.params["reform_text"].as_str() {
            h2 { (lang.t("改革方案文件", "Reform file")) }
            pre.rule-code #reform-text lang="zh-CN" { (text) }
        }
        @if !changes.is_empty() || !removed.is_empty() {
            h2 { (lang.t("改革方案", "Reform")) }
            ul #reform-changes {
                @for c in &changes {
                    li { (knob_words(c["knob"].as_str().unwrap_or(""))) " → " strong { (c["value"].as_str().unwrap_or("")) }
                        @if let Some(d) = c["from"].as_str() { " " (lang.t("自 ", "from ")) (d) (lang.t(" 起", "")) } }
                }
                @for m in &removed { li { (lang.t("删除措施 ", "Removed: ")) (measure_name(lib, lang, m)) } }
            }
        }
        @if let Some(res) = &result {
            @let base = &res["baseline"];
            @let reform = res.get("reform");
            p.summary {
                (lang.t("申报主体 ", "Applicants: ")) strong { (base["applicants"]) } " · "
                (lang.t("基线合计(定额与最高额之和)", "Baseline total (fixed plus maxima) ")) " " strong #baseline-total { (yuan(money_of(&base["total"]))) }
                @if let Some(rf) = reform {
                    " · " (lang.t("改革合计 ", "Reform total ")) strong #reform-total { (yuan(money_of(&rf["total"]))) }
                    " · " (lang.t("差额 ", "Delta ")) strong #delta-total { (yuan(money_of(&rf["total"]) - money_of(&base["total"]))) }
                }
            }
            p { a #download href=(format!("/simulate/runs/{}/result.xlsx", r.id)) { (lang.t("下载结果 (xlsx)", "Download the result (xlsx)")) } }
            h2 { (lang.t("各措施合计", "Total per measure")) }
            (chart(lib, lang, base, reform))
            h2 { (lang.t("分级合计", "Totals per government level")) }
            table #levels tabindex="0" aria-label=(lang.t("分级合计", "Totals per government level")) {
                @let bl = levels_of(&base["levels"]);
                @let rl = reform.map(|x| levels_of(&x["levels"]));
                tr { th { (lang.t("级次", "Level")) } th.num { (lang.t("基线", "Baseline")) } @if rl.is_some() { th.num { (lang.t("改革", "Reform")) } th.num { (lang.t("差额", "Delta")) } } }
                @let all: BTreeSet<&String> = bl.keys().chain(rl.iter().flat_map(|x| x.keys())).collect();
                @for k in all {
                    @let b = bl.get(k).copied().unwrap_or(Money::ZERO);
                    tr data-level=(k) {
                        td { (level_in(lang, k)) }
                        td.num { (yuan(b)) }
                        @if let Some(rl) = &rl { @let a = rl.get(k).copied().unwrap_or(Money::ZERO); td.num { (yuan(a)) } td.num { (yuan(a - b)) } }
                    }
                }
            }
            h2 { (lang.t("按措施和年度(基线)", "By measure and year (baseline)")) }
            (lines_table(lib, lang, "lines", base))
            @if let Some(rf) = reform {
                @let cmp = &res["comparison"];
                h2 { (lang.t("改革与基线对比", "Reform against the baseline")) }
                table #delta tabindex="0" aria-label=(lang.t("改革与基线对比", "Reform against the baseline")) {
                    tr { th { (lang.t("措施", "Measure")) } th { (lang.t("年度", "Year")) } th { (lang.t("级次", "Level")) } th.num { (lang.t("基线", "Baseline")) } th.num { (lang.t("改革", "Reform")) } th.num { (lang.t("差额", "Delta")) } }
                    @for d in cmp["lines"].as_array().into_iter().flatten() {
                        tr.total data-measure=(d["measure"].as_str().unwrap_or("")) {
                            td { (measure_name(lib, lang, d["measure"].as_str().unwrap_or(""))) } td { (d["year"]) } td { (lang.t("合计", "all")) }
                            td.num { (yuan(money_of(&d["baseline"]))) } td.num { (yuan(money_of(&d["reform"]))) } td.num.delta { (yuan(money_of(&d["delta"]))) }
                        }
                        @for (k, v) in d["by_level"].as_object().into_iter().flatten() {
                            @let (b, a) = (money_of(&v["baseline"]), money_of(&v["reform"]));
                            tr.level { td {} td {} td { (level_in(lang, k)) } td.num { (yuan(b)) } td.num { (yuan(a)) } td.num { (yuan(a - b)) } }
                        }
                    }
                }
                h2 { (lang.t("受益与受损", "Winners and losers")) }
                p #winners {
                    (lang.t("受益主体 ", "Winners: ")) strong.count { (cmp["winners"]["count"]) } (lang.t(",合计 +", ", in total +")) (yuan(money_of(&cmp["winners"]["total"])))
                    (lang.t(";受损主体 ", "; losers: ")) strong.count { (cmp["losers"]["count"]) } (lang.t(",合计 ", ", in total ")) (yuan(money_of(&cmp["losers"]["total"])))
                }
                @let largest: Vec<&J> = cmp["largest"].as_array().into_iter().flatten().collect();
                @if !largest.is_empty() {
                    table #largest tabindex="0" aria-label=(lang.t("变化最大的十个主体", "The ten largest changes")) {
                        tr { th { (lang.t("申报主体", "Applicant")) } th { (lang.t("类型", "Kind")) } th { (lang.t("地区", "Region")) } th.num { (lang.t("基线", "Baseline")) } th.num { (lang.t("改革", "Reform")) } th.num { (lang.t("差额", "Delta")) } }
                        @for x in largest {
                            tr {
                                td { @if let Some(n) = x["name"].as_str() { span lang="zh-CN" { (n) } } @else { span.muted { (lang.t("(不显示)", "(not shown)")) } } }
                                td { (member_in(&st, lang, &kind_enum, x["kind"].as_str().unwrap_or(""))) }
                                td { (member_in(&st, lang, &region_enum, x["region"].as_str().unwrap_or(""))) }
                                td.num { (yuan(money_of(&x["baseline"]))) } td.num { (yuan(money_of(&x["reform"]))) } td.num { (yuan(money_of(&x["delta"]))) }
                            }
                        }
                    }
                }
                h2 { (lang.t("按措施和年度(改革)", "By measure and year (reform)")) }
                (lines_table(lib, lang, "reform-lines", rf))
            }
        }
        p { a href="/simulate" { (lang.t("返回测算", "Back to 测算 simulations")) } }
    };
    let mut res = layout(lang, Some(&s), &r.title, body).into_response();
    if live {
        res.headers_mut()
            .insert(header::REFRESH, axum::http::HeaderValue::from_static("2"));
    }
    Ok(res)
}

/// The result as rows of one sheet: baseline and reform lines per measure and year, then the
/// delta per measure and year; amounts as exact text.
pub(crate) fn result_rows(lib: &Library, result: &J) -> (Vec<String>, Vec<Vec<String>>) {
    let mut levels: BTreeSet<String> = BTreeSet::new();
    for which in ["baseline", "reform"] {
        for l in result[which]["lines"].as_array().into_iter().flatten() {
            levels.extend(levels_of(&l["by_level"]).into_keys());
        }
    }
    let mut heads: Vec<String> = [
        "方案 scenario",
        "措施 measure",
        "措施代码 measure id",
        "年度 year",
        "受益主体 recipients",
        "笔数 awards",
        "定额合计 fixed",
        "最高额合计 up to",
        "评审确定笔数 review cases",
        "区间上限合计 review upper bounds",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for l in &levels {
        heads.push(format!("{} {l}", kc_domain::level_zh(l)));
    }
    heads.extend(
        [
            "p10",
            "p50",
            "p90",
            "最大 max",
            "基线 baseline",
            "改革 reform",
            "差额 delta",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let label = |m: &str| {
        lib.measure(m)
            .map(|x| x.label.zh.clone())
            .unwrap_or_default()
    };
    let plain = |j: &J| j.as_str().map(String::from).unwrap_or_default();
    let mut rows = Vec::new();
    for (which, words) in [("baseline", "基线 baseline"), ("reform", "改革 reform")] {
        for l in result[which]["lines"].as_array().into_iter().flatten() {
            let m = l["measure"].as_str().unwrap_or("");
            let by = levels_of(&l["by_level"]);
            let mut row = vec![
                words.to_string(),
                label(m),
                m.to_string(),
                l["year"].to_string(),
                l["recipients"].to_string(),
                l["awards"].to_string(),
                plain(&l["fixed"]),
                plain(&l["up_to"]),
                l["review_cases"].to_string(),
                plain(&l["review_upper"]),
            ];
            for lv in &levels {
                row.push(by.get(lv).map(|m| m.plain()).unwrap_or_default());
            }
            for p in ["p10", "p50", "p90", "max"] {
                row.push(plain(&l[p]));
            }
            row.extend([String::new(), String::new(), String::new()]);
            rows.push(row);
        }
    }
    for d in result["comparison"]["lines"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let m = d["measure"].as_str().unwrap_or("");
        let mut row = vec![
            "差额 delta".to_string(),
            label(m),
            m.to_string(),
            d["year"].to_string(),
        ];
        row.extend(std::iter::repeat_n(String::new(), 6 + levels.len() + 4));
        row.extend([
            plain(&d["baseline"]),
            plain(&d["reform"]),
            plain(&d["delta"]),
        ]);
        rows.push(row);
    }
    (heads, rows)
}

/// The result of a finished run as an xlsx workbook (409 while it runs or when it failed).
pub(crate) async fn download(
    st: &AppState,
    s: &Session,
    id: &str,
) -> Result<axum::response::Response, AppError> {
    s.require_access(Access::Simulate)?;
    let r = st.store.simulation_run(&s.user.actor(), id).await?;
    let Some(result) = &r.result else {
        return Err(AppError::Conflict {
            code: "not_done",
            message: format!(
                "测算 {id} 尚未完成(状态:{}),没有结果可下载 (the run is {}: no result to download)",
                status_words(Lang(false), &r.status),
                r.status
            ),
        });
    };
    let (heads, rows) = result_rows(&st.lib, result);
    let heads: Vec<&str> = heads.iter().map(String::as_str).collect();
    crate::api::table_download(Some("xlsx"), &format!("cesuan-{id}"), "测算", &heads, &rows)
}

pub(crate) async fn xlsx(
    CurrentSession(s): CurrentSession,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    download(&st, &s, &id).await
}

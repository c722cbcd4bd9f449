//! What the 测算 page and its API share: the request checked (period, knob values, removals, a
//! reform file that may rewrite measures, the population — every problem named by its field),
//! the run started in the background and stopped on request, uploaded populations checked and
//! kept, and the result as JSON. The evaluation is kc-simulate's, over the stored applicants, a
//! synthetic population or an uploaded one; the store keeps the runs and the uploads.

use crate::AppError;
use crate::AppState;
use crate::auth::Session;
use jiff::civil::Date;
use kc_check::Library;
use kc_domain::Access;
use kc_money::Money;
use kc_simulate::reform::{self, Change, Reform};
use kc_store::simulation::UploadedPopulation;
use serde_json::{Value as J, json};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// Progress is written every this many applicants (and at the end).
pub(crate) const PROGRESS_EVERY: usize = 10;

/// Runs one process evaluates at once; more are refused (409 `busy`), not queued.
pub(crate) const RUNS_AT_ONCE: usize = 2;

fn runs() -> Arc<tokio::sync::Semaphore> {
    static S: OnceLock<Arc<tokio::sync::Semaphore>> = OnceLock::new();
    S.get_or_init(|| Arc::new(tokio::sync::Semaphore::new(RUNS_AT_ONCE)))
        .clone()
}

/// What a person asked for, as typed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Request {
    pub title: String,
    pub from: String,
    pub to: String,
    /// `stored` (default), a shipped calibration (`shenyang`, `liaocheng`) or the id of an
    /// uploaded population.
    pub population: String,
    /// Applicants of a synthetic population (default [`DEFAULT_SIZE`]).
    pub size: String,
    pub changes: Vec<(String, String, String)>,
    pub removed: Vec<String>,
    /// A reform file's text (`set`, `remove`, `replace`, `add to`; kc_simulate::reform).
    pub reform_text: String,
}

/// A request checked: the period, the reform (if any) and the reformed library.
pub(crate) struct Checked {
    pub title: String,
    pub from: Date,
    pub to: Date,
    pub population: Population,
    pub reform: Option<(Reform, Library)>,
    /// The reform file's text, as typed.
    pub reform_text: Option<String>,
}

/// Field → problem, Chinese first with English. Fields: `from`, `to`, `k:KNOB` (the value),
/// `f:KNOB` (its date), `rm:MEASURE`, `reform` (the changes together), `reform_text` (the
/// reform file: one error a line, each with its line and column), `population`, `size`.
pub(crate) type Problems = BTreeMap<String, String>;

fn date(text: &str, zh: &str, en: &str) -> Result<Date, String> {
    text.trim().parse::<Date>().map_err(|_| {
        format!(
            "{zh}“{}”不是日期 ({en}: not a date YYYY-MM-DD)",
            text.trim()
        )
    })
}

/// The population a run evaluates.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Population {
    /// The applicants stored on the platform (of the caller's jurisdiction).
    Stored,
    /// A synthetic population generated from a shipped calibration file over the period.
    Synthetic(&'static Calibrated, u64),
    /// A population file uploaded to the workspace.
    Uploaded(Box<UploadedPopulation>),
}

/// A calibration file shipped with kechuang (data/population/), embedded in the binary.
#[derive(Debug, PartialEq)]
pub(crate) struct Calibrated {
    pub name: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub text: &'static str,
}

pub(crate) const CALIBRATIONS: [Calibrated; 2] = [
    Calibrated {
        name: "shenyang",
        zh: "沈阳市模拟总体(按2018年政府工作报告校准)",
        en: "Shenyang, synthetic (calibrated on the 2018 government work report)",
        text: include_str!("../../../../../data/population/shenyang.toml"),
    },
    Calibrated {
        name: "liaocheng",
        zh: "聊城市模拟总体(按聊政字〔2020〕15号目标校准)",
        en: "Liaocheng, synthetic (calibrated on the targets of the city's 2020 S&T policy, No. 15)",
        text: include_str!("../../../../../data/population/liaocheng.toml"),
    },
];

/// The most changes (and removed measures) one reform may list: more than the library's knobs.
pub(crate) const MAX_CHANGES: usize = 1_000;

/// Applicants of a synthetic population unless the form says otherwise.
pub(crate) const DEFAULT_SIZE: u64 = 10_000;
/// The largest synthetic population the platform generates (a run holds one process's cores);
/// larger ones are for `kechuang population generate` and `kechuang simulate`.
pub(crate) const MAX_SIZE: u64 = 200_000;
/// The generator's seed: the same request gives the same population.
const SEED: u64 = 1;

fn population(r: &Request, uploads: &[UploadedPopulation], p: &mut Problems) -> Population {
    match r.population.trim() {
        "" | "stored" => Population::Stored,
        id if uploads.iter().any(|u| u.id == id) => Population::Uploaded(Box::new(
            uploads
                .iter()
                .find(|u| u.id == id)
                .cloned()
                .expect("found above"),
        )),
        name => match CALIBRATIONS.iter().find(|c| c.name == name) {
            None => {
                p.insert(
                    "population".into(),
                    format!("没有总体“{name}” (no population {name})"),
                );
                Population::Stored
            }
            Some(c) => {
                let size = if r.size.trim().is_empty() {
                    Some(DEFAULT_SIZE)
                } else {
                    r.size.trim().replace(',', "").parse::<u64>().ok()
                };
                match size {
                    Some(n) if (1..=MAX_SIZE).contains(&n) => Population::Synthetic(c, n),
                    _ => {
                        p.insert(
                            "size".into(),
                            format!(
                                "规模应为 1 至 {MAX_SIZE} 的整数 (the size is a whole number from 1 to {MAX_SIZE}; larger populations with `kechuang simulate`)"
                            ),
                        );
                        Population::Stored
                    }
                }
            }
        },
    }
}

/// The largest reform file the page and the API read (a few hundred lines of policy language).
pub(crate) const MAX_REFORM_TEXT: usize = 64 * 1024;

/// Checks a request: the period, the population, the knob form's changes and removals and a
/// reform file (its measures checked in their documents, against the active version's files).
/// `Ok(Err(problems))`: every problem found, by field, and nothing runs.
pub(crate) async fn check(
    st: &AppState,
    s: &Session,
    r: &Request,
) -> Result<Result<Checked, Problems>, AppError> {
    let uploads = st.store.simulation_populations(&s.user.actor()).await?;
    let text = r.reform_text.trim();
    let sources = if text.is_empty() {
        None
    } else {
        st.store.active_sources().await?
    };
    Ok(check_with(
        &st.lib,
        sources.as_ref().map(|(f, _)| f.as_slice()),
        &uploads,
        r,
    ))
}

/// [`check`] given what it reads from the store: the active version's policy files (`None`:
/// none stored, so a reform file may not rewrite measures) and the uploaded populations.
pub(crate) fn check_with(
    lib: &Library,
    sources: Option<&[kc_check::SourceFile]>,
    uploads: &[UploadedPopulation],
    r: &Request,
) -> Result<Checked, Problems> {
    let mut p = Problems::new();
    let population = population(r, uploads, &mut p);
    let from = date(&r.from, "期间起始", "from")
        .map_err(|e| p.insert("from".into(), e))
        .ok();
    let to = date(&r.to, "期间截止", "to")
        .map_err(|e| p.insert("to".into(), e))
        .ok();
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            p.insert(
                "to".into(),
                format!("期间截止 {t} 早于起始 {f} (the period ends before it starts)"),
            );
        } else if t.year() - f.year() > 30 {
            p.insert(
                "to".into(),
                "期间不超过30年 (the period is at most 30 years)".into(),
            );
        }
    }
    if r.title.chars().count() > 200 {
        p.insert(
            "title".into(),
            "标题不超过200字 (the title is at most 200 characters)".into(),
        );
    }
    // Each change is checked on a copy of the library: bound the work a request can ask for.
    if r.changes.len() > MAX_CHANGES || r.removed.len() > MAX_CHANGES {
        p.insert(
            "reform".into(),
            format!("一次改革最多调整 {MAX_CHANGES} 项 (a reform changes at most {MAX_CHANGES} knobs and measures)"),
        );
        return Err(p);
    }
    let mut changes = Vec::new();
    for (knob, value, on) in &r.changes {
        if value.trim().is_empty() && on.trim().is_empty() {
            continue;
        }
        if value.trim().is_empty() {
            p.insert(
                format!("k:{knob}"),
                "请填写新值,或清空日期 (type the new value, or clear the date)".into(),
            );
            continue;
        }
        let from = if on.trim().is_empty() {
            None
        } else {
            match date(on, "生效日", "from") {
                Ok(d) => Some(d),
                Err(e) => {
                    p.insert(format!("f:{knob}"), e);
                    continue;
                }
            }
        };
        let c = Change {
            knob: knob.clone(),
            value: value.trim().to_string(),
            from,
        };
        // Each change on its own, so every wrong field is named at once.
        let one = Reform {
            changes: vec![c.clone()],
            ..Default::default()
        };
        if let Err(e) = reform::apply(lib, &one, &[]) {
            let field = if e.message.starts_with("生效日") || e.message.contains("from a date") {
                format!("f:{knob}")
            } else {
                format!("k:{knob}")
            };
            // The field names the knob: its id is not repeated in the words beside it.
            let words = e
                .message
                .strip_prefix(&format!("{knob}: "))
                .unwrap_or(&e.message)
                .to_string();
            p.insert(field, words);
            continue;
        }
        changes.push(c);
    }
    let mut removed = Vec::new();
    for m in &r.removed {
        if lib.measure(m).is_none() {
            p.insert(
                format!("rm:{m}"),
                format!("没有措施“{m}” (no measure {m} to remove)"),
            );
        } else if !removed.contains(m) {
            removed.push(m.clone());
        }
    }
    if !p.is_empty() {
        return Err(p);
    }
    // The reform file: its own changes and measures, then the form's.
    let text = r.reform_text.trim();
    let (mut file, lines) = if text.is_empty() {
        (Reform::default(), Vec::new())
    } else if r.reform_text.len() > MAX_REFORM_TEXT {
        p.insert(
            "reform_text".into(),
            format!(
                "改革方案文件不超过 {} KiB (the reform file is at most {} KiB)",
                MAX_REFORM_TEXT / 1024,
                MAX_REFORM_TEXT / 1024
            ),
        );
        return Err(p);
    } else {
        match reform::parse_reform(&r.reform_text) {
            Ok(f) => (f, reform::change_lines(&r.reform_text)),
            Err(e) => {
                p.insert("reform_text".into(), e.to_string());
                return Err(p);
            }
        }
    };
    if !p.is_empty() {
        return Err(p);
    }
    file.changes.extend(changes);
    for m in removed {
        if !file.removed.contains(&m) {
            file.removed.push(m);
        }
    }
    let reform = if file.changes.is_empty() && file.removed.is_empty() && file.measures.is_empty() {
        None
    } else {
        if !r.title.trim().is_empty() || file.title.is_empty() {
            file.title = r.title.trim().to_string();
        }
        let applied = match sources {
            Some(files) => reform::apply_with_sources(files, lib, &file, &lines, "改革方案 reform"),
            None => reform::apply(lib, &file, &lines).map_err(|e| vec![e]),
        };
        match applied {
            Ok(l) => Some((file, l)),
            Err(errors) => {
                let field = if text.is_empty() {
                    "reform"
                } else {
                    "reform_text"
                };
                let words: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                p.insert(field.into(), words.join("\n"));
                return Err(p);
            }
        }
    };
    let (Some(from), Some(to)) = (from, to) else {
        unreachable!("no problem, so both dates parsed")
    };
    let title = match &reform {
        _ if !r.title.trim().is_empty() => r.title.trim().to_string(),
        Some((rf, _)) if !rf.title.is_empty() => rf.title.clone(),
        None => format!("基线 baseline {from} – {to}"),
        Some((rf, _)) => format!(
            "改革 reform ({} 项调整 changes) {from} – {to}",
            rf.changes.len() + rf.removed.len() + rf.measures.len()
        ),
    };
    Ok(Checked {
        title,
        from,
        to,
        population,
        reform,
        reform_text: (!text.is_empty()).then(|| r.reform_text.clone()),
    })
}

/// The problems as one message (the API's 400), each with its field.
pub(crate) fn problems_message(p: &Problems) -> String {
    p.iter()
        .map(|(f, m)| format!("{f}: {m}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn params_json(c: &Checked) -> J {
    let (changes, removed) = match &c.reform {
        None => (vec![], vec![]),
        Some((rf, _)) => (
            rf.changes
                .iter()
                .map(|ch| json!({"knob": ch.knob, "value": ch.value, "from": ch.from.map(|d| d.to_string())}))
                .collect(),
            rf.removed.clone(),
        ),
    };
    let (population, size) = match &c.population {
        Population::Stored => ("stored", None),
        Population::Synthetic(cal, n) => (cal.name, Some(*n)),
        Population::Uploaded(u) => (u.id.as_str(), Some(u.applicants as u64)),
    };
    // The measures a reform file rewrites: (edit, id) for the run's page.
    let measures: Vec<J> = c
        .reform
        .iter()
        .flat_map(|(rf, _)| &rf.measures)
        .map(|b| match &b.edit {
            reform::MeasureEdit::Replace { measure } => json!({"replace": measure}),
            reform::MeasureEdit::Add { document } => json!({"add_to": document}),
        })
        .collect();
    let upload = match &c.population {
        Population::Uploaded(u) => json!({"id": u.id, "name": u.name, "format": u.format,
            "applicants": u.applicants, "events": u.events, "sha256": u.sha256}),
        _ => J::Null,
    };
    json!({"from": c.from.to_string(), "to": c.to.to_string(), "population": population,
        "size": size, "upload": upload, "changes": changes, "removed": removed,
        "measures": measures, "reform_text": c.reform_text})
}

/// Records the run and starts it in the background; returns its id at once.
pub(crate) async fn start(st: &AppState, s: &Session, c: Checked) -> Result<String, AppError> {
    s.require_access(Access::Simulate)?;
    let actor = s.user.actor();
    let Ok(permit) = runs().try_acquire_owned() else {
        return Err(AppError::Conflict {
            code: "busy",
            message: format!(
                "已有 {RUNS_AT_ONCE} 个测算在运行,请稍后再试 ({RUNS_AT_ONCE} simulations are running; try again when one is done)"
            ),
        });
    };
    let ids = match &c.population {
        Population::Stored => st.store.population_ids(&actor).await?,
        _ => Vec::new(),
    };
    // An uploaded file is read whole now: deleting it later does not disturb the run.
    let upload = match &c.population {
        Population::Uploaded(u) => {
            Some(st.store.simulation_population_data(&actor, &u.id).await?.1)
        }
        _ => None,
    };
    let total = match &c.population {
        Population::Stored => ids.len() as u64,
        Population::Synthetic(_, n) => *n,
        Population::Uploaded(u) => u.applicants as u64,
    };
    let id = st
        .store
        .create_simulation_run(
            &actor,
            &s.user.name,
            &c.title,
            &params_json(&c),
            total as i64,
        )
        .await?;
    let store = st.store.clone();
    let lib = st.lib.clone();
    let run = id.clone();
    tokio::spawn(async move {
        let store2 = store.clone();
        let run2 = run.clone();
        let outcome =
            tokio::task::spawn_blocking(move || evaluate(&store2, &lib, &run2, &ids, upload, c))
                .await;
        // The evaluation is over: the slot is free before the result is written, so a caller
        // who sees the run done may start the next at once.
        drop(permit);
        let failed = match outcome {
            Ok(Ok(Some(result))) => match store.simulation_finished(&run, &result).await {
                Ok(_) => None,
                Err(e) => Some(format!("结果未能保存 (the result could not be saved): {e}")),
            },
            // Stopped, or marked failed meanwhile (abandoned): nothing more to write.
            Ok(Ok(None)) => None,
            Ok(Err(e)) => Some(e),
            Err(e) => {
                tracing::error!(run = %run, error = %e, "simulation task failed");
                Some("测算内部错误,已记录 (internal error in the simulation, logged)".into())
            }
        };
        if let Some(e) = failed
            && let Err(db) = store.simulation_failed(&run, &e).await
        {
            tracing::error!(run = %run, error = %db, "recording a failed simulation");
        }
    });
    Ok(id)
}

/// Applicants per batch evaluated at once (and per progress step of a synthetic or uploaded
/// population).
const BATCH: usize = 4_096;

/// Evaluates one batch under the baseline (and the reform, re-evaluating only the measures it
/// touches on the same columns).
fn add_batch<'l>(
    base: &mut kc_simulate::Simulation<'l>,
    reformed: Option<&mut kc_simulate::Simulation<'l>>,
    batch: Vec<kc_eval::Input>,
) {
    match reformed {
        Some(r) => {
            base.add_batch_with_reform(r, batch);
        }
        None => {
            base.add_batch(batch);
        }
    }
}

/// The evaluation, on a blocking thread: a synthetic or uploaded population batch by batch, or
/// each stored applicant's input read from the store, evaluated under the baseline (and the
/// reform), progress written after each batch (every [`PROGRESS_EVERY`] stored applicants).
/// Each progress step is where a stop takes effect: `Ok(None)` when the run was stopped (or
/// marked failed) meanwhile — the partial sums are dropped, never written as a result.
fn evaluate(
    store: &kc_store::Store,
    lib: &Library,
    run: &str,
    ids: &[String],
    upload: Option<Vec<u8>>,
    c: Checked,
) -> Result<Option<J>, String> {
    let rt = tokio::runtime::Handle::current();
    let mut base = kc_simulate::Simulation::new(lib, Some(c.from), Some(c.to));
    if c.reform.is_none() {
        // Nothing to compare: each recipient's total is not needed (see `totals_only`).
        base = base.totals_only();
    }
    let mut reformed = c
        .reform
        .as_ref()
        .map(|(_, l)| kc_simulate::Simulation::new(l, Some(c.from), Some(c.to)));
    // Writes the progress; `false`: the run was stopped (or failed) meanwhile — end here.
    let going = |done: u64| {
        rt.block_on(store.simulation_progress(run, done as i64))
            .map_err(|e| e.to_string())
    };
    if !going(0)? {
        return Ok(None);
    }
    if let (Population::Uploaded(u), Some(bytes)) = (&c.population, upload) {
        let format = match u.format.as_str() {
            "parquet" => kc_population::Format::Parquet,
            "jsonl" => kc_population::Format::Jsonl,
            _ => kc_population::Format::Csv,
        };
        let reader = kc_population::read_bytes(&u.name, bytes, format, lib, BATCH, c.to)
            .map_err(|e| format!("总体文件 {} 无法读取 (population {}): {e}", u.name, u.name))?;
        let mut done = 0u64;
        for batch in reader {
            let batch =
                batch.map_err(|e| format!("总体文件 {} (population {}): {e}", u.name, u.name))?;
            done += batch.len() as u64;
            add_batch(&mut base, reformed.as_mut(), batch);
            if !going(done)? {
                return Ok(None);
            }
        }
    }
    if let Population::Synthetic(cal, size) = c.population {
        // Generated over the run's period, evaluated batch by batch by the columnar engine;
        // the reform sees the same batches.
        let calibration = kc_population::Calibration::parse(cal.text)
            .map_err(|e| format!("校准文件 {} 无效 (calibration {}): {e}", cal.name, cal.name))?;
        let mut people =
            kc_population::generate_over(lib, &calibration, size, SEED, Some((c.from, c.to)))
                .map_err(|e| format!("生成总体失败 (generating the population): {e}"))?;
        let mut done = 0u64;
        loop {
            let batch: Vec<kc_eval::Input> = people.by_ref().take(BATCH).collect();
            if batch.is_empty() {
                break;
            }
            done += batch.len() as u64;
            add_batch(&mut base, reformed.as_mut(), batch);
            if !going(done)? {
                return Ok(None);
            }
        }
    }
    // Stored applicants are read in bulk (a few queries per chunk of them, not several per
    // applicant) and evaluated a batch at a time by the columnar engine, like the other
    // populations; progress and a stop are checked as they are parsed.
    const READ_CHUNK: usize = 500;
    let mut batch = Vec::new();
    let mut done = 0;
    for chunk in ids.chunks(READ_CHUNK) {
        let docs = rt.block_on(store.eval_inputs(chunk, c.to)).map_err(|e| {
            format!("申报主体的数据无法读取 (cannot read the stored applicants): {e}")
        })?;
        for (id, doc) in chunk.iter().zip(docs) {
            let input = kc_wire::parse_input_value(lib, &doc, None)
                .map_err(|e| format!("申报主体 {id} 的数据无效 (applicant {id}: {e})"))?;
            batch.push(input);
            done += 1;
            if batch.len() == BATCH || done == ids.len() {
                add_batch(&mut base, reformed.as_mut(), std::mem::take(&mut batch));
            }
            if (done % PROGRESS_EVERY == 0 || done == ids.len()) && !going(done as u64)? {
                return Ok(None);
            }
        }
    }
    let base = base.finish();
    let mut result = json!({"baseline": forecast_json(&base)});
    if let Some(r) = reformed {
        let r = r.finish();
        result["reform"] = forecast_json(&r);
        result["comparison"] = comparison_json(&kc_simulate::compare(&base, &r));
    }
    Ok(Some(result))
}

/// kc-simulate's JSON of a forecast, with each level's total over every line.
pub(crate) fn forecast_json(f: &kc_simulate::Forecast) -> J {
    let mut j = kc_simulate::to_json(f);
    let mut levels: BTreeMap<String, Money> = BTreeMap::new();
    for l in &f.lines {
        for (k, m) in &l.by_level {
            let e = levels.entry(k.clone()).or_insert(Money::ZERO);
            *e = *e + *m;
        }
    }
    j["levels"] = J::Object(
        levels
            .into_iter()
            .map(|(k, m)| (k, J::String(m.plain())))
            .collect(),
    );
    j
}

/// A comparison as JSON: per measure, year and level, and who gains or loses (the ten largest
/// changes with kind and region).
pub(crate) fn comparison_json(c: &kc_simulate::Comparison) -> J {
    let sum = |it: &mut dyn Iterator<Item = &(kc_simulate::Recipient, Money, Money)>| {
        it.fold((0usize, Money::ZERO), |(n, t), (_, b, r)| {
            (n + 1, t + (*r - *b))
        })
    };
    let (wn, wt) = sum(&mut c.winners());
    let (ln, lt) = sum(&mut c.losers());
    json!({
        "lines": c.lines.iter().map(|d| json!({
            "measure": d.measure, "year": d.year, "baseline": d.baseline.plain(), "reform": d.reform.plain(),
            "delta": d.delta().plain(),
            "by_level": d.by_level.iter().map(|(k, (b, r))| (k.clone(), json!({"baseline": b.plain(), "reform": r.plain()}))).collect::<serde_json::Map<_, _>>(),
        })).collect::<Vec<_>>(),
        "winners": {"count": wn, "total": wt.plain()},
        "losers": {"count": ln, "total": lt.plain()},
        "largest": c.changed.iter().take(10).map(|(r, b, a)| json!({
            "id": r.id, "name": r.name, "kind": r.kind, "region": r.region,
            "baseline": b.plain(), "reform": a.plain(), "delta": (*a - *b).plain(),
        })).collect::<Vec<_>>(),
    })
}

/// A run's result for a role: the applicants a reform changes are named (id and name) only to
/// roles that see every applicant; the others get their kind and region.
pub(crate) fn result_for(s: &Session, mut result: J) -> J {
    if !s.role().may(Access::AllApplicants)
        && let Some(largest) = result
            .pointer_mut("/comparison/largest")
            .and_then(J::as_array_mut)
    {
        for r in largest {
            if let Some(o) = r.as_object_mut() {
                o.remove("id");
                o.remove("name");
            }
        }
    }
    result
}

/// An amount of a result (decimal text in yuan).
pub(crate) fn money_of(j: &J) -> Money {
    j.as_str()
        .and_then(|t| Money::parse_amount(t).ok())
        .unwrap_or(Money::ZERO)
}

/// A run as the API gives it.
pub(crate) fn run_json(s: &Session, r: &kc_store::simulation::SimulationRun) -> J {
    let total = |k: &str| {
        r.result
            .as_ref()
            .and_then(|x| x.pointer(&format!("/{k}/total")))
            .cloned()
            .unwrap_or(J::Null)
    };
    json!({
        "id": r.id, "title": r.title, "created_by": r.created_by, "created_by_name": r.created_by_name,
        "created_at": r.created_at, "status": r.status, "done": r.done, "total": r.total,
        "from": r.params["from"], "to": r.params["to"], "changes": r.params["changes"], "removed": r.params["removed"],
        "baseline_total": total("baseline"), "reform_total": total("reform"),
        "error": r.error, "finished_at": r.finished_at, "stopped_by_name": r.stopped_by_name,
        "population": r.params["population"], "upload": r.params["upload"],
        "measures": r.params["measures"], "reform_text": r.params["reform_text"],
        "result": r.result.clone().map(|x| result_for(s, x)),
    })
}

/// Stops a queued or running run (the person who started it, or an admin): it is recorded as
/// stopped with its progress, and its runner ends at its next progress step without a result.
pub(crate) async fn stop(st: &AppState, s: &Session, id: &str) -> Result<(), AppError> {
    s.require_access(Access::Simulate)?;
    st.store
        .stop_simulation(&s.user.actor(), &s.user.name, id)
        .await?;
    Ok(())
}

/// The largest population file the platform takes (larger ones: `kechuang simulate`).
pub(crate) const MAX_UPLOAD: usize = 20 * 1024 * 1024;

/// The words of a file over [`MAX_UPLOAD`].
pub(crate) fn too_large() -> String {
    format!(
        "文件不超过 {} MiB (a population file may be at most {} MiB; larger ones with kechuang simulate)",
        MAX_UPLOAD >> 20,
        MAX_UPLOAD >> 20
    )
}

/// Checks an uploaded population file against the library — every row read, the first
/// problem named by its row and column as kc-population reports it — and keeps it. A problem
/// is the caller's to fix (`Ok(Err(words))`) and nothing is stored.
pub(crate) async fn upload(
    st: &AppState,
    s: &Session,
    filename: &str,
    bytes: Vec<u8>,
) -> Result<Result<UploadedPopulation, String>, AppError> {
    s.require_access(Access::Simulate)?;
    let filename = filename.trim();
    if bytes.is_empty() {
        return Ok(Err("请选择总体文件 (choose a population file)".into()));
    }
    if bytes.len() > MAX_UPLOAD {
        return Ok(Err(too_large()));
    }
    if filename.is_empty() || filename.chars().count() > 200 || filename.contains(['/', '\\']) {
        return Ok(Err(
            "文件名应为 名称.csv、.jsonl 或 .parquet (the file name: NAME.csv, .jsonl or .parquet)"
                .into(),
        ));
    }
    let format = match kc_population::Format::of(std::path::Path::new(filename)) {
        Ok(f) => f,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let lib = st.lib.clone();
    let (name, data) = (filename.to_string(), bytes.clone());
    let checked =
        tokio::task::spawn_blocking(move || kc_population::check_bytes(&name, data, format, &lib))
            .await
            .map_err(|e| AppError::Internal(format!("checking a population: {e}")))?;
    let counts = match checked {
        Ok(c) => c,
        Err(e) => return Ok(Err(format!("{filename}: {e}"))),
    };
    if counts.applicants == 0 {
        return Ok(Err(format!(
            "{filename}: 文件中没有申报主体 (the file holds no applicant)"
        )));
    }
    let p = st
        .store
        .add_simulation_population(
            &s.user.actor(),
            &s.user.name,
            &kc_store::simulation::NewPopulation {
                name: filename,
                format: format.name(),
                bytes: &bytes,
                applicants: counts.applicants as i64,
                events: counts.events as i64,
                rows: counts.rows as i64,
            },
        )
        .await?;
    Ok(Ok(p))
}

/// An uploaded population as the API gives it.
pub(crate) fn population_json(p: &UploadedPopulation) -> J {
    json!({"id": p.id, "name": p.name, "format": p.format, "size": p.size, "sha256": p.sha256,
        "applicants": p.applicants, "events": p.events, "rows": p.rows,
        "uploaded_by": p.uploaded_by, "uploaded_by_name": p.uploaded_by_name, "uploaded_at": p.uploaded_at})
}

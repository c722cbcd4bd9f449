//! What the 政策管理 pages and API compute beside the store: the cost difference of a version
//! against the active one over the stored applicants (the simulation engine), the comparison
//! of two versions (text, rules, amounts on the scenarios), and a document's skeleton from its
//! published text.

use crate::AppError;
use crate::AppState;
use crate::auth::Session;
use jiff::civil::Date;
use kc_check::Library;
use kc_money::Money;
use kc_store::versions::{VersionFile, is_policy_file, is_scenario_file};
use serde_json::{Value as J, json};
use std::sync::Arc;

/// Most applicants a cost difference evaluates on the page (larger populations: 测算).
pub(crate) const MAX_COST_APPLICANTS: usize = 20_000;

pub(crate) fn date(text: &str, field: &str) -> Result<Date, AppError> {
    match text.trim().parse::<Date>() {
        Ok(d) if text.trim().len() == 10 => Ok(d),
        _ => Err(AppError::BadRequest {
            code: "invalid",
            message: format!("{field}: “{text}” 不是有效日期 YYYY-MM-DD (not a valid date)"),
        }),
    }
}

/// The checked library of a version (drafts included), or why not.
pub(crate) fn library_of(files: &[VersionFile]) -> Result<Library, AppError> {
    let (check, lib) = kc_store::versions::check_files(files);
    lib.ok_or_else(|| AppError::Conflict {
        code: "draft_not_ready",
        message: format!(
            "该版本未通过检查,无法计算 (the version does not check): {}",
            check.blockers().join(";")
        ),
    })
}

/// The draft's cost against the active version over the stored applicants the caller may
/// simulate, events of `from ..= to`: per measure and year, baseline (active) and draft, with
/// the totals and who gains or loses.
pub(crate) async fn cost_difference(
    st: &AppState,
    s: &Session,
    draft: Arc<Library>,
    from: Date,
    to: Date,
) -> Result<J, AppError> {
    if from > to {
        return Err(AppError::BadRequest {
            code: "invalid",
            message: "期间起始晚于终止 (from is after to)".into(),
        });
    }
    let actor = s.user.actor();
    let ids = st.store.population_ids(&actor).await?;
    if ids.len() > MAX_COST_APPLICANTS {
        return Err(AppError::TooLarge(format!(
            "申报主体 {} 个,超过本页上限 {MAX_COST_APPLICANTS},请用测算页面或 kechuang simulate (more than {MAX_COST_APPLICANTS} applicants: use the 测算 page or kechuang simulate)",
            ids.len()
        )));
    }
    let docs = st.store.eval_inputs(&ids, to).await?;
    let active = st.lib.clone();
    let n = ids.len();
    let result = tokio::task::spawn_blocking(move || -> Result<J, String> {
        let mut base = kc_simulate::Simulation::new(&active, Some(from), Some(to));
        let mut new = kc_simulate::Simulation::new(&draft, Some(from), Some(to));
        // Each side's applicants evaluated at once by the columnar engine (its awards equal the
        // per-applicant engine's, tested).
        let (mut olds, mut news) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for doc in &docs {
            let input = kc_wire::parse_input_value(&active, doc, None).map_err(|e| e.to_string())?;
            olds.push(input);
            // The draft may change the vocabulary: an applicant it cannot read is named.
            let input = kc_wire::parse_input_value(&draft, doc, None).map_err(|e| {
                format!(
                    "草稿的词汇表无法读取申报主体 {} 的数据 (the draft's vocabulary cannot read applicant {}): {e}",
                    doc["applicant"]["id"].as_str().unwrap_or(""),
                    doc["applicant"]["id"].as_str().unwrap_or("")
                )
            })?;
            news.push(input);
        }
        base.add_batch(olds);
        new.add_batch(news);
        let (b, d) = (base.finish(), new.finish());
        let c = kc_simulate::compare(&b, &d);
        let gain: Money = c.winners().fold(Money::ZERO, |t, (_, x, y)| t + (*y - *x));
        let loss: Money = c.losers().fold(Money::ZERO, |t, (_, x, y)| t + (*y - *x));
        Ok(json!({
            "from": from.to_string(), "to": to.to_string(), "applicants": n,
            "active_total": b.total().plain(), "draft_total": d.total().plain(),
            "delta": (d.total() - b.total()).plain(),
            "lines": c.lines.iter().filter(|l| l.delta() != Money::ZERO).map(|l| json!({
                "measure": l.measure, "year": l.year, "active": l.baseline.plain(), "draft": l.reform.plain(),
                "delta": l.delta().plain(),
            })).collect::<Vec<_>>(),
            "winners": {"count": c.winners().count(), "total": gain.plain()},
            "losers": {"count": c.losers().count(), "total": loss.plain()},
        }))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    result.map_err(|m| AppError::Conflict {
        code: "vocabulary",
        message: m,
    })
}

/// A line diff of one file: (tag, line number on the left, on the right, text), with three
/// lines of context around each change.
pub(crate) fn diff_lines(
    old: &str,
    new: &str,
) -> Vec<(char, Option<usize>, Option<usize>, String)> {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    for group in diff.grouped_ops(3) {
        for op in group {
            for change in diff.iter_changes(&op) {
                let tag = match change.tag() {
                    similar::ChangeTag::Equal => ' ',
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                };
                out.push((
                    tag,
                    change.old_index().map(|i| i + 1),
                    change.new_index().map(|i| i + 1),
                    change.value().trim_end_matches('\n').to_string(),
                ));
            }
        }
        out.push(('…', None, None, String::new()));
    }
    out.pop();
    out
}

/// Two versions side by side: the files that differ (with their line diff), the measures
/// whose rules differ, and each scenario's amounts under both.
pub(crate) fn compare(left: &[VersionFile], right: &[VersionFile]) -> J {
    let get = |fs: &[VersionFile], p: &str| fs.iter().find(|f| f.path == p).map(|f| f.text.clone());
    let mut paths: Vec<&str> = left.iter().chain(right).map(|f| f.path.as_str()).collect();
    paths.sort();
    paths.dedup();
    let files: Vec<J> = paths
        .iter()
        .filter_map(|p| {
            let (a, b) = (get(left, p), get(right, p));
            (a != b).then(|| {
                let lines = diff_lines(a.as_deref().unwrap_or(""), b.as_deref().unwrap_or(""));
                json!({
                    "path": p,
                    "change": match (&a, &b) { (None, _) => "added", (_, None) => "removed", _ => "changed" },
                    "lines": lines.iter().map(|(t, o, n, x)| json!({"tag": t.to_string(), "old": o, "new": n, "text": x})).collect::<Vec<_>>(),
                })
            })
        })
        .collect();
    let (ll, rl) = (
        kc_store::versions::check_files(left).1,
        kc_store::versions::check_files(right).1,
    );
    let mut measures = Vec::new();
    let mut scenarios = Vec::new();
    if let (Some(l), Some(r)) = (&ll, &rl) {
        let mut ids: Vec<&String> = l
            .measure_index
            .keys()
            .chain(r.measure_index.keys())
            .collect();
        ids.sort();
        ids.dedup();
        // A measure evaluates differently when its rule, validity or a parameter it reads
        // changed (a rate set by a named parameter changes no measure's text).
        let reuse = kc_simulate::reform::reuse(l, r);
        for id in ids {
            let (a, b) = (l.measure(id), r.measure(id));
            let differs = |y: &kc_check::Measure| reuse[r.measure_index[&y.id]].is_none();
            let change = match (a, b) {
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                (Some(x), Some(y)) if x.source != y.source || x.valid != y.valid || differs(y) => {
                    "changed"
                }
                _ => continue,
            };
            measures.push(json!({
                "measure": id, "change": change,
                "label": b.or(a).map(|m| m.label.zh.clone()),
                "old": a.map(|m| m.source.clone()), "new": b.map(|m| m.source.clone()),
            }));
        }
        // Each scenario of either version, evaluated under both: the awards that differ.
        let mut spaths: Vec<&str> = left
            .iter()
            .chain(right)
            .filter(|f| is_scenario_file(&f.path))
            .map(|f| f.path.as_str())
            .collect();
        spaths.sort();
        spaths.dedup();
        for p in spaths {
            let text = get(right, p).or_else(|| get(left, p)).unwrap_or_default();
            let Ok(sc) = serde_json::from_str::<J>(&text) else {
                continue;
            };
            let amounts = |lib: &Library| -> Vec<(String, String, String)> {
                let Ok(input) = kc_wire::parse_input(lib, &sc["input"].to_string(), None) else {
                    return Vec::new();
                };
                let ev = kc_eval::evaluate(lib, &input);
                ev.awarded()
                    .map(|o| {
                        (
                            lib.measures[o.measure].id.clone(),
                            o.event
                                .map(|e| input.events[e].id.clone())
                                .unwrap_or_default(),
                            o.award
                                .as_ref()
                                .and_then(|a| a.amount)
                                .map(|m| m.plain())
                                .unwrap_or_else(|| "评审确定 by review".into()),
                        )
                    })
                    .collect()
            };
            let (a, b) = (amounts(l), amounts(r));
            if a != b {
                let key = |v: &Vec<(String, String, String)>, m: &str, e: &str| {
                    v.iter().find(|x| x.0 == m && x.1 == e).map(|x| x.2.clone())
                };
                let mut pairs: Vec<(String, String)> = a
                    .iter()
                    .chain(&b)
                    .map(|x| (x.0.clone(), x.1.clone()))
                    .collect();
                pairs.sort();
                pairs.dedup();
                let rows: Vec<J> = pairs
                    .iter()
                    .filter(|(m, e)| key(&a, m, e) != key(&b, m, e))
                    .map(|(m, e)| json!({"measure": m, "event": e, "old": key(&a, m, e), "new": key(&b, m, e)}))
                    .collect();
                scenarios.push(json!({"path": p, "name": sc["name"], "awards": rows}));
            }
        }
    }
    json!({
        "files": files,
        "measures": measures,
        "scenarios": scenarios,
        "checks": {"left": ll.is_some(), "right": rl.is_some()},
        "policy_files": {"left": left.iter().filter(|f| is_policy_file(&f.path)).count(), "right": right.iter().filter(|f| is_policy_file(&f.path)).count()},
    })
}

/// A literate skeleton of a document from its published text (as `kechuang policy new`).
pub(crate) fn skeleton(
    text: &str,
    number: &str,
    title: Option<&str>,
    valid: (&str, &str),
) -> Result<String, AppError> {
    let clauses = kc_syntax::skeleton::split(text);
    if clauses.is_empty() {
        return Err(AppError::BadRequest {
            code: "invalid",
            message: "text: 文本为空 (the text has no paragraph)".into(),
        });
    }
    let (from, to) = (date(valid.0, "valid_from")?, date(valid.1, "valid_to")?);
    if from > to {
        return Err(AppError::BadRequest {
            code: "invalid",
            message: "valid_from: 起始晚于终止 (from is after to)".into(),
        });
    }
    if number.trim().is_empty() || number.contains('"') || number.contains('\n') {
        return Err(AppError::BadRequest {
            code: "invalid",
            message: "number: 文号不能为空,不能含引号或换行 (the number: not empty, no quote or line break)".into(),
        });
    }
    // The title: as given, else the text's first line (as the command line does).
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let title: String = title
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(first)
        .chars()
        .take(80)
        .collect();
    Ok(kc_syntax::skeleton::render(
        number.trim(),
        &title,
        (&from.to_string(), &to.to_string()),
        &clauses,
    ))
}

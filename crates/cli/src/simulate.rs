//! `kechuang simulate`: the whole library over a population with the columnar engine, streamed
//! in batches (Parquet, CSV, JSON lines or the stored applicants), with a progress line, an
//! optional reform (a reform file re-evaluates the same batches: the population is read once),
//! the ledger's budgets beside the forecast, and traces of chosen applicants.

use crate::db;
use anyhow::{Context, Result, anyhow};
use jiff::civil::Date;
use kc_check::Library;
use kc_eval::Input;
use std::path::PathBuf;
use std::sync::Arc;

/// Applicants per batch read and evaluated: bounded memory, enough rows for every core.
const BATCH: usize = 65_536;

pub struct Args {
    pub population: Option<PathBuf>,
    pub from_database: bool,
    pub opt: db::DbOpt,
    pub from: Option<Date>,
    pub to: Date,
    pub format: Output,
    pub reform: Option<PathBuf>,
    pub budgets: bool,
    pub trace: Vec<String>,
}

pub enum Output {
    Text,
    Json,
    /// A workbook: one row per measure and year (with the reform's total and the delta).
    Xlsx(PathBuf),
}

enum Reform {
    /// A reform file over the baseline: same vocabulary, so the same parsed inputs serve both.
    Overlay(Library),
    /// A whole library directory: its own vocabulary, its own reading of the population.
    Library(Library),
}

fn progress() -> indicatif::ProgressBar {
    // Drawn on stderr only when it is a terminal: scripts and tests see clean output.
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} 测算中 simulating: {pos} 个申报主体 applicants ({per_sec}, {elapsed})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    pb
}

/// Calls `f` on each batch of `reader` while a thread reads the next ones: reading and parsing
/// a file is one thread's work, and it then overlaps the evaluation instead of alternating
/// with it. At most two batches wait, so memory stays bounded. Stops at `f`'s first error (the
/// reader then stops at its next batch).
fn for_each_read_ahead<T: Send>(
    reader: Box<dyn Iterator<Item = T> + Send + '_>,
    mut f: impl FnMut(T) -> Result<()>,
) -> Result<()> {
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<T>(2);
        let read = move || {
            for batch in reader {
                if tx.send(batch).is_err() {
                    break;
                }
            }
        };
        // Named, so that a profile tells the reading from the evaluation.
        std::thread::Builder::new()
            .name("kc-population-reader".into())
            .spawn_scoped(s, read)
            .context("starting the population reader thread")?;
        for batch in rx {
            f(batch)?;
        }
        Ok(())
    })
}

/// The population's batches, read against `lib`'s vocabulary.
fn batches<'l>(
    a: &Args,
    lib: &'l Library,
    stored: &'l Option<Vec<String>>,
) -> Result<Box<dyn Iterator<Item = Result<Vec<Input>>> + Send + 'l>> {
    if let Some(lines) = stored {
        let name = a.opt.database.clone();
        let mut inputs = lines.iter().enumerate().map(move |(i, l)| {
            kc_wire::parse_input(lib, l, None)
                .map_err(|e| anyhow!("{name}: applicant {}: {e}", i + 1))
        });
        return Ok(Box::new(std::iter::from_fn(move || {
            let mut batch = Vec::new();
            for input in inputs.by_ref() {
                match input {
                    Ok(i) => batch.push(i),
                    Err(e) => return Some(Err(e)),
                }
                if batch.len() == BATCH {
                    break;
                }
            }
            (!batch.is_empty()).then_some(Ok(batch))
        })));
    }
    let path = a.population.clone().expect("required by clap");
    let name = path.display().to_string();
    let reader =
        kc_population::read_as_of(&path, lib, BATCH, a.to).map_err(|e| anyhow!("{name}: {e}"))?;
    Ok(Box::new(
        reader.map(move |b| b.map_err(|e| anyhow!("{name}: {e}"))),
    ))
}

/// `sources`: the files `lib` was checked from, where a reform file's measures are checked.
pub fn run(a: Args, sources: &[kc_check::SourceFile], lib: Library) -> Result<()> {
    let reform = match &a.reform {
        None => None,
        Some(p) if p.is_dir() => Some(Reform::Library(crate::load_checked(Some(p.clone()))?)),
        Some(p) => Some(Reform::Overlay(reform_file(sources, &lib, p)?)),
    };
    let stored = if a.from_database {
        Some(db::stored_population(&a.opt, Arc::new(lib.clone()), a.to)?)
    } else {
        None
    };
    let pb = progress();
    let mut traced: Vec<Input> = Vec::new();
    let mut base = kc_simulate::Simulation::new(&lib, a.from, Some(a.to));
    if reform.is_none() {
        // Nothing to compare: each recipient's total is not needed (see `totals_only`).
        base = base.totals_only();
    }
    let mut overlay = match &reform {
        Some(Reform::Overlay(r)) => Some(kc_simulate::Simulation::new(r, a.from, Some(a.to))),
        _ => None,
    };
    let reader = batches(&a, &lib, &stored)?;
    for_each_read_ahead(reader, |batch| {
        let batch = batch?;
        pb.inc(batch.len() as u64);
        traced.extend(
            batch
                .iter()
                .filter(|i| a.trace.contains(&i.applicant.id))
                .cloned(),
        );
        // A reform of parameters rides on the baseline's laid-out batch: only the measures it
        // touches are evaluated again.
        match &mut overlay {
            Some(sim) => {
                base.add_batch_with_reform(sim, batch);
            }
            None => {
                base.add_batch(batch);
            }
        }
        Ok(())
    })?;
    let forecast = base.finish();
    let after = match (&reform, overlay) {
        (Some(Reform::Overlay(r)), Some(sim)) => Some((sim.finish(), r)),
        (Some(Reform::Library(r)), _) => {
            let mut sim = kc_simulate::Simulation::new(r, a.from, Some(a.to));
            for_each_read_ahead(batches(&a, r, &stored)?, |batch| {
                let batch = batch?;
                pb.inc(batch.len() as u64);
                sim.add_batch(batch);
                Ok(())
            })?;
            Some((sim.finish(), r))
        }
        _ => None,
    };
    pb.finish_and_clear();
    let budgets = if a.budgets {
        let keys: Vec<(String, i16)> = forecast
            .lines
            .iter()
            .map(|l| (l.measure.clone(), l.year))
            .collect();
        Some(db::stored_budgets(&a.opt, Arc::new(lib.clone()), &keys)?)
    } else {
        None
    };
    for id in &a.trace {
        if !traced.iter().any(|i| &i.applicant.id == id) {
            return Err(anyhow!(
                "--trace {id}: 总体中没有该申报主体 no applicant {id} in the population"
            ));
        }
    }
    if let Output::Xlsx(path) = &a.format {
        let (heads, rows) = kc_simulate::table(&lib, &forecast, after.as_ref().map(|(f, _)| f));
        let heads: Vec<&str> = heads.iter().map(String::as_str).collect();
        let bytes = kc_tabular::xlsx_bytes("测算 simulation", &heads, &rows)
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "已写入 written: {} ({} 行 rows; 合计 total {} 元)",
            path.display(),
            rows.len(),
            forecast.total().grouped()
        );
    } else if matches!(a.format, Output::Json) {
        let mut j = kc_simulate::to_json(&forecast);
        if let Some(b) = &budgets {
            j["budgets"] = serde_json::Value::Array(
                b.iter()
                    .map(|((m, y), levels)| {
                        serde_json::json!({
                            "measure": m, "year": y,
                            "by_level": levels.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.plain()))).collect::<serde_json::Map<_, _>>(),
                        })
                    })
                    .collect(),
            );
        }
        if let Some((after, _)) = &after {
            let c = kc_simulate::compare(&forecast, after);
            j = serde_json::json!({
                "baseline": j,
                "reform": kc_simulate::to_json(after),
                "delta": c.lines.iter().map(|d| serde_json::json!({
                    "measure": d.measure, "year": d.year, "baseline": d.baseline.plain(),
                    "reform": d.reform.plain(), "delta": d.delta().plain(),
                    "by_level": d.by_level.iter().map(|(k, (b, r))| (k.clone(), serde_json::json!({
                        "baseline": b.plain(), "reform": r.plain(),
                    }))).collect::<serde_json::Map<_, _>>(),
                })).collect::<Vec<_>>(),
                "winners": c.winners().count(),
                "losers": c.losers().count(),
                "changed": c.changed.iter().take(10).map(|(r, b, a)| serde_json::json!({
                    "applicant": r.id, "name": r.name, "kind": r.kind, "region": r.region,
                    "baseline": b.plain(), "reform": a.plain(),
                })).collect::<Vec<_>>(),
            });
        }
        println!("{}", serde_json::to_string_pretty(&j)?);
    } else {
        print!("{}", kc_simulate::render_text(&lib, &forecast));
        if let Some(b) = &budgets {
            println!();
            print!("{}", kc_simulate::render_budgets(&lib, &forecast, b));
        }
        if let Some((after, r)) = &after {
            println!();
            print!(
                "{}",
                kc_simulate::render_comparison(r, &kc_simulate::compare(&forecast, after))
            );
        }
        for input in &traced {
            // The per-applicant engine's trace: why each amount is what it is, clause by clause.
            let mut input = input.clone();
            input.events.retain(|e| e.date <= a.to);
            if input.as_of < a.to {
                input.as_of = a.to;
            }
            let ev = kc_eval::evaluate(&lib, &input);
            println!();
            println!(
                "追溯 trace {} {}:",
                input.applicant.id, input.applicant.name
            );
            print!("{}", crate::report::evaluation(&lib, &input, &ev));
        }
    }
    Ok(())
}

/// A reform file applied to the baseline: knobs set, measures removed, replaced or added (each
/// error with the file's line and column).
fn reform_file(
    sources: &[kc_check::SourceFile],
    base: &kc_check::Library,
    path: &std::path::Path,
) -> Result<kc_check::Library> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the reform {}", path.display()))?;
    let name = path.display().to_string();
    kc_simulate::reform::apply_file(sources, base, &name, &text).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("{name}: {e}")).collect();
        anyhow::anyhow!("{}", lines.join("\n"))
    })
}

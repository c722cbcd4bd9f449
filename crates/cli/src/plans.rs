//! `kechuang plan check|status|export`: the plan library in the terminal and a unit's report
//! (督办清单) as a spreadsheet.

use anyhow::{Context, Result, anyhow, bail};
use clap::{Subcommand, ValueEnum};
use jiff::civil::Date;
use kc_plans::{PlanLibrary, judge, milestone};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum PlanCommand {
    /// Parse and check the plan files, with coverage (检查计划库)
    Check,
    /// Indicators with status and tasks with milestones (计划执行情况)
    Status {
        /// Only this plan (its id)
        #[arg(long)]
        plan: Option<String>,
        /// Only the tasks this unit leads or co-operates on (督办清单)
        #[arg(long)]
        unit: Option<String>,
        /// The date to judge at (default today, China time)
        #[arg(long)]
        date: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// A unit's report as .xlsx or .csv: its tasks and milestones (督办清单导出)
    Export {
        #[arg(long)]
        unit: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        date: Option<String>,
    },
}

/// The plan files (path, text) and the checked library, or the rendered diagnostics.
type Loaded = (Vec<(String, String)>, Result<PlanLibrary, String>);

/// Reads and checks the plan files (`*.md`) of `dir`, in path order.
pub fn load(dir: &Path) -> Result<Loaded> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read plan library {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    paths.sort();
    let mut files = Vec::new();
    for p in paths {
        files.push((
            p.display().to_string(),
            std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?,
        ));
    }
    Ok(check(files))
}

/// Checks the shipped plan library, built into the binary (`plans/` of the workspace).
pub fn load_shipped() -> Loaded {
    check(crate::shipped::plans())
}

fn check(files: Vec<(String, String)>) -> Loaded {
    let (lib, diags) = kc_plans::check(&files);
    let rendered: String = diags
        .iter()
        .map(|d| kc_syntax::render(&d.diagnostic, &files[d.file].0, &files[d.file].1) + "\n")
        .collect();
    (files, lib.ok_or(rendered))
}

fn today() -> Date {
    jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date()
}

fn parse_date(s: Option<&str>) -> Result<Date> {
    match s {
        None => Ok(today()),
        Some(s) => match s.parse::<Date>() {
            Ok(d) if s.len() == 10 => Ok(d),
            _ => bail!("--date “{s}” is not a valid date (YYYY-MM-DD)"),
        },
    }
}

fn involves(t: &kc_plans::Task, unit: &str) -> bool {
    t.lead.contains(unit) || t.co.iter().any(|c| c.contains(unit))
}

pub fn run(cmd: PlanCommand, dir: Option<PathBuf>) -> Result<std::process::ExitCode> {
    let (files, lib) = match dir {
        Some(dir) => load(&dir)?,
        None => load_shipped(),
    };
    let lib = match lib {
        Ok(l) => l,
        Err(rendered) => {
            eprint!("{rendered}");
            if matches!(cmd, PlanCommand::Check) {
                println!("失败 failed: the plan library has errors");
                return Ok(std::process::ExitCode::from(1));
            }
            bail!("the plan library has errors; run `kechuang plan check`");
        }
    };
    match cmd {
        PlanCommand::Check => {
            let ind: usize = lib.plans.iter().map(|p| p.indicators.len()).sum();
            let tasks: usize = lib.plans.iter().map(|p| p.tasks.len()).sum();
            println!(
                "通过 ok: {} 个文件 files, {} 个计划 plans, {} 项指标 indicators, {} 项任务 tasks, {} 条实际值 actuals, {} 个责任单位 units",
                files.len(),
                lib.plans.len(),
                ind,
                tasks,
                lib.actuals.len(),
                lib.units.len()
            );
        }
        PlanCommand::Status {
            plan,
            unit,
            date,
            format,
        } => {
            let at = parse_date(date.as_deref())?;
            // An alias stands for its unit's canonical name (plans/units.md).
            let unit = unit.map(|u| lib.canonical_unit(&u).map(str::to_string).unwrap_or(u));
            let plans: Vec<_> = lib
                .plans
                .iter()
                .filter(|p| plan.as_deref().is_none_or(|id| p.id == id))
                .collect();
            if plans.is_empty() {
                bail!(
                    "no plan “{}” (plans: {})",
                    plan.unwrap_or_default(),
                    lib.plans
                        .iter()
                        .map(|p| p.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            let mut out = Vec::new();
            for p in &plans {
                let indicators: Vec<_> = p
                    .indicators
                    .iter()
                    .map(|i| {
                        let j = judge(i, &lib.actuals_of(&p.id, &i.id), at);
                        json!({
                            "id": i.id, "name": i.name, "unit": i.unit, "clause": i.clause, "target": i.target.normalize().to_string(),
                            "deadline": i.deadline.to_string(), "baseline": i.baseline.map(|(v, d)| json!({"value": v.normalize().to_string(), "date": d.to_string()})),
                            "actual": j.actual.map(|(v, d)| json!({"value": v.normalize().to_string(), "date": d.to_string()})),
                            "expected": j.expected.map(|e| e.round_dp(2).normalize().to_string()),
                            "status": j.status.code(), "status_zh": j.status.zh(),
                        })
                    })
                    .collect();
                let tasks: Vec<_> = p
                    .tasks
                    .iter()
                    .filter(|t| unit.as_deref().is_none_or(|u| involves(t, u)))
                    .map(|t| {
                        json!({
                            "number": t.number, "title": t.title, "lead": t.lead, "co": t.co, "clause": t.clause,
                            "milestones": t.milestones.iter().map(|(y, text)| {
                                let s = milestone(&lib, &p.id, &t.number, *y, at);
                                json!({"year": y, "text": text, "status": s.code(), "status_zh": s.zh()})
                            }).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                out.push(json!({"plan": p.id, "document": p.document, "period": [p.period.0.to_string(), p.period.1.to_string()], "as_of": at.to_string(), "indicators": indicators, "tasks": tasks}));
            }
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&out)?),
                Format::Text => {
                    for p in &out {
                        println!(
                            "{}  ({} – {})  评估日期 as of {}",
                            p["document"].as_str().unwrap_or(""),
                            p["period"][0].as_str().unwrap_or(""),
                            p["period"][1].as_str().unwrap_or(""),
                            at
                        );
                        if unit.is_none() {
                            println!("  指标 indicators:");
                            for i in p["indicators"].as_array().into_iter().flatten() {
                                println!(
                                    "    [{}] {} 目标 {}{} ({})  实际 {}  应达 {}",
                                    i["status_zh"].as_str().unwrap_or(""),
                                    i["name"].as_str().unwrap_or(""),
                                    i["target"].as_str().unwrap_or(""),
                                    i["unit"].as_str().unwrap_or(""),
                                    i["deadline"].as_str().unwrap_or(""),
                                    i["actual"]["value"]
                                        .as_str()
                                        .map(|v| format!(
                                            "{v} ({})",
                                            i["actual"]["date"].as_str().unwrap_or("")
                                        ))
                                        .unwrap_or_else(|| "—".into()),
                                    i["expected"].as_str().unwrap_or("—"),
                                );
                            }
                        }
                        println!(
                            "  任务 tasks{}:",
                            unit.as_deref()
                                .map(|u| format!(" of {u}"))
                                .unwrap_or_default()
                        );
                        for t in p["tasks"].as_array().into_iter().flatten() {
                            let ms: Vec<String> = t["milestones"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|m| {
                                    format!(
                                        "{} {}",
                                        m["year"],
                                        m["status_zh"].as_str().unwrap_or("")
                                    )
                                })
                                .collect();
                            println!(
                                "    {}. {}  牵头 {}  {}",
                                t["number"].as_str().unwrap_or(""),
                                t["title"].as_str().unwrap_or(""),
                                t["lead"].as_str().unwrap_or(""),
                                ms.join(" · ")
                            );
                        }
                        println!();
                    }
                }
            }
        }
        PlanCommand::Export { unit, out, date } => {
            let at = parse_date(date.as_deref())?;
            let headers = kc_plans::UNIT_REPORT_HEADERS;
            let rows = kc_plans::unit_report(&lib, &unit, at);
            if rows.is_empty() {
                bail!("no task names the unit “{unit}”");
            }
            kc_tabular::write(&out, "督办清单", &headers, &rows).map_err(|e| anyhow!("{e}"))?;
            println!(
                "导出完成 exported {} rows for {unit} → {}",
                rows.len(),
                out.display()
            );
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

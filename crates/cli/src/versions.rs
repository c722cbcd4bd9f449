//! `kechuang library`: the library versions kept in the database (issue 14, item 1) — list
//! them, export one to files, import files as a new draft, and the four-eyes steps (submit,
//! approve) for operators without the browser.

use crate::db::{self, DbOpt};
use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use kc_store::versions::{self, VersionFile};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum LibraryCommand {
    /// Write the library of this build (or --policies DIR) as version 1 of a database that
    /// holds none yet — what `serve` does on its first start
    Seed,
    /// Every version, newest first: state, who drafted and approved it, the active one
    List,
    /// Write a version's files (policies/*.md, tests/scenarios/*.json) under DIR
    Export {
        /// The version (default: the active one)
        #[arg(long)]
        version: Option<i64>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Read DIR/policies/*.md and DIR/tests/scenarios/*.json as a new draft
    Import {
        dir: PathBuf,
        /// What the draft changes (修订说明)
        #[arg(long)]
        title: String,
        /// policy_author:NAME (or admin:NAME)
        #[arg(long = "as")]
        actor: String,
    },
    /// Check a version: diagnostics with line and column, scenarios, coverage gaps
    Check { version: i64 },
    /// Submit a draft for approval (refused while it has a diagnostic, a failing scenario or a gap)
    Submit {
        version: i64,
        #[arg(long = "as")]
        actor: String,
    },
    /// Approve and publish a submitted draft: a second person, never its drafter or submitter
    Approve {
        version: i64,
        #[arg(long = "as")]
        actor: String,
        /// From when it applies (default: today)
        #[arg(long)]
        applies_from: Option<String>,
    },
}

/// Reads `dir/policies/*.md` and `dir/tests/scenarios/*.json`.
fn read_files(dir: &Path) -> Result<Vec<VersionFile>> {
    let mut out = Vec::new();
    for (sub, ext) in [("policies", "md"), ("tests/scenarios", "json")] {
        let d = dir.join(sub);
        let Ok(entries) = std::fs::read_dir(&d) else {
            if sub == "policies" {
                bail!(
                    "{}: 没有 policies 目录 (no policies/ directory)",
                    d.display()
                );
            }
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(&format!(".{ext}")))
            .collect();
        names.sort();
        for n in names {
            let p = d.join(&n);
            let text =
                std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            out.push(VersionFile {
                path: format!("{sub}/{n}"),
                text,
            });
        }
    }
    Ok(out)
}

pub fn run(
    cmd: LibraryCommand,
    opt: DbOpt,
    lib: std::sync::Arc<kc_check::Library>,
    seed: Vec<VersionFile>,
) -> Result<()> {
    let rt = db::runtime()?;
    rt.block_on(async move {
        let store = db::open(&opt.database, lib).await?;
        let operator = kc_store::Actor::new("cli", kc_domain::Role::Admin);
        match cmd {
            LibraryCommand::Seed => {
                let (v, new) = store.seed_library(&seed).await?;
                if new {
                    println!("政策库版本 {v} 已写入 ({} 个文件) library version {v} seeded", seed.len());
                } else {
                    println!("数据库已有生效版本 {v},未写入 (version {v} is already active; nothing written)");
                }
            }
            LibraryCommand::List => {
                for v in store.library_versions(&operator).await? {
                    println!(
                        "{}{:>4}  {:<9} {}  起草 {}{}{}  {}",
                        if v.active { "*" } else { " " },
                        v.id,
                        v.state,
                        &v.hash[..12.min(v.hash.len())],
                        v.drafted_by,
                        v.approved_by
                            .as_deref()
                            .map(|a| format!(" 批准 {a}"))
                            .unwrap_or_default(),
                        v.applies_from
                            .as_deref()
                            .map(|a| format!(" 自 {a} 起适用"))
                            .unwrap_or_default(),
                        v.title
                    );
                }
            }
            LibraryCommand::Export { version, out } => {
                let id = match version {
                    Some(v) => v,
                    None => store.refresh_library().await?.ok_or_else(|| {
                        anyhow!("数据库中还没有政策库版本 (no library version in the database)")
                    })?,
                };
                let v = store.version_any(id).await?;
                for f in &v.files {
                    let p = out.join(&f.path);
                    if let Some(parent) = p.parent() {
                        std::fs::create_dir_all(parent)
                            .with_context(|| format!("creating {}", parent.display()))?;
                    }
                    std::fs::write(&p, &f.text)
                        .with_context(|| format!("writing {}", p.display()))?;
                }
                println!(
                    "版本 {id} 已导出 {} 个文件到 {} (sha256 {}) exported",
                    v.files.len(),
                    out.display(),
                    v.summary.hash
                );
            }
            LibraryCommand::Import { dir, title, actor } => {
                let actor = db::parse_actor(&actor)?;
                let files = read_files(&dir)?;
                let id = store
                    .create_draft(
                        &actor,
                        &actor.id,
                        &title,
                        store.active().version,
                        Some(files),
                    )
                    .await?;
                println!("草稿 {id} 已导入 imported as draft {id}");
                let check = store.check_version(&actor, id).await?;
                print_check(&check);
            }
            LibraryCommand::Check { version } => {
                let check = store.check_version(&operator, version).await?;
                print_check(&check);
                if !check.ready() {
                    bail!("版本 {version} 不能发布 (version {version} is not ready to publish)");
                }
            }
            LibraryCommand::Submit { version, actor } => {
                let actor = db::parse_actor(&actor)?;
                store.submit_draft(&actor, version).await?;
                println!("草稿 {version} 已提交待批准 submitted");
            }
            LibraryCommand::Approve {
                version,
                actor,
                applies_from,
            } => {
                let actor = db::parse_actor(&actor)?;
                let from = applies_from
                    .as_deref()
                    .map(|d| {
                        d.parse::<jiff::civil::Date>()
                            .map_err(|_| anyhow!("--applies-from “{d}”: 应为 YYYY-MM-DD"))
                    })
                    .transpose()?;
                store
                    .approve_draft(&actor, &actor.id, version, from)
                    .await?;
                println!("版本 {version} 已发布并生效 published and active");
            }
        }
        Ok(())
    })
}

fn print_check(c: &versions::DraftCheck) {
    for d in &c.diagnostics {
        println!("{}", d.rendered);
    }
    for s in c.scenarios.iter().filter(|s| !s.passed) {
        println!(
            "场景未通过 scenario failed: {} {}",
            s.path,
            s.problems.join("; ")
        );
    }
    for g in &c.gaps {
        println!(
            "覆盖缺口 coverage gap: {} {} {}",
            g.document, g.clause, g.heading
        );
    }
    println!(
        "{} 份文件, {} 项措施, {} 个场景 ({} 通过), {} 条诊断, {} 个缺口: {}",
        c.documents,
        c.measures,
        c.scenarios.len(),
        c.scenarios.iter().filter(|s| s.passed).count(),
        c.diagnostics.len(),
        c.gaps.len(),
        if c.ready() {
            "可以发布 ready to publish"
        } else {
            "不能发布 not ready"
        }
    );
}

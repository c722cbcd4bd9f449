//! `kechuang market`: the S&T market's search index and matching quality from the command
//! line — rebuild the index from the database, import and export listings, and evaluate the
//! matcher on the shipped labelled sample against the character-bigram baseline.

use crate::db::DbOpt;
use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use kc_domain::Role;
use kc_market::Side;
use kc_store::Actor;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum MarketCommand {
    /// Rebuild the search index from the database (after editing the dictionary, or to repair)
    Reindex,
    /// Recall@10, precision@10, nDCG@10 and MRR of the matcher on a labelled sample, beside a
    /// character-bigram baseline (default: the shipped sample, data/market/sample)
    Eval {
        /// A directory with achievements.csv, demands.csv and labels.csv
        #[arg(long)]
        sample: Option<PathBuf>,
    },
    /// Import achievements or demands from CSV or xlsx, all or nothing, published (staff)
    Import {
        #[arg(long, conflicts_with = "demands", required_unless_present = "demands")]
        achievements: Option<PathBuf>,
        #[arg(long)]
        demands: Option<PathBuf>,
        /// Add the imported listings to this 对接会
        #[arg(long)]
        fair: Option<String>,
    },
    /// Export achievements or demands to .xlsx or .csv
    Export {
        /// `achievements` or `demands`
        side: String,
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(cmd: MarketCommand, opt: DbOpt, lib: Arc<kc_check::Library>) -> Result<()> {
    if let MarketCommand::Eval { sample } = &cmd {
        let dict = opt.market_dictionary()?;
        let sample = match sample {
            Some(dir) => kc_market::eval::Sample::read_dir(dir).map_err(|e| anyhow!("{e}"))?,
            None => kc_market::eval::Sample::builtin(),
        };
        let base = kc_market::Dictionary::builtin();
        let dict = match dict {
            Some(extra) => base.merge(extra),
            None => base,
        };
        let report = kc_market::eval::evaluate(&sample, &dict);
        print!("{}", report.render());
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let store = opt.open(lib).await?;
        let staff = Actor::new("cli", Role::Admin);
        match cmd {
            MarketCommand::Eval { .. } => unreachable!("handled above"),
            MarketCommand::Reindex => {
                let n = store.market_reindex().await?;
                println!("索引已重建 reindexed: {n} published listings");
            }
            MarketCommand::Import {
                achievements,
                demands,
                fair,
            } => {
                let (side, path) = match (achievements, demands) {
                    (Some(p), None) => (Side::Achievement, p),
                    (None, Some(p)) => (Side::Demand, p),
                    _ => bail!("give --achievements FILE or --demands FILE"),
                };
                let t = kc_tabular::read(&path).map_err(|e| anyhow!("{e}"))?;
                let name = path.display().to_string();
                let checked = match store.validate_listing_import(side, &name, &t.headers, &t.rows)
                {
                    Ok(c) => c,
                    Err(errors) => {
                        for e in errors.iter().take(50) {
                            eprintln!("{e}");
                        }
                        bail!(
                            "导入未执行 nothing imported: {} problem(s) found (showing up to 50)",
                            errors.len()
                        );
                    }
                };
                let ids = store
                    .import_listings(&staff, &checked, fair.as_deref())
                    .await
                    .map_err(|e| anyhow!("导入未执行 nothing imported: {e}"))?;
                println!("导入完成 imported: {} {}", ids.len(), side.zh());
            }
            MarketCommand::Export { side, out } => {
                let side = match side.as_str() {
                    "achievements" | "achievement" => Side::Achievement,
                    "demands" | "demand" => Side::Demand,
                    other => bail!("“{other}”: achievements or demands"),
                };
                let (headers, rows) = store.listings_table(&staff, side).await?;
                let heads: Vec<&str> = headers.iter().map(String::as_str).collect();
                kc_tabular::write(&out, side.zh(), &heads, &rows).map_err(|e| anyhow!("{e}"))?;
                println!("导出完成 exported {} rows → {}", rows.len(), out.display());
            }
        }
        Ok(())
    })
}

//! `kechuang population`: generate a synthetic population from a calibration file, and check a
//! population file (Parquet, CSV or JSON lines; docs/population.md).

use anyhow::{Result, anyhow};
use clap::Subcommand;
use jiff::civil::Date;
use kc_check::Library;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum PopulationCommand {
    /// Write a synthetic population whose counts and distributions follow a calibration file;
    /// the same seed gives the same file (生成合成人口)
    Generate {
        /// Applicants to generate: a proportional sample of the population the calibration
        /// describes
        #[arg(long)]
        size: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The calibration file (TOML), e.g. data/population/shenyang.toml
        #[arg(long, value_name = "FILE")]
        calibrate: PathBuf,
        /// The output: .parquet, .csv or .jsonl
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// First day of the period (default: the calibration's)
        #[arg(long)]
        from: Option<String>,
        /// Last day of the period (default: the calibration's)
        #[arg(long)]
        to: Option<String>,
    },
    /// Read a population file whole: its applicants and events, or its first error with row
    /// and column (检查人口文件)
    Check {
        /// A .parquet, .csv or .jsonl population
        file: PathBuf,
    },
}

fn day(s: Option<&str>, what: &str) -> Result<Option<Date>> {
    s.map(|d| {
        d.parse::<Date>()
            .map_err(|_| anyhow!("--{what}: “{d}”不是日期 (not a date YYYY-MM-DD)"))
    })
    .transpose()
}

pub fn run(cmd: PopulationCommand, lib: &Library) -> Result<()> {
    match cmd {
        PopulationCommand::Generate {
            size,
            seed,
            calibrate,
            out,
            from,
            to,
        } => {
            let cal = kc_population::Calibration::load(&calibrate)
                .map_err(|e| anyhow!("{}: {e}", calibrate.display()))?;
            let (cf, ct) = cal
                .period()
                .map_err(|e| anyhow!("{}: {e}", calibrate.display()))?;
            let period = match (day(from.as_deref(), "from")?, day(to.as_deref(), "to")?) {
                (None, None) => None,
                (f, t) => Some((f.unwrap_or(cf), t.unwrap_or(ct))),
            };
            let inputs = kc_population::generate_over(lib, &cal, size, seed, period)
                .map_err(|e| anyhow!("{}: {e}", calibrate.display()))?;
            let c = kc_population::write(&out, lib, inputs)
                .map_err(|e| anyhow!("{}: {e}", out.display()))?;
            println!(
                "已生成 generated {} 个申报主体 applicants, {} 个事项 events, {} 行 rows → {} (种子 seed {seed}, 校准 calibration {})",
                c.applicants,
                c.events,
                c.rows,
                out.display(),
                cal.name
            );
        }
        PopulationCommand::Check { file } => {
            let c =
                kc_population::check(&file, lib).map_err(|e| anyhow!("{}: {e}", file.display()))?;
            println!(
                "通过 ok: {} 个申报主体 applicants, {} 个事项 events, {} 行 rows",
                c.applicants, c.events, c.rows
            );
        }
    }
    Ok(())
}

//! `kechuang`: the command-line tool. Glue only — load and check a library, read input,
//! evaluate, print. Errors are `anyhow` here and nowhere below.

mod db;
mod market;
mod plans;
mod population;

// mimalloc instead of glibc's malloc: in a profile of PostgreSQL approvals a fifth of this
// process's CPU was malloc/free (see docs/benchmarks.md). Built without transparent huge pages
// (feature `no_thp`): asking for them made a simulation's freed and retaken memory cost a
// zeroed 2 MiB page each time (a quarter of `simulate`'s time went to clearing pages).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
mod report;
mod shipped;
mod simulate;
mod versions;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use jiff::civil::Date;
use kc_check::{Checked, Library, SourceFile};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "kechuang",
    version,
    about = "科创 — S&T innovation policy as code"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Split an official document's text into its clauses by their numbering (一、 (一) 1.
    /// (1)), each quoted verbatim under its heading, none encoded yet: `coverage` then lists
    /// what remains
    New {
        /// The document's text (UTF-8), one paragraph per line
        #[arg(long)]
        text: PathBuf,
        /// The document number (文号), e.g. 沈政发〔2025〕3号
        #[arg(long, default_value = "待定〔0000〕0号")]
        number: String,
        /// The title (default: the text's first line)
        #[arg(long)]
        title: Option<String>,
        /// The validity FROM..TO (default: 1 January of this year, for five years)
        #[arg(long, value_name = "FROM..TO")]
        valid: Option<String>,
        /// Write the file here instead of standard output
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum SimFormat {
    Text,
    Json,
    Xlsx,
}

#[derive(Clone, Copy, ValueEnum)]
enum VocabFormat {
    Markdown,
    JsonSchema,
}

/// Unified login (统一身份认证) through OpenID Connect: off unless the issuer is given.
#[derive(clap::Args, Debug)]
struct OidcArgs {
    /// The OpenID Connect issuer URL (its /.well-known/openid-configuration is read); turns on
    /// 统一身份认证登录 beside passwords
    #[arg(long, env = "KECHUANG_OIDC_ISSUER", value_name = "URL")]
    oidc_issuer: Option<String>,
    /// The client id registered with the provider
    #[arg(long, env = "KECHUANG_OIDC_CLIENT_ID", value_name = "ID")]
    oidc_client_id: Option<String>,
    /// The client secret (omit for a public client: PKCE alone); prefer the environment
    /// variable, which does not show in the process list
    #[arg(
        long,
        env = "KECHUANG_OIDC_CLIENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    oidc_client_secret: Option<String>,
    /// This platform's callback as registered: https://HOST/login/oidc/callback
    #[arg(long, env = "KECHUANG_OIDC_REDIRECT_URL", value_name = "URL")]
    oidc_redirect_url: Option<String>,
    /// Scopes besides openid, separated by spaces (those that release the claims below)
    #[arg(long, env = "KECHUANG_OIDC_SCOPES", default_value = "profile")]
    oidc_scopes: String,
    /// The claim holding an organisation's 统一社会信用代码
    #[arg(long, env = "KECHUANG_OIDC_USCC_CLAIM", default_value = "uscc")]
    oidc_uscc_claim: String,
    /// The claim holding a staff member's id (工号)
    #[arg(long, env = "KECHUANG_OIDC_STAFF_CLAIM", default_value = "staff_id")]
    oidc_staff_claim: String,
}

impl OidcArgs {
    fn config(self) -> Result<Option<kc_server::OidcConfig>> {
        let Some(issuer) = self.oidc_issuer.filter(|s| !s.trim().is_empty()) else {
            if self.oidc_client_id.is_some() || self.oidc_redirect_url.is_some() {
                bail!(
                    "--oidc-client-id/--oidc-redirect-url: 须同时给出 --oidc-issuer (needs --oidc-issuer)"
                );
            }
            return Ok(None);
        };
        let check_url = |flag: &str, v: &str| -> Result<()> {
            if v.starts_with("https://") || v.starts_with("http://") {
                Ok(())
            } else {
                bail!("{flag}: “{v}” 不是 http(s) 地址 (not an http(s) URL)")
            }
        };
        check_url("--oidc-issuer", &issuer)?;
        let Some(client_id) = self.oidc_client_id.filter(|s| !s.is_empty()) else {
            bail!("--oidc-client-id: 启用统一身份认证时必填 (required with --oidc-issuer)");
        };
        let Some(redirect_url) = self.oidc_redirect_url.filter(|s| !s.is_empty()) else {
            bail!("--oidc-redirect-url: 启用统一身份认证时必填 (required with --oidc-issuer)");
        };
        check_url("--oidc-redirect-url", &redirect_url)?;
        Ok(Some(kc_server::OidcConfig {
            issuer,
            client_id,
            client_secret: self.oidc_client_secret.filter(|s| !s.is_empty()),
            redirect_url,
            scopes: self
                .oidc_scopes
                .split_whitespace()
                .filter(|s| *s != "openid")
                .map(String::from)
                .collect(),
            uscc_claim: self.oidc_uscc_claim,
            staff_claim: self.oidc_staff_claim,
        }))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Parse and type-check a policy library; print diagnostics (检查政策库)
    Check {
        /// The library directory (default: the shipped `policies/`)
        dir: Option<PathBuf>,
    },
    /// Evaluate one applicant against the library (政策计算)
    Eval {
        /// Input file, `kechuang/eval-input/v1` JSON (`-` for standard input)
        #[arg(long, required_unless_present = "applicant")]
        input: Option<PathBuf>,
        /// Instead of a file: a stored applicant (统一社会信用代码), with its events and its
        /// history from the ledger of `--database`
        #[arg(long, conflicts_with = "input")]
        applicant: Option<String>,
        /// Database for `--applicant` (default kechuang.db)
        #[arg(long, default_value = "kechuang.db")]
        database: String,
        #[arg(long)]
        policies: Option<PathBuf>,
        /// As-of date YYYY-MM-DD (overrides the input's `as_of`)
        #[arg(long)]
        date: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// List every measure with its document, clause and amount rule (措施清单)
    List {
        #[arg(long)]
        policies: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Show a measure's quoted clause and its rule (条款与规则)
    Explain {
        measure: String,
        #[arg(long)]
        policies: Option<PathBuf>,
    },
    /// Start the platform: web UI and JSON API (启动平台). First start on an empty database
    /// creates the admin account and, unless --no-demo, loads the demo data and accounts.
    Serve {
        /// Address to listen on
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        #[command(flatten)]
        opt: db::DbOpt,
        #[arg(long)]
        policies: Option<PathBuf>,
        /// An empty production instance: no demo data, no demo accounts
        #[arg(long)]
        no_demo: bool,
        /// Mark cookies `Secure` (serve behind HTTPS)
        #[arg(long)]
        secure_cookies: bool,
        /// Take the client's address from X-Forwarded-For (only behind your own reverse proxy)
        #[arg(long)]
        trust_proxy: bool,
        /// Calculator evaluations per minute per address for callers without a session
        #[arg(long, default_value_t = 60)]
        anon_calc_per_minute: u32,
        /// Other requests per minute per address for callers without a session
        #[arg(long, default_value_t = 600)]
        anon_read_per_minute: u32,
        /// The 公示 periods a reviewer may choose, MIN-MAX in days (default 5-30)
        #[arg(long, value_name = "MIN-MAX")]
        notice_days: Option<String>,
        /// Virus scanner run on every uploaded file before it is stored: a program and its
        /// arguments, split at spaces (no shell), the file's path appended; a non-zero exit (or
        /// no answer within 60 s) refuses the upload. E.g. "clamscan --no-summary" or "clamdscan --fdpass --no-summary"
        #[arg(long, value_name = "COMMAND")]
        scan_command: Option<String>,
        #[command(flatten)]
        oidc: OidcArgs,
    },
    /// Plans and targets: check, status, a unit's report (计划与目标)
    Plan {
        #[command(subcommand)]
        cmd: plans::PlanCommand,
        /// The plan library directory (default: the shipped plans/)
        #[arg(long, global = true)]
        plans: Option<PathBuf>,
    },
    /// Library versions in the database: list, export, import as a draft, check, submit,
    /// approve (政策库版本)
    Library {
        #[command(subcommand)]
        cmd: versions::LibraryCommand,
        #[command(flatten)]
        opt: db::DbOpt,
        #[arg(long, global = true)]
        policies: Option<PathBuf>,
    },
    /// Database administration: init, migrate, status, backup, restore (数据库)
    Db {
        #[command(subcommand)]
        cmd: db::DbCommand,
        #[command(flatten)]
        opt: db::DbOpt,
        #[arg(long, global = true)]
        policies: Option<PathBuf>,
    },
    /// Import applicants and events from CSV or xlsx, all or nothing (导入)
    Import {
        #[arg(long)]
        applicants: Option<PathBuf>,
        #[arg(long)]
        events: Option<PathBuf>,
        #[command(flatten)]
        opt: db::DbOpt,
        #[arg(long)]
        policies: Option<PathBuf>,
    },
    /// Export applications or the ledger to .xlsx or .csv (导出)
    Export {
        #[command(subcommand)]
        what: db::ExportWhat,
        /// Output file, .xlsx or .csv
        #[arg(long, global = true)]
        out: Option<PathBuf>,
        #[command(flatten)]
        opt: db::DbOpt,
        #[arg(long, global = true)]
        policies: Option<PathBuf>,
    },
    /// Applications and their workflow (申报与审核)
    App {
        #[command(subcommand)]
        cmd: db::AppCommand,
        #[command(flatten)]
        opt: db::DbOpt,
        #[arg(long, global = true)]
        policies: Option<PathBuf>,
        /// The 公示 periods `act --notice-days` may choose, MIN-MAX in days (default 5-30;
        /// `serve --notice-days` sets the same for the platform)
        #[arg(long, global = true, value_name = "MIN-MAX")]
        notice_range: Option<String>,
    },
    /// Budgets per measure, year and level (预算)
    Budget {
        #[command(subcommand)]
        cmd: db::BudgetCommand,
        #[command(flatten)]
        opt: db::DbOpt,
        #[arg(long, global = true)]
        policies: Option<PathBuf>,
    },
    /// The S&T market: rebuild the search index, import or export listings, evaluate the
    /// matcher on the labelled sample (科技大市场)
    Market {
        #[command(subcommand)]
        cmd: market::MarketCommand,
        #[command(flatten)]
        opt: db::DbOpt,
        #[arg(long, global = true)]
        policies: Option<PathBuf>,
    },
    /// Synthetic populations and population files (Parquet, CSV, JSON lines) for `simulate`
    Population {
        #[command(subcommand)]
        cmd: population::PopulationCommand,
        #[arg(long, global = true)]
        policies: Option<PathBuf>,
    },
    /// Policy cost simulation: the whole library over a population, per measure and year —
    /// recipients, totals, each level's share, review cases apart, the distribution (测算)
    Simulate {
        /// The population: .parquet or .csv (docs/population.md), or JSON lines of
        /// `kechuang/eval-input/v1` documents
        #[arg(long, required_unless_present = "from_database")]
        population: Option<PathBuf>,
        /// Instead: the applicants stored in `--database`, with their ledger history
        #[arg(long, conflicts_with = "population")]
        from_database: bool,
        #[command(flatten)]
        opt: db::DbOpt,
        #[arg(long)]
        policies: Option<PathBuf>,
        /// First day of the period (events before it count for once-only rules and caps only)
        #[arg(long)]
        from: Option<String>,
        /// Last day of the period (default today)
        #[arg(long)]
        to: Option<String>,
        /// text, json, or xlsx (a workbook, with --out)
        #[arg(long, value_enum, default_value = "text")]
        format: SimFormat,
        /// The workbook to write with --format xlsx
        #[arg(long, value_name = "FILE.xlsx", required_if_eq("format", "xlsx"))]
        out: Option<PathBuf>,
        /// A reform: a reform file (`set KNOB = VALUE [from DATE]`, `remove MEASURE`; see
        /// docs/simulation.md) or a policy library directory (a copy of policies/ with a rate, cap or date
        /// changed, or measures replaced, added or removed), checked like any library; the
        /// output adds baseline, reform and delta per measure, year and level, and the winners
        /// and losers
        #[arg(long, value_name = "FILE|DIR")]
        reform: Option<PathBuf>,
        /// Put the budgets of `--database`'s ledger beside the forecast (per measure, year and
        /// level, with the share of the forecast they cover)
        #[arg(long)]
        budgets: bool,
        /// Print the per-applicant engine's trace for this applicant (repeatable)
        #[arg(long, value_name = "ID")]
        trace: Vec<String>,
    },
    /// Benchmark approval latency under concurrent reviewers, on a scratch database
    BenchApprovals {
        #[command(flatten)]
        opt: db::DbOpt,
        #[arg(long)]
        policies: Option<PathBuf>,
        #[arg(long, default_value_t = 50)]
        reviewers: usize,
        #[arg(long, default_value_t = 20)]
        per_reviewer: usize,
        /// Pause between one reviewer's approvals (a person reading the next case; 0 = a
        /// closed loop at full speed)
        #[arg(long, default_value_t = 100)]
        think_ms: u64,
        /// Open loop: approvals offered per second in total, on a fixed schedule shared
        /// round-robin by the reviewers; latency counts from the scheduled arrival, so time
        /// spent queueing behind a slow approval is included (replaces --think-ms)
        #[arg(long)]
        rate: Option<f64>,
    },
    /// Run policy scenario files and report differences (运行政策测试用例)
    Test {
        /// Scenario files or directories (default: tests/scenarios)
        paths: Vec<PathBuf>,
        #[arg(long)]
        policies: Option<PathBuf>,
    },
    /// Policy authoring: the skeleton of a new policy file from a document's text (政策起草)
    Policy {
        #[command(subcommand)]
        cmd: PolicyCommand,
    },
    /// Which measures encode each clause, or why it pays nothing; fails on gaps (条款覆盖)
    Coverage {
        #[arg(long)]
        policies: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// The vocabulary as reference documentation, or the JSON Schema of eval input (词汇表)
    Vocab {
        #[arg(long)]
        policies: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "markdown")]
        format: VocabFormat,
    },
    /// Measure evaluation speed: one applicant against the whole library, N times
    Bench {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        policies: Option<PathBuf>,
        #[arg(long, default_value_t = 20_000)]
        iterations: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误 error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The library of `--policies DIR`, or else the shipped one built into the binary.
fn load(dir: Option<PathBuf>) -> Result<(Vec<SourceFile>, Checked)> {
    match dir {
        Some(dir) => kc_library::load(&dir)
            .with_context(|| format!("cannot read policy library {}", dir.display())),
        None => Ok(kc_library::load_shipped()),
    }
}

/// The files that become library version 1 of a new database: the shipped policies and
/// scenarios, or the policy files of `--policies DIR` (as `policies/NAME.md`) with the
/// scenarios of `DIR/../tests/scenarios` where there are any.
fn seed_files(dir: Option<&std::path::Path>) -> Result<Vec<kc_store::versions::VersionFile>> {
    let (policies, scenarios) = match dir {
        None => (kc_library::shipped(), kc_library::shipped_scenarios()),
        Some(dir) => {
            let as_named = |prefix: &str, files: Vec<SourceFile>| -> Vec<SourceFile> {
                files
                    .into_iter()
                    .map(|f| SourceFile {
                        path: format!(
                            "{prefix}{}",
                            std::path::Path::new(&f.path)
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default()
                        ),
                        text: f.text,
                    })
                    .collect()
            };
            let policies = kc_library::read_dir(dir)
                .with_context(|| format!("cannot read policy library {}", dir.display()))?;
            let scen_dir = dir.join("../tests/scenarios");
            let mut scenarios = Vec::new();
            if let Ok(paths) = kc_scenario::files_in(&scen_dir) {
                for p in paths {
                    let text = std::fs::read_to_string(&p)
                        .with_context(|| format!("cannot read {}", p.display()))?;
                    scenarios.push(SourceFile {
                        path: p.display().to_string(),
                        text,
                    });
                }
            }
            (
                as_named("policies/", policies),
                as_named("tests/scenarios/", scenarios),
            )
        }
    };
    Ok(kc_store::versions::version_files(&policies, &scenarios))
}

fn load_checked(dir: Option<PathBuf>) -> Result<Library> {
    Ok(load_checked_with_sources(dir)?.1)
}

/// The checked library and the files it was checked from (a reform file's measures are checked
/// in their documents' files).
fn load_checked_with_sources(dir: Option<PathBuf>) -> Result<(Vec<SourceFile>, Library)> {
    let (files, checked) = load(dir)?;
    if checked.has_errors() {
        eprint!("{}", checked.render(&files));
        bail!("the policy library has errors; run `kechuang check` for details");
    }
    Ok((files, checked.library.expect("no errors means a library")))
}

fn parse_date_arg(s: &str) -> Result<Date> {
    match s.parse::<Date>() {
        Ok(d) if s.len() == 10 => Ok(d),
        _ => bail!("--date “{s}” is not a valid date (YYYY-MM-DD)"),
    }
}

fn read_input(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check { dir } => {
            let (files, checked) = load(dir)?;
            print!("{}", checked.render(&files));
            let errors = checked
                .diagnostics
                .iter()
                .filter(|d| d.diagnostic.is_error())
                .count();
            match &checked.library {
                Some(lib) if errors == 0 => {
                    println!(
                        "通过 ok: {} 个文件 files, {} 份文件 documents, {} 项措施 measures, {} 个参数 parameters",
                        files.len(),
                        lib.documents.len(),
                        lib.measures.len(),
                        lib.parameters.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                _ => {
                    println!("失败 failed: {errors} 个错误 errors");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Eval {
            input,
            applicant,
            database,
            policies,
            date,
            format,
        } => {
            let lib = load_checked(policies)?;
            let as_of = date.as_deref().map(parse_date_arg).transpose()?;
            let (text, source) = match (&input, &applicant) {
                (Some(path), _) => (read_input(path)?, path.display().to_string()),
                (None, Some(id)) => {
                    let day = as_of.ok_or_else(|| {
                        anyhow::anyhow!("--applicant needs --date (the as-of date)")
                    })?;
                    let opt = db::DbOpt {
                        database: database.clone(),
                        review_ceiling: None,
                        review_order: None,
                        notice_days: None,
                        market_index: None,
                        market_synonyms: None,
                    };
                    (
                        db::stored_input(id, day, &opt, std::sync::Arc::new(lib.clone()))?,
                        format!("{database} applicant {id}"),
                    )
                }
                (None, None) => bail!("give --input FILE or --applicant ID"),
            };
            let input_data = kc_wire::parse_input(&lib, &text, as_of)
                .map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
            let ev = kc_eval::evaluate(&lib, &input_data);
            match format {
                Format::Json => {
                    let j = kc_wire::to_json(&lib, &input_data, &ev);
                    println!("{}", serde_json::to_string_pretty(&j)?);
                }
                Format::Text => print!("{}", report::evaluation(&lib, &input_data, &ev)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::List { policies, format } => {
            let lib = load_checked(policies)?;
            match format {
                Format::Text => print!("{}", report::list(&lib)),
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report::list_json(&lib))?
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { measure, policies } => {
            let lib = load_checked(policies)?;
            match lib.measure(&measure) {
                Some(m) => {
                    print!("{}", report::explain(&lib, m));
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    let close: Vec<&str> = lib
                        .measures
                        .iter()
                        .map(|m| m.id.as_str())
                        .filter(|id| id.contains(&measure) || measure.contains(id))
                        .collect();
                    let hint = if close.is_empty() {
                        String::new()
                    } else {
                        format!("; did you mean {}?", close.join(", "))
                    };
                    bail!("no measure “{measure}” in the library (see `kechuang list`){hint}")
                }
            }
        }
        Command::Serve {
            addr,
            opt,
            policies,
            no_demo,
            secure_cookies,
            trust_proxy,
            anon_calc_per_minute,
            anon_read_per_minute,
            notice_days,
            scan_command,
            oidc,
        } => {
            let oidc = oidc.config()?;
            let mut opt = opt;
            opt.notice_days = notice_days.as_deref().map(db::notice_range).transpose()?;
            let scan: Vec<String> = scan_command
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_string)
                .collect();
            if let Some(program) = scan.first() {
                let found = if program.contains('/') {
                    std::path::Path::new(program).is_file()
                } else {
                    std::env::var_os("PATH").is_some_and(|paths| {
                        std::env::split_paths(&paths).any(|d| d.join(program).is_file())
                    })
                };
                if !found {
                    bail!("--scan-command: program “{program}” not found");
                }
            }
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info,sqlx=warn".into()),
                )
                .try_init();
            let seed_library = seed_files(policies.as_deref())?;
            let lib = std::sync::Arc::new(load_checked(policies)?);
            let plan_lib = match plans::load_shipped().1 {
                Ok(l) => l,
                Err(rendered) => {
                    eprint!("{rendered}");
                    bail!("the plan library has errors; run `kechuang plan check`");
                }
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let store = opt.open(lib.clone()).await?.with_scan_command(scan);
                kc_server::serve(
                    &addr,
                    store,
                    lib,
                    (!no_demo).then(shipped::demo),
                    kc_server::ServeOptions {
                        secure_cookies,
                        trust_proxy,
                        quota: kc_server::guard::AnonQuota {
                            calc_per_minute: anon_calc_per_minute,
                            read_per_minute: anon_read_per_minute,
                        },
                        oidc,
                        seed_library,
                    },
                    plan_lib,
                )
                .await
                .map_err(|e| anyhow::anyhow!(e))
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan { cmd, plans } => plans::run(cmd, plans),
        Command::Library { cmd, opt, policies } => {
            let seed = seed_files(policies.as_deref())?;
            versions::run(cmd, opt, std::sync::Arc::new(load_checked(policies)?), seed)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Db { cmd, opt, policies } => {
            db::db(cmd, opt, std::sync::Arc::new(load_checked(policies)?))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            applicants,
            events,
            opt,
            policies,
        } => {
            db::import(
                applicants,
                events,
                opt,
                std::sync::Arc::new(load_checked(policies)?),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            what,
            out,
            opt,
            policies,
        } => {
            let out = out.ok_or_else(|| anyhow::anyhow!("--out FILE is required"))?;
            db::export(what, out, opt, std::sync::Arc::new(load_checked(policies)?))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::App {
            cmd,
            mut opt,
            policies,
            notice_range,
        } => {
            opt.notice_days = notice_range.as_deref().map(db::notice_range).transpose()?;
            db::app(cmd, opt, std::sync::Arc::new(load_checked(policies)?))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Market { cmd, opt, policies } => {
            market::run(cmd, opt, std::sync::Arc::new(load_checked(policies)?))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Population { cmd, policies } => {
            population::run(cmd, &load_checked(policies)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate {
            population,
            from_database,
            opt,
            policies,
            from,
            to,
            format,
            reform,
            budgets,
            trace,
            out,
        } => {
            let (sources, lib) = load_checked_with_sources(policies)?;
            let day = |s: &Option<String>, what: &str| -> Result<Option<Date>> {
                s.as_deref()
                    .map(|d| {
                        d.parse::<Date>().map_err(|_| {
                            anyhow::anyhow!("--{what}: “{d}” is not a date YYYY-MM-DD")
                        })
                    })
                    .transpose()
            };
            let from = day(&from, "from")?;
            let to = day(&to, "to")?.unwrap_or_else(|| {
                jiff::Timestamp::now()
                    .to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                    .date()
            });
            simulate::run(
                simulate::Args {
                    population,
                    from_database,
                    opt,
                    from,
                    to,
                    format: match format {
                        SimFormat::Text => simulate::Output::Text,
                        SimFormat::Json => simulate::Output::Json,
                        SimFormat::Xlsx => simulate::Output::Xlsx(out.expect("required by clap")),
                    },
                    reform,
                    budgets,
                    trace,
                },
                &sources,
                lib,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Budget { cmd, opt, policies } => {
            db::budget(cmd, opt, std::sync::Arc::new(load_checked(policies)?))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::BenchApprovals {
            opt,
            policies,
            reviewers,
            per_reviewer,
            think_ms,
            rate,
        } => {
            let load = match rate {
                Some(r) if r.is_finite() && r > 0.0 => db::BenchLoad::Rate(r),
                Some(r) => anyhow::bail!("--rate {r}: a positive number of approvals per second"),
                None => db::BenchLoad::Think(think_ms),
            };
            db::bench_approvals(
                opt,
                std::sync::Arc::new(load_checked(policies)?),
                reviewers.max(1),
                per_reviewer.max(1),
                load,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Test { paths, policies } => {
            let lib = load_checked(policies)?;
            let paths = if paths.is_empty() {
                vec![PathBuf::from("tests/scenarios")]
            } else {
                paths
            };
            let mut files = Vec::new();
            for p in &paths {
                if p.is_dir() {
                    files.extend(
                        kc_scenario::files_in(p)
                            .with_context(|| format!("cannot read {}", p.display()))?,
                    );
                } else {
                    files.push(p.clone());
                }
            }
            let results: Vec<_> = files
                .iter()
                .map(|f| kc_scenario::run_file(&lib, f))
                .collect();
            let failed: Vec<_> = results.iter().filter(|r| !r.passed()).collect();
            for r in &failed {
                println!(
                    "失败 FAIL {} ({})\n{}\n",
                    r.file,
                    r.name,
                    r.problems.join("\n")
                );
            }
            // Completeness is judged on the whole scenario library only.
            let lacking = if paths == [PathBuf::from("tests/scenarios")] {
                kc_scenario::measures_lacking_scenarios(&lib, &results)
            } else {
                Vec::new()
            };
            for l in &lacking {
                println!("缺少用例 missing scenario: {l}");
            }
            println!(
                "{} passed, {} failed",
                results.len() - failed.len(),
                failed.len()
            );
            Ok(if failed.is_empty() && lacking.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Policy {
            cmd:
                PolicyCommand::New {
                    text,
                    number,
                    title,
                    valid,
                    out,
                },
        } => {
            let source = std::fs::read_to_string(&text)
                .with_context(|| format!("reading the document text {}", text.display()))?;
            let clauses = kc_syntax::skeleton::split(&source);
            if clauses.is_empty() {
                bail!("{}: 文本为空 the text has no paragraph", text.display());
            }
            let year = jiff::Timestamp::now()
                .to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                .date()
                .year();
            let (from, to) = match valid.as_deref() {
                None => (format!("{year}-01-01"), format!("{}-12-31", year + 4)),
                Some(v) => {
                    let (f, t) = v.split_once("..").ok_or_else(|| {
                        anyhow::anyhow!("--valid “{v}”: 应为 FROM..TO expected FROM..TO")
                    })?;
                    let (f, t) = (f.trim(), t.trim());
                    let (df, dt) = (f.parse::<Date>(), t.parse::<Date>());
                    match (df, dt) {
                        (Ok(a), Ok(b)) if a <= b => (a.to_string(), b.to_string()),
                        (Ok(_), Ok(_)) => bail!("--valid {v}: 起始晚于终止 FROM is after TO"),
                        _ => bail!("--valid {v}: 日期应为 YYYY-MM-DD dates are YYYY-MM-DD"),
                    }
                }
            };
            let title = title.unwrap_or_else(|| {
                source
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("")
                    .chars()
                    .take(80)
                    .collect()
            });
            let file = kc_syntax::skeleton::render(&number, &title, (&from, &to), &clauses);
            let numbered = clauses.iter().filter(|c| !c.marker.is_empty()).count();
            match &out {
                Some(p) => {
                    std::fs::write(p, &file).with_context(|| format!("writing {}", p.display()))?;
                    eprintln!(
                        "已生成 written: {} — {numbered} 条编号条款 numbered clauses, {} 段 parts in all, none encoded yet",
                        p.display(),
                        clauses.len()
                    );
                }
                None => print!("{file}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Coverage { policies, format } => {
            let lib = load_checked(policies)?;
            let cov = kc_check::coverage::coverage(&lib);
            let gaps: usize = cov.iter().map(|d| d.gaps()).sum();
            match format {
                Format::Text => print!("{}", report::coverage(&lib, &cov)),
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report::coverage_json(&lib, &cov))?
                ),
            }
            Ok(if gaps == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Vocab { policies, format } => {
            let lib = load_checked(policies)?;
            match format {
                VocabFormat::Markdown => print!("{}", report::vocabulary(&lib)),
                VocabFormat::JsonSchema => println!(
                    "{}",
                    serde_json::to_string_pretty(&kc_wire::input_schema(&lib))?
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            input,
            policies,
            iterations,
        } => {
            let lib = load_checked(policies)?;
            let text = read_input(&input)?;
            let input_data = kc_wire::parse_input(&lib, &text, None)
                .map_err(|e| anyhow::anyhow!("{}: {e}", input.display()))?;
            print!("{}", report::bench(&lib, &input_data, iterations.max(100)));
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}

//! The commands that touch the database: `db`, `import`, `export`, `app`, `budget`, and
//! `eval --database`. Glue over kc-store; every one takes `--database URL` (default: the
//! SQLite file `kechuang.db` in the working directory; `postgres://…` selects PostgreSQL).

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use kc_domain::{Action, Role};
use kc_money::Money;
use kc_store::{ActArgs, Actor, Store};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Clone)]
pub struct DbOpt {
    /// Database URL: a SQLite file path (default kechuang.db) or postgres://…
    #[arg(long, default_value = "kechuang.db", global = true)]
    pub database: String,
    /// The most an approval may set for an amount decided by review (评审确定) where the
    /// clause gives no range, in 元 (default 100,000,000.00)
    #[arg(long, global = true)]
    pub review_ceiling: Option<String>,
    /// Where levels of government share an award's cost, which reviews it first: the lower
    /// level recommends and the higher approves (lower-first, the default: 区县初审, 市级复审),
    /// or the other way round (higher-first)
    #[arg(long, global = true, value_name = "ORDER", value_parser = ["lower-first", "higher-first"])]
    pub review_order: Option<String>,
    /// The 公示 periods a reviewer may choose (default 5–30 days); set by `serve --notice-days`
    /// and `app --notice-range`.
    #[arg(skip)]
    pub notice_days: Option<std::ops::RangeInclusive<i64>>,
    /// Where the S&T market keeps its search index (default: beside an SQLite file; in
    /// memory for PostgreSQL, rebuilt from the database at start)
    #[arg(long, global = true, value_name = "DIR")]
    pub market_index: Option<PathBuf>,
    /// More synonym groups for the market's dictionary, one group per line (docs/market.md)
    #[arg(long, global = true, value_name = "FILE")]
    pub market_synonyms: Option<PathBuf>,
}

impl DbOpt {
    /// The operator's own dictionary groups (`--market-synonyms`), checked line by line.
    pub fn market_dictionary(&self) -> Result<Option<kc_market::Dictionary>> {
        match &self.market_synonyms {
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|e| anyhow!("{}: {e}", p.display()))?;
                Ok(Some(
                    kc_market::Dictionary::parse(&text)
                        .map_err(|e| anyhow!("{}: {e}", p.display()))?,
                ))
            }
            None => Ok(None),
        }
    }
}

/// Parses a range of notice periods, `MIN-MAX` in days (`5-30`), for `--notice-days` /
/// `--notice-range`.
pub fn notice_range(text: &str) -> Result<std::ops::RangeInclusive<i64>> {
    let (lo, hi) = text
        .split_once('-')
        .ok_or_else(|| anyhow!("notice days “{text}”: give MIN-MAX in days, e.g. 5-30"))?;
    let parse = |t: &str| {
        t.trim()
            .parse::<i64>()
            .map_err(|_| anyhow!("notice days “{text}”: give MIN-MAX in days, e.g. 5-30"))
    };
    let (lo, hi) = (parse(lo)?, parse(hi)?);
    if lo < 0 || hi < lo || hi > 365 {
        bail!("notice days “{text}”: need 0 <= MIN <= MAX <= 365");
    }
    Ok(lo..=hi)
}

impl DbOpt {
    /// Opens the database with this option's settings.
    pub async fn open(&self, lib: Arc<kc_check::Library>) -> Result<Store> {
        let mut store = open(&self.database, lib).await?;
        if let Some(dir) = &self.market_index {
            store = store.with_market_index_dir(dir.clone());
        }
        if let Some(dict) = self.market_dictionary()? {
            store = store.with_market_dictionary(dict);
        }
        if let Some(range) = &self.notice_days {
            store = store.with_notice_days(range.clone());
        }
        if let Some(order) = self
            .review_order
            .as_deref()
            .and_then(kc_domain::ReviewOrder::parse)
        {
            store = store.with_review_order(order);
        }
        Ok(match &self.review_ceiling {
            Some(text) => {
                let ceiling = money(text, "--review-ceiling")?;
                if ceiling == Money::ZERO {
                    bail!("--review-ceiling: must be above zero");
                }
                store.with_review_ceiling(ceiling)
            }
            None => store,
        })
    }
}

#[derive(Subcommand)]
pub enum DbCommand {
    /// Create the database (if needed) and apply every migration
    Init,
    /// Apply pending migrations
    Migrate,
    /// Migrations applied, row counts and consistency checks
    Status,
    /// Write every table to a portable JSON-lines file (same format for SQLite and PostgreSQL)
    Backup { file: PathBuf },
    /// Load a backup into an empty database, all or nothing
    Restore { file: PathBuf },
}

#[derive(Subcommand)]
pub enum ExportWhat {
    /// Every application with measure, clause, state and amounts
    Applications,
    /// Every ledger row (commitments, payments, reversals per level)
    Ledger,
}

#[derive(Subcommand)]
pub enum AppCommand {
    /// List applications (of one applicant)
    List {
        #[arg(long)]
        applicant: Option<String>,
    },
    /// Start an application (as the applicant)
    Apply {
        #[arg(long)]
        applicant: String,
        #[arg(long)]
        measure: String,
        #[arg(long)]
        event: String,
    },
    /// Hand in what a submission needs (the applicant): the bank account the award is paid
    /// to and/or the acceptance of the 承诺书
    Terms {
        id: String,
        /// applicant:USCC
        #[arg(long = "as")]
        actor: String,
        /// 开户名: the registered name of the applicant
        #[arg(long, requires_all = ["bank", "account_no"])]
        account_name: Option<String>,
        /// 开户银行, with the branch
        #[arg(long)]
        bank: Option<String>,
        /// 账号, 8 to 32 digits
        #[arg(long)]
        account_no: Option<String>,
        /// Accept the 承诺书 (printed by `app materials`)
        #[arg(long)]
        accept_pledge: bool,
    },
    /// Upload a file with an application (the applicant): application_form (申报书), pledge
    /// (承诺书), evidence (佐证材料), or supplement (补正材料) with --request ITEM
    Attach {
        id: String,
        file: std::path::PathBuf,
        #[arg(long)]
        kind: String,
        /// The 补正 item a supplement answers (see `app materials`)
        #[arg(long)]
        request: Option<String>,
        /// applicant:USCC
        #[arg(long = "as")]
        actor: String,
    },
    /// An application's materials: files, 补正 items and answers, bank account, 承诺书
    Materials {
        id: String,
        /// Who reads: applicant:USCC, reviewer:NAME, finance:NAME, admin:NAME
        #[arg(long = "as")]
        actor: String,
    },
    /// Take a workflow step: submit, start_review, request_material, recommend (a lower
    /// level's 初审推荐 where levels share the cost), approve, reject, withdraw,
    /// publish_notice, object, confirm_offer, decline_offer
    Act {
        id: String,
        action: String,
        /// Who acts: applicant:USCC, reviewer:NAME, finance:NAME, admin:NAME; staff of one
        /// jurisdiction with @REGION (reviewer:li@hunnan)
        #[arg(long = "as")]
        actor: String,
        #[arg(long)]
        amount: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        /// Missing material, one per flag (一次性告知)
        #[arg(long)]
        missing: Vec<String>,
        #[arg(long)]
        notice_days: Option<i64>,
    },
    /// The 公示 list: applications in public notice with applicant, measure, clause and amount
    Notices,
    /// Record a payment of one level's part (finance)
    Pay {
        id: String,
        #[arg(long)]
        level: String,
        #[arg(long)]
        amount: String,
        #[arg(long = "as", default_value = "finance:cli")]
        actor: String,
    },
}

#[derive(Subcommand)]
pub enum BudgetCommand {
    /// Set the budget of a measure for a year and level (of one jurisdiction of that level
    /// with --jurisdiction, e.g. the 浑南区 district budget: hunnan)
    Set {
        measure: String,
        year: i32,
        level: String,
        amount: String,
        #[arg(long)]
        jurisdiction: Option<String>,
    },
    /// Budget, committed and paid per level, with warnings at 70% and 90%
    Show { measure: String, year: i32 },
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

pub async fn open(url: &str, lib: Arc<kc_check::Library>) -> Result<Store> {
    let store = Store::open(url, lib)
        .await
        .map_err(|e| anyhow!("{url}: {e}"))?;
    // The database's active library version, where it holds one, is what every command
    // evaluates with (as `serve` does).
    store
        .refresh_library()
        .await
        .map_err(|e| anyhow!("{url}: {e}"))?;
    // Crash tests widen the window inside approvals and imports.
    Ok(
        match std::env::var("KECHUANG_TEST_PAUSE_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            Some(ms) => store.with_pause_in_approval(std::time::Duration::from_millis(ms)),
            None => store,
        },
    )
}

/// `--as ROLE[:NAME][@JURISDICTION]`: staff of one jurisdiction with `@hunnan`.
pub(crate) fn parse_actor(s: &str) -> Result<Actor> {
    let (s, jurisdiction) = match s.split_once('@') {
        Some((a, j)) => (a, Some(j)),
        None => (s, None),
    };
    let (role, who) = s.split_once(':').unwrap_or((s, "cli"));
    let role = Role::parse(role)
        .filter(|r| *r != Role::System)
        .ok_or_else(|| anyhow!("--as “{s}”: role must be applicant, reviewer, finance or admin"))?;
    Ok(match (role, jurisdiction) {
        (Role::Applicant, None) => Actor::applicant(who, who),
        (Role::Applicant, Some(_)) => bail!("--as “{s}”: an applicant has no jurisdiction"),
        (role, Some(j)) => Actor::staff(who, role, j),
        (role, None) => Actor::new(who, role),
    })
}

fn parse_action(s: &str) -> Result<Action> {
    use Action::*;
    [
        Submit,
        StartReview,
        RequestMaterial,
        Recommend,
        Approve,
        Reject,
        Withdraw,
        PublishNotice,
        Object,
        ConfirmOffer,
        DeclineOffer,
    ]
    .into_iter()
    .find(|a| a.code() == s)
    .ok_or_else(|| anyhow!("unknown action “{s}”"))
}

fn money(s: &str, what: &str) -> Result<Money> {
    let m = Money::parse_amount(s).map_err(|e| anyhow!("{what}: {e}"))?;
    if m.is_negative() {
        bail!("{what}: {s} is negative");
    }
    Ok(m)
}

fn bar(total: usize, what: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(total as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

pub fn db(cmd: DbCommand, opt: DbOpt, lib: Arc<kc_check::Library>) -> Result<()> {
    runtime()?.block_on(async move {
        let store = opt.open(lib).await?;
        match cmd {
            DbCommand::Init | DbCommand::Migrate => {
                let applied = kc_store::migrate::applied(&store).await?;
                println!(
                    "数据库就绪 database ready: {} ({:?}), migrations {:?}",
                    opt.database,
                    store.backend(),
                    applied
                );
            }
            DbCommand::Status => {
                let applied = kc_store::migrate::applied(&store).await?;
                println!(
                    "database {} ({:?}); migrations applied {:?}",
                    opt.database,
                    store.backend(),
                    applied
                );
                let counts = store.row_counts().await?;
                println!(
                    "rows: {}",
                    counts
                        .iter()
                        .map(|(t, n)| format!("{t} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let (committed, paid) = store.ledger_totals().await?;
                println!(
                    "ledger: committed {} , paid {}",
                    kc_domain::from_fen(committed),
                    kc_domain::from_fen(paid)
                );
                let problems = store.check_consistency().await?;
                if problems.is_empty() {
                    println!("一致性检查通过 consistency: ok");
                } else {
                    for p in &problems {
                        println!("!! {p}");
                    }
                    bail!("{} consistency problems", problems.len());
                }
            }
            DbCommand::Backup { file } => {
                let lines = store.backup_lines().await?;
                std::fs::write(&file, lines.join("\n") + "\n")
                    .with_context(|| format!("cannot write {}", file.display()))?;
                println!(
                    "备份完成 backup: {} rows → {}",
                    lines.len() - 1,
                    file.display()
                );
            }
            DbCommand::Restore { file } => {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let lines: Vec<String> = text
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string)
                    .collect();
                let pb = bar(lines.len().saturating_sub(1), "restore");
                let n = store
                    .restore_lines(&lines, &|d, _| pb.set_position(d as u64))
                    .await
                    .map_err(|e| anyhow!("{}: {e}", file.display()))?;
                pb.finish_and_clear();
                println!("恢复完成 restored {n} rows from {}", file.display());
            }
        }
        Ok(())
    })
}

pub fn import(
    applicants: Option<PathBuf>,
    events: Option<PathBuf>,
    opt: DbOpt,
    lib: Arc<kc_check::Library>,
) -> Result<()> {
    if applicants.is_none() && events.is_none() {
        bail!("give --applicants FILE and/or --events FILE (.csv or .xlsx)");
    }
    let read = |p: &Option<PathBuf>| -> Result<Option<(String, kc_tabular::Table)>> {
        match p {
            Some(p) => Ok(Some((
                p.display().to_string(),
                kc_tabular::read(p).map_err(|e| anyhow!("{e}"))?,
            ))),
            None => Ok(None),
        }
    };
    let a = read(&applicants)?;
    let e = read(&events)?;
    runtime()?.block_on(async move {
        let store = opt.open(lib).await?;
        let validated = store.validate_import(
            a.as_ref().map(|(f, t)| {
                (
                    f.as_str(),
                    kc_store::Rows {
                        headers: &t.headers,
                        rows: &t.rows,
                    },
                )
            }),
            e.as_ref().map(|(f, t)| {
                (
                    f.as_str(),
                    kc_store::Rows {
                        headers: &t.headers,
                        rows: &t.rows,
                    },
                )
            }),
        );
        let (profiles, evs) = match validated {
            Ok(v) => v,
            Err(errors) => {
                for err in &errors {
                    eprintln!("{err}");
                }
                bail!(
                    "导入未执行 nothing imported: {} problem(s) found (showing up to 50)",
                    errors.len()
                );
            }
        };
        let pb = bar(profiles.len() + evs.len(), "import");
        let report = store
            .import(
                &Actor::new("import", Role::Admin),
                &profiles,
                &evs,
                &|d, _| pb.set_position(d as u64),
            )
            .await
            .map_err(|e| anyhow!("导入未执行 nothing imported: {e}"))?;
        pb.finish_and_clear();
        println!(
            "导入完成 imported: {} applicants, {} events, {} 免申即享 offers",
            report.applicants, report.events, report.offers
        );
        Ok(())
    })
}

pub fn export(
    what: ExportWhat,
    out: PathBuf,
    opt: DbOpt,
    lib: Arc<kc_check::Library>,
) -> Result<()> {
    runtime()?.block_on(async move {
        let store = opt.open(lib).await?;
        let (sheet, (headers, rows)) = match what {
            ExportWhat::Applications => ("申请 applications", store.applications_table().await?),
            ExportWhat::Ledger => ("台账 ledger", store.ledger_table().await?),
        };
        kc_tabular::write(&out, sheet, &headers, &rows).map_err(|e| anyhow!("{e}"))?;
        println!("导出完成 exported {} rows → {}", rows.len(), out.display());
        Ok(())
    })
}

pub fn app(cmd: AppCommand, opt: DbOpt, lib: Arc<kc_check::Library>) -> Result<()> {
    runtime()?.block_on(async move {
        let store = opt.open(lib).await?;
        match cmd {
            AppCommand::List { applicant } => {
                for a in store
                    .applications(&Actor::new("cli", Role::Admin), applicant.as_deref())
                    .await?
                {
                    println!(
                        "{}  {}  {}  {}  {}  computed {}  approved {}",
                        a.id,
                        a.applicant_id,
                        a.measure,
                        a.event_id,
                        a.state.zh(),
                        a.computed.map(|m| m.to_string()).unwrap_or_default(),
                        a.approved.map(|m| m.to_string()).unwrap_or_default()
                    );
                }
            }
            AppCommand::Notices => {
                println!("公示名单 public notice");
                for n in store.public_notices().await? {
                    let (title, doc, clause) = match store.library().measure(&n.measure) {
                        Some(m) => (
                            m.label.zh.clone(),
                            store.library().documents[m.doc].number.clone(),
                            m.clause.id.clone(),
                        ),
                        None => (n.measure.clone(), String::new(), String::new()),
                    };
                    println!(
                        "{}  {} {}  {title}  {doc} {clause}  {}  公示期满 {}",
                        n.application, n.applicant_name, n.applicant_id, n.amount, n.until
                    );
                }
            }
            AppCommand::Apply {
                applicant,
                measure,
                event,
            } => {
                let id = store
                    .apply(
                        &Actor::applicant(&applicant, &applicant),
                        &applicant,
                        &measure,
                        &event,
                    )
                    .await?;
                println!("{id}");
            }
            AppCommand::Act {
                id,
                action,
                actor,
                amount,
                reason,
                missing,
                notice_days,
            } => {
                let args = ActArgs {
                    amount: amount
                        .as_deref()
                        .map(|a| money(a, "--amount"))
                        .transpose()?,
                    reason,
                    missing,
                    notice_days,
                };
                let a = store
                    .act(&parse_actor(&actor)?, &id, parse_action(&action)?, args)
                    .await?;
                println!("{} → {} {}", a.id, a.state.code(), a.state.zh());
            }
            AppCommand::Terms {
                id,
                actor,
                account_name,
                bank,
                account_no,
                accept_pledge,
            } => {
                let who = parse_actor(&actor)?;
                if account_name.is_none() && !accept_pledge {
                    bail!("nothing to do: give --account-name/--bank/--account-no and/or --accept-pledge");
                }
                if let (Some(account_name), Some(bank), Some(account_no)) =
                    (account_name, bank, account_no)
                {
                    let a = store
                        .set_bank_account(
                            &who,
                            &id,
                            &kc_store::BankAccount {
                                account_name,
                                bank,
                                account_no,
                            },
                        )
                        .await?;
                    println!("{id} 收款账户 {} {} {}", a.account_name, a.bank, a.account_no);
                }
                if accept_pledge {
                    let p = store.accept_pledge(&who, &id).await?;
                    println!("{id} 承诺书已确认 {} {}", p.by, p.at);
                }
            }
            AppCommand::Attach {
                id,
                file,
                kind,
                request,
                actor,
            } => {
                let kind = kc_store::MaterialKind::parse(&kind).ok_or_else(|| {
                    anyhow!("--kind “{kind}”: application_form, pledge, evidence or supplement")
                })?;
                let bytes = std::fs::read(&file)
                    .map_err(|e| anyhow!("cannot read {}: {e}", file.display()))?;
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let f = store
                    .upload_material(
                        &parse_actor(&actor)?,
                        &id,
                        kind,
                        request.as_deref(),
                        &name,
                        &bytes,
                    )
                    .await?;
                println!(
                    "{} {} {} {} bytes sha256 {}",
                    f.id, f.filename, f.content_type, f.size, f.sha256
                );
            }
            AppCommand::Materials { id, actor } => {
                let m = store.materials(&parse_actor(&actor)?, &id).await?;
                for f in &m.files {
                    println!(
                        "file {}  {}  {}  {}  {} bytes  sha256 {}  {} {}",
                        f.id,
                        f.kind.zh(),
                        f.request.as_deref().unwrap_or("-"),
                        f.filename,
                        f.size,
                        f.sha256,
                        f.uploaded_by,
                        f.uploaded_at
                    );
                }
                for r in &m.requests {
                    println!(
                        "补正 {}  第{}轮 第{}项  {}  答复: {}",
                        r.id,
                        r.round,
                        r.seq,
                        r.item,
                        r.answer.as_deref().unwrap_or("-")
                    );
                }
                match &m.account {
                    Some(a) => println!("收款账户 {} {} {}", a.account_name, a.bank, a.account_no),
                    None => println!("收款账户 -"),
                }
                match &m.pledge {
                    Some(p) => println!("承诺书 已确认 {} {}", p.by, p.at),
                    None => println!("承诺书 未确认: {}", kc_store::materials::PLEDGE_TEXT),
                }
            }
            AppCommand::Pay {
                id,
                level,
                amount,
                actor,
            } => {
                let a = store
                    .pay(
                        &parse_actor(&actor)?,
                        &id,
                        &level,
                        money(&amount, "--amount")?,
                    )
                    .await?;
                println!("{} → {} {}", a.id, a.state.code(), a.state.zh());
            }
        }
        Ok(())
    })
}

pub fn budget(cmd: BudgetCommand, opt: DbOpt, lib: Arc<kc_check::Library>) -> Result<()> {
    runtime()?.block_on(async move {
        let store = opt.open(lib).await?;
        match cmd {
            BudgetCommand::Set {
                measure,
                year,
                level,
                amount,
                jurisdiction,
            } => {
                store
                    .set_budget_of(
                        &Actor::new("cli", Role::Admin),
                        &measure,
                        year,
                        &level,
                        jurisdiction.as_deref(),
                        money(&amount, "amount")?,
                    )
                    .await?;
                println!("ok");
            }
            BudgetCommand::Show { measure, year } => {
                for l in store.budget_status(&measure, year).await? {
                    // A jurisdiction's line names it: `district@hunnan`.
                    let level = if l.jurisdiction.is_empty() {
                        l.level.clone()
                    } else {
                        format!("{}@{}", l.level, l.jurisdiction)
                    };
                    println!(
                        "{measure} {year} {:<9} budget {:>18}  committed {:>18}  paid {:>18}  {}",
                        level,
                        l.budget_fen
                            .map(|b| kc_domain::from_fen(b).to_string())
                            .unwrap_or_else(|| "-".into()),
                        kc_domain::from_fen(l.committed_fen).to_string(),
                        kc_domain::from_fen(l.paid_fen).to_string(),
                        l.warning().unwrap_or("")
                    );
                }
            }
        }
        Ok(())
    })
}

/// The eval-input document of a stored applicant, with its ledger history.
pub fn stored_input(
    applicant: &str,
    as_of: jiff::civil::Date,
    opt: &DbOpt,
    lib: Arc<kc_check::Library>,
) -> Result<String> {
    let url = opt.database.clone();
    let applicant = applicant.to_string();
    runtime()?.block_on(async move {
        let store = open(&url, lib).await?;
        Ok(store.eval_input(&applicant, as_of).await?.to_string())
    })
}

/// How `bench-approvals` offers its load.
#[derive(Clone, Copy, Debug)]
pub enum BenchLoad {
    /// Closed loop: each reviewer pauses this many milliseconds after each approval (0 = at
    /// full speed, which measures the saturated throughput).
    Think(u64),
    /// Open loop: this many approvals per second in total, on a fixed schedule shared
    /// round-robin by the reviewers; latency counts from the scheduled arrival.
    Rate(f64),
}

/// `bench-approvals`: approval latency (engine re-evaluation, constraints and the ledger
/// write, in one serialised transaction) under concurrent reviewers.
pub fn bench_approvals(
    opt: DbOpt,
    lib: Arc<kc_check::Library>,
    reviewers: usize,
    per_reviewer: usize,
    load: BenchLoad,
) -> Result<()> {
    use std::time::{Duration, Instant};
    runtime()?.block_on(async move {
        let store = opt.open(lib).await?;
        // One Liaocheng service institution per reviewer, each with its own deliveries:
        // 五(三) 5% × 10,000.00 = 500.00 per approval, far below the 50万元 yearly cap.
        // The applicants are set up in parallel (they are independent of each other).
        let setup = Instant::now();
        let mut makers = Vec::new();
        for r in 0..reviewers {
            let store = store.clone();
            makers.push(tokio::spawn(async move {
                let admin = Actor::new("bench", Role::Admin);
                let reviewer = Actor::new("bench-reviewer", Role::Reviewer);
                let id = kc_domain::Uscc::complete(&format!("9137152600BENCH{r:02}"))
                    .ok_or_else(|| anyhow!("cannot make a bench applicant id"))?
                    .to_string();
                let profile = serde_json::json!({"id": id, "name": format!("基准测试服务机构{r:02}"), "kind": "service_institution", "region": "gaotang"});
                store.upsert_applicant(&admin, &profile).await?;
                let me = Actor::applicant("bench", &id);
                let mut q = Vec::new();
                for i in 0..per_reviewer {
                    let ev = format!("bench-{r:02}-{i:04}");
                    let event = serde_json::json!({"id": ev, "kind": "voucher_service_delivered", "date": "2023-05-10", "contract_amount": "10000"});
                    store.add_event(&admin, &id, &event).await?;
                    let app = store.apply(&me, &id, "voucher_institution", &ev).await?;
                    let account = kc_store::BankAccount {
                        account_name: format!("基准测试服务机构{r:02}"),
                        bank: "中国银行聊城高唐支行".into(),
                        account_no: "6217000012345678".into(),
                    };
                    store.set_bank_account(&me, &app, &account).await?;
                    store.accept_pledge(&me, &app).await?;
                    store.act(&me, &app, Action::Submit, ActArgs::default()).await?;
                    store.act(&reviewer, &app, Action::StartReview, ActArgs::default()).await?;
                    q.push(app);
                }
                Ok::<_, anyhow::Error>(q)
            }));
        }
        let mut queues: Vec<Vec<String>> = Vec::new();
        for m in makers {
            queues.push(m.await??);
        }
        println!(
            "setup: {} applications for {reviewers} reviewers in {:.1} s ({:?})",
            reviewers * per_reviewer,
            setup.elapsed().as_secs_f64(),
            store.backend()
        );
        let start = Instant::now();
        let mut tasks = Vec::new();
        for (r, q) in queues.into_iter().enumerate() {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let me = Actor::new(&format!("reviewer{r}"), Role::Reviewer);
                let mut lat = Vec::new();
                let mut lag = Duration::ZERO;
                if let BenchLoad::Think(think_ms) = load {
                    // Stagger the reviewers so they do not all click at the same instant.
                    tokio::time::sleep(Duration::from_millis((r as u64 * think_ms) / 50)).await;
                }
                for (k, app) in q.into_iter().enumerate() {
                    let t = match load {
                        BenchLoad::Rate(rate) => {
                            // Arrival number k × reviewers + r of the shared schedule. A
                            // reviewer still busy with an earlier case starts late, and the
                            // wait counts: no coordinated omission.
                            // When the arrival is still ahead, the clock starts at the
                            // wake-up: tokio's timer wakes up to 1 ms late, which is the
                            // benchmark's delay, not the store's (reported as the lag).
                            let due = start
                                + Duration::from_secs_f64((k * reviewers + r) as f64 / rate);
                            if due > Instant::now() {
                                tokio::time::sleep_until(due.into()).await;
                                let woke = Instant::now();
                                lag = lag.max(woke - due);
                                woke
                            } else {
                                due
                            }
                        }
                        BenchLoad::Think(_) => Instant::now(),
                    };
                    let res = store.act(&me, &app, Action::Approve, ActArgs::default()).await;
                    lat.push(t.elapsed());
                    res.map_err(|e| anyhow!("{app}: {e}"))?;
                    if let BenchLoad::Think(think_ms) = load
                        && think_ms > 0
                    {
                        tokio::time::sleep(Duration::from_millis(think_ms)).await;
                    }
                }
                Ok::<_, anyhow::Error>((lat, lag))
            }));
        }
        let mut all = Vec::new();
        let mut lag = Duration::ZERO;
        for t in tasks {
            let (l, g) = t.await??;
            all.extend(l);
            lag = lag.max(g);
        }
        let wall = start.elapsed();
        all.sort();
        let pct = |p: f64| all[((all.len() as f64 - 1.0) * p) as usize];
        let offered = match load {
            BenchLoad::Think(0) => "closed loop, no think time".to_string(),
            BenchLoad::Think(ms) => format!("think time {ms} ms"),
            BenchLoad::Rate(rate) => format!(
                "open loop, {rate} approvals/s offered (timer lag at most {lag:?})"
            ),
        };
        println!(
            "approvals: {} by {reviewers} concurrent reviewers, {offered}\n  latency p50 {:?}  p90 {:?}  p99 {:?}  max {:?}\n  throughput {:.0} approvals/s achieved",
            all.len(),
            pct(0.5),
            pct(0.9),
            pct(0.99),
            all[all.len() - 1],
            all.len() as f64 / wall.as_secs_f64()
        );
        let problems = store.check_consistency().await?;
        if !problems.is_empty() {
            bail!("ledger inconsistent after the benchmark: {problems:?}");
        }
        Ok(())
    })
}

/// The stored applicants as a population: each one's eval input (profile, events, ledger
/// history) as of `as_of`, for `kechuang simulate --database`.
pub fn stored_population(
    opt: &DbOpt,
    lib: Arc<kc_check::Library>,
    as_of: jiff::civil::Date,
) -> Result<Vec<String>> {
    let opt = opt.clone();
    runtime()?.block_on(async move {
        let store = opt.open(lib).await?;
        let staff = Actor::new("simulate", Role::Admin);
        let ids: Vec<String> = store
            .applicants(&staff)
            .await?
            .into_iter()
            .map(|a| a.id)
            .collect();
        Ok(store
            .eval_inputs(&ids, as_of)
            .await?
            .iter()
            .map(|d| d.to_string())
            .collect())
    })
}

/// The budgets of the ledger for these measures and years, per level: a level's own budget
/// where one is set for the whole level, else the sum of its jurisdictions' budgets.
pub fn stored_budgets(
    opt: &DbOpt,
    lib: Arc<kc_check::Library>,
    keys: &[(String, i16)],
) -> Result<kc_simulate::Budgets> {
    let opt = opt.clone();
    let keys = keys.to_vec();
    runtime()?.block_on(async move {
        let store = opt.open(lib).await?;
        let mut out = kc_simulate::Budgets::new();
        for (measure, year) in keys {
            let lines = store.budget_status(&measure, year as i32).await?;
            let mut levels: std::collections::BTreeMap<String, (Option<i64>, i64)> =
                Default::default();
            for l in lines {
                let Some(b) = l.budget_fen else { continue };
                let e = levels.entry(l.level.clone()).or_default();
                if l.jurisdiction.is_empty() {
                    e.0 = Some(b);
                } else {
                    e.1 += b;
                }
            }
            if !levels.is_empty() {
                out.insert(
                    (measure, year),
                    levels
                        .into_iter()
                        .map(|(level, (whole, parts))| {
                            (level, kc_money::Money::from_fen(whole.unwrap_or(parts)))
                        })
                        .collect(),
                );
            }
        }
        Ok(out)
    })
}

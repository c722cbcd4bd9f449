//! Persistence: applicants, events, applications, the append-only ledger, budgets, users and
//! the audit log — on an embedded SQLite file by default, or PostgreSQL for a `postgres://`
//! URL, through one code path (sqlx's `Any` driver; money as integer fen and dates as ISO
//! text so both schemas stay alike; one migration set per backend, append-only).
//!
//! The key decision is where the no-overpayment rule lives: **in one write transaction with
//! the ledger write**. Approving re-evaluates the measure with the engine against the history
//! read from the ledger *inside* that transaction, checks the reviewer's amount against the
//! engine's cap, the budget per level, then appends the commitment rows. Writers are
//! serialised where it matters — `BEGIN IMMEDIATE` on SQLite; on PostgreSQL a transaction-
//! scoped advisory lock per applicant, and the budget rows locked where a budget is set — so
//! two reviewers approving at the same
//! moment see each other's commitments and can never both use the same headroom.
//! The ledger and the audit log refuse UPDATE and DELETE in the database itself (triggers).

mod accounts;
pub mod jurisdictions;
pub mod market;
pub mod materials;
pub mod migrate;
mod names;
pub mod organisations;
pub mod simulation;
mod transfer;
pub mod versions;
mod workflow;

pub use accounts::{ApplicantRow, LedgerRow, LoginLimits, User};
pub use jurisdictions::{Jurisdiction, Jurisdictions, Overview};
pub use materials::{
    Attachment, BankAccount, MaterialKind, MaterialRequest, Materials, Pledge, UploadLimits,
};
pub use names::EventLine;
pub use organisations::{
    IssuedLink, LinkInfo, LinkPurpose, Member, MemberStatus, Membership, StaffRow,
};
pub use transfer::{BACKUP_FORMAT, ImportReport, RowError, Rows};
pub use workflow::{ActArgs, ApplicationView, NoticeLine, Notification, PublicObjection};

use jiff::civil::Date;
use kc_check::Library;
use kc_domain::{Role, TransitionError};
use kc_money::Money;
use serde_json::{Value as J, json};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::fmt;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why a store operation failed. `Refused` carries a stable code for the API.
#[derive(Debug)]
pub enum StoreError {
    Db(sqlx::Error),
    /// Bad data from a caller: names what and where.
    Invalid(String),
    NotFound(String),
    Transition(TransitionError),
    /// A business rule refused the step: `code` is stable, `message` is for people.
    Refused {
        code: &'static str,
        message: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Db(e) => write!(f, "database error: {e}"),
            StoreError::Invalid(m) => f.write_str(m),
            StoreError::NotFound(m) => write!(f, "not found: {m}"),
            StoreError::Transition(e) => write!(f, "{e}"),
            StoreError::Refused { code, message } => write!(f, "{message} [{code}]"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        // PostgreSQL refuses a NUL character in text (22021, character_not_in_repertoire);
        // that is bad input, not a failure of the database (issue 9, defect 7). The HTTP
        // layer rejects NUL before it gets here; this is the net under it for every caller.
        if let sqlx::Error::Database(d) = &e
            && d.code().as_deref() == Some("22021")
        {
            return StoreError::Invalid(
                "文本中含有空字符 (NUL),请删除后重试 (text contains a NUL character)".into(),
            );
        }
        StoreError::Db(e)
    }
}

impl From<TransitionError> for StoreError {
    fn from(e: TransitionError) -> StoreError {
        StoreError::Transition(e)
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Who is acting: a user id and role, for applicants the organisation they act for, and for
/// staff the jurisdiction they work for (`None`: the whole platform).
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: String,
    pub role: Role,
    pub applicant: Option<String>,
    pub jurisdiction: Option<String>,
}

impl Actor {
    pub fn new(id: &str, role: Role) -> Actor {
        Actor {
            id: id.to_string(),
            role,
            applicant: None,
            jurisdiction: None,
        }
    }
    /// Staff of one jurisdiction.
    pub fn staff(id: &str, role: Role, jurisdiction: &str) -> Actor {
        Actor {
            jurisdiction: Some(jurisdiction.to_string()),
            ..Actor::new(id, role)
        }
    }
    pub fn applicant(id: &str, applicant: &str) -> Actor {
        Actor {
            id: id.to_string(),
            role: Role::Applicant,
            applicant: Some(applicant.to_string()),
            jurisdiction: None,
        }
    }
    pub fn system() -> Actor {
        Actor::new("system", Role::System)
    }
}

type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

/// The 公示 periods a reviewer may choose unless the operator sets others (`--notice-days`).
pub const DEFAULT_NOTICE_DAYS: std::ops::RangeInclusive<i64> = 5..=30;

/// The store: a connection pool, the policy library the engine runs, and a clock.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The library versions: the active one (swapped when another is published) and the
    /// checked versions by id (see `versions`).
    libs: Arc<versions::Libraries>,
    clock: Clock,
    /// A pause inside the approval transaction, between reading the ledger and writing it:
    /// widens the race window so concurrency and crash tests are not left to luck.
    pause: Option<std::time::Duration>,
    /// Serialises this process's SQLite writers (see `begin_write`).
    write_lock: Arc<tokio::sync::Mutex<()>>,
    /// The most a reviewer may approve for an amount set by review (评审确定) when the clause
    /// gives no range of its own (see `kc_domain::DEFAULT_REVIEW_CEILING`).
    review_ceiling: Money,
    /// The 公示 periods (days) a reviewer may choose; see [`Store::with_notice_days`].
    notice_days: std::ops::RangeInclusive<i64>,
    /// The SQLite file, for the start-up lock beside it.
    sqlite_path: Option<std::path::PathBuf>,
    /// The operator's virus scanner, run on every upload (see [`Store::with_scan_command`]).
    scan_command: Option<Arc<Vec<String>>>,
    /// How large uploaded files may be.
    upload_limits: materials::UploadLimits,
    /// Application id → (applicant, measure), which never change: the locks a step takes,
    /// known without a round trip (checked under the locks; see `Store::act`).
    app_keys: Arc<std::sync::Mutex<std::collections::HashMap<String, (String, String)>>>,
    /// On PostgreSQL, a second pool of native connections for the steps that commit money
    /// (the busiest write path): sqlx's `Any` driver converts every value of every row into
    /// an owned `Any` value, which cost a noticeable share of an approval's CPU.
    pg: Option<sqlx::PgPool>,
    /// The jurisdiction tree of the library's region vocabulary.
    jurisdictions: Arc<jurisdictions::Jurisdictions>,
    /// The order in which the levels that pay an application review it.
    review_order: kc_domain::ReviewOrder,
    /// The S&T market's dictionary and search index.
    market: Arc<market::search::MarketSearch>,
}

/// At most this many applications' keys are cached (the cache is emptied when full).
pub(crate) const APP_KEYS_CACHED: usize = 100_000;

/// Held while a process does its start-up work; see [`Store::startup_lock`].
pub struct StartupLock(Held);

enum Held {
    Nothing,
    Postgres(sqlx::pool::PoolConnection<sqlx::Any>),
    /// Unlocked when the file is closed.
    File(#[allow(dead_code)] std::fs::File),
}

impl StartupLock {
    pub async fn release(mut self) -> Result<()> {
        if let Held::Postgres(mut conn) = std::mem::replace(&mut self.0, Held::Nothing) {
            sqlx::query("SELECT pg_advisory_unlock(4242424243)")
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

impl Drop for StartupLock {
    fn drop(&mut self) {
        // Not released (an error on the way): close the connection instead of returning it
        // to the pool, which ends the session and with it the lock.
        if let Held::Postgres(conn) = std::mem::replace(&mut self.0, Held::Nothing) {
            drop(conn.detach());
        }
    }
}

/// The platform's local time: China Standard Time, UTC+8, no daylight saving.
pub(crate) fn cst(ts: jiff::Timestamp) -> jiff::ZonedDateTime {
    ts.to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
}

impl Store {
    /// Opens (and creates, for SQLite) the database at `url` and applies pending migrations.
    /// `url`: `postgres://…`, `sqlite://path`, or a plain file path (SQLite).
    pub async fn open(url: &str, lib: Arc<Library>) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let mut sqlite_path = None;
        let (backend, url) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            sqlite_path = Some(std::path::PathBuf::from(
                path.split('?').next().unwrap_or(path),
            ));
            (Backend::Sqlite, format!("sqlite://{path}?mode=rwc"))
        };
        let mut opts = AnyPoolOptions::new();
        if backend == Backend::Sqlite {
            // WAL lets readers run beside the one writer; the busy timeout makes a writer wait
            // for the lock instead of failing; foreign keys are off by default in SQLite.
            opts = opts.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA journal_mode = WAL")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA busy_timeout = 30000")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA foreign_keys = ON")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA synchronous = NORMAL")
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            });
        } else {
            // Approvals have a pool of their own (below); this one serves everything else.
            opts = opts.max_connections(10);
        }
        // sqlx pings a connection every time it leaves the pool: one more round trip per
        // transaction. Ping only a connection that has been idle for a while instead; a
        // connection used moments ago is alive (and a dead one fails its query, nothing more).
        opts = opts
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > std::time::Duration::from_secs(30) {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            });
        let pool = opts.connect(&url).await?;
        // The market's search index lives beside an SQLite file; in memory otherwise (see
        // `market::search`).
        let market_dir = sqlite_path
            .as_ref()
            .filter(|p| !p.to_string_lossy().contains(":memory:") && !url.contains("mode=memory"))
            .map(|p| {
                let mut dir = p.clone().into_os_string();
                dir.push(".market-index");
                std::path::PathBuf::from(dir)
            });
        let pg = if backend == Backend::Postgres {
            // Connections are opened when first needed, as for the pool above.
            Some(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(20)
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for > std::time::Duration::from_secs(30) {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect_lazy(&url)?,
            )
        } else {
            None
        };
        let store = Store {
            pool,
            backend,
            clock: Arc::new(jiff::Timestamp::now),
            pause: None,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
            review_ceiling: kc_domain::DEFAULT_REVIEW_CEILING,
            notice_days: DEFAULT_NOTICE_DAYS,
            sqlite_path,
            scan_command: None,
            upload_limits: materials::UploadLimits::default(),
            app_keys: Default::default(),
            pg,
            jurisdictions: Arc::new(jurisdictions::Jurisdictions::from_library(&lib)),
            review_order: kc_domain::ReviewOrder::default(),
            market: Arc::new(market::search::MarketSearch::new(market_dir)),
            libs: Arc::new(versions::Libraries::new(lib)),
        };
        migrate::run(&store).await?;
        Ok(store)
    }

    /// Serialises start-up work between processes sharing one database (migrations, the
    /// first-start seeding): two `serve` processes started at once on an empty database must
    /// not both create the admin (issue 9, defect 8). On PostgreSQL a session-level advisory
    /// lock held on a connection of its own; on SQLite an exclusive lock on a file beside the
    /// database (`kechuang.db.startup-lock`). Held until [`StartupLock::release`] or drop.
    pub async fn startup_lock(&self) -> Result<StartupLock> {
        if self.backend == Backend::Postgres {
            let mut conn = self.pool.acquire().await?;
            sqlx::query("SELECT pg_advisory_lock(4242424243)")
                .execute(&mut *conn)
                .await?;
            return Ok(StartupLock(Held::Postgres(conn)));
        }
        let Some(db) = &self.sqlite_path else {
            return Ok(StartupLock(Held::Nothing));
        };
        let mut path = db.clone().into_os_string();
        path.push(".startup-lock");
        let file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            f.lock()?;
            Ok(f)
        })
        .await
        .map_err(|e| StoreError::Invalid(format!("start-up lock: {e}")))?
        .map_err(|e| StoreError::Invalid(format!("start-up lock beside {}: {e}", db.display())))?;
        Ok(StartupLock(Held::File(file)))
    }

    /// Replaces the clock (tests, simulations).
    pub fn with_clock(
        mut self,
        clock: impl Fn() -> jiff::Timestamp + Send + Sync + 'static,
    ) -> Store {
        self.clock = Arc::new(clock);
        self
    }

    /// Sleeps this long inside every approval transaction (tests only: see `pause`).
    pub fn with_pause_in_approval(mut self, pause: std::time::Duration) -> Store {
        self.pause = Some(pause);
        self
    }

    /// Sets the ceiling on amounts set by review where the clause gives no range.
    pub fn with_review_ceiling(mut self, ceiling: Money) -> Store {
        self.review_ceiling = ceiling;
        self
    }

    /// Sets the order in which the levels that pay review an application.
    pub fn with_review_order(mut self, order: kc_domain::ReviewOrder) -> Store {
        self.review_order = order;
        self
    }

    pub fn review_order(&self) -> kc_domain::ReviewOrder {
        self.review_order
    }

    pub fn review_ceiling(&self) -> Money {
        self.review_ceiling
    }

    /// Sets the range of 公示 periods (days) a reviewer may choose (default 5–30). A range
    /// from 0 lets payment follow at once (tests, simulations).
    pub fn with_notice_days(mut self, range: std::ops::RangeInclusive<i64>) -> Store {
        self.notice_days = range;
        self
    }

    pub fn notice_days(&self) -> std::ops::RangeInclusive<i64> {
        self.notice_days.clone()
    }

    /// The 公示 period for a step: the one given, or 7 days (the lower bound if 7 is outside
    /// the range), refused (`invalid`) outside the configured range.
    pub fn notice_period(&self, days: Option<i64>) -> Result<i64> {
        let (lo, hi) = (*self.notice_days.start(), *self.notice_days.end());
        let days = days.unwrap_or(if self.notice_days.contains(&7) { 7 } else { lo });
        if !self.notice_days.contains(&days) {
            return Err(StoreError::Invalid(format!(
                "公示期 {days} 天不在允许范围 {lo} 至 {hi} 天内 (notice period {days} days: between {lo} and {hi})"
            )));
        }
        Ok(days)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) fn now(&self) -> String {
        cst((self.clock)())
            .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
            .to_string()
    }

    /// Today in China Standard Time by the store's clock: the one clock of the platform, so
    /// pages and the API can be tested at a fixed date (`with_clock`).
    pub fn today(&self) -> Date {
        cst((self.clock)()).date()
    }

    /// Adds or replaces an applicant. `profile` is the applicant object of
    /// `kechuang/eval-input/v1`; it is validated against the vocabulary and its `id` must be a
    /// valid 统一社会信用代码.
    pub async fn upsert_applicant(&self, actor: &Actor, profile: &J) -> Result<String> {
        let key = format!("applicant:{}", profile["id"].as_str().unwrap_or(""));
        let mut tx = self.begin_write(&[key]).await?;
        let id = self.upsert_applicant_in(&mut tx, actor, profile).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) fn validate_applicant(
        &self,
        profile: &J,
    ) -> Result<(String, String, String, String)> {
        let id = profile["id"].as_str().unwrap_or("");
        let uscc = kc_domain::Uscc::parse(id)
            .map_err(|e| StoreError::Invalid(format!("$.applicant.id: “{id}”: {e}")))?;
        let doc =
            json!({"schema": kc_wire::INPUT_SCHEMA, "as_of": "2000-01-01", "applicant": profile});
        let input = kc_wire::parse_input(&self.library(), &doc.to_string(), None)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let lib = self.library();
        let v = &lib.vocab;
        let name = input.applicant.name.clone();
        if name.trim().is_empty() {
            return Err(StoreError::Invalid(
                "$.applicant.name: missing: every applicant has a name".into(),
            ));
        }
        let kind = match &input.applicant.fields[v.kind_slot] {
            kc_check::Value::Enum(e, m) => v.member_name(*e, *m).to_string(),
            _ => return Err(StoreError::Invalid("$.applicant.kind: missing".into())),
        };
        let region = match &input.applicant.fields[v.region_slot] {
            kc_check::Value::Enum(e, m) => v.member_name(*e, *m).to_string(),
            _ => return Err(StoreError::Invalid("$.applicant.region: missing".into())),
        };
        Ok((uscc.to_string(), name, kind, region))
    }

    pub(crate) async fn upsert_applicant_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        actor: &Actor,
        profile: &J,
    ) -> Result<String> {
        let (id, name, kind, region) = self.validate_applicant(profile)?;
        let mut profile = profile.clone();
        profile["id"] = json!(id);
        let before: Option<String> = sqlx::query("SELECT profile FROM applicants WHERE id = $1")
            .bind(&id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r: AnyRow| r.get::<String, _>(0));
        let now = self.now();
        if before.is_some() {
            sqlx::query("UPDATE applicants SET name = $1, kind = $2, region = $3, profile = $4, updated_at = $5 WHERE id = $6")
                .bind(&name)
                .bind(&kind)
                .bind(&region)
                .bind(profile.to_string())
                .bind(&now)
                .bind(&id)
                .execute(&mut **tx)
                .await?;
        } else {
            sqlx::query("INSERT INTO applicants (id, name, kind, region, profile, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&id)
                .bind(&name)
                .bind(&kind)
                .bind(&region)
                .bind(profile.to_string())
                .bind(&now)
                .bind(&now)
                .execute(&mut **tx)
                .await?;
        }
        self.audit_in(
            tx,
            actor,
            if before.is_some() { "update" } else { "create" },
            "applicant",
            &id,
            before.as_deref(),
            Some(&profile.to_string()),
        )
        .await?;
        Ok(id)
    }

    /// Records an event of an applicant. `event` is an event object of eval-input v1.
    pub async fn add_event(&self, actor: &Actor, applicant_id: &str, event: &J) -> Result<String> {
        let mut tx = self
            .begin_write(&[format!("applicant:{applicant_id}")])
            .await?;
        let id = self
            .add_event_in(&mut tx, actor, applicant_id, event)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) async fn add_event_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        actor: &Actor,
        applicant_id: &str,
        event: &J,
    ) -> Result<String> {
        let profile = self.profile_in(tx, applicant_id).await?;
        let doc = json!({"schema": kc_wire::INPUT_SCHEMA, "as_of": "2000-01-01", "applicant": profile, "events": [event]});
        let input = kc_wire::parse_input(&self.library(), &doc.to_string(), None)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let ev = &input.events[0];
        let kind = self.library().vocab.events[ev.kind].name.clone();
        let exists: Option<AnyRow> = sqlx::query("SELECT id FROM events WHERE id = $1")
            .bind(&ev.id)
            .fetch_optional(&mut **tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::Refused {
                code: "duplicate_event",
                message: format!(
                    "事件编号 {} 已存在 (event id {} already exists)",
                    ev.id, ev.id
                ),
            });
        }
        sqlx::query("INSERT INTO events (id, applicant_id, kind, date, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&ev.id)
            .bind(applicant_id)
            .bind(&kind)
            .bind(ev.date.to_string())
            .bind(event.to_string())
            .bind(self.now())
            .execute(&mut **tx)
            .await?;
        self.audit_in(
            tx,
            actor,
            "create",
            "event",
            &ev.id,
            None,
            Some(&event.to_string()),
        )
        .await?;
        Ok(ev.id.clone())
    }

    pub(crate) async fn profile_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        applicant_id: &str,
    ) -> Result<J> {
        let row: Option<AnyRow> = sqlx::query("SELECT profile FROM applicants WHERE id = $1")
            .bind(applicant_id)
            .fetch_optional(&mut **tx)
            .await?;
        let row = row.ok_or_else(|| StoreError::NotFound(format!("applicant {applicant_id}")))?;
        serde_json::from_str(&row.get::<String, _>(0))
            .map_err(|e| StoreError::Invalid(format!("stored profile of {applicant_id}: {e}")))
    }

    /// Sets the budget of a measure for a year and level (replacing the previous figure): for
    /// staff of a jurisdiction, that jurisdiction's own budget of its own level; for staff of
    /// the whole platform, the budget of the whole level.
    pub async fn set_budget(
        &self,
        actor: &Actor,
        measure: &str,
        year: i32,
        level: &str,
        amount: kc_money::Money,
    ) -> Result<()> {
        let own = actor.jurisdiction.clone();
        self.set_budget_of(actor, measure, year, level, own.as_deref(), amount)
            .await
    }

    /// Sets the budget of a measure, year and level for one jurisdiction (`None`: the whole
    /// level). A jurisdiction's staff set only their own budget, of their own tier's level;
    /// staff of the whole platform set any.
    pub async fn set_budget_of(
        &self,
        actor: &Actor,
        measure: &str,
        year: i32,
        level: &str,
        jurisdiction: Option<&str>,
        amount: kc_money::Money,
    ) -> Result<()> {
        if let Some(own) = &actor.jurisdiction {
            let tier = self.jurisdictions.get(own).map(|j| j.tier);
            if jurisdiction != Some(own.as_str()) || tier.map(|t| t.level()) != Some(level) {
                return Err(StoreError::Refused {
                    code: "forbidden",
                    message: format!(
                        "{}只能设置本级({})预算 (a jurisdiction sets only its own budget, of its own level)",
                        self.jurisdictions.zh(own),
                        tier.map(|t| t.zh()).unwrap_or("")
                    ),
                });
            }
        }
        if let Some(j) = jurisdiction {
            self.check_jurisdiction(j)?;
            let tier = self.jurisdictions.get(j).map(|x| x.tier.level());
            if tier != Some(level) {
                return Err(StoreError::Invalid(format!(
                    "{}不是{}辖区 (the jurisdiction is not of that level)",
                    self.jurisdictions.zh(j),
                    kc_domain::level_zh(level)
                )));
            }
        }
        let jur = jurisdiction.unwrap_or_default();
        if !actor.role.may(kc_domain::Access::SetBudget) {
            return Err(StoreError::Refused {
                code: "forbidden",
                message: format!("角色 {} 无权设置预算", actor.role.code()),
            });
        }
        if self.library().measure(measure).is_none() {
            return Err(StoreError::Invalid(format!("unknown measure “{measure}”")));
        }
        kc_domain::check_year(year.into()).map_err(StoreError::Invalid)?;
        if kc_syntax_level(level).is_none() {
            return Err(StoreError::Invalid(format!(
                "unknown level “{level}” (central, province, city, district, institution)"
            )));
        }
        let fen = kc_domain::to_fen(amount)
            .filter(|f| *f >= 0)
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "预算金额 {amount} 须为不超过 {} 元的非负金额,精确到分 (a non-negative amount in whole fen, at most the maximum)",
                    kc_money::Money::MAX.grouped()
                ))
            })?;
        let mut tx = self.begin_write(&[format!("budget:{measure}")]).await?;
        let before: Option<i64> = sqlx::query(
            "SELECT amount_fen FROM budgets WHERE measure = $1 AND budget_year = $2 AND level = $3 AND jurisdiction = $4",
        )
        .bind(measure)
        .bind(year as i64)
        .bind(level)
        .bind(jur)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r: AnyRow| r.get::<i64, _>(0));
        if before.is_some() {
            sqlx::query("UPDATE budgets SET amount_fen = $1 WHERE measure = $2 AND budget_year = $3 AND level = $4 AND jurisdiction = $5")
                .bind(fen)
                .bind(measure)
                .bind(year as i64)
                .bind(level)
                .bind(jur)
                .execute(&mut **tx)
                .await?;
        } else {
            sqlx::query("INSERT INTO budgets (measure, budget_year, level, amount_fen, jurisdiction) VALUES ($1, $2, $3, $4, $5)")
                .bind(measure)
                .bind(year as i64)
                .bind(level)
                .bind(fen)
                .bind(jur)
                .execute(&mut **tx)
                .await?;
        }
        let key = if jur.is_empty() {
            format!("{measure}/{year}/{level}")
        } else {
            format!("{measure}/{year}/{level}/{jur}")
        };
        self.audit_in(
            &mut tx,
            actor,
            "set_budget",
            "budget",
            &key,
            before.map(|b| b.to_string()).as_deref(),
            Some(&fen.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn audit_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        actor: &Actor,
        action: &str,
        entity: &str,
        entity_id: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Result<()> {
        sqlx::query("INSERT INTO audit (at, actor, action, entity, entity_id, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(self.now())
            .bind(format!("{}:{}", actor.role.code(), actor.id))
            .bind(action)
            .bind(entity)
            .bind(entity_id)
            .bind(before.map(str::to_string))
            .bind(after.map(str::to_string))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The audit log, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<J>> {
        let rows = sqlx::query("SELECT seq, at, actor, action, entity, entity_id, before, after FROM audit ORDER BY seq DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                json!({
                    "seq": r.get::<i64, _>(0), "at": r.get::<String, _>(1), "actor": r.get::<String, _>(2),
                    "action": r.get::<String, _>(3), "entity": r.get::<String, _>(4), "entity_id": r.get::<String, _>(5),
                    "before": r.get::<Option<String>, _>(6), "after": r.get::<Option<String>, _>(7),
                })
            })
            .collect())
    }

    /// The audit log, newest first, filtered: every given field must match exactly, except
    /// `from`/`until`, which bound the timestamp (`at >= from`, `at < until`, ISO text such as
    /// `2026-11-23` or a full timestamp).
    pub async fn audit_query(&self, filter: &AuditFilter) -> Result<Vec<J>> {
        self.audit_query_in(filter, None).await
    }

    /// The audit log as an actor sees it: staff of a jurisdiction the entries about the
    /// applicants located in it and their applications, and the entries of the staff of the
    /// jurisdictions in it; staff of the whole platform everything.
    pub async fn audit_for(&self, actor: &Actor, filter: &AuditFilter) -> Result<Vec<J>> {
        if !actor.role.may(kc_domain::Access::Audit) {
            return Err(StoreError::Refused {
                code: "forbidden",
                message: format!(
                    "角色 {} 无权查看审计日志 (may not see the audit log)",
                    actor.role.code()
                ),
            });
        }
        let scope = actor
            .jurisdiction
            .as_ref()
            .map(|j| self.jurisdictions.within(j));
        self.audit_query_in(filter, scope.as_deref()).await
    }

    async fn audit_query_in(&self, filter: &AuditFilter, scope: Option<&[&str]>) -> Result<Vec<J>> {
        let mut sql = String::from(
            "SELECT seq, at, actor, action, entity, entity_id, before, after FROM audit WHERE 1 = 1",
        );
        let mut binds: Vec<&str> = Vec::new();
        if let Some(regions) = scope {
            // The same list three times: applicants in it, their applications, its staff.
            let n = regions.len();
            let (a, b, c) = (
                jurisdictions::in_params(1, n),
                jurisdictions::in_params(n + 1, n),
                jurisdictions::in_params(2 * n + 1, n),
            );
            sql.push_str(&format!(
                " AND ((entity = 'applicant' AND entity_id IN (SELECT id FROM applicants WHERE region IN ({a}))) \
                  OR (entity = 'application' AND entity_id IN (SELECT ap.id FROM applications ap JOIN applicants p ON p.id = ap.applicant_id WHERE p.region IN ({b}))) \
                  OR actor IN (SELECT role || ':' || id FROM users WHERE jurisdiction IN ({c})))"
            ));
            for _ in 0..3 {
                binds.extend(regions.iter().copied());
            }
        }
        for (column, op, value) in [
            ("actor", "=", &filter.actor),
            ("action", "=", &filter.action),
            ("entity", "=", &filter.entity),
            ("entity_id", "=", &filter.entity_id),
            ("at", ">=", &filter.from),
            ("at", "<", &filter.until),
        ] {
            if let Some(v) = value {
                binds.push(v);
                sql.push_str(&format!(" AND {column} {op} ${}", binds.len()));
            }
        }
        let mut n = binds.len();
        if filter.before_seq.is_some() {
            n += 1;
            sql.push_str(&format!(" AND seq < ${n}"));
        }
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", n + 1));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b.to_string());
        }
        if let Some(seq) = filter.before_seq {
            q = q.bind(seq);
        }
        let rows = q.bind(filter.limit).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| {
                json!({
                    "seq": r.get::<i64, _>(0), "at": r.get::<String, _>(1), "actor": r.get::<String, _>(2),
                    "action": r.get::<String, _>(3), "entity": r.get::<String, _>(4), "entity_id": r.get::<String, _>(5),
                    "before": r.get::<Option<String>, _>(6), "after": r.get::<Option<String>, _>(7),
                })
            })
            .collect())
    }

    /// Net committed and paid fen of a measure and budget year, and the budget where one is
    /// set, for the whole platform: one line per budget row (a jurisdiction's, or the whole
    /// level's, which counts every jurisdiction of the level), and one per level and paying
    /// jurisdiction that has commitments but no row of its own.
    pub async fn budget_status(&self, measure: &str, year: i32) -> Result<Vec<BudgetLine>> {
        let rows = sqlx::query(
            "SELECT level, COALESCE(payer, ''), \
                    CAST(SUM(CASE WHEN entry IN ('commitment', 'reversal') THEN amount_fen ELSE 0 END) AS BIGINT), \
                    CAST(SUM(CASE WHEN entry = 'payment' THEN amount_fen ELSE 0 END) AS BIGINT) \
             FROM ledger WHERE measure = $1 AND budget_year = $2 GROUP BY level, COALESCE(payer, '') ORDER BY 1, 2",
        )
        .bind(measure)
        .bind(year as i64)
        .fetch_all(&self.pool)
        .await?;
        let spent: Vec<(String, String, i64, i64)> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect();
        let budgets = sqlx::query(
            "SELECT level, jurisdiction, amount_fen FROM budgets WHERE measure = $1 AND budget_year = $2 ORDER BY 1, 2",
        )
        .bind(measure)
        .bind(year as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<BudgetLine> = Vec::new();
        for b in &budgets {
            let (level, jurisdiction): (String, String) = (b.get(0), b.get(1));
            let counted = spent.iter().filter(|(l, p, _, _)| {
                *l == level && (jurisdiction.is_empty() || *p == jurisdiction)
            });
            out.push(BudgetLine {
                committed_fen: counted.clone().map(|x| x.2).sum(),
                paid_fen: counted.map(|x| x.3).sum(),
                budget_fen: Some(b.get(2)),
                level,
                jurisdiction,
            });
        }
        for (level, payer, committed, paid) in spent {
            // Counted on a line already: its own row, or its level's row.
            if out
                .iter()
                .any(|l| l.level == level && (l.jurisdiction.is_empty() || l.jurisdiction == payer))
            {
                continue;
            }
            out.push(BudgetLine {
                level,
                jurisdiction: payer,
                committed_fen: committed,
                paid_fen: paid,
                budget_fen: None,
            });
        }
        out.sort_by(|a, b| (&a.level, &a.jurisdiction).cmp(&(&b.level, &b.jurisdiction)));
        Ok(out)
    }

    /// `budget_status` as an actor sees it: staff of a jurisdiction the lines of the
    /// jurisdictions in it (a city its own and its districts'; a district its own), staff of
    /// the whole platform every line.
    pub async fn budget_status_for(
        &self,
        actor: &Actor,
        measure: &str,
        year: i32,
    ) -> Result<Vec<BudgetLine>> {
        if !actor.role.may(kc_domain::Access::Budgets) {
            return Err(StoreError::Refused {
                code: "forbidden",
                message: format!(
                    "角色 {} 无权查看预算 (may not see budgets)",
                    actor.role.code()
                ),
            });
        }
        let mut lines = self.budget_status(measure, year).await?;
        if let Some(own) = &actor.jurisdiction {
            lines.retain(|l| self.jurisdictions.contains(own, &l.jurisdiction));
        }
        Ok(lines)
    }

    /// Sum of every ledger row by kind, for invariant checks: (committed net, paid).
    pub async fn ledger_totals(&self) -> Result<(i64, i64)> {
        let r = sqlx::query(
            "SELECT COALESCE(CAST(SUM(CASE WHEN entry IN ('commitment', 'reversal') THEN amount_fen ELSE 0 END) AS BIGINT), 0), \
                    COALESCE(CAST(SUM(CASE WHEN entry = 'payment' THEN amount_fen ELSE 0 END) AS BIGINT), 0) FROM ledger",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((r.get::<i64, _>(0), r.get::<i64, _>(1)))
    }
}

/// Filters of the audit log (`Store::audit_query`); `None` matches everything.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub from: Option<String>,
    pub until: Option<String>,
    /// Keyset paging: only entries older than this sequence number (the next page).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

/// A budget line: one measure, year and level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetLine {
    pub level: String,
    /// The jurisdiction whose budget or commitments the line counts ('' for the whole level).
    pub jurisdiction: String,
    pub committed_fen: i64,
    pub paid_fen: i64,
    pub budget_fen: Option<i64>,
}

impl BudgetLine {
    pub fn warning(&self) -> Option<&'static str> {
        self.budget_fen
            .and_then(|b| kc_domain::budget_warning(self.committed_fen, b))
    }
}

fn kc_syntax_level(s: &str) -> Option<()> {
    matches!(
        s,
        "central" | "province" | "city" | "district" | "institution"
    )
    .then_some(())
}

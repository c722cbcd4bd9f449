//! Applications through their workflow, and the one place money is committed: `act_award`,
//! run inside a serialised write transaction together with the ledger write.

use crate::{Actor, Backend, Result, Store, StoreError};
use kc_check::Library;
use kc_domain::{Access, Action, AppState, EntryKind, Role, from_fen, to_fen, transition};
use kc_eval::{AmountKind, PriorAward, Status};
use kc_money::Money;
use serde_json::{Value as J, json};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;

pub(crate) type Tx = Transaction<'static, Any>;

/// A serialised write transaction: the transaction and, on SQLite, this process's writer lock,
/// released after the transaction ends.
pub(crate) struct WriteTx {
    tx: Tx,
    _guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::ops::Deref for WriteTx {
    type Target = Tx;
    fn deref(&self) -> &Tx {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Tx {
        &mut self.tx
    }
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// What a step may carry.
#[derive(Clone, Debug, Default)]
pub struct ActArgs {
    /// Approve: the amount (default: the engine's amount for a fixed sum; required for a
    /// maximum (最高…) and an amount set by review).
    pub amount: Option<Money>,
    /// Approve below the engine's amount, reject, object: why.
    pub reason: Option<String>,
    /// Request material: everything missing, listed at once (一次性告知).
    pub missing: Vec<String>,
    /// Publish notice, confirm an offer: the 公示 period in days (default 7, within the
    /// store's configured range, 5–30 unless set otherwise).
    pub notice_days: Option<i64>,
}

/// An application as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ApplicationView {
    pub id: String,
    pub applicant_id: String,
    pub measure: String,
    pub event_id: String,
    pub origin: String,
    pub state: AppState,
    pub computed: Option<Money>,
    pub amount_kind: Option<String>,
    pub approved: Option<Money>,
    pub reason: Option<String>,
    pub missing: Option<String>,
    pub notice_until: Option<String>,
    /// How many levels have recommended it (0 until the first level that pays recommends).
    pub review_stage: i64,
    /// The amount the last recommending level proposed.
    pub recommended: Option<Money>,
}

const APP_COLUMNS: &str = "id, applicant_id, measure, event_id, origin, state, computed_fen, amount_kind, approved_fen, reason, missing, notice_until, review_stage, recommended_fen";
/// `APP_COLUMNS` of the table aliased `a`.
const APP_COLUMNS_A: &str = "a.id, a.applicant_id, a.measure, a.event_id, a.origin, a.state, a.computed_fen, a.amount_kind, a.approved_fen, a.reason, a.missing, a.notice_until, a.review_stage, a.recommended_fen";

/// Everything an approval reads before it decides, in one statement (one round trip): the
/// application, the applicant's profile, the event, the applicant's history from the ledger,
/// and the budget rows of the measure for the year. Read after the locks are held, so no
/// other writer can change any of it before the transaction ends (see `Store::act_award`).
/// Three kinds
/// of row, told apart by the 18th column: 0 the application with profile, event body and
/// date; 1 one history entry per earlier application (in ledger order, the 19th column); 2
/// one budget row per level and jurisdiction. `$1` the application, `$2` the budget year.
pub(crate) static AWARD_INPUTS_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {APP_COLUMNS}, p.profile, e.body, e.date, CAST(0 AS BIGINT), CAST(0 AS BIGINT) \
             FROM applications a JOIN applicants p ON p.id = a.applicant_id JOIN events e ON e.id = a.event_id \
             WHERE a.id = $1 \
             UNION ALL \
             SELECT application_id, measure, MIN(event_date), MAX(activity), MAX(item), NULL, CAST(SUM(amount_fen) AS BIGINT), \
                    NULL, MAX(base_fen), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, CAST(1 AS BIGINT), MIN(seq) \
             FROM ledger WHERE applicant_id = (SELECT applicant_id FROM applications WHERE id = $1) \
                   AND entry IN ('commitment', 'reversal') \
             GROUP BY application_id, measure \
             UNION ALL \
             SELECT level, jurisdiction, NULL, NULL, NULL, NULL, amount_fen, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
                    NULL, NULL, NULL, CAST(2 AS BIGINT), CAST(0 AS BIGINT) \
             FROM budgets WHERE measure = (SELECT measure FROM applications WHERE id = $1) AND budget_year = $2 \
             ORDER BY 18, 19",
        APP_COLUMNS = APP_COLUMNS_A
    )
});

/// What an approval reads besides the application (`Store::award_inputs_in`).
pub(crate) struct AwardInputs {
    profile: J,
    event: J,
    event_date: String,
    /// The applicant's history as the engine reads it, without this application.
    history: Vec<PriorAward>,
    /// (level, jurisdiction or '' for the whole level, budget in fen) of the measure in the
    /// budget year, where one is set.
    budgets: Vec<(String, String, i64)>,
}

/// Column access shared by sqlx's `Any` rows and native PostgreSQL rows (the approval path
/// on PostgreSQL reads native rows; see `pg.rs`). Panics on a type mismatch, as `Row::get`.
pub(crate) trait Cols {
    fn text(&self, i: usize) -> String;
    fn opt_text(&self, i: usize) -> Option<String>;
    fn int(&self, i: usize) -> i64;
    fn opt_int(&self, i: usize) -> Option<i64>;
}

macro_rules! impl_cols {
    ($row:ty) => {
        impl Cols for $row {
            fn text(&self, i: usize) -> String {
                self.get(i)
            }
            fn opt_text(&self, i: usize) -> Option<String> {
                self.get(i)
            }
            fn int(&self, i: usize) -> i64 {
                self.get(i)
            }
            fn opt_int(&self, i: usize) -> Option<i64> {
                self.get(i)
            }
        }
    };
}
impl_cols!(AnyRow);
impl_cols!(sqlx::postgres::PgRow);

pub(crate) fn app_from_row(r: &impl Cols) -> Result<ApplicationView> {
    let state = r.text(5);
    Ok(ApplicationView {
        id: r.text(0),
        applicant_id: r.text(1),
        measure: r.text(2),
        event_id: r.text(3),
        origin: r.text(4),
        state: AppState::parse(&state)
            .ok_or_else(|| StoreError::Invalid(format!("stored state “{state}”")))?,
        computed: r.opt_int(6).map(from_fen),
        amount_kind: r.opt_text(7),
        approved: r.opt_int(8).map(from_fen),
        reason: r.opt_text(9),
        missing: r.opt_text(10),
        notice_until: r.opt_text(11),
        review_stage: r.int(12),
        recommended: r.opt_int(13).map(from_fen),
    })
}

fn app_json(a: &ApplicationView) -> String {
    let mut j = json!({
        "state": a.state.code(), "approved": a.approved.map(|m| m.plain()), "reason": a.reason,
        "missing": a.missing, "notice_until": a.notice_until,
    });
    // Only where levels recommend, so the single-level records read as before.
    if a.review_stage > 0 {
        j["review_stage"] = json!(a.review_stage);
        j["recommended"] = json!(a.recommended.map(|m| m.plain()));
    }
    j.to_string()
}

/// The transaction of a step that commits money: sqlx's `Any` driver (SQLite), or the
/// native PostgreSQL driver (`Store::pg`), which spares the conversion of every row into
/// `Any` values on the busiest write path.
pub(crate) enum AwardTx {
    Any(WriteTx),
    Pg(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$c` bound to the connection of an `AwardTx`, whichever driver it is
/// (the body is compiled once per driver).
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            AwardTx::Any(t) => {
                let $c: &mut sqlx::AnyConnection = &mut *t;
                $body
            }
            AwardTx::Pg(t) => {
                let $c: &mut sqlx::PgConnection = &mut *t;
                $body
            }
        }
    };
}

/// `BEGIN` and the advisory locks, sorted by key, as one simple query (see
/// `Store::begin_write_shared`).
pub(crate) fn pg_begin_sql(exclusive: &[String], shared: &[String]) -> String {
    let mut keys: Vec<(i64, bool)> = exclusive
        .iter()
        .map(|l| (lock_key(l), true))
        .chain(shared.iter().map(|l| (lock_key(l), false)))
        .collect();
    // Sorted by key, exclusive first, then one lock per key.
    keys.sort_unstable_by_key(|&(k, x)| (k, !x));
    keys.dedup_by_key(|&mut (k, _)| k);
    let mut begin = String::from("BEGIN");
    for (k, x) in keys {
        // The keys are integers formatted here: nothing from outside is spliced.
        let f = if x {
            "pg_advisory_xact_lock"
        } else {
            "pg_advisory_xact_lock_shared"
        };
        begin.push_str(&format!("; SELECT {f}({k})"));
    }
    begin
}

/// Locks the budget rows of a measure and year, in level order (PostgreSQL).
pub(crate) const BUDGET_LOCK_SQL: &str = "SELECT level FROM budgets WHERE measure = $1 AND budget_year = $2 \
     ORDER BY level, jurisdiction FOR UPDATE";

/// The net commitments per level and paying jurisdiction of a measure and year.
pub(crate) const BUDGET_SUMS_SQL: &str = "SELECT level, COALESCE(payer, ''), CAST(SUM(amount_fen) AS BIGINT) FROM ledger \
     WHERE measure = $1 AND budget_year = $2 AND entry IN ('commitment', 'reversal') GROUP BY level, COALESCE(payer, '')";

/// The budget check of an approval: for each part that meets a budget row, (level,
/// jurisdiction of the row, part, budget in fen), the net commitments of the level
/// (`committed`: level, payer, sum; read after the budget rows were locked) plus the part must
/// not exceed the budget. A jurisdiction's row counts what that jurisdiction committed; a row
/// of the whole level ('') what every jurisdiction of the level committed.
pub(crate) fn check_budget_sums(
    year: i64,
    limited: &[(&str, String, Money, i64)],
    committed: &[(String, String, i64)],
    names: &crate::Jurisdictions,
) -> Result<()> {
    for (level, jurisdiction, part, budget_fen) in limited {
        let committed: i64 = committed
            .iter()
            .filter(|(l, p, _)| l == level && (jurisdiction.is_empty() || p == jurisdiction))
            .map(|(_, _, c)| *c)
            .sum();
        let need = to_fen(*part).unwrap_or(i64::MAX);
        if committed.saturating_add(need) > *budget_fen {
            return Err(refused(
                "budget",
                format!(
                    "{}年度{}{}预算不足:预算 {},已承诺 {},本次需 {} (budget exhausted)",
                    year,
                    names.zh(jurisdiction),
                    kc_domain::level_zh(level),
                    from_fen(*budget_fen),
                    from_fen(committed),
                    part
                ),
            ));
        }
    }
    Ok(())
}

/// What an approval writes, decided by `Store::decide_award`.
pub(crate) struct AwardDecision {
    /// The parts that meet a budget row: (level, jurisdiction of the row, part, budget in
    /// fen), to check before writing.
    limited: Vec<(&'static str, String, Money, i64)>,
    approved_fen: i64,
    engine_fen: Option<i64>,
    kind: AmountKind,
    /// (level, paying jurisdiction, fen): one commitment row per level with a positive part.
    rows: Vec<(&'static str, Option<String>, i64)>,
    activity: Option<String>,
    item: Option<String>,
    base_fen: Option<i64>,
    /// The library version the decision was made under (`None`: no version in the database).
    library_version: Option<i64>,
}

/// The steps a reviewing level takes, checked against whose turn it is (`check_stage`).
fn is_review_step(action: Action) -> bool {
    matches!(
        action,
        Action::StartReview
            | Action::RequestMaterial
            | Action::Approve
            | Action::Recommend
            | Action::Reject
            | Action::PublishNotice
            | Action::Object
    )
}

/// The rest of what `Store::write_award` writes.
struct AwardWrite<'a> {
    action: Action,
    to: AppState,
    now: &'a str,
    year: i64,
    event_date: &'a str,
    award: &'a AwardDecision,
    reason: Option<&'a str>,
    notice_until: Option<&'a str>,
    before: &'a str,
}

const LEDGER_COLUMNS: usize = 14;

/// A multi-row INSERT of commitment rows into the ledger, parameters from `$first + 1`.
fn ledger_insert(first: usize, rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|i| {
            let ps: Vec<String> = (1..=LEDGER_COLUMNS)
                .map(|c| format!("${}", first + i * LEDGER_COLUMNS + c))
                .collect();
            format!("({})", ps.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO ledger (application_id, applicant_id, measure, entry, level, budget_year, amount_fen, event_date, activity, item, base_fen, actor, at, payer) \
         VALUES {}",
        values.join(", ")
    )
}

/// A history entry as it is written in an eval-input document.
fn prior_json(p: &PriorAward) -> J {
    json!({
        "measure": p.measure, "date": p.date.to_string(), "amount": p.amount.plain(),
        "activity": p.activity, "item": p.item,
        "base": p.base.map(|b| b.plain()),
    })
}

/// A stable 63-bit key for a PostgreSQL advisory lock (FNV-1a).
fn lock_key(s: &str) -> i64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    (h >> 1) as i64
}

impl Store {
    /// 申报期 and claim deadline on the store's clock (`kc_eval::claimable`): refused with the
    /// reason in Chinese and English. A measure the library no longer has is not limited here.
    fn check_claimable(&self, measure: &str, event_date: Option<jiff::civil::Date>) -> Result<()> {
        let lib = self.library();
        let Some(&mi) = lib.measure_index.get(measure) else {
            return Ok(());
        };
        kc_eval::claimable(&lib, mi, event_date, self.today())
            .map(|_| ())
            .map_err(|r| {
                refused(
                    r.code(),
                    format!("{} ({})", r.words(&lib, false), r.words(&lib, true)),
                )
            })
    }
}

pub(crate) fn refused(code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Refused {
        code,
        message: message.into(),
    }
}

impl Store {
    /// A write transaction that serialises with every other writer touching the same
    /// applicant or measure budget: `BEGIN IMMEDIATE` on SQLite (one writer at a time),
    /// advisory locks taken in a fixed order on PostgreSQL.
    pub(crate) async fn begin_write(&self, locks: &[String]) -> Result<WriteTx> {
        self.begin_write_shared(locks, &[]).await
    }

    /// `begin_write` with some locks taken shared on PostgreSQL: holders of a shared lock run
    /// beside each other and exclude only a holder of the same lock taken exclusively (an
    /// approval takes its measure's budget lock shared, `set_budget` exclusively). On SQLite
    /// every writer is exclusive anyway.
    ///
    /// On PostgreSQL `BEGIN` and the locks go to the server as one simple query, one round
    /// trip. The locks are sorted by key and taken one after the other in that order (a key
    /// named both ways is taken exclusively), so two transactions never wait for each other
    /// in a cycle.
    pub(crate) async fn begin_write_shared(
        &self,
        exclusive: &[String],
        shared: &[String],
    ) -> Result<WriteTx> {
        match self.backend {
            Backend::Sqlite => {
                // Writers of this process queue on a mutex (woken in order the moment it is
                // free) rather than on SQLite's busy handler, which sleeps in growing steps of
                // up to 100 ms; BEGIN IMMEDIATE still guards against other processes.
                let guard = self.write_lock.clone().lock_owned().await;
                let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(WriteTx {
                    tx,
                    _guard: Some(guard),
                })
            }
            Backend::Postgres => {
                let begin = pg_begin_sql(exclusive, shared);
                let tx = self.pool.begin_with(sqlx::AssertSqlSafe(begin)).await?;
                Ok(WriteTx { tx, _guard: None })
            }
        }
    }

    pub(crate) async fn app_in(&self, tx: &mut Tx, id: &str) -> Result<ApplicationView> {
        let sql = format!("SELECT {APP_COLUMNS} FROM applications WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        app_from_row(&row.ok_or_else(|| StoreError::NotFound(format!("application {id}")))?)
    }

    pub async fn application(&self, actor: &Actor, id: &str) -> Result<ApplicationView> {
        let mut tx = self.pool.begin().await?;
        let app = self.app_in(&mut tx, id).await?;
        tx.commit().await?;
        self.may_see(actor, &app.applicant_id).await?;
        Ok(app)
    }

    /// Applications, of one applicant or all; an applicant actor sees only its own.
    pub async fn applications(
        &self,
        actor: &Actor,
        applicant: Option<&str>,
    ) -> Result<Vec<ApplicationView>> {
        let applicant = match (&actor.role, &actor.applicant) {
            (Role::Applicant, Some(own)) => Some(own.as_str()),
            (Role::Applicant, None) => return Err(refused("forbidden", "申报账号未关联申报主体")),
            (role, _) if !role.may(Access::AllApplicants) => {
                return Err(refused(
                    "forbidden",
                    "本角色不查看申报材料 (this role does not see applications)",
                ));
            }
            _ => applicant,
        };
        let rows = match applicant {
            Some(a) => {
                if actor.role != Role::Applicant {
                    self.may_see(actor, a).await?;
                }
                let sql = format!(
                    "SELECT {APP_COLUMNS} FROM applications WHERE applicant_id = $1 ORDER BY created_at, id"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(a)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => match self.scope_regions(actor) {
                None => {
                    let sql =
                        format!("SELECT {APP_COLUMNS} FROM applications ORDER BY created_at, id");
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .fetch_all(&self.pool)
                        .await?
                }
                Some(regions) => {
                    // Only the applications of applicants located in the jurisdiction.
                    let sql = format!(
                        "SELECT {APP_COLUMNS} FROM applications WHERE applicant_id IN \
                         (SELECT id FROM applicants WHERE region IN ({})) ORDER BY created_at, id",
                        crate::jurisdictions::in_params(1, regions.len())
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for r in &regions {
                        q = q.bind(r.clone());
                    }
                    q.fetch_all(&self.pool).await?
                }
            },
        };
        rows.iter().map(app_from_row).collect()
    }

    /// Whether the actor may see and act on one applicant's file: an applicant its own
    /// organisation, staff of a jurisdiction the applicants located in it (one read of the
    /// applicant's region), the plan office none.
    pub async fn may_see(&self, actor: &Actor, applicant_id: &str) -> Result<()> {
        self.may_see_role(actor, applicant_id)?;
        if actor.role != Role::Applicant && actor.jurisdiction.is_some() {
            let region = self.applicant_region(applicant_id).await?;
            self.check_region(actor, &region)?;
        }
        Ok(())
    }

    /// Refuses an applicant located outside the actor's jurisdiction.
    pub(crate) fn check_region(&self, actor: &Actor, region: &str) -> Result<()> {
        if actor.role == Role::Applicant || self.sees_region(actor, region) {
            return Ok(());
        }
        let own = actor.jurisdiction.as_deref().unwrap_or_default();
        Err(refused(
            "forbidden",
            format!(
                "申报主体位于{},不在{}辖区内 (the applicant is outside your jurisdiction)",
                self.jurisdictions.zh(region),
                self.jurisdictions.zh(own)
            ),
        ))
    }

    /// The role part of `may_see`, without the jurisdiction.
    fn may_see_role(&self, actor: &Actor, applicant_id: &str) -> Result<()> {
        if !actor.role.may(Access::ApplicantFile) {
            return Err(refused(
                "forbidden",
                "本角色不查看申报主体的材料 (this role does not see applicants' files)",
            ));
        }
        if actor.role == Role::Applicant && actor.applicant.as_deref() != Some(applicant_id) {
            return Err(refused(
                "forbidden",
                "只能查看和办理本单位的申请 (an applicant acts only for its own organisation)",
            ));
        }
        Ok(())
    }

    /// The applicant's awards as the engine's history (JSON, as in an eval-input document):
    /// net commitment per application.
    pub(crate) async fn history_in(
        &self,
        tx: &mut Tx,
        applicant_id: &str,
        except: Option<&str>,
    ) -> Result<Vec<J>> {
        Ok(self
            .priors_in(tx, applicant_id, except)
            .await?
            .iter()
            .map(prior_json)
            .collect())
    }

    /// The applicant's awards as the engine's history, as values: net commitment per
    /// application.
    async fn priors_in(
        &self,
        tx: &mut Tx,
        applicant_id: &str,
        except: Option<&str>,
    ) -> Result<Vec<PriorAward>> {
        let rows = sqlx::query(
            "SELECT application_id, measure, MIN(event_date), CAST(SUM(amount_fen) AS BIGINT), MAX(activity), MAX(item), MAX(base_fen) \
             FROM ledger WHERE applicant_id = $1 AND entry IN ('commitment', 'reversal') \
             GROUP BY application_id, measure ORDER BY MIN(seq)",
        )
        .bind(applicant_id)
        .fetch_all(&mut **tx)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            out.extend(self.history_of_row(&r, 0, except)?);
        }
        Ok(out)
    }

    /// [`Store::history_entry`] of a grouped ledger row whose columns from `at` on are
    /// application, measure, first event date, net fen, activity, item and base fen.
    fn history_of_row(
        &self,
        r: &AnyRow,
        at: usize,
        except: Option<&str>,
    ) -> Result<Option<PriorAward>> {
        self.history_entry(
            &r.get::<String, _>(at),
            except,
            r.get::<String, _>(at + 1),
            &r.get::<String, _>(at + 2),
            r.get(at + 3),
            r.get(at + 4),
            r.get(at + 5),
            r.get(at + 6),
        )
    }

    /// One application's ledger rows, grouped, as a history entry of the engine — or nothing
    /// when it is the application being decided, holds no net commitment, or its measure left
    /// the library.
    ///
    /// The entry is handed to the engine as a value, checked as `kc_wire` checks a history
    /// entry of an input document (a valid date, amounts within [`Money::MAX`]), without
    /// writing it out as JSON and parsing it again.
    #[allow(clippy::too_many_arguments)]
    fn history_entry(
        &self,
        app: &str,
        except: Option<&str>,
        measure: String,
        date: &str,
        net: i64,
        activity: Option<String>,
        item: Option<String>,
        base: Option<i64>,
    ) -> Result<Option<PriorAward>> {
        if Some(app) == except || net <= 0 {
            return Ok(None);
        }
        // A measure no longer in the library cannot limit today's rules.
        if self.library().measure(&measure).is_none() {
            return Ok(None);
        }
        let bad = |what: &str| {
            StoreError::Invalid(format!(
                "stored history of application {app}: {what} out of range or invalid"
            ))
        };
        let date: jiff::civil::Date = match date.parse() {
            Ok(d) if date.len() == 10 => d,
            _ => return Err(bad("date")),
        };
        let money = |fen: i64, what: &str| from_fen(fen).check_range(what).map_err(|_| bad(what));
        Ok(Some(PriorAward {
            measure,
            date,
            amount: money(net, "amount")?,
            activity,
            item,
            base: match base {
                Some(b) if b < 0 => return Err(bad("base")),
                Some(b) => Some(money(b, "base")?),
                None => None,
            },
        }))
    }

    /// The applicant's history as the engine reads it (for `kechuang eval` against the ledger).
    pub async fn history(&self, applicant_id: &str) -> Result<Vec<J>> {
        let mut tx = self.pool.begin().await?;
        let h = self.history_in(&mut tx, applicant_id, None).await?;
        tx.commit().await?;
        Ok(h)
    }

    /// The library version an application's award was decided under, if it was decided
    /// under a version kept in the database.
    pub async fn decided_version(&self, id: &str) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar(
                "SELECT version FROM application_versions WHERE application_id = $1",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await?,
        )
    }

    /// Re-evaluates an application with the library version its award was decided under
    /// (the active version if it has not been decided): the outcome JSON of `kc_wire::to_json`,
    /// and the version. A 2022 decision re-evaluated after later versions are published gives
    /// the 2022 answer, with that trace.
    pub async fn reevaluate(&self, actor: &Actor, id: &str) -> Result<(Option<i64>, J)> {
        let app = self.application(actor, id).await?;
        let decided: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM application_versions WHERE application_id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let (version, lib) = match decided {
            Some(v) => (Some(v), self.library_of_version(v).await?),
            None => {
                let a = self.active();
                (a.version, a.lib.clone())
            }
        };
        let mut tx = self.pool.begin().await?;
        let (input, outcome) = self.evaluate_in(&lib, &mut tx, &app).await?;
        tx.commit().await?;
        let ev = kc_eval::Evaluation {
            outcomes: vec![outcome],
        };
        Ok((version, kc_wire::to_json(&lib, &input, &ev)))
    }

    /// Evaluates one application's measure on its event, with the ledger history read in `tx`.
    async fn evaluate_in(
        &self,
        lib: &Library,
        tx: &mut Tx,
        app: &ApplicationView,
    ) -> Result<(kc_eval::Input, kc_eval::Outcome)> {
        let profile = self.profile_in(tx, &app.applicant_id).await?;
        let row = sqlx::query("SELECT body FROM events WHERE id = $1")
            .bind(&app.event_id)
            .fetch_one(&mut **tx)
            .await?;
        let event: J = serde_json::from_str(&row.get::<String, _>(0))
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let history = self.priors_in(tx, &app.applicant_id, Some(&app.id)).await?;
        self.evaluate_with(lib, app, profile, event, history)
    }

    /// Evaluates one application's measure on its event with the given profile and history.
    /// The history is handed to the engine as values; the profile and event are checked and
    /// typed by `kc_wire` as in any input document.
    fn evaluate_with(
        &self,
        lib: &Library,
        app: &ApplicationView,
        profile: J,
        event: J,
        history: Vec<PriorAward>,
    ) -> Result<(kc_eval::Input, kc_eval::Outcome)> {
        let doc = json!({"schema": kc_wire::INPUT_SCHEMA, "as_of": self.today().to_string(),
                         "applicant": profile, "events": [event]});
        let mut input = kc_wire::parse_input_value(lib, &doc, None)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        input.history = history;
        let mi = *lib
            .measure_index
            .get(&app.measure)
            .ok_or_else(|| StoreError::Invalid(format!("unknown measure {}", app.measure)))?;
        let ev = kc_eval::evaluate_measure(lib, &input, mi);
        let outcome = ev
            .outcomes
            .into_iter()
            .find(|o| o.measure == mi && o.event == Some(0))
            .ok_or_else(|| {
                refused(
                    "not_applicable",
                    format!("事件 {} 不能触发措施 {}", app.event_id, app.measure),
                )
            })?;
        Ok((input, outcome))
    }

    /// The rows of `AWARD_INPUTS_SQL` as the application and what the approval reads.
    pub(crate) fn award_inputs_from_rows(
        &self,
        app_id: &str,
        rows: &[impl Cols],
    ) -> Result<(ApplicationView, AwardInputs)> {
        let first = rows
            .first()
            .filter(|r| r.int(17) == 0)
            .ok_or_else(|| StoreError::NotFound(format!("application {app_id}")))?;
        let app = app_from_row(first)?;
        let parse = |text: String, what: &str| {
            serde_json::from_str::<J>(&text)
                .map_err(|e| StoreError::Invalid(format!("stored {what} of {app_id}: {e}")))
        };
        let mut inputs = AwardInputs {
            profile: parse(first.text(14), "profile")?,
            event: parse(first.text(15), "event")?,
            event_date: first.text(16),
            history: Vec::new(),
            budgets: Vec::new(),
        };
        for r in &rows[1..] {
            match r.int(17) {
                1 => {
                    inputs.history.extend(self.history_entry(
                        &r.text(0),
                        Some(&app.id),
                        r.text(1),
                        &r.text(2),
                        r.int(6),
                        r.opt_text(3),
                        r.opt_text(4),
                        r.opt_int(8),
                    )?);
                }
                _ => inputs.budgets.push((r.text(0), r.text(1), r.int(6))),
            }
        }
        Ok((app, inputs))
    }

    /// Starts an application (draft) for an event of the applicant under a measure.
    pub async fn apply(
        &self,
        actor: &Actor,
        applicant_id: &str,
        measure: &str,
        event_id: &str,
    ) -> Result<String> {
        self.may_see(actor, applicant_id).await?;
        if actor.role != Role::Applicant {
            return Err(refused(
                "forbidden",
                "只有申报主体可以提出申请 (only an applicant applies)",
            ));
        }
        let lib = self.library();
        let m = lib
            .measure(measure)
            .ok_or_else(|| StoreError::Invalid(format!("unknown measure “{measure}”")))?;
        let mut tx = self
            .begin_write(&[format!("applicant:{applicant_id}")])
            .await?;
        let ev = sqlx::query("SELECT applicant_id, kind, date FROM events WHERE id = $1")
            .bind(event_id)
            .fetch_optional(&mut **tx)
            .await?;
        let ev = ev.ok_or_else(|| StoreError::NotFound(format!("event {event_id}")))?;
        if ev.get::<String, _>(0) != applicant_id {
            return Err(refused(
                "forbidden",
                format!("事件 {event_id} 不属于申报主体 {applicant_id}"),
            ));
        }
        let kind: String = ev.get(1);
        if self.library().vocab.events[m.event].name != kind {
            return Err(refused(
                "wrong_event",
                format!(
                    "措施 {measure} 由“{}”事件触发,事件 {event_id} 是“{kind}”",
                    self.library().vocab.events[m.event].label.zh
                ),
            ));
        }
        // 申报期 and claim deadlines: an application outside them is refused with the reason.
        let event_date = ev.get::<String, _>(2).parse::<jiff::civil::Date>().ok();
        self.check_claimable(measure, event_date)?;
        let id = self
            .insert_application(
                &mut tx,
                actor,
                applicant_id,
                measure,
                event_id,
                "application",
                AppState::Draft,
                None,
            )
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_application(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        applicant_id: &str,
        measure: &str,
        event_id: &str,
        origin: &str,
        state: AppState,
        computed: Option<(Money, AmountKind)>,
    ) -> Result<String> {
        let live = sqlx::query(
            "SELECT id, state FROM applications WHERE applicant_id = $1 AND measure = $2 AND activity = $3 AND state NOT IN ('withdrawn', 'rejected')",
        )
        .bind(applicant_id)
        .bind(measure)
        .bind(event_id)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(r) = live {
            return Err(refused(
                "duplicate",
                format!(
                    "已有同一申报主体、措施和事件的申请 {}({}) (a live application for the same applicant, measure and activity exists)",
                    r.get::<String, _>(0),
                    r.get::<String, _>(1)
                ),
            ));
        }
        // Readable and collision-free without a shared counter (PostgreSQL writers for
        // different applicants run in parallel): year, then 8 random hex digits.
        let id = loop {
            let r: u32 = rand_u32();
            let id = format!("A{}-{r:08X}", self.today().year());
            let taken = sqlx::query("SELECT id FROM applications WHERE id = $1")
                .bind(&id)
                .fetch_optional(&mut **tx)
                .await?;
            if taken.is_none() {
                break id;
            }
        };
        let now = self.now();
        sqlx::query(
            "INSERT INTO applications (id, applicant_id, measure, event_id, activity, origin, state, computed_fen, amount_kind, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(applicant_id)
        .bind(measure)
        .bind(event_id)
        .bind(event_id)
        .bind(origin)
        .bind(state.code())
        .bind(computed.and_then(|(m, _)| to_fen(m)))
        .bind(computed.map(|(_, k)| k.code().to_string()))
        .bind(&now)
        .bind(&now)
        .execute(&mut **tx)
        .await?;
        self.audit_in(tx, actor, "create", "application", &id, None, Some(&json!({"state": state.code(), "measure": measure, "event": event_id, "origin": origin}).to_string()))
            .await?;
        // Cached before the commit: should the transaction roll back, `act` finds no row
        // under the locks and reports it missing, as it would have anyway.
        self.remember_app_keys(&id, applicant_id, measure);
        Ok(id)
    }

    /// Takes one workflow step. Approval and offer confirmation commit money (see
    /// `act_award`); an objection during notice reverses it.
    pub async fn act(
        &self,
        actor: &Actor,
        app_id: &str,
        action: Action,
        args: ActArgs,
    ) -> Result<ApplicationView> {
        // The applicant and measure name the locks to take. They never change, so they come
        // from the cache when this process has seen the application before; `act_once`
        // checks them against the row it reads under the locks, and a stale entry (the
        // database restored under a running process) is read again and the step retried.
        let mut fresh = false;
        loop {
            let (applicant_id, measure) = self.app_keys(app_id, fresh).await?;
            if let Err(e) = self.may_see(actor, &applicant_id).await {
                if fresh {
                    return Err(e);
                }
                fresh = true;
                continue;
            }
            match self
                .act_once(actor, app_id, &applicant_id, &measure, action, &args)
                .await?
            {
                Some(after) => return Ok(after),
                None if !fresh => fresh = true,
                None => {
                    return Err(StoreError::Invalid(format!(
                        "application {app_id}: its applicant or measure changed during the step"
                    )));
                }
            }
        }
    }

    /// The applicant and measure of an application: from the cache, or read (`fresh`) and
    /// cached. Both are fixed when the application is created.
    async fn app_keys(&self, app_id: &str, fresh: bool) -> Result<(String, String)> {
        if !fresh
            && let Some(k) = self
                .app_keys
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(app_id)
        {
            return Ok(k.clone());
        }
        let r = sqlx::query("SELECT applicant_id, measure FROM applications WHERE id = $1")
            .bind(app_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = r else {
            self.app_keys
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(app_id);
            return Err(StoreError::NotFound(format!("application {app_id}")));
        };
        let keys = (r.get::<String, _>(0), r.get::<String, _>(1));
        self.remember_app_keys(app_id, &keys.0, &keys.1);
        Ok(keys)
    }

    /// Caches an application's applicant and measure (bounded: cleared when full).
    fn remember_app_keys(&self, app_id: &str, applicant_id: &str, measure: &str) {
        let mut cache = self.app_keys.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= crate::APP_KEYS_CACHED {
            cache.clear();
        }
        cache.insert(
            app_id.to_string(),
            (applicant_id.to_string(), measure.to_string()),
        );
    }

    /// One try of `act` with the locks of `applicant_id` and `measure`; `None` when the
    /// application turns out to belong to another applicant or measure (a stale cache entry),
    /// having written nothing.
    async fn act_once(
        &self,
        actor: &Actor,
        app_id: &str,
        applicant_id: &str,
        measure: &str,
        action: Action,
        args: &ActArgs,
    ) -> Result<Option<ApplicationView>> {
        // What each lock protects (PostgreSQL; on SQLite every writer is alone anyway), see
        // docs/ledger.md, Concurrency:
        // - `applicant:ID`, exclusive, for every step: the application's state and the
        //   applicant's ledger history, which holds every rule the engine checks (once-only
        //   keys, yearly and cumulative caps, increments: the engine sees one applicant's
        //   history, so no rule it checks spans applicants);
        // - `budget:MEASURE`, shared, for the steps that commit money: it only keeps
        //   `set_budget` (exclusive) out, so the budget rows read below cannot appear, change
        //   or vanish during the approval. Approvals of one measure by different applicants
        //   do not exclude each other here; where a budget row exists, `check_budgets_in`
        //   locks it (FOR UPDATE) before summing the commitments against it.
        if matches!(
            action,
            Action::Approve | Action::ConfirmOffer | Action::Recommend
        ) {
            return self
                .act_award(actor, app_id, applicant_id, measure, action, args)
                .await;
        }
        let mut tx = self
            .begin_write(&[format!("applicant:{applicant_id}")])
            .await?;
        let app = self.app_in(&mut tx, app_id).await?;
        if app.applicant_id != applicant_id || app.measure != measure {
            // Locked for the wrong applicant or measure: nothing written, try again.
            return Ok(None);
        }
        let to = transition(app.state, action, actor.role)?;
        if is_review_step(action) {
            // Under the applicant's lock: the region read here is the one the step acts on.
            let region = sqlx::query("SELECT region FROM applicants WHERE id = $1")
                .bind(applicant_id)
                .fetch_one(&mut **tx)
                .await?
                .get::<String, _>(0);
            self.check_region(actor, &region)?;
            self.check_stage(actor, &app, &region, action)?;
        }
        let before = app_json(&app);
        let now = self.now();
        match action {
            Action::Approve | Action::ConfirmOffer | Action::Recommend => {
                unreachable!("steps that weigh money are taken by act_award")
            }
            Action::Object => {
                let reason = args
                    .reason
                    .clone()
                    .filter(|r| !r.trim().is_empty())
                    .ok_or_else(|| {
                        refused(
                            "reason_required",
                            "公示异议须说明理由 (an objection needs a reason)",
                        )
                    })?;
                self.reverse_commitment(&mut tx, actor, &app).await?;
                sqlx::query(
                    "UPDATE applications SET approved_fen = NULL, notice_until = NULL, reason = $1 WHERE id = $2",
                )
                .bind(format!("公示异议:{reason}"))
                .bind(app_id)
                .execute(&mut **tx)
                .await?;
            }
            Action::Reject => {
                let reason = args
                    .reason
                    .clone()
                    .filter(|r| !r.trim().is_empty())
                    .ok_or_else(|| {
                        refused(
                            "reason_required",
                            "不予通过须说明理由 (a rejection needs a reason)",
                        )
                    })?;
                sqlx::query("UPDATE applications SET reason = $1 WHERE id = $2")
                    .bind(reason)
                    .bind(app_id)
                    .execute(&mut **tx)
                    .await?;
            }
            Action::RequestMaterial => {
                if args.missing.is_empty() {
                    return Err(refused(
                        "missing_required",
                        "一次性告知须列明全部所缺材料 (list every missing item at once)",
                    ));
                }
                sqlx::query("UPDATE applications SET missing = $1 WHERE id = $2")
                    .bind(args.missing.join(";"))
                    .bind(app_id)
                    .execute(&mut **tx)
                    .await?;
                // Item by item, as a new round: the applicant answers each, and the list
                // stays visible after it resubmits.
                self.record_request_in(&mut tx, actor, app_id, &args.missing, &now)
                    .await?;
            }
            Action::PublishNotice => {
                let days = self.notice_period(args.notice_days)?;
                let until = self.today().saturating_add(jiff::Span::new().days(days));
                sqlx::query("UPDATE applications SET notice_until = $1 WHERE id = $2")
                    .bind(until.to_string())
                    .bind(app_id)
                    .execute(&mut **tx)
                    .await?;
            }
            Action::Submit => {
                if app.state == AppState::NeedsMaterial {
                    self.check_answered_in(&mut tx, app_id).await?;
                } else {
                    self.check_ready_in(&mut tx, app_id, action).await?;
                    // A draft made inside its window is handed in inside it too (an answer
                    // to a 补正 request above is not a new application).
                    let date: Option<String> =
                        sqlx::query_scalar("SELECT date FROM events WHERE id = $1")
                            .bind(&app.event_id)
                            .fetch_optional(&mut **tx)
                            .await?;
                    self.check_claimable(&app.measure, date.and_then(|d| d.parse().ok()))?;
                }
                // Evaluate at submission so the reviewer sees the engine's amount at once.
                let (_, outcome) = self.evaluate_in(&self.library(), &mut tx, &app).await?;
                let computed = outcome
                    .award
                    .as_ref()
                    .and_then(|a| a.amount.map(|m| (m, a.kind)));
                sqlx::query("UPDATE applications SET computed_fen = $1, amount_kind = $2, missing = NULL WHERE id = $3")
                    .bind(computed.and_then(|(m, _)| to_fen(m)))
                    .bind(outcome.award.as_ref().map(|a| a.kind.code().to_string()))
                    .bind(app_id)
                    .execute(&mut **tx)
                    .await?;
            }
            Action::Disburse => {
                return Err(refused(
                    "use_payment",
                    "拨付通过逐级记录付款完成 (record payments per level)",
                ));
            }
            Action::StartReview | Action::Withdraw | Action::DeclineOffer => {}
        }
        // The new state, and the application as it now stands, in one round trip.
        let sql = format!(
            "UPDATE applications SET state = $1, updated_at = $2 WHERE id = $3 RETURNING {APP_COLUMNS}"
        );
        let after = app_from_row(
            &sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(to.code())
                .bind(&now)
                .bind(app_id)
                .fetch_one(&mut **tx)
                .await?,
        )?;
        self.audit_in(
            &mut tx,
            actor,
            action.code(),
            "application",
            app_id,
            Some(&before),
            Some(&app_json(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(after))
    }

    /// Approval and offer confirmation, which commit money: one serialised transaction with
    /// the applicant's lock and the measure's budget lock taken shared (see `act_once`), on
    /// PostgreSQL through the native driver (`Store::pg`): `BEGIN` with the locks, one
    /// statement that reads everything (`AWARD_INPUTS_SQL`), the budget rows locked and summed
    /// only where the approval meets one, one statement that writes everything, `COMMIT`.
    async fn act_award(
        &self,
        actor: &Actor,
        app_id: &str,
        applicant_id: &str,
        measure: &str,
        action: Action,
        args: &ActArgs,
    ) -> Result<Option<ApplicationView>> {
        let exclusive = [format!("applicant:{applicant_id}")];
        let shared = [format!("budget:{measure}")];
        let mut tx = match &self.pg {
            Some(pg) => AwardTx::Pg(
                pg.begin_with(sqlx::AssertSqlSafe(pg_begin_sql(&exclusive, &shared)))
                    .await?,
            ),
            None => AwardTx::Any(self.begin_write_shared(&exclusive, &shared).await?),
        };
        let year = self.today().year() as i64;
        let (app, inputs) = on_tx!(&mut tx, |c| {
            let rows = sqlx::query(AWARD_INPUTS_SQL.as_str())
                .bind(app_id)
                .bind(year)
                .fetch_all(c)
                .await?;
            self.award_inputs_from_rows(app_id, &rows)?
        });
        if app.applicant_id != applicant_id || app.measure != measure {
            // Locked for the wrong applicant or measure: nothing written, try again.
            return Ok(None);
        }
        let to = transition(app.state, action, actor.role)?;
        if is_review_step(action) {
            let region = inputs.profile["region"].as_str().unwrap_or_default();
            self.check_region(actor, region)?;
            self.check_stage(actor, &app, region, action)?;
        }
        if action == Action::ConfirmOffer {
            // The award is paid to the account given, under the 承诺书 accepted: both first.
            let terms = on_tx!(&mut tx, |c| {
                sqlx::query(crate::materials::TERMS_SQL)
                    .bind(app_id)
                    .fetch_optional(&mut *c)
                    .await?
                    .map(|r| (r.opt_text(0).is_some(), r.opt_text(1).is_some()))
            });
            let (account, pledge) = terms.unwrap_or((false, false));
            crate::materials::check_ready(account, pledge, action)?;
        }
        let before = app_json(&app);
        let now = self.now();
        // The approving level names its amount as the recommending one did: a recommendation
        // is advice (the page prefills it), never a default the store fills in.
        let (amount, reason) = match action {
            Action::ConfirmOffer => (None, None),
            _ => (args.amount, args.reason.as_deref()),
        };
        let event_date = inputs.event_date.clone();
        let award = self.decide_award(&app, inputs, amount, reason)?;
        self.check_budgets_in(&mut tx, &app.measure, year, &award.limited)
            .await?;
        if action == Action::Recommend {
            // Weighed like an approval (the engine's amount, every level's budget), but
            // nothing is committed: the next level decides.
            let after = self
                .write_recommendation(&mut tx, actor, &app, &award, to, args.reason.as_deref())
                .await?;
            match tx {
                AwardTx::Pg(t) => t.commit().await?,
                AwardTx::Any(t) => t.commit().await?,
            }
            return Ok(Some(after));
        }
        self.pause_point().await;
        // A confirmed offer skips review and goes straight to notice: give it its period.
        let notice_until = if action == Action::ConfirmOffer {
            let days = self.notice_period(args.notice_days)?;
            Some(
                self.today()
                    .saturating_add(jiff::Span::new().days(days))
                    .to_string(),
            )
        } else {
            None
        };
        let after = self
            .write_award(
                &mut tx,
                actor,
                &app,
                &AwardWrite {
                    action,
                    to,
                    now: &now,
                    year,
                    event_date: &event_date,
                    award: &award,
                    reason: args.reason.as_deref(),
                    notice_until: notice_until.as_deref(),
                    before: &before,
                },
            )
            .await?;
        match tx {
            AwardTx::Pg(t) => t.commit().await?,
            AwardTx::Any(t) => t.commit().await?,
        }
        Ok(Some(after))
    }

    /// A recommendation (初审推荐) weighed by `decide_award`: the application moves on to the
    /// next level with the amount proposed; audited. No ledger row.
    async fn write_recommendation(
        &self,
        tx: &mut AwardTx,
        actor: &Actor,
        app: &ApplicationView,
        award: &AwardDecision,
        to: AppState,
        reason: Option<&str>,
    ) -> Result<ApplicationView> {
        let now = self.now();
        let sql = format!(
            "UPDATE applications SET state = $1, review_stage = review_stage + 1, recommended_fen = $2, \
             computed_fen = $3, amount_kind = $4, reason = COALESCE($5, reason), updated_at = $6 \
             WHERE id = $7 RETURNING {APP_COLUMNS}"
        );
        let after = on_tx!(tx, |c| {
            app_from_row(
                &sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(to.code())
                    .bind(award.approved_fen)
                    .bind(award.engine_fen)
                    .bind(award.kind.code())
                    .bind(reason.map(str::to_string))
                    .bind(&now)
                    .bind(&app.id)
                    .fetch_one(&mut *c)
                    .await?,
            )?
        });
        let (before, after_json) = (app_json(app), app_json(&after));
        on_tx!(tx, |c| {
            sqlx::query("INSERT INTO audit (at, actor, action, entity, entity_id, before, after) VALUES ($1, $2, $3, 'application', $4, $5, $6)")
                .bind(&now)
                .bind(format!("{}:{}", actor.role.code(), actor.id))
                .bind(Action::Recommend.code())
                .bind(&app.id)
                .bind(&before)
                .bind(&after_json)
                .execute(&mut *c)
                .await?;
        });
        Ok(after)
    }

    /// Whether `actor` may take `action` on `app` as far as jurisdictions go (the applicant's
    /// `region` in its scope, its level's turn), for pages offering only the steps that will
    /// be accepted. The step itself checks again under the locks.
    pub fn review_turn(
        &self,
        actor: &Actor,
        app: &ApplicationView,
        region: &str,
        action: Action,
    ) -> Result<()> {
        if !is_review_step(action) {
            return Ok(());
        }
        self.check_region(actor, region)?;
        self.check_stage(actor, app, region, action)
    }

    /// The region an applicant is located in.
    pub async fn applicant_region(&self, applicant_id: &str) -> Result<String> {
        sqlx::query("SELECT region FROM applicants WHERE id = $1")
            .bind(applicant_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get::<String, _>(0))
            .ok_or_else(|| StoreError::NotFound(format!("applicant {applicant_id}")))
    }

    /// The jurisdictions that review an application of `measure` for an applicant located in
    /// `region`, in the configured order (see `Jurisdictions::stages`).
    pub fn review_stages(&self, measure: &str, region: &str) -> Vec<String> {
        let lib = self.library();
        let Some(m) = lib.measure(measure) else {
            return Vec::new();
        };
        self.jurisdictions
            .stages(
                &crate::jurisdictions::paying_levels(m),
                region,
                self.review_order,
            )
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// Whether `actor` may take the review step `action` on `app` now: where levels share
    /// the cost, only the level whose turn it is acts (staff without a jurisdiction act for
    /// whichever level's turn it is), every level before the last recommends and only the
    /// last approves.
    fn check_stage(
        &self,
        actor: &Actor,
        app: &ApplicationView,
        region: &str,
        action: Action,
    ) -> Result<()> {
        let stages = self.review_stages(&app.measure, region);
        let k = usize::try_from(app.review_stage).unwrap_or(0);
        let last = stages.len().saturating_sub(1);
        let j = &self.jurisdictions;
        if let (Some(current), Some(own)) = (stages.get(k.min(last)), &actor.jurisdiction)
            && own != current
        {
            return Err(refused(
                "awaiting_other_level",
                format!(
                    "本申请当前由{}办理,{}暂不能“{}” (it is {}'s turn to review this application)",
                    j.zh(current),
                    j.zh(own),
                    action.zh(),
                    current
                ),
            ));
        }
        match action {
            Action::Approve if k < last => Err(refused(
                "recommend_first",
                format!(
                    "本措施由{}共同出资,须先经{}推荐,再由{}批准 (the levels that pay review in turn: {} recommends first)",
                    stages
                        .iter()
                        .map(|s| j.zh(s))
                        .collect::<Vec<_>>()
                        .join("、"),
                    j.zh(&stages[k]),
                    j.zh(&stages[last]),
                    stages[k]
                ),
            )),
            Action::Recommend if k >= last => Err(refused(
                "last_level",
                "本级为最后一级审核,请批准或不予通过 (the last level approves or rejects; nothing to recommend to)",
            )),
            _ => Ok(()),
        }
    }

    /// Approval's core, on what the caller's serialised transaction read: re-evaluate with
    /// the ledger's history, check the amount against the engine, split it between levels.
    /// Returns what to write and which parts meet a budget row; reads and writes nothing
    /// itself (the caller checks the budgets, `check_budget_sums`, and writes).
    pub(crate) fn decide_award(
        &self,
        app: &ApplicationView,
        inputs: AwardInputs,
        amount: Option<Money>,
        reason: Option<&str>,
    ) -> Result<AwardDecision> {
        let AwardInputs {
            profile,
            event,
            history,
            budgets,
            ..
        } = inputs;
        let region = profile["region"].as_str().unwrap_or_default().to_string();
        // One snapshot of the active library for the whole decision; its version is recorded
        // with the award (re-evaluating the application later uses it).
        let active = self.active();
        let lib = &*active.lib;
        let (_, outcome) = self.evaluate_with(lib, app, profile, event, history)?;
        if outcome.status != Status::Awarded {
            let m = &lib.measures[outcome.measure];
            let open: Vec<String> = outcome
                .conditions
                .iter()
                .filter(|c| c.status != kc_eval::Tri::Met)
                .map(|c| {
                    let (t, f) = c.describe(lib, m);
                    format!("{t}({f})")
                })
                .collect();
            return Err(refused(
                "not_awarded",
                format!(
                    "按现有信息不符合本措施:{} (the measure is not met with today's facts and ledger)",
                    open.join(";")
                ),
            ));
        }
        let award = outcome.award.as_ref().ok_or_else(|| {
            refused(
                "not_awarded",
                "按条款和已获支持重新计算,本申请当前不符合支持条件,不能批准 (no award)",
            )
        })?;
        let engine = award.amount;
        let approved = match (award.kind, amount, engine) {
            (AmountKind::Review, None, _) => {
                return Err(refused(
                    "amount_required",
                    "金额由评审确定,请填写批准金额 (the amount is set by review: give it)",
                ));
            }
            (AmountKind::Review, Some(a), _) => {
                // The clause's own range where it gives one (1000–3000万元); the configured
                // ceiling otherwise, so no typo can commit an amount that makes the
                // applicant's history unreadable (issue 9, defect 3).
                if let Some((lo, hi)) = award.range {
                    if a < lo || a > hi {
                        return Err(refused(
                            "out_of_range",
                            format!(
                                "批准金额 {} 元不在条款规定的范围 {} 至 {} 元内 (outside the clause's range)",
                                a.grouped(),
                                lo.grouped(),
                                hi.grouped()
                            ),
                        ));
                    }
                } else if a > self.review_ceiling() {
                    return Err(refused(
                        "above_ceiling",
                        format!(
                            "批准金额 {} 元超过评审确定金额的上限 {} 元;如确需更高金额,请由管理员调整上限 (above the ceiling for amounts set by review)",
                            a.grouped(),
                            self.review_ceiling().grouped()
                        ),
                    ));
                }
                a
            }
            // A maximum (最高…) is a ceiling, not a default: the reviewer names the amount.
            (AmountKind::Cap, None, Some(e)) => {
                return Err(refused(
                    "amount_required",
                    format!(
                        "本措施为“最高 {} 元”,请填写批准金额 (the measure gives at most {} yuan: give the approved amount)",
                        e.grouped(),
                        e.grouped()
                    ),
                ));
            }
            (_, None, Some(e)) => e,
            (_, Some(a), Some(e)) => {
                if a > e {
                    return Err(refused(
                        "cap_exceeded",
                        format!(
                            "批准金额 {a} 超过按条款和已获支持计算的上限 {e} (above the engine's amount)"
                        ),
                    ));
                }
                if a < e && reason.is_none_or(|r| r.trim().is_empty()) {
                    return Err(refused(
                        "reason_required",
                        format!(
                            "批准金额 {a} 低于计算金额 {e},须说明理由 (a reason is required below the computed amount)"
                        ),
                    ));
                }
                a
            }
            (_, _, None) => {
                return Err(refused(
                    "not_awarded",
                    "按条款尚不能计算金额,不能批准 (no amount computed)",
                ));
            }
        };
        if approved <= Money::ZERO || !approved.is_whole_fen() {
            return Err(StoreError::Invalid(format!(
                "批准金额 {approved} 须为正数且精确到分 (a positive amount in whole fen)"
            )));
        }
        let m = &lib.measures[outcome.measure];
        let shares: Vec<kc_money::Rate> = if let kc_check::GrantRule::Parts(_) = m.grant {
            // Parts pay their own formulas: keep the engine's proportions for a lower amount.
            let total = engine.unwrap_or(approved);
            award
                .split
                .iter()
                .map(|(_, p)| kc_money::Rate::from_fraction(p.decimal() / total.decimal()))
                .collect()
        } else {
            m.split.shares.iter().map(|s| s.1).collect()
        };
        let levels: Vec<&'static str> = if let kc_check::GrantRule::Parts(_) = m.grant {
            award.split.iter().map(|(l, _)| l.keyword()).collect()
        } else {
            m.split.shares.iter().map(|s| s.0.keyword()).collect()
        };
        let parts = if approved == engine.unwrap_or(Money::ZERO) && !award.split.is_empty() {
            award.split.iter().map(|(_, p)| *p).collect()
        } else {
            kc_money::allocate(
                approved,
                &shares,
                m.split.remainder.min(shares.len().saturating_sub(1)),
            )
            .or_else(|| {
                // Proportions from parts may not sum to exactly 1 in decimal: give the rest
                // to the first level.
                let mut ps: Vec<Money> = shares
                    .iter()
                    .map(|s| approved.scale_by(*s).round_down_to_fen())
                    .collect();
                let given: Money = ps.iter().copied().sum();
                if let Some(first) = ps.first_mut() {
                    *first = *first + (approved - given);
                }
                Some(ps)
            })
            .unwrap_or_default()
        };
        // Who pays each part: the applicant's own jurisdiction of the level's tier.
        let payers: Vec<Option<String>> = levels
            .iter()
            .map(|l| self.jurisdictions.payer(l, &region).map(str::to_string))
            .collect();
        // The parts that meet a budget row of the measure for the year: the payer's own row
        // and a row of the whole level, each checked: (level, row's jurisdiction, part, budget).
        let limited = levels
            .iter()
            .zip(&parts)
            .zip(&payers)
            .flat_map(|((level, part), payer)| {
                budgets
                    .iter()
                    .filter(move |(l, j, _)| {
                        l == level && (j.is_empty() || Some(j) == payer.as_ref())
                    })
                    .map(move |(_, j, b)| (*level, j.clone(), *part, *b))
            })
            .collect();
        Ok(AwardDecision {
            limited,
            approved_fen: to_fen(approved).ok_or_else(|| {
                StoreError::Invalid(format!("批准金额 {approved} 超出范围 (out of range)"))
            })?,
            engine_fen: engine.and_then(to_fen),
            kind: award.kind,
            rows: levels
                .iter()
                .zip(&parts)
                .zip(payers)
                .filter(|((_, part), _)| !part.is_negative() && **part != Money::ZERO)
                .map(|((level, part), payer)| (*level, payer, to_fen(*part).unwrap_or(0)))
                .collect(),
            activity: award.activity.clone(),
            item: award.item.clone(),
            base_fen: award.base.and_then(to_fen),
            library_version: active.version,
        })
    }

    /// Writes an approval decided by `decide_award`: the commitment rows, the application's
    /// amounts and new state, and the audit row. On PostgreSQL one statement (a
    /// data-modifying `WITH`, one round trip); on SQLite three.
    async fn write_award(
        &self,
        tx: &mut AwardTx,
        actor: &Actor,
        app: &ApplicationView,
        w: &AwardWrite<'_>,
    ) -> Result<ApplicationView> {
        let who = format!("{}:{}", actor.role.code(), actor.id);
        let d = w.award;
        // The application's columns this step sets; `$1`… from `first` on.
        let set_app = |first: usize| {
            format!(
                "UPDATE applications SET approved_fen = ${}, computed_fen = ${}, amount_kind = ${}, \
                 reason = COALESCE(${}, reason), notice_until = COALESCE(${}, notice_until), \
                 state = ${}, updated_at = ${} WHERE id = ${} RETURNING {APP_COLUMNS}",
                first,
                first + 1,
                first + 2,
                first + 3,
                first + 4,
                first + 5,
                first + 6,
                first + 7
            )
        };
        macro_rules! bind_app {
            ($q:expr) => {
                $q.bind(d.approved_fen)
                    .bind(d.engine_fen)
                    .bind(d.kind.code())
                    .bind(w.reason.map(str::to_string))
                    .bind(w.notice_until.map(str::to_string))
                    .bind(w.to.code())
                    .bind(w.now)
                    .bind(&app.id)
            };
        }
        macro_rules! bind_ledger {
            ($q:expr) => {{
                let mut q = $q;
                for (level, payer, fen) in &d.rows {
                    q = q
                        .bind(&app.id)
                        .bind(&app.applicant_id)
                        .bind(&app.measure)
                        .bind(EntryKind::Commitment.code())
                        .bind(*level)
                        .bind(w.year)
                        .bind(*fen)
                        .bind(w.event_date)
                        .bind(d.activity.clone())
                        .bind(d.item.clone())
                        .bind(d.base_fen)
                        .bind(who.clone())
                        .bind(w.now)
                        .bind(payer.clone());
                }
                q
            }};
        }
        let tx: &mut Tx = match tx {
            AwardTx::Any(t) => t,
            AwardTx::Pg(t) => {
                // What the audit row records as the application after the step, known before
                // the statement runs: the application read under the locks with this step's
                // columns set (checked against the row the statement returns in debug builds).
                let predicted = ApplicationView {
                    state: w.to,
                    approved: Some(from_fen(d.approved_fen)),
                    computed: d.engine_fen.map(from_fen),
                    amount_kind: Some(d.kind.code().to_string()),
                    reason: w.reason.map(str::to_string).or_else(|| app.reason.clone()),
                    notice_until: w
                        .notice_until
                        .map(str::to_string)
                        .or_else(|| app.notice_until.clone()),
                    ..app.clone()
                };
                let after_json = app_json(&predicted);
                let n = d.rows.len() * LEDGER_COLUMNS;
                let mut sql = String::from("WITH ");
                if !d.rows.is_empty() {
                    sql.push_str(&format!("l AS ({}), ", ledger_insert(0, d.rows.len())));
                }
                if d.library_version.is_some() {
                    // $n+15 the version; the application ($n+4) and the time ($n+1) reused.
                    sql.push_str(&format!(
                        "v AS (INSERT INTO application_versions (application_id, version, decided_at) \
                         VALUES (${}, ${}, ${}) ON CONFLICT (application_id) DO UPDATE \
                         SET version = EXCLUDED.version, decided_at = EXCLUDED.decided_at), ",
                        n + 4,
                        n + 15,
                        n + 1
                    ));
                }
                sql.push_str(&format!(
                    "a AS (INSERT INTO audit (at, actor, action, entity, entity_id, before, after) \
                 VALUES (${}, ${}, ${}, 'application', ${}, ${}, ${})), u AS ({}) SELECT * FROM u",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6,
                    set_app(n + 7)
                ));
                let q = bind_ledger!(sqlx::query(sqlx::AssertSqlSafe(sql)))
                    .bind(w.now)
                    .bind(who.clone())
                    .bind(w.action.code())
                    .bind(&app.id)
                    .bind(w.before)
                    .bind(&after_json);
                let q = bind_app!(q);
                let q = match d.library_version {
                    Some(v) => q.bind(v),
                    None => q,
                };
                let after = app_from_row(&q.fetch_one(&mut **t).await?)?;
                debug_assert_eq!(app_json(&after), after_json);
                return Ok(after);
            }
        };
        if !d.rows.is_empty() {
            bind_ledger!(sqlx::query(sqlx::AssertSqlSafe(ledger_insert(
                0,
                d.rows.len()
            ))))
            .execute(&mut **tx)
            .await?;
        }
        let after = app_from_row(
            &bind_app!(sqlx::query(sqlx::AssertSqlSafe(set_app(1))))
                .fetch_one(&mut **tx)
                .await?,
        )?;
        if let Some(v) = d.library_version {
            sqlx::query(
                "INSERT INTO application_versions (application_id, version, decided_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (application_id) DO UPDATE SET version = excluded.version, decided_at = excluded.decided_at",
            )
            .bind(&app.id)
            .bind(v)
            .bind(w.now)
            .execute(&mut **tx)
            .await?;
        }
        self.audit_in(
            tx,
            actor,
            w.action.code(),
            "application",
            &app.id,
            Some(w.before),
            Some(&app_json(&after)),
        )
        .await?;
        Ok(after)
    }

    /// The budget check of an approval, in its transaction: for each level it pays that has
    /// a budget row for the measure and `year` (read with the approval's inputs), the net
    /// commitments plus this part must not exceed the budget.
    ///
    /// Where such a row exists, two approvals of the measure (by any applicants) must not
    /// both spend the same headroom, so on PostgreSQL the measure's budget rows of the year
    /// are locked first (`FOR UPDATE`, in level order: approvals of one measure and year with
    /// a budget queue here, one at a time) and the commitments summed after the lock is
    /// granted: at READ COMMITTED every statement reads a fresh snapshot, so the sum includes
    /// every commitment of the approvals that held the lock before. Without a budget row
    /// nothing is locked and nothing is summed. SQLite has one writer: no lock is needed.
    async fn check_budgets_in(
        &self,
        tx: &mut AwardTx,
        measure: &str,
        year: i64,
        limited: &[(&str, String, Money, i64)],
    ) -> Result<()> {
        if limited.is_empty() {
            return Ok(());
        }
        let committed: Vec<(String, String, i64)> = on_tx!(tx, |c| {
            if self.backend == Backend::Postgres {
                sqlx::query(BUDGET_LOCK_SQL)
                    .bind(measure)
                    .bind(year)
                    .execute(&mut *c)
                    .await?;
            }
            sqlx::query(BUDGET_SUMS_SQL)
                .bind(measure)
                .bind(year)
                .fetch_all(&mut *c)
                .await?
                .iter()
                .map(|r| (r.text(0), r.text(1), r.int(2)))
                .collect()
        });
        check_budget_sums(year, limited, &committed, &self.jurisdictions)
    }

    async fn reverse_commitment(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        app: &ApplicationView,
    ) -> Result<()> {
        let rows = sqlx::query(
            "SELECT level, budget_year, CAST(SUM(amount_fen) AS BIGINT), MIN(event_date), MAX(activity), MAX(item), MAX(base_fen), payer FROM ledger \
             WHERE application_id = $1 AND entry IN ('commitment', 'reversal') GROUP BY level, budget_year, payer",
        )
        .bind(&app.id)
        .fetch_all(&mut **tx)
        .await?;
        let paid: i64 = sqlx::query("SELECT COALESCE(CAST(SUM(amount_fen) AS BIGINT), 0) FROM ledger WHERE application_id = $1 AND entry = 'payment'")
            .bind(&app.id)
            .fetch_one(&mut **tx)
            .await?
            .get(0);
        if paid > 0 {
            return Err(refused(
                "already_paid",
                "已有拨付记录,不能冲销承诺 (payments exist)",
            ));
        }
        let now = self.now();
        for r in rows {
            let net: i64 = r.get(2);
            if net == 0 {
                continue;
            }
            sqlx::query(
                "INSERT INTO ledger (application_id, applicant_id, measure, entry, level, budget_year, amount_fen, event_date, activity, item, base_fen, actor, at, payer) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(&app.id)
            .bind(&app.applicant_id)
            .bind(&app.measure)
            .bind(EntryKind::Reversal.code())
            .bind(r.get::<String, _>(0))
            .bind(r.get::<i64, _>(1))
            .bind(-net)
            .bind(r.get::<String, _>(3))
            .bind(r.get::<Option<String>, _>(4))
            .bind(r.get::<Option<String>, _>(5))
            .bind(r.get::<Option<i64>, _>(6))
            .bind(format!("{}:{}", actor.role.code(), actor.id))
            .bind(&now)
            .bind(r.get::<Option<String>, _>(7))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Records a payment of one level's part. The last payment of the committed amount moves
    /// the application to disbursed. Never more than committed for that level.
    pub async fn pay(
        &self,
        actor: &Actor,
        app_id: &str,
        level: &str,
        amount: Money,
    ) -> Result<ApplicationView> {
        if !actor.role.may(Access::RecordPayments) {
            return Err(StoreError::Transition(
                kc_domain::TransitionError::Forbidden {
                    role: actor.role,
                    action: Action::Disburse,
                },
            ));
        }
        let fen = to_fen(amount).filter(|f| *f > 0).ok_or_else(|| {
            StoreError::Invalid(format!("payment {amount}: a positive amount in whole fen"))
        })?;
        let mut fresh = false;
        let (mut tx, app) = loop {
            let (applicant_id, _) = self.app_keys(app_id, fresh).await?;
            let mut tx = self
                .begin_write(&[format!("applicant:{applicant_id}")])
                .await?;
            let app = self.app_in(&mut tx, app_id).await?;
            if app.applicant_id == applicant_id {
                break (tx, app);
            }
            if fresh {
                return Err(StoreError::Invalid(format!(
                    "application {app_id}: its applicant changed during the payment"
                )));
            }
            // A stale cache entry: locked for the wrong applicant, nothing written.
            fresh = true;
        };
        if app.state != AppState::PublicNotice {
            return Err(StoreError::Transition(
                kc_domain::TransitionError::Illegal {
                    from: app.state,
                    action: Action::Disburse,
                },
            ));
        }
        // `notice_until` is the day the 公示 period is over: payment from that day on.
        if let Some(until) = &app.notice_until
            && self.today().to_string() < *until
        {
            return Err(refused(
                "notice_not_over",
                format!("公示期满日为 {until},期满后方可拨付 (the notice period has not ended)"),
            ));
        }
        let sums = sqlx::query(
            "SELECT COALESCE(CAST(SUM(CASE WHEN entry IN ('commitment', 'reversal') THEN amount_fen ELSE 0 END) AS BIGINT), 0), \
                    COALESCE(CAST(SUM(CASE WHEN entry = 'payment' THEN amount_fen ELSE 0 END) AS BIGINT), 0), MAX(budget_year), MIN(event_date), MAX(payer) \
             FROM ledger WHERE application_id = $1 AND level = $2",
        )
        .bind(app_id)
        .bind(level)
        .fetch_one(&mut **tx)
        .await?;
        let committed: i64 = sums.get(0);
        let paid: i64 = sums.get(1);
        if committed <= 0 {
            return Err(refused(
                "no_commitment",
                format!("{level} 级没有承诺金额 (nothing committed at this level)"),
            ));
        }
        // Checked: a sum that would leave i64 is an overpayment too, never a wrap or a panic.
        if paid.checked_add(fen).is_none_or(|total| total > committed) {
            return Err(refused(
                "overpayment",
                format!(
                    "{level} 级已承诺 {},已拨付 {},本次 {} 将超付 (would pay more than committed)",
                    from_fen(committed),
                    from_fen(paid),
                    amount
                ),
            ));
        }
        let year: i64 = sums.get(2);
        let event_date: String = sums.get(3);
        let payer: Option<String> = sums.get(4);
        // Each level's finance pays its own part from its own budget (issue 11).
        if let Some(own) = &actor.jurisdiction
            && payer.as_ref() != Some(own)
        {
            return Err(refused(
                "forbidden",
                format!(
                    "{}的{}部分由{}拨付,不能由{}拨付 (each level's finance pays only its own part)",
                    app_id,
                    kc_domain::level_zh(level),
                    payer
                        .as_deref()
                        .map(|p| self.jurisdictions.zh(p))
                        .unwrap_or("平台统一"),
                    self.jurisdictions.zh(own)
                ),
            ));
        }
        sqlx::query(
            "INSERT INTO ledger (application_id, applicant_id, measure, entry, level, budget_year, amount_fen, event_date, actor, at, payer) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(app_id)
        .bind(&app.applicant_id)
        .bind(&app.measure)
        .bind(EntryKind::Payment.code())
        .bind(level)
        .bind(year)
        .bind(fen)
        .bind(&event_date)
        .bind(format!("{}:{}", actor.role.code(), actor.id))
        .bind(self.now())
        .bind(payer)
        .execute(&mut **tx)
        .await?;
        let totals = sqlx::query(
            "SELECT COALESCE(CAST(SUM(CASE WHEN entry IN ('commitment', 'reversal') THEN amount_fen ELSE 0 END) AS BIGINT), 0), \
                    COALESCE(CAST(SUM(CASE WHEN entry = 'payment' THEN amount_fen ELSE 0 END) AS BIGINT), 0) FROM ledger WHERE application_id = $1",
        )
        .bind(app_id)
        .fetch_one(&mut **tx)
        .await?;
        let (all_committed, all_paid): (i64, i64) = (totals.get(0), totals.get(1));
        let before = app_json(&app);
        if all_paid == all_committed {
            let to = transition(app.state, Action::Disburse, actor.role)?;
            sqlx::query("UPDATE applications SET state = $1, updated_at = $2 WHERE id = $3")
                .bind(to.code())
                .bind(self.now())
                .bind(app_id)
                .execute(&mut **tx)
                .await?;
        }
        let after = self.app_in(&mut tx, app_id).await?;
        self.audit_in(
            &mut tx,
            actor,
            "pay",
            "application",
            app_id,
            Some(&before),
            Some(
                &json!({"level": level, "amount": amount.plain(), "state": after.state.code()})
                    .to_string(),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// 免申即享: for an imported event, an offer for every fixed-amount measure it triggers,
    /// once (the live-application rule makes a second import a no-op). Returns the offer ids.
    pub(crate) async fn offers_for_event_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        applicant_id: &str,
        event_id: &str,
    ) -> Result<Vec<String>> {
        self.applications_for_event_in(tx, actor, applicant_id, event_id, false)
            .await
    }

    /// The applications an event opens. Every event: an offer (免申即享) for each measure it
    /// triggers whose clause writes a fixed sum. An event the platform itself verified (a
    /// contract registered or a voucher redeemed on the S&T market, `verified`): also an offer
    /// for an amount fixed by a formula over its figures (90% of the voucher's service amount),
    /// since no declared figure needs checking; and for an amount left to review (最高…, 不超过…)
    /// a draft application (origin `market`) the applicant submits with one step.
    pub(crate) async fn applications_for_event_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        applicant_id: &str,
        event_id: &str,
        verified: bool,
    ) -> Result<Vec<String>> {
        let profile = self.profile_in(tx, applicant_id).await?;
        let row = sqlx::query("SELECT body FROM events WHERE id = $1")
            .bind(event_id)
            .fetch_one(&mut **tx)
            .await?;
        let event: J = serde_json::from_str(&row.get::<String, _>(0))
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut history = self.history_in(tx, applicant_id, None).await?;
        // Offers not yet confirmed are not in the ledger, but they will be: count them as
        // awards so a once-only measure is offered once, not once per imported event (issue
        // 9). Their once keys come from evaluating their own events.
        let pending = sqlx::query(
            "SELECT a.measure, a.computed_fen, e.body FROM applications a JOIN events e ON e.id = a.event_id \
             WHERE a.applicant_id = $1 AND a.state = 'offered' AND a.event_id <> $2 ORDER BY a.created_at, a.id",
        )
        .bind(applicant_id)
        .bind(event_id)
        .fetch_all(&mut **tx)
        .await?;
        if !pending.is_empty() {
            let mut events = Vec::new();
            let mut wanted = Vec::new();
            for r in &pending {
                let body: J = serde_json::from_str(&r.get::<String, _>(2))
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                events.push(body);
                wanted.push((r.get::<String, _>(0), r.get::<Option<i64>, _>(1)));
            }
            let doc = json!({"schema": kc_wire::INPUT_SCHEMA, "as_of": self.today().to_string(), "applicant": profile, "events": events, "history": history});
            let input = kc_wire::parse_input(&self.library(), &doc.to_string(), None)
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            let ev = kc_eval::evaluate(&self.library(), &input);
            for (i, (measure, fen)) in wanted.iter().enumerate() {
                let award = ev.outcomes.iter().find(|o| {
                    o.event == Some(i) && self.library().measures[o.measure].id == *measure
                });
                history.push(json!({
                    "measure": measure,
                    "date": input.events[i].date.to_string(),
                    "amount": from_fen(fen.unwrap_or(0)).plain(),
                    "activity": award.and_then(|o| o.award.as_ref()).and_then(|a| a.activity.clone()),
                }));
            }
        }
        let doc = json!({"schema": kc_wire::INPUT_SCHEMA, "as_of": self.today().to_string(), "applicant": profile, "events": [event], "history": history});
        let input = kc_wire::parse_input(&self.library(), &doc.to_string(), None)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let ev = kc_eval::evaluate(&self.library(), &input);
        let mut offers = Vec::new();
        for o in ev
            .outcomes
            .iter()
            .filter(|o| o.status == Status::Awarded && o.event == Some(0))
        {
            let Some(a) = &o.award else { continue };
            let lib = self.library();
            let m = &lib.measures[o.measure];
            // Only a fixed sum written in the clause (给予2万元) is offered without review; an
            // amount computed from declared figures (50% of loan costs) needs a reviewer —
            // unless the platform verified the figures itself.
            let written_sum = matches!(&m.grant, kc_check::GrantRule::Fixed(n) if matches!(n.kind, kc_check::NodeKind::Const(_)));
            let (origin, state) = match (a.kind, a.amount) {
                (AmountKind::Fixed, Some(_)) if written_sum || verified => {
                    ("offer", AppState::Offered)
                }
                _ if verified => ("market", AppState::Draft),
                _ => continue,
            };
            let computed = a.amount.map(|amount| (amount, a.kind));
            let measure = &m.id;
            match self
                .insert_application(
                    tx,
                    actor,
                    applicant_id,
                    measure,
                    event_id,
                    origin,
                    state,
                    computed,
                )
                .await
            {
                Ok(id) => offers.push(id),
                Err(StoreError::Refused {
                    code: "duplicate", ..
                }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(offers)
    }

    /// Records an event and makes its 免申即享 offers, in one transaction.
    pub async fn add_event_with_offers(
        &self,
        actor: &Actor,
        applicant_id: &str,
        event: &J,
    ) -> Result<(String, Vec<String>)> {
        let mut tx = self
            .begin_write(&[format!("applicant:{applicant_id}")])
            .await?;
        let id = self
            .add_event_in(&mut tx, actor, applicant_id, event)
            .await?;
        let offers = self
            .offers_for_event_in(&mut tx, actor, applicant_id, &id)
            .await?;
        tx.commit().await?;
        Ok((id, offers))
    }
}

impl Store {
    /// An eval-input document for a stored applicant: its profile, every event, and its
    /// history from the ledger — what `kechuang eval --database` evaluates.
    pub async fn eval_input(&self, applicant_id: &str, as_of: jiff::civil::Date) -> Result<J> {
        let mut tx = self.pool.begin().await?;
        let profile = self.profile_in(&mut tx, applicant_id).await?;
        let rows = sqlx::query("SELECT body FROM events WHERE applicant_id = $1 ORDER BY date, id")
            .bind(applicant_id)
            .fetch_all(&mut *tx)
            .await?;
        let mut events = Vec::new();
        for r in rows {
            events.push(
                serde_json::from_str::<J>(&r.get::<String, _>(0))
                    .map_err(|e| StoreError::Invalid(e.to_string()))?,
            );
        }
        let history = self.history_in(&mut tx, applicant_id, None).await?;
        tx.commit().await?;
        Ok(
            json!({"schema": kc_wire::INPUT_SCHEMA, "as_of": as_of.to_string(), "applicant": profile, "events": events, "history": history}),
        )
    }

    /// [`Store::eval_input`] of each of `ids`, in their order, read in bulk: three queries per
    /// chunk of applicants (profiles, events, ledger) instead of several per applicant, so a
    /// city's thousands of stored applicants are read in seconds for the 测算 page and
    /// `kechuang simulate --database`. Each document equals `eval_input`'s (tested on both
    /// databases).
    pub async fn eval_inputs(&self, ids: &[String], as_of: jiff::civil::Date) -> Result<Vec<J>> {
        // Well under both databases' limits on bound parameters.
        const CHUNK: usize = 500;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut tx = self.pool.begin().await?;
            let params = crate::jurisdictions::in_params(1, chunk.len());
            let query = |sql: String| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    q = q.bind(id.clone());
                }
                q
            };
            let mut profiles: HashMap<String, J> = HashMap::with_capacity(chunk.len());
            for r in query(format!(
                "SELECT id, profile FROM applicants WHERE id IN ({params})"
            ))
            .fetch_all(&mut *tx)
            .await?
            {
                let id: String = r.get(0);
                let profile = serde_json::from_str(&r.get::<String, _>(1))
                    .map_err(|e| StoreError::Invalid(format!("stored profile of {id}: {e}")))?;
                profiles.insert(id, profile);
            }
            let mut events: HashMap<String, Vec<J>> = HashMap::new();
            for r in query(format!(
                "SELECT applicant_id, body FROM events WHERE applicant_id IN ({params}) \
                 ORDER BY applicant_id, date, id"
            ))
            .fetch_all(&mut *tx)
            .await?
            {
                events.entry(r.get(0)).or_default().push(
                    serde_json::from_str::<J>(&r.get::<String, _>(1))
                        .map_err(|e| StoreError::Invalid(e.to_string()))?,
                );
            }
            let mut history: HashMap<String, Vec<J>> = HashMap::new();
            for r in query(format!(
                "SELECT applicant_id, application_id, measure, MIN(event_date), \
                 CAST(SUM(amount_fen) AS BIGINT), MAX(activity), MAX(item), MAX(base_fen) \
                 FROM ledger WHERE applicant_id IN ({params}) AND entry IN ('commitment', 'reversal') \
                 GROUP BY applicant_id, application_id, measure ORDER BY applicant_id, MIN(seq)"
            ))
            .fetch_all(&mut *tx)
            .await?
            {
                if let Some(p) = self.history_of_row(&r, 1, None)? {
                    history.entry(r.get(0)).or_default().push(prior_json(&p));
                }
            }
            tx.commit().await?;
            for id in chunk {
                // Looked up, not taken: an id given twice gets its document twice.
                let profile = profiles
                    .get(id)
                    .ok_or_else(|| StoreError::NotFound(format!("applicant {id}")))?;
                out.push(
                    json!({"schema": kc_wire::INPUT_SCHEMA, "as_of": as_of.to_string(),
                    "applicant": profile, "events": events.get(id).cloned().unwrap_or_default(),
                    "history": history.get(id).cloned().unwrap_or_default()}),
                );
            }
        }
        Ok(out)
    }
}

/// One line of the 公示 list.
#[derive(Clone, Debug, PartialEq)]
pub struct NoticeLine {
    pub application: String,
    pub applicant_id: String,
    pub applicant_name: String,
    pub measure: String,
    pub amount: Money,
    pub until: String,
}

impl Store {
    /// The 公示 list: every application in public notice with applicant, measure and amount
    /// (the caller adds document and clause from the library).
    pub async fn public_notices(&self) -> Result<Vec<NoticeLine>> {
        let rows = sqlx::query(
            "SELECT a.id, a.applicant_id, p.name, a.measure, a.approved_fen, a.notice_until FROM applications a \
             JOIN applicants p ON p.id = a.applicant_id WHERE a.state = 'public_notice' ORDER BY a.notice_until, a.id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| NoticeLine {
                application: r.get(0),
                applicant_id: r.get(1),
                applicant_name: r.get(2),
                measure: r.get(3),
                amount: from_fen(r.get::<Option<i64>, _>(4).unwrap_or(0)),
                until: r.get::<Option<String>, _>(5).unwrap_or_default(),
            })
            .collect())
    }
}

/// An objection lodged by the public during 公示.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicObjection {
    pub id: String,
    pub application: String,
    pub name: String,
    pub contact: String,
    pub reason: String,
    pub at: String,
}

impl Store {
    /// Records an objection from anyone (no account) to an application in 公示: a name, a way
    /// to reach them and the reason, each required and bounded. Refused (`not_in_notice`) once
    /// the application is no longer in notice. Moves no money; audited as `lodge_objection`.
    pub async fn lodge_objection(
        &self,
        app_id: &str,
        name: &str,
        contact: &str,
        reason: &str,
    ) -> Result<String> {
        let field = |v: &str, what: &str, max: usize| -> Result<String> {
            let t = v.trim();
            if t.is_empty() {
                return Err(StoreError::Invalid(format!("{what}:必填 (required)")));
            }
            if t.chars().count() > max {
                return Err(StoreError::Invalid(format!(
                    "{what}:最多 {max} 字 (at most {max} characters)"
                )));
            }
            Ok(t.to_string())
        };
        let name = field(name, "姓名或单位 name", 100)?;
        let contact = field(contact, "联系方式 contact", 100)?;
        let reason = field(reason, "异议理由 reason", 2000)?;
        let mut tx = self.begin_write(&[format!("objection:{app_id}")]).await?;
        let state: Option<String> = sqlx::query("SELECT state FROM applications WHERE id = $1")
            .bind(app_id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.get(0));
        match state.as_deref() {
            None => return Err(StoreError::NotFound(format!("application {app_id}"))),
            Some("public_notice") => {}
            Some(_) => {
                return Err(refused(
                    "not_in_notice",
                    format!("申请 {app_id} 不在公示期内,无法提出异议 (not in public notice)"),
                ));
            }
        }
        let id = format!("O{:08X}", rand_u32());
        let now = self.now();
        sqlx::query("INSERT INTO public_objections (id, application_id, name, contact, reason, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(app_id)
            .bind(&name)
            .bind(&contact)
            .bind(&reason)
            .bind(&now)
            .execute(&mut **tx)
            .await?;
        let actor = Actor::new(&format!("public:{name}"), Role::System);
        self.audit_in(
            &mut tx,
            &actor,
            "lodge_objection",
            "application",
            app_id,
            None,
            Some(
                &json!({"objection": id, "name": name, "contact": contact, "reason": reason})
                    .to_string(),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The objections lodged by the public, oldest first (reviewers: what to look into).
    pub async fn public_objections(&self, actor: &Actor) -> Result<Vec<PublicObjection>> {
        if !actor.role.may(Access::AllApplicants) {
            return Err(refused(
                "forbidden",
                "本角色不查看公示异议 (this role does not see objections)",
            ));
        }
        let rows = match self.scope_regions(actor) {
            None => {
                sqlx::query(
                    "SELECT id, application_id, name, contact, reason, at FROM public_objections ORDER BY at, id",
                )
                .fetch_all(&self.pool)
                .await?
            }
            // Staff of a jurisdiction: the objections to its applicants' applications.
            Some(regions) => {
                let sql = format!(
                    "SELECT o.id, o.application_id, o.name, o.contact, o.reason, o.at FROM public_objections o \
                     JOIN applications a ON a.id = o.application_id JOIN applicants p ON p.id = a.applicant_id \
                     WHERE p.region IN ({}) ORDER BY o.at, o.id",
                    crate::jurisdictions::in_params(1, regions.len())
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for r in &regions {
                    q = q.bind(r.clone());
                }
                q.fetch_all(&self.pool).await?
            }
        };
        Ok(rows
            .iter()
            .map(|r| PublicObjection {
                id: r.get(0),
                application: r.get(1),
                name: r.get(2),
                contact: r.get(3),
                reason: r.get(4),
                at: r.get(5),
            })
            .collect())
    }
}

/// A random u32 from the OS-seeded hasher state: ids need uniqueness, not cryptography.
pub(crate) fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() as u32
}

/// A notification: a state change of an application, from the audit log.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// The audit row's sequence number: the inbox marks notifications read up to it.
    pub seq: i64,
    pub at: String,
    pub application: String,
    pub measure: String,
    /// The step taken (`submit`, `approve`, `pay`, …; `create` for a new application or offer).
    pub action: String,
    pub origin: String,
    pub state: AppState,
}

impl Store {
    /// How many notifications the actor has not seen in its inbox: changes to its applications
    /// (an applicant's own; staff: all) made by someone else after the last one it saw.
    /// `None` for a role without notifications (the plan office).
    pub async fn unread_notifications(&self, actor: &Actor) -> Result<Option<i64>> {
        let me = format!("{}:{}", actor.role.code(), actor.id);
        const SQL: &str = "SELECT COUNT(*) FROM audit a JOIN applications ap ON ap.id = a.entity_id \
             WHERE a.entity = 'application' AND a.actor <> $1 \
             AND a.seq > COALESCE((SELECT notifications_seen_seq FROM users WHERE id = $2), 0)";
        let n: i64 = match (&actor.role, &actor.applicant) {
            (Role::Applicant, Some(own)) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "{SQL} AND ap.applicant_id = $3"
                )))
                .bind(&me)
                .bind(&actor.id)
                .bind(own)
                .fetch_one(&self.pool)
                .await?
            }
            (Role::Applicant, None) => return Ok(Some(0)),
            (role, _) if !role.may(Access::AllApplicants) => return Ok(None),
            _ => {
                sqlx::query_scalar(SQL)
                    .bind(&me)
                    .bind(&actor.id)
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        Ok(Some(n))
    }

    /// Marks the actor's notifications up to `seq` (the newest it was shown) as seen. Never
    /// moves the mark back, so an older inbox page opened later cannot unread anything.
    pub async fn mark_notifications_seen(&self, actor: &Actor, seq: i64) -> Result<()> {
        sqlx::query(
            "UPDATE users SET notifications_seen_seq = $1 WHERE id = $2 \
             AND (notifications_seen_seq IS NULL OR notifications_seen_seq < $1)",
        )
        .bind(seq)
        .bind(&actor.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest changes to an actor's applications (an applicant's own; staff: all), newest
    /// first: what the platform shows as notifications.
    pub async fn notifications(&self, actor: &Actor, limit: i64) -> Result<Vec<Notification>> {
        const SQL: &str = "SELECT a.at, a.entity_id, ap.measure, a.action, ap.origin, ap.state, a.seq FROM audit a \
             JOIN applications ap ON ap.id = a.entity_id WHERE a.entity = 'application'";
        let rows = match (&actor.role, &actor.applicant) {
            (Role::Applicant, Some(own)) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{SQL} AND ap.applicant_id = $1 ORDER BY a.seq DESC LIMIT $2"
                )))
                .bind(own)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            (Role::Applicant, None) => return Ok(Vec::new()),
            (role, _) if !role.may(Access::AllApplicants) => {
                return Err(refused(
                    "forbidden",
                    "本角色不查看申报通知 (this role does not see applications)",
                ));
            }
            _ => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{SQL} ORDER BY a.seq DESC LIMIT $1"
                )))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter()
            .map(|r| {
                let state: String = r.get(5);
                Ok(Notification {
                    seq: r.get(6),
                    at: r.get(0),
                    application: r.get(1),
                    measure: r.get(2),
                    action: r.get(3),
                    origin: r.get(4),
                    state: AppState::parse(&state)
                        .ok_or_else(|| StoreError::Invalid(format!("stored state “{state}”")))?,
                })
            })
            .collect()
    }
}

//! Accounts and sessions as stored: users with their role (and, for applicants, the
//! organisation they act for), sessions with their CSRF token, failed logins for rate
//! limiting. Password hashing is the server's job; this module stores what it is given.

use crate::{Actor, Result, Store, StoreError};

/// How failed logins are throttled (see `Store::reserve_login_attempt`).
#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    pub window_minutes: i64,
    /// Wrong passwords for one account from one address within the window.
    pub per_account_client: i64,
    /// Wrong passwords for any account from one address within the window (password spraying).
    pub per_client: i64,
    /// The table's bound, whatever the number of addresses.
    pub max_rows: i64,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            window_minutes: 10,
            per_account_client: 5,
            per_client: 20,
            max_rows: 100_000,
        }
    }
}

/// A value unique enough to name one login attempt (not a secret): a per-process random hash
/// of the time and a counter.
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}
use kc_domain::Role;
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// The organisation the user acts for: for a session, the one it has chosen (while the
    /// membership lasts); otherwise the account's default (see `Store::user`).
    pub applicant_id: Option<String>,
    pub password_hash: Option<String>,
    /// Staff: the jurisdiction worked for (`None`: the whole platform).
    pub jurisdiction: Option<String>,
}

impl User {
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.id.clone(),
            role: self.role,
            applicant: self.applicant_id.clone(),
            jurisdiction: self.jurisdiction.clone(),
        }
    }
}

/// SQL for the organisation a user (`u`) acts for by default.
const DEFAULT_ORG: &str = "COALESCE(\
     (SELECT m.applicant_id FROM memberships m WHERE m.user_id = u.id AND m.applicant_id = u.applicant_id), \
     (SELECT MIN(m.applicant_id) FROM memberships m WHERE m.user_id = u.id))";

fn user_from(r: &AnyRow) -> Result<User> {
    let role: String = r.get(2);
    Ok(User {
        id: r.get(0),
        name: r.get(1),
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Invalid(format!("stored role “{role}”")))?,
        applicant_id: r.get(3),
        password_hash: r.get(4),
        jurisdiction: r.get(5),
    })
}

impl Store {
    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?
            .get(0))
    }

    /// Creates a user (audited). Ids are unique; an applicant account names its organisation.
    pub async fn create_user(&self, actor: &Actor, user: &User) -> Result<()> {
        if user.role == Role::Applicant && user.applicant_id.is_none() {
            return Err(StoreError::Invalid(
                "an applicant account needs its organisation (统一社会信用代码)".into(),
            ));
        }
        if let Some(j) = &user.jurisdiction {
            if user.role == Role::Applicant {
                return Err(StoreError::Invalid(
                    "申报账号不属于辖区 (an applicant account has no jurisdiction)".into(),
                ));
            }
            self.check_jurisdiction(j)?;
        }
        let mut tx = self.pool.begin().await?;
        let exists = sqlx::query("SELECT id FROM users WHERE id = $1")
            .bind(&user.id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::Refused {
                code: "duplicate",
                message: format!("用户 {} 已存在", user.id),
            });
        }
        sqlx::query("INSERT INTO users (id, name, role, applicant_id, password_hash, created_at, jurisdiction) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&user.id)
            .bind(&user.name)
            .bind(user.role.code())
            .bind(user.applicant_id.clone())
            .bind(user.password_hash.clone())
            .bind(self.now())
            .bind(user.jurisdiction.clone())
            .execute(&mut *tx)
            .await?;
        if let (Role::Applicant, Some(org)) = (user.role, &user.applicant_id) {
            // An account created for an organisation is its administrator (as every account
            // was before organisations had several users).
            sqlx::query("INSERT INTO memberships (user_id, applicant_id, is_admin, added_by, added_at) VALUES ($1, $2, 1, $3, $4)")
                .bind(&user.id)
                .bind(org)
                .bind(format!("{}:{}", actor.role.code(), actor.id))
                .bind(self.now())
                .execute(&mut *tx)
                .await?;
        }
        let after = serde_json::json!({"id": user.id, "role": user.role.code(), "applicant": user.applicant_id, "jurisdiction": user.jurisdiction}).to_string();
        self.audit_in(
            &mut tx,
            actor,
            "create",
            "user",
            &user.id,
            None,
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An account, with the organisation it acts for by default: the one it was created for
    /// while it still belongs to it, else the first of its memberships.
    pub async fn user(&self, id: &str) -> Result<Option<User>> {
        let sql = format!(
            "SELECT u.id, u.name, u.role, {DEFAULT_ORG}, u.password_hash, u.jurisdiction FROM users u WHERE u.id = $1"
        );
        let r = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(user_from).transpose()
    }

    pub async fn create_session(
        &self,
        id: &str,
        user_id: &str,
        csrf: &str,
        expires_at: &str,
    ) -> Result<()> {
        let sql = format!(
            "INSERT INTO sessions (id, user_id, csrf, created_at, expires_at, acting_for) \
             SELECT $1, u.id, $3, $4, $5, {DEFAULT_ORG} FROM users u WHERE u.id = $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(user_id)
            .bind(csrf)
            .bind(self.now())
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user and CSRF token of a live session. The user's organisation is the one the
    /// session acts for, and only while the user still belongs to it (a removed user's
    /// sessions act for no organisation from the next request on).
    pub async fn session(&self, id: &str) -> Result<Option<(User, String)>> {
        let r = sqlx::query(
            "SELECT u.id, u.name, u.role, m.applicant_id, u.password_hash, u.jurisdiction, s.csrf, s.expires_at FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             LEFT JOIN memberships m ON m.user_id = s.user_id AND m.applicant_id = s.acting_for WHERE s.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = r else { return Ok(None) };
        let expires: String = r.get(7);
        if expires < self.now() {
            self.delete_session(id).await?;
            return Ok(None);
        }
        Ok(Some((user_from(&r)?, r.get(6))))
    }

    pub async fn delete_session(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Reserves one password check for `account` from `client`, atomically: the attempt is
    /// recorded first and the recent attempts counted after, so of any number of parallel
    /// guesses at most `limits.per_account_client` are let through (the last of any
    /// `limit + 1` to count sees them all). Over a limit, the reservation is withdrawn and
    /// `Ok(None)` returned; otherwise the attempt id, which stays recorded as a failure unless
    /// [`Store::login_succeeded`] clears it. Rows older than the window are pruned on the way,
    /// and the table never holds more than `limits.max_rows`.
    pub async fn reserve_login_attempt(
        &self,
        account: &str,
        client: &str,
        limits: LoginLimits,
    ) -> Result<Option<String>> {
        let since = self.minutes_ago(limits.window_minutes);
        let attempt = format!("{:016x}{:016x}", rand_u64(), rand_u64());
        sqlx::query("DELETE FROM login_failures WHERE at < $1")
            .bind(&since)
            .execute(&self.pool)
            .await?;
        let rows: i64 = sqlx::query("SELECT COUNT(*) FROM login_failures")
            .fetch_one(&self.pool)
            .await?
            .get(0);
        if rows >= limits.max_rows {
            // A flood from many addresses: refuse new attempts rather than grow without bound.
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO login_failures (key, client, attempt, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(account)
        .bind(client)
        .bind(&attempt)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        let counts = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN key = $1 THEN 1 ELSE 0 END), 0), COUNT(*) \
             FROM login_failures WHERE client = $2 AND at >= $3",
        )
        .bind(account)
        .bind(client)
        .bind(&since)
        .fetch_one(&self.pool)
        .await?;
        let (pair, from_client): (i64, i64) = (counts.get(0), counts.get(1));
        if pair > limits.per_account_client || from_client > limits.per_client {
            sqlx::query("DELETE FROM login_failures WHERE attempt = $1")
                .bind(&attempt)
                .execute(&self.pool)
                .await?;
            return Ok(None);
        }
        Ok(Some(attempt))
    }

    /// A successful login clears the failures of that account from that client.
    pub async fn login_succeeded(&self, account: &str, client: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1 AND client = $2")
            .bind(account)
            .bind(client)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Rows in the failures table (for tests and `db status`).
    pub async fn login_failure_rows(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM login_failures")
            .fetch_one(&self.pool)
            .await?
            .get(0))
    }

    fn minutes_ago(&self, minutes: i64) -> String {
        (self.clock)()
            .checked_sub(jiff::SignedDuration::from_mins(minutes))
            .map(|t| {
                crate::cst(t)
                    .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
                    .to_string()
            })
            .unwrap_or_default()
    }

    /// Every applicant, by name, for staff lists.
    /// The applicants an actor sees (staff of a jurisdiction: those located in it), by name.
    pub async fn applicants(&self, actor: &Actor) -> Result<Vec<ApplicantRow>> {
        if !actor.role.may(kc_domain::Access::AllApplicants) {
            return Err(StoreError::Refused {
                code: "forbidden",
                message: format!(
                    "角色 {} 无权查看申报主体名录 (may not list applicants)",
                    actor.role.code()
                ),
            });
        }
        let rows = match self.scope_regions(actor) {
            None => {
                sqlx::query("SELECT id, name, kind, region FROM applicants ORDER BY name")
                    .fetch_all(&self.pool)
                    .await?
            }
            Some(regions) => {
                let sql = format!(
                    "SELECT id, name, kind, region FROM applicants WHERE region IN ({}) ORDER BY name",
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
            .map(|r| ApplicantRow {
                id: r.get(0),
                name: r.get(1),
                kind: r.get(2),
                region: r.get(3),
            })
            .collect())
    }

    /// An applicant's stored events as JSON objects, by date.
    pub async fn events_of(&self, applicant_id: &str) -> Result<Vec<serde_json::Value>> {
        let rows = sqlx::query("SELECT body FROM events WHERE applicant_id = $1 ORDER BY date, id")
            .bind(applicant_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                serde_json::from_str(&r.get::<String, _>(0))
                    .map_err(|e| StoreError::Invalid(e.to_string()))
            })
            .collect()
    }

    /// The stored profile of an applicant.
    pub async fn profile(&self, applicant_id: &str) -> Result<serde_json::Value> {
        let mut tx = self.pool.begin().await?;
        let p = self.profile_in(&mut tx, applicant_id).await?;
        tx.commit().await?;
        Ok(p)
    }

    /// The ledger rows of an applicant, oldest first.
    pub async fn ledger_of(&self, applicant_id: &str) -> Result<Vec<LedgerRow>> {
        let rows = sqlx::query("SELECT application_id, measure, entry, level, amount_fen, at FROM ledger WHERE applicant_id = $1 ORDER BY seq")
            .bind(applicant_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let entry: String = r.get(2);
                Ok(LedgerRow {
                    application: r.get(0),
                    measure: r.get(1),
                    entry: kc_domain::EntryKind::parse(&entry).ok_or_else(|| {
                        StoreError::Invalid(format!("ledger entry kind “{entry}” is not known"))
                    })?,
                    level: r.get(3),
                    amount: kc_domain::from_fen(r.get(4)),
                    at: r.get(5),
                })
            })
            .collect()
    }

    /// Every (measure, year) with a budget or a ledger row.
    pub async fn budget_keys(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT measure, budget_year FROM budgets UNION SELECT measure, budget_year FROM ledger ORDER BY 2 DESC, 1",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

fn require_plan_office(actor: &Actor) -> Result<()> {
    if actor.role.may(kc_domain::Access::RecordPlans) {
        Ok(())
    } else {
        Err(StoreError::Refused {
            code: "forbidden",
            message: "只有督查考核办公室可以填报计划进展 (only the plan office records progress)"
                .into(),
        })
    }
}

/// A plan record as stored: (key, value or year, date, source).
pub type PlanRecord = (String, String, String, String);

impl Store {
    /// Records an indicator's actual value (plan office, admin); audited. A value for an
    /// indicator and date that already has one is a correction: the new row supersedes the
    /// older ones (the latest `seq` wins, see [`Store::plan_records`]), nothing is updated or
    /// deleted, and the audit row (`correct_actual`) holds the value before and after.
    /// `shipped` is the value the plan files give for that indicator and date, if any: the
    /// "before" of a first correction of a published figure. Returns the superseded value.
    pub async fn record_plan_actual(
        &self,
        actor: &Actor,
        indicator: &str,
        value: &str,
        date: &str,
        source: &str,
        shipped: Option<&str>,
    ) -> Result<Option<String>> {
        require_plan_office(actor)?;
        let mut tx = self.begin_write(&["plans".to_string()]).await?;
        let previous = sqlx::query(
            "SELECT value, source FROM plan_actuals WHERE indicator = $1 AND date = $2 ORDER BY seq DESC LIMIT 1",
        )
        .bind(indicator)
        .bind(date)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .map(|(v, s)| (v, Some(s)))
        .or_else(|| shipped.map(|v| (v.to_string(), None)));
        sqlx::query("INSERT INTO plan_actuals (indicator, value, date, source, actor, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(indicator)
            .bind(value)
            .bind(date)
            .bind(source)
            .bind(format!("{}:{}", actor.role.code(), actor.id))
            .bind(self.now())
            .execute(&mut **tx)
            .await?;
        let after = serde_json::json!({"value": value, "date": date, "source": source}).to_string();
        let before = previous.as_ref().map(|(v, s)| {
            serde_json::json!({"value": v, "date": date, "source": s.clone().unwrap_or_else(|| "plans/".into())})
                .to_string()
        });
        self.audit_in(
            &mut tx,
            actor,
            if previous.is_some() {
                "correct_actual"
            } else {
                "record_actual"
            },
            "indicator",
            indicator,
            before.as_deref(),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(previous.map(|(v, _)| v))
    }

    /// Records a task's milestone of `year` done (plan office, admin); audited.
    pub async fn record_plan_progress(
        &self,
        actor: &Actor,
        task: &str,
        year: i64,
        done: &str,
        source: &str,
    ) -> Result<()> {
        require_plan_office(actor)?;
        kc_domain::check_year(year).map_err(StoreError::Invalid)?;
        let mut tx = self.begin_write(&["plans".to_string()]).await?;
        sqlx::query("INSERT INTO plan_progress (task, year, done, source, actor, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(task)
            .bind(year)
            .bind(done)
            .bind(source)
            .bind(format!("{}:{}", actor.role.code(), actor.id))
            .bind(self.now())
            .execute(&mut **tx)
            .await?;
        let after = serde_json::json!({"year": year, "done": done, "source": source}).to_string();
        self.audit_in(
            &mut tx,
            actor,
            "record_progress",
            "task",
            task,
            None,
            Some(&after),
        )
        .await?;
        tx.commit().await
    }

    /// Every recorded actual (indicator, value, date, source) and milestone (task, year, done,
    /// source), oldest first: of several actuals for one indicator and date the last one is
    /// the current value (a correction supersedes).
    pub async fn plan_records(&self) -> Result<(Vec<PlanRecord>, Vec<PlanRecord>)> {
        let a = sqlx::query("SELECT indicator, value, date, source FROM plan_actuals ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        let p = sqlx::query("SELECT task, year, done, source FROM plan_progress ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        Ok((
            a.iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                .collect(),
            p.iter()
                .map(|r| (r.get(0), r.get::<i64, _>(1).to_string(), r.get(2), r.get(3)))
                .collect(),
        ))
    }
}

/// An applicant as staff lists show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicantRow {
    /// 统一社会信用代码.
    pub id: String,
    pub name: String,
    /// Member names of the vocabulary's `ApplicantKind` and `Region`.
    pub kind: String,
    pub region: String,
}

/// One row of an applicant's ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerRow {
    pub application: String,
    pub measure: String,
    pub entry: kc_domain::EntryKind,
    /// The government level's keyword (`city`, `district`, …).
    pub level: String,
    pub amount: kc_money::Money,
    /// When it was written (ISO timestamp, China Standard Time).
    pub at: String,
}

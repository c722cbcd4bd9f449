//! The 测算 workspace's runs (issue 13, item 5): the population of a simulation (the stored
//! applicants, as eval inputs) and the run records — queued, running with progress, done with
//! the result or failed with the error — kept and listed newest first. The simulation itself is
//! kc-simulate's; the platform runs it in the background and writes its progress here.
//!
//! A run records a heartbeat with each progress step. A run still queued or running whose
//! heartbeat is older than [`STALE_AFTER_SECS`] belonged to a process that stopped (a crash, a
//! restart): the next process to start, and every reader, mark it failed with that reason, so
//! no run stays "running" forever and several processes may share one database.
//!
//! A run may be stopped by the person who started it or an admin ([`Store::stop_simulation`]):
//! it is marked `stopped` with the progress it reached, the runner sees that at its next
//! progress step (between batches) and ends without writing a result — a partial sum is not a
//! forecast. Uploaded populations ([`Store::add_simulation_population`]) are kept in the
//! database beside the runs, scoped like them, and are part of backups.

use crate::{Actor, Result, Store, StoreError};
use kc_domain::Access;
use serde_json::Value as J;
use sqlx::Row;

/// A run whose heartbeat is older than this (seconds) is taken as abandoned.
pub const STALE_AFTER_SECS: i64 = 120;

/// The error recorded on a run abandoned by its process.
pub const STALE_ERROR: &str = "运行该测算的服务进程已停止(重启或故障),测算未完成,请重新运行 (the server process running this simulation stopped — a restart or a crash — before it finished; run it again)";

/// One run of the 测算 workspace.
#[derive(Clone, Debug, PartialEq)]
pub struct SimulationRun {
    pub id: String,
    pub created_by: String,
    pub created_by_name: String,
    pub created_at: String,
    /// The scope of who ran it (`None`: the whole platform).
    pub jurisdiction: Option<String>,
    pub title: String,
    /// The period and the reform, as the run was asked for.
    pub params: J,
    /// queued, running, done, failed, stopped
    pub status: String,
    pub done: i64,
    pub total: i64,
    /// When done: `{baseline, reform?, comparison?}`; `None` in lists.
    pub result: Option<J>,
    pub error: Option<String>,
    pub finished_at: Option<String>,
    /// Who stopped the run (status `stopped`).
    pub stopped_by_name: Option<String>,
}

/// A population uploaded to the 测算 workspace (without its bytes).
#[derive(Clone, Debug, PartialEq)]
pub struct UploadedPopulation {
    pub id: String,
    /// The file's name as uploaded.
    pub name: String,
    /// csv, jsonl, parquet
    pub format: String,
    pub size: i64,
    pub sha256: String,
    pub applicants: i64,
    pub events: i64,
    pub rows: i64,
    pub jurisdiction: Option<String>,
    pub uploaded_by: String,
    pub uploaded_by_name: String,
    pub uploaded_at: String,
}

/// What an upload adds: the file, checked by the caller, and its counts.
pub struct NewPopulation<'a> {
    pub name: &'a str,
    pub format: &'a str,
    pub bytes: &'a [u8],
    pub applicants: i64,
    pub events: i64,
    pub rows: i64,
}

fn forbidden(actor: &Actor) -> StoreError {
    StoreError::Refused {
        code: "forbidden",
        message: format!(
            "角色 {} 无权使用测算 (may not use the 测算 simulation workspace)",
            actor.role.code()
        ),
    }
}

const COLUMNS: &str = "id, created_by, created_by_name, created_at, jurisdiction, title, params, status, done, total, error, finished_at, stopped_by_name";

const POPULATION_COLUMNS: &str = "id, name, format, size, sha256, applicants, events, row_count, jurisdiction, uploaded_by, uploaded_by_name, uploaded_at";

fn population_of(r: &sqlx::any::AnyRow) -> UploadedPopulation {
    UploadedPopulation {
        id: r.get(0),
        name: r.get(1),
        format: r.get(2),
        size: r.get(3),
        sha256: r.get(4),
        applicants: r.get(5),
        events: r.get(6),
        rows: r.get(7),
        jurisdiction: r.get(8),
        uploaded_by: r.get(9),
        uploaded_by_name: r.get(10),
        uploaded_at: r.get(11),
    }
}

/// Only the person who started a run (or uploaded a population) and admins may stop (delete) it.
fn owner_or_admin(actor: &Actor, owner: &str, what: &str) -> Result<()> {
    if actor.id == owner || actor.role == kc_domain::Role::Admin {
        Ok(())
    } else {
        Err(StoreError::Refused {
            code: "forbidden",
            message: format!(
                "只有发起人或管理员可以{what} (only the person who started it or an admin may do this)"
            ),
        })
    }
}

fn run_of(r: &sqlx::any::AnyRow, result: Option<String>) -> Result<SimulationRun> {
    let parse =
        |t: &str| serde_json::from_str::<J>(t).map_err(|e| StoreError::Invalid(e.to_string()));
    Ok(SimulationRun {
        id: r.get(0),
        created_by: r.get(1),
        created_by_name: r.get(2),
        created_at: r.get(3),
        jurisdiction: r.get(4),
        title: r.get(5),
        params: parse(&r.get::<String, _>(6))?,
        status: r.get(7),
        done: r.get(8),
        total: r.get(9),
        result: result.as_deref().map(parse).transpose()?,
        error: r.get(10),
        finished_at: r.get(11),
        stopped_by_name: r.get(12),
    })
}

impl Store {
    /// The applicants a simulation by `actor` covers: every stored applicant, or those located
    /// in the actor's jurisdiction; by id.
    pub async fn population_ids(&self, actor: &Actor) -> Result<Vec<String>> {
        if !actor.role.may(Access::Simulate) && !actor.role.may(Access::AllApplicants) {
            return Err(forbidden(actor));
        }
        let rows = match self.scope_regions(actor) {
            None => {
                sqlx::query("SELECT id FROM applicants ORDER BY id")
                    .fetch_all(&self.pool)
                    .await?
            }
            Some(regions) => {
                let sql = format!(
                    "SELECT id FROM applicants WHERE region IN ({}) ORDER BY id",
                    crate::jurisdictions::in_params(1, regions.len())
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for r in &regions {
                    q = q.bind(r.clone());
                }
                q.fetch_all(&self.pool).await?
            }
        };
        Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
    }

    /// The stored applicants `actor` covers as a population: each one's eval input (profile,
    /// events, ledger history) as of `as_of` — what `kechuang simulate --database` and the
    /// 测算 page evaluate.
    pub async fn population(&self, actor: &Actor, as_of: jiff::civil::Date) -> Result<Vec<J>> {
        let ids = self.population_ids(actor).await?;
        self.eval_inputs(&ids, as_of).await
    }

    /// Records a new run, queued, of `total` applicants; returns its id.
    pub async fn create_simulation_run(
        &self,
        actor: &Actor,
        name: &str,
        title: &str,
        params: &J,
        total: i64,
    ) -> Result<String> {
        if !actor.role.may(Access::Simulate) {
            return Err(forbidden(actor));
        }
        let now = self.now();
        let id = format!(
            "CS{}-{:08X}",
            self.today().year(),
            crate::workflow::rand_u32()
        );
        sqlx::query(
            "INSERT INTO simulation_runs (id, seq, created_by, created_by_name, created_at, jurisdiction, title, params, status, done, total, heartbeat_at) \
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM simulation_runs), $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $9)",
        )
        .bind(&id)
        .bind(&actor.id)
        .bind(name)
        .bind(&now)
        .bind(actor.jurisdiction.clone())
        .bind(title)
        .bind(params.to_string())
        .bind(total)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Progress of a run: `done` applicants evaluated; marks it running and beats its heart.
    /// `false` when the run is no longer queued or running (marked failed meanwhile): the
    /// caller stops.
    pub async fn simulation_progress(&self, id: &str, done: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE simulation_runs SET status = 'running', done = $1, heartbeat_at = $2 WHERE id = $3 AND status IN ('queued', 'running')",
        )
        .bind(done)
        .bind(self.now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// A run finished: its result, every applicant done.
    pub async fn simulation_finished(&self, id: &str, result: &J) -> Result<bool> {
        let now = self.now();
        let r = sqlx::query(
            "UPDATE simulation_runs SET status = 'done', done = total, result = $1, heartbeat_at = $2, finished_at = $3 WHERE id = $4 AND status IN ('queued', 'running')",
        )
        .bind(result.to_string())
        .bind(&now)
        .bind(&now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// A run failed: the error, for the page.
    pub async fn simulation_failed(&self, id: &str, error: &str) -> Result<()> {
        let now = self.now();
        sqlx::query(
            "UPDATE simulation_runs SET status = 'failed', error = $1, heartbeat_at = $2, finished_at = $3 WHERE id = $4 AND status IN ('queued', 'running')",
        )
        .bind(error)
        .bind(&now)
        .bind(&now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks failed every run still queued or running whose heartbeat is older than
    /// [`STALE_AFTER_SECS`]: its process stopped. Returns how many.
    pub async fn fail_stale_simulations(&self) -> Result<u64> {
        let cutoff = crate::cst(
            (self.clock)()
                .checked_sub(jiff::SignedDuration::from_secs(STALE_AFTER_SECS))
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
        )
        .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string();
        let now = self.now();
        let r = sqlx::query(
            "UPDATE simulation_runs SET status = 'failed', error = $1, finished_at = $2 WHERE status IN ('queued', 'running') AND heartbeat_at < $3",
        )
        .bind(STALE_ERROR)
        .bind(&now)
        .bind(&cutoff)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// The runs `actor` may see, newest first, without their results: all of them for staff of
    /// the whole platform, those run within the same jurisdiction otherwise.
    pub async fn simulation_runs(&self, actor: &Actor, limit: i64) -> Result<Vec<SimulationRun>> {
        if !actor.role.may(Access::Simulate) {
            return Err(forbidden(actor));
        }
        self.fail_stale_simulations().await?;
        let rows = match &actor.jurisdiction {
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM simulation_runs ORDER BY seq DESC LIMIT $1"
                )))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            Some(j) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM simulation_runs WHERE jurisdiction = $1 ORDER BY seq DESC LIMIT $2"
                )))
                .bind(j.clone())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(|r| run_of(r, None)).collect()
    }

    /// One run with its result; `NotFound` for a run `actor` may not see.
    pub async fn simulation_run(&self, actor: &Actor, id: &str) -> Result<SimulationRun> {
        if !actor.role.may(Access::Simulate) {
            return Err(forbidden(actor));
        }
        self.fail_stale_simulations().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS}, result FROM simulation_runs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("测算 simulation {id}")))?;
        let run = run_of(&row, row.get(13))?;
        if actor.jurisdiction.is_some() && run.jurisdiction != actor.jurisdiction {
            return Err(StoreError::NotFound(format!("测算 simulation {id}")));
        }
        Ok(run)
    }

    /// Stops a queued or running run: marked `stopped` with the progress it reached and who
    /// stopped it. Its runner notices at its next progress step and ends without a result.
    /// Only the person who started it or an admin; `not_running` for a run already over.
    pub async fn stop_simulation(&self, actor: &Actor, name: &str, id: &str) -> Result<()> {
        let run = self.simulation_run(actor, id).await?;
        owner_or_admin(actor, &run.created_by, "停止测算")?;
        let now = self.now();
        let r = sqlx::query(
            "UPDATE simulation_runs SET status = 'stopped', stopped_by_name = $1, heartbeat_at = $2, finished_at = $3 WHERE id = $4 AND status IN ('queued', 'running')",
        )
        .bind(name)
        .bind(&now)
        .bind(&now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Refused {
                code: "not_running",
                message: format!("测算 {id} 已结束,无需停止 (the run is over: nothing to stop)"),
            });
        }
        Ok(())
    }

    /// Keeps an uploaded population (checked by the caller against the library); returns it.
    pub async fn add_simulation_population(
        &self,
        actor: &Actor,
        uploader: &str,
        p: &NewPopulation<'_>,
    ) -> Result<UploadedPopulation> {
        if !actor.role.may(Access::Simulate) {
            return Err(forbidden(actor));
        }
        let id = format!(
            "PP{}-{:08X}",
            self.today().year(),
            crate::workflow::rand_u32()
        );
        sqlx::query(
            "INSERT INTO simulation_populations (id, seq, name, format, size, sha256, applicants, events, row_count, jurisdiction, uploaded_by, uploaded_by_name, uploaded_at, data) \
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM simulation_populations), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&id)
        .bind(p.name)
        .bind(p.format)
        .bind(p.bytes.len() as i64)
        .bind(crate::materials::sha256_hex(p.bytes))
        .bind(p.applicants)
        .bind(p.events)
        .bind(p.rows)
        .bind(actor.jurisdiction.clone())
        .bind(&actor.id)
        .bind(uploader)
        .bind(self.now())
        .bind(p.bytes.to_vec())
        .execute(&self.pool)
        .await?;
        self.simulation_population(actor, &id).await
    }

    /// The uploaded populations `actor` may use, newest first: all for staff of the whole
    /// platform, those uploaded within the same jurisdiction otherwise.
    pub async fn simulation_populations(&self, actor: &Actor) -> Result<Vec<UploadedPopulation>> {
        if !actor.role.may(Access::Simulate) {
            return Err(forbidden(actor));
        }
        let rows = match &actor.jurisdiction {
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {POPULATION_COLUMNS} FROM simulation_populations ORDER BY seq DESC"
                )))
                .fetch_all(&self.pool)
                .await?
            }
            Some(j) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {POPULATION_COLUMNS} FROM simulation_populations WHERE jurisdiction = $1 ORDER BY seq DESC"
                )))
                .bind(j.clone())
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows.iter().map(population_of).collect())
    }

    /// One uploaded population; `NotFound` for one `actor` may not use.
    pub async fn simulation_population(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<UploadedPopulation> {
        if !actor.role.may(Access::Simulate) {
            return Err(forbidden(actor));
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {POPULATION_COLUMNS} FROM simulation_populations WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("测算总体 population {id}")))?;
        let p = population_of(&row);
        if actor.jurisdiction.is_some() && p.jurisdiction != actor.jurisdiction {
            return Err(StoreError::NotFound(format!("测算总体 population {id}")));
        }
        Ok(p)
    }

    /// An uploaded population with its bytes, for a run.
    pub async fn simulation_population_data(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<(UploadedPopulation, Vec<u8>)> {
        let p = self.simulation_population(actor, id).await?;
        let data: Vec<u8> = sqlx::query("SELECT data FROM simulation_populations WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?
            .get(0);
        Ok((p, data))
    }

    /// Deletes an uploaded population: the person who uploaded it or an admin. Runs made over
    /// it keep their results (they name the file).
    pub async fn delete_simulation_population(&self, actor: &Actor, id: &str) -> Result<()> {
        let p = self.simulation_population(actor, id).await?;
        owner_or_admin(actor, &p.uploaded_by, "删除测算总体")?;
        sqlx::query("DELETE FROM simulation_populations WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

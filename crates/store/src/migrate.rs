//! Migrations: one ordered list per backend, embedded in the binary, applied in a
//! transaction each and recorded in `kc_migrations`. Append-only: a shipped migration is never
//! edited; a change is a new one.

use crate::{Backend, Result, Store, StoreError};
use sqlx::Row;

const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "core",
        include_str!("../migrations/sqlite/0001_core.sql"),
    ),
    (
        2,
        "sessions",
        include_str!("../migrations/sqlite/0002_sessions.sql"),
    ),
    (
        3,
        "plan_records",
        include_str!("../migrations/sqlite/0003_plan_records.sql"),
    ),
    (
        4,
        "login_throttle",
        include_str!("../migrations/sqlite/0004_login_throttle.sql"),
    ),
    (
        5,
        "notifications_seen",
        include_str!("../migrations/sqlite/0005_notifications_seen.sql"),
    ),
    (
        6,
        "public_objections",
        include_str!("../migrations/sqlite/0006_public_objections.sql"),
    ),
    (
        7,
        "materials",
        include_str!("../migrations/sqlite/0007_materials.sql"),
    ),
    (
        8,
        "jurisdictions",
        include_str!("../migrations/sqlite/0008_jurisdictions.sql"),
    ),
    (
        9,
        "organisations",
        include_str!("../migrations/sqlite/0009_organisations.sql"),
    ),
    (
        10,
        "market",
        include_str!("../migrations/sqlite/0010_market.sql"),
    ),
    (
        11,
        "simulation_runs",
        include_str!("../migrations/sqlite/0011_simulation_runs.sql"),
    ),
    (
        12,
        "library_versions",
        include_str!("../migrations/sqlite/0012_library_versions.sql"),
    ),
    (
        13,
        "simulation_populations",
        include_str!("../migrations/sqlite/0013_simulation_populations.sql"),
    ),
];
const POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "core",
        include_str!("../migrations/postgres/0001_core.sql"),
    ),
    (
        2,
        "sessions",
        include_str!("../migrations/postgres/0002_sessions.sql"),
    ),
    (
        3,
        "plan_records",
        include_str!("../migrations/postgres/0003_plan_records.sql"),
    ),
    (
        4,
        "login_throttle",
        include_str!("../migrations/postgres/0004_login_throttle.sql"),
    ),
    (
        5,
        "notifications_seen",
        include_str!("../migrations/postgres/0005_notifications_seen.sql"),
    ),
    (
        6,
        "public_objections",
        include_str!("../migrations/postgres/0006_public_objections.sql"),
    ),
    (
        7,
        "materials",
        include_str!("../migrations/postgres/0007_materials.sql"),
    ),
    (
        8,
        "jurisdictions",
        include_str!("../migrations/postgres/0008_jurisdictions.sql"),
    ),
    (
        9,
        "organisations",
        include_str!("../migrations/postgres/0009_organisations.sql"),
    ),
    (
        10,
        "market",
        include_str!("../migrations/postgres/0010_market.sql"),
    ),
    (
        11,
        "simulation_runs",
        include_str!("../migrations/postgres/0011_simulation_runs.sql"),
    ),
    (
        12,
        "library_versions",
        include_str!("../migrations/postgres/0012_library_versions.sql"),
    ),
    (
        13,
        "simulation_populations",
        include_str!("../migrations/postgres/0013_simulation_populations.sql"),
    ),
];

/// The migrations of a backend: (version, name).
pub fn known(backend: Backend) -> Vec<(i64, &'static str)> {
    let list = if backend == Backend::Sqlite {
        SQLITE
    } else {
        POSTGRES
    };
    list.iter().map(|(v, n, _)| (*v, *n)).collect()
}

pub(crate) async fn run(store: &Store) -> Result<()> {
    // `CREATE TABLE IF NOT EXISTS` itself races on PostgreSQL (two creators, one unique
    // violation in the catalogue): the whole run is serialised between processes.
    let lock = store.startup_lock().await?;
    run_locked(store).await?;
    lock.release().await
}

async fn run_locked(store: &Store) -> Result<()> {
    let pool = store.pool();
    sqlx::query("CREATE TABLE IF NOT EXISTS kc_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        .execute(pool)
        .await?;
    let list = if store.backend() == Backend::Sqlite {
        SQLITE
    } else {
        POSTGRES
    };
    for (version, name, sql) in list {
        let mut tx = pool.begin().await?;
        // Two processes may start at once on one PostgreSQL: the first applies, the second
        // waits on the lock and then sees the version recorded.
        if store.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(4242424242)")
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("SELECT version FROM kc_migrations WHERE version = $1")
            .bind(*version)
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_some() {
            tx.rollback().await?;
            continue;
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                StoreError::Invalid(format!("migration {version} ({name}) failed: {e}"))
            })?;
        sqlx::query("INSERT INTO kc_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(*version)
            .bind(*name)
            .bind(store.now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Applied migration versions, ascending.
pub async fn applied(store: &Store) -> Result<Vec<i64>> {
    let rows = sqlx::query("SELECT version FROM kc_migrations ORDER BY version")
        .fetch_all(store.pool())
        .await?;
    Ok(rows.iter().map(|r| r.get::<i64, _>(0)).collect())
}

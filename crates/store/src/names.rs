//! Names for the identifiers rows carry: an applicant's name for its 统一社会信用代码, an event's
//! kind, date and body for its id. Pages show these instead of codes (issue 10); the rows keep
//! their ids, so this is a lookup beside them, not a change to what a row is.

use crate::{Result, Store, StoreError};
use serde_json::Value as J;
use sqlx::Row;
use std::collections::BTreeMap;

/// A stored event as a page describes it.
#[derive(Clone, Debug)]
pub struct EventLine {
    pub id: String,
    pub applicant_id: String,
    pub kind: String,
    pub date: String,
    /// The event object of kechuang/eval-input/v1.
    pub body: J,
}

/// How many ids go into one `IN (…)`: well under SQLite's and PostgreSQL's parameter limits.
const CHUNK: usize = 400;

fn distinct<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut v: Vec<String> = ids.into_iter().map(str::to_string).collect();
    v.sort();
    v.dedup();
    v
}

fn in_list(n: usize) -> String {
    (1..=n)
        .map(|k| format!("${k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// The names of the given applicants, by id. Unknown ids are absent from the map.
    pub async fn applicant_names<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for chunk in distinct(ids).chunks(CHUNK) {
            let sql = format!(
                "SELECT id, name FROM applicants WHERE id IN ({})",
                in_list(chunk.len())
            );
            // Only numbered placeholders are formatted in; the ids are bound.
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for r in q.fetch_all(&self.pool).await? {
                out.insert(r.get::<String, _>(0), r.get::<String, _>(1));
            }
        }
        Ok(out)
    }

    /// The given events, by id. Unknown ids are absent from the map.
    pub async fn event_lines<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<BTreeMap<String, EventLine>> {
        let mut out = BTreeMap::new();
        for chunk in distinct(ids).chunks(CHUNK) {
            let sql = format!(
                "SELECT id, applicant_id, kind, date, body FROM events WHERE id IN ({})",
                in_list(chunk.len())
            );
            // Only numbered placeholders are formatted in; the ids are bound.
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for r in q.fetch_all(&self.pool).await? {
                let body: String = r.get(4);
                let line = EventLine {
                    id: r.get(0),
                    applicant_id: r.get(1),
                    kind: r.get(2),
                    date: r.get(3),
                    body: serde_json::from_str(&body)
                        .map_err(|e| StoreError::Invalid(format!("stored event body: {e}")))?,
                };
                out.insert(line.id.clone(), line);
            }
        }
        Ok(out)
    }
}

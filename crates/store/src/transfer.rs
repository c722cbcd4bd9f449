//! Data in and out: import of applicants and events from tables (CSV/xlsx rows), all or
//! nothing; export of applications and the ledger as tables; a portable backup (JSON lines,
//! the same on both databases) and its restore into an empty database.
//!
//! Import validates every row before it writes anything, and then writes every row in one
//! transaction: a bad row means nothing is imported, and the error names the row and column;
//! a process killed mid-import leaves the database as it was.

use crate::{Actor, Backend, Result, Store, StoreError};
use kc_check::ir::Type;
use kc_domain::from_fen;
use serde_json::{Map, Value as J, json};
use sqlx::Row;

/// A table as read from a file: headers and (row number, cells).
pub struct Rows<'a> {
    pub headers: &'a [String],
    pub rows: &'a [(usize, Vec<String>)],
}

/// One problem found in an import file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub file: String,
    pub row: usize,
    pub column: String,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: 第{}行 row {}, 列 column “{}”: {}",
            self.file, self.row, self.row, self.column, self.message
        )
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub applicants: usize,
    pub events: usize,
    /// 免申即享 offers created by the imported events.
    pub offers: usize,
}

const MAX_REPORTED: usize = 50;

fn cell_json(ty: Type, cell: &str) -> std::result::Result<J, String> {
    Ok(match ty {
        Type::Int => json!(
            cell.parse::<i64>()
                .map_err(|_| format!("“{cell}” is not a whole number"))?
        ),
        Type::Bool => match cell.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "是" | "y" => json!(true),
            "false" | "0" | "no" | "否" | "n" => json!(false),
            _ => return Err(format!("“{cell}” is not yes/no (是/否, true/false, 1/0)")),
        },
        _ => json!(cell),
    })
}

/// The column a JSON path of kc-wire points at, in our table layout.
fn column_of(path: &str) -> String {
    let p = path.trim_start_matches("$.");
    let p = p.strip_prefix("applicant.").unwrap_or(p);
    let p = match p.strip_prefix("events[") {
        Some(rest) => rest.split_once("].").map(|(_, f)| f).unwrap_or(rest),
        None => p,
    };
    if p.starts_with("certifications") {
        return "certifications".into();
    }
    p.to_string()
}

impl Store {
    /// The JSON object of one applicant row, and every problem of its cells (a bad cell is
    /// left out of the object and reported). Unknown columns are reported once per file by
    /// `header_problems`, not here.
    fn applicant_row(&self, headers: &[String], cells: &[String]) -> (J, Vec<(String, String)>) {
        let lib = self.library();
        let v = &lib.vocab;
        let mut obj = Map::new();
        let mut figures: Map<String, J> = Map::new();
        let mut errors = Vec::new();
        for (h, c) in headers.iter().zip(cells) {
            if c.is_empty() {
                continue;
            }
            if h == "id" || h == "name" {
                obj.insert(h.clone(), json!(c));
            } else if h == "certifications" {
                let mut list = Vec::new();
                for part in c.split([';', ';']).map(str::trim).filter(|p| !p.is_empty()) {
                    match part.split_once('@') {
                        Some((cert, date)) => {
                            list.push(json!({"cert": cert.trim(), "date": date.trim()}))
                        }
                        None => errors.push((
                            h.clone(),
                            format!(
                                "“{part}”: write certifications as kind@YYYY-MM-DD; kind@YYYY-MM-DD"
                            ),
                        )),
                    }
                }
                obj.insert("certifications".into(), J::Array(list));
            } else if let Some(rest) = h.strip_prefix("figures.") {
                let Some((year, name)) = rest.split_once('.') else {
                    continue; // reported by header_problems
                };
                let ty = v
                    .figure_by_name(name)
                    .map(|f| v.figures[f].ty)
                    .unwrap_or(Type::Text);
                match cell_json(ty, c) {
                    Ok(val) => {
                        figures.entry(year.to_string()).or_insert_with(|| json!({}))[name] = val
                    }
                    Err(m) => errors.push((h.clone(), m)),
                }
            } else if let Some(f) = v.applicant.iter().find(|f| &f.name == h) {
                match cell_json(f.ty, c) {
                    Ok(val) => {
                        obj.insert(h.clone(), val);
                    }
                    Err(m) => errors.push((h.clone(), m)),
                }
            }
        }
        if !figures.is_empty() {
            obj.insert("figures".into(), J::Object(figures));
        }
        (J::Object(obj), errors)
    }

    /// Columns of a file that no row can use: a misspelt header is found even where its
    /// cells are empty. Reported once, on row 1 (the header row).
    fn header_problems(&self, headers: &[String], events: bool) -> Vec<(String, String)> {
        let lib = self.library();
        let v = &lib.vocab;
        let mut out = Vec::new();
        for h in headers {
            let known = if events {
                ["applicant_id", "id", "kind", "date"].contains(&h.as_str())
                    || v.events
                        .iter()
                        .any(|e| e.fields.iter().any(|f| &f.name == h))
            } else {
                ["id", "name", "certifications"].contains(&h.as_str())
                    || v.applicant.iter().any(|f| &f.name == h)
                    || h.strip_prefix("figures.")
                        .and_then(|r| r.split_once('.'))
                        .is_some_and(|(y, n)| {
                            y.parse::<u16>().is_ok() && v.figure_by_name(n).is_some()
                        })
            };
            if !known {
                let hint = if events {
                    "event columns are applicant_id, id, kind, date and the fields of the kind"
                        .to_string()
                } else {
                    let names: Vec<&str> = v.applicant.iter().map(|f| f.name.as_str()).collect();
                    format!(
                        "applicant columns are id, name, {}, certifications, figures.YEAR.NAME",
                        names.join(", ")
                    )
                };
                out.push((h.clone(), format!("未知列 unknown column; {hint}")));
            }
        }
        out
    }

    /// The applicant and JSON object of one event row, and every problem of its cells.
    #[allow(clippy::type_complexity)]
    fn event_row(
        &self,
        headers: &[String],
        cells: &[String],
    ) -> std::result::Result<(String, J, Vec<(String, String)>), Vec<(String, String)>> {
        let lib = self.library();
        let v = &lib.vocab;
        let get = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| cells.get(i))
                .filter(|c| !c.is_empty())
        };
        let mut fatal = Vec::new();
        let applicant = get("applicant_id");
        if applicant.is_none() {
            fatal.push((
                "applicant_id".to_string(),
                "missing: whose event it is".to_string(),
            ));
        }
        let def = match get("kind") {
            None => {
                fatal.push(("kind".to_string(), "missing: the event kind".to_string()));
                None
            }
            Some(kind) => {
                let def = v.events.iter().find(|e| &e.name == kind);
                if def.is_none() {
                    let names: Vec<&str> = v.events.iter().map(|e| e.name.as_str()).collect();
                    fatal.push((
                        "kind".to_string(),
                        format!("unknown event kind “{kind}”; one of: {}", names.join(", ")),
                    ));
                }
                def
            }
        };
        let (Some(applicant), Some(def)) = (applicant, def) else {
            return Err(fatal);
        };
        let mut obj = Map::new();
        let mut errors = Vec::new();
        for (h, c) in headers.iter().zip(cells) {
            if c.is_empty() || h == "applicant_id" {
                continue;
            }
            if h == "id" || h == "kind" || h == "date" {
                obj.insert(h.clone(), json!(c));
                continue;
            }
            match def.fields.iter().find(|f| &f.name == h) {
                Some(f) => match cell_json(f.ty, c) {
                    Ok(val) => {
                        obj.insert(h.clone(), val);
                    }
                    Err(m) => errors.push((h.clone(), m)),
                },
                None => {
                    let names: Vec<&str> = def.fields.iter().map(|f| f.name.as_str()).collect();
                    errors.push((
                        h.clone(),
                        format!(
                            "not a field of event kind {} (fields: {})",
                            def.name,
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok((applicant.clone(), J::Object(obj), errors))
    }

    /// Checks a row as a whole again and again: after each problem the offending value is
    /// replaced by a harmless one (a required field) or dropped, so one bad cell does not hide
    /// the next. Columns already reported are not reported twice.
    fn every_problem<T>(
        &self,
        mut obj: J,
        reported: &mut Vec<String>,
        check: impl Fn(&J) -> std::result::Result<T, (String, String)>,
    ) -> (Option<T>, Vec<(String, String)>) {
        let lib = self.library();
        let v = &lib.vocab;
        let mut found = Vec::new();
        for _ in 0..20 {
            match check(&obj) {
                Ok(t) => return (Some(t), found),
                Err((column, message)) => {
                    if reported.contains(&column) {
                        break;
                    }
                    reported.push(column.clone());
                    found.push((column.clone(), message));
                    let stand_in = match column.as_str() {
                        "id" => json!("91210112MA0XK8R34Y"),
                        "name" => json!("-"),
                        "date" => json!("2000-01-01"),
                        "kind" if obj.get("region").is_some() => {
                            json!(v.enums[v.applicant_kind].members[0].name)
                        }
                        "region" => json!(v.enums[v.region].members[0].name),
                        _ => J::Null,
                    };
                    let Some(o) = obj.as_object_mut() else { break };
                    let top = column.split('.').next().unwrap_or(&column).to_string();
                    if stand_in.is_null() {
                        if o.remove(&top).is_none() {
                            break;
                        }
                    } else {
                        o.insert(column, stand_in);
                    }
                }
            }
        }
        (None, found)
    }

    /// Validates every row of both tables; returns the JSON objects or every problem found
    /// (the first `MAX_REPORTED`), each naming its file, row and column.
    #[allow(clippy::type_complexity)]
    pub fn validate_import(
        &self,
        applicants: Option<(&str, Rows)>,
        events: Option<(&str, Rows)>,
    ) -> std::result::Result<(Vec<J>, Vec<(String, J)>), Vec<RowError>> {
        let mut errors = Vec::new();
        let mut profiles = Vec::new();
        let mut seen_ids = std::collections::HashSet::new();
        let push =
            |errors: &mut Vec<RowError>, file: &str, row: usize, found: Vec<(String, String)>| {
                for (column, message) in found {
                    errors.push(RowError {
                        file: file.into(),
                        row,
                        column,
                        message,
                    });
                }
            };
        let split = |text: String| -> (String, String) {
            let (path, msg) = text.split_once(": ").unwrap_or(("$", &text));
            (column_of(path), msg.to_string())
        };
        if let Some((file, t)) = applicants {
            push(&mut errors, file, 1, self.header_problems(t.headers, false));
            for (row, cells) in t.rows {
                let (p, cell_errors) = self.applicant_row(t.headers, cells);
                let mut reported: Vec<String> = cell_errors.iter().map(|e| e.0.clone()).collect();
                push(&mut errors, file, *row, cell_errors);
                let (ok, found) = self.every_problem(p.clone(), &mut reported, |obj| {
                    self.validate_applicant(obj)
                        .map(|(id, ..)| id)
                        .map_err(|e| split(e.to_string()))
                });
                let clean = found.is_empty();
                push(&mut errors, file, *row, found);
                if let (Some(id), true) = (ok, clean) {
                    if !seen_ids.insert(id.clone()) {
                        errors.push(RowError {
                            file: file.into(),
                            row: *row,
                            column: "id".into(),
                            message: format!("applicant {id} appears twice in this file"),
                        });
                    }
                    profiles.push(p);
                }
                if errors.len() >= MAX_REPORTED {
                    errors.truncate(MAX_REPORTED);
                    return Err(errors);
                }
            }
        }
        let mut evs = Vec::new();
        if let Some((file, t)) = events {
            push(&mut errors, file, 1, self.header_problems(t.headers, true));
            let placeholder = {
                let lib = self.library();
                let v = &lib.vocab;
                json!({"kind": v.enums[v.applicant_kind].members[0].name, "region": v.enums[v.region].members[0].name})
            };
            let mut seen = std::collections::HashSet::new();
            for (row, cells) in t.rows {
                match self.event_row(t.headers, cells) {
                    Ok((applicant, ev, cell_errors)) => {
                        let mut reported: Vec<String> =
                            cell_errors.iter().map(|e| e.0.clone()).collect();
                        push(&mut errors, file, *row, cell_errors);
                        let (ok, found) = self.every_problem(ev.clone(), &mut reported, |obj| {
                            let doc = json!({"schema": kc_wire::INPUT_SCHEMA, "as_of": "2000-01-01", "applicant": placeholder, "events": [obj]});
                            kc_wire::parse_input(&self.library(), &doc.to_string(), None)
                                .map(|_| ())
                                .map_err(|e| (column_of(&e.path), e.message))
                        });
                        let clean = found.is_empty() && reported.is_empty();
                        push(&mut errors, file, *row, found);
                        if ok.is_some() && clean {
                            let id = ev["id"].as_str().unwrap_or("").to_string();
                            if !seen.insert(id.clone()) {
                                errors.push(RowError {
                                    file: file.into(),
                                    row: *row,
                                    column: "id".into(),
                                    message: format!("event id {id} appears twice in this file"),
                                });
                            }
                            evs.push((applicant, ev));
                        }
                    }
                    Err(found) => push(&mut errors, file, *row, found),
                }
                if errors.len() >= MAX_REPORTED {
                    errors.truncate(MAX_REPORTED);
                    return Err(errors);
                }
            }
        }
        if errors.is_empty() {
            Ok((profiles, evs))
        } else {
            Err(errors)
        }
    }

    /// Writes validated rows in one transaction: applicants first, then events (with their
    /// 免申即享 offers). `progress(done, total)` is called after each row.
    pub async fn import(
        &self,
        actor: &Actor,
        profiles: &[J],
        events: &[(String, J)],
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<ImportReport> {
        let total = profiles.len() + events.len();
        let mut tx = self.begin_write(&["import".to_string()]).await?;
        let mut report = ImportReport::default();
        let mut done = 0;
        for p in profiles {
            self.upsert_applicant_in(&mut tx, actor, p).await?;
            report.applicants += 1;
            done += 1;
            progress(done, total);
            self.pause_point().await;
        }
        for (applicant, ev) in events {
            let id = self
                .add_event_in(&mut tx, actor, applicant, ev)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound(m) => StoreError::Invalid(format!(
                        "event {}: {m} (import the applicant first)",
                        ev["id"]
                    )),
                    other => other,
                })?;
            report.offers += self
                .offers_for_event_in(&mut tx, actor, applicant, &id)
                .await?
                .len();
            report.events += 1;
            done += 1;
            progress(done, total);
            self.pause_point().await;
        }
        tx.commit().await?;
        Ok(report)
    }

    pub(crate) async fn pause_point(&self) {
        if let Some(p) = self.pause {
            tokio::time::sleep(p).await;
        }
    }

    /// Applications as a table for export.
    pub async fn applications_table(&self) -> Result<(Vec<&'static str>, Vec<Vec<String>>)> {
        self.applications_table_in(None).await
    }

    /// The regions an export covers for an actor: `jurisdiction` (one inside the actor's
    /// own, for a city's export of one district) or the actor's own scope; `None` everything.
    pub fn export_scope(
        &self,
        actor: &Actor,
        jurisdiction: Option<&str>,
    ) -> Result<Option<Vec<String>>> {
        let Some(j) = jurisdiction else {
            return Ok(self.scope_regions(actor));
        };
        self.check_jurisdiction(j)?;
        if let Some(own) = &actor.jurisdiction
            && !self.jurisdictions().contains(own, j)
        {
            return Err(StoreError::Refused {
                code: "forbidden",
                message: format!(
                    "{}不在{}辖区内 (outside your jurisdiction)",
                    self.jurisdictions().zh(j),
                    self.jurisdictions().zh(own)
                ),
            });
        }
        Ok(Some(
            self.jurisdictions()
                .within(j)
                .into_iter()
                .map(str::to_string)
                .collect(),
        ))
    }

    /// Applications of the applicants located in `regions` (all where `None`) as a table.
    pub async fn applications_table_in(
        &self,
        regions: Option<&[String]>,
    ) -> Result<(Vec<&'static str>, Vec<Vec<String>>)> {
        let filter = regions.map_or(String::new(), |r| {
            format!(
                "WHERE p.region IN ({})",
                crate::jurisdictions::in_params(1, r.len())
            )
        });
        let sql = format!(
            "SELECT a.id, a.applicant_id, p.name, a.measure, a.event_id, a.origin, a.state, a.computed_fen, a.amount_kind, a.approved_fen, \
                    a.reason, a.missing, a.notice_until, a.created_at, a.updated_at \
             FROM applications a JOIN applicants p ON p.id = a.applicant_id {filter} ORDER BY a.created_at, a.id"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in regions.into_iter().flatten() {
            q = q.bind(r.clone());
        }
        let rows = q.fetch_all(&self.pool).await?;
        let headers = vec![
            "申请编号 id",
            "统一社会信用代码 applicant",
            "名称 name",
            "措施 measure",
            "措施名称 title",
            "文件 document",
            "条款 clause",
            "事件 event",
            "来源 origin",
            "状态 state",
            "计算金额 computed",
            "金额类型 kind",
            "批准金额 approved",
            "理由 reason",
            "补正材料 missing",
            "公示期满 notice_until",
            "创建 created",
            "更新 updated",
        ];
        let fen = |v: Option<i64>| v.map(|f| from_fen(f).plain()).unwrap_or_default();
        let out = rows
            .iter()
            .map(|r| {
                let measure: String = r.get(3);
                let (title, doc, clause) = match self.library().measure(&measure) {
                    Some(m) => (
                        m.label.zh.clone(),
                        self.library().documents[m.doc].number.clone(),
                        m.clause.id.clone(),
                    ),
                    None => Default::default(),
                };
                let state: String = r.get(6);
                let state_zh = kc_domain::AppState::parse(&state)
                    .map(|s| format!("{} {state}", s.zh()))
                    .unwrap_or(state);
                vec![
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    measure,
                    title,
                    doc,
                    clause,
                    r.get(4),
                    r.get(5),
                    state_zh,
                    fen(r.get(7)),
                    r.get::<Option<String>, _>(8).unwrap_or_default(),
                    fen(r.get(9)),
                    r.get::<Option<String>, _>(10).unwrap_or_default(),
                    r.get::<Option<String>, _>(11).unwrap_or_default(),
                    r.get::<Option<String>, _>(12).unwrap_or_default(),
                    r.get(13),
                    r.get(14),
                ]
            })
            .collect();
        Ok((headers, out))
    }

    /// The ledger as a table for export (every row, in order).
    pub async fn ledger_table(&self) -> Result<(Vec<&'static str>, Vec<Vec<String>>)> {
        self.ledger_table_in(None).await
    }

    /// The ledger rows of the applicants located in `regions` (all where `None`), in order.
    pub async fn ledger_table_in(
        &self,
        regions: Option<&[String]>,
    ) -> Result<(Vec<&'static str>, Vec<Vec<String>>)> {
        let filter = regions.map_or(String::new(), |r| {
            format!(
                "WHERE applicant_id IN (SELECT id FROM applicants WHERE region IN ({}))",
                crate::jurisdictions::in_params(1, r.len())
            )
        });
        let sql = format!(
            "SELECT seq, application_id, applicant_id, measure, entry, level, budget_year, amount_fen, event_date, activity, item, base_fen, actor, at, payer \
             FROM ledger {filter} ORDER BY seq"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in regions.into_iter().flatten() {
            q = q.bind(r.clone());
        }
        let rows = q.fetch_all(&self.pool).await?;
        let headers = vec![
            "序号 seq",
            "申请 application",
            "申报主体 applicant",
            "措施 measure",
            "类型 entry",
            "承担级次 level",
            "预算年度 year",
            "金额(元) amount",
            "事件日期 event_date",
            "活动 activity",
            "项目 item",
            "基数 base",
            "操作人 actor",
            "时间 at",
            "承担方 payer",
        ];
        let out = rows
            .iter()
            .map(|r| {
                vec![
                    r.get::<i64, _>(0).to_string(),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get::<i64, _>(6).to_string(),
                    from_fen(r.get(7)).plain(),
                    r.get(8),
                    r.get::<Option<String>, _>(9).unwrap_or_default(),
                    r.get::<Option<String>, _>(10).unwrap_or_default(),
                    r.get::<Option<i64>, _>(11)
                        .map(|b| from_fen(b).plain())
                        .unwrap_or_default(),
                    r.get(12),
                    r.get(13),
                    r.get::<Option<String>, _>(14).unwrap_or_default(),
                ]
            })
            .collect();
        Ok((headers, out))
    }
}

/// Columns added to a table after backups of it were first written (migration 0008), last in
/// its list: a row of an older backup without them restores with their defaults.
const ADDED_COLUMNS: &[(&str, usize)] = &[
    ("applications", 2),
    ("ledger", 1),
    ("budgets", 1),
    ("users", 1),
];

/// Tables in a backup, in an order that respects foreign keys; `true` marks integer columns.
const TABLES: &[(&str, &[(&str, bool)])] = &[
    (
        "applicants",
        &[
            ("id", false),
            ("name", false),
            ("kind", false),
            ("region", false),
            ("profile", false),
            ("created_at", false),
            ("updated_at", false),
        ],
    ),
    (
        "events",
        &[
            ("id", false),
            ("applicant_id", false),
            ("kind", false),
            ("date", false),
            ("body", false),
            ("created_at", false),
        ],
    ),
    (
        "applications",
        &[
            ("id", false),
            ("applicant_id", false),
            ("measure", false),
            ("event_id", false),
            ("activity", false),
            ("origin", false),
            ("state", false),
            ("computed_fen", true),
            ("amount_kind", false),
            ("approved_fen", true),
            ("reason", false),
            ("missing", false),
            ("notice_until", false),
            ("created_at", false),
            ("updated_at", false),
            ("review_stage", true),
            ("recommended_fen", true),
        ],
    ),
    (
        "ledger",
        &[
            ("seq", true),
            ("application_id", false),
            ("applicant_id", false),
            ("measure", false),
            ("entry", false),
            ("level", false),
            ("budget_year", true),
            ("amount_fen", true),
            ("event_date", false),
            ("activity", false),
            ("item", false),
            ("base_fen", true),
            ("actor", false),
            ("at", false),
            ("payer", false),
        ],
    ),
    (
        "budgets",
        &[
            ("measure", false),
            ("budget_year", true),
            ("level", false),
            ("amount_fen", true),
            ("jurisdiction", false),
        ],
    ),
    (
        "users",
        &[
            ("id", false),
            ("name", false),
            ("role", false),
            ("applicant_id", false),
            ("password_hash", false),
            ("created_at", false),
            ("jurisdiction", false),
        ],
    ),
    (
        "memberships",
        &[
            ("user_id", false),
            ("applicant_id", false),
            ("is_admin", true),
            ("added_by", false),
            ("added_at", false),
        ],
    ),
    (
        "staff_accounts",
        &[("user_id", false), ("staff_id", false), ("is_admin", true)],
    ),
    (
        "plan_actuals",
        &[
            ("seq", true),
            ("indicator", false),
            ("value", false),
            ("date", false),
            ("source", false),
            ("actor", false),
            ("at", false),
        ],
    ),
    (
        "plan_progress",
        &[
            ("seq", true),
            ("task", false),
            ("year", true),
            ("done", false),
            ("source", false),
            ("actor", false),
            ("at", false),
        ],
    ),
    (
        "public_objections",
        &[
            ("id", false),
            ("application_id", false),
            ("name", false),
            ("contact", false),
            ("reason", false),
            ("at", false),
        ],
    ),
    (
        "application_terms",
        &[
            ("application_id", false),
            ("account_name", false),
            ("bank", false),
            ("account_no", false),
            ("pledge_text", false),
            ("pledged_by", false),
            ("pledged_at", false),
            ("updated_by", false),
            ("updated_at", false),
        ],
    ),
    (
        "material_requests",
        &[
            ("id", false),
            ("application_id", false),
            ("round", true),
            ("seq", true),
            ("item", false),
            ("requested_by", false),
            ("requested_at", false),
            ("answer", false),
            ("answered_by", false),
            ("answered_at", false),
        ],
    ),
    (
        "attachments",
        &[
            ("id", false),
            ("application_id", false),
            ("kind", false),
            ("request_id", false),
            ("filename", false),
            ("content_type", false),
            ("size", true),
            ("sha256", false),
            ("data", false),
            ("uploaded_by", false),
            ("uploaded_at", false),
        ],
    ),
    (
        "market_listings",
        &[
            ("id", false),
            ("side", false),
            ("owner_applicant_id", false),
            ("owner_name", false),
            ("region", false),
            ("field", false),
            ("title", false),
            ("body", false),
            ("review", false),
            ("review_note", false),
            ("status", false),
            ("created_by", false),
            ("created_at", false),
            ("updated_at", false),
            ("seq", true),
        ],
    ),
    (
        "market_fairs",
        &[
            ("id", false),
            ("name", false),
            ("held_on", false),
            ("region", false),
            ("created_by", false),
            ("created_at", false),
            ("matched_at", false),
        ],
    ),
    (
        "market_fair_listings",
        &[("fair_id", false), ("listing_id", false)],
    ),
    (
        "market_fair_pairs",
        &[
            ("fair_id", false),
            ("demand_id", false),
            ("achievement_id", false),
            ("score_milli", true),
            ("reasons", false),
            ("outcome", false),
            ("outcome_note", false),
            ("recorded_by", false),
            ("recorded_at", false),
        ],
    ),
    (
        "tech_contracts",
        &[
            ("reg_no", false),
            ("contract_type", false),
            ("title", false),
            ("seller_id", false),
            ("seller_name", false),
            ("seller_region", false),
            ("buyer_id", false),
            ("buyer_name", false),
            ("buyer_region", false),
            ("broker_id", false),
            ("achievement_id", false),
            ("demand_id", false),
            ("item", false),
            ("amount_fen", true),
            ("tech_amount_fen", true),
            ("signed_on", false),
            ("registered_on", false),
            ("institution_id", false),
            ("event_id", false),
            ("created_by", false),
            ("created_at", false),
        ],
    ),
    (
        "market_services",
        &[
            ("id", false),
            ("institution_id", false),
            ("name", false),
            ("category", false),
            ("description", false),
            ("active", true),
            ("created_by", false),
            ("created_at", false),
        ],
    ),
    (
        "vouchers",
        &[
            ("id", false),
            ("applicant_id", false),
            ("quota_year", true),
            ("quota_fen", true),
            ("valid_until", false),
            ("issued_by", false),
            ("issued_at", false),
        ],
    ),
    (
        "voucher_orders",
        &[
            ("id", false),
            ("voucher_id", false),
            ("service_id", false),
            ("institution_id", false),
            ("amount_fen", true),
            ("state", false),
            ("contract_no", false),
            ("receipt_no", false),
            ("ordered_at", false),
            ("redeemed_on", false),
            ("created_by", false),
        ],
    ),
    (
        "market_relations",
        &[
            ("a", false),
            ("b", false),
            ("note", false),
            ("declared_by", false),
            ("declared_at", false),
        ],
    ),
    // The library versions (migration 0012): drafts and published versions with their files,
    // the active pointer, and the version each decided application was decided under.
    (
        "library_versions",
        &[
            ("id", true),
            ("state", false),
            ("title", false),
            ("base", true),
            ("hash", false),
            ("drafted_by", false),
            ("drafted_by_name", false),
            ("created_at", false),
            ("updated_at", false),
            ("submitted_by", false),
            ("submitted_at", false),
            ("approved_by", false),
            ("approved_by_name", false),
            ("published_at", false),
            ("applies_from", false),
            ("returned_reason", false),
        ],
    ),
    (
        "library_files",
        &[("version", true), ("path", false), ("text", false)],
    ),
    ("library_state", &[("id", true), ("active", true)]),
    (
        "application_versions",
        &[
            ("application_id", false),
            ("version", true),
            ("decided_at", false),
        ],
    ),
    // Populations uploaded to the 测算 workspace (migration 0013), with their bytes.
    (
        "simulation_populations",
        &[
            ("id", false),
            ("seq", true),
            ("name", false),
            ("format", false),
            ("size", true),
            ("sha256", false),
            ("applicants", true),
            ("events", true),
            ("row_count", true),
            ("jurisdiction", false),
            ("uploaded_by", false),
            ("uploaded_by_name", false),
            ("uploaded_at", false),
            ("data", false),
        ],
    ),
    (
        "audit",
        &[
            ("seq", true),
            ("at", false),
            ("actor", false),
            ("action", false),
            ("entity", false),
            ("entity_id", false),
            ("before", false),
            ("after", false),
        ],
    ),
];

/// Binary columns (table, column): in a backup, the bytes as one base64 string (standard
/// alphabet, padded). Added with the attachments (migration 0007) and the uploaded populations
/// (0013); older backups have none.
const BLOBS: &[(&str, &str)] = &[("attachments", "data"), ("simulation_populations", "data")];

fn is_blob(table: &str, column: &str) -> bool {
    BLOBS.contains(&(table, column))
}

pub const BACKUP_FORMAT: &str = "kechuang/backup/v1";

/// A restored file (an attachment, an uploaded population) must be the file that was stored:
/// its bytes hash to its `sha256`, and its `size` is their length. A damaged backup is refused,
/// naming the line, before anything is committed.
fn check_attachment(cols: &[(&str, bool)], row: &[J]) -> std::result::Result<(), String> {
    use base64::Engine;
    let at = |c: &str| cols.iter().position(|(n, _)| *n == c).map(|i| &row[i]);
    let id = at("id").and_then(J::as_str).unwrap_or("?");
    let bytes = at("data")
        .and_then(J::as_str)
        .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
        .ok_or_else(|| format!("file {id}: its bytes are missing or not base64"))?;
    if at("sha256").and_then(J::as_str) != Some(crate::materials::sha256_hex(&bytes).as_str()) {
        return Err(format!(
            "file {id}: its bytes do not match its SHA-256 (the backup is damaged)"
        ));
    }
    if at("size").and_then(J::as_i64) != Some(bytes.len() as i64) {
        return Err(format!("file {id}: its size does not match its bytes"));
    }
    Ok(())
}

impl Store {
    /// Every row of every table as JSON lines: a header line, then `{"table": …, "row": […]}`.
    pub async fn backup_lines(&self) -> Result<Vec<String>> {
        let mut out = vec![json!({"format": BACKUP_FORMAT, "at": self.now()}).to_string()];
        // One snapshot for every table, so a backup taken while reviewers work is consistent.
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        for (table, cols) in TABLES {
            let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
            let order = if names.contains(&"seq") {
                "seq"
            } else if *table == "library_files" {
                // Many files per version: the path makes the order total.
                "version, path"
            } else {
                names[0]
            };
            let sql = format!("SELECT {} FROM {table} ORDER BY {order}", names.join(", "));
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut *tx)
                .await?;
            for r in rows {
                let vals: Vec<J> = cols
                    .iter()
                    .enumerate()
                    .map(|(i, (col, int))| {
                        if is_blob(table, col) {
                            use base64::Engine;
                            json!(
                                r.get::<Option<Vec<u8>>, _>(i)
                                    .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
                            )
                        } else if *int {
                            json!(r.get::<Option<i64>, _>(i))
                        } else {
                            json!(r.get::<Option<String>, _>(i))
                        }
                    })
                    .collect();
                out.push(json!({"table": table, "row": vals}).to_string());
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Restores a backup into this database, which must hold no applicants yet; all or nothing.
    /// Rows per table of the backup's tables, in backup order (for `db status`).
    pub async fn row_counts(&self) -> Result<Vec<(&'static str, i64)>> {
        let mut out = Vec::new();
        for (table, _) in TABLES {
            let n: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&self.pool)
                .await?
                .get(0);
            out.push((*table, n));
        }
        Ok(out)
    }

    pub async fn restore_lines(
        &self,
        lines: &[String],
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<usize> {
        let header: J = lines
            .first()
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or(J::Null);
        if header["format"] != BACKUP_FORMAT {
            return Err(StoreError::Invalid(format!(
                "line 1: not a {BACKUP_FORMAT} file"
            )));
        }
        let mut tx = self.begin_write(&["import".to_string()]).await?;
        // Every table, not only the money: a database started once with `serve --no-demo`
        // already holds its admin account, and the backup brings its own (issue 9).
        let mut held = Vec::new();
        for (table, _) in TABLES {
            let n: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut **tx)
                .await?
                .get(0);
            if n > 0 {
                held.push(format!("{table} {n}"));
            }
        }
        if !held.is_empty() {
            return Err(StoreError::Refused {
                code: "not_empty",
                message: format!(
                    "恢复只能写入空数据库,而此数据库已有数据({})——例如 serve 首次启动时创建的管理员账号。\
                     请恢复到一个新的数据库:kechuang db restore 备份文件 --database 新数据库,\
                     再用 serve --database 新数据库 启动(恢复后使用备份中的账号)。 \
                     (restore needs an empty database; this one holds {}. Restore into a new \
                     database with `kechuang db restore FILE --database NEW` before any `serve` \
                     has started on it, then serve NEW: the backup's accounts come with it.)",
                    held.join(", "),
                    held.join(", ")
                ),
            });
        }
        let total = lines.len() - 1;
        let mut saw_memberships = false;
        for (i, line) in lines.iter().enumerate().skip(1) {
            let v: J = serde_json::from_str(line)
                .map_err(|e| StoreError::Invalid(format!("line {}: {e}", i + 1)))?;
            let table = v["table"].as_str().unwrap_or("");
            saw_memberships |= table == "memberships";
            let (name, cols) = TABLES.iter().find(|(t, _)| *t == table).ok_or_else(|| {
                StoreError::Invalid(format!("line {}: unknown table “{table}”", i + 1))
            })?;
            let added = ADDED_COLUMNS
                .iter()
                .find(|(t, _)| t == name)
                .map_or(0, |(_, n)| *n);
            let row = v["row"]
                .as_array()
                .filter(|r| r.len() <= cols.len() && r.len() + added >= cols.len())
                .ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "line {}: a {table} row has {} values",
                        i + 1,
                        cols.len()
                    ))
                })?;
            // An older backup's row: the columns added since keep their defaults.
            let cols = &cols[..row.len()];
            if BLOBS.iter().any(|(t, _)| t == name) {
                check_attachment(cols, row)
                    .map_err(|m| StoreError::Invalid(format!("line {}: {m}", i + 1)))?;
            }
            let placeholders: Vec<String> = (1..=cols.len()).map(|k| format!("${k}")).collect();
            let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
            let sql = format!(
                "INSERT INTO {name} ({}) VALUES ({})",
                names.join(", "),
                placeholders.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for ((col, int), val) in cols.iter().zip(row) {
                q = if is_blob(name, col) {
                    use base64::Engine;
                    let bytes = match val.as_str() {
                        None => None,
                        Some(t) => Some(
                            base64::engine::general_purpose::STANDARD
                                .decode(t)
                                .map_err(|e| {
                                    StoreError::Invalid(format!(
                                        "line {}: {table}.{col} is not base64: {e}",
                                        i + 1
                                    ))
                                })?,
                        ),
                    };
                    q.bind(bytes)
                } else if *int {
                    q.bind(val.as_i64())
                } else {
                    q.bind(val.as_str().map(str::to_string))
                };
            }
            q.execute(&mut **tx)
                .await
                .map_err(|e| StoreError::Invalid(format!("line {}: {e}", i + 1)))?;
            progress(i, total);
            self.pause_point().await;
        }
        if !saw_memberships {
            // A backup made before memberships (migration 0009): every applicant account
            // becomes its organisation's administrator, as the migration does.
            sqlx::query(
                "INSERT INTO memberships (user_id, applicant_id, is_admin, added_by, added_at) \
                 SELECT id, applicant_id, 1, 'system:migration', created_at FROM users WHERE applicant_id IS NOT NULL",
            )
            .execute(&mut **tx)
            .await?;
        }
        if self.backend == Backend::Postgres {
            for t in ["ledger", "audit", "plan_actuals", "plan_progress"] {
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', 'seq'), COALESCE((SELECT MAX(seq) FROM {t}), 0) + 1, false)"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut **tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(total)
    }

    /// Consistency checks a crash must never break: every application holding a commitment
    /// has a positive net commitment equal to its approved amount, nothing is paid beyond its
    /// commitment, and no application outside those states holds money.
    pub async fn check_consistency(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let rows = sqlx::query(
            "SELECT a.id, a.state, a.approved_fen, \
                    CAST(COALESCE(SUM(CASE WHEN l.entry IN ('commitment', 'reversal') THEN l.amount_fen ELSE 0 END), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(CASE WHEN l.entry = 'payment' THEN l.amount_fen ELSE 0 END), 0) AS BIGINT) \
             FROM applications a LEFT JOIN ledger l ON l.application_id = a.id GROUP BY a.id, a.state, a.approved_fen",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let id: String = r.get(0);
            let state = kc_domain::AppState::parse(&r.get::<String, _>(1));
            let approved: Option<i64> = r.get(2);
            let net: i64 = r.get(3);
            let paid: i64 = r.get(4);
            let holds = state.is_some_and(|s| s.holds_commitment());
            if holds && Some(net) != approved {
                problems.push(format!(
                    "{id}: approved {approved:?} but net commitment {net}"
                ));
            }
            if !holds && net != 0 {
                problems.push(format!("{id}: state {:?} but net commitment {net}", state));
            }
            if paid > net {
                problems.push(format!("{id}: paid {paid} > committed {net}"));
            }
        }
        Ok(problems)
    }
}

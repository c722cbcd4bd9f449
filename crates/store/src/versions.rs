//! Library versions in the database (issue 14, item 1): the policy library the platform
//! evaluates with is a published, immutable version — its literate policy files and scenario
//! files, their hash, who drafted it, who approved it, when it was published and from when it
//! applies. One row of `library_state` names the active version; publishing writes the
//! version and moves that pointer in one transaction.
//!
//! Every process keeps the active library in an [`arc_swap::ArcSwap`]: a request takes one
//! snapshot ([`Store::active`]) and keeps it to the end, so it never sees half a library, and
//! [`Store::refresh_library`] (one indexed read, run by the platform before each request)
//! swaps in a version another process published. Versions are checked once per process and
//! cached by id: a published version never changes.
//!
//! Drafts are edited file by file by a 政策编辑 (`Access::DraftPolicy`), checked
//! ([`check_files`]: the checker's diagnostics with line and column, the scenarios, the
//! coverage gaps), submitted, and published by a second person with `Access::ApprovePolicy`
//! (four eyes: never the drafter or the submitter). A draft with a diagnostic, a failing
//! scenario or a coverage gap can be neither submitted nor published. Every step is audited.

use crate::workflow::refused;
use crate::{Actor, Result, Store, StoreError};
use kc_check::{Library, SourceFile};
use kc_domain::Access;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The library a request evaluates with, and the version it is (`None`: the library the
/// process was started with, before the database held a version).
#[derive(Debug)]
pub struct Active {
    pub version: Option<i64>,
    pub lib: Arc<Library>,
}

/// The process's view of the library versions: the active one, swapped atomically, and the
/// checked versions by id.
pub(crate) struct Libraries {
    active: arc_swap::ArcSwap<Active>,
    checked: Mutex<HashMap<i64, Arc<Library>>>,
}

impl Libraries {
    pub(crate) fn new(lib: Arc<Library>) -> Libraries {
        Libraries {
            active: arc_swap::ArcSwap::from_pointee(Active { version: None, lib }),
            checked: Mutex::new(HashMap::new()),
        }
    }
}

/// Most files a version may hold, and the largest file (bytes): a library is a few dozen
/// documents and a few hundred scenarios.
pub const MAX_FILES: usize = 2_000;
pub const MAX_FILE_BYTES: usize = 2_000_000;

/// One version as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionSummary {
    pub id: i64,
    /// draft, submitted, published, discarded
    pub state: String,
    pub title: String,
    pub base: Option<i64>,
    pub hash: String,
    pub drafted_by: String,
    pub drafted_by_name: String,
    pub created_at: String,
    pub updated_at: String,
    pub submitted_by: Option<String>,
    pub submitted_at: Option<String>,
    pub approved_by: Option<String>,
    pub approved_by_name: Option<String>,
    pub published_at: Option<String>,
    pub applies_from: Option<String>,
    pub returned_reason: Option<String>,
    /// This is the version the platform evaluates with.
    pub active: bool,
}

/// A version with its files (path order).
#[derive(Clone, Debug, Serialize)]
pub struct Version {
    #[serde(flatten)]
    pub summary: VersionSummary,
    pub files: Vec<VersionFile>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionFile {
    pub path: String,
    pub text: String,
}

/// One problem the checker found, where the author sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileProblem {
    pub path: String,
    pub line: usize,
    pub column: usize,
    /// error, warning
    pub severity: String,
    pub message: String,
    pub label: String,
    /// The caret snippet as `kechuang check` prints it.
    pub rendered: String,
}

/// A scenario's result in a draft.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioRun {
    pub path: String,
    pub name: String,
    pub passed: bool,
    pub problems: Vec<String>,
}

/// A clause that names an amount and is neither encoded nor explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CoverageGap {
    pub document: String,
    pub clause: String,
    pub heading: String,
}

/// What the workspace shows of a set of files, and what gates submitting and publishing.
#[derive(Clone, Debug, Serialize)]
pub struct DraftCheck {
    pub diagnostics: Vec<FileProblem>,
    pub scenarios: Vec<ScenarioRun>,
    pub gaps: Vec<CoverageGap>,
    pub measures: usize,
    pub documents: usize,
}

impl DraftCheck {
    /// Nothing stands in the way of publishing: no error or warning, every scenario passes,
    /// no coverage gap, and the library checked.
    pub fn ready(&self) -> bool {
        self.diagnostics.is_empty()
            && self.scenarios.iter().all(|s| s.passed)
            && self.gaps.is_empty()
            && self.documents > 0
    }

    /// Why it cannot be published, in words (Chinese, then English).
    pub fn blockers(&self) -> Vec<String> {
        let mut out = Vec::new();
        let errors = self.diagnostics.len();
        if errors > 0 {
            let first = &self.diagnostics[0];
            out.push(format!(
                "{errors} 条检查诊断,第一条:{} 第{}行第{}列 {} ({errors} diagnostic(s); first at {}:{}:{})",
                first.path,
                first.line,
                first.column,
                first.message,
                first.path,
                first.line,
                first.column
            ));
        }
        let failing: Vec<&ScenarioRun> = self.scenarios.iter().filter(|s| !s.passed).collect();
        if !failing.is_empty() {
            out.push(format!(
                "{} 个测试场景未通过:{} ({} failing scenario(s))",
                failing.len(),
                failing
                    .iter()
                    .take(5)
                    .map(|s| s.path.as_str())
                    .collect::<Vec<_>>()
                    .join("、"),
                failing.len()
            ));
        }
        if !self.gaps.is_empty() {
            out.push(format!(
                "{} 个含金额的条款尚未编码或说明:{} ({} coverage gap(s))",
                self.gaps.len(),
                self.gaps
                    .iter()
                    .take(5)
                    .map(|g| format!("{} {}", g.document, g.clause))
                    .collect::<Vec<_>>()
                    .join("、"),
                self.gaps.len()
            ));
        }
        if self.documents == 0 && self.diagnostics.is_empty() {
            out.push("草稿中没有政策文件 (the draft holds no policy document)".into());
        }
        out
    }
}

/// Which files of a version are policy files and which are scenarios.
pub fn is_policy_file(path: &str) -> bool {
    path.starts_with("policies/") && path.ends_with(".md")
}

pub fn is_scenario_file(path: &str) -> bool {
    path.starts_with("tests/scenarios/") && path.ends_with(".json")
}

/// A file path a version may hold: `policies/NAME.md` or `tests/scenarios/NAME.json`, one
/// level, plain names (no `..`, no hidden files).
pub fn check_path(path: &str) -> Result<()> {
    let name = path
        .strip_prefix("policies/")
        .or_else(|| path.strip_prefix("tests/scenarios/"));
    let ok = name.is_some_and(|n| {
        !n.is_empty()
            && n.len() <= 120
            && !n.starts_with('.')
            && n.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    }) && (is_policy_file(path) || is_scenario_file(path));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "文件路径 “{path}” 无效:应为 policies/名称.md 或 tests/scenarios/名称.json (a file must be policies/NAME.md or tests/scenarios/NAME.json, letters, digits, - _ .)"
        )))
    }
}

/// SHA-256 over the files in path order: path, NUL, text, NUL each.
pub fn hash_files(files: &[VersionFile]) -> String {
    let mut sorted: Vec<&VersionFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut h = Sha256::new();
    for f in sorted {
        h.update(f.path.as_bytes());
        h.update([0]);
        h.update(f.text.as_bytes());
        h.update([0]);
    }
    format!("{:x}", h.finalize())
}

/// The policy files of a version as the checker reads them (path order).
fn sources(files: &[VersionFile]) -> Vec<SourceFile> {
    let mut out: Vec<SourceFile> = files
        .iter()
        .filter(|f| is_policy_file(&f.path))
        .map(|f| SourceFile {
            path: f.path.clone(),
            text: f.text.clone(),
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Checks a set of files: the library (diagnostics with line and column), then, if it checks,
/// every scenario and the coverage. Pure: the same files give the same answer anywhere.
pub fn check_files(files: &[VersionFile]) -> (DraftCheck, Option<Library>) {
    let src = sources(files);
    let checked = kc_check::check_library(&src);
    let mut diagnostics: Vec<FileProblem> = checked
        .diagnostics
        .iter()
        .map(|d| {
            let f = &src[d.file];
            let (line, column) = kc_syntax::line_col(&f.text, d.diagnostic.span.start);
            FileProblem {
                path: f.path.clone(),
                line,
                column,
                severity: if d.diagnostic.is_error() {
                    "error"
                } else {
                    "warning"
                }
                .into(),
                message: d.diagnostic.message.clone(),
                label: d.diagnostic.label.clone(),
                rendered: kc_syntax::render(&d.diagnostic, &f.path, &f.text),
            }
        })
        .collect();
    diagnostics.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    let Some(lib) = checked.library else {
        return (
            DraftCheck {
                diagnostics,
                scenarios: Vec::new(),
                gaps: Vec::new(),
                measures: 0,
                documents: 0,
            },
            None,
        );
    };
    let mut scenarios: Vec<ScenarioRun> = files
        .iter()
        .filter(|f| is_scenario_file(&f.path))
        .map(|f| {
            let r = kc_scenario::run_text(&lib, &f.path, &f.text);
            ScenarioRun {
                path: f.path.clone(),
                name: r.name.clone(),
                passed: r.passed(),
                problems: r.problems,
            }
        })
        .collect();
    scenarios.sort_by(|a, b| a.path.cmp(&b.path));
    let gaps = kc_check::coverage::coverage(&lib)
        .iter()
        .flat_map(|d| {
            let number = lib.documents[d.document].number.clone();
            d.clauses
                .iter()
                .filter(|c| c.status == kc_check::coverage::ClauseStatus::Gap)
                .map(move |c| CoverageGap {
                    document: number.clone(),
                    clause: c.id.clone(),
                    heading: c.heading.clone(),
                })
        })
        .collect();
    let check = DraftCheck {
        diagnostics,
        scenarios,
        gaps,
        measures: lib.measures.len(),
        documents: lib.documents.len(),
    };
    (check, Some(lib))
}

const SUMMARY_COLUMNS: &str = "v.id, v.state, v.title, v.base, v.hash, v.drafted_by, v.drafted_by_name, v.created_at, v.updated_at, v.submitted_by, v.submitted_at, v.approved_by, v.approved_by_name, v.published_at, v.applies_from, v.returned_reason, CASE WHEN s.active = v.id THEN 1 ELSE 0 END";

fn summary_of(r: &sqlx::any::AnyRow) -> VersionSummary {
    VersionSummary {
        id: r.get(0),
        state: r.get(1),
        title: r.get(2),
        base: r.get(3),
        hash: r.get(4),
        drafted_by: r.get(5),
        drafted_by_name: r.get(6),
        created_at: r.get(7),
        updated_at: r.get(8),
        submitted_by: r.get(9),
        submitted_at: r.get(10),
        approved_by: r.get(11),
        approved_by_name: r.get(12),
        published_at: r.get(13),
        applies_from: r.get(14),
        returned_reason: r.get(15),
        active: r.get::<i64, _>(16) == 1,
    }
}

fn who(actor: &Actor) -> String {
    format!("{}:{}", actor.role.code(), actor.id)
}

fn may(actor: &Actor, access: Access, what: &str) -> Result<()> {
    if actor.role.may(access) {
        Ok(())
    } else {
        Err(refused(
            "forbidden",
            format!(
                "角色 {} 无权{what} (role {} may not do this in the 政策管理 workspace)",
                actor.role.code(),
                actor.role.code()
            ),
        ))
    }
}

/// Turns SourceFiles (shipped or read from a directory) into version files.
pub fn version_files(policies: &[SourceFile], scenarios: &[SourceFile]) -> Vec<VersionFile> {
    policies
        .iter()
        .chain(scenarios)
        .map(|f| VersionFile {
            path: f.path.clone(),
            text: f.text.clone(),
        })
        .collect()
}

impl Store {
    /// The library and version a request evaluates with: one snapshot, kept to the end.
    pub fn active(&self) -> Arc<Active> {
        self.libs.active.load_full()
    }

    /// The active library (a snapshot; see [`Store::active`]).
    pub fn library(&self) -> Arc<Library> {
        self.libs.active.load().lib.clone()
    }

    /// The checked library of a published version, from the process's cache or the database.
    pub async fn library_of_version(&self, version: i64) -> Result<Arc<Library>> {
        if let Some(l) = self
            .libs
            .checked
            .lock()
            .expect("version cache")
            .get(&version)
        {
            return Ok(l.clone());
        }
        let files = self.version_files(version).await?;
        let (check, lib) = check_files(&files);
        let lib = lib.ok_or_else(|| {
            StoreError::Invalid(format!(
                "库版本 {version} 无法通过本程序的检查 (library version {version} does not check with this build): {}",
                check.blockers().join("; ")
            ))
        })?;
        let lib = Arc::new(lib);
        self.libs
            .checked
            .lock()
            .expect("version cache")
            .insert(version, lib.clone());
        Ok(lib)
    }

    /// The policy files of the active version and the library checked from them, one
    /// snapshot: what a reform that rewrites measures is checked against (测算). `None` when no
    /// version is stored.
    pub async fn active_sources(&self) -> Result<Option<(Vec<SourceFile>, Arc<Library>)>> {
        let active = self.active();
        let Some(v) = active.version else {
            return Ok(None);
        };
        let files = self.version_files(v).await?;
        Ok(Some((sources(&files), active.lib.clone())))
    }

    async fn version_files(&self, version: i64) -> Result<Vec<VersionFile>> {
        files_of(&self.pool, version).await
    }

    /// Reads which version is active and, if another process published a new one, swaps it
    /// in. Returns the active version. One indexed read when nothing changed.
    pub async fn refresh_library(&self) -> Result<Option<i64>> {
        let active: Option<i64> =
            sqlx::query_scalar("SELECT active FROM library_state WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        let current = self.libs.active.load().version;
        if let Some(v) = active
            && current != Some(v)
        {
            let lib = self.library_of_version(v).await?;
            self.libs.active.store(Arc::new(Active {
                version: Some(v),
                lib,
            }));
        }
        Ok(active.or(current))
    }

    /// On first start: the database holds no version yet, so `files` (the shipped library, or
    /// `--policies DIR`, and its scenarios) become version 1, published by the system. Then
    /// loads the active version. Returns (active version, whether it was seeded now).
    pub async fn seed_library(&self, files: &[VersionFile]) -> Result<(i64, bool)> {
        let mut seeded = false;
        let mut tx = self.begin_write(&["library".to_string()]).await?;
        let active: Option<i64> =
            sqlx::query_scalar("SELECT active FROM library_state WHERE id = 1")
                .fetch_optional(&mut **tx)
                .await?;
        if active.is_none() {
            let now = self.now();
            let id = self
                .insert_version_in(
                    &mut tx,
                    "system",
                    "系统",
                    "随程序发布的政策库 (the library shipped with the program)",
                    None,
                    files,
                )
                .await?;
            sqlx::query("UPDATE library_versions SET state = 'published', approved_by = 'system', approved_by_name = '系统', published_at = $1, applies_from = $2, submitted_by = 'system', submitted_at = $1 WHERE id = $3")
                .bind(&now)
                .bind(self.today().to_string())
                .bind(id)
                .execute(&mut **tx)
                .await?;
            sqlx::query("INSERT INTO library_state (id, active) VALUES (1, $1)")
                .bind(id)
                .execute(&mut **tx)
                .await?;
            self.audit_in(
                &mut tx,
                &Actor::system(),
                "library.seed",
                "library_version",
                &id.to_string(),
                None,
                Some(&hash_files(files)),
            )
            .await?;
            seeded = true;
        }
        tx.commit().await?;
        let v = self
            .refresh_library()
            .await?
            .expect("a version is active now");
        Ok((v, seeded))
    }

    async fn insert_version_in(
        &self,
        tx: &mut crate::workflow::WriteTx,
        by: &str,
        by_name: &str,
        title: &str,
        base: Option<i64>,
        files: &[VersionFile],
    ) -> Result<i64> {
        if files.len() > MAX_FILES {
            return Err(StoreError::Invalid(format!(
                "一个版本最多 {MAX_FILES} 个文件,收到 {} 个 (at most {MAX_FILES} files in a version)",
                files.len()
            )));
        }
        for f in files {
            check_path(&f.path)?;
            check_text(&f.path, &f.text)?;
        }
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(StoreError::Invalid(
                "版本说明不能为空,最多 200 字 (the version's title: 1–200 characters)".into(),
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(id), 0) + 1 AS BIGINT) FROM library_versions",
        )
        .fetch_one(&mut ***tx)
        .await?;
        let now = self.now();
        sqlx::query("INSERT INTO library_versions (id, state, title, base, hash, drafted_by, drafted_by_name, created_at, updated_at) VALUES ($1, 'draft', $2, $3, $4, $5, $6, $7, $7)")
            .bind(id)
            .bind(title)
            .bind(base)
            .bind(hash_files(files))
            .bind(by)
            .bind(by_name)
            .bind(&now)
            .execute(&mut ***tx)
            .await?;
        for f in files {
            sqlx::query("INSERT INTO library_files (version, path, text) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(&f.path)
                .bind(&f.text)
                .execute(&mut ***tx)
                .await?;
        }
        Ok(id)
    }

    /// Every version, newest first.
    pub async fn library_versions(&self, actor: &Actor) -> Result<Vec<VersionSummary>> {
        may(actor, Access::DraftPolicy, "查看政策库版本")
            .or_else(|_| may(actor, Access::ApprovePolicy, "查看政策库版本"))?;
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM library_versions v LEFT JOIN library_state s ON s.id = 1 ORDER BY v.id DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(summary_of).collect())
    }

    /// One version with its files.
    pub async fn library_version(&self, actor: &Actor, id: i64) -> Result<Version> {
        may(actor, Access::DraftPolicy, "查看政策库版本")
            .or_else(|_| may(actor, Access::ApprovePolicy, "查看政策库版本"))?;
        self.version_any(id).await
    }

    /// A version without the access check (the CLI's export runs as the operator).
    pub async fn version_any(&self, id: i64) -> Result<Version> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM library_versions v LEFT JOIN library_state s ON s.id = 1 WHERE v.id = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("库版本 {id} (library version {id})")))?;
        Ok(Version {
            summary: summary_of(&row),
            files: self.version_files(id).await?,
        })
    }

    /// A new draft: a copy of `from` (default: the active version), or of `files` (an import).
    pub async fn create_draft(
        &self,
        actor: &Actor,
        name: &str,
        title: &str,
        from: Option<i64>,
        files: Option<Vec<VersionFile>>,
    ) -> Result<i64> {
        may(actor, Access::DraftPolicy, "起草政策库版本")?;
        let (base, files) = match files {
            Some(f) => (from, f),
            None => {
                let base = match from {
                    Some(b) => b,
                    None => self.refresh_library().await?.ok_or_else(|| {
                        refused(
                            "no_version",
                            "数据库中还没有政策库版本 (no library version in the database yet)",
                        )
                    })?,
                };
                (Some(base), self.version_any(base).await?.files)
            }
        };
        let mut tx = self.begin_write(&["library".to_string()]).await?;
        let id = self
            .insert_version_in(&mut tx, &who(actor), name, title, base, &files)
            .await?;
        self.audit_in(
            &mut tx,
            actor,
            "library.draft",
            "library_version",
            &id.to_string(),
            None,
            Some(title.trim()),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The draft `id`, locked for writing, or why it cannot be changed.
    async fn draft_in(
        &self,
        tx: &mut crate::workflow::WriteTx,
        id: i64,
        states: &[&str],
    ) -> Result<VersionSummary> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM library_versions v LEFT JOIN library_state s ON s.id = 1 WHERE v.id = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut ***tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("库版本 {id} (library version {id})")))?;
        let v = summary_of(&row);
        if !states.contains(&v.state.as_str()) {
            return Err(refused(
                "wrong_state",
                format!(
                    "库版本 {id} 的状态为 {}:已发布的版本不可更改,已提交的草稿须先退回 (version {id} is {}; a published version never changes, a submitted draft must be returned first)",
                    state_zh(&v.state),
                    v.state
                ),
            ));
        }
        Ok(v)
    }

    /// Writes (or adds) one file of a draft.
    pub async fn put_draft_file(
        &self,
        actor: &Actor,
        id: i64,
        path: &str,
        text: &str,
    ) -> Result<()> {
        may(actor, Access::DraftPolicy, "编辑政策库草稿")?;
        check_path(path)?;
        check_text(path, text)?;
        let mut tx = self.begin_write(&["library".to_string()]).await?;
        self.draft_in(&mut tx, id, &["draft"]).await?;
        let old: Option<String> =
            sqlx::query_scalar("SELECT text FROM library_files WHERE version = $1 AND path = $2")
                .bind(id)
                .bind(path)
                .fetch_optional(&mut **tx)
                .await?;
        if old.as_deref() == Some(text) {
            tx.commit().await?;
            return Ok(());
        }
        if old.is_some() {
            sqlx::query("UPDATE library_files SET text = $1 WHERE version = $2 AND path = $3")
                .bind(text)
                .bind(id)
                .bind(path)
                .execute(&mut **tx)
                .await?;
        } else {
            let n: i64 = sqlx::query_scalar(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM library_files WHERE version = $1",
            )
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
            if n as usize >= MAX_FILES {
                return Err(StoreError::Invalid(format!(
                    "一个版本最多 {MAX_FILES} 个文件 (at most {MAX_FILES} files in a version)"
                )));
            }
            sqlx::query("INSERT INTO library_files (version, path, text) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(path)
                .bind(text)
                .execute(&mut **tx)
                .await?;
        }
        self.touch_in(&mut tx, id).await?;
        self.audit_in(
            &mut tx,
            actor,
            "library.edit",
            "library_version",
            &id.to_string(),
            Some(&format!(
                "{path} sha256:{}",
                old.as_deref().map(sha).unwrap_or_default()
            )),
            Some(&format!("{path} sha256:{}", sha(text))),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes one file of a draft.
    pub async fn delete_draft_file(&self, actor: &Actor, id: i64, path: &str) -> Result<()> {
        may(actor, Access::DraftPolicy, "编辑政策库草稿")?;
        let mut tx = self.begin_write(&["library".to_string()]).await?;
        self.draft_in(&mut tx, id, &["draft"]).await?;
        let n = sqlx::query("DELETE FROM library_files WHERE version = $1 AND path = $2")
            .bind(id)
            .bind(path)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "草稿 {id} 中没有文件 {path} (no file {path} in draft {id})"
            )));
        }
        self.touch_in(&mut tx, id).await?;
        self.audit_in(
            &mut tx,
            actor,
            "library.remove_file",
            "library_version",
            &id.to_string(),
            Some(path),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn touch_in(&self, tx: &mut crate::workflow::WriteTx, id: i64) -> Result<()> {
        let files = self.version_files_in(tx, id).await?;
        sqlx::query("UPDATE library_versions SET hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash_files(&files))
            .bind(self.now())
            .bind(id)
            .execute(&mut ***tx)
            .await?;
        Ok(())
    }

    async fn version_files_in(
        &self,
        tx: &mut crate::workflow::WriteTx,
        id: i64,
    ) -> Result<Vec<VersionFile>> {
        files_of(&mut ***tx, id).await
    }

    /// Checks a version's files (see [`check_files`]).
    pub async fn check_version(&self, actor: &Actor, id: i64) -> Result<DraftCheck> {
        let v = self.library_version(actor, id).await?;
        Ok(check_files(&v.files).0)
    }

    /// Submits a draft for approval; refused while it has a diagnostic, a failing scenario or
    /// a coverage gap.
    pub async fn submit_draft(&self, actor: &Actor, id: i64) -> Result<()> {
        may(actor, Access::DraftPolicy, "提交政策库草稿")?;
        let mut tx = self.begin_write(&["library".to_string()]).await?;
        self.draft_in(&mut tx, id, &["draft"]).await?;
        let files = self.version_files_in(&mut tx, id).await?;
        let (check, _) = check_files(&files);
        if !check.ready() {
            return Err(refused(
                "draft_not_ready",
                format!(
                    "草稿 {id} 不能提交:{} (draft {id} cannot be submitted)",
                    check.blockers().join(";")
                ),
            ));
        }
        sqlx::query("UPDATE library_versions SET state = 'submitted', submitted_by = $1, submitted_at = $2, updated_at = $2, returned_reason = NULL WHERE id = $3")
            .bind(who(actor))
            .bind(self.now())
            .bind(id)
            .execute(&mut **tx)
            .await?;
        self.audit_in(
            &mut tx,
            actor,
            "library.submit",
            "library_version",
            &id.to_string(),
            Some("draft"),
            Some("submitted"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Returns a submitted draft to its author with the reason.
    pub async fn return_draft(&self, actor: &Actor, id: i64, reason: &str) -> Result<()> {
        may(actor, Access::ApprovePolicy, "退回政策库草稿")?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 2000 {
            return Err(StoreError::Invalid(
                "退回须写明原因(最多 2000 字) (a return needs a reason, up to 2,000 characters)"
                    .into(),
            ));
        }
        let mut tx = self.begin_write(&["library".to_string()]).await?;
        self.draft_in(&mut tx, id, &["submitted"]).await?;
        sqlx::query("UPDATE library_versions SET state = 'draft', returned_reason = $1, updated_at = $2 WHERE id = $3")
            .bind(reason)
            .bind(self.now())
            .bind(id)
            .execute(&mut **tx)
            .await?;
        self.audit_in(
            &mut tx,
            actor,
            "library.return",
            "library_version",
            &id.to_string(),
            Some("submitted"),
            Some(reason),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Discards a draft (never a published version).
    pub async fn discard_draft(&self, actor: &Actor, id: i64) -> Result<()> {
        may(actor, Access::DraftPolicy, "废弃政策库草稿")?;
        let mut tx = self.begin_write(&["library".to_string()]).await?;
        let v = self.draft_in(&mut tx, id, &["draft", "submitted"]).await?;
        sqlx::query(
            "UPDATE library_versions SET state = 'discarded', updated_at = $1 WHERE id = $2",
        )
        .bind(self.now())
        .bind(id)
        .execute(&mut **tx)
        .await?;
        self.audit_in(
            &mut tx,
            actor,
            "library.discard",
            "library_version",
            &id.to_string(),
            Some(&v.state),
            Some("discarded"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Approves and publishes a submitted draft: a second person with `ApprovePolicy`, never
    /// its drafter or submitter; checked again; the version and the active pointer written in
    /// one transaction. `applies_from`: the date from which it applies (default today).
    pub async fn approve_draft(
        &self,
        actor: &Actor,
        name: &str,
        id: i64,
        applies_from: Option<jiff::civil::Date>,
    ) -> Result<()> {
        may(actor, Access::ApprovePolicy, "批准发布政策库版本")?;
        let mut tx = self.begin_write(&["library".to_string()]).await?;
        let v = self.draft_in(&mut tx, id, &["submitted"]).await?;
        let me = who(actor);
        if v.drafted_by == me || v.submitted_by.as_deref() == Some(me.as_str()) {
            return Err(refused(
                "four_eyes",
                format!(
                    "不能批准自己起草或提交的草稿 {id}:须由另一位有批准权限的人员批准 (you drafted or submitted draft {id}: a second person must approve it)"
                ),
            ));
        }
        let files = self.version_files_in(&mut tx, id).await?;
        let (check, lib) = check_files(&files);
        let Some(lib) = lib.filter(|_| check.ready()) else {
            return Err(refused(
                "draft_not_ready",
                format!(
                    "草稿 {id} 不能发布:{} (draft {id} cannot be published)",
                    check.blockers().join(";")
                ),
            ));
        };
        let now = self.now();
        let from = applies_from.unwrap_or_else(|| self.today()).to_string();
        let hash = hash_files(&files);
        sqlx::query("UPDATE library_versions SET state = 'published', approved_by = $1, approved_by_name = $2, published_at = $3, applies_from = $4, hash = $5, updated_at = $3 WHERE id = $6")
            .bind(&me)
            .bind(name)
            .bind(&now)
            .bind(&from)
            .bind(&hash)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        let previous: Option<i64> =
            sqlx::query_scalar("SELECT active FROM library_state WHERE id = 1")
                .fetch_optional(&mut **tx)
                .await?;
        if previous.is_some() {
            sqlx::query("UPDATE library_state SET active = $1 WHERE id = 1")
                .bind(id)
                .execute(&mut **tx)
                .await?;
        } else {
            sqlx::query("INSERT INTO library_state (id, active) VALUES (1, $1)")
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        self.audit_in(
            &mut tx,
            actor,
            "library.publish",
            "library_version",
            &id.to_string(),
            previous.map(|p| format!("active {p}")).as_deref(),
            Some(&format!("active {id} sha256:{hash} applies from {from}")),
        )
        .await?;
        tx.commit().await?;
        self.libs
            .checked
            .lock()
            .expect("version cache")
            .insert(id, Arc::new(lib));
        self.refresh_library().await?;
        Ok(())
    }
}

/// A version's files in path order, read through the pool or inside a transaction.
async fn files_of<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    version: i64,
) -> Result<Vec<VersionFile>> {
    let rows = sqlx::query("SELECT path, text FROM library_files WHERE version = $1 ORDER BY path")
        .bind(version)
        .fetch_all(db)
        .await?;
    Ok(rows
        .iter()
        .map(|r| VersionFile {
            path: r.get(0),
            text: r.get(1),
        })
        .collect())
}

fn sha(text: &str) -> String {
    let d = Sha256::digest(text.as_bytes());
    format!("{d:x}")[..12].to_string()
}

fn check_text(path: &str, text: &str) -> Result<()> {
    if text.len() > MAX_FILE_BYTES {
        return Err(StoreError::Invalid(format!(
            "文件 {path} 过大:{} 字节,上限 {MAX_FILE_BYTES} (file {path} is larger than {MAX_FILE_BYTES} bytes)",
            text.len()
        )));
    }
    if text.contains('\0') {
        return Err(StoreError::Invalid(format!(
            "文件 {path} 含有 NUL 字符 (file {path} contains a NUL character)"
        )));
    }
    Ok(())
}

pub fn state_zh(state: &str) -> &'static str {
    match state {
        "draft" => "草稿",
        "submitted" => "待批准",
        "published" => "已发布",
        "discarded" => "已废弃",
        _ => "未知",
    }
}

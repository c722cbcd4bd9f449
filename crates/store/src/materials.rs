//! An application's materials (issue 10, item 5): the files an applicant hands in (申报书,
//! 承诺书, 佐证材料), its answers to a reviewer's 一次性告知补正材料 list item by item (text
//! and/or files), the bank account the award is paid to (开户名, 开户银行, 账号) and the
//! 承诺书 it accepted, with who and when.
//!
//! The key decisions: files live in the database (BLOB on SQLite, BYTEA on PostgreSQL), so a
//! backup holds everything and several servers share them; a file's type is what its first
//! bytes say, never what the client claims, and must agree with its name's extension; every
//! file is bounded (10 MiB, 50 MiB per application by default) and its SHA-256 is stored; an
//! operator's virus scanner (`--scan-command`) runs on every upload before anything is written
//! and a non-zero exit refuses the file. The 补正 list is kept per round, so it stays visible,
//! with its answers, after the applicant resubmits. Every change and every download is audited
//! (entity `materials`, the application's id; not a notification of a state change).

use crate::workflow::{Tx, rand_u32, refused};
use crate::{Actor, Result, Store, StoreError};
use kc_domain::{Access, AppState};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

/// The 承诺书 every applicant accepts before it submits: stored word for word with who
/// accepted it and when.
pub const PLEDGE_TEXT: &str = "本单位郑重承诺:所填报的信息和提交的申报书、佐证材料均真实、准确、完整,\
不存在弄虚作假、重复申报或以同一事项骗取多项财政资金的情形;获得的资金将按规定用途使用,\
接受财政、审计和科技主管部门的监督检查。如有不实,本单位愿意退回已拨付资金并承担相应法律责任。";

/// How large files may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadLimits {
    /// One file, bytes.
    pub per_file: usize,
    /// All files of one application together, bytes.
    pub per_application: usize,
}

impl Default for UploadLimits {
    fn default() -> UploadLimits {
        UploadLimits {
            per_file: 10 * 1024 * 1024,
            per_application: 50 * 1024 * 1024,
        }
    }
}

/// What a file is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaterialKind {
    /// 申报书
    ApplicationForm,
    /// 承诺书 (signed and scanned)
    Pledge,
    /// 佐证材料
    Evidence,
    /// An answer to one item of a 补正 request.
    Supplement,
}

impl MaterialKind {
    pub const ALL: [MaterialKind; 4] = [
        MaterialKind::ApplicationForm,
        MaterialKind::Pledge,
        MaterialKind::Evidence,
        MaterialKind::Supplement,
    ];
    pub fn code(self) -> &'static str {
        match self {
            MaterialKind::ApplicationForm => "application_form",
            MaterialKind::Pledge => "pledge",
            MaterialKind::Evidence => "evidence",
            MaterialKind::Supplement => "supplement",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            MaterialKind::ApplicationForm => "申报书",
            MaterialKind::Pledge => "承诺书",
            MaterialKind::Evidence => "佐证材料",
            MaterialKind::Supplement => "补正材料",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            MaterialKind::ApplicationForm => "application form",
            MaterialKind::Pledge => "signed commitment",
            MaterialKind::Evidence => "supporting documents",
            MaterialKind::Supplement => "supplementary material",
        }
    }
    pub fn parse(s: &str) -> Option<MaterialKind> {
        MaterialKind::ALL.into_iter().find(|k| k.code() == s)
    }
}

/// The file types accepted, recognised by their first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    Pdf,
    Jpeg,
    Png,
    /// 版式文档 OFD (GB/T 33190): a ZIP with `OFD.xml`.
    Ofd,
    Docx,
    Xlsx,
}

impl FileType {
    pub fn content_type(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
            FileType::Ofd => "application/ofd",
            FileType::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            FileType::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            FileType::Pdf => "PDF",
            FileType::Jpeg => "JPEG",
            FileType::Png => "PNG",
            FileType::Ofd => "OFD",
            FileType::Docx => "DOCX",
            FileType::Xlsx => "XLSX",
        }
    }
    fn extensions(self) -> &'static [&'static str] {
        match self {
            FileType::Pdf => &["pdf"],
            FileType::Jpeg => &["jpg", "jpeg"],
            FileType::Png => &["png"],
            FileType::Ofd => &["ofd"],
            FileType::Docx => &["docx"],
            FileType::Xlsx => &["xlsx"],
        }
    }
    /// What the bytes are, from their magic numbers (a ZIP container by the entries it names).
    pub fn sniff(bytes: &[u8]) -> Option<FileType> {
        if bytes.starts_with(b"%PDF-") {
            return Some(FileType::Pdf);
        }
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(FileType::Jpeg);
        }
        if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            return Some(FileType::Png);
        }
        if bytes.starts_with(b"PK\x03\x04") {
            // Entry names are stored uncompressed in the local headers and the central
            // directory, so the container's kind shows in its bytes.
            let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
            if has(b"OFD.xml") {
                return Some(FileType::Ofd);
            }
            if has(b"[Content_Types].xml") {
                if has(b"word/") {
                    return Some(FileType::Docx);
                }
                if has(b"xl/") {
                    return Some(FileType::Xlsx);
                }
            }
        }
        None
    }
}

/// The types accepted, for messages: "PDF、JPEG、PNG、OFD、DOCX、XLSX".
pub const ACCEPTED_TYPES: &str = "PDF、JPEG、PNG、OFD、DOCX、XLSX";

/// A stored file, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub id: String,
    pub application: String,
    pub kind: MaterialKind,
    /// The 补正 item it answers.
    pub request: Option<String>,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
}

/// One item of a 补正 request and its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaterialRequest {
    pub id: String,
    /// 1 for the first request of the application, 2 for the next…
    pub round: i64,
    pub seq: i64,
    pub item: String,
    pub requested_by: String,
    pub requested_at: String,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<String>,
}

/// The bank account an award is paid to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BankAccount {
    /// 开户名: the organisation's registered name.
    pub account_name: String,
    /// 开户银行, down to the branch.
    pub bank: String,
    /// 账号: digits.
    pub account_no: String,
}

/// The accepted 承诺书.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pledge {
    pub text: String,
    pub by: String,
    pub at: String,
}

/// Everything handed in with an application.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Materials {
    /// The applicant's registered name: the 开户名 an account must have.
    pub applicant_name: String,
    pub account: Option<BankAccount>,
    pub pledge: Option<Pledge>,
    pub files: Vec<Attachment>,
    /// Every 补正 item of every round, in order.
    pub requests: Vec<MaterialRequest>,
}

impl Materials {
    /// The items of the newest round (the one the applicant answers now).
    pub fn current_round(&self) -> impl Iterator<Item = &MaterialRequest> {
        let last = self.requests.iter().map(|r| r.round).max().unwrap_or(0);
        self.requests.iter().filter(move |r| r.round == last)
    }
    pub fn files_for(&self, request: &str) -> impl Iterator<Item = &Attachment> {
        self.files
            .iter()
            .filter(move |f| f.request.as_deref() == Some(request))
    }
}

const FILE_COLUMNS: &str = "id, application_id, kind, request_id, filename, content_type, size, sha256, uploaded_by, uploaded_at";

fn file_from_row(r: &AnyRow) -> Result<Attachment> {
    let kind: String = r.get(2);
    Ok(Attachment {
        id: r.get(0),
        application: r.get(1),
        kind: MaterialKind::parse(&kind)
            .ok_or_else(|| StoreError::Invalid(format!("stored material kind “{kind}”")))?,
        request: r.get(3),
        filename: r.get(4),
        content_type: r.get(5),
        size: r.get(6),
        sha256: r.get(7),
        uploaded_by: r.get(8),
        uploaded_at: r.get(9),
    })
}

fn invalid(m: String) -> StoreError {
    StoreError::Invalid(m)
}

/// A text field: trimmed, required, at most `max` characters, no control characters.
fn text_field(v: &str, what: &str, max: usize) -> Result<String> {
    let t = v.trim();
    if t.is_empty() {
        return Err(invalid(format!("{what}:必填 (required)")));
    }
    if t.chars().count() > max {
        return Err(invalid(format!(
            "{what}:最多 {max} 字 (at most {max} characters)"
        )));
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(invalid(format!(
            "{what}:含有不可见的控制字符,请删除后重试 (contains a control character)"
        )));
    }
    Ok(t.to_string())
}

/// A name with brackets and spaces made uniform, to compare an account name with the
/// registered name (（有限公司） and (有限公司) are the same name).
fn name_key(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '(' => '(',
            ')' => ')',
            c => c,
        })
        .collect()
}

impl BankAccount {
    /// Checks and normalises an account for the organisation named `registered`: 开户名 is
    /// the organisation's own name (an award is paid only to its own account), 开户银行 is
    /// given, 账号 is 8 to 32 digits (spaces and hyphens ignored).
    pub fn validate(&self, registered: &str) -> Result<BankAccount> {
        let account_name = text_field(&self.account_name, "开户名 account name", 100)?;
        if name_key(&account_name) != name_key(registered) {
            return Err(invalid(format!(
                "开户名:须与申报主体名称“{registered}”一致,资金只拨付至本单位账户 (the account name must be the applicant's registered name)"
            )));
        }
        let bank = text_field(&self.bank, "开户银行 bank", 100)?;
        if bank.chars().count() < 4 {
            return Err(invalid(
                "开户银行:请填写银行全称及开户网点,如“中国银行沈阳浑南支行” (give the bank and branch)".into(),
            ));
        }
        let digits: String = self
            .account_no
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
            .collect();
        if digits.is_empty() {
            return Err(invalid("账号 account number:必填 (required)".into()));
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) || !(8..=32).contains(&digits.len()) {
            return Err(invalid(format!(
                "账号:“{}”不是有效账号,应为 8 至 32 位数字 (an account number is 8 to 32 digits)",
                self.account_no.trim()
            )));
        }
        Ok(BankAccount {
            account_name,
            bank,
            account_no: digits,
        })
    }
}

/// The file's name as shown and offered on download: the last path component, control
/// characters removed, at most 120 characters, required.
fn clean_filename(name: &str) -> Result<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | '|' | '*' | '?' | ':'))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        return Err(invalid("文件:请选择要上传的文件 (choose a file)".into()));
    }
    if cleaned.chars().count() > 120 {
        return Err(invalid(
            "文件名:最多 120 字,请改短后重试 (a file name has at most 120 characters)".into(),
        ));
    }
    Ok(cleaned)
}

/// The SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a file before it is stored: present, within the size limit, of an accepted type by
/// its bytes, and named with that type's extension. Returns the cleaned name and the type.
pub fn check_file(
    filename: &str,
    bytes: &[u8],
    limits: UploadLimits,
) -> Result<(String, FileType)> {
    let name = clean_filename(filename)?;
    if bytes.is_empty() {
        return Err(invalid(format!(
            "文件“{name}”是空文件,请重新选择 (the file is empty)"
        )));
    }
    if bytes.len() > limits.per_file {
        return Err(refused(
            "file_too_large",
            format!(
                "文件“{name}”大小 {} 超过单个文件上限 {} (a file may be at most {})",
                human(bytes.len()),
                human(limits.per_file),
                human(limits.per_file)
            ),
        ));
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let Some(ty) = FileType::sniff(bytes) else {
        return Err(refused(
            "file_type",
            format!(
                "文件“{name}”的类型不受支持:只接受 {ACCEPTED_TYPES} 文件(按文件内容识别,不看扩展名) (only {ACCEPTED_TYPES}, recognised by content)"
            ),
        ));
    };
    if !ty.extensions().contains(&ext.as_str()) {
        return Err(refused(
            "file_type",
            format!(
                "文件“{name}”的内容是 {},与扩展名“.{ext}”不符,请确认文件后重试 (the content is {} but the name says .{ext})",
                ty.name(),
                ty.name()
            ),
        ));
    }
    Ok((name, ty))
}

/// "3.2 MiB", "512 KiB", "100 B".
pub fn human(n: usize) -> String {
    if n >= 1024 * 1024 {
        let v = n as f64 / (1024.0 * 1024.0);
        if v.fract() == 0.0 {
            format!("{v:.0} MiB")
        } else {
            format!("{v:.1} MiB")
        }
    } else if n >= 1024 {
        format!("{} KiB", n.div_ceil(1024))
    } else {
        format!("{n} B")
    }
}

/// May the applicant still hand in material for an application in `state`? Files, the bank
/// account and the 承诺书 while it is a draft, a 免申即享 offer, or material was requested.
fn open_for_materials(state: AppState) -> bool {
    matches!(
        state,
        AppState::Draft | AppState::NeedsMaterial | AppState::Offered
    )
}

fn closed(app: &str, state: AppState) -> StoreError {
    refused(
        "materials_closed",
        format!(
            "申请 {app} 处于“{}”状态,不能再提交或修改材料;需要补正时审核人员会一次性告知 (materials can be handed in only in draft, as an offer or when requested)",
            state.zh()
        ),
    )
}

impl Store {
    /// Runs every upload through `command` (program and arguments, the file's path appended)
    /// before it is stored; a non-zero exit, a failure to start or 60 seconds without an
    /// answer refuse the file (`virus_scan`).
    pub fn with_scan_command(mut self, command: Vec<String>) -> Store {
        self.scan_command = (!command.is_empty()).then(|| std::sync::Arc::new(command));
        self
    }

    pub fn with_upload_limits(mut self, limits: UploadLimits) -> Store {
        self.upload_limits = limits;
        self
    }

    pub fn upload_limits(&self) -> UploadLimits {
        self.upload_limits
    }

    async fn may_hand_in(&self, actor: &Actor, applicant_id: &str) -> Result<()> {
        if !actor.role.may(Access::HandInMaterials) {
            return Err(refused(
                "forbidden",
                "只有申报单位本身可以提交申报材料 (only the applicant hands in its materials)",
            ));
        }
        self.may_see(actor, applicant_id).await
    }

    /// Everything handed in with an application: for the applicant itself and the staff who
    /// may see its file.
    pub async fn materials(&self, actor: &Actor, app_id: &str) -> Result<Materials> {
        let app = self.application(actor, app_id).await?;
        let mut out = Materials {
            applicant_name: sqlx::query("SELECT name FROM applicants WHERE id = $1")
                .bind(&app.applicant_id)
                .fetch_one(&self.pool)
                .await?
                .get(0),
            ..Materials::default()
        };
        if let Some(r) = sqlx::query("SELECT account_name, bank, account_no, pledge_text, pledged_by, pledged_at FROM application_terms WHERE application_id = $1")
            .bind(&app.id)
            .fetch_optional(&self.pool)
            .await?
        {
            if let (Some(account_name), Some(bank), Some(account_no)) = (r.get(0), r.get(1), r.get(2)) {
                out.account = Some(BankAccount { account_name, bank, account_no });
            }
            if let (Some(text), Some(by), Some(at)) = (r.get(3), r.get(4), r.get(5)) {
                out.pledge = Some(Pledge { text, by, at });
            }
        }
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM attachments WHERE application_id = $1 ORDER BY uploaded_at, id"
        );
        out.files = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&app.id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(file_from_row)
            .collect::<Result<_>>()?;
        out.requests = sqlx::query("SELECT id, round, seq, item, requested_by, requested_at, answer, answered_by, answered_at FROM material_requests WHERE application_id = $1 ORDER BY round, seq")
            .bind(&app.id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| MaterialRequest {
                id: r.get(0),
                round: r.get(1),
                seq: r.get(2),
                item: r.get(3),
                requested_by: r.get(4),
                requested_at: r.get(5),
                answer: r.get(6),
                answered_by: r.get(7),
                answered_at: r.get(8),
            })
            .collect();
        Ok(out)
    }

    /// One file with its bytes, for whoever may see the application.
    pub async fn attachment(&self, actor: &Actor, file_id: &str) -> Result<(Attachment, Vec<u8>)> {
        let sql = format!("SELECT {FILE_COLUMNS}, data FROM attachments WHERE id = $1");
        let r = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(file_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("文件 file {file_id}")))?;
        let file = file_from_row(&r)?;
        // Through the application: the same rule as its page.
        self.application(actor, &file.application).await?;
        // Who read which file is part of the record.
        let mut tx = self.begin_write(&[]).await?;
        self.audit_in(
            &mut tx,
            actor,
            "download_material",
            "materials",
            &file.application,
            None,
            Some(&json!({"file": file.id, "filename": file.filename}).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok((file, r.get(10)))
    }

    /// Stores a file handed in with an application: by the applicant itself, while the
    /// application is open for materials; a `Supplement` answers an item of the newest 补正
    /// round (`request`). Checked for size, type and the application's total, scanned when a
    /// scanner is configured, stored with its SHA-256, audited as `upload_material`.
    pub async fn upload_material(
        &self,
        actor: &Actor,
        app_id: &str,
        kind: MaterialKind,
        request: Option<&str>,
        filename: &str,
        bytes: &[u8],
    ) -> Result<Attachment> {
        let (name, ty) = check_file(filename, bytes, self.upload_limits)?;
        let request = request.map(str::trim).filter(|r| !r.is_empty());
        match (kind, request) {
            (MaterialKind::Supplement, None) => {
                return Err(invalid(
                    "补正事项:请选择这份材料答复的是哪一项 (choose the item it answers)".into(),
                ));
            }
            (MaterialKind::Supplement, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(invalid(
                    "材料类别:答复补正事项的文件应为“补正材料” (a file answering an item is supplementary material)".into(),
                ));
            }
        }
        // Before any lock: the scanner may take its time.
        self.scan(&name, bytes).await?;
        let applicant_id = self.applicant_of(app_id).await?;
        self.may_hand_in(actor, &applicant_id).await?;
        let mut tx = self
            .begin_write(&[format!("applicant:{applicant_id}")])
            .await?;
        let app = self.app_in(&mut tx, app_id).await?;
        if !open_for_materials(app.state) {
            return Err(closed(app_id, app.state));
        }
        if let Some(req) = request {
            self.open_item_in(&mut tx, app_id, app.state, req).await?;
        }
        let used: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM attachments WHERE application_id = $1",
        )
        .bind(app_id)
        .fetch_one(&mut **tx)
        .await?
        .get(0);
        let limit = self.upload_limits.per_application;
        if used as usize + bytes.len() > limit {
            return Err(refused(
                "materials_too_large",
                format!(
                    "本申请的材料合计不能超过 {}:已上传 {},本文件 {} (all files of an application together at most {})",
                    human(limit),
                    human(used as usize),
                    human(bytes.len()),
                    human(limit)
                ),
            ));
        }
        let file = Attachment {
            id: format!("F{:08X}{:08X}", rand_u32(), rand_u32()),
            application: app_id.to_string(),
            kind,
            request: request.map(str::to_string),
            filename: name,
            content_type: ty.content_type().to_string(),
            size: bytes.len() as i64,
            sha256: sha256_hex(bytes),
            uploaded_by: format!("{}:{}", actor.role.code(), actor.id),
            uploaded_at: self.now(),
        };
        sqlx::query("INSERT INTO attachments (id, application_id, kind, request_id, filename, content_type, size, sha256, data, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(&file.id)
            .bind(app_id)
            .bind(kind.code())
            .bind(&file.request)
            .bind(&file.filename)
            .bind(&file.content_type)
            .bind(file.size)
            .bind(&file.sha256)
            .bind(bytes.to_vec())
            .bind(&file.uploaded_by)
            .bind(&file.uploaded_at)
            .execute(&mut **tx)
            .await?;
        self.audit_in(
            &mut tx,
            actor,
            "upload_material",
            "materials",
            app_id,
            None,
            Some(&json!({"file": file.id, "kind": kind.code(), "request": file.request, "filename": file.filename, "content_type": file.content_type, "size": file.size, "sha256": file.sha256}).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(file)
    }

    /// Removes a file the applicant handed in by mistake: a file of a draft or an offer, or an
    /// answer to an item of the open 补正 round — never what the reviewer has already seen (a
    /// file handed in before the submission, an earlier round's answer). Audited as
    /// `remove_material`.
    pub async fn remove_material(&self, actor: &Actor, file_id: &str) -> Result<()> {
        let r = sqlx::query(
            "SELECT application_id, request_id, filename, sha256 FROM attachments WHERE id = $1",
        )
        .bind(file_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("文件 file {file_id}")))?;
        let app_id: String = r.get(0);
        let request: Option<String> = r.get(1);
        let applicant_id = self.applicant_of(&app_id).await?;
        self.may_hand_in(actor, &applicant_id).await?;
        let mut tx = self
            .begin_write(&[format!("applicant:{applicant_id}")])
            .await?;
        let app = self.app_in(&mut tx, &app_id).await?;
        if !open_for_materials(app.state) {
            return Err(closed(&app_id, app.state));
        }
        match &request {
            Some(req) => {
                self.open_item_in(&mut tx, &app_id, app.state, req).await?;
            }
            // What the reviewer has seen stays: once submitted, a better version is uploaded
            // beside it, not put in its place.
            None if app.state == AppState::NeedsMaterial => {
                return Err(refused(
                    "materials_closed",
                    "已提交审核的材料不能删除;如需更正,请上传新版本并在补正答复中说明 (a file the reviewer has seen stays; upload a new version)",
                ));
            }
            None => {}
        }
        sqlx::query("DELETE FROM attachments WHERE id = $1")
            .bind(file_id)
            .execute(&mut **tx)
            .await?;
        self.audit_in(
            &mut tx,
            actor,
            "remove_material",
            "materials",
            &app_id,
            Some(&json!({"file": file_id, "filename": r.get::<String, _>(2), "sha256": r.get::<String, _>(3)}).to_string()),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The applicant's written answer to one item of the newest 补正 round (replaces an
    /// earlier answer to the same item). Audited as `answer_material`.
    pub async fn answer_request(
        &self,
        actor: &Actor,
        app_id: &str,
        request_id: &str,
        answer: &str,
    ) -> Result<()> {
        let answer = text_field(answer, "答复说明 answer", 2000)?;
        let applicant_id = self.applicant_of(app_id).await?;
        self.may_hand_in(actor, &applicant_id).await?;
        let mut tx = self
            .begin_write(&[format!("applicant:{applicant_id}")])
            .await?;
        let app = self.app_in(&mut tx, app_id).await?;
        let before = self
            .open_item_in(&mut tx, app_id, app.state, request_id)
            .await?;
        sqlx::query("UPDATE material_requests SET answer = $1, answered_by = $2, answered_at = $3 WHERE id = $4")
            .bind(&answer)
            .bind(format!("{}:{}", actor.role.code(), actor.id))
            .bind(self.now())
            .bind(request_id)
            .execute(&mut **tx)
            .await?;
        self.audit_in(
            &mut tx,
            actor,
            "answer_material",
            "materials",
            app_id,
            before
                .map(|b| json!({"request": request_id, "answer": b}).to_string())
                .as_deref(),
            Some(&json!({"request": request_id, "answer": answer}).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the bank account an award is paid to (validated, see [`BankAccount::validate`]).
    /// Audited as `set_bank_account`.
    pub async fn set_bank_account(
        &self,
        actor: &Actor,
        app_id: &str,
        account: &BankAccount,
    ) -> Result<BankAccount> {
        let applicant_id = self.applicant_of(app_id).await?;
        self.may_hand_in(actor, &applicant_id).await?;
        let registered: String = sqlx::query("SELECT name FROM applicants WHERE id = $1")
            .bind(&applicant_id)
            .fetch_one(&self.pool)
            .await?
            .get(0);
        let account = account.validate(&registered)?;
        let mut tx = self
            .begin_write(&[format!("applicant:{applicant_id}")])
            .await?;
        let app = self.app_in(&mut tx, app_id).await?;
        if !open_for_materials(app.state) {
            return Err(closed(app_id, app.state));
        }
        let now = self.now();
        let by = format!("{}:{}", actor.role.code(), actor.id);
        self.ensure_terms_in(&mut tx, app_id, &by, &now).await?;
        sqlx::query("UPDATE application_terms SET account_name = $1, bank = $2, account_no = $3, updated_by = $4, updated_at = $5 WHERE application_id = $6")
            .bind(&account.account_name)
            .bind(&account.bank)
            .bind(&account.account_no)
            .bind(&by)
            .bind(&now)
            .bind(app_id)
            .execute(&mut **tx)
            .await?;
        self.audit_in(
            &mut tx,
            actor,
            "set_bank_account",
            "materials",
            app_id,
            None,
            Some(&json!({"account_name": account.account_name, "bank": account.bank, "account_no": account.account_no}).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(account)
    }

    /// Records that the applicant accepts the 承诺书 ([`PLEDGE_TEXT`], stored word for word
    /// with who and when). Audited as `accept_pledge`.
    pub async fn accept_pledge(&self, actor: &Actor, app_id: &str) -> Result<Pledge> {
        let applicant_id = self.applicant_of(app_id).await?;
        self.may_hand_in(actor, &applicant_id).await?;
        let mut tx = self
            .begin_write(&[format!("applicant:{applicant_id}")])
            .await?;
        let app = self.app_in(&mut tx, app_id).await?;
        if !open_for_materials(app.state) {
            return Err(closed(app_id, app.state));
        }
        let pledge = Pledge {
            text: PLEDGE_TEXT.to_string(),
            by: format!("{}:{}", actor.role.code(), actor.id),
            at: self.now(),
        };
        self.ensure_terms_in(&mut tx, app_id, &pledge.by, &pledge.at)
            .await?;
        sqlx::query("UPDATE application_terms SET pledge_text = $1, pledged_by = $2, pledged_at = $3, updated_by = $2, updated_at = $3 WHERE application_id = $4")
            .bind(&pledge.text)
            .bind(&pledge.by)
            .bind(&pledge.at)
            .bind(app_id)
            .execute(&mut **tx)
            .await?;
        self.audit_in(
            &mut tx,
            actor,
            "accept_pledge",
            "materials",
            app_id,
            None,
            Some(&json!({"pledge": pledge.text}).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(pledge)
    }

    async fn applicant_of(&self, app_id: &str) -> Result<String> {
        Ok(
            sqlx::query("SELECT applicant_id FROM applications WHERE id = $1")
                .bind(app_id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("application {app_id}")))?
                .get(0),
        )
    }

    async fn ensure_terms_in(&self, tx: &mut Tx, app_id: &str, by: &str, now: &str) -> Result<()> {
        let exists = sqlx::query("SELECT 1 FROM application_terms WHERE application_id = $1")
            .bind(app_id)
            .fetch_optional(&mut **tx)
            .await?
            .is_some();
        if !exists {
            sqlx::query("INSERT INTO application_terms (application_id, updated_by, updated_at) VALUES ($1, $2, $3)")
                .bind(app_id)
                .bind(by)
                .bind(now)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// The item `request` of the application's newest 补正 round, while material is
    /// requested: its answer so far. Refused otherwise.
    async fn open_item_in(
        &self,
        tx: &mut Tx,
        app_id: &str,
        state: AppState,
        request: &str,
    ) -> Result<Option<String>> {
        if state != AppState::NeedsMaterial {
            return Err(refused(
                "materials_closed",
                format!(
                    "申请 {app_id} 处于“{}”状态,没有待答复的补正事项 (no 补正 request is open)",
                    state.zh()
                ),
            ));
        }
        let r = sqlx::query("SELECT round, answer, (SELECT MAX(round) FROM material_requests WHERE application_id = $1) FROM material_requests WHERE id = $2 AND application_id = $1")
            .bind(app_id)
            .bind(request)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| {
                invalid(format!("补正事项:“{request}”不是本申请的补正事项 (not an item of this application)"))
            })?;
        if r.get::<i64, _>(0) != r.get::<Option<i64>, _>(2).unwrap_or(0) {
            return Err(refused(
                "materials_closed",
                "这一项属于已答复的上一轮补正,不能再修改 (an item of an earlier round is closed)",
            ));
        }
        Ok(r.get(1))
    }

    /// Records a 补正 request's items as a new round, in the reviewer's transaction
    /// (`act(RequestMaterial)`).
    pub(crate) async fn record_request_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        app_id: &str,
        items: &[String],
        now: &str,
    ) -> Result<()> {
        let round: i64 = sqlx::query(
            "SELECT CAST(COALESCE(MAX(round), 0) AS BIGINT) FROM material_requests WHERE application_id = $1",
        )
        .bind(app_id)
        .fetch_one(&mut **tx)
        .await?
        .get(0);
        for (i, item) in items.iter().enumerate() {
            let item = text_field(
                item,
                &format!("所缺材料第 {} 项 item {}", i + 1, i + 1),
                500,
            )?;
            sqlx::query("INSERT INTO material_requests (id, application_id, round, seq, item, requested_by, requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(format!("{app_id}-M{}-{}", round + 1, i + 1))
                .bind(app_id)
                .bind(round + 1)
                .bind(i as i64 + 1)
                .bind(item)
                .bind(format!("{}:{}", actor.role.code(), actor.id))
                .bind(now)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Before the first submission and before the 意愿确认 of a 免申即享 offer (`step`, for
    /// the message): the 承诺书 accepted and the bank account given (the 申报书 and other files
    /// are the reviewer's to judge; the page lists them as a checklist). Refused
    /// (`materials_required`) naming what is missing.
    pub(crate) async fn check_ready_in(
        &self,
        tx: &mut Tx,
        app_id: &str,
        step: kc_domain::Action,
    ) -> Result<()> {
        let r = sqlx::query(TERMS_SQL)
            .bind(app_id)
            .fetch_optional(&mut **tx)
            .await?;
        let (account, pledge) = match r {
            Some(r) => (
                r.get::<Option<String>, _>(0).is_some(),
                r.get::<Option<String>, _>(1).is_some(),
            ),
            None => (false, false),
        };
        check_ready(account, pledge, step)
    }
}

/// The bank account and the 承诺书 of an application (`check_ready`'s facts).
pub(crate) const TERMS_SQL: &str =
    "SELECT account_no, pledged_at FROM application_terms WHERE application_id = $1";

/// Refused (`materials_required`) unless the 承诺书 is accepted and the bank account given,
/// naming what is missing; `step` names the step for the message.
pub(crate) fn check_ready(account: bool, pledge: bool, step: kc_domain::Action) -> Result<()> {
    let mut missing = Vec::new();
    if !pledge {
        missing.push("确认承诺书");
    }
    if !account {
        missing.push("填写收款账户(开户名、开户银行、账号)");
    }
    if !missing.is_empty() {
        return Err(refused(
            "materials_required",
            format!(
                "{}前请先{} (accept the commitment and give the bank account first)",
                step.zh(),
                missing.join("、")
            ),
        ));
    }
    Ok(())
}

impl Store {
    /// Before a resubmission: every item of the newest 补正 round has an answer, in words or
    /// with a file. Refused (`unanswered_items`) with the items still open.
    pub(crate) async fn check_answered_in(&self, tx: &mut Tx, app_id: &str) -> Result<()> {
        let open: Vec<String> = sqlx::query(
            "SELECT r.item FROM material_requests r WHERE r.application_id = $1 \
             AND r.round = (SELECT MAX(round) FROM material_requests WHERE application_id = $1) \
             AND r.answer IS NULL \
             AND NOT EXISTS (SELECT 1 FROM attachments f WHERE f.request_id = r.id) \
             ORDER BY r.seq",
        )
        .bind(app_id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
        if !open.is_empty() {
            return Err(refused(
                "unanswered_items",
                format!(
                    "以下补正事项尚未答复(请逐项上传材料或填写说明后再提交):{} (answer every item before resubmitting)",
                    open.join(";")
                ),
            ));
        }
        Ok(())
    }

    /// Runs the configured scanner on the file; `Ok` without one.
    async fn scan(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let Some(cmd) = self.scan_command.clone() else {
            return Ok(());
        };
        let bytes = bytes.to_vec();
        let name = name.to_string();
        tokio::task::spawn_blocking(move || run_scan(&cmd, &name, &bytes))
            .await
            .map_err(|e| invalid(format!("virus scan: {e}")))?
    }
}

/// Writes the file to a private temporary file, runs the scanner on it, removes it.
fn run_scan(cmd: &[String], name: &str, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let path = std::env::temp_dir().join(format!(
        "kc-upload-{}-{:08x}{:08x}",
        std::process::id(),
        rand_u32(),
        rand_u32()
    ));
    let refuse = |why: String| {
        refused(
            "virus_scan",
            format!("文件“{name}”未通过病毒扫描,未保存:{why} (the file failed the virus scan)"),
        )
    };
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&path)
            .map_err(|e| refuse(format!("无法写入临时文件 ({e})")))?;
        f.write_all(bytes)
            .map_err(|e| refuse(format!("无法写入临时文件 ({e})")))?;
        drop(f);
        let mut child = std::process::Command::new(&cmd[0])
            .args(&cmd[1..])
            .arg(&path)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| refuse(format!("扫描程序 {} 无法启动 ({e})", cmd[0])))?;
        let start = std::time::Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(refuse(format!(
                        "扫描程序报告问题(退出码 {})",
                        status
                            .code()
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "信号".into())
                    )));
                }
                Ok(None) if start.elapsed() > std::time::Duration::from_secs(60) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(refuse("扫描超时(60 秒)".into()));
                }
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
                Err(e) => return Err(refuse(format!("{e}"))),
            }
        }
    })();
    let _ = std::fs::remove_file(&path);
    result
}

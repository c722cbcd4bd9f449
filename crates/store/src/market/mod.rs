//! The S&T market (科技大市场): achievements (科技成果) and demands (技术需求) listed by their
//! owners or by staff, reviewed lightly before they are public, imported and exported as
//! tables, searched and matched in Chinese, and gathered into matchmaking events (对接会).
//! The market's two money-bearing records, registered technology contracts and redeemed
//! innovation vouchers, live in [`contracts`] and [`vouchers`]: each becomes an event of the
//! engine, so the policy pays on what the market produced instead of on figures typed in
//! again.
//!
//! Search and matching are `kc-market`'s: this module keeps the records and the index in step.
//! Every write to a listing takes the next value of the market's change counter (`seq`,
//! under the `market` write lock); a process's index catches up by reading the rows above
//! the seq it has seen before it answers, so several `serve` processes on one PostgreSQL
//! answer alike and every answer includes the writer's own change.

pub mod contracts;
pub mod fairs;
pub mod search;
pub mod vouchers;

use crate::transfer::RowError;
use crate::workflow::refused;
use crate::{Actor, Result, Store, StoreError};
use kc_domain::{Role, from_fen, to_fen};
use kc_market::{Maturity, Side};
use kc_money::Money;
use serde::{Deserialize, Serialize};
use serde_json::{Value as J, json};
use sqlx::Row;
use sqlx::any::AnyRow;

/// How an achievement may change hands (转化方式).
pub const TRANSFER_MODES: &[(&str, &str, &str)] = &[
    ("transfer", "转让", "Assignment"),
    ("license", "许可", "Licence"),
    ("equity", "作价入股", "Equity investment"),
    ("joint_development", "合作开发", "Joint development"),
];

/// Listing statuses per side: (code, 中文, English).
pub const ACHIEVEMENT_STATUSES: &[(&str, &str, &str)] = &[
    ("listed", "挂牌中", "Listed"),
    ("negotiating", "洽谈中", "Negotiating"),
    ("transferred", "已转化", "Transferred"),
    ("withdrawn", "已撤回", "Withdrawn"),
];
pub const DEMAND_STATUSES: &[(&str, &str, &str)] = &[
    ("open", "征集中", "Open"),
    ("negotiating", "洽谈中", "Negotiating"),
    ("solved", "已解决", "Solved"),
    ("withdrawn", "已撤回", "Withdrawn"),
];

/// The light review before a listing is public: (code, 中文, English).
pub const REVIEW_STATES: &[(&str, &str, &str)] = &[
    ("pending", "待审核", "Awaiting review"),
    ("published", "已发布", "Published"),
    ("returned", "已退回", "Returned"),
];

pub fn label<'a>(table: &'a [(&str, &'a str, &'a str)], code: &str) -> (&'a str, &'a str) {
    table
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, zh, en)| (*zh, *en))
        .unwrap_or(("", ""))
}

pub(crate) fn parse_side(s: &str) -> Result<Side> {
    match s {
        "achievement" | "科技成果" => Ok(Side::Achievement),
        "demand" | "技术需求" => Ok(Side::Demand),
        _ => Err(StoreError::Invalid(format!(
            "“{s}”不是科技成果或技术需求 (side must be achievement or demand)"
        ))),
    }
}

/// A listing as its owner or staff writes it (form, JSON API or one import row). Amounts
/// are decimal text in yuan; codes or their Chinese labels are accepted.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingInput {
    #[serde(default)]
    pub id: Option<String>,
    pub title: String,
    pub field: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// An achievement's abstract; a demand's problem in the enterprise's own words.
    pub text: String,
    /// An achievement's maturity; a demand's least acceptable maturity (empty: any).
    #[serde(default)]
    pub maturity: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub transfer_mode: Option<String>,
    /// An achievement's asking price; a demand's budget (元; empty: 面议).
    #[serde(default)]
    pub price: Option<String>,
    #[serde(default)]
    pub deadline: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub contact: Option<String>,
    /// Staff only: the owner on the platform (统一社会信用代码) …
    #[serde(default)]
    pub owner_id: Option<String>,
    /// … or the name of an owner not on the platform.
    #[serde(default)]
    pub owner_name: Option<String>,
}

/// A stored listing as readers see it.
#[derive(Clone, Debug, Serialize)]
pub struct ListingView {
    pub id: String,
    pub side: Side,
    pub owner_id: Option<String>,
    pub owner_name: String,
    pub region: String,
    pub field: String,
    pub title: String,
    pub keywords: Vec<String>,
    pub text: String,
    pub maturity: Option<Maturity>,
    pub ip: Option<String>,
    pub transfer_mode: Option<String>,
    #[serde(serialize_with = "opt_money_text")]
    pub price: Option<Money>,
    pub deadline: Option<String>,
    pub contact: Option<String>,
    pub review: String,
    pub review_note: Option<String>,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    pub seq: i64,
}

impl ListingView {
    /// Public and current: published and not withdrawn.
    pub fn is_public(&self) -> bool {
        self.review == "published" && self.status != "withdrawn"
    }

    /// What `kc-market` indexes and matches.
    pub fn to_market(&self, store: &Store) -> kc_market::Listing {
        kc_market::Listing {
            id: self.id.clone(),
            side: self.side,
            title: self.title.clone(),
            field: self.field.clone(),
            keywords: self.keywords.clone(),
            text: self.text.clone(),
            maturity: self.maturity,
            price_fen: self.price.and_then(to_fen),
            region: store.region_path(&self.region),
        }
    }

    pub fn statuses(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        match self.side {
            Side::Achievement => ACHIEVEMENT_STATUSES,
            Side::Demand => DEMAND_STATUSES,
        }
    }
}

/// A checked listing, ready to write.
#[derive(Clone, Debug)]
pub struct CheckedListing {
    pub id: Option<String>,
    pub side: Side,
    pub owner_id: Option<String>,
    pub owner_name: String,
    pub region: String,
    pub field: String,
    pub title: String,
    pub body: J,
}

const LISTING_COLUMNS: &str = "id, side, owner_applicant_id, owner_name, region, field, title, body, review, review_note, status, created_at, updated_at, seq";

fn listing_from_row(r: &AnyRow) -> Result<ListingView> {
    let body: J = serde_json::from_str(&r.get::<String, _>(7))
        .map_err(|e| StoreError::Invalid(format!("stored listing body: {e}")))?;
    let text = |k: &str| body[k].as_str().map(str::to_string);
    Ok(ListingView {
        id: r.get(0),
        side: parse_side(&r.get::<String, _>(1))?,
        owner_id: r.get(2),
        owner_name: r.get(3),
        region: r.get(4),
        field: r.get(5),
        title: r.get(6),
        keywords: body["keywords"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        text: text("text").unwrap_or_default(),
        maturity: body["maturity"].as_str().and_then(Maturity::parse),
        ip: text("ip"),
        transfer_mode: text("transfer_mode"),
        price: body["price_fen"].as_i64().map(from_fen),
        deadline: text("deadline"),
        contact: text("contact"),
        review: r.get(8),
        review_note: r.get(9),
        status: r.get(10),
        created_at: r.get(11),
        updated_at: r.get(12),
        seq: r.get(13),
    })
}

/// Whether the actor works the market for the platform or a jurisdiction (reviews listings,
/// runs 对接会, registers contracts, issues vouchers).
pub fn market_staff(actor: &Actor) -> bool {
    matches!(actor.role, Role::Reviewer | Role::Admin)
}

fn trimmed(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn check_len(out: &mut Vec<(String, String)>, column: &str, v: &str, max: usize) {
    if v.chars().count() > max {
        out.push((
            column.into(),
            format!(
                "不得超过{max}个字,现有{}个字 (at most {max} characters)",
                v.chars().count()
            ),
        ));
    }
    if v.contains('\0') {
        out.push((
            column.into(),
            "含有空字符 (NUL),请删除 (contains a NUL character)".into(),
        ));
    }
}

/// Money in JSON is decimal text in yuan (`"1234.50"`), as everywhere in the API: never a
/// binary float.
pub fn money_text<S: serde::Serializer>(m: &Money, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&m.plain())
}

pub fn opt_money_text<S: serde::Serializer>(
    m: &Option<Money>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match m {
        Some(m) => s.serialize_str(&m.plain()),
        None => s.serialize_none(),
    }
}

/// Parses an amount in yuan (元) that must be positive.
pub(crate) fn parse_yuan(text: &str) -> std::result::Result<Money, String> {
    let m = Money::parse_amount(text.trim())
        .map_err(|e| format!("“{text}”不是金额 (not an amount in yuan): {e}"))?;
    if m <= Money::ZERO {
        return Err(format!("金额须大于0 (the amount must be positive): {text}"));
    }
    Ok(m)
}

impl Store {
    /// The region path of a region code, root first (`["liaoning","shenyang","hunnan"]`).
    pub fn region_path(&self, region: &str) -> Vec<String> {
        let j = self.jurisdictions();
        let all = j.all();
        let Some(mut node) = all.iter().position(|n| n.code == region) else {
            return vec![region.to_string()];
        };
        let mut out = vec![all[node].code.clone()];
        while let Some(p) = all[node].parent {
            out.push(all[p].code.clone());
            node = p;
        }
        out.reverse();
        out
    }

    /// Whether a region code is a member of the library's `Region` vocabulary.
    pub(crate) fn is_region(&self, code: &str) -> bool {
        let lib = self.library();
        let v = &lib.vocab;
        v.enums[v.region].member(code).is_some()
    }

    /// Checks a listing; every problem is named by its column (an import row adds the row).
    /// `owner` is the acting organisation's (id, name, region) when an applicant writes it.
    pub fn check_listing(
        &self,
        side: Side,
        input: &ListingInput,
        owner: Option<(&str, &str, &str)>,
    ) -> std::result::Result<CheckedListing, Vec<(String, String)>> {
        let mut errors: Vec<(String, String)> = Vec::new();
        let title = input.title.trim().to_string();
        if title.is_empty() {
            errors.push(("title".into(), "标题必填 (a title is required)".into()));
        }
        check_len(&mut errors, "title", &title, 100);
        let field = match kc_market::field(input.field.trim()) {
            Some(f) => f.code.to_string(),
            None => {
                errors.push((
                    "field".into(),
                    format!(
                        "“{}”不是领域代码 (unknown field); 可选 (one of): {}",
                        input.field,
                        kc_market::FIELDS
                            .iter()
                            .map(|f| format!("{} {}", f.code, f.zh))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
                String::new()
            }
        };
        let keywords: Vec<String> = input
            .keywords
            .iter()
            .flat_map(|k| k.split([';', '；', ',', '，', '、']))
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect();
        if keywords.len() > 12 {
            errors.push((
                "keywords".into(),
                format!(
                    "关键词至多12个,现有{}个 (at most 12 keywords)",
                    keywords.len()
                ),
            ));
        }
        for k in &keywords {
            check_len(&mut errors, "keywords", k, 30);
        }
        let text = input.text.trim().to_string();
        let text_col = match side {
            Side::Achievement => "abstract",
            Side::Demand => "problem",
        };
        if text.is_empty() {
            errors.push((
                text_col.into(),
                match side {
                    Side::Achievement => "成果简介必填 (an abstract is required)".into(),
                    Side::Demand => {
                        "需求描述必填:用自己的话写清遇到的问题 (describe the problem)".into()
                    }
                },
            ));
        }
        check_len(&mut errors, text_col, &text, 4000);
        let maturity = match trimmed(&input.maturity) {
            None if side == Side::Achievement => {
                errors.push((
                    "maturity".into(),
                    "成熟度必填:实验室/小试/中试/产业化 (maturity is required)".into(),
                ));
                None
            }
            None => None,
            Some(m) => match Maturity::parse(&m) {
                Some(m) => Some(m),
                None => {
                    errors.push((
                        "maturity".into(),
                        format!("“{m}”不是成熟度 (unknown maturity); 可选 (one of): lab 实验室, small_pilot 小试, pilot 中试, industrial 产业化"),
                    ));
                    None
                }
            },
        };
        let transfer_mode = match trimmed(&input.transfer_mode) {
            None => None,
            Some(t) => match TRANSFER_MODES.iter().find(|(c, zh, _)| *c == t || *zh == t) {
                Some((c, _, _)) => Some(c.to_string()),
                None => {
                    errors.push((
                        "transfer_mode".into(),
                        format!("“{t}”不是转化方式 (unknown transfer mode); 可选 (one of): 转让, 许可, 作价入股, 合作开发"),
                    ));
                    None
                }
            },
        };
        if side == Side::Demand && transfer_mode.is_some() {
            errors.push((
                "transfer_mode".into(),
                "技术需求没有转化方式 (a demand has no transfer mode)".into(),
            ));
        }
        let price = match trimmed(&input.price) {
            None => None,
            Some(p) => match parse_yuan(&p) {
                Ok(m) => Some(m),
                Err(e) => {
                    errors.push(("price".into(), e));
                    None
                }
            },
        };
        let deadline = match trimmed(&input.deadline) {
            None => None,
            Some(d) => match d.parse::<jiff::civil::Date>() {
                Ok(d) => Some(d.to_string()),
                Err(_) => {
                    errors.push((
                        "deadline".into(),
                        format!("“{d}”不是日期,应写作 YYYY-MM-DD (not a date)"),
                    ));
                    None
                }
            },
        };
        let ip = trimmed(&input.ip);
        let contact = trimmed(&input.contact);
        for (c, v) in [("ip", &ip), ("contact", &contact)] {
            if let Some(v) = v {
                check_len(&mut errors, c, v, 200);
            }
        }
        let (owner_id, owner_name, owner_region) = match owner {
            Some((id, name, region)) => {
                if input.owner_id.is_some() || input.owner_name.is_some() {
                    errors.push((
                        "owner".into(),
                        "申报主体只能以本单位名义发布 (an organisation lists in its own name)"
                            .into(),
                    ));
                }
                (
                    Some(id.to_string()),
                    name.to_string(),
                    Some(region.to_string()),
                )
            }
            None => {
                let name = trimmed(&input.owner_name).unwrap_or_default();
                if name.is_empty() && input.owner_id.is_none() {
                    errors.push((
                        "owner_name".into(),
                        "须填写所有者名称或其统一社会信用代码 (an owner is required)".into(),
                    ));
                }
                check_len(&mut errors, "owner_name", &name, 100);
                let id = match trimmed(&input.owner_id) {
                    None => None,
                    Some(id) => match kc_domain::Uscc::parse(&id) {
                        Ok(u) => Some(u.to_string()),
                        Err(e) => {
                            errors.push(("owner_id".into(), format!("“{id}”: {e}")));
                            None
                        }
                    },
                };
                (id, name, None)
            }
        };
        let region = match (trimmed(&input.region), owner_region) {
            (Some(r), _) => {
                if !self.is_region(&r) {
                    errors.push((
                        "region".into(),
                        format!(
                            "“{r}”不是地区代码 (unknown region), 如 hunnan, gaotang, liaocheng"
                        ),
                    ));
                }
                r
            }
            (None, Some(r)) => r,
            (None, None) => {
                errors.push((
                    "region".into(),
                    "所在地区必填 (a region is required)".into(),
                ));
                String::new()
            }
        };
        let id = match trimmed(&input.id) {
            None => None,
            Some(id) => {
                if id.len() > 40
                    || !id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    errors.push((
                        "id".into(),
                        format!("编号“{id}”只能由字母、数字、-、_组成,至多40位 (ids are ASCII letters, digits, - and _)"),
                    ));
                }
                Some(id)
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let body = json!({
            "keywords": keywords,
            "text": text,
            "maturity": maturity.map(|m| m.code()),
            "ip": ip,
            "transfer_mode": transfer_mode,
            "price_fen": price.and_then(to_fen),
            "deadline": deadline,
            "contact": contact,
        });
        Ok(CheckedListing {
            id,
            side,
            owner_id,
            owner_name,
            region,
            field,
            title,
            body,
        })
    }

    fn listing_errors(errors: Vec<(String, String)>) -> StoreError {
        StoreError::Invalid(
            errors
                .into_iter()
                .map(|(c, m)| format!("{c}: {m}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    /// The acting organisation as a listing owner: (id, name, region).
    async fn acting_owner(&self, actor: &Actor) -> Result<Option<(String, String, String)>> {
        if actor.role != Role::Applicant {
            return Ok(None);
        }
        let id = actor
            .applicant
            .clone()
            .ok_or_else(|| refused("forbidden", "账号未关联申报主体 (no organisation)"))?;
        let row = sqlx::query("SELECT name, region FROM applicants WHERE id = $1")
            .bind(&id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("applicant {id}")))?;
        Ok(Some((id, row.get(0), row.get(1))))
    }

    pub(crate) async fn next_market_seq(&self, tx: &mut crate::workflow::Tx) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM market_listings")
            .fetch_one(&mut **tx)
            .await?;
        Ok(row.get::<i64, _>(0) + 1)
    }

    /// Lists an achievement or a demand. An organisation lists in its own name and its
    /// listing waits for review; staff list for anyone (an outside owner by name) and
    /// their listing is published at once (they are the reviewers).
    pub async fn create_listing(
        &self,
        actor: &Actor,
        side: Side,
        input: &ListingInput,
    ) -> Result<String> {
        let owner = self.acting_owner(actor).await?;
        if owner.is_none() && !market_staff(actor) {
            return Err(refused(
                "forbidden",
                "只有申报主体和科技局工作人员可以发布 (only organisations and S&T staff list)",
            ));
        }
        let checked = self
            .check_listing(
                side,
                input,
                owner
                    .as_ref()
                    .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str())),
            )
            .map_err(Store::listing_errors)?;
        if owner.is_none() && !self.sees_region(actor, &checked.region) {
            return Err(refused(
                "out_of_jurisdiction",
                format!(
                    "地区 {} 不在本辖区 (region outside your jurisdiction)",
                    checked.region
                ),
            ));
        }
        let mut tx = self.begin_write(&["market".to_string()]).await?;
        let id = self.insert_listing_in(&mut tx, actor, &checked).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) async fn insert_listing_in(
        &self,
        tx: &mut crate::workflow::Tx,
        actor: &Actor,
        l: &CheckedListing,
    ) -> Result<String> {
        if let Some(owner) = &l.owner_id {
            let found = sqlx::query("SELECT id FROM applicants WHERE id = $1")
                .bind(owner)
                .fetch_optional(&mut **tx)
                .await?;
            if found.is_none() {
                return Err(StoreError::Invalid(format!(
                    "owner_id: 申报主体 {owner} 不在平台上 (no such applicant); 平台外的所有者只填名称 (give only the name of an outside owner)"
                )));
            }
        }
        let id = match &l.id {
            Some(id) => {
                let taken = sqlx::query("SELECT id FROM market_listings WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?;
                if taken.is_some() {
                    return Err(refused(
                        "duplicate",
                        format!("编号 {id} 已存在 (id {id} already exists)"),
                    ));
                }
                id.clone()
            }
            None => loop {
                let prefix = match l.side {
                    Side::Achievement => "CG",
                    Side::Demand => "XQ",
                };
                let id = format!(
                    "{prefix}{}-{:08X}",
                    self.today().year(),
                    crate::workflow::rand_u32()
                );
                let taken = sqlx::query("SELECT id FROM market_listings WHERE id = $1")
                    .bind(&id)
                    .fetch_optional(&mut **tx)
                    .await?;
                if taken.is_none() {
                    break id;
                }
            },
        };
        let owner_name = match (&l.owner_id, l.owner_name.is_empty()) {
            (Some(owner), true) => sqlx::query("SELECT name FROM applicants WHERE id = $1")
                .bind(owner)
                .fetch_one(&mut **tx)
                .await?
                .get(0),
            _ => l.owner_name.clone(),
        };
        let review = if market_staff(actor) || actor.role == Role::System {
            "published"
        } else {
            "pending"
        };
        let status = match l.side {
            Side::Achievement => "listed",
            Side::Demand => "open",
        };
        let seq = self.next_market_seq(tx).await?;
        let now = self.now();
        sqlx::query(
            "INSERT INTO market_listings (id, side, owner_applicant_id, owner_name, region, field, title, body, review, status, created_by, created_at, updated_at, seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&id)
        .bind(l.side.code())
        .bind(&l.owner_id)
        .bind(&owner_name)
        .bind(&l.region)
        .bind(&l.field)
        .bind(&l.title)
        .bind(l.body.to_string())
        .bind(review)
        .bind(status)
        .bind(format!("{}:{}", actor.role.code(), actor.id))
        .bind(&now)
        .bind(&now)
        .bind(seq)
        .execute(&mut **tx)
        .await?;
        self.audit_in(
            tx,
            actor,
            "create",
            "listing",
            &id,
            None,
            Some(&json!({"side": l.side.code(), "title": l.title, "review": review, "status": status}).to_string()),
        )
        .await?;
        Ok(id)
    }

    async fn listing_row(&self, id: &str) -> Result<ListingView> {
        let sql = format!("SELECT {LISTING_COLUMNS} FROM market_listings WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("listing {id}")))?;
        listing_from_row(&row)
    }

    /// Whether the actor may read a listing: public ones everybody (also without an
    /// account); the others their owner and the market staff of their region.
    pub fn may_read_listing(&self, actor: Option<&Actor>, l: &ListingView) -> bool {
        if l.is_public() {
            return true;
        }
        let Some(actor) = actor else { return false };
        self.may_manage_listing(actor, l)
    }

    fn may_manage_listing(&self, actor: &Actor, l: &ListingView) -> bool {
        match actor.role {
            Role::Applicant => {
                l.owner_id.is_some() && actor.applicant.as_deref() == l.owner_id.as_deref()
            }
            _ => market_staff(actor) && self.sees_region(actor, &l.region),
        }
    }

    /// One listing; not public and not the reader's: not found (its existence is private).
    pub async fn listing(&self, actor: Option<&Actor>, id: &str) -> Result<ListingView> {
        let l = self.listing_row(id).await?;
        if !self.may_read_listing(actor, &l) {
            return Err(StoreError::NotFound(format!("listing {id}")));
        }
        Ok(l)
    }

    /// Listings the actor may read, newest first: `mine` only the acting organisation's,
    /// `queue` the ones awaiting the staff's review.
    pub async fn listings(
        &self,
        actor: Option<&Actor>,
        filter: &ListingFilter,
    ) -> Result<Vec<ListingView>> {
        let mut sql = format!("SELECT {LISTING_COLUMNS} FROM market_listings WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        if let Some(side) = filter.side {
            binds.push(side.code().into());
            sql.push_str(&format!(" AND side = ${}", binds.len()));
        }
        if filter.mine {
            let Some(org) = actor.and_then(|a| a.applicant.clone()) else {
                return Ok(Vec::new());
            };
            binds.push(org);
            sql.push_str(&format!(" AND owner_applicant_id = ${}", binds.len()));
        }
        if filter.queue {
            sql.push_str(" AND review = 'pending'");
        }
        if let Some(owner) = &filter.owner {
            binds.push(owner.clone());
            sql.push_str(&format!(" AND owner_applicant_id = ${}", binds.len()));
        }
        sql.push_str(" ORDER BY created_at DESC, id");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut out = Vec::new();
        for r in &rows {
            let l = listing_from_row(r)?;
            if self.may_read_listing(actor, &l) {
                out.push(l);
            }
        }
        Ok(out)
    }

    /// Changes a listing's content. An organisation's change goes back to review.
    pub async fn update_listing(
        &self,
        actor: &Actor,
        id: &str,
        input: &ListingInput,
    ) -> Result<ListingView> {
        let before = self.listing_row(id).await?;
        if !self.may_manage_listing(actor, &before) {
            return Err(refused(
                "forbidden",
                format!("无权修改 {id} (not your listing)"),
            ));
        }
        let owner = self.acting_owner(actor).await?;
        let mut input = input.clone();
        if owner.is_none() && input.owner_id.is_none() && input.owner_name.is_none() {
            input.owner_id = before.owner_id.clone();
            input.owner_name = Some(before.owner_name.clone());
        }
        let checked = self
            .check_listing(
                before.side,
                &input,
                owner
                    .as_ref()
                    .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str())),
            )
            .map_err(Store::listing_errors)?;
        let review = if market_staff(actor) {
            before.review.clone()
        } else {
            "pending".to_string()
        };
        let mut tx = self.begin_write(&["market".to_string()]).await?;
        let seq = self.next_market_seq(&mut tx).await?;
        sqlx::query("UPDATE market_listings SET owner_applicant_id = $1, owner_name = $2, region = $3, field = $4, title = $5, body = $6, review = $7, updated_at = $8, seq = $9 WHERE id = $10")
            .bind(&checked.owner_id)
            .bind(&checked.owner_name)
            .bind(&checked.region)
            .bind(&checked.field)
            .bind(&checked.title)
            .bind(checked.body.to_string())
            .bind(&review)
            .bind(self.now())
            .bind(seq)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        self.audit_in(
            &mut tx,
            actor,
            "update",
            "listing",
            id,
            Some(&json!({"title": before.title, "review": before.review}).to_string()),
            Some(&json!({"title": checked.title, "review": review}).to_string()),
        )
        .await?;
        tx.commit().await?;
        self.listing_row(id).await
    }

    /// The light review: staff publish a listing or return it with a reason.
    pub async fn review_listing(
        &self,
        actor: &Actor,
        id: &str,
        publish: bool,
        reason: &str,
    ) -> Result<ListingView> {
        let before = self.listing_row(id).await?;
        if !market_staff(actor) || !self.sees_region(actor, &before.region) {
            return Err(refused(
                "forbidden",
                "只有本辖区科技局工作人员可以审核发布 (only the region's S&T staff review listings)",
            ));
        }
        let reason = reason.trim();
        if !publish && reason.is_empty() {
            return Err(StoreError::Invalid(
                "reason: 退回须写明理由 (a return needs a reason)".into(),
            ));
        }
        if before.review == "published" && publish {
            return Err(refused("already_published", "已发布 (already published)"));
        }
        let review = if publish { "published" } else { "returned" };
        let mut tx = self.begin_write(&["market".to_string()]).await?;
        let seq = self.next_market_seq(&mut tx).await?;
        sqlx::query("UPDATE market_listings SET review = $1, review_note = $2, updated_at = $3, seq = $4 WHERE id = $5")
            .bind(review)
            .bind((!reason.is_empty()).then_some(reason))
            .bind(self.now())
            .bind(seq)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        self.audit_in(
            &mut tx,
            actor,
            if publish { "publish" } else { "return" },
            "listing",
            id,
            Some(&json!({"review": before.review}).to_string()),
            Some(&json!({"review": review, "reason": reason}).to_string()),
        )
        .await?;
        tx.commit().await?;
        self.listing_row(id).await
    }

    /// Moves a listing along its life (洽谈中, 已转化/已解决, 已撤回): its owner or staff.
    pub async fn set_listing_status(
        &self,
        actor: &Actor,
        id: &str,
        status: &str,
    ) -> Result<ListingView> {
        let before = self.listing_row(id).await?;
        if !self.may_manage_listing(actor, &before) {
            return Err(refused(
                "forbidden",
                format!("无权修改 {id} (not your listing)"),
            ));
        }
        if !before.statuses().iter().any(|(c, _, _)| *c == status) {
            return Err(StoreError::Invalid(format!(
                "status: “{status}”; 可选 (one of): {}",
                before
                    .statuses()
                    .iter()
                    .map(|(c, zh, _)| format!("{c} {zh}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let mut tx = self.begin_write(&["market".to_string()]).await?;
        self.set_status_in(&mut tx, actor, &before, status).await?;
        tx.commit().await?;
        self.listing_row(id).await
    }

    pub(crate) async fn set_status_in(
        &self,
        tx: &mut crate::workflow::Tx,
        actor: &Actor,
        before: &ListingView,
        status: &str,
    ) -> Result<()> {
        if before.status == status {
            return Ok(());
        }
        let seq = self.next_market_seq(tx).await?;
        sqlx::query(
            "UPDATE market_listings SET status = $1, updated_at = $2, seq = $3 WHERE id = $4",
        )
        .bind(status)
        .bind(self.now())
        .bind(seq)
        .bind(&before.id)
        .execute(&mut **tx)
        .await?;
        self.audit_in(
            tx,
            actor,
            "status",
            "listing",
            &before.id,
            Some(&json!({"status": before.status}).to_string()),
            Some(&json!({"status": status}).to_string()),
        )
        .await?;
        Ok(())
    }

    /// Listings changed after `seq`, with the newest seq: what an index needs to catch up.
    pub async fn listings_changed_since(&self, seq: i64) -> Result<(Vec<ListingView>, i64)> {
        let sql =
            format!("SELECT {LISTING_COLUMNS} FROM market_listings WHERE seq > $1 ORDER BY seq");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(seq)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut top = seq;
        for r in &rows {
            let l = listing_from_row(r)?;
            top = top.max(l.seq);
            out.push(l);
        }
        Ok((out, top))
    }

    /// The market's change counter as stored.
    pub async fn market_seq(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM market_listings")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get(0))
    }
}

/// Which listings to list.
#[derive(Clone, Debug, Default)]
pub struct ListingFilter {
    pub side: Option<Side>,
    /// Only the acting organisation's own.
    pub mine: bool,
    /// Only those awaiting review.
    pub queue: bool,
    /// Only one owner's (一企一档).
    pub owner: Option<String>,
}

/// Import columns per side, in file order; `*` marks a required column.
pub fn import_columns(side: Side) -> &'static [&'static str] {
    match side {
        Side::Achievement => &[
            "id",
            "title*",
            "owner*",
            "owner_id",
            "field*",
            "keywords",
            "abstract*",
            "maturity*",
            "ip",
            "transfer_mode",
            "price",
            "region*",
            "contact",
        ],
        Side::Demand => &[
            "id",
            "title*",
            "enterprise*",
            "owner_id",
            "field*",
            "problem*",
            "keywords",
            "budget",
            "deadline",
            "region*",
            "maturity",
            "contact",
        ],
    }
}

impl Store {
    /// Checks an import of listings (CSV or the first xlsx sheet, as `kc-tabular` reads it):
    /// every problem named by file, row and column; nothing is written. Columns the format
    /// does not know are refused; `owner_kind` (the sample's) is accepted and ignored.
    pub fn validate_listing_import(
        &self,
        side: Side,
        file: &str,
        headers: &[String],
        rows: &[(usize, Vec<String>)],
    ) -> std::result::Result<Vec<CheckedListing>, Vec<RowError>> {
        let mut errors = Vec::new();
        let known = import_columns(side);
        let col = |name: &str| headers.iter().position(|h| h == name);
        for h in headers {
            if h != "owner_kind" && !known.iter().any(|k| k.trim_end_matches('*') == h) {
                errors.push(RowError {
                    file: file.into(),
                    row: 1,
                    column: h.clone(),
                    message: format!(
                        "未知的列 (unknown column); 可用的列 (columns): {}",
                        known.join(", ")
                    ),
                });
            }
        }
        for k in known.iter().filter(|k| k.ends_with('*')) {
            let k = k.trim_end_matches('*');
            if col(k).is_none() {
                errors.push(RowError {
                    file: file.into(),
                    row: 1,
                    column: k.into(),
                    message: "缺少必需的列 (a required column is missing)".into(),
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (row, cells) in rows {
            let get = |name: &str| {
                col(name)
                    .and_then(|i| cells.get(i))
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
            };
            let (owner_col, text_col, price_col) = match side {
                Side::Achievement => ("owner", "abstract", "price"),
                Side::Demand => ("enterprise", "problem", "budget"),
            };
            let input = ListingInput {
                id: get("id"),
                title: get("title").unwrap_or_default(),
                field: get("field").unwrap_or_default(),
                keywords: get("keywords").into_iter().collect(),
                text: get(text_col).unwrap_or_default(),
                maturity: get("maturity"),
                ip: get("ip"),
                transfer_mode: get("transfer_mode"),
                price: get(price_col),
                deadline: get("deadline"),
                region: get("region"),
                contact: get("contact"),
                owner_id: get("owner_id"),
                owner_name: get(owner_col),
            };
            match self.check_listing(side, &input, None) {
                Ok(c) => {
                    if let Some(id) = &c.id
                        && !seen.insert(id.clone())
                    {
                        errors.push(RowError {
                            file: file.into(),
                            row: *row,
                            column: "id".into(),
                            message: format!("编号 {id} 在文件中重复 (duplicate id in the file)"),
                        });
                    }
                    out.push(c)
                }
                Err(found) => {
                    for (column, message) in found {
                        let column = match column.as_str() {
                            "text" => text_col.to_string(),
                            "price" => price_col.to_string(),
                            "owner_name" => owner_col.to_string(),
                            _ => column,
                        };
                        errors.push(RowError {
                            file: file.into(),
                            row: *row,
                            column,
                            message,
                        });
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// Writes checked listings in one transaction, all or nothing, published (staff import
    /// them); with `fair`, they also join that 对接会. Returns the ids in file order.
    pub async fn import_listings(
        &self,
        actor: &Actor,
        listings: &[CheckedListing],
        fair: Option<&str>,
    ) -> Result<Vec<String>> {
        if !market_staff(actor) && actor.role != Role::System {
            return Err(refused(
                "forbidden",
                "只有科技局工作人员可以批量导入 (only S&T staff import listings)",
            ));
        }
        for l in listings {
            if !self.sees_region(actor, &l.region) {
                return Err(refused(
                    "out_of_jurisdiction",
                    format!(
                        "“{}”所在地区 {} 不在本辖区 (region outside your jurisdiction)",
                        l.title, l.region
                    ),
                ));
            }
        }
        let mut tx = self.begin_write(&["market".to_string()]).await?;
        if let Some(f) = fair {
            self.fair_row_in(&mut tx, actor, f).await?;
        }
        let mut ids = Vec::with_capacity(listings.len());
        for l in listings {
            let id = self.insert_listing_in(&mut tx, actor, l).await?;
            if let Some(f) = fair {
                sqlx::query(
                    "INSERT INTO market_fair_listings (fair_id, listing_id) VALUES ($1, $2)",
                )
                .bind(f)
                .bind(&id)
                .execute(&mut **tx)
                .await?;
            }
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Listings as a table for export: the import columns plus review, status and dates.
    pub async fn listings_table(
        &self,
        actor: &Actor,
        side: Side,
    ) -> Result<(Vec<String>, Vec<Vec<String>>)> {
        let all = self
            .listings(
                Some(actor),
                &ListingFilter {
                    side: Some(side),
                    ..Default::default()
                },
            )
            .await?;
        let mut headers: Vec<String> = import_columns(side)
            .iter()
            .map(|c| c.trim_end_matches('*').to_string())
            .collect();
        headers.extend(["review", "status", "created_at"].map(String::from));
        let rows = all
            .iter()
            .map(|l| {
                headers
                    .iter()
                    .map(|h| match h.as_str() {
                        "id" => l.id.clone(),
                        "title" => l.title.clone(),
                        "owner" | "enterprise" => l.owner_name.clone(),
                        "owner_id" => l.owner_id.clone().unwrap_or_default(),
                        "field" => l.field.clone(),
                        "keywords" => l.keywords.join("；"),
                        "abstract" | "problem" => l.text.clone(),
                        "maturity" => l.maturity.map(|m| m.code().to_string()).unwrap_or_default(),
                        "ip" => l.ip.clone().unwrap_or_default(),
                        "transfer_mode" => l.transfer_mode.clone().unwrap_or_default(),
                        "price" | "budget" => l.price.map(|p| p.plain()).unwrap_or_default(),
                        "deadline" => l.deadline.clone().unwrap_or_default(),
                        "region" => l.region.clone(),
                        "contact" => l.contact.clone().unwrap_or_default(),
                        "review" => l.review.clone(),
                        "status" => l.status.clone(),
                        "created_at" => l.created_at.clone(),
                        _ => String::new(),
                    })
                    .collect()
            })
            .collect();
        Ok((headers, rows))
    }
}

//! 技术合同认定登记 (technology-contract registration). A registration institution (an
//! applicant of kind `contract_registration_institution`) or the market staff record a
//! contract; the registered contract is an event of its seller (`contract_registered`), so
//! the engine decides 聊政字〔2020〕15号 四(一) with its trace — the rate by contract type, the
//! yearly cap, one award per transfer activity, the increment of a repeated transfer — and the
//! seller finds a prepared application instead of typing the contract in again. After a year
//! closes, its registrations become the yearly events of the institutions that registered and
//! brokered them: 沈政发〔2021〕11号 (十八) (the registration institution's reward on its
//! 技术交易额) and 四(二) (a municipal transfer institution's turnover).

use super::{market_staff, parse_yuan};
use crate::workflow::refused;
use crate::{Actor, Result, Store, StoreError};
use kc_domain::{Role, from_fen, to_fen};
use kc_money::Money;
use serde::{Deserialize, Serialize};
use serde_json::{Value as J, json};
use sqlx::Row;

/// Contract types as registered: (code, 中文, English, the engine's `ContractType`). A
/// licence is registered as its own type but the vocabulary counts it a transfer (技术转让合同
/// 含专利、技术秘密的转让与许可).
pub const CONTRACT_TYPES: &[(&str, &str, &str, &str)] = &[
    (
        "development",
        "技术开发",
        "Technology development",
        "tech_development",
    ),
    (
        "transfer",
        "技术转让",
        "Technology transfer",
        "tech_transfer",
    ),
    ("license", "技术许可", "Technology licence", "tech_transfer"),
    (
        "consulting",
        "技术咨询",
        "Technology consulting",
        "tech_consulting",
    ),
    ("service", "技术服务", "Technology service", "tech_service"),
];

/// A contract as the registration institution enters it. Amounts are yuan as decimal text.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractInput {
    /// 登记编号.
    pub reg_no: String,
    pub contract_type: String,
    pub title: String,
    pub seller_id: String,
    #[serde(default)]
    pub seller_name: Option<String>,
    #[serde(default)]
    pub seller_region: Option<String>,
    pub buyer_id: String,
    #[serde(default)]
    pub buyer_name: Option<String>,
    #[serde(default)]
    pub buyer_region: Option<String>,
    /// The technology transfer institution that brokered it (居间), if any.
    #[serde(default)]
    pub broker_id: Option<String>,
    #[serde(default)]
    pub achievement_id: Option<String>,
    #[serde(default)]
    pub demand_id: Option<String>,
    /// The project or technology transferred; defaults to the achievement.
    #[serde(default)]
    pub item: Option<String>,
    /// The technology-transfer activity (同一项技术转移活动仅补助一次); defaults to the contract.
    #[serde(default)]
    pub activity: Option<String>,
    /// 合同成交额.
    pub amount: String,
    /// 技术交易额 (the technical part of the amount).
    pub tech_amount: String,
    pub signed_on: String,
    /// Defaults to today.
    #[serde(default)]
    pub registered_on: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Contract {
    pub reg_no: String,
    pub contract_type: String,
    pub title: String,
    pub seller_id: String,
    pub seller_name: String,
    pub seller_region: String,
    pub buyer_id: String,
    pub buyer_name: String,
    pub buyer_region: String,
    pub broker_id: Option<String>,
    pub achievement_id: Option<String>,
    pub demand_id: Option<String>,
    pub item: String,
    #[serde(serialize_with = "super::money_text")]
    pub amount: Money,
    #[serde(serialize_with = "super::money_text")]
    pub tech_amount: Money,
    pub signed_on: String,
    pub registered_on: String,
    pub institution_id: String,
    pub event_id: Option<String>,
}

/// What a registration did: the contract, the seller's event and the applications it opened.
#[derive(Clone, Debug, Serialize)]
pub struct Registered {
    pub reg_no: String,
    pub event_id: Option<String>,
    pub applications: Vec<String>,
}

/// One line of the yearly statistics.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct StatLine {
    pub key: String,
    pub label: String,
    pub contracts: usize,
    #[serde(serialize_with = "super::money_text")]
    pub amount: Money,
    #[serde(serialize_with = "super::money_text")]
    pub tech_amount: Money,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ContractStats {
    pub year: i32,
    pub total: StatLine,
    pub by_institution: Vec<StatLine>,
    /// By the seller's district (技术输出地).
    pub by_district: Vec<StatLine>,
    pub by_type: Vec<StatLine>,
}

/// What closing a year produced.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Settlement {
    pub year: i32,
    /// (institution, event id, applications) per registration institution.
    pub registration: Vec<(String, String, Vec<String>)>,
    /// (broker, event id, applications) per transfer institution.
    pub brokers: Vec<(String, String, Vec<String>)>,
    /// Institutions whose year was closed before.
    pub already: Vec<String>,
}

const CONTRACT_COLUMNS: &str = "reg_no, contract_type, title, seller_id, seller_name, seller_region, buyer_id, buyer_name, buyer_region, broker_id, achievement_id, demand_id, item, amount_fen, tech_amount_fen, signed_on, registered_on, institution_id, event_id";

fn contract_from_row(r: &sqlx::any::AnyRow) -> Contract {
    Contract {
        reg_no: r.get(0),
        contract_type: r.get(1),
        title: r.get(2),
        seller_id: r.get(3),
        seller_name: r.get(4),
        seller_region: r.get(5),
        buyer_id: r.get(6),
        buyer_name: r.get(7),
        buyer_region: r.get(8),
        broker_id: r.get(9),
        achievement_id: r.get(10),
        demand_id: r.get(11),
        item: r.get(12),
        amount: from_fen(r.get(13)),
        tech_amount: from_fen(r.get(14)),
        signed_on: r.get(15),
        registered_on: r.get(16),
        institution_id: r.get(17),
        event_id: r.get(18),
    }
}

fn invalid(field: &str, message: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("{field}: {message}"))
}

impl Store {
    /// Who registers: a registration institution acting for itself, or market staff.
    async fn registrar(&self, actor: &Actor) -> Result<String> {
        if market_staff(actor) {
            return Ok(format!("staff:{}", actor.id));
        }
        if actor.role == Role::Applicant
            && let Some(org) = &actor.applicant
        {
            let kind: Option<String> = sqlx::query("SELECT kind FROM applicants WHERE id = $1")
                .bind(org)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.get(0));
            if kind.as_deref() == Some("contract_registration_institution") {
                return Ok(org.clone());
            }
        }
        Err(refused(
            "forbidden",
            "只有技术合同登记机构和科技局工作人员可以认定登记合同 (only a contract registration institution or S&T staff registers contracts)",
        ))
    }

    /// A party of a contract: on the platform its record's name and region win; outside it
    /// the name and region must be given.
    async fn party(
        &self,
        role: &str,
        id: &str,
        name: &Option<String>,
        region: &Option<String>,
    ) -> Result<(String, String, String, bool)> {
        let uscc = kc_domain::Uscc::parse(id.trim())
            .map_err(|e| invalid(&format!("{role}_id"), format!("“{id}”: {e}")))?
            .to_string();
        let row = sqlx::query("SELECT name, region FROM applicants WHERE id = $1")
            .bind(&uscc)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(r) = row {
            return Ok((uscc, r.get(0), r.get(1), true));
        }
        let name = name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                invalid(
                    &format!("{role}_name"),
                    "不在平台上的当事人须填写名称 (a party outside the platform needs a name)",
                )
            })?;
        let region = region
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                invalid(
                    &format!("{role}_region"),
                    "不在平台上的当事人须填写所在地区 (a party outside the platform needs a region)",
                )
            })?;
        if !self.is_region(region) {
            return Err(invalid(
                &format!("{role}_region"),
                format!("“{region}”不是地区代码 (unknown region)"),
            ));
        }
        Ok((uscc, name.to_string(), region.to_string(), false))
    }

    /// Registers a technology contract (技术合同认定登记) and turns it into the seller's
    /// `contract_registered` event with the applications the engine opens for it.
    pub async fn register_contract(
        &self,
        actor: &Actor,
        input: &ContractInput,
    ) -> Result<Registered> {
        let institution = self.registrar(actor).await?;
        let reg_no = input.reg_no.trim().to_string();
        if reg_no.is_empty()
            || reg_no.len() > 40
            || !reg_no
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "reg_no",
                format!(
                    "登记编号“{reg_no}”须为1–40位字母、数字、-、_ (1–40 ASCII letters, digits, - or _)"
                ),
            ));
        }
        let Some((ctype, _, _, engine_type)) = CONTRACT_TYPES.iter().find(|(c, zh, _, _)| {
            *c == input.contract_type.trim() || *zh == input.contract_type.trim()
        }) else {
            return Err(invalid(
                "contract_type",
                format!(
                    "“{}”; 可选 (one of): 技术开发, 技术转让, 技术许可, 技术咨询, 技术服务",
                    input.contract_type
                ),
            ));
        };
        let title = input.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(invalid(
                "title",
                "合同名称必填,至多200字 (a title of at most 200 characters)",
            ));
        }
        let (seller_id, seller_name, seller_region, seller_on) = self
            .party(
                "seller",
                &input.seller_id,
                &input.seller_name,
                &input.seller_region,
            )
            .await?;
        let (buyer_id, buyer_name, buyer_region, _) = self
            .party(
                "buyer",
                &input.buyer_id,
                &input.buyer_name,
                &input.buyer_region,
            )
            .await?;
        if seller_id == buyer_id {
            return Err(invalid(
                "buyer_id",
                "买方与卖方是同一单位,不构成技术交易 (seller and buyer are the same organisation)",
            ));
        }
        let broker_id = match input
            .broker_id
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
        {
            None => None,
            Some(b) => {
                let u = kc_domain::Uscc::parse(b)
                    .map_err(|e| invalid("broker_id", format!("“{b}”: {e}")))?
                    .to_string();
                let kind: Option<String> = sqlx::query("SELECT kind FROM applicants WHERE id = $1")
                    .bind(&u)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|r| r.get(0));
                if !matches!(
                    kind.as_deref(),
                    Some("tech_transfer_institution" | "university" | "research_institute")
                ) {
                    return Err(invalid(
                        "broker_id",
                        format!(
                            "{u} 不是平台上的技术转移服务机构 (not a technology transfer institution on the platform)"
                        ),
                    ));
                }
                Some(u)
            }
        };
        let amount = parse_yuan(&input.amount).map_err(|e| invalid("amount", e))?;
        let tech_amount = parse_yuan(&input.tech_amount).map_err(|e| invalid("tech_amount", e))?;
        if tech_amount > amount {
            return Err(invalid(
                "tech_amount",
                format!(
                    "技术交易额 {} 元大于合同成交额 {} 元 (the technical part exceeds the contract amount)",
                    tech_amount.grouped(),
                    amount.grouped()
                ),
            ));
        }
        let date = |f: &str, v: &str| -> Result<jiff::civil::Date> {
            v.trim()
                .parse()
                .map_err(|_| invalid(f, format!("“{v}”不是日期 YYYY-MM-DD (not a date)")))
        };
        let signed = date("signed_on", &input.signed_on)?;
        let registered = match input
            .registered_on
            .as_deref()
            .filter(|d| !d.trim().is_empty())
        {
            Some(d) => date("registered_on", d)?,
            None => self.today(),
        };
        if registered < signed {
            return Err(invalid(
                "registered_on",
                format!("登记日期 {registered} 早于签订日期 {signed} (registered before signed)"),
            ));
        }
        if registered > self.today() {
            return Err(invalid(
                "registered_on",
                format!("登记日期 {registered} 在今天之后 (in the future)"),
            ));
        }
        let linked = |id: &Option<String>| {
            id.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let achievement_id = linked(&input.achievement_id);
        let demand_id = linked(&input.demand_id);
        for (id, side, field) in [
            (&achievement_id, "achievement", "achievement_id"),
            (&demand_id, "demand", "demand_id"),
        ] {
            if let Some(id) = id {
                let l = self
                    .listing_row(id)
                    .await
                    .map_err(|_| invalid(field, format!("{id} 不存在 (no such listing)")))?;
                if l.side.code() != side {
                    return Err(invalid(
                        field,
                        format!(
                            "{id} 不是{} (wrong side)",
                            if side == "demand" {
                                "技术需求"
                            } else {
                                "科技成果"
                            }
                        ),
                    ));
                }
            }
        }
        let item = linked(&input.item)
            .or_else(|| achievement_id.clone())
            .ok_or_else(|| {
                invalid(
                    "item",
                    "须写明转让的项目或技术,或关联科技成果 (name the project or link the achievement): 同一项目多次转让仅就增值部分补助",
                )
            })?;
        let activity = linked(&input.activity).unwrap_or_else(|| reg_no.clone());
        for (f, v) in [("item", &item), ("activity", &activity)] {
            if v.chars().count() > 100 {
                return Err(invalid(f, "至多100字 (at most 100 characters)"));
            }
        }
        if !self.sees_region(actor, &seller_region) && !self.sees_region(actor, &buyer_region) {
            return Err(refused(
                "out_of_jurisdiction",
                "买卖双方都不在本辖区 (neither party is in your jurisdiction)",
            ));
        }
        let mut locks = vec!["market".to_string(), format!("contract:{reg_no}")];
        if seller_on {
            locks.push(format!("applicant:{seller_id}"));
        }
        let mut tx = self.begin_write(&locks).await?;
        let taken = sqlx::query("SELECT reg_no FROM tech_contracts WHERE reg_no = $1")
            .bind(&reg_no)
            .fetch_optional(&mut **tx)
            .await?;
        if taken.is_some() {
            return Err(refused(
                "duplicate",
                format!("登记编号 {reg_no} 已登记 (this registration number exists)"),
            ));
        }
        // The seller's city: a buyer inside it converts the result locally (在市内转化).
        let seller_city = self.region_path(&seller_region).get(1).cloned();
        let local = seller_city
            .as_deref()
            .is_some_and(|c| self.jurisdictions().contains(c, &buyer_region));
        let mut event_id = None;
        let mut applications = Vec::new();
        if seller_on {
            let id = format!("contract-{reg_no}");
            let event = json!({
                "id": id,
                "kind": "contract_registered",
                "date": registered.to_string(),
                "contract_type": engine_type,
                "amount": amount.plain(),
                "activity": activity,
                "item": item,
                "local_conversion": local,
            });
            self.add_event_in(&mut tx, actor, &seller_id, &event)
                .await?;
            applications = self
                .applications_for_event_in(&mut tx, actor, &seller_id, &id, true)
                .await?;
            event_id = Some(id);
        }
        sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO tech_contracts ({CONTRACT_COLUMNS}, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)")))
            .bind(&reg_no)
            .bind(*ctype)
            .bind(title)
            .bind(&seller_id)
            .bind(&seller_name)
            .bind(&seller_region)
            .bind(&buyer_id)
            .bind(&buyer_name)
            .bind(&buyer_region)
            .bind(&broker_id)
            .bind(&achievement_id)
            .bind(&demand_id)
            .bind(&item)
            .bind(to_fen(amount))
            .bind(to_fen(tech_amount))
            .bind(signed.to_string())
            .bind(registered.to_string())
            .bind(&institution)
            .bind(&event_id)
            .bind(format!("{}:{}", actor.role.code(), actor.id))
            .bind(self.now())
            .execute(&mut **tx)
            .await?;
        // The listings the contract settles move on: the achievement is transferred (or
        // licensed) and the demand solved.
        for (id, status) in [
            (
                &achievement_id,
                if matches!(*ctype, "transfer" | "license") {
                    "transferred"
                } else {
                    "negotiating"
                },
            ),
            (&demand_id, "solved"),
        ] {
            if let Some(id) = id {
                let l = self.listing_row(id).await?;
                if l.status != "withdrawn" {
                    self.set_status_in(&mut tx, actor, &l, status).await?;
                }
            }
        }
        self.audit_in(
            &mut tx,
            actor,
            "register",
            "contract",
            &reg_no,
            None,
            Some(
                &json!({
                    "type": ctype, "seller": seller_id, "buyer": buyer_id, "amount": amount.plain(),
                    "tech_amount": tech_amount.plain(), "registered_on": registered.to_string(),
                    "event": event_id, "applications": applications,
                })
                .to_string(),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(Registered {
            reg_no,
            event_id,
            applications,
        })
    }

    fn may_see_contract(&self, actor: &Actor, c: &Contract) -> bool {
        match actor.role {
            Role::Applicant => actor.applicant.as_deref().is_some_and(|org| {
                [
                    Some(c.seller_id.as_str()),
                    Some(c.buyer_id.as_str()),
                    c.broker_id.as_deref(),
                    Some(c.institution_id.as_str()),
                ]
                .contains(&Some(org))
            }),
            Role::Reviewer | Role::Admin | Role::Finance => {
                self.sees_region(actor, &c.seller_region)
                    || self.sees_region(actor, &c.buyer_region)
            }
            _ => false,
        }
    }

    /// Registered contracts the actor may see (its own as a party, registrar or broker; staff
    /// those of their jurisdiction), newest first; `year` filters by registration year.
    pub async fn contracts(&self, actor: &Actor, year: Option<i32>) -> Result<Vec<Contract>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONTRACT_COLUMNS} FROM tech_contracts ORDER BY registered_on DESC, reg_no"
        )))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(contract_from_row)
            .filter(|c| year.is_none_or(|y| c.registered_on.starts_with(&format!("{y:04}-"))))
            .filter(|c| self.may_see_contract(actor, c))
            .collect())
    }

    pub async fn contract(&self, actor: &Actor, reg_no: &str) -> Result<Contract> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONTRACT_COLUMNS} FROM tech_contracts WHERE reg_no = $1"
        )))
        .bind(reg_no)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("contract {reg_no}")))?;
        let c = contract_from_row(&row);
        if !self.may_see_contract(actor, &c) {
            return Err(StoreError::NotFound(format!("contract {reg_no}")));
        }
        Ok(c)
    }

    /// The year's registrations in the actor's view: totals per registration institution,
    /// per district of the seller, and per contract type.
    pub async fn contract_stats(&self, actor: &Actor, year: i32) -> Result<ContractStats> {
        let all = self.contracts(actor, Some(year)).await?;
        let names: std::collections::HashMap<String, String> =
            sqlx::query("SELECT id, name FROM applicants")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
        let mut stats = ContractStats {
            year,
            total: StatLine {
                key: "total".into(),
                label: "合计 Total".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        fn add(lines: &mut Vec<StatLine>, key: &str, label: String, c: &Contract) {
            let i = match lines.iter().position(|l| l.key == key) {
                Some(i) => i,
                None => {
                    lines.push(StatLine {
                        key: key.into(),
                        label,
                        ..Default::default()
                    });
                    lines.len() - 1
                }
            };
            let l = &mut lines[i];
            l.contracts += 1;
            l.amount = l.amount + c.amount;
            l.tech_amount = l.tech_amount + c.tech_amount;
        }
        for c in &all {
            stats.total.contracts += 1;
            stats.total.amount = stats.total.amount + c.amount;
            stats.total.tech_amount = stats.total.tech_amount + c.tech_amount;
            let inst = names
                .get(&c.institution_id)
                .cloned()
                .unwrap_or_else(|| c.institution_id.clone());
            add(&mut stats.by_institution, &c.institution_id, inst, c);
            add(
                &mut stats.by_district,
                &c.seller_region,
                self.jurisdictions().zh(&c.seller_region).to_string(),
                c,
            );
            let t = CONTRACT_TYPES
                .iter()
                .find(|t| t.0 == c.contract_type)
                .map(|t| t.1)
                .unwrap_or("");
            add(&mut stats.by_type, &c.contract_type, t.to_string(), c);
        }
        for lines in [
            &mut stats.by_institution,
            &mut stats.by_district,
            &mut stats.by_type,
        ] {
            lines.sort_by(|a, b| b.tech_amount.cmp(&a.tech_amount).then(a.key.cmp(&b.key)));
        }
        Ok(stats)
    }

    /// Closes a year of registrations (staff, after the year ended): each registration
    /// institution on the platform gets its `contract_registration_volume` event (the year's
    /// 技术交易额 it registered; (十八)); each transfer institution that brokered contracts gets
    /// its `transfer_service_year` event with the year's 技术合同成交额 as its verified
    /// `contract_turnover` figure (四(二)). Closing a year twice changes nothing.
    pub async fn settle_contract_year(&self, actor: &Actor, year: i32) -> Result<Settlement> {
        if !market_staff(actor) || actor.jurisdiction.is_some() {
            return Err(refused(
                "forbidden",
                "年度结算由全平台科技局工作人员进行 (the platform's S&T staff close a year)",
            ));
        }
        if year >= self.today().year() as i32 {
            return Err(invalid(
                "year",
                format!("{year}年尚未结束,不能结算 (the year has not ended)"),
            ));
        }
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONTRACT_COLUMNS} FROM tech_contracts WHERE registered_on >= $1 AND registered_on <= $2 ORDER BY reg_no"
        )))
        .bind(format!("{year:04}-01-01"))
        .bind(format!("{year:04}-12-31"))
        .fetch_all(&self.pool)
        .await?;
        let contracts: Vec<Contract> = rows.iter().map(contract_from_row).collect();
        let mut volume: std::collections::BTreeMap<String, Money> = Default::default();
        let mut brokered: std::collections::BTreeMap<String, (Money, Vec<String>)> =
            Default::default();
        for c in &contracts {
            if !c.institution_id.starts_with("staff:") {
                {
                    let v = volume
                        .entry(c.institution_id.clone())
                        .or_insert(Money::ZERO);
                    *v = *v + c.tech_amount;
                }
            }
            if let Some(b) = &c.broker_id {
                let e = brokered
                    .entry(b.clone())
                    .or_insert((Money::ZERO, Vec::new()));
                e.0 = e.0 + c.amount;
                e.1.push(c.buyer_region.clone());
            }
        }
        let mut out = Settlement {
            year,
            ..Default::default()
        };
        let year_end = format!("{year:04}-12-31");
        for (inst, vol) in &volume {
            let id = format!("regvol-{inst}-{year}");
            let mut tx = self.begin_write(&[format!("applicant:{inst}")]).await?;
            let exists = sqlx::query("SELECT id FROM events WHERE id = $1")
                .bind(&id)
                .fetch_optional(&mut **tx)
                .await?;
            if exists.is_some() {
                out.already.push(inst.clone());
                continue;
            }
            let event = json!({"id": id, "kind": "contract_registration_volume", "date": year_end, "registration_year": year, "registered_volume": vol.plain()});
            self.add_event_in(&mut tx, actor, inst, &event).await?;
            let apps = self
                .applications_for_event_in(&mut tx, actor, inst, &id, true)
                .await?;
            tx.commit().await?;
            out.registration.push((inst.clone(), id, apps));
        }
        for (broker, (turnover, buyer_regions)) in &brokered {
            let id = format!("transfer-{broker}-{year}");
            let mut tx = self.begin_write(&[format!("applicant:{broker}")]).await?;
            let exists = sqlx::query("SELECT id FROM events WHERE id = $1")
                .bind(&id)
                .fetch_optional(&mut **tx)
                .await?;
            if exists.is_some() {
                out.already.push(broker.clone());
                continue;
            }
            let mut profile: J = self.profile_in(&mut tx, broker).await?;
            let region = profile["region"].as_str().unwrap_or("").to_string();
            let city = self.region_path(&region).get(1).cloned();
            let local = city.as_deref().is_some_and(|c| {
                buyer_regions
                    .iter()
                    .any(|r| self.jurisdictions().contains(c, r))
            });
            // The year's turnover is the platform's own figure: it replaces a declared one.
            if !profile["figures"].is_object() {
                profile["figures"] = json!({});
            }
            if !profile["figures"][year.to_string()].is_object() {
                profile["figures"][year.to_string()] = json!({});
            }
            profile["figures"][year.to_string()]["contract_turnover"] = json!(turnover.plain());
            self.upsert_applicant_in(&mut tx, actor, &profile).await?;
            let event = json!({"id": id, "kind": "transfer_service_year", "date": year_end, "service_year": year, "local_conversion": local});
            self.add_event_in(&mut tx, actor, broker, &event).await?;
            let apps = self
                .applications_for_event_in(&mut tx, actor, broker, &id, true)
                .await?;
            tx.commit().await?;
            out.brokers.push((broker.clone(), id, apps));
        }
        Ok(out)
    }
}

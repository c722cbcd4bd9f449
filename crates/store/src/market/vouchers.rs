//! 创新券 (innovation vouchers) on the 科技条件平台: a catalogue of services by registered
//! service institutions; a yearly quota issued by staff to an eligible SME; service orders
//! the SME places against its quota; and the redemption, with the contract and the receipt,
//! which makes two events of the engine — the SME's `voucher_service_purchased` (沈政发〔2021〕11号
//! (十八): up to 60% of the service amount; 聊政字〔2020〕15号 五(三): province 60% + city 30%)
//! and the institution's `voucher_service_delivered` (五(三): 5%, at most 50万元 a year).
//!
//! The abuse rules are checked at redemption, each refusal with its reason: an order or a
//! receipt redeemed once only; never above the quota; never after the voucher's expiry; never
//! between related parties (the same 统一社会信用代码, or a declared relation).

use super::{market_staff, parse_yuan};
use crate::workflow::refused;
use crate::{Actor, Result, Store, StoreError};
use kc_domain::{Role, from_fen, to_fen};
use kc_money::Money;
use serde::Serialize;
use serde_json::json;
use sqlx::Row;

/// Service categories of the catalogue: (code, 中文, English).
pub const SERVICE_CATEGORIES: &[(&str, &str, &str)] = &[
    ("instrument_sharing", "大型仪器共享", "Instrument sharing"),
    ("testing", "检验检测", "Testing"),
    ("rd_design", "研发设计", "R&D design"),
];

/// Applicant kinds that offer services on the platform.
pub const PROVIDER_KINDS: &[&str] = &["service_institution", "university", "research_institute"];

#[derive(Clone, Debug, Serialize)]
pub struct Service {
    pub id: String,
    pub institution_id: String,
    pub institution_name: String,
    pub region: String,
    pub name: String,
    pub category: String,
    pub description: String,
    pub active: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Voucher {
    pub id: String,
    pub applicant_id: String,
    pub applicant_name: String,
    pub year: i32,
    #[serde(serialize_with = "super::money_text")]
    pub quota: Money,
    pub valid_until: String,
    /// Redeemed so far.
    #[serde(serialize_with = "super::money_text")]
    pub redeemed: Money,
    pub orders: Vec<Order>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Order {
    pub id: String,
    pub voucher_id: String,
    pub service_id: String,
    pub service_name: String,
    pub institution_id: String,
    pub institution_name: String,
    #[serde(serialize_with = "super::money_text")]
    pub amount: Money,
    pub state: String,
    pub contract_no: Option<String>,
    pub receipt_no: Option<String>,
    pub redeemed_on: Option<String>,
}

/// What a redemption produced: the two events and the applications they opened.
#[derive(Clone, Debug, Serialize)]
pub struct Redeemed {
    pub order: String,
    pub events: Vec<String>,
    pub applications: Vec<String>,
}

fn invalid(field: &str, message: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("{field}: {message}"))
}

impl Store {
    async fn applicant_kind_region(
        &self,
        id: &str,
    ) -> Result<(String, String, String, serde_json::Value)> {
        let row = sqlx::query("SELECT name, kind, region, profile FROM applicants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("applicant {id}")))?;
        let profile = serde_json::from_str(&row.get::<String, _>(3)).unwrap_or_default();
        Ok((row.get(0), row.get(1), row.get(2), profile))
    }

    /// Adds a service to the catalogue: a service institution for itself, or staff for one.
    pub async fn add_service(
        &self,
        actor: &Actor,
        institution: Option<&str>,
        name: &str,
        category: &str,
        description: &str,
    ) -> Result<String> {
        let institution = match (actor.role, &actor.applicant, institution) {
            (Role::Applicant, Some(org), None) => org.clone(),
            (Role::Applicant, Some(org), Some(i)) if i == org => org.clone(),
            (_, _, Some(i)) if market_staff(actor) => i.to_string(),
            _ => {
                return Err(refused(
                    "forbidden",
                    "服务由服务机构本身或科技局工作人员登记 (a service institution lists its own services; staff list for one)",
                ));
            }
        };
        let (_, kind, region, _) = self.applicant_kind_region(&institution).await?;
        if !PROVIDER_KINDS.contains(&kind.as_str()) {
            return Err(refused(
                "not_provider",
                format!(
                    "{institution} 不是科技服务机构、高校或科研院所,不能登记服务 (not a registered service provider)"
                ),
            ));
        }
        if market_staff(actor) && !self.sees_region(actor, &region) {
            return Err(refused(
                "out_of_jurisdiction",
                "服务机构不在本辖区 (the institution is outside your jurisdiction)",
            ));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid(
                "name",
                "服务名称必填,至多100字 (a name of at most 100 characters)",
            ));
        }
        let Some((cat, _, _)) = SERVICE_CATEGORIES
            .iter()
            .find(|(c, zh, _)| *c == category.trim() || *zh == category.trim())
        else {
            return Err(invalid(
                "category",
                format!(
                    "“{category}”; 可选 (one of): instrument_sharing 大型仪器共享, testing 检验检测, rd_design 研发设计"
                ),
            ));
        };
        if description.chars().count() > 2000 {
            return Err(invalid(
                "description",
                "至多2000字 (at most 2000 characters)",
            ));
        }
        let mut tx = self.begin_write(&["market".to_string()]).await?;
        let id = format!("FW{:08X}", crate::workflow::rand_u32());
        sqlx::query("INSERT INTO market_services (id, institution_id, name, category, description, active, created_by, created_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7)")
            .bind(&id)
            .bind(&institution)
            .bind(name)
            .bind(*cat)
            .bind(description.trim())
            .bind(format!("{}:{}", actor.role.code(), actor.id))
            .bind(self.now())
            .execute(&mut **tx)
            .await?;
        self.audit_in(
            &mut tx,
            actor,
            "create",
            "service",
            &id,
            None,
            Some(&json!({"institution": institution, "name": name, "category": cat}).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The service catalogue (public: the platform advertises it).
    pub async fn services(&self) -> Result<Vec<Service>> {
        let rows = sqlx::query(
            "SELECT s.id, s.institution_id, a.name, a.region, s.name, s.category, s.description, s.active \
             FROM market_services s JOIN applicants a ON a.id = s.institution_id ORDER BY a.name, s.name, s.id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Service {
                id: r.get(0),
                institution_id: r.get(1),
                institution_name: r.get(2),
                region: r.get(3),
                name: r.get(4),
                category: r.get(5),
                description: r.get(6),
                active: r.get::<i64, _>(7) == 1,
            })
            .collect())
    }

    /// Issues a yearly voucher quota to an SME (staff of its jurisdiction). Eligible: an
    /// enterprise of medium, small or micro size (中小微企业), or a maker team (创业创客团队).
    pub async fn issue_voucher(
        &self,
        actor: &Actor,
        applicant: &str,
        year: i32,
        quota: &str,
        valid_until: &str,
    ) -> Result<String> {
        if !market_staff(actor) {
            return Err(refused(
                "forbidden",
                "创新券由科技局工作人员发放 (S&T staff issue vouchers)",
            ));
        }
        let (name, kind, region, profile) = self.applicant_kind_region(applicant).await?;
        if !self.sees_region(actor, &region) {
            return Err(refused(
                "out_of_jurisdiction",
                format!("{name} 不在本辖区 (outside your jurisdiction)"),
            ));
        }
        let size = profile["size"].as_str().unwrap_or("");
        let eligible = kind == "maker_team"
            || (kind == "enterprise" && matches!(size, "medium" | "small" | "micro"));
        if !eligible {
            let why = if kind != "enterprise" {
                format!(
                    "主体类型为 {kind},创新券发放给中小微企业和创业创客团队 (vouchers go to SMEs and maker teams)"
                )
            } else if size.is_empty() {
                "企业规模未填写,无法确认是否为中小微企业 (the enterprise's size is not on file)"
                    .to_string()
            } else {
                format!("企业规模为 {size},不是中小微企业 (not a small or medium enterprise)")
            };
            return Err(refused("not_eligible", why));
        }
        if !(2000..=2100).contains(&year) {
            return Err(invalid(
                "year",
                format!("{year} 不是有效年度 (not a plausible year)"),
            ));
        }
        let quota = parse_yuan(quota).map_err(|e| invalid("quota", e))?;
        let until: jiff::civil::Date = valid_until.trim().parse().map_err(|_| {
            invalid(
                "valid_until",
                format!("“{valid_until}”不是日期 YYYY-MM-DD (not a date)"),
            )
        })?;
        if until.year() as i32 != year && until.year() as i32 != year + 1 {
            return Err(invalid(
                "valid_until",
                format!(
                    "有效期 {until} 应在额度年度 {year} 或次年内 (within the quota's year or the next)"
                ),
            ));
        }
        let mut tx = self
            .begin_write(&[format!("applicant:{applicant}"), "market".into()])
            .await?;
        let exists =
            sqlx::query("SELECT id FROM vouchers WHERE applicant_id = $1 AND quota_year = $2")
                .bind(applicant)
                .bind(year as i64)
                .fetch_optional(&mut **tx)
                .await?;
        if let Some(r) = exists {
            return Err(refused(
                "duplicate",
                format!(
                    "{name} 已有{year}年度创新券 {} (one voucher quota per year)",
                    r.get::<String, _>(0)
                ),
            ));
        }
        let id = format!("CXQ{year}-{:08X}", crate::workflow::rand_u32());
        sqlx::query("INSERT INTO vouchers (id, applicant_id, quota_year, quota_fen, valid_until, issued_by, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&id)
            .bind(applicant)
            .bind(year as i64)
            .bind(to_fen(quota))
            .bind(until.to_string())
            .bind(format!("{}:{}", actor.role.code(), actor.id))
            .bind(self.now())
            .execute(&mut **tx)
            .await?;
        self.audit_in(&mut tx, actor, "issue", "voucher", &id, None, Some(&json!({"applicant": applicant, "year": year, "quota": quota.plain(), "valid_until": until.to_string()}).to_string()))
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn voucher_row(&self, id: &str) -> Result<Voucher> {
        let r = sqlx::query(
            "SELECT v.id, v.applicant_id, a.name, v.quota_year, v.quota_fen, v.valid_until FROM vouchers v JOIN applicants a ON a.id = v.applicant_id WHERE v.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("voucher {id}")))?;
        let orders = sqlx::query(
            "SELECT o.id, o.voucher_id, o.service_id, s.name, o.institution_id, a.name, o.amount_fen, o.state, o.contract_no, o.receipt_no, o.redeemed_on \
             FROM voucher_orders o JOIN market_services s ON s.id = o.service_id JOIN applicants a ON a.id = o.institution_id \
             WHERE o.voucher_id = $1 ORDER BY o.ordered_at, o.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|o| Order {
            id: o.get(0),
            voucher_id: o.get(1),
            service_id: o.get(2),
            service_name: o.get(3),
            institution_id: o.get(4),
            institution_name: o.get(5),
            amount: from_fen(o.get(6)),
            state: o.get(7),
            contract_no: o.get(8),
            receipt_no: o.get(9),
            redeemed_on: o.get(10),
        })
        .collect::<Vec<_>>();
        let redeemed = orders
            .iter()
            .filter(|o| o.state == "redeemed")
            .fold(Money::ZERO, |s, o| s + o.amount);
        Ok(Voucher {
            id: r.get(0),
            applicant_id: r.get(1),
            applicant_name: r.get(2),
            year: r.get::<i64, _>(3) as i32,
            quota: from_fen(r.get(4)),
            valid_until: r.get(5),
            redeemed,
            orders,
        })
    }

    fn may_see_voucher(&self, actor: &Actor, v: &Voucher, region: &str) -> bool {
        match actor.role {
            Role::Applicant => actor.applicant.as_deref().is_some_and(|org| {
                org == v.applicant_id || v.orders.iter().any(|o| o.institution_id == org)
            }),
            Role::Reviewer | Role::Admin | Role::Finance => self.sees_region(actor, region),
            _ => false,
        }
    }

    /// Vouchers the actor may see: its own (holder, or institution of one of its orders);
    /// staff those of their jurisdiction.
    pub async fn vouchers(&self, actor: &Actor) -> Result<Vec<Voucher>> {
        let rows = sqlx::query("SELECT v.id, a.region FROM vouchers v JOIN applicants a ON a.id = v.applicant_id ORDER BY v.quota_year DESC, v.id")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let v = self.voucher_row(&r.get::<String, _>(0)).await?;
            if self.may_see_voucher(actor, &v, &r.get::<String, _>(1)) {
                out.push(v);
            }
        }
        Ok(out)
    }

    pub async fn voucher(&self, actor: &Actor, id: &str) -> Result<Voucher> {
        let v = self.voucher_row(id).await?;
        let (_, _, region, _) = self.applicant_kind_region(&v.applicant_id).await?;
        if !self.may_see_voucher(actor, &v, &region) {
            return Err(StoreError::NotFound(format!("voucher {id}")));
        }
        Ok(v)
    }

    /// The holder spends its voucher on a service of the catalogue.
    pub async fn order_service(
        &self,
        actor: &Actor,
        voucher: &str,
        service: &str,
        amount: &str,
    ) -> Result<String> {
        let v = self.voucher_row(voucher).await?;
        if actor.role != Role::Applicant
            || actor.applicant.as_deref() != Some(v.applicant_id.as_str())
        {
            return Err(refused(
                "forbidden",
                "只有持券企业可以用券下单 (only the holder orders with its voucher)",
            ));
        }
        let s = self
            .services()
            .await?
            .into_iter()
            .find(|s| s.id == service)
            .ok_or_else(|| {
                invalid(
                    "service",
                    format!("服务 {service} 不存在 (no such service)"),
                )
            })?;
        if !s.active {
            return Err(refused(
                "service_inactive",
                format!("服务“{}”已下架 (the service is no longer offered)", s.name),
            ));
        }
        let amount = parse_yuan(amount).map_err(|e| invalid("amount", e))?;
        self.check_voucher_rules(&v, &s.institution_id, amount, self.today(), None, None)
            .await?;
        let mut tx = self.begin_write(&[format!("voucher:{voucher}")]).await?;
        let id = format!("DD{:08X}", crate::workflow::rand_u32());
        sqlx::query("INSERT INTO voucher_orders (id, voucher_id, service_id, institution_id, amount_fen, state, ordered_at, created_by) VALUES ($1, $2, $3, $4, $5, 'ordered', $6, $7)")
            .bind(&id)
            .bind(voucher)
            .bind(service)
            .bind(&s.institution_id)
            .bind(to_fen(amount))
            .bind(self.now())
            .bind(format!("{}:{}", actor.role.code(), actor.id))
            .execute(&mut **tx)
            .await?;
        self.audit_in(
            &mut tx,
            actor,
            "order",
            "voucher",
            voucher,
            None,
            Some(&json!({"order": id, "service": service, "amount": amount.plain()}).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The abuse rules shared by ordering and redemption. `order` is the order being
    /// redeemed (already counted nowhere); `receipt` its receipt number.
    async fn check_voucher_rules(
        &self,
        v: &Voucher,
        institution: &str,
        amount: Money,
        on: jiff::civil::Date,
        order: Option<&Order>,
        receipt: Option<&str>,
    ) -> Result<()> {
        if let Some(o) = order
            && o.state == "redeemed"
        {
            return Err(refused(
                "already_redeemed",
                format!(
                    "订单 {} 已于 {} 兑付,同一订单只能兑付一次 (an order is redeemed once)",
                    o.id,
                    o.redeemed_on.clone().unwrap_or_default()
                ),
            ));
        }
        if let Some(receipt) = receipt {
            let used = sqlx::query("SELECT id FROM voucher_orders WHERE receipt_no = $1")
                .bind(receipt)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(r) = used {
                return Err(refused(
                    "receipt_reused",
                    format!(
                        "票据号 {receipt} 已用于订单 {} 的兑付,同一票据不能兑付两次 (a receipt is redeemed once)",
                        r.get::<String, _>(0)
                    ),
                ));
            }
        }
        let until: jiff::civil::Date = v
            .valid_until
            .parse()
            .map_err(|_| StoreError::Invalid("stored valid_until".into()))?;
        if on > until {
            return Err(refused(
                "voucher_expired",
                format!(
                    "创新券 {} 有效期至 {until},{on} 已过期 (the voucher expired)",
                    v.id
                ),
            ));
        }
        if v.redeemed + amount > v.quota {
            return Err(refused(
                "over_quota",
                format!(
                    "额度 {} 元,已兑付 {} 元,本次 {} 元超出剩余额度 {} 元 (above the voucher's remaining quota)",
                    v.quota.grouped(),
                    v.redeemed.grouped(),
                    amount.grouped(),
                    (v.quota - v.redeemed).grouped()
                ),
            ));
        }
        if institution == v.applicant_id {
            return Err(refused(
                "related_parties",
                "服务机构与持券企业是同一单位(统一社会信用代码相同),不能兑付 (provider and holder are the same organisation)",
            ));
        }
        let related = sqlx::query(
            "SELECT note FROM market_relations WHERE (a = $1 AND b = $2) OR (a = $2 AND b = $1)",
        )
        .bind(institution)
        .bind(&v.applicant_id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(r) = related {
            return Err(refused(
                "related_parties",
                format!(
                    "服务机构与持券企业存在关联关系({}),不能兑付 (declared related parties)",
                    r.get::<String, _>(0)
                ),
            ));
        }
        Ok(())
    }

    /// Redeems a delivered order with its contract and receipt (the institution that
    /// delivered it, or staff): checks every abuse rule, then records both events and the
    /// applications the engine opens for them.
    pub async fn redeem_order(
        &self,
        actor: &Actor,
        order: &str,
        contract_no: &str,
        receipt_no: &str,
        on: Option<&str>,
    ) -> Result<Redeemed> {
        let row = sqlx::query("SELECT voucher_id FROM voucher_orders WHERE id = $1")
            .bind(order)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("order {order}")))?;
        let voucher: String = row.get(0);
        let mut tx_locks = vec![format!("voucher:{voucher}")];
        let v = self.voucher_row(&voucher).await?;
        let o = v
            .orders
            .iter()
            .find(|o| o.id == order)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(format!("order {order}")))?;
        let (_, _, holder_region, _) = self.applicant_kind_region(&v.applicant_id).await?;
        let allowed = match actor.role {
            Role::Applicant => actor.applicant.as_deref() == Some(o.institution_id.as_str()),
            _ => market_staff(actor) && self.sees_region(actor, &holder_region),
        };
        if !allowed {
            return Err(refused(
                "forbidden",
                "只有提供服务的机构或科技局工作人员可以兑付 (the providing institution or staff redeem)",
            ));
        }
        let contract_no = contract_no.trim();
        let receipt_no = receipt_no.trim();
        for (f, val) in [("contract_no", contract_no), ("receipt_no", receipt_no)] {
            if val.is_empty() || val.chars().count() > 60 {
                return Err(invalid(
                    f,
                    "须填写服务合同编号和发票(收据)号,至多60字 (the contract and the receipt are required)",
                ));
            }
        }
        let on: jiff::civil::Date = match on.filter(|d| !d.trim().is_empty()) {
            Some(d) => d
                .trim()
                .parse()
                .map_err(|_| invalid("redeemed_on", format!("“{d}”不是日期 (not a date)")))?,
            None => self.today(),
        };
        if on > self.today() {
            return Err(invalid(
                "redeemed_on",
                format!("{on} 在今天之后 (in the future)"),
            ));
        }
        if o.state == "cancelled" {
            return Err(refused("cancelled", "订单已取消 (the order was cancelled)"));
        }
        self.check_voucher_rules(
            &v,
            &o.institution_id,
            o.amount,
            on,
            Some(&o),
            Some(receipt_no),
        )
        .await?;
        tx_locks.push(format!("applicant:{}", v.applicant_id));
        tx_locks.push(format!("applicant:{}", o.institution_id));
        let mut tx = self.begin_write(&tx_locks).await?;
        // Re-checked under the locks: a second redemption racing this one finds it redeemed.
        let state: String = sqlx::query("SELECT state FROM voucher_orders WHERE id = $1")
            .bind(order)
            .fetch_one(&mut **tx)
            .await?
            .get(0);
        if state == "redeemed" {
            return Err(refused(
                "already_redeemed",
                format!("订单 {order} 已兑付 (already redeemed)"),
            ));
        }
        let redeemed_fen: i64 = sqlx::query("SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM voucher_orders WHERE voucher_id = $1 AND state = 'redeemed'")
            .bind(&voucher)
            .fetch_one(&mut **tx)
            .await?
            .get(0);
        if from_fen(redeemed_fen) + o.amount > v.quota {
            return Err(refused(
                "over_quota",
                "超出创新券剩余额度 (above the voucher's remaining quota)",
            ));
        }
        sqlx::query("UPDATE voucher_orders SET state = 'redeemed', contract_no = $1, receipt_no = $2, redeemed_on = $3 WHERE id = $4")
            .bind(contract_no)
            .bind(receipt_no)
            .bind(on.to_string())
            .bind(order)
            .execute(&mut **tx)
            .await?;
        let (_, _, provider_region, _) = self.applicant_kind_region(&o.institution_id).await?;
        let bought = format!("voucher-{order}");
        let delivered = format!("voucher-{order}-delivered");
        self.add_event_in(&mut tx, actor, &v.applicant_id, &json!({
            "id": bought, "kind": "voucher_service_purchased", "date": on.to_string(),
            "service_amount": o.amount.plain(), "provider_region": provider_region, "via_platform": true,
        })).await?;
        self.add_event_in(
            &mut tx,
            actor,
            &o.institution_id,
            &json!({
                "id": delivered, "kind": "voucher_service_delivered", "date": on.to_string(),
                "contract_amount": o.amount.plain(),
            }),
        )
        .await?;
        let mut applications = self
            .applications_for_event_in(&mut tx, actor, &v.applicant_id, &bought, true)
            .await?;
        applications.extend(
            self.applications_for_event_in(&mut tx, actor, &o.institution_id, &delivered, true)
                .await?,
        );
        self.audit_in(&mut tx, actor, "redeem", "voucher", &voucher, None, Some(&json!({
            "order": order, "amount": o.amount.plain(), "contract_no": contract_no, "receipt_no": receipt_no,
            "redeemed_on": on.to_string(), "events": [bought, delivered], "applications": applications,
        }).to_string())).await?;
        tx.commit().await?;
        Ok(Redeemed {
            order: order.to_string(),
            events: vec![bought, delivered],
            applications,
        })
    }

    /// Declares two parties related (关联关系): no voucher is redeemed between them. Staff,
    /// or one of the parties itself.
    pub async fn declare_relation(
        &self,
        actor: &Actor,
        a: &str,
        b: &str,
        note: &str,
    ) -> Result<()> {
        let parse = |f: &str, v: &str| {
            kc_domain::Uscc::parse(v.trim())
                .map(|u| u.to_string())
                .map_err(|e| invalid(f, format!("“{v}”: {e}")))
        };
        let (a, b) = (parse("a", a)?, parse("b", b)?);
        if a == b {
            return Err(invalid(
                "b",
                "同一单位无需申报关联关系 (the same organisation)",
            ));
        }
        let party = actor.role == Role::Applicant
            && actor.applicant.as_deref().is_some_and(|o| o == a || o == b);
        if !party && !market_staff(actor) {
            return Err(refused(
                "forbidden",
                "关联关系由当事单位或科技局工作人员申报 (a party or staff declares a relation)",
            ));
        }
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 200 {
            return Err(invalid(
                "note",
                "须说明关联关系,至多200字 (describe the relation)",
            ));
        }
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        let mut tx = self.begin_write(&["market".to_string()]).await?;
        let there = sqlx::query("SELECT 1 FROM market_relations WHERE a = $1 AND b = $2")
            .bind(&a)
            .bind(&b)
            .fetch_optional(&mut **tx)
            .await?;
        if there.is_none() {
            sqlx::query("INSERT INTO market_relations (a, b, note, declared_by, declared_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&a)
                .bind(&b)
                .bind(note)
                .bind(format!("{}:{}", actor.role.code(), actor.id))
                .bind(self.now())
                .execute(&mut **tx)
                .await?;
            self.audit_in(
                &mut tx,
                actor,
                "declare",
                "relation",
                &format!("{a}~{b}"),
                None,
                Some(&json!({"note": note}).to_string()),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

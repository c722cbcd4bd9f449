//! 对接会 (matchmaking events): staff gather achievements and demands (often imported for the
//! occasion), match them N × M in one batch, and record the outcome of each meeting (意向,
//! 签约, 未成). The figures are the ones the bureau reports: pairs proposed, intentions,
//! contracts — 003 reports 547 intentions from 1,239 achievements × 1,302 demands.

use super::{ListingView, market_staff};
use crate::workflow::{Tx, refused};
use crate::{Actor, Result, Store, StoreError};
use kc_market::Side;
use serde::Serialize;
use serde_json::json;
use sqlx::Row;

/// A meeting's outcome: (code, 中文, English).
pub const OUTCOMES: &[(&str, &str, &str)] = &[
    ("intention", "意向", "Intention"),
    ("signed", "签约", "Signed"),
    ("failed", "未成", "No deal"),
];

/// How many matches each demand and each achievement gets on the shortlist.
pub const SHORTLIST: usize = 5;

#[derive(Clone, Debug, Serialize)]
pub struct Fair {
    pub id: String,
    pub name: String,
    pub held_on: String,
    pub region: String,
    pub matched_at: Option<String>,
    pub achievements: usize,
    pub demands: usize,
}

/// One proposed (or walk-in) pair and its meeting.
#[derive(Clone, Debug, Serialize)]
pub struct FairPair {
    pub demand_id: String,
    pub demand_title: String,
    pub achievement_id: String,
    pub achievement_title: String,
    /// The match score × 1000; 0 for a meeting the matching did not propose.
    pub score_milli: i64,
    pub reasons: serde_json::Value,
    pub outcome: String,
    pub outcome_note: Option<String>,
}

/// The event's figures.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct FairFigures {
    pub achievements: usize,
    pub demands: usize,
    pub pairs_proposed: usize,
    pub demands_with_proposal: usize,
    pub meetings: usize,
    pub intentions: usize,
    pub contracts: usize,
    pub failed: usize,
    /// Demands with at least one intention or contract.
    pub demands_with_intention: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct FairView {
    pub fair: Fair,
    pub figures: FairFigures,
    pub pairs: Vec<FairPair>,
    pub listings: Vec<ListingView>,
}

impl Store {
    fn fair_staff(&self, actor: &Actor) -> Result<()> {
        if market_staff(actor) || actor.role == kc_domain::Role::System {
            Ok(())
        } else {
            Err(refused(
                "forbidden",
                "只有科技局工作人员可以组织对接会 (only S&T staff run matchmaking events)",
            ))
        }
    }

    pub(crate) async fn fair_row_in(&self, tx: &mut Tx, actor: &Actor, id: &str) -> Result<Fair> {
        let row = sqlx::query(
            "SELECT id, name, held_on, region, matched_at, \
             (SELECT COUNT(*) FROM market_fair_listings fl JOIN market_listings l ON l.id = fl.listing_id WHERE fl.fair_id = f.id AND l.side = 'achievement'), \
             (SELECT COUNT(*) FROM market_fair_listings fl JOIN market_listings l ON l.id = fl.listing_id WHERE fl.fair_id = f.id AND l.side = 'demand') \
             FROM market_fairs f WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("matchmaking event {id}")))?;
        let fair = Fair {
            id: row.get(0),
            name: row.get(1),
            held_on: row.get(2),
            region: row.get(3),
            matched_at: row.get(4),
            achievements: row.get::<i64, _>(5) as usize,
            demands: row.get::<i64, _>(6) as usize,
        };
        if !self.sees_region(actor, &fair.region) {
            return Err(StoreError::NotFound(format!("matchmaking event {id}")));
        }
        Ok(fair)
    }

    /// Creates a 对接会 of a region on a date.
    pub async fn create_fair(
        &self,
        actor: &Actor,
        name: &str,
        held_on: &str,
        region: &str,
    ) -> Result<String> {
        self.fair_staff(actor)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::Invalid(
                "name: 对接会名称必填,至多100字 (a name of at most 100 characters)".into(),
            ));
        }
        let date: jiff::civil::Date = held_on.trim().parse().map_err(|_| {
            StoreError::Invalid(format!(
                "held_on: “{held_on}”不是日期 YYYY-MM-DD (not a date)"
            ))
        })?;
        if !self.is_region(region) {
            return Err(StoreError::Invalid(format!(
                "region: “{region}”不是地区代码 (unknown region)"
            )));
        }
        if !self.sees_region(actor, region) {
            return Err(refused(
                "out_of_jurisdiction",
                format!("地区 {region} 不在本辖区 (region outside your jurisdiction)"),
            ));
        }
        let mut tx = self.begin_write(&["market".to_string()]).await?;
        let id = format!("DJ{}-{:08X}", date.year(), crate::workflow::rand_u32());
        sqlx::query("INSERT INTO market_fairs (id, name, held_on, region, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(name)
            .bind(date.to_string())
            .bind(region)
            .bind(format!("{}:{}", actor.role.code(), actor.id))
            .bind(self.now())
            .execute(&mut **tx)
            .await?;
        self.audit_in(
            &mut tx,
            actor,
            "create",
            "fair",
            &id,
            None,
            Some(&json!({"name": name, "held_on": date.to_string(), "region": region}).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The 对接会 the actor's jurisdiction holds, newest first.
    pub async fn fairs(&self, actor: &Actor) -> Result<Vec<Fair>> {
        self.fair_staff(actor)?;
        let ids: Vec<String> = sqlx::query("SELECT id FROM market_fairs ORDER BY held_on DESC, id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::new();
        for id in ids {
            match self.fair_row_in(&mut tx, actor, &id).await {
                Ok(f) => out.push(f),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Adds existing listings to a 对接会 (a listing already in it is skipped).
    pub async fn add_to_fair(&self, actor: &Actor, fair: &str, ids: &[String]) -> Result<usize> {
        self.fair_staff(actor)?;
        let mut tx = self.begin_write(&["market".to_string()]).await?;
        self.fair_row_in(&mut tx, actor, fair).await?;
        let mut added = 0;
        for id in ids {
            let found = sqlx::query("SELECT id FROM market_listings WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
            if found.is_none() {
                return Err(StoreError::NotFound(format!("listing {id}")));
            }
            let there = sqlx::query(
                "SELECT 1 FROM market_fair_listings WHERE fair_id = $1 AND listing_id = $2",
            )
            .bind(fair)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
            if there.is_none() {
                sqlx::query(
                    "INSERT INTO market_fair_listings (fair_id, listing_id) VALUES ($1, $2)",
                )
                .bind(fair)
                .bind(id)
                .execute(&mut **tx)
                .await?;
                added += 1;
            }
        }
        self.audit_in(
            &mut tx,
            actor,
            "add_listings",
            "fair",
            fair,
            None,
            Some(&json!({"added": added}).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(added)
    }

    async fn fair_listings(&self, fair: &str) -> Result<Vec<ListingView>> {
        let ids: Vec<String> = sqlx::query(
            "SELECT listing_id FROM market_fair_listings WHERE fair_id = $1 ORDER BY listing_id",
        )
        .bind(fair)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.listing_row(&id).await?);
        }
        Ok(out)
    }

    /// Runs the batch matching of a 对接会: every demand against every achievement of the
    /// event; the shortlist of each side ([`SHORTLIST`] each) becomes the proposed pairs.
    /// Re-running replaces the proposals and keeps every recorded meeting.
    pub async fn match_fair(&self, actor: &Actor, fair: &str) -> Result<FairFigures> {
        self.fair_staff(actor)?;
        {
            let mut tx = self.pool.begin().await?;
            self.fair_row_in(&mut tx, actor, fair).await?;
            tx.commit().await?;
        }
        let listings = self.fair_listings(fair).await?;
        let live = |l: &&ListingView| l.status != "withdrawn";
        let achievements: Vec<kc_market::Listing> = listings
            .iter()
            .filter(live)
            .filter(|l| l.side == Side::Achievement)
            .map(|l| l.to_market(self))
            .collect();
        let demands: Vec<kc_market::Listing> = listings
            .iter()
            .filter(live)
            .filter(|l| l.side == Side::Demand)
            .map(|l| l.to_market(self))
            .collect();
        let dict = self.market_dictionary();
        let batch = kc_market::batch_match(&achievements, &demands, &dict, SHORTLIST);
        let mut pairs: std::collections::BTreeMap<(String, String), (i64, serde_json::Value)> =
            Default::default();
        let reasons = |m: &kc_market::Match| {
            serde_json::Value::Array(
                m.reasons
                    .iter()
                    .map(|r| json!({"zh": r.zh(), "en": r.en()}))
                    .collect(),
            )
        };
        for (demand, matches) in &batch.per_demand {
            for m in matches {
                pairs.insert(
                    (demand.clone(), m.id.clone()),
                    ((m.score * 1000.0).round() as i64, reasons(m)),
                );
            }
        }
        for (achievement, matches) in &batch.per_achievement {
            for m in matches {
                pairs
                    .entry((m.id.clone(), achievement.clone()))
                    .or_insert(((m.score * 1000.0).round() as i64, reasons(m)));
            }
        }
        let mut tx = self.begin_write(&["market".to_string()]).await?;
        sqlx::query(
            "DELETE FROM market_fair_pairs WHERE fair_id = $1 AND outcome = '' AND score_milli > 0",
        )
        .bind(fair)
        .execute(&mut **tx)
        .await?;
        for ((demand, achievement), (score, reasons)) in &pairs {
            let kept = sqlx::query("SELECT 1 FROM market_fair_pairs WHERE fair_id = $1 AND demand_id = $2 AND achievement_id = $3")
                .bind(fair)
                .bind(demand)
                .bind(achievement)
                .fetch_optional(&mut **tx)
                .await?;
            if kept.is_some() {
                sqlx::query("UPDATE market_fair_pairs SET score_milli = $1, reasons = $2 WHERE fair_id = $3 AND demand_id = $4 AND achievement_id = $5")
                    .bind(score.max(&1))
                    .bind(reasons.to_string())
                    .bind(fair)
                    .bind(demand)
                    .bind(achievement)
                    .execute(&mut **tx)
                    .await?;
            } else {
                sqlx::query("INSERT INTO market_fair_pairs (fair_id, demand_id, achievement_id, score_milli, reasons) VALUES ($1, $2, $3, $4, $5)")
                    .bind(fair)
                    .bind(demand)
                    .bind(achievement)
                    .bind(score.max(&1))
                    .bind(reasons.to_string())
                    .execute(&mut **tx)
                    .await?;
            }
        }
        sqlx::query("UPDATE market_fairs SET matched_at = $1 WHERE id = $2")
            .bind(self.now())
            .bind(fair)
            .execute(&mut **tx)
            .await?;
        self.audit_in(
            &mut tx,
            actor,
            "match",
            "fair",
            fair,
            None,
            Some(&json!({"achievements": achievements.len(), "demands": demands.len(), "pairs": pairs.len()}).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(self.fair(actor, fair).await?.figures)
    }

    /// Records the outcome of a meeting between a demand and an achievement of the event
    /// (a pair the matching did not propose is recorded as a walk-in).
    pub async fn record_meeting(
        &self,
        actor: &Actor,
        fair: &str,
        demand: &str,
        achievement: &str,
        outcome: &str,
        note: &str,
    ) -> Result<()> {
        self.fair_staff(actor)?;
        let Some((code, _, _)) = OUTCOMES
            .iter()
            .find(|(c, zh, _)| *c == outcome || *zh == outcome)
        else {
            return Err(StoreError::Invalid(format!(
                "outcome: “{outcome}”; 可选 (one of): intention 意向, signed 签约, failed 未成"
            )));
        };
        let mut tx = self.begin_write(&["market".to_string()]).await?;
        self.fair_row_in(&mut tx, actor, fair).await?;
        for (id, side) in [(demand, "demand"), (achievement, "achievement")] {
            let there = sqlx::query("SELECT 1 FROM market_fair_listings fl JOIN market_listings l ON l.id = fl.listing_id WHERE fl.fair_id = $1 AND fl.listing_id = $2 AND l.side = $3")
                .bind(fair)
                .bind(id)
                .bind(side)
                .fetch_optional(&mut **tx)
                .await?;
            if there.is_none() {
                return Err(StoreError::Invalid(format!(
                    "{side}: {id} 不是本对接会的{} (not a {side} of this event)",
                    if side == "demand" {
                        "技术需求"
                    } else {
                        "科技成果"
                    }
                )));
            }
        }
        let before = sqlx::query("SELECT outcome FROM market_fair_pairs WHERE fair_id = $1 AND demand_id = $2 AND achievement_id = $3")
            .bind(fair)
            .bind(demand)
            .bind(achievement)
            .fetch_optional(&mut **tx)
            .await?;
        let note = note.trim();
        if note.chars().count() > 500 {
            return Err(StoreError::Invalid(
                "note: 至多500字 (at most 500 characters)".into(),
            ));
        }
        match &before {
            Some(_) => {
                sqlx::query("UPDATE market_fair_pairs SET outcome = $1, outcome_note = $2, recorded_by = $3, recorded_at = $4 WHERE fair_id = $5 AND demand_id = $6 AND achievement_id = $7")
                    .bind(code)
                    .bind((!note.is_empty()).then_some(note))
                    .bind(format!("{}:{}", actor.role.code(), actor.id))
                    .bind(self.now())
                    .bind(fair)
                    .bind(demand)
                    .bind(achievement)
                    .execute(&mut **tx)
                    .await?;
            }
            None => {
                sqlx::query("INSERT INTO market_fair_pairs (fair_id, demand_id, achievement_id, score_milli, reasons, outcome, outcome_note, recorded_by, recorded_at) VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8)")
                    .bind(fair)
                    .bind(demand)
                    .bind(achievement)
                    .bind(json!([{"zh": "现场对接(未经匹配推荐)", "en": "Walk-in meeting (not proposed by the matching)"}]).to_string())
                    .bind(code)
                    .bind((!note.is_empty()).then_some(note))
                    .bind(format!("{}:{}", actor.role.code(), actor.id))
                    .bind(self.now())
                    .execute(&mut **tx)
                    .await?;
            }
        }
        self.audit_in(
            &mut tx,
            actor,
            "meeting",
            "fair",
            fair,
            before.map(|r| json!({"demand": demand, "achievement": achievement, "outcome": r.get::<String, _>(0)}).to_string()).as_deref(),
            Some(&json!({"demand": demand, "achievement": achievement, "outcome": code, "note": note}).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A 对接会 with its pairs (best first per demand) and figures.
    pub async fn fair(&self, actor: &Actor, id: &str) -> Result<FairView> {
        self.fair_staff(actor)?;
        let mut tx = self.pool.begin().await?;
        let fair = self.fair_row_in(&mut tx, actor, id).await?;
        let rows = sqlx::query(
            "SELECT p.demand_id, d.title, p.achievement_id, a.title, p.score_milli, p.reasons, p.outcome, p.outcome_note \
             FROM market_fair_pairs p JOIN market_listings d ON d.id = p.demand_id JOIN market_listings a ON a.id = p.achievement_id \
             WHERE p.fair_id = $1 ORDER BY p.demand_id, p.score_milli DESC, p.achievement_id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let pairs: Vec<FairPair> = rows
            .iter()
            .map(|r| FairPair {
                demand_id: r.get(0),
                demand_title: r.get(1),
                achievement_id: r.get(2),
                achievement_title: r.get(3),
                score_milli: r.get(4),
                reasons: serde_json::from_str(&r.get::<String, _>(5)).unwrap_or_default(),
                outcome: r.get(6),
                outcome_note: r.get(7),
            })
            .collect();
        let listings = self.fair_listings(id).await?;
        let figures = figures(&fair, &pairs);
        Ok(FairView {
            fair,
            figures,
            pairs,
            listings,
        })
    }
}

/// The figures of an event from its pairs.
pub fn figures(fair: &Fair, pairs: &[FairPair]) -> FairFigures {
    use std::collections::HashSet;
    let proposed: Vec<&FairPair> = pairs.iter().filter(|p| p.score_milli > 0).collect();
    let with = |f: &dyn Fn(&FairPair) -> bool| pairs.iter().filter(|p| f(p)).count();
    FairFigures {
        achievements: fair.achievements,
        demands: fair.demands,
        pairs_proposed: proposed.len(),
        demands_with_proposal: proposed
            .iter()
            .map(|p| &p.demand_id)
            .collect::<HashSet<_>>()
            .len(),
        meetings: with(&|p| !p.outcome.is_empty()),
        intentions: with(&|p| p.outcome == "intention" || p.outcome == "signed"),
        contracts: with(&|p| p.outcome == "signed"),
        failed: with(&|p| p.outcome == "failed"),
        demands_with_intention: pairs
            .iter()
            .filter(|p| p.outcome == "intention" || p.outcome == "signed")
            .map(|p| &p.demand_id)
            .collect::<HashSet<_>>()
            .len(),
    }
}

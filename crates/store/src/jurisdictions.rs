//! Jurisdictions (辖区): the tree of governments that review and pay, taken from the region
//! vocabulary of the policy library (province → city → district or county), and what a staff
//! account bound to one of them may see and do.
//!
//! The key decision: the tree is not a second list to keep in step with the library. A
//! jurisdiction is a region code (`shenyang`, `hunnan`), its tier is its depth in the `Region`
//! enum, and a split's level is paid by the applicant's own jurisdiction of that level's tier
//! (`district` for an applicant in `hunnan` is 浑南区; `city` is 沈阳市). A staff account without a
//! jurisdiction works for the whole platform (the operator's accounts); one with a jurisdiction
//! sees the applicants located in it and everything that hangs off them.

use crate::{Actor, Result, Store, StoreError};
use kc_domain::{ReviewOrder, Role, Tier};
use sqlx::Row;

/// One node of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jurisdiction {
    pub code: String,
    pub zh: String,
    pub en: String,
    pub tier: Tier,
    pub parent: Option<usize>,
}

/// The tree, built once from the library (`Store::jurisdictions`).
#[derive(Clone, Debug, Default)]
pub struct Jurisdictions {
    nodes: Vec<Jurisdiction>,
    /// For each region member of the vocabulary (by member index): its node, if it is one.
    by_member: Vec<Option<usize>>,
}

impl Jurisdictions {
    /// The tree of the library's `Region` enum. A top-level member without children (`other`,
    /// 其他地区) is a catch-all, not a government: it is no jurisdiction.
    pub fn from_library(lib: &kc_check::Library) -> Jurisdictions {
        let region = &lib.vocab.enums[lib.vocab.region];
        let has_children = |i: usize| {
            region
                .members
                .iter()
                .any(|m| m.parent == Some(i as kc_check::MemberId))
        };
        let depth = |mut i: usize| {
            let mut d = 0;
            while let Some(p) = region.members[i].parent {
                i = p as usize;
                d += 1;
            }
            d
        };
        let mut out = Jurisdictions::default();
        for (i, m) in region.members.iter().enumerate() {
            let d = depth(i);
            let node = match Tier::at_depth(d) {
                Some(tier) if d > 0 || has_children(i) => {
                    let parent = m
                        .parent
                        .and_then(|p| out.by_member.get(p as usize).copied().flatten());
                    out.nodes.push(Jurisdiction {
                        code: m.name.clone(),
                        zh: m.label.zh.clone(),
                        en: m.label.en.clone().unwrap_or_else(|| m.name.clone()),
                        tier,
                        parent,
                    });
                    Some(out.nodes.len() - 1)
                }
                _ => None,
            };
            out.by_member.push(node);
        }
        out
    }

    pub fn all(&self) -> &[Jurisdiction] {
        &self.nodes
    }

    fn index(&self, code: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.code == code)
    }

    pub fn get(&self, code: &str) -> Option<&Jurisdiction> {
        self.index(code).map(|i| &self.nodes[i])
    }

    /// Its name in Chinese (the code itself for an unknown one).
    pub fn zh<'a>(&'a self, code: &'a str) -> &'a str {
        self.get(code).map(|j| j.zh.as_str()).unwrap_or(code)
    }

    /// True when `region` is `jurisdiction` or lies in it.
    pub fn contains(&self, jurisdiction: &str, region: &str) -> bool {
        let (Some(j), Some(mut r)) = (self.index(jurisdiction), self.index(region)) else {
            return false;
        };
        loop {
            if r == j {
                return true;
            }
            match self.nodes[r].parent {
                Some(p) => r = p,
                None => return false,
            }
        }
    }

    /// `jurisdiction` and every jurisdiction in it, its own code first.
    pub fn within(&self, jurisdiction: &str) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|n| self.contains(jurisdiction, &n.code))
            .map(|n| n.code.as_str())
            .collect()
    }

    /// The jurisdictions directly below one (a city's districts and counties).
    pub fn children(&self, jurisdiction: &str) -> Vec<&Jurisdiction> {
        let j = self.index(jurisdiction);
        self.nodes
            .iter()
            .filter(|n| j.is_some() && n.parent == j)
            .collect()
    }

    /// Who pays a split level for an applicant located in `region`: the applicant's own
    /// jurisdiction of the level's tier (`district` in `hunnan` → `hunnan`; `city` → `shenyang`).
    /// `None` for a level no jurisdiction pays (`central`, `institution`) and where the region
    /// is not precise enough (`district` for an applicant recorded only as `shenyang`).
    pub fn payer(&self, level: &str, region: &str) -> Option<&str> {
        let tier = Tier::of_level(level)?;
        let mut r = self.index(region)?;
        loop {
            if self.nodes[r].tier == tier {
                return Some(&self.nodes[r].code);
            }
            r = self.nodes[r].parent?;
        }
    }

    /// The jurisdictions that review an application, in review order: each distinct payer of
    /// the measure's levels (a level no jurisdiction pays reviews nothing). One entry for a
    /// measure one level pays; none where no administered jurisdiction pays.
    pub fn stages<'a>(&'a self, levels: &[&str], region: &str, order: ReviewOrder) -> Vec<&'a str> {
        let mut payers: Vec<&str> = levels
            .iter()
            .filter_map(|l| self.payer(l, region))
            .collect();
        payers.sort_by_key(|p| std::cmp::Reverse(self.get(p).map(|j| j.tier)));
        payers.dedup();
        if order == ReviewOrder::HigherFirst {
            payers.reverse();
        }
        payers
    }
}

/// The split levels a measure pays from: its funding shares, or its parts' levels.
pub fn paying_levels(m: &kc_check::Measure) -> Vec<&'static str> {
    match &m.grant {
        kc_check::GrantRule::Parts(parts) => parts.iter().map(|(l, _)| l.keyword()).collect(),
        _ => m.split.shares.iter().map(|s| s.0.keyword()).collect(),
    }
}

impl Store {
    /// The jurisdiction tree of this store's library.
    pub fn jurisdictions(&self) -> &Jurisdictions {
        &self.jurisdictions
    }

    /// Whether the actor's scope includes an applicant located in `region`: an applicant
    /// account its own organisation only (checked elsewhere), staff without a jurisdiction
    /// everything, staff with one the applicants in it.
    pub fn sees_region(&self, actor: &Actor, region: &str) -> bool {
        match &actor.jurisdiction {
            None => true,
            Some(j) => self.jurisdictions.contains(j, region),
        }
    }

    /// Whether the actor's jurisdiction takes part in a plan of `region`: the plan covers it
    /// (a province's or its city's plan for a district) or lies in it (a district's plan for
    /// its city). Staff of the whole platform see every plan.
    pub fn sees_plan(&self, actor: &Actor, region: &str) -> bool {
        match &actor.jurisdiction {
            None => true,
            Some(j) => {
                self.jurisdictions.contains(region, j) || self.jurisdictions.contains(j, region)
            }
        }
    }

    /// The regions a scoped actor sees (`None`: everything).
    pub fn scope_regions(&self, actor: &Actor) -> Option<Vec<String>> {
        if actor.role == Role::Applicant {
            return None;
        }
        actor.jurisdiction.as_ref().map(|j| {
            self.jurisdictions
                .within(j)
                .into_iter()
                .map(str::to_string)
                .collect()
        })
    }

    /// A staff actor's jurisdiction must lie in the tree (checked where accounts are made).
    pub fn check_jurisdiction(&self, code: &str) -> Result<()> {
        if self.jurisdictions.get(code).is_some() {
            Ok(())
        } else {
            Err(StoreError::Invalid(format!(
                "辖区“{code}”不存在 (unknown jurisdiction {code}); 可选 (one of): {}",
                self.jurisdictions
                    .all()
                    .iter()
                    .map(|j| j.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }
}

/// What one jurisdiction's staff see at a glance (辖区概览): its applications by state, grouped
/// by the jurisdiction directly below it that the applicant is located in (a city's
/// districts; a district's own), and the money each jurisdiction in it committed and paid per
/// measure (its share).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overview {
    /// The jurisdiction (`None`: the whole platform, grouped by province).
    pub jurisdiction: Option<String>,
    /// (jurisdiction directly below, or the jurisdiction itself for applicants recorded at
    /// its own level; application state code; count).
    pub by_state: Vec<(String, String, i64)>,
    /// (measure, level, paying jurisdiction, committed fen, paid fen).
    pub shares: Vec<(String, String, String, i64, i64)>,
}

impl Store {
    /// The overview of the actor's jurisdiction, or of `jurisdiction` inside it (a city
    /// looking at one district).
    pub async fn overview(&self, actor: &Actor, jurisdiction: Option<&str>) -> Result<Overview> {
        if !actor.role.may(kc_domain::Access::AllApplicants) {
            return Err(StoreError::Refused {
                code: "forbidden",
                message: format!(
                    "角色 {} 无权查看辖区概览 (may not see the overview)",
                    actor.role.code()
                ),
            });
        }
        let regions = self.export_scope(actor, jurisdiction)?;
        let target = jurisdiction
            .map(str::to_string)
            .or_else(|| actor.jurisdiction.clone());
        let filter = |column: &str, first: usize| {
            regions.as_ref().map_or(String::new(), |r| {
                format!("WHERE {column} IN ({})", in_params(first, r.len()))
            })
        };
        let sql = format!(
            "SELECT p.region, a.state, COUNT(*) FROM applications a JOIN applicants p ON p.id = a.applicant_id {} \
             GROUP BY p.region, a.state ORDER BY 1, 2",
            filter("p.region", 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in regions.iter().flatten() {
            q = q.bind(r.clone());
        }
        let mut by_state: Vec<(String, String, i64)> = Vec::new();
        for r in q.fetch_all(&self.pool).await? {
            let region: String = r.get(0);
            let group = self.group_under(target.as_deref(), &region);
            let (state, n): (String, i64) = (r.get(1), r.get(2));
            match by_state
                .iter_mut()
                .find(|(g, s, _)| *g == group && *s == state)
            {
                Some(e) => e.2 += n,
                None => by_state.push((group, state, n)),
            }
        }
        let sql = format!(
            "SELECT measure, level, payer, \
                    CAST(SUM(CASE WHEN entry IN ('commitment', 'reversal') THEN amount_fen ELSE 0 END) AS BIGINT), \
                    CAST(SUM(CASE WHEN entry = 'payment' THEN amount_fen ELSE 0 END) AS BIGINT) \
             FROM ledger {} GROUP BY measure, level, payer ORDER BY 1, 2, 3",
            regions
                .as_ref()
                .map_or("WHERE payer IS NOT NULL".to_string(), |r| {
                    format!("WHERE payer IN ({})", in_params(1, r.len()))
                })
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in regions.iter().flatten() {
            q = q.bind(r.clone());
        }
        let shares = q
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect();
        Ok(Overview {
            jurisdiction: target,
            by_state,
            shares,
        })
    }

    /// The group an applicant's region falls in under `top`: the jurisdiction directly below
    /// `top` that contains it, or `top` itself (for the whole platform: its province, or the
    /// region itself outside every jurisdiction).
    fn group_under(&self, top: Option<&str>, region: &str) -> String {
        let children: Vec<&Jurisdiction> = match top {
            Some(t) => self.jurisdictions.children(t),
            None => self
                .jurisdictions
                .all()
                .iter()
                .filter(|j| j.parent.is_none())
                .collect(),
        };
        children
            .iter()
            .find(|c| self.jurisdictions.contains(&c.code, region))
            .map(|c| c.code.clone())
            .or_else(|| top.map(str::to_string))
            .unwrap_or_else(|| region.to_string())
    }
}

/// `$first, $first+1, …` for an `IN (…)` list of `n` parameters.
pub(crate) fn in_params(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Jurisdictions {
        let (_, checked) = kc_library::load_shipped();
        Jurisdictions::from_library(
            checked
                .library
                .as_ref()
                .expect("the shipped library checks"),
        )
    }

    #[test]
    fn the_tree_follows_the_region_vocabulary() {
        let t = tree();
        assert_eq!(t.get("liaoning").unwrap().tier, Tier::Province);
        assert_eq!(t.get("shenyang").unwrap().tier, Tier::City);
        assert_eq!(t.get("hunnan").unwrap().tier, Tier::District);
        assert_eq!(t.get("hunnan").unwrap().zh, "浑南区");
        assert!(t.get("other").is_none(), "其他地区 is no government");
        assert!(t.contains("shenyang", "hunnan"));
        assert!(t.contains("liaoning", "hunnan"));
        assert!(t.contains("hunnan", "hunnan"));
        assert!(!t.contains("hunnan", "tiexi"));
        assert!(
            !t.contains("hunnan", "shenyang"),
            "a district does not see its city"
        );
        assert!(!t.contains("shenyang", "liaocheng"));
        assert_eq!(t.children("shenyang").len(), 13);
        assert!(t.within("liaocheng").contains(&"liaocheng_hitech_zone"));
    }

    #[test]
    fn each_level_is_paid_by_the_applicants_own_jurisdiction_of_its_tier() {
        let t = tree();
        assert_eq!(t.payer("district", "hunnan"), Some("hunnan"));
        assert_eq!(t.payer("city", "hunnan"), Some("shenyang"));
        assert_eq!(t.payer("province", "hunnan"), Some("liaoning"));
        assert_eq!(t.payer("district", "shenyang"), None, "no district known");
        assert_eq!(t.payer("central", "hunnan"), None);
        assert_eq!(
            t.payer("district", "liaocheng_econ_zone"),
            Some("liaocheng_econ_zone")
        );
        // 1:1 city and district: the district recommends, the city approves.
        assert_eq!(
            t.stages(&["city", "district"], "hunnan", ReviewOrder::LowerFirst),
            vec!["hunnan", "shenyang"]
        );
        assert_eq!(
            t.stages(&["city", "district"], "hunnan", ReviewOrder::HigherFirst),
            vec!["shenyang", "hunnan"]
        );
        assert_eq!(
            t.stages(&["city"], "hunnan", ReviewOrder::LowerFirst),
            vec!["shenyang"]
        );
        assert!(
            t.stages(&["central"], "hunnan", ReviewOrder::LowerFirst)
                .is_empty()
        );
    }
}

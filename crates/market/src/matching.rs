//! Matching one side against the other: text relevance from the index, small bonuses for
//! field, region, maturity and price, the reasons behind each match, and the threshold
//! below which the answer is "no good match" rather than a padded list.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;

use crate::analyze::{Analysis, Analyzer};
use crate::index::{Candidate, MarketIndex, listing_text};
use crate::{Dictionary, Listing, MarketError, Maturity, Side, field, fmt_yuan};

/// The least normalised text score (see [`MarketIndex::search`]) a candidate needs to be
/// offered at all. Bonuses never lift a candidate over it: a listing in the same field and
/// district that shares no problem is still junk.
///
/// Calibrated on the shipped sample (`cargo run -p kc-market --release --example eval --
/// --calibrate`): over every demand with labels, the text scores of the top candidates were
/// split into labelled-relevant and the rest (hard negatives and unlabelled), and the
/// threshold is the value that maximises F1 of "offered ⇔ relevant", rounded down so that
/// recall is kept; see `docs/benchmarks-market.md` for the figures.
pub const DEFAULT_THRESHOLD: f32 = 0.08;

/// Weight of a dictionary concept token relative to a plain word in the text query. Below
/// one: a synonym says the two texts talk about the same problem, but less surely than the
/// same word does.
pub const CONCEPT_WEIGHT: f32 = 0.8;

/// Weight of a character bigram relative to a word. Low: bigrams are many and loose, they
/// should break ties and rescue near-misses, not outvote words.
pub const BIGRAM_WEIGHT: f32 = 0.3;

fn env_f32(name: &str, default: f32) -> f32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
pub(crate) fn bigram_weight() -> f32 {
    env_f32("KC_BIGRAM", BIGRAM_WEIGHT)
}
pub const QTF_BOOST: f32 = 0.25;
pub(crate) fn qtf_boost() -> f32 {
    env_f32("KC_QTF", QTF_BOOST)
}
pub(crate) fn concept_weight() -> f32 {
    env_f32("KC_CONCEPT", CONCEPT_WEIGHT)
}

const FIELD_BONUS: f32 = 0.03;
const DISTRICT_BONUS: f32 = 0.02;
const CITY_BONUS: f32 = 0.015;
const PROVINCE_BONUS: f32 = 0.005;
const MATURITY_OK_BONUS: f32 = 0.01;
const MATURITY_SHORT_PENALTY: f32 = 0.03;
const PRICE_OK_BONUS: f32 = 0.01;
const PRICE_OVER_PENALTY: f32 = 0.02;
/// At most this many shared terms are named in a reason; the most telling (highest idf) first.
const MAX_SHARED_SHOWN: usize = 8;

/// How close two listings' regions are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RegionFit {
    SameDistrict,
    SameCity,
    SameProvince,
    Elsewhere,
}

impl RegionFit {
    pub fn zh(self) -> &'static str {
        match self {
            RegionFit::SameDistrict => "同一区县",
            RegionFit::SameCity => "同一城市",
            RegionFit::SameProvince => "同一省份",
            RegionFit::Elsewhere => "异地",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            RegionFit::SameDistrict => "same district",
            RegionFit::SameCity => "same city",
            RegionFit::SameProvince => "same province",
            RegionFit::Elsewhere => "elsewhere",
        }
    }
}

/// How close two region paths (root→leaf) are; None when either is unknown.
pub fn region_fit(a: &[String], b: &[String]) -> Option<RegionFit> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    // `other` is a bucket, not a place: two listings "elsewhere" are not neighbours.
    if common == 0 || a[0] == "other" {
        return Some(RegionFit::Elsewhere);
    }
    Some(match common {
        1 => RegionFit::SameProvince,
        2 => RegionFit::SameCity,
        _ => RegionFit::SameDistrict,
    })
}

/// Why a listing was matched.
#[derive(Clone, Debug, PartialEq)]
pub enum Reason {
    /// Words both texts use, the most telling first.
    SharedTerms(Vec<String>),
    /// (their word, our word): different words of one dictionary group.
    SynonymTerms(Vec<(String, String)>),
    /// Both are in this field (a [`crate::FIELDS`] code).
    SameField(String),
    Region(RegionFit),
    /// The achievement's maturity against the least the demand needs.
    Maturity {
        have: Maturity,
        need: Option<Maturity>,
        ok: bool,
    },
    /// The achievement's asking price against the demand's budget.
    Price {
        price_fen: i64,
        budget_fen: i64,
        ok: bool,
    },
}

impl Reason {
    /// A sentence for the UI, in Chinese.
    pub fn zh(&self) -> String {
        match self {
            Reason::SharedTerms(t) => format!("共同术语:{}", t.join("、")),
            Reason::SynonymTerms(p) => format!(
                "同义或相关术语:{}",
                p.iter()
                    .map(|(a, b)| format!("{a}≈{b}"))
                    .collect::<Vec<_>>()
                    .join("、")
            ),
            Reason::SameField(c) => {
                format!("同属领域:{}", field(c).map(|f| f.zh).unwrap_or(c))
            }
            Reason::Region(r) => format!("地域:{}", r.zh()),
            Reason::Maturity { have, need, ok } => match need {
                Some(n) => format!(
                    "成熟度:{},需求至少{},{}",
                    have.zh(),
                    n.zh(),
                    if *ok { "满足" } else { "不足" }
                ),
                None => format!("成熟度:{},需求未限定", have.zh()),
            },
            Reason::Price {
                price_fen,
                budget_fen,
                ok,
            } => format!(
                "价格 {} 元,预算 {} 元,{}",
                fmt_yuan(*price_fen),
                fmt_yuan(*budget_fen),
                if *ok { "在预算内" } else { "超出预算" }
            ),
        }
    }

    /// The same sentence in English.
    pub fn en(&self) -> String {
        match self {
            Reason::SharedTerms(t) => format!("Shared terms: {}", t.join(", ")),
            Reason::SynonymTerms(p) => format!(
                "Synonymous or related terms: {}",
                p.iter()
                    .map(|(a, b)| format!("{a} ≈ {b}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Reason::SameField(c) => {
                format!("Same field: {}", field(c).map(|f| f.en).unwrap_or(c))
            }
            Reason::Region(r) => format!("Region: {}", r.en()),
            Reason::Maturity { have, need, ok } => match need {
                Some(n) => format!(
                    "Maturity: {}; needs at least {}: {}",
                    have.en(),
                    n.en(),
                    if *ok { "met" } else { "not met" }
                ),
                None => format!("Maturity: {}; any maturity accepted", have.en()),
            },
            Reason::Price {
                price_fen,
                budget_fen,
                ok,
            } => format!(
                "Price {} yuan, budget {} yuan: {}",
                fmt_yuan(*price_fen),
                fmt_yuan(*budget_fen),
                if *ok { "within budget" } else { "over budget" }
            ),
        }
    }
}

/// One matched listing on the other side.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    pub id: String,
    /// Text score (0–1) plus the bonuses; higher is better.
    pub score: f32,
    pub reasons: Vec<Reason>,
}

/// The matches for one listing. `no_good_match` is true when no candidate reached
/// `threshold` (then `matches` is empty): the UI should say so, not show near-misses.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchList {
    pub matches: Vec<Match>,
    pub no_good_match: bool,
    pub threshold: f32,
}

/// Shared words, most telling first, without a word that is part of another shown word
/// (激光 is not news next to 激光焊接).
fn shared_terms(q: &Analysis, d: &Analysis, idf: &dyn Fn(&str) -> f32) -> Vec<String> {
    let dw: HashSet<&str> = d.words.iter().map(String::as_str).collect();
    let mut shared: Vec<&str> = Vec::new();
    for w in &q.words {
        if dw.contains(w.as_str()) && !shared.contains(&w.as_str()) {
            shared.push(w);
        }
    }
    let keep: Vec<&str> = shared
        .iter()
        .copied()
        .filter(|w| !shared.iter().any(|o| o != w && o.contains(w)))
        .collect();
    let mut scored: Vec<(f32, &str)> = keep.into_iter().map(|w| (idf(w), w)).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .into_iter()
        .take(MAX_SHARED_SHOWN)
        .map(|(_, w)| w.to_string())
        .collect()
}

/// (their word, our word) for each dictionary group both mention in different words.
fn synonym_terms(q: &Analysis, d: &Analysis) -> Vec<(String, String)> {
    let mut ours: HashMap<&str, Vec<&str>> = HashMap::new();
    for (c, s) in &q.concepts {
        ours.entry(c).or_default().push(s);
    }
    let mut theirs: HashMap<&str, Vec<&str>> = HashMap::new();
    for (c, s) in &d.concepts {
        theirs.entry(c).or_default().push(s);
    }
    let mut out: Vec<(String, String)> = Vec::new();
    // In the order the other text mentions them, so the output is deterministic.
    let mut done = HashSet::new();
    for (c, _) in &d.concepts {
        if !done.insert(c.as_str()) {
            continue;
        }
        let (Some(o), Some(t)) = (ours.get(c.as_str()), theirs.get(c.as_str())) else {
            continue;
        };
        if o.iter().any(|w| t.contains(w)) {
            continue; // the same word: already a shared term
        }
        let pair = (t[0].to_string(), o[0].to_string());
        if !out.contains(&pair) {
            out.push(pair);
        }
    }
    out
}

/// (achievement, demand) in that order, whichever of the two is the query.
fn by_side<'a>(l: &'a Listing, other: &'a Listing) -> (&'a Listing, &'a Listing) {
    if l.side == Side::Achievement {
        (l, other)
    } else {
        (other, l)
    }
}

/// The reasons and bonus for a pair beyond their text.
fn facts(l: &Listing, other: &Listing, reasons: &mut Vec<Reason>) -> f32 {
    let mut bonus = 0.0;
    if !l.field.is_empty() && l.field == other.field {
        bonus += FIELD_BONUS;
        reasons.push(Reason::SameField(l.field.clone()));
    }
    if let Some(fit) = region_fit(&l.region, &other.region) {
        bonus += match fit {
            RegionFit::SameDistrict => DISTRICT_BONUS,
            RegionFit::SameCity => CITY_BONUS,
            RegionFit::SameProvince => PROVINCE_BONUS,
            RegionFit::Elsewhere => 0.0,
        };
        reasons.push(Reason::Region(fit));
    }
    let (ach, dem) = by_side(l, other);
    if let Some(have) = ach.maturity {
        let need = dem.maturity;
        let ok = need.is_none_or(|n| have >= n);
        if need.is_some() {
            bonus += if ok {
                MATURITY_OK_BONUS
            } else {
                -MATURITY_SHORT_PENALTY
            };
        }
        reasons.push(Reason::Maturity { have, need, ok });
    }
    if let (Some(price_fen), Some(budget_fen)) = (ach.price_fen, dem.price_fen) {
        let ok = price_fen <= budget_fen;
        bonus += if ok {
            PRICE_OK_BONUS
        } else {
            -PRICE_OVER_PENALTY
        };
        reasons.push(Reason::Price {
            price_fen,
            budget_fen,
            ok,
        });
    }
    bonus
}

/// Turns text candidates into the ranked, explained, thresholded list.
pub(crate) fn rank(
    l: &Listing,
    qa: &Analysis,
    cands: Vec<Candidate>,
    limit: usize,
    threshold: f32,
    idf: &dyn Fn(&str) -> f32,
) -> MatchList {
    let mut matches: Vec<Match> = cands
        .into_iter()
        .filter(|c| c.text_score >= threshold)
        .map(|c| {
            let mut reasons = Vec::new();
            let shared = shared_terms(qa, &c.analysis, idf);
            if !shared.is_empty() {
                reasons.push(Reason::SharedTerms(shared));
            }
            let syn = synonym_terms(qa, &c.analysis);
            if !syn.is_empty() {
                reasons.push(Reason::SynonymTerms(syn));
            }
            let bonus = facts(l, &c.listing, &mut reasons);
            Match {
                id: c.listing.id,
                score: c.text_score + bonus,
                reasons,
            }
        })
        .collect();
    matches.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    matches.truncate(limit);
    MatchList {
        no_good_match: matches.is_empty(),
        matches,
        threshold,
    }
}

/// Shortlists for every demand and every achievement at once.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// (demand id, its best achievements) in the order of the demands given.
    pub per_demand: Vec<(String, Vec<Match>)>,
    /// (achievement id, its best demands) in the order of the achievements given.
    pub per_achievement: Vec<(String, Vec<Match>)>,
    /// The number of (achievement, demand) pairs considered: N × M.
    pub pairs: usize,
}

/// Matches N achievements against M demands both ways: an in-memory index over each side and
/// one query per listing of the other, in parallel. Panics only if an in-memory index fails,
/// which is a bug; [`try_batch_match`] returns the error instead.
pub fn batch_match(
    achievements: &[Listing],
    demands: &[Listing],
    dict: &Dictionary,
    per_item: usize,
) -> Batch {
    try_batch_match(achievements, demands, dict, per_item).expect("in-memory market index failed")
}

pub fn try_batch_match(
    achievements: &[Listing],
    demands: &[Listing],
    dict: &Dictionary,
    per_item: usize,
) -> Result<Batch, MarketError> {
    let analyzer = Arc::new(Analyzer::new(dict.clone()));
    let a_index = MarketIndex::in_ram_with(analyzer.clone())?;
    a_index.upsert_many(achievements)?;
    a_index.commit(0)?;
    let d_index = MarketIndex::in_ram_with(analyzer)?;
    d_index.upsert_many(demands)?;
    d_index.commit(0)?;
    let shortlist = |index: &MarketIndex, ls: &[Listing]| {
        ls.par_iter()
            .map(|l| {
                let qa = index.analyzer().analyze(&listing_text(l));
                index
                    .matches_for_analysed(l, &qa, per_item)
                    .map(|m| (l.id.clone(), m.matches))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(Batch {
        per_demand: shortlist(&a_index, demands)?,
        per_achievement: shortlist(&d_index, achievements)?,
        pairs: achievements.len() * demands.len(),
    })
}

pub(crate) fn env_threshold() -> f32 {
    env_f32("KC_THRESHOLD", DEFAULT_THRESHOLD)
}

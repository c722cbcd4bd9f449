//! Measuring the matching on a labelled sample: for each demand with at least one relevant
//! label, rank the achievements with the engine (`matches_for`, top 10) and with the bigram
//! baseline, and compare recall@10, precision@10, nDCG@10 and MRR.
//!
//! Definitions (unlabelled achievements count as not relevant):
//! - relevant = label relevance ≥ 1;
//! - recall@10 = relevant in the top 10 / all relevant labels of the demand;
//! - precision@10 = relevant in the top 10 / 10 (a short list is not rewarded);
//! - nDCG@10 with gain 2^rel − 1 and discount log2(rank + 1), ideal = labels sorted;
//! - MRR = mean of 1 / rank of the first relevant in the top 10 (0 if none).

use std::collections::HashMap;
use std::path::Path;

use crate::{Dictionary, Listing, MarketError, MarketIndex, Maturity, Side, baseline, field};

/// A judged pair: how relevant an achievement is to a demand (0 hard negative, 1 relevant,
/// 2 highly relevant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub demand: String,
    pub achievement: String,
    pub relevance: u8,
}

/// Listings of both sides and judgements between them.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    pub achievements: Vec<Listing>,
    pub demands: Vec<Listing>,
    pub labels: Vec<Label>,
}

const ACH_FILE: &str = "achievements.csv";
const DEM_FILE: &str = "demands.csv";
const LAB_FILE: &str = "labels.csv";

/// One CSV file read by header names, with errors that name the file, row and column.
struct Csv {
    file: &'static str,
    headers: Vec<String>,
    rows: Vec<csv::StringRecord>,
}

impl Csv {
    fn read(file: &'static str, text: &str, required: &[&str]) -> Result<Csv, MarketError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_bytes());
        let err = |row: usize, column: &str, message: String| MarketError::Parse {
            file: file.to_string(),
            row,
            column: column.to_string(),
            message,
        };
        let headers: Vec<String> = r
            .headers()
            .map_err(|e| err(1, "", e.to_string()))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        for col in required {
            if !headers.iter().any(|h| h == col) {
                return Err(err(1, col, format!("缺少列 {col} (missing column {col})")));
            }
        }
        let mut rows = Vec::new();
        for (i, rec) in r.records().enumerate() {
            rows.push(rec.map_err(|e| err(i + 2, "", e.to_string()))?);
        }
        Ok(Csv {
            file,
            headers,
            rows,
        })
    }

    /// (row number with the header as row 1, accessor) for each data row.
    fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().enumerate().map(move |(i, rec)| Row {
            csv: self,
            row: i + 2,
            rec,
        })
    }
}

struct Row<'a> {
    csv: &'a Csv,
    row: usize,
    rec: &'a csv::StringRecord,
}

impl Row<'_> {
    fn get(&self, col: &str) -> &str {
        self.csv
            .headers
            .iter()
            .position(|h| h == col)
            .and_then(|i| self.rec.get(i))
            .unwrap_or("")
            .trim()
    }
    fn err(&self, col: &str, message: String) -> MarketError {
        MarketError::Parse {
            file: self.csv.file.to_string(),
            row: self.row,
            column: col.to_string(),
            message,
        }
    }
    fn required(&self, col: &str) -> Result<String, MarketError> {
        let v = self.get(col);
        if v.is_empty() {
            return Err(self.err(col, "不能为空 (must not be empty)".into()));
        }
        Ok(v.to_string())
    }
    fn field(&self) -> Result<String, MarketError> {
        let v = self.required("field")?;
        field(&v)
            .map(|f| f.code.to_string())
            .ok_or_else(|| self.err("field", format!("未知领域 “{v}” (unknown field “{v}”)")))
    }
    fn maturity(&self) -> Result<Option<Maturity>, MarketError> {
        let v = self.get("maturity");
        if v.is_empty() {
            return Ok(None);
        }
        Maturity::parse(v).map(Some).ok_or_else(|| {
            self.err(
                "maturity",
                format!("未知成熟度 “{v}” (unknown maturity “{v}”)"),
            )
        })
    }
    fn money(&self, col: &str) -> Result<Option<i64>, MarketError> {
        let v = self.get(col);
        if v.is_empty() {
            return Ok(None);
        }
        crate::parse_yuan(v).map(Some).map_err(|m| self.err(col, m))
    }
    fn region(&self) -> Result<Vec<String>, MarketError> {
        let v = self.get("region");
        if v.is_empty() {
            return Ok(Vec::new());
        }
        let path = crate::region_path(v);
        if path.is_empty() {
            return Err(self.err("region", format!("未知地区 “{v}” (unknown region “{v}”)")));
        }
        Ok(path)
    }
}

fn split_keywords(s: &str) -> Vec<String> {
    s.split([';', '\u{FF1B}'])
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

impl Sample {
    /// The sample shipped with the crate (`data/market/sample/*.csv`, built in).
    pub fn builtin() -> Sample {
        Sample::parse(
            include_str!("../../../data/market/sample/achievements.csv"),
            include_str!("../../../data/market/sample/demands.csv"),
            include_str!("../../../data/market/sample/labels.csv"),
        )
        .expect("data/market/sample is checked by the crate's tests")
    }

    /// Reads `achievements.csv`, `demands.csv` and `labels.csv` from a directory.
    pub fn read_dir(dir: &Path) -> Result<Sample, MarketError> {
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read_to_string(&p).map_err(|e| MarketError::Io {
                path: p.display().to_string(),
                message: e.to_string(),
            })
        };
        Sample::parse(&read(ACH_FILE)?, &read(DEM_FILE)?, &read(LAB_FILE)?)
    }

    pub fn parse(
        achievements_csv: &str,
        demands_csv: &str,
        labels_csv: &str,
    ) -> Result<Sample, MarketError> {
        let mut s = Sample::default();
        let ach = Csv::read(
            ACH_FILE,
            achievements_csv,
            &[
                "id", "title", "field", "keywords", "abstract", "maturity", "price", "region",
            ],
        )?;
        for r in ach.rows() {
            s.achievements.push(Listing {
                id: r.required("id")?,
                side: Side::Achievement,
                title: r.required("title")?,
                field: r.field()?,
                keywords: split_keywords(r.get("keywords")),
                text: r.get("abstract").to_string(),
                maturity: r.maturity()?,
                price_fen: r.money("price")?,
                region: r.region()?,
            });
        }
        let dem = Csv::read(
            DEM_FILE,
            demands_csv,
            &[
                "id", "title", "field", "problem", "budget", "region", "maturity",
            ],
        )?;
        for r in dem.rows() {
            s.demands.push(Listing {
                id: r.required("id")?,
                side: Side::Demand,
                title: r.required("title")?,
                field: r.field()?,
                keywords: split_keywords(r.get("keywords")),
                text: r.get("problem").to_string(),
                maturity: r.maturity()?,
                price_fen: r.money("budget")?,
                region: r.region()?,
            });
        }
        let lab = Csv::read(
            LAB_FILE,
            labels_csv,
            &["demand", "achievement", "relevance"],
        )?;
        for r in lab.rows() {
            let demand = r.required("demand")?;
            if !s.demands.iter().any(|d| d.id == demand) {
                return Err(r.err(
                    "demand",
                    format!("没有需求 “{demand}” (no demand “{demand}”)"),
                ));
            }
            let achievement = r.required("achievement")?;
            if !s.achievements.iter().any(|a| a.id == achievement) {
                return Err(r.err(
                    "achievement",
                    format!("没有成果 “{achievement}” (no achievement “{achievement}”)"),
                ));
            }
            let rel = r.get("relevance");
            let relevance = match rel {
                "0" => 0,
                "1" => 1,
                "2" => 2,
                _ => {
                    return Err(r.err(
                        "relevance",
                        format!("相关度应为 0、1 或 2,而不是 “{rel}” (relevance must be 0, 1 or 2, not “{rel}”)"),
                    ));
                }
            };
            s.labels.push(Label {
                demand,
                achievement,
                relevance,
            });
        }
        Ok(s)
    }

    /// Each demand's labels: achievement id → relevance.
    pub fn judgements(&self) -> HashMap<&str, HashMap<&str, u8>> {
        let mut out: HashMap<&str, HashMap<&str, u8>> = HashMap::new();
        for l in &self.labels {
            out.entry(&l.demand)
                .or_default()
                .insert(&l.achievement, l.relevance);
        }
        out
    }
}

/// Mean metrics over the evaluated demands.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    pub recall_at_10: f64,
    pub precision_at_10: f64,
    pub ndcg_at_10: f64,
    pub mrr: f64,
    pub queries: usize,
}

/// The cut-off of every metric.
pub const K: usize = 10;

/// The metrics of one ranking (best first) against one demand's labels, as a one-query
/// [`Metrics`]. See the module documentation for the definitions.
pub fn score_ranking(ranked: &[&str], labels: &HashMap<&str, u8>) -> Metrics {
    let rel = |id: &str| labels.get(id).copied().unwrap_or(0);
    let relevant = labels.values().filter(|&&r| r >= 1).count();
    let top = &ranked[..ranked.len().min(K)];
    let hits = top.iter().filter(|id| rel(id) >= 1).count();
    let gain = |r: u8| f64::from((1u32 << r) - 1);
    let discount = |i: usize| (i as f64 + 2.0).log2();
    let dcg: f64 = top
        .iter()
        .enumerate()
        .map(|(i, id)| gain(rel(id)) / discount(i))
        .fold(0.0, |a, b| a + b);
    let mut ideal: Vec<u8> = labels.values().copied().collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(K)
        .enumerate()
        .map(|(i, &r)| gain(r) / discount(i))
        .fold(0.0, |a, b| a + b);
    let first = top.iter().position(|id| rel(id) >= 1);
    Metrics {
        recall_at_10: if relevant == 0 {
            0.0
        } else {
            hits as f64 / relevant as f64
        },
        precision_at_10: hits as f64 / K as f64,
        ndcg_at_10: if idcg == 0.0 { 0.0 } else { dcg / idcg },
        mrr: first.map_or(0.0, |p| 1.0 / (p as f64 + 1.0)),
        queries: 1,
    }
}

impl Metrics {
    /// The mean of per-query metrics.
    pub fn mean(per_query: &[Metrics]) -> Metrics {
        let n = per_query.len();
        if n == 0 {
            return Metrics::default();
        }
        let avg = |f: fn(&Metrics) -> f64| per_query.iter().map(f).sum::<f64>() / n as f64;
        Metrics {
            recall_at_10: avg(|m| m.recall_at_10),
            precision_at_10: avg(|m| m.precision_at_10),
            ndcg_at_10: avg(|m| m.ndcg_at_10),
            mrr: avg(|m| m.mrr),
            queries: n,
        }
    }
}

/// The engine's and the baseline's figures on one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub engine: Metrics,
    pub baseline: Metrics,
    /// Evaluated demands for which the engine answered `no_good_match`.
    pub engine_no_good_match: usize,
}

impl Report {
    pub fn render(&self) -> String {
        let row = |name: &str, m: &Metrics| {
            format!(
                "{name:<22} {:>9.3} {:>12.3} {:>9.3} {:>7.3}\n",
                m.recall_at_10, m.precision_at_10, m.ndcg_at_10, m.mrr
            )
        };
        let mut s = format!(
            "匹配评测 (matching evaluation): {} 个需求 (demands)\n",
            self.engine.queries
        );
        s += &format!(
            "{:<22} {:>9} {:>12} {:>9} {:>7}\n",
            "", "recall@10", "precision@10", "nDCG@10", "MRR"
        );
        s += &row("引擎 engine", &self.engine);
        s += &row("二元组基线 baseline", &self.baseline);
        s += &format!(
            "引擎答“无合适匹配”的需求 (demands answered no_good_match): {}\n",
            self.engine_no_good_match
        );
        s
    }
}

/// Runs the engine (threshold as in [`MarketIndex::threshold`]) and the baseline on every
/// demand that has at least one relevant label.
pub fn evaluate(sample: &Sample, dict: &Dictionary) -> Report {
    evaluate_with(sample, dict, None).expect("in-memory market index failed")
}

/// [`evaluate`] with another threshold (for calibration), returning index errors.
pub fn evaluate_with(
    sample: &Sample,
    dict: &Dictionary,
    threshold: Option<f32>,
) -> Result<Report, MarketError> {
    let mut index = MarketIndex::in_ram(dict.clone())?;
    if let Some(t) = threshold {
        index.set_threshold(t);
    }
    index.upsert_many(&sample.achievements)?;
    index.commit(0)?;
    let judged = sample.judgements();
    let mut engine = Vec::new();
    let mut base = Vec::new();
    let mut no_good = 0;
    for d in &sample.demands {
        let Some(labels) = judged.get(d.id.as_str()) else {
            continue;
        };
        if !labels.values().any(|&r| r >= 1) {
            continue;
        }
        let m = index.matches_for(d, K)?;
        if m.no_good_match {
            no_good += 1;
        }
        let ids: Vec<&str> = m.matches.iter().map(|m| m.id.as_str()).collect();
        engine.push(score_ranking(&ids, labels));
        let b = baseline::rank(d, &sample.achievements, K);
        let ids: Vec<&str> = b.iter().map(|(id, _)| id.as_str()).collect();
        base.push(score_ranking(&ids, labels));
    }
    Ok(Report {
        engine: Metrics::mean(&engine),
        baseline: Metrics::mean(&base),
        engine_no_good_match: no_good,
    })
}

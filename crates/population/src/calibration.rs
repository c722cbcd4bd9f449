//! Calibration files (TOML): what a synthetic population should look like, every figure with
//! its source. `docs/population.md` documents the format.

use crate::PopulationError;
use jiff::civil::Date;
use kc_check::Library;
use kc_check::ir::{MemberId, Type, Value};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// How many applicants the figures describe (`count`): a generated population of another
    /// size is a proportional sample.
    pub population: Quantity,
    pub period: Period,
    /// Applicant kinds: weights (counts or shares), normalised.
    pub kinds: Shares,
    /// Enterprise sizes, among enterprises.
    pub sizes: Shares,
    pub regions: Shares,
    #[serde(default)]
    pub certifications: Vec<CertCalibration>,
    #[serde(default)]
    pub events: Vec<EventCalibration>,
    #[serde(default)]
    pub figures: Vec<FigureCalibration>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub from: String,
    pub to: String,
    pub source: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shares {
    pub shares: BTreeMap<String, f64>,
    pub source: String,
}

/// A number with its source: an absolute `count` in the population the calibration describes
/// (per year where it is a yearly figure), or a `rate` per eligible applicant (per year).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quantity {
    pub count: Option<f64>,
    pub rate: Option<f64>,
    pub source: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertCalibration {
    pub cert: String,
    /// The applicant kinds that can hold it.
    pub kinds: Vec<String>,
    /// Certifications of one group are exclusive (an institution is national, provincial or
    /// municipal, not two of them): a holder holds one of the group.
    #[serde(default)]
    pub group: Option<String>,
    /// Holders at the start of the period.
    pub holders: Quantity,
    /// New certifications a year (first recognition), among the eligible not holding it.
    pub new_per_year: Quantity,
    /// Re-recognition every `count` years (e.g. 3 for high-tech enterprises): a `certified`
    /// event that is not the first.
    #[serde(default)]
    pub renewal_years: Option<Quantity>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventCalibration {
    pub event: String,
    pub kinds: Vec<String>,
    /// Enterprise sizes that have such events (empty: every applicant of the kinds).
    #[serde(default)]
    pub sizes: Vec<String>,
    /// Expected events per eligible applicant and year (`rate`), or a yearly `count` in the
    /// described population.
    pub per_year: Quantity,
    #[serde(default)]
    pub fields: BTreeMap<String, FieldCalibration>,
}

/// The distribution of one event field: money log-normal by `median` and `p90` (decimal yuan,
/// at most `max`), enum `shares` (weights by member name), a boolean's `true_share`, or a fixed
/// `value`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldCalibration {
    pub median: Option<String>,
    pub p90: Option<String>,
    pub max: Option<String>,
    pub shares: Option<BTreeMap<String, f64>>,
    pub true_share: Option<f64>,
    pub value: Option<String>,
    pub source: String,
}

/// A yearly figure (e.g. `contract_turnover`) of the applicants of some kinds, log-normal.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureCalibration {
    pub figure: String,
    pub kinds: Vec<String>,
    pub median: String,
    pub p90: String,
    pub source: String,
}

/// A calibration resolved against a library: names to ids, counts to probabilities.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub from: Date,
    pub to: Date,
    pub kinds: Vec<(MemberId, f64)>,
    pub sizes: Vec<(MemberId, f64)>,
    pub regions: Vec<(MemberId, f64)>,
    pub kind_slot: usize,
    pub region_slot: usize,
    pub size_slot: Option<(usize, usize)>,
    pub enterprise: Option<MemberId>,
    pub certs: Vec<ResolvedCert>,
    pub events: Vec<ResolvedEvent>,
    pub figures: Vec<(usize, Vec<MemberId>, f64, f64)>,
    pub certified: Option<ResolvedCertified>,
}

#[derive(Clone, Debug)]
pub(crate) struct ResolvedCert {
    pub cert: MemberId,
    pub kinds: Vec<MemberId>,
    pub group: Option<String>,
    pub p_hold: f64,
    pub p_new: f64,
    pub renewal: Option<i16>,
}

/// The `certified` event: its kind and the slots of its certification and `first` fields.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ResolvedCertified {
    pub kind: usize,
    pub cert_slot: usize,
    pub first_slot: Option<usize>,
}

#[derive(Clone, Debug)]
pub(crate) struct ResolvedEvent {
    pub kind: usize,
    pub kinds: Vec<MemberId>,
    pub sizes: Vec<MemberId>,
    pub rate: f64,
    /// Per declared field: how to draw it.
    pub fields: Vec<Draw>,
}

#[derive(Clone, Debug)]
pub(crate) enum Draw {
    LogNormal {
        mu: f64,
        sigma: f64,
        max: Option<f64>,
    },
    Shares(usize, Vec<(MemberId, f64)>),
    Bool(f64),
    Fixed(Value),
    /// Not calibrated: the defaults of docs/population.md.
    Default(Type),
}

fn bad(m: String) -> PopulationError {
    PopulationError::new(format!("校准文件 calibration: {m}"))
}

fn check_source(what: &str, s: &str) -> Result<(), PopulationError> {
    if s.trim().is_empty() {
        return Err(bad(format!(
            "{what} 缺少来源 (has no source: cite the document and clause, or say it is an assumption)"
        )));
    }
    Ok(())
}

pub(crate) fn lognormal(median: f64, p90: f64) -> Option<(f64, f64)> {
    (median > 0.0 && p90 >= median).then(|| {
        let mu = median.ln();
        // z of the 90th percentile of the standard normal.
        (mu, (p90.ln() - mu) / 1.281_551_565_544_600_5)
    })
}

impl Calibration {
    pub fn parse(text: &str) -> Result<Calibration, PopulationError> {
        toml::from_str(text).map_err(|e| {
            bad(format!(
                "不是有效的校准文件 (not a valid calibration file: {e})"
            ))
        })
    }

    pub fn load(path: &std::path::Path) -> Result<Calibration, PopulationError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| crate::io_error("无法读取 cannot read", path, e))?;
        Calibration::parse(&text)
    }

    pub fn period(&self) -> Result<(Date, Date), PopulationError> {
        let d = |s: &str| {
            s.parse::<Date>()
                .map_err(|_| bad(format!("period: “{s}”不是日期 (not a date YYYY-MM-DD)")))
        };
        let (f, t) = (d(&self.period.from)?, d(&self.period.to)?);
        if f > t {
            return Err(bad("period: from 晚于 to (from is after to)".into()));
        }
        Ok((f, t))
    }

    /// Every source in the file, with what it is the source of.
    pub fn sources(&self) -> Vec<(String, &str)> {
        let mut out = vec![
            ("population".to_string(), self.population.source.as_str()),
            ("period".to_string(), self.period.source.as_str()),
            ("kinds".to_string(), self.kinds.source.as_str()),
            ("sizes".to_string(), self.sizes.source.as_str()),
            ("regions".to_string(), self.regions.source.as_str()),
        ];
        for c in &self.certifications {
            out.push((
                format!("certifications.{}.holders", c.cert),
                &c.holders.source,
            ));
            out.push((
                format!("certifications.{}.new_per_year", c.cert),
                &c.new_per_year.source,
            ));
            if let Some(r) = &c.renewal_years {
                out.push((
                    format!("certifications.{}.renewal_years", c.cert),
                    &r.source,
                ));
            }
        }
        for e in &self.events {
            out.push((format!("events.{}.per_year", e.event), &e.per_year.source));
            for (f, fc) in &e.fields {
                out.push((format!("events.{}.fields.{f}", e.event), &fc.source));
            }
        }
        for f in &self.figures {
            out.push((format!("figures.{}", f.figure), &f.source));
        }
        out
    }

    pub(crate) fn resolve(&self, lib: &Library) -> Result<Resolved, PopulationError> {
        for (what, s) in self.sources() {
            check_source(&what, s)?;
        }
        let v = &lib.vocab;
        let (from, to) = self.period()?;
        let n =
            self.population.count.filter(|n| *n >= 1.0).ok_or_else(|| {
                bad("population.count 应为正数 (must be a positive count)".into())
            })?;
        let members =
            |e: usize, what: &str, s: &Shares| -> Result<Vec<(MemberId, f64)>, PopulationError> {
                let def = &v.enums[e];
                let mut out = Vec::new();
                for (name, w) in &s.shares {
                    let m = def.member(name).ok_or_else(|| {
                        bad(format!(
                            "{what}: “{name}”不是{} (not a member of {})",
                            def.label.zh, def.name
                        ))
                    })?;
                    if !(w.is_finite() && *w >= 0.0) {
                        return Err(bad(format!("{what}.{name}: 应为非负数 (must be ≥ 0)")));
                    }
                    out.push((m, *w));
                }
                let total: f64 = out.iter().map(|(_, w)| w).sum();
                if total <= 0.0 {
                    return Err(bad(format!("{what}: 合计为零 (the shares add up to zero)")));
                }
                Ok(out.into_iter().map(|(m, w)| (m, w / total)).collect())
            };
        let kinds = members(v.applicant_kind, "kinds", &self.kinds)?;
        let regions = members(v.region, "regions", &self.regions)?;
        let size_slot = v
            .applicant
            .iter()
            .enumerate()
            .find_map(|(i, f)| match f.ty {
                Type::Enum(e) if f.name == "size" => Some((i, e)),
                _ => None,
            });
        let sizes = match size_slot {
            Some((_, e)) => members(e, "sizes", &self.sizes)?,
            None => Vec::new(),
        };
        let enterprise = v.enums[v.applicant_kind].member("enterprise");
        let kind_list = |what: &str, names: &[String]| -> Result<Vec<MemberId>, PopulationError> {
            names
                .iter()
                .map(|k| {
                    v.enums[v.applicant_kind].member(k).ok_or_else(|| {
                        bad(format!(
                            "{what}: “{k}”不是申报主体类型 (not an applicant kind)"
                        ))
                    })
                })
                .collect()
        };
        let share_of = |ks: &[MemberId]| -> f64 {
            kinds
                .iter()
                .filter(|(k, _)| ks.contains(k))
                .map(|(_, s)| s)
                .sum()
        };
        let quantity = |what: &str, q: &Quantity, eligible: f64| -> Result<f64, PopulationError> {
            match (q.count, q.rate) {
                (Some(c), None) if c >= 0.0 => Ok(if eligible > 0.0 { c / eligible } else { 0.0 }),
                (None, Some(r)) if r >= 0.0 => Ok(r),
                _ => Err(bad(format!(
                    "{what}: 应给出 count 或 rate 之一,且非负 (give one of count or rate, not negative)"
                ))),
            }
        };
        let mut certs = Vec::new();
        for c in &self.certifications {
            let cert = v.enums[v.certification].member(&c.cert).ok_or_else(|| {
                bad(format!(
                    "certifications: “{}”不是资质类型 (not a certification)",
                    c.cert
                ))
            })?;
            let ks = kind_list(&format!("certifications.{}.kinds", c.cert), &c.kinds)?;
            let eligible = n * share_of(&ks);
            let p_hold = quantity(
                &format!("certifications.{}.holders", c.cert),
                &c.holders,
                eligible,
            )?;
            let new = quantity(
                &format!("certifications.{}.new_per_year", c.cert),
                &c.new_per_year,
                1.0,
            )?;
            // A yearly count of new certifications is drawn among the eligible not holding it.
            let p_new = if c.new_per_year.count.is_some() {
                let rest = eligible * (1.0 - p_hold.min(1.0));
                if rest > 0.0 { new / rest } else { 0.0 }
            } else {
                new
            };
            let renewal = match &c.renewal_years {
                Some(q) => match q.count {
                    Some(y) if (1.0..=50.0).contains(&y) => Some(y as i16),
                    _ => {
                        return Err(bad(format!(
                            "certifications.{}.renewal_years: 应为 1 到 50 的年数 count (a count of years)",
                            c.cert
                        )));
                    }
                },
                None => None,
            };
            certs.push(ResolvedCert {
                cert,
                kinds: ks,
                group: c.group.clone(),
                p_hold: p_hold.min(1.0),
                p_new: p_new.min(1.0),
                renewal,
            });
        }
        let certified = v.event_by_name("certified").and_then(|kind| {
            let def = &v.events[kind];
            let cert_slot = def
                .fields
                .iter()
                .position(|f| f.ty == Type::Enum(v.certification))?;
            let first_slot = def
                .fields
                .iter()
                .position(|f| f.name == "first" && f.ty == Type::Bool);
            Some(ResolvedCertified {
                kind,
                cert_slot,
                first_slot,
            })
        });
        if !certs.is_empty() && certified.is_none() {
            return Err(bad(
                "词汇表没有 certified 事项 (the vocabulary has no certified event)".into(),
            ));
        }
        let mut events = Vec::new();
        for e in &self.events {
            let kind = v.event_by_name(&e.event).ok_or_else(|| {
                bad(format!(
                    "events: “{}”不是事项类型 (not an event kind)",
                    e.event
                ))
            })?;
            let def = &v.events[kind];
            let ks = kind_list(&format!("events.{}.kinds", e.event), &e.kinds)?;
            let mut sz = Vec::new();
            for s in &e.sizes {
                let Some((_, se)) = size_slot else {
                    return Err(bad(
                        "sizes: 词汇表没有 size 字段 (the vocabulary has no size)".into(),
                    ));
                };
                sz.push(v.enums[se].member(s).ok_or_else(|| {
                    bad(format!(
                        "events.{}.sizes: “{s}”不是企业规模 (not a size)",
                        e.event
                    ))
                })?);
            }
            let mut eligible = n * share_of(&ks);
            if !sz.is_empty() {
                let s: f64 = sizes
                    .iter()
                    .filter(|(m, _)| sz.contains(m))
                    .map(|(_, w)| w)
                    .sum();
                eligible *= s;
            }
            let rate = quantity(
                &format!("events.{}.per_year", e.event),
                &e.per_year,
                eligible,
            )?;
            for name in e.fields.keys() {
                if !def.fields.iter().any(|f| &f.name == name) {
                    return Err(bad(format!(
                        "events.{}.fields: 事项没有字段 {name} (the event has no field {name})",
                        e.event
                    )));
                }
            }
            let mut fields = Vec::new();
            for f in &def.fields {
                let what = format!("events.{}.fields.{}", e.event, f.name);
                fields.push(match e.fields.get(&f.name) {
                    None => Draw::Default(f.ty),
                    Some(fc) => draw(lib, &what, f.ty, fc)?,
                });
            }
            events.push(ResolvedEvent {
                kind,
                kinds: ks,
                sizes: sz,
                rate,
                fields,
            });
        }
        let mut figures = Vec::new();
        for f in &self.figures {
            let fid = v.figure_by_name(&f.figure).ok_or_else(|| {
                bad(format!(
                    "figures: “{}”不是年度数据 (not a figure)",
                    f.figure
                ))
            })?;
            let ks = kind_list(&format!("figures.{}.kinds", f.figure), &f.kinds)?;
            let (mu, sigma) = money_lognormal(&format!("figures.{}", f.figure), &f.median, &f.p90)?;
            figures.push((fid, ks, mu, sigma));
        }
        Ok(Resolved {
            from,
            to,
            kinds,
            sizes,
            regions,
            kind_slot: v.kind_slot,
            region_slot: v.region_slot,
            size_slot,
            enterprise,
            certs,
            events,
            figures,
            certified,
        })
    }
}

fn amount(what: &str, s: &str) -> Result<f64, PopulationError> {
    let m = kc_money::Money::parse_amount(s).map_err(|e| bad(format!("{what}: “{s}” {e}")))?;
    m.decimal()
        .to_string()
        .parse::<f64>()
        .map_err(|e| bad(format!("{what}: {e}")))
}

fn money_lognormal(what: &str, median: &str, p90: &str) -> Result<(f64, f64), PopulationError> {
    lognormal(amount(what, median)?, amount(what, p90)?).ok_or_else(|| {
        bad(format!(
            "{what}: 须 0 < median ≤ p90 (need 0 < median ≤ p90)"
        ))
    })
}

fn draw(
    lib: &Library,
    what: &str,
    ty: Type,
    fc: &FieldCalibration,
) -> Result<Draw, PopulationError> {
    if let Some(v) = &fc.value {
        let val = kc_wire::parse_value_text(lib, ty, v, what).map_err(|e| bad(e.to_string()))?;
        return Ok(Draw::Fixed(val));
    }
    match ty {
        Type::Money => {
            let (Some(m), Some(p)) = (&fc.median, &fc.p90) else {
                return Err(bad(format!(
                    "{what}: 金额须给出 median 与 p90 (money needs median and p90)"
                )));
            };
            let (mu, sigma) = money_lognormal(what, m, p)?;
            let max = fc.max.as_deref().map(|x| amount(what, x)).transpose()?;
            Ok(Draw::LogNormal { mu, sigma, max })
        }
        Type::Bool => match fc.true_share {
            Some(s) if (0.0..=1.0).contains(&s) => Ok(Draw::Bool(s)),
            _ => Err(bad(format!(
                "{what}: 须给出 0 到 1 的 true_share (give true_share in 0..1)"
            ))),
        },
        Type::Enum(e) => {
            let Some(shares) = &fc.shares else {
                return Err(bad(format!(
                    "{what}: 须给出 shares (give shares by member)"
                )));
            };
            let s = Shares {
                shares: shares.clone(),
                source: fc.source.clone(),
            };
            let def = &lib.vocab.enums[e];
            let mut out = Vec::new();
            for (name, w) in &s.shares {
                let m = def.member(name).ok_or_else(|| {
                    bad(format!(
                        "{what}: “{name}”不是{} (not a member of {})",
                        def.label.zh, def.name
                    ))
                })?;
                out.push((m, w.max(0.0)));
            }
            let total: f64 = out.iter().map(|(_, w)| w).sum();
            if total <= 0.0 {
                return Err(bad(format!("{what}: 合计为零 (the shares add up to zero)")));
            }
            Ok(Draw::Shares(
                e,
                out.into_iter().map(|(m, w)| (m, w / total)).collect(),
            ))
        }
        _ => Err(bad(format!(
            "{what}: 此类型只能给固定值 value (this type takes a fixed value only)"
        ))),
    }
}

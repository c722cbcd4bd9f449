//! Policy cost simulation (测算): the whole library over a population of applicants,
//! aggregated per measure and year — recipients, the fixed total, the maxima of the amounts left
//! to review (最高…) reported apart, the cases whose amount is set by review counted (with the
//! upper bound of their range where the clause gives one, never silently as zero), each
//! government level's share, and the distribution of the amounts; reforms (`reform`) against
//! the baseline with winners and losers; budgets beside the forecast. Pure: the population comes
//! in as evaluation inputs, the forecast goes out as a value. Applicants are evaluated by the
//! per-applicant engine (`Simulation::add`) or by the columnar engine (`Simulation::add_batch`,
//! `columnar`), which gives the same awards to the fen; every amount traces to a clause.

pub mod columnar;
pub mod reform;

use jiff::civil::Date;
use kc_check::Library;
use kc_eval::{AmountKind, Input};
use kc_money::Money;
use serde_json::{Value as J, json};
use std::collections::{BTreeMap, BTreeSet};

/// The forecast of one measure in one year.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line {
    pub measure: String,
    pub year: i16,
    /// Applicants with at least one award of the measure in the year.
    pub recipients: usize,
    /// Awards (events paid), of every kind.
    pub awards: usize,
    /// The sum of the amounts the clause determines (给予…, exact formulas).
    pub fixed: Money,
    /// The sum of the maxima of the amounts left to review (最高…, 不超过…): an upper bound.
    pub capped: Money,
    /// Awards whose amount review sets with no maximum the engine could compute.
    pub review_cases: usize,
    /// The sum of the upper bounds of those reviews where the clause gives a range.
    pub review_upper: Money,
    /// Each level's part of `fixed + capped` (central, province, city, district, institution).
    pub by_level: BTreeMap<String, Money>,
    /// The computed amounts (fixed and maxima) in fen, ascending: the distribution. Every award
    /// is to the fen; a population of millions has millions of them, which as fen take half the
    /// memory of decimals and sort several times faster.
    pub amounts: Vec<i64>,
}

impl Line {
    /// The amount at a percentile (nearest rank), `None` without computed amounts.
    pub fn percentile(&self, p: u32) -> Option<Money> {
        if self.amounts.is_empty() {
            return None;
        }
        let n = self.amounts.len();
        let rank = ((p as usize * n).div_ceil(100)).clamp(1, n);
        Some(Money::from_fen(self.amounts[rank - 1]))
    }

    /// The largest computed amount, `None` without computed amounts.
    pub fn max(&self) -> Option<Money> {
        self.amounts.last().copied().map(Money::from_fen)
    }
}

/// An award's amount in fen (awards are rounded down to the fen; rounding again changes
/// nothing).
fn fen(m: Money) -> i64 {
    let mut d = m.round_down_to_fen().decimal();
    d.rescale(2);
    i64::try_from(d.mantissa()).expect("an amount is at most Money::MAX, 10¹⁴ fen")
}

/// One applicant's total over the period (fixed amounts and maxima).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recipient {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub region: String,
    pub total: Money,
}

/// The forecast over a population.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Forecast {
    pub applicants: usize,
    pub from: Option<Date>,
    pub to: Option<Date>,
    /// By measure (library order), then year.
    pub lines: Vec<Line>,
    /// Every applicant with a computed amount, by id: what a comparison's winners and losers
    /// are drawn from. `None` from a simulation that kept totals only
    /// ([`Simulation::totals_only`]).
    pub recipients: Option<BTreeMap<String, Recipient>>,
}

impl Forecast {
    /// The sum of fixed amounts and maxima over every line.
    pub fn total(&self) -> Money {
        self.lines
            .iter()
            .fold(Money::ZERO, |s, l| s + l.fixed + l.capped)
    }
}

/// A line being counted: the line, the serial of the last applicant counted in it (an
/// applicant's awards arrive together, so a new serial is a new recipient: no set of ids to
/// keep), and each level's part so far, by level (a line's `by_level` is keyed by the level's
/// keyword; comparing those strings for every part of every award was a tenth of the
/// counting).
struct Tally {
    line: Line,
    last: usize,
    levels: [Option<Money>; LEVELS.len()],
}

/// Every level, in the order of [`Level`] (its index in [`Tally::levels`]).
const LEVELS: [kc_syntax::ast::Level; 5] = {
    use kc_syntax::ast::Level::*;
    [Central, Province, City, District, Institution]
};

impl Tally {
    fn add_level(&mut self, level: kc_syntax::ast::Level, m: Money) {
        let e = &mut self.levels[level as usize];
        *e = Some(e.map_or(m, |x| x + m));
    }

    /// The line, with its parts per level.
    fn into_line(self) -> Line {
        let mut line = self.line;
        for (level, m) in LEVELS.iter().zip(self.levels) {
            if let Some(m) = m {
                line.by_level.insert(level.keyword().to_string(), m);
            }
        }
        line
    }
}

/// Accumulates applicants one at a time, so a population never has to be in memory whole.
pub struct Simulation<'a> {
    lib: &'a Library,
    from: Option<Date>,
    to: Option<Date>,
    applicants: usize,
    /// Each line as it is counted (see [`Tally`]).
    lines: BTreeMap<(usize, i16), Tally>,
    /// `None` when only the lines are kept (see [`Simulation::totals_only`]).
    recipients: Option<BTreeMap<String, Recipient>>,
    plan: Option<columnar::Plan<'a>>,
    /// As a reform's simulation: which of its measures the baseline's awards serve.
    reuse: Option<Vec<Option<usize>>>,
}

impl<'a> Simulation<'a> {
    pub fn new(lib: &'a Library, from: Option<Date>, to: Option<Date>) -> Simulation<'a> {
        Simulation {
            lib,
            from,
            to,
            applicants: 0,
            lines: BTreeMap::new(),
            recipients: Some(BTreeMap::new()),
            plan: None,
            reuse: None,
        }
    }

    /// Keeps the lines only, not each recipient's total: for a run that is compared with no
    /// other. The per-applicant totals grow with the population (at 10M applicants, millions of
    /// entries, most of the peak memory); the lines do not.
    pub fn totals_only(mut self) -> Simulation<'a> {
        self.recipients = None;
        self
    }

    /// An empty simulation of `lib` over the period, keeping recipients or not: one part of a
    /// batch (on its thread), merged back in order into a simulation of the same kind.
    fn part(lib: &'a Library, from: Option<Date>, to: Option<Date>, keep: bool) -> Simulation<'a> {
        let part = Simulation::new(lib, from, to);
        if keep { part } else { part.totals_only() }
    }

    /// Restricts an applicant to the period: its events up to `to` (earlier ones too, so
    /// once-only rules and caps see them), judged as of `to`.
    fn prepare(&self, input: &mut Input) {
        if let Some(to) = self.to {
            input.events.retain(|e| e.date <= to);
            if input.as_of < to {
                input.as_of = to;
            }
        }
    }

    /// Evaluates one applicant with the per-applicant engine.
    pub fn add(&mut self, mut input: Input) {
        self.prepare(&mut input);
        let paid = columnar::engine_awards(self.lib, &input);
        self.record(&input, &paid);
    }

    /// Evaluates a batch of applicants with the columnar engine, in parallel chunks; the result
    /// is the same as adding each with [`Simulation::add`]. Returns what ran where.
    pub fn add_batch(&mut self, mut inputs: Vec<Input>) -> columnar::Stats {
        use rayon::prelude::*;
        for i in &mut inputs {
            self.prepare(i);
        }
        let plan = self
            .plan
            .get_or_insert_with(|| columnar::Plan::compile(self.lib));
        // Chunks big enough to amortise the column set-up, small enough to spread over cores.
        let chunk = (inputs.len() / (4 * rayon::current_num_threads())).clamp(256, 16_384);
        let (lib, from, to, keep) = (self.lib, self.from, self.to, self.recipients.is_some());
        // Each chunk counted into a forecast of its own on its thread, then merged in order.
        let results: Vec<(Simulation, columnar::Stats)> = inputs
            .par_chunks(chunk)
            .map(|c| {
                let (paid, s) = plan.run(c);
                let mut part = Simulation::part(lib, from, to, keep);
                for (input, paid) in c.iter().zip(paid) {
                    part.record(input, &paid);
                }
                (part, s)
            })
            .collect();
        let mut stats = plan.stats();
        for (part, s) in results {
            stats.add(s);
            self.merge(part);
        }
        stats
    }

    /// Evaluates a batch under this simulation's library and under a reform of it at once:
    /// the batch is laid out in columns once, evaluated under the baseline, and the reform
    /// re-evaluates only the measures it touches, taking the others' awards from the baseline
    /// ([`columnar::Plan::reevaluate`], [`reform::reuse`]). The result equals
    /// `self.add_batch(inputs.clone()); reform.add_batch(inputs)` (tested). Both simulations
    /// must cover the same period, and the reform be of this library ([`reform::apply`]).
    pub fn add_batch_with_reform(
        &mut self,
        reform: &mut Simulation<'a>,
        mut inputs: Vec<Input>,
    ) -> columnar::Stats {
        use rayon::prelude::*;
        assert!(
            self.from == reform.from && self.to == reform.to,
            "a reform is simulated over the baseline's period"
        );
        for i in &mut inputs {
            self.prepare(i);
        }
        let plan = self
            .plan
            .get_or_insert_with(|| columnar::Plan::compile(self.lib));
        let rplan = reform
            .plan
            .get_or_insert_with(|| columnar::Plan::compile(reform.lib));
        let reuse = reform
            .reuse
            .get_or_insert_with(|| reform::reuse(self.lib, reform.lib))
            .clone();
        let chunk = (inputs.len() / (4 * rayon::current_num_threads())).clamp(256, 16_384);
        let (lib, rlib, from, to) = (self.lib, reform.lib, self.from, self.to);
        let (keep, rkeep) = (self.recipients.is_some(), reform.recipients.is_some());
        // Each chunk counted into forecasts of its own on its thread, then merged in order.
        let results: Vec<(Simulation, Simulation, columnar::Stats)> = inputs
            .par_chunks(chunk)
            .map(|c| {
                let mut base = Simulation::part(lib, from, to, keep);
                let mut re = Simulation::part(rlib, from, to, rkeep);
                let mut stats = columnar::Stats::default();
                for slice in c.chunks(columnar::SLICE) {
                    let mut batch = plan.prepare(slice);
                    let (b, s) = plan.evaluate_awards(&mut batch);
                    let (r, _) = rplan.reevaluate(&mut batch, &b, &reuse);
                    stats.add(s);
                    for ((input, b), r) in slice.iter().zip(b.paid(plan)).zip(r.paid(rplan)) {
                        base.record(input, &b);
                        re.record(input, &r);
                    }
                }
                (base, re, stats)
            })
            .collect();
        let mut stats = plan.stats();
        for (base, re, s) in results {
            stats.add(s);
            self.merge(base);
            reform.merge(re);
        }
        stats
    }

    /// Counts one applicant's awards inside the period.
    fn record(&mut self, input: &Input, paid: &[columnar::Paid]) {
        self.applicants += 1;
        let serial = self.applicants;
        let mut total: Option<Money> = None;
        for p in paid {
            let date = input.events[p.event].date;
            if self.from.is_some_and(|f| date < f) {
                continue;
            }
            let year = date.year();
            let tally = self
                .lines
                .entry((p.measure, year))
                .or_insert_with(|| Tally {
                    line: Line {
                        measure: self.lib.measures[p.measure].id.clone(),
                        year,
                        ..Default::default()
                    },
                    last: 0,
                    levels: [None; LEVELS.len()],
                });
            let line = &mut tally.line;
            if tally.last != serial {
                tally.last = serial;
                line.recipients += 1;
            }
            line.awards += 1;
            match (p.kind, p.amount) {
                (AmountKind::Fixed, Some(m)) => line.fixed = line.fixed + m,
                (_, Some(m)) => line.capped = line.capped + m,
                (_, None) => {
                    line.review_cases += 1;
                    if let Some((_, hi)) = p.range {
                        line.review_upper = line.review_upper + hi;
                    }
                }
            }
            if let Some(m) = p.amount {
                total = Some(total.unwrap_or(Money::ZERO) + m);
                line.amounts.push(fen(m));
                for (level, part) in &p.split {
                    tally.add_level(*level, *part);
                }
            }
        }
        if let (Some(total), Some(recipients)) = (total, &mut self.recipients) {
            let v = &self.lib.vocab;
            let member = |slot: usize| match &input.applicant.fields[slot] {
                kc_check::Value::Enum(e, x) => v.member_name(*e, *x).to_string(),
                _ => String::new(),
            };
            let r = recipients
                .entry(input.applicant.id.clone())
                .or_insert_with(|| Recipient {
                    id: input.applicant.id.clone(),
                    name: input.applicant.name.clone(),
                    kind: member(v.kind_slot),
                    region: member(v.region_slot),
                    total: Money::ZERO,
                });
            r.total = r.total + total;
        }
    }

    /// Adds the counts of `part`, a simulation of the same library over other applicants.
    fn merge(&mut self, part: Simulation<'a>) {
        use std::collections::btree_map::Entry;
        self.applicants += part.applicants;
        for (key, tally) in part.lines {
            match self.lines.entry(key) {
                // The serial of the last applicant counted is this simulation's own: an
                // applicant counted in `part` is never counted again here.
                Entry::Vacant(v) => {
                    v.insert(Tally { last: 0, ..tally });
                }
                Entry::Occupied(mut o) => {
                    let t = o.get_mut();
                    let (l, line) = (&mut t.line, tally.line);
                    l.recipients += line.recipients;
                    l.awards += line.awards;
                    l.fixed = l.fixed + line.fixed;
                    l.capped = l.capped + line.capped;
                    l.review_cases += line.review_cases;
                    l.review_upper = l.review_upper + line.review_upper;
                    l.amounts.extend(line.amounts);
                    for (level, m) in LEVELS.iter().zip(tally.levels) {
                        if let Some(m) = m {
                            t.add_level(*level, m);
                        }
                    }
                }
            }
        }
        let (Some(mine), Some(theirs)) = (&mut self.recipients, part.recipients) else {
            return;
        };
        for (id, r) in theirs {
            match mine.entry(id) {
                Entry::Vacant(v) => {
                    v.insert(r);
                }
                Entry::Occupied(mut o) => {
                    let t = &mut o.get_mut().total;
                    *t = *t + r.total;
                }
            }
        }
    }

    pub fn finish(self) -> Forecast {
        let lines = self
            .lines
            .into_values()
            .map(|t| {
                let mut l = t.into_line();
                l.amounts.sort_unstable();
                l
            })
            .collect();
        Forecast {
            applicants: self.applicants,
            from: self.from,
            to: self.to,
            lines,
            recipients: self.recipients,
        }
    }
}

/// Reads a population in JSON lines: one `kechuang/eval-input/v1` document per line (blank
/// lines and lines starting with `#` skipped). An error names the line.
pub fn read_population<'t>(
    lib: &'t Library,
    text: &'t str,
) -> impl Iterator<Item = Result<Input, String>> + 't {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(move |(n, l)| {
            kc_wire::parse_input(lib, l, None)
                .map_err(|e| format!("第{}行 line {}: {e}", n + 1, n + 1))
        })
}

fn yuan(m: Money) -> String {
    m.grouped()
}

/// The forecast for a reader: per measure and year, in Chinese with English.
pub fn render_text(lib: &Library, f: &Forecast) -> String {
    let mut s = format!(
        "测算 simulation: {} 个申报主体 applicants{}\n",
        f.applicants,
        match (f.from, f.to) {
            (Some(a), Some(b)) => format!(", 期间 period {a} .. {b}"),
            (Some(a), None) => format!(", 自 from {a}"),
            (None, Some(b)) => format!(", 至 until {b}"),
            (None, None) => String::new(),
        }
    );
    for l in &f.lines {
        let label = lib
            .measure(&l.measure)
            .map(|m| m.label.zh.clone())
            .unwrap_or_default();
        s += &format!(
            "\n{} {} {}年: {} 个受益主体 recipients, {} 笔 awards\n",
            label, l.measure, l.year, l.recipients, l.awards
        );
        if l.fixed != Money::ZERO {
            s += &format!("    定额合计 fixed: {} 元\n", yuan(l.fixed));
        }
        if l.capped != Money::ZERO {
            s += &format!(
                "    最高额合计 up to (review may lower): {} 元\n",
                yuan(l.capped)
            );
        }
        if l.review_cases > 0 {
            s += &format!(
                "    评审确定 set by review: {} 笔 cases{}\n",
                l.review_cases,
                if l.review_upper != Money::ZERO {
                    format!(
                        ", 区间上限合计 range upper bounds {} 元",
                        yuan(l.review_upper)
                    )
                } else {
                    ", 无上限 no maximum in the clause".to_string()
                }
            );
        }
        if !l.by_level.is_empty() {
            s += "    分级 by level:";
            for (level, m) in &l.by_level {
                s += &format!(" {level} {} 元;", yuan(*m));
            }
            s += "\n";
        }
        if let (Some(p10), Some(p50), Some(p90)) =
            (l.percentile(10), l.percentile(50), l.percentile(90))
        {
            s += &format!(
                "    分布 distribution: p10 {} · p50 {} · p90 {} · max {} 元\n",
                yuan(p10),
                yuan(p50),
                yuan(p90),
                yuan(l.max().expect("non-empty"))
            );
        }
    }
    s += &format!("\n合计 total (fixed + up to): {} 元\n", yuan(f.total()));
    s
}

/// The forecast as JSON; amounts are decimal text in yuan.
pub fn to_json(f: &Forecast) -> J {
    json!({
        "schema": "kechuang/simulation/v1",
        "applicants": f.applicants,
        "from": f.from.map(|d| d.to_string()),
        "to": f.to.map(|d| d.to_string()),
        "total": f.total().plain(),
        "lines": f.lines.iter().map(|l| json!({
            "measure": l.measure, "year": l.year, "recipients": l.recipients, "awards": l.awards,
            "fixed": l.fixed.plain(), "up_to": l.capped.plain(),
            "review_cases": l.review_cases, "review_upper": l.review_upper.plain(),
            "by_level": l.by_level.iter().map(|(k, v)| (k.clone(), J::String(v.plain()))).collect::<serde_json::Map<_, _>>(),
            "p10": l.percentile(10).map(|m| m.plain()), "p50": l.percentile(50).map(|m| m.plain()),
            "p90": l.percentile(90).map(|m| m.plain()), "max": l.max().map(|m| m.plain()),
        })).collect::<Vec<_>>(),
    })
}

/// One measure and year, before and after a reform.
#[derive(Clone, Debug, PartialEq)]
pub struct DeltaLine {
    pub measure: String,
    pub year: i16,
    /// Fixed amounts plus maxima.
    pub baseline: Money,
    pub reform: Money,
    pub by_level: BTreeMap<String, (Money, Money)>,
}

impl DeltaLine {
    pub fn delta(&self) -> Money {
        self.reform - self.baseline
    }
}

/// A reform against the baseline: per measure, year and level, and who gains or loses.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub lines: Vec<DeltaLine>,
    /// (applicant, baseline total, reform total) of everyone whose total changed, the largest
    /// change first.
    pub changed: Vec<(Recipient, Money, Money)>,
}

/// Winners and losers of one group (an applicant kind or a region).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupChange {
    pub winners: usize,
    pub gain: Money,
    pub losers: usize,
    /// Negative.
    pub loss: Money,
}

impl Comparison {
    /// Winners and losers per applicant kind (`by_region == false`) or per region.
    pub fn by_group(&self, by_region: bool) -> BTreeMap<String, GroupChange> {
        let mut out: BTreeMap<String, GroupChange> = BTreeMap::new();
        for (r, b, a) in &self.changed {
            let key = if by_region { &r.region } else { &r.kind };
            let g = out.entry(key.clone()).or_default();
            let d = *a - *b;
            if a > b {
                g.winners += 1;
                g.gain = g.gain + d;
            } else {
                g.losers += 1;
                g.loss = g.loss + d;
            }
        }
        out
    }

    pub fn winners(&self) -> impl Iterator<Item = &(Recipient, Money, Money)> {
        self.changed.iter().filter(|(_, b, r)| r > b)
    }
    pub fn losers(&self) -> impl Iterator<Item = &(Recipient, Money, Money)> {
        self.changed.iter().filter(|(_, b, r)| r < b)
    }
}

/// Compares a reform's forecast with the baseline's over the same population. Both must have
/// kept each recipient's total (made by [`Simulation::new`], not [`Simulation::totals_only`]):
/// the winners and losers come from them.
pub fn compare(baseline: &Forecast, reform: &Forecast) -> Comparison {
    fn kept(f: &Forecast) -> &BTreeMap<String, Recipient> {
        f.recipients
            .as_ref()
            .expect("a compared forecast keeps each recipient's total (Simulation::new)")
    }
    let (base_recipients, reform_recipients) = (kept(baseline), kept(reform));
    let mut lines: BTreeMap<(String, i16), DeltaLine> = BTreeMap::new();
    for (which, f) in [(0, baseline), (1, reform)] {
        for l in &f.lines {
            let d = lines
                .entry((l.measure.clone(), l.year))
                .or_insert_with(|| DeltaLine {
                    measure: l.measure.clone(),
                    year: l.year,
                    baseline: Money::ZERO,
                    reform: Money::ZERO,
                    by_level: BTreeMap::new(),
                });
            let total = l.fixed + l.capped;
            if which == 0 {
                d.baseline = total;
            } else {
                d.reform = total;
            }
            for (level, m) in &l.by_level {
                let e = d
                    .by_level
                    .entry(level.clone())
                    .or_insert((Money::ZERO, Money::ZERO));
                if which == 0 {
                    e.0 = *m;
                } else {
                    e.1 = *m;
                }
            }
        }
    }
    let ids: BTreeSet<&String> = base_recipients
        .keys()
        .chain(reform_recipients.keys())
        .collect();
    let mut changed: Vec<(Recipient, Money, Money)> = ids
        .into_iter()
        .filter_map(|id| {
            let b = base_recipients.get(id);
            let r = reform_recipients.get(id);
            let bt = b.map(|x| x.total).unwrap_or(Money::ZERO);
            let rt = r.map(|x| x.total).unwrap_or(Money::ZERO);
            (bt != rt).then(|| (r.or(b).cloned().expect("one side has it"), bt, rt))
        })
        .collect();
    changed.sort_by(|a, b| {
        let da = (a.2 - a.1).decimal().abs();
        let db = (b.2 - b.1).decimal().abs();
        db.cmp(&da).then(a.0.id.cmp(&b.0.id))
    });
    Comparison {
        lines: lines
            .into_values()
            .filter(|d| d.delta() != Money::ZERO || d.baseline != Money::ZERO)
            .collect(),
        changed,
    }
}

/// A comparison for a reader: per measure and year, the winners and losers.
pub fn render_comparison(lib: &Library, c: &Comparison) -> String {
    let mut s = String::from("改革对比 reform against the baseline (fixed + up to):\n");
    for d in c.lines.iter().filter(|d| d.delta() != Money::ZERO) {
        let label = lib
            .measure(&d.measure)
            .map(|m| m.label.zh.clone())
            .unwrap_or_default();
        s += &format!(
            "  {label} {} {}年: 基线 baseline {} → 改革 reform {} 元 (差额 delta {})\n",
            d.measure,
            d.year,
            yuan(d.baseline),
            yuan(d.reform),
            yuan(d.delta())
        );
        for (level, (b, r)) in &d.by_level {
            if b != r {
                s += &format!("      {level}: {} → {} 元\n", yuan(*b), yuan(*r));
            }
        }
    }
    let sum = |it: &mut dyn Iterator<Item = &(Recipient, Money, Money)>| {
        it.fold((0usize, Money::ZERO), |(n, t), (_, b, r)| {
            (n + 1, t + (*r - *b))
        })
    };
    let (wn, wt) = sum(&mut c.winners());
    let (ln, lt) = sum(&mut c.losers());
    s += &format!(
        "受益者 winners: {wn}, 合计 +{} 元; 受损者 losers: {ln}, 合计 {} 元\n",
        yuan(wt),
        yuan(lt)
    );
    for (title, by_region) in [
        ("按主体类型 by applicant kind", false),
        ("按地区 by region", true),
    ] {
        let groups = c.by_group(by_region);
        if groups.is_empty() {
            continue;
        }
        s += &format!("  {title}:\n");
        for (k, g) in &groups {
            s += &format!(
                "    {}: 受益 {} (+{} 元), 受损 {} ({} 元)\n",
                if k.is_empty() { "—" } else { k },
                g.winners,
                yuan(g.gain),
                g.losers,
                yuan(g.loss)
            );
        }
    }
    s += "  变化最大的十个 the ten largest changes:\n";
    for (r, b, after) in c.changed.iter().take(10) {
        s += &format!(
            "  {} {} ({} · {}): {} → {} 元\n",
            r.name,
            r.id,
            r.kind,
            r.region,
            yuan(*b),
            yuan(*after)
        );
    }
    if c.lines.iter().all(|d| d.delta() == Money::ZERO) {
        s += "  无变化 no change\n";
    }
    s
}

/// Budgets set in the ledger, beside the forecast: (measure, year) → level → amount.
pub type Budgets = BTreeMap<(String, i16), BTreeMap<String, Money>>;

/// The share of a forecast a budget covers, in percent with one decimal (`None` for a zero
/// forecast).
pub fn coverage_percent(budget: Money, forecast: Money) -> Option<kc_money::Dec> {
    if forecast == Money::ZERO {
        return None;
    }
    let mut p = (budget.decimal() * kc_money::Dec::ONE_HUNDRED / forecast.decimal())
        .round_dp_with_strategy(1, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    p.rescale(1);
    Some(p)
}

/// Each budgeted measure and year beside its forecast (fixed + up to), level by level:
/// "the 2023 budget of (五) covers 83.0% of the forecast".
pub fn render_budgets(lib: &Library, f: &Forecast, budgets: &Budgets) -> String {
    let mut s = String::from("预算对照 budgets beside the forecast (fixed + up to):\n");
    let mut any = false;
    for l in &f.lines {
        let Some(b) = budgets.get(&(l.measure.clone(), l.year)) else {
            continue;
        };
        any = true;
        let label = lib
            .measure(&l.measure)
            .map(|m| m.label.zh.clone())
            .unwrap_or_default();
        let forecast = l.fixed + l.capped;
        let total: Money = b.values().copied().sum();
        s += &format!(
            "  {label} {} {}年: 预算 budget {} 元 / 测算 forecast {} 元{}\n",
            l.measure,
            l.year,
            yuan(total),
            yuan(forecast),
            match coverage_percent(total, forecast) {
                Some(p) => format!(", 覆盖 covers {p}%"),
                None => String::new(),
            }
        );
        for (level, amount) in b {
            let part = l.by_level.get(level).copied().unwrap_or(Money::ZERO);
            s += &format!(
                "      {level}: 预算 {} / 测算 {} 元{}\n",
                yuan(*amount),
                yuan(part),
                coverage_percent(*amount, part)
                    .map(|p| format!(" ({p}%)"))
                    .unwrap_or_default()
            );
        }
    }
    if !any {
        s += "  台账中没有对应年度的预算 no budget in the ledger for these measures and years\n";
    }
    s
}

/// The forecast as a table (one row per measure and year) for a workbook: amounts as exact
/// decimal text, each level a column; with a reform, its total and the delta per row.
pub fn table(
    lib: &Library,
    f: &Forecast,
    reform: Option<&Forecast>,
) -> (Vec<String>, Vec<Vec<String>>) {
    let levels: BTreeSet<&String> = f
        .lines
        .iter()
        .chain(reform.iter().flat_map(|r| r.lines.iter()))
        .flat_map(|l| l.by_level.keys())
        .collect();
    let mut heads: Vec<String> = [
        "措施 measure",
        "措施名称 name",
        "条款 clause",
        "年度 year",
        "受益主体 recipients",
        "笔数 awards",
        "定额合计 fixed",
        "最高额合计 up to",
        "评审确定 review cases",
        "区间上限合计 review upper bounds",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    heads.extend(levels.iter().map(|l| format!("级次 level {l}")));
    heads.extend(
        ["p10", "p50", "p90", "最大 max"]
            .iter()
            .map(|s| s.to_string()),
    );
    if reform.is_some() {
        heads.push("改革后 reform (fixed + up to)".into());
        heads.push("差额 delta".into());
    }
    let mut keys: BTreeSet<(usize, String, i16)> = BTreeSet::new();
    for l in f
        .lines
        .iter()
        .chain(reform.iter().flat_map(|r| r.lines.iter()))
    {
        let order = lib
            .measure_index
            .get(&l.measure)
            .copied()
            .unwrap_or(usize::MAX);
        keys.insert((order, l.measure.clone(), l.year));
    }
    let plain = |m: Option<Money>| m.map(|m| m.plain()).unwrap_or_default();
    let rows = keys
        .into_iter()
        .map(|(_, measure, year)| {
            let find = |f: &Forecast| {
                f.lines
                    .iter()
                    .find(|l| l.measure == measure && l.year == year)
                    .cloned()
            };
            let l = find(f).unwrap_or_else(|| Line {
                measure: measure.clone(),
                year,
                ..Default::default()
            });
            let m = lib.measure(&measure);
            let mut row = vec![
                measure.clone(),
                m.map(|m| m.label.zh.clone()).unwrap_or_default(),
                m.map(|m| format!("{} {}", lib.documents[m.doc].number, m.clause.id))
                    .unwrap_or_default(),
                year.to_string(),
                l.recipients.to_string(),
                l.awards.to_string(),
                l.fixed.plain(),
                l.capped.plain(),
                l.review_cases.to_string(),
                l.review_upper.plain(),
            ];
            row.extend(
                levels
                    .iter()
                    .map(|lv| plain(Some(l.by_level.get(*lv).copied().unwrap_or(Money::ZERO)))),
            );
            row.extend([
                plain(l.percentile(10)),
                plain(l.percentile(50)),
                plain(l.percentile(90)),
                plain(l.max()),
            ]);
            if let Some(r) = reform {
                let after = find(r).map(|x| x.fixed + x.capped).unwrap_or(Money::ZERO);
                row.push(after.plain());
                row.push((after - (l.fixed + l.capped)).plain());
            }
            row
        })
        .collect();
    (heads, rows)
}

#[cfg(test)]
mod tally_tests {
    use super::*;

    #[test]
    fn each_level_sits_at_its_index_in_a_tally() {
        // `Tally::add_level` indexes by the level's declaration order.
        for (i, level) in LEVELS.iter().enumerate() {
            assert_eq!(*level as usize, i, "{level:?}");
        }
        let mut t = Tally {
            line: Line::default(),
            last: 0,
            levels: [None; LEVELS.len()],
        };
        t.add_level(kc_syntax::ast::Level::District, Money::from_fen(150));
        t.add_level(kc_syntax::ast::Level::City, Money::from_fen(0));
        t.add_level(kc_syntax::ast::Level::District, Money::from_fen(1));
        let line = t.into_line();
        assert_eq!(
            line.by_level.into_iter().collect::<Vec<_>>(),
            [
                ("city".to_string(), Money::ZERO),
                ("district".to_string(), Money::from_fen(151))
            ]
        );
    }
}

//! The columnar engine: each measure compiled once into a plan over column arrays, evaluated
//! for every event of its type in a batch of applicants at once, with exact fixed-point money
//! (integers at 10⁻¹⁰ yuan, no floats). Conditions, lets, grants and caps are computed column
//! by column; the once-only rules, consecutive years and caps, which depend on what an
//! applicant was already paid, then run in one pass per applicant in date order.
//!
//! Exactness is guarded, not assumed: an operation whose result the fixed-point form cannot hold
//! exactly (a division with a remainder, a rate like 1/3, an overflow) marks that applicant's
//! events of the measure, and those — like a measure using a construct the plan does not
//! compile, an applicant with a payment history, or an item transferred a second time (paid on
//! its increment) — are evaluated by the per-applicant engine.
//! Either way every award equals the per-applicant engine's to the fen; the property test in
//! tests/columnar.rs checks it on random populations, and [`Stats`] says how much ran columnar.

use jiff::civil::Date;
use kc_check::{EnumId, GrantRule, Library, Measure, NodeKind, OnceRule, TierPattern, Type, Value};
use kc_eval::{AmountKind, Input, Status};
use kc_money::{Dec, Money, Rate};
use kc_syntax::ast::{BinOp, CapPeriod, Level};

/// Fixed-point scale: values are integers of 10⁻¹⁰ (yuan for money, fraction for rates).
const SCALE: u32 = 10;
const ONE: i128 = 10_000_000_000;
/// Larger magnitudes could need rounding in `Decimal` (96-bit mantissa): leave them to the
/// per-applicant engine.
const LIMIT: i128 = 10_i128.pow(28);

/// A value in a column. Numbers are `Int` values as they are and money, rates and decimals at
/// [`SCALE`]; which one a column holds is its expression's static type.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cell {
    Unknown,
    Num(i128),
    Bool(bool),
    Date(Date),
    Enum(u32),
    /// An index into the batch's text arena.
    Text(u32),
}

fn fixed(d: Dec) -> Option<i128> {
    let d = if d.scale() > SCALE { d.normalize() } else { d };
    if d.scale() > SCALE {
        return None;
    }
    let v = d.mantissa().checked_mul(10_i128.pow(SCALE - d.scale()))?;
    (v.abs() < LIMIT).then_some(v)
}

/// A whole-fen fixed-point amount (already rounded) as money at scale 2, without normalising.
fn money_of_fen(v: i128) -> Money {
    i64::try_from(v / (ONE / 100)).map_or_else(|_| money_of(v), Money::from_fen)
}

fn money_of(v: i128) -> Money {
    Money::from_decimal(Dec::from_i128_with_scale(v, SCALE).normalize())
}

/// One award as the simulation counts it.
#[derive(Clone, Debug, PartialEq)]
pub struct Paid {
    pub measure: usize,
    /// Index into the input's events.
    pub event: usize,
    pub kind: AmountKind,
    pub amount: Option<Money>,
    pub range: Option<(Money, Money)>,
    pub split: Vec<(Level, Money)>,
}

/// The awards of one applicant by the per-applicant engine, in the same form.
pub fn engine_awards(lib: &Library, input: &Input) -> Vec<Paid> {
    paid_of(kc_eval::evaluate(lib, input).outcomes)
}

fn paid_of(outcomes: Vec<kc_eval::Outcome>) -> Vec<Paid> {
    outcomes
        .into_iter()
        .filter(|o| o.status == Status::Awarded)
        .filter_map(|o| {
            let a = o.award?;
            Some(Paid {
                measure: o.measure,
                event: o.event?,
                kind: a.kind,
                amount: a.amount,
                range: a.range,
                split: a.split,
            })
        })
        .collect()
}

/// How much of a run the columnar plans evaluated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Measures compiled into column plans, and measures left to the per-applicant engine.
    pub compiled_measures: usize,
    pub engine_measures: usize,
    /// Event rows evaluated by plans, and (applicant, measure) pairs handed to the engine.
    pub rows: usize,
    pub engine_pairs: usize,
    /// Applicants evaluated whole by the engine (a payment history, a value the plans cannot
    /// hold exactly).
    pub engine_applicants: usize,
}

impl Stats {
    pub fn add(&mut self, o: Stats) {
        self.rows += o.rows;
        self.engine_pairs += o.engine_pairs;
        self.engine_applicants += o.engine_applicants;
    }
}

#[derive(Debug)]
enum Op {
    Const(Cell),
    Param(usize),
    EventField(usize),
    EventDate,
    EventId,
    ApplicantField(usize),
    Let(usize),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(BinOp, Box<Expr>, Box<Expr>),
    Arith(BinOp, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Vec<Expr>),
    Within(Box<Expr>, Box<Expr>),
    Min(Vec<Expr>),
    Max(Vec<Expr>),
    Year(Box<Expr>),
    Holds(Box<Expr>, Option<Box<Expr>>),
    Figure(usize, Box<Expr>),
    Increment(Box<Expr>, Box<Expr>),
    Tier(Box<Expr>, Vec<(Pattern, Expr)>),
    Key(Vec<Expr>),
    /// Always unknown (e.g. a comparison of two types that never compare).
    Unknown,
}

#[derive(Debug)]
enum Pattern {
    Any,
    Members(Vec<u32>),
    /// `true` for `>`, `false` for `>=`.
    Threshold(bool, Cell),
    Never,
}

#[derive(Debug)]
struct Expr {
    op: Op,
    ty: Type,
}

/// Converts a constant; `None` if the plan cannot hold it exactly.
fn const_cell(v: &Value, texts: &mut Vec<String>) -> Option<Cell> {
    Some(match v {
        Value::Money(m) => Cell::Num(fixed(m.decimal())?),
        Value::Rate(r, _) => Cell::Num(fixed(r.fraction())?),
        Value::Decimal(d) => Cell::Num(fixed(*d)?),
        Value::Int(i) => Cell::Num(*i as i128),
        Value::Bool(b) => Cell::Bool(*b),
        Value::Date(d) => Cell::Date(*d),
        Value::Enum(_, m) => Cell::Enum(*m),
        Value::Text(t) => {
            texts.push(t.clone());
            Cell::Text((texts.len() - 1) as u32)
        }
        Value::Unknown => Cell::Unknown,
    })
}

fn is_number(t: Type) -> bool {
    matches!(t, Type::Money | Type::Rate | Type::Decimal | Type::Int)
}

/// Compiles one node; `None` where the plan does not support it (the measure then runs on the
/// per-applicant engine).
fn compile(n: &kc_check::Node, consts: &mut Vec<String>) -> Option<Expr> {
    let b = |x: &kc_check::Node, c: &mut Vec<String>| compile(x, c).map(Box::new);
    let op = match &n.kind {
        NodeKind::Const(v) => Op::Const(const_cell(v, consts)?),
        NodeKind::Param(p) => Op::Param(*p),
        NodeKind::EventField(i) => Op::EventField(*i),
        NodeKind::EventDate => Op::EventDate,
        NodeKind::EventId => Op::EventId,
        NodeKind::ApplicantField(i) => Op::ApplicantField(*i),
        NodeKind::Let(i) => Op::Let(*i),
        NodeKind::Neg(a) => Op::Neg(b(a, consts)?),
        NodeKind::Not(a) => Op::Not(b(a, consts)?),
        NodeKind::Binary(op, x, y) => {
            let (x, y) = (b(x, consts)?, b(y, consts)?);
            match op {
                BinOp::And => Op::And(x, y),
                BinOp::Or => Op::Or(x, y),
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    if x.ty != y.ty {
                        Op::Unknown
                    } else {
                        Op::Cmp(*op, x, y)
                    }
                }
                _ => Op::Arith(*op, x, y),
            }
        }
        NodeKind::In(a, items) => {
            let a = b(a, consts)?;
            // Value equality of rates also compares how they were written: not worth a plan.
            if a.ty == Type::Rate {
                return None;
            }
            let items = items
                .iter()
                .map(|i| compile(i, consts))
                .collect::<Option<Vec<_>>>()?;
            Op::In(a, items)
        }
        NodeKind::Within(a, c) => Op::Within(b(a, consts)?, b(c, consts)?),
        NodeKind::Min(xs) | NodeKind::Max(xs) => {
            let xs = xs
                .iter()
                .map(|i| compile(i, consts))
                .collect::<Option<Vec<_>>>()?;
            if xs.iter().any(|x| x.ty != n.ty) || !(is_number(n.ty) || n.ty == Type::Date) {
                return None;
            }
            if matches!(n.kind, NodeKind::Min(_)) {
                Op::Min(xs)
            } else {
                Op::Max(xs)
            }
        }
        NodeKind::Year(a) => Op::Year(b(a, consts)?),
        NodeKind::Holds(c, d) => Op::Holds(
            b(c, consts)?,
            match d {
                Some(d) => Some(b(d, consts)?),
                None => None,
            },
        ),
        NodeKind::Figure(f, y) => Op::Figure(*f, b(y, consts)?),
        NodeKind::Key(parts) => Op::Key(
            parts
                .iter()
                .map(|i| compile(i, consts))
                .collect::<Option<Vec<_>>>()?,
        ),
        NodeKind::Tier(s, arms) => {
            let s = b(s, consts)?;
            let mut out = Vec::with_capacity(arms.len());
            for arm in arms {
                let p = match &arm.pattern {
                    TierPattern::Any => Pattern::Any,
                    TierPattern::Members(ms) => {
                        if matches!(s.ty, Type::Enum(_)) {
                            Pattern::Members(ms.clone())
                        } else {
                            Pattern::Never
                        }
                    }
                    TierPattern::Threshold(op, bound) => {
                        let bt = value_type(bound);
                        if bt != Some(s.ty) {
                            Pattern::Never
                        } else {
                            Pattern::Threshold(*op == BinOp::Gt, const_cell(bound, consts)?)
                        }
                    }
                };
                out.push((p, compile(&arm.value, consts)?));
            }
            Op::Tier(s, out)
        }
        NodeKind::Increment(a, k) => Op::Increment(b(a, consts)?, b(k, consts)?),
    };
    Some(Expr { op, ty: n.ty })
}

fn value_type(v: &Value) -> Option<Type> {
    Some(match v {
        Value::Money(_) => Type::Money,
        Value::Rate(..) => Type::Rate,
        Value::Int(_) => Type::Int,
        Value::Decimal(_) => Type::Decimal,
        Value::Bool(_) => Type::Bool,
        Value::Date(_) => Type::Date,
        Value::Text(_) => Type::Text,
        Value::Enum(e, _) => Type::Enum(*e),
        Value::Unknown => return None,
    })
}

struct MeasurePlan {
    lets: Vec<Expr>,
    conditions: Vec<Expr>,
    grant: GrantPlan,
    caps: Vec<(Expr, CapPeriod)>,
    once_applicant: bool,
    /// Each `once per` key rule as its parts (`once per a, b` has two), compared cell by cell.
    once_keys: Vec<Vec<Expr>>,
}

enum GrantPlan {
    Amount(Expr, AmountKind),
    Review(Option<(Expr, Expr)>),
    Parts(Vec<(Level, Expr)>),
}

fn compile_measure(m: &Measure, consts: &mut Vec<String>) -> Option<MeasurePlan> {
    // A measure that replaced another through an amendment reads that one's awards as its
    // history: the engine evaluates it.
    if m.start_change.is_some() {
        return None;
    }
    let c = |n: &kc_check::Node, k: &mut Vec<String>| compile(n, k);
    Some(MeasurePlan {
        lets: m
            .lets
            .iter()
            .map(|b| c(&b.node, consts))
            .collect::<Option<_>>()?,
        conditions: m
            .conditions
            .iter()
            .map(|r| c(&r.expr, consts))
            .collect::<Option<_>>()?,
        grant: match &m.grant {
            GrantRule::Fixed(n) => GrantPlan::Amount(c(n, consts)?, AmountKind::Fixed),
            GrantRule::UpTo(n) => GrantPlan::Amount(c(n, consts)?, AmountKind::Cap),
            GrantRule::Review(None) => GrantPlan::Review(None),
            GrantRule::Review(Some((a, b))) => {
                GrantPlan::Review(Some((c(a, consts)?, c(b, consts)?)))
            }
            GrantRule::Parts(parts) => GrantPlan::Parts(
                parts
                    .iter()
                    .map(|(l, n)| Some((*l, c(n, consts)?)))
                    .collect::<Option<_>>()?,
            ),
        },
        caps: m
            .caps
            .iter()
            .map(|cap| Some((c(&cap.amount, consts)?, cap.period)))
            .collect::<Option<_>>()?,
        once_applicant: m.once.iter().any(|o| matches!(o, OnceRule::PerApplicant)),
        once_keys: m
            .once
            .iter()
            .filter_map(|o| match o {
                OnceRule::PerKey(n) => Some(match &n.kind {
                    NodeKind::Key(parts) => parts.iter().map(|p| c(p, consts)).collect(),
                    _ => c(n, consts).map(|e| vec![e]),
                }),
                OnceRule::PerApplicant => None,
            })
            .collect::<Option<_>>()?,
    })
}

/// Applicants per evaluated slice: a few thousand rows per column keep every column of a
/// measure in L2 cache; whole-batch columns of a million rows each cost a fresh mapping and its
/// page faults, and ran several times slower.
pub const SLICE: usize = 2_048;

/// A library compiled for columnar evaluation: compile once, run on many batches.
pub struct Plan<'l> {
    lib: &'l Library,
    measures: Vec<Option<MeasurePlan>>,
    consts: Vec<String>,
    /// Parameter values by date, converted; `None` where a value cannot be held exactly.
    params: Vec<Vec<(Date, Option<Cell>)>>,
}

impl<'l> Plan<'l> {
    pub fn compile(lib: &'l Library) -> Plan<'l> {
        let mut consts = Vec::new();
        let measures = lib
            .measures
            .iter()
            .map(|m| compile_measure(m, &mut consts))
            .collect();
        let params = lib
            .parameters
            .iter()
            .map(|p| {
                p.values
                    .iter()
                    .map(|(d, v)| (*d, const_cell(v, &mut consts)))
                    .collect()
            })
            .collect();
        Plan {
            lib,
            measures,
            consts,
            params,
        }
    }

    pub fn stats(&self) -> Stats {
        let compiled = self.measures.iter().filter(|m| m.is_some()).count();
        Stats {
            compiled_measures: compiled,
            engine_measures: self.measures.len() - compiled,
            ..Stats::default()
        }
    }

    /// The awards of each applicant of the batch (same order), and what ran where. Evaluates
    /// in slices of [`SLICE`] applicants, whose columns stay in the processor's cache.
    pub fn run(&self, inputs: &[Input]) -> (Vec<Vec<Paid>>, Stats) {
        let mut out = Vec::with_capacity(inputs.len());
        let mut stats = Stats::default();
        for slice in inputs.chunks(SLICE) {
            let mut batch = self.prepare(slice);
            let (paid, s) = self.evaluate(&mut batch);
            out.extend(paid);
            stats.add(s);
        }
        (out, stats)
    }

    /// Lays a batch of applicants out in columns (what loading data into arrays is elsewhere).
    pub fn prepare<'i>(&self, inputs: &'i [Input]) -> Batch<'i> {
        Batch::new(self, inputs)
    }

    /// Evaluates every measure over a prepared batch.
    pub fn evaluate(&self, batch: &mut Batch) -> (Vec<Vec<Paid>>, Stats) {
        let inputs = batch.inputs;
        let mut out: Vec<Vec<Paid>> = vec![Vec::new(); inputs.len()];
        let mut stats = Stats::default();
        for (mi, plan) in self.measures.iter().enumerate() {
            let m = &self.lib.measures[mi];
            let ty = m.event;
            match plan {
                None => {
                    for a in batch.applicants_with(ty) {
                        if !batch.whole_engine[a] {
                            stats.engine_pairs += 1;
                            out[a].extend(paid_of(
                                kc_eval::evaluate_measure(self.lib, &inputs[a], mi).outcomes,
                            ));
                        }
                    }
                }
                Some(plan) => {
                    stats.rows += batch.rows[ty].len();
                    let engine = batch.run_measure(self, mi, m, plan, &mut out);
                    for a in engine {
                        stats.engine_pairs += 1;
                        out[a].extend(paid_of(
                            kc_eval::evaluate_measure(self.lib, &inputs[a], mi).outcomes,
                        ));
                    }
                }
            }
        }
        for (a, input) in inputs.iter().enumerate() {
            if batch.whole_engine[a] {
                stats.engine_applicants += 1;
                out[a] = engine_awards(self.lib, input);
            }
        }
        (out, stats)
    }
}

/// A batch of applicants laid out in columns: applicant fields, and per event type the rows
/// of every applicant's events of that type in the engine's order (by date, then id).
pub struct Batch<'i> {
    inputs: &'i [Input],
    texts: Vec<String>,
    /// [slot][applicant]
    applicant: Vec<Vec<Cell>>,
    /// Applicants the engine evaluates whole: a payment history, or a figure it cannot hold.
    whole_engine: Vec<bool>,
    /// Per event type: (applicant, event index) of each row.
    rows: Vec<Vec<(u32, u32)>>,
    /// Per event type: [field][row].
    fields: Vec<Vec<Vec<Cell>>>,
    /// Per event type: each row's date (read by every measure; kept beside the fields so the
    /// evaluation never chases pointers into the inputs).
    dates: Vec<Vec<Date>>,
}

impl<'i> Batch<'i> {
    fn new(plan: &Plan, inputs: &'i [Input]) -> Batch<'i> {
        let lib = plan.lib;
        let mut texts = plan.consts.clone();
        let mut whole_engine = vec![false; inputs.len()];
        let mut applicant = vec![Vec::with_capacity(inputs.len()); lib.vocab.applicant.len()];
        let n_types = lib.vocab.events.len();
        let mut rows: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n_types];
        let mut fields: Vec<Vec<Vec<Cell>>> = lib
            .vocab
            .events
            .iter()
            .map(|e| vec![Vec::new(); e.fields.len()])
            .collect();
        let mut dates: Vec<Vec<Date>> = vec![Vec::new(); n_types];
        let mut order: Vec<usize> = Vec::new();
        for (a, input) in inputs.iter().enumerate() {
            if !input.history.is_empty() {
                whole_engine[a] = true;
            }
            for (slot, col) in applicant.iter_mut().enumerate() {
                let v = input.applicant.fields.get(slot).unwrap_or(&Value::Unknown);
                col.push(const_cell(v, &mut texts).unwrap_or_else(|| {
                    whole_engine[a] = true;
                    Cell::Unknown
                }));
            }
            order.clear();
            order.extend(0..input.events.len());
            order.sort_by(|x, y| {
                let (ex, ey) = (&input.events[*x], &input.events[*y]);
                (ex.date, &ex.id).cmp(&(ey.date, &ey.id))
            });
            for &ei in &order {
                let e = &input.events[ei];
                if e.kind >= n_types {
                    whole_engine[a] = true;
                    continue;
                }
                rows[e.kind].push((a as u32, ei as u32));
                dates[e.kind].push(e.date);
                for (f, col) in fields[e.kind].iter_mut().enumerate() {
                    let v = e.fields.get(f).unwrap_or(&Value::Unknown);
                    col.push(const_cell(v, &mut texts).unwrap_or_else(|| {
                        whole_engine[a] = true;
                        Cell::Unknown
                    }));
                }
            }
        }
        Batch {
            inputs,
            texts,
            applicant,
            whole_engine,
            rows,
            fields,
            dates,
        }
    }

    fn applicants_with(&self, ty: usize) -> Vec<usize> {
        let mut v: Vec<usize> = self.rows[ty].iter().map(|r| r.0 as usize).collect();
        v.dedup();
        v
    }

    /// Evaluates a compiled measure; returns the applicants whose events of it need the engine.
    fn run_measure(
        &mut self,
        plan: &Plan,
        mi: usize,
        m: &Measure,
        mp: &MeasurePlan,
        out: &mut [Vec<Paid>],
    ) -> Vec<usize> {
        let ty = m.event;
        let n = self.rows[ty].len();
        if n == 0 {
            return Vec::new();
        }
        let mut cx = Cx {
            plan,
            ty,
            bad: vec![false; n],
            lets: Vec::with_capacity(mp.lets.len()),
            increments: vec![None; n],
        };
        for l in &mp.lets {
            let col = cx.eval(self, l);
            cx.lets.push(col);
        }
        // All conditions met, row by row.
        let mut met = vec![true; n];
        for c in &mp.conditions {
            let col = cx.eval(self, c);
            for (ok, v) in met.iter_mut().zip(&col) {
                *ok &= *v == Cell::Bool(true);
            }
        }
        let keys: Vec<Vec<(Type, Vec<Cell>)>> = mp
            .once_keys
            .iter()
            .map(|parts| parts.iter().map(|k| (k.ty, cx.eval(self, k))).collect())
            .collect();
        // The engine joins a key's parts with '|': a text part holding '|' could make two
        // different tuples one key. Such rows go to the engine.
        for rule in keys.iter().filter(|r| r.len() > 1) {
            for (ty, col) in rule {
                if *ty == Type::Text {
                    for (r, c) in col.iter().enumerate() {
                        if let Cell::Text(t) = c
                            && self.text(*t).contains('|')
                        {
                            cx.bad[r] = true;
                        }
                    }
                }
            }
        }
        let grant: Vec<Vec<Cell>> = match &mp.grant {
            GrantPlan::Amount(e, _) => vec![cx.eval(self, e)],
            GrantPlan::Review(Some((a, b))) => vec![cx.eval(self, a), cx.eval(self, b)],
            GrantPlan::Review(None) => Vec::new(),
            GrantPlan::Parts(parts) => parts.iter().map(|(_, e)| cx.eval(self, e)).collect(),
        };
        let caps: Vec<Vec<Cell>> = mp.caps.iter().map(|(e, _)| cx.eval(self, e)).collect();
        let shares: Vec<Rate> = m.split.shares.iter().map(|s| s.1).collect();
        let levels: Vec<Level> = m.split.shares.iter().map(|s| s.0).collect();
        // The split in fixed point where the shares allow it (kc_money::allocate otherwise).
        let fixed_shares: Option<Vec<i128>> = (shares.iter().map(|r| r.fraction()).sum::<Dec>()
            == Dec::ONE
            && m.split.remainder < shares.len())
        .then(|| shares.iter().map(|r| fixed(r.fraction())).collect())
        .flatten();
        let fen = ONE / 100;

        let mut engine = Vec::new();
        // (date, amount, activity) of this measure's awards to the current applicant.
        // (date, amount, row) of this measure's awards to the current applicant; the row gives
        // the award's activity key (its last `once per` rule, as the engine records it).
        let mut running: Vec<(Date, i128, usize)> = Vec::new();
        // The rows of awards whose increment recorded an item.
        let mut items: Vec<usize> = Vec::new();
        let mut pending: Vec<Paid> = Vec::new();
        let increments = std::mem::take(&mut cx.increments);
        let mut r = 0;
        while r < n {
            let a = self.rows[ty][r].0;
            let end = r + self.rows[ty][r..].partition_point(|x| x.0 == a);
            let ai = a as usize;
            if self.whole_engine[ai] {
                r = end;
                continue;
            }
            if cx.bad[r..end].iter().any(|b| *b) {
                engine.push(ai);
                r = end;
                continue;
            }
            running.clear();
            items.clear();
            pending.clear();
            let input = &self.inputs[ai];
            let mut to_engine = false;
            for row in r..end {
                // A repeated item is paid on its increment over what was paid before: the
                // columns assumed nothing was, so the engine takes this applicant.
                if let Some((ity, item)) = increments[row]
                    && items
                        .iter()
                        .any(|p| increments[*p].is_some_and(|(_, c)| self.key_eq(ity, item, c)))
                {
                    to_engine = true;
                    break;
                }
                let ei = self.rows[ty][row].1 as usize;
                let date = self.dates[ty][row];
                if !met[row] || date < m.valid.0 || date > m.valid.1 || date > input.as_of {
                    continue;
                }
                if mp.once_applicant && !running.is_empty() {
                    continue;
                }
                let mut blocked = false;
                for rule in &keys {
                    if rule.iter().any(|(ty, col)| !keyable(*ty, col[row])) {
                        blocked = true;
                    } else if let Some(last) = keys.last()
                        && running
                            .iter()
                            .any(|p| self.keys_eq(plan.lib, rule, row, last, p.2))
                    {
                        blocked = true;
                    }
                }
                if blocked {
                    continue;
                }
                let year = date.year();
                if let Some(years) = m.consecutive {
                    let first = running.iter().map(|p| p.0.year()).min();
                    let this_year = running.iter().any(|p| p.0.year() == year);
                    if let Some(f) = first
                        && (this_year || year as i64 >= f as i64 + years as i64)
                    {
                        continue;
                    }
                }
                let num = |c: Cell| match c {
                    Cell::Num(v) => Some(v),
                    _ => None,
                };
                let (kind, mut amount, range) = match &mp.grant {
                    GrantPlan::Amount(_, kind) => match num(grant[0][row]) {
                        Some(v) => (*kind, Some(v), None),
                        None => continue,
                    },
                    GrantPlan::Review(None) => (AmountKind::Review, None, None),
                    GrantPlan::Review(Some(_)) => {
                        let range = match (num(grant[0][row]), num(grant[1][row])) {
                            (Some(lo), Some(hi)) => Some((money_of(lo), money_of(hi))),
                            _ => None,
                        };
                        (AmountKind::Review, None, range)
                    }
                    GrantPlan::Parts(parts) => {
                        let mut split = Vec::with_capacity(parts.len());
                        let mut total = 0i128;
                        let mut all = true;
                        for (pi, (level, _)) in parts.iter().enumerate() {
                            match num(grant[pi][row]) {
                                Some(v) => {
                                    let fen = v / (ONE / 100) * (ONE / 100);
                                    total += fen;
                                    split.push((*level, money_of_fen(fen)));
                                }
                                None => all = false,
                            }
                        }
                        if !all || total == 0 {
                            continue;
                        }
                        running.push((date, total, row));
                        if increments[row].is_some() {
                            items.push(row);
                        }
                        pending.push(Paid {
                            measure: mi,
                            event: ei,
                            kind: AmountKind::Fixed,
                            amount: Some(money_of_fen(total)),
                            range: None,
                            split,
                        });
                        continue;
                    }
                };
                let mut exhausted = false;
                for ((_, period), col) in mp.caps.iter().zip(&caps) {
                    let Some(limit) = num(col[row]) else {
                        continue;
                    };
                    let used: i128 = running
                        .iter()
                        .filter(|p| *period == CapPeriod::Cumulative || p.0.year() == year)
                        .map(|p| p.1)
                        .sum();
                    let headroom = (limit - used).max(0);
                    if headroom == 0 {
                        exhausted = true;
                        break;
                    }
                    amount = amount.map(|x| x.min(headroom));
                }
                if exhausted {
                    continue;
                }
                let amount = amount.map(|x| x / (ONE / 100) * (ONE / 100));
                if amount == Some(0) {
                    continue;
                }
                let mut split = Vec::new();
                if let Some(x) = amount {
                    let quick = fixed_shares.as_ref().and_then(|fs| {
                        let mut parts = Vec::with_capacity(fs.len());
                        for s in fs {
                            let p = x.checked_mul(*s)?;
                            if p % ONE != 0 {
                                return None;
                            }
                            parts.push(p / ONE / fen * fen);
                        }
                        let given: i128 = parts.iter().sum();
                        parts[m.split.remainder] += x - given;
                        Some(parts)
                    });
                    match quick {
                        Some(parts) => {
                            split = levels
                                .iter()
                                .copied()
                                .zip(parts.into_iter().map(money_of_fen))
                                .collect()
                        }
                        None => match kc_money::allocate(money_of(x), &shares, m.split.remainder) {
                            Some(parts) => split = levels.iter().copied().zip(parts).collect(),
                            None => continue,
                        },
                    }
                }
                running.push((date, amount.unwrap_or(0), row));
                if increments[row].is_some() {
                    items.push(row);
                }
                pending.push(Paid {
                    measure: mi,
                    event: ei,
                    kind,
                    amount: amount.map(money_of_fen),
                    range,
                    split,
                });
            }
            if to_engine {
                engine.push(ai);
            } else {
                out[ai].append(&mut pending);
            }
            r = end;
        }
        engine
    }

    fn text(&self, t: u32) -> &str {
        &self.texts[t as usize]
    }

    /// Two keyable cells of one type give the same key text (see kc_eval's `key_of`).
    fn key_eq(&self, ty: Type, x: Cell, y: Cell) -> bool {
        match (x, y) {
            (Cell::Text(a), Cell::Text(b)) => self.text(a) == self.text(b),
            _ => keyable(ty, x) && x == y,
        }
    }

    /// Row `a`'s key under `rule_a` equals row `b`'s under `rule_b`, as joined key texts.
    fn keys_eq(
        &self,
        lib: &Library,
        rule_a: &[(Type, Vec<Cell>)],
        a: usize,
        rule_b: &[(Type, Vec<Cell>)],
        b: usize,
    ) -> bool {
        let same_shape =
            rule_a.len() == rule_b.len() && rule_a.iter().zip(rule_b).all(|(x, y)| x.0 == y.0);
        if same_shape {
            rule_a
                .iter()
                .zip(rule_b)
                .all(|((ty, ca), (_, cb))| self.key_eq(*ty, ca[a], cb[b]))
        } else {
            // Different rules of one measure: compare the texts the engine would build.
            let text = |rule: &[(Type, Vec<Cell>)], r: usize| -> Option<String> {
                let parts: Option<Vec<String>> = rule
                    .iter()
                    .map(|(ty, c)| key_of(lib, self, *ty, c[r]))
                    .collect();
                parts.map(|p| p.join("|"))
            };
            let (x, y) = (text(rule_a, a), text(rule_b, b));
            x.is_some() && x == y
        }
    }
}

/// One measure's evaluation over the rows of its event type.
struct Cx<'p, 'l> {
    plan: &'p Plan<'l>,
    ty: usize,
    /// Rows whose value the plan could not compute exactly.
    bad: Vec<bool>,
    lets: Vec<Vec<Cell>>,
    /// Per row, the item of the first increment computed (its key type and cell).
    increments: Vec<Option<(Type, Cell)>>,
}

fn cmp_cells(b: &Batch, ty: Type, x: Cell, y: Cell) -> Option<std::cmp::Ordering> {
    Some(match (x, y) {
        (Cell::Num(a), Cell::Num(c)) => a.cmp(&c),
        (Cell::Date(a), Cell::Date(c)) => a.cmp(&c),
        (Cell::Bool(a), Cell::Bool(c)) => a.cmp(&c),
        (Cell::Enum(a), Cell::Enum(c)) if matches!(ty, Type::Enum(_)) => a.cmp(&c),
        (Cell::Text(a), Cell::Text(c)) => b.text(a).cmp(b.text(c)),
        _ => return None,
    })
}

/// `x` is a strict ancestor of `y` in the hierarchical enum `e` (see kc_eval's `broader`).
fn broader(lib: &Library, e: EnumId, x: Cell, y: Cell) -> bool {
    match (x, y) {
        (Cell::Enum(a), Cell::Enum(b)) => a != b && lib.vocab.enums[e].within(b, a),
        _ => false,
    }
}

impl Cx<'_, '_> {
    fn eval(&mut self, b: &mut Batch, e: &Expr) -> Vec<Cell> {
        let n = b.rows[self.ty].len();
        let lib = self.plan.lib;
        match &e.op {
            Op::Unknown => vec![Cell::Unknown; n],
            Op::Const(c) => vec![*c; n],
            Op::Param(p) => {
                let values = &self.plan.params[*p];
                let ty = self.ty;
                (0..n)
                    .map(|r| {
                        let date = b.dates[ty][r];
                        let i = values.partition_point(|(d, _)| *d <= date);
                        if i == 0 {
                            Cell::Unknown
                        } else {
                            values[i - 1].1.unwrap_or_else(|| {
                                self.bad[r] = true;
                                Cell::Unknown
                            })
                        }
                    })
                    .collect()
            }
            Op::EventField(f) => b.fields[self.ty][*f].clone(),
            Op::EventDate => b.dates[self.ty].iter().map(|d| Cell::Date(*d)).collect(),
            Op::EventId => {
                let ty = self.ty;
                (0..n)
                    .map(|r| {
                        let (a, ei) = b.rows[ty][r];
                        b.texts
                            .push(b.inputs[a as usize].events[ei as usize].id.clone());
                        Cell::Text((b.texts.len() - 1) as u32)
                    })
                    .collect()
            }
            Op::ApplicantField(s) => b.rows[self.ty]
                .iter()
                .map(|(a, _)| b.applicant[*s][*a as usize])
                .collect(),
            Op::Let(i) => self
                .lets
                .get(*i)
                .cloned()
                .unwrap_or_else(|| vec![Cell::Unknown; n]),
            Op::Neg(x) => {
                let ty = x.ty;
                let col = self.eval(b, x);
                col.into_iter()
                    .map(|c| match (ty, c) {
                        (Type::Int, Cell::Num(v)) => match i64::try_from(v) {
                            Ok(i) => i
                                .checked_neg()
                                .map_or(Cell::Unknown, |i| Cell::Num(i as i128)),
                            Err(_) => Cell::Unknown,
                        },
                        (Type::Money | Type::Rate | Type::Decimal, Cell::Num(v)) => Cell::Num(-v),
                        _ => Cell::Unknown,
                    })
                    .collect()
            }
            Op::Not(x) => self
                .eval(b, x)
                .into_iter()
                .map(|c| match c {
                    Cell::Bool(v) => Cell::Bool(!v),
                    _ => Cell::Unknown,
                })
                .collect(),
            Op::And(x, y) | Op::Or(x, y) => {
                let and = matches!(e.op, Op::And(..));
                let (cx_, cy) = (self.eval(b, x), self.eval(b, y));
                cx_.into_iter()
                    .zip(cy)
                    .map(|(p, q)| {
                        let short = Cell::Bool(!and);
                        if p == short || q == short {
                            short
                        } else if p == Cell::Bool(and) && q == Cell::Bool(and) {
                            Cell::Bool(and)
                        } else {
                            Cell::Unknown
                        }
                    })
                    .collect()
            }
            Op::Cmp(op, x, y) => {
                let ty = x.ty;
                let (p, q) = (self.eval(b, x), self.eval(b, y));
                let en = match ty {
                    Type::Enum(en) => Some(en),
                    _ => None,
                };
                p.into_iter()
                    .zip(q)
                    .map(|(u, v)| {
                        let Some(o) = cmp_cells(b, ty, u, v) else {
                            return Cell::Unknown;
                        };
                        use std::cmp::Ordering::*;
                        if matches!(op, BinOp::Eq | BinOp::Ne)
                            && o != Equal
                            && en.is_some_and(|en| broader(lib, en, u, v) || broader(lib, en, v, u))
                        {
                            return Cell::Unknown;
                        }
                        Cell::Bool(match op {
                            BinOp::Eq => o == Equal,
                            BinOp::Ne => o != Equal,
                            BinOp::Lt => o == Less,
                            BinOp::Le => o != Greater,
                            BinOp::Gt => o == Greater,
                            _ => o != Less,
                        })
                    })
                    .collect()
            }
            Op::Arith(op, x, y) => {
                let (tx, ty) = (x.ty, y.ty);
                let (p, q) = (self.eval(b, x), self.eval(b, y));
                let mut out = Vec::with_capacity(n);
                for (r, (u, v)) in p.into_iter().zip(q).enumerate() {
                    let (Cell::Num(u), Cell::Num(v)) = (u, v) else {
                        out.push(Cell::Unknown);
                        continue;
                    };
                    out.push(match arith(*op, tx, ty, u, v) {
                        Exact::Value(c) => Cell::Num(c),
                        Exact::Unknown => Cell::Unknown,
                        Exact::Inexact => {
                            self.bad[r] = true;
                            Cell::Unknown
                        }
                    });
                }
                out
            }
            Op::In(x, items) => {
                let ty = x.ty;
                let p = self.eval(b, x);
                let cols: Vec<(Type, Vec<Cell>)> =
                    items.iter().map(|i| (i.ty, self.eval(b, i))).collect();
                (0..n)
                    .map(|r| {
                        let u = p[r];
                        if u == Cell::Unknown {
                            return Cell::Unknown;
                        }
                        let mut unknown = false;
                        for (ity, col) in &cols {
                            let v = col[r];
                            let wider = match (ty, *ity) {
                                (Type::Enum(e1), Type::Enum(e2)) if e1 == e2 => {
                                    broader(lib, e1, u, v)
                                }
                                _ => false,
                            };
                            if v == Cell::Unknown || wider {
                                unknown = true;
                            } else if *ity == ty
                                && cmp_cells(b, ty, u, v) == Some(std::cmp::Ordering::Equal)
                            {
                                return Cell::Bool(true);
                            }
                        }
                        if unknown {
                            Cell::Unknown
                        } else {
                            Cell::Bool(false)
                        }
                    })
                    .collect()
            }
            Op::Within(x, y) => {
                let ty = x.ty;
                let (p, q) = (self.eval(b, x), self.eval(b, y));
                p.into_iter()
                    .zip(q)
                    .map(|(u, v)| match (ty, u, v) {
                        (Type::Enum(en), Cell::Enum(a), Cell::Enum(c)) => {
                            let def = &lib.vocab.enums[en];
                            if def.within(a, c) {
                                Cell::Bool(true)
                            } else if def.within(c, a) {
                                Cell::Unknown
                            } else {
                                Cell::Bool(false)
                            }
                        }
                        _ => Cell::Unknown,
                    })
                    .collect()
            }
            Op::Min(xs) | Op::Max(xs) => {
                let is_min = matches!(e.op, Op::Min(_));
                let cols: Vec<Vec<Cell>> = xs.iter().map(|x| self.eval(b, x)).collect();
                (0..n)
                    .map(|r| {
                        let mut best: Option<Cell> = None;
                        for col in &cols {
                            let v = col[r];
                            if v == Cell::Unknown {
                                return Cell::Unknown;
                            }
                            best = Some(match best {
                                None => v,
                                Some(bst) => {
                                    let o = cmp_cells(b, e.ty, v, bst);
                                    let better = if is_min {
                                        o == Some(std::cmp::Ordering::Less)
                                    } else {
                                        o == Some(std::cmp::Ordering::Greater)
                                    };
                                    if better { v } else { bst }
                                }
                            });
                        }
                        best.unwrap_or(Cell::Unknown)
                    })
                    .collect()
            }
            Op::Year(x) => self
                .eval(b, x)
                .into_iter()
                .map(|c| match c {
                    Cell::Date(d) => Cell::Num(d.year() as i128),
                    _ => Cell::Unknown,
                })
                .collect(),
            Op::Holds(c, d) => {
                let certs = self.eval(b, c);
                let at = match d {
                    Some(d) => self.eval(b, d),
                    None => self.eval(
                        b,
                        &Expr {
                            op: Op::EventDate,
                            ty: Type::Date,
                        },
                    ),
                };
                let ty = self.ty;
                (0..n)
                    .map(|r| match (certs[r], at[r]) {
                        (Cell::Enum(m), Cell::Date(at)) => {
                            let a = b.rows[ty][r].0 as usize;
                            Cell::Bool(
                                b.inputs[a]
                                    .applicant
                                    .certifications
                                    .iter()
                                    .any(|(c, d)| *c == m && *d <= at),
                            )
                        }
                        _ => Cell::Unknown,
                    })
                    .collect()
            }
            Op::Figure(f, y) => {
                let years = self.eval(b, y);
                let ty = self.ty;
                let mut out = Vec::with_capacity(n);
                for (r, yc) in years.into_iter().enumerate() {
                    let Cell::Num(year) = yc else {
                        out.push(Cell::Unknown);
                        continue;
                    };
                    let a = b.rows[ty][r].0 as usize;
                    let found = b.inputs[a]
                        .applicant
                        .figures
                        .iter()
                        .find(|(fid, yy, _)| fid == f && *yy as i128 == year)
                        .map(|(_, _, v)| v.clone());
                    out.push(match found {
                        None => Cell::Unknown,
                        Some(v) => const_cell(&v, &mut b.texts).unwrap_or_else(|| {
                            self.bad[r] = true;
                            Cell::Unknown
                        }),
                    });
                }
                out
            }
            Op::Increment(x, k) => {
                let kty = k.ty;
                let (amounts, keys) = (self.eval(b, x), self.eval(b, k));
                (0..n)
                    .map(|r| {
                        let Cell::Num(v) = amounts[r] else {
                            return Cell::Unknown;
                        };
                        if !keyable(kty, keys[r]) {
                            return Cell::Unknown;
                        }
                        if self.increments[r].is_none() {
                            self.increments[r] = Some((kty, keys[r]));
                        }
                        // Nothing paid before for the item (see run_measure): the whole amount.
                        Cell::Num(v.max(0))
                    })
                    .collect()
            }
            Op::Key(parts) => {
                let cols: Vec<(Type, Vec<Cell>)> =
                    parts.iter().map(|p| (p.ty, self.eval(b, p))).collect();
                (0..n)
                    .map(|r| {
                        let mut key = String::new();
                        for (i, (ty, col)) in cols.iter().enumerate() {
                            let Some(k) = key_of(lib, b, *ty, col[r]) else {
                                return Cell::Unknown;
                            };
                            if i > 0 {
                                key.push('|');
                            }
                            key.push_str(&k);
                        }
                        b.texts.push(key);
                        Cell::Text((b.texts.len() - 1) as u32)
                    })
                    .collect()
            }
            Op::Tier(s, arms) => {
                let sty = s.ty;
                let sc = self.eval(b, s);
                let values: Vec<Vec<Cell>> = arms.iter().map(|(_, v)| self.eval(b, v)).collect();
                (0..n)
                    .map(|r| {
                        let x = sc[r];
                        if x == Cell::Unknown {
                            return Cell::Unknown;
                        }
                        for ((p, _), col) in arms.iter().zip(&values) {
                            let hit = match p {
                                Pattern::Any => true,
                                Pattern::Never => false,
                                Pattern::Members(ms) => {
                                    matches!(x, Cell::Enum(m) if ms.contains(&m))
                                }
                                Pattern::Threshold(gt, bound) => {
                                    match cmp_cells(b, sty, x, *bound) {
                                        Some(o) if *gt => o == std::cmp::Ordering::Greater,
                                        Some(o) => o != std::cmp::Ordering::Less,
                                        None => false,
                                    }
                                }
                            };
                            if hit {
                                return col[r];
                            }
                        }
                        Cell::Unknown
                    })
                    .collect()
            }
        }
    }
}

/// A value `kc_eval`'s `key_of` gives a key for.
fn keyable(ty: Type, c: Cell) -> bool {
    matches!(
        (ty, c),
        (Type::Text, Cell::Text(_))
            | (Type::Int, Cell::Num(_))
            | (Type::Enum(_), Cell::Enum(_))
            | (Type::Date, Cell::Date(_))
    )
}

/// `kc_eval`'s key of a value: text, a whole number, an enum member's name or a date.
fn key_of(lib: &Library, b: &Batch, ty: Type, c: Cell) -> Option<String> {
    match (ty, c) {
        (Type::Text, Cell::Text(t)) => Some(b.text(t).to_string()),
        (Type::Int, Cell::Num(i)) => Some(i.to_string()),
        (Type::Enum(e), Cell::Enum(m)) => Some(lib.vocab.member_name(e, m).to_string()),
        (Type::Date, Cell::Date(d)) => Some(d.to_string()),
        _ => None,
    }
}

enum Exact {
    Value(i128),
    /// What the engine computes as unknown (a type pair without arithmetic, an Int overflow,
    /// a division by zero).
    Unknown,
    /// A value the fixed-point form cannot hold exactly.
    Inexact,
}

fn scaled(v: Option<i128>) -> Exact {
    match v {
        Some(v) if v.abs() < LIMIT => Exact::Value(v),
        _ => Exact::Inexact,
    }
}

/// The product of two scaled values, scaled: exact or `Inexact`.
fn mul_scaled(a: i128, b: i128) -> Exact {
    match a.checked_mul(b) {
        Some(p) if p % ONE == 0 => scaled(Some(p / ONE)),
        _ => Exact::Inexact,
    }
}

fn int(v: i128) -> Exact {
    match i64::try_from(v) {
        Ok(_) => Exact::Value(v),
        Err(_) => Exact::Unknown,
    }
}

/// kc_eval's `arith` on fixed-point operands of static types `tx`, `ty`.
fn arith(op: BinOp, tx: Type, ty: Type, x: i128, y: i128) -> Exact {
    use Type::*;
    match (op, tx, ty) {
        (BinOp::Add, Money, Money) | (BinOp::Add, Rate, Rate) => scaled(x.checked_add(y)),
        (BinOp::Sub, Money, Money) | (BinOp::Sub, Rate, Rate) => scaled(x.checked_sub(y)),
        (BinOp::Add, Int, Int) => int(x + y),
        (BinOp::Sub, Int, Int) => int(x - y),
        (BinOp::Mul, Int, Int) => x.checked_mul(y).map_or(Exact::Unknown, int),
        (BinOp::Mul, Rate, Money) | (BinOp::Mul, Money, Rate) | (BinOp::Mul, Rate, Rate) => {
            mul_scaled(x, y)
        }
        (BinOp::Mul, Money, Int) => scaled(x.checked_mul(y)),
        (BinOp::Mul, Int, Money) => scaled(y.checked_mul(x)),
        (BinOp::Div, Money, Int) => {
            if y == 0 {
                Exact::Unknown
            } else if x % y != 0 {
                Exact::Inexact
            } else {
                scaled(Some(x / y))
            }
        }
        _ => Exact::Unknown,
    }
}

//! The columnar engine: each measure compiled once into a plan over column arrays, evaluated
//! for every event of its type in a batch of applicants at once, with exact fixed-point money
//! (integers at 10⁻¹⁰ yuan, no floats). Conditions, lets, grants and caps are computed column
//! by column; the once-only rules, consecutive years and caps, which depend on what an
//! applicant was already paid, then run in one pass per applicant in date order.
//!
//! Columns are typed by the expression's static type (`Col`): numbers as `i128` with a
//! sentinel for unknown, three-valued booleans as bytes, enum members and texts as `u32`, and a
//! constant (or a parameter whose rows all fall in one value period) as one broadcast value;
//! anything else (dates, a column whose cells do not fit its type) falls back to tagged cells
//! and the cell-by-cell operations. An enum tested against constants (`kind = x`,
//! `kind in [..]`, `region within x`) is a table per member, built at compile time. Buffers come
//! from a per-thread pool, not one allocation per operation. Products by a rate are divided by
//! 10¹⁰ exactly without a 128-bit division (see `exact_div_one`).
//!
//! Where every applicant has one row of the measure's event type and the grant is an amount,
//! each row stands alone (nothing paid before it to look back on): the keys, amounts and caps
//! are then computed only for the rows whose conditions hold (a row whose condition is false,
//! computed exactly, gets nothing whatever its amount), and the pass needs no per-applicant
//! history. Otherwise the general pass runs applicant by applicant.
//!
//! The awards come out as columns per measure ([`Awards`], [`MeasureAwards`]: applicant, event,
//! amount), one array per formula; [`Awards::paid`] turns them into [`Paid`] records for the
//! forecast and traces. A reform's re-run ([`Plan::reevaluate`]) evaluates only the measures the
//! reform changed (see `reform::reuse`) and takes the others' awards from the baseline's.
//!
//! Exactness is guarded, not assumed: an operation whose result the fixed-point form cannot hold
//! exactly (a division with a remainder, a rate like 1/3, an overflow) marks that applicant's
//! events of the measure, and those — like a measure using a construct the plan does not
//! compile, an applicant with a payment history, or an item transferred a second time (paid on
//! its increment) — are evaluated by the per-applicant engine.
//! Either way every award equals the per-applicant engine's to the fen; the property tests in
//! tests/columnar.rs check it on random populations (with any events, and with one event of
//! each type so the one-row pass runs), and [`Stats`] says how much ran columnar.

use jiff::civil::Date;
use kc_check::{EnumId, GrantRule, Library, Measure, NodeKind, OnceRule, TierPattern, Type, Value};
use kc_eval::{AmountKind, Input, Status};
use kc_money::{Dec, Money, Rate};
use kc_syntax::ast::{BinOp, CapPeriod, Level};
use std::rc::Rc;
use std::sync::Arc;

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
    let fen = match i64::try_from(v) {
        // A division by a constant the compiler turns into a multiplication (i128 division is
        // a library call).
        Ok(v) => Ok(v / 100_000_000),
        Err(_) => i64::try_from(v / (ONE / 100)),
    };
    fen.map_or_else(|_| money_of(v), Money::from_fen)
}

/// Rounds a fixed-point amount toward zero to the fen, as the engine does.
#[inline]
fn floor_fen(v: i128) -> i128 {
    match i64::try_from(v) {
        Ok(v) => (v / 100_000_000 * 100_000_000) as i128,
        Err(_) => v / (ONE / 100) * (ONE / 100),
    }
}

/// The inverse of 5¹⁰ modulo 2¹²⁸ (Newton's iteration; each step doubles the bits).
const INV_5_10: u128 = {
    let d: u128 = 9_765_625;
    let mut x: u128 = d;
    let mut i = 0;
    while i < 7 {
        x = x.wrapping_mul(2u128.wrapping_sub(d.wrapping_mul(x)));
        i += 1;
    }
    x
};

/// `p / ONE` when `ONE` (2¹⁰·5¹⁰) divides `p`, else `None` — without a division: the low ten
/// bits must be zero, and a multiple of 5¹⁰ times the inverse of 5¹⁰ is its exact quotient,
/// which is then small (Granlund–Montgomery); any other value wraps to a large one.
#[inline]
fn exact_div_one(p: i128) -> Option<i128> {
    if p & 1023 != 0 {
        return None;
    }
    let q = (p >> 10).unsigned_abs().wrapping_mul(INV_5_10);
    if q > u128::MAX / 9_765_625 {
        return None;
    }
    Some(if p < 0 { -(q as i128) } else { q as i128 })
}

fn money_of(v: i128) -> Money {
    Money::from_decimal(Dec::from_i128_with_scale(v, SCALE).normalize())
}

/// An award's amount in [`MeasureAwards`] where review sets it.
pub const NO_FEN: i64 = i64::MIN;

/// A whole-fen fixed-point amount (or [`NA`]) in fen, `None` where it does not fit an `i64`
/// (more than 9·10¹⁶ yuan: the engine takes such an award).
#[inline]
fn to_fen(x: i128) -> Option<i64> {
    if x == NA {
        return Some(NO_FEN);
    }
    let f = match i64::try_from(x) {
        Ok(x) => x / 100_000_000,
        Err(_) => i64::try_from(x / (ONE / 100)).ok()?,
    };
    (f != NO_FEN).then_some(f)
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
    /// An enum column tested against constants, by table (see [`enum_test`]).
    EnumTest(Box<Expr>, EnumTest),
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

/// Converts a constant; `None` if the plan cannot hold it exactly. A text goes into `texts`,
/// its index marked with `tag`.
fn const_cell(v: &Value, texts: &mut Vec<String>, tag: u32) -> Option<Cell> {
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
            Cell::Text((texts.len() - 1) as u32 | tag)
        }
        Value::Unknown => Cell::Unknown,
    })
}

fn is_number(t: Type) -> bool {
    matches!(t, Type::Money | Type::Rate | Type::Decimal | Type::Int)
}

/// Compiles one node; `None` where the plan does not support it (the measure then runs on the
/// per-applicant engine).
fn compile(lib: &Library, n: &kc_check::Node, consts: &mut Vec<String>) -> Option<Expr> {
    let b = |x: &kc_check::Node, c: &mut Vec<String>| compile(lib, x, c).map(Box::new);
    let op = match &n.kind {
        NodeKind::Const(v) => Op::Const(const_cell(v, consts, CONST_TEXT)?),
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
                .map(|i| compile(lib, i, consts))
                .collect::<Option<Vec<_>>>()?;
            Op::In(a, items)
        }
        NodeKind::Within(a, c) => Op::Within(b(a, consts)?, b(c, consts)?),
        NodeKind::Min(xs) | NodeKind::Max(xs) => {
            let xs = xs
                .iter()
                .map(|i| compile(lib, i, consts))
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
                .map(|i| compile(lib, i, consts))
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
                            Pattern::Threshold(
                                *op == BinOp::Gt,
                                const_cell(bound, consts, CONST_TEXT)?,
                            )
                        }
                    }
                };
                out.push((p, compile(lib, &arm.value, consts)?));
            }
            Op::Tier(s, out)
        }
        NodeKind::Increment(a, k) => Op::Increment(b(a, consts)?, b(k, consts)?),
    };
    Some(enum_test(lib, Expr { op, ty: n.ty }))
}

/// An enum tested against constants (`=` or `≠` a member, `in` a list, `within` a member) as
/// a table of the three-valued result per member, built once: the conditions on an applicant's
/// kind and region then cost one lookup a row instead of walks up the region tree.
fn enum_test(lib: &Library, e: Expr) -> Expr {
    let Expr { op, ty } = e;
    let konst = |x: &Expr| match x.op {
        Op::Const(Cell::Enum(c)) => Some(c),
        _ => None,
    };
    let op = match op {
        Op::Cmp(cop @ (BinOp::Eq | BinOp::Ne), x, y) => match (x.ty, konst(&x), konst(&y)) {
            (Type::Enum(en), _, Some(c)) => {
                Op::EnumTest(x, EnumTest::new(lib, en, Test::Eq(c, cop == BinOp::Ne)))
            }
            (Type::Enum(en), Some(c), None) => {
                Op::EnumTest(y, EnumTest::new(lib, en, Test::Eq(c, cop == BinOp::Ne)))
            }
            _ => Op::Cmp(cop, x, y),
        },
        Op::In(x, items) => match x.ty {
            Type::Enum(en) if items.iter().all(|i| matches!(i.op, Op::Const(_))) => {
                let items = items
                    .iter()
                    .map(|i| match i.op {
                        Op::Const(c) => (i.ty, c),
                        _ => unreachable!("constants only"),
                    })
                    .collect();
                Op::EnumTest(x, EnumTest::new(lib, en, Test::In(items)))
            }
            _ => Op::In(x, items),
        },
        Op::Within(x, y) => match (x.ty, konst(&y)) {
            (Type::Enum(en), Some(c)) => Op::EnumTest(x, EnumTest::new(lib, en, Test::Within(c))),
            _ => Op::Within(x, y),
        },
        op => op,
    };
    Expr { op, ty }
}

#[derive(Debug)]
enum Test {
    /// `= c` (`≠ c` when true).
    Eq(u32, bool),
    In(Vec<(Type, Cell)>),
    Within(u32),
}

#[derive(Debug)]
struct EnumTest {
    en: EnumId,
    test: Test,
    /// The result for each member.
    table: Vec<u8>,
}

impl EnumTest {
    fn new(lib: &Library, en: EnumId, test: Test) -> EnumTest {
        let mut t = EnumTest {
            en,
            test,
            table: Vec::new(),
        };
        let members = lib.vocab.enums[en].members.len() as u32;
        t.table = (0..members).map(|m| t.test(lib, m)).collect();
        t
    }

    /// The test on member `m`, as the cell-by-cell operations compute it.
    fn test(&self, lib: &Library, m: u32) -> u8 {
        let en = self.en;
        let u = Cell::Enum(m);
        match &self.test {
            Test::Eq(c, ne) => {
                let v = Cell::Enum(*c);
                let (eq, other) = if *ne {
                    (B_FALSE, B_TRUE)
                } else {
                    (B_TRUE, B_FALSE)
                };
                if m == *c {
                    eq
                } else if broader(lib, en, u, v) || broader(lib, en, v, u) {
                    B_UNKNOWN
                } else {
                    other
                }
            }
            Test::In(items) => {
                let ty = Type::Enum(en);
                let mut unknown = false;
                for (ity, v) in items {
                    if *v == Cell::Unknown || (*ity == ty && broader(lib, en, u, *v)) {
                        unknown = true;
                    } else if *ity == ty && *v == u {
                        return B_TRUE;
                    }
                }
                if unknown { B_UNKNOWN } else { B_FALSE }
            }
            Test::Within(c) => {
                let def = &lib.vocab.enums[en];
                if def.within(m, *c) {
                    B_TRUE
                } else if def.within(*c, m) {
                    B_UNKNOWN
                } else {
                    B_FALSE
                }
            }
        }
    }

    #[inline]
    fn at(&self, lib: &Library, m: u32) -> u8 {
        match self.table.get(m as usize) {
            Some(v) => *v,
            None if m == NO_MEMBER => B_UNKNOWN,
            None => self.test(lib, m),
        }
    }

    /// The test on a cell of a column whose cells do not all fit the enum.
    fn at_cell(&self, lib: &Library, c: Cell) -> u8 {
        match (c, &self.test) {
            (Cell::Enum(m), _) => self.at(lib, m),
            (Cell::Unknown, _) => B_UNKNOWN,
            (_, Test::In(items)) if !items.iter().any(|(_, v)| *v == Cell::Unknown) => B_FALSE,
            _ => B_UNKNOWN,
        }
    }
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
    /// The split: shares by level, the level taking the remainder, and the shares in fixed
    /// point where they allow a split without `Decimal` (they sum to one).
    shares: Vec<Rate>,
    levels: Vec<Level>,
    remainder: usize,
    fixed_shares: Option<Vec<i128>>,
    /// Every whole-fen amount below [`LIMIT`] splits exactly in fixed point: each share times a
    /// fen is a multiple of 10⁻¹⁰ (shares of 50%, 100%: the common case).
    fen_splits: bool,
}

enum GrantPlan {
    Amount(Expr, AmountKind),
    Review(Option<(Expr, Expr)>),
    Parts(Vec<(Level, Expr)>),
}

fn compile_measure(lib: &Library, m: &Measure, consts: &mut Vec<String>) -> Option<MeasurePlan> {
    // A measure that replaced another through an amendment reads that one's awards as its
    // history: the engine evaluates it.
    if m.start_change.is_some() {
        return None;
    }
    let c = |n: &kc_check::Node, k: &mut Vec<String>| compile(lib, n, k);
    let shares: Vec<Rate> = m.split.shares.iter().map(|s| s.1).collect();
    let fixed_shares: Option<Vec<i128>> = (shares.iter().map(|r| r.fraction()).sum::<Dec>()
        == Dec::ONE
        && m.split.remainder < shares.len())
    .then(|| shares.iter().map(|r| fixed(r.fraction())).collect())
    .flatten();
    let fen_splits = fixed_shares.as_ref().is_some_and(|fs| {
        fs.iter()
            .all(|s| (0..=ONE).contains(s) && (s * (ONE / 100)) % ONE == 0)
    });
    Some(MeasurePlan {
        fen_splits,
        levels: m.split.shares.iter().map(|s| s.0).collect(),
        shares,
        remainder: m.split.remainder,
        fixed_shares,
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

/// Applicants per evaluated slice: a few thousand rows per column keep a measure's columns
/// in cache; whole-batch columns of a million rows each cost a fresh mapping and its page
/// faults, and ran several times slower. With typed columns (bytes for booleans, 16 bytes for
/// a number at most) from a pool, 8,192 rows measured faster than 2,048 (fewer set-ups of
/// each measure per slice) on the six-formula benchmark.
pub const SLICE: usize = 8_192;

/// Unknown in a number column: no value is this (they stay below [`LIMIT`], or in i64).
const NA: i128 = i128::MIN;
/// Three-valued booleans, ordered so that `and` is `min`, `or` is `max` and `not` is `2 − x`.
const B_FALSE: u8 = 0;
const B_UNKNOWN: u8 = 1;
const B_TRUE: u8 = 2;
/// Unknown in an enum column.
const NO_MEMBER: u32 = u32::MAX;
/// Marks a text index as one of the plan's constants rather than the batch's arena, so a batch
/// laid out once serves the plans of every reform.
const CONST_TEXT: u32 = 1 << 31;

/// A computed column, typed by its expression's static type: one value for every row (a
/// constant, or a parameter whose rows all fall in one value period), or one value per row.
#[derive(Clone, Debug)]
enum Col {
    Const(Cell),
    /// Numbers at [`SCALE`] (`Int` as is), [`NA`] where unknown.
    Num(Rc<Vec<i128>>),
    /// [`B_FALSE`], [`B_UNKNOWN`] or [`B_TRUE`].
    Bool(Rc<Vec<u8>>),
    /// Members, [`NO_MEMBER`] where unknown.
    Enum(Rc<Vec<u32>>),
    /// Text indices (see [`Batch::text`]), [`NO_MEMBER`] where unknown.
    Text(Rc<Vec<u32>>),
    /// Anything else (dates, texts, a column whose cells do not all fit its type).
    Cells(Rc<Vec<Cell>>),
}

/// Where an enum field tested by [`Batch::member_bits`] is.
#[derive(Clone, Copy)]
enum MemberCol {
    Applicant(usize),
    Event(usize),
}

/// A typed column read row by row: a broadcast constant or a slice.
#[derive(Clone, Copy)]
enum V<'a, T: Copy> {
    C(T),
    S(&'a [T]),
}

impl<T: Copy> V<'_, T> {
    #[inline(always)]
    fn at(&self, r: usize) -> T {
        match self {
            V::C(c) => *c,
            V::S(s) => s[r],
        }
    }
}

fn bool3(c: Cell) -> u8 {
    match c {
        Cell::Bool(true) => B_TRUE,
        Cell::Bool(false) => B_FALSE,
        _ => B_UNKNOWN,
    }
}

/// A column being laid out, typed by its field's static type from the first value on: the
/// cells are written straight into the typed buffer, and only a column where a value does not
/// fit its type falls back to cells (a 32-byte cell per value, converted afterwards, made laying
/// out a batch cost more than evaluating it).
enum ColBuilder {
    Num(Vec<i128>),
    Bool(Vec<u8>),
    Enum(Vec<u32>),
    Text(Vec<u32>),
    Cells(Type, Vec<Cell>),
}

impl ColBuilder {
    fn new(ty: Type, capacity: usize) -> ColBuilder {
        match ty {
            _ if is_number(ty) => ColBuilder::Num(Vec::with_capacity(capacity)),
            Type::Bool => ColBuilder::Bool(Vec::with_capacity(capacity)),
            Type::Enum(_) => ColBuilder::Enum(Vec::with_capacity(capacity)),
            Type::Text => ColBuilder::Text(Vec::with_capacity(capacity)),
            _ => ColBuilder::Cells(ty, Vec::with_capacity(capacity)),
        }
    }

    #[inline]
    fn push(&mut self, ty: Type, c: Cell) {
        match (&mut *self, c) {
            (ColBuilder::Num(v), Cell::Num(x)) => v.push(x),
            (ColBuilder::Num(v), Cell::Unknown) => v.push(NA),
            (ColBuilder::Bool(v), Cell::Bool(_) | Cell::Unknown) => v.push(bool3(c)),
            (ColBuilder::Enum(v), Cell::Enum(m)) => v.push(m),
            (ColBuilder::Text(v), Cell::Text(t)) => v.push(t),
            (ColBuilder::Enum(v) | ColBuilder::Text(v), Cell::Unknown) => v.push(NO_MEMBER),
            (ColBuilder::Cells(_, v), c) => v.push(c),
            (b, c) => {
                let n = b.len();
                let mut cells = std::mem::replace(b, ColBuilder::Cells(ty, Vec::new()))
                    .finish()
                    .cells(n);
                cells.push(c);
                *b = ColBuilder::Cells(ty, cells);
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            ColBuilder::Num(v) => v.len(),
            ColBuilder::Bool(v) => v.len(),
            ColBuilder::Enum(v) | ColBuilder::Text(v) => v.len(),
            ColBuilder::Cells(_, v) => v.len(),
        }
    }

    fn finish(self) -> Col {
        match self {
            ColBuilder::Num(v) => Col::Num(Rc::new(v)),
            ColBuilder::Bool(v) => Col::Bool(Rc::new(v)),
            ColBuilder::Enum(v) => Col::Enum(Rc::new(v)),
            ColBuilder::Text(v) => Col::Text(Rc::new(v)),
            ColBuilder::Cells(ty, v) => Col::of_cells(ty, v),
        }
    }
}

impl Col {
    fn get(&self, r: usize) -> Cell {
        match self {
            Col::Const(c) => *c,
            Col::Num(v) => match v[r] {
                NA => Cell::Unknown,
                x => Cell::Num(x),
            },
            Col::Bool(v) => match v[r] {
                B_TRUE => Cell::Bool(true),
                B_FALSE => Cell::Bool(false),
                _ => Cell::Unknown,
            },
            Col::Enum(v) => match v[r] {
                NO_MEMBER => Cell::Unknown,
                m => Cell::Enum(m),
            },
            Col::Text(v) => match v[r] {
                NO_MEMBER => Cell::Unknown,
                t => Cell::Text(t),
            },
            Col::Cells(v) => v[r],
        }
    }

    fn cells(&self, n: usize) -> Vec<Cell> {
        match self {
            Col::Cells(v) => v.as_ref().clone(),
            _ => (0..n).map(|r| self.get(r)).collect(),
        }
    }

    /// The typed column of `cells` of static type `ty`.
    fn of_cells(ty: Type, cells: Vec<Cell>) -> Col {
        let all = |f: fn(&Cell) -> bool| cells.iter().all(|c| *c == Cell::Unknown || f(c));
        if is_number(ty) && all(|c| matches!(c, Cell::Num(_))) {
            Col::Num(Rc::new(
                cells
                    .iter()
                    .map(|c| match c {
                        Cell::Num(v) => *v,
                        _ => NA,
                    })
                    .collect(),
            ))
        } else if ty == Type::Bool && all(|c| matches!(c, Cell::Bool(_))) {
            Col::Bool(Rc::new(cells.iter().map(|c| bool3(*c)).collect()))
        } else if matches!(ty, Type::Enum(_)) && all(|c| matches!(c, Cell::Enum(_))) {
            Col::Enum(Rc::new(
                cells
                    .iter()
                    .map(|c| match c {
                        Cell::Enum(m) => *m,
                        _ => NO_MEMBER,
                    })
                    .collect(),
            ))
        } else if ty == Type::Text && all(|c| matches!(c, Cell::Text(_))) {
            Col::Text(Rc::new(
                cells
                    .iter()
                    .map(|c| match c {
                        Cell::Text(t) => *t,
                        _ => NO_MEMBER,
                    })
                    .collect(),
            ))
        } else {
            Col::Cells(Rc::new(cells))
        }
    }

    /// The members of an enum column (empty for any other column).
    fn enum_slice(&self) -> &[u32] {
        match self {
            Col::Enum(v) => v,
            _ => &[],
        }
    }

    fn nums(&self) -> Option<V<'_, i128>> {
        match self {
            Col::Const(Cell::Num(v)) => Some(V::C(*v)),
            Col::Const(Cell::Unknown) => Some(V::C(NA)),
            Col::Num(v) => Some(V::S(v)),
            _ => None,
        }
    }

    fn bools(&self) -> Option<V<'_, u8>> {
        match self {
            Col::Const(c @ (Cell::Bool(_) | Cell::Unknown)) => Some(V::C(bool3(*c))),
            Col::Bool(v) => Some(V::S(v)),
            _ => None,
        }
    }

    fn enums(&self) -> Option<V<'_, u32>> {
        match self {
            Col::Const(Cell::Enum(m)) => Some(V::C(*m)),
            Col::Const(Cell::Unknown) => Some(V::C(NO_MEMBER)),
            Col::Enum(v) => Some(V::S(v)),
            _ => None,
        }
    }

    /// Row `r` gives a key (see [`keyable`]), read without building the cell where the
    /// column is typed.
    #[inline]
    fn keyable_at(&self, ty: Type, r: usize) -> bool {
        match (ty, self) {
            (Type::Int, Col::Num(v)) => v[r] != NA,
            (Type::Text, Col::Text(v)) | (Type::Enum(_), Col::Enum(v)) => v[r] != NO_MEMBER,
            _ => keyable(ty, self.get(r)),
        }
    }

    /// The rows `sel` of a column.
    fn select(&self, sel: &[u32]) -> Col {
        fn g<T: Copy>(v: &[T], sel: &[u32]) -> Rc<Vec<T>> {
            Rc::new(sel.iter().map(|r| v[*r as usize]).collect())
        }
        match self {
            Col::Const(c) => Col::Const(*c),
            Col::Num(v) => Col::Num(g(v, sel)),
            Col::Bool(v) => Col::Bool(g(v, sel)),
            Col::Enum(v) => Col::Enum(g(v, sel)),
            Col::Text(v) => Col::Text(g(v, sel)),
            Col::Cells(v) => Col::Cells(g(v, sel)),
        }
    }

    /// The rows of `rows` (applicant indices) of a per-applicant column.
    fn gather(&self, rows: &[(u32, u32)]) -> Col {
        fn g<T: Copy>(v: &[T], rows: &[(u32, u32)]) -> Rc<Vec<T>> {
            Rc::new(rows.iter().map(|(a, _)| v[*a as usize]).collect())
        }
        match self {
            Col::Const(c) => Col::Const(*c),
            Col::Num(v) => Col::Num(g(v, rows)),
            Col::Bool(v) => Col::Bool(g(v, rows)),
            Col::Enum(v) => Col::Enum(g(v, rows)),
            Col::Text(v) => Col::Text(g(v, rows)),
            Col::Cells(v) => Col::Cells(g(v, rows)),
        }
    }
}

/// A library compiled for columnar evaluation: compile once, run on many batches.
pub struct Plan<'l> {
    lib: &'l Library,
    measures: Vec<Option<MeasurePlan>>,
    consts: Vec<String>,
    /// Parameter values by date, converted; `None` where a value cannot be held exactly.
    params: Vec<Vec<(Date, Option<Cell>)>>,
}

/// A measure's awards over a batch, as columns: what the plan computed, row by row in the
/// engine's order, and the awards of the applicants it handed to the per-applicant engine.
///
/// The award columns are most of what a calculation writes to fresh memory, and a fresh page
/// costs the kernel more than the arithmetic of its awards: they are kept narrow. An award names
/// its row of the batch (not its applicant and event), in 16 bits while the batch's rows of the
/// type fit; its amount is in fen, in 32 bits while the amounts fit (up to 21,474,836.47
/// yuan); the kinds are runs (one run for a measure whose grant is one amount).
#[derive(Clone, Debug, Default)]
pub struct MeasureAwards {
    /// Each award's row of the measure's event type in the batch: its applicant and event are
    /// `rows[row]`.
    row: Packed<u16, u32>,
    /// The batch's (applicant, event index) of each row of the measure's event type, shared.
    rows: Arc<Vec<(u32, u32)>>,
    /// Each award's amount in fen; [`NO_FEN`] where set by review.
    amount: Packed<i32, i64>,
    /// The kinds, as runs: (index of the run's first award, kind).
    kinds: Vec<(u32, AmountKind)>,
    /// Review ranges and part-by-part splits, by award index (rare: kept aside).
    ranges: Vec<(u32, (Money, Money))>,
    parts: Vec<(u32, Vec<(Level, Money)>)>,
    /// Applicants whose awards of this measure the per-applicant engine computed.
    engine: Vec<(u32, Vec<Paid>)>,
}

/// A narrow integer that stands for a wider one where it can.
trait Narrow<W>: Copy {
    fn narrow(w: W) -> Option<Self>;
    fn widen(self) -> W;
}

impl Narrow<u32> for u16 {
    #[inline]
    fn narrow(w: u32) -> Option<u16> {
        u16::try_from(w).ok()
    }
    #[inline]
    fn widen(self) -> u32 {
        self as u32
    }
}

/// Fen: `i32::MIN` stands for [`NO_FEN`] (no amount of its own).
impl Narrow<i64> for i32 {
    #[inline]
    fn narrow(w: i64) -> Option<i32> {
        if w == NO_FEN {
            return Some(i32::MIN);
        }
        i32::try_from(w).ok().filter(|x| *x != i32::MIN)
    }
    #[inline]
    fn widen(self) -> i64 {
        if self == i32::MIN {
            NO_FEN
        } else {
            self as i64
        }
    }
}

/// A column of `W` values held as `N` while every value fits, widened at the first that does
/// not (then `narrow` is empty and `wide` holds every value).
#[derive(Clone, Debug)]
struct Packed<N, W> {
    narrow: Vec<N>,
    wide: Option<Vec<W>>,
}

impl<N, W> Default for Packed<N, W> {
    fn default() -> Self {
        Packed {
            narrow: Vec::new(),
            wide: None,
        }
    }
}

impl<N: Narrow<W>, W: Copy> Packed<N, W> {
    fn len(&self) -> usize {
        self.wide.as_ref().map_or(self.narrow.len(), Vec::len)
    }

    #[inline]
    fn get(&self, k: usize) -> W {
        match &self.wide {
            Some(w) => w[k],
            None => self.narrow[k].widen(),
        }
    }

    fn widen(&mut self) -> &mut Vec<W> {
        let narrow = &mut self.narrow;
        self.wide
            .get_or_insert_with(|| std::mem::take(narrow).into_iter().map(N::widen).collect())
    }

    #[inline]
    fn push(&mut self, x: W) {
        match (&mut self.wide, N::narrow(x)) {
            (None, Some(n)) => self.narrow.push(n),
            _ => self.widen().push(x),
        }
    }

    fn extend(&mut self, xs: impl ExactSizeIterator<Item = W>) {
        let mut xs = xs.peekable();
        if self.wide.is_none() {
            self.narrow.reserve(xs.len());
            while let Some(n) = xs.peek().and_then(|x| N::narrow(*x)) {
                self.narrow.push(n);
                xs.next();
            }
            if xs.peek().is_none() {
                return;
            }
        }
        self.widen().extend(xs);
    }

    fn truncate(&mut self, k: usize) {
        match &mut self.wide {
            Some(w) => w.truncate(k),
            None => self.narrow.truncate(k),
        }
    }

    fn iter(&self) -> impl Iterator<Item = W> + '_ {
        (0..self.len()).map(|k| self.get(k))
    }
}

impl MeasureAwards {
    fn new(rows: Arc<Vec<(u32, u32)>>) -> MeasureAwards {
        MeasureAwards {
            rows,
            ..Default::default()
        }
    }

    /// Awards computed by the plan (the engine's are apart).
    pub fn len(&self) -> usize {
        self.amount.len()
    }

    pub fn is_empty(&self) -> bool {
        self.amount.len() == 0 && self.engine.is_empty()
    }

    /// Award `k`'s amount in fen, [`NO_FEN`] where review sets it.
    pub fn fen(&self, k: usize) -> i64 {
        self.amount.get(k)
    }

    /// Award `k`'s applicant and event (indices into the batch's inputs and its events).
    pub fn applicant_event(&self, k: usize) -> (u32, u32) {
        self.rows[self.row.get(k) as usize]
    }

    fn set_kind(&mut self, from: usize, kind: AmountKind) {
        if self.kinds.last().is_none_or(|(_, k)| *k != kind) {
            self.kinds.push((from as u32, kind));
        }
    }

    /// Drops the awards from index `k` on (an applicant handed to the engine after all).
    fn truncate(&mut self, k: usize) {
        self.row.truncate(k);
        self.amount.truncate(k);
        while self.kinds.last().is_some_and(|x| x.0 as usize >= k) {
            self.kinds.pop();
        }
        while self.ranges.last().is_some_and(|x| x.0 as usize >= k) {
            self.ranges.pop();
        }
        while self.parts.last().is_some_and(|x| x.0 as usize >= k) {
            self.parts.pop();
        }
    }
}

/// The awards of a batch: per measure of the plan as columns (see [`MeasureAwards`]), and the
/// applicants the per-applicant engine evaluated whole.
#[derive(Clone, Debug, Default)]
pub struct Awards {
    /// Shared, so that a reform's re-run takes an unchanged measure's awards without a copy.
    pub measures: Vec<Arc<MeasureAwards>>,
    whole: Vec<(u32, Vec<Paid>)>,
    applicants: usize,
}

impl Awards {
    /// The sum of every award's amount, in fen.
    pub fn total_fen(&self) -> i128 {
        let mut t = 0;
        // The measures' columns hold no applicant evaluated whole.
        for m in &self.measures {
            t += m
                .amount
                .iter()
                .filter(|x| *x != NO_FEN)
                .map(|x| x as i128)
                .sum::<i128>();
            for (_, ps) in &m.engine {
                t += ps.iter().filter_map(|p| p.amount).map(fen_of).sum::<i128>();
            }
        }
        for (_, ps) in &self.whole {
            t += ps.iter().filter_map(|p| p.amount).map(fen_of).sum::<i128>();
        }
        t
    }

    /// Every award as a [`Paid`], per applicant in the batch's order (measure by measure, each
    /// in date order), as the per-applicant engine gives them.
    pub fn paid(&self, plan: &Plan) -> Vec<Vec<Paid>> {
        let mut out: Vec<Vec<Paid>> = vec![Vec::new(); self.applicants];
        for (mi, m) in self.measures.iter().enumerate() {
            let mp = plan.measures[mi].as_ref();
            let (mut ri, mut pi, mut ki) = (0, 0, 0);
            for k in 0..m.len() {
                let range = match m.ranges.get(ri) {
                    Some((i, r)) if *i as usize == k => {
                        ri += 1;
                        Some(*r)
                    }
                    _ => None,
                };
                while m.kinds.get(ki + 1).is_some_and(|(i, _)| *i as usize <= k) {
                    ki += 1;
                }
                let fen = m.amount.get(k);
                let amount = (fen != NO_FEN).then(|| Money::from_fen(fen));
                let split = match m.parts.get(pi) {
                    Some((i, s)) if *i as usize == k => {
                        pi += 1;
                        s.clone()
                    }
                    _ => match (mp, fen) {
                        (_, NO_FEN) | (None, _) => Vec::new(),
                        (Some(mp), x) => mp.split(x as i128 * (ONE / 100)).unwrap_or_default(),
                    },
                };
                let (applicant, event) = m.applicant_event(k);
                out[applicant as usize].push(Paid {
                    measure: mi,
                    event: event as usize,
                    kind: m.kinds[ki].1,
                    amount,
                    range,
                    split,
                });
            }
            for (a, ps) in &m.engine {
                out[*a as usize].extend(ps.iter().cloned());
            }
        }
        for (a, ps) in &self.whole {
            out[*a as usize] = ps.clone();
        }
        out
    }
}

fn fen_of(m: Money) -> i128 {
    let mut d = m.decimal();
    d.rescale(2);
    d.mantissa()
}

impl<'l> Plan<'l> {
    pub fn compile(lib: &'l Library) -> Plan<'l> {
        let mut consts = Vec::new();
        let measures = lib
            .measures
            .iter()
            .map(|m| compile_measure(lib, m, &mut consts))
            .collect();
        let params = lib
            .parameters
            .iter()
            .map(|p| {
                p.values
                    .iter()
                    .map(|(d, v)| (*d, const_cell(v, &mut consts, CONST_TEXT)))
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

    /// Evaluates every measure over a prepared batch, as [`Paid`] awards per applicant.
    pub fn evaluate(&self, batch: &mut Batch) -> (Vec<Vec<Paid>>, Stats) {
        let (awards, stats) = self.evaluate_awards(batch);
        (awards.paid(self), stats)
    }

    /// Evaluates every measure over a prepared batch, as award columns per measure (the
    /// counterpart of one amount array per formula).
    pub fn evaluate_awards(&self, batch: &mut Batch) -> (Awards, Stats) {
        self.evaluate_reusing(batch, None)
    }

    /// Re-evaluates a batch under this plan (a reform's) given the awards `base` of another
    /// plan over the same batch: a measure with `reuse[measure] = Some(i)` is unchanged from
    /// the other plan's measure `i`, and its awards are taken from `base` instead of computed
    /// (see [`crate::reform::reuse`]). The result equals [`Plan::evaluate_awards`].
    pub fn reevaluate(
        &self,
        batch: &mut Batch,
        base: &Awards,
        reuse: &[Option<usize>],
    ) -> (Awards, Stats) {
        self.evaluate_reusing(batch, Some((base, reuse)))
    }

    fn evaluate_reusing(
        &self,
        batch: &mut Batch,
        base: Option<(&Awards, &[Option<usize>])>,
    ) -> (Awards, Stats) {
        let inputs = batch.inputs;
        batch.consts.clone_from(&self.consts);
        let texts = batch.texts.len();
        let mut awards = Awards {
            measures: Vec::with_capacity(self.measures.len()),
            whole: Vec::new(),
            applicants: inputs.len(),
        };
        let mut stats = Stats::default();
        for (mi, plan) in self.measures.iter().enumerate() {
            if let Some((base, reuse)) = base
                && let Some(Some(bi)) = reuse.get(mi)
                && let Some(m) = base.measures.get(*bi)
            {
                let mut m = m.clone();
                // The engine's awards name their measure by index, which a removal shifts.
                if *bi != mi && !m.engine.is_empty() {
                    let m = Arc::make_mut(&mut m);
                    for p in m.engine.iter_mut().flat_map(|e| e.1.iter_mut()) {
                        p.measure = mi;
                    }
                }
                awards.measures.push(m);
                continue;
            }
            let m = &self.lib.measures[mi];
            let ty = m.event;
            let mut out = MeasureAwards::new(batch.rows[ty].clone());
            let engine = match plan {
                None => batch
                    .applicants_with(ty)
                    .into_iter()
                    .filter(|a| !batch.whole_engine[*a])
                    .collect(),
                Some(plan) => {
                    stats.rows += batch.rows[ty].len();
                    batch.run_measure(self, m, plan, &mut out)
                }
            };
            for a in engine {
                stats.engine_pairs += 1;
                let paid = paid_of(kc_eval::evaluate_measure(self.lib, &inputs[a], mi).outcomes);
                out.engine.push((a as u32, paid));
            }
            awards.measures.push(Arc::new(out));
        }
        for (a, input) in inputs.iter().enumerate().filter(|_| batch.any_whole) {
            if batch.whole_engine[a] {
                stats.engine_applicants += 1;
                awards
                    .whole
                    .push((a as u32, engine_awards(self.lib, input)));
            }
        }
        // Texts computed by this evaluation (keys, ids) are not needed past it.
        batch.texts.truncate(texts);
        (awards, stats)
    }
}

/// A batch of applicants laid out in columns: applicant fields, and per event type the rows
/// of every applicant's events of that type in the engine's order (by date, then id).
pub struct Batch<'i> {
    inputs: &'i [Input],
    texts: Vec<String>,
    /// The evaluating plan's constant texts (see [`CONST_TEXT`]).
    consts: Vec<String>,
    /// Some text holds '|', as far as the first `pipe_checked` texts and the constants go.
    pipe: bool,
    pipe_checked: usize,
    /// [slot], one row per applicant.
    applicant: Vec<Col>,
    /// Applicants the engine evaluates whole: a payment history, or a figure it cannot hold.
    whole_engine: Vec<bool>,
    /// Each applicant's date judged.
    as_of: Vec<Date>,
    /// Per event type: (applicant, event index) of each row (shared with the awards).
    rows: Vec<Arc<Vec<(u32, u32)>>>,
    /// Per event type: each applicant has exactly one row, in order (applicant columns serve
    /// as they are, and every applicant's rows are one row).
    identity: Vec<bool>,
    /// Per event type: [field], one row per event row.
    fields: Vec<Vec<Col>>,
    /// Per event type: each row's date (read by every measure; kept beside the fields so the
    /// evaluation never chases pointers into the inputs), as cells, and the earliest and latest.
    dates: Vec<Vec<Date>>,
    /// The dates as cells, made when a measure first reads them as values (most only
    /// compare them with the measure's validity, through the keys below).
    date_cells: Vec<std::cell::OnceCell<Col>>,
    date_range: Vec<(Date, Date)>,
    /// The dates as ordered integers (see [`day_key`]), per event type, and the dates judged.
    date_keys: Vec<Vec<i32>>,
    as_of_keys: Vec<i32>,
    /// The earliest date judged (as a key), and whether any applicant goes to the engine
    /// whole: when every row is inside a measure's validity and no applicant is whole, a
    /// measure need not look at each row's date.
    as_of_min: i32,
    any_whole: bool,
}

/// A date as an integer in the same order, compared in one instruction.
fn day_key(d: Date) -> i32 {
    (d.year() as i32) << 9 | (d.month() as i32) << 5 | d.day() as i32
}

impl<'i> Batch<'i> {
    fn new(plan: &Plan, inputs: &'i [Input]) -> Batch<'i> {
        let lib = plan.lib;
        let mut texts = Vec::new();
        let mut whole_engine = vec![false; inputs.len()];
        let mut applicant: Vec<ColBuilder> = lib
            .vocab
            .applicant
            .iter()
            .map(|f| ColBuilder::new(f.ty, inputs.len()))
            .collect();
        let n_types = lib.vocab.events.len();
        // Each type's rows counted first: its columns are allocated once, at their size.
        let mut per_type = vec![0usize; n_types];
        for e in inputs.iter().flat_map(|i| &i.events) {
            if let Some(c) = per_type.get_mut(e.kind) {
                *c += 1;
            }
        }
        let mut rows: Vec<Vec<(u32, u32)>> =
            per_type.iter().map(|n| Vec::with_capacity(*n)).collect();
        let mut fields: Vec<Vec<ColBuilder>> = lib
            .vocab
            .events
            .iter()
            .zip(&per_type)
            .map(|(e, n)| e.fields.iter().map(|f| ColBuilder::new(f.ty, *n)).collect())
            .collect();
        let mut dates: Vec<Vec<Date>> = per_type.iter().map(|n| Vec::with_capacity(*n)).collect();
        let mut order: Vec<usize> = Vec::new();
        for (a, input) in inputs.iter().enumerate() {
            if !input.history.is_empty() {
                whole_engine[a] = true;
            }
            for (slot, (col, def)) in applicant.iter_mut().zip(&lib.vocab.applicant).enumerate() {
                let v = input.applicant.fields.get(slot).unwrap_or(&Value::Unknown);
                let c = const_cell(v, &mut texts, 0).unwrap_or_else(|| {
                    whole_engine[a] = true;
                    Cell::Unknown
                });
                col.push(def.ty, c);
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
                let defs = &lib.vocab.events[e.kind].fields;
                for (f, (col, def)) in fields[e.kind].iter_mut().zip(defs).enumerate() {
                    let v = e.fields.get(f).unwrap_or(&Value::Unknown);
                    let c = const_cell(v, &mut texts, 0).unwrap_or_else(|| {
                        whole_engine[a] = true;
                        Cell::Unknown
                    });
                    col.push(def.ty, c);
                }
            }
        }
        let identity = rows
            .iter()
            .map(|r| {
                r.len() == inputs.len() && r.iter().enumerate().all(|(i, x)| x.0 as usize == i)
            })
            .collect();
        let applicant = applicant.into_iter().map(ColBuilder::finish).collect();
        let fields = fields
            .into_iter()
            .map(|cols| cols.into_iter().map(ColBuilder::finish).collect())
            .collect();
        let date_cells = dates.iter().map(|_| std::cell::OnceCell::new()).collect();
        let date_range = dates
            .iter()
            .map(|d| {
                let lo = d.iter().min().copied().unwrap_or(Date::MIN);
                (lo, d.iter().max().copied().unwrap_or(lo))
            })
            .collect();
        let as_of_keys: Vec<i32> = inputs.iter().map(|i| day_key(i.as_of)).collect();
        // Whether a text holds '|' is a property of the data, looked at as it is laid out.
        let (pipe, pipe_checked) = (texts.iter().any(|t| t.contains('|')), texts.len());
        Batch {
            as_of_min: as_of_keys.iter().copied().min().unwrap_or(i32::MAX),
            any_whole: whole_engine.iter().any(|w| *w),
            inputs,
            texts,
            consts: plan.consts.clone(),
            pipe,
            pipe_checked,
            applicant,
            whole_engine,
            as_of: inputs.iter().map(|i| i.as_of).collect(),
            as_of_keys,
            date_keys: dates
                .iter()
                .map(|d| d.iter().map(|d| day_key(*d)).collect())
                .collect(),
            rows: rows.into_iter().map(Arc::new).collect(),
            identity,
            fields,
            dates,
            date_cells,
            date_range,
        }
    }

    /// A condition testing an enum field of the rows of type `ty` against constants, as the
    /// field and the set of members (< 64) for which it holds; `None` for any other condition.
    fn member_bits(&self, ty: usize, c: &Expr) -> Option<(MemberCol, u64)> {
        let Op::EnumTest(x, t) = &c.op else {
            return None;
        };
        if t.table.len() > 64 {
            return None;
        }
        let (which, col) = match x.op {
            Op::EventField(f) => (MemberCol::Event(f), &self.fields[ty][f]),
            Op::ApplicantField(s) if self.identity[ty] => {
                (MemberCol::Applicant(s), &self.applicant[s])
            }
            _ => return None,
        };
        if !matches!(col, Col::Enum(_)) {
            return None;
        }
        let bits = t
            .table
            .iter()
            .enumerate()
            .fold(0u64, |b, (m, v)| b | (u64::from(*v == B_TRUE) << m));
        Some((which, bits))
    }

    fn applicants_with(&self, ty: usize) -> Vec<usize> {
        let mut v: Vec<usize> = self.rows[ty].iter().map(|r| r.0 as usize).collect();
        v.dedup();
        v
    }

    fn applicant_col(&self, ty: usize, slot: usize) -> Col {
        if self.identity[ty] {
            self.applicant[slot].clone()
        } else {
            self.applicant[slot].gather(&self.rows[ty])
        }
    }

    /// Evaluates a compiled measure into `out`; returns the applicants whose events of it need
    /// the engine.
    // A row indexes many columns at once: loops over row numbers read clearer than zips.
    #[allow(clippy::needless_range_loop)]
    fn run_measure(
        &mut self,
        plan: &Plan,
        m: &Measure,
        mp: &MeasurePlan,
        out: &mut MeasureAwards,
    ) -> Vec<usize> {
        let ty = m.event;
        let n = self.rows[ty].len();
        if n == 0 {
            return Vec::new();
        }
        let mut cx = Cx {
            pool: POOL.take(),
            selected: false,
            sel: Vec::new(),
            plan,
            ty,
            n,
            bad: BadRows {
                rows: vec![false; n],
                any: false,
            },
            let_exprs: &mp.lets,
            lets: vec![None; mp.lets.len()],
            increments: Vec::new(),
        };
        // One row per applicant and an amount: nothing paid before a row (no once-only rule,
        // consecutive years or cap to look back on), so each row stands alone — and a row
        // whose conditions are not met (computed exactly) gets nothing, whatever its amount.
        // The rows are then narrowed step by step: to those in the measure's validity and
        // not after the date judged, then condition by condition to those where it holds
        // (or which could not be computed exactly: the engine takes those), and each next
        // condition, the keys, amounts and caps are computed for the rows left only.
        let alone = self.identity[ty] && matches!(mp.grant, GrantPlan::Amount(..));
        let mut met = Vec::new();
        if alone {
            // Row r is applicant r's. Rows of applicants left to the engine whole, and rows
            // dated outside the measure's validity or after the date judged, get nothing.
            let (from, to) = (day_key(m.valid.0), day_key(m.valid.1));
            let (lo, hi) = self.date_range[ty];
            let every = !self.any_whole
                && day_key(lo) >= from
                && day_key(hi) <= to
                && day_key(hi) <= self.as_of_min;
            if !every {
                let (keys, as_of) = (&self.date_keys[ty][..n], &self.as_of_keys[..n]);
                let whole = &self.whole_engine[..n];
                let mut sel = cx.pool.u32s(n);
                rows_where(n, &mut sel, |base, mask| {
                    let rows = base..base + mask.len();
                    let (keys, as_of, whole) =
                        (&keys[rows.clone()], &as_of[rows.clone()], &whole[rows]);
                    for (i, k) in mask.iter_mut().enumerate() {
                        let d = keys[i];
                        *k = (!whole[i] & (d >= from) & (d <= to) & (d <= as_of[i])) as u8;
                    }
                });
                cx.select(sel);
            }
            // Enum fields tested by table (`kind in [..]`, `region within ..`) first, all in one
            // pass: they are exact (no row of theirs goes to the engine), so their order
            // among the conditions does not change which rows pay.
            let (bits, rest): (Vec<_>, Vec<_>) = mp
                .conditions
                .iter()
                .map(|c| (c, (!cx.selected).then(|| self.member_bits(ty, c)).flatten()))
                .partition(|(_, b)| b.is_some());
            if !bits.is_empty() {
                // Each test as its field and a table of 65 entries (the 64 members, then one
                // for "unknown" and anything past them): one load a test a row.
                let tests: Vec<(&[u32], [u8; 65])> = bits
                    .iter()
                    .map(|(_, b)| {
                        let (col, bits) = b.expect("partitioned");
                        let col: &[u32] = match col {
                            MemberCol::Applicant(s) => self.applicant[s].enum_slice(),
                            MemberCol::Event(f) => self.fields[ty][f].enum_slice(),
                        };
                        let mut lut = [0u8; 65];
                        for (m, x) in lut.iter_mut().take(64).enumerate() {
                            *x = ((bits >> m) & 1) as u8;
                        }
                        (&col[..n], lut)
                    })
                    .collect();
                let mut keep = cx.pool.u32s(n);
                // Each row's mask written once, all its tests at once (one pass per test made
                // each row's byte a read-modify-write in memory per test). The fields and
                // tables are locals over the 64 rows, so the loop keeps them in registers.
                #[inline(always)]
                fn at(col: &[u32], lut: &[u8; 65], i: usize) -> u8 {
                    lut[col[i].min(64) as usize]
                }
                rows_where(n, &mut keep, |base, mask| {
                    let m = mask.len();
                    match tests.as_slice() {
                        [(a, la)] => {
                            let a = &a[base..base + m];
                            for (i, k) in mask.iter_mut().enumerate() {
                                *k = at(a, la, i);
                            }
                        }
                        [(a, la), (b, lb)] => {
                            let (a, b) = (&a[base..base + m], &b[base..base + m]);
                            for (i, k) in mask.iter_mut().enumerate() {
                                *k = at(a, la, i) & at(b, lb, i);
                            }
                        }
                        [(a, la), (b, lb), (c, lc)] => {
                            let (a, b, c) =
                                (&a[base..base + m], &b[base..base + m], &c[base..base + m]);
                            for (i, k) in mask.iter_mut().enumerate() {
                                *k = at(a, la, i) & at(b, lb, i) & at(c, lc, i);
                            }
                        }
                        _ => {
                            for (i, k) in mask.iter_mut().enumerate() {
                                *k = tests
                                    .iter()
                                    .fold(1, |x, (col, lut)| x & at(col, lut, base + i));
                            }
                        }
                    }
                });
                drop(tests);
                cx.select(keep);
            }
            for (c, _) in rest {
                if cx.n == 0 {
                    break;
                }
                if let Some(keep) = cx.holds(self, c) {
                    cx.select(keep);
                }
            }
            if !cx.selected {
                let mut all = cx.pool.u32s(n);
                all.extend(0..n as u32);
                cx.sel = all;
                cx.selected = true;
            }
        } else {
            for i in 0..mp.lets.len() {
                let c = cx.eval(
                    self,
                    &Expr {
                        op: Op::Let(i),
                        ty: Type::Bool,
                    },
                );
                cx.pool.recycle(c);
            }
            // All conditions met, row by row.
            met = vec![true; n];
            for c in &mp.conditions {
                let col = cx.eval(self, c);
                match col.bools() {
                    Some(V::S(v)) => {
                        for (ok, v) in met.iter_mut().zip(v.iter()) {
                            *ok &= *v == B_TRUE;
                        }
                    }
                    Some(V::C(v)) => {
                        if v != B_TRUE {
                            met.fill(false);
                        }
                    }
                    None => {
                        for (r, ok) in met.iter_mut().enumerate() {
                            *ok &= col.get(r) == Cell::Bool(true);
                        }
                    }
                }
                cx.pool.recycle(col);
            }
        }
        let keys: Vec<Vec<(Type, Col)>> = mp
            .once_keys
            .iter()
            .map(|parts| parts.iter().map(|k| (k.ty, cx.eval(self, k))).collect())
            .collect();
        // The engine joins a key's parts with '|': a text part holding '|' could make two
        // different tuples one key. Such rows go to the engine. (No text holds one, mostly:
        // then there is nothing to look for.)
        let pipes = keys.iter().any(|r| r.len() > 1) && self.any_pipe();
        for rule in keys.iter().filter(|r| r.len() > 1 && pipes) {
            for (ty, col) in rule {
                if *ty == Type::Text {
                    for r in 0..cx.n {
                        if let Cell::Text(t) = col.get(r)
                            && self.text(t).contains('|')
                        {
                            let row = cx.row(r);
                            cx.bad.set(row);
                        }
                    }
                }
            }
        }
        let grant: Vec<Col> = match &mp.grant {
            GrantPlan::Amount(e, _) => vec![cx.eval(self, e)],
            GrantPlan::Review(Some((a, b))) => vec![cx.eval(self, a), cx.eval(self, b)],
            GrantPlan::Review(None) => Vec::new(),
            GrantPlan::Parts(parts) => parts.iter().map(|(_, e)| cx.eval(self, e)).collect(),
        };
        let caps: Vec<Col> = mp.caps.iter().map(|(e, _)| cx.eval(self, e)).collect();
        let amount_col = match &mp.grant {
            GrantPlan::Amount(..) => grant[0].nums(),
            _ => None,
        };
        let cap_cols: Option<Vec<V<'_, i128>>> = caps.iter().map(Col::nums).collect();
        let num = |c: Cell| match c {
            Cell::Num(v) => Some(v),
            _ => None,
        };
        // Rows that cannot pay, whatever came before: conditions unmet, outside the measure's
        // validity, after the date judged.
        let (valid_from, valid_to) = m.valid;

        let mut engine = Vec::new();
        if alone && let GrantPlan::Amount(_, kind) = &mp.grant {
            // Row sel[i] is applicant sel[i]'s; its date and conditions were checked in the
            // selection. Column by column: each index's amount, then capped (`NA`: no award),
            // then floored to the fen and the awards written in one pass.
            let k = cx.n;
            let mut xs = cx.pool.nums(k);
            match amount_col {
                Some(V::S(a)) => xs.extend_from_slice(&a[..k]),
                Some(V::C(c)) => xs.resize(k, c),
                None => xs.extend((0..k).map(|i| num(grant[0].get(i)).unwrap_or(NA))),
            }
            if cx.bad.any {
                for (i, x) in xs.iter_mut().enumerate() {
                    let r = cx.sel[i] as usize;
                    if cx.bad[r] {
                        engine.push(r);
                        *x = NA;
                    }
                }
            }
            for (ci, cap) in caps.iter().enumerate() {
                // A cap of nothing left (≤ 0) leaves no award; an unknown cap limits nothing.
                let capped = |x: i128, l: i128| match (x, l) {
                    (NA, _) => NA,
                    (x, NA) => x,
                    (_, l) if l <= 0 => NA,
                    (x, l) => x.min(l),
                };
                match cap_cols.as_ref().map(|cc| cc[ci]) {
                    Some(V::C(l)) => xs.iter_mut().for_each(|x| *x = capped(*x, l)),
                    Some(V::S(ls)) => {
                        for (x, l) in xs.iter_mut().zip(ls) {
                            *x = capped(*x, *l);
                        }
                    }
                    None => {
                        for (i, x) in xs.iter_mut().enumerate() {
                            *x = capped(*x, num(cap.get(i)).unwrap_or(NA));
                        }
                    }
                }
            }
            for (ty, col) in keys.iter().flatten() {
                match (ty, col) {
                    (_, Col::Const(c)) if !keyable(*ty, *c) => xs.fill(NA),
                    (_, Col::Const(_)) => {}
                    (Type::Int, Col::Num(v)) => {
                        for (x, v) in xs.iter_mut().zip(v.iter()) {
                            if *v == NA {
                                *x = NA;
                            }
                        }
                    }
                    (Type::Text | Type::Enum(_), Col::Text(v) | Col::Enum(v)) => {
                        for (x, v) in xs.iter_mut().zip(v.iter()) {
                            if *v == NO_MEMBER {
                                *x = NA;
                            }
                        }
                    }
                    _ => {
                        for (i, x) in xs.iter_mut().enumerate() {
                            if !col.keyable_at(*ty, i) {
                                *x = NA;
                            }
                        }
                    }
                }
            }
            // The amounts in place as whole fen, rounded toward zero as the engine does (0: no
            // award); an award is a whole fen that splits. Which indices pay is found first,
            // then only theirs are written.
            for (x, r) in xs.iter_mut().zip(&cx.sel[..k]) {
                *x = if *x == NA {
                    0
                } else {
                    match to_fen(*x) {
                        Some(f) => f as i128,
                        None => {
                            engine.push(*r as usize);
                            0
                        }
                    }
                };
            }
            let mut paying = cx.pool.u32s(k);
            rows_where(k, &mut paying, |base, mask| {
                let xs = &xs[base..base + mask.len()];
                if mp.fen_splits {
                    // Any i64 of fen is below LIMIT in fixed point: every amount splits.
                    for (p, x) in mask.iter_mut().zip(xs) {
                        *p = (*x != 0) as u8;
                    }
                } else {
                    for (p, x) in mask.iter_mut().zip(xs) {
                        *p = (*x != 0 && mp.split_ok(*x * (ONE / 100))) as u8;
                    }
                }
            });
            let sel: &[u32] = &cx.sel[..k];
            out.set_kind(out.len(), *kind);
            out.row.extend(paying.iter().map(|i| sel[*i as usize]));
            out.amount
                .extend(paying.iter().map(|i| xs[*i as usize] as i64));
            cx.pool.keep_u32s(paying);
            cx.pool.keep_nums(xs);
            self.give_back(cx, grant, caps, keys);
            return engine;
        }
        // (date, amount, row) of this measure's awards to the current applicant; the row gives
        // the award's activity key (its last `once per` rule, as the engine records it).
        let mut running: Vec<(Date, i128, usize)> = Vec::new();
        // The rows of awards whose increment recorded an item.
        let mut items: Vec<usize> = Vec::new();
        let increments = std::mem::take(&mut cx.increments);
        // Each applicant's rows, where one is met or could not be computed: an applicant
        // without either gets nothing (an award is needed before an item can repeat).
        let live = |r: usize| met[r] || cx.bad[r];
        let groups: Vec<(usize, usize)> = if self.identity[ty] {
            (0..n).filter(|r| live(*r)).map(|r| (r, r + 1)).collect()
        } else {
            let rows = &self.rows[ty];
            let mut groups = Vec::new();
            let mut r = 0;
            while r < n {
                let mut e = r + 1;
                while e < n && rows[e].0 == rows[r].0 {
                    e += 1;
                }
                if (r..e).any(live) {
                    groups.push((r, e));
                }
                r = e;
            }
            groups
        };
        for (r, end) in groups {
            let a = self.rows[ty][r].0;
            let ai = a as usize;
            if self.whole_engine[ai] {
                continue;
            }
            if cx.bad.rows[r..end].iter().any(|b| *b) {
                engine.push(ai);
                continue;
            }
            running.clear();
            items.clear();
            let first_award = out.len();
            let as_of = self.as_of[ai];
            let mut to_engine = false;
            for row in r..end {
                // A repeated item is paid on its increment over what was paid before: the
                // columns assumed nothing was, so the engine takes this applicant.
                if let Some(Some((ity, item))) = increments.get(row)
                    && items
                        .iter()
                        .any(|p| increments[*p].is_some_and(|(_, c)| self.key_eq(*ity, *item, c)))
                {
                    to_engine = true;
                    break;
                }
                let date = self.dates[ty][row];
                if !met[row] || date < valid_from || date > valid_to || date > as_of {
                    continue;
                }
                if mp.once_applicant && !running.is_empty() {
                    continue;
                }
                let mut blocked = false;
                for rule in &keys {
                    if rule.iter().any(|(ty, col)| !col.keyable_at(*ty, row)) {
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
                let (kind, mut amount, range) = match &mp.grant {
                    GrantPlan::Amount(_, kind) => {
                        let v = match amount_col {
                            Some(c) => c.at(row),
                            None => num(grant[0].get(row)).unwrap_or(NA),
                        };
                        if v == NA {
                            continue;
                        }
                        (*kind, Some(v), None)
                    }
                    GrantPlan::Review(None) => (AmountKind::Review, None, None),
                    GrantPlan::Review(Some(_)) => {
                        let range = match (num(grant[0].get(row)), num(grant[1].get(row))) {
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
                            match num(grant[pi].get(row)) {
                                Some(v) => {
                                    let fen = floor_fen(v);
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
                        if increments.get(row).is_some_and(Option::is_some) {
                            items.push(row);
                        }
                        out.parts.push((out.len() as u32, split));
                        if !out.push(row, AmountKind::Fixed, total) {
                            to_engine = true;
                            break;
                        }
                        continue;
                    }
                };
                let mut exhausted = false;
                for (ci, (_, period)) in mp.caps.iter().enumerate() {
                    let limit = match &cap_cols {
                        Some(cc) => cc[ci].at(row),
                        None => num(caps[ci].get(row)).unwrap_or(NA),
                    };
                    if limit == NA {
                        continue;
                    }
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
                let amount = amount.map(floor_fen);
                if amount == Some(0) {
                    continue;
                }
                if let Some(x) = amount
                    && !mp.split_ok(x)
                {
                    continue;
                }
                running.push((date, amount.unwrap_or(0), row));
                if increments.get(row).is_some_and(Option::is_some) {
                    items.push(row);
                }
                if let Some(range) = range {
                    out.ranges.push((out.len() as u32, range));
                }
                if !out.push(row, kind, amount.unwrap_or(NA)) {
                    to_engine = true;
                    break;
                }
            }
            if to_engine {
                out.truncate(first_award);
                engine.push(ai);
            }
        }
        self.give_back(cx, grant, caps, keys);
        engine
    }

    /// Returns a measure's column buffers to the batch's pool.
    fn give_back(
        &mut self,
        mut cx: Cx,
        grant: Vec<Col>,
        caps: Vec<Col>,
        keys: Vec<Vec<(Type, Col)>>,
    ) {
        let keys = keys.into_iter().flatten().map(|k| k.1);
        for c in grant
            .into_iter()
            .chain(caps)
            .chain(keys)
            .chain(cx.lets.drain(..).flatten())
        {
            cx.pool.recycle(c);
        }
        let sel = std::mem::take(&mut cx.sel);
        cx.pool.keep_u32s(sel);
        POOL.set(cx.pool);
    }

    /// Some text of the batch or of the plan holds '|' (texts are looked at once each).
    fn any_pipe(&mut self) -> bool {
        if !self.pipe {
            self.pipe = self.texts[self.pipe_checked.min(self.texts.len())..]
                .iter()
                .chain(&self.consts)
                .any(|t| t.contains('|'));
        }
        self.pipe_checked = self.texts.len();
        self.pipe
    }

    fn text(&self, t: u32) -> &str {
        if t & CONST_TEXT != 0 {
            &self.consts[(t & !CONST_TEXT) as usize]
        } else {
            &self.texts[t as usize]
        }
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
        rule_a: &[(Type, Col)],
        a: usize,
        rule_b: &[(Type, Col)],
        b: usize,
    ) -> bool {
        let same_shape =
            rule_a.len() == rule_b.len() && rule_a.iter().zip(rule_b).all(|(x, y)| x.0 == y.0);
        if same_shape {
            rule_a
                .iter()
                .zip(rule_b)
                .all(|((ty, ca), (_, cb))| self.key_eq(*ty, ca.get(a), cb.get(b)))
        } else {
            // Different rules of one measure: compare the texts the engine would build.
            let text = |rule: &[(Type, Col)], r: usize| -> Option<String> {
                let parts: Option<Vec<String>> = rule
                    .iter()
                    .map(|(ty, c)| key_of(lib, self, *ty, c.get(r)))
                    .collect();
                parts.map(|p| p.join("|"))
            };
            let (x, y) = (text(rule_a, a), text(rule_b, b));
            x.is_some() && x == y
        }
    }
}

impl MeasureAwards {
    /// Adds an award of a fixed-point amount (or [`NA`]); `false`, adding nothing, where the
    /// amount does not fit the fen column (the engine then takes the applicant).
    fn push(&mut self, row: usize, kind: AmountKind, amount: i128) -> bool {
        let Some(fen) = to_fen(amount) else {
            return false;
        };
        self.set_kind(self.len(), kind);
        self.row.push(row as u32);
        self.amount.push(fen);
        true
    }
}

impl MeasurePlan {
    /// The split of a whole-fen amount by the measure's shares: in fixed point where the
    /// shares allow it, by `kc_money::allocate` otherwise (`None`: no split, no award).
    fn split(&self, x: i128) -> Option<Vec<(Level, Money)>> {
        if let Some(parts) = self.quick_split(x) {
            return Some(
                self.levels
                    .iter()
                    .copied()
                    .zip(parts.into_iter().map(money_of_fen))
                    .collect(),
            );
        }
        let parts = kc_money::allocate(money_of(x), &self.shares, self.remainder)?;
        Some(self.levels.iter().copied().zip(parts).collect())
    }

    /// The amount splits (see [`MeasurePlan::split`]), checked without building the split.
    fn split_ok(&self, x: i128) -> bool {
        if self.fen_splits && x.abs() < LIMIT {
            return true;
        }
        let quick = self.fixed_shares.as_ref().is_some_and(|fs| {
            fs.iter()
                .all(|s| x.checked_mul(*s).and_then(exact_div_one).is_some())
        });
        quick || kc_money::allocate(money_of(x), &self.shares, self.remainder).is_some()
    }

    fn quick_split(&self, x: i128) -> Option<Vec<i128>> {
        let fs = self.fixed_shares.as_ref()?;
        let mut parts = Vec::with_capacity(fs.len());
        for s in fs {
            parts.push(floor_fen(exact_div_one(x.checked_mul(*s)?)?));
        }
        let given: i128 = parts.iter().sum();
        parts[self.remainder] += x - given;
        Some(parts)
    }
}

/// The indices `0..n` whose mask byte is 1, in order, into `out` (cleared first). `fill`
/// writes the mask of 64 indices at a time (`fill(base, mask)`: 0 or 1 for `base..base +
/// mask.len()`), so that its loop has no dependence from one index to the next and the
/// processor overlaps the loads; only the indices kept are then written, one per set bit.
/// (A loop writing every index and moving a count on for the kept ones carries the count
/// from each index to the next: it was the hottest loop of the calculation.)
#[inline]
fn rows_where(n: usize, out: &mut Vec<u32>, mut fill: impl FnMut(usize, &mut [u8])) {
    out.clear();
    let mut mask = [0u8; 64];
    let mut base = 0;
    while base < n {
        let m = (n - base).min(64);
        let mask = &mut mask[..m];
        fill(base, mask);
        // Eight mask bytes at a time into eight bits: byte i's low bit lands on bit 56 + i
        // of the product, and no two partial products meet (no carry).
        let mut bits = 0u64;
        for (c, chunk) in mask.chunks(8).enumerate() {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            let x = u64::from_le_bytes(b) & 0x0101_0101_0101_0101;
            bits |= (x.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * c);
        }
        while bits != 0 {
            out.push(base as u32 + bits.trailing_zeros());
            bits &= bits - 1;
        }
        base += m;
    }
}

/// `out` = `v[sel[0]], v[sel[1]], …` (`out` empty on entry). Over plain slices, so that the
/// loop keeps its addresses in registers.
#[inline]
fn gather<T: Copy + Default>(out: &mut Vec<T>, v: &[T], sel: &[u32]) {
    out.resize(sel.len(), T::default());
    for (o, r) in out.iter_mut().zip(sel) {
        *o = v[*r as usize];
    }
}

/// Column buffers of finished operations, for the next ones: a slice's columns are
/// allocated once, not per operation (freeing them returned memory to the system, and taking
/// it again cost a page fault per page).
#[derive(Default)]
struct Pool {
    nums: Vec<Vec<i128>>,
    u8s: Vec<Vec<u8>>,
    u32s: Vec<Vec<u32>>,
}

thread_local! {
    /// Each thread's buffers, from one measure and one slice to the next.
    static POOL: std::cell::Cell<Pool> = std::cell::Cell::new(Pool::default());
}

/// The column buffers this thread's pool holds (for tests: the pool stays bounded however
/// many batches a thread evaluates).
pub fn pooled_buffers() -> usize {
    let pool = POOL.take();
    let n = pool.nums.len() + pool.u8s.len() + pool.u32s.len();
    POOL.set(pool);
    n
}

/// Buffers a pool keeps of each kind: a measure uses a handful at once; the rest are freed
/// (buffers made outside the pool come back to it too, and would pile up without a bound).
const POOL_KEEPS: usize = 32;

impl Pool {
    fn keep_nums(&mut self, v: Vec<i128>) {
        if self.nums.len() < POOL_KEEPS {
            self.nums.push(v);
        }
    }

    fn keep_u8s(&mut self, v: Vec<u8>) {
        if self.u8s.len() < POOL_KEEPS {
            self.u8s.push(v);
        }
    }

    fn keep_u32s(&mut self, v: Vec<u32>) {
        if self.u32s.len() < POOL_KEEPS {
            self.u32s.push(v);
        }
    }

    fn nums(&mut self, n: usize) -> Vec<i128> {
        let mut v = self.nums.pop().unwrap_or_default();
        v.clear();
        v.reserve(n);
        v
    }

    fn u32s(&mut self, n: usize) -> Vec<u32> {
        let mut v = self.u32s.pop().unwrap_or_default();
        v.clear();
        v.reserve(n);
        v
    }

    /// The rows `sel` of a column, in pooled buffers.
    fn select(&mut self, c: &Col, sel: &[u32]) -> Col {
        match c {
            Col::Const(c) => Col::Const(*c),
            Col::Num(v) => {
                let mut out = self.nums(sel.len());
                gather(&mut out, v, sel);
                Col::Num(Rc::new(out))
            }
            Col::Bool(v) => {
                let mut out = self.u8s(sel.len());
                gather(&mut out, v, sel);
                Col::Bool(Rc::new(out))
            }
            Col::Enum(v) => {
                let mut out = self.u32s(sel.len());
                gather(&mut out, v, sel);
                Col::Enum(Rc::new(out))
            }
            Col::Text(v) => {
                let mut out = self.u32s(sel.len());
                gather(&mut out, v, sel);
                Col::Text(Rc::new(out))
            }
            Col::Cells(_) => c.select(sel),
        }
    }

    fn u8s(&mut self, n: usize) -> Vec<u8> {
        let mut v = self.u8s.pop().unwrap_or_default();
        v.clear();
        v.reserve(n);
        v
    }

    /// Keeps the buffer of a column no one else holds.
    fn recycle(&mut self, c: Col) {
        match c {
            Col::Num(v) => {
                if let Ok(v) = Rc::try_unwrap(v) {
                    self.keep_nums(v);
                }
            }
            Col::Bool(v) => {
                if let Ok(v) = Rc::try_unwrap(v) {
                    self.keep_u8s(v);
                }
            }
            Col::Enum(v) | Col::Text(v) => {
                if let Ok(v) = Rc::try_unwrap(v) {
                    self.keep_u32s(v);
                }
            }
            _ => {}
        }
    }
}

/// Rows whose value the plan could not compute exactly, and whether there is any (most
/// slices have none: the flag spares a scan of every row).
struct BadRows {
    rows: Vec<bool>,
    any: bool,
}

impl BadRows {
    #[inline]
    fn set(&mut self, r: usize) {
        self.rows[r] = true;
        self.any = true;
    }

    fn fill_all(&mut self) {
        self.rows.fill(true);
        self.any = true;
    }
}

impl std::ops::Index<usize> for BadRows {
    type Output = bool;
    #[inline]
    fn index(&self, r: usize) -> &bool {
        &self.rows[r]
    }
}

/// One measure's evaluation over the rows of its event type.
struct Cx<'p, 'l> {
    pool: Pool,
    /// When `selected`, the columns hold only these rows (column index i is row `sel[i]`);
    /// `bad` and `increments` stay by row.
    selected: bool,
    sel: Vec<u32>,
    plan: &'p Plan<'l>,
    ty: usize,
    n: usize,
    /// Rows whose value the plan could not compute exactly.
    bad: BadRows,
    /// The measure's lets, each computed when first read, for the rows evaluated then.
    let_exprs: &'p [Expr],
    lets: Vec<Option<Col>>,
    /// Per row, the item of the first increment computed (its key type and cell); empty
    /// until a measure computes one.
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

fn cmp_op(op: BinOp, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        BinOp::Eq => o == Equal,
        BinOp::Ne => o != Equal,
        BinOp::Lt => o == Less,
        BinOp::Le => o != Greater,
        BinOp::Gt => o == Greater,
        _ => o != Less,
    }
}

impl Cx<'_, '_> {
    /// The row of column index `i`.
    #[inline]
    fn row(&self, i: usize) -> usize {
        if self.selected {
            self.sel[i] as usize
        } else {
            i
        }
    }

    /// Computes the next columns for the column indices `keep` of the rows evaluated so far
    /// only (before any selection, indices are rows).
    fn select(&mut self, keep: Vec<u32>) {
        let lets = std::mem::take(&mut self.lets);
        self.lets = lets
            .iter()
            .map(|c| c.as_ref().map(|c| self.pool.select(c, &keep)))
            .collect();
        for c in lets.into_iter().flatten() {
            self.pool.recycle(c);
        }
        self.n = keep.len();
        if self.selected {
            let mut sel = self.pool.u32s(keep.len());
            sel.extend(keep.iter().map(|i| self.sel[*i as usize]));
            let old = std::mem::replace(&mut self.sel, sel);
            self.pool.keep_u32s(old);
            self.pool.keep_u32s(keep);
        } else {
            self.sel = keep;
        }
        self.selected = true;
    }

    /// The column indices whose condition `c` holds, or whose row could not be computed
    /// exactly (the engine will take those). `None`: every index does.
    fn holds(&mut self, b: &mut Batch, c: &Expr) -> Option<Vec<u32>> {
        let any_bad = self.bad.any;
        let lib = self.plan.lib;
        let mut keep = self.pool.u32s(self.n);
        let n = self.n;
        // An enum field tested by table, read in place: no column of the test is made.
        if let Op::EnumTest(x, t) = &c.op
            && !any_bad
        {
            let field = match x.op {
                Op::EventField(f) => Some(&b.fields[self.ty][f]),
                Op::ApplicantField(s) if b.identity[self.ty] => Some(&b.applicant[s]),
                _ => None,
            };
            if let Some(Col::Enum(v)) = field {
                let at = |m: u32| match t.table.get(m as usize) {
                    Some(x) => *x,
                    None => t.at(lib, m),
                };
                let v: &[u32] = v;
                if self.selected {
                    let sel: &[u32] = &self.sel;
                    rows_where(n, &mut keep, |base, mask| {
                        for (k, r) in mask.iter_mut().zip(&sel[base..]) {
                            *k = (at(v[*r as usize]) == B_TRUE) as u8;
                        }
                    });
                } else {
                    rows_where(n, &mut keep, |base, mask| {
                        for (k, m) in mask.iter_mut().zip(&v[base..]) {
                            *k = (at(*m) == B_TRUE) as u8;
                        }
                    });
                }
                return (keep.len() < n).then_some(keep);
            }
        }
        let col = self.eval(b, c);
        let any_bad = self.bad.any;
        match col.bools() {
            Some(V::C(v)) if v == B_TRUE => {
                self.pool.recycle(col);
                self.pool.keep_u32s(keep);
                return None;
            }
            Some(V::C(_)) if !any_bad => {}
            Some(V::S(v)) if !any_bad => {
                rows_where(n, &mut keep, |base, mask| {
                    for (k, x) in mask.iter_mut().zip(&v[base..]) {
                        *k = (*x == B_TRUE) as u8;
                    }
                });
            }
            _ => {
                rows_where(n, &mut keep, |base, mask| {
                    for (i, k) in mask.iter_mut().enumerate() {
                        let i = base + i;
                        *k = (col.get(i) == Cell::Bool(true) || self.bad[self.row(i)]) as u8;
                    }
                });
            }
        }
        self.pool.recycle(col);
        (keep.len() < n).then_some(keep)
    }

    /// A column of the batch (every row of the type), for the rows evaluated.
    fn leaf(&mut self, c: &Col) -> Col {
        if self.selected {
            let sel = std::mem::take(&mut self.sel);
            let out = self.pool.select(c, &sel);
            self.sel = sel;
            out
        } else {
            c.clone()
        }
    }

    /// A column of `e`: the common operations on typed columns, the rest cell by cell.
    fn eval(&mut self, b: &mut Batch, e: &Expr) -> Col {
        let n = self.n;
        let lib = self.plan.lib;
        match &e.op {
            Op::Unknown => Col::Const(Cell::Unknown),
            Op::Const(c) => Col::Const(*c),
            Op::Param(p) => self.param(b, *p, e.ty),
            Op::EventField(f) => self.leaf(&b.fields[self.ty][*f]),
            Op::EventDate => {
                let dates = &b.dates[self.ty];
                let c = b.date_cells[self.ty].get_or_init(|| {
                    Col::Cells(Rc::new(dates.iter().map(|d| Cell::Date(*d)).collect()))
                });
                self.leaf(c)
            }
            Op::ApplicantField(s) if self.selected && b.identity[self.ty] => {
                // Row r is applicant r's.
                self.leaf(&b.applicant[*s])
            }
            Op::ApplicantField(s) => {
                let c = b.applicant_col(self.ty, *s);
                if self.selected { self.leaf(&c) } else { c }
            }
            Op::Let(i) => {
                if let Some(Some(c)) = self.lets.get(*i) {
                    return c.clone();
                }
                let exprs = self.let_exprs;
                let Some(x) = exprs.get(*i) else {
                    return Col::Const(Cell::Unknown);
                };
                let c = self.eval(b, x);
                self.lets[*i] = Some(c.clone());
                c
            }
            Op::Not(x) => {
                let c = self.eval(b, x);
                let Some(v) = c.bools() else {
                    return self.generic(b, e);
                };
                let mut out = self.pool.u8s(n);
                out.extend((0..n).map(|r| B_TRUE - v.at(r)));
                self.pool.recycle(c);
                Col::Bool(Rc::new(out))
            }
            Op::And(x, y) | Op::Or(x, y) => {
                let (p, q) = (self.eval(b, x), self.eval(b, y));
                let (Some(u), Some(v)) = (p.bools(), q.bools()) else {
                    return self.generic(b, e);
                };
                let mut out = self.pool.u8s(n);
                let and = matches!(e.op, Op::And(..));
                match (u, v, and) {
                    (V::S(u), V::S(v), true) => out.extend(u.iter().zip(v).map(|(a, c)| *a.min(c))),
                    (V::S(u), V::S(v), false) => {
                        out.extend(u.iter().zip(v).map(|(a, c)| *a.max(c)))
                    }
                    (u, v, true) => out.extend((0..n).map(|r| u.at(r).min(v.at(r)))),
                    (u, v, false) => out.extend((0..n).map(|r| u.at(r).max(v.at(r)))),
                }
                self.pool.recycle(p);
                self.pool.recycle(q);
                Col::Bool(Rc::new(out))
            }
            Op::Cmp(op, x, y) if is_number(x.ty) => {
                let (p, q) = (self.eval(b, x), self.eval(b, y));
                let (Some(u), Some(v)) = (p.nums(), q.nums()) else {
                    return self.generic(b, e);
                };
                let mut out = self.pool.u8s(n);
                out.extend((0..n).map(|r| {
                    let (u, v) = (u.at(r), v.at(r));
                    if u == NA || v == NA {
                        B_UNKNOWN
                    } else if cmp_op(*op, u.cmp(&v)) {
                        B_TRUE
                    } else {
                        B_FALSE
                    }
                }));
                self.pool.recycle(p);
                self.pool.recycle(q);
                Col::Bool(Rc::new(out))
            }
            Op::Arith(op, x, y) => {
                let (tx, ty) = (x.ty, y.ty);
                let (p, q) = (self.eval(b, x), self.eval(b, y));
                let (Some(u), Some(v)) = (p.nums(), q.nums()) else {
                    return self.generic(b, e);
                };
                let mut out = self.pool.nums(n);
                let bad = &mut self.bad;
                let sel = self.selected.then_some(&self.sel[..]);
                let mut one = |r: usize, x: Exact| match x {
                    Exact::Value(c) => c,
                    Exact::Unknown => NA,
                    Exact::Inexact => {
                        bad.set(sel.map_or(r, |s| s[r] as usize));
                        NA
                    }
                };
                match (arith_kind(*op, tx, ty), u, v) {
                    // Rate × money by a constant rate (the common product), in its own loop.
                    (ArithKind::Scaled, V::C(c), V::S(s))
                    | (ArithKind::Scaled, V::S(s), V::C(c))
                        if c != NA =>
                    {
                        out.extend(s.iter().enumerate().map(|(r, x)| {
                            if *x == NA {
                                NA
                            } else {
                                one(r, mul_scaled(*x, c))
                            }
                        }))
                    }
                    (ArithKind::Scaled, u, v) => out.extend((0..n).map(|r| {
                        let (x, y) = (u.at(r), v.at(r));
                        if x == NA || y == NA {
                            NA
                        } else {
                            one(r, mul_scaled(x, y))
                        }
                    })),
                    (ArithKind::Other, u, v) => out.extend((0..n).map(|r| {
                        let (x, y) = (u.at(r), v.at(r));
                        if x == NA || y == NA {
                            NA
                        } else {
                            one(r, arith(*op, tx, ty, x, y))
                        }
                    })),
                }
                self.pool.recycle(p);
                self.pool.recycle(q);
                Col::Num(Rc::new(out))
            }
            Op::Min(xs) | Op::Max(xs) if is_number(e.ty) => {
                let cols: Vec<Col> = xs.iter().map(|x| self.eval(b, x)).collect();
                let Some(vs) = cols.iter().map(Col::nums).collect::<Option<Vec<_>>>() else {
                    return self.generic(b, e);
                };
                let is_min = matches!(e.op, Op::Min(_));
                let mut out = self.pool.nums(n);
                match (vs.as_slice(), is_min) {
                    // Two operands (`min(rate × x, cap)`): no loop over the operands.
                    ([u, v], true) => out.extend((0..n).map(|r| {
                        let (x, y) = (u.at(r), v.at(r));
                        if x == NA || y == NA { NA } else { x.min(y) }
                    })),
                    ([u, v], false) => out.extend((0..n).map(|r| {
                        let (x, y) = (u.at(r), v.at(r));
                        if x == NA || y == NA { NA } else { x.max(y) }
                    })),
                    _ => out.extend((0..n).map(|r| {
                        let mut best: Option<i128> = None;
                        for v in &vs {
                            let x = v.at(r);
                            if x == NA {
                                return NA;
                            }
                            best = Some(match best {
                                None => x,
                                Some(b) if is_min => b.min(x),
                                Some(b) => b.max(x),
                            });
                        }
                        best.unwrap_or(NA)
                    })),
                }
                drop(vs);
                for c in cols {
                    self.pool.recycle(c);
                }
                Col::Num(Rc::new(out))
            }
            Op::EnumTest(x, t) => {
                let c = self.eval(b, x);
                let mut out = self.pool.u8s(n);
                match c.enums() {
                    Some(V::S(s)) => out.extend(s.iter().map(|m| t.at(lib, *m))),
                    Some(V::C(m)) => out.resize(n, t.at(lib, m)),
                    None => out.extend((0..n).map(|r| t.at_cell(lib, c.get(r)))),
                }
                self.pool.recycle(c);
                Col::Bool(Rc::new(out))
            }
            Op::Tier(s, arms)
                if matches!(s.ty, Type::Enum(_))
                    && is_number(e.ty)
                    && arms.iter().all(|(p, _)| {
                        matches!(p, Pattern::Any | Pattern::Never | Pattern::Members(_))
                    }) =>
            {
                let sc = self.eval(b, s);
                let values: Vec<Col> = arms.iter().map(|(_, v)| self.eval(b, v)).collect();
                let (Some(sv), Some(vs)) = (
                    sc.enums(),
                    values.iter().map(Col::nums).collect::<Option<Vec<_>>>(),
                ) else {
                    return self.generic(b, e);
                };
                let mut out = self.pool.nums(n);
                // Constant arms over an enum column (the common tier): each member's value by
                // table, built here for the members of the enum.
                if let (Type::Enum(en), V::S(members)) = (s.ty, sv)
                    && let Some(consts) = vs
                        .iter()
                        .map(|v| match v {
                            V::C(c) => Some(*c),
                            V::S(_) => None,
                        })
                        .collect::<Option<Vec<i128>>>()
                {
                    let table: Vec<i128> = (0..lib.vocab.enums[en].members.len() as u32)
                        .map(|x| {
                            arms.iter()
                                .zip(&consts)
                                .find(|((p, _), _)| match p {
                                    Pattern::Any => true,
                                    Pattern::Members(ms) => ms.contains(&x),
                                    _ => false,
                                })
                                .map_or(NA, |(_, v)| *v)
                        })
                        .collect();
                    out.extend(
                        members[..n]
                            .iter()
                            .map(|m| table.get(*m as usize).copied().unwrap_or(NA)),
                    );
                    drop(vs);
                    self.pool.recycle(sc);
                    for c in values {
                        self.pool.recycle(c);
                    }
                    return Col::Num(Rc::new(out));
                }
                out.extend((0..n).map(|r| {
                    let x = sv.at(r);
                    if x == NO_MEMBER {
                        return NA;
                    }
                    for ((p, _), v) in arms.iter().zip(&vs) {
                        let hit = match p {
                            Pattern::Any => true,
                            Pattern::Members(ms) => ms.contains(&x),
                            _ => false,
                        };
                        if hit {
                            return v.at(r);
                        }
                    }
                    NA
                }));
                drop(vs);
                self.pool.recycle(sc);
                for c in values {
                    self.pool.recycle(c);
                }
                Col::Num(Rc::new(out))
            }
            Op::Increment(x, k) => {
                let kty = k.ty;
                let (amounts, keys) = (self.eval(b, x), self.eval(b, k));
                let Some(av) = amounts.nums() else {
                    return self.generic(b, e);
                };
                // One row per applicant: no item can come twice, nothing to record.
                let record = !b.identity[self.ty];
                if record && self.increments.is_empty() {
                    self.increments = vec![None; b.rows[self.ty].len()];
                }
                let mut out = self.pool.nums(n);
                let increments = &mut self.increments;
                let sel = self.selected.then_some(&self.sel[..]);
                out.extend((0..n).map(|r| {
                    let v = av.at(r);
                    if v == NA || !keys.keyable_at(kty, r) {
                        return NA;
                    }
                    let row = sel.map_or(r, |s| s[r] as usize);
                    if record && increments[row].is_none() {
                        increments[row] = Some((kty, keys.get(r)));
                    }
                    // Nothing paid before for the item (see run_measure): the whole amount.
                    v.max(0)
                }));
                self.pool.recycle(amounts);
                self.pool.recycle(keys);
                Col::Num(Rc::new(out))
            }
            _ => self.generic(b, e),
        }
    }

    /// A parameter's column: one value for the slice when every row's date falls in one of its
    /// value periods (the common case), else looked up row by row.
    fn param(&mut self, b: &Batch, p: usize, ty: Type) -> Col {
        let values = &self.plan.params[p];
        let (lo, hi) = b.date_range[self.ty];
        let i = values.partition_point(|(d, _)| *d <= lo);
        if i == values.partition_point(|(d, _)| *d <= hi) {
            if i == 0 {
                return Col::Const(Cell::Unknown);
            }
            return match values[i - 1].1 {
                Some(c) => Col::Const(c),
                None => {
                    self.bad.fill_all();
                    Col::Const(Cell::Unknown)
                }
            };
        }
        let cells = (0..self.n)
            .map(|r| {
                let row = self.row(r);
                let date = &b.dates[self.ty][row];
                let i = values.partition_point(|(d, _)| d <= date);
                if i == 0 {
                    Cell::Unknown
                } else {
                    values[i - 1].1.unwrap_or_else(|| {
                        self.bad.set(row);
                        Cell::Unknown
                    })
                }
            })
            .collect();
        Col::of_cells(ty, cells)
    }

    fn cells(&mut self, b: &mut Batch, e: &Expr) -> Vec<Cell> {
        let n = self.n;
        self.eval(b, e).cells(n)
    }

    /// Evaluates `e` cell by cell (operations without a typed form, or operands whose
    /// cells do not fit their type).
    fn generic(&mut self, b: &mut Batch, e: &Expr) -> Col {
        let cells = self.generic_cells(b, e);
        Col::of_cells(e.ty, cells)
    }
    fn generic_cells(&mut self, b: &mut Batch, e: &Expr) -> Vec<Cell> {
        let n = self.n;
        let lib = self.plan.lib;
        match &e.op {
            Op::Unknown
            | Op::Const(_)
            | Op::Param(_)
            | Op::EventField(_)
            | Op::EventDate
            | Op::ApplicantField(_)
            | Op::Let(_)
            | Op::EnumTest(..) => self.eval(b, e).cells(n),
            Op::EventId => {
                let ty = self.ty;
                (0..n)
                    .map(|r| {
                        let (a, ei) = b.rows[ty][self.row(r)];
                        b.texts
                            .push(b.inputs[a as usize].events[ei as usize].id.clone());
                        Cell::Text((b.texts.len() - 1) as u32)
                    })
                    .collect()
            }
            Op::Neg(x) => {
                let ty = x.ty;
                let col = self.cells(b, x);
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
                .cells(b, x)
                .into_iter()
                .map(|c| match c {
                    Cell::Bool(v) => Cell::Bool(!v),
                    _ => Cell::Unknown,
                })
                .collect(),
            Op::And(x, y) | Op::Or(x, y) => {
                let and = matches!(e.op, Op::And(..));
                let (cx_, cy) = (self.cells(b, x), self.cells(b, y));
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
                let (p, q) = (self.cells(b, x), self.cells(b, y));
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
                let (p, q) = (self.cells(b, x), self.cells(b, y));
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
                            let row = self.row(r);
                            self.bad.set(row);
                            Cell::Unknown
                        }
                    });
                }
                out
            }
            Op::In(x, items) => {
                let ty = x.ty;
                let p = self.cells(b, x);
                let cols: Vec<(Type, Vec<Cell>)> =
                    items.iter().map(|i| (i.ty, self.cells(b, i))).collect();
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
                let (p, q) = (self.cells(b, x), self.cells(b, y));
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
                let cols: Vec<Vec<Cell>> = xs.iter().map(|x| self.cells(b, x)).collect();
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
                .cells(b, x)
                .into_iter()
                .map(|c| match c {
                    Cell::Date(d) => Cell::Num(d.year() as i128),
                    _ => Cell::Unknown,
                })
                .collect(),
            Op::Holds(c, d) => {
                let certs = self.cells(b, c);
                let at = match d {
                    Some(d) => self.cells(b, d),
                    None => self.cells(
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
                            let a = b.rows[ty][self.row(r)].0 as usize;
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
                let years = self.cells(b, y);
                let ty = self.ty;
                let mut out = Vec::with_capacity(n);
                for (r, yc) in years.into_iter().enumerate() {
                    let Cell::Num(year) = yc else {
                        out.push(Cell::Unknown);
                        continue;
                    };
                    let a = b.rows[ty][self.row(r)].0 as usize;
                    let found = b.inputs[a]
                        .applicant
                        .figures
                        .iter()
                        .find(|(fid, yy, _)| fid == f && *yy as i128 == year)
                        .map(|(_, _, v)| v.clone());
                    out.push(match found {
                        None => Cell::Unknown,
                        Some(v) => const_cell(&v, &mut b.texts, 0).unwrap_or_else(|| {
                            let row = self.row(r);
                            self.bad.set(row);
                            Cell::Unknown
                        }),
                    });
                }
                out
            }
            Op::Increment(x, k) => {
                let kty = k.ty;
                if self.increments.is_empty() {
                    self.increments = vec![None; b.rows[self.ty].len()];
                }
                let (amounts, keys) = (self.cells(b, x), self.cells(b, k));
                (0..n)
                    .map(|r| {
                        let Cell::Num(v) = amounts[r] else {
                            return Cell::Unknown;
                        };
                        if !keyable(kty, keys[r]) {
                            return Cell::Unknown;
                        }
                        let row = self.row(r);
                        if self.increments[row].is_none() {
                            self.increments[row] = Some((kty, keys[r]));
                        }
                        // Nothing paid before for the item (see run_measure): the whole amount.
                        Cell::Num(v.max(0))
                    })
                    .collect()
            }
            Op::Key(parts) => {
                let cols: Vec<(Type, Vec<Cell>)> =
                    parts.iter().map(|p| (p.ty, self.cells(b, p))).collect();
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
                let sc = self.cells(b, s);
                let values: Vec<Vec<Cell>> = arms.iter().map(|(_, v)| self.cells(b, v)).collect();
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
#[inline]
fn mul_scaled(a: i128, b: i128) -> Exact {
    // Operands within i64 (most: a rate, money below 9·10⁸ yuan) cannot overflow: one
    // 64×64→128 multiplication instead of a checked 128-bit one.
    let p = match (i64::try_from(a), i64::try_from(b)) {
        (Ok(x), Ok(y)) => Some(x as i128 * y as i128),
        _ => a.checked_mul(b),
    };
    match p.and_then(exact_div_one) {
        Some(p) => scaled(Some(p)),
        None => Exact::Inexact,
    }
}

fn int(v: i128) -> Exact {
    match i64::try_from(v) {
        Ok(_) => Exact::Value(v),
        Err(_) => Exact::Unknown,
    }
}

#[derive(PartialEq)]
enum ArithKind {
    /// A product of two scaled values ([`mul_scaled`]).
    Scaled,
    Other,
}

fn arith_kind(op: BinOp, tx: Type, ty: Type) -> ArithKind {
    use Type::*;
    match (op, tx, ty) {
        (BinOp::Mul, Rate, Money) | (BinOp::Mul, Money, Rate) | (BinOp::Mul, Rate, Rate) => {
            ArithKind::Scaled
        }
        _ => ArithKind::Other,
    }
}

/// kc_eval's `arith` on fixed-point operands of static types `tx`, `ty`.
#[inline]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The indices kept are those whose mask byte is 1, for any length (whole and partial
    /// groups of 8 and of 64).
    #[test]
    fn rows_where_keeps_the_indices_whose_mask_is_set() {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for n in [0, 1, 7, 8, 9, 63, 64, 65, 127, 130, 1000] {
            for density in [0, 1, 3, 8] {
                let keep: Vec<bool> = (0..n)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        state % 8 < density
                    })
                    .collect();
                let mut out = vec![7, 7];
                rows_where(n, &mut out, |base, mask| {
                    for (i, k) in mask.iter_mut().enumerate() {
                        *k = keep[base + i] as u8;
                    }
                });
                let expected: Vec<u32> = (0..n as u32).filter(|i| keep[*i as usize]).collect();
                assert_eq!(out, expected, "n = {n}, density {density}/8");
            }
        }
    }

    /// Award columns stay narrow while their values fit and widen, keeping every value, at
    /// the first that does not; review's "no amount" survives both forms.
    #[test]
    fn a_packed_column_widens_without_losing_a_value() {
        let mut fen: Packed<i32, i64> = Packed::default();
        fen.extend([150_000, NO_FEN, -7].into_iter());
        assert!(fen.wide.is_none());
        // i32::MIN itself is not a narrow amount: it stands for NO_FEN there.
        fen.push(i32::MIN as i64);
        assert!(fen.wide.is_some() && fen.narrow.is_empty());
        fen.extend([1_i64 << 40, 3].into_iter());
        assert_eq!(
            fen.iter().collect::<Vec<_>>(),
            vec![150_000, NO_FEN, -7, i32::MIN as i64, 1 << 40, 3]
        );
        // Widening in the middle of an extension keeps the order.
        let mut fen: Packed<i32, i64> = Packed::default();
        fen.extend([1, 2_147_483_648, 3, NO_FEN].into_iter());
        assert_eq!(
            fen.iter().collect::<Vec<_>>(),
            vec![1, 2_147_483_648, 3, NO_FEN]
        );
        fen.truncate(2);
        assert_eq!(fen.iter().collect::<Vec<_>>(), vec![1, 2_147_483_648]);
        let mut rows: Packed<u16, u32> = Packed::default();
        rows.extend([0, 65_535].into_iter());
        assert!(rows.wide.is_none());
        rows.push(65_536);
        assert_eq!(rows.iter().collect::<Vec<_>>(), vec![0, 65_535, 65_536]);
    }

    /// A column laid out typed keeps its cells; a value that does not fit the field's type
    /// turns it into cells without losing those before it.
    #[test]
    fn a_column_falls_back_to_cells_when_a_value_does_not_fit_its_type() {
        let mut b = ColBuilder::new(Type::Money, 4);
        b.push(Type::Money, Cell::Num(150 * ONE));
        b.push(Type::Money, Cell::Unknown);
        match b.finish() {
            Col::Num(v) => assert_eq!(*v, vec![150 * ONE, NA]),
            other => panic!("expected numbers, got {other:?}"),
        }
        let mut b = ColBuilder::new(Type::Money, 4);
        b.push(Type::Money, Cell::Num(150 * ONE));
        b.push(Type::Money, Cell::Unknown);
        b.push(Type::Money, Cell::Bool(true));
        b.push(Type::Money, Cell::Num(2 * ONE));
        match b.finish() {
            Col::Cells(v) => assert_eq!(
                *v,
                vec![
                    Cell::Num(150 * ONE),
                    Cell::Unknown,
                    Cell::Bool(true),
                    Cell::Num(2 * ONE)
                ]
            ),
            other => panic!("expected cells, got {other:?}"),
        }
        let mut b = ColBuilder::new(Type::Bool, 2);
        b.push(Type::Bool, Cell::Bool(false));
        b.push(Type::Bool, Cell::Unknown);
        match b.finish() {
            Col::Bool(v) => assert_eq!(*v, vec![B_FALSE, B_UNKNOWN]),
            other => panic!("expected booleans, got {other:?}"),
        }
    }
}

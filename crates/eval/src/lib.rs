//! The engine: a checked [`Library`], one applicant's facts, its events, its history of earlier
//! awards and an as-of date → for every measure, an award with its trace, or the conditions
//! that are not met or not known.
//!
//! Decisions that shape everything here:
//! - **Three-valued logic.** A fact the input does not give is `Unknown`, never `false`: a
//!   measure whose only open conditions are unknown is *possible*, which is what an
//!   eligibility checker must say ("possible, if …"), and not a refusal.
//! - **Exact money, one rounding.** Formulas run on exact decimals; the award is rounded down
//!   to the fen once, after caps, and the split gives the remainder to a named level
//!   (see `kc_money::allocate`). Each rounding that changes a value shows in the trace.
//! - **History is data.** Once-only rules, per-year and cumulative caps and increments read the
//!   prior awards passed in, plus the awards made earlier in the same evaluation (events are
//!   processed in date order), so two events in one input cannot both use the same headroom.
//! - **No IO, no clock.** The as-of date is an argument; the engine never reads the time.
//!
//! Every evaluation walks pre-resolved slots: no name lookup, no parsing.

mod claim;
pub mod plain;
mod render;

pub use claim::{Claimable, Refusal, claimable};

use jiff::civil::Date;
use kc_check::ir::*;
use kc_money::{Money, Rate};
use kc_syntax::ast::{BinOp, CapPeriod, Level};

pub use render::{describe_value, describe_value_in};

/// The applicant: its record fields by vocabulary slot, certifications and yearly figures.
#[derive(Clone, Debug)]
pub struct Applicant {
    pub id: String,
    pub name: String,
    /// One value per field of the vocabulary's `applicant` record; `Unknown` where not given.
    pub fields: Vec<Value>,
    pub certifications: Vec<(MemberId, Date)>,
    /// (figure, year) → value.
    pub figures: Vec<(FigureId, i64, Value)>,
}

#[derive(Clone, Debug)]
pub struct Event {
    pub id: String,
    pub kind: EventTypeId,
    pub date: Date,
    /// One value per field of the event's declaration; `Unknown` where not given.
    pub fields: Vec<Value>,
}

/// An award the applicant already received (from the ledger, or passed in).
#[derive(Clone, Debug, PartialEq)]
pub struct PriorAward {
    pub measure: String,
    pub date: Date,
    pub amount: Money,
    /// The key of a `once per …` rule, e.g. the technology-transfer activity.
    pub activity: Option<String>,
    /// The item of an `increment(…)`, e.g. the transferred technology.
    pub item: Option<String>,
    /// The full amount the increment was computed on (e.g. the transfer price).
    pub base: Option<Money>,
}

#[derive(Clone, Debug)]
pub struct Input {
    pub as_of: Date,
    pub applicant: Applicant,
    pub events: Vec<Event>,
    pub history: Vec<PriorAward>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every condition is met: an award.
    Awarded,
    /// At least one condition is not met.
    NotMet,
    /// No condition fails, but some facts are not given.
    Possible,
    /// No event of the measure's kind yet: what the applicant could get if one happened.
    Potential,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Awarded => "awarded",
            Status::NotMet => "not_met",
            Status::Possible => "possible",
            Status::Potential => "potential",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Status::Awarded => "符合",
            Status::NotMet => "不符合",
            Status::Possible => "可能符合",
            Status::Potential => "可争取",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tri {
    Met,
    NotMet,
    Unknown,
}

impl Tri {
    pub fn code(self) -> &'static str {
        match self {
            Tri::Met => "met",
            Tri::NotMet => "not_met",
            Tri::Unknown => "unknown",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Tri::Met => "满足",
            Tri::NotMet => "不满足",
            Tri::Unknown => "未知",
        }
    }
}

/// The values of the facts a condition read; inline for the usual one or two.
pub type Facts = smallvec::SmallVec<[Value; 2]>;

/// One checked condition: what was checked and the facts it read, kept as data. Words are
/// made only when someone reads them ([`ConditionResult::describe`]), so an evaluation of
/// the whole library allocates almost nothing for the measures an applicant does not meet.
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionResult {
    pub check: Check,
    pub status: Tri,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    /// The event falls inside the measure's validity window.
    Validity {
        from: Date,
        to: Date,
        date: Date,
    },
    /// The event is not after the as-of date.
    NotAfterAsOf {
        as_of: Date,
        date: Date,
    },
    /// No event of the measure's kind in the input.
    EventMissing,
    /// The measure's window closed before the as-of date (reported when there is no event).
    Expired {
        to: Date,
        as_of: Date,
    },
    /// The measure's `when` number `index`, with the values of the facts it read (empty when
    /// it could not be judged without an event).
    Rule {
        index: usize,
        facts: Facts,
    },
    OncePerApplicant {
        prior: Option<(Date, Money)>,
    },
    /// `once per KEY`, the `index`-th once rule of the measure.
    OncePerKey {
        index: usize,
        key: Option<String>,
        prior: Option<(Date, Money)>,
    },
    Consecutive {
        years: u32,
        first: Option<i64>,
        year: i64,
        already_this_year: bool,
    },
    RecipientCap {
        period: CapPeriod,
        year: i64,
        limit: Money,
        used: Money,
    },
    /// A tier's value is known but no arm matches it (the words say which, in Chinese and
    /// English); unknown when the value is a parent of members the arms name.
    TierMiss {
        zh: String,
        en: String,
    },
    /// The computed amount rounds to zero.
    NonZero,
}

impl ConditionResult {
    /// The condition in words and the facts it read, in words (Chinese).
    pub fn describe(&self, lib: &Library, m: &Measure) -> (String, String) {
        describe_check(lib, m, &self.check, self.status, false)
    }
    /// [`describe`](Self::describe) in Chinese or English.
    pub fn describe_in(&self, lib: &Library, m: &Measure, en: bool) -> (String, String) {
        describe_check(lib, m, &self.check, self.status, en)
    }
}

/// Chinese or English, picked by `en`.
fn t(en: bool, zh: String, english: String) -> String {
    if en { english } else { zh }
}

/// What other documents did to the measure's window, for the validity condition's words:
/// `;经…延期至 2026-12-31` / `; repealed by … from …`. Empty when nothing did.
fn changes_note(m: &Measure, en: bool) -> String {
    let mut out = String::new();
    let sep = if en { "; " } else { ";" };
    if let Some(c) = &m.start_change {
        out.push_str(sep);
        out.push_str(&if en {
            format!("in force from {} under the amendment by {}", c.date, c.by)
        } else {
            format!("依{}修订自 {} 起施行", c.by, c.date)
        });
    }
    if let Some(c) = &m.end_change {
        out.push_str(sep);
        out.push_str(&c.words(en));
    }
    out
}

/// The reason an event dated `date` falls outside the window of `m` when another document
/// moved its start or end, in plain words; `None` when none did.
fn change_reason(lib: &Library, m: &Measure, ev: &str, date: Date, en: bool) -> Option<String> {
    let other = |id: &Option<String>| {
        id.as_deref()
            .and_then(|i| lib.measure(i))
            .map(|o| plain::label(&o.label, en).to_string())
            .unwrap_or_default()
    };
    if date < m.valid.0 {
        let c = m.start_change.as_ref()?;
        return Some(t(
            en,
            format!(
                "本条款依{}修订自 {} 起施行,{ev}日期 {date} 适用修订前的条款“{}”",
                c.by,
                c.date,
                other(&c.measure)
            ),
            format!(
                "this measure applies from {} under the amendment by {}; the {ev} ({date}) falls under the measure it replaced, “{}”",
                c.date,
                c.by,
                other(&c.measure)
            ),
        ));
    }
    let c = m.end_change.as_ref()?;
    Some(match c.kind {
        ChangeKind::Repeals => t(
            en,
            format!("{},{ev}日期 {date} 在废止之后", c.words(false)),
            format!("{}; the {ev} is dated {date}", c.words(true)),
        ),
        ChangeKind::Amends => t(
            en,
            format!(
                "{},{ev}日期 {date} 适用修订后的条款“{}”",
                c.words(false),
                other(&c.measure)
            ),
            format!(
                "{}; the {ev} ({date}) falls under the amended measure “{}”",
                c.words(true),
                other(&c.measure)
            ),
        ),
        ChangeKind::Extends => t(
            en,
            format!(
                "政策已于 {} 到期({}),{ev}日期 {date} 在有效期之后",
                m.valid.1,
                c.words(false)
            ),
            format!(
                "the policy expired on {} ({}); the {ev} is dated {date}",
                m.valid.1,
                c.words(true)
            ),
        ),
    })
}

fn describe_check(
    lib: &Library,
    m: &Measure,
    c: &Check,
    status: Tri,
    en: bool,
) -> (String, String) {
    let ev_label = plain::label(&lib.vocab.events[m.event].label, en);
    match c {
        Check::Validity { from, to, date } => (
            t(
                en,
                format!(
                    "{ev_label}须在政策有效期内({from} 至 {to}{})",
                    changes_note(m, false)
                ),
                format!(
                    "the {ev_label} must fall within the policy's validity ({from} to {to}{})",
                    changes_note(m, true)
                ),
            ),
            t(
                en,
                format!("{ev_label}日期为 {date}"),
                format!("dated {date}"),
            ),
        ),
        Check::NotAfterAsOf { as_of, date } => (
            t(
                en,
                format!("{ev_label}不晚于评估日期 {as_of}"),
                format!("the {ev_label} is not after the date of assessment, {as_of}"),
            ),
            t(
                en,
                format!("{ev_label}日期为 {date}"),
                format!("dated {date}"),
            ),
        ),
        Check::EventMissing => (
            t(
                en,
                format!("须发生“{ev_label}”"),
                format!("needs an event: “{ev_label}”"),
            ),
            t(
                en,
                "尚无此类事项".to_string(),
                "none recorded yet".to_string(),
            ),
        ),
        Check::Expired { to, as_of } => (
            t(
                en,
                format!("政策须在有效期内(至 {to})"),
                format!("the policy must be in force (until {to})"),
            ),
            t(
                en,
                format!("政策已于 {to} 到期(评估日期 {as_of})"),
                format!("the policy expired on {to} (assessed on {as_of})"),
            ),
        ),
        Check::Rule { index, facts } => {
            let rule = &m.conditions[*index];
            let text = plain::condition_words(lib, m, *index, en);
            if facts.is_empty() {
                return (
                    text,
                    t(
                        en,
                        "待有具体事项时判断".to_string(),
                        "judged once there is an event".to_string(),
                    ),
                );
            }
            let mut leaves = Vec::new();
            render::collect_leaves(&rule.expr, &mut leaves);
            let mut out: Vec<String> = Vec::new();
            for (l, v) in leaves.iter().zip(facts) {
                let s = format!(
                    "{}{}{}",
                    plain::leaf_name(lib, m, l, en),
                    if en { ": " } else { ":" },
                    render::describe_value_in(lib, v, en)
                );
                if !out.contains(&s) {
                    out.push(s);
                }
            }
            if status != Tri::Met {
                out.extend(render::broader_notes(lib, &rule.expr, facts, en));
            }
            (text, out.join(if en { "; " } else { ";" }))
        }
        Check::OncePerApplicant { prior } => (
            t(
                en,
                "每个申报主体仅支持一次".to_string(),
                "once per applicant".to_string(),
            ),
            match prior {
                Some((d, a)) => t(
                    en,
                    format!("已于 {d} 获得 {a}"),
                    format!("received {a} on {d}"),
                ),
                None => t(
                    en,
                    "此前未获本项支持".to_string(),
                    "not received before".to_string(),
                ),
            },
        ),
        Check::OncePerKey { index, key, prior } => {
            let node = m
                .once
                .iter()
                .filter_map(|o| {
                    if let OnceRule::PerKey(n) = o {
                        Some(n)
                    } else {
                        None
                    }
                })
                .nth(*index);
            let what = node
                .map(|n| plain::words(lib, m, n, en))
                .unwrap_or_default();
            // Keys of enum values are stored by member name; show the member's label.
            let key = key.as_ref().map(|k| match node.map(|n| n.ty) {
                Some(Type::Enum(e)) => lib.vocab.enums[e]
                    .member(k)
                    .map(|mm| render::describe_value_in(lib, &Value::Enum(e, mm), en))
                    .unwrap_or_else(|| k.clone()),
                _ => k.clone(),
            });
            (
                t(
                    en,
                    format!("同一{what}仅支持一次"),
                    format!("once per {what}"),
                ),
                match (key, prior) {
                    (None, _) => t(en, format!("{what}未提供"), format!("{what} not given")),
                    (Some(k), Some((d, a))) => t(
                        en,
                        format!("{what}“{k}”已于 {d} 获得 {a}"),
                        format!("{what} “{k}” received {a} on {d}"),
                    ),
                    (Some(k), None) => t(
                        en,
                        format!("{what}“{k}”此前未获支持"),
                        format!("{what} “{k}” not supported before"),
                    ),
                },
            )
        }
        Check::Consecutive {
            years,
            first,
            year,
            already_this_year,
        } => (
            t(
                en,
                format!("连续支持不超过{years}年,每年一次"),
                format!("at most {years} consecutive years, once a year"),
            ),
            match first {
                None => t(
                    en,
                    "此前未获本项支持,为第1年".to_string(),
                    "not received before: year 1".to_string(),
                ),
                Some(_) if *already_this_year => t(
                    en,
                    format!("{year}年已获本项支持"),
                    format!("already received in {year}"),
                ),
                Some(f) if *year >= f + *years as i64 => t(
                    en,
                    format!("自{f}年起已连续支持{years}年"),
                    format!("supported {years} years in a row since {f}"),
                ),
                Some(f) => t(
                    en,
                    format!("自{f}年起第{}年", year - f + 1),
                    format!("year {} since {f}", year - f + 1),
                ),
            },
        ),
        Check::RecipientCap {
            period,
            year,
            limit,
            used,
        } => {
            let headroom = (*limit - *used).max(Money::ZERO);
            let what = match (period, en) {
                (CapPeriod::Cumulative, false) => "累计".to_string(),
                (CapPeriod::Year, false) => format!("{year}年度"),
                (CapPeriod::Cumulative, true) => "in total".to_string(),
                (CapPeriod::Year, true) => format!("in {year}"),
            };
            (
                t(
                    en,
                    format!("每个申报主体{what}不超过 {limit}"),
                    format!("at most {limit} per applicant {what}"),
                ),
                t(
                    en,
                    format!("已获 {used},剩余额度 {headroom}"),
                    format!("received {used}, {headroom} left"),
                ),
            )
        }
        Check::TierMiss { zh, en: english } => (
            t(
                en,
                "须符合条款的金额档次".to_string(),
                "must fall in one of the clause's tiers".to_string(),
            ),
            if en { english.clone() } else { zh.clone() },
        ),
        Check::NonZero => (
            t(
                en,
                "按条款计算的金额须大于零".to_string(),
                "the amount the clause gives must be above zero".to_string(),
            ),
            t(
                en,
                "计算结果为 0.00 元".to_string(),
                "it comes to 0.00 元".to_string(),
            ),
        ),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmountKind {
    /// The amount is determined (给予2万元; an exact formula).
    Fixed,
    /// A maximum; the reviewed amount may be lower (最高…).
    Cap,
    /// Set by review (按要求给予配套, 根据实际情况确定, a range).
    Review,
}

impl AmountKind {
    pub fn code(self) -> &'static str {
        match self {
            AmountKind::Fixed => "fixed",
            AmountKind::Cap => "cap",
            AmountKind::Review => "review",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            AmountKind::Fixed => "定额",
            AmountKind::Cap => "最高",
            AmountKind::Review => "评审确定",
        }
    }
}

/// One step of a computation, as data: the values used, recorded during evaluation. Its
/// words are made on demand by [`Award::describe_trace`] — the rule as written with every
/// fact replaced by its value — so evaluating costs no string formatting. Every step applies
/// the measure's clause.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// A `let` binding: its index, the values its expression read, and its value.
    Let {
        index: usize,
        values: Vec<Value>,
        result: Value,
    },
    /// The grant formula with the values it read, and its exact result.
    Formula {
        values: Vec<Value>,
        result: Money,
    },
    /// One level's part of a `grant parts`, rounded down to the fen.
    Part {
        index: usize,
        values: Vec<Value>,
        exact: Money,
        rounded: Money,
    },
    /// The amount is set by review.
    Review {
        range: Option<(Money, Money)>,
    },
    /// A parameter's value in force on the event date.
    Parameter {
        param: ParamId,
        from: Date,
        value: Value,
    },
    /// 仅就增值部分: the amount, the largest base already subsidised for the item.
    Increment {
        item: String,
        amount: Money,
        prior: Money,
    },
    /// A per-recipient cap, what was already received, and the amount before and after it.
    RecipientCap {
        period: CapPeriod,
        year: i64,
        limit: Money,
        used: Money,
        before: Option<Money>,
        after: Option<Money>,
    },
    Rounding {
        exact: Money,
        rounded: Money,
    },
    /// The split between levels (the parts are in [`Award::split`]).
    Split,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    Parameter,
    Let,
    Formula,
    RecipientCap,
    Rounding,
    Split,
    Note,
}

impl StepKind {
    pub fn code(self) -> &'static str {
        match self {
            StepKind::Parameter => "parameter",
            StepKind::Let => "let",
            StepKind::Formula => "formula",
            StepKind::RecipientCap => "recipient_cap",
            StepKind::Rounding => "rounding",
            StepKind::Split => "split",
            StepKind::Note => "note",
        }
    }
}

impl Step {
    pub fn kind(&self) -> StepKind {
        match self {
            Step::Let { .. } => StepKind::Let,
            Step::Formula { .. } | Step::Part { .. } | Step::Review { .. } => StepKind::Formula,
            Step::Parameter { .. } => StepKind::Parameter,
            Step::Increment { .. } => StepKind::Note,
            Step::RecipientCap { .. } => StepKind::RecipientCap,
            Step::Rounding { .. } => StepKind::Rounding,
            Step::Split => StepKind::Split,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Award {
    pub kind: AmountKind,
    /// `None` when set by review.
    pub amount: Option<Money>,
    /// The review range, where the clause gives one.
    pub range: Option<(Money, Money)>,
    /// Each level's part; sums to `amount` exactly. Empty when set by review.
    pub split: Vec<(Level, Money)>,
    pub trace: Vec<Step>,
    /// The date the amount was computed for (the event's), which picks parameter values.
    pub date: Date,
    /// Keys recorded with the award so later evaluations apply once-only and increments.
    pub activity: Option<String>,
    pub item: Option<String>,
    pub base: Option<Money>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub measure: usize,
    /// Index into `Input::events`; `None` for a potential outcome.
    pub event: Option<usize>,
    pub status: Status,
    pub conditions: Vec<ConditionResult>,
    /// For `Awarded`; for `Potential`/`Possible` where the amount can already be computed.
    pub award: Option<Award>,
}

impl Outcome {
    /// Why this outcome is not an award, in one sentence: the policy's expiry or the event's
    /// date outside its validity, else the first condition that fails in the order the measure
    /// checks them (the clause's conditions, then once-only rules and caps), else the missing
    /// event. `None` for an award or where nothing fails.
    pub fn reason(&self, lib: &Library, en: bool) -> Option<String> {
        let m = lib.measures.get(self.measure)?;
        // Expiry first (nothing else matters once a policy has ended), then the first failing
        // condition of the clause, and the missing event only when nothing else fails.
        let failing = || self.conditions.iter().filter(|c| c.status == Tri::NotMet);
        let c = failing()
            .find(|c| matches!(c.check, Check::Expired { .. } | Check::Validity { .. }))
            .or_else(|| failing().find(|c| !matches!(c.check, Check::EventMissing)))
            .or_else(|| failing().next())?;
        let ev = plain::label(&lib.vocab.events[m.event].label, en);
        Some(match &c.check {
            Check::Validity { date, .. } if change_reason(lib, m, ev, *date, en).is_some() => {
                change_reason(lib, m, ev, *date, en).unwrap_or_default()
            }
            Check::Expired { .. } if m.end_change.is_some() => {
                let c = m
                    .end_change
                    .as_ref()
                    .map(|c| c.words(en))
                    .unwrap_or_default();
                match m.end_change.as_ref().map(|c| c.kind) {
                    Some(ChangeKind::Extends) => t(
                        en,
                        format!("政策已于 {} 到期({c})", m.valid.1),
                        format!("the policy expired on {} ({c})", m.valid.1),
                    ),
                    _ => c,
                }
            }
            Check::Validity { from, to, date } if date < from => t(
                en,
                format!("{ev}日期 {date} 早于政策施行日 {from}"),
                format!("the {ev} ({date}) predates the policy, in force from {from}"),
            ),
            Check::Validity { to, date, .. } => t(
                en,
                format!("政策已于 {to} 到期,{ev}日期 {date} 在有效期之后"),
                format!("the policy expired on {to}; the {ev} is dated {date}"),
            ),
            Check::Expired { to, .. } => t(
                en,
                format!("政策已于 {to} 到期"),
                format!("the policy expired on {to}"),
            ),
            _ => {
                let (text, facts) = c.describe_in(lib, m, en);
                if facts.is_empty() {
                    text
                } else if en {
                    format!("{text} ({facts})")
                } else {
                    format!("{text}({facts})")
                }
            }
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct Evaluation {
    pub outcomes: Vec<Outcome>,
}

impl Evaluation {
    pub fn awarded(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| o.status == Status::Awarded)
    }
}

/// Evaluates one measure (by index) for one applicant: what an approval re-checks.
pub fn evaluate_measure(lib: &Library, input: &Input, measure: usize) -> Evaluation {
    let mut order: Vec<usize> = (0..input.events.len()).collect();
    order.sort_by(|a, b| {
        let (ea, eb) = (&input.events[*a], &input.events[*b]);
        (ea.date, &ea.id).cmp(&(eb.date, &eb.id))
    });
    let mut outcomes = Vec::new();
    if let Some(m) = lib.measures.get(measure) {
        evaluate_measure_into(lib, input, measure, m, &order, &mut outcomes);
    }
    Evaluation { outcomes }
}

/// Evaluates every measure of the library for one applicant.
pub fn evaluate(lib: &Library, input: &Input) -> Evaluation {
    let mut order: Vec<usize> = (0..input.events.len()).collect();
    order.sort_by(|a, b| {
        let (ea, eb) = (&input.events[*a], &input.events[*b]);
        (ea.date, &ea.id).cmp(&(eb.date, &eb.id))
    });
    let mut outcomes = Vec::with_capacity(lib.measures.len() + input.events.len());
    for (mi, m) in lib.measures.iter().enumerate() {
        evaluate_measure_into(lib, input, mi, m, &order, &mut outcomes);
    }
    Evaluation { outcomes }
}

fn evaluate_measure_into(
    lib: &Library,
    input: &Input,
    mi: usize,
    m: &Measure,
    order: &[usize],
    outcomes: &mut Vec<Outcome>,
) {
    // Prior awards under this measure, then those made in this evaluation.
    let mut running: Vec<PriorAward> = input
        .history
        .iter()
        .filter(|h| lineage(lib, m).any(|id| id == h.measure) && h.date <= input.as_of)
        .cloned()
        .collect();
    // The measure an amendment replaced pays the events before the amendment's date; what it
    // awards in this same input is history here (its window ends before this one starts).
    if let Some(prev) = m
        .start_change
        .as_ref()
        .and_then(|c| c.measure.as_deref())
        .and_then(|id| lib.measure_index.get(id).copied())
        .filter(|&p| p != mi)
    {
        let mut earlier = Vec::new();
        evaluate_measure_into(lib, input, prev, &lib.measures[prev], order, &mut earlier);
        for o in earlier {
            if let (Status::Awarded, Some(a), Some(ei)) = (o.status, &o.award, o.event) {
                running.push(PriorAward {
                    measure: lib.measures[prev].id.clone(),
                    date: input.events[ei].date,
                    amount: a.amount.unwrap_or(Money::ZERO),
                    activity: a.activity.clone(),
                    item: a.item.clone(),
                    base: a.base,
                });
            }
        }
    }
    let mut any_event = false;
    for &ei in order {
        let ev = &input.events[ei];
        if ev.kind != m.event {
            continue;
        }
        any_event = true;
        let out = evaluate_event(lib, input, mi, m, Some(ei), &running);
        if let (Status::Awarded, Some(a)) = (out.status, &out.award) {
            running.push(PriorAward {
                measure: m.id.clone(),
                date: ev.date,
                amount: a.amount.unwrap_or(Money::ZERO),
                activity: a.activity.clone(),
                item: a.item.clone(),
                base: a.base,
            });
        }
        outcomes.push(out);
    }
    if !any_event {
        outcomes.push(evaluate_event(lib, input, mi, m, None, &running));
    }
}

struct Env<'a> {
    lib: &'a Library,
    input: &'a Input,
    measure: &'a Measure,
    event: Option<&'a Event>,
    date: Date,
    lets: Vec<Value>,
    prior: &'a [PriorAward],
    /// Parameters read while evaluating, for the trace.
    params_used: Vec<ParamId>,
    /// Increment computations, for the trace: (item, amount, prior base).
    increments: Vec<(String, Money, Money)>,
}

fn tri(v: &Value) -> Tri {
    match v {
        Value::Bool(true) => Tri::Met,
        Value::Bool(false) => Tri::NotMet,
        _ => Tri::Unknown,
    }
}

/// The measure and the ones it replaced through amendments, newest first: awards under any of
/// them are its history (a once-only rule or a cap is not renewed by an amendment).
fn lineage<'a>(lib: &'a Library, m: &'a Measure) -> impl Iterator<Item = &'a str> + 'a {
    let mut next = Some(m);
    std::iter::from_fn(move || {
        let cur = next?;
        next = cur
            .start_change
            .as_ref()
            .and_then(|c| c.measure.as_deref())
            .and_then(|id| lib.measure(id))
            .filter(|p| p.id != m.id);
        Some(cur.id.as_str())
    })
    .take(lib.measures.len())
}

fn evaluate_event(
    lib: &Library,
    input: &Input,
    mi: usize,
    m: &Measure,
    ei: Option<usize>,
    prior: &[PriorAward],
) -> Outcome {
    let event = ei.map(|i| &input.events[i]);
    let date = event.map(|e| e.date).unwrap_or(input.as_of);
    let mut env = Env {
        lib,
        input,
        measure: m,
        event,
        date,
        lets: Vec::with_capacity(m.lets.len()),
        prior,
        params_used: Vec::new(),
        increments: Vec::new(),
    };
    let mut conditions = Vec::with_capacity(m.conditions.len() + 3);

    // The trigger and the validity window come first: they are the clause's scope.
    match event {
        Some(e) => {
            let (from, to) = m.valid;
            let inside = e.date >= from && e.date <= to;
            conditions.push(ConditionResult {
                check: Check::Validity {
                    from,
                    to,
                    date: e.date,
                },
                status: if inside { Tri::Met } else { Tri::NotMet },
            });
            if e.date > input.as_of {
                conditions.push(ConditionResult {
                    check: Check::NotAfterAsOf {
                        as_of: input.as_of,
                        date: e.date,
                    },
                    status: Tri::NotMet,
                });
            }
        }
        None => {
            conditions.push(ConditionResult {
                check: Check::EventMissing,
                status: Tri::NotMet,
            });
            // A measure whose window has closed is no longer something one could still get.
            if input.as_of > m.valid.1 {
                conditions.push(ConditionResult {
                    check: Check::Expired {
                        to: m.valid.1,
                        as_of: input.as_of,
                    },
                    status: Tri::NotMet,
                });
            }
        }
    }
    for b in &m.lets {
        let v = eval(&mut env, &b.node);
        env.lets.push(v);
    }
    for (index, c) in m.conditions.iter().enumerate() {
        let (status, facts) = if event.is_none() && c.needs_event {
            (Tri::Unknown, Facts::new())
        } else {
            let v = eval(&mut env, &c.expr);
            (tri(&v), render::leaf_values(&mut env, &c.expr))
        };
        conditions.push(ConditionResult {
            check: Check::Rule { index, facts },
            status,
        });
    }
    // Once-only and consecutive-year rules read the history.
    let year = date.year() as i64;
    if m.once.iter().any(|o| matches!(o, OnceRule::PerApplicant)) {
        let prev = prior
            .iter()
            .find(|p| lineage(lib, m).any(|id| id == p.measure));
        conditions.push(ConditionResult {
            check: Check::OncePerApplicant {
                prior: prev.map(|p| (p.date, p.amount)),
            },
            status: if prev.is_some() {
                Tri::NotMet
            } else {
                Tri::Met
            },
        });
    }
    let mut activity = None;
    let mut key_index = 0;
    for o in &m.once {
        if let OnceRule::PerKey(node) = o {
            let index = key_index;
            key_index += 1;
            if event.is_none() {
                continue;
            }
            let v = eval(&mut env, node);
            let key = render::key_of(lib, &v);
            let prev = key.as_ref().and_then(|k| {
                prior
                    .iter()
                    .find(|p| p.activity.as_deref() == Some(k.as_str()))
            });
            let status = match (&key, prev) {
                (None, _) => Tri::Unknown,
                (Some(_), Some(_)) => Tri::NotMet,
                (Some(_), None) => Tri::Met,
            };
            conditions.push(ConditionResult {
                check: Check::OncePerKey {
                    index,
                    key: key.clone(),
                    prior: prev.map(|p| (p.date, p.amount)),
                },
                status,
            });
            activity = key;
        }
    }
    if let Some(n) = m.consecutive {
        let first = prior.iter().map(|p| p.date.year() as i64).min();
        let already_this_year = prior.iter().any(|p| p.date.year() as i64 == year);
        let status = match first {
            None => Tri::Met,
            Some(_) if already_this_year => Tri::NotMet,
            Some(f) if year >= f + n as i64 => Tri::NotMet,
            Some(_) => Tri::Met,
        };
        conditions.push(ConditionResult {
            check: Check::Consecutive {
                years: n,
                first,
                year,
                already_this_year,
            },
            status,
        });
    }

    let any_not = conditions.iter().any(|c| c.status == Tri::NotMet);
    let any_unknown = conditions.iter().any(|c| c.status == Tri::Unknown);
    let mut status = if event.is_none() {
        // Only the missing event may fail for a measure to be potential.
        let others_fail = conditions.iter().skip(1).any(|c| c.status == Tri::NotMet);
        if others_fail {
            Status::NotMet
        } else {
            Status::Potential
        }
    } else if any_not {
        Status::NotMet
    } else if any_unknown {
        Status::Possible
    } else {
        Status::Awarded
    };
    if status == Status::NotMet {
        return Outcome {
            measure: mi,
            event: ei,
            status,
            conditions,
            award: None,
        };
    }
    let award = compute_award(&mut env, activity, year, &mut conditions);
    if status == Status::Awarded && award.is_none() {
        // Caps exhausted (recorded as a condition) or an amount the input leaves unknown.
        status = if conditions.iter().any(|c| c.status == Tri::NotMet) {
            Status::NotMet
        } else {
            Status::Possible
        };
    }
    Outcome {
        measure: mi,
        event: ei,
        status,
        conditions,
        award,
    }
}

fn compute_award(
    env: &mut Env,
    activity: Option<String>,
    year: i64,
    conditions: &mut Vec<ConditionResult>,
) -> Option<Award> {
    let m = env.measure;
    let mut trace = Vec::new();
    for (index, b) in m.lets.iter().enumerate() {
        let values = render::record(env, &b.node);
        trace.push(Step::Let {
            index,
            values,
            result: env.lets[index].clone(),
        });
    }
    let (kind, exact, range) = match &m.grant {
        GrantRule::Fixed(n) | GrantRule::UpTo(n) => {
            let v = eval(env, n);
            let kind = if matches!(m.grant, GrantRule::Fixed(_)) {
                AmountKind::Fixed
            } else {
                AmountKind::Cap
            };
            let Value::Money(x) = v else {
                if let Some((why, status)) = render::tier_miss(env, n) {
                    conditions.push(ConditionResult {
                        check: Check::TierMiss {
                            zh: why.0,
                            en: why.1,
                        },
                        status,
                    });
                }
                return None;
            };
            let values = render::record(env, n);
            trace.push(Step::Formula { values, result: x });
            (kind, Some(x), None)
        }
        GrantRule::Review(r) => {
            let range = match r {
                Some((a, b)) => match (eval(env, a), eval(env, b)) {
                    (Value::Money(a), Value::Money(b)) => Some((a, b)),
                    _ => None,
                },
                None => None,
            };
            trace.push(Step::Review { range });
            (AmountKind::Review, None, range)
        }
        GrantRule::Parts(parts) => {
            let mut split = Vec::with_capacity(parts.len());
            for (index, (level, n)) in parts.iter().enumerate() {
                let Value::Money(x) = eval(env, n) else {
                    return None;
                };
                let rounded = x.round_down_to_fen();
                let values = render::record(env, n);
                trace.push(Step::Part {
                    index,
                    values,
                    exact: x,
                    rounded,
                });
                split.push((*level, rounded));
            }
            let total: Money = split.iter().map(|(_, x)| *x).sum();
            if total == Money::ZERO {
                conditions.push(ConditionResult {
                    check: Check::NonZero,
                    status: Tri::NotMet,
                });
                return None;
            }
            add_param_steps(env, &mut trace);
            return Some(Award {
                kind: AmountKind::Fixed,
                amount: Some(total),
                range: None,
                split,
                trace,
                date: env.date,
                activity,
                item: env.increments.first().map(|i| i.0.clone()),
                base: env.increments.first().map(|i| i.1),
            });
        }
    };
    add_param_steps(env, &mut trace);
    for (item, amount, prior) in env.increments.iter().cloned() {
        trace.push(Step::Increment {
            item,
            amount,
            prior,
        });
    }
    let mut amount = exact;
    for cap in &m.caps {
        let Value::Money(limit) = eval(env, &cap.amount) else {
            continue;
        };
        let used: Money = match cap.period {
            CapPeriod::Cumulative => env.prior.iter().map(|p| p.amount).sum(),
            CapPeriod::Year => env
                .prior
                .iter()
                .filter(|p| p.date.year() as i64 == year)
                .map(|p| p.amount)
                .sum(),
        };
        let headroom = (limit - used).max(Money::ZERO);
        let met = headroom > Money::ZERO;
        conditions.push(ConditionResult {
            check: Check::RecipientCap {
                period: cap.period,
                year,
                limit,
                used,
            },
            status: if met { Tri::Met } else { Tri::NotMet },
        });
        if !met {
            return None;
        }
        let before = amount;
        amount = amount.map(|a| a.min(headroom));
        trace.push(Step::RecipientCap {
            period: cap.period,
            year,
            limit,
            used,
            before,
            after: amount,
        });
    }
    let amount = amount.map(|a| {
        let r = a.round_down_to_fen();
        if r != a {
            trace.push(Step::Rounding {
                exact: a,
                rounded: r,
            });
        }
        r
    });
    if amount == Some(Money::ZERO) {
        // Nothing to pay is not an award: say why instead of listing a 0.00 元 grant.
        conditions.push(ConditionResult {
            check: Check::NonZero,
            status: Tri::NotMet,
        });
        return None;
    }
    let mut split = Vec::new();
    if let Some(a) = amount {
        let shares: smallvec::SmallVec<[Rate; 4]> = m.split.shares.iter().map(|s| s.1).collect();
        let parts = kc_money::allocate(a, &shares, m.split.remainder)?;
        split = m.split.shares.iter().map(|s| s.0).zip(parts).collect();
    }
    trace.push(Step::Split);
    Some(Award {
        kind,
        amount,
        range,
        split,
        trace,
        date: env.date,
        activity,
        item: env.increments.first().map(|i| i.0.clone()),
        base: env.increments.first().map(|i| i.1),
    })
}

fn add_param_steps(env: &Env, trace: &mut Vec<Step>) {
    for &p in &env.params_used {
        if let Some((from, value)) = env.lib.parameters[p].value_on(env.date) {
            trace.push(Step::Parameter {
                param: p,
                from: *from,
                value: value.clone(),
            });
        }
    }
}

impl Award {
    /// The trace in words (Chinese), one line per step: the rule in plain words with the
    /// values it used.
    pub fn describe_trace(&self, lib: &Library, m: &Measure) -> Vec<(StepKind, String)> {
        self.describe_trace_in(lib, m, false)
    }

    /// [`describe_trace`](Self::describe_trace) in Chinese or English.
    pub fn describe_trace_in(
        &self,
        lib: &Library,
        m: &Measure,
        en: bool,
    ) -> Vec<(StepKind, String)> {
        self.trace
            .iter()
            .map(|s| (s.kind(), self.describe_step(lib, m, s, en)))
            .collect()
    }

    fn describe_step(&self, lib: &Library, m: &Measure, step: &Step, en: bool) -> String {
        match step {
            Step::Let {
                index,
                values,
                result,
            } => {
                let b = &m.lets[*index];
                format!(
                    "{} = {} = {}",
                    b.words,
                    plain::words_with(lib, m, &b.node, values, en),
                    render::describe_value_in(lib, result, en)
                )
            }
            Step::Formula { values, result } => {
                let node = match &m.grant {
                    GrantRule::Fixed(n) | GrantRule::UpTo(n) => n,
                    _ => return String::new(),
                };
                let prefix = match (self.kind == AmountKind::Cap, en) {
                    (true, false) => "最高 ",
                    (true, true) => "up to ",
                    _ => "",
                };
                if matches!(node.kind, NodeKind::Const(_)) {
                    format!("{prefix}{result}")
                } else {
                    format!(
                        "{prefix}{} = {result}",
                        plain::words_with(lib, m, node, values, en)
                    )
                }
            }
            Step::Part {
                index,
                values,
                exact,
                rounded,
            } => {
                let GrantRule::Parts(parts) = &m.grant else {
                    return String::new();
                };
                let (level, node) = &parts[*index];
                let r = match (exact != rounded, en) {
                    (false, _) => String::new(),
                    (true, false) => format!(",向下取整到分 {rounded}"),
                    (true, true) => format!(", rounded down to the fen: {rounded}"),
                };
                let w = plain::words_with(lib, m, node, values, en);
                t(
                    en,
                    format!("{}承担 {w} = {exact}{r}", level.zh()),
                    format!("{} pays {w} = {exact}{r}", level_en(*level)),
                )
            }
            Step::Review { range } => match range {
                Some((a, b)) => t(
                    en,
                    format!("金额由评审确定,范围 {a} 至 {b}"),
                    format!("the amount is set by review, between {a} and {b}"),
                ),
                None => t(
                    en,
                    "金额由评审确定(条款未规定具体数额)".to_string(),
                    "the amount is set by review (the clause names no figure)".to_string(),
                ),
            },
            Step::Parameter { param, from, value } => {
                let p = &lib.parameters[*param];
                let v = render::describe_value_in(lib, value, en);
                let l = plain::label(&p.label, en);
                t(
                    en,
                    format!("{l}为 {v}(自 {from} 起施行)"),
                    format!("{l} is {v} (in force from {from})"),
                )
            }
            Step::Increment {
                item,
                amount,
                prior,
            } => {
                let d = (*amount - *prior).max(Money::ZERO);
                t(
                    en,
                    format!(
                        "同一项目“{item}”多次转让,仅就增值部分补助:{amount} − 已补助基数 {prior} = {d}"
                    ),
                    format!(
                        "“{item}” was transferred before: only the increase counts, {amount} − {prior} already subsidised = {d}"
                    ),
                )
            }
            Step::RecipientCap {
                period,
                year,
                limit,
                used,
                before,
                after,
            } => {
                let what = match (period, en) {
                    (CapPeriod::Cumulative, false) => "累计".to_string(),
                    (CapPeriod::Year, false) => format!("{year}年度"),
                    (CapPeriod::Cumulative, true) => "total".to_string(),
                    (CapPeriod::Year, true) => format!("{year}"),
                };
                let headroom = (*limit - *used).max(Money::ZERO);
                let mut s = t(
                    en,
                    format!("{what}上限 {limit};已获 {used} → 剩余额度 {headroom}"),
                    format!("{what} limit {limit}; received {used} → {headroom} left"),
                );
                if let (Some(b), Some(a)) = (before, after) {
                    s.push_str(&t(
                        en,
                        format!(
                            ";金额取 {} 与剩余额度 {} 中的较小者 = {a}",
                            b.grouped(),
                            headroom.grouped()
                        ),
                        format!(
                            "; the amount is the lesser of {} and {} = {a}",
                            b.grouped(),
                            headroom.grouped()
                        ),
                    ));
                }
                s
            }
            Step::Rounding { exact, rounded } => t(
                en,
                format!("向下取整到分:{} → {rounded}", exact.grouped()),
                format!("rounded down to the fen: {} → {rounded}", exact.grouped()),
            ),
            Step::Split => {
                let who = m
                    .split
                    .label
                    .as_deref()
                    .filter(|_| !en)
                    .map(|l| format!("{l}:"))
                    .unwrap_or_default();
                let name = |l: Level| if en { level_en(l) } else { l.zh() };
                let texts: Vec<String> = if self.split.is_empty() {
                    plain::split_words(lib, m, en)
                } else {
                    self.split
                        .iter()
                        .map(|(l, p)| format!("{} {p}", name(*l)))
                        .collect()
                };
                let rem = match (self.split.is_empty() || m.split.shares.len() < 2, en) {
                    (true, _) => String::new(),
                    (false, false) => {
                        format!("(余数归{})", m.split.shares[m.split.remainder].0.zh())
                    }
                    (false, true) => format!(
                        " (the remainder to {})",
                        level_en(m.split.shares[m.split.remainder].0)
                    ),
                };
                t(
                    en,
                    format!("资金分担 {who}{}{rem}", texts.join(",")),
                    format!("paid by {}{rem}", texts.join(", ")),
                )
            }
        }
    }
}

/// A government level in English.
pub fn level_en(l: Level) -> &'static str {
    match l {
        Level::Central => "central government",
        Level::Province => "province",
        Level::City => "city",
        Level::District => "district/county",
        Level::Institution => "institution",
    }
}

fn cmp_values(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    Some(match (a, b) {
        (Value::Money(x), Value::Money(y)) => x.cmp(y),
        (Value::Rate(x, _), Value::Rate(y, _)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Decimal(x), Value::Decimal(y)) => x.cmp(y),
        (Value::Date(x), Value::Date(y)) => x.cmp(y),
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Enum(e1, x), Value::Enum(e2, y)) if e1 == e2 => x.cmp(y),
        _ => return None,
    })
}

/// `x` is a strict ancestor of `y` in one hierarchical enum: the value given is more general
/// than the member a rule asks for (智能制造 where the clause lists 智能产品, 智能工厂 …). Whether
/// the rule holds depends on which child is meant, so the comparison is unknown, not false.
pub(crate) fn broader(lib: &Library, x: &Value, y: &Value) -> bool {
    match (x, y) {
        (Value::Enum(e, a), Value::Enum(f, b)) => {
            e == f && a != b && lib.vocab.enums[*e].within(*b, *a)
        }
        _ => false,
    }
}

fn eval(env: &mut Env, n: &Node) -> Value {
    use Value as V;
    match &n.kind {
        NodeKind::Const(v) => v.clone(),
        NodeKind::Param(p) => {
            if !env.params_used.contains(p) {
                env.params_used.push(*p);
            }
            env.lib.parameters[*p]
                .value_on(env.date)
                .map(|(_, v)| v.clone())
                .unwrap_or(V::Unknown)
        }
        NodeKind::EventField(i) => env
            .event
            .map(|e| e.fields[*i].clone())
            .unwrap_or(V::Unknown),
        NodeKind::EventDate => env.event.map(|e| V::Date(e.date)).unwrap_or(V::Unknown),
        NodeKind::EventId => env
            .event
            .map(|e| V::Text(e.id.clone()))
            .unwrap_or(V::Unknown),
        NodeKind::ApplicantField(i) => env.input.applicant.fields[*i].clone(),
        NodeKind::Let(i) => env.lets.get(*i).cloned().unwrap_or(V::Unknown),
        NodeKind::Neg(a) => match eval(env, a) {
            V::Money(x) => V::Money(-x),
            V::Int(x) => x.checked_neg().map(V::Int).unwrap_or(V::Unknown),
            V::Rate(x, u) => V::Rate(Rate::ZERO.minus(x), u),
            V::Decimal(x) => V::Decimal(-x),
            _ => V::Unknown,
        },
        NodeKind::Not(a) => match eval(env, a) {
            V::Bool(b) => V::Bool(!b),
            _ => V::Unknown,
        },
        NodeKind::Binary(op, a, b) => match op {
            BinOp::And => {
                let x = eval(env, a);
                if x == V::Bool(false) {
                    return x;
                }
                let y = eval(env, b);
                match (x, y) {
                    (_, V::Bool(false)) => V::Bool(false),
                    (V::Bool(true), V::Bool(true)) => V::Bool(true),
                    _ => V::Unknown,
                }
            }
            BinOp::Or => {
                let x = eval(env, a);
                if x == V::Bool(true) {
                    return x;
                }
                let y = eval(env, b);
                match (x, y) {
                    (_, V::Bool(true)) => V::Bool(true),
                    (V::Bool(false), V::Bool(false)) => V::Bool(false),
                    _ => V::Unknown,
                }
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let x = eval(env, a);
                let y = eval(env, b);
                let Some(o) = cmp_values(&x, &y) else {
                    return V::Unknown;
                };
                use std::cmp::Ordering::*;
                // A parent member where a rule names a child (or the reverse) is not a mismatch.
                if matches!(op, BinOp::Eq | BinOp::Ne)
                    && o != Equal
                    && (broader(env.lib, &x, &y) || broader(env.lib, &y, &x))
                {
                    return V::Unknown;
                }
                V::Bool(match op {
                    BinOp::Eq => o == Equal,
                    BinOp::Ne => o != Equal,
                    BinOp::Lt => o == Less,
                    BinOp::Le => o != Greater,
                    BinOp::Gt => o == Greater,
                    _ => o != Less,
                })
            }
            _ => {
                let x = eval(env, a);
                let y = eval(env, b);
                arith(*op, x, y)
            }
        },
        NodeKind::In(a, items) => {
            let x = eval(env, a);
            if x == V::Unknown {
                return V::Unknown;
            }
            let mut unknown = false;
            for it in items {
                let y = eval(env, it);
                if y == V::Unknown || broader(env.lib, &x, &y) {
                    // Unknown unless another member matches exactly.
                    unknown = true;
                } else if x == y {
                    return V::Bool(true);
                }
            }
            if unknown { V::Unknown } else { V::Bool(false) }
        }
        NodeKind::Within(a, b) => match (eval(env, a), eval(env, b)) {
            (V::Enum(e, x), V::Enum(_, y)) => {
                let def = &env.lib.vocab.enums[e];
                if def.within(x, y) {
                    V::Bool(true)
                } else if def.within(y, x) {
                    // The value given is an ancestor of the one required: it may lie within.
                    V::Unknown
                } else {
                    V::Bool(false)
                }
            }
            _ => V::Unknown,
        },
        NodeKind::Min(xs) | NodeKind::Max(xs) => {
            let is_min = matches!(n.kind, NodeKind::Min(_));
            let mut best: Option<Value> = None;
            for x in xs {
                let v = eval(env, x);
                if v == V::Unknown {
                    return V::Unknown;
                }
                best = Some(match best {
                    None => v,
                    Some(b) => {
                        let o = cmp_values(&v, &b);
                        let better = if is_min {
                            o == Some(std::cmp::Ordering::Less)
                        } else {
                            o == Some(std::cmp::Ordering::Greater)
                        };
                        if better { v } else { b }
                    }
                });
            }
            best.unwrap_or(V::Unknown)
        }
        NodeKind::Year(a) => match eval(env, a) {
            V::Date(d) => V::Int(d.year() as i64),
            _ => V::Unknown,
        },
        NodeKind::Holds(c, d) => {
            let cert = eval(env, c);
            let at = match d {
                Some(d) => eval(env, d),
                None => V::Date(env.date),
            };
            match (cert, at) {
                (V::Enum(_, m), V::Date(at)) => V::Bool(
                    env.input
                        .applicant
                        .certifications
                        .iter()
                        .any(|(c, d)| *c == m && *d <= at),
                ),
                _ => V::Unknown,
            }
        }
        NodeKind::Figure(f, y) => match eval(env, y) {
            V::Int(y) => env
                .input
                .applicant
                .figures
                .iter()
                .find(|(fid, yy, _)| fid == f && *yy == y)
                .map(|(_, _, v)| v.clone())
                .unwrap_or(V::Unknown),
            _ => V::Unknown,
        },
        NodeKind::Increment(a, k) => {
            let (V::Money(amount), key) = (eval(env, a), eval(env, k)) else {
                return V::Unknown;
            };
            let Some(key) = render::key_of(env.lib, &key) else {
                return V::Unknown;
            };
            let prev = env
                .prior
                .iter()
                .filter(|p| p.item.as_deref() == Some(key.as_str()))
                .filter_map(|p| p.base)
                .max()
                .unwrap_or(Money::ZERO);
            if !env.increments.iter().any(|i| i.0 == key) {
                env.increments.push((key, amount, prev));
            }
            V::Money((amount - prev).max(Money::ZERO))
        }
        NodeKind::Key(parts) => {
            let mut key = String::new();
            for (i, p) in parts.iter().enumerate() {
                let v = eval(env, p);
                let Some(k) = render::key_of(env.lib, &v) else {
                    return V::Unknown;
                };
                if i > 0 {
                    key.push('|');
                }
                key.push_str(&k);
            }
            V::Text(key)
        }
        NodeKind::Tier(s, arms) => {
            let x = eval(env, s);
            if x == V::Unknown {
                return V::Unknown;
            }
            for arm in arms {
                let hit = arm_matches(&arm.pattern, &x);
                if hit {
                    return eval(env, &arm.value);
                }
            }
            // No tier applies: nothing is granted under this measure for this value.
            V::Unknown
        }
    }
}

pub(crate) fn arm_matches(p: &TierPattern, v: &Value) -> bool {
    match p {
        TierPattern::Any => true,
        TierPattern::Members(ms) => matches!(v, Value::Enum(_, m) if ms.contains(m)),
        TierPattern::Threshold(op, bound) => match cmp_values(v, bound) {
            Some(o) => match op {
                BinOp::Gt => o == std::cmp::Ordering::Greater,
                _ => o != std::cmp::Ordering::Less,
            },
            None => false,
        },
    }
}

fn arith(op: BinOp, x: Value, y: Value) -> Value {
    use Value as V;
    // Checked everywhere: an overflow on absurd input is "not computable", never a panic.
    let out = match (op, x, y) {
        (BinOp::Add, V::Money(a), V::Money(b)) => a.checked_add(b).map(V::Money),
        (BinOp::Sub, V::Money(a), V::Money(b)) => a.checked_sub(b).map(V::Money),
        (BinOp::Add, V::Rate(a, u), V::Rate(b, _)) => Some(V::Rate(a.plus(b), u)),
        (BinOp::Sub, V::Rate(a, u), V::Rate(b, _)) => Some(V::Rate(a.minus(b), u)),
        (BinOp::Add, V::Int(a), V::Int(b)) => a.checked_add(b).map(V::Int),
        (BinOp::Sub, V::Int(a), V::Int(b)) => a.checked_sub(b).map(V::Int),
        (BinOp::Mul, V::Int(a), V::Int(b)) => a.checked_mul(b).map(V::Int),
        (BinOp::Mul, V::Rate(r, _), V::Money(m)) | (BinOp::Mul, V::Money(m), V::Rate(r, _)) => {
            m.checked_scale_by(r).map(V::Money)
        }
        (BinOp::Mul, V::Rate(a, u), V::Rate(b, _)) => a
            .fraction()
            .checked_mul(b.fraction())
            .map(|d| V::Rate(Rate::from_fraction(d), u)),
        (BinOp::Mul, V::Money(m), V::Int(i)) | (BinOp::Mul, V::Int(i), V::Money(m)) => m
            .decimal()
            .checked_mul(i.into())
            .map(|d| V::Money(Money::from_decimal(d))),
        (BinOp::Div, V::Money(m), V::Int(i)) => m.div_int(i).map(V::Money),
        _ => None,
    };
    out.unwrap_or(V::Unknown)
}

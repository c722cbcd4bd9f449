//! The checked, compiled form of a library: what the engine runs. Names are resolved to
//! slots (field indices, parameter ids, enum member ids); no string is looked up during
//! evaluation. Every node keeps its source text so a trace can show the rule as written.

use jiff::civil::Date;
use kc_money::{Money, Rate, RateUnit};
use kc_syntax::ast::{BinOp, CapPeriod, Label, Level};
use kc_syntax::literate::ClauseText;
use std::collections::BTreeMap;

pub type EnumId = usize;
pub type MemberId = u32;
pub type EventTypeId = usize;
pub type ParamId = usize;
pub type DocId = usize;
pub type FigureId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Money,
    Rate,
    Int,
    Decimal,
    Bool,
    Date,
    Text,
    Enum(EnumId),
}

/// A runtime value. `Unknown` is a fact the input does not give: three-valued logic.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Money(Money),
    Rate(Rate, RateUnit),
    Int(i64),
    Decimal(kc_money::Dec),
    Bool(bool),
    Date(Date),
    Text(String),
    Enum(EnumId, MemberId),
    Unknown,
}

#[derive(Clone, Debug)]
pub struct EnumMemberDef {
    pub name: String,
    pub label: Label,
    pub parent: Option<MemberId>,
}

#[derive(Clone, Debug)]
pub struct EnumDef {
    pub name: String,
    pub label: Label,
    pub members: Vec<EnumMemberDef>,
}

impl EnumDef {
    pub fn member(&self, name: &str) -> Option<MemberId> {
        self.members
            .iter()
            .position(|m| m.name == name)
            .map(|i| i as MemberId)
    }
    /// True if `m` is `ancestor` or lies under it.
    pub fn within(&self, mut m: MemberId, ancestor: MemberId) -> bool {
        loop {
            if m == ancestor {
                return true;
            }
            match self.members.get(m as usize).and_then(|x| x.parent) {
                Some(p) => m = p,
                None => return false,
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct FieldDef {
    pub name: String,
    pub label: Label,
    pub ty: Type,
}

#[derive(Clone, Debug)]
pub struct EventDef {
    pub name: String,
    pub label: Label,
    pub fields: Vec<FieldDef>,
}

#[derive(Clone, Debug)]
pub struct FigureDef {
    pub name: String,
    pub label: Label,
    pub ty: Type,
}

/// The vocabulary: the types every rule and every input is checked against.
#[derive(Clone, Debug, Default)]
pub struct Vocabulary {
    pub enums: Vec<EnumDef>,
    pub applicant: Vec<FieldDef>,
    pub applicant_label: Label,
    pub events: Vec<EventDef>,
    pub figures: Vec<FigureDef>,
    pub applicant_kind: EnumId,
    pub region: EnumId,
    pub certification: EnumId,
    /// Slots of the required applicant fields.
    pub kind_slot: usize,
    pub region_slot: usize,
}

impl Vocabulary {
    pub fn enum_by_name(&self, name: &str) -> Option<EnumId> {
        self.enums.iter().position(|e| e.name == name)
    }
    pub fn event_by_name(&self, name: &str) -> Option<EventTypeId> {
        self.events.iter().position(|e| e.name == name)
    }
    pub fn figure_by_name(&self, name: &str) -> Option<FigureId> {
        self.figures.iter().position(|e| e.name == name)
    }
    pub fn type_name(&self, t: Type) -> String {
        match t {
            Type::Money => "Money".into(),
            Type::Rate => "Rate".into(),
            Type::Int => "Int".into(),
            Type::Decimal => "Decimal".into(),
            Type::Bool => "Bool".into(),
            Type::Date => "Date".into(),
            Type::Text => "Text".into(),
            Type::Enum(e) => self.enums[e].name.clone(),
        }
    }
    /// Chinese label of an enum member.
    pub fn member_zh(&self, e: EnumId, m: MemberId) -> &str {
        &self.enums[e].members[m as usize].label.zh
    }
    pub fn member_name(&self, e: EnumId, m: MemberId) -> &str {
        &self.enums[e].members[m as usize].name
    }
}

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: NodeKind,
    pub ty: Type,
    /// The expression as written in the policy file.
    pub text: String,
}

#[derive(Clone, Debug)]
pub enum NodeKind {
    Const(Value),
    Param(ParamId),
    EventField(usize),
    EventDate,
    EventId,
    ApplicantField(usize),
    Let(usize),
    Neg(Box<Node>),
    Not(Box<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    In(Box<Node>, Vec<Node>),
    Within(Box<Node>, Box<Node>),
    Min(Vec<Node>),
    Max(Vec<Node>),
    Year(Box<Node>),
    Holds(Box<Node>, Option<Box<Node>>),
    Figure(FigureId, Box<Node>),
    Increment(Box<Node>, Box<Node>),
    Tier(Box<Node>, Vec<TierArm>),
    /// A composite key of `once per a, b`: the parts' keys joined; unknown if any part is.
    Key(Vec<Node>),
}

#[derive(Clone, Debug)]
pub struct TierArm {
    pub pattern: TierPattern,
    pub value: Node,
    pub text: String,
}

#[derive(Clone, Debug)]
pub enum TierPattern {
    Any,
    Members(Vec<MemberId>),
    Threshold(BinOp, Value),
}

#[derive(Clone, Debug)]
pub struct Parameter {
    pub name: String,
    pub label: Label,
    pub ty: Type,
    /// Values by the date they take effect, ascending.
    pub values: Vec<(Date, Value)>,
}

impl Parameter {
    /// The value in force on `date`, if any.
    pub fn value_on(&self, date: Date) -> Option<(&Date, &Value)> {
        let i = self.values.partition_point(|(d, _)| *d <= date);
        if i == 0 {
            None
        } else {
            let (d, v) = &self.values[i - 1];
            Some((d, v))
        }
    }
}

#[derive(Clone, Debug)]
pub struct Split {
    pub name: Option<String>,
    pub label: Option<String>,
    pub shares: Vec<(Level, Rate, String)>,
    pub remainder: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentForm {
    PreFunding,
    PostSubsidy,
    Reward,
    Matching,
    Subsidy,
    /// A deduction from taxable income (001 item 5), not a cash payment.
    Deduction,
    /// A share of income the applicant's institution must pass on (004 item 44).
    IncomeShare,
}

impl PaymentForm {
    pub fn from_name(s: &str) -> Option<PaymentForm> {
        Some(match s {
            "前资助" => PaymentForm::PreFunding,
            "后补助" => PaymentForm::PostSubsidy,
            "奖励" => PaymentForm::Reward,
            "配套" => PaymentForm::Matching,
            "补助" | "资助" => PaymentForm::Subsidy,
            "抵扣" => PaymentForm::Deduction,
            "收益分配" => PaymentForm::IncomeShare,
            _ => return None,
        })
    }
    pub fn zh(self) -> &'static str {
        match self {
            PaymentForm::PreFunding => "前资助",
            PaymentForm::PostSubsidy => "后补助",
            PaymentForm::Reward => "奖励",
            PaymentForm::Matching => "配套",
            PaymentForm::Subsidy => "补助",
            PaymentForm::Deduction => "抵扣",
            PaymentForm::IncomeShare => "收益分配",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            PaymentForm::PreFunding => "pre-funding",
            PaymentForm::PostSubsidy => "post-subsidy",
            PaymentForm::Reward => "reward",
            PaymentForm::Matching => "matching funds",
            PaymentForm::Subsidy => "subsidy",
            PaymentForm::Deduction => "tax deduction",
            PaymentForm::IncomeShare => "income share",
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            PaymentForm::PreFunding => "pre_funding",
            PaymentForm::PostSubsidy => "post_subsidy",
            PaymentForm::Reward => "reward",
            PaymentForm::Matching => "matching",
            PaymentForm::Subsidy => "subsidy",
            PaymentForm::Deduction => "deduction",
            PaymentForm::IncomeShare => "income_share",
        }
    }
}

#[derive(Clone, Debug)]
pub enum GrantRule {
    Fixed(Node),
    UpTo(Node),
    Review(Option<(Node, Node)>),
    Parts(Vec<(Level, Node)>),
}

/// `let NAME "words" = EXPR`: an intermediate amount a measure names, with the words an
/// applicant reads for it in a trace (`贷款费用`, never `loan_costs`).
#[derive(Clone, Debug)]
pub struct Binding {
    pub name: String,
    pub words: String,
    pub node: Node,
}

#[derive(Clone, Debug)]
pub struct ConditionRule {
    pub expr: Node,
    pub words: Option<String>,
    /// True if the condition reads `event.*`: it cannot be judged without an event.
    pub needs_event: bool,
}

#[derive(Clone, Debug)]
pub struct CapRule {
    pub amount: Node,
    pub period: CapPeriod,
}

#[derive(Clone, Debug)]
pub enum OnceRule {
    PerApplicant,
    PerKey(Node),
}

#[derive(Clone, Debug)]
pub struct Measure {
    pub id: String,
    pub label: Label,
    pub doc: DocId,
    pub clause: ClauseText,
    pub form: Option<PaymentForm>,
    pub event: EventTypeId,
    pub valid: (Date, Date),
    pub lets: Vec<Binding>,
    pub conditions: Vec<ConditionRule>,
    pub grant: GrantRule,
    pub split: Split,
    pub caps: Vec<CapRule>,
    pub once: Vec<OnceRule>,
    pub consecutive: Option<u32>,
    /// `claim within N …`: an application later than the event date plus this is refused.
    pub claim_within: Option<ClaimPeriod>,
    /// Why `valid.1` is where it is when another document moved it: repealed, amended
    /// (replaced by a measure of the amending document) or extended.
    pub end_change: Option<Change>,
    /// For a measure that `replaces` another: the amendment it belongs to (its date starts
    /// this measure's window; `measure` names the one replaced).
    pub start_change: Option<Change>,
    /// The `kc` source of the measure, for `explain`.
    pub source: String,
    /// File and 1-based line of the declaration.
    pub location: (String, usize),
}

#[derive(Clone, Debug)]
pub struct Document {
    pub number: String,
    pub title: String,
    pub issuer: Option<String>,
    pub issued: Option<Date>,
    pub published: Option<Date>,
    pub valid: (Date, Date),
    pub region: Option<MemberId>,
    pub path: String,
    pub clauses: Vec<ClauseText>,
    /// `unpaid` declarations: clause id → why it holds no payment rule.
    pub unpaid: Vec<(String, String)>,
    /// The validity the document declares; `valid` is the one in force after other
    /// documents extended or repealed it.
    pub declared_valid: (Date, Date),
    /// What other documents did to this one (amended, extended, repealed), by date.
    pub changes: Vec<Change>,
}

pub use kc_syntax::ast::ChangeKind;

/// One document changing another: who (`by`, a document number), how, from (amends,
/// repeals) or to (extends) which date; `measure` is the other side of a `replaces`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    pub by: String,
    pub date: Date,
    pub measure: Option<String>,
}

impl Change {
    /// In words: `已被沈政发〔2025〕3号废止(2025-07-01起)` / `repealed by … from 2025-07-01`.
    pub fn words(&self, en: bool) -> String {
        let (by, d) = (&self.by, self.date);
        match (self.kind, en) {
            (ChangeKind::Amends, false) => format!("已被{by}修订({d}起)"),
            (ChangeKind::Amends, true) => format!("amended by {by} from {d}"),
            (ChangeKind::Extends, false) => format!("经{by}延期至 {d}"),
            (ChangeKind::Extends, true) => format!("extended by {by} to {d}"),
            (ChangeKind::Repeals, false) => format!("已被{by}废止({d}起)"),
            (ChangeKind::Repeals, true) => format!("repealed by {by} from {d}"),
        }
    }
}

/// A claim deadline after the event: `claim within 1 year` (also months, days).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimPeriod {
    pub count: u32,
    pub unit: kc_syntax::ast::ClaimUnit,
}

impl ClaimPeriod {
    /// The last day an application for an event of `event` may be made. A month or a year
    /// after the 31st of a shorter month ends on that month's last day.
    pub fn deadline(self, event: Date) -> Option<Date> {
        use kc_syntax::ast::ClaimUnit;
        let n = i64::from(self.count);
        let span = match self.unit {
            ClaimUnit::Years => jiff::Span::new().try_years(n).ok()?,
            ClaimUnit::Months => jiff::Span::new().try_months(n).ok()?,
            ClaimUnit::Days => jiff::Span::new().try_days(n).ok()?,
        };
        event.checked_add(span).ok()
    }
    pub fn words(self, en: bool) -> String {
        use kc_syntax::ast::ClaimUnit;
        let n = self.count;
        match (self.unit, en) {
            (ClaimUnit::Years, false) => format!("{n}年"),
            (ClaimUnit::Months, false) => format!("{n}个月"),
            (ClaimUnit::Days, false) => format!("{n}日"),
            (ClaimUnit::Years, true) => format!("{n} year{}", if n == 1 { "" } else { "s" }),
            (ClaimUnit::Months, true) => format!("{n} month{}", if n == 1 { "" } else { "s" }),
            (ClaimUnit::Days, true) => format!("{n} day{}", if n == 1 { "" } else { "s" }),
        }
    }
}

/// An application window (申报期): the call `label` (declared in document `doc`) opens
/// `measures` for applications from `applications.0` to `applications.1`, inclusive, and
/// where `events` is given only for events dated in it.
#[derive(Clone, Debug)]
pub struct Window {
    pub id: String,
    pub label: Label,
    pub doc: DocId,
    pub clause: Option<String>,
    pub measures: Vec<usize>,
    pub applications: (Date, Date),
    pub events: Option<(Date, Date)>,
}

/// A checked library, ready to evaluate many times.
#[derive(Clone, Debug)]
pub struct Library {
    pub vocab: Vocabulary,
    pub documents: Vec<Document>,
    pub parameters: Vec<Parameter>,
    pub measures: Vec<Measure>,
    pub measure_index: BTreeMap<String, usize>,
    /// Application windows; a measure no window names is open all the time, as before.
    pub windows: Vec<Window>,
}

impl Library {
    pub fn measure(&self, id: &str) -> Option<&Measure> {
        self.measure_index.get(id).map(|i| &self.measures[*i])
    }
    /// The windows that open measure `mi`, in declaration order.
    pub fn windows_of(&self, mi: usize) -> impl Iterator<Item = &Window> {
        self.windows
            .iter()
            .filter(move |w| w.measures.contains(&mi))
    }
}

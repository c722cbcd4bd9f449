//! The syntax tree of `kc` blocks. Every node that a diagnostic can point at carries a
//! [`Span`] in bytes of the whole Markdown file, so errors show the file's own line numbers.

use crate::Span;
use jiff::civil::Date;
use kc_money::{Dec, RateUnit};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A Chinese label, an optional English one, and for vocabulary terms a unit and a one-line
/// help text (the calculator's forms are built from these).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Label {
    pub zh: String,
    pub en: Option<String>,
    pub unit: Option<String>,
    pub help: Option<String>,
}

// Items are built once per file and never copied in a hot loop: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Document(DocumentDecl),
    Funding(FundingDecl),
    Parameter(ParameterDecl),
    Measure(MeasureDecl),
    Window(WindowDecl),
    Enum(EnumDecl),
    Record(RecordDecl),
    Event(RecordDecl),
    Figure(FigureDecl),
    Unpaid(UnpaidDecl),
}

/// `unpaid "CLAUSE" "REASON"`: the clause holds no payment rule, for the stated reason.
#[derive(Clone, Debug, PartialEq)]
pub struct UnpaidDecl {
    pub clause: String,
    pub reason: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DocumentDecl {
    pub number: String,
    pub span: Span,
    pub title: Option<String>,
    pub issuer: Option<String>,
    pub issued: Option<Date>,
    pub published: Option<Date>,
    pub valid: Option<(Date, Date, Span)>,
    pub region: Option<Ident>,
    pub funding: Option<Ident>,
    /// `amends "X" from D`, `extends "X" to D`, `repeals "X" from D`: what this document does
    /// to others, in the order written.
    pub changes: Vec<DocChange>,
}

/// What a document does to another one (修订, 延期, 废止).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    /// 修订: measures that `replaces` one of the target's stop it from the date.
    Amends,
    /// 延期: the target's measures that ran to its end now run to the date.
    Extends,
    /// 废止: none of the target's measures covers an event on or after the date.
    Repeals,
}

impl ChangeKind {
    pub fn keyword(self) -> &'static str {
        match self {
            ChangeKind::Amends => "amends",
            ChangeKind::Extends => "extends",
            ChangeKind::Repeals => "repeals",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            ChangeKind::Amends => "修订",
            ChangeKind::Extends => "延期",
            ChangeKind::Repeals => "废止",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            ChangeKind::Amends => "amended",
            ChangeKind::Extends => "extended",
            ChangeKind::Repeals => "repealed",
        }
    }
}

/// `amends "沈政发〔2021〕11号" from 2023-01-01` and its kin.
#[derive(Clone, Debug, PartialEq)]
pub struct DocChange {
    pub kind: ChangeKind,
    /// The target document's number.
    pub target: String,
    pub target_span: Span,
    /// From (amends, repeals) or to (extends).
    pub date: Date,
    pub span: Span,
}

/// `window NAME "words" [clause "ID"] measures A, B | document "NUMBER"
/// applications D1 .. D2 [events D3 .. D4]`: an annual call (申报通知) opening measures for
/// applications between two dates, optionally only for events of a period.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowDecl {
    pub name: Ident,
    pub label: Label,
    pub span: Span,
    pub clause: Option<(String, Span)>,
    pub opens: WindowTarget,
    pub applications: (Date, Date, Span),
    pub events: Option<(Date, Date, Span)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum WindowTarget {
    Measures(Vec<Ident>),
    Document(String, Span),
}

/// A claim deadline after the event (`claim within 1 year`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimUnit {
    Years,
    Months,
    Days,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Central,
    Province,
    City,
    District,
    /// The applicant's own institution (e.g. a university sharing transfer income with its
    /// team, 004 item 44): an obligation the policy sets, not a government payment.
    Institution,
}

impl Level {
    pub fn keyword(self) -> &'static str {
        match self {
            Level::Central => "central",
            Level::Province => "province",
            Level::City => "city",
            Level::District => "district",
            Level::Institution => "institution",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Level::Central => "中央",
            Level::Province => "省级",
            Level::City => "市级",
            Level::District => "区县级",
            Level::Institution => "单位",
        }
    }
    pub fn from_keyword(s: &str) -> Option<Level> {
        Some(match s {
            "central" => Level::Central,
            "province" => Level::Province,
            "city" => Level::City,
            "district" => Level::District,
            "institution" => Level::Institution,
            _ => return None,
        })
    }
    pub const ALL: [Level; 4] = [
        Level::Central,
        Level::Province,
        Level::City,
        Level::District,
    ];
}

#[derive(Clone, Debug, PartialEq)]
pub struct Share {
    pub level: Level,
    /// The share as an exact fraction.
    pub fraction: Dec,
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Shares {
    pub shares: Vec<Share>,
    pub remainder: Option<(Level, Span)>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FundingDecl {
    pub name: Ident,
    pub label: Label,
    pub shares: Shares,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParameterDecl {
    pub name: Ident,
    pub label: Label,
    pub values: Vec<(Expr, Date, Span)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumDecl {
    pub name: Ident,
    pub label: Label,
    pub members: Vec<EnumMember>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumMember {
    pub name: Ident,
    pub label: Label,
    pub children: Vec<EnumMember>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordDecl {
    pub name: Ident,
    pub label: Label,
    pub fields: Vec<FieldDecl>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    pub name: Ident,
    pub ty: Ident,
    pub label: Label,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FigureDecl {
    pub name: Ident,
    pub ty: Ident,
    pub label: Label,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MeasureDecl {
    pub name: Ident,
    pub label: Label,
    pub span: Span,
    pub clause: Option<(String, Span)>,
    pub form: Option<Ident>,
    pub on: Option<Ident>,
    pub valid: Option<(Date, Date, Span)>,
    /// `replaces OTHER`: this measure of an amending document takes over from `OTHER`.
    pub replaces: Option<Ident>,
    /// `claim within N years|months|days`: applications after event + N are refused.
    pub claim_within: Option<(u32, ClaimUnit, Span)>,
    /// `let NAME "words" = EXPR`: the binding, its plain-language words, its expression.
    pub lets: Vec<(Ident, Option<String>, Expr)>,
    pub conditions: Vec<Condition>,
    pub grant: Option<Grant>,
    pub funded: Option<Funded>,
    pub caps: Vec<RecipientCap>,
    pub once: Vec<Once>,
    pub consecutive: Option<(u32, Span)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub expr: Expr,
    pub words: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Grant {
    Fixed(Expr),
    UpTo(Expr),
    Review {
        range: Option<(Expr, Expr)>,
        span: Span,
    },
    Parts(Vec<(Level, Expr, Span)>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Funded {
    Named(Ident),
    Inline(Shares),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapPeriod {
    Year,
    Cumulative,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecipientCap {
    pub amount: Expr,
    pub period: CapPeriod,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Once {
    PerApplicant(Span),
    /// One key, or several forming a composite key (`once per event.platform, event.year`).
    PerKey(Vec<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "×",
            BinOp::Div => "/",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }
    pub fn from_symbol(s: &str) -> Option<BinOp> {
        Some(match s {
            "+" => BinOp::Add,
            "-" => BinOp::Sub,
            "×" | "*" => BinOp::Mul,
            "/" => BinOp::Div,
            "=" => BinOp::Eq,
            "!=" => BinOp::Ne,
            "<" => BinOp::Lt,
            "<=" => BinOp::Le,
            ">" => BinOp::Gt,
            ">=" => BinOp::Ge,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// Exact amount in yuan (`2万元` is already 20000 here); the text keeps how it was written.
    Money(Dec, String),
    Rate(Dec, RateUnit),
    Int(i64),
    /// A plain number with decimals, only meaningful as a parameter value.
    Decimal(Dec),
    Bool(bool),
    Date(Date),
    Text(String),
    Name(Ident),
    Field(Box<Expr>, Ident),
    Call(Ident, Vec<Expr>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Vec<Expr>),
    Within(Box<Expr>, Box<Expr>),
    Tier(Box<Expr>, Vec<Arm>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arm {
    pub pattern: Pattern,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Pattern {
    Wildcard(Span),
    Members(Vec<Ident>),
    Threshold(BinOp, Expr),
}

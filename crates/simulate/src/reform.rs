//! Parameter reforms: every number a measure is paid by (its rates, amounts, caps, tier bounds),
//! every named parameter and every measure's validity is a *knob* with a stable id; a reform
//! sets knobs (optionally from a date) or removes measures, and yields a new library checked
//! against the knobs' types. Changing a literal from a date turns it into a parameter with two
//! values, so events before the date keep the old amount and the trace names the change.
//!
//! A reform file is a few lines of text:
//!
//! ```text
//! reform "技术合同登记机构奖励按2‰计" "(十八) read as 2‰"
//! set contract_registration_rate = 2‰ from 2021-07-14
//! set tech_transfer_subsidy#2 = 12%
//! set platform_national@valid_to = 2026-12-31
//! remove gazelle_reward
//! ```

use jiff::civil::Date;
use kc_check::{Library, Node, NodeKind, Parameter, TierPattern, Type, Value};
use kc_money::{Money, Rate, RateUnit};
use kc_syntax::ast::Label;
use std::fmt;

/// One adjustable number or date of the library.
#[derive(Clone, Debug, PartialEq)]
pub struct Knob {
    /// `name` of a named parameter, `measure#n` for the n-th number written in a measure (1-based,
    /// in the order lets, conditions, grant, caps), `measure@valid_from` / `measure@valid_to`.
    pub id: String,
    pub measure: Option<String>,
    /// Where the number sits: `parameter`, `let`, `condition`, `grant`, `cap`, `tier`, `validity`.
    pub role: &'static str,
    pub ty: Type,
    pub value: Value,
    /// The rule it appears in, as written (for a named parameter: its label).
    pub context: String,
}

/// A setting of one knob.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub knob: String,
    /// The new value as a person writes it: `12%`, `2‰`, `300万元`, `500000`, `2026-12-31`.
    pub value: String,
    /// From this date on; before it the old value holds. `None`: the whole validity.
    pub from: Option<Date>,
}

/// A reform: a title and its changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reform {
    pub title: String,
    pub note: String,
    pub changes: Vec<Change>,
    pub removed: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReformError {
    /// 1-based line of the reform file, 0 for a change not read from a file.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ReformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "第{}行 line {}: {}", self.line, self.line, self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for ReformError {}

fn err(line: usize, message: String) -> ReformError {
    ReformError { line, message }
}

/// Visits every literal of a measure that a reform may change, in knob order.
fn visit_measure(m: &mut kc_check::Measure, f: &mut dyn FnMut(&'static str, Slot<'_>)) {
    for b in &mut m.lets {
        visit_node(&mut b.node, "let", f);
    }
    for c in &mut m.conditions {
        visit_node(&mut c.expr, "condition", f);
    }
    match &mut m.grant {
        kc_check::GrantRule::Fixed(n) | kc_check::GrantRule::UpTo(n) => visit_node(n, "grant", f),
        kc_check::GrantRule::Review(Some((a, b))) => {
            visit_node(a, "grant", f);
            visit_node(b, "grant", f);
        }
        kc_check::GrantRule::Review(None) => {}
        kc_check::GrantRule::Parts(parts) => {
            for (_, n) in parts {
                visit_node(n, "grant", f);
            }
        }
    }
    for c in &mut m.caps {
        visit_node(&mut c.amount, "cap", f);
    }
}

enum Slot<'a> {
    Node(&'a mut Node, String),
    Threshold(&'a mut Value, String),
}

fn is_number(v: &Value) -> bool {
    matches!(
        v,
        Value::Money(_) | Value::Rate(..) | Value::Int(_) | Value::Decimal(_)
    )
}

fn visit_node(n: &mut Node, role: &'static str, f: &mut dyn FnMut(&'static str, Slot<'_>)) {
    let context = n.text.clone();
    visit_inner(n, role, &context, f);
}

fn visit_inner(
    n: &mut Node,
    role: &'static str,
    context: &str,
    f: &mut dyn FnMut(&'static str, Slot<'_>),
) {
    match &mut n.kind {
        NodeKind::Const(v) if is_number(v) => f(role, Slot::Node(n, context.to_string())),
        NodeKind::Const(_)
        | NodeKind::Param(_)
        | NodeKind::EventField(_)
        | NodeKind::EventDate
        | NodeKind::EventId
        | NodeKind::ApplicantField(_)
        | NodeKind::Let(_) => {}
        NodeKind::Neg(a) | NodeKind::Not(a) | NodeKind::Year(a) => visit_inner(a, role, context, f),
        NodeKind::Binary(_, a, b) | NodeKind::Within(a, b) | NodeKind::Increment(a, b) => {
            visit_inner(a, role, context, f);
            visit_inner(b, role, context, f);
        }
        NodeKind::In(a, items) => {
            visit_inner(a, role, context, f);
            for i in items {
                visit_inner(i, role, context, f);
            }
        }
        NodeKind::Min(xs) | NodeKind::Max(xs) | NodeKind::Key(xs) => {
            for x in xs {
                visit_inner(x, role, context, f);
            }
        }
        NodeKind::Holds(a, b) => {
            visit_inner(a, role, context, f);
            if let Some(b) = b {
                visit_inner(b, role, context, f);
            }
        }
        NodeKind::Figure(_, y) => visit_inner(y, role, context, f),
        NodeKind::Tier(s, arms) => {
            visit_inner(s, role, context, f);
            for arm in arms {
                if let TierPattern::Threshold(_, v) = &mut arm.pattern
                    && is_number(v)
                {
                    f("tier", Slot::Threshold(v, arm.text.clone()));
                }
                visit_inner(&mut arm.value, role, context, f);
            }
        }
    }
}

fn type_of(v: &Value) -> Type {
    match v {
        Value::Money(_) => Type::Money,
        Value::Rate(..) => Type::Rate,
        Value::Int(_) => Type::Int,
        Value::Date(_) => Type::Date,
        Value::Bool(_) => Type::Bool,
        Value::Enum(e, _) => Type::Enum(*e),
        Value::Text(_) => Type::Text,
        _ => Type::Decimal,
    }
}

/// Every knob of the library: named parameters first, then each measure's validity and numbers.
pub fn knobs(lib: &Library) -> Vec<Knob> {
    let mut out: Vec<Knob> = lib
        .parameters
        .iter()
        .filter_map(|p| {
            let (_, v) = p.values.last()?;
            Some(Knob {
                id: p.name.clone(),
                measure: None,
                role: "parameter",
                ty: p.ty,
                value: v.clone(),
                context: p.label.zh.clone(),
            })
        })
        .collect();
    let mut copy = lib.measures.clone();
    for m in &mut copy {
        for (suffix, d) in [("valid_from", m.valid.0), ("valid_to", m.valid.1)] {
            out.push(Knob {
                id: format!("{}@{suffix}", m.id),
                measure: Some(m.id.clone()),
                role: "validity",
                ty: Type::Date,
                value: Value::Date(d),
                context: format!("valid {} .. {}", m.valid.0, m.valid.1),
            });
        }
        let id = m.id.clone();
        let mut n = 0;
        visit_measure(m, &mut |role, slot| {
            n += 1;
            let (value, context) = match slot {
                Slot::Node(node, ctx) => match &node.kind {
                    NodeKind::Const(v) => (v.clone(), ctx),
                    _ => return,
                },
                Slot::Threshold(v, ctx) => (v.clone(), ctx),
            };
            out.push(Knob {
                id: format!("{id}#{n}"),
                measure: Some(id.clone()),
                role,
                ty: type_of(&value),
                value,
                context,
            });
        });
    }
    out
}

/// Parses a value for a knob of type `ty` as a person writes it; `old` keeps a rate's unit.
pub fn parse_value(ty: Type, old: &Value, text: &str) -> Result<Value, String> {
    let t = text.trim();
    let bad = |what: &str| format!("“{t}” 不是{what} is not {}", en_type(ty));
    match ty {
        Type::Money => {
            let (num, factor) = if let Some(n) = t.strip_suffix("亿元") {
                (n, 100_000_000)
            } else if let Some(n) = t.strip_suffix("万元") {
                (n, 10_000)
            } else if let Some(n) = t.strip_suffix('万') {
                (n, 10_000)
            } else {
                (t.strip_suffix('元').unwrap_or(t), 1)
            };
            let d = kc_money::parse_number(num).map_err(|_| bad("金额"))?;
            // Checked: "79228162514264337593543950335亿元" is a clear error, not an overflow.
            let m = Money::from_decimal(
                d.checked_mul(rust_decimal_from(factor))
                    .ok_or_else(|| format!("“{t}” 超出金额上限 is beyond the largest amount"))?,
            );
            if !m.is_whole_fen() {
                return Err(format!("“{t}” 精确到分 must be whole fen"));
            }
            if m.is_negative() {
                return Err(format!("“{t}” 不能为负 must not be negative"));
            }
            m.check_range(t).map(Value::Money).map_err(|_| bad("金额"))
        }
        Type::Rate => {
            let r = Rate::parse(t).map_err(|_| bad("比例"))?;
            if r < Rate::ZERO {
                return Err(format!("“{t}” 不能为负 must not be negative"));
            }
            // No clause pays more than ten times a base; a larger rate is a typing slip.
            if r > Rate::from_fraction(kc_money::Dec::TEN) {
                return Err(format!("“{t}” 超过1000% is above 1000%"));
            }
            let unit = if t.ends_with('‰') {
                RateUnit::PerMille
            } else if t.ends_with('%') {
                RateUnit::Percent
            } else {
                match old {
                    Value::Rate(_, u) => *u,
                    _ => RateUnit::Percent,
                }
            };
            Ok(Value::Rate(r, unit))
        }
        Type::Int => t.parse::<i64>().map(Value::Int).map_err(|_| bad("整数")),
        Type::Decimal => kc_money::parse_number(t)
            .map(Value::Decimal)
            .map_err(|_| bad("数值")),
        Type::Date => t.parse::<Date>().map(Value::Date).map_err(|_| bad("日期")),
        Type::Bool => match t {
            "true" | "是" => Ok(Value::Bool(true)),
            "false" | "否" => Ok(Value::Bool(false)),
            _ => Err(bad("是/否")),
        },
        Type::Text | Type::Enum(_) => Err(format!(
            "{} 类型不可调整 cannot be changed by a reform",
            en_type(ty)
        )),
    }
}

fn rust_decimal_from(n: i64) -> kc_money::Dec {
    kc_money::Dec::from(n)
}

fn en_type(ty: Type) -> &'static str {
    match ty {
        Type::Money => "an amount (e.g. 500000, 300万元)",
        Type::Rate => "a rate (e.g. 12%, 2‰)",
        Type::Int => "a whole number",
        Type::Decimal => "a number",
        Type::Date => "a date YYYY-MM-DD",
        Type::Bool => "true or false",
        Type::Text => "text",
        Type::Enum(_) => "a choice",
    }
}

/// Reads a reform file. Errors name the line.
pub fn parse_reform(text: &str) -> Result<Reform, ReformError> {
    let mut r = Reform::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some(rest) = l.strip_prefix("reform ") {
            let quoted: Vec<&str> = rest.split('"').skip(1).step_by(2).collect();
            match quoted.as_slice() {
                [t] => r.title = t.to_string(),
                [t, n, ..] => {
                    r.title = t.to_string();
                    r.note = n.to_string();
                }
                [] => {
                    return Err(err(
                        line,
                        "reform 后应有带引号的标题 expected a quoted title after reform".into(),
                    ));
                }
            }
        } else if let Some(rest) = l.strip_prefix("set ") {
            let Some((knob, value)) = rest.split_once('=') else {
                return Err(err(
                    line,
                    "应为 set 名称 = 值 [from 日期] expected set KNOB = VALUE [from DATE]".into(),
                ));
            };
            let (value, from) = match value.split_once(" from ") {
                Some((v, d)) => {
                    let d = d.trim().parse::<Date>().map_err(|_| {
                        err(
                            line,
                            format!("“{}” 不是日期 is not a date YYYY-MM-DD", d.trim()),
                        )
                    })?;
                    (v.trim(), Some(d))
                }
                None => (value.trim(), None),
            };
            if value.is_empty() {
                return Err(err(line, "缺少新值 the new value is missing".into()));
            }
            r.changes.push(Change {
                knob: knob.trim().to_string(),
                value: value.to_string(),
                from,
            });
        } else if let Some(m) = l.strip_prefix("remove ") {
            r.removed.push(m.trim().to_string());
        } else {
            return Err(err(
                line,
                format!("无法识别“{l}”:应为 reform、set 或 remove expected reform, set or remove"),
            ));
        }
    }
    if r.changes.is_empty() && r.removed.is_empty() {
        return Err(err(
            0,
            "改革方案没有任何调整 the reform changes nothing".into(),
        ));
    }
    Ok(r)
}

/// The library with the reform applied. Each change is checked against its knob: the knob must
/// exist, the value must be of its type, the date inside the measure's validity. `lines` gives
/// each change's line in the reform file for errors (empty: 0).
pub fn apply(lib: &Library, reform: &Reform, lines: &[usize]) -> Result<Library, ReformError> {
    let mut out = lib.clone();
    let line_of = |i: usize| lines.get(i).copied().unwrap_or(0);
    for (i, c) in reform.changes.iter().enumerate() {
        apply_change(&mut out, c).map_err(|m| err(line_of(i), m))?;
    }
    for id in &reform.removed {
        // By scan, not by index: the index is rebuilt once every removal is done.
        if !out.measures.iter().any(|m| &m.id == id) {
            return Err(err(0, format!("没有措施“{id}” no measure {id} to remove")));
        }
        out.measures.retain(|m| &m.id != id);
    }
    out.measure_index = out
        .measures
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.clone(), i))
        .collect();
    Ok(out)
}

/// The line of each change of a reform file, for [`apply`]'s errors.
pub fn change_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim().starts_with("set "))
        .map(|(i, _)| i + 1)
        .collect()
}

fn apply_change(lib: &mut Library, c: &Change) -> Result<(), String> {
    let unknown = || format!("没有可调整项“{}” no knob {}", c.knob, c.knob);
    // A named parameter.
    if let Some(p) = lib.parameters.iter_mut().find(|p| p.name == c.knob) {
        let old = p.values.last().map(|v| v.1.clone()).ok_or_else(unknown)?;
        let v = parse_value(p.ty, &old, &c.value)?;
        match c.from {
            Some(from) => {
                p.values.retain(|(d, _)| *d < from);
                p.values.push((from, v));
            }
            None => {
                for e in &mut p.values {
                    e.1 = v.clone();
                }
            }
        }
        return Ok(());
    }
    if let Some((mid, which)) = c.knob.split_once('@') {
        let m = lib
            .measures
            .iter_mut()
            .find(|m| m.id == mid)
            .ok_or_else(unknown)?;
        let Value::Date(d) = parse_value(Type::Date, &Value::Unknown, &c.value)? else {
            unreachable!("parse_value(Date) returns a date")
        };
        match which {
            "valid_from" => m.valid.0 = d,
            "valid_to" => m.valid.1 = d,
            _ => return Err(unknown()),
        }
        if m.valid.0 > m.valid.1 {
            return Err(format!(
                "有效期起始 {} 晚于终止 {} validity would start after it ends",
                m.valid.0, m.valid.1
            ));
        }
        return Ok(());
    }
    let (mid, n) = c.knob.split_once('#').ok_or_else(unknown)?;
    let n: usize = n.parse().map_err(|_| unknown())?;
    let new_params = lib.parameters.len();
    let m = lib
        .measures
        .iter_mut()
        .find(|m| m.id == mid)
        .ok_or_else(unknown)?;
    if let Some(from) = c.from
        && (from < m.valid.0 || from > m.valid.1)
    {
        return Err(format!(
            "生效日 {from} 不在措施有效期 {} .. {} 内 the date is outside the measure's validity",
            m.valid.0, m.valid.1
        ));
    }
    let label = m.label.clone();
    let mut k = 0;
    let mut result: Option<Result<Option<Parameter>, String>> = None;
    visit_measure(m, &mut |_, slot| {
        k += 1;
        if k != n || result.is_some() {
            return;
        }
        result = Some(match slot {
            Slot::Node(node, _) => {
                let old = match &node.kind {
                    NodeKind::Const(v) => v.clone(),
                    _ => return,
                };
                match parse_value(node.ty, &old, &c.value) {
                    Err(e) => Err(e),
                    Ok(v) => match c.from {
                        None => {
                            node.kind = NodeKind::Const(v);
                            Ok(None)
                        }
                        Some(from) => {
                            node.kind = NodeKind::Param(new_params);
                            Ok(Some(Parameter {
                                name: c.knob.clone(),
                                label: Label {
                                    zh: format!("{}(改革 reform: {} 起)", label.zh, from),
                                    en: label.en.clone(),
                                    unit: None,
                                    help: None,
                                },
                                ty: node.ty,
                                values: vec![(Date::MIN, old), (from, v)],
                            }))
                        }
                    },
                }
            }
            Slot::Threshold(value, _) => {
                if c.from.is_some() {
                    Err("分档界限不能按日期调整 a tier bound cannot change from a date".into())
                } else {
                    parse_value(type_of(value), value, &c.value).map(|v| {
                        *value = v;
                        None
                    })
                }
            }
        });
    });
    match result {
        None => Err(unknown()),
        Some(Err(e)) => Err(format!("{}: {e}", c.knob)),
        Some(Ok(Some(p))) => {
            lib.parameters.push(p);
            Ok(())
        }
        Some(Ok(None)) => Ok(()),
    }
}

/// For each measure of `reformed`, the index of the same measure in `base` where the reform
/// leaves it as it was — the same rules (event, validity, lets, conditions, grant, caps,
/// once-only rules, consecutive years, split), and every parameter it reads with the same
/// values — so that a re-run can take its awards from the baseline (see
/// [`crate::columnar::Plan::reevaluate`]); `None` where the measure must be evaluated again.
/// A reform changes numbers and validities of measures and parameters (see [`apply`]): the
/// rest of a library, its vocabulary and documents, is the baseline's.
pub fn reuse(base: &Library, reformed: &Library) -> Vec<Option<usize>> {
    let mut out: Vec<Option<usize>> = reformed
        .measures
        .iter()
        .map(|m| {
            let bi = *base.measure_index.get(&m.id)?;
            // Parameters are compared by index in the rules, and by value next.
            if !same_measure(&base.measures[bi], m) {
                return None;
            }
            let mut params = Vec::new();
            measure_nodes(m, &mut |n| params_of(n, &mut params));
            for p in params {
                let (x, y) = (base.parameters.get(p)?, reformed.parameters.get(p)?);
                if x.name != y.name || x.values != y.values {
                    return None;
                }
            }
            Some(bi)
        })
        .collect();
    // A measure that replaced another through an amendment reads that one's awards as its
    // history: when the replaced one is re-evaluated, so is it.
    for (i, m) in reformed.measures.iter().enumerate() {
        let replaced = m.start_change.as_ref().and_then(|c| c.measure.as_deref());
        if let Some(r) = replaced.and_then(|r| reformed.measure_index.get(r))
            && out[*r].is_none()
        {
            out[i] = None;
        }
    }
    out
}

/// Two measures evaluate alike: every part the engines read is equal.
fn same_measure(a: &kc_check::Measure, b: &kc_check::Measure) -> bool {
    use kc_check::{GrantRule as G, OnceRule as O};
    let lets = a.lets.len() == b.lets.len()
        && a.lets
            .iter()
            .zip(&b.lets)
            .all(|(x, y)| same_node(&x.node, &y.node));
    let conditions = a.conditions.len() == b.conditions.len()
        && a.conditions
            .iter()
            .zip(&b.conditions)
            .all(|(x, y)| same_node(&x.expr, &y.expr));
    let grant = match (&a.grant, &b.grant) {
        (G::Fixed(x), G::Fixed(y)) | (G::UpTo(x), G::UpTo(y)) => same_node(x, y),
        (G::Review(None), G::Review(None)) => true,
        (G::Review(Some((x1, x2))), G::Review(Some((y1, y2)))) => {
            same_node(x1, y1) && same_node(x2, y2)
        }
        (G::Parts(x), G::Parts(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((l, p), (k, q))| l == k && same_node(p, q))
        }
        _ => false,
    };
    let caps = a.caps.len() == b.caps.len()
        && a.caps
            .iter()
            .zip(&b.caps)
            .all(|(x, y)| x.period == y.period && same_node(&x.amount, &y.amount));
    let once = a.once.len() == b.once.len()
        && a.once.iter().zip(&b.once).all(|(x, y)| match (x, y) {
            (O::PerApplicant, O::PerApplicant) => true,
            (O::PerKey(p), O::PerKey(q)) => same_node(p, q),
            _ => false,
        });
    let split = a.split.remainder == b.split.remainder
        && a.split.shares.len() == b.split.shares.len()
        && a.split
            .shares
            .iter()
            .zip(&b.split.shares)
            .all(|(x, y)| x.0 == y.0 && x.1 == y.1);
    a.id == b.id
        && a.event == b.event
        && a.valid == b.valid
        && a.consecutive == b.consecutive
        && grant
        && caps
        && once
        && split
        && lets
        && conditions
}

/// Two expressions are the same, node for node (constants by value).
fn same_node(a: &Node, b: &Node) -> bool {
    use NodeKind as K;
    let all = |x: &[Node], y: &[Node]| {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_node(p, q))
    };
    a.ty == b.ty
        && match (&a.kind, &b.kind) {
            (K::Const(x), K::Const(y)) => x == y,
            (K::Param(x), K::Param(y))
            | (K::EventField(x), K::EventField(y))
            | (K::ApplicantField(x), K::ApplicantField(y))
            | (K::Let(x), K::Let(y)) => x == y,
            (K::EventDate, K::EventDate) | (K::EventId, K::EventId) => true,
            (K::Neg(x), K::Neg(y)) | (K::Not(x), K::Not(y)) | (K::Year(x), K::Year(y)) => {
                same_node(x, y)
            }
            (K::Figure(f, x), K::Figure(g, y)) => f == g && same_node(x, y),
            (K::Binary(o, x1, x2), K::Binary(p, y1, y2)) => {
                o == p && same_node(x1, y1) && same_node(x2, y2)
            }
            (K::Within(x1, x2), K::Within(y1, y2))
            | (K::Increment(x1, x2), K::Increment(y1, y2)) => {
                same_node(x1, y1) && same_node(x2, y2)
            }
            (K::In(x, xs), K::In(y, ys)) => same_node(x, y) && all(xs, ys),
            (K::Min(xs), K::Min(ys)) | (K::Max(xs), K::Max(ys)) | (K::Key(xs), K::Key(ys)) => {
                all(xs, ys)
            }
            (K::Holds(x, d), K::Holds(y, e)) => {
                same_node(x, y)
                    && match (d, e) {
                        (None, None) => true,
                        (Some(d), Some(e)) => same_node(d, e),
                        _ => false,
                    }
            }
            (K::Tier(s, xs), K::Tier(t, ys)) => {
                same_node(s, t)
                    && xs.len() == ys.len()
                    && xs.iter().zip(ys).all(|(x, y)| {
                        same_pattern(&x.pattern, &y.pattern) && same_node(&x.value, &y.value)
                    })
            }
            _ => false,
        }
}

fn same_pattern(a: &TierPattern, b: &TierPattern) -> bool {
    match (a, b) {
        (TierPattern::Any, TierPattern::Any) => true,
        (TierPattern::Members(x), TierPattern::Members(y)) => x == y,
        (TierPattern::Threshold(o, x), TierPattern::Threshold(p, y)) => o == p && x == y,
        _ => false,
    }
}

fn measure_nodes(m: &kc_check::Measure, f: &mut dyn FnMut(&Node)) {
    use kc_check::{GrantRule, OnceRule};
    m.lets.iter().for_each(|b| f(&b.node));
    m.conditions.iter().for_each(|c| f(&c.expr));
    match &m.grant {
        GrantRule::Fixed(n) | GrantRule::UpTo(n) => f(n),
        GrantRule::Review(Some((a, b))) => {
            f(a);
            f(b);
        }
        GrantRule::Review(None) => {}
        GrantRule::Parts(parts) => parts.iter().for_each(|(_, n)| f(n)),
    }
    m.caps.iter().for_each(|c| f(&c.amount));
    for o in &m.once {
        if let OnceRule::PerKey(n) = o {
            f(n);
        }
    }
}

/// The parameters a node reads.
fn params_of(n: &Node, out: &mut Vec<usize>) {
    let all = |xs: &[Node], out: &mut Vec<usize>| xs.iter().for_each(|x| params_of(x, out));
    match &n.kind {
        NodeKind::Param(p) => out.push(*p),
        NodeKind::Const(_)
        | NodeKind::EventField(_)
        | NodeKind::EventDate
        | NodeKind::EventId
        | NodeKind::ApplicantField(_)
        | NodeKind::Let(_) => {}
        NodeKind::Neg(a) | NodeKind::Not(a) | NodeKind::Year(a) | NodeKind::Figure(_, a) => {
            params_of(a, out)
        }
        NodeKind::Binary(_, a, b) | NodeKind::Within(a, b) | NodeKind::Increment(a, b) => {
            params_of(a, out);
            params_of(b, out);
        }
        NodeKind::In(a, xs) => {
            params_of(a, out);
            all(xs, out);
        }
        NodeKind::Min(xs) | NodeKind::Max(xs) | NodeKind::Key(xs) => all(xs, out),
        NodeKind::Holds(a, d) => {
            params_of(a, out);
            if let Some(d) = d {
                params_of(d, out);
            }
        }
        NodeKind::Tier(s, arms) => {
            params_of(s, out);
            arms.iter().for_each(|a| params_of(&a.value, out));
        }
    }
}

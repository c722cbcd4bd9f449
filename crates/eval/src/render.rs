//! Words for traces and conditions: values as a clerk reads them, and rules shown with the
//! values they used (`min(10% × 40,000,000.00, 3,000,000.00)`).

use crate::{Env, eval};
use kc_check::ir::*;

/// A value as shown in a trace: amounts grouped with 元, enum members by their Chinese label.
pub fn describe_value(lib: &Library, v: &Value) -> String {
    describe_value_in(lib, v, false)
}

/// A value in words, Chinese or English: amounts grouped with 元, enum members by their label
/// (never by the identifier the rule language uses).
pub fn describe_value_in(lib: &Library, v: &Value, en: bool) -> String {
    match v {
        Value::Money(m) => m.to_string(),
        Value::Rate(r, u) => r.display_in(*u),
        Value::Int(i) => i.to_string(),
        Value::Decimal(d) => d.normalize().to_string(),
        Value::Bool(true) => (if en { "yes" } else { "是" }).into(),
        Value::Bool(false) => (if en { "no" } else { "否" }).into(),
        Value::Date(d) => d.to_string(),
        Value::Text(t) => format!("“{t}”"),
        Value::Enum(e, m) => {
            let d = &lib.vocab.enums[*e].members[*m as usize];
            crate::plain::label(&d.label, en).to_string()
        }
        Value::Unknown => (if en { "not given" } else { "未提供" }).into(),
    }
}

/// The key a once-only rule or an increment records: text as is, enum by name.
pub fn key_of(lib: &Library, v: &Value) -> Option<String> {
    match v {
        Value::Text(t) => Some(t.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Enum(e, m) => Some(lib.vocab.member_name(*e, *m).to_string()),
        Value::Date(d) => Some(d.to_string()),
        _ => None,
    }
}

/// Nodes whose value a trace shows in place of the node.
fn is_value_leaf(n: &Node) -> bool {
    matches!(
        n.kind,
        NodeKind::Param(_)
            | NodeKind::EventField(_)
            | NodeKind::EventDate
            | NodeKind::EventId
            | NodeKind::ApplicantField(_)
            | NodeKind::Let(_)
            | NodeKind::Figure(..)
            | NodeKind::Holds(..)
            | NodeKind::Year(_)
    )
}

/// Records, during evaluation, the values [`replay`] will need to show `n` — in exactly the
/// order `replay` visits them. The two functions mirror each other.
pub(crate) fn record(env: &mut Env, n: &Node) -> Vec<Value> {
    let mut out = Vec::new();
    record_into(env, n, &mut out);
    out
}

fn record_into(env: &mut Env, n: &Node, out: &mut Vec<Value>) {
    if is_value_leaf(n) {
        out.push(eval(env, n));
        return;
    }
    match &n.kind {
        NodeKind::Increment(a, b) | NodeKind::Binary(_, a, b) | NodeKind::Within(a, b) => {
            record_into(env, a, out);
            record_into(env, b, out);
        }
        NodeKind::Neg(a) | NodeKind::Not(a) => record_into(env, a, out),
        NodeKind::In(a, xs) => {
            record_into(env, a, out);
            xs.iter().for_each(|x| record_into(env, x, out));
        }
        NodeKind::Min(xs) | NodeKind::Max(xs) => xs.iter().for_each(|x| record_into(env, x, out)),
        NodeKind::Tier(s, arms) => {
            let v = eval(env, s);
            out.push(v.clone());
            if let Some(arm) = arms.iter().find(|a| crate::arm_matches(&a.pattern, &v)) {
                record_into(env, &arm.value, out);
            }
        }
        _ => {}
    }
}

/// The values of the facts a condition reads, in `collect_leaves` order.
pub(crate) fn leaf_values(env: &mut Env, n: &Node) -> crate::Facts {
    let mut out = crate::Facts::new();
    push_leaf_values(env, n, &mut out);
    out
}

/// `collect_leaves`, evaluating as it goes: no intermediate list on the hot path.
fn push_leaf_values(env: &mut Env, n: &Node, out: &mut crate::Facts) {
    match &n.kind {
        NodeKind::Const(_) => {}
        NodeKind::Param(_)
        | NodeKind::EventField(_)
        | NodeKind::EventDate
        | NodeKind::EventId
        | NodeKind::ApplicantField(_)
        | NodeKind::Let(_)
        | NodeKind::Figure(..)
        | NodeKind::Holds(..)
        | NodeKind::Increment(..) => out.push(eval(env, n)),
        NodeKind::Neg(a) | NodeKind::Not(a) | NodeKind::Year(a) => push_leaf_values(env, a, out),
        NodeKind::Binary(_, a, b) | NodeKind::Within(a, b) => {
            push_leaf_values(env, a, out);
            push_leaf_values(env, b, out);
        }
        NodeKind::In(a, xs) => {
            push_leaf_values(env, a, out);
            xs.iter().for_each(|x| push_leaf_values(env, x, out));
        }
        NodeKind::Min(xs) | NodeKind::Max(xs) | NodeKind::Key(xs) => {
            xs.iter().for_each(|x| push_leaf_values(env, x, out))
        }
        NodeKind::Tier(s, _) => push_leaf_values(env, s, out),
    }
}

pub(crate) fn collect_leaves<'a>(n: &'a Node, out: &mut Vec<&'a Node>) {
    match &n.kind {
        NodeKind::Const(_) => {}
        NodeKind::Param(_)
        | NodeKind::EventField(_)
        | NodeKind::EventDate
        | NodeKind::EventId
        | NodeKind::ApplicantField(_)
        | NodeKind::Let(_)
        | NodeKind::Figure(..)
        | NodeKind::Holds(..)
        | NodeKind::Increment(..) => out.push(n),
        NodeKind::Neg(a) | NodeKind::Not(a) | NodeKind::Year(a) => collect_leaves(a, out),
        NodeKind::Binary(_, a, b) | NodeKind::Within(a, b) => {
            collect_leaves(a, out);
            collect_leaves(b, out);
        }
        NodeKind::In(a, xs) => {
            collect_leaves(a, out);
            xs.iter().for_each(|x| collect_leaves(x, out));
        }
        NodeKind::Min(xs) | NodeKind::Max(xs) | NodeKind::Key(xs) => {
            xs.iter().for_each(|x| collect_leaves(x, out))
        }
        NodeKind::Tier(s, _) => collect_leaves(s, out),
    }
}

/// If the node holds a tier whose value is known but matched by no arm, says so, in Chinese
/// and in English.
pub(crate) fn tier_miss(env: &mut Env, n: &Node) -> Option<((String, String), crate::Tri)> {
    match &n.kind {
        NodeKind::Tier(s, arms) => {
            let v = eval(env, s);
            if v == Value::Unknown {
                return None;
            }
            let hit = arms.iter().any(|a| crate::arm_matches(&a.pattern, &v));
            // A parent of the members an arm names: which tier applies is not known yet.
            let narrower: Vec<Value> = match &v {
                Value::Enum(e, _) => arms
                    .iter()
                    .filter_map(|a| match &a.pattern {
                        TierPattern::Members(ms) => Some(ms),
                        _ => None,
                    })
                    .flatten()
                    .map(|m| Value::Enum(*e, *m))
                    .filter(|g| crate::broader(env.lib, &v, g))
                    .collect(),
                _ => Vec::new(),
            };
            let (lib, m) = (env.lib, env.measure);
            let name = |en| crate::plain::leaf_name(lib, m, s, en);
            let val = |x: &Value, en| describe_value_in(lib, x, en);
            let join = |xs: &[Value], en| {
                xs.iter()
                    .map(|x| val(x, en))
                    .collect::<Vec<_>>()
                    .join(if en { ", " } else { "、" })
            };
            if hit {
                arms.iter().find_map(|a| tier_miss(env, &a.value))
            } else if !narrower.is_empty() {
                Some((
                    (
                        format!(
                            "{}“{}”比条款要求的更宽泛:须确认是否为{}",
                            name(false),
                            val(&v, false),
                            join(&narrower, false)
                        ),
                        format!(
                            "{} “{}” is more general than the clause requires: is it {}?",
                            name(true),
                            val(&v, true),
                            join(&narrower, true)
                        ),
                    ),
                    crate::Tri::Unknown,
                ))
            } else {
                Some((
                    (
                        format!(
                            "{}“{}”不在给付档次内({})",
                            name(false),
                            val(&v, false),
                            crate::plain::tier_words(lib, m, s, arms, false)
                        ),
                        format!(
                            "{} “{}” is in no tier of the clause ({})",
                            name(true),
                            val(&v, true),
                            crate::plain::tier_words(lib, m, s, arms, true)
                        ),
                    ),
                    crate::Tri::NotMet,
                ))
            }
        }
        NodeKind::Min(xs) | NodeKind::Max(xs) => xs.iter().find_map(|x| tier_miss(env, x)),
        NodeKind::Binary(_, a, b) => tier_miss(env, a).or_else(|| tier_miss(env, b)),
        _ => None,
    }
}

/// Enum members named as constants in `n` (`[smart_system, smart_product]`, `within shenyang`).
fn push_enum_consts(n: &Node, out: &mut Vec<Value>) {
    match &n.kind {
        NodeKind::Const(v @ Value::Enum(..)) => out.push(v.clone()),
        NodeKind::Neg(a) | NodeKind::Not(a) | NodeKind::Year(a) => push_enum_consts(a, out),
        NodeKind::Binary(_, a, b) | NodeKind::Within(a, b) => {
            push_enum_consts(a, out);
            push_enum_consts(b, out);
        }
        NodeKind::In(a, xs) => {
            push_enum_consts(a, out);
            xs.iter().for_each(|x| push_enum_consts(x, out));
        }
        _ => {}
    }
}

/// For a condition that is not met or unknown: each fact whose value is more general than a
/// member the rule names (an ancestor in the enum's hierarchy), in words, with the members it
/// would have to be narrowed to.
pub(crate) fn broader_notes(lib: &Library, expr: &Node, facts: &[Value], en: bool) -> Vec<String> {
    let mut named = Vec::new();
    push_enum_consts(expr, &mut named);
    named.extend(facts.iter().cloned());
    let mut out = Vec::new();
    for f in facts {
        let narrower: Vec<String> = named
            .iter()
            .filter(|g| crate::broader(lib, f, g))
            .map(|g| describe_value_in(lib, g, en))
            .fold(Vec::new(), |mut acc, g| {
                if !acc.contains(&g) {
                    acc.push(g);
                }
                acc
            });
        if narrower.is_empty() {
            continue;
        }
        let s = if en {
            format!(
                "“{}” is more general than the clause requires: is it {}?",
                describe_value_in(lib, f, en),
                narrower.join(", ")
            )
        } else {
            format!(
                "“{}”比条款要求的更宽泛:须确认是否为{}",
                describe_value_in(lib, f, en),
                narrower.join("、")
            )
        };
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

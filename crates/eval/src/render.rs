//! Words for traces and conditions: values as a clerk reads them, and rules shown with the
//! values they used (`min(10% × 40,000,000.00, 3,000,000.00)`).

use crate::{Env, eval};
use kc_check::ir::*;

/// A value as shown in a trace: amounts grouped with 元, enum members by their Chinese label.
pub fn describe_value(lib: &Library, v: &Value) -> String {
    match v {
        Value::Money(m) => m.to_string(),
        Value::Rate(r, u) => r.display_in(*u),
        Value::Int(i) => i.to_string(),
        Value::Decimal(d) => d.normalize().to_string(),
        Value::Bool(true) => "是".into(),
        Value::Bool(false) => "否".into(),
        Value::Date(d) => d.to_string(),
        Value::Text(t) => format!("“{t}”"),
        Value::Enum(e, m) => format!(
            "{} ({})",
            lib.vocab.member_zh(*e, *m),
            lib.vocab.member_name(*e, *m)
        ),
        Value::Unknown => "未提供".into(),
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

fn short(lib: &Library, v: &Value) -> String {
    match v {
        Value::Money(m) => m.grouped(),
        other => describe_value(lib, other),
    }
}

fn prec(n: &Node) -> u8 {
    use kc_syntax::ast::BinOp;
    match &n.kind {
        NodeKind::Binary(op, ..) => match op {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div => 5,
            _ => 3,
        },
        _ => 9,
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

/// The expression with every fact, parameter and binding replaced by the recorded value:
/// `min(10% × 40,000,000.00, 3,000,000.00)`.
pub(crate) fn replay(lib: &Library, n: &Node, values: &[Value]) -> String {
    let mut it = values.iter();
    let mut out = String::with_capacity(n.text.len() + 16);
    replay_into(lib, n, &mut it, &mut out);
    out
}

fn replay_into(lib: &Library, n: &Node, it: &mut std::slice::Iter<Value>, out: &mut String) {
    if is_value_leaf(n) {
        out.push_str(&short(lib, it.next().unwrap_or(&Value::Unknown)));
        return;
    }
    let child = |c: &Node, it: &mut std::slice::Iter<Value>, out: &mut String, paren: bool| {
        if paren {
            out.push('(');
        }
        replay_into(lib, c, it, out);
        if paren {
            out.push(')');
        }
    };
    match &n.kind {
        NodeKind::Const(Value::Money(m)) => out.push_str(&m.grouped()),
        NodeKind::Const(_) => out.push_str(&n.text),
        NodeKind::Increment(a, k) => {
            out.push_str("increment(");
            child(a, it, out, false);
            out.push_str(", ");
            child(k, it, out, false);
            out.push(')');
        }
        NodeKind::Neg(a) => {
            out.push('-');
            child(a, it, out, prec(a) < 9);
        }
        NodeKind::Not(a) => {
            out.push_str("not ");
            child(a, it, out, false);
        }
        NodeKind::Binary(op, a, b) => {
            let p = prec(n);
            child(a, it, out, prec(a) < p);
            out.push(' ');
            out.push_str(op.symbol());
            out.push(' ');
            child(b, it, out, prec(b) <= p && prec(b) < 9);
        }
        NodeKind::In(a, xs) => {
            child(a, it, out, false);
            out.push_str(" in [");
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                child(x, it, out, false);
            }
            out.push(']');
        }
        NodeKind::Within(a, b) => {
            child(a, it, out, false);
            out.push_str(" within ");
            child(b, it, out, false);
        }
        NodeKind::Min(xs) | NodeKind::Max(xs) => {
            out.push_str(if matches!(n.kind, NodeKind::Min(_)) {
                "min("
            } else {
                "max("
            });
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                child(x, it, out, false);
            }
            out.push(')');
        }
        NodeKind::Tier(s, arms) => {
            let v = it.next().cloned().unwrap_or(Value::Unknown);
            let sv = short(lib, &v);
            match arms.iter().find(|a| crate::arm_matches(&a.pattern, &v)) {
                Some(arm) => {
                    child(&arm.value, it, out, false);
                    out.push_str(&format!("(按档次 {} = {sv})", s.text));
                }
                None => out.push_str(&format!("tier {} = {sv}", s.text)),
            }
        }
        _ => out.push_str(&n.text),
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

/// If the node holds a tier whose value is known but matched by no arm, says so.
pub(crate) fn tier_miss(env: &mut Env, n: &Node) -> Option<(String, crate::Tri)> {
    match &n.kind {
        NodeKind::Tier(s, arms) => {
            let v = eval(env, s);
            if v == Value::Unknown {
                return None;
            }
            let hit = arms.iter().any(|a| crate::arm_matches(&a.pattern, &v));
            // A parent of the members an arm names: which tier applies is not known yet.
            let narrower: Vec<String> = match &v {
                Value::Enum(e, _) => arms
                    .iter()
                    .filter_map(|a| match &a.pattern {
                        TierPattern::Members(ms) => Some(ms),
                        _ => None,
                    })
                    .flatten()
                    .map(|m| Value::Enum(*e, *m))
                    .filter(|g| crate::broader(env.lib, &v, g))
                    .map(|g| describe_value(env.lib, &g))
                    .collect(),
                _ => Vec::new(),
            };
            if hit {
                arms.iter().find_map(|a| tier_miss(env, &a.value))
            } else if !narrower.is_empty() {
                Some((
                    format!(
                        "{} = {} 比条款要求的更宽泛(more general than the clause requires):须确认是否为 {}",
                        s.text,
                        describe_value(env.lib, &v),
                        narrower.join("、")
                    ),
                    crate::Tri::Unknown,
                ))
            } else {
                let arms: Vec<&str> = arms
                    .iter()
                    .map(|a| a.text.split("=>").next().unwrap_or("").trim())
                    .collect();
                Some((
                    format!(
                        "{} = {},不在给付档次({})内",
                        s.text,
                        describe_value(env.lib, &v),
                        arms.join("、")
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
pub(crate) fn broader_notes(lib: &Library, expr: &Node, facts: &[Value]) -> Vec<String> {
    let mut named = Vec::new();
    push_enum_consts(expr, &mut named);
    named.extend(facts.iter().cloned());
    let mut out = Vec::new();
    for f in facts {
        let narrower: Vec<String> = named
            .iter()
            .filter(|g| crate::broader(lib, f, g))
            .map(|g| describe_value(lib, g))
            .fold(Vec::new(), |mut acc, g| {
                if !acc.contains(&g) {
                    acc.push(g);
                }
                acc
            });
        if narrower.is_empty() {
            continue;
        }
        let s = format!(
            "{} 比条款要求的更宽泛(more general than the clause requires):须确认是否为 {}",
            describe_value(lib, f),
            narrower.join("、")
        );
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

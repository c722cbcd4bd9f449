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
    match &n.kind {
        NodeKind::Binary(op, ..) => match op {
            kc_syntax::ast::BinOp::Or => 1,
            kc_syntax::ast::BinOp::And => 2,
            kc_syntax::ast::BinOp::Add | kc_syntax::ast::BinOp::Sub => 4,
            kc_syntax::ast::BinOp::Mul | kc_syntax::ast::BinOp::Div => 5,
            _ => 3,
        },
        _ => 9,
    }
}

/// The expression with every fact, parameter and binding replaced by its value.
pub(crate) fn show(env: &mut Env, n: &Node) -> String {
    match &n.kind {
        NodeKind::Const(v) => match v {
            Value::Money(m) => m.grouped(),
            Value::Rate(..) => n.text.clone(),
            _ => n.text.clone(),
        },
        NodeKind::Param(_)
        | NodeKind::EventField(_)
        | NodeKind::EventDate
        | NodeKind::EventId
        | NodeKind::ApplicantField(_)
        | NodeKind::Let(_)
        | NodeKind::Figure(..)
        | NodeKind::Holds(..)
        | NodeKind::Year(_) => {
            let v = eval(env, n);
            short(env.lib, &v)
        }
        NodeKind::Increment(a, k) => format!("increment({}, {})", show(env, a), show(env, k)),
        NodeKind::Neg(a) => format!("-{}", show(env, a)),
        NodeKind::Not(a) => format!("not {}", show(env, a)),
        NodeKind::Binary(op, a, b) => {
            let p = prec(n);
            let l = show(env, a);
            let r = show(env, b);
            let l = if prec(a) < p { format!("({l})") } else { l };
            let r = if prec(b) <= p && prec(b) < 9 {
                format!("({r})")
            } else {
                r
            };
            format!("{l} {} {r}", op.symbol())
        }
        NodeKind::In(a, xs) => {
            let a = show(env, a);
            let xs: Vec<String> = xs.iter().map(|x| show(env, x)).collect();
            format!("{a} in [{}]", xs.join(", "))
        }
        NodeKind::Within(a, b) => format!("{} within {}", show(env, a), show(env, b)),
        NodeKind::Min(xs) | NodeKind::Max(xs) => {
            let f = if matches!(n.kind, NodeKind::Min(_)) {
                "min"
            } else {
                "max"
            };
            let xs: Vec<String> = xs.iter().map(|x| show(env, x)).collect();
            format!("{f}({})", xs.join(", "))
        }
        NodeKind::Tier(s, arms) => {
            let v = eval(env, s);
            let sv = short(env.lib, &v);
            let hit = arms.iter().find(|a| crate::arm_matches(&a.pattern, &v));
            match hit {
                Some(a) => {
                    let inner = show(env, &a.value);
                    format!("{inner}(按档次 {} = {sv})", s.text)
                }
                None => format!("tier {} = {sv}", s.text),
            }
        }
    }
}

/// The values of the facts a condition reads, in `collect_leaves` order.
pub(crate) fn leaf_values(env: &mut Env, n: &Node) -> Vec<Value> {
    let mut leaves: Vec<&Node> = Vec::new();
    collect_leaves(n, &mut leaves);
    leaves.into_iter().map(|l| eval(env, l)).collect()
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
        NodeKind::Min(xs) | NodeKind::Max(xs) => xs.iter().for_each(|x| collect_leaves(x, out)),
        NodeKind::Tier(s, _) => collect_leaves(s, out),
    }
}

/// If the node holds a tier whose value is known but matched by no arm, says so.
pub(crate) fn tier_miss(env: &mut Env, n: &Node) -> Option<String> {
    match &n.kind {
        NodeKind::Tier(s, arms) => {
            let v = eval(env, s);
            if v == Value::Unknown {
                return None;
            }
            let hit = arms.iter().any(|a| crate::arm_matches(&a.pattern, &v));
            if hit {
                arms.iter().find_map(|a| tier_miss(env, &a.value))
            } else {
                let arms: Vec<&str> = arms
                    .iter()
                    .map(|a| a.text.split("=>").next().unwrap_or("").trim())
                    .collect();
                Some(format!(
                    "{} = {},不在给付档次({})内",
                    s.text,
                    describe_value(env.lib, &v),
                    arms.join("、")
                ))
            }
        }
        NodeKind::Min(xs) | NodeKind::Max(xs) => xs.iter().find_map(|x| tier_miss(env, x)),
        NodeKind::Binary(_, a, b) => tier_miss(env, a).or_else(|| tier_miss(env, b)),
        _ => None,
    }
}

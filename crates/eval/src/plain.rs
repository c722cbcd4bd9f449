//! Plain language: every rule of the library in words an applicant reads, Chinese or English,
//! built from the labels the policy files give (vocabulary fields, enum members, parameters,
//! `let` bindings, figures). No identifier of the rule language reaches these words: a field
//! is named by its label (`所在地区`, never `applicant.region`), a member by its label (`浑南区`,
//! never `hunnan`). The rule as written stays on the measure's page, in its 规则代码 block.
//!
//! Two forms of one walk: [`words`] describes a rule (`研发投入 × 10%`), [`words_with`] shows it
//! with the values an evaluation recorded (`研发投入 4,000,000.00元 × 10%`). The second mirrors
//! `render::record` value for value, as `render::replay` does for the rule text.

use crate::render::describe_value_in;
use kc_check::ir::*;
use kc_syntax::ast::{BinOp, Label};

/// A label in the chosen language: English where the file gives it, else the Chinese.
pub fn label(l: &Label, en: bool) -> &str {
    if en {
        l.en.as_deref().unwrap_or(&l.zh)
    } else {
        &l.zh
    }
}

/// The words for a rule expression of measure `m`, without values.
pub fn words(lib: &Library, m: &Measure, n: &Node, en: bool) -> String {
    let mut out = String::new();
    walk(lib, m, n, en, &mut None, &mut out);
    out
}

/// The words for a rule expression with the values an evaluation recorded for it
/// (`render::record` order): each fact, parameter and binding followed by its value.
pub fn words_with(lib: &Library, m: &Measure, n: &Node, values: &[Value], en: bool) -> String {
    let mut it = values.iter();
    let mut out = String::new();
    walk(lib, m, n, en, &mut Some(&mut it), &mut out);
    out
}

/// The name of a leaf: a fact, parameter, binding or figure, in words.
pub fn leaf_name(lib: &Library, m: &Measure, n: &Node, en: bool) -> String {
    let v = &lib.vocab;
    let ev = &v.events[m.event];
    match &n.kind {
        NodeKind::Param(p) => label(&lib.parameters[*p].label, en).to_string(),
        NodeKind::EventField(i) => ev
            .fields
            .get(*i)
            .map(|f| label(&f.label, en).to_string())
            .unwrap_or_default(),
        NodeKind::EventDate => {
            if en {
                format!("date of {}", label(&ev.label, en))
            } else {
                format!("{}日期", ev.label.zh)
            }
        }
        NodeKind::EventId => {
            if en {
                format!("reference of {}", label(&ev.label, en))
            } else {
                format!("{}编号", ev.label.zh)
            }
        }
        NodeKind::ApplicantField(i) => v
            .applicant
            .get(*i)
            .map(|f| label(&f.label, en).to_string())
            .unwrap_or_default(),
        NodeKind::Let(i) => m.lets.get(*i).map(|b| b.words.clone()).unwrap_or_default(),
        NodeKind::Figure(f, y) => {
            let fl = label(&v.figures[*f].label, en);
            let y = words(lib, m, y, en);
            if en {
                format!("{fl} of {y}")
            } else {
                format!("{fl}({y})")
            }
        }
        NodeKind::Holds(c, d) => {
            let c = words(lib, m, c, en);
            match (d, en) {
                (None, false) => format!("持有{c}资质"),
                (None, true) => format!("holds {c}"),
                (Some(d), false) => format!("{}时持有{c}资质", words(lib, m, d, en)),
                (Some(d), true) => format!("held {c} on {}", words(lib, m, d, en)),
            }
        }
        NodeKind::Year(a) => {
            let a = words(lib, m, a, en);
            if en {
                format!("year of {a}")
            } else {
                format!("{a}所在年度")
            }
        }
        NodeKind::Increment(a, k) => {
            let (a, k) = (words(lib, m, a, en), words(lib, m, k, en));
            if en {
                format!("the part of {a} not yet subsidised for the same {k}")
            } else {
                format!("{a}中同一{k}尚未补助的增值部分")
            }
        }
        _ => words(lib, m, n, en),
    }
}

/// A constant in words: amounts as the clause wrote them (`500万元`), members by label.
fn constant(lib: &Library, n: &Node, v: &Value, en: bool) -> String {
    match v {
        Value::Money(x) => {
            if n.text.contains('元') {
                n.text.clone()
            } else {
                x.to_string()
            }
        }
        Value::Enum(e, mm) => {
            let d = &lib.vocab.enums[*e].members[*mm as usize];
            label(&d.label, en).to_string()
        }
        other => describe_value_in(lib, other, en),
    }
}

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

fn prec(n: &Node) -> u8 {
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

fn list(parts: Vec<String>, en: bool, last: (&str, &str)) -> String {
    match parts.len() {
        0 => String::new(),
        1 => parts.into_iter().next().unwrap_or_default(),
        k => {
            let sep = if en { ", " } else { "、" };
            let head = parts[..k - 1].join(sep);
            let tail = &parts[k - 1];
            if en {
                format!("{head} {} {tail}", last.1)
            } else {
                format!("{head}{}{tail}", last.0)
            }
        }
    }
}

type Vals<'a, 'b> = Option<&'a mut std::slice::Iter<'b, Value>>;

fn walk(lib: &Library, m: &Measure, n: &Node, en: bool, vals: &mut Vals, out: &mut String) {
    if is_value_leaf(n) {
        let name = leaf_name(lib, m, n, en);
        match vals.as_mut() {
            Some(it) => {
                let v = it.next().cloned().unwrap_or(Value::Unknown);
                out.push_str(&name);
                out.push(' ');
                out.push_str(&describe_value_in(lib, &v, en));
            }
            None => out.push_str(&name),
        }
        return;
    }
    let sub = |c: &Node, vals: &mut Vals, paren: bool| -> String {
        let mut s = String::new();
        walk(lib, m, c, en, vals, &mut s);
        if paren { format!("({s})") } else { s }
    };
    match &n.kind {
        NodeKind::Const(v) => out.push_str(&constant(lib, n, v, en)),
        NodeKind::Neg(a) => {
            out.push('−');
            let p = prec(a) < 9;
            out.push_str(&sub(a, vals, p));
        }
        NodeKind::Not(a) => {
            let inner = sub(a, vals, false);
            // A yes/no fact negated reads as the fact with 否.
            if a.ty == Type::Bool && is_value_leaf(a) && vals.is_none() {
                out.push_str(&if en {
                    format!("{inner}: no")
                } else {
                    format!("{inner}:否")
                });
            } else if en {
                out.push_str(&format!("not ({inner})"));
            } else {
                out.push_str(&format!("并非“{inner}”"));
            }
        }
        NodeKind::Binary(op, a, b) => {
            let p = prec(n);
            let pa = prec(a) < p && matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div);
            let pb = prec(b) <= p
                && prec(b) < 9
                && matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div);
            let l = sub(a, vals, pa);
            let r = sub(b, vals, pb);
            let (zh, en_w) = match op {
                BinOp::Add => (" + ", " + "),
                BinOp::Sub => (" − ", " − "),
                BinOp::Mul => (" × ", " × "),
                BinOp::Div => (" ÷ ", " ÷ "),
                BinOp::Eq => ("为", " is "),
                BinOp::Ne => ("不为", " is not "),
                BinOp::Lt => ("低于", " is below "),
                BinOp::Le => ("不超过", " is at most "),
                BinOp::Gt => ("高于", " is above "),
                BinOp::Ge => ("不低于", " is at least "),
                BinOp::And => (",且", "; and "),
                BinOp::Or => (",或", "; or "),
            };
            out.push_str(&l);
            out.push_str(if en { en_w } else { zh });
            out.push_str(&r);
        }
        NodeKind::In(a, xs) => {
            let l = sub(a, vals, false);
            let items: Vec<String> = xs.iter().map(|x| sub(x, vals, false)).collect();
            if en {
                out.push_str(&format!("{l} is {}", list(items, en, ("或", "or"))));
            } else {
                out.push_str(&format!("{l}为{}", list(items, en, ("或", "or"))));
            }
        }
        NodeKind::Within(a, b) => {
            let l = sub(a, vals, false);
            let r = sub(b, vals, false);
            out.push_str(&if en {
                format!("{l} is within {r}")
            } else {
                format!("{l}属于{r}")
            });
        }
        NodeKind::Min(xs) | NodeKind::Max(xs) => {
            // Compound items in brackets: "(10% × 研发投入)与 300万元中的较小者".
            let items: Vec<String> = xs
                .iter()
                .map(|x| sub(x, vals, matches!(x.kind, NodeKind::Binary(..))))
                .collect();
            let min = matches!(n.kind, NodeKind::Min(_));
            out.push_str(&match (min, en) {
                (true, false) => format!("{}中的较小者", list(items, en, ("与", "and"))),
                (false, false) => format!("{}中的较大者", list(items, en, ("与", "and"))),
                (true, true) => format!("the lesser of {}", list(items, en, ("与", "and"))),
                (false, true) => format!("the greater of {}", list(items, en, ("与", "and"))),
            });
        }
        NodeKind::Tier(s, arms) => match vals.as_mut() {
            // With values: the selector's value picks one arm; only that arm's values follow.
            Some(it) => {
                let v = it.next().cloned().unwrap_or(Value::Unknown);
                let name = leaf_or_words(lib, m, s, en);
                let sv = describe_value_in(lib, &v, en);
                match arms.iter().find(|a| crate::arm_matches(&a.pattern, &v)) {
                    Some(arm) => {
                        let val = sub(&arm.value, vals, false);
                        out.push_str(&if en {
                            format!("{val} (tier for {name} {sv})")
                        } else {
                            format!("{val}(按{name}“{sv}”一档)")
                        });
                    }
                    None => out.push_str(&if en {
                        format!("no tier for {name} {sv}")
                    } else {
                        format!("{name}“{sv}”不在任何档次内")
                    }),
                }
            }
            None => out.push_str(&tier_words(lib, m, s, arms, en)),
        },
        NodeKind::Key(xs) => {
            let items: Vec<String> = xs.iter().map(|x| sub(x, vals, false)).collect();
            out.push_str(&items.join(if en { " and " } else { "与" }));
        }
        // Leaves are handled above; nothing else remains.
        _ => out.push_str(&leaf_name(lib, m, n, en)),
    }
}

fn leaf_or_words(lib: &Library, m: &Measure, n: &Node, en: bool) -> String {
    if is_value_leaf(n) {
        leaf_name(lib, m, n, en)
    } else {
        words(lib, m, n, en)
    }
}

/// A tier in words: `按认定类别:国家级技术创新示范企业 200万元;省级技术创新示范企业 100万元`.
pub fn tier_words(lib: &Library, m: &Measure, s: &Node, arms: &[TierArm], en: bool) -> String {
    let name = leaf_or_words(lib, m, s, en);
    let parts: Vec<String> = arms
        .iter()
        .map(|a| {
            let when = pattern_words(lib, s, &a.pattern, en);
            let val = words(lib, m, &a.value, en);
            format!("{when} {val}")
        })
        .collect();
    if en {
        format!("by {name}: {}", parts.join("; "))
    } else {
        format!("按{name}:{}", parts.join(";"))
    }
}

fn pattern_words(lib: &Library, s: &Node, p: &TierPattern, en: bool) -> String {
    match p {
        TierPattern::Any => (if en { "otherwise" } else { "其他" }).to_string(),
        TierPattern::Members(ms) => {
            let Type::Enum(e) = s.ty else {
                return String::new();
            };
            let names: Vec<String> = ms
                .iter()
                .map(|mm| label(&lib.vocab.enums[e].members[*mm as usize].label, en).to_string())
                .collect();
            list(names, en, ("或", "or"))
        }
        TierPattern::Threshold(op, v) => {
            let v = describe_value_in(lib, v, en);
            let w = match (op, en) {
                (BinOp::Ge, false) => "不低于",
                (BinOp::Gt, false) => "高于",
                (BinOp::Le, false) => "不超过",
                (BinOp::Lt, false) => "低于",
                (BinOp::Ge, true) => "at least ",
                (BinOp::Gt, true) => "above ",
                (BinOp::Le, true) => "at most ",
                (BinOp::Lt, true) => "below ",
                (_, false) => "为",
                (_, true) => "",
            };
            format!("{w}{v}")
        }
    }
}

/// The amount rule of a measure in words, as the 政策库 lists it: `最高 200万元`,
/// `研发投入 × 10%,最高 300万元`, `评审确定(5万元至20万元)`.
pub fn grant_words(lib: &Library, m: &Measure, en: bool) -> String {
    let body = match &m.grant {
        GrantRule::Fixed(n) => words(lib, m, n, en),
        GrantRule::UpTo(n) => {
            let w = words(lib, m, n, en);
            if en {
                format!("up to {w}")
            } else {
                format!("最高 {w}")
            }
        }
        GrantRule::Review(None) => (if en { "set by review" } else { "评审确定" }).to_string(),
        GrantRule::Review(Some((a, b))) => {
            let (a, b) = (words(lib, m, a, en), words(lib, m, b, en));
            if en {
                format!("set by review, {a} to {b}")
            } else {
                format!("评审确定,{a}至{b}")
            }
        }
        GrantRule::Parts(parts) => {
            let ps: Vec<String> = parts
                .iter()
                .map(|(l, n)| {
                    let w = words(lib, m, n, en);
                    if en {
                        format!("{}: {w}", crate::level_en(*l))
                    } else {
                        format!("{}承担 {w}", l.zh())
                    }
                })
                .collect();
            ps.join(if en { "; " } else { ";" })
        }
    };
    let caps: Vec<String> = m
        .caps
        .iter()
        .map(|c| {
            let a = words(lib, m, &c.amount, en);
            match (c.period, en) {
                (kc_syntax::ast::CapPeriod::Year, false) => format!("每年最多 {a}"),
                (kc_syntax::ast::CapPeriod::Cumulative, false) => format!("累计最多 {a}"),
                (kc_syntax::ast::CapPeriod::Year, true) => format!("at most {a} a year"),
                (kc_syntax::ast::CapPeriod::Cumulative, true) => format!("at most {a} in total"),
            }
        })
        .collect();
    if caps.is_empty() {
        body
    } else if en {
        format!("{body}; {}", caps.join("; "))
    } else {
        format!("{body};{}", caps.join(";"))
    }
}

/// The condition's words: the author's (`as "…"`) where given, else built from the labels.
pub fn condition_words(lib: &Library, m: &Measure, index: usize, en: bool) -> String {
    let c = &m.conditions[index];
    match (&c.words, en) {
        (Some(w), false) => w.clone(),
        _ => words(lib, m, &c.expr, en),
    }
}

/// Who pays what share, in words: `市级 50%、区县级 50%`; for a measure whose grant names each
/// level's part (`grant parts`), each part's words.
pub fn split_words(lib: &Library, m: &Measure, en: bool) -> Vec<String> {
    let name = |l: kc_syntax::ast::Level| if en { crate::level_en(l) } else { l.zh() };
    if let GrantRule::Parts(parts) = &m.grant {
        return parts
            .iter()
            .map(|(l, n)| format!("{} {}", name(*l), words(lib, m, n, en)))
            .collect();
    }
    m.split
        .shares
        .iter()
        .map(|(l, r, _)| format!("{} {r}", name(*l)))
        .collect()
}

//! `kechuang/eval-input/v1` → [`kc_eval::Input`].

use jiff::civil::Date;
use kc_check::ir::*;
use kc_eval::{Applicant, Event, Input, PriorAward};
use kc_money::{Money, Rate, RateUnit};
use serde_json::{Map, Value as J};
use std::fmt;
use std::str::FromStr;

pub const INPUT_SCHEMA: &str = "kechuang/eval-input/v1";

/// A problem with the input, at a JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for InputError {}

fn err<T>(path: &str, message: impl Into<String>) -> Result<T, InputError> {
    Err(InputError {
        path: path.to_string(),
        message: message.into(),
    })
}

fn kind_of(v: &J) -> &'static str {
    match v {
        J::Null => "null",
        J::Bool(_) => "a boolean",
        J::Number(_) => "a number",
        J::String(_) => "a string",
        J::Array(_) => "an array",
        J::Object(_) => "an object",
    }
}

fn object<'a>(v: &'a J, path: &str) -> Result<&'a Map<String, J>, InputError> {
    v.as_object().map_or_else(
        || {
            err(
                path,
                format!("应为对象 (expected an object, found {})", kind_of(v)),
            )
        },
        Ok,
    )
}

fn string<'a>(v: &'a J, path: &str) -> Result<&'a str, InputError> {
    v.as_str().map_or_else(
        || {
            err(
                path,
                format!("应为文本 (expected a string, found {})", kind_of(v)),
            )
        },
        Ok,
    )
}

pub fn parse_date(v: &J, path: &str) -> Result<Date, InputError> {
    date_text(string(v, path)?, path)
}

fn date_text(s: &str, path: &str) -> Result<Date, InputError> {
    match Date::from_str(s) {
        Ok(d) if s.len() == 10 => Ok(d),
        _ => err(
            path,
            format!(
                "“{s}”不是有效日期,格式为 年-月-日,如 2024-05-01 (not a valid date, YYYY-MM-DD)"
            ),
        ),
    }
}

fn money(v: &J, path: &str) -> Result<Money, InputError> {
    match v {
        J::String(s) => money_text(s, path),
        J::Number(n) => money_text(&n.to_string(), path),
        other => err(
            path,
            format!(
                "应为金额,如 1234567.89 (expected an amount such as \"1234567.89\", found {})",
                kind_of(other)
            ),
        ),
    }
}

fn money_text(text: &str, path: &str) -> Result<Money, InputError> {
    let m = Money::parse_amount(text).or_else(|e| err(path, e.to_string()))?;
    if m.is_negative() {
        return err(
            path,
            format!(
                "金额 {text} 不能为负数 (amount {text} is negative; amounts in input are never below zero)"
            ),
        );
    }
    Ok(m)
}

/// Reads one value of a vocabulary type. JSON `null` is an explicitly unknown fact.
fn typed(lib: &Library, ty: Type, v: &J, path: &str) -> Result<Value, InputError> {
    if v.is_null() {
        return Ok(Value::Unknown);
    }
    if let J::String(s) = v
        && !matches!(ty, Type::Bool | Type::Int)
    {
        return from_text(lib, ty, s, path);
    }
    Ok(match ty {
        Type::Money => Value::Money(money(v, path)?),
        Type::Bool => match v {
            J::Bool(b) => Value::Bool(*b),
            other => {
                return err(
                    path,
                    format!(
                        "应为“是”或“否” (expected true or false, found {})",
                        kind_of(other)
                    ),
                );
            }
        },
        Type::Int => match v.as_i64() {
            Some(i) if i.abs() <= 1_000_000_000 => Value::Int(i),
            _ => {
                return err(
                    path,
                    format!("应为整数 (expected a whole number, |n| ≤ 10^9, found {v})"),
                );
            }
        },
        Type::Decimal => match v {
            J::Number(n) => from_text(lib, ty, &n.to_string(), path)?,
            other => {
                return err(
                    path,
                    format!("应为数字 (expected a number, found {})", kind_of(other)),
                );
            }
        },
        // Written as JSON strings: a value of another kind is named in the error.
        _ => from_text(lib, ty, string(v, path)?, path)?,
    })
}

/// A value of type `ty` (not a boolean or a whole number) from the text of its JSON string,
/// without copying it (a population file has millions of cells).
fn from_text(lib: &Library, ty: Type, s: &str, path: &str) -> Result<Value, InputError> {
    Ok(match ty {
        Type::Money => Value::Money(money_text(s, path)?),
        Type::Decimal => match kc_money::Dec::from_str(s) {
            Ok(d) => Value::Decimal(d),
            Err(_) => return err(path, format!("“{s}”不是数字 (not a decimal number)")),
        },
        Type::Rate => {
            let r = Rate::parse(s).or_else(|e| err(path, e.to_string()))?;
            let unit = if s.trim_end().ends_with('‰') {
                RateUnit::PerMille
            } else {
                RateUnit::Percent
            };
            Value::Rate(r, unit)
        }
        Type::Date => Value::Date(date_text(s, path)?),
        Type::Text => Value::Text(s.to_string()),
        Type::Bool | Type::Int => {
            return err(
                path,
                format!("应为“是”或“否”或整数 (expected a boolean or a whole number, found “{s}”)"),
            );
        }
        Type::Enum(e) => {
            let def = &lib.vocab.enums[e];
            match def
                .members
                .iter()
                .position(|m| m.name == s || m.label.zh == s)
            {
                Some(m) => Value::Enum(e, m as MemberId),
                None => {
                    let names: Vec<&str> = def
                        .members
                        .iter()
                        .map(|m| m.name.as_str())
                        .take(20)
                        .collect();
                    let labels: Vec<&str> = def
                        .members
                        .iter()
                        .map(|m| m.label.zh.as_str())
                        .take(20)
                        .collect();
                    return err(
                        path,
                        format!(
                            "“{s}”不是有效的{},可选:{} (not a {}; one of: {})",
                            def.label.zh,
                            labels.join("、"),
                            def.name,
                            names.join(", ")
                        ),
                    );
                }
            }
        }
    })
}

/// Reads one value of a vocabulary type written as text — a CSV cell, a Parquet string — so
/// that a value means the same in every population format as in eval-input JSON: booleans are
/// `true`/`false`, whole numbers are digits, everything else is the text the JSON string would
/// hold (amounts `1234.56`, dates `2024-05-01`, enum members by name or Chinese label). An
/// empty or blank cell is not given (`Unknown`). Errors name `path`.
pub fn parse_value_text(
    lib: &Library,
    ty: Type,
    text: &str,
    path: &str,
) -> Result<Value, InputError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Value::Unknown);
    }
    let v = match ty {
        Type::Bool => match t {
            "true" => J::Bool(true),
            "false" => J::Bool(false),
            _ => {
                return err(
                    path,
                    format!("“{t}”应为 true 或 false (expected true or false)"),
                );
            }
        },
        Type::Int => match t.parse::<i64>() {
            Ok(i) => J::from(i),
            Err(_) => {
                return err(path, format!("“{t}”应为整数 (expected a whole number)"));
            }
        },
        _ => return from_text(lib, ty, t, path),
    };
    typed(lib, ty, &v, path)
}

fn check_keys(map: &Map<String, J>, path: &str, allowed: &[&str]) -> Result<(), InputError> {
    for k in map.keys() {
        if !allowed.contains(&k.as_str()) {
            return err(
                &format!("{path}.{k}"),
                format!(
                    "unknown field `{k}`; expected one of: {}",
                    allowed.join(", ")
                ),
            );
        }
    }
    Ok(())
}

/// Parses an input document. `as_of` from the command line overrides the document's.
pub fn parse_input(lib: &Library, text: &str, as_of: Option<Date>) -> Result<Input, InputError> {
    let root: J = serde_json::from_str(text).or_else(|e| {
        err(
            &format!("$ (line {}, column {})", e.line(), e.column()),
            format!("not valid JSON: {e}"),
        )
    })?;
    parse_input_value(lib, &root, as_of)
}

/// [`parse_input`] of a document already parsed as JSON (the store builds its documents as
/// values: writing them out only to parse them again costs an approval time for nothing).
pub fn parse_input_value(
    lib: &Library,
    root: &J,
    as_of: Option<Date>,
) -> Result<Input, InputError> {
    let top = object(root, "$")?;
    check_keys(
        top,
        "$",
        &["schema", "as_of", "applicant", "events", "history"],
    )?;
    match top.get("schema") {
        Some(J::String(s)) if s == INPUT_SCHEMA => {}
        Some(J::String(s)) => {
            return err(
                "$.schema",
                format!("unsupported schema “{s}”; this version reads “{INPUT_SCHEMA}”"),
            );
        }
        Some(other) => {
            return err(
                "$.schema",
                format!("expected a string, found {}", kind_of(other)),
            );
        }
        None => {
            return err(
                "$.schema",
                format!("missing; write \"schema\": \"{INPUT_SCHEMA}\""),
            );
        }
    }
    let as_of = match (as_of, top.get("as_of")) {
        (Some(d), _) => d,
        (None, Some(v)) => parse_date(v, "$.as_of")?,
        (None, None) => {
            return err(
                "$.as_of",
                "missing: give the evaluation date here or with --date",
            );
        }
    };
    let applicant = parse_applicant(lib, top.get("applicant").unwrap_or(&J::Null))?;
    let mut events = Vec::new();
    if let Some(v) = top.get("events") {
        let arr = v.as_array().map_or_else(
            || {
                err(
                    "$.events",
                    format!("expected an array, found {}", kind_of(v)),
                )
            },
            Ok,
        )?;
        let mut ids = std::collections::HashSet::new();
        for (i, e) in arr.iter().enumerate() {
            let ev = parse_event(lib, e, &format!("$.events[{i}]"))?;
            if !ids.insert(ev.id.clone()) {
                return err(
                    &format!("$.events[{i}].id"),
                    format!("event id “{}” is used twice", ev.id),
                );
            }
            events.push(ev);
        }
    }
    let mut history = Vec::new();
    if let Some(v) = top.get("history") {
        let arr = v.as_array().map_or_else(
            || {
                err(
                    "$.history",
                    format!("expected an array, found {}", kind_of(v)),
                )
            },
            Ok,
        )?;
        for (i, h) in arr.iter().enumerate() {
            history.push(parse_prior(lib, h, &format!("$.history[{i}]"))?);
        }
    }
    Ok(Input {
        as_of,
        applicant,
        events,
        history,
    })
}

fn parse_applicant(lib: &Library, v: &J) -> Result<Applicant, InputError> {
    let path = "$.applicant";
    if v.is_null() {
        return err(
            path,
            "缺少申报主体信息 (missing: the applicant is required)",
        );
    }
    let map = object(v, path)?;
    let vocab = &lib.vocab;
    let mut allowed: Vec<&str> = vec!["id", "name", "certifications", "figures"];
    allowed.extend(
        vocab
            .applicant
            .iter()
            .map(|f| f.name.as_str())
            .filter(|n| *n != "name"),
    );
    check_keys(map, path, &allowed)?;
    let id = match map.get("id") {
        Some(v) => string(v, "$.applicant.id")?.to_string(),
        None => String::new(),
    };
    let name = match map.get("name") {
        Some(v) => string(v, "$.applicant.name")?.to_string(),
        None => String::new(),
    };
    let mut fields = Vec::with_capacity(vocab.applicant.len());
    for f in &vocab.applicant {
        if f.name == "name" {
            fields.push(if name.is_empty() {
                Value::Unknown
            } else {
                Value::Text(name.clone())
            });
            continue;
        }
        let fp = format!("{path}.{}", f.name);
        fields.push(match map.get(&f.name) {
            Some(v) => typed(lib, f.ty, v, &fp)?,
            None => Value::Unknown,
        });
    }
    let mut certifications = Vec::new();
    if let Some(v) = map.get("certifications") {
        let arr = v.as_array().map_or_else(
            || {
                err(
                    "$.applicant.certifications",
                    format!("expected an array, found {}", kind_of(v)),
                )
            },
            Ok,
        )?;
        for (i, c) in arr.iter().enumerate() {
            let cp = format!("$.applicant.certifications[{i}]");
            let cm = object(c, &cp)?;
            check_keys(cm, &cp, &["cert", "date"])?;
            let cert = typed(
                lib,
                Type::Enum(vocab.certification),
                cm.get("cert").unwrap_or(&J::Null),
                &format!("{cp}.cert"),
            )?;
            let Value::Enum(_, m) = cert else {
                return err(
                    &format!("{cp}.cert"),
                    "缺少资质类型 (missing: which certification)",
                );
            };
            let date = parse_date(cm.get("date").unwrap_or(&J::Null), &format!("{cp}.date"))?;
            certifications.push((m, date));
        }
    }
    let mut figures = Vec::new();
    if let Some(v) = map.get("figures") {
        let years = object(v, "$.applicant.figures")?;
        for (y, vals) in years {
            let yp = format!("$.applicant.figures.{y}");
            let year: i64 = match y.parse() {
                Ok(n) if (1900..=2200).contains(&n) => n,
                _ => return err(&yp, format!("“{y}”不是年份 (not a year)")),
            };
            for (k, val) in object(vals, &yp)? {
                let fp = format!("{yp}.{k}");
                let Some(fid) = vocab.figure_by_name(k) else {
                    let names: Vec<&str> = vocab.figures.iter().map(|f| f.name.as_str()).collect();
                    return err(
                        &fp,
                        format!("unknown figure `{k}`; figures: {}", names.join(", ")),
                    );
                };
                let value = typed(lib, vocab.figures[fid].ty, val, &fp)?;
                figures.push((fid, year, value));
            }
        }
    }
    Ok(Applicant {
        id,
        name,
        fields,
        certifications,
        figures,
    })
}

fn parse_event(lib: &Library, v: &J, path: &str) -> Result<Event, InputError> {
    let map = object(v, path)?;
    let kind_name =
        string(map.get("kind").unwrap_or(&J::Null), &format!("{path}.kind")).or_else(|_| {
            err(
                &format!("{path}.kind"),
                "缺少事项类型 (missing: the event kind)",
            )
        })?;
    let Some(kind) = lib.vocab.event_by_name(kind_name) else {
        let names: Vec<&str> = lib.vocab.events.iter().map(|e| e.name.as_str()).collect();
        return err(
            &format!("{path}.kind"),
            format!(
                "未知的事项类型“{kind_name}” (unknown event kind; one of: {})",
                names.join(", ")
            ),
        );
    };
    let def = &lib.vocab.events[kind];
    let mut allowed: Vec<&str> = vec!["id", "kind", "date"];
    allowed.extend(def.fields.iter().map(|f| f.name.as_str()));
    check_keys(map, path, &allowed)?;
    let id = string(map.get("id").unwrap_or(&J::Null), &format!("{path}.id"))
        .or_else(|_| {
            err(
                &format!("{path}.id"),
                "缺少事项编号 (missing: every event needs an id)",
            )
        })?
        .to_string();
    let date = parse_date(map.get("date").unwrap_or(&J::Null), &format!("{path}.date"))?;
    let mut fields = Vec::with_capacity(def.fields.len());
    for f in &def.fields {
        fields.push(match map.get(&f.name) {
            Some(v) => typed(lib, f.ty, v, &format!("{path}.{}", f.name))?,
            None => Value::Unknown,
        });
    }
    Ok(Event {
        id,
        kind,
        date,
        fields,
    })
}

fn parse_prior(lib: &Library, v: &J, path: &str) -> Result<PriorAward, InputError> {
    let map = object(v, path)?;
    check_keys(
        map,
        path,
        &["measure", "date", "amount", "activity", "item", "base"],
    )?;
    let measure = string(
        map.get("measure").unwrap_or(&J::Null),
        &format!("{path}.measure"),
    )?
    .to_string();
    if lib.measure(&measure).is_none() {
        return err(
            &format!("{path}.measure"),
            format!("unknown measure “{measure}”"),
        );
    }
    let date = parse_date(map.get("date").unwrap_or(&J::Null), &format!("{path}.date"))?;
    let amount = money(
        map.get("amount").unwrap_or(&J::Null),
        &format!("{path}.amount"),
    )?;
    let opt_text = |k: &str| -> Result<Option<String>, InputError> {
        match map.get(k) {
            None | Some(J::Null) => Ok(None),
            Some(v) => Ok(Some(string(v, &format!("{path}.{k}"))?.to_string())),
        }
    };
    let base = match map.get("base") {
        None | Some(J::Null) => None,
        Some(v) => Some(money(v, &format!("{path}.base"))?),
    };
    Ok(PriorAward {
        measure,
        date,
        amount,
        activity: opt_text("activity")?,
        item: opt_text("item")?,
        base,
    })
}

//! The columns of the population table, derived from the library's vocabulary, and the text of
//! a value in a cell.

use kc_check::Library;
use kc_check::ir::Value;
use kc_eval::{Input, PriorAward};
use serde_json::{Value as J, json};

pub const APPLICANT: &str = "applicant";
pub const NAME: &str = "name";
pub const AS_OF: &str = "as_of";
pub const CERTIFICATIONS: &str = "certifications";
pub const FIGURES: &str = "figures";
pub const HISTORY: &str = "history";
pub const EVENT: &str = "event";
pub const EVENT_KIND: &str = "event_kind";
pub const EVENT_DATE: &str = "event_date";

/// The columns a library's population table has, in the order the writers write them.
#[derive(Clone, Debug)]
pub struct Layout {
    pub names: Vec<String>,
    /// (slot in the applicant record, column) of every applicant field but `name`, which has
    /// its own column.
    pub applicant_fields: Vec<(usize, String)>,
    /// Every field name of any event type, in the order of first declaration; the column is
    /// `event.<name>`.
    pub event_fields: Vec<String>,
}

impl Layout {
    pub fn is_date(name: &str) -> bool {
        name == AS_OF || name == EVENT_DATE
    }
    pub fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

pub fn layout(lib: &Library) -> Layout {
    let v = &lib.vocab;
    let applicant_fields: Vec<(usize, String)> = v
        .applicant
        .iter()
        .enumerate()
        .filter(|(_, f)| f.name != NAME)
        .map(|(i, f)| (i, format!("applicant.{}", f.name)))
        .collect();
    let mut event_fields: Vec<String> = Vec::new();
    for e in &v.events {
        for f in &e.fields {
            if !event_fields.contains(&f.name) {
                event_fields.push(f.name.clone());
            }
        }
    }
    let mut names: Vec<String> = [APPLICANT, NAME, AS_OF].map(String::from).to_vec();
    names.extend(applicant_fields.iter().map(|(_, c)| c.clone()));
    names.extend(
        [
            CERTIFICATIONS,
            FIGURES,
            HISTORY,
            EVENT,
            EVENT_KIND,
            EVENT_DATE,
        ]
        .map(String::from),
    );
    names.extend(event_fields.iter().map(|f| format!("event.{f}")));
    Layout {
        names,
        applicant_fields,
        event_fields,
    }
}

/// The text of a value as eval-input JSON would hold it; `None` for a fact not given.
pub fn value_text(lib: &Library, v: &Value) -> Option<String> {
    Some(match v {
        Value::Unknown => return None,
        Value::Money(m) => m.plain(),
        Value::Rate(r, u) => r.display_in(*u),
        Value::Int(i) => i.to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Date(d) => d.to_string(),
        Value::Text(s) => s.clone(),
        Value::Enum(e, m) => lib.vocab.member_name(*e, *m).to_string(),
    })
}

/// A value as eval-input JSON: booleans and whole numbers as JSON, everything else as text.
pub fn value_json(lib: &Library, v: &Value) -> J {
    match v {
        Value::Unknown => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        other => J::String(value_text(lib, other).unwrap_or_default()),
    }
}

/// `cert@date;cert@date`.
pub fn certifications_text(lib: &Library, input: &Input) -> Option<String> {
    let a = &input.applicant;
    (!a.certifications.is_empty()).then(|| {
        a.certifications
            .iter()
            .map(|(m, d)| format!("{}@{d}", lib.vocab.member_name(lib.vocab.certification, *m)))
            .collect::<Vec<_>>()
            .join(";")
    })
}

/// `figure@year=value;…`.
pub fn figures_text(lib: &Library, input: &Input) -> Option<String> {
    let a = &input.applicant;
    let parts: Vec<String> = a
        .figures
        .iter()
        .filter_map(|(f, y, v)| {
            value_text(lib, v).map(|t| format!("{}@{y}={t}", lib.vocab.figures[*f].name))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(";"))
}

pub fn prior_json(p: &PriorAward) -> J {
    let mut o =
        json!({"measure": p.measure, "date": p.date.to_string(), "amount": p.amount.plain()});
    if let Some(a) = &p.activity {
        o["activity"] = J::String(a.clone());
    }
    if let Some(i) = &p.item {
        o["item"] = J::String(i.clone());
    }
    if let Some(b) = p.base {
        o["base"] = J::String(b.plain());
    }
    o
}

/// The history as a JSON array (the `history` of eval-input), `None` when empty.
pub fn history_text(input: &Input) -> Option<String> {
    (!input.history.is_empty())
        .then(|| J::Array(input.history.iter().map(prior_json).collect()).to_string())
}

/// An input as one `kechuang/eval-input/v1` document.
pub fn input_json(lib: &Library, input: &Input) -> J {
    let v = &lib.vocab;
    let a = &input.applicant;
    let mut app = serde_json::Map::new();
    app.insert("id".into(), J::String(a.id.clone()));
    if !a.name.is_empty() {
        app.insert("name".into(), J::String(a.name.clone()));
    }
    for (f, val) in v.applicant.iter().zip(&a.fields) {
        if f.name != NAME && *val != Value::Unknown {
            app.insert(f.name.clone(), value_json(lib, val));
        }
    }
    if !a.certifications.is_empty() {
        app.insert(
            "certifications".into(),
            a.certifications
                .iter()
                .map(|(m, d)| json!({"cert": v.member_name(v.certification, *m), "date": d.to_string()}))
                .collect(),
        );
    }
    if !a.figures.is_empty() {
        let mut years: std::collections::BTreeMap<String, serde_json::Map<String, J>> =
            Default::default();
        for (f, y, val) in &a.figures {
            years
                .entry(y.to_string())
                .or_default()
                .insert(v.figures[*f].name.clone(), value_json(lib, val));
        }
        app.insert(
            "figures".into(),
            years.into_iter().map(|(y, m)| (y, J::Object(m))).collect(),
        );
    }
    let events: Vec<J> = input
        .events
        .iter()
        .map(|e| {
            let def = &v.events[e.kind];
            let mut o = serde_json::Map::new();
            o.insert("id".into(), J::String(e.id.clone()));
            o.insert("kind".into(), J::String(def.name.clone()));
            o.insert("date".into(), J::String(e.date.to_string()));
            for (f, val) in def.fields.iter().zip(&e.fields) {
                if *val != Value::Unknown {
                    o.insert(f.name.clone(), value_json(lib, val));
                }
            }
            J::Object(o)
        })
        .collect();
    let mut doc = json!({
        "schema": kc_wire::INPUT_SCHEMA,
        "as_of": input.as_of.to_string(),
        "applicant": app,
        "events": events,
    });
    if !input.history.is_empty() {
        doc["history"] = J::Array(input.history.iter().map(prior_json).collect());
    }
    doc
}

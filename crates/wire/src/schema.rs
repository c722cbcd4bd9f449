//! The JSON Schema (draft 2020-12) of `kechuang/eval-input/v1`, generated from the library's
//! vocabulary: the eligibility checker's forms and any client can validate input with it.

use kc_check::ir::*;
use serde_json::{Map, Value as J, json};

fn type_schema(lib: &Library, t: Type) -> J {
    match t {
        Type::Money => json!({"$ref": "#/$defs/money"}),
        Type::Rate => json!({"$ref": "#/$defs/rate"}),
        Type::Int => {
            json!({"type": ["integer", "null"], "minimum": -1_000_000_000, "maximum": 1_000_000_000})
        }
        Type::Decimal => json!({"type": ["number", "string", "null"]}),
        Type::Bool => json!({"type": ["boolean", "null"]}),
        Type::Date => json!({"$ref": "#/$defs/date"}),
        Type::Text => json!({"type": ["string", "null"]}),
        Type::Enum(e) => json!({"$ref": format!("#/$defs/{}", lib.vocab.enums[e].name)}),
    }
}

fn field_schema(lib: &Library, f: &FieldDef) -> J {
    let mut s = type_schema(lib, f.ty);
    let o = s.as_object_mut().expect("schema object");
    o.insert("title".into(), json!(f.label.zh));
    if let Some(en) = &f.label.en {
        o.insert("x-title-en".into(), json!(en));
    }
    if let Some(h) = &f.label.help {
        o.insert("description".into(), json!(h));
    }
    let unit = f
        .label
        .unit
        .clone()
        .or_else(|| (f.ty == Type::Money).then(|| "元".to_string()));
    if let Some(u) = unit {
        o.insert("x-unit".into(), json!(u));
    }
    s
}

pub fn input_schema(lib: &Library) -> J {
    let v = &lib.vocab;
    let mut defs = Map::new();
    defs.insert("money".into(), json!({
        "description": "An amount in 元, exact: a string or number with at most two decimals, not negative.",
        "type": ["string", "number", "null"],
        "pattern": "^[0-9][0-9,_]*(\\.[0-9]{1,2})?$", "minimum": 0
    }));
    defs.insert(
        "rate".into(),
        json!({"type": ["string", "null"], "pattern": "^[0-9.]+(%|‰)?$"}),
    );
    defs.insert(
        "date".into(),
        json!({"type": ["string", "null"], "format": "date"}),
    );
    for e in &v.enums {
        let mut values: Vec<J> = Vec::new();
        for m in &e.members {
            values.push(json!(m.name));
            values.push(json!(m.label.zh));
        }
        defs.insert(
            e.name.clone(),
            json!({
                "title": e.label.zh, "x-title-en": e.label.en,
                "description": "A member's name or its Chinese label.",
                "enum": values,
            }),
        );
    }
    let mut applicant_props = Map::new();
    applicant_props.insert(
        "id".into(),
        json!({"type": "string", "title": "统一社会信用代码"}),
    );
    applicant_props.insert("name".into(), json!({"type": "string", "title": "名称"}));
    for f in &v.applicant {
        if f.name != "name" {
            applicant_props.insert(f.name.clone(), field_schema(lib, f));
        }
    }
    applicant_props.insert("certifications".into(), json!({
        "type": "array",
        "items": {"type": "object", "additionalProperties": false, "required": ["cert", "date"],
                  "properties": {"cert": {"$ref": format!("#/$defs/{}", v.enums[v.certification].name)},
                                 "date": {"$ref": "#/$defs/date"}}}
    }));
    let mut figure_props = Map::new();
    for f in &v.figures {
        figure_props.insert(
            f.name.clone(),
            field_schema(
                lib,
                &FieldDef {
                    name: f.name.clone(),
                    label: f.label.clone(),
                    ty: f.ty,
                },
            ),
        );
    }
    applicant_props.insert("figures".into(), json!({
        "type": "object", "title": "年度数据",
        "propertyNames": {"pattern": "^[0-9]{4}$"},
        "additionalProperties": {"type": "object", "additionalProperties": false, "properties": figure_props}
    }));
    let events: Vec<J> = v
        .events
        .iter()
        .map(|e| {
            let mut props = Map::new();
            props.insert("id".into(), json!({"type": "string"}));
            props.insert("kind".into(), json!({"const": e.name}));
            props.insert("date".into(), json!({"$ref": "#/$defs/date"}));
            for f in &e.fields {
                props.insert(f.name.clone(), field_schema(lib, f));
            }
            json!({"title": e.label.zh, "x-title-en": e.label.en, "type": "object",
                   "additionalProperties": false, "required": ["id", "kind", "date"], "properties": props})
        })
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": crate::INPUT_SCHEMA,
        "title": "kechuang 政策计算输入 (eval input)",
        "type": "object",
        "additionalProperties": false,
        "required": ["schema", "applicant"],
        "properties": {
            "schema": {"const": crate::INPUT_SCHEMA},
            "as_of": {"$ref": "#/$defs/date", "title": "评估日期"},
            "applicant": {"type": "object", "title": v.applicant_label.zh, "additionalProperties": false, "properties": applicant_props},
            "events": {"type": "array", "items": {"oneOf": events}},
            "history": {"type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["measure", "date", "amount"],
                "properties": {
                    "measure": {"enum": lib.measures.iter().map(|m| m.id.clone()).collect::<Vec<_>>()},
                    "date": {"$ref": "#/$defs/date"}, "amount": {"$ref": "#/$defs/money"},
                    "activity": {"type": ["string", "null"]}, "item": {"type": ["string", "null"]},
                    "base": {"$ref": "#/$defs/money"}
                }
            }}
        },
        "$defs": defs,
    })
}

//! [`kc_eval::Evaluation`] → `kechuang/eval-output/v1`. Keys are in a fixed order and
//! amounts are strings with two decimals, so output is stable for diffs and snapshots.

use kc_check::ir::Library;
use kc_eval::{Evaluation, Input, Outcome};
use serde_json::{Value as J, json};

pub const OUTPUT_SCHEMA: &str = "kechuang/eval-output/v1";

fn outcome(lib: &Library, input: &Input, o: &Outcome) -> J {
    let m = &lib.measures[o.measure];
    let doc = &lib.documents[m.doc];
    let award = o.award.as_ref();
    json!({
        "measure": m.id,
        "title": m.label.zh,
        "title_en": m.label.en,
        "document": doc.number,
        "clause": m.clause.id,
        "clause_heading": m.clause.heading,
        "form": m.form.map(|f| f.zh()),
        "form_code": m.form.map(|f| f.code()),
        "event": o.event.map(|i| input.events[i].id.clone()),
        "status": o.status.code(),
        "amount_kind": award.map(|a| a.kind.code()),
        "amount": award.and_then(|a| a.amount).map(|x| x.plain()),
        "range": award.and_then(|a| a.range).map(|(lo, hi)| json!({"from": lo.plain(), "to": hi.plain()})),
        "split": award.map(|a| a.split.iter().map(|(l, x)| json!({
            "level": l.keyword(), "level_zh": l.zh(), "amount": x.plain()
        })).collect::<Vec<_>>()).unwrap_or_default(),
        "trace": award.map(|a| a.describe_trace(lib, m).into_iter().map(|(kind, text)| json!({
            "kind": kind.code(), "text": text, "clause": m.clause.id
        })).collect::<Vec<_>>()).unwrap_or_default(),
        "conditions": o.conditions.iter().map(|c| {
            let (text, facts) = c.describe(lib, m);
            json!({"text": text, "status": c.status.code(), "facts": facts})
        }).collect::<Vec<_>>(),
        "reason": o.reason(lib, false),
        "reason_en": o.reason(lib, true),
        "record": award.filter(|_| o.status == kc_eval::Status::Awarded).map(|a| json!({
            "activity": a.activity, "item": a.item, "base": a.base.map(|b| b.plain())
        })),
    })
}

/// The whole evaluation as a JSON document.
pub fn to_json(lib: &Library, input: &Input, ev: &Evaluation) -> J {
    let awarded: Vec<&Outcome> = ev.awarded().collect();
    let fixed: kc_money::Money = awarded
        .iter()
        .filter_map(|o| o.award.as_ref())
        .filter(|a| a.kind == kc_eval::AmountKind::Fixed)
        .filter_map(|a| a.amount)
        .sum();
    let up_to: kc_money::Money = awarded
        .iter()
        .filter_map(|o| o.award.as_ref())
        .filter_map(|a| a.amount)
        .sum();
    json!({
        "schema": OUTPUT_SCHEMA,
        "as_of": input.as_of.to_string(),
        "applicant": {"id": input.applicant.id, "name": input.applicant.name},
        "summary": {
            "awarded": awarded.len(),
            "fixed_total": fixed.plain(),
            "up_to_total": up_to.plain(),
            "review": awarded.iter().filter(|o| o.award.as_ref().is_some_and(|a| a.amount.is_none())).count(),
        },
        "outcomes": ev.outcomes.iter().map(|o| outcome(lib, input, o)).collect::<Vec<_>>(),
    })
}

/// The calculator's view, small enough to serve thousands of times a second: every award with
/// its amount, split and trace; every "possible, if …" outcome with only its open conditions;
/// every outcome within reach with the event it needs and the amount it would bring; the
/// measures not met only counted. The full document stays one query parameter away.
pub fn to_json_summary(lib: &Library, input: &Input, ev: &Evaluation) -> J {
    use kc_eval::Status;
    let mut outcomes = Vec::new();
    let mut not_met = 0;
    for o in &ev.outcomes {
        let m = &lib.measures[o.measure];
        let doc = &lib.documents[m.doc];
        let award = o.award.as_ref();
        let head = |extra: J| {
            let mut base = json!({
                "measure": m.id, "title": m.label.zh, "document": doc.number, "clause": m.clause.id,
                "status": o.status.code(), "event": o.event.map(|i| input.events[i].id.clone()),
                "amount_kind": award.map(|a| a.kind.code()), "amount": award.and_then(|a| a.amount).map(|x| x.plain()),
            });
            if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
                b.extend(e.clone());
            }
            base
        };
        match o.status {
            Status::NotMet => not_met += 1,
            Status::Awarded => outcomes.push(head(json!({
                "form": m.form.map(|f| f.zh()),
                "range": award.and_then(|a| a.range).map(|(lo, hi)| json!({"from": lo.plain(), "to": hi.plain()})),
                "split": award.map(|a| a.split.iter().map(|(l, x)| json!({"level": l.keyword(), "amount": x.plain()})).collect::<Vec<_>>()).unwrap_or_default(),
                "trace": award.map(|a| a.describe_trace(lib, m).into_iter().map(|(_, t)| t).collect::<Vec<_>>()).unwrap_or_default(),
            }))),
            Status::Possible => outcomes.push(head(json!({
                "open": o.conditions.iter().filter(|c| c.status != kc_eval::Tri::Met).map(|c| {
                    let (text, facts) = c.describe(lib, m);
                    json!({"text": text, "status": c.status.code(), "facts": facts})
                }).collect::<Vec<_>>(),
            }))),
            Status::Potential => outcomes.push(head(json!({
                "needs_event": lib.vocab.events[m.event].name, "needs_event_zh": lib.vocab.events[m.event].label.zh,
            }))),
        }
    }
    json!({
        "schema": OUTPUT_SCHEMA,
        "detail": "summary",
        "as_of": input.as_of.to_string(),
        "applicant": {"id": input.applicant.id, "name": input.applicant.name},
        "outcomes": outcomes,
        "not_met": not_met,
    })
}

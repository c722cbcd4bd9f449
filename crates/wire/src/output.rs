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

/// The calculator's view: every award, every "possible, if …" and "within reach" outcome in
/// full, and the measures not met only counted. A fraction of the full document's size, which
/// is what an eligibility check over HTTP needs (the full view stays one query parameter away).
pub fn to_json_summary(lib: &Library, input: &Input, ev: &Evaluation) -> J {
    let mut full = to_json(lib, input, ev);
    let outcomes = full["outcomes"]
        .as_array_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let (kept, not_met): (Vec<J>, Vec<J>) =
        outcomes.into_iter().partition(|o| o["status"] != "not_met");
    full["outcomes"] = J::Array(kept);
    full["not_met"] = json!(not_met.len());
    full["detail"] = json!("summary");
    full
}

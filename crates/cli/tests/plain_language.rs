//! The plain-language layer over the whole shipped library: every condition, amount rule,
//! once rule, cap and binding has words, and no identifier of the rule language
//! (`applicant.region`, `hunnan`, `smart_mfg_rate`, `loan_costs`) reaches them. Then every
//! scenario of tests/scenarios is evaluated and every condition and every trace step of every
//! outcome is described in Chinese and English, checked the same way, and each kind of
//! condition and step is seen at least once (so a new kind cannot slip past without words).

use kc_check::ir::{Library, NodeKind, OnceRule};
use kc_eval::{Check, Step, plain};
use std::collections::BTreeSet;
use std::path::Path;

fn library() -> Library {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (files, checked) = kc_library::load(&root.join("policies")).expect("policies load");
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    checked.library.unwrap()
}

/// Every name the rule language uses: fields, members, events, figures, parameters, bindings,
/// measures, enums.
fn identifiers(lib: &Library) -> BTreeSet<String> {
    let v = &lib.vocab;
    let mut out = BTreeSet::new();
    for e in &v.enums {
        out.insert(e.name.clone());
        out.extend(e.members.iter().map(|m| m.name.clone()));
    }
    out.extend(v.applicant.iter().map(|f| f.name.clone()));
    for e in &v.events {
        out.insert(e.name.clone());
        out.extend(e.fields.iter().map(|f| f.name.clone()));
    }
    out.extend(v.figures.iter().map(|f| f.name.clone()));
    out.extend(lib.parameters.iter().map(|p| p.name.clone()));
    for m in &lib.measures {
        out.insert(m.id.clone());
        out.extend(m.lets.iter().map(|b| b.name.clone()));
    }
    out
}

/// The ASCII words of `text` that are identifiers of the library. In Chinese text every
/// identifier counts; in English text only those no English sentence would contain (with an
/// underscore, or a dotted path), since `city` or `enterprise` are also English words.
fn leaks(ids: &BTreeSet<String>, text: &str, en: bool) -> Vec<String> {
    let mut out = Vec::new();
    if text.contains("applicant.") || text.contains("event.") {
        out.push("a dotted path".to_string());
    }
    for w in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if w.is_empty() || w.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let snake = w.contains('_');
        if snake || (!en && ids.contains(w)) {
            out.push(w.to_string());
        }
    }
    out
}

fn assert_plain(ids: &BTreeSet<String>, what: &str, text: &str, en: bool) {
    assert!(!text.trim().is_empty(), "{what}: no words");
    let l = leaks(ids, text, en);
    assert!(l.is_empty(), "{what}: identifiers {l:?} in “{text}”");
}

#[test]
fn every_rule_of_the_library_has_plain_words() {
    let lib = library();
    let ids = identifiers(&lib);
    let mut n = 0;
    for m in &lib.measures {
        for en in [false, true] {
            for i in 0..m.conditions.len() {
                let w = plain::condition_words(&lib, m, i, en);
                assert_plain(&ids, &format!("{} condition {i}", m.id), &w, en);
                n += 1;
            }
            assert_plain(
                &ids,
                &format!("{} amount", m.id),
                &plain::grant_words(&lib, m, en),
                en,
            );
            for w in plain::split_words(&lib, m, en) {
                assert_plain(&ids, &format!("{} split", m.id), &w, en);
            }
            for o in &m.once {
                if let OnceRule::PerKey(k) = o {
                    assert_plain(
                        &ids,
                        &format!("{} once", m.id),
                        &plain::words(&lib, m, k, en),
                        en,
                    );
                }
            }
            for b in &m.lets {
                assert_plain(&ids, &format!("{} let {}", m.id, b.name), &b.words, false);
                assert_plain(
                    &ids,
                    &format!("{} let {}", m.id, b.name),
                    &plain::words(&lib, m, &b.node, en),
                    en,
                );
            }
        }
    }
    assert!(n > 300, "only {n} conditions walked");
    for p in &lib.parameters {
        assert_plain(&ids, &format!("parameter {}", p.name), &p.label.zh, false);
    }
}

/// A hand-checked example of each shape: the words are the ones a clerk would say.
#[test]
fn the_words_read_as_the_clause_does() {
    let lib = library();
    let m = lib.measure("lc_tech_innovation_demo").unwrap();
    assert_eq!(
        plain::grant_words(&lib, m, false),
        "最高 按资质类型:国家级技术创新示范企业 200万元;省级技术创新示范企业 100万元"
    );
    // `when applicant.region within liaocheng` has no author's words: built from the labels.
    assert_eq!(
        plain::condition_words(&lib, m, 1, false),
        "所在地区属于聊城市"
    );
    let m = lib.measure("ip_pledge_loan").unwrap();
    let b = &m.lets[0];
    assert_eq!(b.words, "贷款费用(利息、评估费、担保费合计)");
    let w = plain::words(&lib, m, &b.node, false);
    assert!(!w.contains("interest"), "{w}");
    assert!(w.contains(" + "), "{w}");
}

#[test]
fn every_scenario_outcome_is_described_without_identifiers() {
    let lib = library();
    let ids = identifiers(&lib);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios");
    let mut checks = BTreeSet::new();
    let mut steps = BTreeSet::new();
    let mut reasons = 0;
    for path in kc_scenario::files_in(&dir).unwrap() {
        let sc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let input = kc_wire::parse_input(&lib, &sc["input"].to_string(), None).unwrap();
        let ev = kc_eval::evaluate(&lib, &input);
        for o in &ev.outcomes {
            let m = &lib.measures[o.measure];
            let at = format!("{} / {}", path.display(), m.id);
            for en in [false, true] {
                for c in &o.conditions {
                    checks.insert(check_kind(&c.check));
                    let (t, f) = c.describe_in(&lib, m, en);
                    assert_plain(&ids, &at, &t, en);
                    if !f.is_empty() {
                        let l = leaks(&ids, &f, en);
                        assert!(l.is_empty(), "{at}: identifiers {l:?} in “{f}”");
                    }
                }
                if let Some(a) = &o.award {
                    for s in &a.trace {
                        steps.insert(step_kind(s));
                    }
                    for (_, line) in a.describe_trace_in(&lib, m, en) {
                        assert_plain(&ids, &at, &line, en);
                    }
                }
                if let Some(r) = o.reason(&lib, en) {
                    assert_plain(&ids, &at, &r, en);
                    reasons += 1;
                }
            }
        }
    }
    assert!(reasons > 1000, "only {reasons} reasons");
    for kind in [
        "validity",
        "expired",
        "event_missing",
        "rule",
        "once_per_applicant",
        "once_per_key",
        "consecutive",
        "recipient_cap",
        "tier_miss",
    ] {
        assert!(checks.contains(kind), "no scenario shows a {kind} check");
    }
    for kind in [
        "let",
        "formula",
        "part",
        "review",
        "parameter",
        "increment",
        "recipient_cap",
        "rounding",
        "split",
    ] {
        assert!(steps.contains(kind), "no scenario shows a {kind} step");
    }
    // Keep NodeKind in sight: a new kind of node must be given words in kc_eval::plain.
    let _exhaustive = |k: &NodeKind| match k {
        NodeKind::Const(_)
        | NodeKind::Param(_)
        | NodeKind::EventField(_)
        | NodeKind::EventDate
        | NodeKind::EventId
        | NodeKind::ApplicantField(_)
        | NodeKind::Let(_)
        | NodeKind::Neg(_)
        | NodeKind::Not(_)
        | NodeKind::Binary(..)
        | NodeKind::In(..)
        | NodeKind::Within(..)
        | NodeKind::Min(_)
        | NodeKind::Max(_)
        | NodeKind::Year(_)
        | NodeKind::Holds(..)
        | NodeKind::Figure(..)
        | NodeKind::Increment(..)
        | NodeKind::Tier(..)
        | NodeKind::Key(_) => (),
    };
}

fn check_kind(c: &Check) -> &'static str {
    match c {
        Check::Validity { .. } => "validity",
        Check::NotAfterAsOf { .. } => "not_after_as_of",
        Check::EventMissing => "event_missing",
        Check::Expired { .. } => "expired",
        Check::Rule { .. } => "rule",
        Check::OncePerApplicant { .. } => "once_per_applicant",
        Check::OncePerKey { .. } => "once_per_key",
        Check::Consecutive { .. } => "consecutive",
        Check::RecipientCap { .. } => "recipient_cap",
        Check::TierMiss { .. } => "tier_miss",
        Check::NonZero => "non_zero",
    }
}

fn step_kind(s: &Step) -> &'static str {
    match s {
        Step::Let { .. } => "let",
        Step::Formula { .. } => "formula",
        Step::Part { .. } => "part",
        Step::Review { .. } => "review",
        Step::Parameter { .. } => "parameter",
        Step::Increment { .. } => "increment",
        Step::RecipientCap { .. } => "recipient_cap",
        Step::Rounding { .. } => "rounding",
        Step::Split => "split",
    }
}

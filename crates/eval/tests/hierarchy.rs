//! A parent value is not a mismatch: where a rule names a child member of a hierarchical
//! enum (`x in [child, …]`, `x = child`, `x within child`) and the value given is one of its
//! ancestors, the condition is unknown, not false, and its words say the value is more
//! general than the clause requires.

use jiff::civil::date;
use kc_check::{Library, SourceFile, check_library, ir::Value};
use kc_eval::{Applicant, Event, Input, Status, Tri, evaluate};

const VOCAB: &str = r#"# 词表

```kc
enum ApplicantKind "申报主体类型" "Applicant kind" {
  enterprise "企业" "Enterprise",
  university "高等学校" "University",
}
enum Region "地区" "Region" {
  liaoning "辽宁省" "Liaoning" {
    shenyang "沈阳市" "Shenyang" {
      hunnan "浑南区" "Hunnan",
      heping "和平区" "Heping",
    },
  },
  other "其他地区" "Other",
}
enum Certification "资质" "Certification" {
  high_tech "高新技术企业" "High-tech",
}
enum Field "领域" "Field" {
  smart_manufacturing "智能制造" "Smart manufacturing" {
    smart_product "智能产品" "Smart product",
    smart_factory "智能工厂" "Smart factory",
  },
  smart_city "智慧城市" "Smart city",
}
record applicant "申报主体" "Applicant" {
  kind: ApplicantKind "主体类型" "Kind",
  region: Region "所在地区" "Region",
}
event invested "研发投入" "R&D invested" {
  field: Field "领域" "Field",
  amount: Money "投入" "Amount",
}
```
"#;

const DOC: &str = r#"# 测试文件

```kc
document "测试〔2023〕1号"
  title "层级词表测试"
  issuer "测试"
  published 2023-01-01
  valid 2023-01-01 .. 2025-12-31
  region liaoning
  funding city_only
```

## (一) 条款

> (一)对智能产品、智能工厂的研发给予10万元。

```kc
funding city_only "市财政" = city 100%

measure in_list "列举"
  clause "(一)"
  form 补助
  on invested
  when event.field in [smart_product, smart_factory] as "须为智能产品或智能工厂"
  grant 10万元

measure equals "等于"
  clause "(一)"
  form 补助
  on invested
  when event.field = smart_factory
  grant 10万元

measure not_equals "不等于"
  clause "(一)"
  form 补助
  on invested
  when event.field != smart_factory
  grant 10万元

measure by_tier "分档"
  clause "(一)"
  form 补助
  on invested
  grant tier event.field { smart_product => 10万元, smart_factory => 20万元 }

measure in_district "区内"
  clause "(一)"
  form 补助
  on invested
  when applicant.region within hunnan
  grant 10万元
```
"#;

fn library() -> Library {
    let files = [
        SourceFile {
            path: "vocabulary.md".into(),
            text: VOCAB.into(),
        },
        SourceFile {
            path: "doc.md".into(),
            text: DOC.into(),
        },
    ];
    let checked = check_library(&files);
    checked.library.unwrap_or_else(|| {
        panic!("fixture does not check: {:?}", checked.diagnostics);
    })
}

fn member(lib: &Library, en: &str, m: &str) -> Value {
    let e = lib.vocab.enum_by_name(en).unwrap();
    Value::Enum(e, lib.vocab.enums[e].member(m).unwrap())
}

fn input(lib: &Library, region: &str, field: &str) -> Input {
    let mut fields = vec![Value::Unknown; lib.vocab.applicant.len()];
    fields[lib.vocab.kind_slot] = member(lib, "ApplicantKind", "enterprise");
    fields[lib.vocab.region_slot] = member(lib, "Region", region);
    let kind = lib.vocab.event_by_name("invested").unwrap();
    Input {
        as_of: date(2023, 12, 31),
        applicant: Applicant {
            id: "x".into(),
            name: "示例企业".into(),
            fields,
            certifications: vec![],
            figures: vec![],
        },
        events: vec![Event {
            id: "e1".into(),
            kind,
            date: date(2023, 6, 1),
            fields: vec![member(lib, "Field", field), Value::Unknown],
        }],
        history: vec![],
    }
}

/// The status of a measure's outcome and the words of its last `when` condition.
fn outcome(lib: &Library, inp: &Input, id: &str) -> (Status, Tri, String) {
    let ev = evaluate(lib, inp);
    let mi = lib.measures.iter().position(|m| m.id == id).unwrap();
    let o = ev.outcomes.iter().find(|o| o.measure == mi).unwrap();
    let m = &lib.measures[mi];
    let c = o
        .conditions
        .iter()
        .rfind(|c| matches!(c.check, kc_eval::Check::Rule { .. }))
        .unwrap();
    let (text, facts) = c.describe(lib, m);
    (o.status, c.status, format!("{text} — {facts}"))
}

#[test]
fn a_parent_value_in_a_list_of_children_is_unknown_and_says_so() {
    let lib = library();
    let (status, cond, words) = outcome(
        &lib,
        &input(&lib, "hunnan", "smart_manufacturing"),
        "in_list",
    );
    assert_eq!(cond, Tri::Unknown, "{words}");
    assert_eq!(status, Status::Possible, "{words}");
    assert!(words.contains("“智能制造”比条款要求的更宽泛"), "{words}");
    assert!(words.contains("智能产品、智能工厂"), "{words}");
    // No identifier of the rule language in the words an applicant reads.
    assert!(!words.contains("smart_"), "{words}");
    let mi = lib.measures.iter().position(|m| m.id == "in_list").unwrap();
    let ev = evaluate(&lib, &input(&lib, "hunnan", "smart_manufacturing"));
    let o = ev.outcomes.iter().find(|o| o.measure == mi).unwrap();
    let c = o
        .conditions
        .iter()
        .rfind(|c| matches!(c.check, kc_eval::Check::Rule { .. }))
        .unwrap();
    let (_, facts_en) = c.describe_in(&lib, &lib.measures[mi], true);
    assert!(
        facts_en.contains("more general than the clause requires"),
        "{facts_en}"
    );
}

#[test]
fn a_child_matches_and_an_unrelated_value_is_still_a_mismatch() {
    let lib = library();
    let (status, cond, words) = outcome(&lib, &input(&lib, "hunnan", "smart_factory"), "in_list");
    assert_eq!((status, cond), (Status::Awarded, Tri::Met), "{words}");
    let (status, cond, words) = outcome(&lib, &input(&lib, "hunnan", "smart_city"), "in_list");
    assert_eq!((status, cond), (Status::NotMet, Tri::NotMet), "{words}");
    assert!(!words.contains("更宽泛"), "{words}");
    // A sibling is not an ancestor: a mismatch.
    let (status, _, words) = outcome(&lib, &input(&lib, "hunnan", "smart_product"), "equals");
    assert_eq!(status, Status::NotMet, "{words}");
}

#[test]
fn equality_with_a_child_is_unknown_for_its_parent_both_ways() {
    let lib = library();
    let inp = input(&lib, "hunnan", "smart_manufacturing");
    let (status, cond, words) = outcome(&lib, &inp, "equals");
    assert_eq!((status, cond), (Status::Possible, Tri::Unknown), "{words}");
    assert!(words.contains("须确认是否为智能工厂"), "{words}");
    let (status, cond, words) = outcome(&lib, &inp, "not_equals");
    assert_eq!((status, cond), (Status::Possible, Tri::Unknown), "{words}");
    // An unrelated value is decided as before.
    let inp = input(&lib, "hunnan", "smart_city");
    assert_eq!(outcome(&lib, &inp, "not_equals").0, Status::Awarded);
}

#[test]
fn within_a_district_is_unknown_for_its_city_and_province_but_false_elsewhere() {
    let lib = library();
    for region in ["shenyang", "liaoning"] {
        let (status, cond, words) =
            outcome(&lib, &input(&lib, region, "smart_city"), "in_district");
        assert_eq!(
            (status, cond),
            (Status::Possible, Tri::Unknown),
            "{region}: {words}"
        );
        assert!(words.contains("须确认是否为浑南区"), "{words}");
    }
    assert_eq!(
        outcome(&lib, &input(&lib, "hunnan", "smart_city"), "in_district").0,
        Status::Awarded
    );
    for region in ["heping", "other"] {
        let (status, cond, words) =
            outcome(&lib, &input(&lib, region, "smart_city"), "in_district");
        assert_eq!(
            (status, cond),
            (Status::NotMet, Tri::NotMet),
            "{region}: {words}"
        );
        assert!(!words.contains("更宽泛"), "{words}");
    }
}

#[test]
fn a_tier_on_children_is_unknown_for_their_parent_and_not_met_for_another_value() {
    let lib = library();
    let mi = lib.measures.iter().position(|m| m.id == "by_tier").unwrap();
    let tier = |field: &str| {
        let ev = evaluate(&lib, &input(&lib, "hunnan", field));
        let o = ev.outcomes.into_iter().find(|o| o.measure == mi).unwrap();
        let miss = o
            .conditions
            .iter()
            .find(|c| matches!(c.check, kc_eval::Check::TierMiss { .. }))
            .map(|c| (c.status, c.describe(&lib, &lib.measures[mi]).1));
        (o.status, miss)
    };
    let (status, miss) = tier("smart_manufacturing");
    assert_eq!(status, Status::Possible);
    let (cond, words) = miss.expect("a tier condition");
    assert_eq!(cond, Tri::Unknown);
    assert!(
        words.contains("比条款要求的更宽泛")
            && words.contains("智能产品、智能工厂")
            && !words.contains("smart_"),
        "{words}"
    );
    let (status, miss) = tier("smart_city");
    assert_eq!(status, Status::NotMet);
    assert_eq!(miss.map(|m| m.0), Some(Tri::NotMet));
    assert_eq!(tier("smart_factory"), (Status::Awarded, None));
}

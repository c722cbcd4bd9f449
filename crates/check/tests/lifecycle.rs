//! Errors in the policy lifecycle (amends, extends, repeals, replaces) and in application
//! windows and claim deadlines: each with its message and its line and column.

use kc_check::{Library, SourceFile, check_library};

const VOCAB: &str = r#"# 词表

```kc
enum ApplicantKind "申报主体类型" "Applicant kind" {
  enterprise "企业" "Enterprise",
}
enum Region "地区" "Region" {
  shenyang "沈阳市" "Shenyang",
}
enum Certification "资质" "Certification" {
  high_tech "高新技术企业" "High-tech",
}
record applicant "申报主体" "Applicant" {
  kind: ApplicantKind "主体类型" "Kind",
  region: Region "所在地区" "Region",
}
event invested "研发投入" "R&D invested" {
  amount: Money "投入" "Amount",
}
event certified "资质认定" "Certified" {
  cert: Certification "资质" "Certification",
}
```
"#;

/// Document 甲 (valid 2021 .. 2023) with one measure `a_grant` and `a_cert`.
const DOC_A: &str = r#"# 甲

```kc
document "甲〔2021〕1号"
  title "甲"
  published 2021-01-01
  valid 2021-01-01 .. 2023-12-31
  funding city_only
```

## (一) 条款

> (一)给予10万元。

```kc
funding city_only "市财政" = city 100%

measure a_grant "甲补助"
  clause "(一)"
  on invested
  grant 10万元

measure a_cert "甲认定奖励"
  clause "(一)"
  on certified
  grant 10万元
```
"#;

/// Document 乙 with `HEAD` added to its declaration and `BODY` as its rules.
fn doc_b(head: &str, body: &str) -> String {
    format!(
        r#"# 乙

```kc
document "乙〔2022〕1号"
  title "乙"
  published 2022-01-01
  valid 2022-01-01 .. 2025-12-31
  funding city_only
{head}
```

## (一) 条款

> (一)给予20万元。

```kc
funding city_only "市财政" = city 100%
{body}
```
"#
    )
}

const B_MEASURE: &str = r#"
measure b_grant "乙补助"
  clause "(一)"
  on invested
  grant 20万元
"#;

fn check(a: &str, b: &str) -> (Option<Library>, Vec<String>) {
    let files = vec![
        SourceFile {
            path: "vocabulary.md".into(),
            text: VOCAB.into(),
        },
        SourceFile {
            path: "a.md".into(),
            text: a.into(),
        },
        SourceFile {
            path: "b.md".into(),
            text: b.into(),
        },
    ];
    let checked = check_library(&files);
    let errors = checked
        .diagnostics
        .iter()
        .filter(|d| d.diagnostic.is_error())
        .map(|d| {
            let f = &files[d.file];
            let (line, col) = kc_syntax::line_col(&f.text, d.diagnostic.span.start);
            format!("{}:{line}:{col}: {}", f.path, d.diagnostic.message)
        })
        .collect();
    (checked.library, errors)
}

fn errors(a: &str, b: &str) -> Vec<String> {
    let (lib, errors) = check(a, b);
    assert!(lib.is_none(), "a library with errors must not be produced");
    errors
}

#[test]
fn an_unknown_target_document_is_named_at_its_number() {
    let b = doc_b(r#"  repeals "丙〔2020〕9号" from 2023-01-01"#, B_MEASURE);
    assert_eq!(
        errors(DOC_A, &b),
        ["b.md:9:11: unknown document “丙〔2020〕9号”"]
    );
}

#[test]
fn a_date_outside_the_target_window_changes_nothing() {
    let b = doc_b(r#"  repeals "甲〔2021〕1号" from 2024-01-01"#, B_MEASURE);
    assert_eq!(
        errors(DOC_A, &b),
        [
            "b.md:9:3: 甲〔2021〕1号 is in force 2021-01-01 .. 2023-12-31: a repeal from 2024-01-01 changes nothing"
        ]
    );
    let b = doc_b(r#"  extends "甲〔2021〕1号" to 2023-06-30"#, B_MEASURE);
    assert_eq!(
        errors(DOC_A, &b),
        [
            "b.md:9:3: an extension to 2023-06-30 does not extend 甲〔2021〕1号, in force until 2023-12-31"
        ]
    );
    // An amendment that takes effect before the amending document is in force.
    let b = doc_b(r#"  amends "甲〔2021〕1号" from 2021-06-01"#, B_MEASURE);
    assert_eq!(
        errors(DOC_A, &b),
        [
            "b.md:9:3: an amendment from 2021-06-01 is outside this document's own validity (2022-01-01 .. 2025-12-31)"
        ]
    );
}

#[test]
fn a_replacement_needs_an_amendment_of_the_replaced_measures_document() {
    let body = r#"
measure b_grant "乙补助"
  clause "(一)"
  on invested
  replaces a_grant
  grant 20万元
"#;
    assert_eq!(
        errors(DOC_A, &doc_b("", body)),
        [
            "b.md:22:12: measure `b_grant` replaces `a_grant` of 甲〔2021〕1号, which 乙〔2022〕1号 does not amend"
        ]
    );
    let unknown = body.replace("replaces a_grant", "replaces a_nothing");
    let head = r#"  amends "甲〔2021〕1号" from 2023-01-01"#;
    assert_eq!(
        errors(DOC_A, &doc_b(head, &unknown)),
        ["b.md:22:12: unknown measure `a_nothing`"]
    );
    let other_event = body.replace("replaces a_grant", "replaces a_cert");
    assert_eq!(
        errors(DOC_A, &doc_b(head, &other_event)),
        [
            "b.md:22:12: measure `b_grant` is triggered by another event than `a_cert`, which it replaces"
        ]
    );
}

#[test]
fn documents_cannot_change_each_other_in_a_cycle() {
    let a = DOC_A.replace(
        "  funding city_only\n```",
        "  funding city_only\n  amends \"乙〔2022〕1号\" from 2023-01-01\n```",
    );
    let b = doc_b(r#"  amends "甲〔2021〕1号" from 2023-01-01"#, B_MEASURE);
    assert_eq!(
        errors(&a, &b),
        [
            "b.md:9:3: documents change each other in a cycle: 甲〔2021〕1号 → 乙〔2022〕1号 → 甲〔2021〕1号"
        ]
    );
    let b = doc_b(r#"  repeals "乙〔2022〕1号" from 2023-01-01"#, B_MEASURE);
    assert_eq!(
        errors(DOC_A, &b),
        ["b.md:9:3: 乙〔2022〕1号 cannot repeal itself"]
    );
}

#[test]
fn window_errors_name_the_measure_the_document_or_the_dates() {
    let window = |w: &str| doc_b("", &format!("{B_MEASURE}\n{w}"));
    assert_eq!(
        errors(
            DOC_A,
            &window(
                "window w \"申报\" measures b_grant, b_none applications 2023-03-01 .. 2023-04-30"
            )
        ),
        ["b.md:24:33: unknown measure `b_none`"]
    );
    assert_eq!(
        errors(
            DOC_A,
            &window(
                "window w \"申报\" document \"丁〔2020〕1号\" applications 2023-03-01 .. 2023-04-30"
            )
        ),
        ["b.md:24:24: unknown document “丁〔2020〕1号”"]
    );
    assert_eq!(
        errors(
            DOC_A,
            &window("window w \"申报\" measures b_grant applications 2023-04-30 .. 2023-03-01")
        ),
        ["b.md:24:32: the window closes before it opens"]
    );
    assert_eq!(
        errors(
            DOC_A,
            &window(
                "window w \"申报\" measures b_grant applications 2023-03-01 .. 2023-04-30 events 2022-12-31 .. 2022-01-01"
            )
        ),
        ["b.md:24:70: the event period ends before it starts"]
    );
    assert_eq!(
        errors(
            DOC_A,
            &window(
                "window w \"申报\" clause \"(九)\" measures b_grant applications 2023-03-01 .. 2023-04-30"
            )
        ),
        ["b.md:24:15: clause `(九)` is not a heading of this file"]
    );
}

#[test]
fn syntax_errors_of_the_new_clauses() {
    let claim0 = B_MEASURE.replace("  grant 20万元", "  claim within 0 years\n  grant 20万元");
    assert_eq!(
        errors(DOC_A, &doc_b("", &claim0)),
        ["b.md:22:16: a claim period must be a whole number from 1 to 36500"]
    );
    let weeks = B_MEASURE.replace("  grant 20万元", "  claim within 2 weeks\n  grant 20万元");
    let e = errors(DOC_A, &doc_b("", &weeks));
    // A block that does not parse loses its items, so the funding it declared is unknown too.
    assert_eq!(
        e[0],
        "b.md:22:18: expected a period unit (years, months, days), found `weeks`"
    );
    let no_dates = doc_b(
        "",
        &format!("{B_MEASURE}\nwindow w \"申报\" measures b_grant"),
    );
    let e = errors(DOC_A, &no_dates);
    assert_eq!(
        e[0],
        "b.md:25:1: expected `applications D1 .. D2`, found the end of the block"
    );
    let bad_date = doc_b(r#"  repeals "甲〔2021〕1号" from 2023-02-30"#, B_MEASURE);
    assert_eq!(
        errors(DOC_A, &bad_date),
        ["b.md:9:28: `2023-02-30` is not a calendar date"]
    );
}

#[test]
fn a_valid_lifecycle_moves_the_windows_and_says_why() {
    let body = r#"
measure b_grant "乙补助"
  clause "(一)"
  on invested
  replaces a_grant
  claim within 6 months
  grant 20万元
"#;
    let head = "  amends \"甲〔2021〕1号\" from 2023-01-01\n  extends \"甲〔2021〕1号\" to 2024-06-30\n  repeals \"甲〔2021〕1号\" from 2024-03-01";
    let (lib, errors) = check(DOC_A, &doc_b(head, body));
    assert!(errors.is_empty(), "{errors:?}");
    let lib = lib.unwrap();
    let a = lib.measure("a_grant").unwrap();
    let c = lib.measure("a_cert").unwrap();
    let b = lib.measure("b_grant").unwrap();
    let d = jiff::civil::date;
    // Replaced from 2023-01-01: the amendment's cut comes first.
    assert_eq!(a.valid, (d(2021, 1, 1), d(2022, 12, 31)));
    assert_eq!(
        a.end_change.as_ref().unwrap().words(false),
        "已被乙〔2022〕1号修订(2023-01-01起)"
    );
    // Extended to 2024-06-30, then repealed from 2024-03-01.
    assert_eq!(c.valid, (d(2021, 1, 1), d(2024, 2, 29)));
    assert_eq!(
        c.end_change.as_ref().unwrap().words(true),
        "repealed by 乙〔2022〕1号 from 2024-03-01"
    );
    assert_eq!(b.valid, (d(2023, 1, 1), d(2025, 12, 31)));
    assert_eq!(
        b.claim_within.unwrap().deadline(d(2023, 8, 31)),
        Some(d(2024, 2, 29))
    );
    let doc = &lib.documents[a.doc];
    assert_eq!(doc.declared_valid, (d(2021, 1, 1), d(2023, 12, 31)));
    assert_eq!(doc.valid, (d(2021, 1, 1), d(2024, 2, 29)));
    assert_eq!(doc.changes.len(), 3);
}

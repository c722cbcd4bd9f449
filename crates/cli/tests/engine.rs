//! Engine behaviour the starter library does not exercise on its own — dated parameters,
//! consecutive-year support, review ranges, tiers by threshold, unknown facts — on a small
//! fixture document checked against the shipped vocabulary; and property tests on the
//! shipped library's rate-with-cap and cumulative-cap measures.

use kc_check::{Library, SourceFile};
use proptest::prelude::*;
use serde_json::{Value as J, json};
use std::path::Path;
use std::sync::OnceLock;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

const FIXTURE: &str = r#"# 测试文件

```kc
document "测试〔2022〕1号"
  valid 2022-01-01 .. 2026-12-31
  region shenyang
  funding half
```

```kc
funding half "市区各半" = city 1/2, district 1/2 remainder district
parameter rd_rate "研发补助比例" = 10% from 2022-01-01, 5% from 2024-01-01
parameter rd_cap "研发补助上限" = 300万元 from 2022-01-01, 200万元 from 2024-01-01
```

## (一) 研发补助

> (一)给予不超过研发投入的10%最高300万元后补助。

```kc
measure amended_rd "研发补助(有修订)"
  clause "(一)"
  form 后补助
  on rd_project_invested
  grant up to min(rd_rate × event.rd_investment, rd_cap)
```

## (二) 研发机构

> (二)根据市场化评估及投资规模,对落地研发机构给予1000-3000万元前资助。对研发机构进行年度绩效评价,达标的给予最高1000万元奖励,连续支持3年。

```kc
measure landing_rd_institution "落地研发机构前资助"
  clause "(二)"
  form 前资助
  on certified
  when event.cert = high_tech
  grant by review from 1000万元 to 3000万元
  funded by city 100%
  once per applicant

measure institution_performance "研发机构年度绩效奖励"
  clause "(二)"
  form 奖励
  on service_base_graded
  when event.grade in [excellent, good] as "年度绩效评价达标"
  grant up to 1000万元
  funded by city 100%
  consecutive 3 years
```

## (三) 门槛档次

> (三)按投入规模分档奖励。

```kc
measure scale_tiers "按规模分档"
  clause "(三)"
  form 奖励
  on rd_project_invested
  when applicant.size in [small, micro] or holds(tech_sme)
  grant tier event.rd_investment { >= 1000万元 => 30万元, >= 100万元 => 10万元 }

measure prior_year_rd "上年研发投入达标"
  clause "(三)"
  form 奖励
  on rd_project_invested
  when figure(rd_investment, year(event.date) - 1) >= 500万元 as "上年度研发投入不低于500万元"
  when holds(high_tech, event.date)
  grant 5万元
```
"#;

fn fixture() -> &'static Library {
    static LIB: OnceLock<Library> = OnceLock::new();
    LIB.get_or_init(|| {
        let files = vec![
            SourceFile {
                path: "policies/vocabulary.md".into(),
                text: std::fs::read_to_string(root().join("policies/vocabulary.md")).unwrap(),
            },
            SourceFile {
                path: "fixture.md".into(),
                text: FIXTURE.into(),
            },
        ];
        let checked = kc_check::check_library(&files);
        assert!(!checked.has_errors(), "{}", checked.render(&files));
        checked.library.unwrap()
    })
}

fn shipped() -> &'static Library {
    static LIB: OnceLock<Library> = OnceLock::new();
    LIB.get_or_init(|| {
        let (files, checked) = kc_library::load(&root().join("policies")).unwrap();
        assert!(!checked.has_errors(), "{}", checked.render(&files));
        checked.library.unwrap()
    })
}

fn run(lib: &Library, input: J) -> J {
    let text = input.to_string();
    let parsed = kc_wire::parse_input(lib, &text, None).unwrap_or_else(|e| panic!("{e}"));
    let ev = kc_eval::evaluate(lib, &parsed);
    kc_wire::to_json(lib, &parsed, &ev)
}

fn outcome<'a>(out: &'a J, measure: &str, event: &str) -> &'a J {
    out["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["measure"] == measure && o["event"] == event)
        .unwrap_or_else(|| panic!("no outcome {measure} {event}"))
}

fn applicant(size: &str) -> J {
    json!({"id": "91210112MA0XK8R34Y", "name": "测试企业", "kind": "enterprise", "region": "hunnan", "size": size})
}

#[test]
fn an_amendment_changes_rate_and_cap_from_its_date() {
    let out = run(
        fixture(),
        json!({
            "schema": "kechuang/eval-input/v1", "as_of": "2024-12-31", "applicant": applicant("small"),
            "events": [
                {"id": "a", "kind": "rd_project_invested", "date": "2023-12-31", "field": "smart_line", "rd_investment": "25000000"},
                {"id": "b", "kind": "rd_project_invested", "date": "2024-01-01", "field": "smart_line", "rd_investment": "25000000"},
                {"id": "c", "kind": "rd_project_invested", "date": "2024-06-01", "field": "smart_line", "rd_investment": "50000000"}
            ]
        }),
    );
    // Before the amendment: 10% × 25,000,000 = 2,500,000 (< 3,000,000 cap).
    assert_eq!(outcome(&out, "amended_rd", "a")["amount"], "2500000.00");
    // From 2024-01-01: 5% × 25,000,000 = 1,250,000 (< 2,000,000 cap).
    assert_eq!(outcome(&out, "amended_rd", "b")["amount"], "1250000.00");
    // 5% × 50,000,000 = 2,500,000 > the amended cap 2,000,000.
    let c = outcome(&out, "amended_rd", "c");
    assert_eq!(c["amount"], "2000000.00");
    assert_eq!(c["amount_kind"], "cap");
    let trace = c["trace"].to_string();
    assert!(trace.contains("自 2024-01-01 起施行"), "{trace}");
    // remainder to district: 1,000,000.00 each, no remainder here.
    assert_eq!(c["split"][0]["amount"], "1000000.00");
}

#[test]
fn review_range_is_matched_but_not_priced() {
    let out = run(
        fixture(),
        json!({
            "schema": "kechuang/eval-input/v1", "as_of": "2023-01-01", "applicant": applicant("small"),
            "events": [{"id": "e", "kind": "certified", "date": "2022-10-01", "cert": "high_tech", "first": true}]
        }),
    );
    let o = outcome(&out, "landing_rd_institution", "e");
    assert_eq!(o["status"], "awarded");
    assert_eq!(o["amount_kind"], "review");
    assert_eq!(o["amount"], J::Null);
    assert_eq!(
        o["range"],
        json!({"from": "10000000.00", "to": "30000000.00"})
    );
}

#[test]
fn consecutive_support_stops_after_three_years_and_once_a_year() {
    let ev = |id: &str, date: &str| json!({"id": id, "kind": "service_base_graded", "date": date, "grade": "excellent", "assessment_year": 2022});
    let out = run(
        fixture(),
        json!({
            "schema": "kechuang/eval-input/v1", "as_of": "2026-12-31", "applicant": applicant("small"),
            "events": [ev("y1", "2022-03-01"), ev("y1b", "2022-09-01"), ev("y2", "2023-03-01"), ev("y3", "2024-03-01"), ev("y4", "2025-03-01")]
        }),
    );
    for (id, status) in [
        ("y1", "awarded"),
        ("y1b", "not_met"),
        ("y2", "awarded"),
        ("y3", "awarded"),
        ("y4", "not_met"),
    ] {
        assert_eq!(
            outcome(&out, "institution_performance", id)["status"],
            status,
            "{id}"
        );
    }
    let y4 = outcome(&out, "institution_performance", "y4")["conditions"].to_string();
    assert!(y4.contains("自2022年起已连续支持3年"), "{y4}");
}

#[test]
fn thresholds_pick_the_first_tier_and_a_value_below_all_tiers_is_not_met() {
    let ev = |id: &str, amount: &str| json!({"id": id, "kind": "rd_project_invested", "date": "2023-05-01", "field": "smart_line", "rd_investment": amount});
    let out = run(
        fixture(),
        json!({
            "schema": "kechuang/eval-input/v1", "as_of": "2023-12-31", "applicant": applicant("micro"),
            "events": [ev("big", "10000000"), ev("mid", "9999999.99"), ev("low", "999999.99")]
        }),
    );
    assert_eq!(outcome(&out, "scale_tiers", "big")["amount"], "300000.00");
    assert_eq!(outcome(&out, "scale_tiers", "mid")["amount"], "100000.00");
    let low = outcome(&out, "scale_tiers", "low");
    assert_eq!(low["status"], "not_met");
    assert!(
        low["conditions"].to_string().contains("不在给付档次"),
        "{}",
        low["conditions"]
    );
}

#[test]
fn an_unknown_fact_makes_a_measure_possible_not_refused() {
    let mut a = applicant("large");
    a.as_object_mut().unwrap().remove("size");
    let out = run(
        fixture(),
        json!({
            "schema": "kechuang/eval-input/v1", "as_of": "2023-12-31", "applicant": a,
            "events": [{"id": "x", "kind": "rd_project_invested", "date": "2023-05-01", "field": "smart_line", "rd_investment": "2000000"}]
        }),
    );
    let o = outcome(&out, "scale_tiers", "x");
    assert_eq!(o["status"], "possible");
    assert!(o["conditions"].to_string().contains("unknown"));
    // `or` with a known true side decides without the unknown fact.
    let mut a = applicant("large");
    a.as_object_mut().unwrap().remove("size");
    a["certifications"] = json!([{"cert": "tech_sme", "date": "2022-01-01"}]);
    let out = run(
        fixture(),
        json!({
            "schema": "kechuang/eval-input/v1", "as_of": "2023-12-31", "applicant": a,
            "events": [{"id": "x", "kind": "rd_project_invested", "date": "2023-05-01", "field": "smart_line", "rd_investment": "2000000"}]
        }),
    );
    assert_eq!(outcome(&out, "scale_tiers", "x")["status"], "awarded");
}

#[test]
fn bad_input_names_the_path_and_the_problem() {
    let lib = shipped();
    let cases = [
        (
            json!({"schema": "kechuang/eval-input/v1", "as_of": "2023-01-01", "applicant": {"kind": "enterprise", "region": "hunnan", "colour": "red"}}),
            "$.applicant.colour",
            "unknown field",
        ),
        (
            json!({"schema": "kechuang/eval-input/v1", "as_of": "2023-02-30", "applicant": {"kind": "enterprise"}}),
            "$.as_of",
            "not a valid date",
        ),
        (
            json!({"schema": "kechuang/eval-input/v1", "as_of": "2023-01-01", "applicant": {"kind": "enterprise"},
            "events": [{"id": "e", "kind": "ip_pledge_loan_costs_paid", "date": "2023-01-01", "interest": "-5"}]}),
            "$.events[0].interest",
            "negative",
        ),
        (
            json!({"schema": "kechuang/eval-input/v1", "as_of": "2023-01-01", "applicant": {"kind": "enterprise"},
            "events": [{"id": "e", "kind": "ip_pledge_loan_costs_paid", "date": "2023-01-01", "interest": 12.345}]}),
            "$.events[0].interest",
            "more than two decimals",
        ),
        (
            json!({"schema": "kechuang/eval-input/v1", "as_of": "2023-01-01", "applicant": {"kind": "enterprise"},
            "events": [{"id": "e", "kind": "certified", "date": "2023-01-01", "first": "yes"}]}),
            "$.events[0].first",
            "expected true or false",
        ),
        (
            json!({"schema": "kechuang/eval-input/v1", "as_of": "2023-01-01", "applicant": {"kind": "company"}}),
            "$.applicant.kind",
            "“company”不是有效的申报主体类型,可选:企业",
        ),
        (
            json!({"schema": "kechuang/eval-input/v2", "as_of": "2023-01-01", "applicant": {}}),
            "$.schema",
            "unsupported schema",
        ),
        (
            json!({"schema": "kechuang/eval-input/v1", "as_of": "2023-01-01", "applicant": {"kind": "enterprise"},
            "history": [{"measure": "no_such", "date": "2022-01-01", "amount": "1"}]}),
            "$.history[0].measure",
            "unknown measure",
        ),
        (
            json!({"schema": "kechuang/eval-input/v1", "as_of": "2023-01-01", "applicant": {"kind": "enterprise"},
            "events": [{"id": "e", "kind": "certified", "date": "2023-01-01"}, {"id": "e", "kind": "certified", "date": "2023-01-02"}]}),
            "$.events[1].id",
            "used twice",
        ),
    ];
    for (input, path, words) in cases {
        let e = kc_wire::parse_input(lib, &input.to_string(), None).expect_err(&input.to_string());
        assert_eq!(e.path, path, "{e}");
        assert!(e.message.contains(words), "{e}");
    }
    let e = kc_wire::parse_input(lib, "{\"schema\": ", None).unwrap_err();
    assert!(e.path.starts_with("$ (line 1"), "{e}");
}

fn smart_mfg(investment_fen: i64) -> J {
    let amount = kc_money::Money::from_fen(investment_fen).plain();
    let out = run(
        shipped(),
        json!({
            "schema": "kechuang/eval-input/v1", "as_of": "2023-12-31",
            "applicant": applicant("small"),
            "events": [{"id": "e", "kind": "rd_project_invested", "date": "2023-06-01", "field": "smart_line", "rd_investment": amount}]
        }),
    );
    outcome(&out, "smart_mfg_rd", "e").clone()
}

fn money(v: &J) -> kc_money::Money {
    kc_money::Money::parse_amount(v.as_str().unwrap()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// (十一) min(10% × R&D, 3,000,000): never above the cap, exactly the formula rounded down
    /// to the fen, and the split always sums to the award.
    #[test]
    fn rate_with_cap_never_exceeds_cap_and_splits_exactly(fen in 0i64..10_000_000_000) {
        let o = smart_mfg(fen);
        let amount = money(&o["amount"]);
        let cap = kc_money::Money::yuan(3_000_000);
        prop_assert!(amount <= cap);
        let expected = kc_money::Money::from_fen(fen).scale_by(kc_money::Rate::parse("10%").unwrap()).min(cap).round_down_to_fen();
        prop_assert_eq!(amount, expected);
        let parts: kc_money::Money = o["split"].as_array().unwrap().iter().map(|s| money(&s["amount"])).sum();
        prop_assert_eq!(parts, amount);
    }

    /// More R&D investment never yields a smaller award.
    #[test]
    fn rate_with_cap_is_monotone_in_its_base(a in 0i64..5_000_000_000, b in 0i64..5_000_000_000) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(money(&smart_mfg(lo)["amount"]) <= money(&smart_mfg(hi)["amount"]));
    }

    /// (二十三) cumulative cap 200,000: whatever the history, history + award never exceeds it.
    #[test]
    fn cumulative_cap_is_never_exceeded(prior_fen in 0i64..25_000_000, interest_fen in 0i64..100_000_000) {
        let prior = kc_money::Money::from_fen(prior_fen);
        let out = run(
            shipped(),
            json!({
                "schema": "kechuang/eval-input/v1", "as_of": "2023-12-31", "applicant": applicant("small"),
                "events": [{"id": "e", "kind": "ip_pledge_loan_costs_paid", "date": "2023-06-01",
                            "interest": kc_money::Money::from_fen(interest_fen).plain(), "appraisal_fee": "0", "guarantee_fee": "0"}],
                "history": [{"measure": "ip_pledge_loan", "date": "2022-06-01", "amount": prior.plain()}]
            }),
        );
        let o = outcome(&out, "ip_pledge_loan", "e");
        if o["status"] == "awarded" {
            let award = money(&o["amount"]);
            prop_assert!(prior + award <= kc_money::Money::yuan(200_000));
            prop_assert!(award > kc_money::Money::ZERO);
        } else {
            // Only an exhausted cap or a zero award can refuse it.
            prop_assert!(prior >= kc_money::Money::yuan(200_000) || interest_fen < 2, "{}", o);
        }
    }
}

#[test]
fn a_zero_amount_is_not_an_award() {
    let out = run(
        shipped(),
        json!({
            "schema": "kechuang/eval-input/v1", "as_of": "2023-12-31", "applicant": applicant("small"),
            "events": [{"id": "e", "kind": "ip_pledge_loan_costs_paid", "date": "2023-06-01",
                        "interest": "0.01", "appraisal_fee": "0", "guarantee_fee": "0"}]
        }),
    );
    // 50% × 0.01 = 0.005 → rounded down to 0.00: nothing to pay.
    let o = outcome(&out, "ip_pledge_loan", "e");
    assert_eq!(o["status"], "not_met");
    assert!(
        o["conditions"]
            .to_string()
            .contains("按条款计算的金额须大于零")
    );
    assert_eq!(o["reason"], "按条款计算的金额须大于零(计算结果为 0.00 元)");
}

#[test]
fn yearly_figures_and_dated_certifications_are_conditions() {
    let input = |figures: J, certs: J| {
        let mut a = applicant("small");
        a["figures"] = figures;
        a["certifications"] = certs;
        json!({"schema": "kechuang/eval-input/v1", "as_of": "2023-12-31", "applicant": a,
               "events": [{"id": "x", "kind": "rd_project_invested", "date": "2023-05-01", "field": "smart_line", "rd_investment": "100"}]})
    };
    let hitech = json!([{"cert": "high_tech", "date": "2023-04-30"}]);
    // 2022 figure 5,000,000 ≥ 500万元 and high-tech since the day before: awarded 50,000.
    let out = run(
        fixture(),
        input(
            json!({"2022": {"rd_investment": "5000000"}}),
            hitech.clone(),
        ),
    );
    assert_eq!(outcome(&out, "prior_year_rd", "x")["amount"], "50000.00");
    // The 2023 figure does not count; 2022 is 4,999,999.99: not met, naming the figure.
    let out = run(
        fixture(),
        input(
            json!({"2022": {"rd_investment": "4999999.99"}, "2023": {"rd_investment": "9000000"}}),
            hitech,
        ),
    );
    let o = outcome(&out, "prior_year_rd", "x");
    assert_eq!(o["status"], "not_met");
    assert!(
        o["conditions"].to_string().contains("4,999,999.99"),
        "{}",
        o["conditions"]
    );
    // Certified after the event: not held on the event date.
    let out = run(
        fixture(),
        input(
            json!({"2022": {"rd_investment": "6000000"}}),
            json!([{"cert": "high_tech", "date": "2023-05-02"}]),
        ),
    );
    assert_eq!(outcome(&out, "prior_year_rd", "x")["status"], "not_met");
    // No 2022 figure given: possible, not refused.
    let out = run(
        fixture(),
        input(
            json!({}),
            json!([{"cert": "high_tech", "date": "2020-01-01"}]),
        ),
    );
    assert_eq!(outcome(&out, "prior_year_rd", "x")["status"], "possible");
}

//! A population of twelve applicants written by hand (`tests/data/twelve.jsonl`), simulated
//! over 2023; every figure below was worked out from the clauses before the run.

use kc_money::Money;
use std::path::Path;
use std::sync::Arc;

fn library() -> Arc<kc_check::Library> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let (files, checked) = kc_library::load(&dir).expect("policies load");
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    Arc::new(checked.library.unwrap())
}

fn m(s: &str) -> Money {
    Money::parse_amount(s).unwrap()
}

/// (recipients, awards, fixed, up to, review cases, [(level, amount)]) of a measure in 2023.
type Expect = (
    usize,
    usize,
    &'static str,
    &'static str,
    usize,
    &'static [(&'static str, &'static str)],
);

#[test]
fn twelve_applicants_over_2023() {
    let lib = library();
    let text = include_str!("data/twelve.jsonl");
    let mut sim = kc_simulate::Simulation::new(
        &lib,
        Some("2023-01-01".parse().unwrap()),
        Some("2023-12-31".parse().unwrap()),
    );
    for input in kc_simulate::read_population(&lib, text) {
        sim.add(input.unwrap());
    }
    let f = sim.finish();
    let text = kc_simulate::render_text(&lib, &f);
    assert_eq!(f.applicants, 12);
    let expected: &[(&str, Expect)] = &[
        // 沈政发〔2021〕11号 (五): 2万元 to each first 科技型中小企业 filing (A1, A2, A3), shared
        // city:district 1:1; A3's 2022 high-tech certification lies outside the period.
        (
            "tech_sme_first",
            (
                3,
                3,
                "60000",
                "0",
                0,
                &[("city", "30000"), ("district", "30000")],
            ),
        ),
        // (五): first high-tech certification, 最高20万元 (A2): an upper bound, not a payment.
        (
            "hitech_first",
            (
                1,
                1,
                "0",
                "200000",
                0,
                &[("city", "100000"), ("district", "100000")],
            ),
        ),
        // (十八): 0.2‰ of 300,000,000 = 60,000 (A4); 0.2‰ of 800,000,000 = 160,000, at most
        // 100,000 (A5).
        (
            "contract_registration_institution",
            (
                2,
                2,
                "160000",
                "0",
                0,
                &[("city", "80000"), ("district", "80000")],
            ),
        ),
        // (十八): 不超过 60% × 50,000 = 30,000 (A6).
        (
            "innovation_voucher",
            (
                1,
                1,
                "0",
                "30000",
                0,
                &[("city", "15000"), ("district", "15000")],
            ),
        ),
        // 聊政字〔2020〕15号 五(三): province 60% + city 30% of 40,000 (L1); L6 is a large
        // enterprise and gets nothing.
        (
            "voucher_user",
            (
                1,
                1,
                "36000",
                "0",
                0,
                &[("city", "12000"), ("province", "24000")],
            ),
        ),
        // 五(三): 5% of 40,000 = 2,000 (L2); 5% of 9,000,000 = 450,000 and 5% of 2,000,000 =
        // 100,000 of which 50,000 remain under the 50万元 a year (L3).
        (
            "voucher_institution",
            (2, 3, "502000", "0", 0, &[("city", "502000")]),
        ),
        // 四(一): 不超过 1.5% × 2,000,000 (L4) and 1‰ × 5,000,000 (L5).
        (
            "contract_dev_transfer",
            (1, 1, "0", "30000", 0, &[("city", "30000")]),
        ),
        (
            "contract_consult_service",
            (1, 1, "0", "5000", 0, &[("city", "5000")]),
        ),
        // 四(一): the matching of a national S&T award is set by review, with no range: counted
        // apart, never as zero (L5).
        ("lc_science_award_matching", (1, 1, "0", "0", 1, &[])),
    ];
    assert_eq!(f.lines.len(), expected.len(), "{text}");
    for (measure, (recipients, awards, fixed, up_to, review, levels)) in expected {
        let l = f
            .lines
            .iter()
            .find(|l| l.measure == *measure && l.year == 2023)
            .unwrap_or_else(|| panic!("{measure} missing:\n{text}"));
        assert_eq!(
            (l.recipients, l.awards, l.fixed, l.capped, l.review_cases),
            (*recipients, *awards, m(fixed), m(up_to), *review),
            "{measure}"
        );
        let got: Vec<(String, Money)> = l.by_level.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let want: Vec<(String, Money)> =
            levels.iter().map(|(k, v)| (k.to_string(), m(v))).collect();
        assert_eq!(got, want, "{measure}");
    }
    // 60,000 + 200,000 + 160,000 + 30,000 + 36,000 + 502,000 + 30,000 + 5,000.
    assert_eq!(f.total(), m("1023000"));
    // The distribution of 五(三)'s three institution awards: 2,000 · 50,000 · 450,000.
    let vi = f
        .lines
        .iter()
        .find(|l| l.measure == "voucher_institution")
        .unwrap();
    assert_eq!(
        (vi.percentile(10), vi.percentile(50), vi.percentile(90)),
        (Some(m("2000")), Some(m("50000")), Some(m("450000")))
    );
    // Kept in fen: 200,000 · 5,000,000 · 45,000,000.
    assert_eq!(vi.amounts, [200_000, 5_000_000, 45_000_000]);
    assert_eq!(vi.max(), Some(m("450000")));
    assert!(text.contains("评审确定 set by review: 1 笔"), "{text}");
    let json = kc_simulate::to_json(&f);
    assert_eq!(json["total"], "1023000.00");
}

#[test]
fn a_bad_line_is_named() {
    let lib = library();
    let text = "# comment\n\n{\"schema\": \"kechuang/eval-input/v1\", \"as_of\": \"2023-13-01\"}\n";
    let e = kc_simulate::read_population(&lib, text)
        .next()
        .unwrap()
        .unwrap_err();
    assert!(e.contains("line 3"), "{e}");
}

/// A copy of the shipped library with one parameter changed: the registration institution's
/// rate read as 2‰ instead of 0.2‰ (the garbled "02‰" of 沈政发〔2021〕11号 (十八)).
fn reform_library() -> Arc<kc_check::Library> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let dir = std::env::temp_dir().join(format!("kc-reform-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        let mut text = std::fs::read_to_string(&p).unwrap();
        if p.ends_with("shenyang-2021-11.md") {
            let from = "= 0.2‰ from 2021-07-14";
            assert!(text.contains(from), "the parameter line moved");
            text = text.replace(from, "= 2‰ from 2021-07-14");
        }
        std::fs::write(dir.join(p.file_name().unwrap()), text).unwrap();
    }
    let (files, checked) = kc_library::load(&dir).expect("reform loads");
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    let _ = std::fs::remove_dir_all(&dir);
    Arc::new(checked.library.unwrap())
}

#[test]
fn a_parameter_reform_against_the_baseline() {
    let text = include_str!("data/twelve.jsonl");
    let run = |lib: &kc_check::Library| {
        let mut sim = kc_simulate::Simulation::new(
            lib,
            Some("2023-01-01".parse().unwrap()),
            Some("2023-12-31".parse().unwrap()),
        );
        for input in kc_simulate::read_population(lib, text) {
            sim.add(input.unwrap());
        }
        sim.finish()
    };
    let base = run(&library());
    let reform = run(&reform_library());
    let c = kc_simulate::compare(&base, &reform);
    // Only (十八)'s registration reward changes: A4 2‰ × 300,000,000 = 600,000, at most
    // 100,000 (was 60,000); A5 stays at the 100,000 ceiling. 160,000 → 200,000.
    let changed: Vec<_> = c
        .lines
        .iter()
        .filter(|d| d.delta() != Money::ZERO)
        .collect();
    assert_eq!(changed.len(), 1, "{c:?}");
    let d = changed[0];
    assert_eq!(
        (d.measure.as_str(), d.year, d.baseline, d.reform, d.delta()),
        (
            "contract_registration_institution",
            2023,
            m("160000"),
            m("200000"),
            m("40000")
        )
    );
    assert_eq!(d.by_level["city"], (m("80000"), m("100000")));
    assert_eq!(d.by_level["district"], (m("80000"), m("100000")));
    assert_eq!(c.winners().count(), 1);
    assert_eq!(c.losers().count(), 0);
    let (who, before, after) = &c.changed[0];
    assert_eq!(
        (
            who.id.as_str(),
            who.kind.as_str(),
            who.region.as_str(),
            *before,
            *after
        ),
        (
            "A4",
            "contract_registration_institution",
            "kangping",
            m("60000"),
            m("100000")
        )
    );
    let text = kc_simulate::render_comparison(&library(), &c);
    assert!(text.contains("受益者 winners: 1"), "{text}");
}

fn forecast_2023(lib: &kc_check::Library) -> kc_simulate::Forecast {
    let mut sim = kc_simulate::Simulation::new(
        lib,
        Some("2023-01-01".parse().unwrap()),
        Some("2023-12-31".parse().unwrap()),
    );
    for input in kc_simulate::read_population(lib, include_str!("data/twelve.jsonl")) {
        sim.add(input.unwrap());
    }
    sim.finish()
}

fn total_of(f: &kc_simulate::Forecast, measure: &str) -> Money {
    f.lines
        .iter()
        .filter(|l| l.measure == measure)
        .fold(Money::ZERO, |s, l| s + l.fixed + l.capped)
}

#[test]
fn a_reform_file_sets_knobs_and_removes_measures() {
    use kc_simulate::reform;
    let lib = library();
    let text = "# 试算 a trial reform\n\
                reform \"科技型中小企业补助提至3万元\" \"trial\"\n\
                set tech_sme_first#1 = 3万元\n\
                set voucher_institution#2 = 60万元\n\
                set contract_registration_rate = 2‰\n\
                remove hitech_first\n\
                remove gazelle_unicorn_first\n";
    let r = reform::parse_reform(text).unwrap();
    assert_eq!(r.title, "科技型中小企业补助提至3万元");
    let reformed = reform::apply(&lib, &r, &reform::change_lines(text)).unwrap();
    let (base, after) = (forecast_2023(&lib), forecast_2023(&reformed));
    // (五): 3 first filings × 30,000 = 90,000 (was 3 × 20,000).
    assert_eq!(total_of(&after, "tech_sme_first"), m("90000"));
    // 五(三): L3's 450,000 + 100,000 now fit under 600,000: 2,000 + 450,000 + 100,000.
    assert_eq!(total_of(&after, "voucher_institution"), m("552000"));
    // (十八) at 2‰: A4 100,000 (cap), A5 100,000.
    assert_eq!(
        total_of(&after, "contract_registration_institution"),
        m("200000")
    );
    // (五) high-tech: removed, 200,000 → 0.
    assert_eq!(total_of(&after, "hitech_first"), Money::ZERO);
    // 1,023,000 + 30,000 + 50,000 + 40,000 − 200,000.
    assert_eq!(after.total(), m("943000"));
    let c = kc_simulate::compare(&base, &after);
    assert_eq!(c.losers().count(), 1, "A2 loses the high-tech award");
    assert_eq!(c.losers().next().unwrap().0.id, "A2");
    // By kind: the enterprises A1–A3 gain 10,000 each (3万元 instead of 2万元), A2 loses its
    // 200,000 high-tech award: two winners (+20,000), one loser (200,000 − 10,000 = −190,000).
    let kinds = c.by_group(false);
    let e = &kinds["enterprise"];
    assert_eq!(
        (e.winners, e.gain, e.losers, e.loss),
        (2, m("20000"), 1, m("-190000"))
    );
    let text = kc_simulate::render_comparison(&lib, &c);
    assert!(text.contains("按主体类型 by applicant kind"), "{text}");
    // The workbook's rows: one per measure and year, with the reform's total and the delta.
    let (heads, rows) = kc_simulate::table(&lib, &base, Some(&after));
    assert_eq!(heads.last().unwrap(), "差额 delta");
    let row = rows.iter().find(|r| r[0] == "tech_sme_first").unwrap();
    assert_eq!(
        (
            row[3].as_str(),
            row[6].as_str(),
            &row[row.len() - 2],
            &row[row.len() - 1]
        ),
        (
            "2023",
            "60000.00",
            &"90000.00".to_string(),
            &"30000.00".to_string()
        )
    );
}

#[test]
fn a_knob_changed_from_a_date_keeps_the_old_value_before_it() {
    use kc_simulate::reform;
    let lib = library();
    // A3 filed 2023-02-01 and A1 2023-03-01 (before), A2 2023-04-01 (after).
    let text = "set tech_sme_first#1 = 3万元 from 2023-03-15\n";
    let r = reform::parse_reform(text).unwrap();
    let reformed = reform::apply(&lib, &r, &reform::change_lines(text)).unwrap();
    let f = forecast_2023(&reformed);
    assert_eq!(total_of(&f, "tech_sme_first"), m("70000"));
    let knobs = reform::knobs(&reformed);
    assert!(
        knobs
            .iter()
            .any(|k| k.id == "tech_sme_first#1" && k.role == "parameter"),
        "the dated change is a parameter now"
    );
}

#[test]
fn bad_reforms_are_named() {
    use kc_simulate::reform;
    let lib = library();
    let e = reform::parse_reform("reform \"x\"\nset tech_sme_first#1 3万元\n").unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    let e = reform::parse_reform("frobnicate\n").unwrap_err();
    assert!(e.to_string().contains("第1行"), "{e}");
    let bad = |text: &str| {
        let r = reform::parse_reform(text).unwrap();
        reform::apply(&lib, &r, &reform::change_lines(text))
            .unwrap_err()
            .to_string()
    };
    assert!(bad("\nset no_such_measure#1 = 5%\n").contains("第2行"));
    assert!(bad("set tech_sme_first#1 = 12%\n").contains("不是金额"));
    assert!(bad("set voucher_institution#1 = 三成\n").contains("不是比例"));
    assert!(bad("set tech_sme_first#1 = 1.234元\n").contains("精确到分"));
    assert!(bad("set tech_sme_first#9 = 1元\n").contains("没有可调整项"));
    assert!(bad("set tech_sme_first@valid_to = 2000-01-01\n").contains("晚于"));
    assert!(bad("set tech_sme_first#1 = 3万元 from 2030-01-01\n").contains("有效期"));
    assert!(bad("remove nothing_here\n").contains("nothing_here"));
    // Near the type limits: a clear error, no overflow.
    assert!(
        bad("set tech_sme_first#1 = 79228162514264337593543950335亿元\n").contains("超出金额上限")
    );
    assert!(bad("set tech_sme_first#1 = 1000000000000.01\n").contains("不是金额"));
    assert!(
        bad("set contract_registration_rate = 79228162514264337593543950335‰\n")
            .contains("超过1000%")
    );
    // Every knob of the library has a distinct id and parses back its own value.
    let knobs = reform::knobs(&lib);
    assert!(knobs.len() > 200, "{}", knobs.len());
    let ids: std::collections::BTreeSet<_> = knobs.iter().map(|k| &k.id).collect();
    assert_eq!(ids.len(), knobs.len());
}

/// A generated Shenyang population over the period (calibration data/population/shenyang.toml).
fn shenyang_people(
    lib: &kc_check::Library,
    size: u64,
    seed: u64,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> Vec<kc_eval::Input> {
    let cal = kc_population::Calibration::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/population/shenyang.toml"),
    )
    .unwrap();
    kc_population::generate_over(lib, &cal, size, seed, Some((from, to)))
        .unwrap()
        .collect()
}

/// A reform simulated beside the baseline over the same laid-out batches — only the measures
/// it touches re-evaluated — gives exactly the forecasts of two separate runs.
#[test]
fn a_reform_beside_the_baseline_equals_two_separate_runs() {
    let lib = library();
    let (from, to) = ("2021-07-14".parse().unwrap(), "2023-12-31".parse().unwrap());
    let people = shenyang_people(&lib, 6_000, 11, from, to);
    let reform = kc_simulate::reform::parse_reform(
        "set tech_sme_first#1 = 3万元\nset contract_registration_rate = 0.1‰\nremove hitech_first\n",
    )
    .unwrap();
    let reformed = kc_simulate::reform::apply(&lib, &reform, &[]).unwrap();
    let (mut b1, mut r1) = (
        kc_simulate::Simulation::new(&lib, Some(from), Some(to)),
        kc_simulate::Simulation::new(&reformed, Some(from), Some(to)),
    );
    let (mut b2, mut r2) = (
        kc_simulate::Simulation::new(&lib, Some(from), Some(to)),
        kc_simulate::Simulation::new(&reformed, Some(from), Some(to)),
    );
    for batch in people.chunks(2_500) {
        b1.add_batch(batch.to_vec());
        r1.add_batch(batch.to_vec());
        b2.add_batch_with_reform(&mut r2, batch.to_vec());
    }
    let (b1, r1, b2, r2) = (b1.finish(), r1.finish(), b2.finish(), r2.finish());
    assert_eq!(b1, b2);
    assert_eq!(r1, r2);
    assert_ne!(b1.total(), r1.total(), "the reform changes the total");
}

#[test]
fn a_run_keeping_totals_only_has_the_same_lines_and_no_recipients() {
    let lib = library();
    let (from, to) = ("2021-07-14".parse().unwrap(), "2023-12-31".parse().unwrap());
    let people = shenyang_people(&lib, 6_000, 5, from, to);
    let reform =
        kc_simulate::reform::parse_reform("set contract_registration_rate = 0.1‰\n").unwrap();
    let reformed = kc_simulate::reform::apply(&lib, &reform, &[]).unwrap();
    let mut whole = kc_simulate::Simulation::new(&lib, Some(from), Some(to));
    let mut lean = kc_simulate::Simulation::new(&lib, Some(from), Some(to)).totals_only();
    // A totals-only baseline beside a reform that keeps its recipients.
    let mut lean_base = kc_simulate::Simulation::new(&lib, Some(from), Some(to)).totals_only();
    let mut re = kc_simulate::Simulation::new(&reformed, Some(from), Some(to));
    let mut re_alone = kc_simulate::Simulation::new(&reformed, Some(from), Some(to));
    for batch in people.chunks(2_500) {
        whole.add_batch(batch.to_vec());
        lean.add_batch(batch.to_vec());
        lean_base.add_batch_with_reform(&mut re, batch.to_vec());
        re_alone.add_batch(batch.to_vec());
    }
    let (whole, lean, lean_base) = (whole.finish(), lean.finish(), lean_base.finish());
    assert!(whole.total() > Money::ZERO);
    assert!(whole.recipients.as_ref().is_some_and(|r| r.len() > 100));
    assert_eq!(lean.recipients, None);
    assert_eq!(lean_base.recipients, None);
    assert_eq!(
        (&lean.lines, lean.applicants),
        (&whole.lines, whole.applicants)
    );
    assert_eq!(lean_base.lines, whole.lines);
    assert_eq!(re.finish(), re_alone.finish());
}

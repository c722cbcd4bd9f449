//! Reform files that replace or add measures written in the policy language (issue 13, item 3),
//! over the twelve applicants written by hand (`tests/data/twelve.jsonl`) in 2023; every figure
//! below was worked out from the clauses before the run.

use kc_check::{Library, SourceFile};
use kc_money::Money;
use kc_simulate::reform;
use std::path::Path;

fn library() -> (Vec<SourceFile>, Library) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let (files, checked) = kc_library::load(&dir).expect("policies load");
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    (files, checked.library.unwrap())
}

fn m(s: &str) -> Money {
    Money::parse_amount(s).unwrap()
}

fn forecast_2023(lib: &Library) -> kc_simulate::Forecast {
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

/// (recipients, fixed total, [(level, amount)]) of a measure's 2023 line.
fn line_of(f: &kc_simulate::Forecast, measure: &str) -> (usize, Money, Vec<(String, Money)>) {
    let l = f
        .lines
        .iter()
        .find(|l| l.measure == measure && l.year == 2023)
        .unwrap_or_else(|| panic!("no 2023 line of {measure}"));
    (
        l.recipients,
        l.fixed,
        l.by_level.iter().map(|(k, v)| (k.clone(), *v)).collect(),
    )
}

/// (十八) of 沈政发〔2021〕11号 rewritten: 0.3‰ of the registered volume, at most 15万元 (the
/// amendment fixture's reading of tests/lifecycle/amend/amend.md).
const REPLACE: &str = "reform \"技术合同登记机构奖励按0.3‰、最高15万元\" \"(十八) rewritten\"\n\
\n\
replace contract_registration_institution\n\
measure contract_registration_institution \"技术合同登记机构奖励(试算)\" \"Reward for technology contract registration institutions (trial)\"\n\
  clause \"(十八)\"\n\
  form 奖励\n\
  on contract_registration_volume\n\
  when applicant.kind = contract_registration_institution\n\
  when applicant.region within shenyang\n\
  grant min(0.3‰ × event.registered_volume, 15万元)   # 按技术交易额的0.3‰给予奖励,最高15万元\n\
  once per event.registration_year\n";

/// A new measure in 沈政发〔2021〕11号: 10% of an innovation voucher's service, at most 1万元.
const ADD: &str = "add to \"沈政发〔2021〕11号\"\n\
measure voucher_bonus \"创新券加计补助(试算)\" \"Innovation voucher bonus (trial)\"\n\
  clause \"(十八)\"\n\
  form 后补助\n\
  on voucher_service_purchased\n\
  when applicant.kind = enterprise\n\
  when applicant.region within shenyang\n\
  grant min(10% × event.service_amount, 1万元)\n";

#[test]
fn a_reform_file_replaces_a_measure() {
    let (files, lib) = library();
    let reformed = reform::apply_file(&files, &lib, "trial.reform", REPLACE).unwrap();
    let m18 = reformed
        .measure("contract_registration_institution")
        .unwrap();
    assert_eq!(m18.label.zh, "技术合同登记机构奖励(试算)");
    assert_eq!(m18.location, ("trial.reform".to_string(), 4));
    assert_eq!(reformed.measures.len(), lib.measures.len());
    let (base, after) = (forecast_2023(&lib), forecast_2023(&reformed));
    // Baseline (0.2‰, at most 10万元): A4 300,000,000 × 0.2‰ = 60,000; A5 800,000,000 × 0.2‰
    // = 160,000 → 100,000. Total 160,000.
    assert_eq!(
        line_of(&base, "contract_registration_institution").1,
        m("160000")
    );
    // Reform (0.3‰, at most 15万元): A4 300,000,000 × 0.3‰ = 90,000; A5 800,000,000 × 0.3‰ =
    // 240,000 → 150,000. Total 240,000, shared 1:1 by city and district (the document's
    // default funding, enterprise_subsidy).
    let (recipients, fixed, levels) = line_of(&after, "contract_registration_institution");
    assert_eq!((recipients, fixed), (2, m("240000")));
    assert_eq!(
        levels,
        vec![
            ("city".to_string(), m("120000")),
            ("district".to_string(), m("120000"))
        ]
    );
    assert_eq!(after.total() - base.total(), m("80000"));
    let c = kc_simulate::compare(&base, &after);
    assert_eq!((c.winners().count(), c.losers().count()), (2, 0));
    // Only the replaced measure is evaluated again.
    let reuse = reform::reuse(&lib, &reformed);
    let touched: Vec<&str> = reformed
        .measures
        .iter()
        .zip(&reuse)
        .filter(|(_, r)| r.is_none())
        .map(|(m, _)| m.id.as_str())
        .collect();
    assert_eq!(touched, ["contract_registration_institution"]);
}

#[test]
fn a_reform_file_adds_a_measure_beside_knobs() {
    let (files, lib) = library();
    let text = format!("{ADD}\nset tech_sme_first#1 = 3万元\n");
    let reformed = reform::apply_file(&files, &lib, "trial.reform", &text).unwrap();
    assert_eq!(reformed.measures.len(), lib.measures.len() + 1);
    let (base, after) = (forecast_2023(&lib), forecast_2023(&reformed));
    // A6 (浑南, 50,000 of service through the platform): 10% = 5,000 under the 1万元 cap, 1:1.
    // L1 and L6 are in 聊城: not within shenyang.
    let (recipients, fixed, levels) = line_of(&after, "voucher_bonus");
    assert_eq!((recipients, fixed), (1, m("5000")));
    assert_eq!(
        levels,
        vec![
            ("city".to_string(), m("2500")),
            ("district".to_string(), m("2500"))
        ]
    );
    // (五) at 3万元: A1, A2, A3 each +10,000.
    assert_eq!(line_of(&after, "tech_sme_first").1, m("90000"));
    assert_eq!(after.total() - base.total(), m("35000"));
    let reuse = reform::reuse(&lib, &reformed);
    let mut touched: Vec<&str> = reformed
        .measures
        .iter()
        .zip(&reuse)
        .filter(|(_, r)| r.is_none())
        .map(|(m, _)| m.id.as_str())
        .collect();
    touched.sort();
    assert_eq!(touched, ["tech_sme_first", "voucher_bonus"]);
}

/// The baseline and the reform over the same laid-out batches (only the touched measures
/// evaluated again) equal the reformed library evaluated from scratch, on 6,000 generated
/// applicants.
#[test]
fn measures_of_a_reform_beside_the_baseline_equal_a_run_from_scratch() {
    let (files, lib) = library();
    let text = format!("{REPLACE}\n{ADD}\nremove hitech_first\n");
    let reformed = reform::apply_file(&files, &lib, "trial.reform", &text).unwrap();
    let cal = kc_population::Calibration::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/population/shenyang.toml"),
    )
    .unwrap();
    let from = "2021-07-14".parse().unwrap();
    let to = "2023-12-31".parse().unwrap();
    let people: Vec<kc_eval::Input> =
        kc_population::generate_over(&lib, &cal, 6_000, 5, Some((from, to)))
            .unwrap()
            .collect();
    let mut base = kc_simulate::Simulation::new(&lib, Some(from), Some(to));
    let mut beside = kc_simulate::Simulation::new(&reformed, Some(from), Some(to));
    let mut alone = kc_simulate::Simulation::new(&reformed, Some(from), Some(to));
    for batch in people.chunks(2_500) {
        base.add_batch_with_reform(&mut beside, batch.to_vec());
        alone.add_batch(batch.to_vec());
    }
    let (beside, alone) = (beside.finish(), alone.finish());
    assert_eq!(beside, alone);
    // The generated registration institutions and voucher purchases are there to compare.
    assert!(
        alone
            .lines
            .iter()
            .any(|l| l.measure == "voucher_bonus" && l.awards > 0),
        "no voucher bonus in the generated population"
    );
    assert!(
        alone
            .lines
            .iter()
            .any(|l| l.measure == "contract_registration_institution" && l.awards > 0)
    );
}

#[test]
fn bad_measures_in_a_reform_file_are_named_by_line_and_column() {
    let (files, lib) = library();
    let bad = |text: &str| -> Vec<reform::ReformError> {
        reform::apply_file(&files, &lib, "bad.reform", text).unwrap_err()
    };
    // A syntax error in the measure: `grnat` for `grant`, on line 4.
    let e = bad("replace contract_registration_institution\n\
                 measure contract_registration_institution \"x\" \"x\"\n  clause \"(十八)\"\n  grnat 1元\n");
    assert_eq!(e[0].line, 4, "{e:?}");
    assert!(e[0].column > 0, "{e:?}");
    assert!(e[0].to_string().starts_with("第4行第"), "{}", e[0]);
    // An unknown document.
    let e = bad(
        "add to \"沈政发〔2099〕1号\"\nmeasure x \"x\" \"x\"\n  clause \"(十八)\"\n  on certified\n  grant 1元\n",
    );
    assert_eq!(e[0].line, 1, "{e:?}");
    assert!(e[0].message.contains("沈政发〔2099〕1号"), "{e:?}");
    // A measure to replace that does not exist.
    let e = bad(
        "\nreplace no_such_measure\nmeasure no_such_measure \"x\" \"x\"\n  clause \"(十八)\"\n  on certified\n  grant 1元\n",
    );
    assert_eq!(e[0].line, 2, "{e:?}");
    assert!(
        e[0].message
            .contains("no measure no_such_measure to replace"),
        "{e:?}"
    );
    // Adding a measure whose id is taken: replace it instead. Line 2, column 9.
    let e = bad(
        "add to shenyang-2021-11\nmeasure tech_sme_first \"x\" \"x\"\n  clause \"(五)\"\n  on certified\n  grant 1元\n",
    );
    assert_eq!((e[0].line, e[0].column), (2, 9), "{e:?}");
    assert!(e[0].message.contains("replace tech_sme_first"), "{e:?}");
    // The replacing measure keeps the id.
    let e = bad(
        "replace tech_sme_first\nmeasure tech_sme_other \"x\" \"x\"\n  clause \"(五)\"\n  on certified\n  grant 1元\n",
    );
    assert_eq!((e[0].line, e[0].column), (2, 9), "{e:?}");
    // Checked like any policy file: a type error (a rate as the grant), an unknown field, a
    // clause that is not a heading of the document — each at its line and column.
    let e = bad(
        "reform \"t\"\nadd to \"沈政发〔2021〕11号\"\nmeasure y \"y\" \"y\"\n  clause \"(九十九)\"\n  on certified\n  when event.no_such_field = 1\n  grant 5%\n",
    );
    let at: Vec<(usize, usize)> = e.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(at, [(4, 3), (6, 14), (7, 9)], "{e:?}");
    assert!(e[0].message.contains("clause `(九十九)`"), "{e:?}");
    assert!(e[1].message.contains("no_such_field"), "{e:?}");
    assert!(e[2].message.contains("a grant needs Money"), "{e:?}");
    // A block with nothing in it.
    let e = bad("replace tech_sme_first\n\nset tech_sme_first#1 = 3万元\n");
    assert_eq!(e[0].line, 1, "{e:?}");
    // Without the library's source files a reform that writes measures is refused, not
    // applied halfway.
    let r = reform::parse_reform(ADD).unwrap();
    assert_eq!(r.measures.len(), 1);
    assert!(reform::apply(&lib, &r, &[]).is_err());
}

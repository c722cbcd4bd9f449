//! The columnar engine equals the per-applicant engine, award by award, to the fen, on random
//! populations drawn over the shipped library's whole vocabulary (every applicant field, event
//! type and field, certification and figure), including unknown values, parent regions,
//! repeated activity keys, same-day events and payment histories.

use jiff::civil::Date;
use kc_check::{Library, Type, Value};
use kc_eval::{Applicant, Event, Input, PriorAward};
use kc_money::{Dec, Money, Rate, RateUnit};
use kc_simulate::columnar::{self, Plan};
use std::sync::Arc;

fn library() -> Arc<Library> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let (_, checked) = kc_library::load(&dir).expect("policies load");
    Arc::new(checked.library.unwrap())
}

/// SplitMix64: a small deterministic generator, so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn date(&mut self) -> Date {
        let base: Date = "2020-06-01".parse().unwrap();
        base.checked_add(jiff::Span::new().days(self.below(1_700) as i64))
            .unwrap()
    }
    fn money(&mut self) -> Money {
        match self.below(5) {
            // Whole 万元, as most figures are reported.
            0 => Money::yuan(self.below(2_000) as i64 * 10_000),
            // Any amount to the fen.
            1 => Money::from_fen(self.below(10_000_000_000) as i64),
            // Large: contract turnovers of hundreds of millions.
            2 => Money::from_fen(self.below(100_000_000_000) as i64 * 7),
            3 => Money::from_fen(self.below(100_000) as i64),
            _ => Money::yuan(self.below(10) as i64 * 100_000),
        }
    }
}

fn value(lib: &Library, rng: &mut Rng, ty: Type) -> Value {
    if rng.chance(8) {
        return Value::Unknown;
    }
    match ty {
        Type::Money => Value::Money(rng.money()),
        Type::Rate => Value::Rate(
            Rate::percent(Dec::new(rng.below(10_000) as i64, 2)),
            RateUnit::Percent,
        ),
        Type::Int => Value::Int(match rng.below(3) {
            0 => 2019 + rng.below(7) as i64,
            1 => rng.below(10) as i64,
            _ => rng.below(100_000) as i64,
        }),
        Type::Decimal => Value::Decimal(Dec::new(rng.below(1_000_000) as i64, 3)),
        Type::Bool => Value::Bool(rng.chance(60)),
        Type::Date => Value::Date(rng.date()),
        // A small pool, so once-per-key rules meet the same key twice.
        Type::Text => Value::Text(format!("T{}", rng.below(4))),
        Type::Enum(e) => {
            let n = lib.vocab.enums[e].members.len() as u64;
            Value::Enum(e, rng.below(n) as u32)
        }
    }
}

fn applicant(lib: &Library, rng: &mut Rng, i: usize) -> Input {
    let v = &lib.vocab;
    let mut fields: Vec<Value> = v.applicant.iter().map(|f| value(lib, rng, f.ty)).collect();
    // Kind and region always given most of the time: they gate nearly every measure.
    for slot in [v.kind_slot, v.region_slot] {
        if let Type::Enum(e) = v.applicant[slot].ty
            && rng.chance(95)
        {
            let n = v.enums[e].members.len() as u64;
            fields[slot] = Value::Enum(e, rng.below(n) as u32);
        }
    }
    let certs = v.enums[v.certification].members.len() as u64;
    let certifications = (0..rng.below(4))
        .map(|_| (rng.below(certs) as u32, rng.date()))
        .collect();
    let mut figures = Vec::new();
    for (f, def) in v.figures.iter().enumerate() {
        for year in 2019..2025 {
            if rng.chance(60) {
                figures.push((f, year, value(lib, rng, def.ty)));
            }
        }
    }
    let mut events = Vec::new();
    for k in 0..rng.below(9) {
        let kind = rng.below(v.events.len() as u64) as usize;
        let date = if k > 0 && rng.chance(15) {
            // Same day as the previous event: the engines must agree on the order.
            events.last().map(|e: &Event| e.date).unwrap()
        } else {
            rng.date()
        };
        events.push(Event {
            id: format!("e{}", rng.below(20)),
            kind,
            date,
            fields: v.events[kind]
                .fields
                .iter()
                .map(|f| value(lib, rng, f.ty))
                .collect(),
        });
    }
    let mut history = Vec::new();
    if rng.chance(4) {
        let m = &lib.measures[rng.below(lib.measures.len() as u64) as usize];
        history.push(PriorAward {
            measure: m.id.clone(),
            date: rng.date(),
            amount: Money::yuan(50_000),
            activity: Some(format!("T{}", rng.below(4))),
            item: None,
            base: None,
        });
    }
    Input {
        as_of: if rng.chance(80) {
            "2024-12-31".parse().unwrap()
        } else {
            rng.date()
        },
        applicant: Applicant {
            id: format!("P{i}"),
            name: format!("申请人{i}"),
            fields,
            certifications,
            figures,
        },
        events,
        history,
    }
}

#[test]
fn columnar_equals_the_engine_on_random_populations() {
    let lib = library();
    let plan = Plan::compile(&lib);
    let compiled = plan.stats();
    // Nearly the whole library compiles into column plans (increments stay with the engine).
    assert!(
        compiled.compiled_measures * 10
            >= (compiled.compiled_measures + compiled.engine_measures) * 9,
        "{compiled:?}"
    );
    let (mut awards, mut rows, mut engine_pairs, mut amounts) = (0usize, 0usize, 0usize, 0usize);
    let mut whole = 0;
    for seed in 0..24u64 {
        let mut rng = Rng(seed * 7_919 + 1);
        let inputs: Vec<Input> = (0..400).map(|i| applicant(&lib, &mut rng, i)).collect();
        let (got, stats) = plan.run(&inputs);
        rows += stats.rows;
        engine_pairs += stats.engine_pairs;
        whole += stats.engine_applicants;
        for (input, paid) in inputs.iter().zip(&got) {
            let want = columnar::engine_awards(&lib, input);
            let key = |p: &columnar::Paid| (p.measure, p.event);
            let mut g = paid.clone();
            g.sort_by_key(key);
            let mut w = want.clone();
            w.sort_by_key(key);
            if g != w {
                let mi = w.iter().chain(&g).map(|p| p.measure).next().unwrap();
                eprintln!("{}\n{input:#?}", lib.measures[mi].source);
            }
            assert_eq!(
                g, w,
                "seed {seed}, applicant {}: columnar (left) differs from the engine (right)",
                input.applicant.id
            );
            awards += w.len();
            amounts += w.iter().filter(|p| p.amount.is_some()).count();
        }
    }
    eprintln!(
        "{compiled:?}; {awards} awards ({amounts} with amounts) over {rows} rows, \
         {engine_pairs} applicant-measure pairs and {whole} applicants by the engine"
    );
    // Histories (4% of applicants) took the engine path and still agreed.
    assert!(whole > 100, "{whole}");
    // The comparison covered real awards, mostly computed by the plans.
    assert!(awards > 500, "only {awards} awards compared");
    assert!(amounts > 300, "only {amounts} computed amounts compared");
    assert!(
        engine_pairs * 20 < rows,
        "{engine_pairs} pairs fell back to the engine for {rows} rows"
    );
}

#[test]
fn a_batch_forecast_equals_the_one_applicant_at_a_time_forecast() {
    let lib = library();
    let mut rng = Rng(42);
    let inputs: Vec<Input> = (0..3_000).map(|i| applicant(&lib, &mut rng, i)).collect();
    let from = Some("2022-01-01".parse().unwrap());
    let to = Some("2023-12-31".parse().unwrap());
    let mut one = kc_simulate::Simulation::new(&lib, from, to);
    for i in inputs.clone() {
        one.add(i);
    }
    let mut batch = kc_simulate::Simulation::new(&lib, from, to);
    let stats = batch.add_batch(inputs[..1_000].to_vec());
    batch.add_batch(inputs[1_000..].to_vec());
    assert!(stats.rows > 0);
    let (a, b) = (one.finish(), batch.finish());
    assert!(a.total() > Money::ZERO);
    assert_eq!(a.total(), b.total());
    assert_eq!(a.lines.len(), b.lines.len());
    for (x, y) in a.lines.iter().zip(&b.lines) {
        assert_eq!(x, y, "{} {}", x.measure, x.year);
    }
    assert!(a == b, "recipients differ");
}

/// The amounts one applicant's awards of `measure` carry, in order.
fn amounts_of(lib: &Library, got: &[columnar::Paid], measure: &str) -> Vec<Money> {
    let mi = lib.measure_index[measure];
    got.iter()
        .filter(|p| p.measure == mi)
        .filter_map(|p| p.amount)
        .collect()
}

#[test]
fn an_item_transferred_again_is_paid_on_its_increment_by_the_engine() {
    let lib = library();
    // 聊政字〔2020〕15号 四(一): 1.5% of 2,000,000 = 30,000.00 for the first transfer of the
    // film; the second transfer of the same item, at 3,000,000, is paid on the increment only:
    // (3,000,000 − 2,000,000) × 1.5% = 15,000.00.
    let line = r#"{"schema": "kechuang/eval-input/v1", "as_of": "2023-12-31", "applicant": {"id": "L4", "name": "聊城示例大学", "kind": "university", "region": "dongchangfu"}, "events": [{"id": "a", "kind": "contract_registered", "date": "2023-05-01", "contract_type": "tech_transfer", "amount": "2000000", "activity": "HT-1", "item": "耐高温薄膜", "local_conversion": true}, {"id": "b", "kind": "contract_registered", "date": "2023-09-01", "contract_type": "tech_transfer", "amount": "3000000", "activity": "HT-2", "item": "耐高温薄膜", "local_conversion": true}]}"#;
    let input = kc_wire::parse_input(&lib, line, None).unwrap();
    let plan = Plan::compile(&lib);
    let (got, stats) = plan.run(std::slice::from_ref(&input));
    let amounts = amounts_of(&lib, &got[0], "contract_dev_transfer");
    assert_eq!(
        amounts,
        vec![
            Money::parse_amount("30000").unwrap(),
            Money::parse_amount("15000").unwrap()
        ]
    );
    assert_eq!(stats.engine_pairs, 1, "{stats:?}");
    assert_eq!(got[0], columnar::engine_awards(&lib, &input));
}

/// The shipped library plus a lifecycle fixture of `tests/lifecycle/` (a repeal, an amendment
/// with a replacing measure, an extension of 沈政发〔2021〕11号).
fn library_with(case: &str) -> Library {
    let mut files = kc_library::shipped();
    let rel = format!("tests/lifecycle/{case}/{case}.md");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(&rel);
    files.push(kc_check::SourceFile {
        path: rel,
        text: std::fs::read_to_string(path).unwrap(),
    });
    let checked = kc_check::check_library(&files);
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    checked.library.unwrap()
}

#[test]
fn columnar_equals_the_engine_across_repeal_amendment_and_extension() {
    for case in ["repeal", "amend", "extend"] {
        let lib = library_with(case);
        let plan = Plan::compile(&lib);
        let mut awards = 0;
        for seed in 0..4u64 {
            let mut rng = Rng(seed * 104_729 + 3);
            let inputs: Vec<Input> = (0..400).map(|i| applicant(&lib, &mut rng, i)).collect();
            let (got, _) = plan.run(&inputs);
            for (input, paid) in inputs.iter().zip(&got) {
                let want = columnar::engine_awards(&lib, input);
                let key = |p: &columnar::Paid| (p.measure, p.event);
                let mut g = paid.clone();
                g.sort_by_key(key);
                let mut w = want.clone();
                w.sort_by_key(key);
                assert_eq!(
                    g, w,
                    "{case}, seed {seed}, applicant {}: columnar (left) differs from the engine (right)",
                    input.applicant.id
                );
                awards += w.len();
            }
        }
        assert!(awards > 100, "{case}: only {awards} awards compared");
    }
}

/// An applicant with exactly one event of every type (the shape of a laid-out population:
/// the plan then reads applicant columns as they are and each applicant's rows are one row),
/// all on `date` when given (parameters then resolve once per slice) or on random dates.
fn one_of_each(lib: &Library, rng: &mut Rng, i: usize, date: Option<Date>) -> Input {
    let mut input = applicant(lib, rng, i);
    input.events = lib
        .vocab
        .events
        .iter()
        .enumerate()
        .map(|(kind, def)| Event {
            id: format!("e{kind}"),
            kind,
            date: date.unwrap_or_else(|| rng.date()),
            fields: def.fields.iter().map(|f| value(lib, rng, f.ty)).collect(),
        })
        .collect();
    input
}

fn assert_same(lib: &Library, what: &str, input: &Input, got: &[columnar::Paid]) {
    let want = columnar::engine_awards(lib, input);
    let key = |p: &columnar::Paid| (p.measure, p.event);
    let (mut g, mut w) = (got.to_vec(), want);
    g.sort_by_key(key);
    w.sort_by_key(key);
    assert_eq!(
        g, w,
        "{what}, applicant {}: columnar (left) differs from the engine (right)",
        input.applicant.id
    );
}

#[test]
fn columnar_equals_the_engine_with_one_event_of_each_type() {
    let lib = library();
    let plan = Plan::compile(&lib);
    let mut amounts = 0;
    for seed in 0..12u64 {
        let mut rng = Rng(seed * 104_729 + 3);
        // Half the seeds date every event alike, so parameters resolve once for the slice.
        let date = (seed % 2 == 0).then(|| rng.date());
        let mut inputs: Vec<Input> = (0..300)
            .map(|i| one_of_each(&lib, &mut rng, i, date))
            .collect();
        // No history: the applicants stay with the plans (a history sends one to the engine).
        for i in &mut inputs {
            i.history.clear();
        }
        let (got, stats) = plan.run(&inputs);
        assert_eq!(stats.engine_applicants, 0);
        for (input, paid) in inputs.iter().zip(&got) {
            assert_same(&lib, &format!("seed {seed}"), input, paid);
            amounts += paid.iter().filter(|p| p.amount.is_some()).count();
        }
    }
    assert!(amounts > 300, "only {amounts} computed amounts compared");
}

#[test]
fn a_reform_re_run_reusing_the_baseline_equals_a_full_evaluation() {
    let lib = library();
    re_run_equals_full(
        &lib,
        "set contract_registration_rate = 2‰\nset tech_sme_first#1 = 3万元\nremove hitech_first\n",
        &["contract_registration_institution", "tech_sme_first"],
    );
    // A number changed from a date, and a validity.
    re_run_equals_full(
        &lib,
        "set contract_dev_transfer#1 = 2% from 2023-01-01\nset instrument_lease@valid_to = 2023-06-30\n",
        &["contract_dev_transfer", "instrument_lease"],
    );
}

/// A measure replacing another through an amendment reads the replaced one's awards: a reform
/// of the replaced one re-evaluates both.
#[test]
fn a_reform_re_run_re_evaluates_the_measure_replacing_a_touched_one() {
    re_run_equals_full(
        &library_with("amend"),
        "set contract_registration_rate = 3‰\n",
        &[
            "contract_registration_institution",
            "contract_registration_institution_2023",
        ],
    );
}

/// The reform's re-run (reusing the baseline's awards for the measures it leaves alone) equals
/// the full evaluation of the reformed library and the engine's, and re-evaluates `touched`.
fn re_run_equals_full(lib: &Library, text: &str, touched: &[&str]) {
    let plan = Plan::compile(lib);
    let reform = kc_simulate::reform::parse_reform(text).unwrap();
    let reformed = kc_simulate::reform::apply(lib, &reform, &[]).unwrap();
    let reuse = kc_simulate::reform::reuse(lib, &reformed);
    let again = |id: &str| reuse[reformed.measure_index[id]].is_none();
    assert!(touched.iter().all(|m| again(m)), "{text}");
    assert!(!again("platform_performance"));
    assert_eq!(
        reuse.iter().filter(|r| r.is_none()).count(),
        touched.len(),
        "{text}"
    );
    let reform_plan = Plan::compile(&reformed);
    let mut changed = 0;
    for seed in 0..6u64 {
        let mut rng = Rng(seed * 31 + 5);
        let inputs: Vec<Input> = (0..400)
            .map(|i| {
                if i % 2 == 0 {
                    applicant(lib, &mut rng, i)
                } else {
                    one_of_each(lib, &mut rng, i, None)
                }
            })
            .collect();
        for slice in inputs.chunks(150) {
            let mut batch = plan.prepare(slice);
            let (base, _) = plan.evaluate_awards(&mut batch);
            let (re, _) = reform_plan.reevaluate(&mut batch, &base, &reuse);
            let (full, _) = reform_plan.evaluate_awards(&mut batch);
            let (re, full) = (re.paid(&reform_plan), full.paid(&reform_plan));
            assert_eq!(re, full, "seed {seed}");
            assert_eq!(re.len(), slice.len());
            for (input, paid) in slice.iter().zip(&re) {
                assert_same(&reformed, &format!("reform, seed {seed}"), input, paid);
            }
            changed += base
                .paid(&plan)
                .iter()
                .zip(&re)
                .filter(|(b, r)| {
                    b.len() != r.len() || b.iter().zip(r.iter()).any(|(x, y)| x.amount != y.amount)
                })
                .count();
        }
    }
    assert!(changed > 0, "the reform changed no applicant's awards");
}

#[test]
fn the_column_buffer_pool_stays_bounded_over_many_batches() {
    // Each measure of each slice borrows buffers from this thread's pool and gives them back,
    // with the buffers it made itself: without a bound the pool grew by one a measure a slice
    // (3 GB over 10 million applicants).
    let lib = library();
    let plan = Plan::compile(&lib);
    let mut rng = Rng(11);
    let inputs: Vec<Input> = (0..200)
        .map(|i| one_of_each(&lib, &mut rng, i, None))
        .collect();
    let mut sizes = Vec::new();
    for _ in 0..30 {
        plan.run(&inputs);
        sizes.push(columnar::pooled_buffers());
    }
    // Thirty batches of 75 measures: far more than the pool may hold, if it kept them all.
    assert!(sizes.iter().all(|n| *n <= 96), "{sizes:?}");
    assert_eq!(sizes[10], sizes[29], "{sizes:?}");
}

#[test]
fn an_award_too_large_for_the_fen_column_is_left_to_the_engine() {
    let lib = library();
    // 聊政字〔2020〕15号 五(三): the city matches the provincial service performance award 1:1
    // (100% of it). An award of
    // 10¹⁷ yuan is 10¹⁹ fen, past an i64: the columns cannot hold it, so the engine pays it —
    // to the fen, the same as for any other amount.
    let line = r#"{"schema": "kechuang/eval-input/v1", "as_of": "2023-12-31", "applicant": {"id": "L9", "name": "聊城示例服务机构", "kind": "service_institution", "region": "dongchangfu"}, "events": [{"id": "a", "kind": "provincial_service_award_received", "date": "2023-05-01", "provincial_award": "1000"}]}"#;
    let mut input = kc_wire::parse_input(&lib, line, None).unwrap();
    // Past what an input file may state (10¹² yuan): as a product with a count could reach.
    let big = Money::from_decimal(kc_money::Dec::from(100_000_000_000_000_000_i64));
    input.events[0].fields[0] = kc_check::Value::Money(big);
    let plan = Plan::compile(&lib);
    let (got, stats) = plan.run(std::slice::from_ref(&input));
    let amounts = amounts_of(&lib, &got[0], "voucher_institution_matching");
    assert_eq!(amounts, vec![big]);
    assert_eq!(stats.engine_pairs, 1, "{stats:?}");
    assert_eq!(got[0], columnar::engine_awards(&lib, &input));
}

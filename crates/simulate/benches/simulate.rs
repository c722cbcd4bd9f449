//! Simulation figures for docs/benchmarks.md (issue 13), printed: the whole shipped library over
//! a population generated from the Shenyang calibration (data/population/shenyang.toml).
//!
//!     cargo bench -p kc-simulate                  # 1,000,000 applicants
//!     KC_BENCH_APPLICANTS=200000 cargo bench -p kc-simulate
//!
//! - the per-applicant engine, one thread (on a sample: it is the slow reference);
//! - the columnar engine, one thread and on every core (`Simulation::add_batch`);
//! - a parameter-only reform re-run: the population laid out in columns once and the baseline
//!   evaluated over it; then the reform's plans compiled and only the measures it touches
//!   re-evaluated over the same columns (`Plan::reevaluate` with `reform::reuse`), the others'
//!   awards taken from the baseline; and, to check it, the reform evaluated in full.

// The kechuang binary's allocator (crates/cli), so the figures are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use kc_simulate::columnar::{Plan, SLICE};
use std::time::Instant;

fn main() {
    let n: u64 = std::env::var("KC_BENCH_APPLICANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (_, checked) = kc_library::load(&root.join("policies")).expect("policies load");
    let lib = checked.library.expect("the library checks");
    let cal = kc_population::Calibration::load(&root.join("data/population/shenyang.toml"))
        .expect("calibration");
    let t = Instant::now();
    let inputs: Vec<kc_eval::Input> = kc_population::generate(&lib, &cal, n, 1)
        .expect("generator")
        .collect();
    let events: usize = inputs.iter().map(|i| i.events.len()).sum();
    println!(
        "population: {n} applicants, {events} events, generated in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let to = Some("2023-12-31".parse().unwrap());
    let from = Some("2021-07-14".parse().unwrap());

    let sample = inputs.len().min(50_000);
    let t = Instant::now();
    let mut one = kc_simulate::Simulation::new(&lib, from, to);
    for i in &inputs[..sample] {
        one.add(i.clone());
    }
    let engine_s = t.elapsed().as_secs_f64();
    println!(
        "per-applicant engine, one thread: {:.0} applicants/s ({sample} applicants in {engine_s:.2} s)",
        sample as f64 / engine_s
    );

    let plan = Plan::compile(&lib);
    let t = Instant::now();
    let mut paid = 0usize;
    for slice in inputs.chunks(SLICE) {
        paid += plan.run(slice).0.iter().map(Vec::len).sum::<usize>();
    }
    let one_thread = t.elapsed().as_secs_f64();
    println!(
        "columnar engine, one thread: {:.0} applicants/s ({} applicants in {one_thread:.2} s, {paid} awards)",
        n as f64 / one_thread,
        n
    );

    let t = Instant::now();
    let mut sim = kc_simulate::Simulation::new(&lib, from, to);
    let stats = sim.add_batch(inputs.clone());
    let forecast = sim.finish();
    let all = t.elapsed().as_secs_f64();
    println!(
        "columnar engine + aggregation, {} threads: {:.0} applicants/s ({all:.2} s); total {} 元; {stats:?}",
        rayon::current_num_threads(),
        n as f64 / all,
        forecast.total().grouped()
    );

    // A parameter-only reform: the population is laid out once and the baseline evaluated
    // over it; the reform re-evaluates the measures it touches and takes the rest from the
    // baseline's awards.
    let mut batches: Vec<_> = inputs.chunks(SLICE).map(|s| plan.prepare(s)).collect();
    let baseline: Vec<_> = batches
        .iter_mut()
        .map(|b| plan.evaluate_awards(b).0)
        .collect();
    let reform = kc_simulate::reform::parse_reform(
        "set contract_registration_rate = 2‰\nset tech_sme_first#1 = 3万元\n",
    )
    .unwrap();
    let t = Instant::now();
    let reformed = kc_simulate::reform::apply(&lib, &reform, &[]).unwrap();
    let reform_plan = Plan::compile(&reformed);
    let reuse = kc_simulate::reform::reuse(&lib, &reformed);
    let compiled = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let rerun: Vec<_> = batches
        .iter_mut()
        .zip(&baseline)
        .map(|(b, base)| reform_plan.reevaluate(b, base, &reuse).0)
        .collect();
    let (rerun, results) = (t.elapsed().as_secs_f64(), rerun);
    let awards: usize = results
        .iter()
        .flat_map(|a| &a.measures)
        .map(|m| m.len())
        .sum();
    let fen: i128 = results.iter().map(|a| a.total_fen()).sum();
    println!(
        "parameter reform re-run over the laid-out population, one thread: apply + compile {:.1} ms, \
         evaluate {:.0} ms ({} of {} measures re-evaluated; {awards} awards by the plans, total {} fen)",
        compiled * 1e3,
        rerun * 1e3,
        reuse.iter().filter(|r| r.is_none()).count(),
        reuse.len(),
        fen
    );
    let t = Instant::now();
    let mut full = 0i128;
    for b in &mut batches {
        full += reform_plan.evaluate_awards(b).0.total_fen();
    }
    println!(
        "the same reform evaluated in full, one thread: {:.0} ms (total {} fen{})",
        t.elapsed().as_secs_f64() * 1e3,
        full,
        if full == fen {
            ", equal"
        } else {
            ", DIFFERENT"
        }
    );
}

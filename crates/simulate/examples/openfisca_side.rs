//! kechuang's side of the OpenFisca comparison (bench/openfisca/run.sh): generates the shared
//! population and evaluates the six benchmark measures of the shipped library on it with the
//! columnar engine, printing timings as one JSON line and each applicant's amounts in fen.
//!
//!     openfisca_side generate SIZE SEED POP.csv REGIONS.json
//!     openfisca_side run POP.csv AMOUNTS.csv [POLICIES_DIR]
//!
//! The six measures, each an exact clause of the library:
//!   contract_registration_institution  沈政发〔2021〕11号 (十八)  min(0.2‰ × volume, 10万元), split city/district 1:1
//!   tech_sme_first                     沈政发〔2021〕11号 (五)    2万元 on a first filing, split 1:1
//!   contract_dev_transfer              聊政字〔2020〕15号 四(一)  1.5% × amount, cap 50万元 a year
//!   contract_consult_service           聊政字〔2020〕15号 四(一)  1‰ × amount, cap 20万元 a year
//!   instrument_lease                   聊政字〔2020〕15号 五(三)  min(10% × lease, 20% × test fees), cap 50万元
//!   platform_performance               沈政发〔2021〕11号 (二)    tier: excellent 100万元, good 50万元, split 1:1

// The allocator of the kechuang binary (crates/cli): glibc's malloc, after the population's
// millions of small allocations, spent more time consolidating free lists than the
// calculation took.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use kc_check::{Library, Value};
use kc_eval::{Applicant, Event, Input};
use kc_money::Money;
use std::io::{BufRead, BufWriter, Write};
use std::time::Instant;

const MEASURES: [&str; 6] = [
    "contract_registration_institution",
    "tech_sme_first",
    "contract_dev_transfer",
    "contract_consult_service",
    "instrument_lease",
    "platform_performance",
];

const KINDS: [(&str, u64); 6] = [
    ("enterprise", 70),
    ("university", 8),
    ("research_institute", 8),
    ("contract_registration_institution", 5),
    ("incubator", 5),
    ("industrial_park", 4),
];

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
        self.next() % n
    }
    /// An amount to the fen, roughly log-uniform between 1,000 and 100,000,000 yuan.
    fn amount(&mut self) -> String {
        let digits = 3 + self.below(6);
        let yuan = 10u64.pow(digits as u32) + self.below(9 * 10u64.pow(digits as u32));
        format!("{yuan}.{:02}", self.below(100))
    }
}

fn library(dir: &str) -> Library {
    let (_, checked) = kc_library::load(std::path::Path::new(dir)).expect("policies load");
    let lib = checked.library.expect("the library checks");
    // Only the six measures: the comparison is formula for formula.
    let reform = kc_simulate::reform::Reform {
        removed: lib
            .measures
            .iter()
            .map(|m| m.id.clone())
            .filter(|id| {
                !MEASURES.contains(&id.as_str())
                    || std::env::var("KC_ONLY").is_ok_and(|o| o != id.as_str())
            })
            .collect(),
        ..Default::default()
    };
    kc_simulate::reform::apply(&lib, &reform, &[]).expect("the six measures exist")
}

/// The districts and counties under a city of the Region enum.
fn districts(lib: &Library, city: &str) -> Vec<String> {
    let e = &lib.vocab.enums[lib.vocab.region];
    let c = e.member(city).expect("city in the vocabulary");
    e.members
        .iter()
        .enumerate()
        .filter(|(i, m)| *i as u32 != c && m.parent.is_some() && e.within(*i as u32, c))
        .map(|(_, m)| m.name.clone())
        .collect()
}

fn generate(lib: &Library, size: u64, seed: u64, pop: &str, regions: &str) {
    let sy = districts(lib, "shenyang");
    let lc = districts(lib, "liaocheng");
    std::fs::write(
        regions,
        serde_json::json!({ "shenyang": sy, "liaocheng": lc }).to_string(),
    )
    .unwrap();
    let mut rng = Rng(seed);
    let mut w = BufWriter::new(std::fs::File::create(pop).unwrap());
    writeln!(w, "id,kind,region,cert_first,reg_volume,contract_type,contract_amount,lease_fee,test_fees,service_good,grade").unwrap();
    let types = [
        "tech_development",
        "tech_transfer",
        "tech_consulting",
        "tech_service",
    ];
    let grades = ["excellent", "good", "qualified"];
    for i in 0..size {
        let mut k = rng.below(100);
        let kind = KINDS
            .iter()
            .find(|(_, p)| {
                if k < *p {
                    true
                } else {
                    k -= p;
                    false
                }
            })
            .unwrap()
            .0;
        let region = if rng.below(2) == 0 {
            &sy[rng.below(sy.len() as u64) as usize]
        } else {
            &lc[rng.below(lc.len() as u64) as usize]
        };
        writeln!(
            w,
            "A{i},{kind},{region},{},{},{},{},{},{},{},{}",
            rng.below(3) == 0,
            rng.amount(),
            types[rng.below(4) as usize],
            rng.amount(),
            rng.amount(),
            rng.amount(),
            rng.below(5) != 0,
            grades[rng.below(3) as usize],
        )
        .unwrap();
    }
}

fn member(lib: &Library, e: usize, name: &str) -> Value {
    Value::Enum(e, lib.vocab.enums[e].member(name).expect(name))
}

fn money(s: &str) -> Value {
    Value::Money(Money::parse_amount(s).expect(s))
}

/// One CSV row as the engine's input: the applicant and one event of each measure's type.
fn input(lib: &Library, line: &str) -> Input {
    let c: Vec<&str> = line.split(',').collect();
    let v = &lib.vocab;
    let mut fields = vec![Value::Unknown; v.applicant.len()];
    fields[v.kind_slot] = member(lib, v.applicant_kind, c[1]);
    fields[v.region_slot] = member(lib, v.region, c[2]);
    let ev = |name: &str| v.event_by_name(name).expect(name);
    let enum_of = |event: &str, field: &str| {
        let def = &v.events[ev(event)];
        match def.fields.iter().find(|f| f.name == field).unwrap().ty {
            kc_check::Type::Enum(e) => e,
            _ => unreachable!("{field} is an enum"),
        }
    };
    let date = |s: &str| s.parse().unwrap();
    let id = c[0];
    let events = vec![
        Event {
            id: "cert".into(),
            kind: ev("certified"),
            date: date("2023-03-01"),
            fields: vec![
                member(lib, v.certification, "tech_sme"),
                Value::Bool(c[3] == "true"),
            ],
        },
        Event {
            id: "volume".into(),
            kind: ev("contract_registration_volume"),
            date: date("2023-06-30"),
            fields: vec![Value::Int(2023), money(c[4])],
        },
        Event {
            id: "contract".into(),
            kind: ev("contract_registered"),
            date: date("2023-05-01"),
            fields: vec![
                member(lib, enum_of("contract_registered", "contract_type"), c[5]),
                money(c[6]),
                Value::Text(format!("HT-{id}")),
                Value::Text(format!("XM-{id}")),
                Value::Bool(true),
            ],
        },
        Event {
            id: "lease".into(),
            kind: ev("instrument_lease_year"),
            date: date("2023-12-31"),
            fields: vec![money(c[7]), money(c[8]), Value::Bool(c[9] == "true")],
        },
        Event {
            id: "platform".into(),
            kind: ev("platform_graded"),
            date: date("2023-06-30"),
            fields: vec![
                Value::Text(format!("PT-{id}")),
                member(lib, enum_of("platform_graded", "grade"), c[10]),
                Value::Int(2023),
            ],
        },
    ];
    Input {
        as_of: date("2023-12-31"),
        applicant: Applicant {
            id: id.to_string(),
            name: String::new(),
            fields,
            certifications: Vec::new(),
            figures: Vec::new(),
        },
        events,
        history: Vec::new(),
    }
}

/// This thread's CPU time in seconds (Linux: /proc/thread-self/schedstat, in nanoseconds).
fn thread_cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e9)
}

/// This thread's minor page faults so far (/proc/thread-self/stat): fresh pages the kernel
/// zeroed, the cost a first calculation pays and a repeated one does not.
fn thread_minor_faults() -> u64 {
    std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(7)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn run(lib: &Library, pop: &str, amounts: &str) {
    let start = Instant::now();
    let file = std::io::BufReader::new(std::fs::File::open(pop).unwrap());
    let inputs: Vec<Input> = file
        .lines()
        .skip(1)
        .map(|l| input(lib, &l.unwrap()))
        .collect();
    let loaded = start.elapsed();
    let plan = kc_simulate::columnar::Plan::compile(lib);
    // One thread, slice by slice as Plan::run does; laying out and evaluating timed apart.
    // One thread. The columns laid out slice by slice first, then evaluated slice by slice, so
    // that the calculation is timed in one piece: by the clock and by the thread's own CPU
    // time (the machine may be shared).
    let t = Instant::now();
    let mut batches: Vec<_> = inputs
        .chunks(kc_simulate::columnar::SLICE)
        .map(|s| plan.prepare(s))
        .collect();
    let prepared = t.elapsed();
    let (t, cpu, faults) = (Instant::now(), thread_cpu_s(), thread_minor_faults());
    // The award columns, one per formula: what OpenFisca's calculate() produces.
    let results: Vec<_> = batches
        .iter_mut()
        .map(|b| plan.evaluate_awards(b))
        .collect();
    let (calc, calc_cpu) = (t.elapsed(), thread_cpu_s() - cpu);
    let calc_faults = thread_minor_faults() - faults;
    // KC_CALC_REPEAT=N: the calculation N more times (for profiling; the figures printed
    // are the first run's, as OpenFisca's are, plus the best repeat's CPU time).
    let repeat: usize = std::env::var("KC_CALC_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut best_cpu = f64::INFINITY;
    let mut best_clock = f64::INFINITY;
    for _ in 0..repeat {
        let (t, cpu) = (Instant::now(), thread_cpu_s());
        for b in batches.iter_mut() {
            std::hint::black_box(plan.evaluate_awards(b));
        }
        best_clock = best_clock.min(t.elapsed().as_secs_f64());
        best_cpu = best_cpu.min(thread_cpu_s() - cpu);
    }
    drop(batches);
    let mut stats = kc_simulate::columnar::Stats::default();
    let mut awards = Vec::with_capacity(results.len());
    for (a, s) in results {
        stats.add(s);
        awards.push(a);
    }
    // Each applicant's awards, to write the amounts file (after the calculation, outside it).
    let paid: Vec<Vec<kc_simulate::columnar::Paid>> =
        awards.iter().flat_map(|a| a.paid(&plan)).collect();
    let end_to_end = start.elapsed();
    let order: Vec<Option<usize>> = MEASURES
        .iter()
        .map(|m| lib.measure_index.get(*m).copied())
        .collect();
    let mut w = BufWriter::new(std::fs::File::create(amounts).unwrap());
    writeln!(w, "id,{},district_share", MEASURES.join(",")).unwrap();
    let mut total = Money::ZERO;
    // Whole fen as an integer: every amount is already rounded down to the fen.
    let fen = |m: Money| {
        let mut d = m.decimal();
        d.rescale(2);
        d.mantissa().to_string()
    };
    for (input, p) in inputs.iter().zip(&paid) {
        let mut row = [Money::ZERO; 6];
        let mut district = Money::ZERO;
        for a in p {
            let i = order.iter().position(|m| *m == Some(a.measure)).unwrap();
            let amount = a.amount.unwrap_or(Money::ZERO);
            row[i] = row[i] + amount;
            total = total + amount;
            for (level, part) in &a.split {
                if *level == kc_syntax::ast::Level::District {
                    district = district + *part;
                }
            }
        }
        let cells: Vec<String> = row.iter().map(|m| fen(*m)).collect();
        writeln!(
            w,
            "{},{},{}",
            input.applicant.id,
            cells.join(","),
            fen(district)
        )
        .unwrap();
    }
    w.flush().unwrap();
    println!(
        "{}",
        serde_json::json!({
            "engine": "kechuang",
            "applicants": inputs.len(),
            "formulas": MEASURES.len(),
            "load_s": loaded.as_secs_f64(),
            "prepare_s": prepared.as_secs_f64(),
            "calc_s": calc.as_secs_f64(),
            "calc_cpu_s": calc_cpu,
            "calc_minor_faults": calc_faults,
            "calc_cpu_best_repeat_s": (repeat > 0).then_some(best_cpu),
            "calc_best_repeat_s": (repeat > 0).then_some(best_clock),
            "end_to_end_s": end_to_end.as_secs_f64(),
            "peak_rss_kb": peak_rss_kb(),
            "total_fen": fen(total),
            "engine_pairs": stats.engine_pairs + stats.engine_applicants,
        })
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let policies = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    match arg(1) {
        Some("generate") if args.len() >= 6 => {
            let lib = library(arg(6).unwrap_or(policies));
            generate(
                &lib,
                args[2].parse().expect("SIZE"),
                args[3].parse().expect("SEED"),
                &args[4],
                &args[5],
            );
        }
        Some("run") if args.len() >= 4 => {
            let lib = library(arg(4).unwrap_or(policies));
            run(&lib, &args[2], &args[3]);
        }
        _ => {
            eprintln!(
                "usage: openfisca_side generate SIZE SEED POP.csv REGIONS.json | run POP.csv AMOUNTS.csv [POLICIES]"
            );
            std::process::exit(2);
        }
    }
}

//! Market benchmarks (plain main, no harness): (a) 100,000 synthetic listings made from the
//! sample's vocabulary with a fixed seed, indexed, then 1,000 searches and 1,000 matches_for
//! with p50/p99 latency; (b) batch_match on 2,000 × 2,000 synthetic listings.
//!
//! cargo bench -p kc-market --bench market            (figures in docs/benchmarks.md, "S&T market")
//! KC_BENCH_LISTINGS=20000 cargo bench -p kc-market     (a smaller run)

use std::time::{Duration, Instant};

use kc_market::eval::Sample;
use kc_market::{Dictionary, Listing, MarketIndex, Side, batch_match};

/// xorshift64*: a fixed seed gives the same listings on every machine, without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// The sample's vocabulary: titles, keywords and clauses of texts, per side.
struct Vocab {
    titles: [Vec<String>; 2],
    keywords: Vec<String>,
    clauses: [Vec<String>; 2],
    template: Vec<Listing>,
}

fn vocab(s: &Sample) -> Vocab {
    let mut v = Vocab {
        titles: [Vec::new(), Vec::new()],
        keywords: Vec::new(),
        clauses: [Vec::new(), Vec::new()],
        template: Vec::new(),
    };
    for (side, ls) in [(0, &s.achievements), (1, &s.demands)] {
        for l in ls {
            v.titles[side].push(l.title.clone());
            v.keywords.extend(l.keywords.iter().cloned());
            v.clauses[side].extend(
                l.text
                    .split(['\u{FF0C}', '\u{3002}', '\u{FF1B}', ',', ';'])
                    .map(str::trim)
                    .filter(|c| c.chars().count() >= 4)
                    .map(str::to_string),
            );
            v.template.push(l.clone());
        }
    }
    v
}

fn generate(v: &Vocab, rng: &mut Rng, n: usize, side: Option<Side>, prefix: &str) -> Vec<Listing> {
    (0..n)
        .map(|i| {
            let side = side.unwrap_or(if rng.below(2) == 0 {
                Side::Achievement
            } else {
                Side::Demand
            });
            let si = usize::from(side == Side::Demand);
            let t = rng.pick(&v.template);
            let clauses: Vec<&str> = (0..3 + rng.below(4))
                .map(|_| rng.pick(&v.clauses[si]).as_str())
                .collect();
            Listing {
                id: format!("{prefix}{i:06}"),
                side,
                title: rng.pick(&v.titles[si]).clone(),
                field: t.field.clone(),
                keywords: if side == Side::Achievement {
                    (0..3).map(|_| rng.pick(&v.keywords).clone()).collect()
                } else {
                    Vec::new()
                },
                text: clauses.join(",") + "。",
                maturity: t.maturity,
                price_fen: t.price_fen.map(|p| p / 100 * (50 + rng.below(100)) as i64),
                region: rng.pick(&v.template).region.clone(),
            }
        })
        .collect()
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    let n: usize = std::env::var("KC_BENCH_LISTINGS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    println!("cores: {cores}");
    let sample = Sample::builtin();
    let dict = Dictionary::builtin();
    let v = vocab(&sample);
    let mut rng = Rng(0x5eed_2026_1130_0001);

    // (a) index n listings, then 1,000 searches and 1,000 matches_for.
    let listings = generate(&v, &mut rng, n, None, "L");
    let t = Instant::now();
    let index = MarketIndex::in_ram(dict.clone()).expect("index");
    for chunk in listings.chunks(10_000) {
        index.upsert_many(chunk).expect("upsert");
    }
    index.commit(1).expect("commit");
    let build = t.elapsed();
    println!(
        "indexed {} listings in {:.1} s ({:.0} listings/s)",
        index.len(),
        build.as_secs_f64(),
        index.len() as f64 / build.as_secs_f64()
    );
    let queries = generate(&v, &mut rng, 1_000, Some(Side::Demand), "Q");
    let mut search_lat = Vec::with_capacity(queries.len());
    let mut hits = 0;
    for q in &queries {
        let text = format!("{} {}", q.title, q.text);
        let t = Instant::now();
        hits += index
            .search(&text, Some(Side::Achievement), 10)
            .expect("search")
            .len();
        search_lat.push(t.elapsed());
    }
    search_lat.sort();
    println!(
        "search (demand text → achievements, top 10), 1,000 queries: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({hits} hits)",
        pct(&search_lat, 0.50),
        pct(&search_lat, 0.99),
        pct(&search_lat, 1.0)
    );
    let mut match_lat = Vec::with_capacity(queries.len());
    let mut matched = 0;
    for q in &queries {
        let t = Instant::now();
        matched += index.matches_for(q, 10).expect("match").matches.len();
        match_lat.push(t.elapsed());
    }
    match_lat.sort();
    println!(
        "matches_for (with reasons, top 10), 1,000 demands: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({matched} matches)",
        pct(&match_lat, 0.50),
        pct(&match_lat, 0.99),
        pct(&match_lat, 1.0)
    );
    drop(index);

    // (b) batch_match 2,000 × 2,000.
    let achievements = generate(&v, &mut rng, 2_000, Some(Side::Achievement), "A");
    let demands = generate(&v, &mut rng, 2_000, Some(Side::Demand), "D");
    let t = Instant::now();
    let batch = batch_match(&achievements, &demands, &dict, 10);
    let took = t.elapsed();
    let shortlisted: usize = batch.per_demand.iter().map(|(_, m)| m.len()).sum();
    println!(
        "batch_match 2,000 × 2,000 ({} pairs), top 10 both ways: {:.2} s ({shortlisted} demand-side matches)",
        batch.pairs,
        took.as_secs_f64()
    );
}

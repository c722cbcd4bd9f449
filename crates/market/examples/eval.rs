//! Runs the evaluation on the shipped sample (or `--dir DIR`) and prints the report.
//! `--calibrate` also sweeps the threshold and prints, for each value, the engine's figures
//! and the F1 of "offered ⇔ labelled relevant" over the top-10 lists: the basis of
//! `DEFAULT_THRESHOLD`.
//!
//! cargo run -p kc-market --release --example eval [-- --calibrate] [--dir data/market/sample]

use std::path::PathBuf;

use kc_market::eval::{Sample, evaluate_with};
use kc_market::{DEFAULT_THRESHOLD, Dictionary, MarketIndex};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sample = match args.iter().position(|a| a == "--dir") {
        Some(i) => Sample::read_dir(&PathBuf::from(&args[i + 1])).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        }),
        None => Sample::builtin(),
    };
    let dict = Dictionary::builtin();
    println!(
        "{} achievements, {} demands, {} labels, {} dictionary groups, threshold {DEFAULT_THRESHOLD}",
        sample.achievements.len(),
        sample.demands.len(),
        sample.labels.len(),
        dict.len()
    );
    let report = evaluate_with(&sample, &dict, None).expect("evaluation");
    println!("{}", report.render());
    if !args.iter().any(|a| a == "--calibrate") {
        return;
    }
    let judged = sample.judgements();
    let mut index = MarketIndex::in_ram(dict.clone()).expect("index");
    index.upsert_many(&sample.achievements).expect("index");
    index.commit(0).expect("commit");
    println!(
        "threshold  recall@10  nDCG@10  offered  TP   FP   FN   F1     no_match(all-0 demands)  no_match(relevant demands)"
    );
    for step in 0..=30 {
        let t = step as f32 * 0.01;
        index.set_threshold(t);
        let (mut tp, mut fp, mut fneg, mut offered) = (0, 0, 0, 0);
        let (mut nm_irrelevant, mut nm_relevant) = (0, 0);
        for d in &sample.demands {
            let Some(labels) = judged.get(d.id.as_str()) else {
                continue;
            };
            let m = index.matches_for(d, 10).expect("match");
            let has_relevant = labels.values().any(|&r| r >= 1);
            if m.no_good_match {
                if has_relevant {
                    nm_relevant += 1;
                } else {
                    nm_irrelevant += 1;
                }
            }
            offered += m.matches.len();
            for x in &m.matches {
                if labels.get(x.id.as_str()).copied().unwrap_or(0) >= 1 {
                    tp += 1;
                } else {
                    fp += 1;
                }
            }
            fneg += labels
                .iter()
                .filter(|(id, r)| **r >= 1 && !m.matches.iter().any(|x| x.id == **id))
                .count();
        }
        let f1 = 2.0 * tp as f64 / (2 * tp + fp + fneg).max(1) as f64;
        let r = evaluate_with(&sample, &dict, Some(t)).expect("evaluation");
        println!(
            "{t:>9.2}  {:>9.3}  {:>7.3}  {offered:>7}  {tp:<4} {fp:<4} {fneg:<4} {f1:.3}  {nm_irrelevant:>23}  {nm_relevant:>26}",
            r.engine.recall_at_10, r.engine.ndcg_at_10
        );
    }
}

//! Runs the evaluation on the shipped sample (or `--dir DIR`) and prints the report.
//! `--calibrate` also sweeps the threshold and prints, for each value, the engine's figures
//! and the F1 of "offered ⇔ labelled relevant" over the top-10 lists: the basis of
//! `DEFAULT_THRESHOLD`.
//!
//! cargo run -p kc-market --release --example eval [-- --calibrate] [--no-dict] [--dir DIR]

use std::path::PathBuf;

use kc_market::eval::{Sample, evaluate_with};
use kc_market::{DEFAULT_THRESHOLD, Dictionary, Listing, MarketIndex, Side};

/// Requests outside every field of the sample, for the negative side of the calibration.
const OFF_TOPIC: &[&str] = &[
    "茶叶包装设计",
    "婚纱摄影工作室想做一套新的样片风格",
    "幼儿园想提高招生率，家长觉得我们的课程没特色",
    "餐厅装修风格太老，年轻人不愿意来吃饭",
    "旅行社想设计几条新的亲子旅游线路",
    "想找人帮忙拍短视频做抖音带货",
    "公司合同纠纷需要法律咨询",
    "广告牌制作和门头设计",
    "酒店前台入住排队时间长，客人抱怨服务态度",
    "中学英语成绩差，想找好的辅导老师",
    "小区物业费收缴率低，业主意见大",
    "书法培训班招不到学生",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sample = match args.iter().position(|a| a == "--dir") {
        Some(i) => Sample::read_dir(&PathBuf::from(&args[i + 1])).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        }),
        None => Sample::builtin(),
    };
    // `--no-dict` measures what the dictionary adds.
    let dict = if args.iter().any(|a| a == "--no-dict") {
        Dictionary::empty()
    } else {
        Dictionary::builtin()
    };
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
    // Requests no listing of the sample answers: each should get no_good_match.
    let off_topic: Vec<Listing> = OFF_TOPIC
        .iter()
        .enumerate()
        .map(|(i, t)| Listing {
            id: format!("OFF{i}"),
            side: Side::Demand,
            title: t.to_string(),
            field: "light_textile".into(),
            keywords: Vec::new(),
            text: t.to_string(),
            maturity: None,
            price_fen: None,
            region: Vec::new(),
        })
        .collect();
    println!(
        "threshold  recall@10  nDCG@10  offered  TP   FP   FN   F1     no_match(all-0 demands)  no_match(relevant demands)  off-topic no_match/{}",
        off_topic.len()
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
        let off = off_topic
            .iter()
            .filter(|d| index.matches_for(d, 10).expect("match").no_good_match)
            .count();
        let f1 = 2.0 * tp as f64 / (2 * tp + fp + fneg).max(1) as f64;
        let r = evaluate_with(&sample, &dict, Some(t)).expect("evaluation");
        println!(
            "{t:>9.2}  {:>9.3}  {:>7.3}  {offered:>7}  {tp:<4} {fp:<4} {fneg:<4} {f1:.3}  {nm_irrelevant:>23}  {nm_relevant:>26}  {off:>8}",
            r.engine.recall_at_10, r.engine.ndcg_at_10
        );
    }
}

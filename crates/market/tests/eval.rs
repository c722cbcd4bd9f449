//! The evaluation: metric definitions checked by hand, sample parsing and its errors.

use std::collections::HashMap;

use kc_market::eval::{Sample, evaluate, score_ranking};
use kc_market::{Dictionary, MarketError};

const ACH: &str = "\
id,title,owner,owner_kind,field,keywords,abstract,maturity,ip,transfer_mode,price,region,contact
CG1,激光焊接残余应力控制,某大学,university,intelligent_manufacturing,激光焊接；残余应力,降低激光焊接接头残余应力，抑制焊接裂纹。,pilot,专利,许可,300000.5,hunnan,x
CG2,焊接烟尘净化设备,某公司,enterprise,energy_saving,焊接烟尘;除尘,车间焊接烟尘收集过滤。,industrial,专利,转让,,tiexi,x
CG3,水稻插秧机,某院,research_institute,modern_agriculture,插秧,水稻机械化插秧。,industrial,,,12,gaotang,x
";
const DEM: &str = "\
id,title,enterprise,field,problem,budget,deadline,region,maturity,contact
XQ1,焊缝总是开裂,某厂,intelligent_manufacturing,结构件焊完焊缝总是开裂。,500000,2027-01-01,tiexi,small_pilot,x
XQ2,茶叶包装设计,某茶厂,light_textile,茶叶包装设计。,,2027-01-01,linqing,,x
";
const LAB: &str = "demand,achievement,relevance\nXQ1,CG1,2\nXQ1,CG2,0\nXQ2,CG3,0\n";

#[test]
fn metrics_by_hand() {
    let labels: HashMap<&str, u8> = [("A", 2), ("B", 1), ("C", 0), ("D", 1)].into();
    let m = score_ranking(&["C", "A", "X", "B"], &labels);
    // Relevant: A, B, D (3); found in the top 10: A (rank 2) and B (rank 4).
    assert!((m.recall_at_10 - 2.0 / 3.0).abs() < 1e-12);
    assert!((m.precision_at_10 - 0.2).abs() < 1e-12);
    // DCG = (2²−1)/log2 3 + (2¹−1)/log2 5; ideal gains 3,1,1,0 → 3/1 + 1/log2 3 + 1/2.
    let dcg = 3.0 / 3f64.log2() + 1.0 / 5f64.log2();
    let idcg = 3.0 + 1.0 / 3f64.log2() + 0.5;
    assert!((m.ndcg_at_10 - dcg / idcg).abs() < 1e-12);
    assert!((m.ndcg_at_10 - 0.562_46).abs() < 1e-4);
    assert!((m.mrr - 0.5).abs() < 1e-12);
    let none = score_ranking(&["C", "X"], &labels);
    assert_eq!(
        (none.recall_at_10, none.ndcg_at_10, none.mrr),
        (0.0, 0.0, 0.0)
    );
}

#[test]
fn evaluate_tiny_sample() {
    let s = Sample::parse(ACH, DEM, LAB).unwrap();
    assert_eq!(s.achievements[0].price_fen, Some(30_000_050));
    assert_eq!(s.achievements[0].keywords, ["激光焊接", "残余应力"]);
    assert_eq!(s.achievements[1].price_fen, None);
    assert_eq!(s.demands[0].region, ["liaoning", "shenyang", "tiexi"]);
    let dict = Dictionary::parse("焊缝开裂,焊接裂纹,残余应力\n").unwrap();
    let r = evaluate(&s, &dict);
    // Only XQ1 has a relevant label; the engine puts CG1 (relevance 2) first.
    assert_eq!(r.engine.queries, 1);
    assert_eq!(r.engine.recall_at_10, 1.0);
    assert_eq!(r.engine.precision_at_10, 0.1);
    assert_eq!(r.engine.ndcg_at_10, 1.0);
    assert_eq!(r.engine.mrr, 1.0);
    assert_eq!(r.baseline.queries, 1);
    assert!(r.render().contains("nDCG@10"));
}

#[test]
fn parse_errors_name_file_row_and_column() {
    let bad_price = ACH.replace("300000.5", "300000.555");
    match Sample::parse(&bad_price, DEM, LAB).unwrap_err() {
        MarketError::Parse {
            file, row, column, ..
        } => {
            assert_eq!(
                (file.as_str(), row, column.as_str()),
                ("achievements.csv", 2, "price")
            )
        }
        e => panic!("{e}"),
    }
    let bad_region = DEM.replace("linqing", "atlantis");
    let e = Sample::parse(ACH, &bad_region, LAB).unwrap_err();
    assert!(
        matches!(&e, MarketError::Parse { row: 3, column, .. } if column == "region"),
        "{e}"
    );
    assert!(e.to_string().contains("第 3 行"), "{e}");
    let bad_label = format!("{LAB}XQ1,CG9,1\n");
    let e = Sample::parse(ACH, DEM, &bad_label).unwrap_err();
    assert!(
        matches!(&e, MarketError::Parse { row: 5, column, .. } if column == "achievement"),
        "{e}"
    );
    let bad_rel = LAB.replace("XQ1,CG1,2", "XQ1,CG1,3");
    assert!(Sample::parse(ACH, DEM, &bad_rel).is_err());
}

#[test]
fn builtin_sample_parses_and_is_large_enough() {
    let s = Sample::builtin();
    assert!(s.achievements.len() >= 300, "{}", s.achievements.len());
    assert!(s.demands.len() >= 200, "{}", s.demands.len());
    assert!(s.labels.len() >= 300, "{}", s.labels.len());
}

/// The figures on the shipped sample; printed, not asserted (see docs/benchmarks-market.md).
#[test]
#[ignore]
fn builtin_sample_report() {
    let r = evaluate(&Sample::builtin(), &Dictionary::builtin());
    println!("{}", r.render());
}

//! Behaviour of the market crate: dictionary, analysis, index life cycle, matching with
//! reasons, no-good-match, batch matching.

use kc_market::*;

const WELD_DICT: &str = "\
# 焊接:企业说的与论文说的
焊缝开裂,焊接裂纹,残余应力
AGV,自动导引车,自动导引运输车
锂电,锂离子电池
";

fn dict() -> Dictionary {
    Dictionary::parse(WELD_DICT).unwrap()
}

fn listing(id: &str, side: Side, title: &str, text: &str) -> Listing {
    Listing {
        id: id.into(),
        side,
        title: title.into(),
        field: "intelligent_manufacturing".into(),
        keywords: vec![],
        text: text.into(),
        maturity: None,
        price_fen: None,
        region: vec![],
    }
}

fn welding_achievements() -> Vec<Listing> {
    let mut a = listing(
        "CG1",
        Side::Achievement,
        "激光焊接残余应力控制",
        "通过焊前预热与焊后振动时效降低激光焊接接头的残余应力,抑制焊接裂纹,提高结构件疲劳寿命。",
    );
    a.keywords = vec!["激光焊接".into(), "残余应力".into()];
    a.maturity = Some(Maturity::Pilot);
    a.price_fen = Some(30_000_000);
    a.region = region_path("hunnan");
    let mut b = listing(
        "CG2",
        Side::Achievement,
        "焊接烟尘净化设备",
        "车间焊接烟尘的收集与过滤净化,改善工人作业环境,符合排放标准。",
    );
    b.keywords = vec!["焊接烟尘".into(), "除尘".into()];
    let c = listing(
        "CG3",
        Side::Achievement,
        "弧焊机器人离线编程",
        "基于三维模型自动生成弧焊机器人轨迹,焊缝寻位,免除示教。",
    );
    vec![a, b, c]
}

fn welding_index() -> MarketIndex {
    let idx = MarketIndex::in_ram(dict()).unwrap();
    for l in welding_achievements() {
        idx.upsert(&l).unwrap();
    }
    idx.commit(1).unwrap();
    idx
}

#[test]
fn dictionary_parses_groups_and_comments() {
    let d = Dictionary::parse("# c\n\n a, b ,c\nd,e # tail\n全角\u{FF0C}逗号\n").unwrap();
    assert_eq!(d.len(), 3);
    assert_eq!(d.groups()[2], ["全角", "逗号"]);
    let merged = d.merge(Dictionary::parse("a,x\nq,r").unwrap());
    assert_eq!(
        merged.len(),
        4,
        "a group with the same canonical term is united"
    );
    assert_eq!(merged.groups()[0], ["a", "b", "c", "x"]);
}

#[test]
fn dictionary_errors_name_the_line() {
    let e = Dictionary::parse("a,b\n# comment\n焊缝开裂\n").unwrap_err();
    assert_eq!(e.line, 3);
    let shown = e.to_string();
    assert!(
        shown.contains("第 3 行") && shown.contains("line 3"),
        "{shown}"
    );
    let e = Dictionary::parse("a,b\nc,,d\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.en.contains("empty"), "{e}");
    let e = Dictionary::parse("\n\nx,y,x\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.zh.contains("重复"), "{e}");
}

#[test]
fn builtin_dictionary_parses() {
    assert!(!Dictionary::builtin().is_empty());
}

#[test]
fn tokenisation_keeps_dictionary_terms_whole() {
    let d = Dictionary::parse("焊缝开裂,焊接裂纹,残余应力\n潜伏顶升,顶升式agv\n").unwrap();
    let an = Analyzer::new(d);
    let words = an.words("激光焊接残余应力控制,防止焊缝开裂与潜伏顶升");
    for term in ["残余应力", "焊缝开裂", "潜伏顶升"] {
        assert!(words.iter().any(|w| w == term), "{term} in {words:?}");
    }
    // Full-width letters and upper case fold to one term.
    let words = an.words("AGV小车");
    assert!(words.iter().any(|w| w == "agv"), "{words:?}");
    // A dictionary term found with words between its parts is still a concept.
    let a = an.analyze("焊缝总是开裂");
    assert!(a.concepts.iter().any(|(c, _)| c == "焊缝开裂"), "{:?}", a);
}

#[test]
fn enterprise_words_find_literature_words_with_a_synonym_reason() {
    let idx = welding_index();
    let mut d = listing(
        "XQ1",
        Side::Demand,
        "焊缝总是开裂",
        "我们的结构件焊完以后焊缝总是开裂,返修率很高。",
    );
    d.maturity = Some(Maturity::SmallPilot);
    d.price_fen = Some(50_000_000);
    d.region = region_path("tiexi");
    let m = idx.matches_for(&d, 10).unwrap();
    assert!(!m.no_good_match, "{m:?}");
    assert_eq!(m.matches[0].id, "CG1", "{m:#?}");
    let reasons = &m.matches[0].reasons;
    let syn = reasons
        .iter()
        .find_map(|r| match r {
            Reason::SynonymTerms(p) => Some(p.clone()),
            _ => None,
        })
        .expect("a synonym reason");
    assert!(
        syn.iter()
            .any(|(their, our)| their != our && our == "焊缝开裂"),
        "{syn:?}"
    );
    assert!(reasons.contains(&Reason::SameField("intelligent_manufacturing".into())));
    assert!(reasons.contains(&Reason::Region(RegionFit::SameCity)));
    assert!(reasons.contains(&Reason::Maturity {
        have: Maturity::Pilot,
        need: Some(Maturity::SmallPilot),
        ok: true
    }));
    assert!(reasons.contains(&Reason::Price {
        price_fen: 30_000_000,
        budget_fen: 50_000_000,
        ok: true
    }));
    for r in reasons {
        assert!(!r.zh().is_empty() && !r.en().is_empty());
    }
    // The hard negative shares 焊接 but not the problem: if offered at all, it ranks below.
    if let Some(pos) = m.matches.iter().position(|x| x.id == "CG2") {
        assert!(pos > 0);
        assert!(m.matches[pos].score < m.matches[0].score);
    }
}

#[test]
fn reasons_read_as_sentences() {
    let r = Reason::SharedTerms(vec!["激光焊接".into(), "残余应力".into()]);
    assert_eq!(r.zh(), "共同术语:激光焊接、残余应力");
    assert_eq!(r.en(), "Shared terms: 激光焊接, 残余应力");
    let r = Reason::Price {
        price_fen: 12_345_600,
        budget_fen: 10_000_000,
        ok: false,
    };
    assert_eq!(r.zh(), "价格 123,456.00 元,预算 100,000.00 元,超出预算");
}

#[test]
fn unrelated_query_gets_no_good_match() {
    let idx = welding_index();
    let d = listing("XQ2", Side::Demand, "茶叶包装设计", "茶叶包装设计");
    let m = idx.matches_for(&d, 10).unwrap();
    assert!(m.no_good_match, "{m:#?}");
    assert!(m.matches.is_empty());
}

#[test]
fn search_finds_terms_and_filters_side() {
    let idx = welding_index();
    let hits = idx.search("残余应力", None, 5).unwrap();
    assert_eq!(hits[0].id, "CG1");
    assert!(hits[0].terms.iter().any(|t| t == "残余应力"));
    assert!(
        idx.search("残余应力", Some(Side::Demand), 5)
            .unwrap()
            .is_empty()
    );
    // Through the dictionary: 焊接裂纹 finds the listing that says 残余应力.
    let hits = idx.search("焊接裂纹", Some(Side::Achievement), 5).unwrap();
    assert_eq!(hits[0].id, "CG1", "{hits:?}");
}

#[test]
fn upsert_replaces_and_remove_removes() {
    let idx = welding_index();
    assert_eq!(idx.len(), 3);
    let mut a = idx.get("CG2").unwrap();
    a.title = "锂电池极片涂布".into();
    a.text = "锂离子电池极片涂布厚度在线检测".into();
    idx.upsert(&a).unwrap();
    idx.commit(2).unwrap();
    assert_eq!(idx.len(), 3);
    assert_eq!(idx.get("CG2").unwrap().title, "锂电池极片涂布");
    assert!(
        idx.search("焊接烟尘", None, 5)
            .unwrap()
            .iter()
            .all(|h| h.id != "CG2")
    );
    assert_eq!(idx.search("锂电", None, 5).unwrap()[0].id, "CG2");
    idx.remove("CG2").unwrap();
    idx.commit(3).unwrap();
    assert_eq!(idx.len(), 2);
    assert!(idx.get("CG2").is_none());
    idx.clear().unwrap();
    idx.commit(4).unwrap();
    assert!(idx.is_empty());
    assert_eq!(idx.synced_seq(), 4);
}

#[test]
fn open_dir_persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("market-index");
    {
        let idx = MarketIndex::open_dir(&path, dict()).unwrap();
        assert_eq!(idx.synced_seq(), 0);
        assert!(idx.is_empty());
        for l in welding_achievements() {
            idx.upsert(&l).unwrap();
        }
        idx.commit(42).unwrap();
    }
    let idx = MarketIndex::open_dir(&path, dict()).unwrap();
    assert_eq!(idx.synced_seq(), 42);
    assert_eq!(idx.len(), 3);
    assert_eq!(idx.get("CG1").unwrap(), welding_achievements()[0]);
    assert_eq!(idx.search("残余应力", None, 1).unwrap()[0].id, "CG1");
}

#[test]
fn batch_match_shortlists_both_ways() {
    let achievements = welding_achievements();
    let demands = vec![
        listing("XQ1", Side::Demand, "焊缝总是开裂", "结构件焊缝总是开裂"),
        listing(
            "XQ2",
            Side::Demand,
            "车间烟大",
            "焊接烟尘大,工人受不了,想要除尘净化",
        ),
        listing("XQ3", Side::Demand, "茶叶包装设计", "茶叶包装设计"),
    ];
    let b = batch_match(&achievements, &demands, &dict(), 5);
    assert_eq!(b.pairs, 9);
    let per_d: std::collections::HashMap<_, _> = b.per_demand.iter().cloned().collect();
    assert_eq!(per_d["XQ1"][0].id, "CG1");
    assert_eq!(per_d["XQ2"][0].id, "CG2");
    assert!(per_d["XQ3"].is_empty());
    let per_a: std::collections::HashMap<_, _> = b.per_achievement.iter().cloned().collect();
    assert_eq!(per_a["CG1"][0].id, "XQ1");
    assert_eq!(per_a["CG2"][0].id, "XQ2");
    assert_eq!(b.per_achievement.len(), 3);
}

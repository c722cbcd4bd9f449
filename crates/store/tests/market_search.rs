//! Search, matching and 对接会 through the store, on both databases: every process sharing a
//! database answers alike (the index catches up by the listings' change counter), a withdrawn
//! listing leaves the results, and a 对接会's batch matching shortlists and counts its meetings.

mod common;

use common::*;
use kc_market::Side;
use kc_store::market::ListingInput;
use kc_store::{Actor, Store};

fn listing(title: &str, field: &str, text: &str, maturity: Option<&str>) -> ListingInput {
    ListingInput {
        title: title.into(),
        field: field.into(),
        text: text.into(),
        maturity: maturity.map(str::to_string),
        region: Some("liaocheng".into()),
        owner_name: Some("示例单位".into()),
        ..Default::default()
    }
}

async fn seed(s: &Store) -> (String, String, String, String, String) {
    let staff = reviewer(1);
    let weld = s
        .create_listing(
            &staff,
            Side::Achievement,
            &listing(
                "激光焊接残余应力控制技术",
                "intelligent_manufacturing",
                "通过焊前预热与焊后热处理降低焊缝残余应力,抑制焊接裂纹。",
                Some("pilot"),
            ),
        )
        .await
        .unwrap();
    let agv = s
        .create_listing(
            &staff,
            Side::Achievement,
            &listing(
                "激光SLAM自动导引车",
                "intelligent_manufacturing",
                "自然导航的自动导引车,用于厂内物流搬运,重复定位精度±10mm。",
                Some("industrial"),
            ),
        )
        .await
        .unwrap();
    let mildew = s
        .create_listing(
            &staff,
            Side::Achievement,
            &listing(
                "黄瓜霜霉病生物防治菌剂",
                "modern_agriculture",
                "枯草芽孢杆菌菌剂防治设施黄瓜霜霉病,防效80%以上。",
                Some("industrial"),
            ),
        )
        .await
        .unwrap();
    let cracks = s
        .create_listing(
            &staff,
            Side::Demand,
            &listing(
                "焊缝老是开裂",
                "intelligent_manufacturing",
                "我们的结构件焊完以后焊缝总是开裂,返修率很高,想找办法解决。",
                None,
            ),
        )
        .await
        .unwrap();
    let forklift = s
        .create_listing(
            &staff,
            Side::Demand,
            &listing(
                "仓库想上自动搬运小车",
                "intelligent_manufacturing",
                "仓库里叉车全靠人开,想换成自动搬运的AGV小车。",
                None,
            ),
        )
        .await
        .unwrap();
    (weld, agv, mildew, cracks, forklift)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_database_answer_alike() {
    for db in backends("market_two").await {
        // Two stores on one database, each with its own index (two `serve` processes).
        let dir = std::env::temp_dir().join(format!("kc-market-two-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = open(&db).await.with_market_index_dir(dir.join("a"));
        let b = open(&db).await.with_market_index_dir(dir.join("b"));
        let (weld, ..) = seed(&a).await;
        let hits = b
            .market_search(None, "焊缝开裂", Some(Side::Achievement), 10)
            .await
            .unwrap();
        assert_eq!(
            hits.first().map(|h| h.listing.id.as_str()),
            Some(weld.as_str()),
            "{}: the other process finds the new listing at once",
            db.label
        );
        // Withdrawn through the other process: gone from the first one's answers.
        b.set_listing_status(&reviewer(1), &weld, "withdrawn")
            .await
            .unwrap();
        let hits = a
            .market_search(None, "残余应力", Some(Side::Achievement), 10)
            .await
            .unwrap();
        assert!(
            hits.iter().all(|h| h.listing.id != weld),
            "{}: {hits:?}",
            db.label
        );
        // A rebuilt index answers as the caught-up one does.
        assert_eq!(a.market_reindex().await.unwrap(), 4);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn matches_come_with_reasons_and_unpublished_listings_stay_out() {
    for db in backends("market_matches").await {
        let s = open(&db).await;
        let (weld, _agv, mildew, cracks, _) = seed(&s).await;
        let m = s.market_matches(None, &cracks, 5).await.unwrap();
        assert!(!m.no_good_match, "{}: {m:?}", db.label);
        assert_eq!(m.matches[0].listing.id, weld, "{}", db.label);
        assert!(
            !m.matches[0].reasons.is_empty(),
            "every match says why: {:?}",
            m.matches[0]
        );
        assert!(
            m.matches.iter().all(|x| x.listing.id != mildew),
            "{}: a farming achievement does not answer a welding problem",
            db.label
        );
        // An organisation's pending listing is matched for its owner but found by nobody else.
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        let me = Actor::applicant("u", HUNNAN);
        let mut own = listing(
            "焊接机器人焊缝裂纹问题",
            "intelligent_manufacturing",
            "焊缝开裂",
            None,
        );
        own.region = None;
        own.owner_name = None;
        let pending = s.create_listing(&me, Side::Demand, &own).await.unwrap();
        assert!(
            s.market_search(None, "焊缝", Some(Side::Demand), 10)
                .await
                .unwrap()
                .iter()
                .all(|h| h.listing.id != pending)
        );
        let mine = s.market_matches(Some(&me), &pending, 5).await.unwrap();
        assert_eq!(mine.matches[0].listing.id, weld);
        assert!(s.market_matches(None, &pending, 5).await.is_err());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fair_matches_in_batch_and_counts_its_meetings() {
    for db in backends("market_fair").await {
        let s = open(&db).await;
        let (weld, agv, mildew, cracks, forklift) = seed(&s).await;
        let staff = reviewer(1);
        let fair = s
            .create_fair(&staff, "2023年聊城成果对接会", "2023-06-01", "liaocheng")
            .await
            .unwrap();
        let ids = [&weld, &agv, &mildew, &cracks, &forklift].map(|x| x.to_string());
        assert_eq!(s.add_to_fair(&staff, &fair, &ids).await.unwrap(), 5);
        assert_eq!(s.add_to_fair(&staff, &fair, &ids).await.unwrap(), 0);
        let f = s.match_fair(&staff, &fair).await.unwrap();
        assert_eq!((f.achievements, f.demands), (3, 2));
        let v = s.fair(&staff, &fair).await.unwrap();
        let proposed = |d: &str, a: &str| {
            v.pairs
                .iter()
                .any(|p| p.demand_id == d && p.achievement_id == a && p.score_milli > 0)
        };
        assert!(proposed(&cracks, &weld), "{}: {:?}", db.label, v.pairs);
        assert!(proposed(&forklift, &agv), "{}: {:?}", db.label, v.pairs);
        assert!(!proposed(&cracks, &mildew), "{}", db.label);
        assert_eq!(f.demands_with_proposal, 2);
        // Meetings: an intention, a contract, a failure and a walk-in.
        s.record_meeting(&staff, &fair, &cracks, &weld, "意向", "")
            .await
            .unwrap();
        s.record_meeting(&staff, &fair, &forklift, &agv, "signed", "当场签约")
            .await
            .unwrap();
        s.record_meeting(&staff, &fair, &cracks, &mildew, "failed", "不对口")
            .await
            .unwrap();
        let e = s
            .record_meeting(&staff, &fair, &weld, &cracks, "intention", "")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("demand"), "{e}");
        let f = s.fair(&staff, &fair).await.unwrap().figures;
        assert_eq!(
            (
                f.meetings,
                f.intentions,
                f.contracts,
                f.failed,
                f.demands_with_intention
            ),
            (3, 2, 1, 1, 2),
            "{}",
            db.label
        );
        // Re-running keeps the meetings.
        let again = s.match_fair(&staff, &fair).await.unwrap();
        assert_eq!(again.meetings, 3);
        // Only staff, and only of the event's region.
        let sy = Actor::staff("sy", kc_domain::Role::Reviewer, "shenyang");
        assert!(s.fair(&sy, &fair).await.is_err());
        assert!(s.fairs(&sy).await.unwrap().is_empty());
        assert!(s.fair(&Actor::applicant("u", HUNNAN), &fair).await.is_err());
    }
}

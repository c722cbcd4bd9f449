//! The S&T market on both databases: a registered contract and a redeemed voucher produce the
//! engine's awards with the amounts worked out by hand from the clauses; every abuse rule is
//! refused with its reason; an import with a broken row imports nothing; an organisation sees
//! nobody else's unpublished listings, vouchers or contracts.

mod common;

use common::*;
use kc_domain::{Action, AppState};
use kc_money::Money;
use kc_store::market::contracts::ContractInput;
use kc_store::market::{ListingFilter, ListingInput};
use kc_store::{ActArgs, Actor, Store, StoreError};
use serde_json::json;

fn m(s: &str) -> Money {
    Money::parse_amount(s).unwrap()
}

fn code(e: &StoreError) -> &'static str {
    match e {
        StoreError::Refused { code, .. } => code,
        StoreError::Invalid(_) => "invalid",
        StoreError::NotFound(_) => "not_found",
        _ => "other",
    }
}

fn uscc(prefix17: &str) -> String {
    kc_domain::Uscc::complete(prefix17).unwrap().to_string()
}

/// A Liaocheng university (seller), a Liaocheng enterprise (buyer) and a registration
/// institution, all on the platform.
struct Parties {
    uni: String,
    buyer: String,
    registrar: String,
}

async fn parties(s: &Store) -> Parties {
    let p = Parties {
        uni: uscc("12371500MB2835925"),
        buyer: uscc("91371525MA3C00001"),
        registrar: uscc("12371500MB2800001"),
    };
    for (id, name, kind, region, size) in [
        (&p.uni, "聊城示例大学", "university", "dongchangfu", None),
        (
            &p.buyer,
            "聊城示例轴承有限公司",
            "enterprise",
            "linqing",
            Some("small"),
        ),
        (
            &p.registrar,
            "聊城示例技术合同登记站",
            "contract_registration_institution",
            "dongchangfu",
            None,
        ),
    ] {
        let mut profile = json!({"id": id, "name": name, "kind": kind, "region": region});
        if let Some(size) = size {
            profile["size"] = json!(size);
        }
        s.upsert_applicant(&admin(), &profile).await.unwrap();
    }
    p
}

fn contract(p: &Parties, reg_no: &str, ctype: &str, amount: &str, on: &str) -> ContractInput {
    ContractInput {
        reg_no: reg_no.into(),
        contract_type: ctype.into(),
        title: format!("{reg_no} 合同"),
        seller_id: p.uni.clone(),
        buyer_id: p.buyer.clone(),
        item: Some(format!("item-{reg_no}")),
        amount: amount.into(),
        tech_amount: amount.into(),
        signed_on: on.into(),
        registered_on: Some(on.into()),
        ..Default::default()
    }
}

/// Submits a market draft as the seller, takes it through review and approves `amount`.
async fn approve(s: &Store, org: &str, app: &str, a: &str) -> kc_store::ApplicationView {
    let me = Actor::applicant("u-seller", org);
    ready(s, &me, app).await;
    s.act(&me, app, Action::Submit, ActArgs::default())
        .await
        .unwrap();
    s.act(&reviewer(1), app, Action::StartReview, ActArgs::default())
        .await
        .unwrap();
    through_lower_levels(s, app).await;
    s.act(&reviewer(1), app, Action::Approve, amount(a))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registered_contract_becomes_the_sellers_application_with_the_clause_amount() {
    for db in backends("market_contract").await {
        let s = open(&db).await;
        let p = parties(&s).await;
        let registrar = Actor::applicant("u-reg", &p.registrar);
        let one = |reg: &kc_store::market::contracts::Registered| reg.applications.clone();

        // 2022: a transfer of item Y for 2,000,000.00 → 四(一) 1.5% = 30,000.00, approved.
        let mut c0 = contract(&p, "LC2022-0001", "技术转让", "2000000", "2022-05-10");
        c0.item = Some("耐高温薄膜制备技术".into());
        let r0 = s.register_contract(&registrar, &c0).await.unwrap();
        assert_eq!(r0.event_id.as_deref(), Some("contract-LC2022-0001"));
        let apps = one(&r0);
        assert_eq!(apps.len(), 1, "{}: one draft for 四(一)", db.label);
        let a0 = s.application(&admin(), &apps[0]).await.unwrap();
        assert_eq!(
            (a0.measure.as_str(), a0.state, a0.origin.as_str()),
            ("contract_dev_transfer", AppState::Draft, "market")
        );
        assert_eq!(a0.computed, Some(m("30000")), "{}", db.label);
        assert_eq!(a0.amount_kind.as_deref(), Some("cap"));
        approve(&s, &p.uni, &apps[0], "30000").await;

        // 2023-03-01: development contract, 10,000,000.00 × 1.5% = 150,000.00.
        let r1 = s
            .register_contract(
                &registrar,
                &contract(&p, "LC2023-0001", "技术开发", "10000000", "2023-03-01"),
            )
            .await
            .unwrap();
        let a1 = s.application(&admin(), &one(&r1)[0]).await.unwrap();
        assert_eq!(a1.computed, Some(m("150000")), "{}", db.label);
        approve(&s, &p.uni, &a1.id, "150000").await;

        // 2023-04-01: item Y again for 3,000,000.00 — 同一项目多次转让,仅就增值部分给予补助:
        // (3,000,000 − 2,000,000) × 1.5% = 15,000.00.
        let mut c5 = contract(&p, "LC2023-0002", "transfer", "3000000", "2023-04-01");
        c5.item = Some("耐高温薄膜制备技术".into());
        let r5 = s.register_contract(&registrar, &c5).await.unwrap();
        let a5 = s.application(&admin(), &one(&r5)[0]).await.unwrap();
        assert_eq!(a5.computed, Some(m("15000")), "{}: increment", db.label);
        approve(&s, &p.uni, &a5.id, "15000").await;

        // 2023-05-01: a licence of item X for 30,000,000.00: 1.5% = 450,000.00, but the
        // year's cap of 500,000.00 has 500,000 − 150,000 − 15,000 = 335,000.00 left.
        let r3 = s
            .register_contract(
                &registrar,
                &contract(&p, "LC2023-0003", "技术许可", "30000000", "2023-05-01"),
            )
            .await
            .unwrap();
        let a3 = s.application(&admin(), &one(&r3)[0]).await.unwrap();
        assert_eq!(a3.computed, Some(m("335000")), "{}: annual cap", db.label);

        // The same transfer activity as LC2023-0001 registered again: 同一项技术转移活动仅补助一次.
        let mut c6 = contract(&p, "LC2023-0004", "技术开发", "1000000", "2023-05-02");
        c6.activity = Some("LC2023-0001".into());
        let r6 = s.register_contract(&registrar, &c6).await.unwrap();
        assert!(
            r6.applications.is_empty(),
            "{}: once per activity",
            db.label
        );
        assert!(r6.event_id.is_some(), "the event is still recorded");

        // A service contract: 1‰ × 5,000,000.00 = 5,000.00 under the consulting/service measure.
        let r2 = s
            .register_contract(
                &registrar,
                &contract(&p, "LC2023-0005", "技术服务", "5000000", "2023-05-03"),
            )
            .await
            .unwrap();
        let a2 = s.application(&admin(), &one(&r2)[0]).await.unwrap();
        assert_eq!(
            (a2.measure.as_str(), a2.computed),
            ("contract_consult_service", Some(m("5000")))
        );

        // Yearly statistics: 2023 has five contracts, 49,000,000.00 in all.
        let stats = s.contract_stats(&admin(), 2023).await.unwrap();
        assert_eq!(stats.total.contracts, 5);
        assert_eq!(stats.total.amount, m("49000000"));
        assert_eq!(stats.by_type[0].key, "license");
        assert_eq!(stats.by_institution.len(), 1);
        assert_eq!(stats.by_district[0].key, "dongchangfu");

        // Bad input: named, nothing stored.
        let mut bad = contract(&p, "LC2023-0009", "技术开发", "100", "2023-05-03");
        bad.tech_amount = "200".into();
        let e = s.register_contract(&registrar, &bad).await.unwrap_err();
        assert!(e.to_string().contains("tech_amount"), "{e}");
        let mut bad = contract(&p, "LC2023-0009", "技术开发", "100", "2023-05-03");
        bad.buyer_id = "91371525MA3C000010".into();
        let e = s.register_contract(&registrar, &bad).await.unwrap_err();
        assert!(e.to_string().contains("buyer_id"), "{e}");
        let e = s
            .register_contract(
                &registrar,
                &contract(&p, "LC2023-0001", "技术开发", "100", "2023-05-03"),
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "duplicate", "{e}");
        let mut same = contract(&p, "LC2023-0010", "技术开发", "100", "2023-05-03");
        same.buyer_id = p.uni.clone();
        assert!(s.register_contract(&registrar, &same).await.is_err());
        // Only a registration institution or staff registers.
        let e = s
            .register_contract(
                &Actor::applicant("u-b", &p.buyer),
                &contract(&p, "LC2023-0011", "技术开发", "100", "2023-05-03"),
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden");
        assert_eq!(s.contracts(&admin(), None).await.unwrap().len(), 6);

        // Visibility: the parties and the registrar see the contract; another does not.
        let other = Actor::applicant("u-x", HUNNAN);
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        assert!(s.contracts(&other, None).await.unwrap().is_empty());
        assert_eq!(
            code(&s.contract(&other, "LC2023-0001").await.unwrap_err()),
            "not_found"
        );
        assert_eq!(
            s.contracts(&Actor::applicant("u-b", &p.buyer), None)
                .await
                .unwrap()
                .len(),
            6
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn closing_a_year_rewards_the_registration_institution_on_its_volume() {
    for db in backends("market_settle").await {
        // The clock: 2023-06-30, so 2022 is closed.
        let s = open(&db).await;
        let p = parties(&s).await;
        // 沈政发〔2021〕11号 (十八): a Shenyang registration institution, 0.2‰ of its year's
        // 技术交易额, at most 100,000.00.
        let sy = uscc("52210123MJ0000001");
        s.upsert_applicant(&admin(), &json!({"id": sy, "name": "沈阳示例技术合同登记处", "kind": "contract_registration_institution", "region": "kangping"}))
            .await
            .unwrap();
        let reg = Actor::applicant("u-sy", &sy);
        for (n, (amount, tech)) in [("80000000", "60000000"), ("50000000", "40000000")]
            .iter()
            .enumerate()
        {
            let mut c = contract(&p, &format!("SY2022-{n}"), "技术开发", amount, "2022-09-01");
            c.tech_amount = tech.to_string();
            s.register_contract(&reg, &c).await.unwrap();
        }
        let e = s.settle_contract_year(&admin(), 2023).await.unwrap_err();
        assert!(e.to_string().contains("尚未结束"), "{e}");
        let out = s.settle_contract_year(&admin(), 2022).await.unwrap();
        // 0.2‰ × (60,000,000 + 40,000,000) = 20,000.00, a fixed formula on a verified
        // figure: offered (免申即享).
        let (inst, _, apps) = &out.registration[0];
        assert_eq!(inst, &sy);
        assert_eq!(apps.len(), 1, "{}", db.label);
        let a = s.application(&admin(), &apps[0]).await.unwrap();
        assert_eq!(
            (a.measure.as_str(), a.state, a.computed),
            (
                "contract_registration_institution",
                AppState::Offered,
                Some(m("20000"))
            )
        );
        // Closing again changes nothing.
        let again = s.settle_contract_year(&admin(), 2022).await.unwrap();
        assert!(again.registration.is_empty());
        assert_eq!(again.already, vec![sy.clone()]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redeemed_voucher_pays_the_sme_and_the_institution_and_abuse_is_refused() {
    for db in backends("market_voucher").await {
        let s = open(&db).await;
        let p = parties(&s).await;
        s.upsert_applicant(&admin(), &gaotang_institution())
            .await
            .unwrap();
        let inst = Actor::applicant("u-inst", GAOTANG);
        let sme = Actor::applicant("u-sme", &p.buyer);
        let svc = s
            .add_service(
                &inst,
                None,
                "扫描电镜检测",
                "检验检测",
                "材料断口与表面形貌分析",
            )
            .await
            .unwrap();
        // Eligibility: a university is no SME.
        let e = s
            .issue_voucher(&reviewer(1), &p.uni, 2023, "100000", "2023-12-31")
            .await
            .unwrap_err();
        assert_eq!(code(&e), "not_eligible", "{e}");
        let v = s
            .issue_voucher(&reviewer(1), &p.buyer, 2023, "100000", "2023-12-31")
            .await
            .unwrap();
        let e = s
            .issue_voucher(&reviewer(1), &p.buyer, 2023, "100000", "2023-12-31")
            .await
            .unwrap_err();
        assert_eq!(code(&e), "duplicate");

        // 40,000.00 of testing: 五(三) the SME gets province 60% = 24,000.00 + city 30% =
        // 12,000.00 (36,000.00), the institution 5% = 2,000.00 — both fixed by the clause on
        // an amount the platform verified: offered.
        let o1 = s.order_service(&sme, &v, &svc, "40000").await.unwrap();
        let r = s
            .redeem_order(&inst, &o1, "FW-HT-001", "FP-0001", None)
            .await
            .unwrap();
        assert_eq!(
            r.applications.len(),
            2,
            "{}: {:?}",
            db.label,
            r.applications
        );
        let mut got = Vec::new();
        for id in &r.applications {
            let a = s.application(&admin(), id).await.unwrap();
            got.push((a.measure.clone(), a.state, a.computed));
        }
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            vec![
                (
                    "voucher_institution".to_string(),
                    AppState::Offered,
                    Some(m("2000"))
                ),
                (
                    "voucher_user".to_string(),
                    AppState::Offered,
                    Some(m("36000"))
                ),
            ],
            "{}",
            db.label
        );

        // Twice: the same order again.
        let e = s
            .redeem_order(&inst, &o1, "FW-HT-001", "FP-0002", None)
            .await
            .unwrap_err();
        assert_eq!(code(&e), "already_redeemed", "{e}");
        assert!(e.to_string().contains("只能兑付一次"));
        // The same receipt on another order.
        let o2 = s.order_service(&sme, &v, &svc, "30000").await.unwrap();
        let e = s
            .redeem_order(&inst, &o2, "FW-HT-002", "FP-0001", None)
            .await
            .unwrap_err();
        assert_eq!(code(&e), "receipt_reused", "{e}");
        // Above the quota: 40,000 redeemed; orders of 30,000 and 35,000 each fit the 60,000
        // left when placed, but not together.
        let o3 = s.order_service(&sme, &v, &svc, "35000").await.unwrap();
        s.redeem_order(&inst, &o2, "FW-HT-002", "FP-0002", None)
            .await
            .unwrap();
        let e = s
            .redeem_order(&inst, &o3, "FW-HT-003", "FP-0003", None)
            .await
            .unwrap_err();
        assert_eq!(code(&e), "over_quota", "{e}");
        assert!(e.to_string().contains("30,000.00"), "{e}");
        let e = s
            .order_service(&sme, &v, &svc, "30000.01")
            .await
            .unwrap_err();
        assert_eq!(code(&e), "over_quota", "{e}");
        // After its expiry: redeemed on a date past valid_until.
        let old = uscc("91371525MA3C00002");
        s.upsert_applicant(&admin(), &json!({"id": old, "name": "聊城示例食品有限公司", "kind": "enterprise", "region": "shenxian", "size": "micro"}))
            .await
            .unwrap();
        let v2 = s
            .issue_voucher(&reviewer(1), &old, 2022, "50000", "2022-12-31")
            .await
            .unwrap();
        let e = s
            .order_service(&Actor::applicant("u-old", &old), &v2, &svc, "1000")
            .await
            .unwrap_err();
        assert_eq!(code(&e), "voucher_expired", "{e}");
        // Related parties: declared by the institution itself.
        let v3_holder = uscc("91371525MA3C00003");
        s.upsert_applicant(&admin(), &json!({"id": v3_holder, "name": "高唐示例纸业有限公司", "kind": "enterprise", "region": "gaotang", "size": "medium"}))
            .await
            .unwrap();
        let v3 = s
            .issue_voucher(&reviewer(1), &v3_holder, 2023, "50000", "2023-12-31")
            .await
            .unwrap();
        let holder = Actor::applicant("u-v3", &v3_holder);
        let o4 = s.order_service(&holder, &v3, &svc, "1000").await.unwrap();
        s.declare_relation(&inst, GAOTANG, &v3_holder, "同一控股股东")
            .await
            .unwrap();
        let e = s
            .redeem_order(&inst, &o4, "FW-HT-004", "FP-0004", None)
            .await
            .unwrap_err();
        assert_eq!(code(&e), "related_parties", "{e}");
        assert!(e.to_string().contains("同一控股股东"));
        // A large enterprise is no SME either.
        let big = uscc("91371525MA3C00004");
        s.upsert_applicant(&admin(), &json!({"id": big, "name": "聊城示例钢管集团", "kind": "enterprise", "region": "liaocheng_econ_zone", "size": "large"}))
            .await
            .unwrap();
        let e = s
            .issue_voucher(&reviewer(1), &big, 2023, "50000", "2023-12-31")
            .await
            .unwrap_err();
        assert_eq!(code(&e), "not_eligible");

        // Visibility: another organisation sees none of these vouchers.
        let other = Actor::applicant("u-o", &p.uni);
        assert!(s.vouchers(&other).await.unwrap().is_empty());
        assert_eq!(code(&s.voucher(&other, &v).await.unwrap_err()), "not_found");
        assert_eq!(s.vouchers(&sme).await.unwrap().len(), 1);
        assert_eq!(
            s.vouchers(&inst).await.unwrap().len(),
            2,
            "its orders' vouchers"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_institutions_yearly_cap_counts_pending_offers() {
    for db in backends("market_voucher_cap").await {
        let s = open(&db).await;
        let p = parties(&s).await;
        s.upsert_applicant(&admin(), &gaotang_institution())
            .await
            .unwrap();
        let inst = Actor::applicant("u-inst", GAOTANG);
        let sme = Actor::applicant("u-sme", &p.buyer);
        let svc = s
            .add_service(&inst, None, "中试放大设计", "rd_design", "")
            .await
            .unwrap();
        let v = s
            .issue_voucher(&reviewer(1), &p.buyer, 2023, "12000000", "2023-12-31")
            .await
            .unwrap();
        // 9,000,000.00 × 5% = 450,000.00; then 2,000,000.00 × 5% = 100,000.00, but the
        // institution's 500,000.00 a year leave 50,000.00.
        let mut amounts = Vec::new();
        for (n, a) in ["9000000", "2000000"].iter().enumerate() {
            let o = s.order_service(&sme, &v, &svc, a).await.unwrap();
            let r = s
                .redeem_order(&inst, &o, &format!("HT-{n}"), &format!("FP-{n}"), None)
                .await
                .unwrap();
            for id in r.applications {
                let a = s.application(&admin(), &id).await.unwrap();
                if a.measure == "voucher_institution" {
                    amounts.push(a.computed);
                }
            }
        }
        assert_eq!(
            amounts,
            vec![Some(m("450000")), Some(m("50000"))],
            "{}",
            db.label
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shenyang_voucher_opens_a_draft_for_up_to_sixty_percent() {
    for db in backends("market_voucher_sy").await {
        let s = open(&db).await;
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        let lab = uscc("12210113MB0000001");
        s.upsert_applicant(&admin(), &json!({"id": lab, "name": "沈阳示例大学测试中心", "kind": "university", "region": "shenbei"}))
            .await
            .unwrap();
        let svc = s
            .add_service(
                &reviewer(1),
                Some(&lab),
                "三坐标测量",
                "instrument_sharing",
                "",
            )
            .await
            .unwrap();
        let v = s
            .issue_voucher(&reviewer(1), HUNNAN, 2023, "50000", "2023-12-31")
            .await
            .unwrap();
        let o = s
            .order_service(&Actor::applicant("u", HUNNAN), &v, &svc, "30000")
            .await
            .unwrap();
        // (十八) 不超过技术服务金额60%: up to 18,000.00, set by review: a draft.
        let r = s
            .redeem_order(&reviewer(1), &o, "SY-HT-1", "SY-FP-1", Some("2023-06-01"))
            .await
            .unwrap();
        let a = s.application(&admin(), &r.applications[0]).await.unwrap();
        assert_eq!(
            (a.measure.as_str(), a.state, a.computed),
            ("innovation_voucher", AppState::Draft, Some(m("18000"))),
            "{}",
            db.label
        );
    }
}

fn listing(title: &str, field: &str, text: &str) -> ListingInput {
    ListingInput {
        title: title.into(),
        field: field.into(),
        text: text.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listings_are_reviewed_and_private_until_published() {
    for db in backends("market_listings").await {
        let s = open(&db).await;
        let p = parties(&s).await;
        let buyer = Actor::applicant("u-b", &p.buyer);
        let uni = Actor::applicant("u-u", &p.uni);
        let d = s
            .create_listing(
                &buyer,
                kc_market::Side::Demand,
                &listing(
                    "轴承套圈磨削烧伤",
                    "advanced_equipment",
                    "磨出来的套圈表面老有黑斑,客户退货",
                ),
            )
            .await
            .unwrap();
        let mine = s.listing(Some(&buyer), &d).await.unwrap();
        assert_eq!(
            (
                mine.review.as_str(),
                mine.status.as_str(),
                mine.region.as_str()
            ),
            ("pending", "open", "linqing")
        );
        // Unpublished: invisible to another organisation and to the public.
        assert_eq!(
            code(&s.listing(Some(&uni), &d).await.unwrap_err()),
            "not_found"
        );
        assert_eq!(code(&s.listing(None, &d).await.unwrap_err()), "not_found");
        let all = s
            .listings(Some(&uni), &ListingFilter::default())
            .await
            .unwrap();
        assert!(all.iter().all(|l| l.id != d), "{}", db.label);
        // A return needs a reason; an organisation cannot review.
        assert!(
            s.review_listing(&reviewer(1), &d, false, " ")
                .await
                .is_err()
        );
        assert_eq!(
            code(&s.review_listing(&uni, &d, true, "").await.unwrap_err()),
            "forbidden"
        );
        // Staff of another jurisdiction cannot review it.
        let sy = Actor::staff("sy", kc_domain::Role::Reviewer, "shenyang");
        assert_eq!(
            code(&s.review_listing(&sy, &d, true, "").await.unwrap_err()),
            "forbidden"
        );
        let r = s
            .review_listing(&reviewer(1), &d, false, "请补充预算")
            .await
            .unwrap();
        assert_eq!(
            (r.review.as_str(), r.review_note.as_deref()),
            ("returned", Some("请补充预算"))
        );
        let mut fixed = listing(
            "轴承套圈磨削烧伤",
            "advanced_equipment",
            "磨出来的套圈表面老有黑斑,客户退货",
        );
        fixed.price = Some("200000".into());
        let u = s.update_listing(&buyer, &d, &fixed).await.unwrap();
        assert_eq!((u.review.as_str(), u.price), ("pending", Some(m("200000"))));
        s.review_listing(&reviewer(1), &d, true, "").await.unwrap();
        assert!(s.listing(None, &d).await.unwrap().is_public());
        // Bad input names its field.
        let e = s
            .create_listing(
                &uni,
                kc_market::Side::Achievement,
                &listing("x", "nonsense", "y"),
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("field"), "{e}");
        assert!(e.to_string().contains("maturity"), "{e}");
        // The audit log holds every step.
        let audit = s.audit_log(100).await.unwrap();
        let steps: Vec<&str> = audit
            .iter()
            .filter(|a| a["entity_id"] == json!(d))
            .map(|a| a["action"].as_str().unwrap())
            .collect();
        for step in ["create", "return", "update", "publish"] {
            assert!(steps.contains(&step), "{step} in {steps:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_import_with_a_broken_row_imports_nothing() {
    for db in backends("market_import").await {
        let s = open(&db).await;
        let headers: Vec<String> = [
            "id",
            "title",
            "owner",
            "field",
            "keywords",
            "abstract",
            "maturity",
            "transfer_mode",
            "price",
            "region",
        ]
        .map(String::from)
        .to_vec();
        let row = |n: usize, id: &str, maturity: &str, price: &str| {
            (
                n,
                vec![
                    id.to_string(),
                    "激光焊接残余应力控制技术".into(),
                    "沈阳示例工业大学".into(),
                    "intelligent_manufacturing".into(),
                    "激光焊接；残余应力".into(),
                    "通过预热与焊后热处理降低焊缝残余应力".into(),
                    maturity.into(),
                    "许可".into(),
                    price.into(),
                    "hunnan".into(),
                ],
            )
        };
        let rows = vec![
            row(2, "CG1", "pilot", "500000"),
            row(3, "CG2", "半成品", "12.345"),
            row(4, "CG3", "中试", ""),
        ];
        let errors = s
            .validate_listing_import(kc_market::Side::Achievement, "a.csv", &headers, &rows)
            .unwrap_err();
        let named: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(named, vec![(3, "maturity"), (3, "price")], "{errors:?}");
        assert!(errors[0].to_string().contains("第3行"));
        // The good rows alone import; an id already stored fails the whole batch.
        let good = vec![rows[0].clone(), rows[2].clone()];
        let checked = s
            .validate_listing_import(kc_market::Side::Achievement, "a.csv", &headers, &good)
            .unwrap();
        let ids = s
            .import_listings(&reviewer(1), &checked, None)
            .await
            .unwrap();
        assert_eq!(ids, vec!["CG1", "CG3"]);
        let again = vec![row(2, "CG9", "pilot", ""), row(3, "CG1", "pilot", "")];
        let checked = s
            .validate_listing_import(kc_market::Side::Achievement, "b.csv", &headers, &again)
            .unwrap();
        let e = s
            .import_listings(&reviewer(1), &checked, None)
            .await
            .unwrap_err();
        assert_eq!(code(&e), "duplicate");
        assert_eq!(
            code(&s.listing(Some(&admin()), "CG9").await.unwrap_err()),
            "not_found",
            "{}: nothing of the failed batch is stored",
            db.label
        );
        // An organisation cannot import.
        let e = s
            .import_listings(&Actor::applicant("u", HUNNAN), &checked, None)
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden");
        // Unknown column: named in row 1.
        let mut bad_headers = headers.clone();
        bad_headers.push("price_usd".into());
        let errors = s
            .validate_listing_import(kc_market::Side::Achievement, "c.csv", &bad_headers, &[])
            .unwrap_err();
        assert_eq!((errors[0].row, errors[0].column.as_str()), (1, "price_usd"));
    }
}

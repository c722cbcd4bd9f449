//! Library versions in the database (issue 14): seeding, drafts, the publishing gate, four
//! eyes, two stores (two `serve` processes) on one database switching with their next read,
//! and an application decided under version 1 re-evaluating identically after version 2.
//! On SQLite and PostgreSQL.

mod common;

use common::*;
use kc_domain::{Action, Role};
use kc_money::Money;
use kc_store::market::contracts::ContractInput;
use kc_store::versions::{VersionFile, hash_files};
use kc_store::{ActArgs, Actor, StoreError};
use serde_json::json;

fn m(s: &str) -> Money {
    Money::parse_amount(s).unwrap()
}

fn code(e: &StoreError) -> &'static str {
    match e {
        StoreError::Refused { code, .. } => code,
        StoreError::NotFound(_) => "not_found",
        StoreError::Invalid(_) => "invalid",
        _ => "other",
    }
}

/// The shipped policies only (no scenarios: version 2 below changes a rate that shipped
/// scenarios assert, and a real author would change those scenarios with it).
fn policies() -> Vec<VersionFile> {
    kc_library::shipped()
        .into_iter()
        .map(|f| VersionFile {
            path: f.path,
            text: f.text,
        })
        .collect()
}

const LC: &str = "policies/liaocheng-2020-15.md";
/// 四(一) of 聊政字〔2020〕15号 as the shipped file encodes it, and the amended rate of the test.
const RATE_V1: &str =
    "  grant up to 1.5% × base                          # 按照年度技术合同成交额不超过1.5%给予补助";
const RATE_V2: &str = "  grant up to 2% × base                            # test: an amended rate";

fn author() -> Actor {
    Actor::new("author1", Role::PolicyAuthor)
}
fn approver() -> Actor {
    Actor::new("leader1", Role::Admin)
}

fn uscc(prefix17: &str) -> String {
    kc_domain::Uscc::complete(prefix17).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_published_version_is_used_by_every_store_and_decided_applications_keep_theirs() {
    for db in backends("versions_publish").await {
        let l = db.label;
        let s1 = open(&db).await;
        let s2 = open(&db).await;
        assert_eq!(s1.active().version, None, "{l}: no version before seeding");

        // First start seeds version 1 from the files; a second process sees it, seeds nothing.
        let files = policies();
        let (v1, seeded) = s1.seed_library(&files).await.unwrap();
        assert_eq!((v1, seeded), (1, true), "{l}");
        assert_eq!(s2.seed_library(&files).await.unwrap(), (1, false), "{l}");
        let list = s1.library_versions(&approver()).await.unwrap();
        assert_eq!(list.len(), 1);
        assert!(list[0].active && list[0].state == "published", "{l}");
        assert_eq!(list[0].hash, hash_files(&files));

        // A Liaocheng university's development contract of 2,000,000.00 under version 1:
        // 四(一) 不超过1.5% → 2,000,000.00 × 1.5% = 30,000.00, approved.
        let uni = uscc("12371500MB2835925");
        let buyer = uscc("91371525MA3C00001");
        let registrar = uscc("12371500MB2800001");
        for (id, name, kind, region) in [
            (&uni, "聊城示例大学", "university", "dongchangfu"),
            (&buyer, "聊城示例轴承有限公司", "enterprise", "linqing"),
            (
                &registrar,
                "聊城示例技术合同登记站",
                "contract_registration_institution",
                "dongchangfu",
            ),
        ] {
            s1.upsert_applicant(
                &admin(),
                &json!({"id": id, "name": name, "kind": kind, "region": region}),
            )
            .await
            .unwrap();
        }
        let contract = |reg_no: &str, amount: &str, on: &str| ContractInput {
            reg_no: reg_no.into(),
            contract_type: "技术开发".into(),
            title: format!("{reg_no} 合同"),
            seller_id: uni.clone(),
            buyer_id: buyer.clone(),
            item: Some(format!("item-{reg_no}")),
            amount: amount.into(),
            tech_amount: amount.into(),
            signed_on: on.into(),
            registered_on: Some(on.into()),
            ..Default::default()
        };
        let reg = Actor::applicant("u-reg", &registrar);
        let r = s1
            .register_contract(&reg, &contract("LC2023-0101", "2000000", "2023-03-01"))
            .await
            .unwrap();
        let app = r.applications[0].clone();
        let me = Actor::applicant("u-seller", &uni);
        ready(&s1, &me, &app).await;
        s1.act(&me, &app, Action::Submit, ActArgs::default())
            .await
            .unwrap();
        s1.act(&reviewer(1), &app, Action::StartReview, ActArgs::default())
            .await
            .unwrap();
        through_lower_levels(&s1, &app).await;
        s1.act(&reviewer(1), &app, Action::Approve, amount("30000"))
            .await
            .unwrap();
        let (decided, before) = s1.reevaluate(&admin(), &app).await.unwrap();
        assert_eq!(decided, Some(1), "{l}: decided under version 1");
        assert_eq!(before["outcomes"][0]["amount"], "30000.00", "{l}");

        // The author drafts version 2 from the active one and amends the rate to 2%.
        let d = s1
            .create_draft(&author(), "作者甲", "四(一) 补助比例调整为2%", None, None)
            .await
            .unwrap();
        assert_eq!(d, 2);
        let text = s1.library_version(&author(), d).await.unwrap().files;
        let lc = text.iter().find(|f| f.path == LC).unwrap().text.clone();
        assert!(lc.contains(RATE_V1), "the shipped line the test edits");

        // A typo first: a diagnostic with its line and column, and the draft cannot be
        // submitted (nor, therefore, published).
        let broken = lc.replace(RATE_V1, "  grant up to 2% × bsae");
        s1.put_draft_file(&author(), d, LC, &broken).await.unwrap();
        let check = s1.check_version(&author(), d).await.unwrap();
        assert!(!check.ready());
        let diag = &check.diagnostics[0];
        let line = broken
            .lines()
            .position(|x| x.contains("× bsae"))
            .map(|i| i + 1)
            .unwrap();
        assert_eq!((diag.path.as_str(), diag.line), (LC, line), "{l}: {diag:?}");
        assert_eq!(
            diag.column,
            "  grant up to 2% × ".chars().count() + 1,
            "{l}: {diag:?}"
        );
        assert!(diag.message.contains("bsae"), "{l}: {}", diag.message);
        let e = s1.submit_draft(&author(), d).await.unwrap_err();
        assert_eq!(code(&e), "draft_not_ready", "{l}: {e}");
        assert!(e.to_string().contains(&format!("{LC}:{line}")), "{e}");

        // Fixed: the diagnostics vanish; submitted.
        s1.put_draft_file(&author(), d, LC, &lc.replace(RATE_V1, RATE_V2))
            .await
            .unwrap();
        assert!(s1.check_version(&author(), d).await.unwrap().ready(), "{l}");
        // Not yet published: both stores still evaluate with version 1.
        assert_eq!(s2.refresh_library().await.unwrap(), Some(1));
        s1.submit_draft(&author(), d).await.unwrap();
        // A submitted draft is locked.
        let e = s1.put_draft_file(&author(), d, LC, &lc).await.unwrap_err();
        assert_eq!(code(&e), "wrong_state", "{l}");

        // Four eyes: the author cannot approve (no role), nor an admin who drafted.
        let e = s1
            .approve_draft(&author(), "作者甲", d, None)
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}");
        let own = s1
            .create_draft(&approver(), "领导乙", "领导自己的草稿", None, None)
            .await
            .unwrap();
        s1.submit_draft(&approver(), own).await.unwrap();
        let e = s1
            .approve_draft(&approver(), "领导乙", own, None)
            .await
            .unwrap_err();
        assert_eq!(code(&e), "four_eyes", "{l}: {e}");
        s1.discard_draft(&approver(), own).await.unwrap();

        // A second person approves: published and active through s1 …
        s1.approve_draft(&approver(), "领导乙", d, None)
            .await
            .unwrap();
        assert_eq!(s1.active().version, Some(2), "{l}");
        // … and the other store switches with its next read, never half-way.
        assert_eq!(s2.active().version, Some(1), "{l}: nothing read yet");
        assert_eq!(s2.refresh_library().await.unwrap(), Some(2), "{l}");
        assert_eq!(s2.active().version, Some(2), "{l}");

        // A new contract is decided under version 2: 10,000,000.00 × 2% = 200,000.00
        // (under the 500,000.00 yearly cap, 30,000.00 of it used).
        let r2 = s2
            .register_contract(&reg, &contract("LC2023-0102", "10000000", "2023-04-01"))
            .await
            .unwrap();
        let a2 = s2.application(&admin(), &r2.applications[0]).await.unwrap();
        assert_eq!(a2.computed, Some(m("200000")), "{l}: version 2's rate");

        // The application decided under version 1 re-evaluates identically, with that trace.
        let (decided, after) = s2.reevaluate(&admin(), &app).await.unwrap();
        assert_eq!(decided, Some(1), "{l}");
        assert_eq!(after, before, "{l}: the 2023 answer, byte for byte");

        // Published versions never change; the audit log has every step.
        let e = s2.put_draft_file(&author(), d, LC, &lc).await.unwrap_err();
        assert_eq!(code(&e), "wrong_state", "{l}");
        let audit: Vec<String> = s1
            .audit_log(100)
            .await
            .unwrap()
            .iter()
            .filter(|a| a["entity"] == "library_version")
            .map(|a| {
                format!(
                    "{} {}",
                    a["action"].as_str().unwrap(),
                    a["entity_id"].as_str().unwrap()
                )
            })
            .collect();
        for step in [
            "library.seed 1",
            "library.draft 2",
            "library.edit 2",
            "library.submit 2",
            "library.publish 2",
            "library.discard 3",
        ] {
            assert!(
                audit.contains(&step.to_string()),
                "{l}: {step} in {audit:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_drafts_are_refused_with_their_reason_and_nothing_changes() {
    for db in backends("versions_bad").await {
        let l = db.label;
        let s = open(&db).await;
        s.seed_library(&policies()).await.unwrap();
        let d = s
            .create_draft(&author(), "作者甲", "测试", None, None)
            .await
            .unwrap();
        // Paths outside policies/*.md and tests/scenarios/*.json, NUL, roles without access.
        for path in [
            "../etc/passwd",
            "policies/a/b.md",
            "policies/x.txt",
            "policies/.x.md",
            "",
        ] {
            let e = s.put_draft_file(&author(), d, path, "x").await.unwrap_err();
            assert_eq!(code(&e), "invalid", "{l}: {path}");
        }
        let e = s
            .put_draft_file(&author(), d, "policies/x.md", "a\0b")
            .await
            .unwrap_err();
        assert_eq!(code(&e), "invalid", "{l}: NUL");
        let e = s
            .put_draft_file(&Actor::new("r", Role::Reviewer), d, LC, "x")
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}");
        assert_eq!(
            code(
                &s.library_versions(&Actor::applicant("u", HUNNAN))
                    .await
                    .unwrap_err()
            ),
            "forbidden"
        );
        // A failing scenario and a coverage gap each block submission, named.
        s.put_draft_file(
            &author(),
            d,
            "tests/scenarios/zz-wrong.json",
            &json!({"name": "wrong on purpose", "input": {"schema": "kechuang/eval-input/v1", "as_of": "2023-06-30",
                     "applicant": {"id": HUNNAN, "name": "甲", "kind": "enterprise", "region": "hunnan"}},
                     "expect": [{"measure": "tech_sme_first", "status": "awarded"}]})
            .to_string(),
        )
        .await
        .unwrap();
        let lc = s
            .library_version(&author(), d)
            .await
            .unwrap()
            .files
            .into_iter()
            .find(|f| f.path == LC)
            .unwrap()
            .text;
        // A new clause naming an amount, with no rule: a coverage gap.
        s.put_draft_file(
            &author(),
            d,
            LC,
            &format!("{lc}\n## (九十九) 新条款\n\n> 给予10万元奖励。\n"),
        )
        .await
        .unwrap();
        let c = s.check_version(&author(), d).await.unwrap();
        assert!(c.diagnostics.is_empty(), "{l}: {:?}", c.diagnostics);
        assert_eq!(
            c.scenarios
                .iter()
                .filter(|x| !x.passed)
                .map(|x| x.path.as_str())
                .collect::<Vec<_>>(),
            ["tests/scenarios/zz-wrong.json"],
            "{l}"
        );
        assert_eq!(c.gaps.len(), 1, "{l}: {:?}", c.gaps);
        assert_eq!(c.gaps[0].clause, "(九十九)");
        let e = s.submit_draft(&author(), d).await.unwrap_err().to_string();
        assert!(
            e.contains("zz-wrong.json") && e.contains("(九十九)"),
            "{l}: {e}"
        );
        // Nothing published: version 1 is still the one in force.
        assert_eq!(s.refresh_library().await.unwrap(), Some(1), "{l}");
        // Too many files, an empty or overlong title: refused before anything is written.
        let many: Vec<VersionFile> = (0..=kc_store::versions::MAX_FILES)
            .map(|i| VersionFile {
                path: format!("tests/scenarios/s{i}.json"),
                text: "{}".into(),
            })
            .collect();
        let before = s.library_versions(&author()).await.unwrap().len();
        for (title, files) in [
            ("太多文件", Some(many)),
            ("", None),
            (&*"长".repeat(201), None),
        ] {
            let e = s
                .create_draft(&author(), "作者甲", title, Some(1), files)
                .await
                .unwrap_err();
            assert_eq!(code(&e), "invalid", "{l}: {e}");
        }
        assert_eq!(
            s.library_versions(&author()).await.unwrap().len(),
            before,
            "{l}"
        );
        // Unknown versions are not found.
        assert_eq!(
            code(&s.check_version(&author(), 99).await.unwrap_err()),
            "not_found"
        );
    }
}

/// A published version that repeals 沈政发〔2021〕11号 from 2023-07-01 (the test fixture of
/// tests/lifecycle/repeal): an event of 2023-06-30 is still paid under (十八) — 0.2‰ ×
/// 300,000,000.00 = 60,000.00, under the 10万元 cap — and one of 2023-07-01 is not, the
/// approval refused with the repeal as the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_repealed_document_pays_for_earlier_events_only() {
    for db in backends("versions_repeal").await {
        let l = db.label;
        let s = kc_store::Store::open(&db.url, library())
            .await
            .unwrap()
            .with_clock(|| "2023-12-31T04:00:00Z".parse().unwrap())
            .with_notice_days(0..=30);
        s.seed_library(&policies()).await.unwrap();
        let d = s
            .create_draft(
                &author(),
                "作者甲",
                "废止沈政发〔2021〕11号(测试用)",
                None,
                None,
            )
            .await
            .unwrap();
        let fixture = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/lifecycle/repeal/repeal.md"),
        )
        .unwrap();
        s.put_draft_file(&author(), d, "policies/zz-repeal-fixture.md", &fixture)
            .await
            .unwrap();
        let c = s.check_version(&author(), d).await.unwrap();
        assert!(c.ready(), "{l}: {:?}", c.blockers());
        s.submit_draft(&author(), d).await.unwrap();
        s.approve_draft(&approver(), "领导乙", d, None)
            .await
            .unwrap();

        let inst = "12210102415007255D";
        s.upsert_applicant(
            &admin(),
            &json!({"id": inst, "name": "沈阳和平示例技术市场服务中心", "kind": "contract_registration_institution", "region": "heping"}),
        )
        .await
        .unwrap();
        let me = Actor::applicant("u-inst", inst);
        let mut apps = Vec::new();
        // Two registration years, so that (十八)'s once-a-year rule plays no part.
        for (id, date, year) in [
            ("v-before", "2023-06-30", 2022),
            ("v-after", "2023-07-01", 2023),
        ] {
            s.add_event(
                &admin(),
                inst,
                &json!({"id": id, "kind": "contract_registration_volume", "date": date,
                        "registration_year": year, "registered_volume": "300000000.00"}),
            )
            .await
            .unwrap();
            let app = s
                .apply(&me, inst, "contract_registration_institution", id)
                .await
                .unwrap();
            ready(&s, &me, &app).await;
            s.act(&me, &app, Action::Submit, ActArgs::default())
                .await
                .unwrap();
            s.act(&reviewer(1), &app, Action::StartReview, ActArgs::default())
                .await
                .unwrap();
            apps.push(app);
        }
        let before = s.application(&admin(), &apps[0]).await.unwrap();
        assert_eq!(before.computed, Some(m("60000")), "{l}: before the repeal");
        let after = s.application(&admin(), &apps[1]).await.unwrap();
        assert_eq!(after.computed, None, "{l}: after the repeal nothing");
        through_lower_levels(&s, &apps[0]).await;
        s.act(&reviewer(1), &apps[0], Action::Approve, amount("60000"))
            .await
            .unwrap();
        let e = s
            .act(&reviewer(1), &apps[1], Action::Recommend, amount("60000"))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "not_awarded", "{l}: {e}");
        assert!(
            e.to_string()
                .contains("已被沈政发〔2023〕99号(测试用)废止(2023-07-01起)"),
            "{l}: the repeal named: {e}"
        );
        assert!(
            !e.to_string().contains("仅支持一次"),
            "{l}: only the repeal: {e}"
        );
        // The approved one keeps the version it was decided under.
        assert_eq!(s.decided_version(&apps[0]).await.unwrap(), Some(2), "{l}");
    }
}

//! The API contract: the OpenAPI document served at `/api/openapi.json` is walked and every
//! operation in it is called, as an appropriate role, on an app with demo data.
//!
//! - `CALLS` is the table: one or more calls per operationId (path with `{var}`s, role, body,
//!   the documented success status, values to remember from the answer). The test fails when
//!   the document has an operation the table does not call, or the table names one the
//!   document lacks.
//! - Each answer must have the documented status and the declared content type: JSON parses
//!   and has the required top-level fields of a named schema; a spreadsheet is one.
//! - Every operation with a security requirement answers 401 JSON to a call without a session;
//!   the others (tagged `public`) answer without one.
//! - `UI` maps every route of the web UI (read from the feature modules' `routes()`) to the API
//!   operations that do the same thing, both ways: a new page or form without an API
//!   counterpart fails the test.

mod common;

use kc_domain::Role;
use kc_server::AppState;
use kc_store::{Actor, Store, User};
use serde_json::{Value as J, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

const DEMO_PW: &str = kc_server::seed::DEMO_PASSWORD;
const HUNNAN: &str = "91210112MA0XK8R34Y";

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn library() -> Arc<kc_check::Library> {
    let (files, checked) = kc_library::load(&root().join("policies")).unwrap();
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    Arc::new(checked.library.unwrap())
}

fn plans() -> kc_plans::PlanLibrary {
    let mut files: Vec<(String, String)> = std::fs::read_dir(root().join("plans"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    kc_plans::check(&files).0.expect("the shipped plans check")
}

fn clock() -> jiff::Timestamp {
    "2023-06-30T04:00:00Z".parse().unwrap()
}

/// A second enterprise in 浑南 (its own 统一社会信用代码 with a valid check character).
fn second() -> String {
    kc_domain::Uscc::complete("91210112MA0XK8R3Q")
        .unwrap()
        .to_string()
}

/// The app with the demo data of `data/demo/` and its accounts, plus two 浑南 enterprises with
/// their own accounts (`hn`, `hn2`): a high-tech certification to apply for and a first
/// 科技型中小企业 filing each (a 免申即享 offer each).
async fn start(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("kc-contract-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir.join("kc.db").display().to_string(), library())
        .await
        .unwrap()
        .with_clock(clock)
        .with_notice_days(0..=30);
    kc_server::seed::first_start(&store, Some(&common::demo_data()))
        .await
        .unwrap();
    // Library version 1 from the policies (the 政策管理 calls draft from it).
    let files: Vec<kc_store::versions::VersionFile> = kc_library::shipped()
        .into_iter()
        .map(|f| kc_store::versions::VersionFile {
            path: f.path,
            text: f.text,
        })
        .collect();
    store.seed_library(&files).await.unwrap();
    let sys = Actor::system();
    let hash = kc_server::hash_password(DEMO_PW);
    for (user, id, name) in [
        ("hn", HUNNAN.to_string(), "浑南示例"),
        ("hn2", second(), "浑南示例二"),
    ] {
        store.upsert_applicant(&sys, &json!({"id": id, "name": name, "kind": "enterprise", "region": "hunnan", "size": "small"})).await.unwrap();
        store.add_event_with_offers(&sys, &id, &json!({"id": format!("{user}-c1"), "kind": "certified", "date": "2023-03-01", "cert": "high_tech", "first": true})).await.unwrap();
        store.add_event_with_offers(&sys, &id, &json!({"id": format!("{user}-c2"), "kind": "certified", "date": "2023-02-01", "cert": "tech_sme", "first": true})).await.unwrap();
        store
            .create_user(
                &sys,
                &User {
                    id: user.into(),
                    name: name.into(),
                    role: Role::Applicant,
                    applicant_id: Some(id.clone()),
                    password_hash: Some(hash.clone()),
                    jurisdiction: None,
                },
            )
            .await
            .unwrap();
    }
    let state = AppState {
        store,
        lib: library(),
        secure_cookies: false,
        plans: Arc::new(plans()),
        // The walk makes many anonymous calls in a burst: limits are tested in issue_9.rs.
        guard: Arc::new(kc_server::guard::Guard::new(
            kc_server::guard::AnonQuota {
                calc_per_minute: 100_000,
                read_per_minute: 100_000,
            },
            false,
        )),
        oidc: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, kc_server::app(state)).await.unwrap() });
    format!("http://{addr}")
}

/// Who calls: nobody, or a demo account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Anonymous,
    Hn,
    Hn2,
    Reviewer,
    Finance,
    Admin,
    Planner,
    Author,
}

impl Who {
    fn user(self) -> Option<&'static str> {
        Some(match self {
            Who::Anonymous => return None,
            Who::Hn => "hn",
            Who::Hn2 => "hn2",
            Who::Reviewer => "reviewer",
            Who::Finance => "finance",
            Who::Admin => "demo-admin",
            Who::Planner => "planner",
            Who::Author => "author",
        })
    }
}

enum Body {
    None,
    /// JSON text with `{var}`s
    Json(&'static str),
    /// raw bytes with a content type
    Raw(&'static str, &'static str),
}

/// One call of the table.
struct Call {
    op: &'static str,
    method: &'static str,
    path: &'static str,
    who: Who,
    body: Body,
    status: u16,
    /// (variable, JSON pointer into the answer)
    remember: &'static [(&'static str, &'static str)],
}

const fn call(
    op: &'static str,
    method: &'static str,
    path: &'static str,
    who: Who,
    body: Body,
) -> Call {
    Call {
        op,
        method,
        path,
        who,
        body,
        status: 200,
        remember: &[],
    }
}

const fn keep(mut c: Call, remember: &'static [(&'static str, &'static str)]) -> Call {
    c.remember = remember;
    c
}

/// A minimal PDF (its magic bytes are what the upload checks).
const PDF: &str =
    "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

const APPLICANTS_CSV: &str =
    "id,name,kind,region,size\n91210112MA0XK8R4XD,导入示例一,enterprise,hunnan,small\n";
const EVENTS_CSV: &str = "applicant_id,id,kind,date,cert,first\n91210112MA0XK8R4XD,imp-c1,certified,2023-02-01,tech_sme,是\n";

/// The table, in the order the calls are made (later calls use what earlier ones remembered).
fn calls() -> Vec<Call> {
    use Body::*;
    use Who::*;
    vec![
        // Public: the library, the calculator, the calendar, the plans, the 公示 list.
        call("measures", "GET", "/api/library/measures", Anonymous, None),
        call(
            "library_documents",
            "GET",
            "/api/library/documents",
            Anonymous,
            None,
        ),
        call(
            "library_clauses",
            "GET",
            "/api/library/documents/shenyang-2021-11/clauses",
            Anonymous,
            None,
        ),
        call(
            "library_measure",
            "GET",
            "/api/library/measures/hitech_first",
            Anonymous,
            None,
        ),
        call(
            "eligibility",
            "POST",
            "/api/eligibility",
            Anonymous,
            Json(include_str!("../../../examples/hunnan-enterprise.json")),
        ),
        call("calendar", "GET", "/api/calendar", Anonymous, None),
        // 测算: the knobs, a run in the background (its xlsx is fetched at the end of the
        // table, when it is done), the runs and the run.
        call(
            "simulation_knobs",
            "GET",
            "/api/simulations/knobs",
            Finance,
            None,
        ),
        Call {
            status: 202,
            ..keep(
                call(
                    "start_simulation",
                    "POST",
                    "/api/simulations",
                    Finance,
                    Json(
                        r#"{"from": "2020-01-01", "to": "2023-12-31", "changes": [{"knob": "tech_sme_first#1", "value": "3万元"}]}"#,
                    ),
                ),
                &[("run", "/id")],
            )
        },
        call("simulation_runs", "GET", "/api/simulations", Finance, None),
        // A long run over a synthetic population, stopped at once; a population uploaded,
        // listed and deleted.
        Call {
            status: 202,
            ..keep(
                call(
                    "start_simulation",
                    "POST",
                    "/api/simulations",
                    Finance,
                    Json(
                        r#"{"from": "2021-07-14", "to": "2023-12-31", "population": "shenyang", "size": 200000}"#,
                    ),
                ),
                &[("long_run", "/id")],
            )
        },
        call(
            "stop_simulation",
            "POST",
            "/api/simulations/{long_run}/stop",
            Finance,
            None,
        ),
        Call {
            status: 201,
            ..keep(
                call(
                    "upload_simulation_population",
                    "POST",
                    "/api/simulations/populations?filename=twelve.jsonl",
                    Finance,
                    Raw(
                        "application/octet-stream",
                        include_str!("../../simulate/tests/data/twelve.jsonl"),
                    ),
                ),
                &[("population", "/id")],
            )
        },
        call(
            "simulation_populations",
            "GET",
            "/api/simulations/populations",
            Planner,
            None,
        ),
        call(
            "delete_simulation_population",
            "POST",
            "/api/simulations/populations/{population}/delete",
            Finance,
            None,
        ),
        call(
            "simulation_run",
            "GET",
            "/api/simulations/{run}",
            Planner,
            None,
        ),
        keep(
            call("plan_status", "GET", "/api/plans", Planner, None),
            &[("plan", "/0/plan"), ("indicator", "/0/indicators/0/id")],
        ),
        keep(
            call("plan_tasks", "GET", "/api/plans/tasks", Planner, None),
            &[("unit", "/units/0")],
        ),
        keep(
            call(
                "plan_tasks",
                "GET",
                "/api/plans/tasks?unit={unit}",
                Planner,
                None,
            ),
            &[
                ("task_plan", "/tasks/0/plan"),
                ("task", "/tasks/0/number"),
                ("task_year", "/tasks/0/milestones/0/year"),
            ],
        ),
        call(
            "plan_tasks_xlsx",
            "GET",
            "/api/plans/tasks.xlsx?unit={unit}",
            Planner,
            None,
        ),
        call("public_notices", "GET", "/api/notices", Anonymous, None),
        call(
            "login",
            "POST",
            "/api/login",
            Anonymous,
            Json(r#"{"user": "reviewer", "password": "demo-kechuang"}"#),
        ),
        // An applicant's file, its calculator, an application through review and 公示.
        call(
            "applicant",
            "GET",
            "/api/applicants/91210112MA0XK8R34Y",
            Hn,
            None,
        ),
        call(
            "applicant_eligibility",
            "GET",
            "/api/applicants/91210112MA0XK8R34Y/eligibility",
            Hn,
            None,
        ),
        keep(
            call(
                "create_application",
                "POST",
                "/api/applications",
                Hn,
                Json(
                    r#"{"applicant": "91210112MA0XK8R34Y", "measure": "hitech_first", "event": "hn-c1"}"#,
                ),
            ),
            &[("app", "/id")],
        ),
        call("applications", "GET", "/api/applications", Hn, None),
        call("application", "GET", "/api/applications/{app}", Hn, None),
        // Its materials: a 申报书, the bank account, the 承诺书; a file uploaded by mistake
        // and removed; the reviewer reads the list and downloads the file.
        keep(
            call(
                "upload_material",
                "POST",
                "/api/applications/{app}/materials?kind=application_form&filename=form.pdf",
                Hn,
                Raw("application/pdf", PDF),
            ),
            &[("file", "/id")],
        ),
        keep(
            call(
                "upload_material",
                "POST",
                "/api/applications/{app}/materials?kind=evidence&filename=wrong.pdf",
                Hn,
                Raw("application/pdf", PDF),
            ),
            &[("wrong_file", "/id")],
        ),
        call(
            "remove_material",
            "POST",
            "/api/files/{wrong_file}/remove",
            Hn,
            None,
        ),
        call(
            "set_bank_account",
            "POST",
            "/api/applications/{app}/account",
            Hn,
            Json(
                r#"{"account_name": "浑南示例", "bank": "中国银行沈阳浑南支行", "account_no": "6217 0000 1234 5678"}"#,
            ),
        ),
        call(
            "accept_pledge",
            "POST",
            "/api/applications/{app}/pledge",
            Hn,
            None,
        ),
        call(
            "materials",
            "GET",
            "/api/applications/{app}/materials",
            Reviewer,
            None,
        ),
        call(
            "download_material",
            "GET",
            "/api/files/{file}",
            Reviewer,
            None,
        ),
        call(
            "act",
            "POST",
            "/api/applications/{app}/actions",
            Hn,
            Json(r#"{"action": "submit"}"#),
        ),
        call(
            "act",
            "POST",
            "/api/applications/{app}/actions",
            Reviewer,
            Json(r#"{"action": "start_review"}"#),
        ),
        // 1:1 city and district: the district recommends, the city takes it up and approves.
        call(
            "act",
            "POST",
            "/api/applications/{app}/actions",
            Reviewer,
            Json(r#"{"action": "recommend", "amount": "200000"}"#),
        ),
        call(
            "act",
            "POST",
            "/api/applications/{app}/actions",
            Reviewer,
            Json(r#"{"action": "start_review"}"#),
        ),
        call(
            "act",
            "POST",
            "/api/applications/{app}/actions",
            Reviewer,
            Json(r#"{"action": "approve", "amount": "200000"}"#),
        ),
        call(
            "act",
            "POST",
            "/api/applications/{app}/actions",
            Reviewer,
            Json(r#"{"action": "publish_notice", "notice_days": 0}"#),
        ),
        // A 补正 request answered item by item: in words and with a file.
        keep(
            call(
                "create_application",
                "POST",
                "/api/applications",
                Hn2,
                Json(r#"{"applicant": "{second}", "measure": "hitech_first", "event": "hn2-c1"}"#),
            ),
            &[("app2", "/id")],
        ),
        call(
            "set_bank_account",
            "POST",
            "/api/applications/{app2}/account",
            Hn2,
            Json(
                r#"{"account_name": "浑南示例二", "bank": "中国银行沈阳浑南支行", "account_no": "6217000012345679"}"#,
            ),
        ),
        call(
            "accept_pledge",
            "POST",
            "/api/applications/{app2}/pledge",
            Hn2,
            None,
        ),
        call(
            "act",
            "POST",
            "/api/applications/{app2}/actions",
            Hn2,
            Json(r#"{"action": "submit"}"#),
        ),
        call(
            "act",
            "POST",
            "/api/applications/{app2}/actions",
            Reviewer,
            Json(r#"{"action": "start_review"}"#),
        ),
        call(
            "act",
            "POST",
            "/api/applications/{app2}/actions",
            Reviewer,
            Json(r#"{"action": "request_material", "missing": ["2022年度审计报告"]}"#),
        ),
        keep(
            call(
                "materials",
                "GET",
                "/api/applications/{app2}/materials",
                Hn2,
                None,
            ),
            &[("item", "/requests/0/id")],
        ),
        call(
            "answer_material",
            "POST",
            "/api/applications/{app2}/answers",
            Hn2,
            Json(r#"{"request": "{item}", "answer": "审计报告见附件"}"#),
        ),
        call(
            "upload_material",
            "POST",
            "/api/applications/{app2}/materials?kind=supplement&request={item}&filename=audit.pdf",
            Hn2,
            Raw("application/pdf", PDF),
        ),
        call("review_queue", "GET", "/api/review", Reviewer, None),
        call("applicants_list", "GET", "/api/applicants", Reviewer, None),
        // Anyone may object during 公示 (no account); the reviewer sees it, then decides.
        call(
            "lodge_objection",
            "POST",
            "/api/notices/{app}/public-objections",
            Anonymous,
            Json(r#"{"name": "张三", "contact": "13800000000", "reason": "该企业认定时间有误"}"#),
        ),
        call(
            "public_objections_list",
            "GET",
            "/api/objections",
            Reviewer,
            None,
        ),
        call(
            "object_notice",
            "POST",
            "/api/notices/{app}/objections",
            Reviewer,
            Json(r#"{"reason": "公示期间收到实名异议"}"#),
        ),
        // 免申即享: one offer confirmed and paid in part, one declined.
        keep(
            call("offers", "GET", "/api/offers", Hn, None),
            &[("offer", "/0/id")],
        ),
        keep(
            call("offers", "GET", "/api/offers", Hn2, None),
            &[("offer2", "/0/id")],
        ),
        call(
            "set_bank_account",
            "POST",
            "/api/applications/{offer}/account",
            Hn,
            Json(
                r#"{"account_name": "浑南示例", "bank": "中国银行沈阳浑南支行", "account_no": "6217000012345678"}"#,
            ),
        ),
        call(
            "accept_pledge",
            "POST",
            "/api/applications/{offer}/pledge",
            Hn,
            None,
        ),
        call(
            "confirm_offer",
            "POST",
            "/api/offers/{offer}/confirm",
            Hn,
            Json(r#"{"notice_days": 0}"#),
        ),
        call(
            "decline_offer",
            "POST",
            "/api/offers/{offer2}/decline",
            Hn2,
            None,
        ),
        call(
            "pay",
            "POST",
            "/api/applications/{offer}/payments",
            Finance,
            Json(r#"{"level": "city", "amount": "1.00"}"#),
        ),
        call("notifications", "GET", "/api/notifications", Hn, None),
        call(
            "notifications_unread",
            "GET",
            "/api/notifications/unread",
            Hn,
            None,
        ),
        // Budgets, audit, export and import.
        call(
            "set_budget",
            "POST",
            "/api/budgets/lines",
            Finance,
            Json(
                r#"{"measure": "hitech_first", "year": 2023, "level": "city", "amount": "1000000"}"#,
            ),
        ),
        call("budgets", "GET", "/api/budgets", Reviewer, None),
        call("budget_levels", "GET", "/api/budgets/levels", Finance, None),
        call(
            "jurisdiction_overview",
            "GET",
            "/api/jurisdiction",
            Reviewer,
            None,
        ),
        call(
            "audit",
            "GET",
            "/api/audit?action=set_budget&limit=5",
            Admin,
            None,
        ),
        call(
            "export_table",
            "GET",
            "/api/export/applications",
            Reviewer,
            None,
        ),
        call(
            "export_table",
            "GET",
            "/api/export/ledger?format=csv",
            Finance,
            None,
        ),
        call(
            "import_table",
            "POST",
            "/api/import/applicants?format=csv",
            Admin,
            Raw("text/csv", APPLICANTS_CSV),
        ),
        call(
            "import_table",
            "POST",
            "/api/import/events",
            Admin,
            Raw("text/csv", EVENTS_CSV),
        ),
        // The plan office.
        call(
            "record_actual",
            "POST",
            "/api/plans/actuals",
            Planner,
            Json(
                r#"{"indicator": "{plan}:{indicator}", "value": "1", "date": "2023-06-01", "source": "统计公报"}"#,
            ),
        ),
        call(
            "record_progress",
            "POST",
            "/api/plans/progress",
            Planner,
            Json(
                r#"{"task": "{task_plan}:{task}", "year": {task_year}, "done": "2023-06-01", "source": "督查通报"}"#,
            ),
        ),
        // 我的单位, 单位用户管理, one-time links, 工作人员账号 (issue 11, item 3).
        call("my_organisations", "GET", "/api/organisations", Hn, None),
        call(
            "switch_organisation",
            "POST",
            "/api/organisations/current",
            Hn,
            Json(r#"{"applicant": "91210112MA0XK8R34Y"}"#),
        ),
        keep(
            call(
                "invite_user",
                "POST",
                "/api/organisation/users",
                Hn,
                Json(r#"{"user": "hn-contract", "name": "契约测试经办人"}"#),
            ),
            &[("invite", "/token")],
        ),
        call(
            "organisation_users",
            "GET",
            "/api/organisation/users",
            Hn,
            None,
        ),
        call("link_info", "GET", "/api/links/{invite}", Anonymous, None),
        call(
            "use_link",
            "POST",
            "/api/links/{invite}",
            Anonymous,
            Json(r#"{"password": "contract-password-1"}"#),
        ),
        call(
            "reset_link",
            "POST",
            "/api/users/hn-contract/reset_link",
            Hn,
            None,
        ),
        call(
            "remove_user",
            "POST",
            "/api/organisation/users/hn-contract/remove",
            Hn,
            None,
        ),
        call(
            "organisation_audit",
            "GET",
            "/api/organisation/audit",
            Hn,
            None,
        ),
        call(
            "invite_staff",
            "POST",
            "/api/staff",
            Admin,
            Json(r#"{"user": "staff-contract", "name": "契约测试审核", "role": "reviewer"}"#),
        ),
        call("staff_users", "GET", "/api/staff", Admin, None),
        // The S&T market (issue 12).
        call(
            "market_search",
            "GET",
            "/api/market/search?q=AGV",
            Anonymous,
            None,
        ),
        call(
            "market_listings",
            "GET",
            "/api/market/listings?side=demand",
            Anonymous,
            None,
        ),
        keep(
            call(
                "create_listing",
                "POST",
                "/api/market/listings",
                Hn,
                Json(
                    r#"{"side": "demand", "title": "仓库叉车想换成自动搬运小车", "field": "intelligent_manufacturing", "text": "仓库里叉车全靠人开,想上自动搬运的小车"}"#,
                ),
            ),
            &[("demand", "/id")],
        ),
        call(
            "market_listing",
            "GET",
            "/api/market/listings/{demand}",
            Hn,
            None,
        ),
        call(
            "update_listing",
            "POST",
            "/api/market/listings/{demand}",
            Hn,
            Json(
                r#"{"title": "仓库叉车想换成自动搬运小车", "field": "intelligent_manufacturing", "text": "仓库里叉车全靠人开,想上自动搬运的小车", "price": "300000"}"#,
            ),
        ),
        call(
            "review_listing",
            "POST",
            "/api/market/listings/{demand}/review",
            Reviewer,
            Json(r#"{"publish": true}"#),
        ),
        call(
            "listing_matches",
            "GET",
            "/api/market/listings/{demand}/matches",
            Anonymous,
            None,
        ),
        call(
            "listing_status",
            "POST",
            "/api/market/listings/{demand}/status",
            Hn,
            Json(r#"{"status": "negotiating"}"#),
        ),
        call(
            "import_listings",
            "POST",
            "/api/market/import/demands?format=csv",
            Reviewer,
            Raw(
                "text/csv",
                "title,enterprise,field,problem,region\n想找耐高温涂层,契约示例企业,new_materials,炉子里的零件涂层老是掉,hunnan\n",
            ),
        ),
        call(
            "export_listings",
            "GET",
            "/api/market/export/achievements?format=csv",
            Reviewer,
            None,
        ),
        keep(
            call(
                "create_fair",
                "POST",
                "/api/market/fairs",
                Reviewer,
                Json(
                    r#"{"name": "契约测试对接会", "held_on": "2023-06-01", "region": "shenyang"}"#,
                ),
            ),
            &[("fair", "/id")],
        ),
        call("market_fairs", "GET", "/api/market/fairs", Reviewer, None),
        call(
            "add_fair_listings",
            "POST",
            "/api/market/fairs/{fair}/listings",
            Reviewer,
            Json(r#"{"ids": ["{demand}", "CG0001", "CG0002"]}"#),
        ),
        call(
            "match_fair",
            "POST",
            "/api/market/fairs/{fair}/match",
            Reviewer,
            None,
        ),
        call(
            "record_meeting",
            "POST",
            "/api/market/fairs/{fair}/meetings",
            Reviewer,
            Json(r#"{"demand": "{demand}", "achievement": "CG0001", "outcome": "intention"}"#),
        ),
        call(
            "market_fair",
            "GET",
            "/api/market/fairs/{fair}",
            Reviewer,
            None,
        ),
        call(
            "register_contract",
            "POST",
            "/api/market/contracts",
            Reviewer,
            Json(
                r#"{"reg_no": "CT-2023-0001", "contract_type": "技术开发", "title": "焊接工艺开发", "seller_id": "123715032R4LE1JQ2T", "buyer_id": "91210112MA0XK8R34Y", "item": "焊接工艺", "amount": "100000", "tech_amount": "90000", "signed_on": "2023-03-01", "registered_on": "2023-03-02", "demand_id": "{demand}"}"#,
            ),
        ),
        call("market_contracts", "GET", "/api/market/contracts", Hn, None),
        call(
            "contract_stats",
            "GET",
            "/api/market/contracts/stats?year=2023",
            Reviewer,
            None,
        ),
        call(
            "settle_contracts",
            "POST",
            "/api/market/contracts/settle",
            Admin,
            Json(r#"{"year": 2022}"#),
        ),
        call(
            "market_services",
            "GET",
            "/api/market/services",
            Anonymous,
            None,
        ),
        keep(
            call(
                "add_service",
                "POST",
                "/api/market/services",
                Reviewer,
                Json(
                    r#"{"institution": "91371526G3FJAFQX31", "name": "契约测试检测服务", "category": "testing"}"#,
                ),
            ),
            &[("service", "/id")],
        ),
        keep(
            call(
                "issue_voucher",
                "POST",
                "/api/market/vouchers",
                Reviewer,
                Json(
                    r#"{"applicant": "91210112MA0XK8R34Y", "year": 2023, "quota": "50000", "valid_until": "2023-12-31"}"#,
                ),
            ),
            &[("voucher", "/id")],
        ),
        keep(
            call(
                "order_service",
                "POST",
                "/api/market/orders",
                Hn,
                Json(r#"{"voucher": "{voucher}", "service": "{service}", "amount": "10000"}"#),
            ),
            &[("order", "/id")],
        ),
        call(
            "redeem_order",
            "POST",
            "/api/market/orders/{order}/redeem",
            Reviewer,
            Json(r#"{"contract_no": "HT-CT-1", "receipt_no": "FP-CT-1"}"#),
        ),
        call("market_vouchers", "GET", "/api/market/vouchers", Hn, None),
        call(
            "declare_relation",
            "POST",
            "/api/market/relations",
            Hn,
            Json(
                r#"{"a": "91210112MA0XK8R34Y", "b": "91371526G3FJAFQX31", "note": "同一控股股东"}"#,
            ),
        ),
        call(
            "simulation_xlsx",
            "GET",
            "/api/simulations/{run}/result.xlsx",
            Admin,
            None,
        ),
        // 政策管理: a draft from the active version, a file added (a diagnostic) and removed,
        // checks, a skeleton, the cost difference and the comparison, submitted, returned,
        // submitted again and published by a second person; a second draft discarded; an
        // application re-evaluated under the version it was decided under.
        call(
            "library_versions",
            "GET",
            "/api/policy/versions",
            Author,
            None,
        ),
        Call {
            status: 201,
            ..keep(
                call(
                    "create_library_draft",
                    "POST",
                    "/api/policy/versions",
                    Author,
                    Json(r#"{"title": "合同补助说明修订"}"#),
                ),
                &[("draft", "/id")],
            )
        },
        call(
            "library_version",
            "GET",
            "/api/policy/versions/{draft}",
            Admin,
            None,
        ),
        call(
            "put_library_file",
            "POST",
            "/api/policy/versions/{draft}/files",
            Author,
            Json(r##"{"path": "policies/zz-note.md", "text": "# 说明\n\n```kc\nmeasure\n```\n"}"##),
        ),
        call(
            "check_library_file",
            "POST",
            "/api/policy/versions/{draft}/check-file",
            Author,
            Json(r##"{"path": "policies/zz-note.md", "text": "# 说明\n"}"##),
        ),
        call(
            "check_library_version",
            "GET",
            "/api/policy/versions/{draft}/check",
            Author,
            None,
        ),
        call(
            "delete_library_file",
            "POST",
            "/api/policy/versions/{draft}/files/remove",
            Author,
            Json(r#"{"path": "policies/zz-note.md"}"#),
        ),
        call(
            "policy_skeleton",
            "POST",
            "/api/policy/skeleton",
            Author,
            Json(
                r#"{"text": "关于测试的通知\n一、总则\n(一)给予10万元奖励。", "number": "测试〔2026〕1号", "valid_from": "2026-01-01", "valid_to": "2030-12-31"}"#,
            ),
        ),
        call(
            "library_cost_difference",
            "GET",
            "/api/policy/versions/{draft}/cost?from=2023-01-01&to=2023-12-31",
            Author,
            None,
        ),
        call(
            "compare_library_versions",
            "GET",
            "/api/policy/versions/{draft}/compare",
            Admin,
            None,
        ),
        call(
            "submit_library_draft",
            "POST",
            "/api/policy/versions/{draft}/submit",
            Author,
            None,
        ),
        call(
            "return_library_draft",
            "POST",
            "/api/policy/versions/{draft}/return",
            Admin,
            Json(r#"{"reason": "请补充修订依据"}"#),
        ),
        call(
            "submit_library_draft",
            "POST",
            "/api/policy/versions/{draft}/submit",
            Author,
            None,
        ),
        call(
            "approve_library_draft",
            "POST",
            "/api/policy/versions/{draft}/approve",
            Admin,
            Json(r#"{"applies_from": "2023-07-01"}"#),
        ),
        Call {
            status: 201,
            ..keep(
                call(
                    "create_library_draft",
                    "POST",
                    "/api/policy/versions",
                    Author,
                    Json(r#"{"title": "待废弃的草稿"}"#),
                ),
                &[("draft2", "/id")],
            )
        },
        call(
            "discard_library_draft",
            "POST",
            "/api/policy/versions/{draft2}/discard",
            Author,
            None,
        ),
        call(
            "decided_evaluation",
            "GET",
            "/api/applications/{app}/decided-evaluation",
            Admin,
            None,
        ),
        call("logout", "POST", "/api/logout", Hn, None),
    ]
}

/// Every route of the web UI (method, path) and the API operations that do the same.
/// `EXEMPT` routes have no API meaning (said why).
const UI: &[(&str, &str, &[&str])] = &[
    ("GET", "/", &["library_documents"]),
    ("GET", "/login", &["login"]),
    ("POST", "/login", &["login"]),
    ("POST", "/logout", &["logout"]),
    (
        "GET",
        "/library",
        &["library_documents", "library_clauses", "measures"],
    ),
    ("GET", "/library/{measure}", &["library_measure"]),
    (
        "GET",
        "/calculator",
        &["eligibility", "applicant_eligibility"],
    ),
    ("GET", "/applications", &["applications", "offers"]),
    ("POST", "/applications", &["create_application"]),
    (
        "GET",
        "/applications/{id}",
        &["application", "materials", "decided_evaluation"],
    ),
    (
        "POST",
        "/applications/{id}/act",
        &["act", "object_notice", "confirm_offer"],
    ),
    ("GET", "/applications/{id}/decline", &["application"]),
    (
        "POST",
        "/applications/{id}/materials",
        &["upload_material", "answer_material"],
    ),
    ("POST", "/applications/{id}/account", &["set_bank_account"]),
    ("POST", "/applications/{id}/pledge", &["accept_pledge"]),
    ("GET", "/files/{id}", &["download_material"]),
    ("POST", "/files/{id}/remove", &["remove_material"]),
    ("POST", "/applications/{id}/decline", &["decline_offer"]),
    ("POST", "/applications/{id}/pay", &["pay"]),
    (
        "GET",
        "/review",
        &["review_queue", "public_notices", "public_objections_list"],
    ),
    ("GET", "/notices", &["public_notices"]),
    ("POST", "/notices/{id}/objection", &["lodge_objection"]),
    ("GET", "/budget", &["budgets", "budget_levels"]),
    ("POST", "/budget", &["set_budget"]),
    ("GET", "/audit", &["audit"]),
    ("GET", "/applicants", &["applicants_list"]),
    ("GET", "/applicants/{id}", &["applicant"]),
    ("GET", "/calendar", &["calendar", "notifications"]),
    ("GET", "/jurisdiction", &["jurisdiction_overview"]),
    (
        "GET",
        "/notifications",
        &["notifications", "notifications_unread"],
    ),
    ("GET", "/plans", &["plan_status"]),
    ("GET", "/plans/tasks", &["plan_tasks"]),
    ("GET", "/plans/tasks.xlsx", &["plan_tasks_xlsx"]),
    ("POST", "/plans/actuals", &["record_actual"]),
    ("POST", "/plans/progress", &["record_progress"]),
    ("GET", "/lang/{lang}", &[]),
    ("GET", "/policy-admin/editor.js", &[]),
    (
        "GET",
        "/organisation",
        &[
            "my_organisations",
            "organisation_users",
            "organisation_audit",
        ],
    ),
    ("POST", "/organisation/switch", &["switch_organisation"]),
    ("POST", "/organisation/users", &["invite_user"]),
    (
        "POST",
        "/organisation/users/{user}/remove",
        &["remove_user"],
    ),
    ("POST", "/users/{user}/reset", &["reset_link"]),
    ("GET", "/staff", &["staff_users"]),
    ("POST", "/staff", &["invite_staff"]),
    ("GET", "/link/{token}", &["link_info"]),
    ("POST", "/link/{token}", &["use_link"]),
    ("GET", "/market", &["market_search", "market_listings"]),
    ("GET", "/market/new", &["create_listing"]),
    ("POST", "/market/listings", &["create_listing"]),
    (
        "GET",
        "/market/listings/{id}",
        &["market_listing", "listing_matches"],
    ),
    ("POST", "/market/listings/{id}", &["update_listing"]),
    ("GET", "/market/listings/{id}/edit", &["market_listing"]),
    ("POST", "/market/listings/{id}/status", &["listing_status"]),
    ("POST", "/market/listings/{id}/review", &["review_listing"]),
    (
        "GET",
        "/market/mine",
        &["market_listings", "listing_matches"],
    ),
    ("GET", "/market/review", &["market_listings"]),
    ("GET", "/market/fairs", &["market_fairs"]),
    ("POST", "/market/fairs", &["create_fair"]),
    ("GET", "/market/fairs/{id}", &["market_fair"]),
    ("POST", "/market/fairs/{id}/import", &["import_listings"]),
    ("POST", "/market/fairs/{id}/match", &["match_fair"]),
    ("POST", "/market/fairs/{id}/meetings", &["record_meeting"]),
    (
        "GET",
        "/market/contracts",
        &["market_contracts", "contract_stats"],
    ),
    ("POST", "/market/contracts", &["register_contract"]),
    ("POST", "/market/contracts/settle", &["settle_contracts"]),
    (
        "GET",
        "/market/vouchers",
        &["market_vouchers", "market_services"],
    ),
    ("POST", "/market/services", &["add_service"]),
    ("POST", "/market/vouchers/issue", &["issue_voucher"]),
    ("POST", "/market/orders", &["order_service"]),
    ("POST", "/market/orders/{id}/redeem", &["redeem_order"]),
    ("POST", "/market/relations", &["declare_relation"]),
    ("GET", "/policy-admin", &["library_versions"]),
    ("POST", "/policy-admin", &["create_library_draft"]),
    (
        "GET",
        "/policy-admin/{id}",
        &["library_version", "check_library_version"],
    ),
    (
        "POST",
        "/policy-admin/{id}/action",
        &[
            "submit_library_draft",
            "approve_library_draft",
            "return_library_draft",
            "discard_library_draft",
        ],
    ),
    ("GET", "/policy-admin/{id}/edit", &["library_version"]),
    (
        "POST",
        "/policy-admin/{id}/edit",
        &[
            "put_library_file",
            "check_library_file",
            "delete_library_file",
        ],
    ),
    (
        "POST",
        "/policy-admin/{id}/skeleton",
        &["policy_skeleton", "put_library_file"],
    ),
    (
        "GET",
        "/policy-admin/{id}/cost",
        &["library_cost_difference"],
    ),
    (
        "GET",
        "/policy-admin/{id}/compare",
        &["compare_library_versions"],
    ),
    (
        "GET",
        "/simulate",
        &[
            "simulation_knobs",
            "simulation_runs",
            "simulation_populations",
        ],
    ),
    ("POST", "/simulate", &["start_simulation"]),
    (
        "POST",
        "/simulate/populations",
        &["upload_simulation_population"],
    ),
    (
        "POST",
        "/simulate/populations/{id}/delete",
        &["delete_simulation_population"],
    ),
    ("GET", "/simulate/runs/{id}", &["simulation_run"]),
    ("POST", "/simulate/runs/{id}/stop", &["stop_simulation"]),
    (
        "GET",
        "/simulate/runs/{id}/result.xlsx",
        &["simulation_xlsx"],
    ),
    ("GET", "/login/oidc", &[]),
    ("GET", "/login/oidc/callback", &[]),
];

/// UI routes without an API counterpart, and why.
const EXEMPT: &[(&str, &str)] = &[
    (
        "/policy-admin/editor.js",
        "the editor's script (a static file); the live diagnostics it shows come from check_library_file",
    ),
    (
        "/lang/{lang}",
        "sets the page language cookie; the API answers in Chinese with English",
    ),
    (
        "/login/oidc",
        "unified login is a browser redirect to the identity provider; an API client logs in with POST /api/login",
    ),
    (
        "/login/oidc/callback",
        "the identity provider's redirect back to the browser that started the login",
    ),
];

/// API operations that no page offers (the command line does), so they map to no UI route.
const API_ONLY: &[&str] = &[
    "import_table",
    "export_table",
    "export_listings",
    "add_fair_listings",
];

/// The routes the UI registers, read from its source: `.route("PATH", get(h).post(h))`.
fn ui_routes() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    // Every feature module that registers pages (`pub fn routes()`), however deep.
    let mut files = Vec::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src/features")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 10, "the feature modules: {files:?}");
    for file in files {
        let src = std::fs::read_to_string(&file).unwrap();
        // Only the page router: `pub fn routes()` up to the next `}` at the start of a line;
        // `features/mod.rs` only merges the others.
        let Some(start) = src.find("pub fn routes()") else {
            continue;
        };
        if file.ends_with("features/mod.rs") {
            continue;
        }
        let body = &src[start..start + src[start..].find("\n}").unwrap()];
        for chunk in body.split(".route(").skip(1) {
            let mut parts = chunk.splitn(3, '"');
            let path = parts.nth(1).unwrap().to_string();
            // Up to the next route: rustfmt may put a long route's handlers on lines of their own.
            let rest = parts.next().unwrap();
            for (m, method) in [
                ("get(", "GET"),
                ("post(", "POST"),
                ("put(", "PUT"),
                ("delete(", "DELETE"),
            ] {
                if rest.contains(&format!(" {m}")) || rest.contains(&format!(".{m}")) {
                    out.insert((method.to_string(), path.clone()));
                }
            }
        }
    }
    out
}

struct Session {
    http: reqwest::Client,
    csrf: String,
}

async fn session(base: &str, who: Who) -> Session {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let Some(user) = who.user() else {
        return Session {
            http,
            csrf: String::new(),
        };
    };
    let r = http
        .post(format!("{base}/api/login"))
        .json(&json!({"user": user, "password": DEMO_PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "login {user}");
    let j: J = r.json().await.unwrap();
    Session {
        http,
        csrf: j["csrf"].as_str().unwrap().into(),
    }
}

fn fill(template: &str, vars: &BTreeMap<String, String>) -> String {
    let mut s = template.to_string();
    for (k, v) in vars {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

/// The OpenAPI path of a concrete path: `/api/applications/A2023-000001/actions` →
/// `/api/applications/{id}/actions`.
fn doc_path<'a>(doc: &'a J, method: &str, path: &str) -> Option<(&'a str, &'a J)> {
    let path = path.split('?').next().unwrap();
    let segs: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .find_map(|(p, item)| {
            let ps: Vec<&str> = p.split('/').collect();
            let same = ps.len() == segs.len()
                && ps
                    .iter()
                    .zip(&segs)
                    .all(|(a, b)| a == b || (a.starts_with('{') && a.ends_with('}')));
            let op = &item[method.to_ascii_lowercase()];
            (same && op.is_object()).then_some((p.as_str(), op))
        })
}

fn operations(doc: &J) -> BTreeMap<String, (String, String, J)> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no operationId"))
                .to_string();
            assert!(
                out.insert(
                    id.clone(),
                    (method.to_uppercase(), path.clone(), op.clone())
                )
                .is_none(),
                "operationId {id} used twice"
            );
        }
    }
    out
}

fn is_public(op: &J) -> bool {
    op["security"].as_array().is_none_or(|s| s.is_empty())
}

/// Checks an answer against the operation's declared response.
fn check_answer(doc: &J, op_id: &str, op: &J, status: u16, content_type: &str, bytes: &[u8]) -> J {
    let resp = &op["responses"][status.to_string()];
    assert!(
        resp.is_object(),
        "{op_id}: status {status} is not documented"
    );
    let Some(content) = resp["content"].as_object() else {
        return J::Null;
    };
    let declared: Vec<&String> = content.keys().collect();
    let base = content_type.split(';').next().unwrap().trim();
    assert!(
        declared.iter().any(|d| d.as_str() == base),
        "{op_id}: answered {content_type}, declared {declared:?}"
    );
    if base == "application/json" {
        let j: J =
            serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{op_id}: not JSON: {e}"));
        conforms(doc, op_id, &content[base]["schema"], &j);
        j
    } else if base.contains("spreadsheetml") {
        assert!(bytes.starts_with(b"PK"), "{op_id}: not an xlsx file");
        J::Null
    } else {
        assert!(
            std::str::from_utf8(bytes).is_ok(),
            "{op_id}: {base} is not text"
        );
        J::Null
    }
}

/// Checks a JSON value against a schema of the document, as far as the API's schemas go:
/// named schemas (`$ref`) must have their required fields, arrays are checked item by item,
/// and `type` is checked for objects, arrays and strings.
fn conforms(doc: &J, op_id: &str, schema: &J, j: &J) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        let s = &doc["components"]["schemas"][name];
        assert!(s.is_object(), "{op_id}: {r} is not in the document");
        for field in s["required"].as_array().into_iter().flatten() {
            let f = field.as_str().unwrap();
            assert!(
                j.get(f).is_some(),
                "{op_id}: answer lacks the required field {f} of {name}: {:.300}",
                j.to_string()
            );
            conforms(doc, op_id, &s["properties"][f], &j[f]);
        }
        return;
    }
    let types: Vec<&str> = match &schema["type"] {
        J::String(t) => vec![t.as_str()],
        J::Array(ts) => ts.iter().filter_map(J::as_str).collect(),
        _ => return,
    };
    let actual = match j {
        J::Null => "null",
        J::Bool(_) => "boolean",
        J::Number(_) => "number",
        J::String(_) => "string",
        J::Array(_) => "array",
        J::Object(_) => "object",
    };
    let ok = types
        .iter()
        .any(|t| *t == actual || (*t == "integer" && actual == "number"));
    assert!(
        ok,
        "{op_id}: {actual} where the document says {types:?}: {:.300}",
        j.to_string()
    );
    if let J::Array(items) = j {
        for item in items {
            conforms(doc, op_id, &schema["items"], item);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_operation_of_the_openapi_document_is_called_and_answers_as_documented() {
    let base = start("walk").await;
    let anon = reqwest::Client::new();
    let doc: J = anon
        .get(format!("{base}/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ops = operations(&doc);
    assert!(ops.len() >= 34, "only {} operations documented", ops.len());
    let table = calls();

    // Both directions: the document and the table name the same operations.
    let called: BTreeSet<&str> = table.iter().map(|c| c.op).collect();
    let documented: BTreeSet<&str> = ops.keys().map(String::as_str).collect();
    let untested: Vec<_> = documented.difference(&called).collect();
    assert!(
        untested.is_empty(),
        "operations in /api/openapi.json without a call in the contract table: {untested:?}"
    );
    let unknown: Vec<_> = called.difference(&documented).collect();
    assert!(
        unknown.is_empty(),
        "the contract table calls operations the document lacks: {unknown:?}"
    );

    // Every write needs the session and the CSRF token; every read of stored data the session.
    for (id, (method, path, op)) in &ops {
        if is_public(op) {
            assert!(
                op["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|x| x == "public")),
                "{id}: public but not tagged"
            );
            continue;
        }
        let s: Vec<String> = op["security"][0]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let want: Vec<String> = if method == "GET" {
            vec!["session".into()]
        } else {
            vec!["csrf".into(), "session".into()]
        };
        assert_eq!(s, want, "{id} {method} {path}: security");
        assert!(
            op["responses"]["401"].is_object(),
            "{id}: no 401 documented"
        );
    }

    let mut sessions = BTreeMap::new();
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    vars.insert("second".into(), second());
    for c in &table {
        if let std::collections::btree_map::Entry::Vacant(e) = sessions.entry(c.who) {
            e.insert(session(&base, c.who).await);
        }
        let s = &sessions[&c.who];
        let path = fill(c.path, &vars);
        let (doc_p, op) = doc_path(&doc, c.method, &path)
            .unwrap_or_else(|| panic!("{} {path}: not in the document", c.method));
        assert_eq!(op["operationId"], c.op, "{} {path} is {doc_p}", c.method);
        let url = format!("{base}{path}");
        let mut req = match c.method {
            "GET" => s.http.get(&url),
            "POST" => s.http.post(&url),
            m => panic!("method {m}"),
        };
        if c.method != "GET" && !s.csrf.is_empty() {
            req = req.header("x-csrf-token", &s.csrf);
        }
        req = match &c.body {
            Body::None => req,
            Body::Json(t) => req
                .header("content-type", "application/json")
                .body(fill(t, &vars)),
            Body::Raw(ct, t) => req.header("content-type", *ct).body(t.as_bytes().to_vec()),
        };
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = r.bytes().await.unwrap();
        assert_eq!(
            status,
            c.status,
            "{} {} {path} as {:?}: {}",
            c.op,
            c.method,
            c.who,
            String::from_utf8_lossy(&bytes)
        );
        let answer = check_answer(&doc, c.op, op, status, &ct, &bytes);
        for (var, pointer) in c.remember {
            let v = answer
                .pointer(pointer)
                .unwrap_or_else(|| panic!("{}: no {pointer} in {answer}", c.op));
            vars.insert(
                var.to_string(),
                v.as_str()
                    .map(String::from)
                    .unwrap_or_else(|| v.to_string()),
            );
        }
    }

    // Without a session: every non-public operation answers 401 JSON; public ones answer.
    for c in &table {
        let (_, _, op) = &ops[c.op];
        let path = fill(c.path, &vars);
        let url = format!("{base}{path}");
        let req = match c.method {
            "GET" => anon.get(&url),
            _ => anon
                .post(&url)
                .header("content-type", "application/json")
                .body("{}"),
        };
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        if is_public(op) {
            assert_ne!(status, 401, "{}: public, but 401 without a session", c.op);
        } else {
            let ct = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let j: J = r.json().await.unwrap_or(J::Null);
            assert_eq!(
                (status, j["code"].as_str()),
                (401, Some("unauthorized")),
                "{} {path} without a session ({ct})",
                c.op
            );
        }
    }
}

#[test]
fn every_ui_route_has_an_api_counterpart_and_the_map_is_current() {
    let routes = ui_routes();
    assert!(
        routes.len() > 20,
        "read only {} UI routes: {routes:?}",
        routes.len()
    );
    let mapped: BTreeSet<(String, String)> = UI
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = routes.difference(&mapped).collect();
    assert!(
        missing.is_empty(),
        "UI routes without an entry in the contract's UI map (add the API operation that does the same): {missing:?}"
    );
    let stale: Vec<_> = mapped.difference(&routes).collect();
    assert!(
        stale.is_empty(),
        "the UI map names routes the UI no longer has: {stale:?}"
    );
    let table: BTreeSet<&str> = calls().iter().map(|c| c.op).collect();
    let mut covered = BTreeSet::new();
    for (m, p, ops) in UI {
        if ops.is_empty() {
            assert!(
                EXEMPT.iter().any(|(e, _)| e == p),
                "{m} {p}: no API counterpart and not exempt"
            );
        }
        for op in *ops {
            assert!(
                table.contains(op),
                "{m} {p} → {op}: no such operation in the contract table"
            );
            covered.insert(*op);
        }
    }
    // The other direction: every API operation does something the UI does (or is API-only).
    let uncovered: Vec<_> = table
        .iter()
        .filter(|op| !covered.contains(*op) && !API_ONLY.contains(op))
        .collect();
    assert!(
        uncovered.is_empty(),
        "API operations that no UI route maps to: {uncovered:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_import_with_a_bad_row_imports_nothing_and_names_row_and_column() {
    let base = start("import").await;
    let admin = session(&base, Who::Admin).await;
    let csv = "id,name,kind,region\n91210112MA0XK8R4XD,好的一行,enterprise,hunnan\n91210112MA0XK8R4XD9,坏的一行,enterprise,nowhere\n";
    let r = admin
        .http
        .post(format!("{base}/api/import/applicants?format=csv"))
        .header("x-csrf-token", &admin.csrf)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let j: J = r.json().await.unwrap();
    assert_eq!(j["code"], "invalid_rows", "{j}");
    let errors = j["errors"].as_array().unwrap();
    assert!(errors.iter().all(|e| e["row"] == 3), "{j}");
    assert!(errors.iter().any(|e| e["column"] == "id"), "{j}");
    // Nothing written: the good row is not there either.
    let r = admin
        .http
        .get(format!("{base}/api/applicants"))
        .send()
        .await
        .unwrap();
    let list: J = r.json().await.unwrap();
    assert!(
        !list
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == "91210112MA0XK8R4XD"),
        "imported despite the bad row"
    );
    // Without the CSRF token the write is refused.
    let r = admin
        .http
        .post(format!("{base}/api/import/applicants?format=csv"))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // An applicant may not import.
    let hn = session(&base, Who::Hn).await;
    let r = hn
        .http
        .post(format!("{base}/api/import/applicants?format=csv"))
        .header("x-csrf-token", &hn.csrf)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_new_operations_refuse_the_wrong_role_and_the_wrong_organisation() {
    let base = start("roles").await;
    let hn = session(&base, Who::Hn).await;
    let hn2 = session(&base, Who::Hn2).await;
    let reviewer = session(&base, Who::Reviewer).await;
    let get = |s: &Session, path: &str| s.http.get(format!("{base}{path}")).send();
    let post = |s: &Session, path: &str, body: J| {
        s.http
            .post(format!("{base}{path}"))
            .header("x-csrf-token", &s.csrf)
            .json(&body)
            .send()
    };
    // Staff pages are staff only; an applicant sees only its own record.
    for path in [
        "/api/review",
        "/api/applicants",
        "/api/budgets/levels",
        "/api/export/ledger",
        &format!("/api/applicants/{}/eligibility", second()),
    ] {
        let r = get(&hn, path).await.unwrap();
        assert_eq!(r.status(), 403, "{path}");
        let j: J = r.json().await.unwrap();
        assert_eq!(j["code"], "forbidden", "{path}");
    }
    let j: J = get(&hn, "/api/offers").await.unwrap().json().await.unwrap();
    let offer = j[0]["id"].as_str().unwrap().to_string();
    assert!(
        j.as_array()
            .unwrap()
            .iter()
            .all(|a| a["applicant"] == HUNNAN),
        "{j}"
    );
    // Another organisation may not confirm or decline the offer; a reviewer may not either.
    for (s, path) in [
        (&hn2, format!("/api/offers/{offer}/confirm")),
        (&hn2, format!("/api/offers/{offer}/decline")),
        (&reviewer, format!("/api/offers/{offer}/confirm")),
    ] {
        let status = post(s, &path, json!({})).await.unwrap().status();
        assert_eq!(status, 403, "{path}");
    }
    // Only finance and admins set budgets; only reviewers and admins object; only admins import.
    let r = post(
        &reviewer,
        "/api/budgets/lines",
        json!({"measure": "hitech_first", "year": 2023, "level": "city", "amount": "1"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    // 意愿确认 needs the bank account and the 承诺书 first.
    let r = post(
        &hn,
        &format!("/api/offers/{offer}/confirm"),
        json!({"notice_days": 0}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<J>().await.unwrap()["code"], "materials_required");
    let r = post(
        &hn,
        &format!("/api/applications/{offer}/account"),
        json!({"account_name": "浑南示例", "bank": "中国银行沈阳浑南支行", "account_no": "6217000012345678"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = post(&hn, &format!("/api/applications/{offer}/pledge"), json!({}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = post(
        &hn,
        &format!("/api/offers/{offer}/confirm"),
        json!({"notice_days": 0}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = post(
        &hn,
        &format!("/api/notices/{offer}/objections"),
        json!({"reason": "x"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let r = post(
        &reviewer,
        &format!("/api/notices/{offer}/objections"),
        json!({"reason": ""}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 409, "an objection needs a reason");
    let r = reviewer
        .http
        .post(format!("{base}/api/import/applicants?format=csv"))
        .header("x-csrf-token", &reviewer.csrf)
        .body(APPLICANTS_CSV)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Writes need the CSRF token.
    let r = reviewer
        .http
        .post(format!("{base}/api/notices/{offer}/objections"))
        .json(&json!({"reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let j: J = r.json().await.unwrap();
    assert_eq!(j["code"], "csrf");
    // The 公示 list is public and shows the confirmed offer.
    let j: J = reqwest::get(format!("{base}/api/notices"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        j.as_array()
            .unwrap()
            .iter()
            .any(|n| n["application"] == offer.as_str()),
        "{j}"
    );
}

//! Who may reach what, as a table (issue 9, defect 5): every role against every endpoint of the
//! platform, pages and API, with the status it must get. `docs/roles.md` is this table in
//! prose; `kc_domain::Access` is the one place the rules live.

mod common;

use common::*;
use serde_json::json;

/// The callers, in the order of each row's expectations.
const WHO: [&str; 7] = ["anon", "hn", "gt", "rev", "fin", "adm", "plan"];

/// (method, path, expected status for anon, hn (HUNNAN's own account), gt (another
/// applicant), rev (reviewer), fin (finance), adm (admin), plan (plan office)).
/// `{app}` is an application of HUNNAN.
const MATRIX: &[(&str, &str, [u16; 7])] = &[
    // The S&T market (issue 12): public search; the staff's review queue and 对接会.
    ("GET", "/market", [200, 200, 200, 200, 200, 200, 200]),
    (
        "GET",
        "/api/market/search?q=AGV",
        [200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/market/services",
        [200, 200, 200, 200, 200, 200, 200],
    ),
    ("GET", "/market/mine", [401, 200, 200, 200, 200, 200, 200]),
    // 政策管理 (issue 14): policy authors and the approving role (admins) only.
    ("GET", "/policy-admin", [401, 403, 403, 403, 403, 200, 403]),
    (
        "GET",
        "/api/policy/versions",
        [401, 403, 403, 403, 403, 200, 403],
    ),
    ("GET", "/market/review", [401, 403, 403, 200, 403, 200, 403]),
    ("GET", "/market/fairs", [401, 403, 403, 200, 403, 200, 403]),
    (
        "GET",
        "/api/market/fairs",
        [401, 403, 403, 200, 403, 200, 403],
    ),
    (
        "GET",
        "/market/contracts",
        [401, 200, 200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/market/vouchers",
        [401, 200, 200, 200, 200, 200, 200],
    ),
    // Public: the library, the calculator, the 公示 list, the calendar.
    ("GET", "/", [200, 200, 200, 200, 200, 200, 200]),
    ("GET", "/library", [200, 200, 200, 200, 200, 200, 200]),
    (
        "GET",
        "/library/hitech_first",
        [200, 200, 200, 200, 200, 200, 200],
    ),
    ("GET", "/calculator", [200, 200, 200, 200, 200, 200, 200]),
    ("GET", "/calendar", [200, 200, 200, 200, 200, 200, 200]),
    (
        "GET",
        "/api/library/measures",
        [200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/openapi.json",
        [200, 200, 200, 200, 200, 200, 200],
    ),
    // One applicant's file: its own organisation, and the staff whose work needs it.
    (
        "GET",
        "/calculator?applicant=91210112MA0XK8R34Y",
        [200, 200, 403, 200, 200, 200, 403],
    ),
    (
        "GET",
        "/applicants/91210112MA0XK8R34Y",
        [401, 200, 403, 200, 200, 200, 403],
    ),
    (
        "GET",
        "/api/applicants/91210112MA0XK8R34Y",
        [401, 200, 403, 200, 200, 200, 403],
    ),
    (
        "GET",
        "/applications/{app}",
        [401, 200, 403, 200, 200, 200, 403],
    ),
    (
        "GET",
        "/api/applications/{app}",
        [401, 200, 403, 200, 200, 200, 403],
    ),
    (
        "GET",
        "/applications/{app}/decline",
        [401, 200, 403, 200, 200, 200, 403],
    ),
    // Its materials and their files: the same as the application (Access::ApplicantFile).
    (
        "GET",
        "/api/applications/{app}/materials",
        [401, 200, 403, 200, 200, 200, 403],
    ),
    ("GET", "/files/{file}", [401, 200, 403, 200, 200, 200, 403]),
    (
        "GET",
        "/api/files/{file}",
        [401, 200, 403, 200, 200, 200, 403],
    ),
    // Notifications: an applicant's own, staff all; the plan office none.
    ("GET", "/notifications", [401, 200, 200, 200, 200, 200, 403]),
    // Lists: an applicant gets its own; the plan office none.
    ("GET", "/applications", [401, 200, 200, 200, 200, 200, 403]),
    (
        "GET",
        "/api/applications",
        [401, 200, 200, 200, 200, 200, 403],
    ),
    // Every applicant, the review queue, budgets: bureau staff.
    ("GET", "/applicants", [401, 403, 403, 200, 200, 200, 403]),
    ("GET", "/review", [401, 403, 403, 200, 200, 200, 403]),
    ("GET", "/budget", [401, 403, 403, 200, 200, 200, 403]),
    ("GET", "/api/budgets", [401, 403, 403, 200, 200, 200, 403]),
    (
        "GET",
        "/api/budgets/levels",
        [401, 403, 403, 200, 200, 200, 403],
    ),
    ("GET", "/api/review", [401, 403, 403, 200, 200, 200, 403]),
    (
        "GET",
        "/api/objections",
        [401, 403, 403, 200, 200, 200, 403],
    ),
    (
        "GET",
        "/api/applicants",
        [401, 403, 403, 200, 200, 200, 403],
    ),
    (
        "GET",
        "/api/export/applications",
        [401, 403, 403, 200, 200, 200, 403],
    ),
    (
        "GET",
        "/api/export/ledger",
        [401, 403, 403, 200, 200, 200, 403],
    ),
    // The plans' dashboard and task lists: staff and the plan office, not the public.
    ("GET", "/plans", [401, 403, 403, 200, 200, 200, 200]),
    ("GET", "/plans/tasks", [401, 403, 403, 200, 200, 200, 200]),
    ("GET", "/api/plans", [401, 403, 403, 200, 200, 200, 200]),
    (
        "GET",
        "/api/plans/tasks",
        [401, 403, 403, 200, 200, 200, 200],
    ),
    // A jurisdiction's dashboard (辖区概览): staff who review or pay.
    ("GET", "/jurisdiction", [401, 403, 403, 200, 200, 200, 403]),
    // The audit log: admins.
    ("GET", "/audit", [401, 403, 403, 403, 403, 200, 403]),
    // 我的单位 and 单位用户管理: an organisation's own users (hn and gt administer theirs).
    ("GET", "/organisation", [401, 200, 200, 403, 403, 403, 403]),
    (
        "GET",
        "/api/organisations",
        [401, 200, 200, 403, 403, 403, 403],
    ),
    (
        "GET",
        "/api/organisation/users",
        [401, 200, 200, 403, 403, 403, 403],
    ),
    (
        "GET",
        "/api/organisation/audit",
        [401, 200, 200, 403, 403, 403, 403],
    ),
    // 工作人员账号: the admin role (or a staff administrator, none here).
    ("GET", "/staff", [401, 403, 403, 403, 403, 200, 403]),
    ("GET", "/api/staff", [401, 403, 403, 403, 403, 200, 403]),
    // A one-time link is its own credential: a made-up one is refused to everyone alike.
    (
        "GET",
        "/api/links/0000000000000000000000000000000000000000000000000000000000000000",
        [409, 409, 409, 409, 409, 409, 409],
    ),
    ("GET", "/api/audit", [401, 403, 403, 403, 403, 200, 403]),
    // 测算: finance, the plan office (leadership's staff) and admins; not applicants, not
    // reviewers.
    ("GET", "/simulate", [401, 403, 403, 403, 200, 200, 200]),
    (
        "GET",
        "/api/simulations",
        [401, 403, 403, 403, 200, 200, 200],
    ),
    (
        "GET",
        "/api/simulations/knobs",
        [401, 403, 403, 403, 200, 200, 200],
    ),
    (
        "GET",
        "/simulate/runs/{run}",
        [401, 403, 403, 403, 200, 200, 200],
    ),
    (
        "GET",
        "/api/simulations/{run}",
        [401, 403, 403, 403, 200, 200, 200],
    ),
    (
        "GET",
        "/api/simulations/{run}/result.xlsx",
        [401, 403, 403, 403, 200, 200, 200],
    ),
    (
        "GET",
        "/api/simulations/populations",
        [401, 403, 403, 403, 200, 200, 200],
    ),
];

/// Starts a 测算 run and waits until it is done; returns its id.
async fn finished_run(c: &Client, body: serde_json::Value) -> String {
    let (s, j) = c.post("/api/simulations", body).await;
    assert_eq!(s, 202, "{j}");
    let id = j["id"].as_str().unwrap().to_string();
    for _ in 0..600 {
        let (_, r) = c.get(&format!("/api/simulations/{id}")).await;
        match r["status"].as_str() {
            Some("done") => return id,
            Some("failed") => panic!("run failed: {r}"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    panic!("run {id} not done in 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue_9_every_role_reaches_only_what_its_work_needs() {
    let (base, store) = start(&sqlite_url("access").await).await;
    seed(&store).await;
    let hn = Client::login(&base, "hn").await;
    let (s, app) = hn
        .post(
            "/api/applications",
            json!({"applicant": HUNNAN, "measure": "hitech_first", "event": "hn-c1"}),
        )
        .await;
    assert_eq!(s, 200, "{app}");
    let app = app["id"].as_str().unwrap().to_string();
    let r = hn
        .http
        .post(format!(
            "{base}/api/applications/{app}/materials?kind=evidence&filename=a.pdf"
        ))
        .header("x-csrf-token", &hn.csrf)
        .body("%PDF-1.4\n%%EOF\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let file = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let anon = Client {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: base.clone(),
        csrf: String::new(),
    };
    let mut callers = vec![anon, hn];
    // A finished 测算 run of the seeded applicants, for the run's rows.
    let fin = Client::login(&base, "fin").await;
    let run = finished_run(&fin, json!({"from": "2023-01-01", "to": "2023-12-31"})).await;
    for who in &WHO[2..] {
        callers.push(Client::login(&base, who).await);
    }
    let mut wrong = vec![];
    for (method, path, expect) in MATRIX {
        let path = path
            .replace("{app}", &app)
            .replace("{file}", &file)
            .replace("{run}", &run);
        for (i, c) in callers.iter().enumerate() {
            assert_eq!(*method, "GET");
            let status = c
                .http
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            if status != expect[i] {
                wrong.push(format!(
                    "{method} {path} as {}: {status}, expected {}",
                    WHO[i], expect[i]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));

    // Writes by the wrong role are refused before anything changes.
    let plan = &callers[6];
    let (s, _) = plan
        .post(
            &format!("/api/applications/{app}/payments"),
            json!({"level": "city", "amount": "1"}),
        )
        .await;
    assert_eq!(s, 403);
    // Materials are handed in by the applicant itself: not another applicant, not staff.
    for c in [&callers[2], &callers[3], &callers[5]] {
        let r = c
            .http
            .post(format!(
                "{base}/api/applications/{app}/materials?kind=evidence&filename=b.pdf"
            ))
            .header("x-csrf-token", &c.csrf)
            .body("%PDF-1.4\n%%EOF\n")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    let (s, _) = callers[1]
        .post(
            "/api/plans/actuals",
            json!({"indicator": "x", "value": "1", "date": "2023-01-01", "source": "s"}),
        )
        .await;
    assert_eq!(s, 403);
    // 测算 writes. Uploading a population: the roles that may simulate.
    let upload = |c: &Client| {
        let r = c
            .http
            .post(format!(
                "{base}/api/simulations/populations?filename=twelve.jsonl"
            ))
            .header("x-csrf-token", &c.csrf)
            .header("content-type", "application/octet-stream")
            .body(include_str!("../../simulate/tests/data/twelve.jsonl"));
        async move {
            let r = r.send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };
    let mut statuses = vec![];
    let mut fin_population = String::new();
    for (i, c) in callers.iter().enumerate() {
        let (s, j) = upload(c).await;
        statuses.push(s);
        if WHO[i] == "fin" {
            fin_population = j["id"].as_str().unwrap_or("").to_string();
        }
    }
    assert_eq!(statuses, [401, 403, 403, 403, 201, 201, 201]);
    // Stopping a run and deleting a population: the person who started or uploaded it, or an
    // admin (the run is over: 409 to them, allowed with nothing to stop).
    let mut stops = vec![];
    for c in &callers {
        stops.push(
            c.post(&format!("/api/simulations/{run}/stop"), json!({}))
                .await
                .0,
        );
    }
    assert_eq!(stops, [401, 403, 403, 403, 409, 409, 403]);
    let mut deletes = vec![];
    for i in [0, 1, 2, 3, 6, 5] {
        deletes.push(
            callers[i]
                .post(
                    &format!("/api/simulations/populations/{fin_population}/delete"),
                    json!({}),
                )
                .await
                .0,
        );
    }
    assert_eq!(
        deletes,
        [401, 403, 403, 403, 403, 200],
        "anon, hn, gt, rev, plan, adm"
    );

    // The plan office's calendar shows documents but no application's notifications.
    let (_, html) = plan.page("/calendar").await;
    assert!(
        !html.contains(&app),
        "the plan office sees {app} on the calendar"
    );
    let (_, html) = callers[3].page("/calendar").await;
    assert!(html.contains(&app), "a reviewer sees {app} on the calendar");
}

//! The 政策日历 as a month calendar, and the 政策计算器 questionnaire with several events. The
//! calendar: documents taking effect and ending, measures' windows, 公示 periods ending, on their days.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_month_calendar_puts_validity_ends_on_their_days() {
    let (base, _store) = start(&sqlite_url("calendar").await).await;
    let anon = reqwest::Client::new();
    let get = |q: &'static str| {
        let anon = anon.clone();
        let base = base.clone();
        async move {
            let r = anon
                .get(format!("{base}/calendar{q}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    // 沈政发〔2021〕11号 runs 2021-07-14 .. 2024-07-13: its end is on 13 July 2024, a Saturday.
    let html = get("?month=2024-07").await;
    assert!(html.contains("2024年07月"), "the month is named");
    let grid = html.split(r#"<table class="month-grid">"#).nth(1).unwrap();
    let day13 = grid
        .split(r#"<span class="daynum">13</span>"#)
        .nth(1)
        .unwrap();
    let day13 = day13.split("</td>").next().unwrap();
    assert!(day13.contains("沈政发〔2021〕11号 有效期届满"), "{day13}");
    // Monday first: 1 July 2024 is a Monday, so the first row has no blank cell.
    let first_row = grid.split("</tr>").nth(1).unwrap();
    assert!(!first_row.contains("blank"), "{first_row}");
    assert!(
        html.contains(r#"href="/calendar?month=2024-06""#)
            && html.contains(r#"href="/calendar?month=2024-08""#)
    );
    // The agenda lists the same entries for phones and screen readers.
    let agenda = html.split("本月事项").nth(1).unwrap();
    assert!(agenda.contains("2024-07-13") && agenda.contains("有效期届满"));
    // Its start, three years earlier.
    let html = get("?month=2021-07").await;
    assert!(html.contains("沈政发〔2021〕11号 开始施行"));
    // Without a month, the month of the store's clock (2023-06-30 in the tests), today marked.
    let html = get("").await;
    assert!(html.contains("2023年06月"), "{html}");
    assert!(
        html.contains(r#"<td class="day today"><span class="daynum">30</span>"#),
        "{html}"
    );
    // A month with nothing points to the nearest months that have entries.
    let html = get("?month=2030-01").await;
    assert!(
        html.contains("本月没有日程") && html.contains("上一个有事项的月份"),
        "{html}"
    );
}

/// The 政策计算器's questionnaire takes several events at once: a first 高新技术企业 recognition
/// and an IP-pledge loan's costs, for a 浑南区 enterprise, both in 2023 (within 沈政发〔2021〕11号).
/// By hand: (五) 首次认定的高新技术企业 最高20万元 → 200,000.00 元 (a maximum); (二十三) 利息、评估费、
/// 担保费的50%: (80,000 + 5,000 + 3,000) × 50% = 44,000.00 元. Total 244,000.00 元 (24.4万元).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_questionnaire_takes_several_events_and_totals_them() {
    let (base, _store) = start(&sqlite_url("questionnaire").await).await;
    let q = [
        ("a.kind", "enterprise"),
        ("a.region", "hunnan"),
        ("event_kind", "certified"),
        ("e.date", "2023-05-01"),
        ("e.cert", "high_tech"),
        ("e.first", "true"),
        ("event_kind2", "ip_pledge_loan_costs_paid"),
        ("e2.date", "2023-06-01"),
        ("e2.interest", "80000"),
        ("e2.appraisal_fee", "5000"),
        ("e2.guarantee_fee", "3000"),
    ];
    let html = reqwest::Client::new()
        .get(format!("{base}/calculator"))
        .query(&q)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"data-measure="hitech_first""#), "{html}");
    assert!(html.contains(r#"data-measure="ip_pledge_loan""#));
    assert!(html.contains("44,000.00 元"));
    assert!(
        html.contains("可计算金额合计 <strong class=\"total\">244,000.00 元(24.4万元)</strong>"),
        "{html}"
    );
    // A visitor is sent to log in to apply. The pages read the store's clock, fixed by the
    // tests at 2023-06-30: 沈政发〔2021〕11号 is in force, the 2016–2018 and 2018–2020 plans have
    // ended, and the page says which.
    assert!(html.contains("登录后申报"));
    assert!(html.contains("评估日期 2023-06-30"), "{html}");
    assert!(html.contains("已到期的政策文件:") && !html.contains("均已到期"));
    // The second event's fields are in the form, filled, so the visitor can change one value.
    assert!(
        html.contains(r#"name="e2.interest" id="e2.interest" inputmode="decimal" value="80000""#)
    );
}

/// A logged-in applicant's calculator evaluates its stored record, and offers the questionnaire
/// prefilled from that record for what-ifs (another event, other figures).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_applicant_tries_a_what_if_from_its_own_record() {
    let (base, store) = start(&sqlite_url("whatif").await).await;
    seed(&store).await;
    let hn = Client::login(&base, "hn").await;
    let (s, html) = hn.page("/calculator").await;
    assert_eq!(s, 200);
    assert!(html.contains("按本单位登记的信息和已获支持计算"), "{html}");
    let href = html
        .split(r#"<a class="what-if" href=""#)
        .nth(1)
        .and_then(|x| x.split('"').next())
        .expect("a what-if link")
        .replace("&amp;", "&");
    assert!(
        href.contains("a.kind=enterprise") && href.contains("a.region=hunnan"),
        "{href}"
    );
    let (s, form) = hn.page(&href).await;
    assert_eq!(s, 200);
    // The questionnaire, prefilled: the record's kind and region selected.
    assert!(
        form.contains(r#"<option value="enterprise" selected>"#),
        "{form}"
    );
    assert!(form.contains(r#"<option value="hunnan" selected>"#));
    assert!(form.contains(r#"name="event_kind2""#), "up to three events");
}

/// A mistake in the questionnaire names the field as the form does (事项 2's date even with 事项 1
/// empty,
/// the yearly figures), never by its JSON path, and keeps what was typed in the form.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn questionnaire_mistakes_name_the_field_in_words() {
    let (base, _store) = start(&sqlite_url("questionnaire-errors").await).await;
    let get = |q: Vec<(&'static str, &'static str)>| {
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{base}/calculator"))
                .query(&q)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = get(vec![
        ("a.kind", "enterprise"),
        ("a.region", "hunnan"),
        ("event_kind2", "certified"),
        ("e2.date", "2023-02-30"),
    ])
    .await;
    assert!(
        html.contains("输入有误:</strong>事项 2 日期 — “2023-02-30”不是有效日期"),
        "{html}"
    );
    assert!(!html.contains("$.events"), "no JSON path");
    assert!(
        html.contains(r#"name="e2.date" id="e2.date" value="2023-02-30""#),
        "kept"
    );
    let html = get(vec![
        ("a.kind", "enterprise"),
        ("a.region", "hunnan"),
        ("fy", "abc"),
        ("f.rd_investment", "100"),
    ])
    .await;
    assert!(
        html.contains("输入有误:</strong>年度数据 — “abc”不是年份"),
        "{html}"
    );
}

/// The shipped library plus the test fixture call `tests/lifecycle/window/window.md`: the (十八)
/// registration reward takes applications 2024-03-01 .. 2024-04-30, for events of 2023.
fn library_with_window() -> std::sync::Arc<kc_check::Library> {
    let mut files = kc_library::shipped();
    let rel = "tests/lifecycle/window/window.md";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    files.push(kc_check::SourceFile {
        path: rel.into(),
        text: std::fs::read_to_string(path).unwrap(),
    });
    let checked = kc_check::check_library(&files);
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    std::sync::Arc::new(checked.library.unwrap())
}

/// 申报期 on the pages: the calendar shows the window's first and last day and lists it as open
/// or upcoming; the calculator says for an award whether it can be claimed now and until when,
/// or why not. By hand: (十八) 0.2‰ × 300,000,000.00 = 60,000.00 元 (fixed).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn windows_show_in_the_calendar_and_the_calculator_says_until_when() {
    let q = [
        ("a.kind", "contract_registration_institution"),
        ("a.region", "heping"),
        ("event_kind", "contract_registration_volume"),
        ("e.date", "2023-05-01"),
        ("e.registration_year", "2023"),
        ("e.registered_volume", "300000000"),
    ];
    let fetch = |base: String, path: &'static str, q: &'static [(&'static str, &'static str)]| async move {
        reqwest::Client::new()
            .get(format!("{base}{path}"))
            .query(q)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let q: &'static [(&str, &str)] = Box::leak(Box::new(q));
    // Inside the window.
    let (base, store) = start_with_library(
        &sqlite_url("window_open").await,
        library_with_window(),
        || "2024-03-15T04:00:00Z".parse().unwrap(),
    )
    .await;
    let html = fetch(base.clone(), "/calculator", q).await;
    assert!(html.contains("60,000.00 元"), "{html}");
    assert!(html.contains("可申报,截至 2024-04-30"), "{html}");
    // A logged-in applicant's 近期截止 lists the window's last day.
    seed(&store).await;
    let hn = Client::login(&base, "hn").await;
    let (_, home) = hn.page("/").await;
    let deadlines = home.split("近期截止").nth(1).unwrap();
    assert!(
        deadlines.contains("2024年度技术合同登记机构奖励申报 申报截止 (申报开始 2024-03-01)"),
        "{deadlines}"
    );
    let cal = fetch(base.clone(), "/calendar", &[("month", "2024-03")]).await;
    assert!(
        cal.contains("申报开始 2024年度技术合同登记机构奖励申报"),
        "{cal}"
    );
    let windows = cal.split(r#"id="windows""#).nth(1).unwrap();
    assert!(windows.contains("2024-03-01 – 2024-04-30") && windows.contains("受理中"));
    // The measure's page names the window.
    let page = fetch(
        base.clone(),
        "/library/contract_registration_institution",
        &[],
    )
    .await;
    assert!(
        page.contains("2024年度技术合同登记机构奖励申报 2024-03-01 – 2024-04-30"),
        "{page}"
    );
    let m: serde_json::Value = serde_json::from_str(
        &fetch(
            base.clone(),
            "/api/library/measures/contract_registration_institution",
            &[],
        )
        .await,
    )
    .unwrap();
    assert_eq!(m["windows"][0]["applications"][0], "2024-03-01", "{m}");
    let api: serde_json::Value =
        serde_json::from_str(&fetch(base, "/api/calendar", &[]).await).unwrap();
    assert_eq!(api["windows"][0]["status"], "open");
    assert_eq!(api["windows"][0]["events"][1], "2023-12-31");
    // A day after it closed: the award stands, but it can no longer be claimed, and why.
    let (base, _s) = start_with_library(
        &sqlite_url("window_closed").await,
        library_with_window(),
        || "2024-05-01T04:00:00Z".parse().unwrap(),
    )
    .await;
    let html = fetch(base.clone(), "/calculator", q).await;
    assert!(html.contains("60,000.00 元"), "{html}");
    assert!(
        html.contains(
            "申报期已结束:“2024年度技术合同登记机构奖励申报”的申报期为 2024-03-01 至 2024-04-30"
        ),
        "{html}"
    );
    // Without an event yet, the measure within reach says that its window has closed.
    let reach = fetch(
        base.clone(),
        "/calculator",
        &[
            ("a.kind", "contract_registration_institution"),
            ("a.region", "heping"),
        ],
    )
    .await;
    let row = reach
        .split(r#"href="/library/contract_registration_institution""#)
        .nth(1)
        .unwrap();
    let row = row.split("</tr>").next().unwrap();
    assert!(row.contains("申报期已结束"), "{row}");
    // Before it opens, the calendar lists it as upcoming.
    let (base, _s) = start_with_library(
        &sqlite_url("window_upcoming").await,
        library_with_window(),
        || "2024-02-01T04:00:00Z".parse().unwrap(),
    )
    .await;
    let cal = fetch(base, "/calendar", &[]).await;
    let windows = cal.split(r#"id="windows""#).nth(1).unwrap();
    assert!(windows.contains("即将开始"), "{windows}");
}

//! The 政策日历 as a month calendar: documents taking effect and ending, measures' own windows,
//! 公示 periods ending, on their days, with the months before and after one click away.

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
    // A month with nothing points to the nearest months that have entries.
    let html = get("?month=2030-01").await;
    assert!(
        html.contains("本月没有日程") && html.contains("上一个有事项的月份"),
        "{html}"
    );
}

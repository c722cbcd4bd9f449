//! The public 公示 page over HTTP: an anonymous visitor reads the list and lodges an objection
//! through the form; the reviewer sees it on the review page (issue 10, item 8).

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_anonymous_visitor_objects_and_the_reviewer_sees_it() {
    let (base, store) = start(&sqlite_url("notices").await).await;
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
    let act = format!("/api/applications/{app}/actions");
    hn.ready(&app).await;
    assert_eq!(hn.post(&act, json!({"action": "submit"})).await.0, 200);
    let rev = Client::login(&base, "rev").await;
    for step in [
        json!({"action": "start_review"}),
        // 1:1 city and district: recommended first, then approved (issue 11).
        json!({"action": "recommend", "amount": "200000"}),
        json!({"action": "start_review"}),
        json!({"action": "approve", "amount": "200000"}),
        json!({"action": "publish_notice", "notice_days": 7}),
    ] {
        let (s, b) = rev.post(&act, step.clone()).await;
        assert_eq!(s, 200, "{step}: {b}");
    }
    let anon = reqwest::Client::new();
    let page = anon
        .get(format!("{base}/notices"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("浑南示例") && page.contains("200,000.00") && page.contains(&app),
        "the 公示 list names the applicant, the amount and the application"
    );
    let r = anon
        .post(format!("{base}/notices/{app}/objection"))
        .form(&[
            ("name", "李四"),
            ("contact", "lisi@example.cn"),
            ("reason", "研发费用存疑"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let done = r.text().await.unwrap();
    assert!(done.contains("异议已登记"), "{done}");
    // A missing reason is refused with the field named, and nothing is recorded.
    let r = anon
        .post(format!("{base}/notices/{app}/objection"))
        .form(&[("name", "李四"), ("contact", "x"), ("reason", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // The list comes back with the reason beside this form, what was typed kept.
    let html = r.text().await.unwrap();
    assert!(html.contains("异议理由"));
    assert!(
        html.contains(r#"class="error form-error" role="alert""#),
        "{html}"
    );
    assert!(html.contains(r#"value="李四""#), "the name is kept: {html}");
    assert!(html.contains("<nav"), "with the site navigation");
    let (_, review) = rev.page("/review").await;
    assert!(
        review.contains("李四")
            && review.contains("lisi@example.cn")
            && review.contains("研发费用存疑"),
        "the reviewer sees the objection"
    );
    let (s, list) = rev.get("/api/objections").await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
}

//! Issue 10, items 6 and 7, on both databases: the applicant's 工作台 says what to do next
//! (offers to confirm, material requested, applications in progress, payments received, the
//! latest notifications with readable times), the header counts unread notifications until the
//! inbox is opened, a 最高 measure's approval form proposes no amount, and declining an offer
//! asks first. Amounts are worked out by hand from the clauses (沈阳 (五)).

mod common;

use common::*;
use kc_domain::{Action, Role};
use kc_store::{ActArgs, Actor};
use serde_json::json;

/// Posts a page form (with the session's CSRF token); returns the status.
async fn form(c: &Client, path: &str, fields: &[(&str, &str)]) -> u16 {
    let mut f: Vec<(&str, &str)> = vec![("csrf", c.csrf.as_str())];
    f.extend_from_slice(fields);
    c.http
        .post(format!("{}{path}", c.base))
        .form(&f)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_workbench_says_what_to_do_next_and_counts_unread_notifications() {
    for (label, url) in backends("workbench").await {
        let (base, store) = start(&url).await;
        seed(&store).await;
        let sys = Actor::system();
        let me = Actor::applicant("hn", HUNNAN);
        let rev = Actor::new("rev", Role::Reviewer);
        let fin = Actor::new("fin", Role::Finance);
        // Two first certifications imported: (五) 首次备案的科技型中小企业给予2万元 and
        // 首次认定的省级瞪羚企业给予50万元 are fixed sums, so each is offered (免申即享).
        let (_, sme) = store
            .add_event_with_offers(&sys, HUNNAN, &json!({"id": "hn-c2", "kind": "certified", "date": "2023-03-01", "cert": "tech_sme", "first": true}))
            .await
            .unwrap();
        let (_, gazelle) = store
            .add_event_with_offers(&sys, HUNNAN, &json!({"id": "hn-g1", "kind": "certified", "date": "2023-03-01", "cert": "gazelle_provincial", "first": true}))
            .await
            .unwrap();
        let (sme, gazelle) = (sme[0].clone(), gazelle[0].clone());
        store
            .set_bank_account(
                &me,
                &gazelle,
                &kc_store::BankAccount {
                    account_name: "浑南示例".into(),
                    bank: "中国银行沈阳浑南支行".into(),
                    account_no: "6217000012345678".into(),
                },
            )
            .await
            .unwrap();
        store.accept_pledge(&me, &gazelle).await.unwrap();
        // The 50万元 offer confirmed (公示 0 days in the test range), the city's half paid:
        // 500,000.00 × 1/2 = 250,000.00 元 received, the district's half still to come.
        store
            .act(
                &me,
                &gazelle,
                Action::ConfirmOffer,
                ActArgs {
                    notice_days: Some(0),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        store
            .pay(
                &fin,
                &gazelle,
                "city",
                kc_money::Money::parse_amount("250000").unwrap(),
            )
            .await
            .unwrap();
        // (五) 首次认定的高新技术企业给予最高20万元, applied for and under review.
        let hitech = store
            .apply(&me, HUNNAN, "hitech_first", "hn-c1")
            .await
            .unwrap();
        store
            .set_bank_account(
                &me,
                &hitech,
                &kc_store::BankAccount {
                    account_name: "浑南示例".into(),
                    bank: "中国银行沈阳浑南支行".into(),
                    account_no: "6217000012345678".into(),
                },
            )
            .await
            .unwrap();
        store.accept_pledge(&me, &hitech).await.unwrap();
        store
            .act(&me, &hitech, Action::Submit, ActArgs::default())
            .await
            .unwrap();
        store
            .act(&rev, &hitech, Action::StartReview, ActArgs::default())
            .await
            .unwrap();

        // The reviewer's approval form proposes nothing for a maximum, and shows the cap.
        let rc = Client::login(&base, "rev").await;
        let (_, html) = rc.page(&format!("/applications/{hitech}")).await;
        assert!(
            html.contains(r#"<input name="amount" value="" required>"#),
            "{label}: {html}"
        );
        assert!(
            html.contains(r#"<span class="cap">200,000.00 元</span>"#),
            "{label}: the cap beside the field: {html}"
        );
        // The 公示 field offers the configured range (0–30 in the tests).
        store
            .act(
                &rev,
                &hitech,
                Action::RequestMaterial,
                ActArgs {
                    missing: vec!["审计报告".into(), "高新技术企业证书复印件".into()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();

        let hn = Client::login(&base, "hn").await;
        let (s, home) = hn.page("/").await;
        assert_eq!(s, 200, "{label}");
        // Offers to confirm: only the 2万元 one (the 50万元 one is confirmed).
        assert!(home.contains("待确认的免申即享 (1)"), "{label}: {home}");
        assert!(home.contains(&format!(r#"href="/applications/{sme}""#)));
        assert!(home.contains("首次备案的科技型中小企业后补助"));
        assert!(home.contains("20,000.00 元"), "{label}: the offer's amount");
        // Material requested, every item listed.
        assert!(home.contains("待补正材料 (1)"), "{label}");
        assert!(
            home.contains("<li>审计报告</li>") && home.contains("<li>高新技术企业证书复印件</li>")
        );
        // In progress: the confirmed offer in 公示 (its notice ended today, 2023-06-30).
        assert!(home.contains("办理中的申请 (1)"), "{label}");
        assert!(home.contains("公示中") && home.contains("公示期满 2023-06-30"));
        // The deadlines card lists the notice period's end, linked to the application; no
        // document ends within 180 days of the tests' clock (2023-06-30).
        let deadlines = home.split(r#"class="card deadlines""#).nth(1).unwrap();
        let deadlines = deadlines.split("</div>").next().unwrap();
        assert!(
            deadlines.contains("近期截止 (1)") && deadlines.contains("<strong>2023-06-30</strong>"),
            "{label}: {deadlines}"
        );
        // Received: 250,000.00 元 for the gazelle award.
        assert!(home.contains("已到账"));
        assert!(
            home.contains(&format!("{gazelle} 首次认定的省级瞪羚企业、独角兽企业后补助</a> · <strong class=\"amount\">250,000.00 元")),
            "{label}: {home}"
        );
        // Latest notifications, five, with readable times (the test clock: 2023-06-30 12:00 CST).
        assert!(home.contains("最新通知"));
        let latest = &home[home.find("最新通知").unwrap()..];
        assert_eq!(
            latest
                .matches(r#"<td class="when">2023-06-30 12:00</td>"#)
                .count(),
            5,
            "{label}: {latest}"
        );
        assert!(!latest.contains("T12:00"), "no raw timestamps");

        // Unread: the changes others made to HUNNAN's applications — two offers created
        // (system), a payment (finance), start_review and request_material (reviewer) = 5; the
        // applicant's own steps (confirm, create, submit) do not count.
        assert!(
            home.contains(r#"<a class="inbox" href="/notifications">通知 (5)</a>"#),
            "{label}: {home}"
        );
        // The API says the same number (and reading it marks nothing seen).
        assert_eq!(
            hn.get("/api/notifications/unread").await,
            (200, serde_json::json!({"unread": 5}))
        );
        let (s, inbox) = hn.page("/notifications").await;
        assert_eq!(s, 200);
        assert!(
            inbox.contains("新通知 <strong class=\"unread\">5</strong>"),
            "{label}: {inbox}"
        );
        assert!(
            inbox.contains("通知 (0)"),
            "{label}: the inbox marks them seen"
        );
        let (_, home) = hn.page("/").await;
        assert!(home.contains("通知 (0)"), "{label}");
        // A new change by finance: one unread again.
        store
            .pay(
                &fin,
                &gazelle,
                "district",
                kc_money::Money::parse_amount("250000").unwrap(),
            )
            .await
            .unwrap();
        let (_, home) = hn.page("/").await;
        assert!(home.contains("通知 (1)"), "{label}");
        assert_eq!(
            hn.get("/api/notifications/unread").await.1,
            serde_json::json!({"unread": 1})
        );
        // Paid in full: 500,000.00 元 received, the application no longer in progress.
        assert!(
            home.contains("500,000.00 元") && home.contains("办理中的申请 (0)"),
            "{label}"
        );
        // Another applicant's count is its own: nothing happened to GAOTANG's applications.
        let gt = Client::login(&base, "gt").await;
        let (_, gh) = gt.page("/").await;
        assert!(gh.contains("通知 (0)"), "{label}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn declining_an_offer_asks_first_and_reads_declined() {
    for (label, url) in backends("decline").await {
        let (base, store) = start(&url).await;
        seed(&store).await;
        let (_, offers) = store
            .add_event_with_offers(&Actor::system(), HUNNAN, &json!({"id": "hn-c2", "kind": "certified", "date": "2023-03-01", "cert": "tech_sme", "first": true}))
            .await
            .unwrap();
        let id = offers[0].clone();
        let hn = Client::login(&base, "hn").await;
        // The application page: confirm is the main button; decline is a secondary link.
        let (_, html) = hn.page(&format!("/applications/{id}")).await;
        assert!(html.contains(r#"value="confirm_offer""#), "{label}");
        // What 意愿确认 needs first: the bank account and the 承诺书, with their forms.
        assert!(html.contains("意愿确认前请完成"), "{label}");
        assert!(
            html.contains(r#"action="/applications/"#) && html.contains("/pledge\""),
            "{label}"
        );
        assert!(
            !html.contains(r#"value="decline_offer""#),
            "{label}: no one-click decline"
        );
        assert!(html.contains(&format!(
            r#"<a class="decline" href="/applications/{id}/decline">"#
        )));
        // The confirmation page says what is given up and that it cannot be undone.
        let (s, page) = hn.page(&format!("/applications/{id}/decline")).await;
        assert_eq!(s, 200);
        assert!(page.contains("首次备案的科技型中小企业后补助") && page.contains("20,000.00 元"));
        assert!(page.contains("放弃后不能恢复"), "{label}: {page}");
        assert!(page.contains(r#"<button class="secondary" type="submit" name="do" value="decline_offer">确认放弃</button>"#));
        // The old one-click path is refused, and nothing changed.
        assert_eq!(
            form(
                &hn,
                &format!("/applications/{id}/act"),
                &[("action", "decline_offer")]
            )
            .await,
            400
        );
        // Without the CSRF token, refused.
        let r = hn
            .http
            .post(format!("{base}/applications/{id}/decline"))
            .form(&[("csrf", "wrong")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{label}");
        assert_eq!(
            store
                .application(&Actor::system(), &id)
                .await
                .unwrap()
                .state,
            kc_domain::AppState::Offered
        );
        // Another organisation may not decline it.
        let gt = Client::login(&base, "gt").await;
        assert_eq!(
            form(&gt, &format!("/applications/{id}/decline"), &[]).await,
            403
        );
        // Confirmed: declined, and the page says so (not 已撤回).
        assert_eq!(
            form(&hn, &format!("/applications/{id}/decline"), &[]).await,
            303
        );
        let (_, html) = hn.page(&format!("/applications/{id}")).await;
        assert!(
            html.contains("<span class=\"badge\">已放弃</span>"),
            "{label}: {html}"
        );
        assert!(!html.contains("已撤回"), "{label}");
        let (_, page) = hn.page(&format!("/applications/{id}/decline")).await;
        assert!(page.contains("此申请当前不能放弃"));
    }
}

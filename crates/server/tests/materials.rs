//! Application materials over HTTP (issue 10, item 5): the applicant uploads through the
//! application page and the API, answers a 补正 request item by item with a file, and the
//! reviewer sees the file and downloads it; limits and wrong types are refused with the form
//! re-shown and its input kept; another applicant gets 403; a backup and a restore keep the
//! bytes.

mod common;

use common::*;
use serde_json::{Value as J, json};

fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {text}\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n").into_bytes()
}

/// Posts an upload form of the application page: (status, location or page text).
async fn upload_form(
    c: &Client,
    app: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> (u16, String) {
    let mut all = vec![("csrf", c.csrf.as_str())];
    all.extend_from_slice(fields);
    let (ct, body) = multipart(&all, file);
    let r = c
        .http
        .post(format!("{}/applications/{app}/materials", c.base))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    status_and_location(r).await
}

async fn upload_api(c: &Client, app: &str, query: &str, bytes: Vec<u8>) -> (u16, J) {
    let r = c
        .http
        .post(format!(
            "{}/api/applications/{app}/materials?{query}",
            c.base
        ))
        .header("x-csrf-token", &c.csrf)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(J::Null))
}

async fn download(c: &Client, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = c
        .http
        .get(format!("{}{path}", c.base))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let h = r.headers().clone();
    (s, h, r.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_applicant_hands_in_and_answers_and_the_reviewer_sees_the_files() {
    for (label, url) in backends("materials").await {
        let (base, store) = start(&url).await;
        seed(&store).await;
        let hn = Client::login(&base, "hn").await;
        let gt = Client::login(&base, "gt").await;
        let rev = Client::login(&base, "rev").await;
        let (s, app) = hn
            .post(
                "/api/applications",
                json!({"applicant": HUNNAN, "measure": "hitech_first", "event": "hn-c1"}),
            )
            .await;
        assert_eq!(s, 200, "{label}: {app}");
        let app = app["id"].as_str().unwrap().to_string();

        // The draft's page offers the upload, the account and the 承诺书 with a checklist.
        let (_, page) = hn.page(&format!("/applications/{app}")).await;
        for want in [
            "申报材料",
            "提交前请完成",
            "上传申报书",
            "收款账户",
            "承诺书",
            "enctype=\"multipart/form-data\"",
        ] {
            assert!(page.contains(want), "{label}: the draft page lacks {want}");
        }
        // A 申报书 through the page form.
        let (s, loc) = upload_form(
            &hn,
            &app,
            &[("kind", "application_form")],
            Some(("申报书.pdf", &pdf("申报书"))),
        )
        .await;
        assert_eq!(
            (s, loc.as_str()),
            (303, format!("/applications/{app}#materials").as_str()),
            "{label}"
        );
        // A program renamed .pdf: the page again (400), the message next to the form, the
        // chosen kind kept.
        let (s, page) = upload_form(
            &hn,
            &app,
            &[("kind", "evidence")],
            Some(("说明.pdf", b"MZ\x90\x00\x03 not a pdf")),
        )
        .await;
        assert_eq!(s, 409, "{label}: a refused step, the page again");
        assert!(
            page.contains("只接受 PDF、JPEG、PNG、OFD、DOCX、XLSX"),
            "{label}: {page:.300}"
        );
        assert!(
            page.contains("<option value=\"evidence\" selected>"),
            "{label}: the kind is kept"
        );
        assert!(
            page.contains("<header"),
            "{label}: the page has its navigation"
        );
        // Too large: 10 MiB + 1 byte is refused with a message, and so is a file of 11 MiB,
        // read to its end so that the browser gets the answer.
        let big = {
            let mut b = pdf("big");
            b.resize(10 * 1024 * 1024 + 1, b' ');
            b
        };
        let (s, j) = upload_api(&hn, &app, "kind=evidence&filename=big.pdf", big.clone()).await;
        assert_eq!(
            (s, j["code"].as_str()),
            (409, Some("file_too_large")),
            "{label}: {j}"
        );
        let mut huge = big.clone();
        huge.resize(11 * 1024 * 1024, b' ');
        let (s, j) = upload_api(&hn, &app, "kind=evidence&filename=huge.pdf", huge.clone()).await;
        assert_eq!(
            (s, j["code"].as_str()),
            (409, Some("file_too_large")),
            "{label}: {j}"
        );
        let (s, page) = upload_form(
            &hn,
            &app,
            &[("kind", "evidence")],
            Some(("huge.pdf", &huge)),
        )
        .await;
        assert_eq!(s, 400, "{label}");
        assert!(
            page.contains("文件“huge.pdf”大小 11 MiB 超过单个文件上限 10 MiB"),
            "{label}: {page:.300}"
        );
        // Wrong type over the API: a PNG named .pdf.
        let png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0];
        let (s, j) = upload_api(&hn, &app, "kind=evidence&filename=x.pdf", png).await;
        assert_eq!(
            (s, j["code"].as_str()),
            (409, Some("file_type")),
            "{label}: {j}"
        );
        // Another applicant may neither upload nor read.
        let (s, _) = upload_api(&gt, &app, "kind=evidence&filename=y.pdf", pdf("y")).await;
        assert_eq!(s, 403, "{label}");
        let (s, j) = hn.get(&format!("/api/applications/{app}/materials")).await;
        assert_eq!(s, 200);
        let file = j["files"][0]["id"].as_str().unwrap().to_string();
        let (s, _, _) = download(&gt, &format!("/files/{file}")).await;
        assert_eq!(s, 403, "{label}");
        let (s, _, _) = download(&gt, &format!("/api/files/{file}")).await;
        assert_eq!(s, 403, "{label}");

        // Submitting before the 承诺书 and the account: the page again, saying what is missing.
        let (s, page) = form(
            &hn,
            &format!("/applications/{app}/act"),
            &[("action", "submit")],
        )
        .await;
        assert_eq!(s, 409, "{label}: a refused step, the page again");
        assert!(
            page.contains("提交前请先确认承诺书"),
            "{label}: {page:.300}"
        );
        assert!(
            page.contains("form class=\"card account\""),
            "{label}: with the forms to do it"
        );
        // The account form: a mistake re-shows the form with what was typed.
        let (s, page) = form(
            &hn,
            &format!("/applications/{app}/account"),
            &[
                ("account_name", "浑南示例"),
                ("bank", "中国银行沈阳浑南支行"),
                ("account_no", "12-34"),
            ],
        )
        .await;
        assert_eq!(s, 400, "{label}");
        assert!(
            page.contains("账号:“12-34”不是有效账号"),
            "{label}: {page:.300}"
        );
        assert!(
            page.contains("value=\"中国银行沈阳浑南支行\""),
            "{label}: the bank is kept"
        );
        let (s, _) = form(
            &hn,
            &format!("/applications/{app}/account"),
            &[
                ("account_name", "浑南示例"),
                ("bank", "中国银行沈阳浑南支行"),
                ("account_no", "6217 0000 1234 5678"),
            ],
        )
        .await;
        assert_eq!(s, 303, "{label}");
        // The 承诺书 needs the box ticked.
        let (s, page) = form(&hn, &format!("/applications/{app}/pledge"), &[]).await;
        assert_eq!(s, 400, "{label}");
        assert!(page.contains("请勾选"), "{label}");
        let (s, _) = form(
            &hn,
            &format!("/applications/{app}/pledge"),
            &[("accept", "yes")],
        )
        .await;
        assert_eq!(s, 303, "{label}");

        // Submitted, in review, material requested.
        let (s, _) = form(
            &hn,
            &format!("/applications/{app}/act"),
            &[("action", "submit")],
        )
        .await;
        assert_eq!(s, 303, "{label}");
        let (s, _) = form(
            &rev,
            &format!("/applications/{app}/act"),
            &[("action", "start_review")],
        )
        .await;
        assert_eq!(s, 303, "{label}");
        let (s, _) = form(
            &rev,
            &format!("/applications/{app}/act"),
            &[
                ("action", "request_material"),
                ("missing", "2022年度审计报告\n研发人员名单"),
            ],
        )
        .await;
        assert_eq!(s, 303, "{label}");
        let (_, j) = hn.get(&format!("/api/applications/{app}/materials")).await;
        let item1 = j["requests"][0]["id"].as_str().unwrap().to_string();
        let item2 = j["requests"][1]["id"].as_str().unwrap().to_string();
        // The first item with a file, the second in words; an empty answer is refused with the
        // form re-shown.
        let (s, page) = upload_form(
            &hn,
            &app,
            &[("kind", "supplement"), ("request", &item2), ("answer", " ")],
            None,
        )
        .await;
        assert_eq!(s, 400, "{label}");
        assert!(page.contains("请填写说明或选择文件"), "{label}");
        let (s, _) = upload_form(
            &hn,
            &app,
            &[("kind", "supplement"), ("request", &item1)],
            Some(("审计报告.pdf", &pdf("审计报告"))),
        )
        .await;
        assert_eq!(s, 303, "{label}");
        let (s, _) = upload_form(
            &hn,
            &app,
            &[
                ("kind", "supplement"),
                ("request", &item2),
                ("answer", "名单附于申报书第 12 页"),
            ],
            None,
        )
        .await;
        assert_eq!(s, 303, "{label}");
        let (s, _) = form(
            &hn,
            &format!("/applications/{app}/act"),
            &[("action", "submit")],
        )
        .await;
        assert_eq!(s, 303, "{label}");

        // The reviewer sees the list after the resubmission, with each answer and the file.
        let (_, page) = rev.page(&format!("/applications/{app}")).await;
        for want in [
            "2022年度审计报告",
            "研发人员名单",
            "名单附于申报书第 12 页",
            "审计报告.pdf",
            "申报书.pdf",
            "6217000012345678",
            "确认账号:hn",
        ] {
            assert!(
                page.contains(want),
                "{label}: the reviewer's page lacks {want}"
            );
        }
        let (_, j) = rev.get(&format!("/api/applications/{app}/materials")).await;
        let answer_file = j["requests"][0]["files"][0].as_str().unwrap().to_string();
        let (s, h, bytes) = download(&rev, &format!("/files/{answer_file}")).await;
        assert_eq!(s, 200, "{label}");
        assert_eq!(bytes, pdf("审计报告"), "{label}");
        assert_eq!(h["content-type"], "application/pdf");
        let cd = h["content-disposition"].to_str().unwrap();
        assert!(cd.starts_with("attachment;"), "{cd}");
        assert!(
            cd.contains("filename*=UTF-8''%E5%AE%A1%E8%AE%A1%E6%8A%A5%E5%91%8A.pdf"),
            "{cd}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        let listed = j["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == answer_file.as_str())
            .unwrap();
        assert_eq!(listed["filename"], "审计报告.pdf");
        assert_eq!(
            h["x-content-sha256"].to_str().unwrap(),
            listed["sha256"].as_str().unwrap()
        );
        // Every step is in the audit log.
        let adm = Client::login(&base, "adm").await;
        let (_, audit) = adm.get("/api/audit").await;
        let text = audit.to_string();
        for what in [
            "upload_material",
            "answer_material",
            "set_bank_account",
            "accept_pledge",
            "download_material",
        ] {
            assert!(text.contains(what), "{label}: {what} is not audited");
        }

        // A backup and a restore keep the bytes: the restored platform serves the same file.
        let lines = store.backup_lines().await.unwrap();
        let url2 = match label {
            "sqlite" => sqlite_url("materials_restored").await,
            _ => pg_url("materials_restored").await.unwrap(),
        };
        let restored = kc_store::Store::open(&url2, library()).await.unwrap();
        restored.restore_lines(&lines, &|_, _| {}).await.unwrap();
        drop(restored);
        let (base2, _) = start(&url2).await;
        let rev2 = Client::login(&base2, "rev").await;
        let (s, h2, bytes2) = download(&rev2, &format!("/api/files/{answer_file}")).await;
        assert_eq!(s, 200, "{label}");
        assert_eq!(bytes2, bytes, "{label}");
        assert_eq!(h2["x-content-sha256"], h["x-content-sha256"]);
    }
}

//! Application materials (issue 10, item 5), on both databases: files checked by their bytes
//! and bounded, stored with their SHA-256; the 补正 list answered item by item and still there
//! after the resubmission; the bank account validated; the 承诺书 stored with who and when;
//! who may hand in and who may read; kept byte for byte through a backup and a restore.

mod common;

use common::*;
use kc_domain::{Action, Role};
use kc_store::materials::{FileType, PLEDGE_TEXT, check_file, sha256_hex};
use kc_store::{ActArgs, Actor, BankAccount, MaterialKind, StoreError, UploadLimits};
use serde_json::json;

fn code(e: &StoreError) -> String {
    match e {
        StoreError::Refused { code, .. } => code.to_string(),
        StoreError::Invalid(m) => format!("invalid: {m}"),
        other => format!("{other:?}"),
    }
}

/// A small but real-looking PDF.
pub fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {text}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n").into_bytes()
}

fn me() -> Actor {
    Actor::applicant("u-hn", HUNNAN)
}

#[test]
fn file_types_are_recognised_by_their_bytes_not_their_names() {
    let l = UploadLimits::default();
    assert_eq!(
        check_file("申报书.pdf", &pdf("x"), l).unwrap().1,
        FileType::Pdf
    );
    let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0];
    assert_eq!(
        check_file("c:\\扫描\\营业执照.PNG", &png, l).unwrap(),
        ("营业执照.PNG".to_string(), FileType::Png)
    );
    assert_eq!(
        check_file("a.jpeg", &[0xFF, 0xD8, 0xFF, 0xE0], l)
            .unwrap()
            .1,
        FileType::Jpeg
    );
    let docx = b"PK\x03\x04....[Content_Types].xml....word/document.xml".to_vec();
    assert_eq!(check_file("报告.docx", &docx, l).unwrap().1, FileType::Docx);
    let xlsx = b"PK\x03\x04....[Content_Types].xml....xl/workbook.xml".to_vec();
    assert_eq!(check_file("明细.xlsx", &xlsx, l).unwrap().1, FileType::Xlsx);
    let ofd = b"PK\x03\x04....OFD.xml....".to_vec();
    assert_eq!(check_file("发票.ofd", &ofd, l).unwrap().1, FileType::Ofd);
    // A program renamed to .pdf, a PDF renamed to .docx, an empty file, a file too large.
    let e = check_file("说明.pdf", b"MZ\x90\x00 this is an exe", l).unwrap_err();
    assert_eq!(code(&e), "file_type");
    assert!(
        e.to_string()
            .contains("只接受 PDF、JPEG、PNG、OFD、DOCX、XLSX"),
        "{e}"
    );
    let e = check_file("说明.docx", &pdf("x"), l).unwrap_err();
    assert!(e.to_string().contains("内容是 PDF"), "{e}");
    let e = check_file("空.pdf", b"", l).unwrap_err();
    assert!(e.to_string().contains("空文件"), "{e}");
    let small = UploadLimits {
        per_file: 10,
        per_application: 100,
    };
    let e = check_file("大.pdf", &pdf("x"), small).unwrap_err();
    assert_eq!(code(&e), "file_too_large");
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn a_bank_account_is_the_applicants_own_and_a_number_is_digits() {
    let ok = BankAccount {
        account_name: "沈阳浑南示例(科技)有限公司".into(),
        bank: "中国银行沈阳浑南支行".into(),
        account_no: "2101 2345-6789 0123".into(),
    };
    let v = ok.validate("沈阳浑南示例(科技)有限公司").unwrap();
    assert_eq!(v.account_no, "2101234567890123");
    let e = ok.validate("另一家公司").unwrap_err();
    assert!(e.to_string().starts_with("开户名"), "{e}");
    let e = BankAccount {
        account_no: "12ab".into(),
        ..ok.clone()
    }
    .validate(&ok.account_name)
    .unwrap_err();
    assert!(e.to_string().starts_with("账号"), "{e}");
    let e = BankAccount {
        bank: " ".into(),
        ..ok.clone()
    }
    .validate(&ok.account_name)
    .unwrap_err();
    assert!(e.to_string().starts_with("开户银行"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn materials_are_handed_in_answered_kept_and_restored() {
    for db in backends("materials").await {
        let s = open(&db).await.with_upload_limits(UploadLimits {
            per_file: 4096,
            per_application: 6000,
        });
        let l = db.label;
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        s.upsert_applicant(&admin(), &gaotang_institution())
            .await
            .unwrap();
        let ev = json!({"id": "c1", "kind": "certified", "date": "2023-03-01", "cert": "high_tech", "first": true});
        let (ev, _) = s
            .add_event_with_offers(&admin(), HUNNAN, &ev)
            .await
            .unwrap();
        let id = s.apply(&me(), HUNNAN, "hitech_first", &ev).await.unwrap();

        // The draft: a 申报书, the bank account, the 承诺书.
        let form = s
            .upload_material(
                &me(),
                &id,
                MaterialKind::ApplicationForm,
                None,
                "申报书.pdf",
                &pdf("申报书"),
            )
            .await
            .unwrap();
        assert_eq!(form.content_type, "application/pdf", "{l}");
        assert_eq!(form.sha256, sha256_hex(&pdf("申报书")), "{l}");
        let e = s
            .upload_material(&me(), &id, MaterialKind::Evidence, None, "x.pdf", b"GIF89a")
            .await
            .unwrap_err();
        assert_eq!(code(&e), "file_type", "{l}");
        // Another applicant, a reviewer: neither hands in this applicant's material.
        let gt = Actor::applicant("u-gt", GAOTANG);
        let e = s
            .upload_material(&gt, &id, MaterialKind::Evidence, None, "x.pdf", &pdf("x"))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}");
        let e = s
            .upload_material(
                &reviewer(1),
                &id,
                MaterialKind::Evidence,
                None,
                "x.pdf",
                &pdf("x"),
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}");
        let e = s.attachment(&gt, &form.id).await.unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}");
        let e = s
            .attachment(&Actor::new("p", Role::PlanOffice), &form.id)
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}");
        // Not yet: the 承诺书 and the bank account come first.
        let e = s
            .act(&me(), &id, Action::Submit, ActArgs::default())
            .await
            .unwrap_err();
        assert_eq!(code(&e), "materials_required", "{l}");
        assert!(
            e.to_string().contains("确认承诺书") && e.to_string().contains("收款账户"),
            "{l}: {e}"
        );
        let e = s
            .set_bank_account(
                &me(),
                &id,
                &BankAccount {
                    account_name: "沈阳浑南示例智能制造科技有限公司".into(),
                    bank: "中国银行沈阳浑南支行".into(),
                    account_no: "123".into(),
                },
            )
            .await
            .unwrap_err();
        assert!(e.to_string().starts_with("账号"), "{l}: {e}");
        s.set_bank_account(
            &me(),
            &id,
            &BankAccount {
                account_name: "沈阳浑南示例智能制造科技有限公司".into(),
                bank: "中国银行沈阳浑南支行".into(),
                account_no: "6217 0000 1234 5678".into(),
            },
        )
        .await
        .unwrap();
        s.accept_pledge(&me(), &id).await.unwrap();

        s.act(&me(), &id, Action::Submit, ActArgs::default())
            .await
            .unwrap();
        // Submitted: closed for material until a reviewer asks.
        let e = s
            .upload_material(&me(), &id, MaterialKind::Evidence, None, "x.pdf", &pdf("x"))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "materials_closed", "{l}");
        s.act(&reviewer(1), &id, Action::StartReview, ActArgs::default())
            .await
            .unwrap();
        through_lower_levels(&s, &id).await;
        s.act(
            &reviewer(1),
            &id,
            Action::RequestMaterial,
            ActArgs {
                missing: vec!["2022年度审计报告".into(), "研发人员名单".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let m = s.materials(&reviewer(1), &id).await.unwrap();
        assert_eq!(m.requests.len(), 2, "{l}");
        let (r1, r2) = (m.requests[0].id.clone(), m.requests[1].id.clone());
        // What the reviewer has seen stays.
        let e = s.remove_material(&me(), &form.id).await.unwrap_err();
        assert_eq!(code(&e), "materials_closed", "{l}");
        // Resubmitting with an item unanswered is refused, naming it.
        s.upload_material(
            &me(),
            &id,
            MaterialKind::Supplement,
            Some(&r1),
            "审计报告.pdf",
            &pdf("审计报告"),
        )
        .await
        .unwrap();
        let e = s
            .act(&me(), &id, Action::Submit, ActArgs::default())
            .await
            .unwrap_err();
        assert_eq!(code(&e), "unanswered_items", "{l}");
        assert!(e.to_string().contains("研发人员名单"), "{l}: {e}");
        // The application's total is bounded.
        let e = s
            .upload_material(
                &me(),
                &id,
                MaterialKind::Supplement,
                Some(&r2),
                "名单.pdf",
                &pdf(&"很".repeat(1400)),
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "file_too_large", "{l}");
        s.answer_request(&me(), &id, &r2, "研发人员名单见附件,共 12 人")
            .await
            .unwrap();
        s.act(&me(), &id, Action::Submit, ActArgs::default())
            .await
            .unwrap();
        // After the resubmission the list is still there with its answers.
        let m = s.materials(&reviewer(1), &id).await.unwrap();
        assert_eq!(m.requests.len(), 2, "{l}");
        assert_eq!(m.requests[0].item, "2022年度审计报告");
        assert_eq!(m.files_for(&r1).count(), 1, "{l}");
        assert_eq!(
            m.requests[1].answer.as_deref(),
            Some("研发人员名单见附件,共 12 人")
        );
        assert_eq!(m.files.len(), 2, "{l}");
        let pledge = m.pledge.clone().unwrap();
        assert_eq!(
            (pledge.text.as_str(), pledge.by.as_str()),
            (PLEDGE_TEXT, "applicant:u-hn")
        );
        assert_eq!(m.account.clone().unwrap().account_no, "6217000012345678");
        // A second round is numbered 2; the first round's items are closed.
        s.act(&reviewer(1), &id, Action::StartReview, ActArgs::default())
            .await
            .unwrap();
        through_lower_levels(&s, &id).await;
        s.act(
            &reviewer(1),
            &id,
            Action::RequestMaterial,
            ActArgs {
                missing: vec!["审计报告盖章页".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let m = s.materials(&me(), &id).await.unwrap();
        assert_eq!(m.current_round().count(), 1, "{l}");
        assert_eq!(m.current_round().next().unwrap().round, 2);
        let e = s
            .answer_request(&me(), &id, &r2, "改一下")
            .await
            .unwrap_err();
        assert_eq!(code(&e), "materials_closed", "{l}");
        // The total: 6000 bytes per application in this store.
        let big = pdf(&"x".repeat(3900));
        let r3 = m.current_round().next().unwrap().id.clone();
        s.upload_material(
            &me(),
            &id,
            MaterialKind::Supplement,
            Some(&r3),
            "盖章页.pdf",
            &big,
        )
        .await
        .unwrap();
        let e = s
            .upload_material(
                &me(),
                &id,
                MaterialKind::Supplement,
                Some(&r3),
                "盖章页2.pdf",
                &big,
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "materials_too_large", "{l}");
        // Audited.
        let audit = s.audit_log(100).await.unwrap();
        for what in [
            "upload_material",
            "answer_material",
            "set_bank_account",
            "accept_pledge",
        ] {
            assert!(
                audit.iter().any(|a| a["action"] == what),
                "{l}: {what} not audited"
            );
        }

        // A backup keeps the bytes; a restore into an empty database gives them back.
        let lines = s.backup_lines().await.unwrap();
        let target = match l {
            "sqlite" => sqlite("materials_restore").await,
            _ => postgres("materials_restore").await.unwrap(),
        };
        let t = open(&target).await;
        // A damaged file is refused, naming its line, and nothing is restored.
        let damaged: Vec<String> = lines
            .iter()
            .map(|line| {
                if line.contains("\"attachments\"") && line.contains(&form.id) {
                    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
                    v["row"][8] = json!("JVBERi0xLjQK");
                    v.to_string()
                } else {
                    line.clone()
                }
            })
            .collect();
        let e = t.restore_lines(&damaged, &|_, _| {}).await.unwrap_err();
        assert!(e.to_string().contains("SHA-256"), "{l}: {e}");
        assert!(
            t.row_counts().await.unwrap().iter().all(|(_, n)| *n == 0),
            "{l}"
        );
        t.restore_lines(&lines, &|_, _| {}).await.unwrap();
        let (f, bytes) = t.attachment(&reviewer(1), &form.id).await.unwrap();
        assert_eq!(bytes, pdf("申报书"), "{l}");
        assert_eq!(f.sha256, form.sha256);
        let m2 = t.materials(&reviewer(1), &id).await.unwrap();
        assert_eq!(m2, s.materials(&reviewer(1), &id).await.unwrap(), "{l}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_virus_scanner_refuses_a_file_with_a_non_zero_exit() {
    let db = sqlite("materials_scan").await;
    let s = open(&db).await;
    s.upsert_applicant(&admin(), &hunnan_enterprise())
        .await
        .unwrap();
    let ev = json!({"id": "c1", "kind": "certified", "date": "2023-03-01", "cert": "high_tech", "first": true});
    let (ev, _) = s
        .add_event_with_offers(&admin(), HUNNAN, &ev)
        .await
        .unwrap();
    let id = s.apply(&me(), HUNNAN, "hitech_first", &ev).await.unwrap();
    // A "scanner" that finds EICAR in the file.
    let scanning = s.clone().with_scan_command(vec![
        "sh".into(),
        "-c".into(),
        "! grep -q EICAR \"$0\"".into(),
    ]);
    scanning
        .upload_material(
            &me(),
            &id,
            MaterialKind::Evidence,
            None,
            "ok.pdf",
            &pdf("clean"),
        )
        .await
        .unwrap();
    let e = scanning
        .upload_material(
            &me(),
            &id,
            MaterialKind::Evidence,
            None,
            "bad.pdf",
            &pdf("EICAR"),
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), "virus_scan");
    assert!(e.to_string().contains("bad.pdf"), "{e}");
    let missing = s
        .clone()
        .with_scan_command(vec!["/nonexistent/scanner".into()]);
    let e = missing
        .upload_material(
            &me(),
            &id,
            MaterialKind::Evidence,
            None,
            "ok2.pdf",
            &pdf("clean"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        code(&e),
        "virus_scan",
        "a scanner that cannot run refuses: {e}"
    );
    assert_eq!(s.materials(&me(), &id).await.unwrap().files.len(), 1);
}

/// An application that was waiting for material before migration 7 keeps its request as one
/// item the applicant can answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migration_7_turns_a_pending_request_into_an_item() {
    for db in backends("materials_migration").await {
        let s = open(&db).await;
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        let ev = json!({"id": "c1", "kind": "certified", "date": "2023-03-01", "cert": "high_tech", "first": true});
        let (ev, _) = s
            .add_event_with_offers(&admin(), HUNNAN, &ev)
            .await
            .unwrap();
        let id = s.apply(&me(), HUNNAN, "hitech_first", &ev).await.unwrap();
        // The database as migration 6 left it: no materials tables, a request as text only.
        for sql in [
            "DROP TABLE attachments",
            "DROP TABLE material_requests",
            "DROP TABLE application_terms",
            "DELETE FROM kc_migrations WHERE version = 7",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(s.pool())
                .await
                .unwrap();
        }
        sqlx::query(
            "UPDATE applications SET state = 'needs_material', missing = '2022年度审计报告;研发人员名单' WHERE id = $1",
        )
        .bind(&id)
        .execute(s.pool())
        .await
        .unwrap();
        drop(s);
        let s = open(&db).await;
        let m = s.materials(&me(), &id).await.unwrap();
        assert_eq!(m.requests.len(), 1, "{}", db.label);
        assert_eq!(m.requests[0].item, "2022年度审计报告;研发人员名单");
        s.answer_request(&me(), &id, &m.requests[0].id, "均已附上")
            .await
            .unwrap();
        s.act(&me(), &id, Action::Submit, ActArgs::default())
            .await
            .unwrap();
    }
}

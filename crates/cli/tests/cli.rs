//! The `kechuang` binary end to end: exit codes, and errors that name the file and place.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn kechuang(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kechuang"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run kechuang");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_passes_on_the_shipped_library() {
    let (code, out, _) = kechuang(&["check"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("通过 ok"), "{out}");
}

#[test]
fn check_fails_with_a_located_diagnostic_on_a_broken_library() {
    let dir = std::env::temp_dir().join(format!("kc-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        root().join("policies/vocabulary.md"),
        dir.join("vocabulary.md"),
    )
    .unwrap();
    std::fs::copy(
        root().join("tests/diagnostics/split-not-one.md"),
        dir.join("doc.md"),
    )
    .unwrap();
    let (code, out, _) = kechuang(&["check", dir.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("doc.md:20:13"), "{out}");
    assert!(out.contains("sum to"), "{out}");
}

#[test]
fn eval_json_prints_awards_with_clause_amount_split_and_trace() {
    let (code, out, err) = kechuang(&[
        "eval",
        "--input",
        "examples/hunnan-enterprise.json",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["schema"], "kechuang/eval-output/v1");
    let hitech = j["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["measure"] == "hitech_first" && o["status"] == "awarded")
        .unwrap();
    assert_eq!(hitech["clause"], "(五)");
    assert_eq!(hitech["document"], "沈政发〔2021〕11号");
    assert_eq!(hitech["amount"], "200000.00");
    assert_eq!(hitech["split"][0]["amount"], "100000.00");
    assert!(!hitech["trace"].as_array().unwrap().is_empty());
}

#[test]
fn eval_text_is_readable_by_a_clerk() {
    let (code, out, err) = kechuang(&["eval", "--input", "examples/hunnan-enterprise.json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("符合条件 awarded"), "{out}");
    assert!(out.contains("200,000.00 元"), "{out}");
}

#[test]
fn eval_rejects_bad_input_naming_file_and_path() {
    let dir = std::env::temp_dir().join(format!("kc-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.json");
    std::fs::write(&f, r#"{"schema":"kechuang/eval-input/v1","as_of":"2023-01-01","applicant":{"kind":"enterprise","region":"hunnan"},"events":[{"id":"e","kind":"rd_project_invested","date":"2023-01-01","rd_investment":"-1"}]}"#).unwrap();
    let (code, _, err) = kechuang(&["eval", "--input", f.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.json")
            && err.contains("$.events[0].rd_investment")
            && err.contains("negative"),
        "{err}"
    );
    let (code, _, err) = kechuang(&[
        "eval",
        "--input",
        "examples/hunnan-enterprise.json",
        "--date",
        "2023-13-01",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("2023-13-01"), "{err}");
}

#[test]
fn list_and_explain_cover_every_measure() {
    let (code, out, _) = kechuang(&["list", "--format", "json"]);
    assert_eq!(code, 0);
    let measures: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert!(measures.len() >= 16);
    for m in &measures {
        let id = m["measure"].as_str().unwrap();
        let (code, text, err) = kechuang(&["explain", id]);
        assert_eq!(code, 0, "{id}: {err}");
        assert!(text.contains(m["clause"].as_str().unwrap()), "{id}");
        assert!(text.contains("原文 source text"), "{id}");
    }
    let (code, _, err) = kechuang(&["explain", "no_such_measure"]);
    assert_eq!(code, 2);
    assert!(err.contains("no_such_measure"));
}

#[test]
fn explain_shows_each_part_of_a_grant_in_parts_on_the_split_line() {
    // 聊政字 五(三): 在省补贴60%补助的同时市财政再给予30%的补助 — each level pays its own part.
    let (code, text, err) = kechuang(&["explain", "voucher_user"]);
    assert_eq!(code, 0, "{err}");
    let line = text
        .lines()
        .find(|l| l.starts_with("资金分担 split:"))
        .expect("a split line");
    assert!(
        line.contains("省级 60% × event.service_amount")
            && line.contains("市级 30% × event.service_amount"),
        "{line}"
    );
    // A measure with a named funding still shows its shares.
    let (_, text, _) = kechuang(&["explain", "hitech_first"]);
    let line = text
        .lines()
        .find(|l| l.starts_with("资金分担 split:"))
        .unwrap();
    assert!(
        line.contains("市级 1/2") && line.contains("区县级 1/2"),
        "{line}"
    );
}

#[test]
fn trace_shows_formula_values_cap_headroom_split_and_clause() {
    // The worked case of docs: 170,000 already received; 80,000 + 5,000 + 3,000 now.
    let dir = std::env::temp_dir().join(format!("kc-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("pledge.json");
    std::fs::write(&f, r#"{"schema":"kechuang/eval-input/v1","as_of":"2023-12-31",
      "applicant":{"id":"91210112MA0XK8R34Y","kind":"enterprise","region":"hunnan"},
      "events":[{"id":"e1","kind":"ip_pledge_loan_costs_paid","date":"2023-06-01","interest":"80000","appraisal_fee":"5000","guarantee_fee":"3000"}],
      "history":[{"measure":"ip_pledge_loan","date":"2022-05-01","amount":"170000.00"}]}"#).unwrap();
    let (code, out, err) = kechuang(&["eval", "--input", f.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(code, 0, "{err}");
    for line in [
        "ip_pledge_loan  沈政发〔2021〕11号 (二十三)  后补助  定额 30,000.00 元",
        "贷款费用(利息、评估费、担保费合计) = 按人民银行同期同档贷款基准利率计算的利息 80,000.00 元 + 评估费 5,000.00 元 + 担保费 3,000.00 元 = 88,000.00 元",
        "50% × 贷款费用(利息、评估费、担保费合计) 88,000.00 元 = 44,000.00 元",
        "累计上限 200,000.00 元;已获 170,000.00 元 → 剩余额度 30,000.00 元;金额取 44,000.00 与剩余额度 30,000.00 中的较小者 = 30,000.00 元",
        "资金分担 涉企补助:市级 15,000.00 元,区县级 15,000.00 元",
        "«鼓励创新主体通过专利",
    ] {
        assert!(out.contains(line), "missing «{line}» in:\n{out}");
    }
}

/// `docker stop` and systemd send SIGTERM: `serve` stops accepting connections, lets the
/// requests in flight finish and exits 0 instead of being cut off mid-write.
#[cfg(unix)]
#[test]
fn serve_shuts_down_gracefully_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("kc-sigterm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kechuang"))
        .args(["serve", "--addr", "127.0.0.1:0", "--no-demo", "--database"])
        .arg(dir.join("kc.db"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "serve ended: {seen}");
        seen.push_str(&line);
        if line.contains("serving at") {
            break;
        }
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(status.success(), "{status:?}: {seen}{rest}");
    assert!(rest.contains("shutting down"), "{rest}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_refuses_an_incomplete_unified_login_configuration_naming_the_flag() {
    let db = std::env::temp_dir().join(format!("kc-oidc-flags-{}.db", std::process::id()));
    let db = db.to_str().unwrap();
    let (code, _, err) = kechuang(&[
        "serve",
        "--database",
        db,
        "--oidc-issuer",
        "https://id.example.gov.cn/oidc",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--oidc-client-id"), "{err}");
    let (code, _, err) = kechuang(&[
        "serve",
        "--database",
        db,
        "--oidc-issuer",
        "id.example.gov.cn",
        "--oidc-client-id",
        "kechuang",
        "--oidc-redirect-url",
        "https://kechuang.example.gov.cn/login/oidc/callback",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--oidc-issuer") && err.contains("不是 http(s) 地址"),
        "{err}"
    );
    // Nothing was started or written.
    assert!(!Path::new(db).exists());
}

#[test]
fn market_eval_prints_the_engine_beside_the_baseline() {
    let (code, out, err) = kechuang(&["market", "eval"]);
    assert_eq!(code, 0, "{err}");
    for part in [
        "recall@10",
        "nDCG@10",
        "MRR",
        "引擎 engine",
        "二元组基线 baseline",
    ] {
        assert!(out.contains(part), "{part} in {out}");
    }
    // A malformed dictionary of the operator's is refused with its line.
    let dir = std::env::temp_dir().join(format!("kc-syn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("extra.txt");
    std::fs::write(&file, "# ok\nAGV小车,搬运小车\n,空词\n").unwrap();
    let (code, _, err) = kechuang(&[
        "market",
        "eval",
        "--market-synonyms",
        file.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains('3'), "names line 3: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn simulate_totals_the_hand_worked_population() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../simulate/tests/data/twelve.jsonl"
    );
    let (code, out, err) = kechuang(&[
        "simulate",
        "--population",
        path,
        "--from",
        "2023-01-01",
        "--to",
        "2023-12-31",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Worked out in crates/simulate/tests/population.rs.
    assert_eq!(j["total"], "1023000.00");
    assert_eq!(j["applicants"], 12);
    // The shipped library as its own "reform": the same totals, nobody wins or loses.
    let policies = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let (code, out, err) = kechuang(&[
        "simulate",
        "--population",
        path,
        "--to",
        "2023-12-31",
        "--reform",
        policies,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["baseline"]["total"], j["reform"]["total"]);
    assert_eq!(
        (j["winners"].as_u64(), j["losers"].as_u64()),
        (Some(0), Some(0))
    );
    let (code, _, err) = kechuang(&["simulate", "--population", path, "--to", "2023-02-30"]);
    assert_ne!(code, 0);
    assert!(err.contains("--to"), "{err}");
}

/// A reform file that rewrites (十八) in the policy language: the delta worked out in
/// crates/simulate/tests/reform_measures.rs (A4 60,000 → 90,000, A5 100,000 → 150,000); a
/// broken measure is refused with the file, line and column.
#[test]
fn simulate_with_a_reform_file_that_replaces_a_measure() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../simulate/tests/data/twelve.jsonl"
    );
    let dir = std::env::temp_dir().join(format!("kc-reform-m-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let reform = dir.join("r18.reform");
    let measure = "replace contract_registration_institution\n\
                   measure contract_registration_institution \"技术合同登记机构奖励(试算)\" \"trial\"\n\
                   \x20 clause \"(十八)\"\n\
                   \x20 on contract_registration_volume\n\
                   \x20 when applicant.kind = contract_registration_institution\n\
                   \x20 when applicant.region within shenyang\n\
                   \x20 grant min(0.3‰ × event.registered_volume, 15万元)\n\
                   \x20 once per event.registration_year\n";
    std::fs::write(&reform, measure).unwrap();
    let run = |file: &Path| {
        kechuang(&[
            "simulate",
            "--population",
            path,
            "--from",
            "2023-01-01",
            "--to",
            "2023-12-31",
            "--reform",
            file.to_str().unwrap(),
            "--format",
            "json",
        ])
    };
    let (code, out, err) = run(&reform);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["baseline"]["total"], "1023000.00");
    assert_eq!(j["reform"]["total"], "1103000.00");
    let d = j["delta"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["measure"] == "contract_registration_institution")
        .unwrap();
    assert_eq!(
        (&d["baseline"], &d["delta"]),
        (&"160000.00".into(), &"80000.00".into())
    );
    assert_eq!(
        (j["winners"].as_u64(), j["losers"].as_u64()),
        (Some(2), Some(0))
    );
    let broken = dir.join("broken.reform");
    std::fs::write(
        &broken,
        measure.replace("registered_volume,", "registered_volum,"),
    )
    .unwrap();
    let (code, _, err) = run(&broken);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("broken.reform: 第7行第"), "{err}");
    assert!(err.contains("registered_volum"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 14, item 3: `policy new` turns a document's text into a literate skeleton that checks
/// beside the vocabulary, and `coverage` then lists the clauses naming amounts as gaps.
#[test]
fn policy_new_makes_a_skeleton_that_checks_and_coverage_lists_what_remains() {
    let dir = std::env::temp_dir().join(format!("kc-skeleton-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/vocabulary.md"),
        dir.join("vocabulary.md"),
    )
    .unwrap();
    let text = dir.join("doc.txt");
    std::fs::write(
        &text,
        "某市人民政府关于支持科技创新的若干措施\n为加快建设创新型城市,制定如下措施。\n\
         一、支持企业创新\n(一)对首次认定的高新技术企业给予20万元奖励。\n(二)加强协同。\n\
         二、建设创新平台\n(一)对新获批的国家级平台给予100万元奖励。\n",
    )
    .unwrap();
    let out = dir.join("doc.md");
    let (code, _, err) = kechuang(&[
        "policy",
        "new",
        "--text",
        text.to_str().unwrap(),
        "--number",
        "测试〔2026〕1号",
        "--valid",
        "2026-01-01..2030-12-31",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("5 条编号条款"), "{err}");
    let file = std::fs::read_to_string(&out).unwrap();
    assert!(
        file.contains("### 二(一) 对新获批的国家级平台给予100万元奖励"),
        "{file}"
    );
    assert!(
        file.contains("> (一)对首次认定的高新技术企业给予20万元奖励。"),
        "{file}"
    );
    let (code, _, err) = kechuang(&["check", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = kechuang(&[
        "coverage",
        "--policies",
        dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "gaps fail coverage");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let gaps: Vec<&str> = j[0]["clauses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "gap")
        .map(|c| c["clause"].as_str().unwrap())
        .collect();
    assert_eq!(gaps, ["(一)", "二(一)"]);
    // Bad input is named.
    let (code, _, err) = kechuang(&[
        "policy",
        "new",
        "--text",
        text.to_str().unwrap(),
        "--valid",
        "2030-01-01..2026-01-01",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--valid"), "{err}");
    let (code, _, err) = kechuang(&["policy", "new", "--text", "/no/such/file.txt"]);
    assert_eq!(code, 2);
    assert!(err.contains("/no/such/file.txt"), "{err}");
}

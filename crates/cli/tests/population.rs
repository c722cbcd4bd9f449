//! `kechuang population generate|check` and `kechuang simulate` over Parquet and CSV.

use std::path::{Path, PathBuf};
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

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kc-cli-pop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Measures with a non-zero forecast (fixed plus maxima) in a `simulate --format json` output.
fn paying_measures(j: &serde_json::Value) -> std::collections::BTreeSet<String> {
    j["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["fixed"] != "0.00" || l["up_to"] != "0.00")
        .map(|l| l["measure"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn generate_then_simulate_two_thousand_shenyang_applicants() {
    let out = temp("shenyang.parquet");
    let out_s = out.to_str().unwrap();
    let (code, stdout, err) = kechuang(&[
        "population",
        "generate",
        "--size",
        "2000",
        "--seed",
        "7",
        "--calibrate",
        "data/population/shenyang.toml",
        "--out",
        out_s,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("2000 个申报主体 applicants"), "{stdout}");
    let (code, stdout, err) = kechuang(&["population", "check", out_s]);
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.starts_with("通过 ok: 2000 个申报主体 applicants"),
        "{stdout}"
    );
    let (code, stdout, err) = kechuang(&[
        "simulate",
        "--population",
        out_s,
        "--from",
        "2019-01-01",
        "--to",
        "2023-12-31",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(j["applicants"], 2000);
    let paying = paying_measures(&j);
    // The work report's ladder (2019) and 沈政发〔2021〕11号's measures (from 2021-07-14).
    for m in [
        "sy2019_pool_entry",
        "sy2019_hitech_first",
        "sy2019_hitech_recert",
        "tech_sme_first",
        "hitech_first",
        "platform_provincial",
        "contract_registration_institution",
        "transfer_demo_institution",
        "alliance_performance",
        "innovation_voucher",
    ] {
        assert!(paying.contains(m), "{m} pays nothing: {paying:?}");
    }
    // The national projects' matching is set by review: counted, not summed.
    let review: u64 = j["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["review_cases"].as_u64().unwrap())
        .sum();
    assert!(review > 50, "{review}");
}

#[test]
fn generate_liaocheng_as_csv_and_simulate_it() {
    let out = temp("liaocheng.csv");
    let out_s = out.to_str().unwrap();
    let (code, _, err) = kechuang(&[
        "population",
        "generate",
        "--size",
        "2000",
        "--seed",
        "1",
        "--calibrate",
        "data/population/liaocheng.toml",
        "--out",
        out_s,
        "--from",
        "2021-01-01",
        "--to",
        "2023-12-31",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, stdout, err) = kechuang(&[
        "simulate",
        "--population",
        out_s,
        "--from",
        "2021-01-01",
        "--to",
        "2023-12-31",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let paying = paying_measures(&j);
    for m in [
        "voucher_user",
        "voucher_institution",
        "contract_dev_transfer",
        "lc_talent_matching",
        "lc_commissioner_honours",
        "lc_major_joint_project",
    ] {
        assert!(paying.contains(m), "{m} pays nothing: {paying:?}");
    }
    let years: std::collections::BTreeSet<i64> = j["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["year"].as_i64().unwrap())
        .collect();
    assert_eq!(
        years.into_iter().collect::<Vec<_>>(),
        vec![2021, 2022, 2023]
    );
}

#[test]
fn check_names_the_row_and_column_of_a_bad_cell() {
    let path = temp("bad.csv");
    std::fs::write(
        &path,
        "applicant,applicant.kind,event,event_kind,event_date,event.service_amount\n\
         A,enterprise,a1,voucher_service_purchased,2023-01-01,100\n\
         A,enterprise,a2,voucher_service_purchased,2023-02-01,-5\n",
    )
    .unwrap();
    let (code, _, err) = kechuang(&["population", "check", path.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("第3行 row 3, 列 column event.service_amount"),
        "{err}"
    );
    let (code, _, err) = kechuang(&["simulate", "--population", path.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("row 3"), "{err}");
}

//! The shipped plan library end to end: every plan file checks (with coverage), every task of
//! 001 has its lead unit, 003's 2018 figures judge its 2019 targets, and a unit's report opens
//! as a spreadsheet.

use serde_json::Value as J;
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
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn status(date: &str) -> Vec<J> {
    let (code, out, err) = kechuang(&["plan", "status", "--format", "json", "--date", date]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn the_plan_library_checks_and_covers_all_four_documents() {
    let (code, out, err) = kechuang(&["plan", "check"]);
    assert_eq!(code, 0, "{out}{err}");
    let plans = status("2019-12-31");
    let ids: Vec<&str> = plans.iter().map(|p| p["plan"].as_str().unwrap()).collect();
    for id in [
        "ln-transfer-2018",
        "lc-innovative-city-2020",
        "sd-zone-2016",
        "sy-work-2019",
    ] {
        assert!(ids.contains(&id), "plan {id} missing: {ids:?}");
    }
    // 001: 31 tasks, each with a lead unit.
    let ln = plans
        .iter()
        .find(|p| p["plan"] == "ln-transfer-2018")
        .unwrap();
    let tasks = ln["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 31, "001 has 31 tasks");
    assert!(
        tasks
            .iter()
            .all(|t| !t["lead"].as_str().unwrap().is_empty())
    );
    // 004: 45 numbered tasks.
    let sd = plans.iter().find(|p| p["plan"] == "sd-zone-2016").unwrap();
    assert_eq!(
        sd["tasks"].as_array().unwrap().len(),
        45,
        "004 has 45 tasks"
    );
}

#[test]
fn the_2018_figures_are_baselines_and_actuals_of_the_2019_targets() {
    let plans = status("2019-06-30");
    let sy = plans.iter().find(|p| p["plan"] == "sy-work-2019").unwrap();
    // Shenyang had 1,230 high-tech enterprises in 2018 (003, 2018 summary).
    let hte = sy["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["baseline"]["value"] == "1230")
        .unwrap_or_else(|| {
            panic!(
                "no indicator with the 2018 baseline of 1,230: {}",
                sy["indicators"]
            )
        });
    assert_eq!(hte["actual"]["value"], "1230");
    assert_ne!(hte["status"], "no_data");
}

#[test]
fn a_units_report_exports_and_reads_back() {
    let plans = status("2019-12-31");
    let lead = plans
        .iter()
        .find(|p| p["plan"] == "ln-transfer-2018")
        .unwrap()["tasks"][0]["lead"]
        .as_str()
        .unwrap()
        .to_string();
    let out = std::env::temp_dir().join(format!("kc-plan-{}.xlsx", std::process::id()));
    let (code, stdout, err) = kechuang(&[
        "plan",
        "export",
        "--unit",
        &lead,
        "--out",
        out.to_str().unwrap(),
        "--date",
        "2019-12-31",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains(&lead));
    let t = kc_tabular::read(&out).unwrap();
    std::fs::remove_file(&out).ok();
    assert!(!t.rows.is_empty());
    let lead_col = t.headers.iter().position(|h| h.contains("lead")).unwrap();
    let role_col = t.headers.iter().position(|h| h.contains("role")).unwrap();
    assert!(
        t.rows
            .iter()
            .any(|r| r.1[lead_col] == lead && r.1[role_col].contains("牵头"))
    );
}

#[test]
fn unit_names_are_canonical_and_aliases_find_their_unit() {
    let plans = status("2019-12-31");
    let mut names: Vec<(String, String)> = Vec::new();
    for p in &plans {
        for t in p["tasks"].as_array().unwrap() {
            let plan = p["plan"].as_str().unwrap().to_string();
            names.push((plan.clone(), t["lead"].as_str().unwrap().to_string()));
            for c in t["co"].as_array().unwrap() {
                names.push((plan.clone(), c.as_str().unwrap().to_string()));
            }
        }
    }
    // The documents' other spellings (plans/units.md) no longer appear…
    for alias in [
        "中科院沈阳分院",
        "中科院(沈阳)分院",
        "沈阳市政府",
        "市政府",
        "新松公司",
        "新松机器人",
    ] {
        assert!(!names.iter().any(|(_, n)| n == alias), "alias {alias} left");
    }
    // …and the Shenyang branch of the Academy is one unit in three plans (001 co-units, 004
    // task 10 as 中科院(沈阳)分院, 003 as 中科院沈阳分院); the city government likewise in
    // 001 (沈阳市政府), 003 (市政府) and 004 (沈阳市人民政府).
    for (unit, in_plans) in [
        (
            "中国科学院沈阳分院",
            ["ln-transfer-2018", "sd-zone-2016", "sy-work-2019"],
        ),
        (
            "沈阳市人民政府",
            ["ln-transfer-2018", "sd-zone-2016", "sy-work-2019"],
        ),
    ] {
        for p in in_plans {
            assert!(
                names.iter().any(|(pl, n)| pl == p && n == unit),
                "{unit} in {p}"
            );
        }
    }
    // An alias asks for the unit: the report of 中科院(沈阳)分院 lists 中国科学院沈阳分院's tasks.
    let (code, out, err) = kechuang(&[
        "plan",
        "status",
        "--unit",
        "中科院(沈阳)分院",
        "--date",
        "2019-12-31",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("任务 tasks of 中国科学院沈阳分院"), "{out}");
    assert!(out.contains("10. 建立沈阳创新创业研究院"), "{out}");
}

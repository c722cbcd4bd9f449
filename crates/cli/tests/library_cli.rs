//! `kechuang library` end to end on a SQLite file (issue 14, item 1): seed version 1 from the
//! shipped library, export it to files byte for byte, import an edited copy as a draft (its
//! diagnostic named with file, line and column, then fixed), the four-eyes steps, and the
//! database's active version used by the next command (`eval --applicant`… is beyond this
//! test; `library list` marks the active version).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kc-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn kechuang(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kechuang"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const LINE: &str = "  grant 2万元                                  # 给予2万元: fixed";

#[test]
fn seed_export_import_check_submit_approve() {
    let dir = scratch("library");
    let db = dir.join("kc.db").display().to_string();
    let d = |args: &[&str]| {
        let mut v: Vec<&str> = args.to_vec();
        v.extend(["--database", db.as_str()]);
        kechuang(&v)
    };

    let (code, out, err) = d(&["library", "seed"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("政策库版本 1 已写入"), "{out}");
    let (_, out, _) = d(&["library", "seed"]);
    assert!(
        out.contains("已有生效版本 1"),
        "seeding twice writes nothing: {out}"
    );

    // Export: every shipped policy and scenario file, byte for byte.
    let export = dir.join("v1");
    let (code, out, err) = d(&["library", "export", "--out", export.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    for sub in ["policies", "tests/scenarios"] {
        let mut names: Vec<String> = std::fs::read_dir(root().join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".md") || n.ends_with(".json"))
            .collect();
        names.sort();
        assert!(!names.is_empty());
        for n in names {
            assert_eq!(
                std::fs::read(export.join(sub).join(&n)).unwrap(),
                std::fs::read(root().join(sub).join(&n)).unwrap(),
                "{sub}/{n}"
            );
        }
    }

    // Import an edited copy: a typo first — the check names the file, line and column.
    let sy = export.join("policies/shenyang-2021-11.md");
    let text = std::fs::read_to_string(&sy).unwrap();
    assert!(text.contains(LINE));
    std::fs::write(&sy, text.replace(LINE, "  grant 3万元 × bsae")).unwrap();
    let line = text.lines().position(|l| l == LINE).unwrap() + 1;
    let (code, out, err) = d(&[
        "library",
        "import",
        export.to_str().unwrap(),
        "--title",
        "提高到3万元",
        "--as",
        "policy_author:author1",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("草稿 2 已导入"), "{out}");
    assert!(
        out.contains(&format!("policies/shenyang-2021-11.md:{line}:")),
        "the diagnostic's place: {out}"
    );
    assert!(out.contains("不能发布"), "{out}");
    let (code, out, err) = d(&["library", "submit", "2", "--as", "policy_author:author1"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("draft_not_ready"), "{err}");

    // Fixed, with the measure's scenario updated: a new draft that checks.
    std::fs::write(&sy, text.replace(LINE, "  grant 3万元")).unwrap();
    let sc = export.join("tests/scenarios/000-05-tech-sme-first-fixed.json");
    let s = std::fs::read_to_string(&sc).unwrap();
    std::fs::write(
        &sc,
        s.replace("\"amount\": \"20000.00\"", "\"amount\": \"30000.00\"")
            .replace("\"10000.00\"", "\"15000.00\""),
    )
    .unwrap();
    let (code, out, err) = d(&[
        "library",
        "import",
        export.to_str().unwrap(),
        "--title",
        "提高到3万元",
        "--as",
        "policy_author:author1",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("草稿 3 已导入") && out.contains("可以发布"),
        "{out}"
    );
    let (code, _, err) = d(&["library", "check", "3"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = d(&["library", "submit", "3", "--as", "policy_author:author1"]);
    assert_eq!(code, 0, "{out}{err}");
    // The author may not approve; an admin who is not the author publishes.
    let (code, _, err) = d(&["library", "approve", "3", "--as", "policy_author:author1"]);
    assert_eq!(code, 2);
    assert!(err.contains("forbidden"), "{err}");
    let (code, out, err) = d(&[
        "library",
        "approve",
        "3",
        "--as",
        "admin:leader1",
        "--applies-from",
        "2026-12-01",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (_, out, _) = d(&["library", "list"]);
    let active: Vec<&str> = out.lines().filter(|l| l.starts_with('*')).collect();
    assert_eq!(active.len(), 1, "{out}");
    assert!(
        active[0].contains("   3  published") && active[0].contains("2026-12-01"),
        "{out}"
    );
    assert!(out.contains("   2  draft"), "{out}");
    // Exporting the active version now gives the edited file.
    let v3 = dir.join("v3");
    let (code, _, _) = d(&["library", "export", "--out", v3.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        std::fs::read_to_string(v3.join("policies/shenyang-2021-11.md"))
            .unwrap()
            .contains("  grant 3万元\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

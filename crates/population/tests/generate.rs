//! The generator: deterministic for a seed, counts that follow the calibration, and
//! calibration files in which every figure has a source.

use kc_check::ir::Value;
use kc_population::{Calibration, generate, write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

fn library() -> Arc<kc_check::Library> {
    static LIB: OnceLock<Arc<kc_check::Library>> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
        let (files, checked) = kc_library::load(&dir).expect("policies load");
        assert!(!checked.has_errors(), "{}", checked.render(&files));
        Arc::new(checked.library.unwrap())
    })
    .clone()
}

fn calibration(name: &str) -> Calibration {
    Calibration::load(&data().join(name)).unwrap()
}

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/population")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kc-gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn the_same_seed_gives_byte_identical_files() {
    let lib = library();
    let cal = calibration("shenyang.toml");
    for ext in ["parquet", "csv", "jsonl"] {
        let bytes = |seed: u64, n: &str| {
            let p = temp(&format!("{n}.{ext}"));
            write(&p, &lib, generate(&lib, &cal, 500, seed).unwrap()).unwrap();
            std::fs::read(&p).unwrap()
        };
        let (a, b, c) = (bytes(42, "a"), bytes(42, "b"), bytes(43, "c"));
        assert!(a.len() > 1000, "{ext}");
        assert!(a == b, "{ext}: same seed, different bytes");
        assert!(a != c, "{ext}: another seed, same bytes");
    }
}

/// Within 0.02 (absolute) of the calibration's shares on 20,000 applicants: the standard error
/// of a share near 1/3 is about 0.0034 there, so the tolerance is some six of them.
#[test]
fn counts_follow_the_shenyang_calibration() {
    let lib = library();
    let v = &lib.vocab;
    let cal = calibration("shenyang.toml");
    let from: jiff::civil::Date = "2019-01-01".parse().unwrap();
    let enterprise = v.enums[v.applicant_kind].member("enterprise").unwrap();
    let high_tech = v.enums[v.certification].member("high_tech").unwrap();
    let pool = v.event_by_name("cultivation_pool_entered").unwrap();
    let (mut n, mut ent, mut holders, mut pools, mut regions_hunnan) = (0, 0, 0, 0, 0);
    let hunnan = v.enums[v.region].member("hunnan").unwrap();
    for i in generate(&lib, &cal, 20_000, 1).unwrap() {
        n += 1;
        if i.applicant.fields[v.region_slot] == Value::Enum(v.region, hunnan) {
            regions_hunnan += 1;
        }
        if i.applicant.fields[v.kind_slot] != Value::Enum(v.applicant_kind, enterprise) {
            assert!(
                i.applicant
                    .certifications
                    .iter()
                    .all(|(c, _)| *c != high_tech)
            );
            continue;
        }
        ent += 1;
        if i.applicant
            .certifications
            .iter()
            .any(|(c, d)| *c == high_tech && *d < from)
        {
            holders += 1;
        }
        pools += i.events.iter().filter(|e| e.kind == pool).count();
    }
    assert_eq!(n, 20_000);
    let share = |a: usize, b: usize| a as f64 / b as f64;
    let near = |got: f64, want: f64, tol: f64, what: &str| {
        assert!(
            (got - want).abs() <= tol,
            "{what}: {got:.4}, calibrated {want:.4}"
        );
    };
    // 3,735 enterprises of 3,879 applicants.
    near(share(ent, n), 3735.0 / 3879.0, 0.01, "enterprise share");
    // 1,230 high-tech enterprises among 3,735 (报告 2018三、).
    near(
        share(holders, ent),
        1230.0 / 3735.0,
        0.02,
        "high-tech share",
    );
    // 594 pool entries a year among 3,735 enterprises, over five years.
    near(
        share(pools, ent) / 5.0,
        594.0 / 3735.0,
        0.01,
        "pool entries per enterprise-year",
    );
    near(share(regions_hunnan, n), 30.0 / 99.0, 0.02, "浑南 share");
}

#[test]
fn transfer_institution_levels_are_exclusive_and_follow_seven_thirteen_twenty_one() {
    let lib = library();
    let v = &lib.vocab;
    // The Shenyang file with its transfer institutions only, so that a small sample has many.
    let text = std::fs::read_to_string(data().join("shenyang.toml")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("shares = { enterprise = 3735"))
        .unwrap();
    let text = text
        .replace(line, "shares = { tech_transfer_institution = 41 }")
        .replace("count = 3879", "count = 41");
    let cal = Calibration::parse(&text).unwrap();
    let levels: Vec<_> = [
        "tech_transfer_national",
        "tech_transfer_provincial",
        "tech_transfer_municipal",
    ]
    .iter()
    .map(|c| v.enums[v.certification].member(c).unwrap())
    .collect();
    let kind = v.enums[v.applicant_kind]
        .member("tech_transfer_institution")
        .unwrap();
    let mut counts = [0usize; 3];
    let mut institutions = 0;
    for i in generate(&lib, &cal, 5_000, 3).unwrap() {
        if i.applicant.fields[v.kind_slot] != Value::Enum(v.applicant_kind, kind) {
            continue;
        }
        institutions += 1;
        let held: Vec<usize> = (0..3)
            .filter(|k| {
                i.applicant
                    .certifications
                    .iter()
                    .any(|(c, _)| *c == levels[*k])
            })
            .collect();
        assert!(held.len() == 1, "{:?}", i.applicant.certifications);
        counts[held[0]] += 1;
    }
    assert_eq!(institutions, 5_000);
    // The standard error of 7/41 on 5,000 is about 0.0053: within 0.02.
    for (k, want) in [7.0, 13.0, 21.0].iter().enumerate() {
        let got = counts[k] as f64 / institutions as f64;
        assert!((got - want / 41.0).abs() < 0.02, "level {k}: {got:.3}");
    }
}

/// Every table of a shipped calibration that holds a number also holds a non-empty `source`.
fn unsourced(t: &toml::Table, path: &str, out: &mut Vec<String>) {
    let needs = t.iter().any(|(k, v)| {
        v.is_integer()
            || v.is_float()
            || ["shares", "median", "p90", "max", "value"].contains(&k.as_str())
    });
    if needs {
        match t.get("source").and_then(|s| s.as_str()) {
            Some(s) if !s.trim().is_empty() => {}
            _ => out.push(path.to_string()),
        }
    }
    for (k, v) in t {
        match v {
            toml::Value::Table(s) if k != "shares" => unsourced(s, &format!("{path}.{k}"), out),
            toml::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    if let toml::Value::Table(s) = x {
                        unsourced(s, &format!("{path}.{k}[{i}]"), out);
                    }
                }
            }
            _ => {}
        }
    }
}

#[test]
fn every_calibration_figure_has_a_source_and_the_files_check() {
    let lib = library();
    for name in ["shenyang.toml", "liaocheng.toml"] {
        let text = std::fs::read_to_string(data().join(name)).unwrap();
        let table: toml::Table = text.parse().unwrap();
        let mut out = Vec::new();
        unsourced(&table, name, &mut out);
        assert!(out.is_empty(), "figures without a source: {out:?}");
        let cal = Calibration::parse(&text).unwrap();
        assert!(cal.sources().len() > 20, "{name}");
        assert!(cal.sources().iter().all(|(_, s)| !s.trim().is_empty()));
        // Names resolve against the vocabulary (a wrong member or field is refused).
        assert_eq!(generate(&lib, &cal, 10, 0).unwrap().count(), 10, "{name}");
    }
    // The Shenyang figures are the report's own: quoted in the file with their paragraph.
    let sy = std::fs::read_to_string(data().join("shenyang.toml")).unwrap();
    for quoted in [
        "总数达1230家",
        "新增高新技术企业386家左右",
        "科技型中小企业达1431家",
        "“双培育”入库企业达1074家",
        "涌现出8家“瞪羚”企业",
        "国家级7家",
        "省级13家",
        "市级21家",
        "206.4亿元",
    ] {
        assert!(sy.contains(quoted), "{quoted}");
        let report = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../policies/shenyang-2018-work-report.md"),
        )
        .unwrap();
        assert!(
            report.contains(quoted.trim_start_matches("“双培育”")),
            "{quoted} is not in the report"
        );
    }
    // A calibration figure without a source is refused.
    let broken = sy.replacen(
        "source = \"报告 2018三、: 全年预计新增高新技术企业386家左右,总数达1230家\"",
        "source = \"\"",
        1,
    );
    assert_ne!(broken, sy);
    let e = generate(&lib, &Calibration::parse(&broken).unwrap(), 1, 0)
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("certifications.high_tech.holders"),
        "{e}"
    );
}

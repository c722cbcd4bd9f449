//! The demo data (`data/demo/`, written by `scripts/gen_demo.py`): about fifty made-up
//! applicants that the platform loads on first start. Every file must be valid input, every
//! 统一社会信用代码 well-formed, and the set must exercise the library (awards in both cities).

use std::collections::BTreeSet;
use std::path::Path;

/// GB 32100-2015 check character of the whole code, and GB 11714 of the organisation code.
fn uscc_valid(code: &str) -> bool {
    const CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let c: Vec<char> = code.chars().collect();
    if c.len() != 18 || !c.iter().all(|x| CHARS.contains(*x)) {
        return false;
    }
    let sum: u32 = c[..17]
        .iter()
        .zip(W)
        .map(|(x, w)| CHARS.find(*x).unwrap() as u32 * w)
        .sum();
    let r = (31 - sum % 31) % 31;
    if CHARS.chars().nth(r as usize) != Some(c[17]) {
        return false;
    }
    const OW: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let val = |x: char| x.to_digit(36).unwrap();
    let s: u32 = c[8..16].iter().zip(OW).map(|(x, w)| val(*x) * w).sum();
    let r = 11 - s % 11;
    let expected = match r {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10).unwrap(),
    };
    c[16] == expected
}

#[test]
fn uscc_check_matches_known_codes() {
    // A published code (国家市场监督管理总局's own example format) and corruptions of it.
    assert!(uscc_valid("91350100M000100Y43"));
    assert!(!uscc_valid("91350100M000100Y44"));
    assert!(!uscc_valid("91350100M000100Y4"));
}

#[test]
fn demo_applicants_are_valid_and_exercise_the_library() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (files, checked) = kc_library::load(&root.join("policies")).unwrap();
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    let lib = checked.library.unwrap();
    let mut paths: Vec<_> = std::fs::read_dir(root.join("data/demo"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(
        (45..=60).contains(&paths.len()),
        "{} demo applicants",
        paths.len()
    );
    let mut ids = BTreeSet::new();
    let mut awarded_docs = BTreeSet::new();
    let mut years = BTreeSet::new();
    for p in &paths {
        let text = std::fs::read_to_string(p).unwrap();
        let input = kc_wire::parse_input(&lib, &text, None)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(
            uscc_valid(&input.applicant.id),
            "{}: bad 统一社会信用代码 {}",
            p.display(),
            input.applicant.id
        );
        assert!(
            ids.insert(input.applicant.id.clone()),
            "duplicate id {}",
            input.applicant.id
        );
        assert!(!input.events.is_empty(), "{}: no events", p.display());
        for e in &input.events {
            years.insert(e.date.year());
        }
        let ev = kc_eval::evaluate(&lib, &input);
        for o in ev.awarded() {
            awarded_docs.insert(lib.documents[lib.measures[o.measure].doc].number.clone());
        }
    }
    assert!(
        awarded_docs.contains("沈政发〔2021〕11号") && awarded_docs.contains("聊政字〔2020〕15号"),
        "{awarded_docs:?}"
    );
    assert_eq!(
        years.into_iter().collect::<Vec<_>>(),
        vec![2020, 2021, 2022, 2023]
    );
}

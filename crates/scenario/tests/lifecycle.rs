//! The policy lifecycle as data: each directory under `tests/lifecycle/` holds a test fixture
//! document that amends, extends, repeals or opens for applications the shipped
//! 沈政发〔2021〕11号, and scenarios worked out by hand. Each runs against the shipped library
//! plus that one fixture.

use kc_check::{Library, SourceFile, check_library};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/lifecycle")
}

/// The shipped library plus the fixture documents of `case`.
fn library_with(case: &str) -> Library {
    let mut files: Vec<SourceFile> = kc_library::shipped();
    let dir = root().join(case);
    let mut mds: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    mds.sort();
    for p in mds {
        files.push(SourceFile {
            path: format!(
                "tests/lifecycle/{case}/{}",
                p.file_name().unwrap().to_string_lossy()
            ),
            text: std::fs::read_to_string(&p).unwrap(),
        });
    }
    let checked = check_library(&files);
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    checked.library.unwrap()
}

fn run(case: &str) {
    let lib = library_with(case);
    let paths = kc_scenario::files_in(&root().join(case)).unwrap();
    assert!(!paths.is_empty(), "no scenario in {case}");
    let failures: Vec<String> = paths
        .iter()
        .map(|p| kc_scenario::run_file(&lib, p))
        .filter(|r| !r.passed())
        .map(|r| format!("{} ({}):\n{}", r.file, r.name, r.problems.join("\n")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_repealed_document_pays_before_the_repeal_and_nothing_after() {
    run("repeal");
}

#[test]
fn an_amendment_changes_the_rate_from_its_date() {
    run("amend");
}

#[test]
fn an_extension_covers_a_later_event() {
    run("extend");
}

#[test]
fn a_window_takes_applications_only_between_its_dates_for_events_of_its_period() {
    use jiff::civil::date as d;
    use kc_eval::{Claimable, Refusal, claimable};
    let lib = library_with("window");
    let mi = lib.measure_index["contract_registration_institution"];
    let event = Some(d(2023, 5, 1));
    // Before it opens: refused, with the window's dates.
    let early = claimable(&lib, mi, event, d(2024, 2, 29)).unwrap_err();
    assert_eq!(early, Refusal::NotYetOpen { window: 0 });
    assert_eq!(
        early.words(&lib, false),
        "申报期尚未开始:“2024年度技术合同登记机构奖励申报”的申报期为 2024-03-01 至 2024-04-30"
    );
    // Inside, first and last day: allowed until the close.
    for today in [d(2024, 3, 1), d(2024, 4, 30)] {
        assert_eq!(
            claimable(&lib, mi, event, today),
            Ok(Claimable {
                until: Some(d(2024, 4, 30)),
                window: Some(0)
            })
        );
    }
    // A late application: refused with its reason.
    let late = claimable(&lib, mi, event, d(2024, 5, 1)).unwrap_err();
    assert_eq!(late.code(), "window_closed");
    assert_eq!(
        late.words(&lib, true),
        "the application window has closed: “2024 call: contract registration rewards” took applications from 2024-03-01 to 2024-04-30"
    );
    // An event outside the call's period (2023) is not taken by it.
    let other = claimable(&lib, mi, Some(d(2022, 5, 1)), d(2024, 3, 15)).unwrap_err();
    assert_eq!(
        other.words(&lib, false),
        "没有受理 2022-05-01 所发生事项的申报期"
    );
    // A measure no window opens stays open, as before windows existed.
    let hitech = lib.measure_index["hitech_first"];
    assert_eq!(
        claimable(&lib, hitech, event, d(2030, 1, 1)),
        Ok(Claimable {
            until: None,
            window: None
        })
    );
}

#[test]
fn a_claim_deadline_refuses_a_late_claim() {
    use jiff::civil::date as d;
    use kc_eval::{Claimable, claimable};
    let lib = library_with("amend");
    let mi = lib.measure_index["contract_registration_institution_2023"];
    let event = Some(d(2023, 2, 1));
    assert_eq!(
        claimable(&lib, mi, event, d(2024, 2, 1)),
        Ok(Claimable {
            until: Some(d(2024, 2, 1)),
            window: None
        })
    );
    let late = claimable(&lib, mi, event, d(2024, 2, 2)).unwrap_err();
    assert_eq!(late.code(), "claim_deadline_passed");
    assert_eq!(
        late.words(&lib, false),
        "已超过申请期限:须在事项发生后1年内申请(事项日期 2023-02-01,截止 2024-02-01)"
    );
    assert_eq!(
        late.words(&lib, true),
        "too late: applications must be made within 1 year of the event (dated 2023-02-01; deadline 2024-02-01)"
    );
}

//! Fuzzes the whole policy front end — Markdown split, `kc` parse, check, diagnostic
//! rendering — on arbitrary text checked together with the shipped vocabulary, so that
//! mutated measures reach the type checker too. Any panic is a bug: bad policy text must
//! produce diagnostics, never a crash.
#![no_main]

use kc_check::SourceFile;
use libfuzzer_sys::fuzz_target;

const VOCABULARY: &str = include_str!("../../policies/vocabulary.md");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let files = vec![
        SourceFile { path: "policies/vocabulary.md".into(), text: VOCABULARY.into() },
        SourceFile { path: "fuzz.md".into(), text: text.into() },
    ];
    let checked = kc_check::check_library(&files);
    let _ = checked.render(&files);
});

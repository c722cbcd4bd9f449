//! No panic on any policy text: a stable-toolchain stand-in for the cargo-fuzz target
//! (`fuzz/`), run in every test pass. Each shipped and broken policy file is truncated at
//! many points and mutated by deterministic byte edits; every variant must check and render
//! without panicking, and a variant that differs from a valid file in a measure line is
//! allowed to fail — but only with diagnostics, never a crash.

use kc_check::SourceFile;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn check_text(vocab: &str, text: &str) {
    let files = vec![
        SourceFile {
            path: "vocabulary.md".into(),
            text: vocab.into(),
        },
        SourceFile {
            path: "mutant.md".into(),
            text: text.into(),
        },
    ];
    let checked = kc_check::check_library(&files);
    let _ = checked.render(&files);
}

/// A small deterministic generator: the same mutants on every run and machine.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

const TOKENS: &[&str] = &[
    "×",
    "%",
    "‰",
    "万元",
    "元",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    "=>",
    "..",
    "\"",
    "#",
    "\n",
    "```",
    "_",
    "-",
    "9999999999999999999999999999999",
    "2021-02-30",
    "measure",
    "when",
    "grant up to",
    "tier",
    "funded by",
    "city 1/0",
    "once per",
    "cap",
    "event.",
    "applicant.",
    "min(",
    "increment(",
];

#[test]
fn mutated_policy_files_never_panic_the_checker() {
    let vocab = std::fs::read_to_string(root().join("policies/vocabulary.md")).unwrap();
    let mut sources = Vec::new();
    for dir in ["policies", "tests/diagnostics"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "md") {
                sources.push(std::fs::read_to_string(p).unwrap());
            }
        }
    }
    let mut rng = Lcg(0x6b63_6875_616e_6700);
    let mut variants = 0;
    for src in &sources {
        // Truncations at char boundaries spread over the file.
        let bounds: Vec<usize> = src.char_indices().map(|(i, _)| i).collect();
        for k in 0..16 {
            let cut = bounds[bounds.len() * k / 16];
            check_text(&vocab, &src[..cut]);
            variants += 1;
        }
        // Token insertions, deletions and swaps inside the code.
        for _ in 0..24 {
            let mut s = src.clone();
            for _ in 0..(1 + rng.next() % 4) {
                let b: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
                if b.is_empty() {
                    break;
                }
                let at = b[(rng.next() as usize) % b.len()];
                match rng.next() % 3 {
                    0 => s.insert_str(at, TOKENS[(rng.next() as usize) % TOKENS.len()]),
                    1 => {
                        let end = b
                            .iter()
                            .copied()
                            .find(|&x| x > at + (rng.next() % 12) as usize)
                            .unwrap_or(s.len());
                        s.replace_range(at..end, "");
                    }
                    _ => {
                        let t = TOKENS[(rng.next() as usize) % TOKENS.len()];
                        let end = b.iter().copied().find(|&x| x > at).unwrap_or(s.len());
                        s.replace_range(at..end, t);
                    }
                }
            }
            check_text(&vocab, &s);
            variants += 1;
        }
    }
    // The vocabulary itself mutated: the checker must survive a broken vocabulary too.
    for k in 0..40 {
        let b: Vec<usize> = vocab.char_indices().map(|(i, _)| i).collect();
        let cut = b[b.len() * k / 40];
        check_text(&vocab[..cut], &sources[0]);
        variants += 1;
    }
    assert!(variants > 300, "only {variants} variants");
}

//! Names and types: parsed policy files → a checked, compiled [`Library`].
//!
//! This crate is the language's API boundary. It resolves every name (vocabulary, parameters,
//! `let` bindings, enum members, event and applicant fields) to a slot, infers and checks the
//! type of every expression, and enforces the rules a policy author can get wrong: a measure
//! must cite a clause that exists in its file, a split must sum to exactly 1, a tier arm must be
//! reachable, a grant must be Money. It reports every problem it finds (never only the first),
//! each with a span; a library with any error is not produced, so the engine never runs an
//! unchecked rule. No IO: files come in as text.

pub mod coverage;
pub mod ir;
mod lifecycle;
mod resolve;

pub use ir::*;
pub use resolve::check_library;

use kc_syntax::Diagnostic;

/// A policy file as text, with the path used in diagnostics.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// A diagnostic and the index of the file it is in.
#[derive(Clone, Debug)]
pub struct FileDiagnostic {
    pub file: usize,
    pub diagnostic: Diagnostic,
}

/// The result of checking: the library when there were no errors, and every diagnostic.
#[derive(Debug)]
pub struct Checked {
    pub library: Option<Library>,
    pub diagnostics: Vec<FileDiagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.diagnostic.is_error())
    }

    /// All diagnostics rendered as caret snippets, in file order.
    pub fn render(&self, files: &[SourceFile]) -> String {
        let mut ds: Vec<&FileDiagnostic> = self.diagnostics.iter().collect();
        ds.sort_by_key(|d| (d.file, d.diagnostic.span.start));
        let mut out = String::new();
        for d in ds {
            let f = &files[d.file];
            out.push_str(&kc_syntax::render(&d.diagnostic, &f.path, &f.text));
            out.push_str("\n\n");
        }
        out
    }
}

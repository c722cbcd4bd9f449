//! The text side of the `kc` policy language: literate Markdown files split into clauses and
//! code blocks ([`literate`]), `kc` blocks parsed into a syntax tree ([`parse`], [`ast`]), and
//! diagnostics with spans rendered as caret snippets ([`diag`]).
//!
//! This crate does no IO and knows nothing of types, vocabularies or evaluation: it turns text
//! into trees and never gives up at the first error — a block that fails to parse is reported
//! and the rest of the file is still read. All spans are byte offsets into the whole Markdown
//! file, so a diagnostic shows the line a policy author sees in the editor.

pub mod ast;
pub mod diag;
pub mod literate;
pub mod parse;
pub mod skeleton;

pub use diag::{Diagnostic, Severity, Span, line_col, render};

/// One literate file, split and parsed.
#[derive(Clone, Debug)]
pub struct ParsedFile {
    pub literate: literate::LiterateFile,
    /// Each item with the index of the `kc` block it came from.
    pub items: Vec<(usize, ast::Item)>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Splits and parses a whole literate policy file.
pub fn parse_file(source: &str) -> ParsedFile {
    let literate = literate::split(source);
    let mut items = Vec::new();
    let mut diagnostics = Vec::new();
    for (i, block) in literate.blocks.iter().enumerate() {
        let (its, ds) = parse::parse_block(&block.code, block.offset);
        items.extend(its.into_iter().map(|it| (i, it)));
        diagnostics.extend(ds);
    }
    ParsedFile {
        literate,
        items,
        diagnostics,
    }
}

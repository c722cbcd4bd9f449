//! Diagnostics: a span, a message, a label under the caret, notes; rendered with
//! annotate-snippets (rustc's renderer) against the whole Markdown file, so line numbers are
//! the file's own.

use std::fmt;

/// A byte range in one file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub span: Span,
    pub message: String,
    pub label: String,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(span: Span, message: impl Into<String>, label: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            span,
            message: message.into(),
            label: label.into(),
            notes: Vec::new(),
        }
    }
    pub fn warning(span: Span, message: impl Into<String>, label: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(span, message, label)
        }
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Renders a diagnostic as plain text: `error: …` then `--> path:line:col` and a caret snippet.
pub fn render(diag: &Diagnostic, path: &str, source: &str) -> String {
    use annotate_snippets::{Level, Renderer, Snippet};
    let start = floor_char_boundary(source, diag.span.start.min(source.len()));
    let mut end = floor_char_boundary(source, diag.span.end.min(source.len())).max(start);
    if end == start && end < source.len() {
        end = start
            + source[start..]
                .chars()
                .next()
                .map(|c| c.len_utf8())
                .unwrap_or(0);
    }
    // annotate-snippets appends `:line:col` to the origin itself.
    let origin = path.to_string();
    let level = match diag.severity {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warning,
    };
    let mut message = level.title(&diag.message).snippet(
        Snippet::source(source)
            .line_start(1)
            .origin(&origin)
            .fold(true)
            .annotation(level.span(start..end).label(&diag.label)),
    );
    for n in &diag.notes {
        message = message.footer(Level::Note.title(n));
    }
    Renderer::plain().render(message).to_string()
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.span.start)
    }
}

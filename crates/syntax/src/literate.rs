//! Splits a literate policy file into its parts: the title, the clauses (headings with their
//! quoted text) and the `kc` code blocks, each block tied to the clause it sits under.

use crate::Span;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};

/// A clause of the source document: a heading of level 2 or deeper and the verbatim quotes
/// under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClauseText {
    /// The heading's first word: `(五)`, `四(一)`.
    pub id: String,
    /// The whole heading text.
    pub heading: String,
    pub level: u8,
    pub span: Span,
    /// The blockquoted source text, paragraphs separated by newlines.
    pub quote: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeBlock {
    pub code: String,
    /// Byte offset of the code's first character in the file.
    pub offset: usize,
    /// Index into `LiterateFile::clauses` of the clause this block sits under.
    pub clause: Option<usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiterateFile {
    pub title: Option<String>,
    pub clauses: Vec<ClauseText>,
    pub blocks: Vec<CodeBlock>,
}

/// Splits a policy file: its `kc` blocks.
pub fn split(source: &str) -> LiterateFile {
    split_tagged(source, "kc")
}

/// Splits a literate file, collecting the fenced blocks whose info string starts with `tag`
/// (`kc` for policies, `plan` for plans).
pub fn split_tagged(source: &str, tag: &str) -> LiterateFile {
    let mut out = LiterateFile::default();
    let mut heading: Option<(u8, String, Span)> = None;
    let mut quote_depth = 0usize;
    let mut quote_buf = String::new();
    let mut in_kc = false;
    let mut code = String::new();
    let mut code_offset: Option<usize> = None;
    let mut block_start = 0usize;
    for (event, range) in Parser::new(source).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                let lv = match level {
                    HeadingLevel::H1 => 1,
                    HeadingLevel::H2 => 2,
                    HeadingLevel::H3 => 3,
                    HeadingLevel::H4 => 4,
                    HeadingLevel::H5 => 5,
                    HeadingLevel::H6 => 6,
                };
                heading = Some((lv, String::new(), Span::new(range.start, range.end)));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((lv, text, span)) = heading.take() {
                    let text = text.trim().to_string();
                    if lv == 1 {
                        if out.title.is_none() {
                            out.title = Some(text);
                        }
                    } else {
                        let id = text.split_whitespace().next().unwrap_or("").to_string();
                        out.clauses.push(ClauseText {
                            id,
                            heading: text,
                            level: lv,
                            span,
                            quote: String::new(),
                        });
                    }
                }
            }
            Event::Start(Tag::BlockQuote(_)) => {
                quote_depth += 1;
            }
            Event::End(TagEnd::BlockQuote(_)) => {
                quote_depth = quote_depth.saturating_sub(1);
                if quote_depth == 0 {
                    if let Some(c) = out.clauses.last_mut() {
                        if !c.quote.is_empty() {
                            c.quote.push('\n');
                        }
                        c.quote.push_str(quote_buf.trim());
                    }
                    quote_buf.clear();
                }
            }
            Event::End(TagEnd::Paragraph) if quote_depth > 0 => quote_buf.push('\n'),
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                in_kc = info.split_whitespace().next() == Some(tag);
                code.clear();
                code_offset = None;
                block_start = range.start;
            }
            Event::End(TagEnd::CodeBlock) => {
                if in_kc {
                    // An empty block still needs an offset: just past its opening fence line.
                    let offset = code_offset.unwrap_or_else(|| {
                        source[block_start..]
                            .find('\n')
                            .map(|i| block_start + i + 1)
                            .unwrap_or(block_start)
                    });
                    out.blocks.push(CodeBlock {
                        code: std::mem::take(&mut code),
                        offset,
                        clause: out.clauses.len().checked_sub(1),
                    });
                }
                in_kc = false;
            }
            Event::Text(t) => {
                if in_kc {
                    if code_offset.is_none() {
                        code_offset = Some(range.start);
                    }
                    code.push_str(&t);
                } else if let Some((_, text, _)) = heading.as_mut() {
                    text.push_str(&t);
                } else if quote_depth > 0 {
                    quote_buf.push_str(&t);
                }
            }
            Event::Code(t) => {
                if let Some((_, text, _)) = heading.as_mut() {
                    text.push_str(&t);
                } else if quote_depth > 0 {
                    quote_buf.push_str(&t);
                }
            }
            Event::SoftBreak if quote_depth > 0 => {}
            Event::HardBreak if quote_depth > 0 => quote_buf.push('\n'),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_quotes_and_blocks() {
        let src = "# 标题\n\n## 二、企业\n\n### (五) 支持企业\n\n> 对首次备案的\n> 科技型中小企业给予2万元。\n\n```kc\nmeasure a \"甲\"\n```\n\n```text\nnot kc\n```\n";
        let f = split(src);
        assert_eq!(f.title.as_deref(), Some("标题"));
        assert_eq!(f.clauses.len(), 2);
        assert_eq!(f.clauses[1].id, "(五)");
        assert_eq!(f.clauses[1].quote, "对首次备案的科技型中小企业给予2万元。");
        assert_eq!(f.blocks.len(), 1);
        assert_eq!(f.blocks[0].clause, Some(1));
        assert_eq!(&src[f.blocks[0].offset..f.blocks[0].offset + 7], "measure");
    }
}

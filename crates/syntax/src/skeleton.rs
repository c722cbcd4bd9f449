//! From an official document's text to the skeleton of a literate policy file (issue 14): the
//! text is split into clauses by the numbering Chinese government documents use at the start
//! of a paragraph — `一、` (level 2), `(一)`/`（一）` (level 3), `1.`/`1．`/`1、` (level 4),
//! `(1)`/`（1）` (level 5) — and each clause is quoted verbatim under its heading, with no rule
//! yet, so that `kechuang coverage` lists what remains to encode. Paragraphs before the first
//! numbered one form the preamble (前言); a paragraph starting 附件 opens the attachments, whose
//! numbered titles are not clauses. Nothing is reworded: joining the quotes gives the text back,
//! paragraph for paragraph.

/// One clause of the document's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clause {
    /// Heading level in the literate file: 2 for `一、`, 3 for `(一)`, 4 for `1.`, 5 for `(1)`.
    pub level: u8,
    /// The numbering as written (`一、`, `(一)`, `1.`), full-width parentheses made ASCII; empty
    /// for the preamble.
    pub marker: String,
    /// A unique id for the file: the marker, prefixed by its parent's where the marker repeats
    /// (`三(一)`), numbered where that still repeats (`二、#2`).
    pub id: String,
    /// The clause's title: the words after the marker up to the first 。, comma, semicolon or
    /// colon (at most 40 characters).
    pub title: String,
    /// The paragraphs of the clause, verbatim.
    pub paragraphs: Vec<String>,
}

const NUMERALS: &str = "一二三四五六七八九十百零〇";

/// The numbering at the start of a paragraph: (level, marker as written, its length in bytes).
pub fn numbering(p: &str) -> Option<(u8, String, usize)> {
    let chars: Vec<(usize, char)> = p.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map(|c| c.0).unwrap_or(p.len());
    let first = chars.first()?.1;
    let is_num = |c: char| NUMERALS.contains(c);
    let is_digit = |c: char| c.is_ascii_digit() || ('\u{ff10}'..='\u{ff19}').contains(&c);
    if is_num(first) {
        let n = chars.iter().take_while(|c| is_num(c.1)).count();
        if chars.get(n).map(|c| c.1) == Some('、') {
            return Some((2, p[..end_of(n + 1)].to_string(), end_of(n + 1)));
        }
        return None;
    }
    if first == '(' || first == '\u{ff08}' {
        let inner = &chars[1..];
        let numeral = inner.iter().take_while(|c| is_num(c.1)).count();
        let digits = inner.iter().take_while(|c| is_digit(c.1)).count();
        let (n, level) = if numeral > 0 {
            (numeral, 3)
        } else if digits > 0 {
            (digits, 5)
        } else {
            return None;
        };
        let close = inner.get(n).map(|c| c.1);
        if close == Some(')') || close == Some('\u{ff09}') {
            let len = end_of(n + 2);
            let body: String = inner[..n].iter().map(|c| c.1).collect();
            return Some((level, format!("({body})"), len));
        }
        return None;
    }
    if is_digit(first) {
        let n = chars.iter().take_while(|c| is_digit(c.1)).count();
        let sep = chars.get(n).map(|c| c.1);
        // "1." but not "1.5亿元": the separator is not followed by a digit.
        let next_is_digit = chars.get(n + 1).is_some_and(|c| is_digit(c.1));
        if matches!(sep, Some('.') | Some('\u{ff0e}') | Some('、')) && !next_is_digit {
            return Some((4, p[..end_of(n + 1)].to_string(), end_of(n + 1)));
        }
    }
    None
}

/// Splits a document's text (paragraphs separated by line breaks) into its clauses.
pub fn split(text: &str) -> Vec<Clause> {
    let mut out: Vec<Clause> = Vec::new();
    // The open clause at each level, for parent-prefixed ids.
    let mut open: Vec<(u8, String)> = Vec::new();
    // After "附件:" the numbered paragraphs are the attachments' titles, not clauses.
    let mut attachments = false;
    for p in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let numbered = numbering(p).filter(|(level, ..)| !(attachments && *level >= 4));
        if numbered.is_none() && p.starts_with("附件") && !attachments {
            attachments = true;
            out.push(Clause {
                level: 2,
                marker: String::new(),
                id: "附件".into(),
                title: "附件".into(),
                paragraphs: vec![p.to_string()],
            });
            continue;
        }
        match numbered {
            Some((level, marker, len)) => {
                attachments = false;
                open.retain(|(l, _)| *l < level);
                let parent = open.last().map(|(_, id)| id.clone());
                let taken = |id: &str| out.iter().any(|c: &Clause| c.id == id);
                let mut id = marker.clone();
                if taken(&id)
                    && let Some(parent) = &parent
                {
                    id = format!("{}{marker}", parent.trim_end_matches('、'));
                }
                let mut n = 2;
                let base = id.clone();
                while taken(&id) {
                    id = format!("{base}#{n}");
                    n += 1;
                }
                let rest = p[len..].trim_start();
                let title: String = rest
                    .split(['。', ',', ';', ':', '\u{ff0c}', '\u{ff1b}', '\u{ff1a}'])
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(40)
                    .collect();
                open.push((level, id.clone()));
                out.push(Clause {
                    level,
                    marker,
                    id,
                    title,
                    paragraphs: vec![p.to_string()],
                });
            }
            None => match out.last_mut() {
                Some(c) => c.paragraphs.push(p.to_string()),
                None => out.push(Clause {
                    level: 2,
                    marker: String::new(),
                    id: "前言".into(),
                    title: "前言".into(),
                    paragraphs: vec![p.to_string()],
                }),
            },
        }
    }
    out
}

/// The skeleton as a literate policy file: the document header (number, title, validity as
/// given), then every clause as a heading with its verbatim quote and no rule yet.
pub fn render(number: &str, title: &str, valid: (&str, &str), clauses: &[Clause]) -> String {
    let q = |s: &str| s.replace('"', "“");
    let mut s = format!(
        "# {title}\n\n\
         Skeleton generated by `kechuang policy new` from the document's text: every clause is\n\
         quoted verbatim under its heading and none is encoded yet (`kechuang coverage` lists\n\
         what remains). Check the header: the validity below is a placeholder until the text's\n\
         施行 clause is read.\n\n\
         ```kc\n\
         document \"{}\"\n  title \"{}\"\n  valid {} .. {}                 # 待核定 to be confirmed\n\
         ```\n",
        q(number),
        q(title),
        valid.0,
        valid.1
    );
    for c in clauses {
        let title = if c.title.is_empty() || c.title == c.id {
            String::new()
        } else {
            format!(" {}", c.title)
        };
        s += &format!("\n{} {}{title}\n\n", "#".repeat(c.level as usize), c.id);
        for (i, p) in c.paragraphs.iter().enumerate() {
            if i > 0 {
                s += ">\n";
            }
            s += &format!("> {p}\n");
        }
        s += "\n待编码 To encode: write the measures of this clause, or an `unpaid` declaration.\n";
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_of_each_kind_and_not_of_amounts() {
        assert_eq!(
            numbering("一、总体要求").map(|n| (n.0, n.1)),
            Some((2, "一、".into()))
        );
        assert_eq!(
            numbering("(十八)推动").map(|n| (n.0, n.1)),
            Some((3, "(十八)".into()))
        );
        assert_eq!(
            numbering("\u{ff08}三\u{ff09}推动").map(|n| (n.0, n.1)),
            Some((3, "(三)".into()))
        );
        assert_eq!(
            numbering("12.强化").map(|n| (n.0, n.1)),
            Some((4, "12.".into()))
        );
        assert_eq!(
            numbering("(2)鼓励").map(|n| (n.0, n.1)),
            Some((5, "(2)".into()))
        );
        assert_eq!(numbering("1.5亿元用于"), None);
        assert_eq!(numbering("2018年以来"), None);
        assert_eq!(numbering("一是加强"), None);
    }

    #[test]
    fn repeated_markers_get_their_parent_and_the_text_comes_back_whole() {
        let text = "关于印发的通知\n一、总则\n(一)目标。达到。\n说明一段\n二、任务\n(一)任务一。给予20万元。\n1.细则\n附件:1.分解表\n2.一览表\n";
        let c = split(text);
        let ids: Vec<&str> = c.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            ["前言", "一、", "(一)", "二、", "二(一)", "1.", "附件"]
        );
        assert_eq!(c[6].paragraphs, ["附件:1.分解表", "2.一览表"]);
        assert_eq!(c[2].paragraphs, ["(一)目标。达到。", "说明一段"]);
        assert_eq!(c[4].title, "任务一");
        let back: Vec<String> = c.iter().flat_map(|c| c.paragraphs.clone()).collect();
        assert_eq!(back.join("\n") + "\n", text);
    }
}

//! The synonym dictionary: groups of terms that mean the same thing, or that an enterprise
//! and a researcher use for the same problem. One group per line, comma-separated (ASCII or
//! full-width), first term canonical; `#` starts a comment; blank lines are ignored. A line
//! with one term has no synonyms but still makes jieba keep that term whole.

use std::collections::HashMap;

/// Synonym and abbreviation groups. Terms are kept lower-cased (ASCII) so that `AGV` and
/// `agv` are one term; a term may belong to several groups.
#[derive(Clone, Debug, Default)]
pub struct Dictionary {
    groups: Vec<Vec<String>>,
    by_term: HashMap<String, Vec<usize>>,
}

/// A malformed dictionary line: the 1-based line number and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DictError {
    pub line: usize,
    pub zh: String,
    pub en: String,
}

impl std::fmt::Display for DictError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "同义词表第 {} 行:{} (synonyms, line {}: {})",
            self.line, self.zh, self.line, self.en
        )
    }
}

impl std::error::Error for DictError {}

/// Lower-cases ASCII and folds full-width ASCII to half-width, so text and dictionary agree.
pub(crate) fn normalize(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The longest term accepted, in characters: longer ones are sentences, not terms.
const MAX_TERM_CHARS: usize = 24;

impl Dictionary {
    /// The dictionary shipped with the crate (`data/market/synonyms.txt`, built in).
    pub fn builtin() -> Dictionary {
        Dictionary::parse(include_str!("../../../data/market/synonyms.txt"))
            .expect("data/market/synonyms.txt is checked by the crate's tests")
    }

    /// An empty dictionary: no synonyms, plain jieba words only.
    pub fn empty() -> Dictionary {
        Dictionary::default()
    }

    pub fn parse(text: &str) -> Result<Dictionary, DictError> {
        let mut dict = Dictionary::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let err = |zh: String, en: String| DictError { line, zh, en };
            let mut group: Vec<String> = Vec::new();
            for (n, part) in content.split([',', '\u{FF0C}']).enumerate() {
                let term = normalize(part.trim());
                if term.is_empty() {
                    return Err(err(
                        format!("第 {} 个词为空(多余的逗号?)", n + 1),
                        format!("term {} is empty (a stray comma?)", n + 1),
                    ));
                }
                if term.chars().count() > MAX_TERM_CHARS {
                    return Err(err(
                        format!("“{term}” 超过 {MAX_TERM_CHARS} 个字,不像一个术语"),
                        format!("“{term}” is longer than {MAX_TERM_CHARS} characters: not a term"),
                    ));
                }
                if term.contains(['、', ';', '\u{FF1B}', '\t']) {
                    return Err(err(
                        format!("“{term}” 含有分隔符;词之间请用逗号"),
                        format!("“{term}” contains a separator; separate terms with commas"),
                    ));
                }
                if group.contains(&term) {
                    return Err(err(
                        format!("“{term}” 在同一组中重复"),
                        format!("“{term}” appears twice in the group"),
                    ));
                }
                group.push(term);
            }
            dict.push(group);
        }
        Ok(dict)
    }

    fn push(&mut self, group: Vec<String>) {
        // A group with the same canonical term as an earlier one extends it.
        if let Some(&gi) = self
            .by_term
            .get(&group[0])
            .and_then(|gs| gs.iter().find(|&&g| self.groups[g][0] == group[0]))
        {
            for t in group {
                if !self.groups[gi].contains(&t) {
                    self.by_term.entry(t.clone()).or_default().push(gi);
                    self.groups[gi].push(t);
                }
            }
            return;
        }
        let gi = self.groups.len();
        for t in &group {
            self.by_term.entry(t.clone()).or_default().push(gi);
        }
        self.groups.push(group);
    }

    /// This dictionary with `other`'s groups added (a group with the same canonical term is
    /// united with ours).
    pub fn merge(mut self, other: Dictionary) -> Dictionary {
        for g in other.groups {
            self.push(g);
        }
        self
    }

    /// The number of groups.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// All groups, each with its canonical term first.
    pub fn groups(&self) -> &[Vec<String>] {
        &self.groups
    }

    /// Every term of every group, each once.
    pub fn terms(&self) -> impl Iterator<Item = &str> {
        self.by_term.keys().map(String::as_str)
    }

    /// The indices of the groups that contain this (normalised) term.
    pub fn groups_of(&self, term: &str) -> &[usize] {
        self.by_term.get(term).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The canonical term of a group.
    pub fn canonical(&self, group: usize) -> &str {
        &self.groups[group][0]
    }
}

//! Coverage: for every clause of every document, the measures that encode it or the stated
//! reason it holds no payment rule. A clause whose quoted text names an amount (a number
//! followed by 元/万元/亿元 or %/‰) and has neither is a gap: the library is incomplete.

use crate::ir::Library;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClauseStatus {
    /// At least one measure cites the clause.
    Encoded,
    /// An `unpaid` declaration says why it pays nothing.
    Explained,
    /// Names no amount and has no rule: nothing to encode.
    NoAmount,
    /// Names an amount but is neither encoded nor explained.
    Gap,
}

impl ClauseStatus {
    pub fn code(self) -> &'static str {
        match self {
            ClauseStatus::Encoded => "encoded",
            ClauseStatus::Explained => "explained",
            ClauseStatus::NoAmount => "no_amount",
            ClauseStatus::Gap => "gap",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            ClauseStatus::Encoded => "已编码",
            ClauseStatus::Explained => "已说明",
            ClauseStatus::NoAmount => "无金额",
            ClauseStatus::Gap => "缺口",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ClauseCoverage {
    pub id: String,
    pub heading: String,
    pub measures: Vec<String>,
    pub unpaid: Option<String>,
    pub names_amount: bool,
    pub status: ClauseStatus,
}

#[derive(Clone, Debug)]
pub struct DocumentCoverage {
    pub document: usize,
    pub clauses: Vec<ClauseCoverage>,
}

impl DocumentCoverage {
    pub fn gaps(&self) -> usize {
        self.clauses
            .iter()
            .filter(|c| c.status == ClauseStatus::Gap)
            .count()
    }
}

/// True if the text names an amount of money or a rate: a digit (ASCII or full-width)
/// followed by 元, 万元, 亿元, %, ％ or ‰ — so “多元化” does not count, “20万元” does.
pub fn names_amount(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if !(c.is_ascii_digit() || ('０'..='９').contains(c)) {
            continue;
        }
        let mut j = i + 1;
        while j < chars.len()
            && (chars[j].is_ascii_digit()
                || ('０'..='９').contains(&chars[j])
                || matches!(chars[j], '.' | ',' | '，' | '\u{e010}'))
        {
            j += 1;
        }
        match chars.get(j) {
            Some('元' | '%' | '％' | '‰') => return true,
            Some('万' | '亿') if chars.get(j + 1) == Some(&'元') => return true,
            _ => {}
        }
    }
    false
}

pub fn coverage(lib: &Library) -> Vec<DocumentCoverage> {
    lib.documents
        .iter()
        .enumerate()
        .map(|(di, d)| DocumentCoverage {
            document: di,
            clauses: d
                .clauses
                .iter()
                .map(|c| {
                    let measures: Vec<String> = lib
                        .measures
                        .iter()
                        .filter(|m| m.doc == di && m.clause.id == c.id)
                        .map(|m| m.id.clone())
                        .collect();
                    let unpaid = d
                        .unpaid
                        .iter()
                        .find(|(id, _)| id == &c.id)
                        .map(|(_, r)| r.clone());
                    let names_amount = names_amount(&c.quote);
                    let status = if !measures.is_empty() {
                        ClauseStatus::Encoded
                    } else if unpaid.is_some() {
                        ClauseStatus::Explained
                    } else if names_amount {
                        ClauseStatus::Gap
                    } else {
                        ClauseStatus::NoAmount
                    };
                    ClauseCoverage {
                        id: c.id.clone(),
                        heading: c.heading.clone(),
                        measures,
                        unpaid,
                        names_amount,
                        status,
                    }
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::names_amount;

    #[test]
    fn amounts_are_numbers_with_a_unit() {
        assert!(names_amount("给予2万元后补助"));
        assert!(names_amount("不超过1.5%给予补助"));
        assert!(names_amount("技术交易额的0\u{e010}2‰最高10万元"));
        assert!(names_amount("1000-3000万元前资助"));
        assert!(!names_amount("投资主体多元化"));
        assert!(!names_amount("按要求给予配套"));
        assert!(!names_amount("5年内科技项目库动态储备项目100项左右"));
    }
}

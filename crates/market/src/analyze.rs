//! Text analysis shared by indexing and querying: normalisation, jieba cutting with every
//! dictionary term as a user word, search-mode sub-words, stop words, and the dictionary
//! concepts a text mentions (exactly, or loosely as "焊缝……开裂").

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use jieba_rs::Jieba;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use crate::dict::{Dictionary, normalize};

/// The prefix of a concept token: `≡焊缝开裂` stands for every term of that group, so a text
/// that says 残余应力 and one that says 焊接裂纹 share it.
pub(crate) const CONCEPT: char = '≡';

/// How many words may stand between the parts of a dictionary term found loosely
/// ("焊缝总是开裂" for 焊缝开裂). Two covers adverbs and light verbs without
/// joining words from different clauses.
const LOOSE_GAP: usize = 2;

/// Function words and words that every listing uses (需要, 技术, 问题 …): they say nothing
/// about the problem and would only add noise to scores and to "shared terms".
const STOP: &[&str] = &[
    "的", "了", "和", "与", "及", "或", "等", "在", "是", "有", "对", "将", "把", "被", "为", "以",
    "从", "到", "也", "都", "就", "又", "还", "而", "并", "且", "但", "其", "这", "那", "个", "我",
    "我们", "你", "他", "它", "们", "一", "一个", "一些", "一种", "不", "没", "没有", "很", "太",
    "更", "最", "要", "想", "能", "会", "可", "可以", "能够", "需要", "希望", "想要", "进行",
    "通过", "采用", "实现", "具有", "提供", "基于", "利用", "使用", "用于", "用", "由", "该", "本",
    "所", "之", "中", "上", "下", "内", "后", "前", "时", "次", "多", "少", "大", "小", "高", "好",
    "年", "月", "日", "kg", "mm", "%", "问题", "技术", "公司", "企业", "我厂", "厂里", "厂",
    "目前", "现在", "已", "已经", "一直", "总是", "经常", "比较", "非常", "特别", "方面", "方法",
    "研究", "项目", "产品", "相关", "以及", "其中", "如何", "怎么", "什么", "可能", "情况", "这个",
    "那个", "来", "去", "做", "让", "给", "着", "过", "得", "地", "吗", "呢", "吧", "啊", "每",
    "各", "几", "些", "达到", "以上", "以下", "左右", "提高", "降低",
];

fn is_stop(w: &str) -> bool {
    STOP.contains(&w)
}

/// A word worth indexing: has a letter or a CJK character and is not a stop word.
fn is_content(w: &str) -> bool {
    w.chars().any(|c| c.is_alphabetic()) && !is_stop(w)
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

fn base_jieba() -> &'static Jieba {
    static BASE: OnceLock<Jieba> = OnceLock::new();
    BASE.get_or_init(Jieba::new)
}

/// What a text says, as the index sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Analysis {
    /// Content words in text order (with jieba's search-mode sub-words before each long word).
    pub words: Vec<String>,
    /// (canonical term of a dictionary group, the term the text used), each pair once.
    pub concepts: Vec<(String, String)>,
    /// Character bigrams of each run of Chinese characters: a weak signal that still meets
    /// words jieba cut differently (胶条 / 密封条) or that no dictionary links.
    #[serde(default)]
    pub grams: Vec<String>,
}

impl Analysis {
    /// The tokens to index or to query: words, then one concept token per concept mention.
    pub fn tokens(&self) -> Vec<String> {
        let mut out = self.words.clone();
        out.extend(self.concepts.iter().map(|(c, _)| format!("{CONCEPT}{c}")));
        out
    }
}

/// Jieba with the dictionary's terms as user words, plus the dictionary itself.
pub struct Analyzer {
    jieba: Jieba,
    dict: Dictionary,
    /// first part → (remaining parts, the term) for terms jieba's own dictionary cuts in pieces.
    loose: HashMap<String, Vec<(Vec<String>, String)>>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("groups", &self.dict.len())
            .finish()
    }
}

impl Analyzer {
    pub fn new(dict: Dictionary) -> Analyzer {
        let base = base_jieba();
        let mut jieba = base.clone();
        let mut loose: HashMap<String, Vec<(Vec<String>, String)>> = HashMap::new();
        let mut terms: Vec<&str> = dict.terms().collect();
        terms.sort_unstable();
        for term in terms {
            // How jieba cuts the term on its own is how it would be cut in a text that puts
            // other words between its parts.
            let parts: Vec<String> = base
                .cut(term, false)
                .into_iter()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect();
            if parts.len() >= 2 && parts[0].chars().count() >= 2 {
                loose
                    .entry(parts[0].clone())
                    .or_default()
                    .push((parts[1..].to_vec(), term.to_string()));
            }
            // A high frequency makes the term win over jieba's own splits.
            let freq = jieba.suggest_freq(term).max(2000);
            jieba.add_word(term, Some(freq), None);
        }
        Analyzer { jieba, dict, loose }
    }

    pub fn dictionary(&self) -> &Dictionary {
        &self.dict
    }

    /// jieba's cut of the normalised text, punctuation included (used for loose terms).
    fn cut<'a>(&self, text: &'a str) -> Vec<&'a str> {
        self.jieba.cut(text, true)
    }

    /// Content words of a text (dictionary terms stay whole).
    pub fn words(&self, text: &str) -> Vec<String> {
        self.analyze(text).words
    }

    pub fn analyze(&self, text: &str) -> Analysis {
        let norm = normalize(text);
        let cut = self.cut(&norm);
        let mut words = Vec::with_capacity(cut.len() * 2);
        let mut concepts: Vec<(String, String)> = Vec::new();
        let add_concepts = |term: &str, concepts: &mut Vec<(String, String)>| {
            for &g in self.dict.groups_of(term) {
                let pair = (self.dict.canonical(g).to_string(), term.to_string());
                if !concepts.contains(&pair) {
                    concepts.push(pair);
                }
            }
        };
        for (i, &w) in cut.iter().enumerate() {
            let w = w.trim();
            if w.is_empty() {
                continue;
            }
            add_concepts(w, &mut concepts);
            if let Some(patterns) = self.loose.get(w) {
                for (rest, term) in patterns {
                    if loose_match(&cut[i + 1..], rest) {
                        add_concepts(term, &mut concepts);
                    }
                }
            }
            if !is_content(w) {
                continue;
            }
            // Search-mode sub-words (as jieba's cut_for_search): 激光焊接 also indexes 激光
            // and 焊接, so a text that uses the short word still meets it.
            let chars: Vec<(usize, char)> = w.char_indices().collect();
            let n = chars.len();
            for len in [2usize, 3] {
                if n > len {
                    for s in 0..=n - len {
                        let start = chars[s].0;
                        let end = if s + len < n {
                            chars[s + len].0
                        } else {
                            w.len()
                        };
                        let sub = &w[start..end];
                        if self.jieba.has_word(sub) && is_content(sub) {
                            words.push(sub.to_string());
                        }
                    }
                }
            }
            words.push(w.to_string());
        }
        let mut grams = Vec::new();
        let mut run: Vec<char> = Vec::new();
        for c in norm.chars().chain(std::iter::once(' ')) {
            if is_han(c) {
                run.push(c);
            } else {
                grams.extend(run.windows(2).map(|w| w.iter().collect::<String>()));
                run.clear();
            }
        }
        Analysis {
            words,
            concepts,
            grams,
        }
    }
}

/// Whether `rest` follows in order at the start of `tail`, each part at most [`LOOSE_GAP`]
/// words after the previous one and never across punctuation.
fn loose_match(tail: &[&str], rest: &[String]) -> bool {
    let mut pos = 0;
    for part in rest {
        let mut found = false;
        for gap in 0..=LOOSE_GAP {
            let Some(w) = tail.get(pos + gap) else { break };
            if *w == part.as_str() {
                pos += gap + 1;
                found = true;
                break;
            }
            if !w.chars().any(|c| c.is_alphanumeric()) {
                return false;
            }
        }
        if !found {
            return false;
        }
    }
    true
}

/// The tantivy tokenizer over an [`Analyzer`]: the same analysis at index and query time.
#[derive(Clone)]
pub(crate) struct KcTokenizer(pub Arc<Analyzer>);

pub(crate) struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl Tokenizer for KcTokenizer {
    type TokenStream<'a> = VecTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let tokens = self
            .0
            .analyze(text)
            .tokens()
            .into_iter()
            .enumerate()
            .map(|(position, text)| Token {
                offset_from: 0,
                offset_to: 0,
                position,
                text,
                position_length: 1,
            })
            .collect();
        VecTokenStream { tokens, next: 0 }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

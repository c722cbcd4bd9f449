//! The tantivy index of listings: one document per listing, its words and dictionary concepts
//! in one BM25 field, the listing itself and its analysis stored beside it.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{PreTokenizedString, Token};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::analyze::{Analysis, Analyzer, CONCEPT, KcTokenizer};
use crate::matching::{self, MatchList};
use crate::{Dictionary, Listing, MarketError, Side};

const TOKENIZER: &str = "kc_zh";
/// Memory for the writer's indexing arena; tantivy needs at least 15 MB per thread.
const WRITER_MEMORY: usize = 64_000_000;
/// BM25's k1 in tantivy: a term's score never exceeds idf × (k1 + 1).
const BM25_K1: f32 = 1.2;

/// A search result: the listing id, its side, its text score (0–1, see
/// [`MarketIndex::search`]) and the query terms it contains.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub id: String,
    pub side: Side,
    pub score: f32,
    pub terms: Vec<String>,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    side: Field,
    body: Field,
    grams: Field,
    json: Field,
    analysis: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let body_opts = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let f = Fields {
        id: b.add_text_field("id", STRING | STORED),
        side: b.add_text_field("side", STRING | STORED),
        body: b.add_text_field("body", body_opts.clone()),
        grams: b.add_text_field("grams", body_opts),
        json: b.add_text_field("json", STORED),
        analysis: b.add_text_field("analysis", STORED),
    };
    (b.build(), f)
}

/// A candidate found by the text query: normalised text score, the listing, its analysis.
pub(crate) struct Candidate {
    pub text_score: f32,
    pub listing: Listing,
    pub analysis: Analysis,
}

/// The text the index reads for a listing. Title and keywords name the subject, so they are
/// given twice: that weighs them like a boosted title field without a second field.
pub(crate) fn listing_text(l: &Listing) -> String {
    let head = format!("{}。{}。", l.title, l.keywords.join(","));
    format!("{head}{head}{}", l.text)
}

/// The search index over listings of both sides.
pub struct MarketIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    analyzer: Arc<Analyzer>,
    f: Fields,
    threshold: f32,
}

impl std::fmt::Debug for MarketIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarketIndex")
            .field("len", &self.len())
            .finish()
    }
}

impl MarketIndex {
    /// A new empty index in memory.
    pub fn in_ram(dict: Dictionary) -> Result<MarketIndex, MarketError> {
        Self::in_ram_with(Arc::new(Analyzer::new(dict)))
    }

    pub(crate) fn in_ram_with(analyzer: Arc<Analyzer>) -> Result<MarketIndex, MarketError> {
        let (schema, f) = schema();
        Self::from_index(Index::create_in_ram(schema), f, analyzer)
    }

    /// The index kept in directory `path`, created (with the directory) if missing.
    /// The dictionary must be the one the index was built with, or rebuild it (`clear`).
    pub fn open_dir(path: &Path, dict: Dictionary) -> Result<MarketIndex, MarketError> {
        std::fs::create_dir_all(path).map_err(|e| MarketError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let dir = MmapDirectory::open(path).map_err(|e| MarketError::Index(e.to_string()))?;
        let (schema, f) = schema();
        let index = Index::open_or_create(dir, schema.clone())?;
        if index.schema() != schema {
            return Err(MarketError::Index(format!(
                "{} 中的索引结构不同,请删除后重建 (the index in {} has another schema; delete it and rebuild)",
                path.display(),
                path.display()
            )));
        }
        Self::from_index(index, f, Arc::new(Analyzer::new(dict)))
    }

    fn from_index(
        index: Index,
        f: Fields,
        analyzer: Arc<Analyzer>,
    ) -> Result<MarketIndex, MarketError> {
        index
            .tokenizers()
            .register(TOKENIZER, KcTokenizer(analyzer.clone()));
        let writer = index.writer_with_num_threads(2, WRITER_MEMORY)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(MarketIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            analyzer,
            f,
            threshold: matching::env_threshold(),
        })
    }

    /// The threshold below which a candidate is not a good match (see [`MatchList`]).
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Sets the threshold (calibration and experiments; the default is calibrated).
    pub fn set_threshold(&mut self, threshold: f32) {
        self.threshold = threshold;
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// The sequence number stored with the last commit, 0 for a new index.
    pub fn synced_seq(&self) -> i64 {
        self.index
            .load_metas()
            .ok()
            .and_then(|m| m.payload)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    fn document(&self, l: &Listing, a: &Analysis) -> Result<TantivyDocument, MarketError> {
        let json = serde_json::to_string(l).map_err(|e| MarketError::Json(e.to_string()))?;
        let analysis = serde_json::to_string(a).map_err(|e| MarketError::Json(e.to_string()))?;
        let pre = |toks: Vec<String>| PreTokenizedString {
            text: String::new(),
            tokens: toks
                .into_iter()
                .enumerate()
                .map(|(position, text)| Token {
                    offset_from: 0,
                    offset_to: 0,
                    position,
                    text,
                    position_length: 1,
                })
                .collect(),
        };
        let mut doc = TantivyDocument::new();
        doc.add_text(self.f.id, &l.id);
        doc.add_text(self.f.side, l.side.code());
        // Analysed once here; the registered tokenizer gives the same tokens for plain text.
        doc.add_pre_tokenized_text(self.f.body, pre(a.tokens()));
        doc.add_pre_tokenized_text(self.f.grams, pre(a.grams.clone()));
        doc.add_text(self.f.json, json);
        doc.add_text(self.f.analysis, analysis);
        Ok(doc)
    }

    /// Adds the listing, replacing any listing with the same id (visible after `commit`).
    pub fn upsert(&self, l: &Listing) -> Result<(), MarketError> {
        self.upsert_many(std::slice::from_ref(l))
    }

    /// Adds many listings, analysing them in parallel; each replaces any with the same id.
    pub fn upsert_many(&self, ls: &[Listing]) -> Result<(), MarketError> {
        let docs: Vec<TantivyDocument> = ls
            .par_iter()
            .map(|l| self.document(l, &self.analyzer.analyze(&listing_text(l))))
            .collect::<Result<_, _>>()?;
        let w = self.writer.lock().map_err(|_| poisoned())?;
        for (l, doc) in ls.iter().zip(docs) {
            w.delete_term(Term::from_field_text(self.f.id, &l.id));
            w.add_document(doc)?;
        }
        Ok(())
    }

    /// Removes the listing with this id (visible after `commit`).
    pub fn remove(&self, id: &str) -> Result<(), MarketError> {
        let w = self.writer.lock().map_err(|_| poisoned())?;
        w.delete_term(Term::from_field_text(self.f.id, id));
        Ok(())
    }

    /// Removes every listing (visible after `commit`).
    pub fn clear(&self) -> Result<(), MarketError> {
        let w = self.writer.lock().map_err(|_| poisoned())?;
        w.delete_all_documents()?;
        Ok(())
    }

    /// Commits with `seq` as payload and reloads the reader, so the next search sees it.
    pub fn commit(&self, seq: i64) -> Result<(), MarketError> {
        let mut w = self.writer.lock().map_err(|_| poisoned())?;
        let mut prepared = w.prepare_commit()?;
        prepared.set_payload(&seq.to_string());
        prepared.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    /// The number of committed listings.
    pub fn len(&self) -> usize {
        self.reader.searcher().num_docs() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn stored(
        &self,
        searcher: &tantivy::Searcher,
        addr: DocAddress,
    ) -> Result<(Listing, Analysis), MarketError> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let text = |f: Field| {
            doc.get_first(f)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let l: Listing = serde_json::from_str(&text(self.f.json))
            .map_err(|e| MarketError::Json(e.to_string()))?;
        let a: Analysis = serde_json::from_str(&text(self.f.analysis))
            .map_err(|e| MarketError::Json(e.to_string()))?;
        Ok((l, a))
    }

    /// The stored listing with this id.
    pub fn get(&self, id: &str) -> Option<Listing> {
        let searcher = self.reader.searcher();
        let q = TermQuery::new(
            Term::from_field_text(self.f.id, id),
            IndexRecordOption::Basic,
        );
        let top = searcher
            .search(&q, &TopDocs::with_limit(1).order_by_score())
            .ok()?;
        let (_, addr) = top.into_iter().next()?;
        self.stored(&searcher, addr).ok().map(|(l, _)| l)
    }

    /// Runs the BM25 query for an analysed text and returns up to `limit` candidates with
    /// their scores normalised to 0–1: the BM25 sum divided by what a document containing
    /// every query term would at most get (Σ idf × (k1+1)). A raw BM25 sum grows with the
    /// length of the query; the normalised score is comparable between a one-line demand and
    /// a long abstract, which is what lets one threshold decide "no good match".
    pub(crate) fn candidates(
        &self,
        a: &Analysis,
        side: Option<Side>,
        limit: usize,
        exclude: Option<&str>,
    ) -> Result<Vec<Candidate>, MarketError> {
        let searcher = self.reader.searcher();
        let n = searcher.num_docs().max(1) as f32;
        let mut seen = HashSet::new();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut ideal = 0.0f32;
        let grams = a
            .grams
            .iter()
            .map(|g| (self.f.grams, g.clone(), matching::bigram_weight()));
        let tokens = a.tokens();
        let mut qtf: HashMap<&str, usize> = HashMap::new();
        for t in &tokens {
            *qtf.entry(t.as_str()).or_default() += 1;
        }
        let qtf_boost = matching::qtf_boost();
        let words = tokens.iter().map(|t| {
            let w = if t.starts_with(CONCEPT) {
                matching::concept_weight()
            } else {
                1.0
            };
            // A word the query repeats (its title and keywords are given twice) matters more.
            let rep = qtf.get(t.as_str()).copied().unwrap_or(1).min(3) as f32 - 1.0;
            (self.f.body, t.clone(), w * (1.0 + qtf_boost * rep))
        });
        for (field, tok, weight) in words.chain(grams) {
            if weight <= 0.0 || !seen.insert((field, tok.clone())) {
                continue;
            }
            let term = Term::from_field_text(field, &tok);
            let df = searcher.doc_freq(&term)?;
            // A word no listing uses cannot match; leaving it out of the ideal keeps a
            // demand's colloquial words ("夜班", "断料") from sinking every score. Calibrated
            // on the sample: counting such words as df = 1 cost recall@10 0.73 → 0.34 at
            // the best F1 threshold.
            if df == 0 {
                continue;
            }
            let df = df as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            ideal += weight * idf * (BM25_K1 + 1.0);
            let tq: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
            let q: Box<dyn Query> = if weight == 1.0 {
                tq
            } else {
                Box::new(BoostQuery::new(tq, weight))
            };
            clauses.push((Occur::Should, q));
        }
        if clauses.is_empty() || ideal <= 0.0 {
            return Ok(Vec::new());
        }
        let text: Box<dyn Query> = Box::new(BooleanQuery::new(clauses));
        let query: Box<dyn Query> = match side {
            Some(s) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, text),
                (
                    Occur::Must,
                    Box::new(ConstScoreQuery::new(
                        Box::new(TermQuery::new(
                            Term::from_field_text(self.f.side, s.code()),
                            IndexRecordOption::Basic,
                        )),
                        0.0,
                    )),
                ),
            ])),
            None => text,
        };
        let want = limit + usize::from(exclude.is_some());
        let top = searcher.search(&query, &TopDocs::with_limit(want).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let (listing, analysis) = self.stored(&searcher, addr)?;
            if Some(listing.id.as_str()) == exclude {
                continue;
            }
            out.push(Candidate {
                text_score: (score / ideal).min(1.0),
                listing,
                analysis,
            });
        }
        out.truncate(limit);
        Ok(out)
    }

    /// Free-text search, optionally on one side. `score` is the normalised text score
    /// (0–1); `terms` are the query's words (and dictionary terms) the listing contains.
    pub fn search(
        &self,
        query: &str,
        side: Option<Side>,
        limit: usize,
    ) -> Result<Vec<Hit>, MarketError> {
        let qa = self.analyzer.analyze(query);
        let cands = self.candidates(&qa, side, limit, None)?;
        Ok(cands
            .into_iter()
            .map(|c| Hit {
                terms: matched_terms(&qa, &c.analysis),
                id: c.listing.id,
                side: c.listing.side,
                score: c.text_score,
            })
            .collect())
    }

    /// The best listings on the other side for `l`, with reasons; see [`MatchList`].
    pub fn matches_for(&self, l: &Listing, limit: usize) -> Result<MatchList, MarketError> {
        let qa = self.analyzer.analyze(&listing_text(l));
        self.matches_for_analysed(l, &qa, limit)
    }

    pub(crate) fn matches_for_analysed(
        &self,
        l: &Listing,
        qa: &Analysis,
        limit: usize,
    ) -> Result<MatchList, MarketError> {
        // Bonuses can reorder candidates, so look a little deeper than asked.
        let cands = self.candidates(qa, Some(l.side.other()), limit * 2 + 10, Some(&l.id))?;
        let idf = |w: &str| self.idf(w);
        Ok(matching::rank(l, qa, cands, limit, self.threshold, &idf))
    }

    /// idf of a word in the body field (for ordering shared terms by how telling they are).
    pub(crate) fn idf(&self, word: &str) -> f32 {
        let searcher = self.reader.searcher();
        let n = searcher.num_docs().max(1) as f32;
        let df = searcher
            .doc_freq(&Term::from_field_text(self.f.body, word))
            .unwrap_or(0)
            .max(1) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }
}

fn poisoned() -> MarketError {
    MarketError::Index("索引写入器因先前的错误不可用 (the index writer is poisoned)".into())
}

/// The query's words the document contains, then the document's wording of shared concepts.
fn matched_terms(q: &Analysis, d: &Analysis) -> Vec<String> {
    let dw: HashSet<&str> = d.words.iter().map(String::as_str).collect();
    let mut out: Vec<String> = Vec::new();
    for w in &q.words {
        if dw.contains(w.as_str()) && !out.contains(w) {
            out.push(w.clone());
        }
    }
    let dc: HashMap<&str, &str> = d
        .concepts
        .iter()
        .map(|(c, s)| (c.as_str(), s.as_str()))
        .collect();
    for (c, _) in &q.concepts {
        if let Some(s) = dc.get(c.as_str())
            && !out.iter().any(|o| o == s)
        {
            out.push(s.to_string());
        }
    }
    out
}

//! The S&T market (科技大市场): search and matching between 科技成果 (achievements offered by
//! universities, institutes and enterprises) and 技术需求 (demands that enterprises post in
//! their own words). Pure: listings come in as values, results go out as values; no database
//! and no HTTP. Text is cut into words by jieba, and a synonym dictionary (concept groups and
//! abbreviations) is applied at both index and query time, so an enterprise's "焊缝总是开裂"
//! can find a researcher's "残余应力控制". Every match carries its reasons (shared terms,
//! dictionary synonyms, field, region, maturity, price), and when nothing is relevant enough
//! the answer says so (`no_good_match`) instead of padding the list.

mod analyze;
pub mod baseline;
mod dict;
pub mod eval;
mod index;
mod matching;
mod model;

pub use analyze::{Analysis, Analyzer};
pub use dict::{DictError, Dictionary};
pub use index::{Hit, MarketIndex};
pub use matching::{
    Batch, CONCEPT_WEIGHT, DEFAULT_THRESHOLD, Match, MatchList, Reason, RegionFit, batch_match,
    region_fit, try_batch_match,
};
pub use model::{
    FIELDS, Field, Listing, Maturity, REGIONS, Region, Side, field, fmt_yuan, parse_yuan, region,
    region_path,
};

/// Everything that can go wrong in this crate. Display is Chinese first, then English.
#[derive(Debug)]
pub enum MarketError {
    /// The search index failed (tantivy, or a directory that cannot be opened).
    Index(String),
    /// A file could not be read.
    Io { path: String, message: String },
    /// A cell of an input table is wrong; `row` counts the header as row 1.
    Parse {
        file: String,
        row: usize,
        column: String,
        message: String,
    },
    /// The synonym dictionary is malformed.
    Dict(DictError),
    /// A stored listing could not be encoded or decoded.
    Json(String),
}

impl std::fmt::Display for MarketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MarketError::Index(m) => write!(f, "检索索引出错 (search index error): {m}"),
            MarketError::Io { path, message } => {
                write!(f, "无法读取 {path} (cannot read {path}): {message}")
            }
            MarketError::Parse {
                file,
                row,
                column,
                message,
            } => write!(
                f,
                "{file} 第 {row} 行 “{column}” 列:{message} ({file}, row {row}, column {column})"
            ),
            MarketError::Dict(e) => e.fmt(f),
            MarketError::Json(m) => write!(f, "条目编码错误 (listing encoding error): {m}"),
        }
    }
}

impl std::error::Error for MarketError {}

impl From<tantivy::TantivyError> for MarketError {
    fn from(e: tantivy::TantivyError) -> Self {
        MarketError::Index(e.to_string())
    }
}

impl From<DictError> for MarketError {
    fn from(e: DictError) -> Self {
        MarketError::Dict(e)
    }
}

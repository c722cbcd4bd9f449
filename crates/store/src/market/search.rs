//! The market's search index, kept in step with the database. The index holds the public
//! listings only; before every search it catches up with the rows whose `seq` is above the
//! one stored with its last commit, so every process sharing a database answers alike and
//! a writer sees its own change at once. It lives beside an SQLite file
//! (`kechuang.db.market-index/`), in memory for PostgreSQL unless the operator names a
//! directory; either way it can be rebuilt from the database (`kechuang market reindex`).

use super::ListingView;
use crate::{Actor, Result, Store, StoreError};
use kc_market::{Dictionary, MarketIndex, Side};
use std::path::PathBuf;
use std::sync::Arc;

/// The dictionary and the (lazily opened) index of a store.
pub struct MarketSearch {
    pub(crate) dict: Arc<Dictionary>,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) index: tokio::sync::Mutex<Option<MarketIndex>>,
    /// Why the index is in memory although a directory was named (another process holds it).
    pub(crate) note: std::sync::Mutex<Option<String>>,
}

impl MarketSearch {
    pub(crate) fn new(dir: Option<PathBuf>) -> MarketSearch {
        MarketSearch {
            dict: Arc::new(Dictionary::builtin()),
            dir,
            index: tokio::sync::Mutex::new(None),
            note: std::sync::Mutex::new(None),
        }
    }
}

fn index_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("搜索索引 (search index): {e}"))
}

/// One search result: the listing and the terms that matched.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SearchHit {
    pub listing: ListingView,
    pub terms: Vec<String>,
}

/// One match with its reasons, for the page and the API.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MatchView {
    pub listing: ListingView,
    pub score: f32,
    pub reasons: Vec<(String, String)>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Matches {
    pub matches: Vec<MatchView>,
    pub no_good_match: bool,
}

impl Store {
    /// Keeps the market index in `dir` instead of the default place.
    pub fn with_market_index_dir(mut self, dir: PathBuf) -> Store {
        self.market = Arc::new(MarketSearch {
            dict: self.market.dict.clone(),
            dir: Some(dir),
            index: tokio::sync::Mutex::new(None),
            note: std::sync::Mutex::new(None),
        });
        self
    }

    /// Adds the operator's own dictionary groups (`--market-synonyms FILE`) to the shipped ones.
    pub fn with_market_dictionary(mut self, extra: Dictionary) -> Store {
        let dict = Dictionary::builtin().merge(extra);
        self.market = Arc::new(MarketSearch {
            dict: Arc::new(dict),
            dir: self.market.dir.clone(),
            index: tokio::sync::Mutex::new(None),
            note: std::sync::Mutex::new(None),
        });
        self
    }

    /// Why the market's index is not where it was meant to be, if it is not.
    pub fn market_index_note(&self) -> Option<String> {
        self.market.note.lock().expect("note").clone()
    }

    /// The dictionary search and matching use.
    pub fn market_dictionary(&self) -> Arc<Dictionary> {
        self.market.dict.clone()
    }

    /// The index, opened if needed and caught up with the database.
    async fn market_index(&self) -> Result<tokio::sync::MutexGuard<'_, Option<MarketIndex>>> {
        let mut guard = self.market.index.lock().await;
        if guard.is_none() {
            let dict = (*self.market.dict).clone();
            // A directory holds one writer: when another process on the same SQLite file
            // (a running `serve` beside a command) has it, this one builds its own index in
            // memory from the database, which answers the same.
            let index = match &self.market.dir {
                Some(dir) => match MarketIndex::open_dir(dir, dict.clone()) {
                    Ok(index) => index,
                    Err(e) => {
                        *self.market.note.lock().expect("note") = Some(format!(
                            "索引目录 {} 正被其他进程使用,本进程在内存中建立索引 (the index directory is in use by another process; this one keeps its index in memory): {e}",
                            dir.display()
                        ));
                        MarketIndex::in_ram(dict).map_err(index_error)?
                    }
                },
                None => MarketIndex::in_ram(dict).map_err(index_error)?,
            };
            *guard = Some(index);
        }
        let index = guard.as_ref().expect("opened above");
        let stored = self.market_seq().await?;
        if stored < index.synced_seq() {
            // The database was restored or replaced under the index: start again.
            index.clear().map_err(index_error)?;
            index.commit(0).map_err(index_error)?;
        }
        if stored != index.synced_seq() {
            let (changed, top) = self.listings_changed_since(index.synced_seq()).await?;
            for l in &changed {
                if l.is_public() {
                    index.upsert(&l.to_market(self)).map_err(index_error)?;
                } else {
                    index.remove(&l.id).map_err(index_error)?;
                }
            }
            index.commit(top).map_err(index_error)?;
        }
        Ok(guard)
    }

    /// Rebuilds the index from the database; returns how many listings it holds.
    pub async fn market_reindex(&self) -> Result<usize> {
        let guard = self.market_index().await?;
        let index = guard.as_ref().expect("opened");
        index.clear().map_err(index_error)?;
        index.commit(0).map_err(index_error)?;
        let (all, top) = self.listings_changed_since(0).await?;
        for l in all.iter().filter(|l| l.is_public()) {
            index.upsert(&l.to_market(self)).map_err(index_error)?;
        }
        index.commit(top).map_err(index_error)?;
        Ok(index.len())
    }

    /// Full-text search over the public listings (Chinese, with the dictionary's synonyms).
    pub async fn market_search(
        &self,
        actor: Option<&Actor>,
        query: &str,
        side: Option<Side>,
        limit: usize,
    ) -> Result<Vec<SearchHit>> {
        let query = query.trim();
        if query.is_empty() {
            return Ok(Vec::new());
        }
        if query.chars().count() > 200 {
            return Err(StoreError::Invalid(
                "q: 搜索词至多200字 (at most 200 characters)".into(),
            ));
        }
        let hits = {
            let guard = self.market_index().await?;
            guard
                .as_ref()
                .expect("opened")
                .search(query, side, limit.clamp(1, 100))
                .map_err(index_error)?
        };
        let mut out = Vec::new();
        for h in hits {
            match self.listing(actor, &h.id).await {
                Ok(listing) => out.push(SearchHit {
                    listing,
                    terms: h.terms,
                }),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The listings of the other side that could go with this one, best first, with the
    /// reasons; `no_good_match` when nothing scores above the matcher's threshold.
    pub async fn market_matches(
        &self,
        actor: Option<&Actor>,
        id: &str,
        limit: usize,
    ) -> Result<Matches> {
        let listing = self.listing(actor, id).await?;
        let list = {
            let guard = self.market_index().await?;
            guard
                .as_ref()
                .expect("opened")
                .matches_for(&listing.to_market(self), limit.clamp(1, 50))
                .map_err(index_error)?
        };
        let mut matches = Vec::new();
        for m in list.matches {
            match self.listing(actor, &m.id).await {
                Ok(l) => matches.push(MatchView {
                    listing: l,
                    score: m.score,
                    reasons: m.reasons.iter().map(|r| (r.zh(), r.en())).collect(),
                }),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Matches {
            no_good_match: list.no_good_match || matches.is_empty(),
            matches,
        })
    }
}

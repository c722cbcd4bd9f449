//! The simple baseline the matching engine is measured against: Dice similarity of the
//! character-bigram sets of title, keywords and text. No dictionary, no word cutting.

use std::collections::HashSet;

use crate::Listing;
use crate::dict::normalize;

/// The set of adjacent character pairs of a text, ignoring whitespace and punctuation.
pub fn bigrams(text: &str) -> HashSet<(char, char)> {
    let chars: Vec<char> = normalize(text)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Dice coefficient 2|A∩B| / (|A|+|B|); 0 for two empty sets.
pub fn dice(a: &HashSet<(char, char)>, b: &HashSet<(char, char)>) -> f64 {
    let total = a.len() + b.len();
    if total == 0 {
        return 0.0;
    }
    let common = a.intersection(b).count();
    2.0 * common as f64 / total as f64
}

fn listing_bigrams(l: &Listing) -> HashSet<(char, char)> {
    bigrams(&format!("{} {} {}", l.title, l.keywords.join(" "), l.text))
}

/// The `limit` candidates most similar to `query` by bigram Dice, best first (ties by id);
/// candidates on the query's own side are skipped, and so are those with no bigram in common.
pub fn rank(query: &Listing, candidates: &[Listing], limit: usize) -> Vec<(String, f64)> {
    let q = listing_bigrams(query);
    let mut scored: Vec<(String, f64)> = candidates
        .iter()
        .filter(|c| c.side != query.side)
        .map(|c| (c.id.clone(), dice(&q, &listing_bigrams(c))))
        .filter(|(_, s)| *s > 0.0)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    scored.truncate(limit);
    scored
}

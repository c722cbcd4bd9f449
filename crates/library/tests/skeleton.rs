//! Issue 14, item 3: a skeleton made from a document's text has the clause structure of the
//! hand-written literate file. The text of each shipped document is taken from its literate
//! file's verbatim quotes (the repository holds no other copy), split by its numbering, and
//! compared clause by clause: the same numbered clauses, in the same order, at the same levels;
//! and no text is lost.

use kc_syntax::{literate, skeleton};
use std::path::Path;

/// The numbering a hand-written clause id ends with: `一(一)` → `(一)`, `2018一、` → `一、`.
fn marker_of(id: &str) -> Option<String> {
    id.char_indices().find_map(|(i, _)| {
        let tail = &id[i..];
        skeleton::numbering(tail)
            .filter(|(_, _, len)| *len == tail.len())
            .map(|(_, m, _)| m)
    })
}

#[test]
fn the_skeletons_of_the_five_shipped_documents_have_their_clause_structure() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let mut documents = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".md") || name == "vocabulary.md" {
            continue;
        }
        documents += 1;
        let source = std::fs::read_to_string(&path).unwrap();
        let file = literate::split(&source);
        let text: String = file
            .clauses
            .iter()
            .filter(|c| !c.quote.trim().is_empty())
            .map(|c| c.quote.clone() + "\n")
            .collect();
        let want: Vec<(u8, String)> = file
            .clauses
            .iter()
            .filter_map(|c| marker_of(&c.id).map(|m| (c.level, m)))
            .collect();
        let clauses = skeleton::split(&text);
        let got: Vec<(u8, String)> = clauses
            .iter()
            .filter(|c| !c.marker.is_empty())
            .map(|c| (c.level, c.marker.clone()))
            .collect();
        assert!(want.len() >= 4, "{name}: {} numbered clauses", want.len());
        assert_eq!(got, want, "{name}: the skeleton's numbered clauses");
        // Nothing lost: the quotes of the skeleton give the text back, paragraph for paragraph.
        let back: Vec<&str> = clauses
            .iter()
            .flat_map(|c| c.paragraphs.iter().map(String::as_str))
            .collect();
        let paragraphs: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(back, paragraphs, "{name}");
        // Every id is unique in the file.
        let mut ids: Vec<&str> = clauses.iter().map(|c| c.id.as_str()).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "{name}: unique ids");
    }
    assert_eq!(documents, 5);
}

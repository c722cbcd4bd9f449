//! The policy lifecycle across documents: amendments (修订), extensions (延期) and repeals
//! (废止) move the validity window of another document's measures, and application windows
//! (申报期) open measures for applications. Resolved after every document file is checked,
//! because each names documents and measures declared elsewhere.
//!
//! The result is data the engine already reads: every measure's effective `valid` window, with
//! the change that set its end (`end_change`) or its start (`start_change`) so that an outcome
//! can say why, and `Library::windows`.

use crate::ir::*;
use crate::resolve::Ctx;
use jiff::civil::Date;
use kc_syntax::ast::{self, ChangeKind, Item, WindowTarget};
use kc_syntax::{Diagnostic, ParsedFile};
use std::collections::{HashMap, HashSet};

struct Edge<'p> {
    file: usize,
    from: DocId,
    to: DocId,
    decl: &'p ast::DocChange,
}

fn day_before(d: Date) -> Date {
    d.yesterday().unwrap_or(d)
}

pub(crate) fn resolve(cx: &mut Ctx, lib: &mut Library, parsed: &[ParsedFile]) {
    let errors_before = cx.diags.len();
    // Which document each file declares.
    let doc_of_file: Vec<Option<DocId>> = cx
        .files
        .iter()
        .map(|f| lib.documents.iter().position(|d| d.path == f.path))
        .collect();
    let by_number: HashMap<String, DocId> = lib
        .documents
        .iter()
        .enumerate()
        .map(|(i, d)| (d.number.clone(), i))
        .collect();

    // 1. Every change names a known document, at a date that means something.
    let mut edges: Vec<Edge> = Vec::new();
    for (fi, p) in parsed.iter().enumerate() {
        let Some(src) = doc_of_file[fi] else { continue };
        cx.file = fi;
        for (_, item) in &p.items {
            let Item::Document(d) = item else { continue };
            for c in &d.changes {
                let Some(&to) = by_number.get(c.target.as_str()) else {
                    let mut known: Vec<&str> = by_number.keys().map(String::as_str).collect();
                    known.sort_unstable();
                    cx.push(
                        Diagnostic::error(
                            c.target_span,
                            format!("unknown document “{}”", c.target),
                            format!("no document of this number to {}", verb(c.kind)),
                        )
                        .with_note(format!("documents: {}", known.join(", "))),
                    );
                    continue;
                };
                edges.push(Edge {
                    file: fi,
                    from: src,
                    to,
                    decl: c,
                });
            }
        }
    }
    // The latest extension of each document: the end amendments and repeals are judged by.
    let mut extended_to: HashMap<DocId, Date> = HashMap::new();
    for e in edges.iter().filter(|e| e.decl.kind == ChangeKind::Extends) {
        let t = &lib.documents[e.to];
        cx.file = e.file;
        if e.decl.date <= t.declared_valid.1 {
            cx.err(
                e.decl.span,
                format!(
                    "an extension to {} does not extend {}, in force until {}",
                    e.decl.date, t.number, t.declared_valid.1
                ),
                "the date must be after the document's end",
            );
            continue;
        }
        let x = extended_to.entry(e.to).or_insert(e.decl.date);
        *x = (*x).max(e.decl.date);
    }
    for e in edges.iter().filter(|e| e.decl.kind != ChangeKind::Extends) {
        let t = &lib.documents[e.to];
        let end = extended_to
            .get(&e.to)
            .copied()
            .unwrap_or(t.declared_valid.1);
        cx.file = e.file;
        if e.decl.date <= t.declared_valid.0 || e.decl.date > end {
            cx.push(
                Diagnostic::error(
                    e.decl.span,
                    format!(
                        "{} is in force {} .. {}: {} from {} changes nothing",
                        t.number,
                        t.declared_valid.0,
                        end,
                        match e.decl.kind {
                            ChangeKind::Amends => "an amendment",
                            _ => "a repeal",
                        },
                        e.decl.date
                    ),
                    "date outside the document's validity",
                )
                .with_note(
                    "the date must be after the first day in force and no later than the last",
                ),
            );
            continue;
        }
        let s = &lib.documents[e.from];
        if e.decl.kind == ChangeKind::Amends && (e.decl.date < s.valid.0 || e.decl.date > s.valid.1)
        {
            cx.err(
                e.decl.span,
                format!(
                    "an amendment from {} is outside this document's own validity ({} .. {})",
                    e.decl.date, s.valid.0, s.valid.1
                ),
                "the amended measures would cover nothing",
            );
        }
    }
    // 2. No cycle: a document cannot (through others) change itself.
    report_cycles(cx, lib, &edges);
    if cx.diags.len() > errors_before {
        // No library comes of it; the windows are still checked, so every error shows at once.
        windows(cx, lib, parsed, &doc_of_file, &by_number);
        return;
    }

    // 3. Extensions: measures that ran to the document's end now run to the new date.
    for (&doc, &to) in &extended_to {
        let by = edges
            .iter()
            .find(|e| e.to == doc && e.decl.kind == ChangeKind::Extends && e.decl.date == to)
            .map(|e| lib.documents[e.from].number.clone())
            .unwrap_or_default();
        let end = lib.documents[doc].declared_valid.1;
        let change = Change {
            kind: ChangeKind::Extends,
            by,
            date: to,
            measure: None,
        };
        for m in lib.measures.iter_mut().filter(|m| m.doc == doc) {
            if m.valid.1 == end {
                m.valid.1 = to;
                m.end_change = Some(change.clone());
            }
        }
        lib.documents[doc].valid.1 = to;
    }

    // 4. Amendments: a measure that `replaces` one of the amended document takes over from
    //    the amendment's date.
    for (fi, p) in parsed.iter().enumerate() {
        let Some(src) = doc_of_file[fi] else { continue };
        cx.file = fi;
        for (_, item) in &p.items {
            let Item::Measure(md) = item else { continue };
            let Some(old_name) = &md.replaces else {
                continue;
            };
            let (Some(&new), Some(&old)) = (
                lib.measure_index.get(&md.name.name),
                lib.measure_index.get(&old_name.name),
            ) else {
                cx.err(
                    old_name.span,
                    format!("unknown measure `{}`", old_name.name),
                    "no measure of this name to replace",
                );
                continue;
            };
            let target = lib.measures[old].doc;
            let Some(amend) = edges
                .iter()
                .find(|e| e.from == src && e.to == target && e.decl.kind == ChangeKind::Amends)
            else {
                cx.push(
                    Diagnostic::error(
                        old_name.span,
                        format!(
                            "measure `{}` replaces `{}` of {}, which {} does not amend",
                            md.name.name,
                            old_name.name,
                            lib.documents[target].number,
                            lib.documents[src].number
                        ),
                        "not a measure of an amended document",
                    )
                    .with_note(format!(
                        "add `amends \"{}\" from DATE` to the document declaration",
                        lib.documents[target].number
                    )),
                );
                continue;
            };
            if lib.measures[old].event != lib.measures[new].event {
                cx.err(
                    old_name.span,
                    format!(
                        "measure `{}` is triggered by another event than `{}`, which it replaces",
                        md.name.name, old_name.name
                    ),
                    "a replacement pays for the same event",
                );
                continue;
            }
            let date = amend.decl.date;
            let by = lib.documents[src].number.clone();
            let new_id = lib.measures[new].id.clone();
            let old_id = lib.measures[old].id.clone();
            let o = &mut lib.measures[old];
            if o.valid.1 >= date {
                o.valid.1 = day_before(date);
                o.end_change = Some(Change {
                    kind: ChangeKind::Amends,
                    by: by.clone(),
                    date,
                    measure: Some(new_id),
                });
            }
            let n = &mut lib.measures[new];
            n.valid.0 = n.valid.0.max(date);
            n.start_change = Some(Change {
                kind: ChangeKind::Amends,
                by,
                date,
                measure: Some(old_id),
            });
        }
    }

    // 5. Repeals: no measure of the document covers an event on or after the date.
    let mut repealed: HashMap<DocId, (Date, DocId)> = HashMap::new();
    for e in edges.iter().filter(|e| e.decl.kind == ChangeKind::Repeals) {
        let x = repealed.entry(e.to).or_insert((e.decl.date, e.from));
        if e.decl.date < x.0 {
            *x = (e.decl.date, e.from);
        }
    }
    for (&doc, &(date, from)) in &repealed {
        let change = Change {
            kind: ChangeKind::Repeals,
            by: lib.documents[from].number.clone(),
            date,
            measure: None,
        };
        for m in lib.measures.iter_mut().filter(|m| m.doc == doc) {
            if m.valid.1 >= date {
                m.valid.1 = day_before(date);
                m.end_change = Some(change.clone());
            }
        }
        let d = &mut lib.documents[doc];
        d.valid.1 = d.valid.1.min(day_before(date));
    }
    for e in &edges {
        let change = Change {
            kind: e.decl.kind,
            by: lib.documents[e.from].number.clone(),
            date: e.decl.date,
            measure: None,
        };
        lib.documents[e.to].changes.push(change);
    }
    for d in &mut lib.documents {
        d.changes.sort_by_key(|c| (c.date, c.kind));
    }

    // 6. Application windows.
    windows(cx, lib, parsed, &doc_of_file, &by_number);
}

fn verb(k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::Amends => "amend",
        ChangeKind::Extends => "extend",
        ChangeKind::Repeals => "repeal",
    }
}

fn report_cycles(cx: &mut Ctx, lib: &Library, edges: &[Edge]) {
    // Depth-first search from every document; an edge back to a document on the current path
    // closes a cycle, reported once at that edge.
    let n = lib.documents.len();
    let mut state = vec![0u8; n]; // 0 new, 1 on the path, 2 done
    let mut path: Vec<DocId> = Vec::new();
    fn visit(
        d: DocId,
        edges: &[Edge],
        state: &mut [u8],
        path: &mut Vec<DocId>,
        found: &mut Vec<(usize, ast::DocChange, Vec<DocId>)>,
    ) {
        state[d] = 1;
        path.push(d);
        for e in edges.iter().filter(|e| e.from == d) {
            match state[e.to] {
                1 => {
                    let start = path.iter().position(|&x| x == e.to).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(e.to);
                    found.push((e.file, e.decl.clone(), cycle));
                }
                0 => visit(e.to, edges, state, path, found),
                _ => {}
            }
        }
        path.pop();
        state[d] = 2;
    }
    let mut found = Vec::new();
    for d in 0..n {
        if state[d] == 0 {
            visit(d, edges, &mut state, &mut path, &mut found);
        }
    }
    for (file, decl, cycle) in found {
        cx.file = file;
        let names: Vec<&str> = cycle
            .iter()
            .map(|&d| lib.documents[d].number.as_str())
            .collect();
        let msg = if cycle.len() == 2 {
            format!("{} cannot {} itself", names[0], verb(decl.kind))
        } else {
            format!(
                "documents change each other in a cycle: {}",
                names.join(" → ")
            )
        };
        cx.err(decl.span, msg, "this change closes the cycle");
    }
}

fn windows(
    cx: &mut Ctx,
    lib: &mut Library,
    parsed: &[ParsedFile],
    doc_of_file: &[Option<DocId>],
    by_number: &HashMap<String, DocId>,
) {
    let mut seen: HashSet<String> = HashSet::new();
    for (fi, p) in parsed.iter().enumerate() {
        let Some(doc) = doc_of_file[fi] else { continue };
        cx.file = fi;
        for (_, item) in &p.items {
            let Item::Window(w) = item else { continue };
            let errors_before = cx.diags.len();
            if !seen.insert(w.name.name.clone()) {
                cx.err(
                    w.name.span,
                    format!("window `{}` is declared twice", w.name.name),
                    "repeated",
                );
            }
            if let Some((c, span)) = &w.clause
                && !lib.documents[doc].clauses.iter().any(|x| &x.id == c)
            {
                cx.err(
                    *span,
                    format!("clause `{c}` is not a heading of this file"),
                    "no such clause",
                );
            }
            let mut measures: Vec<usize> = Vec::new();
            match &w.opens {
                WindowTarget::Measures(ids) => {
                    for id in ids {
                        match lib.measure_index.get(&id.name) {
                            Some(&mi) => measures.push(mi),
                            None => cx.err(
                                id.span,
                                format!("unknown measure `{}`", id.name),
                                "no measure of this name to open",
                            ),
                        }
                    }
                }
                WindowTarget::Document(number, span) => match by_number.get(number.as_str()) {
                    Some(&d) => {
                        let own: Vec<usize> = (0..lib.measures.len())
                            .filter(|&i| lib.measures[i].doc == d)
                            .collect();
                        // The measures that replaced the document's own are open with it.
                        let ids: Vec<&str> =
                            own.iter().map(|&i| lib.measures[i].id.as_str()).collect();
                        let successors = (0..lib.measures.len()).filter(|&i| {
                            lib.measures[i]
                                .start_change
                                .as_ref()
                                .and_then(|c| c.measure.as_deref())
                                .is_some_and(|o| ids.contains(&o))
                        });
                        measures.extend(successors.collect::<Vec<_>>());
                        measures.extend(own);
                        measures.sort_unstable();
                        measures.dedup();
                    }
                    None => cx.err(
                        *span,
                        format!("unknown document “{number}”"),
                        "no document of this number to open",
                    ),
                },
            }
            let (a, b, span) = w.applications;
            if b < a {
                cx.err(
                    span,
                    "the window closes before it opens",
                    "FROM must not be after TO",
                );
            }
            if let Some((c, d, espan)) = w.events
                && d < c
            {
                cx.err(
                    espan,
                    "the event period ends before it starts",
                    "FROM must not be after TO",
                );
            }
            if cx.diags.len() > errors_before {
                continue;
            }
            lib.windows.push(Window {
                id: w.name.name.clone(),
                label: w.label.clone(),
                doc,
                clause: w.clause.as_ref().map(|c| c.0.clone()),
                measures,
                applications: (a, b),
                events: w.events.map(|(c, d, _)| (c, d)),
            });
        }
    }
}

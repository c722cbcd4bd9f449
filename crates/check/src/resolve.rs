//! The checker proper: vocabulary first (from every file), then each document file's
//! fundings, parameters and measures.

use crate::ir::*;
use crate::{Checked, FileDiagnostic, SourceFile};
use jiff::civil::Date;
use kc_money::{Dec, Rate};
use kc_syntax::ast::{self, BinOp, ExprKind, Item, Level, Pattern};
use kc_syntax::{Diagnostic, ParsedFile, Span};
use std::collections::{BTreeMap, HashMap};

pub(crate) struct Ctx<'a> {
    pub(crate) files: &'a [SourceFile],
    pub(crate) file: usize,
    pub(crate) diags: Vec<FileDiagnostic>,
}

impl Ctx<'_> {
    pub(crate) fn err(&mut self, span: Span, message: impl Into<String>, label: impl Into<String>) {
        self.diags.push(FileDiagnostic {
            file: self.file,
            diagnostic: Diagnostic::error(span, message, label),
        });
    }
    pub(crate) fn push(&mut self, d: Diagnostic) {
        self.diags.push(FileDiagnostic {
            file: self.file,
            diagnostic: d,
        });
    }
    fn text(&self, span: Span) -> String {
        let t = &self.files[self.file].text;
        // Pest spans can end after trailing blanks and comments; the rule as written is trimmed.
        let raw = t.get(span.start..span.end).unwrap_or("");
        let code: Vec<&str> = raw
            .lines()
            .map(|l| l.split(" #").next().unwrap_or("").trim_end())
            .filter(|l| !l.trim().is_empty())
            .collect();
        code.join("\n").trim().to_string()
    }
}

/// Checks a whole library. Files with a `document` declaration are policy documents; the
/// vocabulary may be declared in any file (by convention `vocabulary.md`).
pub fn check_library(files: &[SourceFile]) -> Checked {
    let parsed: Vec<ParsedFile> = files
        .iter()
        .map(|f| kc_syntax::parse_file(&f.text))
        .collect();
    let mut cx = Ctx {
        files,
        file: 0,
        diags: Vec::new(),
    };
    for (i, p) in parsed.iter().enumerate() {
        for d in &p.diagnostics {
            cx.diags.push(FileDiagnostic {
                file: i,
                diagnostic: d.clone(),
            });
        }
    }
    let vocab = build_vocabulary(&mut cx, &parsed);
    let Some(vocab) = vocab else {
        return Checked {
            library: None,
            diagnostics: cx.diags,
        };
    };
    let mut lib = Library {
        vocab,
        documents: Vec::new(),
        parameters: Vec::new(),
        measures: Vec::new(),
        measure_index: BTreeMap::new(),
        windows: Vec::new(),
    };
    let mut measure_spans: HashMap<String, (usize, Span)> = HashMap::new();
    for (fi, p) in parsed.iter().enumerate() {
        cx.file = fi;
        check_document_file(&mut cx, &mut lib, p, &mut measure_spans);
    }
    // Amendments, extensions, repeals and windows name other documents' measures: they are
    // resolved once every measure is known, and only in a library that checks so far.
    if !cx.diags.iter().any(|d| d.diagnostic.is_error()) {
        crate::lifecycle::resolve(&mut cx, &mut lib, &parsed);
    }
    let ok = !cx.diags.iter().any(|d| d.diagnostic.is_error());
    Checked {
        library: ok.then_some(lib),
        diagnostics: cx.diags,
    }
}

fn builtin_type(name: &str) -> Option<Type> {
    Some(match name {
        "Money" => Type::Money,
        "Rate" => Type::Rate,
        "Int" => Type::Int,
        "Decimal" => Type::Decimal,
        "Bool" => Type::Bool,
        "Date" => Type::Date,
        "Text" => Type::Text,
        _ => return None,
    })
}

fn build_vocabulary(cx: &mut Ctx, parsed: &[ParsedFile]) -> Option<Vocabulary> {
    let mut v = Vocabulary::default();
    let mut enum_spans: Vec<(usize, Span)> = Vec::new();
    // Enums first: records, events and figures refer to them.
    for (fi, p) in parsed.iter().enumerate() {
        cx.file = fi;
        for (_, item) in &p.items {
            if let Item::Enum(e) = item {
                if v.enum_by_name(&e.name.name).is_some() {
                    cx.err(
                        e.name.span,
                        format!("enum `{}` is declared twice", e.name.name),
                        "second declaration",
                    );
                    continue;
                }
                let mut def = EnumDef {
                    name: e.name.name.clone(),
                    label: e.label.clone(),
                    members: Vec::new(),
                };
                add_members(cx, &mut def, &e.members, None);
                v.enums.push(def);
                enum_spans.push((fi, e.name.span));
            }
        }
    }
    let resolve_ty = |cx: &mut Ctx, v: &Vocabulary, id: &ast::Ident| -> Option<Type> {
        if let Some(t) = builtin_type(&id.name) {
            return Some(t);
        }
        if let Some(e) = v.enum_by_name(&id.name) {
            return Some(Type::Enum(e));
        }
        cx.err(
            id.span,
            format!("unknown type `{}`", id.name),
            "not a built-in type (Money, Rate, Int, Decimal, Bool, Date, Text) nor a declared enum",
        );
        None
    };
    let mut have_applicant = false;
    let mut first_vocab_file = None;
    for (fi, p) in parsed.iter().enumerate() {
        cx.file = fi;
        for (_, item) in &p.items {
            match item {
                Item::Record(r) => {
                    first_vocab_file.get_or_insert(fi);
                    if r.name.name != "applicant" {
                        cx.err(
                            r.name.span,
                            format!("unknown record `{}`", r.name.name),
                            "the only record is `applicant`",
                        );
                        continue;
                    }
                    if have_applicant {
                        cx.err(
                            r.name.span,
                            "record `applicant` is declared twice",
                            "second declaration",
                        );
                        continue;
                    }
                    have_applicant = true;
                    v.applicant_label = r.label.clone();
                    v.applicant = fields(cx, &v, &r.fields, &resolve_ty);
                }
                Item::Event(r) => {
                    first_vocab_file.get_or_insert(fi);
                    if v.event_by_name(&r.name.name).is_some() {
                        cx.err(
                            r.name.span,
                            format!("event `{}` is declared twice", r.name.name),
                            "second declaration",
                        );
                        continue;
                    }
                    let fs = fields(cx, &v, &r.fields, &resolve_ty);
                    for (f, decl) in fs.iter().zip(&r.fields) {
                        if f.name == "date" || f.name == "id" || f.name == "kind" {
                            cx.err(
                                decl.name.span,
                                format!("`{}` is implicit on every event", f.name),
                                "reserved field name",
                            );
                        }
                    }
                    v.events.push(EventDef {
                        name: r.name.name.clone(),
                        label: r.label.clone(),
                        fields: fs,
                    });
                }
                Item::Figure(f) => {
                    if v.figure_by_name(&f.name.name).is_some() {
                        cx.err(
                            f.name.span,
                            format!("figure `{}` is declared twice", f.name.name),
                            "second declaration",
                        );
                        continue;
                    }
                    if let Some(ty) = resolve_ty(cx, &v, &f.ty) {
                        v.figures.push(FigureDef {
                            name: f.name.name.clone(),
                            label: f.label.clone(),
                            ty,
                        });
                    }
                }
                _ => {}
            }
        }
    }
    cx.file = first_vocab_file.unwrap_or(0);
    let mut missing = Vec::new();
    for (name, slot) in [("ApplicantKind", 0), ("Region", 1), ("Certification", 2)] {
        match v.enum_by_name(name) {
            Some(e) => match slot {
                0 => v.applicant_kind = e,
                1 => v.region = e,
                _ => v.certification = e,
            },
            None => missing.push(format!("enum `{name}`")),
        }
    }
    if !have_applicant {
        missing.push("record `applicant`".into());
    }
    for (field, en) in [("kind", "ApplicantKind"), ("region", "Region")] {
        match v.applicant.iter().position(|f| f.name == field) {
            Some(i) => {
                let want = v.enum_by_name(en).map(Type::Enum);
                if Some(v.applicant[i].ty) != want {
                    missing.push(format!("applicant field `{field}: {en}`"));
                }
                if field == "kind" {
                    v.kind_slot = i;
                } else {
                    v.region_slot = i;
                }
            }
            None if have_applicant => missing.push(format!("applicant field `{field}: {en}`")),
            None => {}
        }
    }
    if !missing.is_empty() {
        cx.err(
            Span::new(0, 0),
            format!(
                "the vocabulary is incomplete: missing {}",
                missing.join(", ")
            ),
            "declare these in the vocabulary file",
        );
        return None;
    }
    Some(v)
}

fn add_members(
    cx: &mut Ctx,
    def: &mut EnumDef,
    members: &[ast::EnumMember],
    parent: Option<MemberId>,
) {
    for m in members {
        if def.member(&m.name.name).is_some() {
            cx.err(
                m.name.span,
                format!("`{}` is already a member of `{}`", m.name.name, def.name),
                "repeated member",
            );
            continue;
        }
        def.members.push(EnumMemberDef {
            name: m.name.name.clone(),
            label: m.label.clone(),
            parent,
        });
        let id = (def.members.len() - 1) as MemberId;
        add_members(cx, def, &m.children, Some(id));
    }
}

fn fields(
    cx: &mut Ctx,
    v: &Vocabulary,
    decls: &[ast::FieldDecl],
    resolve_ty: &dyn Fn(&mut Ctx, &Vocabulary, &ast::Ident) -> Option<Type>,
) -> Vec<FieldDef> {
    let mut out: Vec<FieldDef> = Vec::new();
    for f in decls {
        if out.iter().any(|x| x.name == f.name.name) {
            cx.err(
                f.name.span,
                format!("field `{}` is declared twice", f.name.name),
                "repeated field",
            );
            continue;
        }
        if let Some(ty) = resolve_ty(cx, v, &f.ty) {
            out.push(FieldDef {
                name: f.name.name.clone(),
                label: f.label.clone(),
                ty,
            });
        }
    }
    out
}

fn split_from(
    cx: &mut Ctx,
    shares: &ast::Shares,
    name: Option<&str>,
    label: Option<&str>,
) -> Option<Split> {
    let mut seen: Vec<Level> = Vec::new();
    let mut ok = true;
    for s in &shares.shares {
        if seen.contains(&s.level) {
            cx.err(
                s.span,
                format!("level `{}` appears twice in this split", s.level.keyword()),
                "repeated level",
            );
            ok = false;
        }
        seen.push(s.level);
    }
    let sum: Dec = shares.shares.iter().map(|s| s.fraction).sum();
    if sum != Dec::ONE {
        let written: Vec<String> = shares.shares.iter().map(|s| s.text.clone()).collect();
        cx.push(
            Diagnostic::error(
                shares.span,
                format!("the shares of this split sum to {}, not 1", sum.normalize()),
                format!("{} ≠ 1", written.join(" + ")),
            )
            .with_note("every yuan of an award must be paid by exactly one level"),
        );
        ok = false;
    }
    let remainder = match shares.remainder {
        Some((l, span)) => match shares.shares.iter().position(|s| s.level == l) {
            Some(i) => i,
            None => {
                cx.err(
                    span,
                    format!(
                        "the remainder level `{}` has no share in this split",
                        l.keyword()
                    ),
                    "not a party of the split",
                );
                ok = false;
                0
            }
        },
        None => 0,
    };
    ok.then(|| Split {
        name: name.map(String::from),
        label: label.map(String::from),
        shares: shares
            .shares
            .iter()
            .map(|s| (s.level, Rate::from_fraction(s.fraction), s.text.clone()))
            .collect(),
        remainder,
    })
}

fn check_document_file(
    cx: &mut Ctx,
    lib: &mut Library,
    p: &ParsedFile,
    measure_spans: &mut HashMap<String, (usize, Span)>,
) {
    let docs: Vec<&ast::DocumentDecl> = p
        .items
        .iter()
        .filter_map(|(_, i)| {
            if let Item::Document(d) = i {
                Some(d)
            } else {
                None
            }
        })
        .collect();
    let has_rules = p.items.iter().any(|(_, i)| {
        matches!(
            i,
            Item::Measure(_) | Item::Parameter(_) | Item::Funding(_) | Item::Window(_)
        )
    });
    let Some(doc) = docs.first() else {
        // After a syntax error the document block may be the one lost: do not pile on.
        if has_rules && p.diagnostics.is_empty() {
            let span = p
                .items
                .iter()
                .find_map(|(_, i)| match i {
                    Item::Measure(m) => Some(m.name.span),
                    Item::Parameter(m) => Some(m.name.span),
                    Item::Funding(m) => Some(m.name.span),
                    Item::Window(m) => Some(m.name.span),
                    _ => None,
                })
                .unwrap_or_default();
            cx.err(
                span,
                "rules outside a document: this file has no `document` declaration",
                "this rule belongs to no document",
            );
        }
        return;
    };
    for extra in docs.iter().skip(1) {
        cx.err(
            extra.span,
            "a file holds one document",
            "second `document` declaration",
        );
    }
    let path = cx.files[cx.file].path.clone();
    let Some((vfrom, vto, vspan)) = doc.valid else {
        cx.err(
            doc.span,
            format!("document {} has no validity window", doc.number),
            "add `valid FROM .. TO`",
        );
        return;
    };
    if vto < vfrom {
        cx.err(
            vspan,
            "the validity window ends before it starts",
            "FROM must not be after TO",
        );
    }
    let region = doc.region.as_ref().and_then(|r| {
        let m = lib.vocab.enums[lib.vocab.region].member(&r.name);
        if m.is_none() {
            cx.err(
                r.span,
                format!("unknown region `{}`", r.name),
                "not a member of enum Region",
            );
        }
        m
    });
    let doc_id = lib.documents.len();
    lib.documents.push(Document {
        number: doc.number.clone(),
        title: doc
            .title
            .clone()
            .or_else(|| p.literate.title.clone())
            .unwrap_or_default(),
        issuer: doc.issuer.clone(),
        issued: doc.issued,
        published: doc.published,
        valid: (vfrom, vto),
        region,
        path: path.clone(),
        clauses: p.literate.clauses.clone(),
        unpaid: Vec::new(),
        declared_valid: (vfrom, vto),
        changes: Vec::new(),
    });
    // Clause ids must be unique, or a citation would be ambiguous.
    let mut clause_ids: HashMap<&str, Span> = HashMap::new();
    for c in &p.literate.clauses {
        if let Some(_prev) = clause_ids.insert(c.id.as_str(), c.span) {
            cx.err(
                c.span,
                format!("clause `{}` appears twice in this file", c.id),
                "repeated clause heading",
            );
        }
    }

    for (_, item) in &p.items {
        let Item::Unpaid(u) = item else { continue };
        if !p.literate.clauses.iter().any(|c| c.id == u.clause) {
            cx.err(
                u.span,
                format!("clause `{}` is not a heading of this file", u.clause),
                "no such clause",
            );
        } else if u.reason.trim().is_empty() {
            cx.err(
                u.span,
                "say why the clause holds no payment rule",
                "empty reason",
            );
        } else if lib.documents[doc_id]
            .unpaid
            .iter()
            .any(|(c, _)| c == &u.clause)
        {
            cx.err(
                u.span,
                format!("clause `{}` is already explained", u.clause),
                "repeated `unpaid`",
            );
        } else {
            lib.documents[doc_id]
                .unpaid
                .push((u.clause.clone(), u.reason.clone()));
        }
    }
    // Fundings and parameters are scoped to the document.
    let mut fundings: HashMap<String, Split> = HashMap::new();
    let mut params: HashMap<String, ParamId> = HashMap::new();
    for (_, item) in &p.items {
        match item {
            Item::Funding(f) => {
                if fundings.contains_key(&f.name.name) {
                    cx.err(
                        f.name.span,
                        format!("funding `{}` is declared twice", f.name.name),
                        "repeated",
                    );
                    continue;
                }
                if let Some(s) = split_from(cx, &f.shares, Some(&f.name.name), Some(&f.label.zh)) {
                    fundings.insert(f.name.name.clone(), s);
                }
            }
            Item::Parameter(pd) => {
                if params.contains_key(&pd.name.name) {
                    cx.err(
                        pd.name.span,
                        format!("parameter `{}` is declared twice", pd.name.name),
                        "repeated",
                    );
                    continue;
                }
                let mut values: Vec<(Date, Value)> = Vec::new();
                let mut ty = None;
                for (e, from, span) in &pd.values {
                    let Some((val, t)) = literal_value(e) else {
                        cx.err(
                            e.span,
                            "a parameter value must be a literal",
                            "not a literal",
                        );
                        continue;
                    };
                    match ty {
                        None => ty = Some(t),
                        Some(t0) if t0 != t => {
                            cx.err(
                                e.span,
                                format!(
                                    "this value is {}, the parameter's first value is {}",
                                    lib.vocab.type_name(t),
                                    lib.vocab.type_name(t0)
                                ),
                                "type mismatch",
                            );
                        }
                        _ => {}
                    }
                    if let Some((last, _)) = values.last()
                        && *from <= *last
                    {
                        cx.err(*span, format!("dated values must be in increasing date order: {from} is not after {last}"), "out of order");
                    }
                    values.push((*from, val));
                }
                if let Some(ty) = ty {
                    params.insert(pd.name.name.clone(), lib.parameters.len());
                    lib.parameters.push(Parameter {
                        name: pd.name.name.clone(),
                        label: pd.label.clone(),
                        ty,
                        values,
                    });
                }
            }
            _ => {}
        }
    }
    let default_split = match &doc.funding {
        Some(f) => match fundings.get(&f.name) {
            Some(s) => Some(s.clone()),
            None => {
                cx.err(
                    f.span,
                    format!("unknown funding `{}`", f.name),
                    "declare it with `funding NAME \"…\" = …`",
                );
                None
            }
        },
        None => None,
    };

    for (block, item) in &p.items {
        let Item::Measure(m) = item else { continue };
        if let Some((_, _prev)) = measure_spans.get(&m.name.name) {
            cx.err(
                m.name.span,
                format!("measure `{}` is declared twice in the library", m.name.name),
                "measure ids are unique across the library",
            );
            continue;
        }
        measure_spans.insert(m.name.name.clone(), (cx.file, m.name.span));
        let block_clause = p.literate.blocks[*block]
            .clause
            .map(|i| &p.literate.clauses[i]);
        if let Some(measure) = check_measure(
            cx,
            lib,
            m,
            doc_id,
            &params,
            &fundings,
            default_split.as_ref(),
            block_clause,
            &p.literate.clauses,
        ) {
            lib.measure_index
                .insert(measure.id.clone(), lib.measures.len());
            lib.measures.push(measure);
        }
    }
}

fn literal_value(e: &ast::Expr) -> Option<(Value, Type)> {
    Some(match &e.kind {
        ExprKind::Money(d, _) => (Value::Money(kc_money::Money::from_decimal(*d)), Type::Money),
        ExprKind::Rate(d, u) => (Value::Rate(Rate::from_fraction(*d), *u), Type::Rate),
        ExprKind::Int(i) => (Value::Int(*i), Type::Int),
        ExprKind::Decimal(d) => (Value::Decimal(*d), Type::Decimal),
        ExprKind::Bool(b) => (Value::Bool(*b), Type::Bool),
        ExprKind::Date(d) => (Value::Date(*d), Type::Date),
        ExprKind::Text(t) => (Value::Text(t.clone()), Type::Text),
        _ => return None,
    })
}

#[allow(clippy::too_many_arguments)]
fn check_measure(
    cx: &mut Ctx,
    lib: &Library,
    m: &ast::MeasureDecl,
    doc_id: DocId,
    params: &HashMap<String, ParamId>,
    fundings: &HashMap<String, Split>,
    default_split: Option<&Split>,
    block_clause: Option<&kc_syntax::literate::ClauseText>,
    clauses: &[kc_syntax::literate::ClauseText],
) -> Option<Measure> {
    let errors_before = cx.diags.len();
    let name = &m.name.name;
    let clause = match &m.clause {
        None => {
            let hint = block_clause.map(|c| {
                format!(
                    "this block sits under clause `{}`: add `clause \"{}\"`",
                    c.id, c.id
                )
            });
            let mut d = Diagnostic::error(
                m.name.span,
                format!("measure `{name}` cites no clause"),
                "every measure must cite the clause it encodes",
            );
            if let Some(h) = hint {
                d = d.with_note(h);
            }
            cx.push(d);
            None
        }
        Some((id, span)) => match clauses.iter().find(|c| &c.id == id) {
            Some(c) => Some(c.clone()),
            None => {
                let known: Vec<&str> = clauses.iter().map(|c| c.id.as_str()).take(12).collect();
                cx.push(
                    Diagnostic::error(
                        *span,
                        format!("clause `{id}` is not a heading of this file"),
                        "no such clause",
                    )
                    .with_note(format!("clauses here: {}", known.join(" "))),
                );
                None
            }
        },
    };
    let form = m.form.as_ref().and_then(|f| {
        let pf = PaymentForm::from_name(&f.name);
        if pf.is_none() {
            cx.err(
                f.span,
                format!("unknown payment form `{}`", f.name),
                "one of 前资助, 后补助, 奖励, 配套, 补助, 抵扣, 收益分配",
            );
        }
        pf
    });
    let event = match &m.on {
        None => {
            cx.err(
                m.name.span,
                format!("measure `{name}` has no triggering event"),
                "add `on EVENT`",
            );
            None
        }
        Some(e) => {
            let id = lib.vocab.event_by_name(&e.name);
            if id.is_none() {
                let known: Vec<&str> = lib.vocab.events.iter().map(|e| e.name.as_str()).collect();
                cx.push(
                    Diagnostic::error(
                        e.span,
                        format!("unknown event `{}`", e.name),
                        "not declared in the vocabulary",
                    )
                    .with_note(format!("events: {}", known.join(", "))),
                );
            }
            id
        }
    };
    let doc = &lib.documents[doc_id];
    let valid = match m.valid {
        Some((a, b, span)) => {
            if b < a {
                cx.err(
                    span,
                    "the validity window ends before it starts",
                    "FROM must not be after TO",
                );
            }
            if a < doc.valid.0 || b > doc.valid.1 {
                cx.err(
                    span,
                    format!(
                        "a measure cannot be valid outside its document ({} .. {})",
                        doc.valid.0, doc.valid.1
                    ),
                    "outside the document's window",
                );
            }
            (a, b)
        }
        None => doc.valid,
    };
    let mut sc = Scope {
        lib,
        params,
        event,
        lets: Vec::new(),
    };
    let mut lets = Vec::new();
    for (n, words, e) in &m.lets {
        if sc.lets.iter().any(|(x, _)| x == &n.name) {
            cx.err(
                n.span,
                format!("`{}` is already bound", n.name),
                "repeated let",
            );
        }
        // A trace shows the binding to applicants: it needs words, as a parameter needs a label.
        if words.as_deref().is_none_or(|w| w.trim().is_empty()) {
            cx.err(
                n.span,
                format!(
                    "`let {}` has no words: write `let {} \"中文名称\" = …` so traces can name it",
                    n.name, n.name
                ),
                "missing words",
            );
        }
        let node = sc.expr(cx, e, None);
        if let Some(node) = node {
            sc.lets.push((n.name.clone(), node.ty));
            lets.push(Binding {
                name: n.name.clone(),
                words: words.clone().unwrap_or_else(|| n.name.clone()),
                node,
            });
        }
    }
    let mut conditions = Vec::new();
    for c in &m.conditions {
        if let Some(node) = sc.expect(cx, &c.expr, Type::Bool, "a condition") {
            let needs_event = mentions_event(&node, &lets);
            conditions.push(ConditionRule {
                expr: node,
                words: c.words.clone(),
                needs_event,
            });
        }
    }
    let grant = match &m.grant {
        None => {
            cx.err(
                m.name.span,
                format!("measure `{name}` grants nothing"),
                "add a `grant` clause",
            );
            None
        }
        Some(ast::Grant::Fixed(e)) => sc
            .expect(cx, e, Type::Money, "a grant")
            .map(GrantRule::Fixed),
        Some(ast::Grant::UpTo(e)) => sc
            .expect(cx, e, Type::Money, "a grant")
            .map(GrantRule::UpTo),
        Some(ast::Grant::Review { range, .. }) => match range {
            None => Some(GrantRule::Review(None)),
            Some((a, b)) => {
                let a = sc.expect(cx, a, Type::Money, "a review range");
                let b = sc.expect(cx, b, Type::Money, "a review range");
                a.zip(b).map(|r| GrantRule::Review(Some(r)))
            }
        },
        Some(ast::Grant::Parts(parts)) => {
            let mut out = Vec::new();
            for (level, e, span) in parts {
                if out.iter().any(|(l, _)| l == level) {
                    cx.err(
                        *span,
                        format!("level `{}` has two parts", level.keyword()),
                        "repeated level",
                    );
                }
                if let Some(n) = sc.expect(cx, e, Type::Money, "a part of a grant") {
                    out.push((*level, n));
                }
            }
            Some(GrantRule::Parts(out))
        }
    };
    let split = match (&m.funded, &m.grant) {
        (Some(_), Some(ast::Grant::Parts(parts))) => {
            cx.err(
                parts.first().map(|p| p.2).unwrap_or(m.name.span),
                "a grant in parts already says who pays: drop `funded by`",
                "parts and funded by together",
            );
            None
        }
        (_, Some(ast::Grant::Parts(parts))) => Some(Split {
            name: None,
            label: None,
            shares: parts
                .iter()
                .map(|(l, _, _)| (*l, Rate::ZERO, String::new()))
                .collect(),
            remainder: 0,
        }),
        (Some(ast::Funded::Named(n)), _) => match fundings.get(&n.name) {
            Some(s) => Some(s.clone()),
            None => {
                cx.err(
                    n.span,
                    format!("unknown funding `{}`", n.name),
                    "declare it in this document with `funding`",
                );
                None
            }
        },
        (Some(ast::Funded::Inline(s)), _) => split_from(cx, s, None, None),
        (None, _) => match default_split {
            Some(s) => Some(s.clone()),
            None => {
                cx.err(
                    m.name.span,
                    format!("measure `{name}` says nothing of who pays"),
                    "add `funded by …` or a document default `funding`",
                );
                None
            }
        },
    };
    // A grant in parts: each level's share is its own formula, which is what the split shows
    // (`省级 60% × event.service_amount`), not an empty share.
    let split = split.map(|mut s| {
        if let Some(GrantRule::Parts(ps)) = &grant {
            for ((level, _, text), (l, n)) in s.shares.iter_mut().zip(ps) {
                if level == l {
                    *text = n.text.split_whitespace().collect::<Vec<_>>().join(" ");
                }
            }
        }
        s
    });
    let mut caps = Vec::new();
    if let (Some(ast::Grant::Parts(_)), Some(c)) = (&m.grant, m.caps.first()) {
        cx.err(
            c.span,
            "a grant in parts cannot carry a per-recipient cap",
            "cap the parts' formulas instead",
        );
    }
    for c in &m.caps {
        if let Some(n) = sc.expect(cx, &c.amount, Type::Money, "a cap") {
            caps.push(CapRule {
                amount: n,
                period: c.period,
            });
        }
    }
    let mut once = Vec::new();
    for o in &m.once {
        match o {
            ast::Once::PerApplicant(_) => once.push(OnceRule::PerApplicant),
            ast::Once::PerKey(keys) => {
                let mut parts = Vec::new();
                for e in keys {
                    if let Some(n) = sc.expr(cx, e, None) {
                        if !matches!(n.ty, Type::Text | Type::Int | Type::Enum(_) | Type::Date) {
                            cx.err(
                                e.span,
                                format!(
                                    "`once per` needs a key (Text, Int, Date or an enum), found {}",
                                    lib.vocab.type_name(n.ty)
                                ),
                                "not a key",
                            );
                        }
                        parts.push(n);
                    }
                }
                if parts.len() == 1 {
                    once.push(OnceRule::PerKey(parts.remove(0)));
                } else if parts.len() > 1 {
                    let text = parts
                        .iter()
                        .map(|p| p.text.clone())
                        .collect::<Vec<_>>()
                        .join(", ");
                    once.push(OnceRule::PerKey(Node {
                        kind: NodeKind::Key(parts),
                        ty: Type::Text,
                        text,
                    }));
                }
            }
        }
    }
    if let Some((n, span)) = m.consecutive
        && n == 0
    {
        cx.err(
            span,
            "`consecutive 0 years` allows nothing",
            "must be at least 1",
        );
    }
    if cx.diags.len() > errors_before {
        return None;
    }
    let file = &cx.files[cx.file];
    let (line, _) = kc_syntax::line_col(&file.text, m.span.start);
    Some(Measure {
        id: name.clone(),
        label: m.label.clone(),
        doc: doc_id,
        clause: clause?,
        form,
        event: event?,
        valid,
        lets,
        conditions,
        grant: grant?,
        split: split?,
        caps,
        once,
        consecutive: m.consecutive.map(|c| c.0),
        claim_within: m
            .claim_within
            .map(|(count, unit, _)| ClaimPeriod { count, unit }),
        end_change: None,
        start_change: None,
        source: cx.text(m.span),
        location: (file.path.clone(), line),
    })
}

fn mentions_event(n: &Node, lets: &[Binding]) -> bool {
    let mut found = false;
    visit(n, &mut |x| {
        if let NodeKind::EventField(_)
        | NodeKind::EventDate
        | NodeKind::EventId
        | NodeKind::Increment(..) = x.kind
        {
            found = true;
        }
        if let NodeKind::Let(i) = x.kind
            && mentions_event(&lets[i].node, lets)
        {
            found = true;
        }
    });
    found
}

fn visit(n: &Node, f: &mut dyn FnMut(&Node)) {
    f(n);
    match &n.kind {
        NodeKind::Neg(a) | NodeKind::Not(a) | NodeKind::Year(a) | NodeKind::Figure(_, a) => {
            visit(a, f)
        }
        NodeKind::Binary(_, a, b) | NodeKind::Within(a, b) | NodeKind::Increment(a, b) => {
            visit(a, f);
            visit(b, f);
        }
        NodeKind::Holds(a, b) => {
            visit(a, f);
            if let Some(b) = b {
                visit(b, f);
            }
        }
        NodeKind::In(a, xs) => {
            visit(a, f);
            xs.iter().for_each(|x| visit(x, f));
        }
        NodeKind::Min(xs) | NodeKind::Max(xs) | NodeKind::Key(xs) => {
            xs.iter().for_each(|x| visit(x, f))
        }
        NodeKind::Tier(a, arms) => {
            visit(a, f);
            arms.iter().for_each(|x| visit(&x.value, f));
        }
        _ => {}
    }
}

struct Scope<'a> {
    lib: &'a Library,
    params: &'a HashMap<String, ParamId>,
    event: Option<EventTypeId>,
    lets: Vec<(String, Type)>,
}

impl Scope<'_> {
    fn tn(&self, t: Type) -> String {
        self.lib.vocab.type_name(t)
    }

    fn expect(&self, cx: &mut Ctx, e: &ast::Expr, want: Type, what: &str) -> Option<Node> {
        let n = self.expr(cx, e, Some(want))?;
        if n.ty != want {
            let mut d = Diagnostic::error(
                e.span,
                format!(
                    "type mismatch: {what} needs {}, found {}",
                    self.tn(want),
                    self.tn(n.ty)
                ),
                format!("this is {}", self.tn(n.ty)),
            );
            if want == Type::Money && n.ty == Type::Rate {
                d = d.with_note(
                    "a rate becomes an amount only when multiplied by an amount (rate × Money)",
                );
            }
            cx.push(d);
            return None;
        }
        Some(n)
    }

    fn node(&self, cx: &Ctx, kind: NodeKind, ty: Type, span: Span) -> Option<Node> {
        Some(Node {
            kind,
            ty,
            text: cx.text(span),
        })
    }

    fn expr(&self, cx: &mut Ctx, e: &ast::Expr, expected: Option<Type>) -> Option<Node> {
        let span = e.span;
        match &e.kind {
            ExprKind::Money(..)
            | ExprKind::Rate(..)
            | ExprKind::Int(_)
            | ExprKind::Decimal(_)
            | ExprKind::Bool(_)
            | ExprKind::Date(_)
            | ExprKind::Text(_) => {
                let (v, t) = literal_value(e)?;
                if let Value::Money(m) = &v
                    && m.is_negative()
                {
                    cx.err(
                        span,
                        "amounts in rules are never negative",
                        "negative amount",
                    );
                }
                self.node(cx, NodeKind::Const(v), t, span)
            }
            ExprKind::Name(id) => self.name(cx, id, expected),
            ExprKind::Field(base, field) => self.field(cx, base, field, span),
            ExprKind::Neg(a) => {
                let a = self.expr(cx, a, expected)?;
                if !matches!(a.ty, Type::Money | Type::Rate | Type::Int | Type::Decimal) {
                    cx.err(
                        span,
                        format!("cannot negate {}", self.tn(a.ty)),
                        "not a number",
                    );
                    return None;
                }
                let ty = a.ty;
                self.node(cx, NodeKind::Neg(Box::new(a)), ty, span)
            }
            ExprKind::Not(a) => {
                let a = self.expect(cx, a, Type::Bool, "`not`")?;
                self.node(cx, NodeKind::Not(Box::new(a)), Type::Bool, span)
            }
            ExprKind::Binary(op, a, b) => self.binary(cx, *op, a, b, span),
            ExprKind::In(a, items) => {
                let a = self.expr(cx, a, None)?;
                let mut out = Vec::new();
                for it in items {
                    let n = self.expr(cx, it, Some(a.ty))?;
                    if n.ty != a.ty {
                        cx.err(
                            it.span,
                            format!(
                                "type mismatch: the list holds {}, this is {}",
                                self.tn(a.ty),
                                self.tn(n.ty)
                            ),
                            "wrong type in list",
                        );
                        return None;
                    }
                    out.push(n);
                }
                self.node(cx, NodeKind::In(Box::new(a), out), Type::Bool, span)
            }
            ExprKind::Within(a, b) => {
                let a = self.expr(cx, a, None)?;
                let Type::Enum(en) = a.ty else {
                    cx.err(
                        span,
                        format!("`within` needs an enum value, found {}", self.tn(a.ty)),
                        "not an enum",
                    );
                    return None;
                };
                let b = self.expr(cx, b, Some(Type::Enum(en)))?;
                if b.ty != a.ty {
                    cx.err(
                        span,
                        format!("type mismatch: {} within {}", self.tn(a.ty), self.tn(b.ty)),
                        "different enums",
                    );
                    return None;
                }
                self.node(
                    cx,
                    NodeKind::Within(Box::new(a), Box::new(b)),
                    Type::Bool,
                    span,
                )
            }
            ExprKind::Call(f, args) => self.call(cx, f, args, span, expected),
            ExprKind::Tier(scrut, arms) => self.tier(cx, scrut, arms, span, expected),
        }
    }

    fn name(&self, cx: &mut Ctx, id: &ast::Ident, expected: Option<Type>) -> Option<Node> {
        let span = id.span;
        if let Some(i) = self.lets.iter().position(|(n, _)| n == &id.name) {
            return self.node(cx, NodeKind::Let(i), self.lets[i].1, span);
        }
        if let Some(p) = self.params.get(&id.name) {
            return self.node(cx, NodeKind::Param(*p), self.lib.parameters[*p].ty, span);
        }
        if id.name == "applicant" || id.name == "event" {
            cx.err(
                span,
                format!(
                    "`{}` is a record: name one of its fields (`{}.…`)",
                    id.name, id.name
                ),
                "a record, not a value",
            );
            return None;
        }
        let vocab = &self.lib.vocab;
        if let Some(Type::Enum(en)) = expected {
            if let Some(m) = vocab.enums[en].member(&id.name) {
                return self.node(
                    cx,
                    NodeKind::Const(Value::Enum(en, m)),
                    Type::Enum(en),
                    span,
                );
            }
            let members: Vec<&str> = vocab.enums[en]
                .members
                .iter()
                .map(|m| m.name.as_str())
                .take(16)
                .collect();
            cx.push(
                Diagnostic::error(
                    span,
                    format!(
                        "unknown name `{}`: not a member of {}",
                        id.name, vocab.enums[en].name
                    ),
                    "unknown member",
                )
                .with_note(format!("members: {}", members.join(", "))),
            );
            return None;
        }
        let hits: Vec<(EnumId, MemberId)> = vocab
            .enums
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.member(&id.name).map(|m| (i, m)))
            .collect();
        match hits.as_slice() {
            [(en, m)] => self.node(
                cx,
                NodeKind::Const(Value::Enum(*en, *m)),
                Type::Enum(*en),
                span,
            ),
            [] => {
                cx.err(
                    span,
                    format!("unknown name `{}`", id.name),
                    "not a let binding, parameter of this document, or enum member",
                );
                None
            }
            many => {
                let names: Vec<&str> = many
                    .iter()
                    .map(|(e, _)| vocab.enums[*e].name.as_str())
                    .collect();
                cx.err(
                    span,
                    format!(
                        "`{}` is ambiguous: a member of {}",
                        id.name,
                        names.join(" and ")
                    ),
                    "compare it with a typed value",
                );
                None
            }
        }
    }

    fn field(
        &self,
        cx: &mut Ctx,
        base: &ast::Expr,
        field: &ast::Ident,
        span: Span,
    ) -> Option<Node> {
        let ExprKind::Name(root) = &base.kind else {
            cx.err(
                span,
                "only `applicant.FIELD` and `event.FIELD` have fields",
                "no such record",
            );
            return None;
        };
        let vocab = &self.lib.vocab;
        match root.name.as_str() {
            "applicant" => match vocab.applicant.iter().position(|f| f.name == field.name) {
                Some(i) => self.node(cx, NodeKind::ApplicantField(i), vocab.applicant[i].ty, span),
                None => {
                    let names: Vec<&str> =
                        vocab.applicant.iter().map(|f| f.name.as_str()).collect();
                    cx.push(
                        Diagnostic::error(
                            field.span,
                            format!("unknown name `applicant.{}`", field.name),
                            "no such applicant field",
                        )
                        .with_note(format!("applicant fields: {}", names.join(", "))),
                    );
                    None
                }
            },
            "event" => {
                let Some(ev) = self.event else {
                    cx.err(
                        span,
                        "`event` is used but the measure has no `on EVENT`",
                        "no event in scope",
                    );
                    return None;
                };
                if field.name == "date" {
                    return self.node(cx, NodeKind::EventDate, Type::Date, span);
                }
                if field.name == "id" {
                    return self.node(cx, NodeKind::EventId, Type::Text, span);
                }
                let def = &vocab.events[ev];
                match def.fields.iter().position(|f| f.name == field.name) {
                    Some(i) => self.node(cx, NodeKind::EventField(i), def.fields[i].ty, span),
                    None => {
                        let mut names: Vec<&str> =
                            def.fields.iter().map(|f| f.name.as_str()).collect();
                        names.push("date");
                        names.push("id");
                        cx.push(
                            Diagnostic::error(
                                field.span,
                                format!(
                                    "unknown name `event.{}`: event `{}` has no such field",
                                    field.name, def.name
                                ),
                                "no such field",
                            )
                            .with_note(format!(
                                "fields of {}: {}",
                                def.name,
                                names.join(", ")
                            )),
                        );
                        None
                    }
                }
            }
            other => {
                cx.err(
                    root.span,
                    format!("`{other}` has no fields"),
                    "only applicant and event are records",
                );
                None
            }
        }
    }

    fn binary(
        &self,
        cx: &mut Ctx,
        op: BinOp,
        a: &ast::Expr,
        b: &ast::Expr,
        span: Span,
    ) -> Option<Node> {
        use Type::*;
        match op {
            BinOp::And | BinOp::Or => {
                let a = self.expect(cx, a, Bool, &format!("`{}`", op.symbol()))?;
                let b = self.expect(cx, b, Bool, &format!("`{}`", op.symbol()))?;
                self.node(
                    cx,
                    NodeKind::Binary(op, Box::new(a), Box::new(b)),
                    Bool,
                    span,
                )
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let an = self.expr(cx, a, None)?;
                let bn = self.expr(cx, b, Some(an.ty))?;
                if an.ty != bn.ty {
                    cx.err(
                        span,
                        format!(
                            "type mismatch: cannot compare {} with {}",
                            self.tn(an.ty),
                            self.tn(bn.ty)
                        ),
                        "different types",
                    );
                    return None;
                }
                if matches!(op, BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge)
                    && !matches!(an.ty, Money | Rate | Int | Decimal | Date)
                {
                    cx.err(
                        span,
                        format!("{} values have no order", self.tn(an.ty)),
                        "cannot order",
                    );
                    return None;
                }
                self.node(
                    cx,
                    NodeKind::Binary(op, Box::new(an), Box::new(bn)),
                    Bool,
                    span,
                )
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => {
                let an = self.expr(cx, a, None)?;
                let bn = self.expr(cx, b, None)?;
                let ty = match (op, an.ty, bn.ty) {
                    (BinOp::Add | BinOp::Sub, Money, Money) => Some(Money),
                    (BinOp::Add | BinOp::Sub, Rate, Rate) => Some(Rate),
                    (BinOp::Add | BinOp::Sub | BinOp::Mul, Int, Int) => Some(Int),
                    (BinOp::Mul, Rate, Money) | (BinOp::Mul, Money, Rate) => Some(Money),
                    (BinOp::Mul, Rate, Rate) => Some(Rate),
                    (BinOp::Mul, Money, Int) | (BinOp::Mul, Int, Money) => Some(Money),
                    (BinOp::Div, Money, Int) => Some(Money),
                    _ => None,
                };
                let Some(ty) = ty else {
                    let mut d = Diagnostic::error(
                        span,
                        format!(
                            "type mismatch: {} {} {} has no meaning",
                            self.tn(an.ty),
                            op.symbol(),
                            self.tn(bn.ty)
                        ),
                        "incompatible operands",
                    );
                    if an.ty == Money && bn.ty == Money && op == BinOp::Mul {
                        d = d.with_note(
                            "multiply an amount by a rate (10% × amount), not by another amount",
                        );
                    }
                    cx.push(d);
                    return None;
                };
                self.node(
                    cx,
                    NodeKind::Binary(op, Box::new(an), Box::new(bn)),
                    ty,
                    span,
                )
            }
        }
    }

    fn call(
        &self,
        cx: &mut Ctx,
        f: &ast::Ident,
        args: &[ast::Expr],
        span: Span,
        expected: Option<Type>,
    ) -> Option<Node> {
        let arity = |cx: &mut Ctx, lo: usize, hi: usize| -> bool {
            if args.len() < lo || args.len() > hi {
                let want = if lo == hi {
                    format!("{lo}")
                } else if hi == usize::MAX {
                    format!("at least {lo}")
                } else {
                    format!("{lo} or {hi}")
                };
                cx.err(
                    span,
                    format!("`{}` takes {want} arguments, found {}", f.name, args.len()),
                    "wrong number of arguments",
                );
                false
            } else {
                true
            }
        };
        match f.name.as_str() {
            "min" | "max" => {
                if !arity(cx, 2, usize::MAX) {
                    return None;
                }
                let mut nodes = Vec::new();
                for a in args {
                    nodes.push(self.expr(cx, a, expected)?);
                }
                let ty = nodes[0].ty;
                if !matches!(
                    ty,
                    Type::Money | Type::Rate | Type::Int | Type::Decimal | Type::Date
                ) {
                    cx.err(
                        args[0].span,
                        format!("`{}` needs numbers, found {}", f.name, self.tn(ty)),
                        "not a number",
                    );
                    return None;
                }
                for (n, a) in nodes.iter().zip(args) {
                    if n.ty != ty {
                        cx.err(
                            a.span,
                            format!(
                                "type mismatch: `{}` of {} and {}",
                                f.name,
                                self.tn(ty),
                                self.tn(n.ty)
                            ),
                            "all arguments must have one type",
                        );
                        return None;
                    }
                }
                let kind = if f.name == "min" {
                    NodeKind::Min(nodes)
                } else {
                    NodeKind::Max(nodes)
                };
                self.node(cx, kind, ty, span)
            }
            "year" => {
                if !arity(cx, 1, 1) {
                    return None;
                }
                let a = self.expect(cx, &args[0], Type::Date, "`year`")?;
                self.node(cx, NodeKind::Year(Box::new(a)), Type::Int, span)
            }
            "holds" => {
                if !arity(cx, 1, 2) {
                    return None;
                }
                let cert = Type::Enum(self.lib.vocab.certification);
                let a = self.expect(cx, &args[0], cert, "`holds`")?;
                let b = match args.get(1) {
                    Some(d) => Some(Box::new(self.expect(cx, d, Type::Date, "`holds`")?)),
                    None => None,
                };
                self.node(cx, NodeKind::Holds(Box::new(a), b), Type::Bool, span)
            }
            "figure" => {
                if !arity(cx, 2, 2) {
                    return None;
                }
                let ExprKind::Name(n) = &args[0].kind else {
                    cx.err(
                        args[0].span,
                        "the first argument of `figure` is a figure's name",
                        "not a name",
                    );
                    return None;
                };
                let Some(fid) = self.lib.vocab.figure_by_name(&n.name) else {
                    let names: Vec<&str> = self
                        .lib
                        .vocab
                        .figures
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect();
                    cx.push(
                        Diagnostic::error(
                            n.span,
                            format!("unknown figure `{}`", n.name),
                            "not declared with `figure`",
                        )
                        .with_note(format!("figures: {}", names.join(", "))),
                    );
                    return None;
                };
                let y = self.expect(cx, &args[1], Type::Int, "the year of `figure`")?;
                self.node(
                    cx,
                    NodeKind::Figure(fid, Box::new(y)),
                    self.lib.vocab.figures[fid].ty,
                    span,
                )
            }
            "increment" => {
                if !arity(cx, 2, 2) {
                    return None;
                }
                if self.event.is_none() {
                    cx.err(span, "`increment` needs an event", "no event in scope");
                    return None;
                }
                let a = self.expect(cx, &args[0], Type::Money, "`increment`")?;
                let k = self.expr(cx, &args[1], None)?;
                self.node(
                    cx,
                    NodeKind::Increment(Box::new(a), Box::new(k)),
                    Type::Money,
                    span,
                )
            }
            other => {
                cx.err(
                    f.span,
                    format!("unknown function `{other}`"),
                    "functions: min, max, year, holds, figure, increment",
                );
                None
            }
        }
    }

    fn tier(
        &self,
        cx: &mut Ctx,
        scrut: &ast::Expr,
        arms: &[ast::Arm],
        span: Span,
        expected: Option<Type>,
    ) -> Option<Node> {
        let s = self.expr(cx, scrut, None)?;
        let mut out = Vec::new();
        let mut seen_members: Vec<MemberId> = Vec::new();
        let mut after_wildcard = false;
        let mut thresholds: Vec<(BinOp, Value)> = Vec::new();
        let mut ty: Option<Type> = None;
        for arm in arms {
            if after_wildcard {
                cx.push(
                    Diagnostic::error(
                        arm.span,
                        "unreachable tier: an earlier `_` arm already matches everything",
                        "this arm can never apply",
                    )
                    .with_note("put specific arms before `_`"),
                );
                continue;
            }
            let pattern = match &arm.pattern {
                Pattern::Wildcard(_) => {
                    after_wildcard = true;
                    TierPattern::Any
                }
                Pattern::Members(ms) => {
                    let Type::Enum(en) = s.ty else {
                        cx.err(
                            arm.span,
                            format!(
                                "a member pattern needs an enum, the tier is on {}",
                                self.tn(s.ty)
                            ),
                            "use `>= value` arms for numbers",
                        );
                        return None;
                    };
                    let mut ids = Vec::new();
                    for m in ms {
                        match self.lib.vocab.enums[en].member(&m.name) {
                            Some(id) => {
                                if seen_members.contains(&id) {
                                    cx.err(m.span, format!("unreachable tier: `{}` is already matched by an earlier arm", m.name), "this arm can never apply");
                                }
                                seen_members.push(id);
                                ids.push(id);
                            }
                            None => {
                                cx.err(
                                    m.span,
                                    format!(
                                        "unknown name `{}`: not a member of {}",
                                        m.name, self.lib.vocab.enums[en].name
                                    ),
                                    "unknown member",
                                );
                            }
                        }
                    }
                    TierPattern::Members(ids)
                }
                Pattern::Threshold(op, bound) => {
                    let b = self.expr(cx, bound, Some(s.ty))?;
                    if b.ty != s.ty
                        || !matches!(s.ty, Type::Money | Type::Int | Type::Rate | Type::Decimal)
                    {
                        cx.err(
                            bound.span,
                            format!(
                                "type mismatch: a threshold on {} must be {}",
                                self.tn(s.ty),
                                self.tn(s.ty)
                            ),
                            "wrong threshold type",
                        );
                        return None;
                    }
                    let NodeKind::Const(v) = b.kind else {
                        cx.err(bound.span, "a threshold must be a literal", "not a literal");
                        return None;
                    };
                    if !matches!(op, BinOp::Ge | BinOp::Gt) {
                        cx.err(
                            bound.span,
                            "tier thresholds are written from the top down with `>=` or `>`",
                            "use >= or >",
                        );
                        return None;
                    }
                    // A lower threshold earlier already catches every value this one would.
                    for (pop, pv) in &thresholds {
                        let covered = match (pop, op) {
                            (BinOp::Ge, BinOp::Ge)
                            | (BinOp::Ge, BinOp::Gt)
                            | (BinOp::Gt, BinOp::Gt) => value_le(pv, &v),
                            (BinOp::Gt, BinOp::Ge) => value_lt(pv, &v),
                            _ => false,
                        };
                        if covered {
                            cx.push(
                                Diagnostic::error(arm.span, "unreachable tier: an earlier, lower threshold already matches these values", "this arm can never apply")
                                    .with_note("order thresholds from the highest down"),
                            );
                        }
                    }
                    thresholds.push((*op, v.clone()));
                    TierPattern::Threshold(*op, v)
                }
            };
            let value = self.expr(cx, &arm.value, expected)?;
            match ty {
                None => ty = Some(value.ty),
                Some(t) if t != value.ty => {
                    cx.err(
                        arm.value.span,
                        format!(
                            "type mismatch: this arm gives {}, the first gives {}",
                            self.tn(value.ty),
                            self.tn(t)
                        ),
                        "arms must agree",
                    );
                    return None;
                }
                _ => {}
            }
            out.push(TierArm {
                pattern,
                value,
                text: cx.text(arm.span),
            });
        }
        let ty = ty?;
        self.node(cx, NodeKind::Tier(Box::new(s), out), ty, span)
    }
}

fn value_le(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Money(x), Value::Money(y)) => x <= y,
        (Value::Int(x), Value::Int(y)) => x <= y,
        (Value::Rate(x, _), Value::Rate(y, _)) => x <= y,
        (Value::Decimal(x), Value::Decimal(y)) => x <= y,
        _ => false,
    }
}

fn value_lt(a: &Value, b: &Value) -> bool {
    value_le(a, b) && a != b
}

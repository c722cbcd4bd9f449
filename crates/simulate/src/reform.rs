//! Reforms: every number a measure is paid by (its rates, amounts, caps, tier bounds), every
//! named parameter and every measure's validity is a *knob* with a stable id; a reform sets
//! knobs (optionally from a date), removes measures, and replaces or adds measures written in the
//! policy language, and yields a new library checked like any policy file. Changing a literal
//! from a date turns it into a parameter with two values, so events before the date keep the
//! old amount and the trace names the change.
//!
//! A reform file is a few lines of text:
//!
//! ```text
//! reform "技术合同登记机构奖励按2‰计" "(十八) read as 2‰"
//! set contract_registration_rate = 2‰ from 2021-07-14
//! set tech_transfer_subsidy#2 = 12%
//! set platform_national@valid_to = 2026-12-31
//! remove gazelle_reward
//!
//! replace contract_registration_institution
//! measure contract_registration_institution "技术合同登记机构奖励" "Reward for registration institutions"
//!   clause "(十八)"
//!   on contract_registration_volume
//!   when applicant.kind = contract_registration_institution
//!   grant min(0.3‰ × event.registered_volume, 15万元)
//!   once per event.registration_year
//!
//! add to "沈政发〔2021〕11号"
//! measure voucher_bonus "创新券加计补助(试算)" "Innovation voucher bonus (trial)"
//!   clause "(十八)"
//!   on voucher_service_purchased
//!   grant min(10% × event.service_amount, 1万元)
//! ```
//!
//! `replace MEASURE` and `add to DOCUMENT` (its number, quoted, or its file name) start a block
//! of the policy language (docs/language.md): the lines below them, up to the next line that
//! starts at its first column with `reform`, `set`, `remove`, `replace` or `add`. A block holds
//! `measure`s, and `parameter`s they read. The measure that replaces another keeps its id; an
//! added measure takes an id no measure has. Each block is checked as part of its document —
//! the document's parameters, fundings (its default split) and clauses, the vocabulary, the
//! types, every rule of the checker — by [`apply_with_sources`], and every error names the
//! reform file's line and column. Blocks are applied first, then the `set`s and `remove`s.

use jiff::civil::Date;
use kc_check::{Library, Node, NodeKind, Parameter, TierPattern, Type, Value};
use kc_money::{Money, Rate, RateUnit};
use kc_syntax::ast::Label;
use std::fmt;

/// One adjustable number or date of the library.
#[derive(Clone, Debug, PartialEq)]
pub struct Knob {
    /// `name` of a named parameter, `measure#n` for the n-th number written in a measure (1-based,
    /// in the order lets, conditions, grant, caps), `measure@valid_from` / `measure@valid_to`.
    pub id: String,
    pub measure: Option<String>,
    /// Where the number sits: `parameter`, `let`, `condition`, `grant`, `cap`, `tier`, `validity`.
    pub role: &'static str,
    pub ty: Type,
    pub value: Value,
    /// The rule it appears in, as written (for a named parameter: its label).
    pub context: String,
}

/// A setting of one knob.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub knob: String,
    /// The new value as a person writes it: `12%`, `2‰`, `300万元`, `500000`, `2026-12-31`.
    pub value: String,
    /// From this date on; before it the old value holds. `None`: the whole validity.
    pub from: Option<Date>,
}

/// A reform: a title and its changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reform {
    pub title: String,
    pub note: String,
    pub changes: Vec<Change>,
    pub removed: Vec<String>,
    /// Measures written in the policy language, replacing or added (see the module's doc).
    pub measures: Vec<MeasureBlock>,
}

/// What a block of the policy language in a reform file does.
#[derive(Clone, Debug, PartialEq)]
pub enum MeasureEdit {
    /// `add to DOCUMENT`: new measures in that document (its number or its file name).
    Add { document: String },
    /// `replace MEASURE`: the block's measure, of the same id, takes that one's place.
    Replace { measure: String },
}

/// A block of the policy language in a reform file.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasureBlock {
    pub edit: MeasureEdit,
    /// The `kc` source, verbatim.
    pub code: String,
    /// The line of the `add to` / `replace` directive.
    pub line: usize,
    /// The line of the block's first line of code (for errors' line and column).
    pub first_line: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReformError {
    /// 1-based line of the reform file, 0 for a change not read from a file.
    pub line: usize,
    /// 1-based column (in characters), 0 when the error concerns the whole line.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ReformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => f.write_str(&self.message),
            (l, 0) => write!(f, "第{l}行 line {l}: {}", self.message),
            (l, c) => write!(f, "第{l}行第{c}列 line {l}, column {c}: {}", self.message),
        }
    }
}

impl std::error::Error for ReformError {}

fn err(line: usize, message: String) -> ReformError {
    ReformError {
        line,
        column: 0,
        message,
    }
}

/// Visits every literal of a measure that a reform may change, in knob order.
fn visit_measure(m: &mut kc_check::Measure, f: &mut dyn FnMut(&'static str, Slot<'_>)) {
    for b in &mut m.lets {
        visit_node(&mut b.node, "let", f);
    }
    for c in &mut m.conditions {
        visit_node(&mut c.expr, "condition", f);
    }
    match &mut m.grant {
        kc_check::GrantRule::Fixed(n) | kc_check::GrantRule::UpTo(n) => visit_node(n, "grant", f),
        kc_check::GrantRule::Review(Some((a, b))) => {
            visit_node(a, "grant", f);
            visit_node(b, "grant", f);
        }
        kc_check::GrantRule::Review(None) => {}
        kc_check::GrantRule::Parts(parts) => {
            for (_, n) in parts {
                visit_node(n, "grant", f);
            }
        }
    }
    for c in &mut m.caps {
        visit_node(&mut c.amount, "cap", f);
    }
}

enum Slot<'a> {
    Node(&'a mut Node, String),
    Threshold(&'a mut Value, String),
}

fn is_number(v: &Value) -> bool {
    matches!(
        v,
        Value::Money(_) | Value::Rate(..) | Value::Int(_) | Value::Decimal(_)
    )
}

fn visit_node(n: &mut Node, role: &'static str, f: &mut dyn FnMut(&'static str, Slot<'_>)) {
    let context = n.text.clone();
    visit_inner(n, role, &context, f);
}

fn visit_inner(
    n: &mut Node,
    role: &'static str,
    context: &str,
    f: &mut dyn FnMut(&'static str, Slot<'_>),
) {
    match &mut n.kind {
        NodeKind::Const(v) if is_number(v) => f(role, Slot::Node(n, context.to_string())),
        NodeKind::Const(_)
        | NodeKind::Param(_)
        | NodeKind::EventField(_)
        | NodeKind::EventDate
        | NodeKind::EventId
        | NodeKind::ApplicantField(_)
        | NodeKind::Let(_) => {}
        NodeKind::Neg(a) | NodeKind::Not(a) | NodeKind::Year(a) => visit_inner(a, role, context, f),
        NodeKind::Binary(_, a, b) | NodeKind::Within(a, b) | NodeKind::Increment(a, b) => {
            visit_inner(a, role, context, f);
            visit_inner(b, role, context, f);
        }
        NodeKind::In(a, items) => {
            visit_inner(a, role, context, f);
            for i in items {
                visit_inner(i, role, context, f);
            }
        }
        NodeKind::Min(xs) | NodeKind::Max(xs) | NodeKind::Key(xs) => {
            for x in xs {
                visit_inner(x, role, context, f);
            }
        }
        NodeKind::Holds(a, b) => {
            visit_inner(a, role, context, f);
            if let Some(b) = b {
                visit_inner(b, role, context, f);
            }
        }
        NodeKind::Figure(_, y) => visit_inner(y, role, context, f),
        NodeKind::Tier(s, arms) => {
            visit_inner(s, role, context, f);
            for arm in arms {
                if let TierPattern::Threshold(_, v) = &mut arm.pattern
                    && is_number(v)
                {
                    f("tier", Slot::Threshold(v, arm.text.clone()));
                }
                visit_inner(&mut arm.value, role, context, f);
            }
        }
    }
}

fn type_of(v: &Value) -> Type {
    match v {
        Value::Money(_) => Type::Money,
        Value::Rate(..) => Type::Rate,
        Value::Int(_) => Type::Int,
        Value::Date(_) => Type::Date,
        Value::Bool(_) => Type::Bool,
        Value::Enum(e, _) => Type::Enum(*e),
        Value::Text(_) => Type::Text,
        _ => Type::Decimal,
    }
}

/// Every knob of the library: named parameters first, then each measure's validity and numbers.
pub fn knobs(lib: &Library) -> Vec<Knob> {
    let mut out: Vec<Knob> = lib
        .parameters
        .iter()
        .filter_map(|p| {
            let (_, v) = p.values.last()?;
            Some(Knob {
                id: p.name.clone(),
                measure: None,
                role: "parameter",
                ty: p.ty,
                value: v.clone(),
                context: p.label.zh.clone(),
            })
        })
        .collect();
    let mut copy = lib.measures.clone();
    for m in &mut copy {
        for (suffix, d) in [("valid_from", m.valid.0), ("valid_to", m.valid.1)] {
            out.push(Knob {
                id: format!("{}@{suffix}", m.id),
                measure: Some(m.id.clone()),
                role: "validity",
                ty: Type::Date,
                value: Value::Date(d),
                context: format!("valid {} .. {}", m.valid.0, m.valid.1),
            });
        }
        let id = m.id.clone();
        let mut n = 0;
        visit_measure(m, &mut |role, slot| {
            n += 1;
            let (value, context) = match slot {
                Slot::Node(node, ctx) => match &node.kind {
                    NodeKind::Const(v) => (v.clone(), ctx),
                    _ => return,
                },
                Slot::Threshold(v, ctx) => (v.clone(), ctx),
            };
            out.push(Knob {
                id: format!("{id}#{n}"),
                measure: Some(id.clone()),
                role,
                ty: type_of(&value),
                value,
                context,
            });
        });
    }
    out
}

/// Parses a value for a knob of type `ty` as a person writes it; `old` keeps a rate's unit.
pub fn parse_value(ty: Type, old: &Value, text: &str) -> Result<Value, String> {
    let t = text.trim();
    let bad = |what: &str| format!("“{t}” 不是{what} is not {}", en_type(ty));
    match ty {
        Type::Money => {
            let (num, factor) = if let Some(n) = t.strip_suffix("亿元") {
                (n, 100_000_000)
            } else if let Some(n) = t.strip_suffix("万元") {
                (n, 10_000)
            } else if let Some(n) = t.strip_suffix('万') {
                (n, 10_000)
            } else {
                (t.strip_suffix('元').unwrap_or(t), 1)
            };
            let d = kc_money::parse_number(num).map_err(|_| bad("金额"))?;
            // Checked: "79228162514264337593543950335亿元" is a clear error, not an overflow.
            let m = Money::from_decimal(
                d.checked_mul(rust_decimal_from(factor))
                    .ok_or_else(|| format!("“{t}” 超出金额上限 is beyond the largest amount"))?,
            );
            if !m.is_whole_fen() {
                return Err(format!("“{t}” 精确到分 must be whole fen"));
            }
            if m.is_negative() {
                return Err(format!("“{t}” 不能为负 must not be negative"));
            }
            m.check_range(t).map(Value::Money).map_err(|_| bad("金额"))
        }
        Type::Rate => {
            let r = Rate::parse(t).map_err(|_| bad("比例"))?;
            if r < Rate::ZERO {
                return Err(format!("“{t}” 不能为负 must not be negative"));
            }
            // No clause pays more than ten times a base; a larger rate is a typing slip.
            if r > Rate::from_fraction(kc_money::Dec::TEN) {
                return Err(format!("“{t}” 超过1000% is above 1000%"));
            }
            let unit = if t.ends_with('‰') {
                RateUnit::PerMille
            } else if t.ends_with('%') {
                RateUnit::Percent
            } else {
                match old {
                    Value::Rate(_, u) => *u,
                    _ => RateUnit::Percent,
                }
            };
            Ok(Value::Rate(r, unit))
        }
        Type::Int => t.parse::<i64>().map(Value::Int).map_err(|_| bad("整数")),
        Type::Decimal => kc_money::parse_number(t)
            .map(Value::Decimal)
            .map_err(|_| bad("数值")),
        Type::Date => t.parse::<Date>().map(Value::Date).map_err(|_| bad("日期")),
        Type::Bool => match t {
            "true" | "是" => Ok(Value::Bool(true)),
            "false" | "否" => Ok(Value::Bool(false)),
            _ => Err(bad("是/否")),
        },
        Type::Text | Type::Enum(_) => Err(format!(
            "{} 类型不可调整 cannot be changed by a reform",
            en_type(ty)
        )),
    }
}

fn rust_decimal_from(n: i64) -> kc_money::Dec {
    kc_money::Dec::from(n)
}

fn en_type(ty: Type) -> &'static str {
    match ty {
        Type::Money => "an amount (e.g. 500000, 300万元)",
        Type::Rate => "a rate (e.g. 12%, 2‰)",
        Type::Int => "a whole number",
        Type::Decimal => "a number",
        Type::Date => "a date YYYY-MM-DD",
        Type::Bool => "true or false",
        Type::Text => "text",
        Type::Enum(_) => "a choice",
    }
}

/// The first word of a line that starts a directive of a reform file (and ends a block).
const DIRECTIVES: [&str; 5] = ["reform", "set", "remove", "replace", "add"];

fn is_directive(raw: &str) -> bool {
    let word = raw.split_whitespace().next().unwrap_or("");
    !raw.starts_with([' ', '\t']) && DIRECTIVES.contains(&word)
}

/// Reads a reform file. Errors name the line.
pub fn parse_reform(text: &str) -> Result<Reform, ReformError> {
    let mut r = Reform::default();
    let mut block: Option<MeasureBlock> = None;
    let close = |block: &mut Option<MeasureBlock>, r: &mut Reform| -> Result<(), ReformError> {
        if let Some(b) = block.take() {
            if b.code.lines().all(|l| {
                let t = l.trim();
                t.is_empty() || t.starts_with('#')
            }) {
                return Err(err(
                    b.line,
                    "其后应写出措施(政策语言) expected a measure in the policy language on the lines below"
                        .into(),
                ));
            }
            r.measures.push(b);
        }
        Ok(())
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if let Some(b) = block.as_mut()
            && !is_directive(raw)
        {
            if b.code.is_empty() {
                b.first_line = line;
            }
            b.code.push_str(raw);
            b.code.push('\n');
            continue;
        }
        close(&mut block, &mut r)?;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some(rest) = l.strip_prefix("reform ") {
            let quoted: Vec<&str> = rest.split('"').skip(1).step_by(2).collect();
            match quoted.as_slice() {
                [t] => r.title = t.to_string(),
                [t, n, ..] => {
                    r.title = t.to_string();
                    r.note = n.to_string();
                }
                [] => {
                    return Err(err(
                        line,
                        "reform 后应有带引号的标题 expected a quoted title after reform".into(),
                    ));
                }
            }
        } else if let Some(rest) = l.strip_prefix("set ") {
            let Some((knob, value)) = rest.split_once('=') else {
                return Err(err(
                    line,
                    "应为 set 名称 = 值 [from 日期] expected set KNOB = VALUE [from DATE]".into(),
                ));
            };
            let (value, from) = match value.split_once(" from ") {
                Some((v, d)) => {
                    let d = d.trim().parse::<Date>().map_err(|_| {
                        err(
                            line,
                            format!("“{}” 不是日期 is not a date YYYY-MM-DD", d.trim()),
                        )
                    })?;
                    (v.trim(), Some(d))
                }
                None => (value.trim(), None),
            };
            if value.is_empty() {
                return Err(err(line, "缺少新值 the new value is missing".into()));
            }
            r.changes.push(Change {
                knob: knob.trim().to_string(),
                value: value.to_string(),
                from,
            });
        } else if let Some(m) = l.strip_prefix("remove ") {
            r.removed.push(m.trim().to_string());
        } else if let Some(m) = l.strip_prefix("replace ") {
            let m = m.split('#').next().unwrap_or("").trim();
            if m.is_empty() || m.contains(char::is_whitespace) {
                return Err(err(
                    line,
                    "应为 replace 措施编号 expected replace MEASURE".into(),
                ));
            }
            block = Some(MeasureBlock {
                edit: MeasureEdit::Replace {
                    measure: m.to_string(),
                },
                code: String::new(),
                line,
                first_line: line + 1,
            });
        } else if let Some(rest) = l.strip_prefix("add ") {
            let doc = rest.trim().strip_prefix("to ").map(str::trim).map(|d| {
                match d.strip_prefix('"').and_then(|d| d.split_once('"')) {
                    Some((q, _)) => q.to_string(),
                    None => d.split('#').next().unwrap_or("").trim().to_string(),
                }
            });
            let Some(document) = doc.filter(|d| !d.is_empty()) else {
                return Err(err(
                    line,
                    "应为 add to \"文件号\" expected add to \"DOCUMENT\"".into(),
                ));
            };
            block = Some(MeasureBlock {
                edit: MeasureEdit::Add { document },
                code: String::new(),
                line,
                first_line: line + 1,
            });
        } else {
            return Err(err(
                line,
                format!(
                    "无法识别“{l}”:应为 reform、set、remove、replace 或 add expected reform, set, remove, replace or add"
                ),
            ));
        }
    }
    close(&mut block, &mut r)?;
    if r.changes.is_empty() && r.removed.is_empty() && r.measures.is_empty() {
        return Err(err(
            0,
            "改革方案没有任何调整 the reform changes nothing".into(),
        ));
    }
    Ok(r)
}

/// The library with the reform applied. Each change is checked against its knob: the knob must
/// exist, the value must be of its type, the date inside the measure's validity. `lines` gives
/// each change's line in the reform file for errors (empty: 0).
/// A reform with measures written in the policy language needs the library's source files:
/// [`apply_with_sources`].
pub fn apply(lib: &Library, reform: &Reform, lines: &[usize]) -> Result<Library, ReformError> {
    if let Some(b) = reform.measures.first() {
        return Err(err(
            b.line,
            "改写或新增措施需要政策库的源文件 a reform that writes measures is checked with the library's source files"
                .into(),
        ));
    }
    let mut out = lib.clone();
    let line_of = |i: usize| lines.get(i).copied().unwrap_or(0);
    for (i, c) in reform.changes.iter().enumerate() {
        apply_change(&mut out, c).map_err(|m| err(line_of(i), m))?;
    }
    for id in &reform.removed {
        // By scan, not by index: the index is rebuilt once every removal is done.
        if !out.measures.iter().any(|m| &m.id == id) {
            return Err(err(0, format!("没有措施“{id}” no measure {id} to remove")));
        }
        out.measures.retain(|m| &m.id != id);
    }
    out.measure_index = out
        .measures
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.clone(), i))
        .collect();
    Ok(out)
}

/// The line of each change of a reform file, for [`apply`]'s errors.
pub fn change_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim().starts_with("set "))
        .map(|(i, _)| i + 1)
        .collect()
}

/// The library with a reform applied that may also write measures in the policy language
/// (`replace`, `add to`): each block is put into its document's source among `files` (the
/// files `lib` was checked from; a replaced measure's declaration taken out), the whole
/// library is checked again like any policy library, and then the `set`s and `remove`s are
/// applied ([`apply`]). Every error names the reform file's line and column: an unknown
/// document, an unknown measure to replace, an id already taken, a syntax or type error in a
/// measure. `path` names the reform file in the measures' locations.
pub fn apply_with_sources(
    files: &[kc_check::SourceFile],
    lib: &Library,
    reform: &Reform,
    lines: &[usize],
    path: &str,
) -> Result<Library, Vec<ReformError>> {
    if reform.measures.is_empty() {
        return apply(lib, reform, lines).map_err(|e| vec![e]);
    }
    let mut errors = Vec::new();
    let mut files = files.to_vec();
    // (file, start of the block in it, the block)
    let mut placed: Vec<(usize, usize, &MeasureBlock)> = Vec::new();
    let mut replaced: Vec<&str> = Vec::new();
    let mut added: Vec<String> = Vec::new();
    for b in &reform.measures {
        let at = |span: kc_syntax::Span, message: String| {
            let (l, c) = kc_syntax::line_col(&b.code, span.start);
            ReformError {
                line: b.first_line + l - 1,
                column: c,
                message,
            }
        };
        let (items, diags) = kc_syntax::parse::parse_block(&b.code, 0);
        for d in &diags {
            errors.push(at(d.span, diagnostic_words(d)));
        }
        if !diags.is_empty() {
            continue;
        }
        let doc = match &b.edit {
            MeasureEdit::Add { document } => {
                let found = lib
                    .documents
                    .iter()
                    .position(|d| &d.number == document || file_stem(&d.path) == document.as_str());
                if found.is_none() {
                    let known: Vec<&str> =
                        lib.documents.iter().map(|d| d.number.as_str()).collect();
                    errors.push(err(
                        b.line,
                        format!(
                            "政策库中没有文件“{document}” no document {document} in the library (documents: {})",
                            known.join(", ")
                        ),
                    ));
                }
                found
            }
            MeasureEdit::Replace { measure } => {
                match lib.measure(measure) {
                    None => {
                        errors.push(err(
                            b.line,
                            format!("没有措施“{measure}”可替换 no measure {measure} to replace"),
                        ));
                        None
                    }
                    Some(_) if replaced.contains(&measure.as_str()) => {
                        errors.push(err(
                        b.line,
                        format!("措施“{measure}”已被替换一次 the measure {measure} is replaced twice"),
                    ));
                        None
                    }
                    Some(m) => {
                        replaced.push(measure);
                        Some(m.doc)
                    }
                }
            }
        };
        let mut measures = 0;
        for item in &items {
            match item {
                kc_syntax::ast::Item::Measure(m) => {
                    measures += 1;
                    let id = &m.name.name;
                    match &b.edit {
                        MeasureEdit::Replace { measure } if id != measure => errors.push(at(
                            m.name.span,
                            format!(
                                "替换措施应保留编号“{measure}” the measure that replaces {measure} keeps its id"
                            ),
                        )),
                        MeasureEdit::Add { .. } if lib.measure(id).is_some() => errors.push(at(
                            m.name.span,
                            format!(
                                "措施“{id}”已存在,改写请用 replace {id} the measure {id} exists: write replace {id}"
                            ),
                        )),
                        MeasureEdit::Add { .. } if added.contains(id) => errors.push(at(
                            m.name.span,
                            format!("措施“{id}”重复 the measure {id} is added twice"),
                        )),
                        MeasureEdit::Add { .. } => added.push(id.clone()),
                        MeasureEdit::Replace { .. } => {}
                    }
                }
                kc_syntax::ast::Item::Parameter(_) => {}
                other => errors.push(at(
                    item_span(other),
                    "改革方案中只能写措施及其参数 a reform writes measures and their parameters only"
                        .into(),
                )),
            }
        }
        if measures == 0 || (measures > 1 && matches!(b.edit, MeasureEdit::Replace { .. })) {
            errors.push(err(
                b.line,
                "replace 后应恰有一项措施,add to 后至少一项 replace takes exactly one measure, add to at least one"
                    .into(),
            ));
        }
        let Some(doc) = doc else { continue };
        let Some(fi) = files.iter().position(|f| f.path == lib.documents[doc].path) else {
            errors.push(err(
                b.line,
                format!(
                    "找不到文件 {} 的源文件 the source of {} is missing",
                    lib.documents[doc].number, lib.documents[doc].path
                ),
            ));
            continue;
        };
        if let MeasureEdit::Replace { measure } = &b.edit {
            let parsed = kc_syntax::parse_file(&files[fi].text);
            let span = parsed.items.iter().find_map(|(_, i)| match i {
                kc_syntax::ast::Item::Measure(m) if &m.name.name == measure => Some(m.span),
                _ => None,
            });
            if let Some(span) = span {
                // Blanked, not cut: every other offset of the file, and its diagnostics, stay.
                let text = &mut files[fi].text;
                let blank: String = text[span.start..span.end]
                    .chars()
                    .map(|c| {
                        if c == '\n' {
                            "\n".to_string()
                        } else {
                            " ".repeat(c.len_utf8())
                        }
                    })
                    .collect();
                text.replace_range(span.start..span.end, &blank);
            }
        }
        let text = &mut files[fi].text;
        text.push_str("\n\n```kc\n");
        placed.push((fi, text.len(), b));
        text.push_str(&b.code);
        text.push_str("```\n");
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| (e.line, e.column));
        return Err(errors);
    }
    let checked = kc_check::check_library(&files);
    for d in checked
        .diagnostics
        .iter()
        .filter(|d| d.diagnostic.is_error())
    {
        let start = d.diagnostic.span.start;
        let block = placed
            .iter()
            .find(|(fi, at, b)| *fi == d.file && start >= *at && start <= at + b.code.len());
        errors.push(match block {
            Some((_, at, b)) => {
                let (l, c) = kc_syntax::line_col(&b.code, start - at);
                ReformError {
                    line: b.first_line + l - 1,
                    column: c,
                    message: diagnostic_words(&d.diagnostic),
                }
            }
            // Elsewhere in the library: what the reform broke there (an amendment that names a
            // replaced measure, …), with that file's place.
            None => {
                let f = &files[d.file];
                let (l, c) = kc_syntax::line_col(&f.text, start);
                err(
                    0,
                    format!("{}:{l}:{c}: {}", f.path, diagnostic_words(&d.diagnostic)),
                )
            }
        });
    }
    let Some(mut out) = checked.library.filter(|_| errors.is_empty()) else {
        errors.sort_by_key(|e| (e.line, e.column));
        return Err(errors);
    };
    // The measures written in the reform are located there.
    for (_, _, b) in &placed {
        for (i, l) in b.code.lines().enumerate() {
            let Some(id) = l
                .strip_prefix("measure ")
                .and_then(|r| r.split_whitespace().next())
            else {
                continue;
            };
            if let Some(&mi) = out.measure_index.get(id) {
                out.measures[mi].location = (path.to_string(), b.first_line + i);
            }
        }
    }
    let rest = Reform {
        measures: Vec::new(),
        ..reform.clone()
    };
    apply(&out, &rest, lines).map_err(|e| vec![e])
}

/// [`parse_reform`] and [`apply_with_sources`] of a reform file's text.
pub fn apply_file(
    files: &[kc_check::SourceFile],
    lib: &Library,
    path: &str,
    text: &str,
) -> Result<Library, Vec<ReformError>> {
    let reform = parse_reform(text).map_err(|e| vec![e])?;
    apply_with_sources(files, lib, &reform, &change_lines(text), path)
}

/// A checker's diagnostic in words: its message, and its label where it adds to it.
fn diagnostic_words(d: &kc_syntax::Diagnostic) -> String {
    let mut out = d.message.clone();
    if !d.label.is_empty() && !out.contains(&d.label) {
        out.push_str(&format!(" ({})", d.label));
    }
    for n in &d.notes {
        out.push_str(&format!("; {n}"));
    }
    out
}

fn file_stem(path: &str) -> &str {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    name.strip_suffix(".md").unwrap_or(name)
}

fn item_span(item: &kc_syntax::ast::Item) -> kc_syntax::Span {
    use kc_syntax::ast::Item;
    match item {
        Item::Document(d) => d.span,
        Item::Funding(f) => f.name.span,
        Item::Parameter(p) => p.name.span,
        Item::Measure(m) => m.name.span,
        Item::Window(w) => w.name.span,
        Item::Enum(e) => e.name.span,
        Item::Record(r) | Item::Event(r) => r.name.span,
        Item::Figure(f) => f.name.span,
        Item::Unpaid(u) => u.span,
    }
}

fn apply_change(lib: &mut Library, c: &Change) -> Result<(), String> {
    let unknown = || format!("没有可调整项“{}” no knob {}", c.knob, c.knob);
    // A named parameter.
    if let Some(p) = lib.parameters.iter_mut().find(|p| p.name == c.knob) {
        let old = p.values.last().map(|v| v.1.clone()).ok_or_else(unknown)?;
        let v = parse_value(p.ty, &old, &c.value)?;
        match c.from {
            Some(from) => {
                p.values.retain(|(d, _)| *d < from);
                p.values.push((from, v));
            }
            None => {
                for e in &mut p.values {
                    e.1 = v.clone();
                }
            }
        }
        return Ok(());
    }
    if let Some((mid, which)) = c.knob.split_once('@') {
        let m = lib
            .measures
            .iter_mut()
            .find(|m| m.id == mid)
            .ok_or_else(unknown)?;
        let Value::Date(d) = parse_value(Type::Date, &Value::Unknown, &c.value)? else {
            unreachable!("parse_value(Date) returns a date")
        };
        match which {
            "valid_from" => m.valid.0 = d,
            "valid_to" => m.valid.1 = d,
            _ => return Err(unknown()),
        }
        if m.valid.0 > m.valid.1 {
            return Err(format!(
                "有效期起始 {} 晚于终止 {} validity would start after it ends",
                m.valid.0, m.valid.1
            ));
        }
        return Ok(());
    }
    let (mid, n) = c.knob.split_once('#').ok_or_else(unknown)?;
    let n: usize = n.parse().map_err(|_| unknown())?;
    let new_params = lib.parameters.len();
    let m = lib
        .measures
        .iter_mut()
        .find(|m| m.id == mid)
        .ok_or_else(unknown)?;
    if let Some(from) = c.from
        && (from < m.valid.0 || from > m.valid.1)
    {
        return Err(format!(
            "生效日 {from} 不在措施有效期 {} .. {} 内 the date is outside the measure's validity",
            m.valid.0, m.valid.1
        ));
    }
    let label = m.label.clone();
    let mut k = 0;
    let mut result: Option<Result<Option<Parameter>, String>> = None;
    visit_measure(m, &mut |_, slot| {
        k += 1;
        if k != n || result.is_some() {
            return;
        }
        result = Some(match slot {
            Slot::Node(node, _) => {
                let old = match &node.kind {
                    NodeKind::Const(v) => v.clone(),
                    _ => return,
                };
                match parse_value(node.ty, &old, &c.value) {
                    Err(e) => Err(e),
                    Ok(v) => match c.from {
                        None => {
                            node.kind = NodeKind::Const(v);
                            Ok(None)
                        }
                        Some(from) => {
                            node.kind = NodeKind::Param(new_params);
                            Ok(Some(Parameter {
                                name: c.knob.clone(),
                                label: Label {
                                    zh: format!("{}(改革 reform: {} 起)", label.zh, from),
                                    en: label.en.clone(),
                                    unit: None,
                                    help: None,
                                },
                                ty: node.ty,
                                values: vec![(Date::MIN, old), (from, v)],
                            }))
                        }
                    },
                }
            }
            Slot::Threshold(value, _) => {
                if c.from.is_some() {
                    Err("分档界限不能按日期调整 a tier bound cannot change from a date".into())
                } else {
                    parse_value(type_of(value), value, &c.value).map(|v| {
                        *value = v;
                        None
                    })
                }
            }
        });
    });
    match result {
        None => Err(unknown()),
        Some(Err(e)) => Err(format!("{}: {e}", c.knob)),
        Some(Ok(Some(p))) => {
            lib.parameters.push(p);
            Ok(())
        }
        Some(Ok(None)) => Ok(()),
    }
}

/// For each measure of `reformed`, the index of the same measure in `base` where the reform
/// leaves it as it was — the same rules (event, validity, lets, conditions, grant, caps,
/// once-only rules, consecutive years, split), and every parameter it reads with the same
/// values — so that a re-run can take its awards from the baseline (see
/// [`crate::columnar::Plan::reevaluate`]); `None` where the measure must be evaluated again.
/// A reform changes numbers and validities of measures and parameters (see [`apply`]): the
/// rest of a library, its vocabulary and documents, is the baseline's.
pub fn reuse(base: &Library, reformed: &Library) -> Vec<Option<usize>> {
    let mut out: Vec<Option<usize>> = reformed
        .measures
        .iter()
        .map(|m| {
            let bi = *base.measure_index.get(&m.id)?;
            // Parameters are compared by index in the rules, and by value next.
            if !same_measure(&base.measures[bi], m) {
                return None;
            }
            let mut params = Vec::new();
            measure_nodes(m, &mut |n| params_of(n, &mut params));
            for p in params {
                let (x, y) = (base.parameters.get(p)?, reformed.parameters.get(p)?);
                if x.name != y.name || x.values != y.values {
                    return None;
                }
            }
            Some(bi)
        })
        .collect();
    // A measure that replaced another through an amendment reads that one's awards as its
    // history: when the replaced one is re-evaluated, so is it.
    for (i, m) in reformed.measures.iter().enumerate() {
        let replaced = m.start_change.as_ref().and_then(|c| c.measure.as_deref());
        if let Some(r) = replaced.and_then(|r| reformed.measure_index.get(r))
            && out[*r].is_none()
        {
            out[i] = None;
        }
    }
    out
}

/// Two measures evaluate alike: every part the engines read is equal.
fn same_measure(a: &kc_check::Measure, b: &kc_check::Measure) -> bool {
    use kc_check::{GrantRule as G, OnceRule as O};
    let lets = a.lets.len() == b.lets.len()
        && a.lets
            .iter()
            .zip(&b.lets)
            .all(|(x, y)| same_node(&x.node, &y.node));
    let conditions = a.conditions.len() == b.conditions.len()
        && a.conditions
            .iter()
            .zip(&b.conditions)
            .all(|(x, y)| same_node(&x.expr, &y.expr));
    let grant = match (&a.grant, &b.grant) {
        (G::Fixed(x), G::Fixed(y)) | (G::UpTo(x), G::UpTo(y)) => same_node(x, y),
        (G::Review(None), G::Review(None)) => true,
        (G::Review(Some((x1, x2))), G::Review(Some((y1, y2)))) => {
            same_node(x1, y1) && same_node(x2, y2)
        }
        (G::Parts(x), G::Parts(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((l, p), (k, q))| l == k && same_node(p, q))
        }
        _ => false,
    };
    let caps = a.caps.len() == b.caps.len()
        && a.caps
            .iter()
            .zip(&b.caps)
            .all(|(x, y)| x.period == y.period && same_node(&x.amount, &y.amount));
    let once = a.once.len() == b.once.len()
        && a.once.iter().zip(&b.once).all(|(x, y)| match (x, y) {
            (O::PerApplicant, O::PerApplicant) => true,
            (O::PerKey(p), O::PerKey(q)) => same_node(p, q),
            _ => false,
        });
    let split = a.split.remainder == b.split.remainder
        && a.split.shares.len() == b.split.shares.len()
        && a.split
            .shares
            .iter()
            .zip(&b.split.shares)
            .all(|(x, y)| x.0 == y.0 && x.1 == y.1);
    a.id == b.id
        && a.event == b.event
        && a.valid == b.valid
        && a.consecutive == b.consecutive
        && grant
        && caps
        && once
        && split
        && lets
        && conditions
}

/// Two expressions are the same, node for node (constants by value).
fn same_node(a: &Node, b: &Node) -> bool {
    use NodeKind as K;
    let all = |x: &[Node], y: &[Node]| {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_node(p, q))
    };
    a.ty == b.ty
        && match (&a.kind, &b.kind) {
            (K::Const(x), K::Const(y)) => x == y,
            (K::Param(x), K::Param(y))
            | (K::EventField(x), K::EventField(y))
            | (K::ApplicantField(x), K::ApplicantField(y))
            | (K::Let(x), K::Let(y)) => x == y,
            (K::EventDate, K::EventDate) | (K::EventId, K::EventId) => true,
            (K::Neg(x), K::Neg(y)) | (K::Not(x), K::Not(y)) | (K::Year(x), K::Year(y)) => {
                same_node(x, y)
            }
            (K::Figure(f, x), K::Figure(g, y)) => f == g && same_node(x, y),
            (K::Binary(o, x1, x2), K::Binary(p, y1, y2)) => {
                o == p && same_node(x1, y1) && same_node(x2, y2)
            }
            (K::Within(x1, x2), K::Within(y1, y2))
            | (K::Increment(x1, x2), K::Increment(y1, y2)) => {
                same_node(x1, y1) && same_node(x2, y2)
            }
            (K::In(x, xs), K::In(y, ys)) => same_node(x, y) && all(xs, ys),
            (K::Min(xs), K::Min(ys)) | (K::Max(xs), K::Max(ys)) | (K::Key(xs), K::Key(ys)) => {
                all(xs, ys)
            }
            (K::Holds(x, d), K::Holds(y, e)) => {
                same_node(x, y)
                    && match (d, e) {
                        (None, None) => true,
                        (Some(d), Some(e)) => same_node(d, e),
                        _ => false,
                    }
            }
            (K::Tier(s, xs), K::Tier(t, ys)) => {
                same_node(s, t)
                    && xs.len() == ys.len()
                    && xs.iter().zip(ys).all(|(x, y)| {
                        same_pattern(&x.pattern, &y.pattern) && same_node(&x.value, &y.value)
                    })
            }
            _ => false,
        }
}

fn same_pattern(a: &TierPattern, b: &TierPattern) -> bool {
    match (a, b) {
        (TierPattern::Any, TierPattern::Any) => true,
        (TierPattern::Members(x), TierPattern::Members(y)) => x == y,
        (TierPattern::Threshold(o, x), TierPattern::Threshold(p, y)) => o == p && x == y,
        _ => false,
    }
}

fn measure_nodes(m: &kc_check::Measure, f: &mut dyn FnMut(&Node)) {
    use kc_check::{GrantRule, OnceRule};
    m.lets.iter().for_each(|b| f(&b.node));
    m.conditions.iter().for_each(|c| f(&c.expr));
    match &m.grant {
        GrantRule::Fixed(n) | GrantRule::UpTo(n) => f(n),
        GrantRule::Review(Some((a, b))) => {
            f(a);
            f(b);
        }
        GrantRule::Review(None) => {}
        GrantRule::Parts(parts) => parts.iter().for_each(|(_, n)| f(n)),
    }
    m.caps.iter().for_each(|c| f(&c.amount));
    for o in &m.once {
        if let OnceRule::PerKey(n) = o {
            f(n);
        }
    }
}

/// The parameters a node reads.
fn params_of(n: &Node, out: &mut Vec<usize>) {
    let all = |xs: &[Node], out: &mut Vec<usize>| xs.iter().for_each(|x| params_of(x, out));
    match &n.kind {
        NodeKind::Param(p) => out.push(*p),
        NodeKind::Const(_)
        | NodeKind::EventField(_)
        | NodeKind::EventDate
        | NodeKind::EventId
        | NodeKind::ApplicantField(_)
        | NodeKind::Let(_) => {}
        NodeKind::Neg(a) | NodeKind::Not(a) | NodeKind::Year(a) | NodeKind::Figure(_, a) => {
            params_of(a, out)
        }
        NodeKind::Binary(_, a, b) | NodeKind::Within(a, b) | NodeKind::Increment(a, b) => {
            params_of(a, out);
            params_of(b, out);
        }
        NodeKind::In(a, xs) => {
            params_of(a, out);
            all(xs, out);
        }
        NodeKind::Min(xs) | NodeKind::Max(xs) | NodeKind::Key(xs) => all(xs, out),
        NodeKind::Holds(a, d) => {
            params_of(a, out);
            if let Some(d) = d {
                params_of(d, out);
            }
        }
        NodeKind::Tier(s, arms) => {
            params_of(s, out);
            arms.iter().for_each(|a| params_of(&a.value, out));
        }
    }
}

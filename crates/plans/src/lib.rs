//! Plans and targets: the action plans of the source documents as data (literate Markdown with
//! `plan` blocks of TOML — `docs/plans.md`), checked, and the status of each indicator and
//! milestone at a date.
//!
//! The key decision is that status is a pure, documented function of the data: an indicator is
//! judged by its latest actual against the straight path from its baseline to its target, with
//! the shortfall measured in units of the whole planned change (10% → at risk, 25% → off
//! track). The same numbers give the same status everywhere — terminal, web, export — and the
//! rule is tested on hand-worked cases. No IO here: files come in as text.

use jiff::civil::Date;
use kc_money::Dec;
use kc_syntax::literate::{self, ClauseText};
use kc_syntax::{Diagnostic, Span};
use serde::Deserialize;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Indicator {
    pub id: String,
    pub clause: String,
    pub name: String,
    pub name_en: Option<String>,
    pub unit: String,
    pub scope: String,
    pub direction: Direction,
    pub target: Dec,
    pub deadline: Date,
    pub baseline: Option<(Dec, Date)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub number: String,
    pub clause: String,
    pub title: String,
    pub lead: String,
    pub co: Vec<String>,
    pub milestones: Vec<(i16, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Actual {
    /// `plan-id:indicator-id`.
    pub indicator: String,
    pub value: Dec,
    pub date: Date,
    pub source: String,
}

/// A milestone recorded done.
#[derive(Clone, Debug, PartialEq)]
pub struct Done {
    /// `plan-id:task-number`.
    pub task: String,
    pub year: i16,
    pub date: Date,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub id: String,
    pub document: String,
    pub issuer: String,
    pub period: (Date, Date),
    pub scope: String,
    pub region: String,
    pub path: String,
    pub clauses: Vec<ClauseText>,
    pub indicators: Vec<Indicator>,
    pub tasks: Vec<Task>,
    pub notes: Vec<(String, String)>,
}

/// A responsible unit: its one canonical name, and the other names the documents use for it.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    pub name: String,
    pub aliases: Vec<String>,
}

/// Every plan, and the actuals and milestone records of all of them.
#[derive(Clone, Debug, Default)]
pub struct PlanLibrary {
    pub plans: Vec<Plan>,
    pub actuals: Vec<Actual>,
    pub done: Vec<Done>,
    /// The units table (`[[unit]]`, `plans/units.md`). When it is declared, every lead and
    /// co-operating unit of a task is one of its names, and is replaced by the canonical one.
    pub units: Vec<Unit>,
}

/// A diagnostic in one file.
#[derive(Clone, Debug)]
pub struct PlanDiagnostic {
    pub file: usize,
    pub diagnostic: Diagnostic,
}

// ---- TOML shapes ------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlock {
    plan: Option<RawPlan>,
    #[serde(default)]
    indicator: Vec<RawIndicator>,
    #[serde(default)]
    task: Vec<RawTask>,
    #[serde(default)]
    actual: Vec<RawActual>,
    #[serde(default)]
    note: Vec<RawNote>,
    #[serde(default)]
    progress: Vec<RawProgress>,
    #[serde(default)]
    unit: Vec<RawUnit>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnit {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    id: String,
    document: String,
    issuer: String,
    period: [String; 2],
    scope: String,
    region: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndicator {
    id: String,
    clause: String,
    name: String,
    name_en: Option<String>,
    unit: String,
    scope: String,
    direction: String,
    target: String,
    deadline: String,
    baseline: Option<RawBaseline>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    value: String,
    date: String,
    #[allow(dead_code)]
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    number: String,
    clause: String,
    title: String,
    lead: Option<String>,
    #[serde(default)]
    co: Vec<String>,
    #[serde(default)]
    milestones: Vec<RawMilestone>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMilestone {
    year: i64,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActual {
    indicator: String,
    value: String,
    date: String,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNote {
    clause: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgress {
    task: String,
    year: i64,
    done: String,
    source: String,
}

struct Cx {
    file: usize,
    diags: Vec<PlanDiagnostic>,
}

impl Cx {
    fn err(&mut self, span: Span, message: impl Into<String>, label: impl Into<String>) {
        self.diags.push(PlanDiagnostic {
            file: self.file,
            diagnostic: Diagnostic::error(span, message, label),
        });
    }
}

fn date(cx: &mut Cx, span: Span, what: &str, s: &str) -> Option<Date> {
    match Date::from_str(s) {
        Ok(d) if s.len() == 10 => Some(d),
        _ => {
            cx.err(
                span,
                format!("{what}: “{s}” is not a date (YYYY-MM-DD)"),
                "bad date",
            );
            None
        }
    }
}

fn decimal(cx: &mut Cx, span: Span, what: &str, s: &str) -> Option<Dec> {
    let cleaned: String = s.chars().filter(|c| *c != ',' && *c != '_').collect();
    match Dec::from_str(cleaned.trim()) {
        Ok(d)
            if cleaned
                .trim()
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-') =>
        {
            Some(d)
        }
        _ => {
            cx.err(
                span,
                format!("{what}: “{s}” is not a decimal number"),
                "bad number",
            );
            None
        }
    }
}

/// True if the text names a quantity: a digit followed by a unit or 以上/左右.
pub fn names_quantity(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if !c.is_ascii_digit() {
            continue;
        }
        let mut j = i + 1;
        while j < chars.len() && (chars[j].is_ascii_digit() || matches!(chars[j], '.' | ',')) {
            j += 1;
        }
        if let Some(n) = chars.get(j)
            && matches!(
                n,
                '%' | '％'
                    | '‰'
                    | '家'
                    | '个'
                    | '项'
                    | '所'
                    | '人'
                    | '亿'
                    | '万'
                    | '件'
                    | '平'
                    | '名'
                    | '倍'
                    | '支'
                    | '座'
                    | '台'
                    | '套'
            )
        {
            return true;
        }
    }
    false
}

/// One file (`plans/*.md` text) → its plan, with diagnostics.
fn parse_file(
    cx: &mut Cx,
    path: &str,
    text: &str,
    lib: &mut PlanLibrary,
    raw_actuals: &mut Vec<(usize, Span, String, RawActual)>,
    raw_progress: &mut Vec<(usize, Span, String, RawProgress)>,
    raw_units: &mut Vec<(usize, Span, RawUnit)>,
) {
    let mut declares_units = false;
    let lit = literate::split_tagged(text, "plan");
    let mut plan: Option<Plan> = None;
    let mut seen_clause = std::collections::HashSet::new();
    for c in &lit.clauses {
        if !seen_clause.insert(c.id.clone()) {
            cx.err(
                c.span,
                format!("clause `{}` appears twice in this file", c.id),
                "repeated heading",
            );
        }
    }
    let clause_ok = |id: &str| lit.clauses.iter().any(|c| c.id == id);
    for block in &lit.blocks {
        let span = Span::new(block.offset, block.offset + block.code.len());
        let raw: RawBlock = match toml::from_str(&block.code) {
            Ok(r) => r,
            Err(e) => {
                let s = e
                    .span()
                    .map(|r| Span::new(block.offset + r.start, block.offset + r.end))
                    .unwrap_or(span);
                cx.err(s, format!("plan block: {}", e.message()), "TOML error");
                continue;
            }
        };
        declares_units |= !raw.unit.is_empty();
        for u in raw.unit {
            raw_units.push((cx.file, span, u));
        }
        if let Some(p) = raw.plan {
            if plan.is_some() {
                cx.err(span, "a file holds one [plan]", "second [plan]");
                continue;
            }
            let from = date(cx, span, "period", &p.period[0]);
            let to = date(cx, span, "period", &p.period[1]);
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            if lib.plans.iter().any(|x| x.id == p.id) {
                cx.err(
                    span,
                    format!("plan id `{}` is used twice in plans/", p.id),
                    "repeated plan id",
                );
            }
            plan = Some(Plan {
                id: p.id,
                document: p.document,
                issuer: p.issuer,
                period: (from, to),
                scope: p.scope,
                region: p.region,
                path: path.to_string(),
                clauses: lit.clauses.clone(),
                indicators: Vec::new(),
                tasks: Vec::new(),
                notes: Vec::new(),
            });
        }
        let Some(pl) = plan.as_mut() else {
            if !raw.indicator.is_empty() || !raw.task.is_empty() {
                cx.err(
                    span,
                    "targets and tasks need a [plan] declared first in the file",
                    "no plan yet",
                );
            }
            continue;
        };
        for i in raw.indicator {
            if !clause_ok(&i.clause) {
                cx.err(
                    span,
                    format!(
                        "indicator `{}`: clause `{}` is not a heading of this file",
                        i.id, i.clause
                    ),
                    "unknown clause",
                );
            }
            if pl.indicators.iter().any(|x| x.id == i.id) {
                cx.err(
                    span,
                    format!("indicator `{}` is declared twice", i.id),
                    "repeated id",
                );
            }
            let direction = match i.direction.as_str() {
                "up" => Direction::Up,
                "down" => Direction::Down,
                other => {
                    cx.err(
                        span,
                        format!("indicator `{}`: direction “{other}” (up or down)", i.id),
                        "bad direction",
                    );
                    Direction::Up
                }
            };
            let target = decimal(cx, span, &format!("indicator `{}` target", i.id), &i.target);
            let deadline = date(
                cx,
                span,
                &format!("indicator `{}` deadline", i.id),
                &i.deadline,
            );
            let baseline = match &i.baseline {
                Some(b) => {
                    let v = decimal(
                        cx,
                        span,
                        &format!("indicator `{}` baseline", i.id),
                        &b.value,
                    );
                    let d = date(
                        cx,
                        span,
                        &format!("indicator `{}` baseline date", i.id),
                        &b.date,
                    );
                    v.zip(d)
                }
                None => None,
            };
            if let (Some(target), Some(deadline)) = (target, deadline) {
                if let Some((_, bd)) = baseline
                    && bd >= deadline
                {
                    cx.err(
                        span,
                        format!(
                            "indicator `{}`: the baseline date is not before the deadline",
                            i.id
                        ),
                        "bad dates",
                    );
                }
                pl.indicators.push(Indicator {
                    id: i.id,
                    clause: i.clause,
                    name: i.name,
                    name_en: i.name_en,
                    unit: i.unit,
                    scope: i.scope,
                    direction,
                    target,
                    deadline,
                    baseline,
                });
            }
        }
        for t in raw.task {
            if !clause_ok(&t.clause) {
                cx.err(
                    span,
                    format!(
                        "task {}: clause `{}` is not a heading of this file",
                        t.number, t.clause
                    ),
                    "unknown clause",
                );
            }
            let Some(lead) = t.lead.filter(|l| !l.trim().is_empty()) else {
                cx.err(
                    span,
                    format!("task {} has no lead unit (列第一位者为牵头部门)", t.number),
                    "missing lead",
                );
                continue;
            };
            if pl.tasks.iter().any(|x| x.number == t.number) {
                cx.err(
                    span,
                    format!("task {} is declared twice", t.number),
                    "repeated task",
                );
            }
            let mut milestones = Vec::new();
            for m in t.milestones {
                match i16::try_from(m.year) {
                    Ok(y) if (1990..=2100).contains(&y) => milestones.push((y, m.text)),
                    _ => cx.err(
                        span,
                        format!("task {}: milestone year {} is not a year", t.number, m.year),
                        "bad year",
                    ),
                }
            }
            pl.tasks.push(Task {
                number: t.number,
                clause: t.clause,
                title: t.title,
                lead,
                co: t.co,
                milestones,
            });
        }
        for n in raw.note {
            if !clause_ok(&n.clause) {
                cx.err(
                    span,
                    format!("note: clause `{}` is not a heading of this file", n.clause),
                    "unknown clause",
                );
            }
            pl.notes.push((n.clause, n.reason));
        }
        let pid = pl.id.clone();
        for a in raw.actual {
            raw_actuals.push((cx.file, span, pid.clone(), a));
        }
        for p in raw.progress {
            raw_progress.push((cx.file, span, pid.clone(), p));
        }
    }
    match plan {
        Some(p) => lib.plans.push(p),
        // The units table may stand in a file of its own.
        None if declares_units => {}
        None => cx.err(
            Span::new(0, 0),
            format!("{path}: no [plan] declaration"),
            "declare the plan in the first plan block",
        ),
    }
}

/// The units table: each name (canonical or alias) names one unit, and every task's units are
/// replaced by their canonical names. Without a table, names stay as written.
fn units(
    cx: &mut Cx,
    lib: &mut PlanLibrary,
    files: &[(String, String)],
    raw: Vec<(usize, Span, RawUnit)>,
) {
    if raw.is_empty() {
        return;
    }
    let mut canonical: std::collections::HashMap<String, String> = Default::default();
    for (file, span, u) in raw {
        cx.file = file;
        let name = u.name.trim().to_string();
        if name.is_empty() {
            cx.err(span, "unit: an empty name", "empty name");
            continue;
        }
        for n in std::iter::once(&name).chain(u.aliases.iter()) {
            let n = n.trim();
            match canonical.get(n) {
                Some(other) if *other == name => cx.err(
                    span,
                    format!("unit “{name}”: the name “{n}” is listed twice"),
                    "repeated name",
                ),
                Some(other) => cx.err(
                    span,
                    format!(
                        "unit name “{n}” stands for two units, “{other}” and “{name}”: one canonical name per unit"
                    ),
                    "two canonical names",
                ),
                None => {
                    canonical.insert(n.to_string(), name.clone());
                }
            }
        }
        lib.units.push(Unit {
            name,
            aliases: u.aliases.iter().map(|a| a.trim().to_string()).collect(),
        });
    }
    for plan in &mut lib.plans {
        let file = files.iter().position(|(p, _)| *p == plan.path).unwrap_or(0);
        for t in &mut plan.tasks {
            let mut names = Vec::new();
            for n in std::iter::once(&t.lead).chain(t.co.iter()) {
                match canonical.get(n.trim()) {
                    Some(c) => names.push(c.clone()),
                    None => {
                        cx.file = file;
                        cx.err(
                            Span::new(0, 0),
                            format!(
                                "{}: task {}: unit “{n}” is in no [[unit]] of plans/units.md (add it, or as an alias of its unit)",
                                plan.path, t.number
                            ),
                            "unknown unit",
                        );
                        names.push(n.clone());
                    }
                }
            }
            t.lead = names[0].clone();
            let mut co: Vec<String> = Vec::new();
            for n in names.into_iter().skip(1) {
                if n != t.lead && !co.contains(&n) {
                    co.push(n);
                }
            }
            t.co = co;
        }
    }
}

/// Checks every plan file together; the library is produced only without errors.
pub fn check(files: &[(String, String)]) -> (Option<PlanLibrary>, Vec<PlanDiagnostic>) {
    let mut lib = PlanLibrary::default();
    let mut cx = Cx {
        file: 0,
        diags: Vec::new(),
    };
    let mut raw_actuals = Vec::new();
    let mut raw_progress = Vec::new();
    let mut raw_units = Vec::new();
    for (i, (path, text)) in files.iter().enumerate() {
        cx.file = i;
        parse_file(
            &mut cx,
            path,
            text,
            &mut lib,
            &mut raw_actuals,
            &mut raw_progress,
            &mut raw_units,
        );
    }
    units(&mut cx, &mut lib, files, raw_units);
    for (file, span, pid, a) in raw_actuals {
        cx.file = file;
        let key = if a.indicator.contains(':') {
            a.indicator.clone()
        } else {
            format!("{pid}:{}", a.indicator)
        };
        let (p, i) = key.split_once(':').unwrap_or(("", ""));
        if !lib
            .plans
            .iter()
            .any(|x| x.id == p && x.indicators.iter().any(|ind| ind.id == i))
        {
            cx.err(
                span,
                format!("actual: no indicator `{key}`"),
                "unknown indicator",
            );
            continue;
        }
        let v = decimal(&mut cx, span, &format!("actual of {key}"), &a.value);
        let d = date(&mut cx, span, &format!("actual of {key}"), &a.date);
        if let (Some(value), Some(date)) = (v, d) {
            lib.actuals.push(Actual {
                indicator: key,
                value,
                date,
                source: a.source,
            });
        }
    }
    for (file, span, pid, p) in raw_progress {
        cx.file = file;
        let key = if p.task.contains(':') {
            p.task.clone()
        } else {
            format!("{pid}:{}", p.task)
        };
        let (pl, t) = key.split_once(':').unwrap_or(("", ""));
        if !lib
            .plans
            .iter()
            .any(|x| x.id == pl && x.tasks.iter().any(|task| task.number == t))
        {
            cx.err(span, format!("progress: no task `{key}`"), "unknown task");
            continue;
        }
        let d = date(&mut cx, span, &format!("progress of {key}"), &p.done);
        if let (Some(date), Ok(year)) = (d, i16::try_from(p.year)) {
            lib.done.push(Done {
                task: key,
                year,
                date,
                source: p.source,
            });
        }
    }
    // Coverage: a clause naming a quantity is cited by an indicator, task or actual, or noted.
    for (i, plan) in lib.plans.iter().enumerate() {
        cx.file = files.iter().position(|(p, _)| *p == plan.path).unwrap_or(i);
        for c in &plan.clauses {
            if !names_quantity(&c.quote) {
                continue;
            }
            let cited = plan.indicators.iter().any(|x| x.clause == c.id)
                || plan.tasks.iter().any(|x| x.clause == c.id)
                || plan.notes.iter().any(|x| x.0 == c.id)
                || lib.actuals.iter().any(|a| {
                    a.source.contains(c.id.as_str())
                        && a.indicator.starts_with(&format!("{}:", plan.id))
                });
            if !cited {
                cx.err(
                    c.span,
                    format!(
                        "clause `{}` names a quantity but no indicator, task or note cites it",
                        c.id
                    ),
                    "not covered",
                );
            }
        }
    }
    let ok = cx.diags.is_empty();
    (ok.then_some(lib), cx.diags)
}

// ---- status -----------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Achieved,
    OnTrack,
    AtRisk,
    OffTrack,
    /// No actual value yet.
    NoData,
    /// Not achieved, and no baseline to draw the path from.
    NoPath,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Achieved => "achieved",
            Status::OnTrack => "on_track",
            Status::AtRisk => "at_risk",
            Status::OffTrack => "off_track",
            Status::NoData => "no_data",
            Status::NoPath => "no_path",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Status::Achieved => "已完成",
            Status::OnTrack => "进度正常",
            Status::AtRisk => "存在风险",
            Status::OffTrack => "进度滞后",
            Status::NoData => "暂无数据",
            Status::NoPath => "未完成(无基线)",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            Status::Achieved => "achieved",
            Status::OnTrack => "on track",
            Status::AtRisk => "at risk",
            Status::OffTrack => "off track",
            Status::NoData => "no data",
            Status::NoPath => "not achieved (no baseline)",
        }
    }
    /// Every status, in the order a dashboard counts them.
    pub const ALL: [Status; 6] = [
        Status::Achieved,
        Status::OnTrack,
        Status::AtRisk,
        Status::OffTrack,
        Status::NoPath,
        Status::NoData,
    ];
}

/// An indicator's judgement at a date.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    pub status: Status,
    pub actual: Option<(Dec, Date)>,
    /// The value the straight path expects at the actual's date.
    pub expected: Option<Dec>,
}

/// The share of an at-risk / off-track shortfall, in units of the planned change.
pub const ON_TRACK_TOLERANCE: Dec = Dec::from_parts(10, 0, 0, false, 2);
pub const AT_RISK_TOLERANCE: Dec = Dec::from_parts(25, 0, 0, false, 2);

/// Judges an indicator at `as_of` from its actuals (any order).
pub fn judge(ind: &Indicator, actuals: &[&Actual], as_of: Date) -> Judgement {
    let latest = actuals
        .iter()
        .filter(|a| a.date <= as_of)
        .max_by_key(|a| a.date);
    // No actual on or before the date is "no data", also past the deadline: a missing report
    // is not a shortfall, and showing it as 滞后 made every plan look failed.
    let Some(a) = latest else {
        return Judgement {
            status: Status::NoData,
            actual: None,
            expected: None,
        };
    };
    let met = match ind.direction {
        Direction::Up => a.value >= ind.target,
        Direction::Down => a.value <= ind.target,
    };
    if met {
        return Judgement {
            status: Status::Achieved,
            actual: Some((a.value, a.date)),
            expected: None,
        };
    }
    if as_of > ind.deadline {
        return Judgement {
            status: Status::OffTrack,
            actual: Some((a.value, a.date)),
            expected: None,
        };
    }
    let Some((b, t0)) = ind.baseline else {
        return Judgement {
            status: Status::NoPath,
            actual: Some((a.value, a.date)),
            expected: None,
        };
    };
    let total = (ind.deadline - t0).get_days() as i64;
    let elapsed = ((a.date - t0).get_days() as i64).clamp(0, total.max(1));
    let fraction = if total <= 0 {
        Dec::ONE
    } else {
        Dec::from(elapsed) / Dec::from(total)
    };
    let expected = b + (ind.target - b) * fraction;
    let planned = (ind.target - b).abs();
    let shortfall = match ind.direction {
        Direction::Up => expected - a.value,
        Direction::Down => a.value - expected,
    };
    let status = if planned.is_zero() || shortfall <= planned * ON_TRACK_TOLERANCE {
        Status::OnTrack
    } else if shortfall <= planned * AT_RISK_TOLERANCE {
        Status::AtRisk
    } else {
        Status::OffTrack
    };
    Judgement {
        status,
        actual: Some((a.value, a.date)),
        expected: Some(expected),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MilestoneStatus {
    Done,
    Late,
    Open,
}

impl MilestoneStatus {
    pub fn zh(self) -> &'static str {
        match self {
            MilestoneStatus::Done => "已完成",
            MilestoneStatus::Late => "逾期",
            MilestoneStatus::Open => "进行中",
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            MilestoneStatus::Done => "done",
            MilestoneStatus::Late => "late",
            MilestoneStatus::Open => "open",
        }
    }
}

/// A milestone of year `year`: done if recorded, late once the year has ended, else open.
pub fn milestone(
    lib: &PlanLibrary,
    plan: &str,
    task: &str,
    year: i16,
    as_of: Date,
) -> MilestoneStatus {
    let key = format!("{plan}:{task}");
    if lib
        .done
        .iter()
        .any(|d| d.task == key && d.year == year && d.date <= as_of)
    {
        MilestoneStatus::Done
    } else if as_of.year() > year {
        MilestoneStatus::Late
    } else {
        MilestoneStatus::Open
    }
}

impl PlanLibrary {
    pub fn actuals_of(&self, plan: &str, indicator: &str) -> Vec<&Actual> {
        let key = format!("{plan}:{indicator}");
        self.actuals.iter().filter(|a| a.indicator == key).collect()
    }

    /// Adds a recorded actual. One for an indicator and date that already has a value is a
    /// correction and supersedes it: the library keeps one value per indicator and date.
    pub fn add_actual(&mut self, a: Actual) {
        match self
            .actuals
            .iter_mut()
            .find(|x| x.indicator == a.indicator && x.date == a.date)
        {
            Some(old) => *old = a,
            None => self.actuals.push(a),
        }
    }

    /// The canonical name of a unit named by any of its names (`None` if no unit has it, or
    /// no units table is declared).
    pub fn canonical_unit(&self, name: &str) -> Option<&str> {
        let name = name.trim();
        self.units
            .iter()
            .find(|u| u.name == name || u.aliases.iter().any(|a| a == name))
            .map(|u| u.name.as_str())
    }

    /// The plan and indicator of a `plan-id:indicator-id` key.
    pub fn indicator(&self, key: &str) -> Option<(&Plan, &Indicator)> {
        let (p, i) = key.split_once(':')?;
        let plan = self.plans.iter().find(|x| x.id == p)?;
        Some((plan, plan.indicators.iter().find(|x| x.id == i)?))
    }
}

/// Units that count things (家, 个, 项, …): a value in one is a whole number, never negative.
/// (万人 is an amount in ten thousands: it may have decimals.)
pub fn is_count_unit(unit: &str) -> bool {
    matches!(
        unit,
        "家" | "个" | "项" | "人" | "名" | "件" | "期" | "所" | "支" | "座" | "台" | "套"
    )
}

/// Whether a value in this unit may be negative: only rates (%, ‰) — a growth rate can fall.
/// Counts and amounts (家, 亿元, 万人, 万平方米, …) cannot.
pub fn may_be_negative(unit: &str) -> bool {
    matches!(unit, "%" | "％" | "‰")
}

/// Checks a value reported for an indicator (the plan office's form and API): not negative in
/// a unit that cannot be, a whole number in a count unit, and dated within the plan — not
/// before its start and not after `today`. The error is a Chinese/English sentence.
pub fn check_actual(
    plan: &Plan,
    ind: &Indicator,
    value: Dec,
    date: Date,
    today: Date,
) -> Result<(), String> {
    if value.is_sign_negative() && !value.is_zero() && !may_be_negative(&ind.unit) {
        return Err(format!(
            "数值 value:{}以“{}”计,不能为负数 (cannot be negative): {}",
            ind.name,
            ind.unit,
            value.normalize()
        ));
    }
    if is_count_unit(&ind.unit) && !value.fract().is_zero() {
        return Err(format!(
            "数值 value:{}以“{}”计,应为整数 (a count is a whole number): {}",
            ind.name,
            ind.unit,
            value.normalize()
        ));
    }
    if date > today {
        return Err(format!(
            "日期 date:{date} 晚于今天 {today} (a value cannot be reported for the future)"
        ));
    }
    if date < plan.period.0 {
        return Err(format!(
            "日期 date:{date} 早于计划开始日期 {} (before the plan's start)",
            plan.period.0
        ));
    }
    Ok(())
}

/// The headers of a unit's report (督办清单).
pub const UNIT_REPORT_HEADERS: [&str; 9] = [
    "计划 plan",
    "任务 task",
    "标题 title",
    "角色 role",
    "牵头单位 lead",
    "配合单位 co",
    "年度 year",
    "节点 milestone",
    "状态 status",
];

/// A unit's report: one row per milestone of every task the unit leads or co-operates on (a
/// task without milestones gives one row for its plan's last year). The unit is matched by
/// any of its names (an alias stands for the canonical name), or — when no task names it
/// exactly — by part of a name.
pub fn unit_report(lib: &PlanLibrary, unit: &str, as_of: Date) -> Vec<Vec<String>> {
    let unit = lib.canonical_unit(unit).unwrap_or(unit);
    let exact = lib.plans.iter().any(|p| {
        p.tasks
            .iter()
            .any(|t| t.lead == unit || t.co.iter().any(|c| c == unit))
    });
    let names = |name: &str| {
        if exact {
            name == unit
        } else {
            name.contains(unit)
        }
    };
    let mut rows = Vec::new();
    for p in &lib.plans {
        for t in p
            .tasks
            .iter()
            .filter(|t| names(&t.lead) || t.co.iter().any(|c| names(c)))
        {
            let role = if names(&t.lead) {
                "牵头 lead"
            } else {
                "配合 co-operate"
            };
            let ms: Vec<(i16, String)> = if t.milestones.is_empty() {
                vec![(p.period.1.year(), String::new())]
            } else {
                t.milestones.clone()
            };
            for (y, text) in ms {
                let s = milestone(lib, &p.id, &t.number, y, as_of);
                rows.push(vec![
                    p.document.clone(),
                    t.number.clone(),
                    t.title.clone(),
                    role.into(),
                    t.lead.clone(),
                    t.co.join("、"),
                    y.to_string(),
                    text,
                    s.zh().into(),
                ]);
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ind(
        direction: Direction,
        baseline: Option<(i64, &str)>,
        target: i64,
        deadline: &str,
    ) -> Indicator {
        Indicator {
            id: "x".into(),
            clause: "一、".into(),
            name: "高新技术企业数".into(),
            name_en: None,
            unit: "家".into(),
            scope: "city".into(),
            direction,
            target: Dec::from(target),
            deadline: deadline.parse().unwrap(),
            baseline: baseline.map(|(v, d)| (Dec::from(v), d.parse().unwrap())),
        }
    }

    fn actual(v: i64, d: &str) -> Actual {
        Actual {
            indicator: "p:x".into(),
            value: Dec::from(v),
            date: d.parse().unwrap(),
            source: String::new(),
        }
    }

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn the_linear_path_with_tolerances_worked_by_hand() {
        // Baseline 1,000 at 2018-12-31, target 2,000 at 2020-12-31: 731 days (2020 is a leap
        // year). At 2019-12-31, 365 days in: expected 1,000 + 1,000 × 365/731 = 1,499.316…;
        // the planned change is 1,000, so 10% = 100 and 25% = 250 of shortfall.
        let i = ind(
            Direction::Up,
            Some((1000, "2018-12-31")),
            2000,
            "2020-12-31",
        );
        let at = day("2020-01-15");
        let j = judge(&i, &[&actual(1400, "2019-12-31")], at);
        assert_eq!(j.status, Status::OnTrack, "short by 99.3 ≤ 100");
        assert_eq!(
            j.expected.unwrap().round_dp(3),
            Dec::from_str("1499.316").unwrap()
        );
        assert_eq!(
            judge(&i, &[&actual(1399, "2019-12-31")], at).status,
            Status::AtRisk,
            "short by 100.3"
        );
        assert_eq!(
            judge(&i, &[&actual(1250, "2019-12-31")], at).status,
            Status::AtRisk,
            "short by 249.3 ≤ 250"
        );
        assert_eq!(
            judge(&i, &[&actual(1249, "2019-12-31")], at).status,
            Status::OffTrack,
            "short by 250.3"
        );
        assert_eq!(
            judge(&i, &[&actual(2000, "2019-12-31")], at).status,
            Status::Achieved
        );
        // The latest actual on or before the date counts; later ones are ignored.
        let j = judge(
            &i,
            &[
                &actual(1100, "2019-06-30"),
                &actual(1450, "2019-12-31"),
                &actual(2100, "2020-06-30"),
            ],
            at,
        );
        assert_eq!(
            (j.status, j.actual.unwrap().0),
            (Status::OnTrack, Dec::from(1450))
        );
        // Past the deadline unmet: off track; no actual yet: no data.
        assert_eq!(
            judge(&i, &[&actual(1900, "2020-12-31")], day("2021-01-01")).status,
            Status::OffTrack
        );
        assert_eq!(judge(&i, &[], at).status, Status::NoData);
        // No actual at all is no data also long after the deadline (not off track), and so is
        // an indicator whose only actual lies after the date asked.
        let j = judge(&i, &[], day("2026-11-30"));
        assert_eq!(
            (j.status, j.actual, j.expected),
            (Status::NoData, None, None)
        );
        assert_eq!(
            judge(&i, &[&actual(1900, "2021-03-31")], day("2021-01-01")).status,
            Status::NoData
        );
        // The tolerances still hold past the deadline for a reported shortfall: 1,999 of 2,000
        // reported at the deadline, judged a year later, is off track.
        assert_eq!(
            judge(&i, &[&actual(1999, "2020-12-31")], day("2021-12-31")).status,
            Status::OffTrack
        );
    }

    #[test]
    fn lower_is_better_and_no_baseline() {
        // Down from 100 to 80 between 2018-12-31 and 2020-12-31 (731 days): at 2019-12-31
        // (365 days) the path expects 100 − 20 × 365/731 = 90.0136…; 10% of the change is 2.
        let i = ind(Direction::Down, Some((100, "2018-12-31")), 80, "2020-12-31");
        let at = day("2020-01-01");
        assert_eq!(
            judge(&i, &[&actual(92, "2019-12-31")], at).status,
            Status::OnTrack,
            "above 90.01 by 1.99 ≤ 2"
        );
        assert_eq!(
            judge(&i, &[&actual(93, "2019-12-31")], at).status,
            Status::AtRisk
        );
        assert_eq!(
            judge(&i, &[&actual(80, "2019-12-31")], at).status,
            Status::Achieved
        );
        let nb = ind(Direction::Up, None, 400, "2025-05-13");
        assert_eq!(
            judge(&nb, &[&actual(300, "2022-12-31")], day("2023-01-01")).status,
            Status::NoPath
        );
        assert_eq!(
            judge(&nb, &[&actual(400, "2022-12-31")], day("2023-01-01")).status,
            Status::Achieved
        );
    }

    fn plan(start: &str) -> Plan {
        Plan {
            id: "p".into(),
            document: "d".into(),
            issuer: "i".into(),
            period: (day(start), day("2020-12-31")),
            scope: "city".into(),
            region: "shenyang".into(),
            path: "plans/p.md".into(),
            clauses: Vec::new(),
            indicators: Vec::new(),
            tasks: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn reported_values_are_checked_for_sign_wholeness_and_date() {
        let p = plan("2018-01-01");
        let hte = ind(Direction::Up, None, 2000, "2020-12-31"); // 家
        let today = day("2026-11-30");
        let dec = |s: &str| Dec::from_str(s).unwrap();
        assert_eq!(
            check_actual(&p, &hte, dec("1230"), day("2018-12-31"), today),
            Ok(())
        );
        assert_eq!(
            check_actual(&p, &hte, dec("0"), day("2018-01-01"), today),
            Ok(()),
            "zero and the plan's first day are fine"
        );
        let e = check_actual(&p, &hte, dec("-20"), day("2018-12-31"), today).unwrap_err();
        assert!(e.contains("不能为负数") && e.contains("-20"), "{e}");
        let e = check_actual(&p, &hte, dec("12.5"), day("2018-12-31"), today).unwrap_err();
        assert!(e.contains("整数"), "{e}");
        let e = check_actual(&p, &hte, dec("1230"), day("2030-12-31"), today).unwrap_err();
        assert!(e.contains("晚于今天 2026-11-30"), "{e}");
        assert_eq!(
            check_actual(&p, &hte, dec("1230"), today, today),
            Ok(()),
            "today itself"
        );
        let e = check_actual(&p, &hte, dec("1230"), day("2017-12-31"), today).unwrap_err();
        assert!(e.contains("早于计划开始日期 2018-01-01"), "{e}");
        // A rate may fall below zero and need not be whole; an amount in 亿元 may not be negative.
        let mut rate = hte.clone();
        rate.unit = "%".into();
        assert_eq!(
            check_actual(&p, &rate, dec("-1.5"), day("2019-12-31"), today),
            Ok(())
        );
        let mut money = hte.clone();
        money.unit = "亿元".into();
        assert_eq!(
            check_actual(&p, &money, dec("12.34"), day("2019-12-31"), today),
            Ok(())
        );
        assert!(check_actual(&p, &money, dec("-0.01"), day("2019-12-31"), today).is_err());
        assert!(is_count_unit("项") && !is_count_unit("万人") && !is_count_unit("%"));
    }

    #[test]
    fn a_recorded_value_for_the_same_date_supersedes() {
        let mut lib = PlanLibrary::default();
        lib.actuals.push(actual(1230, "2018-12-31"));
        lib.add_actual(actual(1300, "2019-06-30"));
        lib.add_actual(actual(1250, "2018-12-31"));
        let mut v: Vec<(Dec, String)> = lib
            .actuals_of("p", "x")
            .iter()
            .map(|a| (a.value, a.date.to_string()))
            .collect();
        v.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            v,
            vec![
                (Dec::from(1250), "2018-12-31".to_string()),
                (Dec::from(1300), "2019-06-30".to_string())
            ]
        );
    }

    #[test]
    fn unit_names_are_normalised_to_one_canonical_name() {
        let plan = "# 计划\n\n## 一、 任务\n\n> 1.建立系统。\n\n```plan\n[plan]\nid = \"p\"\ndocument = \"d\"\nissuer = \"i\"\nperiod = [\"2018-01-01\", \"2020-12-31\"]\nscope = \"city\"\nregion = \"shenyang\"\n\n[[task]]\nnumber = \"1\"\nclause = \"一、\"\ntitle = \"建立系统\"\nlead = \"市政府\"\nco = [\"中科院(沈阳)分院\", \"中科院沈阳分院\", \"沈阳市政府\", \"东北大学\"]\n```\n";
        let units = "# 单位\n\n```plan\n[[unit]]\nname = \"沈阳市人民政府\"\naliases = [\"沈阳市政府\", \"市政府\"]\n\n[[unit]]\nname = \"中国科学院沈阳分院\"\naliases = [\"中科院沈阳分院\", \"中科院(沈阳)分院\"]\n\n[[unit]]\nname = \"东北大学\"\n```\n";
        let msgs = |d: &[PlanDiagnostic]| -> Vec<String> {
            d.iter().map(|d| d.diagnostic.message.clone()).collect()
        };
        let (lib, d) = check(&[
            ("plans/p.md".into(), plan.into()),
            ("plans/units.md".into(), units.into()),
        ]);
        assert!(d.is_empty(), "{:?}", msgs(&d));
        let lib = lib.unwrap();
        let t = &lib.plans[0].tasks[0];
        // 市政府 → 沈阳市人民政府 leads; the two spellings of the branch become one co-unit, and
        // 沈阳市政府, the lead itself, is not listed again.
        assert_eq!(t.lead, "沈阳市人民政府");
        assert_eq!(t.co, ["中国科学院沈阳分院", "东北大学"]);
        assert_eq!(
            lib.canonical_unit("中科院(沈阳)分院"),
            Some("中国科学院沈阳分院")
        );
        assert_eq!(lib.canonical_unit("东北大学"), Some("东北大学"));
        assert_eq!(lib.canonical_unit("辽宁大学"), None);
        // The unit's report answers to an alias with the canonical name.
        let rows = unit_report(&lib, "中科院沈阳分院", day("2019-01-01"));
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0][3].as_str(), rows[0][4].as_str()),
            ("配合 co-operate", "沈阳市人民政府")
        );
        // A name in no [[unit]] is an error, and so is a name listed for two units.
        let (lib, d) = check(&[
            ("plans/p.md".into(), plan.replace("东北大学", "辽宁大学")),
            ("plans/units.md".into(), units.into()),
        ]);
        assert!(lib.is_none());
        assert!(
            msgs(&d)
                .iter()
                .any(|m| m.contains("unit “辽宁大学” is in no [[unit]]")),
            "{:?}",
            msgs(&d)
        );
        let twice = units.replace(
            "name = \"东北大学\"",
            "name = \"东北大学\"\naliases = [\"市政府\"]",
        );
        let (lib, d) = check(&[
            ("plans/p.md".into(), plan.into()),
            ("plans/units.md".into(), twice),
        ]);
        assert!(lib.is_none());
        assert!(
            msgs(&d)
                .iter()
                .any(|m| m
                    .contains("“市政府” stands for two units, “沈阳市人民政府” and “东北大学”")),
            "{:?}",
            msgs(&d)
        );
        // Without a units table, names stay as written.
        let (lib, _) = check(&[("plans/p.md".into(), plan.into())]);
        assert_eq!(lib.unwrap().plans[0].tasks[0].lead, "市政府");
    }

    #[test]
    fn milestones_are_done_late_or_open() {
        let mut lib = PlanLibrary::default();
        lib.done.push(Done {
            task: "p:3".into(),
            year: 2017,
            date: day("2017-11-30"),
            source: String::new(),
        });
        assert_eq!(
            milestone(&lib, "p", "3", 2017, day("2018-03-01")),
            MilestoneStatus::Done
        );
        assert_eq!(
            milestone(&lib, "p", "3", 2016, day("2018-03-01")),
            MilestoneStatus::Late
        );
        assert_eq!(
            milestone(&lib, "p", "3", 2018, day("2018-03-01")),
            MilestoneStatus::Open
        );
        assert_eq!(
            milestone(&lib, "p", "3", 2017, day("2017-06-01")),
            MilestoneStatus::Open,
            "recorded later than the date asked"
        );
    }

    #[test]
    fn a_file_is_checked_with_located_errors() {
        let text = "# 计划\n\n## 一、 目标\n\n> 到2020年,高新技术企业达到4000家。\n\n```plan\n[plan]\nid = \"p\"\ndocument = \"d\"\nissuer = \"i\"\nperiod = [\"2018-01-01\", \"2020-12-31\"]\nscope = \"province\"\nregion = \"liaoning\"\n\n[[indicator]]\nid = \"hte\"\nclause = \"一、\"\nname = \"高新技术企业\"\nunit = \"家\"\nscope = \"province\"\ndirection = \"up\"\ntarget = \"4000\"\ndeadline = \"2020-12-31\"\n```\n\n## 二、 任务\n\n> 1.建立系统。(省科技厅、省教育厅)\n\n```plan\n[[task]]\nnumber = \"1\"\nclause = \"二、\"\ntitle = \"建立系统\"\nlead = \"省科技厅\"\nco = [\"省教育厅\"]\n```\n";
        let (lib, diags) = check(&[("plans/p.md".into(), text.into())]);
        assert!(
            diags.is_empty(),
            "{:?}",
            diags
                .iter()
                .map(|d| d.diagnostic.message.clone())
                .collect::<Vec<_>>()
        );
        let lib = lib.unwrap();
        assert_eq!(lib.plans[0].indicators[0].target, Dec::from(4000));
        assert_eq!(lib.plans[0].tasks[0].lead, "省科技厅");
        // A task without its lead, a wrong clause and an uncovered quantity are errors.
        let broken = text
            .replace("lead = \"省科技厅\"\n", "")
            .replace("clause = \"一、\"", "clause = \"九、\"");
        let (lib, diags) = check(&[("plans/p.md".into(), broken)]);
        assert!(lib.is_none());
        let msgs: Vec<String> = diags.iter().map(|d| d.diagnostic.message.clone()).collect();
        assert!(msgs.iter().any(|m| m.contains("no lead unit")), "{msgs:?}");
        assert!(
            msgs.iter().any(|m| m.contains("`九、` is not a heading")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m.contains("names a quantity")),
            "{msgs:?}"
        );
    }
}

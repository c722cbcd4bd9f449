//! Text a bureau clerk reads: Chinese labels first, amounts as 1,234,567.89 元.

use kc_check::ir::*;
use kc_eval::{Evaluation, Input, Status};
use serde_json::json;
use std::fmt::Write;

fn amount_rule(m: &Measure) -> String {
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    match &m.grant {
        GrantRule::Fixed(n) => format!("定额 {}", one_line(&n.text)),
        GrantRule::UpTo(n) => format!("最高 {}", one_line(&n.text)),
        GrantRule::Review(None) => "评审确定".to_string(),
        GrantRule::Review(Some((a, b))) => format!("评审确定 {} – {}", a.text, b.text),
        GrantRule::Parts(ps) => ps
            .iter()
            .map(|(l, n)| format!("{} {}", l.zh(), one_line(&n.text)))
            .collect::<Vec<_>>()
            .join(" + "),
    }
}

pub fn list(lib: &Library) -> String {
    let mut out = String::new();
    for d in &lib.documents {
        let _ = writeln!(
            out,
            "{}  {}  (有效期 {} 至 {})",
            d.number, d.title, d.valid.0, d.valid.1
        );
        for m in lib
            .measures
            .iter()
            .filter(|m| lib.documents[m.doc].number == d.number)
        {
            let _ = writeln!(
                out,
                "  {:<34} {:<8} {:<6} {}  — {}",
                m.id,
                m.clause.id,
                m.form.map(|f| f.zh()).unwrap_or("-"),
                amount_rule(m),
                m.label.zh
            );
        }
    }
    let _ = writeln!(out, "共 {} 项措施 measures", lib.measures.len());
    out
}

pub fn list_json(lib: &Library) -> serde_json::Value {
    json!(
        lib.measures
            .iter()
            .map(|m| json!({
                "measure": m.id,
                "title": m.label.zh,
                "title_en": m.label.en,
                "document": lib.documents[m.doc].number,
                "clause": m.clause.id,
                "form": m.form.map(|f| f.zh()),
                "event": lib.vocab.events[m.event].name,
                "amount_rule": amount_rule(m),
            }))
            .collect::<Vec<_>>()
    )
}

pub fn explain(lib: &Library, m: &Measure) -> String {
    let d = &lib.documents[m.doc];
    let mut out = String::new();
    let _ = writeln!(out, "{}  {}", m.id, m.label.zh);
    if let Some(en) = &m.label.en {
        let _ = writeln!(out, "{en}");
    }
    let _ = writeln!(out, "\n文件 document: {} {}", d.number, d.title);
    let _ = writeln!(out, "条款 clause:   {}", m.clause.heading);
    let _ = writeln!(out, "有效期 valid:  {} 至 {}", m.valid.0, m.valid.1);
    for c in m.start_change.iter().chain(m.end_change.iter()) {
        let _ = writeln!(out, "              {} ({})", c.words(false), c.words(true));
    }
    if let Some(p) = m.claim_within {
        let _ = writeln!(
            out,
            "申请期限 claim: 事项发生后{}内 (within {} of the event)",
            p.words(false),
            p.words(true)
        );
    }
    let _ = writeln!(
        out,
        "触发事件 event: {} ({})",
        lib.vocab.events[m.event].label.zh, lib.vocab.events[m.event].name
    );
    let _ = writeln!(out, "金额 amount:   {}", amount_rule(m));
    let shares: Vec<String> = m
        .split
        .shares
        .iter()
        .map(|(l, _, t)| format!("{} {t}", l.zh()))
        .collect();
    let parts = if matches!(m.grant, GrantRule::Parts(_)) {
        "(各级按各自公式承担 each level pays its own part)"
    } else {
        ""
    };
    let _ = writeln!(out, "资金分担 split: {}{parts}", shares.join(", "));
    let _ = writeln!(out, "\n原文 source text «{}»:", m.clause.id);
    for line in m.clause.quote.lines() {
        let _ = writeln!(out, "  > {line}");
    }
    let _ = writeln!(out, "\n规则 rule ({}:{}):", m.location.0, m.location.1);
    for line in m.source.lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}

pub fn evaluation(lib: &Library, input: &Input, ev: &Evaluation) -> String {
    let mut out = String::new();
    let a = &input.applicant;
    let kind = &a.fields[lib.vocab.kind_slot];
    let region = &a.fields[lib.vocab.region_slot];
    let _ = writeln!(
        out,
        "申报主体 applicant: {} {}  类型 {}  地区 {}",
        a.name,
        a.id,
        kc_eval::describe_value(lib, kind),
        kc_eval::describe_value(lib, region)
    );
    let _ = writeln!(out, "评估日期 as of: {}\n", input.as_of);
    for (status, title) in [
        (Status::Awarded, "符合条件 awarded"),
        (Status::Possible, "可能符合(待补充信息) possible, if"),
        (Status::Potential, "可争取(尚无触发事件) potential"),
        (Status::NotMet, "不符合 not met"),
    ] {
        let group: Vec<_> = ev.outcomes.iter().filter(|o| o.status == status).collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(out, "== {title} ({}) ==", group.len());
        for o in group {
            let m = &lib.measures[o.measure];
            let d = &lib.documents[m.doc];
            let amount = match &o.award {
                Some(aw) => match aw.amount {
                    Some(x) => format!("{} {}", aw.kind.zh(), x),
                    None => match aw.range {
                        Some((lo, hi)) => format!("评审确定 {} 至 {}", lo, hi),
                        None => "评审确定".to_string(),
                    },
                },
                None => String::new(),
            };
            let event = o
                .event
                .map(|i| format!(" [事件 {}]", input.events[i].id))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{}  {}  {} {}  {}  {}{}",
                m.label.zh,
                m.id,
                d.number,
                m.clause.id,
                m.form.map(|f| f.zh()).unwrap_or(""),
                amount,
                event
            );
            match status {
                Status::Awarded => {
                    if let Some(aw) = &o.award {
                        for (_, text) in aw.describe_trace(lib, m) {
                            let _ = writeln!(out, "    {text}");
                        }
                    }
                    let _ = writeln!(out, "    «{}»", excerpt(m));
                }
                _ => {
                    for c in &o.conditions {
                        if status != Status::NotMet || c.status != kc_eval::Tri::Met {
                            let (text, facts) = c.describe(lib, m);
                            let _ = writeln!(out, "    [{}] {} — {}", c.status.zh(), text, facts);
                        }
                    }
                }
            }
        }
        let _ = writeln!(out);
    }
    out
}

/// The amounts a measure's rule writes (`20万元`, `1.5%`), in the forms a clause writes them.
fn amounts_in_rule(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = source.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
        {
            let mut j = i;
            let mut num = String::new();
            while j < chars.len()
                && (chars[j].is_ascii_digit() || chars[j] == '_' || chars[j] == '.')
            {
                if chars[j] != '_' {
                    num.push(chars[j]);
                }
                j += 1;
            }
            let mut k = j;
            while k < chars.len() && chars[k] == ' ' {
                k += 1;
            }
            let rest: String = chars[k..chars.len().min(k + 2)].iter().collect();
            if rest.starts_with("万元") {
                out.push(format!("{num}万元"));
            } else if rest.starts_with('元') {
                // 200000 元 is written 20万元 in the clauses.
                match num.parse::<u64>() {
                    Ok(n) if n >= 10_000 && n % 10_000 == 0 => {
                        out.push(format!("{}万元", n / 10_000))
                    }
                    _ => out.push(format!("{num}元")),
                }
            } else if rest.starts_with('%') || rest.starts_with('‰') {
                out.push(format!(
                    "{num}{}",
                    &rest[..rest.chars().next().map(|c| c.len_utf8()).unwrap_or(1)]
                ));
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// The sentence of the clause this measure encodes: the one naming most of the rule's
/// amounts, else the first naming any amount.
fn excerpt(m: &Measure) -> String {
    let quote = &m.clause.quote;
    let sentences: Vec<&str> = quote.split_inclusive(['。', ';', ';']).collect();
    let amounts = amounts_in_rule(&m.source);
    let score = |s: &str| amounts.iter().filter(|a| s.contains(a.as_str())).count();
    let mut best: Option<&str> = None;
    for s in &sentences {
        if score(s) > best.map(score).unwrap_or(0) {
            best = Some(s);
        }
    }
    let hit = best
        .or_else(|| {
            sentences
                .iter()
                .copied()
                .find(|s| s.contains("万元") || s.contains('%') || s.contains('‰'))
        })
        .or(sentences.first().copied())
        .unwrap_or("");
    let t = hit.trim();
    if t.chars().count() > 120 {
        format!(
            "……{}",
            t.chars().skip(t.chars().count() - 120).collect::<String>()
        )
    } else {
        t.to_string()
    }
}

pub fn bench(lib: &Library, input: &Input, iterations: usize) -> String {
    use std::time::Instant;
    // Warm up caches and the allocator before timing.
    for _ in 0..iterations / 10 {
        std::hint::black_box(kc_eval::evaluate(lib, input));
    }
    let mut samples = Vec::with_capacity(iterations);
    let start = Instant::now();
    for _ in 0..iterations {
        let t = Instant::now();
        std::hint::black_box(kc_eval::evaluate(lib, input));
        samples.push(t.elapsed());
    }
    let total = start.elapsed();
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p) as usize];
    let outcomes = kc_eval::evaluate(lib, input).outcomes.len();
    format!(
        "evaluate: {} measures, {} events, {} outcomes with traces; {iterations} iterations\n  mean {:?}  p50 {:?}  p90 {:?}  p99 {:?}  max {:?}\n  throughput {:.0} evaluations/s (one thread)\n",
        lib.measures.len(),
        input.events.len(),
        outcomes,
        total / iterations as u32,
        pct(0.50),
        pct(0.90),
        pct(0.99),
        samples[samples.len() - 1],
        iterations as f64 / total.as_secs_f64()
    )
}

pub fn coverage(lib: &Library, cov: &[kc_check::coverage::DocumentCoverage]) -> String {
    use kc_check::coverage::ClauseStatus;
    let mut out = String::new();
    let mut total_amount = 0;
    let mut covered_amount = 0;
    for d in cov {
        let doc = &lib.documents[d.document];
        let _ = writeln!(out, "{}  {}", doc.number, doc.title);
        for c in &d.clauses {
            let what = match c.status {
                ClauseStatus::Encoded => c.measures.join(", "),
                ClauseStatus::Explained => c.unpaid.clone().unwrap_or_default(),
                ClauseStatus::NoAmount => "(未列金额 names no amount)".to_string(),
                ClauseStatus::Gap => {
                    "!! 含金额但未编码也未说明 names an amount, neither encoded nor explained"
                        .to_string()
                }
            };
            let mark = if c.names_amount { "¥" } else { " " };
            let _ = writeln!(out, "  {mark} {:<6} {:<10} {}", c.status.zh(), c.id, what);
            if c.names_amount {
                total_amount += 1;
                if c.status != ClauseStatus::Gap {
                    covered_amount += 1;
                }
            }
        }
        let _ = writeln!(out);
    }
    let pct = if total_amount == 0 {
        100.0
    } else {
        100.0 * covered_amount as f64 / total_amount as f64
    };
    let _ = writeln!(
        out,
        "含金额条款 amount-bearing clauses: {covered_amount}/{total_amount} 已编码或已说明 encoded or explained ({pct:.0}%)"
    );
    out
}

pub fn coverage_json(
    lib: &Library,
    cov: &[kc_check::coverage::DocumentCoverage],
) -> serde_json::Value {
    json!(
        cov.iter()
            .map(|d| json!({
                "document": lib.documents[d.document].number,
                "title": lib.documents[d.document].title,
                "gaps": d.gaps(),
                "clauses": d.clauses.iter().map(|c| json!({
                    "clause": c.id, "heading": c.heading, "status": c.status.code(),
                    "names_amount": c.names_amount, "measures": c.measures, "unpaid": c.unpaid,
                })).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()
    )
}

fn label_cells(l: &kc_syntax::ast::Label) -> String {
    format!(
        "{} | {} | {} | {}",
        l.zh,
        l.en.as_deref().unwrap_or(""),
        l.unit.as_deref().unwrap_or(""),
        l.help.as_deref().unwrap_or("")
    )
}

/// The vocabulary as a Markdown reference: what the engine reads and the calculator asks.
pub fn vocabulary(lib: &Library) -> String {
    let v = &lib.vocab;
    let mut out = String::new();
    let _ = writeln!(out, "# 词汇表 Vocabulary\n");
    let _ = writeln!(
        out,
        "Generated by `kechuang vocab` from the policy library; input format `{}`.\n",
        kc_wire::INPUT_SCHEMA
    );
    let _ = writeln!(out, "## 申报主体 Applicant (`applicant`)\n");
    let _ = writeln!(
        out,
        "| field | type | 中文 | English | unit | help |\n|---|---|---|---|---|---|"
    );
    for f in &v.applicant {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            f.name,
            v.type_name(f.ty),
            label_cells(&f.label)
        );
    }
    let _ = writeln!(
        out,
        "| `certifications` | list of {{cert: {}, date}} | 资质 | Certifications held | | |",
        v.enums[v.certification].name
    );
    let _ = writeln!(
        out,
        "\n## 年度数据 Yearly figures (`applicant.figures.YEAR`)\n"
    );
    let _ = writeln!(
        out,
        "| figure | type | 中文 | English | unit | help |\n|---|---|---|---|---|---|"
    );
    for f in &v.figures {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            f.name,
            v.type_name(f.ty),
            label_cells(&f.label)
        );
    }
    let _ = writeln!(out, "\n## 事件 Events\n");
    for e in &v.events {
        let _ = writeln!(
            out,
            "### `{}` {} {}\n",
            e.name,
            e.label.zh,
            e.label.en.as_deref().unwrap_or("")
        );
        if let Some(h) = &e.label.help {
            let _ = writeln!(out, "{h}\n");
        }
        let users: Vec<&str> = lib
            .measures
            .iter()
            .filter(|m| lib.vocab.events[m.event].name == e.name)
            .map(|m| m.id.as_str())
            .collect();
        if !users.is_empty() {
            let _ = writeln!(
                out,
                "Triggers: {}\n",
                users
                    .iter()
                    .map(|u| format!("`{u}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let _ = writeln!(
            out,
            "| field | type | 中文 | English | unit | help |\n|---|---|---|---|---|---|"
        );
        let _ = writeln!(
            out,
            "| `id` | Text | 事件编号 | Event id | | unique within one input |"
        );
        let _ = writeln!(out, "| `date` | Date | 日期 | Date | | |");
        for f in &e.fields {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                f.name,
                v.type_name(f.ty),
                label_cells(&f.label)
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "## 枚举 Enumerations\n");
    for e in &v.enums {
        let _ = writeln!(
            out,
            "### `{}` {} {}\n",
            e.name,
            e.label.zh,
            e.label.en.as_deref().unwrap_or("")
        );
        let _ = writeln!(
            out,
            "| member | 中文 | English | within |\n|---|---|---|---|"
        );
        for m in &e.members {
            let parent = m
                .parent
                .map(|p| format!("`{}`", e.members[p as usize].name))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                m.name,
                m.label.zh,
                m.label.en.as_deref().unwrap_or(""),
                parent
            );
        }
        let _ = writeln!(out);
    }
    out
}

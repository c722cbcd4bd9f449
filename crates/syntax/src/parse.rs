//! `kc` block text → syntax tree, with the pest grammar in `kc.pest`.
//!
//! A block that does not parse yields one diagnostic and no items; the other blocks of the
//! file still parse, so one typo does not hide every other error.

use crate::ast::*;
use crate::{Diagnostic, Span};
use jiff::civil::Date;
use kc_money::{Dec, RateUnit};
use pest::Parser;
use pest::iterators::Pair;
use std::str::FromStr;

#[derive(pest_derive::Parser)]
#[grammar = "kc.pest"]
struct KcParser;

type P<'a> = Pair<'a, Rule>;

/// Parses one `kc` block whose text starts at byte `offset` of the file.
pub fn parse_block(code: &str, offset: usize) -> (Vec<Item>, Vec<Diagnostic>) {
    let pairs = match KcParser::parse(Rule::file, code) {
        Ok(p) => p,
        Err(e) => return (Vec::new(), vec![pest_error(e, offset, code)]),
    };
    let mut b = Builder {
        offset,
        diags: Vec::new(),
    };
    let mut items = Vec::new();
    for pair in pairs.flatten().take(1) {
        for p in pair.into_inner() {
            if p.as_rule() == Rule::EOI {
                continue;
            }
            if let Some(item) = b.item(p) {
                items.push(item);
            }
        }
    }
    (items, b.diags)
}

fn rule_name(r: &Rule) -> &'static str {
    match r {
        Rule::ident => "a name",
        Rule::string => "a quoted string",
        Rule::label => "a label \"…\"",
        Rule::number => "a number",
        Rule::date => "a date (YYYY-MM-DD)",
        Rule::money => "an amount (e.g. 20_000 元)",
        Rule::rate => "a rate (e.g. 10%)",
        Rule::expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::cmp_expr
        | Rule::sum_expr
        | Rule::prod_expr
        | Rule::unary
        | Rule::postfix => "an expression",
        Rule::item | Rule::measure | Rule::document | Rule::funding | Rule::parameter => {
            "a declaration (document, measure, parameter, funding, …)"
        }
        Rule::EOI => "end of block",
        Rule::level => "a government level (central, province, city, district)",
        Rule::measure_item => "a measure clause (clause, form, on, when, grant, …)",
        Rule::cmp_op => "a comparison",
        Rule::mul_op | Rule::add_op => "an operator",
        Rule::k_from => "`from`",
        Rule::k_to => "`to`",
        Rule::k_per => "`per`",
        Rule::k_by => "`by`",
        Rule::share => "a share (e.g. city 1/2)",
        Rule::fraction => "a fraction (e.g. 1/2)",
        Rule::arm => "a tier arm (pattern => amount)",
        Rule::pattern => "a tier pattern",
        Rule::members | Rule::member => "an enum member",
        Rule::fields | Rule::field => "a field (name: Type \"标签\")",
        Rule::param_value => "a value with its date (VALUE from DATE)",
        Rule::window => "a window (window NAME \"…\" measures … applications D1 .. D2)",
        Rule::w_measures | Rule::w_document => "`measures A, B` or `document \"NUMBER\"`",
        Rule::w_applications | Rule::k_applications => "`applications D1 .. D2`",
        Rule::w_events | Rule::k_events => "`events D1 .. D2`",
        Rule::k_measures => "`measures A, B`",
        Rule::k_within => "`within`",
        Rule::claim_unit => "a period unit (years, months, days)",
        _ => "more input",
    }
}

fn pest_error(e: pest::error::Error<Rule>, offset: usize, code: &str) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    // Point at the whole offending token, not one byte: easier to see under CJK text.
    let rest = &code[pos.min(code.len())..];
    let tok_len = rest
        .char_indices()
        .find(|(_, c)| c.is_whitespace())
        .map(|(i, _)| i)
        .unwrap_or(rest.len())
        .max(rest.chars().next().map(|c| c.len_utf8()).unwrap_or(0));
    let found = if rest.is_empty() {
        "the end of the block".to_string()
    } else {
        format!("`{}`", &rest[..tok_len])
    };
    let message = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().map(rule_name).collect();
            names.sort();
            names.dedup();
            if names.is_empty() {
                format!("unexpected {found}")
            } else {
                format!("expected {}, found {found}", names.join(" or "))
            }
        }
        ErrorVariant::CustomError { message } => message.clone(),
    };
    Diagnostic::error(
        Span::new(offset + pos, offset + pos + tok_len),
        message,
        "syntax error here",
    )
}

struct Builder {
    offset: usize,
    diags: Vec<Diagnostic>,
}

fn unquote(s: &str) -> String {
    let inner = &s[1..s.len() - 1];
    inner.replace("\\\"", "\"").replace("\\\\", "\\")
}

impl Builder {
    fn span(&self, p: &P) -> Span {
        let s = p.as_span();
        Span::new(self.offset + s.start(), self.offset + s.end())
    }

    fn ident(&self, p: P) -> Ident {
        Ident {
            name: p.as_str().to_string(),
            span: self.span(&p),
        }
    }

    fn label(&self, p: P) -> Label {
        let mut label = Label::default();
        let mut strings = 0;
        for part in p.into_inner() {
            match part.as_rule() {
                Rule::string => {
                    let text = unquote(part.as_str());
                    if strings == 0 {
                        label.zh = text;
                    } else {
                        label.en = Some(text);
                    }
                    strings += 1;
                }
                Rule::label_unit | Rule::label_help => {
                    let is_unit = part.as_rule() == Rule::label_unit;
                    let text = part.into_inner().nth(1).map(|s| unquote(s.as_str()));
                    if is_unit {
                        label.unit = text;
                    } else {
                        label.help = text;
                    }
                }
                _ => {}
            }
        }
        label
    }

    fn date(&mut self, p: P) -> Date {
        let text = p.as_str();
        match Date::from_str(text) {
            Ok(d) if text.len() == 10 => d,
            _ => {
                let span = self.span(&p);
                self.diags.push(Diagnostic::error(
                    span,
                    format!("`{text}` is not a calendar date"),
                    "write a real date as YYYY-MM-DD",
                ));
                Date::constant(1970, 1, 1)
            }
        }
    }

    fn decimal(&mut self, p: &P) -> Dec {
        let cleaned: String = p.as_str().chars().filter(|c| *c != '_').collect();
        match Dec::from_str(&cleaned) {
            Ok(d) => d,
            Err(_) => {
                let span = self.span(p);
                self.diags.push(Diagnostic::error(
                    span,
                    format!(
                        "`{}` is too large or precise for an exact decimal",
                        p.as_str()
                    ),
                    "number out of range",
                ));
                Dec::ZERO
            }
        }
    }

    fn item(&mut self, p: P) -> Option<Item> {
        Some(match p.as_rule() {
            Rule::document => Item::Document(self.document(p)),
            Rule::funding => {
                let mut it = p.into_inner();
                it.next();
                let name = self.ident(it.next()?);
                let label = self.label(it.next()?);
                let shares = self.shares(it.next()?);
                Item::Funding(FundingDecl {
                    name,
                    label,
                    shares,
                })
            }
            Rule::parameter => {
                let mut it = p.into_inner();
                it.next();
                let name = self.ident(it.next()?);
                let label = self.label(it.next()?);
                let mut values = Vec::new();
                for v in it {
                    let span = self.span(&v);
                    let mut vi = v.into_inner();
                    let value = self.primary(vi.next()?);
                    vi.next();
                    let from = self.date(vi.next()?);
                    values.push((value, from, span));
                }
                Item::Parameter(ParameterDecl {
                    name,
                    label,
                    values,
                })
            }
            Rule::measure => Item::Measure(self.measure(p)?),
            Rule::window => Item::Window(self.window(p)?),
            Rule::unpaid => {
                let span = self.span(&p);
                let mut it = p.into_inner();
                it.next();
                let clause = unquote(it.next()?.as_str());
                let reason = unquote(it.next()?.as_str());
                Item::Unpaid(UnpaidDecl {
                    clause,
                    reason,
                    span,
                })
            }
            Rule::enum_decl => {
                let mut it = p.into_inner();
                it.next();
                let name = self.ident(it.next()?);
                let label = self.label(it.next()?);
                let members = it.next().map(|m| self.members(m)).unwrap_or_default();
                Item::Enum(EnumDecl {
                    name,
                    label,
                    members,
                })
            }
            Rule::record_decl | Rule::event_decl => {
                let is_event = p.as_rule() == Rule::event_decl;
                let mut it = p.into_inner();
                it.next();
                let name = self.ident(it.next()?);
                let label = self.label(it.next()?);
                let mut fields = Vec::new();
                if let Some(fs) = it.next() {
                    for f in fs.into_inner() {
                        let mut fi = f.into_inner();
                        fields.push(FieldDecl {
                            name: self.ident(fi.next()?),
                            ty: self.ident(fi.next()?),
                            label: self.label(fi.next()?),
                        });
                    }
                }
                let decl = RecordDecl {
                    name,
                    label,
                    fields,
                };
                if is_event {
                    Item::Event(decl)
                } else {
                    Item::Record(decl)
                }
            }
            Rule::figure_decl => {
                let mut it = p.into_inner();
                it.next();
                Item::Figure(FigureDecl {
                    name: self.ident(it.next()?),
                    ty: self.ident(it.next()?),
                    label: self.label(it.next()?),
                })
            }
            _ => return None,
        })
    }

    fn members(&mut self, p: P) -> Vec<EnumMember> {
        let mut out = Vec::new();
        for m in p.into_inner() {
            let mut it = m.into_inner();
            let (Some(n), Some(l)) = (it.next(), it.next()) else {
                continue;
            };
            let name = self.ident(n);
            let label = self.label(l);
            let children = it.next().map(|c| self.members(c)).unwrap_or_default();
            out.push(EnumMember {
                name,
                label,
                children,
            });
        }
        out
    }

    fn document(&mut self, p: P) -> DocumentDecl {
        let span = self.span(&p);
        let mut it = p.into_inner();
        it.next();
        let number = it.next().map(|s| unquote(s.as_str())).unwrap_or_default();
        let mut d = DocumentDecl {
            number,
            span,
            title: None,
            issuer: None,
            issued: None,
            published: None,
            valid: None,
            region: None,
            funding: None,
            changes: Vec::new(),
        };
        for f in it {
            let rule = f.as_rule();
            let fspan = self.span(&f);
            let mut fi = f.into_inner();
            fi.next();
            let Some(v) = fi.next() else { continue };
            match rule {
                Rule::doc_title => d.title = Some(unquote(v.as_str())),
                Rule::doc_issuer => d.issuer = Some(unquote(v.as_str())),
                Rule::doc_issued => d.issued = Some(self.date(v)),
                Rule::doc_published => d.published = Some(self.date(v)),
                Rule::doc_valid => {
                    let from = self.date(v);
                    let to = fi.next().map(|t| self.date(t)).unwrap_or(from);
                    d.valid = Some((from, to, fspan));
                }
                Rule::doc_region => d.region = Some(self.ident(v)),
                Rule::doc_funding => d.funding = Some(self.ident(v)),
                Rule::doc_amends | Rule::doc_extends | Rule::doc_repeals => {
                    let kind = match rule {
                        Rule::doc_amends => ChangeKind::Amends,
                        Rule::doc_extends => ChangeKind::Extends,
                        _ => ChangeKind::Repeals,
                    };
                    let target_span = self.span(&v);
                    let target = unquote(v.as_str());
                    fi.next(); // `from` / `to`
                    let Some(dp) = fi.next() else { continue };
                    let date = self.date(dp);
                    d.changes.push(DocChange {
                        kind,
                        target,
                        target_span,
                        date,
                        span: fspan,
                    });
                }
                _ => {}
            }
        }
        d
    }

    fn shares(&mut self, p: P) -> Shares {
        let span = self.span(&p);
        let mut shares = Vec::new();
        let mut remainder = None;
        for s in p.into_inner() {
            match s.as_rule() {
                Rule::share => {
                    let sspan = self.span(&s);
                    let mut it = s.into_inner();
                    let Some(level_p) = it.next() else { continue };
                    let level = Level::from_keyword(level_p.as_str()).unwrap_or(Level::City);
                    let Some(v) = it.next() else { continue };
                    let text = v.as_str().to_string();
                    let fraction = match v.as_rule() {
                        Rule::fraction => {
                            let mut ni = v.into_inner();
                            let (Some(a), Some(b)) = (ni.next(), ni.next()) else {
                                continue;
                            };
                            let a = self.decimal(&a);
                            let b = self.decimal(&b);
                            if b.is_zero() {
                                self.diags.push(Diagnostic::error(
                                    sspan,
                                    "a share cannot have a zero denominator",
                                    "division by zero",
                                ));
                                Dec::ZERO
                            } else {
                                a.checked_div(b).unwrap_or(Dec::ZERO)
                            }
                        }
                        _ => self.rate_fraction(v).0,
                    };
                    shares.push(Share {
                        level,
                        fraction,
                        text,
                        span: sspan,
                    });
                }
                Rule::k_remainder => {}
                Rule::level => {
                    let sp = self.span(&s);
                    remainder = Level::from_keyword(s.as_str()).map(|l| (l, sp));
                }
                _ => {}
            }
        }
        Shares {
            shares,
            remainder,
            span,
        }
    }

    fn rate_fraction(&mut self, p: P) -> (Dec, RateUnit) {
        let mut it = p.into_inner();
        let n = it.next();
        let unit = it.next();
        let value = n.map(|n| self.decimal(&n)).unwrap_or_default();
        match unit.map(|u| u.as_str()) {
            Some("‰") => (value / Dec::ONE_THOUSAND, RateUnit::PerMille),
            _ => (value / Dec::ONE_HUNDRED, RateUnit::Percent),
        }
    }

    fn measure(&mut self, p: P) -> Option<MeasureDecl> {
        let span = self.span(&p);
        let mut it = p.into_inner();
        it.next();
        let name = self.ident(it.next()?);
        let label = self.label(it.next()?);
        let mut m = MeasureDecl {
            name,
            label,
            span,
            clause: None,
            form: None,
            on: None,
            valid: None,
            replaces: None,
            claim_within: None,
            lets: Vec::new(),
            conditions: Vec::new(),
            grant: None,
            funded: None,
            caps: Vec::new(),
            once: Vec::new(),
            consecutive: None,
        };
        for c in it {
            let cspan = self.span(&c);
            let rule = c.as_rule();
            let mut ci = c.into_inner();
            ci.next(); // the keyword
            match rule {
                Rule::m_clause => {
                    let s = ci.next()?;
                    self.set_once(&mut m.clause, (unquote(s.as_str()), cspan), cspan, "clause");
                }
                Rule::m_form => {
                    let v = self.ident(ci.next()?);
                    self.set_once(&mut m.form, v, cspan, "form");
                }
                Rule::m_on => {
                    let v = self.ident(ci.next()?);
                    self.set_once(&mut m.on, v, cspan, "on");
                }
                Rule::m_valid => {
                    let from = self.date(ci.next()?);
                    let to = self.date(ci.next()?);
                    self.set_once(&mut m.valid, (from, to, cspan), cspan, "valid");
                }
                Rule::m_replaces => {
                    let v = self.ident(ci.next()?);
                    self.set_once(&mut m.replaces, v, cspan, "replaces");
                }
                Rule::m_claim => {
                    ci.next(); // `within`
                    let n = ci.next()?;
                    let count = n.as_str().replace('_', "").parse::<u32>().ok();
                    let unit = match ci.next()?.as_str() {
                        "year" | "years" => ClaimUnit::Years,
                        "month" | "months" => ClaimUnit::Months,
                        _ => ClaimUnit::Days,
                    };
                    match count {
                        Some(c) if c > 0 && c <= 36_500 => {
                            self.set_once(&mut m.claim_within, (c, unit, cspan), cspan, "claim");
                        }
                        _ => self.diags.push(Diagnostic::error(
                            self.span(&n),
                            "a claim period must be a whole number from 1 to 36500",
                            "not a claim period",
                        )),
                    }
                }
                Rule::m_let => {
                    let n = self.ident(ci.next()?);
                    let mut next = ci.next()?;
                    let mut words = None;
                    if next.as_rule() == Rule::string {
                        words = Some(unquote(next.as_str()));
                        next = ci.next()?;
                    }
                    let e = self.expr(next);
                    m.lets.push((n, words, e));
                }
                Rule::m_when => {
                    let expr = self.expr(ci.next()?);
                    ci.next();
                    let words = ci.next().map(|s| unquote(s.as_str()));
                    m.conditions.push(Condition {
                        expr,
                        words,
                        span: cspan,
                    });
                }
                Rule::m_grant => {
                    let g = ci.next()?;
                    let gspan = self.span(&g);
                    let grant = match g.as_rule() {
                        Rule::grant_fixed => Grant::Fixed(self.expr(g.into_inner().next()?)),
                        Rule::grant_up_to => Grant::UpTo(self.expr(g.into_inner().nth(2)?)),
                        Rule::grant_review => {
                            let exprs: Vec<P> = g
                                .into_inner()
                                .filter(|x| x.as_rule() == Rule::expr)
                                .collect();
                            let mut ex = exprs.into_iter();
                            let range = match (ex.next(), ex.next()) {
                                (Some(a), Some(b)) => Some((self.expr(a), self.expr(b))),
                                _ => None,
                            };
                            Grant::Review { range, span: gspan }
                        }
                        Rule::grant_parts => {
                            let mut parts = Vec::new();
                            for part in g.into_inner().skip(1) {
                                let pspan = self.span(&part);
                                let mut pi = part.into_inner();
                                let level = Level::from_keyword(pi.next()?.as_str())?;
                                parts.push((level, self.expr(pi.next()?), pspan));
                            }
                            Grant::Parts(parts)
                        }
                        _ => return None,
                    };
                    self.set_once(&mut m.grant, grant, cspan, "grant");
                }
                Rule::m_funded => {
                    ci.next(); // `by`
                    let v = ci.next()?;
                    let f = if v.as_rule() == Rule::shares {
                        Funded::Inline(self.shares(v))
                    } else {
                        Funded::Named(self.ident(v))
                    };
                    self.set_once(&mut m.funded, f, cspan, "funded by");
                }
                Rule::m_cap => {
                    let amount = self.expr(ci.next()?);
                    ci.next(); // per
                    ci.next(); // applicant
                    let period = match ci.next()?.as_rule() {
                        Rule::cap_yearly => CapPeriod::Year,
                        _ => CapPeriod::Cumulative,
                    };
                    m.caps.push(RecipientCap {
                        amount,
                        period,
                        span: cspan,
                    });
                }
                Rule::m_once => {
                    ci.next(); // per
                    let v = ci.next()?;
                    m.once.push(if v.as_rule() == Rule::applicant_whole {
                        Once::PerApplicant(cspan)
                    } else {
                        let mut keys = vec![self.expr(v)];
                        keys.extend(ci.map(|k| self.expr(k)));
                        Once::PerKey(keys)
                    });
                }
                Rule::m_consecutive => {
                    let n = ci.next()?;
                    let years = n.as_str().replace('_', "").parse::<u32>().unwrap_or(0);
                    self.set_once(&mut m.consecutive, (years, cspan), cspan, "consecutive");
                }
                _ => {}
            }
        }
        Some(m)
    }

    fn window(&mut self, p: P) -> Option<WindowDecl> {
        let span = self.span(&p);
        let mut it = p.into_inner();
        it.next(); // `window`
        let name = self.ident(it.next()?);
        let label = self.label(it.next()?);
        let mut clause = None;
        let mut opens = None;
        let mut applications = None;
        let mut events = None;
        for c in it {
            let cspan = self.span(&c);
            let rule = c.as_rule();
            let mut ci = c.into_inner();
            ci.next(); // the keyword
            match rule {
                Rule::w_clause => clause = Some((unquote(ci.next()?.as_str()), cspan)),
                Rule::w_measures => {
                    opens = Some(WindowTarget::Measures(ci.map(|i| self.ident(i)).collect()))
                }
                Rule::w_document => {
                    let s = ci.next()?;
                    opens = Some(WindowTarget::Document(unquote(s.as_str()), self.span(&s)));
                }
                Rule::w_applications | Rule::w_events => {
                    let from = self.date(ci.next()?);
                    let to = self.date(ci.next()?);
                    if rule == Rule::w_applications {
                        applications = Some((from, to, cspan));
                    } else {
                        events = Some((from, to, cspan));
                    }
                }
                _ => {}
            }
        }
        Some(WindowDecl {
            name,
            label,
            span,
            clause,
            opens: opens?,
            applications: applications?,
            events,
        })
    }

    fn set_once<T>(&mut self, slot: &mut Option<T>, v: T, span: Span, what: &str) {
        if slot.is_some() {
            self.diags.push(Diagnostic::error(
                span,
                format!("a measure has at most one `{what}`"),
                "repeated here",
            ));
        } else {
            *slot = Some(v);
        }
    }

    fn expr(&mut self, p: P) -> Expr {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::expr | Rule::and_expr => {
                let op = if p.as_rule() == Rule::expr {
                    BinOp::Or
                } else {
                    BinOp::And
                };
                let mut it = p
                    .into_inner()
                    .filter(|x| !matches!(x.as_rule(), Rule::k_or | Rule::k_and));
                let first = it.next().map(|x| self.expr(x));
                let mut acc = first.unwrap_or(Expr {
                    kind: ExprKind::Bool(false),
                    span,
                });
                for rhs in it {
                    let rhs = self.expr(rhs);
                    let s = acc.span.join(rhs.span);
                    acc = Expr {
                        kind: ExprKind::Binary(op, Box::new(acc), Box::new(rhs)),
                        span: s,
                    };
                }
                acc
            }
            Rule::not_expr => {
                let mut it = p.into_inner();
                let first = it.next().expect("not_expr has a child");
                if first.as_rule() == Rule::k_not {
                    let inner = self.expr(it.next().expect("not has an operand"));
                    Expr {
                        kind: ExprKind::Not(Box::new(inner)),
                        span,
                    }
                } else {
                    self.expr(first)
                }
            }
            Rule::cmp_expr => {
                let mut it = p.into_inner();
                let lhs = self.expr(it.next().expect("cmp has lhs"));
                let Some(tail) = it.next() else { return lhs };
                match tail.as_rule() {
                    Rule::cmp_in => {
                        let list = tail.into_inner().nth(1).expect("in has a list");
                        let items = list.into_inner().map(|x| self.expr(x)).collect();
                        Expr {
                            kind: ExprKind::In(Box::new(lhs), items),
                            span,
                        }
                    }
                    Rule::cmp_within => {
                        let rhs = self.expr(tail.into_inner().nth(1).expect("within rhs"));
                        Expr {
                            kind: ExprKind::Within(Box::new(lhs), Box::new(rhs)),
                            span,
                        }
                    }
                    _ => {
                        let op = BinOp::from_symbol(tail.as_str()).unwrap_or(BinOp::Eq);
                        let rhs = self.expr(it.next().expect("cmp has rhs"));
                        Expr {
                            kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                            span,
                        }
                    }
                }
            }
            Rule::sum_expr | Rule::prod_expr => {
                let mut it = p.into_inner();
                let mut acc = self.expr(it.next().expect("operand"));
                while let Some(op) = it.next() {
                    let op = BinOp::from_symbol(op.as_str()).unwrap_or(BinOp::Add);
                    let rhs = self.expr(it.next().expect("rhs operand"));
                    let s = acc.span.join(rhs.span);
                    acc = Expr {
                        kind: ExprKind::Binary(op, Box::new(acc), Box::new(rhs)),
                        span: s,
                    };
                }
                acc
            }
            Rule::unary => {
                let mut negs = 0;
                let mut inner = None;
                for x in p.into_inner() {
                    if x.as_rule() == Rule::neg {
                        negs += 1;
                    } else {
                        inner = Some(self.expr(x));
                    }
                }
                let mut e = inner.expect("unary has an operand");
                for _ in 0..negs {
                    e = Expr {
                        kind: ExprKind::Neg(Box::new(e)),
                        span,
                    };
                }
                e
            }
            Rule::postfix => {
                let mut it = p.into_inner();
                let mut acc = self.primary(it.next().expect("postfix has a primary"));
                for f in it {
                    let field = self.ident(f);
                    let s = acc.span.join(field.span);
                    acc = Expr {
                        kind: ExprKind::Field(Box::new(acc), field),
                        span: s,
                    };
                }
                acc
            }
            _ => self.primary(p),
        }
    }

    fn primary(&mut self, p: P) -> Expr {
        let span = self.span(&p);
        let kind = match p.as_rule() {
            Rule::money => {
                let text = p.as_str().to_string();
                let mut it = p.into_inner();
                let n = it.next().expect("money has a number");
                let v = self.decimal(&n);
                let unit = it.next().map(|u| u.as_str()).unwrap_or("元");
                let v = if unit == "万元" {
                    v * Dec::from(10_000)
                } else {
                    v
                };
                ExprKind::Money(v, text)
            }
            Rule::rate => {
                let (v, unit) = self.rate_fraction(p);
                ExprKind::Rate(v, unit)
            }
            Rule::date => ExprKind::Date(self.date(p)),
            Rule::number => {
                let d = self.decimal(&p);
                if d.scale() == 0 && !p.as_str().contains('.') {
                    match i64::try_from(d) {
                        Ok(i) => ExprKind::Int(i),
                        Err(_) => ExprKind::Decimal(d),
                    }
                } else {
                    ExprKind::Decimal(d)
                }
            }
            Rule::k_true => ExprKind::Bool(true),
            Rule::k_false => ExprKind::Bool(false),
            Rule::string => ExprKind::Text(unquote(p.as_str())),
            Rule::ident => ExprKind::Name(self.ident(p)),
            Rule::paren => return self.expr(p.into_inner().next().expect("paren content")),
            Rule::call => {
                let mut it = p.into_inner();
                let f = self.ident(it.next().expect("callee"));
                let args = it.map(|a| self.expr(a)).collect();
                ExprKind::Call(f, args)
            }
            Rule::tier => {
                let mut it = p.into_inner();
                it.next();
                let scrutinee = self.expr(it.next().expect("tier scrutinee"));
                let mut arms = Vec::new();
                for a in it {
                    let aspan = self.span(&a);
                    let mut ai = a.into_inner();
                    let pat = ai.next().expect("arm pattern");
                    let value = self.expr(ai.next().expect("arm value"));
                    let inner: Vec<P> = pat.into_inner().collect();
                    let pattern = match inner.first().map(|x| x.as_rule()) {
                        Some(Rule::wildcard) => Pattern::Wildcard(self.span(&inner[0])),
                        Some(Rule::threshold) => {
                            let mut ti = inner[0].clone().into_inner();
                            let op = BinOp::from_symbol(ti.next().expect("op").as_str())
                                .unwrap_or(BinOp::Ge);
                            Pattern::Threshold(op, self.expr(ti.next().expect("bound")))
                        }
                        _ => Pattern::Members(inner.into_iter().map(|i| self.ident(i)).collect()),
                    };
                    arms.push(Arm {
                        pattern,
                        value,
                        span: aspan,
                    });
                }
                ExprKind::Tier(Box::new(scrutinee), arms)
            }
            Rule::expr
            | Rule::and_expr
            | Rule::not_expr
            | Rule::cmp_expr
            | Rule::sum_expr
            | Rule::prod_expr
            | Rule::unary
            | Rule::postfix => return self.expr(p),
            _ => {
                self.diags.push(Diagnostic::error(
                    span,
                    format!("unexpected `{}`", p.as_str()),
                    "not an expression",
                ));
                ExprKind::Bool(false)
            }
        };
        Expr { kind, span }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_measure_with_every_clause_kind() {
        let src = r#"
measure m "测试" "Test"
  clause "(五)"
  form 后补助
  on certified
  valid 2021-07-14 .. 2024-07-13
  let base = increment(event.amount, event.item)
  when applicant.kind in [enterprise, university] as "须为企业或高校"
  when not event.first or applicant.region within shenyang
  grant up to min(10% × base, 300万元)
  funded by city 1/2, district 50% remainder city
  cap 50万元 per applicant per year
  cap 20_000 元 per applicant cumulative
  once per applicant
  once per event.activity
  consecutive 3 years
"#;
        let (items, diags) = parse_block(src, 0);
        assert!(diags.is_empty(), "{diags:?}");
        let Item::Measure(m) = &items[0] else {
            panic!()
        };
        assert_eq!(m.clause.as_ref().unwrap().0, "(五)");
        assert_eq!(m.conditions.len(), 2);
        assert_eq!(m.conditions[0].words.as_deref(), Some("须为企业或高校"));
        assert_eq!(m.caps.len(), 2);
        assert_eq!(m.once.len(), 2);
        assert_eq!(m.consecutive.map(|c| c.0), Some(3));
        let Some(Grant::UpTo(e)) = &m.grant else {
            panic!()
        };
        let ExprKind::Call(f, args) = &e.kind else {
            panic!()
        };
        assert_eq!(f.name, "min");
        let ExprKind::Money(v, _) = &args[1].kind else {
            panic!()
        };
        assert_eq!(*v, Dec::from(3_000_000));
        let Some(Funded::Inline(s)) = &m.funded else {
            panic!()
        };
        assert_eq!(s.shares[0].fraction, Dec::new(5, 1));
        assert_eq!(s.shares[1].fraction, Dec::new(5, 1));
    }

    #[test]
    fn a_syntax_error_points_at_the_token() {
        let src = "measure m \"x\"\n  grant up to 10% × × 3";
        let (_, diags) = parse_block(src, 100);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].span.start, 100 + src.rfind("× 3").unwrap());
        assert!(
            diags[0].message.starts_with("expected"),
            "{}",
            diags[0].message
        );
    }

    #[test]
    fn rejects_impossible_dates() {
        let (_, diags) = parse_block("parameter p \"p\" = 10% from 2021-02-30", 0);
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.contains("2021-02-30"));
    }

    #[test]
    fn tier_patterns_and_per_mille() {
        let src = "measure m \"x\" grant up to tier event.grade { excellent => 100万元, good | fair => 0.2‰ × event.v, _ => 0 元 }";
        let (items, diags) = parse_block(src, 0);
        assert!(diags.is_empty(), "{diags:?}");
        let Item::Measure(m) = &items[0] else {
            panic!()
        };
        let Some(Grant::UpTo(e)) = &m.grant else {
            panic!()
        };
        let ExprKind::Tier(_, arms) = &e.kind else {
            panic!()
        };
        assert_eq!(arms.len(), 3);
        assert!(matches!(arms[2].pattern, Pattern::Wildcard(_)));
    }
}

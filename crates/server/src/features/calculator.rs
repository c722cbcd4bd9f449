//! 政策计算器: a visitor's questionnaire or an applicant's stored record, evaluated against the
//! whole library; awards with their trace, what is within reach, and why the rest does not
//! apply.

use crate::AppState;
use crate::auth::{Lang, MaybeSession, Session};
use crate::labels::*;
use crate::layout::*;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use kc_check::ir::{Measure, Type};
use kc_domain::{AppState as St, Role};
use kc_eval::{Status, Tri};
use kc_money::Money;
use maud::{Markup, html};
use serde_json::{Value as J, json};
use std::collections::BTreeMap;

/// The pages of this feature.
pub fn routes() -> Router<crate::Platform> {
    Router::new().route("/calculator", get(calculator))
}

/// Renders an evaluation for people: the documents' validity up front, a total, every award
/// with its trace in plain words, the measures that may apply once a fact is known, those
/// within reach with what they need, and every measure that does not apply with the one
/// reason that matters ("政策已于 2024-07-13 到期"). No identifier of the rule language.
pub(crate) fn evaluation_view(
    lang: Lang,
    st: &AppState,
    input: &kc_eval::Input,
    ev: &kc_eval::Evaluation,
    apply_as: Option<&Session>,
    existing: &[kc_store::ApplicationView],
    visitor: bool,
) -> Markup {
    use crate::labels::{input_event_words, yuan_wan};
    let lib = &st.lib;
    let en = lang.0;
    let by = |status: Status| ev.outcomes.iter().filter(move |o| o.status == status);
    let title = |m: &Measure| kc_eval::plain::label(&m.label, en).to_string();
    let ev_words = |o: &kc_eval::Outcome| {
        o.event
            .map(|i| input_event_words(lib, &input.events[i], en))
            .unwrap_or_default()
    };
    let as_of = input.as_of;
    let today = st.store.today();
    let expired: Vec<&kc_check::Document> =
        lib.documents.iter().filter(|d| d.valid.1 < as_of).collect();
    let latest_end = lib.documents.iter().map(|d| d.valid.1).max();
    let awards: Vec<&kc_eval::Award> = by(Status::Awarded)
        .filter_map(|o| o.award.as_ref())
        .collect();
    let fixed: Money = awards
        .iter()
        .filter(|a| a.kind == kc_eval::AmountKind::Fixed)
        .filter_map(|a| a.amount)
        .sum();
    let capped: Money = awards
        .iter()
        .filter(|a| a.kind == kc_eval::AmountKind::Cap)
        .filter_map(|a| a.amount)
        .sum();
    let review = awards.iter().filter(|a| a.amount.is_none()).count();
    let not_met: Vec<&kc_eval::Outcome> = by(Status::NotMet).collect();
    html! {
        @if !expired.is_empty() {
            div.card.validity {
                @if expired.len() == lib.documents.len() {
                    p { strong { (lang.t("本库收录的政策文件均已到期", "Every document in the library has expired")) }
                        (lang.t(&format!("(最晚的于 {} 到期)。", latest_end.map(|d| d.to_string()).unwrap_or_default()),
                                &format!(" (the last on {}). ", latest_end.map(|d| d.to_string()).unwrap_or_default())))
                        (lang.t("有效期内发生的事项仍按原文件兑现;有效期后的事项不适用。", "Events within a document's validity are still paid under it; later events are not.")) }
                } @else {
                    p { strong { (lang.t("已到期的政策文件:", "Expired documents: ")) }
                        @for (i, d) in expired.iter().enumerate() { @if i > 0 { "、" } (d.number) " (" (lang.t("至 ", "until ")) (d.valid.1) ")" } }
                }
            }
        }
        div.card.summary {
            p {
                (lang.t("评估日期 ", "Assessed on ")) (as_of) " · "
                strong { (lang.t("可获支持 ", "Awards: ")) (awards.len()) (lang.t(" 项", "")) }
                @if !awards.is_empty() {
                    " · " (lang.t("可计算金额合计 ", "computable total ")) strong.total { (yuan_wan(fixed + capped)) }
                    @if capped > Money::ZERO { " " span.muted { (lang.t("(其中“最高”金额 ", "(of which maximums ")) (yuan_wan(capped)) (lang.t(",以审核批准为准)", ", subject to approval)")) } }
                    @if review > 0 { " · " (review) (lang.t(" 项金额由评审确定", " set by review")) }
                }
            }
        }
        h2 { (lang.t("可获支持", "Awarded")) " (" (awards.len()) ")" }
        @if awards.is_empty() { p.muted { (lang.t("暂无符合条件的支持;原因见下方“不适用的措施”。", "Nothing is awarded; see “Does not apply” below for why.")) } }
        @for o in by(Status::Awarded) {
            @let m = &lib.measures[o.measure];
            div.card data-measure=(m.id) {
                strong { (title(m)) } " " span.tag { (lib.documents[m.doc].number) " " (m.clause.id) } " " span.tag { (m.form.map(|f| if lang.0 { f.en() } else { f.zh() }).unwrap_or("")) }
                @if o.event.is_some() { p.muted { (lang.t("依据事项:", "For: ")) (ev_words(o)) } }
                @if let Some(a) = &o.award {
                    p { (if en { a.kind.code() } else { a.kind.zh() }) " " strong.amount { (a.amount.map(yuan_wan).unwrap_or_else(|| lang.t("评审确定", "set by review").into())) } }
                    ul { @for (_, line) in a.describe_trace_in(lib, m, en) { li { (line) } } }
                    // 申报期 and claim deadline: can it be claimed today, and until when.
                    // Shown only where a window or a deadline limits it: elsewhere nothing changed.
                    @let limited = lib.windows_of(o.measure).next().is_some() || m.claim_within.is_some();
                    @let claim = o.event.filter(|_| limited).map(|ei| kc_eval::claimable(lib, o.measure, Some(input.events[ei].date), today));
                    @match &claim {
                        Some(Ok(c)) => p.claim { span.ok { (c.words(en)) } },
                        Some(Err(r)) => p.claim { span.no { (r.words(lib, en)) } },
                        None => {},
                    }
                    @if visitor { p { a.apply-login href="/login" { (lang.t("登录后申报", "Log in to apply")) } } }
                    @if let (Some(sess), Some(ei)) = (apply_as, o.event) {
                        @if let Some(app) = existing.iter().find(|a| a.measure == m.id && a.event_id == input.events[ei].id && !matches!(a.state, St::Withdrawn | St::Rejected)) {
                            p { (lang.t("已申报:", "Applied: ")) a href={"/applications/" (app.id)} { (app.id) } " " span.tag { (state_words(lang, app)) } }
                        } @else if sess.role() == Role::Applicant && !matches!(claim, Some(Err(_))) {
                            form.inline method="post" action="/applications" {
                                (csrf_field(sess))
                                input type="hidden" name="measure" value=(m.id);
                                input type="hidden" name="event" value=(input.events[ei].id);
                                button type="submit" { (lang.t("申报", "Apply")) }
                            }
                        }
                    }
                }
            }
        }
        @if by(Status::Possible).count() > 0 {
            h2 { (lang.t("可能符合(待补充信息)", "Possible, once these are known")) }
            @for o in by(Status::Possible) {
                @let m = &lib.measures[o.measure];
                div.card { strong { (title(m)) } " " span.tag { (lib.documents[m.doc].number) " " (m.clause.id) }
                    @if o.event.is_some() { p.muted { (lang.t("依据事项:", "For: ")) (ev_words(o)) } }
                    ul { @for c in o.conditions.iter().filter(|c| c.status != Tri::Met) { @let (t, f) = c.describe_in(lib, m, en); li class=(status_class(c.status)) { (t) " — " (f) } } }
                }
            }
        }
        h2 { (lang.t("可争取", "Within reach")) " (" (by(Status::Potential).count()) ")" }
        @if by(Status::Potential).count() == 0 { p.muted { (lang.t("暂无:每一项措施都已有对应的事项。", "None: every measure already has an event.")) } }
        @else { table.cards {
            tr { th { (lang.t("措施", "Measure")) } th { (lang.t("需要", "Needs")) } th.num { (lang.t("最高可获", "Up to")) } }
            @for o in by(Status::Potential) {
                @let m = &lib.measures[o.measure];
                tr {
                    td { a href={"/library/" (m.id)} { (title(m)) } " " span.muted { (lib.documents[m.doc].number) " " (m.clause.id) } }
                    td { (lang.t("发生“", "a “")) (kc_eval::plain::label(&lib.vocab.events[m.event].label, en)) (lang.t("”", "”"))
                        @for c in o.conditions.iter().filter(|c| c.status == Tri::Unknown) { @let (t, _) = c.describe_in(lib, m, en); br; span.muted { (t) } }
                        // Where calls (申报通知) open the measure: open now until when, or the next one.
                        @if lib.windows_of(o.measure).next().is_some() {
                            br;
                            @match kc_eval::claimable(lib, o.measure, None, today) {
                                Ok(c) => span.ok { (c.words(en)) },
                                Err(r) => span.no { (r.words(lib, en)) },
                            }
                        } }
                    td.num { (o.award.as_ref().and_then(|a| a.amount).map(yuan_wan).unwrap_or_else(|| kc_eval::plain::grant_words(lib, m, en))) }
                }
            }
        } }
        details.notmet open[awards.is_empty()] {
            summary { (lang.t("不适用的措施", "Does not apply")) " (" (not_met.len()) ")" }
            table.cards {
                tr { th { (lang.t("措施", "Measure")) } th { (lang.t("事项", "Event")) } th { (lang.t("原因", "Why not")) } }
                @for o in &not_met {
                    @let m = &lib.measures[o.measure];
                    tr { td { a href={"/library/" (m.id)} { (title(m)) } } td { (ev_words(o)) } td.reason { (o.reason(lib, en).unwrap_or_default()) } }
                }
            }
        }
    }
}

/// How many events the questionnaire takes at once.
pub(crate) const CALC_EVENTS: usize = 3;

/// How many certifications it takes.
pub(crate) const CALC_CERTS: usize = 2;

/// The query key of event `n`'s field (`e.date` / `event_kind` for the first, as links made
/// before several events were possible still work).
pub(crate) fn event_key(n: usize, field: &str) -> String {
    match (n, field) {
        (1, "kind") => "event_kind".into(),
        (1, f) => format!("e.{f}"),
        (n, "kind") => format!("event_kind{n}"),
        (n, f) => format!("e{n}.{f}"),
    }
}

/// The 政策计算器's questionnaire for visitors: the applicant's profile, its certifications, one
/// year's figures and up to three events, each with the fields its kind asks for.
pub(crate) fn calculator_form(lang: Lang, st: &AppState, q: &BTreeMap<String, String>) -> Markup {
    let v = &st.lib.vocab;
    let en = lang.0;
    let select = |name: String, e: usize, cur: Option<&String>| {
        html! {
            select name=(name) id=(name) { option value="" { "—" } @for m in &v.enums[e].members { option value=(m.name) selected[cur == Some(&m.name)] { (kc_eval::plain::label(&m.label, en)) } } }
        }
    };
    let input_for = |name: String, ty: Type, cur: Option<&String>| match ty {
        Type::Enum(e) => select(name, e, cur),
        Type::Bool => {
            html! { select name=(name) id=(name) { option value="" { "—" } option value="true" selected[cur.map(|c| c.as_str()) == Some("true")] { (lang.t("是", "yes")) } option value="false" selected[cur.map(|c| c.as_str()) == Some("false")] { (lang.t("否", "no")) } } }
        }
        Type::Date => {
            html! { input type="date" name=(name) id=(name) value=(cur.cloned().unwrap_or_default()); }
        }
        Type::Money | Type::Int | Type::Decimal | Type::Rate => {
            html! { input name=(name) id=(name) inputmode="decimal" value=(cur.cloned().unwrap_or_default()); }
        }
        _ => html! { input name=(name) id=(name) value=(cur.cloned().unwrap_or_default()); },
    };
    let cert_enum = v.certification;
    html! {
        form.card.questionnaire method="get" action="/calculator" {
            fieldset {
                legend { (lang.t("申报主体", "Applicant")) }
                @for f in &v.applicant { @if f.name != "name" {
                    @let key = format!("a.{}", f.name);
                    label for=(key) { (kc_eval::plain::label(&f.label, en)) @if let Some(u) = &f.label.unit { " (" (unit_in(lang, u)) ")" } }
                    (input_for(key.clone(), f.ty, q.get(&key)))
                } }
            }
            fieldset {
                legend { (lang.t("已获资质(如有)", "Certifications held (if any)")) }
                @for n in 1..=CALC_CERTS {
                    @let ck = format!("c{n}.cert"); @let dk = format!("c{n}.date");
                    label for=(ck) { (lang.t("资质", "Certification")) " " (n) } (select(ck.clone(), cert_enum, q.get(&ck)))
                    label for=(dk) { (lang.t("认定日期", "Date")) } input type="date" name=(dk) id=(dk) value=(q.get(&dk).cloned().unwrap_or_default());
                }
            }
            fieldset {
                legend { (lang.t("年度数据(如有)", "Yearly figures (if any)")) }
                label for="fy" { (lang.t("年度", "Year")) } input name="fy" id="fy" inputmode="numeric" size="5" value=(q.get("fy").cloned().unwrap_or_default());
                @for f in &v.figures {
                    @let key = format!("f.{}", f.name);
                    label for=(key) { (kc_eval::plain::label(&f.label, en)) @if let Some(u) = &f.label.unit { " (" (unit_in(lang, u)) ")" } }
                    (input_for(key.clone(), f.ty, q.get(&key)))
                }
            }
            @for n in 1..=CALC_EVENTS {
                @let kk = event_key(n, "kind");
                @let kind = q.get(&kk).and_then(|k| v.event_by_name(k));
                fieldset.event {
                    legend { (lang.t("事项", "Event")) " " (n) }
                    label for=(kk) { (lang.t("事项类型", "Kind")) }
                    select name=(kk) id=(kk) { option value="" { "—" } @for e in &v.events { option value=(e.name) selected[q.get(&kk) == Some(&e.name)] { (kc_eval::plain::label(&e.label, en)) } } }
                    @let dk = event_key(n, "date");
                    label for=(dk) { (lang.t("日期", "Date")) } input type="date" name=(dk) id=(dk) value=(q.get(&dk).cloned().unwrap_or_default());
                    @if let Some(k) = kind {
                        @for f in &v.events[k].fields {
                            @let key = event_key(n, &f.name);
                            label for=(key) { (kc_eval::plain::label(&f.label, en)) @if let Some(u) = &f.label.unit { " (" (unit_in(lang, u)) ")" } }
                            (input_for(key.clone(), f.ty, q.get(&key)))
                        }
                    } @else { p.muted { (lang.t("选择事项类型后点“计算”,再填写该事项的具体信息。", "Pick a kind and press Compute to fill in its details.")) } }
                }
            }
            button type="submit" { (lang.t("计算", "Compute")) }
        }
    }
}

pub(crate) fn typed_json(ty: Type, s: &str) -> J {
    match ty {
        Type::Int => s.parse::<i64>().map(J::from).unwrap_or(J::from(s)),
        Type::Bool => J::Bool(s == "true"),
        _ => J::from(s),
    }
}

pub(crate) async fn calculator(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
    Query(q): Query<BTreeMap<String, String>>,
) -> PageResult {
    let today = st.store.today();
    // An applicant (or staff with ?applicant=) evaluates the stored record with its ledger.
    let record = match (&s, q.get("applicant")) {
        (Some(sess), Some(id)) => {
            sess.may_see(&st.store, id).await?;
            Some(id.clone())
        }
        (Some(sess), None) if !q.contains_key("a.kind") => sess.user.applicant_id.clone(),
        _ => None,
    };
    let mut body = html! {};
    let v = &st.lib.vocab;
    // The questionnaire's slot (事项 1–3) of each event sent, for naming a mistake.
    let mut slots: Vec<usize> = Vec::new();
    let doc = if let Some(id) = &record {
        Some(st.store.eval_input(id, today).await?)
    } else if q.get("a.kind").is_some_and(|k| !k.is_empty()) {
        let mut applicant = serde_json::Map::new();
        for f in &v.applicant {
            if let Some(val) = q.get(&format!("a.{}", f.name)).filter(|x| !x.is_empty()) {
                applicant.insert(f.name.clone(), typed_json(f.ty, val));
            }
        }
        let filled = |k: &str| {
            q.get(k)
                .filter(|x| !x.trim().is_empty())
                .map(|x| x.trim().to_string())
        };
        let mut certs = Vec::new();
        for n in 1..=CALC_CERTS {
            if let Some(c) = filled(&format!("c{n}.cert")) {
                certs.push(json!({"cert": c, "date": filled(&format!("c{n}.date")).unwrap_or(today.to_string())}));
            }
        }
        if !certs.is_empty() {
            applicant.insert("certifications".into(), J::Array(certs));
        }
        let mut figures = serde_json::Map::new();
        for f in &v.figures {
            if let Some(x) = filled(&format!("f.{}", f.name)) {
                figures.insert(f.name.clone(), typed_json(f.ty, &x));
            }
        }
        if !figures.is_empty() {
            let year = filled("fy").unwrap_or_else(|| (today.year() - 1).to_string());
            applicant.insert("figures".into(), json!({ year: figures }));
        }
        let mut events = Vec::new();
        for n in 1..=CALC_EVENTS {
            let Some(k) = q
                .get(&event_key(n, "kind"))
                .and_then(|k| v.event_by_name(k))
            else {
                continue;
            };
            let mut e = serde_json::Map::new();
            e.insert("id".into(), json!(format!("what-if-{n}")));
            e.insert("kind".into(), json!(v.events[k].name));
            e.insert(
                "date".into(),
                json!(filled(&event_key(n, "date")).unwrap_or(today.to_string())),
            );
            for f in &v.events[k].fields {
                if let Some(val) = filled(&event_key(n, &f.name)) {
                    e.insert(f.name.clone(), typed_json(f.ty, &val));
                }
            }
            events.push(J::Object(e));
            slots.push(n);
        }
        Some(
            json!({"schema": kc_wire::INPUT_SCHEMA, "as_of": today.to_string(), "applicant": applicant, "events": events}),
        )
    } else {
        None
    };
    if let Some(doc) = doc {
        match kc_wire::parse_input(&st.lib, &doc.to_string(), None) {
            Ok(input) => {
                let ev = kc_eval::evaluate(&st.lib, &input);
                let existing = match (&record, &s) {
                    (Some(id), Some(sess)) => {
                        st.store.applications(&sess.user.actor(), Some(id)).await?
                    }
                    _ => Vec::new(),
                };
                let who = record
                    .as_ref()
                    .map(|_| input.applicant.name.clone())
                    .unwrap_or_default();
                // The questionnaire prefilled from the record, for what-ifs (another event,
                // other figures) without touching the record.
                let what_if = record.as_ref().map(|_| {
                    let mut q = form_urlencoded::Serializer::new(String::new());
                    let a = &doc["applicant"];
                    for f in v.applicant.iter().filter(|f| f.name != "name") {
                        let text = match &a[&f.name] {
                            J::String(t) => Some(t.clone()),
                            J::Bool(b) => Some(b.to_string()),
                            J::Number(n) => Some(n.to_string()),
                            _ => None,
                        };
                        if let Some(t) = text {
                            q.append_pair(&format!("a.{}", f.name), &t);
                        }
                    }
                    for (n, c) in a["certifications"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .take(CALC_CERTS)
                        .enumerate()
                    {
                        q.append_pair(
                            &format!("c{}.cert", n + 1),
                            c["cert"].as_str().unwrap_or(""),
                        );
                        q.append_pair(
                            &format!("c{}.date", n + 1),
                            c["date"].as_str().unwrap_or(""),
                        );
                    }
                    format!("/calculator?{}", q.finish())
                });
                body = html! {
                    @if !who.is_empty() { p { (lang.t("按本单位登记的信息和已获支持计算:", "Computed from the stored record and its ledger: ")) strong { (who) }
                        @if let Some(href) = &what_if { " · " a.what-if href=(href) { (lang.t("以本单位信息试算其他事项", "Try another event with this record's profile")) } } } }
                    (evaluation_view(lang, &st, &input, &ev, if record.is_some() { s.as_ref() } else { None }, &existing, s.is_none()))
                };
            }
            Err(e) => {
                // Name the field by its label, as the form does, not by its JSON path.
                let field = e.path.rsplit('.').next().unwrap_or("");
                // `$.events[1].date` is the second event's date; `$.applicant.figures.2023…`
                // the yearly figures; `…certifications[0].cert` the first certification.
                let which = e
                    .path
                    .split("events[")
                    .nth(1)
                    .and_then(|x| x.split(']').next())
                    .and_then(|i| i.parse::<usize>().ok())
                    .map(|i| {
                        let n = slots.get(i).copied().unwrap_or(i + 1);
                        format!("{}{n} ", lang.t("事项 ", "event "))
                    })
                    .unwrap_or_default();
                let label = if e.path.contains(".figures") {
                    lang.t("年度数据", "yearly figures").to_string()
                } else if e.path.contains(".certifications") {
                    lang.t("已获资质", "certifications").to_string()
                } else if field == "date" || field == "kind" {
                    format!(
                        "{which}{}",
                        if field == "date" {
                            lang.t("日期", "date")
                        } else {
                            lang.t("事项类型", "kind")
                        }
                    )
                } else {
                    v.applicant
                        .iter()
                        .chain(v.events.iter().flat_map(|x| x.fields.iter()))
                        .find(|f| f.name == field)
                        .map(|f| format!("{which}{}", kc_eval::plain::label(&f.label, lang.0)))
                        .unwrap_or_else(|| e.path.clone())
                };
                body = html! { div.error role="alert" { strong { (lang.t("输入有误:", "Input error: ")) } (label) " — " (e.message) } };
            }
        }
    }
    let form = if record.is_none() {
        calculator_form(lang, &st, &q)
    } else {
        html! {}
    };
    page(
        lang,
        s.as_ref(),
        lang.t("政策计算器", "Eligibility checker"),
        html! { (form) (body) },
    )
}

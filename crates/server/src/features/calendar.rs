//! 政策日历: a month calendar of documents taking effect and ending, windows closing, notices
//! ending and plan targets, with the notifications.

use crate::AppState;
use crate::auth::{Lang, MaybeSession};
use crate::labels::*;
use crate::layout::*;
use crate::listing::*;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use kc_domain::Access;
use maud::html;
use serde::Deserialize;

pub mod api;

/// The pages of this feature.
pub fn routes() -> Router<crate::Platform> {
    Router::new().route("/calendar", get(calendar))
}

#[derive(Deserialize, Default)]
pub(crate) struct CalendarQuery {
    /// `YYYY-MM`; default the current month.
    month: Option<String>,
}

/// One dated entry of the 政策日历.
pub(crate) struct DayEntry {
    date: jiff::civil::Date,
    kind: &'static str,
    text: String,
    href: Option<String>,
}

pub(crate) async fn calendar(
    MaybeSession(s): MaybeSession,
    lang: Lang,
    State(st): State<AppState>,
    Query(q): Query<CalendarQuery>,
) -> PageResult {
    use jiff::civil::Date;
    let today = st.store.today();
    let lib = &st.lib;
    let en = lang.0;
    let first = q
        .month
        .as_deref()
        .and_then(|m| Date::strptime("%Y-%m-%d", format!("{m}-01")).ok())
        .unwrap_or_else(|| today.first_of_month());
    let next_month = first
        .checked_add(jiff::Span::new().months(1))
        .unwrap_or(first);
    let prev_month = first
        .checked_sub(jiff::Span::new().months(1))
        .unwrap_or(first);
    // Every dated thing a user plans around: documents taking effect and ending, each
    // measure's own window where it differs, 公示 periods ending, plan targets falling due.
    let mut entries: Vec<DayEntry> = Vec::new();
    for d in &lib.documents {
        entries.push(DayEntry {
            date: d.valid.0,
            kind: "start",
            text: format!("{} {}", d.number, lang.t("开始施行", "takes effect")),
            href: Some("/library".into()),
        });
        entries.push(DayEntry {
            date: d.valid.1,
            kind: "end",
            text: format!("{} {}", d.number, lang.t("有效期届满", "expires")),
            href: Some("/library".into()),
        });
    }
    for m in &lib.measures {
        let d = &lib.documents[m.doc];
        if m.valid.1 != d.valid.1 {
            entries.push(DayEntry {
                date: m.valid.1,
                kind: "end",
                text: format!(
                    "{} {}",
                    kc_eval::plain::label(&m.label, en),
                    lang.t("申报窗口截止", "window closes")
                ),
                href: Some(format!("/library/{}", m.id)),
            });
        }
    }
    // 申报期: each call's first and last day of applications.
    for w in &lib.windows {
        let title = kc_eval::plain::label(&w.label, en);
        entries.push(DayEntry {
            date: w.applications.0,
            kind: "window",
            text: format!("{} {title}", lang.t("申报开始", "applications open")),
            href: Some("/calendar#windows".into()),
        });
        entries.push(DayEntry {
            date: w.applications.1,
            kind: "end",
            text: format!("{} {title}", lang.t("申报截止", "applications close")),
            href: Some("/calendar#windows".into()),
        });
    }
    // An applicant's own claim deadlines (`claim within …` after its events), still ahead.
    if let Some(x) = s.as_ref()
        && let Some(applicant) = x.user.actor().applicant.clone()
        && let Ok(doc) = st.store.eval_input(&applicant, today).await
        && let Ok(input) = kc_wire::parse_input(lib, &doc.to_string(), None)
    {
        for e in &input.events {
            for m in lib.measures.iter().filter(|m| m.event == e.kind) {
                let Some(deadline) = m.claim_within.and_then(|p| p.deadline(e.date)) else {
                    continue;
                };
                if deadline >= today && e.date >= m.valid.0 && e.date <= m.valid.1 {
                    entries.push(DayEntry {
                        date: deadline,
                        kind: "end",
                        text: format!(
                            "{} {} · {}",
                            lang.t("申请期限", "claim deadline"),
                            kc_eval::plain::label(&m.label, en),
                            e.id
                        ),
                        href: Some(format!("/library/{}", m.id)),
                    });
                }
            }
        }
    }
    for n in st.store.public_notices().await? {
        if let Ok(d) = n.until.parse::<Date>() {
            let title = lib
                .measure(&n.measure)
                .map(|m| kc_eval::plain::label(&m.label, en).to_string())
                .unwrap_or_default();
            entries.push(DayEntry {
                date: d,
                kind: "notice",
                text: format!(
                    "{} {} · {}",
                    lang.t("公示期满", "notice ends"),
                    n.applicant_name,
                    title
                ),
                href: Some("/notices".into()),
            });
        }
    }
    if let Some(x) = s.as_ref().filter(|x| x.role().may(Access::Plans)) {
        let actor = x.user.actor();
        // The targets of the plans the user's jurisdiction takes part in.
        for p in st
            .plans
            .plans
            .iter()
            .filter(|p| st.store.sees_plan(&actor, &p.region))
        {
            for i in &p.indicators {
                entries.push(DayEntry {
                    date: i.deadline,
                    kind: "target",
                    text: format!(
                        "{} {} {}{}",
                        lang.t("目标期限", "target due"),
                        i.name,
                        i.target.normalize(),
                        i.unit
                    ),
                    href: Some(format!("/plans?plan={}", p.id)),
                });
            }
        }
    }
    entries.sort_by(|a, b| a.date.cmp(&b.date).then(a.text.cmp(&b.text)));
    let in_month: Vec<&DayEntry> = entries
        .iter()
        .filter(|e| e.date >= first && e.date < next_month)
        .collect();
    let upcoming: Vec<&DayEntry> = entries.iter().filter(|e| e.date >= today).take(8).collect();
    let last_entry = entries
        .iter()
        .rfind(|e| e.date < first)
        .map(|e| e.date.first_of_month());
    let next_entry = entries
        .iter()
        .find(|e| e.date >= next_month)
        .map(|e| e.date.first_of_month());
    let ym = |d: Date| d.strftime("%Y-%m").to_string();
    // The grid: weeks from Monday; blank cells before the 1st and after the last day.
    let lead = first.weekday().to_monday_zero_offset() as usize;
    let days = first.days_in_month() as usize;
    let cells: Vec<Option<Date>> = (0..lead)
        .map(|_| None)
        .chain((0..days).map(|k| first.checked_add(jiff::Span::new().days(k as i64)).ok()))
        .collect();
    let weeks: Vec<&[Option<Date>]> = cells.chunks(7).collect();
    // Notifications: the latest changes to the user's applications, from the audit log.
    let notes = match &s {
        Some(sess) if sess.role().may(Access::ApplicantFile) => {
            st.store.notifications(&sess.user.actor(), 30).await?
        }
        _ => Vec::new(),
    };
    let kind_words = |k: &str| match k {
        "start" => lang.t("施行", "in force"),
        "end" => lang.t("截止", "ends"),
        "notice" => lang.t("公示", "notice"),
        "window" => lang.t("申报", "applications"),
        _ => lang.t("目标", "target"),
    };
    let body = html! {
        nav.month aria-label=(lang.t("月份", "Month")) {
            a href={"/calendar?month=" (ym(prev_month))} { "« " (ym(prev_month)) }
            " " strong { (first.strftime(if en { "%Y-%m" } else { "%Y年%m月" }).to_string()) } " "
            a href={"/calendar?month=" (ym(next_month))} { (ym(next_month)) " »" }
            " · " a href="/calendar" { (lang.t("本月", "This month")) }
            @if in_month.is_empty() {
                @if let Some(d) = last_entry { " · " a href={"/calendar?month=" (ym(d))} { (lang.t("上一个有事项的月份 ", "previous month with entries ")) (ym(d)) } }
                @if let Some(d) = next_entry { " · " a href={"/calendar?month=" (ym(d))} { (lang.t("下一个有事项的月份 ", "next month with entries ")) (ym(d)) } }
            }
        }
        table.month-grid {
            caption.muted { (lang.t("政策施行与届满、申报期开始与截止、公示期满", "Documents in force and ending, application windows opening and closing, notices ending")) }
            tr { @for w in ["一", "二", "三", "四", "五", "六", "日"].iter().zip(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]) { th scope="col" { (if en { w.1 } else { w.0 }) } } }
            @for week in &weeks {
                tr {
                    @for k in 0..7 {
                        @match week.get(k).copied().flatten() {
                            Some(d) => td.day.today[d == today] {
                                span.daynum { (d.day()) }
                                @for e in in_month.iter().filter(|e| e.date == d) {
                                    div class={"entry " (e.kind)} { @if let Some(h) = &e.href { a href=(h) { (e.text) } } @else { (e.text) } }
                                }
                            },
                            None => td.blank {},
                        }
                    }
                }
            }
        }
        h2 { (lang.t("本月事项", "This month")) }
        @if in_month.is_empty() { p.muted { (lang.t("本月没有日程。", "Nothing falls in this month.")) } }
        ul.agenda { @for e in &in_month { li { span.tag { (kind_words(e.kind)) } " " (e.date) " " @if let Some(h) = &e.href { a href=(h) { (e.text) } } @else { (e.text) } } } }
        h2 { (lang.t("即将到来", "Coming up")) }
        @if upcoming.is_empty() { p.muted { (lang.t("今后没有已知的截止日期:本库政策均已到期。", "No dates ahead: every document of the library has expired.")) } }
        ul.agenda { @for e in &upcoming { li { span.tag { (kind_words(e.kind)) } " " (e.date) " " @if let Some(h) = &e.href { a href=(h) { (e.text) } } @else { (e.text) } } } }
        h2 #windows { (lang.t("申报期", "Application windows")) }
        @let open_or_coming: Vec<&kc_check::Window> = lib.windows.iter().filter(|w| w.applications.1 >= today).collect();
        @if open_or_coming.is_empty() { p.muted { (lang.t("没有正在受理或即将开始的申报;未列申报期的措施可随时申报。", "No window is open or coming; a measure no call names takes applications at any time.")) } }
        @else { table {
            tr { th { (lang.t("申报通知", "Call")) } th { (lang.t("申报时间", "Applications")) } th { (lang.t("事项期间", "Events of")) } th { (lang.t("措施", "Measures")) } th { (lang.t("状态", "Status")) } }
            @for w in &open_or_coming {
                tr { td { (kc_eval::plain::label(&w.label, en)) " " span.muted { (lib.documents[w.doc].number) } }
                    td { (w.applications.0) " – " (w.applications.1) }
                    td { @if let Some((a, b)) = w.events { (a) " – " (b) } @else { (lang.t("不限", "any")) } }
                    td { @for (i, mi) in w.measures.iter().enumerate() { @if i > 0 { "、" } a href={"/library/" (lib.measures[*mi].id)} { (kc_eval::plain::label(&lib.measures[*mi].label, en)) } } }
                    td { @if w.applications.0 <= today { span.ok { (lang.t("受理中", "open")) } } @else { span.muted { (lang.t("即将开始", "upcoming")) } } } }
            }
        } }
        h2 { (lang.t("正在有效的政策", "In force now")) }
        table {
            tr { th { (lang.t("文件", "Document")) } th { (lang.t("有效期", "Valid")) } th { (lang.t("措施数", "Measures")) } th { (lang.t("提示", "Note")) } }
            @for (di, d) in lib.documents.iter().enumerate() {
                @if doc_status(d, today) != DocStatus::Expired {
                    tr { td { (doc_name(d)) } td { (d.valid.0) " – " (d.valid.1) } td { (lib.measures.iter().filter(|m| m.doc == di).count()) }
                        td { @if doc_status(d, today) == DocStatus::Expiring { span.no { (lang.t("180天内到期", "expires within 180 days")) } } } }
                }
            }
        }
        h2 { (lang.t("已失效", "Expired")) }
        ul { @for d in lib.documents.iter().filter(|d| doc_status(d, today) == DocStatus::Expired) { li { (doc_name(d)) " (" (d.valid.1) ")" } } }
        @if s.is_some() {
            h2 { (lang.t("通知", "Notifications")) }
            (notes_table(lang, &st, &notes))
        }
    };
    page(
        lang,
        s.as_ref(),
        lang.t("政策日历", "Policy calendar"),
        body,
    )
}

/// Where a document stands on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DocStatus {
    /// In force (or not yet in force) and not ending within 180 days.
    InForce,
    /// In force and ending within 180 days.
    Expiring,
    Expired,
}

/// The calendar's rule: expired after its last day; expiring when the last day is within 180
/// days of `today`.
pub(crate) fn doc_status(d: &kc_check::Document, today: jiff::civil::Date) -> DocStatus {
    let soon = today.saturating_add(jiff::Span::new().days(180));
    if d.valid.1 < today {
        DocStatus::Expired
    } else if d.valid.1 <= soon {
        DocStatus::Expiring
    } else {
        DocStatus::InForce
    }
}

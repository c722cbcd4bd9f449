//! Lists of applications as several features show them (申报, 审核, 一企一档): names instead of
//! codes for applicants and events. A leaf over the store and the words of [`crate::labels`].

use crate::auth::Lang;
use crate::labels::*;
use crate::{AppError, AppState};
use kc_domain::AppState as St;
use maud::{Markup, html};
use std::collections::BTreeMap;

/// The names behind the ids of some applications: applicants and events.
pub(crate) struct Names {
    applicants: BTreeMap<String, String>,
    events: BTreeMap<String, kc_store::EventLine>,
}

impl Names {
    pub(crate) async fn of(
        st: &AppState,
        apps: &[kc_store::ApplicationView],
    ) -> Result<Names, AppError> {
        Ok(Names {
            applicants: st
                .store
                .applicant_names(apps.iter().map(|a| a.applicant_id.as_str()))
                .await?,
            events: st
                .store
                .event_lines(apps.iter().map(|a| a.event_id.as_str()))
                .await?,
        })
    }
    /// The applicant's name (its code only where the store has no name).
    pub(crate) fn applicant<'a>(&'a self, id: &'a str) -> &'a str {
        self.applicants.get(id).map(String::as_str).unwrap_or(id)
    }
    pub(crate) fn event(&self, lib: &kc_check::Library, id: &str, en: bool) -> String {
        self.events
            .get(id)
            .map(|e| crate::labels::event_words(lib, &e.kind, &e.date, &e.body, en))
            .unwrap_or_else(|| id.to_string())
    }
}

pub(crate) fn app_rows(
    lang: Lang,
    st: &AppState,
    apps: &[kc_store::ApplicationView],
    names: &Names,
) -> Markup {
    let en = lang.0;
    html! {
        table.cards {
            tr { th { (lang.t("编号", "No.")) } th { (lang.t("申报主体", "Applicant")) } th { (lang.t("措施", "Measure")) } th { (lang.t("事项", "Event")) } th { (lang.t("状态", "State")) } th.num { (lang.t("计算金额", "Computed")) } th.num { (lang.t("批准金额", "Approved")) } }
            @for a in apps {
                tr {
                    td { a href={"/applications/" (a.id)} { (a.id) } }
                    td { a href={"/applicants/" (a.applicant_id)} { (names.applicant(&a.applicant_id)) } }
                    td { (st.lib.measure(&a.measure).map(|m| kc_eval::plain::label(&m.label, en).to_string()).unwrap_or(a.measure.clone())) }
                    td.muted { (names.event(&st.lib, &a.event_id, en)) }
                    td { span.tag.badge { (state_words(lang, a)) } }
                    td.num { (a.computed.map(crate::labels::yuan_wan).unwrap_or_default()) }
                    td.num { (a.approved.map(crate::labels::yuan_wan).unwrap_or_default()) }
                }
            }
        }
    }
}

pub(crate) fn notes_table(lang: Lang, st: &AppState, notes: &[kc_store::Notification]) -> Markup {
    let step_zh = |a: &str, o: &str| {
        if lang.0 {
            crate::labels::step_en(a, o)
        } else {
            crate::labels::step_zh(a, o)
        }
    };
    let lib = &st.lib;
    html! {
        table.notifications {
            tr { th { (lang.t("时间", "When")) } th { (lang.t("申请", "Application")) } th { (lang.t("措施", "Measure")) } th { (lang.t("变化", "Change")) } th { (lang.t("当前状态", "Now")) } }
            @for n in notes {
                tr {
                    td.when { (readable_time(&n.at)) }
                    td { a href={"/applications/" (n.application)} { (n.application) } }
                    td { (lib.measure(&n.measure).map(|m| m.label.zh.clone()).unwrap_or(n.measure.clone())) }
                    td { @if n.action == "create" && n.origin == "offer" { strong { (step_zh(&n.action, &n.origin)) } } @else { (step_zh(&n.action, &n.origin)) } }
                    td { span.tag { (if n.origin == "offer" && n.state == St::Withdrawn { "已放弃" } else { n.state.zh() }) } }
                }
            }
        }
    }
}

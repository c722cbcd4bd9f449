//! 审核: the review queue, objections from the public and the 公示 list for reviewers.

use crate::AppState;
use crate::auth::{CurrentSession, Lang};
use crate::labels::*;
use crate::layout::*;
use crate::listing::*;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use kc_domain::Access;
use maud::html;

pub mod api;

/// The pages of this feature.
pub fn routes() -> Router<crate::Platform> {
    Router::new().route("/review", get(review))
}

pub(crate) async fn review(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    s.require_access(Access::AllApplicants)?;
    let apps = st.store.applications(&s.user.actor(), None).await?;
    let queue: Vec<_> = apps
        .iter()
        .filter(|a| in_review_queue(a.state))
        .cloned()
        .collect();
    let notices = st.store.public_notices().await?;
    let objections = st.store.public_objections(&s.user.actor()).await?;
    let names = Names::of(&st, &queue).await?;
    let body = html! {
        (app_rows(lang, &st, &queue, &names))
        @if !objections.is_empty() {
            h2 { (lang.t("社会公众提出的异议", "Objections from the public")) " (" (objections.len()) ")" }
            table {
                tr { th { (lang.t("申请", "Application")) } th { (lang.t("提出人", "From")) } th { (lang.t("联系方式", "Contact")) } th { (lang.t("理由", "Reason")) } th { (lang.t("时间", "When")) } }
                @for o in &objections {
                    tr { td { a href={"/applications/" (o.application)} { (o.application) } } td { (o.name) } td { (o.contact) } td.wrap { (o.reason) } td { (o.at.get(..16).unwrap_or(&o.at).replace('T', " ")) } }
                }
            }
        }
        h2 { (lang.t("公示名单", "Public notice")) }
        table {
            tr { th { (lang.t("申报主体", "Applicant")) } th { (lang.t("措施", "Measure")) } th { (lang.t("条款", "Clause")) } th.num { (lang.t("金额", "Amount")) } th { (lang.t("期满", "Until")) } }
            @for n in &notices {
                @let m = st.lib.measure(&n.measure);
                tr { td { (n.applicant_name) } td { (m.map(|m| m.label.zh.clone()).unwrap_or_default()) } td { (m.map(|m| format!("{} {}", st.lib.documents[m.doc].number, m.clause.id)).unwrap_or_default()) } td.num { (yuan(n.amount)) } td { (n.until) } }
            }
        }
    };
    page(lang, Some(&s), lang.t("审核", "Review queue"), body)
}

/// Whether an application belongs in the review queue (审核): from submission to 公示.
pub(crate) fn in_review_queue(state: kc_domain::AppState) -> bool {
    use kc_domain::AppState as St;
    matches!(
        state,
        St::Submitted
            | St::InReview
            | St::NeedsMaterial
            | St::Recommended
            | St::Approved
            | St::PublicNotice
    )
}

//! 申报: an applicant's applications, one application's page with its workflow steps, the
//! decline confirmation and the payment form.

use crate::auth::{CurrentSession, Lang, Session};
use crate::forms::*;
use crate::labels::*;
use crate::layout::*;
use crate::listing::*;
use crate::{AppError, AppState};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use kc_domain::{Access, Action, AppState as St};
use kc_money::Money;
use kc_store::ActArgs;
use maud::html;
use serde::Deserialize;
use std::collections::BTreeMap;

pub mod materials;

/// The pages of this feature.
pub fn routes() -> Router<crate::Platform> {
    Router::new()
        .route("/applications", get(applications).post(apply))
        .route("/applications/{id}", get(application))
        .route("/applications/{id}/act", post(act))
        .route(
            "/applications/{id}/decline",
            get(decline_form).post(decline),
        )
        .route("/applications/{id}/pay", post(pay))
}

pub(crate) async fn applications(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
) -> PageResult {
    let apps = st.store.applications(&s.user.actor(), None).await?;
    let names = Names::of(&st, &apps).await?;
    page(
        lang,
        Some(&s),
        lang.t("申报", "Applications"),
        app_rows(lang, &st, &apps, &names),
    )
}

#[derive(Deserialize)]
pub(crate) struct ApplyForm {
    csrf: Option<String>,
    measure: String,
    event: String,
}

pub(crate) async fn apply(
    CurrentSession(s): CurrentSession,
    State(st): State<AppState>,
    Form(f): Form<ApplyForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let applicant = s.user.applicant_id.clone().ok_or_else(|| {
        AppError::Forbidden("只有申报主体可以申报 (only applicants apply)".into())
    })?;
    let id = st
        .store
        .apply(&s.user.actor(), &applicant, &f.measure, &f.event)
        .await?;
    Ok(Redirect::to(&format!("/applications/{id}")).into_response())
}

pub(crate) async fn application(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    application_page(&s, lang, &st, &id, None).await
}

/// The application page; `problem` re-shows a form that was refused (an action, a payment or
/// one of the materials forms) with its reason beside it and its input kept.
pub(crate) async fn application_page(
    s: &Session,
    lang: Lang,
    st: &AppState,
    id: &str,
    problem: Option<FormProblem>,
) -> PageResult {
    let problem = problem.as_ref();
    let a = st.store.application(&s.user.actor(), id).await?;
    let names = Names::of(st, std::slice::from_ref(&a)).await?;
    let m = st
        .lib
        .measure(&a.measure)
        .ok_or_else(|| AppError::NotFound(a.measure.clone()))?;
    let d = &st.lib.documents[m.doc];
    let role = s.role();
    let actor = s.user.actor();
    let region = st.store.applicant_region(&a.applicant_id).await?;
    // The levels that review it in turn (区县初审推荐, 市级复审批准), where levels share the cost.
    let stages = st.store.review_stages(&a.measure, &region);
    let acts: Vec<Action> = [
        Action::Submit,
        Action::Withdraw,
        Action::ConfirmOffer,
        Action::DeclineOffer,
        Action::StartReview,
        Action::RequestMaterial,
        Action::Recommend,
        Action::Approve,
        Action::Reject,
        Action::PublishNotice,
        Action::Object,
    ]
    .into_iter()
    .filter(|act| kc_domain::transition(a.state, *act, role).is_ok())
    .filter(|act| st.store.review_turn(&actor, &a, &region, *act).is_ok())
    .collect();
    let jurisdictions = st.store.jurisdictions();
    let levels: Vec<&str> = kc_store::jurisdictions::paying_levels(m);
    // Who pays each level for this applicant; a jurisdiction's finance records only its own.
    let payer_of = |l: &str| jurisdictions.payer(l, &region).map(str::to_string);
    let pay_levels: Vec<&str> = levels
        .iter()
        .copied()
        .filter(|l| {
            actor
                .jurisdiction
                .as_ref()
                .is_none_or(|own| payer_of(l).as_ref() == Some(own))
        })
        .collect();
    let stage_now = usize::try_from(a.review_stage).unwrap_or(0);
    // What each level committed and paid for this application: the pay form shows what is left.
    let mut per_level: Vec<(String, Money, Money)> = levels
        .iter()
        .map(|l| (l.to_string(), Money::ZERO, Money::ZERO))
        .collect();
    if a.state == St::PublicNotice && role.may(Access::RecordPayments) {
        for r in st.store.ledger_of(&a.applicant_id).await? {
            if r.application != a.id {
                continue;
            }
            if let Some(row) = per_level.iter_mut().find(|x| x.0 == r.level) {
                match r.entry {
                    kc_domain::EntryKind::Commitment | kc_domain::EntryKind::Reversal => {
                        row.1 = row.1 + r.amount
                    }
                    kc_domain::EntryKind::Payment => row.2 = row.2 + r.amount,
                }
            }
        }
    }
    let notice_range = st.store.notice_days();
    let notice_default = st
        .store
        .notice_period(None)
        .unwrap_or(*notice_range.start());
    let today = st.store.today().to_string();
    let materials = materials::section(st, lang, s, &a, problem).await?;
    // An award decided under a library version kept in the database: that version, and the
    // amount it gives today (re-evaluating a decision gives the answer it was made with).
    let decided = match st.store.decided_version(&a.id).await? {
        Some(v) => {
            let again = st.store.reevaluate(&actor, &a.id).await.ok();
            let amount =
                again.and_then(|(_, j)| j["outcomes"][0]["amount"].as_str().map(str::to_string));
            Some((v, amount))
        }
        None => None,
    };
    let body = html! {
        div.card {
            p { strong { (m.label.zh) } " · " (d.number) " " (m.clause.id) " · " a href={"/library/" (m.id)} { (lang.t("条款与规则", "clause and rule")) } }
            table {
                tr { th { (lang.t("申报主体", "Applicant")) } td { a href={"/applicants/" (a.applicant_id)} { (names.applicant(&a.applicant_id)) } " " span.muted.uscc { (a.applicant_id) } } }
                tr { th { (lang.t("事项", "Event")) } td { (names.event(&st.lib, &a.event_id, lang.0)) } }
                tr { th { (lang.t("来源", "Origin")) } td.origin { (crate::labels::origin_in(lang, &a.origin)) } }
                tr { th { (lang.t("状态", "State")) } td.state { span.badge { (state_words(lang, &a)) } } }
                tr { th { (lang.t("计算金额", "Computed")) } td { (a.computed.map(crate::labels::yuan_wan).unwrap_or_default()) " " (kind_zh(a.amount_kind.as_deref().unwrap_or(""))) } }
                tr { th { (lang.t("批准金额", "Approved")) } td.approved { (a.approved.map(yuan).unwrap_or_default()) } }
                @if let Some((v, amount)) = &decided {
                    tr #decided-version { th { (lang.t("决定时政策库版本", "Decided under library version")) } td { "v" (v) @if let Some(x) = amount { " · " (lang.t("按该版本重新计算:", "re-evaluated under it: ")) (x) } } }
                }
                @if let Some(r) = &a.reason { tr { th { (lang.t("理由", "Reason")) } td { (r) } } }
                @if let Some(mm) = &a.missing { tr { th { (lang.t("需补正材料", "Missing")) } td { (mm) } } }
                @if let Some(n) = &a.notice_until { tr { th { (lang.t("公示期满", "Notice until")) } td { (n) } } }
                @if stages.len() > 1 {
                    tr {
                        th { (lang.t("分级审核", "Review by level")) }
                        td.stages {
                            @for (i, j) in stages.iter().enumerate() {
                                @if i > 0 { " → " }
                                @let name = if lang.0 { jurisdictions.get(j).map(|x| x.en.as_str()).unwrap_or(j.as_str()) } else { jurisdictions.zh(j) };
                                @let last = i + 1 == stages.len();
                                span.stage {
                                    (name) " "
                                    @if i < stage_now { span.yes { (if last { lang.t("已批准", "approved") } else { lang.t("已推荐", "recommended") }) } }
                                    @else if i == stage_now && !a.state.is_final() && !a.state.holds_commitment() { strong { (lang.t("(当前)", "(now)")) } }
                                    @else if last && a.state.holds_commitment() { span.yes { (lang.t("已批准", "approved")) } }
                                    @else { span.muted { (if last { lang.t("(批准)", "(approves)") } else { lang.t("(初审推荐)", "(recommends)") }) } }
                                }
                            }
                        }
                    }
                }
                @if let Some(r) = a.recommended { tr { th { (lang.t("推荐金额", "Recommended")) } td.recommended { (yuan(r)) } } }
            }
            div.quote { (m.clause.quote) }
        }
        (materials)
        @if !acts.is_empty() {
            h2 { (lang.t("办理", "Actions")) }
            // Declining an offer cannot be undone: a secondary link to a page that asks first.
            @if acts.contains(&Action::DeclineOffer) {
                p.card { a.decline href={"/applications/" (a.id) "/decline"} { (lang.t("放弃此免申即享…", "Decline this offer…")) } " " span.muted { (lang.t("(将先确认,放弃后不能恢复)", "(asks first; cannot be undone)")) } }
            }
            @for act in acts.iter().filter(|x| **x != Action::DeclineOffer) {
                @let p = FormProblem::for_form(problem, act.code());
                form.card method="post" action={"/applications/" (a.id) "/act"} {
                    (problem_box(p))
                    (csrf_field(s))
                    input type="hidden" name="action" value=(act.code());
                    @match act {
                        // A fixed sum (定额) is prefilled; a maximum (最高) or an amount set by
                        // review is the reviewer's to name (the store refuses without one).
                        Action::Approve | Action::Recommend if a.recommended.is_none() && matches!(a.amount_kind.as_deref(), Some("cap" | "review")) => {
                            label {
                                (lang.t("批准金额(元,必填)", "Amount (yuan, required)")) " "
                                input name="amount" value=(FormProblem::value(p, "amount").unwrap_or_default()) required aria-invalid=[p.map(|_| "true")];
                                @if let (Some("cap"), Some(c)) = (a.amount_kind.as_deref(), a.computed) {
                                    " " span.muted { (lang.t("本措施最高 ", "at most ")) span.cap { (yuan(c)) } }
                                }
                            }
                            label { (lang.t("理由(低于计算金额时必填)", "Reason (required below the computed amount)")) " " input name="reason" value=(FormProblem::value(p, "reason").unwrap_or_default()); }
                        }
                        Action::Approve | Action::Recommend => {
                            label {
                                @if *act == Action::Recommend { (lang.t("推荐金额(元,不超过计算金额)", "Recommended amount (yuan, at most the computed amount)")) }
                                @else { (lang.t("批准金额(元,不超过计算金额)", "Amount (yuan, at most the computed amount)")) }
                                " " input name="amount" value=(FormProblem::value(p, "amount").unwrap_or_else(|| a.recommended.or(a.computed).map(|c| c.plain()).unwrap_or_default())) aria-invalid=[p.map(|_| "true")];
                            }
                            label { (lang.t("理由(低于计算金额时必填)", "Reason (required below the computed amount)")) " " input name="reason" value=(FormProblem::value(p, "reason").unwrap_or_default()); }
                        }
                        Action::Reject | Action::Object => { label { (lang.t("理由", "Reason")) " " input name="reason" required value=(FormProblem::value(p, "reason").unwrap_or_default()); } }
                        Action::RequestMaterial => { label { (lang.t("一次性告知所缺材料(每行一项)", "All missing material, one per line")) br; textarea name="missing" rows="3" cols="40" { (FormProblem::value(p, "missing").unwrap_or_default()) } } }
                        Action::PublishNotice => {
                            label {
                                (lang.t("公示天数", "Notice days")) " "
                                input name="notice_days" type="number" value=(FormProblem::value(p, "notice_days").unwrap_or_else(|| notice_default.to_string())) min=(notice_range.start()) max=(notice_range.end()) size="3";
                                " " span.muted { (lang.t(&format!("{} 至 {} 天", notice_range.start(), notice_range.end()), &format!("{} to {} days", notice_range.start(), notice_range.end()))) }
                            }
                        }
                        _ => {}
                    }
                    button type="submit" name="do" value=(act.code()) { (act.zh()) }
                }
            }
        }
        @if a.state == St::PublicNotice && role.may(Access::RecordPayments) && !pay_levels.is_empty() && a.notice_until.as_deref().is_none_or(|u| u <= today.as_str()) {
            h2 { (lang.t("拨付", "Payment")) }
            @let p = FormProblem::for_form(problem, "pay");
            form.card method="post" action={"/applications/" (a.id) "/pay"} {
                (problem_box(p))
                (csrf_field(s))
                table.remaining {
                    tr { th { (lang.t("级次", "Level")) } th.num { (lang.t("应拨付(已承诺)", "Committed")) } th.num { (lang.t("已拨付", "Paid")) } th.num { (lang.t("待拨付", "Left to pay")) } }
                    @for (l, c, p) in &per_level { tr { td { (level_in(lang, l)) @if let Some(j) = payer_of(l) { " · " (if lang.0 { jurisdictions.get(&j).map(|x| x.en.clone()).unwrap_or(j.clone()) } else { jurisdictions.zh(&j).to_string() }) } } td.num { (yuan(*c)) } td.num { (yuan(*p)) } td.num.left { (yuan(*c - *p)) } } }
                }
                label { (lang.t("承担级次", "Level")) " " select name="level" { @for l in &pay_levels { option value=(l) selected[FormProblem::value(p, "level").as_deref() == Some(*l)] { (level_in(lang, l)) } } } }
                label { (lang.t("金额(元)", "Amount (yuan)")) " " input name="amount" value=(FormProblem::value(p, "amount").unwrap_or_default()) aria-invalid=[p.map(|_| "true")]; }
                button type="submit" { (lang.t("记录拨付", "Record payment")) }
            }
        }
    };
    page(
        lang,
        Some(s),
        &format!("{} {}", lang.t("申请", "Application"), a.id),
        body,
    )
}

/// 放弃免申即享: what will be given up, and that it cannot be undone, before the POST.
pub(crate) async fn decline_form(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    let a = st.store.application(&s.user.actor(), &id).await?;
    let label = st
        .lib
        .measure(&a.measure)
        .map(|m| m.label.zh.clone())
        .unwrap_or(a.measure.clone());
    let may = kc_domain::transition(a.state, Action::DeclineOffer, s.role()).is_ok();
    let body = html! {
        div.card {
            table {
                tr { th { (lang.t("申请", "Application")) } td { a href={"/applications/" (a.id)} { (a.id) } } }
                tr { th { (lang.t("措施", "Measure")) } td { (label) } }
                tr { th { (lang.t("金额", "Amount")) } td.num { (a.computed.map(yuan).unwrap_or_default()) } }
                tr { th { (lang.t("状态", "State")) } td.state { span.badge { (state_words(lang, &a)) } } }
            }
        }
        @if may {
            div.error {
                p { strong { (lang.t("放弃后不能恢复。", "Declining cannot be undone.")) } }
                p { (lang.t("放弃后,本次免申即享不再兑现,同一事件不会再次推送。如只是暂不确认,请返回。",
                            "The offer will not be paid, and the same event will not be offered again. To decide later, go back.")) }
            }
            form.card method="post" action={"/applications/" (a.id) "/decline"} {
                (csrf_field(&s))
                button.secondary type="submit" name="do" value="decline_offer" { (lang.t("确认放弃", "Decline the offer")) }
                " " a href={"/applications/" (a.id)} { (lang.t("返回,不放弃", "Go back, keep the offer")) }
            }
        } @else {
            p.muted { (lang.t("此申请当前不能放弃。", "This application cannot be declined now.")) }
        }
    };
    page(
        lang,
        Some(&s),
        lang.t("放弃免申即享", "Decline an offer"),
        body,
    )
}

#[derive(Deserialize)]
pub(crate) struct DeclineForm {
    csrf: Option<String>,
}

pub(crate) async fn decline(
    CurrentSession(s): CurrentSession,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<DeclineForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    st.store
        .act(
            &s.user.actor(),
            &id,
            Action::DeclineOffer,
            ActArgs::default(),
        )
        .await?;
    Ok(Redirect::to(&format!("/applications/{id}")).into_response())
}

#[derive(Deserialize)]
pub(crate) struct ActForm {
    csrf: Option<String>,
    action: String,
    amount: Option<String>,
    reason: Option<String>,
    missing: Option<String>,
    notice_days: Option<String>,
}

pub(crate) async fn act(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let form = f.action.clone();
    let values: BTreeMap<String, String> = [
        ("amount", &f.amount),
        ("reason", &f.reason),
        ("missing", &f.missing),
        ("notice_days", &f.notice_days),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
    .collect();
    match act_on(&s, &st, &id, f).await {
        Ok(()) => Ok(Redirect::to(&format!("/applications/{id}")).into_response()),
        Err(e) => refused_form(&s, lang, &st, &id, &form, e, values).await,
    }
}

/// Re-shows the application page with the refused form's reason next to it and the input
/// kept, under the error's status (400 for a mistake in a field, 409 for a refused step).
pub(crate) async fn refused_form(
    s: &Session,
    lang: Lang,
    st: &AppState,
    id: &str,
    form: &str,
    e: AppError,
    values: BTreeMap<String, String>,
) -> PageResult {
    let problem = FormProblem::from_error(form, e, values)?;
    let status = problem.status;
    let mut res = application_page(s, lang, st, id, Some(problem)).await?;
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn act_on(
    s: &Session,
    st: &AppState,
    id: &str,
    f: ActForm,
) -> Result<(), AppError> {
    let action = crate::api::parse_action(&f.action)?;
    if action == Action::DeclineOffer {
        // Declining cannot be undone: the page asks first (GET /applications/{id}/decline).
        return Err(AppError::BadRequest {
            code: "invalid",
            message: format!(
                "放弃免申即享须在确认页面操作:/applications/{id}/decline (decline an offer on its confirmation page)"
            ),
        });
    }
    let notice_days = match f
        .notice_days
        .as_deref()
        .map(str::trim)
        .filter(|x| !x.is_empty())
    {
        None => None,
        Some(x) => Some(x.parse::<i64>().map_err(|_| AppError::BadRequest {
            code: "invalid",
            message: format!("公示天数 notice days:“{x}”不是整数"),
        })?),
    };
    let args = ActArgs {
        amount: form_money(&f.amount, "批准金额 amount")?,
        reason: f.reason.filter(|r| !r.trim().is_empty()),
        missing: f
            .missing
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        notice_days,
    };
    st.store.act(&s.user.actor(), id, action, args).await?;
    Ok(())
}

#[derive(Deserialize)]
pub(crate) struct PayForm {
    csrf: Option<String>,
    level: String,
    amount: Option<String>,
}

pub(crate) async fn pay(
    CurrentSession(s): CurrentSession,
    lang: Lang,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<PayForm>,
) -> PageResult {
    s.check_csrf(f.csrf.as_deref())?;
    let values: BTreeMap<String, String> = [
        ("level".to_string(), f.level.clone()),
        ("amount".to_string(), f.amount.clone().unwrap_or_default()),
    ]
    .into();
    let done = async {
        let amount =
            form_money(&f.amount, "拨付金额 amount")?.ok_or_else(|| AppError::BadRequest {
                code: "invalid",
                message: "拨付金额 amount:必填 (required)".into(),
            })?;
        st.store.pay(&s.user.actor(), &id, &f.level, amount).await?;
        Ok::<(), AppError>(())
    }
    .await;
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/applications/{id}")).into_response()),
        Err(e) => refused_form(&s, lang, &st, &id, "pay", e, values).await,
    }
}

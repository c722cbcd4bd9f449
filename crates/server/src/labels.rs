//! Words for what the store keeps as codes: events described by their kind, date and the
//! facts that tell two apart; audit actions and entities; amounts in 万元 beside 元. A leaf
//! module: it knows the library's vocabulary and nothing of pages or routes.

use crate::AppState;
use crate::auth::Lang;
use kc_check::ir::{Library, Type};
use kc_domain::{AppState as St, Role};
use kc_eval::Tri;
use kc_eval::plain;
use kc_money::Money;
use maud::{Markup, html};
use serde_json::Value as J;

tokio::task_local! {
    /// The path of the request being answered, for the menu's current-page marker.
    static CURRENT_PATH: String;
}

/// Runs the request with its path known to [`current_path`] (the layout marks the menu entry).
pub async fn with_current_path(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = req.uri().path().to_string();
    CURRENT_PATH.scope(path, next.run(req)).await
}

/// The path of the request being answered; empty outside one.
pub fn current_path() -> String {
    CURRENT_PATH.try_with(Clone::clone).unwrap_or_default()
}

/// An event in words: `高新技术企业认定 · 2023-05-20 · 国家高新技术企业`, with the first facts
/// that tell two events of one kind apart (a project's name, an amount), members by label.
pub fn event_words(lib: &Library, kind: &str, date: &str, body: &J, en: bool) -> String {
    let v = &lib.vocab;
    let Some(k) = v.event_by_name(kind) else {
        return format!("{kind} · {date}");
    };
    let def = &v.events[k];
    let mut parts = vec![plain::label(&def.label, en).to_string(), date.to_string()];
    for f in &def.fields {
        if parts.len() >= 4 {
            break;
        }
        let Some(raw) = body.get(&f.name) else {
            continue;
        };
        let text = match (f.ty, raw) {
            (Type::Enum(e), J::String(s)) => v.enums[e]
                .member(s)
                .map(|m| plain::label(&v.enums[e].members[m as usize].label, en).to_string()),
            (Type::Money, J::String(s)) => Money::parse_amount(s)
                .ok()
                .map(|m| format!("{} {}", plain::label(&f.label, en), m)),
            (Type::Text, J::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        if let Some(t) = text {
            parts.push(t);
        }
    }
    parts.join(" · ")
}

/// An event of an evaluation input in words, as [`event_words`] does for a stored one.
pub fn input_event_words(lib: &Library, e: &kc_eval::Event, en: bool) -> String {
    let v = &lib.vocab;
    let def = &v.events[e.kind];
    let mut parts = vec![plain::label(&def.label, en).to_string(), e.date.to_string()];
    for (f, val) in def.fields.iter().zip(&e.fields) {
        if parts.len() >= 4 {
            break;
        }
        match val {
            kc_check::ir::Value::Unknown | kc_check::ir::Value::Bool(_) => {}
            kc_check::ir::Value::Text(t) => parts.push(t.clone()),
            kc_check::ir::Value::Enum(..) => parts.push(kc_eval::describe_value_in(lib, val, en)),
            kc_check::ir::Value::Money(_) => parts.push(format!(
                "{} {}",
                plain::label(&f.label, en),
                kc_eval::describe_value_in(lib, val, en)
            )),
            _ => {}
        }
    }
    parts.join(" · ")
}

/// An amount as people read it: `1,267,200.00 元(126.72万元)` from 10万元 up, else `元` only.
/// The 万元 figure is exact (a division by 10,000 of an amount exact to the fen).
pub fn yuan_wan(m: Money) -> String {
    let d = m.decimal();
    if d.abs() >= kc_money::Dec::from(100_000) {
        let wan = (d / kc_money::Dec::from(10_000)).normalize();
        format!("{m}({wan}万元)")
    } else {
        m.to_string()
    }
}

/// An audit action in words.
pub fn action_words(action: &str, en: bool) -> String {
    let (zh, e) = match action {
        "create" => ("创建", "created"),
        "update" => ("修改", "updated"),
        "submit" => ("提交申报", "submitted"),
        "withdraw" => ("撤回", "withdrew"),
        "confirm_offer" => ("确认免申即享", "confirmed an offer"),
        "decline_offer" => ("放弃免申即享", "declined an offer"),
        "start_review" => ("开始审核", "started review"),
        "request_material" => ("一次性告知补正", "requested material"),
        "approve" => ("批准", "approved"),
        "recommend" => ("初审推荐", "recommended"),
        "reject" => ("不予支持", "rejected"),
        "publish_notice" => ("发布公示", "published the notice"),
        "object" => ("公示异议", "objected"),
        "lodge_objection" => ("公众提出异议", "objection from the public"),
        "pay" => ("拨付", "paid"),
        "set_budget" => ("设置预算", "set a budget"),
        "record_actual" => ("登记计划实际值", "recorded an actual"),
        "correct_actual" => ("更正计划实际值", "corrected an actual"),
        "record_progress" => ("登记任务进展", "recorded progress"),
        "import" => ("导入", "imported"),
        "restore" => ("恢复备份", "restored a backup"),
        "login" => ("登录", "logged in"),
        "invite_user" => ("邀请用户", "invited a user"),
        "remove_user" => ("移除用户", "removed a user"),
        "accept_invite" => ("接受邀请", "accepted an invitation"),
        "reset_link" => ("生成重置密码链接", "issued a password-reset link"),
        "reset_password" => ("重置密码", "reset the password"),
        "set_staff_id" => ("设置工号", "mapped a staff id"),
        other => return other.replace('_', " "),
    };
    (if en { e } else { zh }).to_string()
}

/// The kind of record an audit entry is about, in words.
pub fn entity_words(entity: &str, en: bool) -> String {
    let (zh, e) = match entity {
        "application" => ("申请", "application"),
        "applicant" => ("申报主体", "applicant"),
        "event" => ("事项", "event"),
        "budget" => ("预算", "budget"),
        "indicator" => ("计划指标", "plan indicator"),
        "task" => ("计划任务", "plan task"),
        "user" => ("账号", "account"),
        "organisation" => ("单位", "organisation"),
        other => return other.replace('_', " "),
    };
    (if en { e } else { zh }).to_string()
}

/// The codes [`action_words`] knows, for the audit page's filter.
pub const AUDIT_ACTIONS: &[&str] = &[
    "create",
    "update",
    "submit",
    "withdraw",
    "confirm_offer",
    "decline_offer",
    "start_review",
    "request_material",
    "approve",
    "recommend",
    "reject",
    "publish_notice",
    "object",
    "lodge_objection",
    "pay",
    "set_budget",
    "record_actual",
    "correct_actual",
    "record_progress",
    "invite_user",
    "remove_user",
    "accept_invite",
    "reset_link",
    "reset_password",
    "set_staff_id",
];

/// The codes [`entity_words`] knows, for the audit page's filter.
pub const AUDIT_ENTITIES: &[&str] = &[
    "application",
    "applicant",
    "event",
    "budget",
    "indicator",
    "task",
    "user",
    "organisation",
];

pub(crate) fn yuan(m: Money) -> String {
    m.to_string()
}

/// A government level's Chinese name for a stored keyword.
/// A unit of the vocabulary in the page's language (元 is yuan in English).
pub(crate) fn unit_in(lang: Lang, u: &str) -> &str {
    match (lang.0, u) {
        (true, "元") => "yuan",
        (true, "万元") => "10,000 yuan",
        _ => u,
    }
}

/// A government level in the page's language.
pub(crate) fn level_in(lang: Lang, l: &str) -> &str {
    if lang.0 { l } else { level_zh(l) }
}

/// A ledger entry kind in the page's language.
pub(crate) fn entry_in(lang: Lang, e: &str) -> &str {
    if lang.0 { e } else { entry_zh(e) }
}

/// A government level's Chinese name for its stored keyword (one home: kc-domain).
pub(crate) fn level_zh(l: &str) -> &str {
    kc_domain::level_zh(l)
}

pub(crate) fn entry_zh(e: &str) -> &str {
    match e {
        "commitment" => "承诺",
        "payment" => "拨付",
        "reversal" => "冲销",
        other => other,
    }
}

pub(crate) fn kind_zh(k: &str) -> &str {
    match k {
        "fixed" => "定额",
        "cap" => "最高",
        "review" => "评审确定",
        other => other,
    }
}

pub(crate) fn role_zh(r: Role) -> &'static str {
    match r {
        Role::Applicant => "申报主体",
        Role::Reviewer => "审核员",
        Role::Finance => "财务",
        Role::Admin => "管理员",
        Role::PlanOffice => "督查考核",
        Role::PolicyAuthor => "政策编辑",
        Role::System => "系统",
    }
}

/// A document's number and title, once when they are the same (documents without a number).
pub(crate) fn doc_name(d: &kc_check::Document) -> Markup {
    // The document's own name: Chinese in either language, marked so for screen readers.
    let text = if d.number == d.title {
        d.number.clone()
    } else {
        format!("{} {}", d.number, d.title)
    };
    html! { span lang="zh-CN" { (text) } }
}

/// A time of the audit log as people read it, in China Standard Time: `2026-11-30 14:05`.
pub(crate) fn readable_time(at: &str) -> String {
    at.parse::<jiff::Timestamp>()
        .map(|t| {
            t.to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| at.to_string())
}

pub(crate) fn status_class(t: Tri) -> &'static str {
    match t {
        Tri::Met => "ok",
        Tri::NotMet => "no",
        Tri::Unknown => "unk",
    }
}

/// An application's state in words. A declined 免申即享 offer is stored as `withdrawn` (the
/// workflow's `decline_offer` step), but the applicant did not withdraw anything: it gave the
/// offer up, so the page says 已放弃.
pub(crate) fn state_label(a: &kc_store::ApplicationView) -> (&'static str, &'static str) {
    if a.origin == "offer" && a.state == St::Withdrawn {
        ("已放弃", "declined")
    } else {
        (a.state.zh(), a.state.code())
    }
}

/// An application's state in the page's language (a consistent badge text).
pub(crate) fn state_words(lang: Lang, a: &kc_store::ApplicationView) -> &'static str {
    let (zh, code) = state_label(a);
    if lang.0 { code_en(code) } else { zh }
}

pub(crate) fn code_en(code: &'static str) -> &'static str {
    match code {
        "draft" => "draft",
        "submitted" => "submitted",
        "in_review" => "in review",
        "needs_material" => "material requested",
        "approved" => "approved",
        "public_notice" => "public notice",
        "objected" => "objected",
        "rejected" => "rejected",
        "withdrawn" => "withdrawn",
        "disbursed" => "paid",
        "offered" => "offered",
        "recommended" => "recommended, awaiting the next level",
        "declined" => "declined",
        other => other,
    }
}

/// An enum member stored by name, in the page's language.
pub(crate) fn member_in(st: &AppState, lang: Lang, enum_name: &str, member: &str) -> String {
    let v = &st.lib.vocab;
    v.enum_by_name(enum_name)
        .and_then(|e| {
            v.enums[e].member(member).map(|m| {
                kc_eval::plain::label(&v.enums[e].members[m as usize].label, lang.0).to_string()
            })
        })
        .unwrap_or_else(|| member.to_string())
}

/// The words of a notification's step (`create` of an offer is a new 免申即享 offer).
/// A notification's step in English, as [`step_zh`] says it in Chinese.
/// Where an application came from: applied for, offered (免申即享), or prepared by the S&T
/// market from a registered contract or a redeemed voucher.
pub(crate) fn origin_in(lang: Lang, origin: &str) -> &'static str {
    match origin {
        "offer" => lang.t("免申即享", "offer"),
        "market" => lang.t(
            "科技大市场(合同登记或创新券兑付后生成)",
            "S&T market (prepared from a registered contract or a redeemed voucher)",
        ),
        _ => lang.t("申报", "application"),
    }
}

pub(crate) fn step_en(action: &str, origin: &str) -> String {
    match action {
        "create" if origin == "offer" => "new offer to confirm".to_string(),
        "create" if origin == "market" => "application prepared by the S&T market".to_string(),
        "create" => "application created".to_string(),
        "pay" => "payment recorded".to_string(),
        other => crate::labels::action_words(other, true),
    }
}

pub(crate) fn step_zh(action: &str, origin: &str) -> String {
    match action {
        "create" if origin == "offer" => "新的免申即享待确认".to_string(),
        "create" if origin == "market" => "科技大市场为您生成的申请草稿".to_string(),
        "create" => "创建申请".to_string(),
        "pay" => "记录拨付".to_string(),
        other => crate::api::parse_action(other)
            .map(|a| a.zh().to_string())
            .unwrap_or_else(|_| other.to_string()),
    }
}

/// A document's id in the API: its file name without `.md` (e.g. `shenyang-2021-11`).
pub(crate) fn doc_id(d: &kc_check::Document) -> String {
    std::path::Path::new(&d.path)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(&d.path)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wan_is_exact_to_the_fen() {
        let m = |s: &str| Money::parse_amount(s).unwrap();
        assert_eq!(yuan_wan(m("1267200")), "1,267,200.00 元(126.72万元)");
        assert_eq!(yuan_wan(m("5000000")), "5,000,000.00 元(500万元)");
        assert_eq!(yuan_wan(m("100000.01")), "100,000.01 元(10.000001万元)");
        assert_eq!(yuan_wan(m("99999.99")), "99,999.99 元");
        assert_eq!(yuan_wan(m("0")), "0.00 元");
    }
}

//! The administration domain, pure: validated identifiers (统一社会信用代码), the application
//! workflow as a state machine with the role allowed to take each step, ledger entry kinds,
//! and money in fen for storage.
//!
//! The key decision: every rule about *which* step may follow which, and *who* may take it,
//! lives here as data and total functions, so the store and the web layer cannot disagree
//! about the workflow, and an illegal transition is refused with the same words everywhere.
//! No IO, no clock, no database.

use kc_money::Money;
use std::fmt;
use std::str::FromStr;

/// A 统一社会信用代码 (unified social credit code, GB 32100-2015): 18 characters of the code's
/// alphabet with the right check character. Only `parse` makes one. (The organisation code
/// inside it carries a GB 11714 check too; codes issued before 2015 were mapped from older
/// registers, so the final check is the one the standard makes authoritative.)
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uscc(String);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsccError {
    Length(usize),
    Character(char, usize),
    Check { expected: char, found: char },
}

impl fmt::Display for UsccError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsccError::Length(n) => write!(
                f,
                "统一社会信用代码应为18位,实为{n}位 (a USCC has 18 characters, found {n})"
            ),
            UsccError::Character(c, i) => write!(
                f,
                "第{}位字符“{c}”不允许 (character {} “{c}” is not allowed)",
                i + 1,
                i + 1
            ),
            UsccError::Check { expected, found } => {
                write!(
                    f,
                    "校验码应为{expected},实为{found} (check character should be {expected}, found {found})"
                )
            }
        }
    }
}

impl std::error::Error for UsccError {}

const USCC_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

impl Uscc {
    pub fn parse(text: &str) -> Result<Uscc, UsccError> {
        let t = text.trim().to_ascii_uppercase();
        let chars: Vec<char> = t.chars().collect();
        if chars.len() != 18 {
            return Err(UsccError::Length(chars.len()));
        }
        for (i, c) in chars.iter().enumerate() {
            if !USCC_CHARS.contains(*c) {
                return Err(UsccError::Character(*c, i));
            }
        }
        let sum: u32 = chars[..17]
            .iter()
            .zip(USCC_WEIGHTS)
            .map(|(c, w)| USCC_CHARS.find(*c).unwrap_or(0) as u32 * w)
            .sum();
        let expected = USCC_CHARS
            .chars()
            .nth(((31 - sum % 31) % 31) as usize)
            .unwrap_or('0');
        if chars[17] != expected {
            return Err(UsccError::Check {
                expected,
                found: chars[17],
            });
        }
        Ok(Uscc(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Completes 17 characters with their check character (for generated test and demo data).
    pub fn complete(first17: &str) -> Option<Uscc> {
        let chars: Vec<char> = first17.chars().collect();
        if chars.len() != 17 || !chars.iter().all(|c| USCC_CHARS.contains(*c)) {
            return None;
        }
        let sum: u32 = chars
            .iter()
            .zip(USCC_WEIGHTS)
            .map(|(c, w)| USCC_CHARS.find(*c).unwrap_or(0) as u32 * w)
            .sum();
        let check = USCC_CHARS.chars().nth(((31 - sum % 31) % 31) as usize)?;
        Uscc::parse(&format!("{first17}{check}")).ok()
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Uscc {
    type Err = UsccError;
    fn from_str(s: &str) -> Result<Uscc, UsccError> {
        Uscc::parse(s)
    }
}

/// Who acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// An enterprise, university, institute… acting for its own organisation only.
    Applicant,
    /// S&T bureau staff who review and approve.
    Reviewer,
    /// Finance staff who record payments.
    Finance,
    Admin,
    /// The 督查考核 plan office: records indicator values and task milestones.
    PlanOffice,
    /// 政策编辑: drafts new library versions in the 政策管理 workspace (issue 14). Publishing
    /// needs a second person with `ApprovePolicy`.
    PolicyAuthor,
    /// The system itself (免申即享 offers, notice periods ending).
    System,
}

/// What a role may read or change outside the workflow steps (which `transition` rules):
/// one table, asked by the store and the platform alike, so a page and the API cannot
/// disagree. `docs/roles.md` writes it out; the server's access test checks every endpoint
/// against it. Each role sees what its work needs (issue 9, defect 5): the plan office works
/// on plans and targets, so it sees no applicant's file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// One applicant's file (一企一档): profile, events, applications, ledger, notifications.
    /// An applicant sees only its own organisation's.
    ApplicantFile,
    /// Every applicant and application: the applicant list, the review queue.
    AllApplicants,
    /// Budgets with committed and paid amounts.
    Budgets,
    /// Set a budget.
    SetBudget,
    /// The audit log.
    Audit,
    /// Record indicator values and milestones of the plans.
    RecordPlans,
    /// Import applicants and events from spreadsheets.
    Import,
    /// The plans' dashboard and task lists: the bureaus' internal follow-up (督查考核), for
    /// staff, not the public (issue 10, item 8).
    Plans,
    /// Hand in an application's materials: upload files (申报书, 承诺书, 佐证材料, 补正),
    /// answer a 补正 item, give the bank account, accept the 承诺书. Only the applicant, for
    /// its own organisation (the caller checks which); staff read them (`ApplicantFile`).
    HandInMaterials,
    /// Record a payment (拨付) of a level's part, after the 公示 period.
    RecordPayments,
    /// The 测算 workspace: cost simulations of the library over the stored applicants, with
    /// reforms of its parameters (finance, the plan office as leadership's staff, admins). Totals
    /// by measure, year and level; the applicants whose totals a reform changes are named only
    /// to roles that see every applicant (`AllApplicants`).
    Simulate,
    /// Draft a library version in the 政策管理 workspace: edit documents and scenarios, check,
    /// run, cost, submit for approval (政策编辑, admins).
    DraftPolicy,
    /// Approve and publish a submitted draft — never one's own (four eyes; admins).
    ApprovePolicy,
}

impl Role {
    /// Whether this role may have `access` (an applicant: to its own organisation only; the
    /// caller checks which organisation).
    pub fn may(self, access: Access) -> bool {
        use Role::*;
        match access {
            Access::ApplicantFile => {
                matches!(self, Applicant | Reviewer | Finance | Admin | System)
            }
            Access::AllApplicants | Access::Budgets => {
                matches!(self, Reviewer | Finance | Admin | System)
            }
            Access::SetBudget => matches!(self, Finance | Admin | System),
            Access::Audit | Access::Import => matches!(self, Admin | System),
            Access::Plans => matches!(self, Reviewer | Finance | Admin | PlanOffice | System),
            Access::RecordPlans => matches!(self, PlanOffice | Admin | System),
            Access::HandInMaterials => matches!(self, Applicant | System),
            // The system makes offers and ends notice periods; it never pays.
            Access::RecordPayments => matches!(self, Finance | Admin),
            Access::Simulate => {
                matches!(self, Finance | Admin | PlanOffice | PolicyAuthor | System)
            }
            Access::DraftPolicy => matches!(self, PolicyAuthor | Admin),
            Access::ApprovePolicy => matches!(self, Admin),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Role::Applicant => "applicant",
            Role::Reviewer => "reviewer",
            Role::Finance => "finance",
            Role::Admin => "admin",
            Role::PlanOffice => "plan_office",
            Role::PolicyAuthor => "policy_author",
            Role::System => "system",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "applicant" => Role::Applicant,
            "reviewer" => Role::Reviewer,
            "finance" => Role::Finance,
            "admin" => Role::Admin,
            "plan_office" => Role::PlanOffice,
            "policy_author" => Role::PolicyAuthor,
            "system" => Role::System,
            _ => return None,
        })
    }
}

/// Where an application stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppState {
    Draft,
    Submitted,
    InReview,
    /// Missing material listed at once (一次性告知); the applicant completes and resubmits.
    NeedsMaterial,
    Approved,
    /// 公示: listed publicly for a period; an objection sends it back to review.
    PublicNotice,
    Disbursed,
    Rejected,
    Withdrawn,
    /// 免申即享: created by the system from an imported event, awaiting the applicant's 意愿确认.
    Offered,
    /// A lower level recommended it (区县初审推荐); the next level that pays reviews it next.
    Recommended,
}

impl AppState {
    pub const ALL: [AppState; 11] = [
        AppState::Draft,
        AppState::Submitted,
        AppState::InReview,
        AppState::NeedsMaterial,
        AppState::Approved,
        AppState::PublicNotice,
        AppState::Disbursed,
        AppState::Rejected,
        AppState::Withdrawn,
        AppState::Offered,
        AppState::Recommended,
    ];
    pub fn code(self) -> &'static str {
        match self {
            AppState::Draft => "draft",
            AppState::Submitted => "submitted",
            AppState::InReview => "in_review",
            AppState::NeedsMaterial => "needs_material",
            AppState::Approved => "approved",
            AppState::PublicNotice => "public_notice",
            AppState::Disbursed => "disbursed",
            AppState::Rejected => "rejected",
            AppState::Withdrawn => "withdrawn",
            AppState::Offered => "offered",
            AppState::Recommended => "recommended",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            AppState::Draft => "草稿",
            AppState::Submitted => "已提交",
            AppState::InReview => "审核中",
            AppState::NeedsMaterial => "待补正材料",
            AppState::Approved => "已批准",
            AppState::PublicNotice => "公示中",
            AppState::Disbursed => "已拨付",
            AppState::Rejected => "未通过",
            AppState::Withdrawn => "已撤回",
            AppState::Offered => "免申即享待确认",
            AppState::Recommended => "已推荐待复审",
        }
    }
    pub fn parse(s: &str) -> Option<AppState> {
        AppState::ALL.into_iter().find(|a| a.code() == s)
    }
    /// True while the applicant's money is committed in the ledger.
    pub fn holds_commitment(self) -> bool {
        matches!(
            self,
            AppState::Approved | AppState::PublicNotice | AppState::Disbursed
        )
    }
    pub fn is_final(self) -> bool {
        matches!(
            self,
            AppState::Disbursed | AppState::Rejected | AppState::Withdrawn
        )
    }
}

/// A step in the workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Submit,
    StartReview,
    RequestMaterial,
    Approve,
    Reject,
    Withdraw,
    PublishNotice,
    /// An objection during 公示: back to review, the commitment reversed.
    Object,
    /// The last payment of the committed amount.
    Disburse,
    /// 意愿确认 of a 免申即享 offer: straight to notice, no review.
    ConfirmOffer,
    DeclineOffer,
    /// A lower level's review passed (初审推荐): the application goes on to the next level
    /// that pays, which approves (`Approve` is the last level's step).
    Recommend,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::StartReview => "start_review",
            Action::RequestMaterial => "request_material",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Withdraw => "withdraw",
            Action::PublishNotice => "publish_notice",
            Action::Object => "object",
            Action::Disburse => "disburse",
            Action::ConfirmOffer => "confirm_offer",
            Action::DeclineOffer => "decline_offer",
            Action::Recommend => "recommend",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Action::Submit => "提交",
            Action::StartReview => "开始审核",
            Action::RequestMaterial => "一次性告知补正材料",
            Action::Approve => "批准",
            Action::Reject => "不予通过",
            Action::Withdraw => "撤回",
            Action::PublishNotice => "公示",
            Action::Object => "公示异议",
            Action::Disburse => "拨付",
            Action::ConfirmOffer => "意愿确认",
            Action::DeclineOffer => "放弃",
            Action::Recommend => "初审推荐",
        }
    }
}

/// Why a step was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransitionError {
    Illegal { from: AppState, action: Action },
    Forbidden { role: Role, action: Action },
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransitionError::Illegal { from, action } => write!(
                f,
                "申请处于“{}”状态,不能“{}” (an application in state {} cannot {})",
                from.zh(),
                action.zh(),
                from.code(),
                action.code()
            ),
            TransitionError::Forbidden { role, action } => {
                write!(
                    f,
                    "角色 {} 无权“{}” (role {} may not {})",
                    role.code(),
                    action.zh(),
                    role.code(),
                    action.code()
                )
            }
        }
    }
}

impl std::error::Error for TransitionError {}

/// The roles that may take an action. Admins may do what reviewers and finance do, not what
/// applicants do (an admin does not apply on an enterprise's behalf).
pub fn allowed_roles(action: Action) -> &'static [Role] {
    use Role::*;
    match action {
        Action::Submit | Action::Withdraw | Action::ConfirmOffer | Action::DeclineOffer => {
            &[Applicant]
        }
        Action::StartReview
        | Action::RequestMaterial
        | Action::Approve
        | Action::Recommend
        | Action::Reject
        | Action::PublishNotice => &[Reviewer, Admin],
        Action::Object => &[Reviewer, Admin],
        Action::Disburse => &[Finance, Admin],
    }
}

/// The state after `action`, or why it is refused. Total: every pair has an answer.
pub fn transition(from: AppState, action: Action, role: Role) -> Result<AppState, TransitionError> {
    if role != Role::System && !allowed_roles(action).contains(&role) {
        return Err(TransitionError::Forbidden { role, action });
    }
    use AppState::*;
    let to = match (from, action) {
        (Draft, Action::Submit) | (NeedsMaterial, Action::Submit) => Submitted,
        (Submitted, Action::StartReview) => InReview,
        (InReview, Action::RequestMaterial) => NeedsMaterial,
        (InReview, Action::Approve) => Approved,
        (InReview, Action::Recommend) => Recommended,
        (Recommended, Action::StartReview) => InReview,
        (Submitted | InReview | Recommended, Action::Reject) => Rejected,
        (Draft | Submitted | InReview | NeedsMaterial | Recommended, Action::Withdraw) => Withdrawn,
        (Approved, Action::PublishNotice) => PublicNotice,
        (PublicNotice, Action::Object) => InReview,
        (PublicNotice, Action::Disburse) => Disbursed,
        (Offered, Action::ConfirmOffer) => PublicNotice,
        (Offered, Action::DeclineOffer) => Withdrawn,
        _ => return Err(TransitionError::Illegal { from, action }),
    };
    Ok(to)
}

/// Kinds of ledger rows. The ledger is append-only: a mistake is corrected by a reversal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// Money committed to an applicant at approval, per government level.
    Commitment,
    /// Money paid out, per level; never more than committed.
    Payment,
    /// A negative commitment: today written when an objection during 公示 sends an approved
    /// application back to review.
    Reversal,
}

impl EntryKind {
    pub fn code(self) -> &'static str {
        match self {
            EntryKind::Commitment => "commitment",
            EntryKind::Payment => "payment",
            EntryKind::Reversal => "reversal",
        }
    }
    pub fn parse(s: &str) -> Option<EntryKind> {
        Some(match s {
            "commitment" => EntryKind::Commitment,
            "payment" => EntryKind::Payment,
            "reversal" => EntryKind::Reversal,
            _ => return None,
        })
    }
}

/// Money as integer fen for storage: exact, and the same column type in SQLite and PostgreSQL.
/// `None` if the amount is not a whole number of fen or beyond [`Money::MAX`]; never panics
/// (the multiplication is checked, so even a decimal at its own limit gives `None`).
pub fn to_fen(m: Money) -> Option<i64> {
    if !m.is_whole_fen() || m.check_range("").is_err() {
        return None;
    }
    let d = m.decimal().checked_mul(kc_money::Dec::ONE_HUNDRED)?;
    i64::try_from(d.normalize()).ok()
}

/// A government level's Chinese name for its stored keyword (`city` → 市级); the keyword itself
/// when it is not one of the levels.
/// The tier of a jurisdiction (行政层级): the levels of government that review and pay.
/// A jurisdiction's tier is its depth in the region vocabulary (province → city → district or
/// county); a split's `province`, `city` and `district` levels are paid by the applicant's
/// jurisdiction of that tier. `central` and `institution` are paid by no jurisdiction the
/// platform administers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Province,
    City,
    District,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Province, Tier::City, Tier::District];
    /// The tier paying a split level (`city` → City), if a jurisdiction pays it.
    pub fn of_level(level: &str) -> Option<Tier> {
        match level {
            "province" => Some(Tier::Province),
            "city" => Some(Tier::City),
            "district" => Some(Tier::District),
            _ => None,
        }
    }
    /// The split level this tier pays (`City` → `city`).
    pub fn level(self) -> &'static str {
        match self {
            Tier::Province => "province",
            Tier::City => "city",
            Tier::District => "district",
        }
    }
    /// The tier at this depth of the region tree (0 province, 1 city, 2 district).
    pub fn at_depth(depth: usize) -> Option<Tier> {
        Tier::ALL.get(depth).copied()
    }
    pub fn zh(self) -> &'static str {
        match self {
            Tier::Province => "省级",
            Tier::City => "市级",
            Tier::District => "区县级",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            Tier::Province => "province",
            Tier::City => "city",
            Tier::District => "district/county",
        }
    }
}

/// The order in which the levels that pay an application review it (configured by the bureau,
/// `kechuang serve --review-order`). The last level in the order approves; each one before
/// recommends (推荐).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReviewOrder {
    /// The lower level checks and recommends first (区县初审, 市级复审): the default.
    #[default]
    LowerFirst,
    /// The higher level first.
    HigherFirst,
}

impl ReviewOrder {
    pub fn parse(s: &str) -> Option<ReviewOrder> {
        match s {
            "lower-first" => Some(ReviewOrder::LowerFirst),
            "higher-first" => Some(ReviewOrder::HigherFirst),
            _ => None,
        }
    }
}

pub fn level_zh(level: &str) -> &str {
    match level {
        "central" => "中央",
        "province" => "省级",
        "city" => "市级",
        "district" => "区县级",
        "institution" => "单位",
        other => other,
    }
}

/// The default ceiling on an amount set by review (评审确定, 按要求给予配套, 根据实际情况确定)
/// when the clause names no range: 100,000,000.00 元 (1亿元), above the largest sum any clause
/// of the shipped library names (3000万元) with room for matching a national grant. Operators
/// change it with `--review-ceiling`; a clause's own range (1000–3000万元) always wins.
pub const DEFAULT_REVIEW_CEILING: Money = Money::from_fen_const(10_000_000_000);

pub fn from_fen(fen: i64) -> Money {
    Money::from_fen(fen)
}

/// The years the platform accepts for budgets, plan records and reports: the shipped documents
/// run from 2016, and nothing is planned beyond 2100. A year outside is a typo (`20223`), not
/// data.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// `Ok(year)` when it is in [`YEARS`]; otherwise the message that names the range.
pub fn check_year(year: i64) -> Result<i32, String> {
    match i32::try_from(year) {
        Ok(y) if YEARS.contains(&y) => Ok(y),
        _ => Err(format!(
            "年份 {year} 不在 {}–{} 之间 (year out of range)",
            YEARS.start(),
            YEARS.end()
        )),
    }
}

/// Budget use that deserves a warning: 70% and 90% committed.
pub fn budget_warning(committed_fen: i64, budget_fen: i64) -> Option<&'static str> {
    if budget_fen <= 0 {
        return None;
    }
    // Integer arithmetic: committed / budget ≥ 0.9 ⇔ 10 × committed ≥ 9 × budget.
    if committed_fen as i128 * 10 >= budget_fen as i128 * 9 {
        Some("预算已承诺90%以上 (over 90% of the budget committed)")
    } else if committed_fen as i128 * 10 >= budget_fen as i128 * 7 {
        Some("预算已承诺70%以上 (over 70% of the budget committed)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uscc_checks_its_check_character_and_alphabet() {
        assert!(Uscc::parse("91350100M000100Y43").is_ok());
        assert_eq!(
            Uscc::parse("91350100M000100Y44"),
            Err(UsccError::Check {
                expected: '3',
                found: '4'
            })
        );
        assert_eq!(Uscc::parse("9135"), Err(UsccError::Length(4)));
        assert_eq!(
            Uscc::complete("91350100M000100Y4").unwrap().as_str(),
            "91350100M000100Y43"
        );
        assert!(matches!(
            Uscc::parse("91350100M000100I43"),
            Err(UsccError::Character('I', 15))
        ));
        assert_eq!(
            Uscc::parse(" 91350100m000100y43 ").unwrap().as_str(),
            "91350100M000100Y43"
        );
    }

    #[test]
    fn where_levels_share_the_cost_a_lower_level_recommends_and_the_next_takes_it_up() {
        use AppState::*;
        assert_eq!(
            transition(InReview, Action::Recommend, Role::Reviewer),
            Ok(Recommended)
        );
        assert_eq!(
            transition(Recommended, Action::StartReview, Role::Reviewer),
            Ok(InReview)
        );
        assert_eq!(
            transition(Recommended, Action::Reject, Role::Reviewer),
            Ok(Rejected)
        );
        assert_eq!(
            transition(Recommended, Action::Withdraw, Role::Applicant),
            Ok(Withdrawn)
        );
        assert!(transition(Recommended, Action::Approve, Role::Reviewer).is_err());
        assert!(transition(Submitted, Action::Recommend, Role::Reviewer).is_err());
        assert!(transition(InReview, Action::Recommend, Role::Finance).is_err());
        assert!(!Recommended.holds_commitment() && !Recommended.is_final());
        assert_eq!(Tier::of_level("district"), Some(Tier::District));
        assert_eq!(Tier::of_level("central"), None);
        assert_eq!(Tier::at_depth(1).map(Tier::level), Some("city"));
        assert_eq!(
            ReviewOrder::parse("higher-first"),
            Some(ReviewOrder::HigherFirst)
        );
        assert_eq!(ReviewOrder::parse("lower"), None);
    }

    #[test]
    fn the_happy_paths_of_the_workflow() {
        use AppState::*;
        let mut s = Draft;
        for (a, r) in [
            (Action::Submit, Role::Applicant),
            (Action::StartReview, Role::Reviewer),
            (Action::RequestMaterial, Role::Reviewer),
            (Action::Submit, Role::Applicant),
            (Action::StartReview, Role::Reviewer),
            (Action::Approve, Role::Reviewer),
            (Action::PublishNotice, Role::Reviewer),
            (Action::Object, Role::Reviewer),
            (Action::Approve, Role::Reviewer),
            (Action::PublishNotice, Role::Reviewer),
            (Action::Disburse, Role::Finance),
        ] {
            s = transition(s, a, r).unwrap();
        }
        assert_eq!(s, Disbursed);
        assert_eq!(
            transition(Offered, Action::ConfirmOffer, Role::Applicant),
            Ok(PublicNotice)
        );
    }

    #[test]
    fn illegal_and_forbidden_steps_are_refused_with_words() {
        let e = transition(AppState::Draft, Action::Approve, Role::Reviewer).unwrap_err();
        assert_eq!(
            e,
            TransitionError::Illegal {
                from: AppState::Draft,
                action: Action::Approve
            }
        );
        assert!(e.to_string().contains("草稿"));
        let e = transition(AppState::InReview, Action::Approve, Role::Applicant).unwrap_err();
        assert_eq!(
            e,
            TransitionError::Forbidden {
                role: Role::Applicant,
                action: Action::Approve
            }
        );
        assert!(transition(AppState::Disbursed, Action::Withdraw, Role::Applicant).is_err());
        assert!(transition(AppState::InReview, Action::Disburse, Role::Finance).is_err());
        assert!(transition(AppState::PublicNotice, Action::Disburse, Role::Reviewer).is_err());
        // Every final state refuses every action.
        for s in AppState::ALL.into_iter().filter(|s| s.is_final()) {
            for a in [
                Action::Submit,
                Action::Approve,
                Action::Withdraw,
                Action::Disburse,
                Action::Object,
            ] {
                assert!(
                    transition(s, a, Role::Admin).is_err()
                        && transition(s, a, Role::Applicant).is_err()
                );
            }
        }
    }

    #[test]
    fn fen_round_trip_and_budget_warnings() {
        let m = Money::parse_amount("1234567.89").unwrap();
        assert_eq!(to_fen(m), Some(123_456_789));
        assert_eq!(from_fen(123_456_789), m);
        assert_eq!(
            to_fen(
                Money::parse_amount("1")
                    .unwrap()
                    .scale_by(kc_money::Rate::parse("0.1%").unwrap())
            ),
            None
        );
        // Issue 9, defect 2: this multiplied unchecked and panicked.
        let huge = Money::from_decimal(kc_money::Dec::MAX);
        assert_eq!(to_fen(huge), None);
        assert_eq!(to_fen(Money::MAX), Some(100_000_000_000_000));
        assert_eq!(
            to_fen(Money::MAX + Money::parse_amount("0.01").unwrap()),
            None
        );
        assert_eq!(budget_warning(69, 100), None);
        assert!(budget_warning(70, 100).unwrap().contains("70%"));
        assert!(budget_warning(90, 100).unwrap().contains("90%"));
    }
}

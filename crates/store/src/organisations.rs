//! Organisations with several users, staff invitations, one-time links and unified login in
//! flight (issue 11, items 3 and 4).
//!
//! The key decisions: a user belongs to organisations through `memberships` and acts for one
//! at a time, the one its session records (`sessions.acting_for`); the session yields that
//! organisation as `Actor::applicant` only while the membership exists, so removing a user
//! stops every session of theirs from acting for the organisation at once, on every server
//! process. Only the organisation's administrator (a flag per membership) invites and removes
//! its users, checked here, not only in pages. Invitations and password resets are one-time
//! links: the server makes a random token, the store keeps only its SHA-256, a link expires
//! (72 h for an invitation, 24 h for a reset) and is marked used in the same statement that
//! checks it, so two uses racing cannot both pass. Every step is audited.

use crate::{Actor, Result, Store, StoreError};
use kc_domain::Role;
use serde_json::json;
use sqlx::Row;

/// How long an invitation link lives.
pub const INVITE_HOURS: i64 = 72;
/// How long a password-reset link lives.
pub const RESET_HOURS: i64 = 24;

/// A user of an organisation as its administrator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user_id: String,
    pub name: String,
    pub is_admin: bool,
    pub status: MemberStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberStatus {
    /// Has a password and acts for the organisation.
    Active,
    /// Invited as a new account: has not set a password yet.
    AwaitingPassword,
    /// An existing account invited: has not accepted yet (not a member until then).
    AwaitingAcceptance,
}

impl MemberStatus {
    pub fn code(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::AwaitingPassword => "awaiting_password",
            MemberStatus::AwaitingAcceptance => "awaiting_acceptance",
        }
    }
}

/// One organisation a user belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub applicant_id: String,
    pub applicant_name: String,
    pub is_admin: bool,
}

/// A staff account as a staff administrator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffRow {
    pub user_id: String,
    pub name: String,
    pub role: Role,
    pub staff_id: Option<String>,
    pub is_admin: bool,
    pub has_password: bool,
    /// The jurisdiction the account works in (`None`: the whole platform).
    pub jurisdiction: Option<String>,
}

/// What a one-time link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    Invite,
    Reset,
}

impl LinkPurpose {
    pub fn code(self) -> &'static str {
        match self {
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
        }
    }
}

/// A live one-time link: whom it is for and what opening it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub purpose: LinkPurpose,
    pub user_id: String,
    pub user_name: String,
    /// The organisation of an invitation.
    pub applicant_id: Option<String>,
    pub applicant_name: Option<String>,
    /// The account has no password yet: the link page sets one. Otherwise (an existing
    /// account invited to a further organisation) the user accepts while logged in.
    pub sets_password: bool,
    pub expires_at: String,
}

/// A link just made: when it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedLink {
    pub purpose: LinkPurpose,
    pub user_id: String,
    pub expires_at: String,
}

fn refused(code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Refused {
        code,
        message: message.into(),
    }
}

fn forbidden(message: &str) -> StoreError {
    refused("forbidden", message)
}

fn token_hash(token: &str) -> String {
    crate::materials::sha256_hex(token.as_bytes())
}

/// An account name: 3 to 64 letters, digits or `. _ - @`, so it can be typed at login and
/// shown anywhere without escaping surprises.
pub fn check_user_id(id: &str) -> Result<()> {
    let ok = (3..=64).contains(&id.chars().count())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "账号:“{id}”须为 3–64 个字母、数字或 . _ - @ (user: 3 to 64 letters, digits or . _ - @)"
        )))
    }
}

fn check_name(name: &str) -> Result<()> {
    let n = name.trim().chars().count();
    if (1..=100).contains(&n) {
        Ok(())
    } else {
        Err(StoreError::Invalid(
            "姓名:须填写,最多 100 个字 (name: required, at most 100 characters)".into(),
        ))
    }
}

impl Store {
    fn hours_from_now(&self, hours: i64) -> String {
        (self.clock)()
            .checked_add(jiff::SignedDuration::from_hours(hours))
            .map(|t| {
                crate::cst(t)
                    .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
                    .to_string()
            })
            .unwrap_or_default()
    }

    /// The organisations a user belongs to, by name.
    pub async fn memberships(&self, user_id: &str) -> Result<Vec<Membership>> {
        let rows = sqlx::query(
            "SELECT m.applicant_id, a.name, m.is_admin FROM memberships m \
             JOIN applicants a ON a.id = m.applicant_id WHERE m.user_id = $1 ORDER BY a.name, m.applicant_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Membership {
                applicant_id: r.get(0),
                applicant_name: r.get(1),
                is_admin: r.get::<i64, _>(2) != 0,
            })
            .collect())
    }

    /// Whether `actor` is acting for `org` and is its administrator: the one who may manage
    /// its users. Refuses otherwise, naming why.
    async fn require_org_admin(&self, actor: &Actor, org: &str) -> Result<()> {
        if actor.role != Role::Applicant || actor.applicant.as_deref() != Some(org) {
            return Err(forbidden(
                "只有正在代表本单位的单位管理员可以管理本单位用户 (only the organisation's administrator, acting for it, manages its users)",
            ));
        }
        let admin = sqlx::query(
            "SELECT is_admin FROM memberships WHERE user_id = $1 AND applicant_id = $2",
        )
        .bind(&actor.id)
        .bind(org)
        .fetch_optional(&self.pool)
        .await?
        .is_some_and(|r| r.get::<i64, _>(0) != 0);
        if admin {
            Ok(())
        } else {
            Err(forbidden(
                "只有单位管理员可以管理本单位用户 (only the organisation's administrator manages its users)",
            ))
        }
    }

    /// Whether the acting user administers the organisation it acts for (pages show the
    /// 单位用户管理 link by it).
    pub async fn is_org_admin(&self, actor: &Actor) -> Result<bool> {
        match &actor.applicant {
            Some(org) if actor.role == Role::Applicant => {
                Ok(self.require_org_admin(actor, org).await.is_ok())
            }
            _ => Ok(false),
        }
    }

    /// Whether the actor may invite staff accounts: the admin role, or a staff user with the
    /// administrator flag.
    pub async fn is_staff_admin(&self, actor: &Actor) -> Result<bool> {
        if actor.role == Role::Admin {
            return Ok(true);
        }
        if matches!(actor.role, Role::Applicant | Role::System) {
            return Ok(false);
        }
        Ok(
            sqlx::query("SELECT is_admin FROM staff_accounts WHERE user_id = $1")
                .bind(&actor.id)
                .fetch_optional(&self.pool)
                .await?
                .is_some_and(|r| r.get::<i64, _>(0) != 0),
        )
    }

    /// The users of `org` and the invitations still open (administrator only).
    pub async fn members(&self, actor: &Actor, org: &str) -> Result<Vec<Member>> {
        self.require_org_admin(actor, org).await?;
        let rows = sqlx::query(
            "SELECT u.id, u.name, m.is_admin, u.password_hash FROM memberships m \
             JOIN users u ON u.id = m.user_id WHERE m.applicant_id = $1 ORDER BY u.id",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<Member> = rows
            .iter()
            .map(|r| Member {
                user_id: r.get(0),
                name: r.get(1),
                is_admin: r.get::<i64, _>(2) != 0,
                status: if r.get::<Option<String>, _>(3).is_some() {
                    MemberStatus::Active
                } else {
                    MemberStatus::AwaitingPassword
                },
            })
            .collect();
        let pending = sqlx::query(
            "SELECT u.id, u.name, l.org_admin FROM one_time_links l JOIN users u ON u.id = l.user_id \
             WHERE l.purpose = 'invite' AND l.applicant_id = $1 AND l.used_at IS NULL AND l.expires_at >= $2 \
             AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = l.user_id AND m.applicant_id = l.applicant_id) \
             ORDER BY u.id",
        )
        .bind(org)
        .bind(self.now())
        .fetch_all(&self.pool)
        .await?;
        for r in &pending {
            out.push(Member {
                user_id: r.get(0),
                name: r.get(1),
                is_admin: r.get::<i64, _>(2) != 0,
                status: MemberStatus::AwaitingAcceptance,
            });
        }
        Ok(out)
    }

    /// Invites a user to `org` (its administrator only); audited. A new account name creates
    /// the account without a password and makes it a member at once: the link sets the
    /// password. An existing applicant account becomes a member only when it accepts the link
    /// while logged in, so no administrator can take another organisation's user. `token` is
    /// the link's secret, made by the caller; only its hash is stored.
    pub async fn invite_member(
        &self,
        actor: &Actor,
        org: &str,
        user_id: &str,
        name: &str,
        admin: bool,
        token: &str,
    ) -> Result<IssuedLink> {
        self.require_org_admin(actor, org).await?;
        let mut tx = self.pool.begin().await?;
        let existing = sqlx::query("SELECT role, password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        let member =
            sqlx::query("SELECT 1 FROM memberships WHERE user_id = $1 AND applicant_id = $2")
                .bind(user_id)
                .bind(org)
                .fetch_optional(&mut *tx)
                .await?;
        if member.is_some() {
            return Err(refused(
                "duplicate",
                format!(
                    "账号:{user_id} 已是本单位用户 (user {user_id} already belongs to this organisation)"
                ),
            ));
        }
        let new_account = match &existing {
            None => {
                // Only a new account's name is checked: existing ones predate the rule.
                check_user_id(user_id)?;
                check_name(name)?;
                sqlx::query("INSERT INTO users (id, name, role, applicant_id, password_hash, created_at) VALUES ($1, $2, $3, $4, NULL, $5)")
                    .bind(user_id)
                    .bind(name.trim())
                    .bind(Role::Applicant.code())
                    .bind(org)
                    .bind(self.now())
                    .execute(&mut *tx)
                    .await?;
                true
            }
            Some(r) => {
                let role: String = r.get(0);
                if role != Role::Applicant.code() {
                    return Err(refused(
                        "duplicate",
                        format!(
                            "账号:{user_id} 已被工作人员使用,请换一个账号名 (user {user_id} is a staff account; choose another name)"
                        ),
                    ));
                }
                if r.get::<Option<String>, _>(1).is_some() {
                    false
                } else {
                    // An account that never set a password is invited afresh only when no other
                    // organisation holds it: its link would otherwise hand that organisation's
                    // pending user to this one.
                    let elsewhere = sqlx::query(
                        "SELECT 1 FROM memberships WHERE user_id = $1 AND applicant_id <> $2",
                    )
                    .bind(user_id)
                    .bind(org)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if elsewhere.is_some() {
                        return Err(refused(
                            "duplicate",
                            format!(
                                "账号:{user_id} 已被其他单位使用,请换一个账号名 (user {user_id} belongs to another organisation; choose another name)"
                            ),
                        ));
                    }
                    true
                }
            }
        };
        if new_account {
            sqlx::query("INSERT INTO memberships (user_id, applicant_id, is_admin, added_by, added_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(user_id)
                .bind(org)
                .bind(i64::from(admin))
                .bind(format!("{}:{}", actor.role.code(), actor.id))
                .bind(self.now())
                .execute(&mut *tx)
                .await?;
        }
        // A newer invitation replaces an older one still open.
        sqlx::query("DELETE FROM one_time_links WHERE user_id = $1 AND purpose = 'invite' AND applicant_id = $2 AND used_at IS NULL")
            .bind(user_id)
            .bind(org)
            .execute(&mut *tx)
            .await?;
        let expires_at = self.hours_from_now(INVITE_HOURS);
        self.insert_link(
            &mut tx,
            actor,
            LinkPurpose::Invite,
            user_id,
            Some(org),
            admin,
            token,
            &expires_at,
        )
        .await?;
        let after = json!({"user": user_id, "admin": admin, "new_account": new_account, "expires_at": expires_at}).to_string();
        self.audit_in(
            &mut tx,
            actor,
            "invite_user",
            "organisation",
            org,
            None,
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedLink {
            purpose: LinkPurpose::Invite,
            user_id: user_id.to_string(),
            expires_at,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_link(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        actor: &Actor,
        purpose: LinkPurpose,
        user_id: &str,
        org: Option<&str>,
        org_admin: bool,
        token: &str,
        expires_at: &str,
    ) -> Result<()> {
        if token.len() < 32 {
            return Err(StoreError::Invalid(
                "one-time link token too short (at least 128 bits)".into(),
            ));
        }
        sqlx::query("INSERT INTO one_time_links (token_hash, purpose, user_id, applicant_id, org_admin, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(token_hash(token))
            .bind(purpose.code())
            .bind(user_id)
            .bind(org.map(str::to_string))
            .bind(i64::from(org_admin))
            .bind(format!("{}:{}", actor.role.code(), actor.id))
            .bind(self.now())
            .bind(expires_at)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Removes a user from `org` (its administrator only); audited. The user's sessions stop
    /// acting for `org` at once, and its open invitation links to `org` die. The last
    /// administrator cannot be removed: the organisation would have no one to manage it.
    pub async fn remove_member(&self, actor: &Actor, org: &str, user_id: &str) -> Result<()> {
        self.require_org_admin(actor, org).await?;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT is_admin FROM memberships WHERE user_id = $1 AND applicant_id = $2",
        )
        .bind(user_id)
        .bind(org)
        .fetch_optional(&mut *tx)
        .await?;
        let links = sqlx::query("DELETE FROM one_time_links WHERE user_id = $1 AND applicant_id = $2 AND used_at IS NULL")
            .bind(user_id)
            .bind(org)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let Some(row) = row else {
            if links > 0 {
                // An invitation not yet accepted: withdrawing it is the removal.
                let before = json!({"user": user_id, "invitation": true}).to_string();
                self.audit_in(
                    &mut tx,
                    actor,
                    "remove_user",
                    "organisation",
                    org,
                    Some(&before),
                    None,
                )
                .await?;
                tx.commit().await?;
                return Ok(());
            }
            return Err(StoreError::NotFound(format!(
                "本单位没有用户 {user_id} (no user {user_id} in this organisation)"
            )));
        };
        let was_admin = row.get::<i64, _>(0) != 0;
        if was_admin {
            let admins: i64 = sqlx::query(
                "SELECT COUNT(*) FROM memberships WHERE applicant_id = $1 AND is_admin = 1",
            )
            .bind(org)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
            if admins <= 1 {
                return Err(refused(
                    "last_admin",
                    "不能移除本单位唯一的管理员,请先邀请另一位管理员 (the organisation's only administrator cannot be removed; invite another first)",
                ));
            }
        }
        sqlx::query("DELETE FROM memberships WHERE user_id = $1 AND applicant_id = $2")
            .bind(user_id)
            .bind(org)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sessions SET acting_for = NULL WHERE user_id = $1 AND acting_for = $2")
            .bind(user_id)
            .bind(org)
            .execute(&mut *tx)
            .await?;
        let before = json!({"user": user_id, "admin": was_admin}).to_string();
        self.audit_in(
            &mut tx,
            actor,
            "remove_user",
            "organisation",
            org,
            Some(&before),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A password-reset link for `user_id`; audited. Who may make one: the organisation's
    /// administrator, for its users who belong to no other organisation (no administrator can
    /// take over an account another organisation relies on); the admin role, for any account
    /// but its own; a staff administrator, for staff accounts that are not admins.
    pub async fn reset_link(
        &self,
        actor: &Actor,
        user_id: &str,
        token: &str,
    ) -> Result<IssuedLink> {
        let target = self
            .user(user_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("用户 {user_id} (user {user_id})")))?;
        let allowed = match target.role {
            Role::Applicant => {
                if actor.role == Role::Admin {
                    true
                } else {
                    let Some(org) = actor.applicant.as_deref() else {
                        return Err(forbidden(
                            "只有单位管理员可以重置本单位用户的密码 (only the organisation's administrator resets its users' passwords)",
                        ));
                    };
                    self.require_org_admin(actor, org).await?;
                    let orgs = self.memberships(user_id).await?;
                    if !orgs.iter().any(|m| m.applicant_id == org) {
                        return Err(StoreError::NotFound(format!(
                            "本单位没有用户 {user_id} (no user {user_id} in this organisation)"
                        )));
                    }
                    if orgs.iter().any(|m| m.applicant_id != org) {
                        return Err(forbidden(
                            "该用户还属于其他单位,只能由本人或系统管理员重置密码 (this user also belongs to another organisation: only a system administrator may reset it)",
                        ));
                    }
                    true
                }
            }
            Role::Admin => {
                actor.role == Role::Admin
                    && actor.id != user_id
                    && self.staff_in_scope(actor, &target)
            }
            Role::System => false,
            _ => self.is_staff_admin(actor).await? && self.staff_in_scope(actor, &target),
        };
        if !allowed {
            return Err(forbidden(
                "无权为该账号生成重置链接 (you may not reset this account's password)",
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM one_time_links WHERE user_id = $1 AND purpose = 'reset' AND used_at IS NULL")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let expires_at = self.hours_from_now(RESET_HOURS);
        self.insert_link(
            &mut tx,
            actor,
            LinkPurpose::Reset,
            user_id,
            None,
            false,
            token,
            &expires_at,
        )
        .await?;
        let after = json!({"expires_at": expires_at}).to_string();
        self.audit_in(
            &mut tx,
            actor,
            "reset_link",
            "user",
            user_id,
            None,
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedLink {
            purpose: LinkPurpose::Reset,
            user_id: user_id.to_string(),
            expires_at,
        })
    }

    /// Invites a staff account (the admin role or a staff administrator); audited. The new
    /// account works in `jurisdiction`, which must lie in the inviter's own (a city's
    /// administrator invites a district's clerk), by default the inviter's; only the admin
    /// role makes admins.
    #[allow(clippy::too_many_arguments)]
    pub async fn invite_staff(
        &self,
        actor: &Actor,
        user_id: &str,
        name: &str,
        role: Role,
        admin: bool,
        staff_id: Option<&str>,
        jurisdiction: Option<&str>,
        token: &str,
    ) -> Result<IssuedLink> {
        if !self.is_staff_admin(actor).await? {
            return Err(forbidden(
                "只有管理员可以邀请工作人员 (only an administrator invites staff)",
            ));
        }
        if matches!(role, Role::Applicant | Role::System) {
            return Err(StoreError::Invalid(
                "角色:工作人员须为审核、财务、督查考核或管理员 (role: staff are reviewer, finance, plan office or admin)".into(),
            ));
        }
        if role == Role::Admin && actor.role != Role::Admin {
            return Err(forbidden(
                "只有系统管理员可以邀请管理员 (only the admin role invites admins)",
            ));
        }
        check_user_id(user_id)?;
        check_name(name)?;
        let staff_id = staff_id.map(str::trim).filter(|s| !s.is_empty());
        if let Some(sid) = staff_id {
            let taken = sqlx::query("SELECT user_id FROM staff_accounts WHERE staff_id = $1")
                .bind(sid)
                .fetch_optional(&self.pool)
                .await?;
            if taken.is_some() {
                return Err(refused(
                    "duplicate",
                    format!("工号:{sid} 已对应其他账号 (staff id {sid} is already mapped)"),
                ));
            }
        }
        let inviter = self.user(&actor.id).await?.and_then(|u| u.jurisdiction);
        let jurisdiction = match (
            jurisdiction.map(str::trim).filter(|j| !j.is_empty()),
            inviter,
        ) {
            (None, own) => own,
            (Some(j), own) => {
                self.check_jurisdiction(j)?;
                if let Some(own) = &own
                    && !self.jurisdictions().contains(own, j)
                {
                    return Err(forbidden(&format!(
                        "{}不在{}辖区内,不能为其邀请工作人员 (outside your jurisdiction)",
                        self.jurisdictions().zh(j),
                        self.jurisdictions().zh(own)
                    )));
                }
                Some(j.to_string())
            }
        };
        let user = crate::User {
            id: user_id.to_string(),
            name: name.trim().to_string(),
            role,
            applicant_id: None,
            password_hash: None,
            jurisdiction,
        };
        self.create_user(actor, &user).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO staff_accounts (user_id, staff_id, is_admin) VALUES ($1, $2, $3)")
            .bind(user_id)
            .bind(staff_id.map(str::to_string))
            .bind(i64::from(admin))
            .execute(&mut *tx)
            .await?;
        let expires_at = self.hours_from_now(INVITE_HOURS);
        self.insert_link(
            &mut tx,
            actor,
            LinkPurpose::Invite,
            user_id,
            None,
            false,
            token,
            &expires_at,
        )
        .await?;
        let after = json!({"user": user_id, "role": role.code(), "admin": admin, "staff_id": staff_id, "expires_at": expires_at}).to_string();
        self.audit_in(
            &mut tx,
            actor,
            "invite_user",
            "user",
            user_id,
            None,
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedLink {
            purpose: LinkPurpose::Invite,
            user_id: user_id.to_string(),
            expires_at,
        })
    }

    /// Maps a staff account to its id in the identity service (admin role); audited.
    pub async fn set_staff_id(&self, actor: &Actor, user_id: &str, staff_id: &str) -> Result<()> {
        if actor.role != Role::Admin && actor.role != Role::System {
            return Err(forbidden(
                "只有系统管理员可以设置工号 (only the admin role maps staff ids)",
            ));
        }
        let user = self
            .user(user_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("用户 {user_id} (user {user_id})")))?;
        if user.role == Role::Applicant {
            return Err(StoreError::Invalid(format!(
                "账号:{user_id} 不是工作人员账号 (user {user_id} is not a staff account)"
            )));
        }
        let mut tx = self.pool.begin().await?;
        let taken =
            sqlx::query("SELECT user_id FROM staff_accounts WHERE staff_id = $1 AND user_id <> $2")
                .bind(staff_id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(refused(
                "duplicate",
                format!("工号:{staff_id} 已对应其他账号 (staff id {staff_id} is already mapped)"),
            ));
        }
        let n = sqlx::query("UPDATE staff_accounts SET staff_id = $1 WHERE user_id = $2")
            .bind(staff_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            sqlx::query(
                "INSERT INTO staff_accounts (user_id, staff_id, is_admin) VALUES ($1, $2, 0)",
            )
            .bind(user_id)
            .bind(staff_id)
            .execute(&mut *tx)
            .await?;
        }
        let after = json!({"staff_id": staff_id}).to_string();
        self.audit_in(
            &mut tx,
            actor,
            "set_staff_id",
            "user",
            user_id,
            None,
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether a staff account works inside the actor's jurisdiction (everything for the
    /// whole platform's staff): a jurisdiction's administrators manage only their own staff.
    fn staff_in_scope(&self, actor: &Actor, target: &crate::User) -> bool {
        self.works_in_scope(actor, target.jurisdiction.as_deref())
    }

    /// Whether an account working in `jurisdiction` (`None`: the whole platform) lies in the
    /// actor's scope.
    fn works_in_scope(&self, actor: &Actor, jurisdiction: Option<&str>) -> bool {
        match (&actor.jurisdiction, jurisdiction) {
            (None, _) => true,
            (Some(own), Some(j)) => self.jurisdictions().contains(own, j),
            (Some(_), None) => false,
        }
    }

    /// Staff accounts, for a staff administrator: those of the jurisdictions in its own.
    pub async fn staff_users(&self, actor: &Actor) -> Result<Vec<StaffRow>> {
        if !self.is_staff_admin(actor).await? {
            return Err(forbidden(
                "只有管理员可以管理工作人员账号 (only an administrator manages staff accounts)",
            ));
        }
        let rows = sqlx::query(
            "SELECT u.id, u.name, u.role, s.staff_id, COALESCE(s.is_admin, 0), u.password_hash, u.jurisdiction FROM users u \
             LEFT JOIN staff_accounts s ON s.user_id = u.id WHERE u.role <> 'applicant' AND u.role <> 'system' ORDER BY u.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .filter(|r| self.works_in_scope(actor, r.get::<Option<String>, _>(6).as_deref()))
            .map(|r| {
                let role: String = r.get(2);
                Ok(StaffRow {
                    user_id: r.get(0),
                    name: r.get(1),
                    role: Role::parse(&role)
                        .ok_or_else(|| StoreError::Invalid(format!("stored role “{role}”")))?,
                    staff_id: r.get(3),
                    is_admin: r.get::<i64, _>(4) != 0,
                    has_password: r.get::<Option<String>, _>(5).is_some(),
                    jurisdiction: r.get(6),
                })
            })
            .collect()
    }

    /// A live link: unused and unexpired. Anything else is one refusal that does not say
    /// which, so a guessed token learns nothing.
    pub async fn link(&self, token: &str) -> Result<LinkInfo> {
        let r = sqlx::query(
            "SELECT l.purpose, l.user_id, u.name, l.applicant_id, a.name, u.password_hash, l.expires_at \
             FROM one_time_links l JOIN users u ON u.id = l.user_id LEFT JOIN applicants a ON a.id = l.applicant_id \
             WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at >= $2",
        )
        .bind(token_hash(token))
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(dead_link)?;
        let purpose: String = r.get(0);
        let purpose = if purpose == "reset" {
            LinkPurpose::Reset
        } else {
            LinkPurpose::Invite
        };
        Ok(LinkInfo {
            purpose,
            user_id: r.get(1),
            user_name: r.get(2),
            applicant_id: r.get(3),
            applicant_name: r.get(4),
            sets_password: purpose == LinkPurpose::Reset || r.get::<Option<String>, _>(5).is_none(),
            expires_at: r.get(6),
        })
    }

    /// Uses a link, once; audited. A reset or a new account's invitation sets the password
    /// (`password_hash`, made by the caller after its password policy) and ends every session
    /// of the account; an existing account's invitation needs that account logged in
    /// (`logged_in`) and makes it a member. The link is marked used by the statement that
    /// checks it is live, so of two racing uses one passes.
    pub async fn use_link(
        &self,
        token: &str,
        password_hash: Option<&str>,
        logged_in: Option<&str>,
    ) -> Result<LinkInfo> {
        let info = self.link(token).await?;
        if info.sets_password && password_hash.is_none() {
            return Err(StoreError::Invalid(
                "新密码:须填写 (new password: required)".into(),
            ));
        }
        if !info.sets_password && logged_in != Some(info.user_id.as_str()) {
            return Err(forbidden(&format!(
                "请先以账号 {0} 登录,再打开此邀请链接 (log in as {0} first, then open this invitation link)",
                info.user_id
            )));
        }
        let mut tx = self.pool.begin().await?;
        let now = self.now();
        let n = sqlx::query("UPDATE one_time_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at >= $1")
            .bind(&now)
            .bind(token_hash(token))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(dead_link());
        }
        let user = self.user(&info.user_id).await?;
        let actor = Actor {
            id: info.user_id.clone(),
            role: user.as_ref().map(|u| u.role).unwrap_or(Role::Applicant),
            applicant: info.applicant_id.clone(),
            jurisdiction: user.and_then(|u| u.jurisdiction),
        };
        if info.sets_password {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(password_hash.map(str::to_string))
                .bind(&info.user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(&info.user_id)
                .execute(&mut *tx)
                .await?;
        }
        if let (LinkPurpose::Invite, Some(org)) = (info.purpose, &info.applicant_id) {
            let admin: i64 =
                sqlx::query("SELECT org_admin FROM one_time_links WHERE token_hash = $1")
                    .bind(token_hash(token))
                    .fetch_one(&mut *tx)
                    .await?
                    .get(0);
            let member =
                sqlx::query("SELECT 1 FROM memberships WHERE user_id = $1 AND applicant_id = $2")
                    .bind(&info.user_id)
                    .bind(org)
                    .fetch_optional(&mut *tx)
                    .await?;
            if member.is_none() {
                sqlx::query("INSERT INTO memberships (user_id, applicant_id, is_admin, added_by, added_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&info.user_id)
                    .bind(org)
                    .bind(admin)
                    .bind(format!("invite:{}", info.user_id))
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
            }
            let after = json!({"user": info.user_id}).to_string();
            self.audit_in(
                &mut tx,
                &actor,
                "accept_invite",
                "organisation",
                org,
                None,
                Some(&after),
            )
            .await?;
        } else {
            let action = match info.purpose {
                LinkPurpose::Invite => "accept_invite",
                LinkPurpose::Reset => "reset_password",
            };
            self.audit_in(&mut tx, &actor, action, "user", &info.user_id, None, None)
                .await?;
        }
        tx.commit().await?;
        Ok(info)
    }

    /// Makes a session act for `org`, which the user must belong to.
    pub async fn switch_org(&self, session_id: &str, user_id: &str, org: &str) -> Result<()> {
        let member =
            sqlx::query("SELECT 1 FROM memberships WHERE user_id = $1 AND applicant_id = $2")
                .bind(user_id)
                .bind(org)
                .fetch_optional(&self.pool)
                .await?;
        if member.is_none() {
            return Err(forbidden(
                "您不是该单位的用户 (you do not belong to this organisation)",
            ));
        }
        sqlx::query("UPDATE sessions SET acting_for = $1 WHERE id = $2 AND user_id = $3")
            .bind(org)
            .bind(session_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Who did what for `org`: the audit entries its users made about the organisation, its
    /// record and its applications, newest first (administrator only).
    pub async fn org_audit(
        &self,
        actor: &Actor,
        org: &str,
        limit: i64,
    ) -> Result<Vec<serde_json::Value>> {
        self.require_org_admin(actor, org).await?;
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, entity, entity_id FROM audit WHERE actor LIKE 'applicant:%' AND (\
               (entity IN ('organisation', 'applicant') AND entity_id = $1) \
               OR (entity IN ('application', 'materials') AND entity_id IN (SELECT id FROM applications WHERE applicant_id = $1))) \
             ORDER BY seq DESC LIMIT $2",
        )
        .bind(org)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                json!({
                    "seq": r.get::<i64, _>(0), "at": r.get::<String, _>(1), "actor": r.get::<String, _>(2),
                    "action": r.get::<String, _>(3), "entity": r.get::<String, _>(4), "entity_id": r.get::<String, _>(5),
                })
            })
            .collect())
    }

    /// The staff account unified login maps a staff id to.
    pub async fn user_by_staff_id(&self, staff_id: &str) -> Result<Option<crate::User>> {
        let id = sqlx::query("SELECT user_id FROM staff_accounts WHERE staff_id = $1")
            .bind(staff_id)
            .fetch_optional(&self.pool)
            .await?;
        match id {
            Some(r) => self.user(&r.get::<String, _>(0)).await,
            None => Ok(None),
        }
    }

    /// The account unified login maps an organisation's 统一社会信用代码 to: its
    /// administrator (the first by account name) who can log in.
    pub async fn org_login_user(&self, org: &str) -> Result<Option<crate::User>> {
        let id = sqlx::query(
            "SELECT m.user_id FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.applicant_id = $1 AND m.is_admin = 1 AND u.role = 'applicant' ORDER BY m.user_id LIMIT 1",
        )
        .bind(org)
        .fetch_optional(&self.pool)
        .await?;
        match id {
            Some(r) => self.user(&r.get::<String, _>(0)).await,
            None => Ok(None),
        }
    }

    /// Records an OpenID Connect login in flight (hashed state and browser binding).
    pub async fn begin_oidc_login(
        &self,
        state: &str,
        browser: &str,
        nonce: &str,
        verifier: &str,
    ) -> Result<()> {
        let now = self.now();
        sqlx::query("DELETE FROM oidc_logins WHERE expires_at < $1")
            .bind(&now)
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO oidc_logins (state_hash, browser_hash, nonce, verifier, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash(state))
            .bind(token_hash(browser))
            .bind(nonce)
            .bind(verifier)
            .bind(self.minutes_from_now(10))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes (once) the login in flight of `state`, started in the browser holding
    /// `browser`: its nonce and PKCE verifier. `None` for an unknown, expired, reused or
    /// other browser's state.
    pub async fn take_oidc_login(
        &self,
        state: &str,
        browser: &str,
    ) -> Result<Option<(String, String)>> {
        let r = sqlx::query(
            "SELECT browser_hash, nonce, verifier, expires_at FROM oidc_logins WHERE state_hash = $1",
        )
        .bind(token_hash(state))
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = r else { return Ok(None) };
        let n = sqlx::query("DELETE FROM oidc_logins WHERE state_hash = $1")
            .bind(token_hash(state))
            .execute(&self.pool)
            .await?
            .rows_affected();
        let expires: String = r.get(3);
        let same_browser = r.get::<String, _>(0) == token_hash(browser);
        if n != 1 || expires < self.now() || !same_browser {
            return Ok(None);
        }
        Ok(Some((r.get(1), r.get(2))))
    }

    fn minutes_from_now(&self, minutes: i64) -> String {
        (self.clock)()
            .checked_add(jiff::SignedDuration::from_mins(minutes))
            .map(|t| {
                crate::cst(t)
                    .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
                    .to_string()
            })
            .unwrap_or_default()
    }
}

fn dead_link() -> StoreError {
    refused(
        "invalid_link",
        "链接无效、已使用或已过期,请联系管理员重新生成 (the link is invalid, used or expired: ask your administrator for a new one)",
    )
}

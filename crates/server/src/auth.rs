//! Accounts: argon2 password hashes, sessions in the database behind an HttpOnly SameSite
//! cookie, a CSRF token per session echoed by every form and API write, and login rate
//! limiting (5 failures per account in 10 minutes) counted in the database.

use crate::{AppError, AppState};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kc_domain::Role;
use kc_store::User;

pub const SESSION_COOKIE: &str = "kc_session";
pub const LANG_COOKIE: &str = "kc_lang";
const SESSION_HOURS: i64 = 12;

pub fn hash_password(password: &str) -> String {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with default parameters")
        .to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The password policy of every password a user chooses (an invitation, a reset): 10 to 128
/// characters, and not the account name. Long rather than complex: a passphrase is easier to
/// remember and harder to guess than `Passw0rd!`.
pub fn check_new_password(password: &str, user_id: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    let problem = if n < 10 {
        Some("新密码:至少 10 个字符 (new password: at least 10 characters)")
    } else if n > 128 {
        Some("新密码:最多 128 个字符 (new password: at most 128 characters)")
    } else if password.eq_ignore_ascii_case(user_id) {
        Some("新密码:不能与账号相同 (new password: must differ from the user name)")
    } else {
        None
    };
    match problem {
        Some(m) => Err(AppError::BadRequest {
            code: "invalid",
            message: m.into(),
        }),
        None => Ok(()),
    }
}

pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A logged-in user and their session.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub user: User,
    pub csrf: String,
    /// Notifications not yet seen in the inbox (`None`: a role without notifications, or not
    /// counted, as on the login response). Pages show it in the header: 通知 (N).
    pub unread: Option<i64>,
}

impl Session {
    pub fn role(&self) -> Role {
        self.user.role
    }
    /// The role may have this access (see `kc_domain::Access`), or 403.
    pub fn require_access(&self, access: kc_domain::Access) -> Result<(), AppError> {
        if self.user.role.may(access) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "“{}”角色无权查看此内容 (role {} may not see this)",
                crate::labels::role_zh(self.user.role),
                self.user.role.code()
            )))
        }
    }
    /// One applicant's file: an applicant sees only its own organisation; staff whose work
    /// needs it see the applicants of their jurisdiction (all, without one); the plan office
    /// none. Decided by the store (`Store::may_see`), which the API and pages share.
    pub async fn may_see(
        &self,
        store: &kc_store::Store,
        applicant_id: &str,
    ) -> Result<(), AppError> {
        self.require_access(kc_domain::Access::ApplicantFile)?;
        store.may_see(&self.user.actor(), applicant_id).await?;
        Ok(())
    }
    pub fn check_csrf(&self, token: Option<&str>) -> Result<(), AppError> {
        match token {
            Some(t) if constant_eq(t.as_bytes(), self.csrf.as_bytes()) => Ok(()),
            _ => Err(AppError::Csrf),
        }
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The session, if the request carries a live one.
pub struct MaybeSession(pub Option<Session>);

impl FromRequestParts<crate::Platform> for MaybeSession {
    type Rejection = AppError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::Platform,
    ) -> Result<Self, AppError> {
        Ok(MaybeSession(load_session(parts, &state.0, true).await?))
    }
}

/// The session of the request's cookie, if live. Pages count the unread notifications for the
/// header (`count_unread`); the API does not, so its calls cost no extra query.
pub(crate) async fn load_session(
    parts: &Parts,
    state: &AppState,
    count_unread: bool,
) -> Result<Option<Session>, AppError> {
    let Some(id) = cookie(parts, SESSION_COOKIE) else {
        return Ok(None);
    };
    let id = id.to_string();
    let Some((user, csrf)) = state.store.session(&id).await? else {
        return Ok(None);
    };
    let unread = if count_unread {
        state.store.unread_notifications(&user.actor()).await?
    } else {
        None
    };
    Ok(Some(Session {
        id,
        user,
        csrf,
        unread,
    }))
}

/// A live session, or 401.
pub struct CurrentSession(pub Session);

impl FromRequestParts<crate::Platform> for CurrentSession {
    type Rejection = AppError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::Platform,
    ) -> Result<Self, AppError> {
        match MaybeSession::from_request_parts(parts, state).await?.0 {
            Some(s) => Ok(CurrentSession(s)),
            None => Err(AppError::Unauthorized),
        }
    }
}

/// Chinese or English, from the `kc_lang` cookie (Chinese by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lang(pub bool);

impl Lang {
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        if self.0 { en } else { zh }
    }
}

impl FromRequestParts<crate::Platform> for Lang {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &crate::Platform) -> Result<Self, AppError> {
        Ok(Lang(cookie(parts, LANG_COOKIE) == Some("en")))
    }
}

/// Checks a password and opens a session. Failures are throttled per account *and* client
/// address (five wrong passwords for one account from one address in ten minutes, twenty for
/// any account from one address), counted atomically before the password is checked; the
/// account's owner, from another address, can still log in.
pub async fn login(
    state: &AppState,
    client: crate::guard::ClientIp,
    user_id: &str,
    password: &str,
) -> Result<Session, AppError> {
    let store = &state.store;
    let client = client.0.to_string();
    if store
        .reserve_login_attempt(user_id, &client, kc_store::LoginLimits::default())
        .await?
        .is_none()
    {
        return Err(AppError::TooManyRequests);
    }
    let user = store.user(user_id).await?;
    let ok = match &user {
        Some(u) => u
            .password_hash
            .as_deref()
            .is_some_and(|h| verify_password(password, h)),
        None => {
            // Same work for unknown accounts, so timing does not reveal which exist.
            let _ = verify_password(
                password,
                "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8Bq6qkJLYBd0PK9eGf4c+T0AXcXGcYrFvg3Bx4Yw8mM",
            );
            false
        }
    };
    let (true, Some(user)) = (ok, user) else {
        // The reserved attempt stays recorded: it is the failure.
        return Err(AppError::BadRequest {
            code: "bad_login",
            message: "用户名或密码错误 (wrong user or password)".into(),
        });
    };
    store.login_succeeded(user_id, &client).await?;
    open_session(state, user).await
}

/// Opens a session for `user`, who has proved who they are (a password, or unified login),
/// acting for its default organisation.
pub(crate) async fn open_session(state: &AppState, user: User) -> Result<Session, AppError> {
    let store = &state.store;
    let id = random_token();
    let csrf = random_token();
    let expires = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(SESSION_HOURS))
        .map_err(|e| AppError::Internal(e.to_string()))?
        .to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string();
    store.create_session(&id, &user.id, &csrf, &expires).await?;
    Ok(Session {
        id,
        user,
        csrf,
        unread: None,
    })
}

pub fn session_cookie(state: &AppState, id: &str) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_HOURS * 3600
    )
}

pub fn clear_cookie(state: &AppState) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

//! Organisations with several users, on both databases (issue 11, item 3): memberships and
//! the organisation administrator's rights are enforced by the store; a removed user's
//! sessions stop acting for the organisation; one-time links work once and expire; staff
//! invitations need an administrator.

mod common;

use common::*;
use kc_domain::Role;
use kc_store::{Actor, LinkPurpose, MemberStatus, Store, StoreError, User};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A 64-hex-digit token, distinct per `n` (the server makes random ones).
fn token(n: u8) -> String {
    format!("{:064x}", u64::from(n) * 0x9e37_79b9 + 17)
}

fn code(e: &StoreError) -> &'static str {
    match e {
        StoreError::Refused { code, .. } => code,
        StoreError::Invalid(_) => "invalid",
        StoreError::NotFound(_) => "not_found",
        _ => "other",
    }
}

/// The store with a clock that moves forward by the hours in `hours`.
async fn open_moving(db: &TestDb, hours: Arc<AtomicI64>) -> Store {
    open(db).await.with_clock(move || {
        fixed_clock()
            .checked_add(jiff::SignedDuration::from_hours(
                hours.load(Ordering::SeqCst),
            ))
            .unwrap()
    })
}

async fn account(s: &Store, id: &str, role: Role, org: Option<&str>) {
    s.create_user(
        &Actor::system(),
        &User {
            id: id.into(),
            name: id.into(),
            role,
            applicant_id: org.map(String::from),
            password_hash: Some("hash".into()),
            jurisdiction: None,
        },
    )
    .await
    .unwrap();
}

/// The actor a live session yields (what every page and API call acts as).
async fn acting(s: &Store, session: &str) -> Actor {
    s.session(session).await.unwrap().unwrap().0.actor()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_administrator_adds_a_user_who_acts_for_that_organisation_only() {
    for db in backends("org_members").await {
        let hours = Arc::new(AtomicI64::new(0));
        let s = open_moving(&db, hours.clone()).await;
        let l = db.label;
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        s.upsert_applicant(&admin(), &gaotang_institution())
            .await
            .unwrap();
        let ev = json_event();
        let (ev, _) = s
            .add_event_with_offers(&admin(), HUNNAN, &ev)
            .await
            .unwrap();
        // An account created for an organisation (as every account was) is its administrator.
        account(&s, "hn-boss", Role::Applicant, Some(HUNNAN)).await;
        account(&s, "gt-boss", Role::Applicant, Some(GAOTANG)).await;
        let ms = s.memberships("hn-boss").await.unwrap();
        assert_eq!(ms.len(), 1, "{l}");
        assert!(ms[0].is_admin && ms[0].applicant_id == HUNNAN, "{l}");
        let boss = Actor::applicant("hn-boss", HUNNAN);
        assert!(s.is_org_admin(&boss).await.unwrap(), "{l}");

        // The administrator invites a new user (经办人): the account exists without a password.
        let link = s
            .invite_member(&boss, HUNNAN, "hn-clerk", "经办人甲", false, &token(1))
            .await
            .unwrap();
        assert_eq!(link.purpose, LinkPurpose::Invite);
        assert!(
            s.user("hn-clerk")
                .await
                .unwrap()
                .unwrap()
                .password_hash
                .is_none(),
            "{l}"
        );
        let members = s.members(&boss, HUNNAN).await.unwrap();
        let clerk = members.iter().find(|m| m.user_id == "hn-clerk").unwrap();
        assert_eq!(clerk.status, MemberStatus::AwaitingPassword, "{l}");
        assert!(!clerk.is_admin);
        // Another organisation's administrator cannot manage Hunnan's users, nor can staff.
        let gt = Actor::applicant("gt-boss", GAOTANG);
        for who in [&gt, &admin(), &Actor::applicant("gt-boss", HUNNAN)] {
            let e = s
                .invite_member(who, HUNNAN, "intruder", "x", true, &token(2))
                .await
                .unwrap_err();
            assert_eq!(code(&e), "forbidden", "{l}: {who:?}");
            assert_eq!(
                code(&s.members(who, HUNNAN).await.unwrap_err()),
                "forbidden"
            );
        }

        // The link sets the password, once.
        let info = s.link(&token(1)).await.unwrap();
        assert!(
            info.sets_password && info.applicant_id.as_deref() == Some(HUNNAN),
            "{l}"
        );
        let e = s.use_link(&token(1), None, None).await.unwrap_err();
        assert_eq!(code(&e), "invalid", "{l}: a password is required");
        s.use_link(&token(1), Some("new-hash"), None).await.unwrap();
        let e = s
            .use_link(&token(1), Some("again"), None)
            .await
            .unwrap_err();
        assert_eq!(code(&e), "invalid_link", "{l}: used once");
        assert_eq!(
            s.user("hn-clerk")
                .await
                .unwrap()
                .unwrap()
                .password_hash
                .as_deref(),
            Some("new-hash")
        );

        // The clerk logs in and acts for Hunnan: applies there, is refused for Gaotang.
        s.create_session(
            "sess-clerk",
            "hn-clerk",
            "csrf",
            "2999-01-01T00:00:00.000+08:00",
        )
        .await
        .unwrap();
        let clerk = acting(&s, "sess-clerk").await;
        assert_eq!(clerk.applicant.as_deref(), Some(HUNNAN), "{l}");
        let app = s.apply(&clerk, HUNNAN, "hitech_first", &ev).await.unwrap();
        let e = s
            .apply(&clerk, GAOTANG, "voucher_service", "gt-none")
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}");
        // A clerk is not an administrator: it cannot invite or remove.
        assert!(!s.is_org_admin(&clerk).await.unwrap());
        let e = s
            .invite_member(&clerk, HUNNAN, "hn-other", "x", false, &token(3))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}");
        let e = s
            .remove_member(&clerk, HUNNAN, "hn-boss")
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}");

        // Who did what: the administrator sees the clerk's application and its own invitation.
        let log = s.org_audit(&boss, HUNNAN, 50).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e["actor"] == "applicant:hn-clerk" && e["entity_id"] == app.as_str()),
            "{l}: {log:?}"
        );
        assert!(log.iter().any(|e| e["action"] == "invite_user"), "{l}");
        assert_eq!(
            code(&s.org_audit(&clerk, HUNNAN, 50).await.unwrap_err()),
            "forbidden"
        );

        // Removed, the clerk's live session acts for no organisation and is refused.
        s.remove_member(&boss, HUNNAN, "hn-clerk").await.unwrap();
        let clerk = acting(&s, "sess-clerk").await;
        assert_eq!(clerk.applicant, None, "{l}");
        let e = s.applications(&clerk, None).await.unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}");
        assert_eq!(
            code(
                &s.apply(&clerk, HUNNAN, "hitech_first", &ev)
                    .await
                    .unwrap_err()
            ),
            "forbidden"
        );
        // A new session of the removed user acts for nothing either.
        s.create_session(
            "sess-clerk2",
            "hn-clerk",
            "csrf",
            "2999-01-01T00:00:00.000+08:00",
        )
        .await
        .unwrap();
        assert_eq!(acting(&s, "sess-clerk2").await.applicant, None, "{l}");
        // The only administrator cannot be removed.
        let e = s.remove_member(&boss, HUNNAN, "hn-boss").await.unwrap_err();
        assert_eq!(code(&e), "last_admin", "{l}");
        let log = s.org_audit(&boss, HUNNAN, 50).await.unwrap();
        assert!(log.iter().any(|e| e["action"] == "remove_user"), "{l}");
    }
}

fn json_event() -> serde_json::Value {
    serde_json::json!({"id": "hn-c1", "kind": "certified", "date": "2023-03-01", "cert": "high_tech", "first": true})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn links_expire_and_an_existing_account_accepts_while_logged_in() {
    for db in backends("org_links").await {
        let hours = Arc::new(AtomicI64::new(0));
        let s = open_moving(&db, hours.clone()).await;
        let l = db.label;
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        s.upsert_applicant(&admin(), &gaotang_institution())
            .await
            .unwrap();
        account(&s, "hn-boss", Role::Applicant, Some(HUNNAN)).await;
        account(&s, "gt-boss", Role::Applicant, Some(GAOTANG)).await;
        let boss = Actor::applicant("hn-boss", HUNNAN);
        let gt = Actor::applicant("gt-boss", GAOTANG);

        // An invitation lives 72 hours.
        s.invite_member(&boss, HUNNAN, "late", "迟到", false, &token(10))
            .await
            .unwrap();
        hours.store(71, Ordering::SeqCst);
        assert!(s.link(&token(10)).await.is_ok(), "{l}: still live at 71 h");
        hours.store(73, Ordering::SeqCst);
        assert_eq!(
            code(&s.link(&token(10)).await.unwrap_err()),
            "invalid_link",
            "{l}"
        );
        assert_eq!(
            code(&s.use_link(&token(10), Some("h"), None).await.unwrap_err()),
            "invalid_link",
            "{l}: expired"
        );
        hours.store(0, Ordering::SeqCst);
        // A reset link lives 24 hours, and ends the account's sessions when used.
        s.reset_link(&boss, "late", &token(11)).await.unwrap();
        hours.store(25, Ordering::SeqCst);
        assert_eq!(
            code(&s.link(&token(11)).await.unwrap_err()),
            "invalid_link",
            "{l}"
        );
        hours.store(0, Ordering::SeqCst);
        s.reset_link(&boss, "late", &token(12)).await.unwrap();
        assert_eq!(
            s.link(&token(12)).await.unwrap().purpose,
            LinkPurpose::Reset
        );
        s.use_link(&token(12), Some("reset-hash"), None)
            .await
            .unwrap();
        assert_eq!(
            code(&s.use_link(&token(12), Some("x"), None).await.unwrap_err()),
            "invalid_link"
        );
        // A token never issued is refused the same way.
        assert_eq!(code(&s.link(&token(99)).await.unwrap_err()), "invalid_link");

        // An account another organisation invited and that has no password yet cannot be
        // invited here: its link would hand Gaotang a Hunnan user.
        s.invite_member(&boss, HUNNAN, "pending", "待定", false, &token(15))
            .await
            .unwrap();
        let e = s
            .invite_member(&gt, GAOTANG, "pending", "待定", false, &token(16))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "duplicate", "{l}");
        assert_eq!(code(&s.link(&token(16)).await.unwrap_err()), "invalid_link");

        // Gaotang's administrator invites Hunnan's (existing) administrator: it joins only
        // when it accepts, logged in as itself.
        s.invite_member(&gt, GAOTANG, "hn-boss", "", false, &token(13))
            .await
            .unwrap();
        assert_eq!(s.memberships("hn-boss").await.unwrap().len(), 1, "{l}");
        let pending = s.members(&gt, GAOTANG).await.unwrap();
        assert!(
            pending
                .iter()
                .any(|m| m.user_id == "hn-boss" && m.status == MemberStatus::AwaitingAcceptance)
        );
        assert!(!s.link(&token(13)).await.unwrap().sets_password, "{l}");
        let e = s
            .use_link(&token(13), Some("takeover"), None)
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}: not logged in as hn-boss");
        let e = s
            .use_link(&token(13), None, Some("gt-boss"))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}: logged in as someone else");
        assert_eq!(
            s.user("hn-boss")
                .await
                .unwrap()
                .unwrap()
                .password_hash
                .as_deref(),
            Some("hash"),
            "{l}: the password is not touched"
        );
        s.use_link(&token(13), None, Some("hn-boss")).await.unwrap();
        let ms = s.memberships("hn-boss").await.unwrap();
        assert_eq!(ms.len(), 2, "{l}");
        // Now in two organisations: acts for one at a time, switching with its session.
        s.create_session(
            "sess-boss",
            "hn-boss",
            "csrf",
            "2999-01-01T00:00:00.000+08:00",
        )
        .await
        .unwrap();
        assert_eq!(
            acting(&s, "sess-boss").await.applicant.as_deref(),
            Some(HUNNAN),
            "{l}"
        );
        s.switch_org("sess-boss", "hn-boss", GAOTANG).await.unwrap();
        let now = acting(&s, "sess-boss").await;
        assert_eq!(now.applicant.as_deref(), Some(GAOTANG), "{l}");
        assert!(
            !s.is_org_admin(&now).await.unwrap(),
            "{l}: a clerk at Gaotang"
        );
        let e = s
            .switch_org("sess-boss", "gt-boss", HUNNAN)
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}: gt-boss is no member of Hunnan");
        // An administrator cannot reset a user who also belongs to another organisation.
        let e = s.reset_link(&gt, "hn-boss", &token(14)).await.unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}");
        // Removed from Gaotang, its session acting there stops; Hunnan is untouched.
        s.remove_member(&gt, GAOTANG, "hn-boss").await.unwrap();
        assert_eq!(acting(&s, "sess-boss").await.applicant, None, "{l}");
        s.switch_org("sess-boss", "hn-boss", HUNNAN).await.unwrap();
        assert_eq!(
            acting(&s, "sess-boss").await.applicant.as_deref(),
            Some(HUNNAN),
            "{l}"
        );

        // A backup keeps the memberships as they are: a user removed from the organisation it
        // was created for stays removed after a restore.
        s.remove_member(&boss, HUNNAN, "late").await.unwrap();
        let lines = s.backup_lines().await.unwrap();
        assert!(lines.iter().any(|x| x.contains("\"memberships\"")), "{l}");
        let target = if l == "sqlite" {
            sqlite("org_restore").await
        } else {
            postgres("org_restore").await.unwrap()
        };
        let t = open(&target).await;
        t.restore_lines(&lines, &|_, _| {}).await.unwrap();
        assert!(t.memberships("late").await.unwrap().is_empty(), "{l}");
        let ms = t.memberships("hn-boss").await.unwrap();
        assert!(
            ms.len() == 1 && ms[0].applicant_id == HUNNAN && ms[0].is_admin,
            "{l}"
        );
        // A backup made before memberships existed: every applicant account becomes its
        // organisation's administrator, as the migration does.
        let old: Vec<String> = lines
            .iter()
            .filter(|x| !x.contains("\"memberships\"") && !x.contains("\"staff_accounts\""))
            .cloned()
            .collect();
        let target = if l == "sqlite" {
            sqlite("org_restore_old").await
        } else {
            postgres("org_restore_old").await.unwrap()
        };
        let t = open(&target).await;
        t.restore_lines(&old, &|_, _| {}).await.unwrap();
        let ms = t.memberships("gt-boss").await.unwrap();
        assert!(
            ms.len() == 1 && ms[0].applicant_id == GAOTANG && ms[0].is_admin,
            "{l}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn staff_are_invited_by_an_administrator() {
    for db in backends("org_staff").await {
        let s = open(&db).await;
        let l = db.label;
        account(&s, "rev1", Role::Reviewer, None).await;
        account(&s, "chief", Role::Reviewer, None).await;
        let rev = Actor::new("rev1", Role::Reviewer);
        let e = s
            .invite_staff(
                &rev,
                "fin2",
                "财务二",
                Role::Finance,
                false,
                None,
                None,
                &token(20),
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}");
        // The admin role invites, and may make a staff administrator.
        let adm = admin();
        s.invite_staff(
            &adm,
            "fin2",
            "财务二",
            Role::Finance,
            false,
            Some("SY-0042"),
            None,
            &token(21),
        )
        .await
        .unwrap();
        let e = s
            .invite_staff(
                &adm,
                "fin3",
                "财务三",
                Role::Finance,
                false,
                Some("SY-0042"),
                None,
                &token(22),
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "duplicate", "{l}: one staff id, one account");
        assert_eq!(
            s.user_by_staff_id("SY-0042").await.unwrap().unwrap().id,
            "fin2"
        );
        s.use_link(&token(21), Some("fin-hash"), None)
            .await
            .unwrap();
        // A staff user with the administrator flag invites staff, but not admins.
        s.set_staff_id(&adm, "chief", "SY-0001").await.unwrap();
        assert!(
            !s.is_staff_admin(&Actor::new("chief", Role::Reviewer))
                .await
                .unwrap()
        );
        s.invite_staff(
            &adm,
            "chief2",
            "科长",
            Role::Reviewer,
            true,
            None,
            None,
            &token(23),
        )
        .await
        .unwrap();
        let chief2 = Actor::new("chief2", Role::Reviewer);
        assert!(s.is_staff_admin(&chief2).await.unwrap(), "{l}");
        // A jurisdiction's administrator invites into its own jurisdiction (or one inside
        // it), lists and resets only its own staff (issue 11).
        s.invite_staff(
            &adm,
            "hn-chief",
            "浑南科长",
            Role::Reviewer,
            true,
            None,
            Some("hunnan"),
            &token(30),
        )
        .await
        .unwrap();
        let hn_chief = Actor::staff("hn-chief", Role::Reviewer, "hunnan");
        let e = s
            .invite_staff(
                &hn_chief,
                "tx9",
                "铁西九",
                Role::Reviewer,
                false,
                None,
                Some("tiexi"),
                &token(31),
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}: {e}");
        s.invite_staff(
            &hn_chief,
            "hn9",
            "浑南九",
            Role::Finance,
            false,
            None,
            None,
            &token(32),
        )
        .await
        .unwrap();
        assert_eq!(
            s.user("hn9")
                .await
                .unwrap()
                .unwrap()
                .jurisdiction
                .as_deref(),
            Some("hunnan"),
            "{l}: the invited account works where its inviter works"
        );
        let mine: Vec<String> = s
            .staff_users(&hn_chief)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.user_id)
            .collect();
        assert_eq!(mine, vec!["hn-chief".to_string(), "hn9".to_string()], "{l}");
        let e = s
            .reset_link(&hn_chief, "fin2", &token(33))
            .await
            .unwrap_err();
        assert_eq!(
            code(&e),
            "forbidden",
            "{l}: fin2 works for the whole platform"
        );
        s.reset_link(&hn_chief, "hn9", &token(34)).await.unwrap();
        s.invite_staff(
            &chief2,
            "rev9",
            "审核九",
            Role::Reviewer,
            false,
            None,
            None,
            &token(24),
        )
        .await
        .unwrap();
        let e = s
            .invite_staff(
                &chief2,
                "adm9",
                "管理九",
                Role::Admin,
                false,
                None,
                None,
                &token(25),
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}");
        let e = s
            .invite_staff(
                &chief2,
                "app9",
                "x",
                Role::Applicant,
                false,
                None,
                None,
                &token(26),
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "invalid", "{l}");
        let staff = s.staff_users(&chief2).await.unwrap();
        assert!(
            staff.iter().any(|r| r.user_id == "rev9" && !r.has_password),
            "{l}"
        );
        // The staff administrator resets a staff password, not an admin's.
        s.reset_link(&chief2, "rev1", &token(27)).await.unwrap();
        account(&s, "adm2", Role::Admin, None).await;
        assert_eq!(
            code(&s.reset_link(&chief2, "adm2", &token(28)).await.unwrap_err()),
            "forbidden"
        );
        // A bad account name is named.
        let e = s
            .invite_staff(
                &adm,
                "a b",
                "x",
                Role::Reviewer,
                false,
                None,
                None,
                &token(29),
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("账号"), "{l}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_unified_login_in_flight_is_taken_once_by_its_browser() {
    for db in backends("org_oidc").await {
        let s = open(&db).await;
        let l = db.label;
        s.begin_oidc_login("state-1", "browser-1", "nonce-1", "verifier-1")
            .await
            .unwrap();
        assert_eq!(
            s.take_oidc_login("state-1", "browser-2").await.unwrap(),
            None,
            "{l}"
        );
        // Taken by another browser, it is gone for everyone (no second try at it).
        assert_eq!(
            s.take_oidc_login("state-1", "browser-1").await.unwrap(),
            None,
            "{l}"
        );
        s.begin_oidc_login("state-2", "browser-1", "nonce-2", "verifier-2")
            .await
            .unwrap();
        assert_eq!(
            s.take_oidc_login("state-2", "browser-1").await.unwrap(),
            Some(("nonce-2".to_string(), "verifier-2".to_string())),
            "{l}"
        );
        assert_eq!(
            s.take_oidc_login("state-2", "browser-1").await.unwrap(),
            None,
            "{l}"
        );
    }
}

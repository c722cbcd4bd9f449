//! First start: an admin account with a generated password (printed once), and — unless
//! `--no-demo` — the demo applicants (`data/demo/`, built into the binary and handed in by the
//! CLI) with their events, demo accounts for each role and for each demo applicant, and a demo
//! budget, so a newcomer can try every page at once.

use crate::auth::{hash_password, random_token};
use kc_domain::Role;
use kc_store::{Actor, Store, User};

/// The password of every demo account (never of the admin).
pub const DEMO_PASSWORD: &str = "demo-kechuang";

/// Seeds an empty database; returns lines to print. Does nothing once users exist. `demo`
/// holds the demo applicants as `(path, eval-input JSON)`, in account order (`demo01` is the
/// first), or is `None` for a production instance without demo data.
pub async fn first_start(
    store: &Store,
    demo: Option<&[(String, String)]>,
) -> Result<Vec<String>, kc_store::StoreError> {
    if store.count_users().await? > 0 {
        return Ok(vec![
            "数据库已初始化 database already initialised; accounts unchanged".into(),
        ]);
    }
    let system = Actor::system();
    let mut out = Vec::new();
    let admin_password = random_token()[..16].to_string();
    store
        .create_user(
            &system,
            &User {
                id: "admin".into(),
                name: "系统管理员".into(),
                role: Role::Admin,
                applicant_id: None,
                password_hash: Some(hash_password(&admin_password)),
                jurisdiction: None,
            },
        )
        .await?;
    out.push(format!("管理员账号 admin account: admin / {admin_password}   (仅显示一次 shown once — store it now)"));
    let Some(files) = demo else {
        out.push("生产模式 production instance: no demo data (--no-demo)".into());
        return Ok(out);
    };
    let hash = hash_password(DEMO_PASSWORD);
    let mut first_applicant = None;
    for (n, (path, text)) in files.iter().enumerate() {
        let doc: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| kc_store::StoreError::Invalid(format!("{path}: {e}")))?;
        let id = store.upsert_applicant(&system, &doc["applicant"]).await?;
        for e in doc["events"].as_array().into_iter().flatten() {
            // Event ids are unique per file in the demo; make them unique in the database.
            let mut e = e.clone();
            e["id"] =
                serde_json::json!(format!("{}-{}", &id[8..17], e["id"].as_str().unwrap_or("")));
            store.add_event_with_offers(&system, &id, &e).await?;
        }
        let user = format!("demo{:02}", n + 1);
        store
            .create_user(
                &system,
                &User {
                    id: user.clone(),
                    name: doc["applicant"]["name"].as_str().unwrap_or("").into(),
                    role: Role::Applicant,
                    applicant_id: Some(id.clone()),
                    password_hash: Some(hash.clone()),
                    jurisdiction: None,
                },
            )
            .await?;
        first_applicant.get_or_insert((
            user,
            doc["applicant"]["name"].as_str().unwrap_or("").to_string(),
        ));
    }
    for (id, name, role) in [
        ("reviewer", "审核员(演示)", Role::Reviewer),
        ("finance", "财务(演示)", Role::Finance),
        ("demo-admin", "管理员(演示)", Role::Admin),
        ("planner", "督查考核(演示)", Role::PlanOffice),
    ] {
        store
            .create_user(
                &system,
                &User {
                    id: id.into(),
                    name: name.into(),
                    role,
                    applicant_id: None,
                    password_hash: Some(hash.clone()),
                    jurisdiction: None,
                },
            )
            .await?;
    }
    out.push(format!(
        "演示数据 demo data: {} applicants loaded (data/demo, built in)",
        files.len()
    ));
    out.push(format!(
        "演示账号 demo accounts (password {DEMO_PASSWORD}): reviewer, finance, demo-admin, planner"
    ));
    if let Some((u, n)) = first_applicant {
        out.push(format!("  申报主体账号 applicant accounts: demo01 … demo{:02}, one per demo applicant in data/demo order, e.g. {u} = {n}", files.len()));
    }
    Ok(out)
}

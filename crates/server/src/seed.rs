//! First start: an admin account with a generated password (printed once), and — unless
//! `--no-demo` — the demo applicants (`data/demo/`, built into the binary and handed in by the
//! CLI) with their events, demo accounts for each role and for each demo applicant, and a demo
//! budget, so a newcomer can try every page at once.

use crate::auth::{hash_password, random_token};
use kc_domain::Role;
use kc_store::{Actor, Store, User};

/// The password of every demo account (never of the admin).
pub const DEMO_PASSWORD: &str = "demo-kechuang";

/// The demo staff of single jurisdictions: (account, name, role, jurisdiction).
pub const DEMO_STAFF: &[(&str, &str, Role, &str)] = &[
    (
        "sy-reviewer",
        "沈阳市科技局审核员(演示)",
        Role::Reviewer,
        "shenyang",
    ),
    (
        "sy-finance",
        "沈阳市财政局(演示)",
        Role::Finance,
        "shenyang",
    ),
    (
        "hunnan-reviewer",
        "浑南区科技局审核员(演示)",
        Role::Reviewer,
        "hunnan",
    ),
    (
        "hunnan-finance",
        "浑南区财政局(演示)",
        Role::Finance,
        "hunnan",
    ),
    (
        "tiexi-reviewer",
        "铁西区科技局审核员(演示)",
        Role::Reviewer,
        "tiexi",
    ),
    (
        "tiexi-finance",
        "铁西区财政局(演示)",
        Role::Finance,
        "tiexi",
    ),
    (
        "lc-reviewer",
        "聊城市科技局审核员(演示)",
        Role::Reviewer,
        "liaocheng",
    ),
    (
        "lc-finance",
        "聊城市财政局(演示)",
        Role::Finance,
        "liaocheng",
    ),
];

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
        ("author", "政策编辑(演示)", Role::PolicyAuthor),
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
    // Staff of one jurisdiction each (issue 11): the city of Shenyang, two of its districts
    // and the city of Liaocheng, a reviewer and a finance officer each.
    for (id, name, role, jurisdiction) in DEMO_STAFF {
        store
            .create_user(
                &system,
                &User {
                    id: (*id).into(),
                    name: (*name).into(),
                    role: *role,
                    applicant_id: None,
                    password_hash: Some(hash.clone()),
                    jurisdiction: Some((*jurisdiction).into()),
                },
            )
            .await?;
    }
    out.push(format!(
        "演示数据 demo data: {} applicants loaded (data/demo, built in)",
        files.len()
    ));
    out.push(seed_market(store).await?);
    out.push(format!(
        "演示账号 demo accounts (password {DEMO_PASSWORD}): reviewer, finance, demo-admin, planner, author (全平台 whole platform)"
    ));
    out.push(format!(
        "  辖区账号 jurisdiction staff (password {DEMO_PASSWORD}): {}",
        DEMO_STAFF
            .iter()
            .map(|(id, name, _, _)| format!("{id} = {name}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if let Some((u, n)) = first_applicant {
        out.push(format!("  申报主体账号 applicant accounts: demo01 … demo{:02}, one per demo applicant in data/demo order, e.g. {u} = {n}", files.len()));
    }
    Ok(out)
}

/// The market sample of `data/market/sample` (written for the purpose, every organisation in it
/// fictional), built into the binary.
const MARKET_ACHIEVEMENTS: &[u8] = include_bytes!("../../../data/market/sample/achievements.csv");
const MARKET_DEMANDS: &[u8] = include_bytes!("../../../data/market/sample/demands.csv");

/// The demo market: the shipped sample published (as staff import it), achievements of the
/// two demo universities of 聊城, the services of the demo service institutions, and a 2024
/// innovation voucher for the demo SME 聊城云图机器人 (demo31).
async fn seed_market(store: &Store) -> Result<String, kc_store::StoreError> {
    use kc_market::Side;
    use kc_store::market::ListingInput;
    let staff = Actor::new("demo-seed", Role::Admin);
    let mut imported = 0;
    for (side, name, bytes) in [
        (Side::Achievement, "achievements.csv", MARKET_ACHIEVEMENTS),
        (Side::Demand, "demands.csv", MARKET_DEMANDS),
    ] {
        let t = kc_tabular::read_bytes(name, "csv", bytes)
            .map_err(|e| kc_store::StoreError::Invalid(format!("{name}: {e}")))?;
        let checked = store
            .validate_listing_import(side, name, &t.headers, &t.rows)
            .map_err(|errors| {
                kc_store::StoreError::Invalid(format!(
                    "{name}: {}",
                    errors
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                ))
            })?;
        imported += store.import_listings(&staff, &checked, None).await?.len();
    }
    let own = [
        (
            DEMO_LC_UNIVERSITY,
            ListingInput {
                title: "机器人激光焊接残余应力控制与焊缝裂纹抑制技术".into(),
                field: "intelligent_manufacturing".into(),
                keywords: vec!["激光焊接；残余应力；焊接裂纹；焊后热处理；机器人焊接".into()],
                text: "针对中厚板机器人激光焊接焊缝易产生冷裂纹的问题，通过焊前预热温度场仿真、摆动焊接路径优化与焊后局部热处理，将焊缝残余应力峰值降低约40%，裂纹检出率由3.2%降至0.3%以下。已在工程机械结构件产线中试验证。".into(),
                maturity: Some("pilot".into()),
                ip: Some("发明专利 ZL2022XXXXXXXXX.X".into()),
                transfer_mode: Some("许可".into()),
                price: Some("800000".into()),
                ..Default::default()
            },
        ),
        (
            DEMO_LC_UNIVERSITY_2,
            ListingInput {
                title: "阿胶原料驴皮快速鉴别与胶液澄清工艺".into(),
                field: "biomedicine".into(),
                keywords: vec!["阿胶；驴皮鉴别；DNA条形码；胶液澄清".into()],
                text: "建立驴皮原料DNA条形码快速鉴别方法，30分钟内区分驴皮与马皮、牛皮；配套胶液絮凝澄清工艺使成品透明度提高，杂质含量降低一半。适用于东阿地区阿胶生产企业原料把关与工艺升级。".into(),
                maturity: Some("industrial".into()),
                transfer_mode: Some("转让".into()),
                price: Some("500000".into()),
                ..Default::default()
            },
        ),
    ];
    for (owner, input) in own {
        let id = store
            .create_listing(
                &Actor::applicant("demo-seed", owner),
                Side::Achievement,
                &input,
            )
            .await?;
        store.review_listing(&staff, &id, true, "").await?;
        imported += 1;
    }
    for (institution, name, category, description) in [
        (
            "91371526G3FJAFQX31",
            "金属材料力学性能与焊缝无损检测",
            "testing",
            "拉伸、冲击、硬度试验;焊缝超声与射线探伤",
        ),
        (
            "91371581BFJGG5FK4Y",
            "轴承振动噪声与寿命试验",
            "testing",
            "轴承振动、噪声检测与疲劳寿命台架试验",
        ),
        (
            "9137152517B9W77K37",
            "工业机器人工作站设计与仿真",
            "rd_design",
            "产线布局、节拍仿真与离线编程",
        ),
    ] {
        store
            .add_service(&staff, Some(institution), name, category, description)
            .await?;
    }
    store
        .issue_voucher(&staff, DEMO_LC_SME, 2024, "200000", "2025-12-31")
        .await?;
    Ok(format!(
        "科技大市场 S&T market: {imported} achievements and demands published (data/market/sample), 3 services, 1 innovation voucher (demo31)"
    ))
}

/// Demo applicants the market's demo content belongs to (data/demo 43, 44 and 31).
pub const DEMO_LC_UNIVERSITY: &str = "123715032R4LE1JQ2T";
pub const DEMO_LC_UNIVERSITY_2: &str = "123715246MAEW6K62N";
pub const DEMO_LC_SME: &str = "913715250MKMGX7X98";

//! The listing model: sides, maturity, fields, regions and money in fen.

use serde::{Deserialize, Serialize};

/// Which side of the market a listing is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Achievement,
    Demand,
}

impl Side {
    pub fn code(self) -> &'static str {
        match self {
            Side::Achievement => "achievement",
            Side::Demand => "demand",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Side::Achievement => "科技成果",
            Side::Demand => "技术需求",
        }
    }
    /// The side a listing on this side is matched against.
    pub fn other(self) -> Side {
        match self {
            Side::Achievement => Side::Demand,
            Side::Demand => Side::Achievement,
        }
    }
    pub fn parse(s: &str) -> Option<Side> {
        match s.trim() {
            "achievement" | "科技成果" => Some(Side::Achievement),
            "demand" | "技术需求" => Some(Side::Demand),
            _ => None,
        }
    }
}

/// Technology readiness as the market speaks of it; ordered from lab to industrial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Maturity {
    Lab,
    SmallPilot,
    Pilot,
    Industrial,
}

impl Maturity {
    pub const ALL: [Maturity; 4] = [
        Maturity::Lab,
        Maturity::SmallPilot,
        Maturity::Pilot,
        Maturity::Industrial,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Maturity::Lab => "lab",
            Maturity::SmallPilot => "small_pilot",
            Maturity::Pilot => "pilot",
            Maturity::Industrial => "industrial",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Maturity::Lab => "实验室",
            Maturity::SmallPilot => "小试",
            Maturity::Pilot => "中试",
            Maturity::Industrial => "产业化",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            Maturity::Lab => "lab",
            Maturity::SmallPilot => "small pilot",
            Maturity::Pilot => "pilot",
            Maturity::Industrial => "industrial",
        }
    }
    /// Accepts the code or the Chinese name.
    pub fn parse(s: &str) -> Option<Maturity> {
        let s = s.trim();
        Maturity::ALL
            .into_iter()
            .find(|m| m.code() == s || m.zh() == s)
    }
}

/// A technology field of the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

pub const FIELDS: &[Field] = &[
    Field {
        code: "intelligent_manufacturing",
        zh: "智能制造与机器人",
        en: "Intelligent manufacturing and robotics",
    },
    Field {
        code: "advanced_equipment",
        zh: "高端装备",
        en: "Advanced equipment",
    },
    Field {
        code: "new_materials",
        zh: "新材料",
        en: "New materials",
    },
    Field {
        code: "metallurgy",
        zh: "冶金与有色金属",
        en: "Metallurgy and non-ferrous metals",
    },
    Field {
        code: "chemical",
        zh: "石化与精细化工",
        en: "Petrochemicals and fine chemicals",
    },
    Field {
        code: "biomedicine",
        zh: "生物医药",
        en: "Biomedicine",
    },
    Field {
        code: "electronic_information",
        zh: "电子信息",
        en: "Electronic information",
    },
    Field {
        code: "new_energy",
        zh: "新能源与储能",
        en: "New energy and storage",
    },
    Field {
        code: "new_energy_vehicles",
        zh: "汽车及新能源汽车",
        en: "Automobiles and new energy vehicles",
    },
    Field {
        code: "energy_saving",
        zh: "节能环保",
        en: "Energy saving and environmental protection",
    },
    Field {
        code: "modern_agriculture",
        zh: "现代农业与食品",
        en: "Modern agriculture and food",
    },
    Field {
        code: "light_textile",
        zh: "轻工纺织与造纸",
        en: "Light industry, textiles and paper",
    },
];

/// The field with this code (or Chinese name).
pub fn field(code: &str) -> Option<&'static Field> {
    let code = code.trim();
    FIELDS.iter().find(|f| f.code == code || f.zh == code)
}

/// One listing on the market. `region` is the path from root to leaf (see [`region_path`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub id: String,
    pub side: Side,
    pub title: String,
    /// A [`FIELDS`] code.
    pub field: String,
    pub keywords: Vec<String>,
    /// Achievement: its abstract. Demand: the problem in the enterprise's own words.
    pub text: String,
    /// Achievement: its maturity. Demand: the least maturity it needs (None = any).
    pub maturity: Option<Maturity>,
    /// Achievement: asking price. Demand: budget. In fen (1 yuan = 100 fen).
    pub price_fen: Option<i64>,
    pub region: Vec<String>,
}

/// A region the platform serves, with its parent (None for a province or `other`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub code: &'static str,
    pub zh: &'static str,
    pub parent: Option<&'static str>,
}

const fn r(code: &'static str, zh: &'static str, parent: Option<&'static str>) -> Region {
    Region { code, zh, parent }
}

/// The platform's regions: Shenyang's districts and counties, Liaocheng's, Jinan, and `other`.
pub const REGIONS: &[Region] = &[
    r("liaoning", "辽宁省", None),
    r("shenyang", "沈阳市", Some("liaoning")),
    r("heping", "和平区", Some("shenyang")),
    r("shenhe", "沈河区", Some("shenyang")),
    r("dadong", "大东区", Some("shenyang")),
    r("huanggu", "皇姑区", Some("shenyang")),
    r("tiexi", "铁西区", Some("shenyang")),
    r("sujiatun", "苏家屯区", Some("shenyang")),
    r("hunnan", "浑南区", Some("shenyang")),
    r("shenbei", "沈北新区", Some("shenyang")),
    r("yuhong", "于洪区", Some("shenyang")),
    r("liaozhong", "辽中区", Some("shenyang")),
    r("kangping", "康平县", Some("shenyang")),
    r("faku", "法库县", Some("shenyang")),
    r("xinmin", "新民市", Some("shenyang")),
    r("shandong", "山东省", None),
    r("liaocheng", "聊城市", Some("shandong")),
    r("dongchangfu", "东昌府区", Some("liaocheng")),
    r("chiping", "茌平区", Some("liaocheng")),
    r("linqing", "临清市", Some("liaocheng")),
    r("yanggu", "阳谷县", Some("liaocheng")),
    r("shenxian", "莘县", Some("liaocheng")),
    r("donge", "东阿县", Some("liaocheng")),
    r("guanxian", "冠县", Some("liaocheng")),
    r("gaotang", "高唐县", Some("liaocheng")),
    r("liaocheng_hitech_zone", "聊城高新区", Some("liaocheng")),
    r("liaocheng_econ_zone", "聊城经开区", Some("liaocheng")),
    r("jiangbei_resort", "江北水城旅游度假区", Some("liaocheng")),
    r("jinan", "济南市", Some("shandong")),
    r("other", "其他地区", None),
];

/// The region with this code.
pub fn region(code: &str) -> Option<&'static Region> {
    let code = code.trim();
    REGIONS.iter().find(|r| r.code == code)
}

/// The path root→leaf for a region code, e.g. `hunnan` → `["liaoning","shenyang","hunnan"]`;
/// empty for an unknown code.
pub fn region_path(leaf: &str) -> Vec<String> {
    let mut path = Vec::new();
    let mut cur = region(leaf);
    while let Some(r) = cur {
        path.push(r.code.to_string());
        cur = r.parent.and_then(region);
    }
    path.reverse();
    path
}

/// Parses an amount in yuan ("123", "123.4", "123.45") into fen with integer arithmetic.
/// More than two decimals, a sign, or anything but digits is an error (Chinese, English).
pub fn parse_yuan(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let bad = || {
        format!(
            "金额 “{s}” 不是以元为单位、最多两位小数的数 (“{s}” is not an amount in yuan with at most 2 decimals)"
        )
    };
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (s.contains('.') && frac.is_empty()) {
        return Err(bad());
    }
    if frac.len() > 2 {
        return Err(format!(
            "金额 “{s}” 超过两位小数(分以下)(“{s}” has more than 2 decimals: below one fen)"
        ));
    }
    let yuan: i64 = whole.parse().map_err(|_| bad())?;
    let mut fen: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| bad())?
    };
    if frac.len() == 1 {
        fen *= 10;
    }
    yuan.checked_mul(100)
        .and_then(|v| v.checked_add(fen))
        .ok_or_else(bad)
}

/// Formats fen as yuan with two decimals and thousands separators: 1234567 → "12,345.67".
pub fn fmt_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02}", abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money() {
        assert_eq!(parse_yuan("123.45"), Ok(12345));
        assert_eq!(parse_yuan("123.4"), Ok(12340));
        assert_eq!(parse_yuan("0.05"), Ok(5));
        assert_eq!(parse_yuan("200000"), Ok(20_000_000));
        assert!(parse_yuan("1.234").is_err());
        assert!(parse_yuan("-1").is_err());
        assert!(parse_yuan("1.").is_err());
        assert!(parse_yuan("abc").is_err());
        assert_eq!(fmt_yuan(1_234_567), "12,345.67");
        assert_eq!(fmt_yuan(5), "0.05");
    }

    #[test]
    fn regions() {
        assert_eq!(region_path("hunnan"), ["liaoning", "shenyang", "hunnan"]);
        assert_eq!(region_path("gaotang"), ["shandong", "liaocheng", "gaotang"]);
        assert_eq!(region_path("jinan"), ["shandong", "jinan"]);
        assert_eq!(region_path("other"), ["other"]);
        assert!(region_path("atlantis").is_empty());
    }
}

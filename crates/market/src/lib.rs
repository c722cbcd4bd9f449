//! Placeholder of the market types while the search crate is built on its own branch.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Maturity {
    Lab,
    SmallPilot,
    Pilot,
    Industrial,
}

impl Maturity {
    pub const ALL: [Maturity; 4] = [Maturity::Lab, Maturity::SmallPilot, Maturity::Pilot, Maturity::Industrial];
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
    pub fn parse(s: &str) -> Option<Maturity> {
        Maturity::ALL.into_iter().find(|m| m.code() == s || m.zh() == s)
    }
}

pub struct Field {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

pub const FIELDS: &[Field] = &[
    Field { code: "intelligent_manufacturing", zh: "智能制造与机器人", en: "Intelligent manufacturing and robotics" },
    Field { code: "advanced_equipment", zh: "高端装备", en: "Advanced equipment" },
    Field { code: "new_materials", zh: "新材料", en: "New materials" },
    Field { code: "metallurgy", zh: "冶金与有色金属", en: "Metallurgy and non-ferrous metals" },
    Field { code: "chemical", zh: "石化与精细化工", en: "Petrochemicals and fine chemicals" },
    Field { code: "biomedicine", zh: "生物医药", en: "Biomedicine" },
    Field { code: "electronic_information", zh: "电子信息", en: "Electronics and information" },
    Field { code: "new_energy", zh: "新能源与储能", en: "New energy and storage" },
    Field { code: "new_energy_vehicles", zh: "汽车及新能源汽车", en: "Automobiles and new-energy vehicles" },
    Field { code: "energy_saving", zh: "节能环保", en: "Energy saving and environment" },
    Field { code: "modern_agriculture", zh: "现代农业与食品", en: "Modern agriculture and food" },
    Field { code: "light_textile", zh: "轻工纺织与造纸", en: "Light industry, textiles and paper" },
];

pub fn field(code: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.code == code || f.zh == code)
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Listing {
    pub id: String,
    pub side: Side,
    pub title: String,
    pub field: String,
    pub keywords: Vec<String>,
    pub text: String,
    pub maturity: Option<Maturity>,
    pub price_fen: Option<i64>,
    pub region: Vec<String>,
}

// --- placeholders until the search crate lands (replaced at merge) ---
#[derive(Clone, Debug, Default)]
pub struct Dictionary;
impl Dictionary {
    pub fn builtin() -> Dictionary {
        Dictionary
    }
    pub fn parse(_text: &str) -> Result<Dictionary, String> {
        Ok(Dictionary)
    }
    pub fn merge(self, _other: Dictionary) -> Dictionary {
        self
    }
}
pub struct Hit {
    pub id: String,
    pub side: Side,
    pub score: f32,
    pub terms: Vec<String>,
}
pub enum Reason {}
impl Reason {
    pub fn zh(&self) -> String {
        String::new()
    }
    pub fn en(&self) -> String {
        String::new()
    }
}
pub struct Match {
    pub id: String,
    pub score: f32,
    pub reasons: Vec<Reason>,
}
pub struct MatchList {
    pub matches: Vec<Match>,
    pub no_good_match: bool,
    pub threshold: f32,
}
pub struct Batch {
    pub per_demand: Vec<(String, Vec<Match>)>,
    pub per_achievement: Vec<(String, Vec<Match>)>,
    pub pairs: usize,
}
pub fn batch_match(_a: &[Listing], _d: &[Listing], _dict: &Dictionary, _n: usize) -> Batch {
    unimplemented!()
}
pub struct MarketIndex;
impl MarketIndex {
    pub fn in_ram(_d: Dictionary) -> Result<MarketIndex, String> {
        unimplemented!()
    }
    pub fn open_dir(_p: &std::path::Path, _d: Dictionary) -> Result<MarketIndex, String> {
        unimplemented!()
    }
    pub fn synced_seq(&self) -> i64 {
        0
    }
    pub fn upsert(&self, _l: &Listing) -> Result<(), String> {
        Ok(())
    }
    pub fn remove(&self, _id: &str) -> Result<(), String> {
        Ok(())
    }
    pub fn clear(&self) -> Result<(), String> {
        Ok(())
    }
    pub fn commit(&self, _seq: i64) -> Result<(), String> {
        Ok(())
    }
    pub fn len(&self) -> usize {
        0
    }
    pub fn search(&self, _q: &str, _s: Option<Side>, _l: usize) -> Result<Vec<Hit>, String> {
        Ok(vec![])
    }
    pub fn matches_for(&self, _l: &Listing, _n: usize) -> Result<MatchList, String> {
        unimplemented!()
    }
}
pub mod eval {
    pub struct Sample;
    impl Sample {
        pub fn builtin() -> Sample {
            Sample
        }
        pub fn read_dir(_p: &std::path::Path) -> Result<Sample, String> {
            Ok(Sample)
        }
    }
    pub struct Report;
    impl Report {
        pub fn render(&self) -> String {
            String::new()
        }
    }
    pub fn evaluate(_s: &Sample, _d: &super::Dictionary) -> Report {
        Report
    }
}

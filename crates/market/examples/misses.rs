use kc_market::*;
fn main() {
    let s = eval::Sample::builtin();
    let mut idx = MarketIndex::in_ram(Dictionary::builtin()).unwrap();
    idx.set_threshold(0.0);
    idx.upsert_many(&s.achievements).unwrap();
    idx.commit(0).unwrap();
    let j = s.judgements();
    let by_id = |id: &str| s.achievements.iter().find(|a| a.id == id).unwrap();
    for d in &s.demands {
        let Some(l) = j.get(d.id.as_str()) else {
            continue;
        };
        let m = idx.matches_for(d, 10).unwrap();
        for (aid, r) in l {
            if *r >= 1 && !m.matches.iter().any(|x| x.id == *aid) {
                let a = by_id(aid);
                println!(
                    "MISS {} [{}] {} | {}\n   want {} r{} {} | {:?}\n   got {:?}",
                    d.id,
                    d.field,
                    d.title,
                    d.text,
                    aid,
                    r,
                    a.title,
                    a.keywords,
                    m.matches
                        .iter()
                        .take(3)
                        .map(|x| format!("{} {:.3} {}", x.id, x.score, by_id(&x.id).title))
                        .collect::<Vec<_>>()
                );
            }
        }
    }
}

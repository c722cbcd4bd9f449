//! The synthetic population generator: deterministic for a seed (ChaCha8).

use crate::PopulationError;
use crate::calibration::{Calibration, Draw, Resolved};
use jiff::civil::Date;
use kc_check::Library;
use kc_check::ir::{MemberId, Type, Value};
use kc_eval::{Applicant, Event, Input};
use kc_money::Money;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Generator<'l> {
    lib: &'l Library,
    cal: Resolved,
    rng: ChaCha8Rng,
    next: u64,
    size: u64,
}

fn pick(rng: &mut ChaCha8Rng, shares: &[(MemberId, f64)]) -> MemberId {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (m, s) in shares {
        acc += s;
        if u < acc {
            return *m;
        }
    }
    shares.last().map(|(m, _)| *m).unwrap_or(0)
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller; 1 − u keeps the logarithm finite.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda > 30.0 {
        return (lambda + lambda.sqrt() * normal(rng)).round().max(0.0) as u32;
    }
    let l = (-lambda).exp();
    let (mut k, mut p) = (0u32, 1.0f64);
    loop {
        p *= rng.random::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

/// Floats stop here: the amount is rounded to the fen and becomes exact decimal money.
fn money(x: f64) -> Value {
    if !x.is_finite() || x <= 0.0 {
        return Value::Unknown;
    }
    Money::parse_amount(&format!("{x:.2}")).map_or(Value::Unknown, Value::Money)
}

fn day_between(rng: &mut ChaCha8Rng, a: Date, b: Date) -> Date {
    let span = a.until(b).map(|s| s.get_days()).unwrap_or(0).max(0);
    let k = rng.random_range(0..=span);
    a.checked_add(jiff::Span::new().days(k)).unwrap_or(a)
}

fn year_bounds(y: i16) -> (Date, Date) {
    (
        Date::constant(2000, 1, 1)
            .with()
            .year(y)
            .build()
            .expect("valid"),
        Date::constant(2000, 12, 31)
            .with()
            .year(y)
            .build()
            .expect("valid"),
    )
}

fn add_years(d: Date, n: i16) -> Option<Date> {
    d.checked_add(jiff::Span::new().years(n)).ok()
}

impl Generator<'_> {
    fn applicant(&mut self) -> Input {
        let lib = self.lib;
        let v = &lib.vocab;
        let cal = &self.cal;
        let rng = &mut self.rng;
        self.next += 1;
        let id = format!("G{:07}", self.next);
        let kind = pick(rng, &cal.kinds);
        let region = pick(rng, &cal.regions);
        let mut fields = vec![Value::Unknown; v.applicant.len()];
        fields[cal.kind_slot] = Value::Enum(v.applicant_kind, kind);
        fields[cal.region_slot] = Value::Enum(v.region, region);
        let mut size = None;
        if let Some((slot, e)) = cal.size_slot
            && cal.enterprise == Some(kind)
            && !cal.sizes.is_empty()
        {
            let s = pick(rng, &cal.sizes);
            size = Some(s);
            fields[slot] = Value::Enum(e, s);
        }
        let name = format!("{}{}", v.member_zh(v.applicant_kind, kind), id);
        if let Some(slot) = v.applicant.iter().position(|f| f.name == "name") {
            fields[slot] = Value::Text(name.clone());
        }
        let (from, to) = (cal.from, cal.to);
        let mut certifications = Vec::new();
        // (cert, date, first) of the certified events to make.
        let mut certified: Vec<(MemberId, Date, bool)> = Vec::new();
        let renewals = |cert: MemberId,
                        since: Date,
                        every: Option<i16>,
                        out: &mut Vec<(MemberId, Date, bool)>| {
            let Some(n) = every else { return };
            let mut k = 1;
            while let Some(d) = add_years(since, n * k) {
                if d > to {
                    break;
                }
                if d >= from {
                    out.push((cert, d, false));
                }
                k += 1;
            }
        };
        let mut groups_drawn: Vec<(String, f64)> = Vec::new();
        for c in &cal.certs {
            if !c.kinds.contains(&kind) {
                continue;
            }
            // One draw per exclusive group: the holders of a group's certifications partition
            // the unit interval.
            let holds = match &c.group {
                Some(g) => {
                    let u = match groups_drawn.iter().find(|(n, _)| n == g) {
                        Some((_, u)) => *u,
                        None => {
                            let u: f64 = rng.random();
                            groups_drawn.push((g.clone(), u));
                            u
                        }
                    };
                    let before: f64 = cal
                        .certs
                        .iter()
                        .take_while(|o| o.cert != c.cert)
                        .filter(|o| o.group.as_ref() == Some(g) && o.kinds.contains(&kind))
                        .map(|o| o.p_hold)
                        .sum();
                    u >= before && u < before + c.p_hold
                }
                None => rng.random::<f64>() < c.p_hold,
            };
            if holds {
                let d = day_between(
                    rng,
                    add_years(from, -3).unwrap_or(from),
                    from.yesterday().unwrap_or(from),
                );
                certifications.push((c.cert, d));
                renewals(c.cert, d, c.renewal, &mut certified);
                continue;
            }
            for y in from.year()..=to.year() {
                if rng.random::<f64>() < c.p_new {
                    let (a, b) = year_bounds(y);
                    let d = day_between(rng, a.max(from), b.min(to));
                    certifications.push((c.cert, d));
                    certified.push((c.cert, d, true));
                    renewals(c.cert, d, c.renewal, &mut certified);
                    break;
                }
            }
        }
        let mut events: Vec<Event> = Vec::new();
        if let Some(ce) = cal.certified {
            for (cert, date, first) in certified {
                let def = &v.events[ce.kind];
                let mut f = vec![Value::Unknown; def.fields.len()];
                f[ce.cert_slot] = Value::Enum(v.certification, cert);
                if let Some(s) = ce.first_slot {
                    f[s] = Value::Bool(first);
                }
                events.push(Event {
                    id: String::new(),
                    kind: ce.kind,
                    date,
                    fields: f,
                });
            }
        }
        for e in &cal.events {
            if !e.kinds.contains(&kind)
                || (!e.sizes.is_empty() && !size.is_some_and(|s| e.sizes.contains(&s)))
            {
                continue;
            }
            for y in from.year()..=to.year() {
                let (a, b) = year_bounds(y);
                let (a, b) = (a.max(from), b.min(to));
                let covered = a.until(b).map(|s| s.get_days() + 1).unwrap_or(0) as f64;
                let n = poisson(rng, e.rate * covered / 365.0);
                for _ in 0..n {
                    let date = day_between(rng, a, b);
                    let mut f = Vec::with_capacity(e.fields.len());
                    for d in &e.fields {
                        f.push(match d {
                            Draw::LogNormal { mu, sigma, max } => {
                                let x = (mu + sigma * normal(rng)).exp();
                                money(max.map_or(x, |m| x.min(m)))
                            }
                            Draw::Shares(en, shares) => Value::Enum(*en, pick(rng, shares)),
                            Draw::Bool(p) => Value::Bool(rng.random::<f64>() < *p),
                            Draw::Fixed(val) => val.clone(),
                            Draw::Default(ty) => match ty {
                                Type::Bool => Value::Bool(true),
                                Type::Enum(en) if *en == v.region => Value::Enum(v.region, region),
                                Type::Enum(en) => {
                                    let n = v.enums[*en].members.len() as u32;
                                    Value::Enum(*en, rng.random_range(0..n))
                                }
                                // Filled in with the event id below: one item, one event.
                                Type::Text => Value::Text(String::new()),
                                Type::Int => Value::Int(date.year() as i64 - 1),
                                Type::Date => Value::Date(date),
                                _ => Value::Unknown,
                            },
                        });
                    }
                    events.push(Event {
                        id: String::new(),
                        kind: e.kind,
                        date,
                        fields: f,
                    });
                }
            }
        }
        events.sort_by_key(|e| e.date);
        for (i, e) in events.iter_mut().enumerate() {
            e.id = format!("{id}-{}", i + 1);
            for f in e.fields.iter_mut() {
                if *f == Value::Text(String::new()) {
                    *f = Value::Text(e.id.clone());
                }
            }
        }
        let mut figures = Vec::new();
        for (fid, ks, mu, sigma) in &cal.figures {
            if !ks.contains(&kind) {
                continue;
            }
            for y in from.year() - 1..=to.year() {
                figures.push((*fid, y as i64, money((mu + sigma * normal(rng)).exp())));
            }
        }
        certifications.sort_by_key(|(_, d)| *d);
        Input {
            as_of: to,
            applicant: Applicant {
                id,
                name,
                fields,
                certifications,
                figures,
            },
            events,
            history: Vec::new(),
        }
    }
}

impl Iterator for Generator<'_> {
    type Item = Input;
    fn next(&mut self) -> Option<Input> {
        (self.next < self.size).then(|| self.applicant())
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.size - self.next) as usize;
        (n, Some(n))
    }
}

/// A synthetic population of `size` applicants following the calibration: the same seed gives
/// the same population. The calibration's counts describe its own `population.count`; another
/// size is a proportional sample.
pub fn generate<'l>(
    lib: &'l Library,
    cal: &Calibration,
    size: u64,
    seed: u64,
) -> Result<impl Iterator<Item = Input> + 'l, PopulationError> {
    generate_over(lib, cal, size, seed, None)
}

/// [`generate`] over another period than the calibration's.
pub fn generate_over<'l>(
    lib: &'l Library,
    cal: &Calibration,
    size: u64,
    seed: u64,
    period: Option<(Date, Date)>,
) -> Result<impl Iterator<Item = Input> + 'l, PopulationError> {
    let mut r = cal.resolve(lib)?;
    if let Some((f, t)) = period {
        if f > t {
            return Err(PopulationError::new("--from 晚于 --to (from is after to)"));
        }
        r.from = f;
        r.to = t;
    }
    Ok(Generator {
        lib,
        cal: r,
        rng: ChaCha8Rng::seed_from_u64(seed),
        next: 0,
        size,
    })
}

//! Exact money for kechuang: [`Money`] (CNY), [`Rate`] (a fraction written as % or ‰), the one
//! rounding rule of the platform, and the allocation of an award between government levels.
//!
//! The key decision: every amount is an exact `rust_decimal::Decimal`, and intermediate results
//! are never rounded. Rounding happens once, explicitly, when an award is fixed: *down* to the
//! fen ([`Money::round_down_to_fen`]), because every clause we encode states a maximum
//! ("不超过…", "最高…") and rounding up could pay one fen more than the text allows.
//! A split gives each level its share rounded down and the remainder to one named level, so
//! the parts always add up to the award exactly ([`allocate`]). There is no floating point
//! anywhere in this crate, and no way to build a `Money` from one.

use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt;
use std::ops::{Add, Neg, Sub};
use std::str::FromStr;

pub use rust_decimal::Decimal as Dec;

/// An amount of Chinese yuan, exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

/// A proportion: `10%` is stored as 0.10, `0.2‰` as 0.0002.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(Decimal);

/// Why a text is not a valid amount or rate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not a decimal number at all.
    NotANumber(String),
    /// More than two decimals: an amount of money is at most precise to the fen.
    TooPrecise(String),
    /// Thousands separators in the wrong places (`1,2,3.4`, `1234,56`): a typo or a decimal
    /// comma, never silently read as some other number.
    BadGrouping(String),
    /// Beyond [`Money::MAX`] in absolute value.
    OutOfRange(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::NotANumber(s) => write!(f, "“{s}” is not a decimal number"),
            ParseError::TooPrecise(s) => {
                write!(
                    f,
                    "“{s}” has more than two decimals (amounts are exact to the fen)"
                )
            }
            ParseError::BadGrouping(s) => write!(
                f,
                "“{s}”的千位分隔符位置不对:应为 1,234,567.89 或不分隔 \
                 (thousands separators only between groups of three digits before the point)"
            ),
            ParseError::OutOfRange(s) => write!(
                f,
                "“{s}”超出金额上限 {} 元,请检查单位(元,不是分) (beyond the maximum amount; check the unit)",
                Money::MAX.grouped()
            ),
        }
    }
}

impl std::error::Error for ParseError {}

/// Removes thousands separators (`,` or `_`, one kind per number) where they are valid: only in
/// the integer part, only between groups of exactly three digits, with a first group of one to
/// three digits. `1,234,567.89` and `1234567.89` pass; `1,2,3.4`, `1234,56` and `1,234.5,6` are
/// [`ParseError::BadGrouping`].
fn strip_grouping(text: &str) -> Result<String, ParseError> {
    let t = text.trim();
    let sep = match (t.contains(','), t.contains('_')) {
        (false, false) => return Ok(t.to_string()),
        (true, false) => ',',
        (false, true) => '_',
        (true, true) => return Err(ParseError::BadGrouping(text.to_string())),
    };
    let unsigned = t.strip_prefix('-').unwrap_or(t);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let bad = || ParseError::BadGrouping(text.to_string());
    if frac.is_some_and(|f| f.contains(sep)) {
        return Err(bad());
    }
    let mut groups = int.split(sep);
    let first = groups.next().unwrap_or("");
    if first.is_empty() || first.len() > 3 {
        return Err(bad());
    }
    if groups.any(|g| g.len() != 3) {
        return Err(bad());
    }
    Ok(t.chars().filter(|c| *c != sep).collect())
}

/// A plain decimal number as people type it in data (`1,234.5`, `-3`): grouping only in valid
/// positions, no exponent. For amounts use [`Money::parse_amount`].
pub fn parse_number(text: &str) -> Result<Decimal, ParseError> {
    parse_decimal(text)
}

fn parse_decimal(text: &str) -> Result<Decimal, ParseError> {
    let cleaned = strip_grouping(text)?;
    // Only plain decimal notation: "1.2e3" is a typo in a money column, not a number.
    if !cleaned
        .trim()
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Err(ParseError::NotANumber(text.to_string()));
    }
    Decimal::from_str(cleaned.trim()).map_err(|_| ParseError::NotANumber(text.to_string()))
}

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// The largest amount the platform accepts anywhere (input figures, approvals, payments,
    /// budgets): 1,000,000,000,000.00 元 (一万亿元), far above any figure of an S&T policy and
    /// far below the integer-fen storage limit, so that sums of many amounts stay exact.
    /// Every boundary that reads an amount checks it with [`Money::check_range`].
    pub const MAX: Money = Money(Decimal::from_parts(
        // 10^14 fen at scale 2: 10^14 = 23,283 × 2^32 + 276,447,232.
        276_447_232,
        23_283,
        0,
        false,
        2,
    ));

    pub fn from_decimal(d: Decimal) -> Money {
        Money(d)
    }

    /// Whole yuan.
    pub fn yuan(n: i64) -> Money {
        Money(Decimal::from(n))
    }

    /// An amount given in fen (1/100 yuan).
    pub fn from_fen(fen: i64) -> Money {
        Money(Decimal::new(fen, 2))
    }

    /// An amount given in fen, in a constant.
    pub const fn from_fen_const(fen: i64) -> Money {
        Money(Decimal::from_parts(
            fen.unsigned_abs() as u32,
            (fen.unsigned_abs() >> 32) as u32,
            0,
            fen < 0,
            2,
        ))
    }

    /// Parses an amount as written in input data: `"1234567.89"`, `"1,234,567.89"`. At most two
    /// decimals: input figures are real amounts, already to the fen.
    pub fn parse_amount(text: &str) -> Result<Money, ParseError> {
        let d = parse_decimal(text)?;
        if d.scale() > 2 && d.normalize().scale() > 2 {
            return Err(ParseError::TooPrecise(text.to_string()));
        }
        Money(d).check_range(text)
    }

    /// `self` if its absolute value is at most [`Money::MAX`]; `text` names the input.
    pub fn check_range(self, text: &str) -> Result<Money, ParseError> {
        if self.0.abs() > Money::MAX.0 {
            Err(ParseError::OutOfRange(text.to_string()))
        } else {
            Ok(self)
        }
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// The platform's one rounding rule: down to the fen, toward zero.
    pub fn round_down_to_fen(self) -> Money {
        Money(self.0.round_dp_with_strategy(2, RoundingStrategy::ToZero))
    }

    pub fn is_whole_fen(self) -> bool {
        self.0 == self.0.round_dp(2)
    }

    pub fn scale_by(self, rate: Rate) -> Money {
        Money(self.0 * rate.0)
    }

    pub fn times_int(self, n: i64) -> Money {
        Money(self.0 * Decimal::from(n))
    }

    /// Division by a count; `None` on division by zero.
    pub fn div_int(self, n: i64) -> Option<Money> {
        if n == 0 {
            None
        } else {
            self.0.checked_div(Decimal::from(n)).map(Money)
        }
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub fn checked_scale_by(self, rate: Rate) -> Option<Money> {
        self.0.checked_mul(rate.0).map(Money)
    }

    pub fn max(self, other: Money) -> Money {
        if self >= other { self } else { other }
    }

    pub fn min(self, other: Money) -> Money {
        if self <= other { self } else { other }
    }

    /// `1,234,567.89`: thousands separators and always two decimals — how a bureau clerk reads
    /// an amount. Amounts not yet rounded show all their digits (`123,456.789`) so a trace
    /// never hides a rounding step.
    pub fn grouped(self) -> String {
        let mut d = self.0.normalize();
        if d.scale() < 2 {
            d.rescale(2);
        }
        // Digits are ASCII: group by bytes, no per-char allocation (this runs in every trace).
        let s = d.abs().to_string();
        let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
        let mut out = String::with_capacity(s.len() + int.len() / 3 + 2);
        if d.is_sign_negative() && !d.is_zero() {
            out.push('-');
        }
        let n = int.len();
        for (i, b) in int.bytes().enumerate() {
            if i > 0 && (n - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(b as char);
        }
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        out
    }

    /// Plain machine form with exactly two decimals once rounded: `1234567.89`.
    pub fn plain(self) -> String {
        let mut d = self.0.normalize();
        if d.scale() < 2 {
            d.rescale(2);
        }
        d.to_string()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} 元", self.grouped())
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

/// How a rate was written, so that it prints back the way the clause wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateUnit {
    Percent,
    PerMille,
}

impl Rate {
    pub const ONE: Rate = Rate(Decimal::ONE);
    pub const ZERO: Rate = Rate(Decimal::ZERO);

    pub fn from_fraction(d: Decimal) -> Rate {
        Rate(d)
    }

    pub fn percent(d: Decimal) -> Rate {
        Rate(d / Decimal::ONE_HUNDRED)
    }

    pub fn per_mille(d: Decimal) -> Rate {
        Rate(d / Decimal::ONE_THOUSAND)
    }

    /// `numerator/denominator`, e.g. the 1/2 of a 1:1 split. `None` if the denominator is 0.
    pub fn ratio(numerator: i64, denominator: i64) -> Option<Rate> {
        if denominator == 0 {
            return None;
        }
        Decimal::from(numerator)
            .checked_div(Decimal::from(denominator))
            .map(Rate)
    }

    /// Parses `10%`, `0.2‰` or a plain fraction `0.5`.
    pub fn parse(text: &str) -> Result<Rate, ParseError> {
        let t = text.trim();
        if let Some(n) = t.strip_suffix('%') {
            Ok(Rate::percent(parse_decimal(n)?))
        } else if let Some(n) = t.strip_suffix('‰') {
            Ok(Rate::per_mille(parse_decimal(n)?))
        } else {
            Ok(Rate(parse_decimal(t)?))
        }
    }

    pub fn fraction(self) -> Decimal {
        self.0
    }

    pub fn times(self, other: Rate) -> Rate {
        Rate(self.0 * other.0)
    }

    pub fn plus(self, other: Rate) -> Rate {
        Rate(self.0 + other.0)
    }

    pub fn minus(self, other: Rate) -> Rate {
        Rate(self.0 - other.0)
    }

    /// Prints in the unit the rule used: `10%`, `0.2‰`.
    pub fn display_in(self, unit: RateUnit) -> String {
        let v = match unit {
            RateUnit::Percent => self.0 * Decimal::ONE_HUNDRED,
            RateUnit::PerMille => self.0 * Decimal::ONE_THOUSAND,
        };
        let sym = if unit == RateUnit::Percent {
            "%"
        } else {
            "‰"
        };
        format!("{}{}", v.normalize(), sym)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = self.0 * Decimal::ONE_HUNDRED;
        if pct.normalize().scale() >= 2 {
            f.write_str(&self.display_in(RateUnit::PerMille))
        } else {
            f.write_str(&self.display_in(RateUnit::Percent))
        }
    }
}

/// Divides `total` (already rounded to the fen) between parties by `shares` that sum to 1:
/// each part is its share rounded down to the fen; what is left (a few fen at most) goes to
/// the party at `remainder_to`. The parts always sum to `total` exactly.
///
/// Returns `None` when the shares do not sum to exactly 1 or the index is out of range:
/// the checker rejects such splits, so this is a defence, not a path users reach.
pub fn allocate(total: Money, shares: &[Rate], remainder_to: usize) -> Option<Vec<Money>> {
    let sum: Decimal = shares.iter().map(|r| r.0).sum();
    if sum != Decimal::ONE || remainder_to >= shares.len() {
        return None;
    }
    let mut parts: Vec<Money> = shares
        .iter()
        .map(|r| total.scale_by(*r).round_down_to_fen())
        .collect();
    let given: Money = parts.iter().copied().sum();
    parts[remainder_to] = parts[remainder_to] + (total - given);
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        Money::parse_amount(s).unwrap()
    }

    #[test]
    fn groups_thousands_and_keeps_two_decimals() {
        assert_eq!(m("1234567.89").grouped(), "1,234,567.89");
        assert_eq!(m("200000").grouped(), "200,000.00");
        assert_eq!(m("999").grouped(), "999.00");
        assert_eq!(m("-1000.5").grouped(), "-1,000.50");
        assert_eq!(m("0").to_string(), "0.00 元");
    }

    #[test]
    fn unrounded_amounts_show_all_digits() {
        let x = m("1234567.89").scale_by(Rate::percent(Decimal::TEN));
        assert_eq!(x.grouped(), "123,456.789");
        assert_eq!(x.round_down_to_fen().grouped(), "123,456.78");
    }

    #[test]
    fn rejects_sub_fen_input_and_garbage() {
        assert_eq!(
            Money::parse_amount("1.001"),
            Err(ParseError::TooPrecise("1.001".into()))
        );
        assert!(Money::parse_amount("1.2e3").is_err());
        assert!(Money::parse_amount("abc").is_err());
        assert_eq!(m("1.500"), m("1.5"));
    }

    // Issue 9, defect 6: separators were dropped anywhere ("1,2,3.4" read as 123.40).
    #[test]
    fn issue_9_grouping_only_in_valid_positions() {
        assert_eq!(m("1,234,567.89"), m("1234567.89"));
        assert_eq!(m("123,456"), m("123456"));
        assert_eq!(m("200_000"), m("200000"));
        assert_eq!(m("-1,000.5"), m("-1000.50"));
        for bad in [
            "1,2,3.4",
            "1234,56",
            "1,234.5,6",
            ",123",
            "1,,234",
            "12345,678",
            "1,234_567",
            "1,23",
            "1.234,56",
        ] {
            assert_eq!(
                Money::parse_amount(bad),
                Err(ParseError::BadGrouping(bad.into())),
                "{bad}"
            );
        }
        assert!(
            ParseError::BadGrouping("1,2".into())
                .to_string()
                .contains("千位分隔符")
        );
    }

    // Issue 9, defect 2: amounts near the type limits panicked downstream.
    #[test]
    fn issue_9_one_maximum_amount() {
        assert_eq!(Money::MAX, m("1000000000000"));
        assert_eq!(m("1,000,000,000,000.00"), Money::MAX);
        assert_eq!(m("-1000000000000"), -Money::MAX);
        for big in [
            "1000000000000.01",
            "79228162514264337593543950335",
            "-1000000000001",
        ] {
            assert_eq!(
                Money::parse_amount(big),
                Err(ParseError::OutOfRange(big.into())),
                "{big}"
            );
        }
        // A number too large for a decimal at all is still an error, never a panic.
        assert!(Money::parse_amount("792281625142643375935439503351234").is_err());
    }

    #[test]
    fn rates_parse_and_print_in_their_unit() {
        assert_eq!(Rate::parse("10%").unwrap().fraction(), Decimal::new(1, 1));
        assert_eq!(Rate::parse("0.2‰").unwrap().fraction(), Decimal::new(2, 4));
        assert_eq!(Rate::parse("1.5%").unwrap().to_string(), "1.5%");
        assert_eq!(Rate::parse("0.2‰").unwrap().to_string(), "0.2‰");
    }

    #[test]
    fn split_remainder_goes_to_named_party() {
        // 0.2‰ of 12,345,678.90 = 2,469.13578 → 2,469.13; half is 1,234.565.
        let total = m("12345678.90")
            .scale_by(Rate::parse("0.2‰").unwrap())
            .round_down_to_fen();
        assert_eq!(total, m("2469.13"));
        let half = Rate::ratio(1, 2).unwrap();
        let parts = allocate(total, &[half, half], 0).unwrap();
        assert_eq!(parts, vec![m("1234.57"), m("1234.56")]);
    }

    #[test]
    fn split_refuses_shares_not_summing_to_one() {
        let third = Rate::ratio(1, 3).unwrap();
        // 1/3 in a finite decimal does not sum to exactly 1.
        assert_eq!(allocate(m("100"), &[third, third, third], 0), None);
        assert_eq!(allocate(m("100"), &[Rate::ONE], 1), None);
    }

    proptest! {
        #[test]
        fn split_parts_always_sum_to_total(fen in 0i64..10_000_000_000, a in 1i64..99, rem in 0usize..3) {
            let total = Money::from_fen(fen);
            let r1 = Rate::percent(Decimal::from(a));
            let r2 = Rate::percent(Decimal::from(100 - a)) ;
            let shares = [Rate::percent(Decimal::ZERO), r1, r2];
            let parts = allocate(total, &shares, rem).unwrap();
            prop_assert_eq!(parts.iter().copied().sum::<Money>(), total);
            for p in &parts { prop_assert!(!p.is_negative()); prop_assert!(p.is_whole_fen()); }
        }

        #[test]
        fn rounding_never_goes_up(fen in 0i64..1_000_000_000, permille in 0i64..1000) {
            let x = Money::from_fen(fen).scale_by(Rate::per_mille(Decimal::from(permille)));
            let r = x.round_down_to_fen();
            prop_assert!(r <= x);
            prop_assert!(x - r < Money::from_fen(1));
        }
    }
}

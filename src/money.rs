//! Exact money (docs/metrics.md, "Money").
//!
//! An amount is held as a whole number of ten-thousandths of the currency unit (`i64`), so the
//! four-decimal amounts real exports carry (line totals such as 957.5775) add up exactly, in any
//! order, on any number of threads. Amounts are rounded to cents, half away from zero, only when
//! a figure is written. Parallel float sums, by contrast, differ in their last bits between runs
//! and flip totals that end in half a cent.

use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub};

/// Ten-thousandths of the currency unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub i64);

/// Units per currency unit.
pub const SCALE: i64 = 10_000;

/// The largest amount one cell may hold: a trillion. Ten million such cells still sum inside
/// `i64` (9.2 × 10^14 units of currency) only in part, so every sum is checked as well.
pub const MAX_CELL: f64 = 1e12;

impl Money {
    pub const ZERO: Money = Money(0);

    /// The exact value of `x`, read as a decimal with at most four places (further places are
    /// rounded half away from zero). `None` for NaN, ±∞ and magnitudes of a trillion or more.
    ///
    /// Exact for every decimal of at most four places below a trillion: the f64 nearest to
    /// d / 10^4 times 10^4 is within 2^-52 · |d| of d, far less than half a unit.
    pub fn from_f64(x: f64) -> Option<Money> {
        if !x.is_finite() || x.abs() >= MAX_CELL {
            return None;
        }
        Some(Money((x * SCALE as f64).round() as i64))
    }

    /// Whole currency units (an integer cell of a Parquet or Excel file).
    pub fn from_units(units: i64) -> Option<Money> {
        if units.unsigned_abs() as f64 >= MAX_CELL {
            return None;
        }
        Some(Money(units * SCALE))
    }

    /// `self × factor`, both exact decimals, rounded to the unit half away from zero (a line's
    /// quantity × unit price). `None` past a trillion, like a cell.
    pub fn times(self, factor: Money) -> Option<Money> {
        let product = self.0 as i128 * factor.0 as i128;
        let rounded = div_round(product, SCALE as i128);
        (rounded.unsigned_abs() < (MAX_CELL as i128 * SCALE as i128) as u128)
            .then_some(Money(rounded as i64))
    }

    /// Whole cents, rounded half away from zero.
    pub fn cents(self) -> i64 {
        let half = SCALE / 200;
        let per_cent = SCALE / 100;
        if self.0 >= 0 {
            (self.0 + half) / per_cent
        } else {
            -((-self.0 + half) / per_cent)
        }
    }

    /// The amount rounded to cents, as the nearest f64 (what output tables hold).
    pub fn to_f64_cents(self) -> f64 {
        let c = self.cents();
        if c == 0 {
            0.0
        } else {
            c as f64 / 100.0
        }
    }

    /// The exact amount as f64 (for ratios and model inputs; never summed as floats).
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / SCALE as f64
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// The amount rounded to cents, half away from zero, still exact.
    pub fn round_cents(self) -> Money {
        Money(self.cents() * (SCALE / 100))
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }
}

/// `n / d` rounded half away from zero (`d > 0`).
fn div_round(n: i128, d: i128) -> i128 {
    let half = d / 2;
    if n >= 0 {
        (n + half) / d
    } else {
        -((-n + half) / d)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, other: Money) {
        self.0 += other.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0 - other.0)
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

/// A total over many customers, which may pass what one `Money` holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Total(pub i128);

impl Total {
    pub fn add(&mut self, m: Money) {
        self.0 += i128::from(m.0);
    }
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / SCALE as f64
    }
    /// Rounded to cents, half away from zero, as the nearest f64.
    pub fn to_f64_cents(self) -> f64 {
        let half = i128::from(SCALE / 200);
        let per_cent = i128::from(SCALE / 100);
        let c = if self.0 >= 0 {
            (self.0 + half) / per_cent
        } else {
            -((-self.0 + half) / per_cent)
        };
        if c == 0 {
            0.0
        } else {
            c as f64 / 100.0
        }
    }
}

impl Total {
    /// The total divided by `n` (> 0), rounded to cents half away from zero, as the nearest f64:
    /// an exact average of money.
    pub fn per_cents(self, n: u64) -> f64 {
        let c = div_round(self.0, i128::from(n.max(1)) * i128::from(SCALE / 100));
        if c == 0 {
            0.0
        } else {
            c as f64 / 100.0
        }
    }
}

impl FromIterator<Money> for Total {
    fn from_iter<I: IntoIterator<Item = Money>>(iter: I) -> Total {
        let mut t = Total::default();
        for m in iter {
            t.add(m);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_are_exact_and_rounded_half_away_from_zero() {
        let m = |x: f64| Money::from_f64(x).unwrap();
        assert_eq!(m(6.0).times(m(2.55)), Some(m(15.3)));
        assert_eq!(m(-12.0).times(m(0.29)), Some(m(-3.48)));
        // 0.0003 × 0.5 = 0.00015 → 0.0002 (half away from zero), and negative alike.
        assert_eq!(m(0.0003).times(m(0.5)), Some(Money(2)));
        assert_eq!(m(-0.0003).times(m(0.5)), Some(Money(-2)));
        assert_eq!(m(1e6).times(m(1e6)), None, "a trillion is past a cell");
    }

    #[test]
    fn four_decimal_amounts_are_exact_and_round_half_away_from_zero() {
        assert_eq!(Money::from_f64(957.5775), Some(Money(9_575_775)));
        assert_eq!(Money::from_f64(0.1), Some(Money(1_000)));
        assert_eq!(Money::from_f64(-33.52), Some(Money(-335_200)));
        // 1.005 is 1.00499999999999989... as f64; read as a decimal it is exactly 1.005.
        let m = Money::from_f64(1.005).unwrap();
        assert_eq!(m, Money(10_050));
        assert_eq!(m.cents(), 101);
        assert_eq!((-m).cents(), -101);
        assert_eq!(Money(10_049).cents(), 100);
        assert_eq!(Money(49).cents(), 0);
        assert_eq!(Money(-50).cents(), -1);
        assert_eq!(Money(-50).to_f64_cents(), -0.01);
        assert_eq!(Money(-49).to_f64_cents(), 0.0);
        assert!(Money(-49).to_f64_cents().is_sign_positive());
    }

    #[test]
    fn non_finite_and_huge_amounts_are_refused() {
        assert_eq!(Money::from_f64(f64::NAN), None);
        assert_eq!(Money::from_f64(f64::INFINITY), None);
        assert_eq!(Money::from_f64(-1e300), None);
        assert_eq!(Money::from_f64(1e12), None);
        assert!(Money::from_f64(999_999_999_999.99).is_some());
        assert_eq!(Money::from_units(2_000_000_000_000), None);
        assert_eq!(Money::from_units(-5), Some(Money(-50_000)));
    }

    #[test]
    fn sums_do_not_depend_on_order() {
        let parts: Vec<Money> = [0.005, 0.1, 0.2, 0.3, 957.5775, -0.0025]
            .iter()
            .map(|&x| Money::from_f64(x).unwrap())
            .collect();
        let forward: Money = parts.iter().sum();
        let backward: Money = parts.iter().rev().sum();
        assert_eq!(forward, backward);
        assert_eq!(forward, Money(9_581_800));
        let total: Total = parts.iter().copied().collect();
        assert_eq!(total.to_f64_cents(), 958.18);
    }
}

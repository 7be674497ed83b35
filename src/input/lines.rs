//! Line-item exports: a line's amount from its quantity, unit price and discount, for files
//! that have no amount column (docs/metrics.md, "Line items").

use polars::prelude::*;

use crate::money::{Money, SCALE};

/// How a discount column is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscountKind {
    /// A fraction when every value lies between 0 and 1, an amount otherwise.
    #[default]
    Auto,
    /// A fraction of quantity × unit price: 0.2 is 20 % off.
    Rate,
    /// Money taken off the line: 2.5 is 2.50 off.
    Amount,
}

impl DiscountKind {
    /// `Rate` or `Amount` for this column (`Auto` decided by its values).
    pub fn resolve(self, discount: &Int64Chunked) -> DiscountKind {
        match self {
            DiscountKind::Auto => {
                let fraction = discount.iter().flatten().all(|d| (0..=SCALE).contains(&d));
                if fraction {
                    DiscountKind::Rate
                } else {
                    DiscountKind::Amount
                }
            }
            other => other,
        }
    }
}

/// The amounts of the lines, and the first line whose amount passes what a cell may hold.
pub struct LineAmounts {
    /// Money units; null where the quantity or the unit price is empty.
    pub amount: Int64Chunked,
    pub overflow: Option<usize>,
}

/// amount = quantity × unit price, less the discount (`Rate`: × (1 − discount); `Amount`:
/// − discount), each product rounded to the unit (1/10,000) half away from zero. An empty
/// discount is none. `discount_kind` must be resolved.
pub fn line_amounts(
    quantity: &Int64Chunked,
    price: &Int64Chunked,
    discount: Option<&Int64Chunked>,
    discount_kind: DiscountKind,
) -> LineAmounts {
    let mut overflow = None;
    let n = quantity.len();
    let mut out: Vec<Option<i64>> = Vec::with_capacity(n);
    let discounts: Box<dyn Iterator<Item = Option<i64>>> = match discount {
        Some(d) => Box::new(d.iter()),
        None => Box::new(std::iter::repeat(None)),
    };
    for (i, ((q, p), d)) in quantity.iter().zip(price.iter()).zip(discounts).enumerate() {
        let (Some(q), Some(p)) = (q, p) else {
            out.push(None);
            continue;
        };
        let d = d.unwrap_or(0);
        let line = Money(q)
            .times(Money(p))
            .and_then(|gross| match discount_kind {
                DiscountKind::Amount => gross.0.checked_sub(d).map(Money),
                _ => gross.times(Money(SCALE - d)),
            });
        match line {
            Some(m) => out.push(Some(m.0)),
            None => {
                overflow.get_or_insert(i);
                out.push(None);
            }
        }
    }
    LineAmounts {
        amount: Int64Chunked::from_iter_options(PlSmallStr::from_static("amount"), out.into_iter()),
        overflow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(values: &[Option<f64>]) -> Int64Chunked {
        Int64Chunked::from_iter_options(
            PlSmallStr::EMPTY,
            values
                .iter()
                .map(|v| v.map(|x| Money::from_f64(x).unwrap().0)),
        )
    }

    #[test]
    fn amounts_of_lines_with_rate_and_amount_discounts() {
        let q = col(&[Some(6.0), Some(-2.0), Some(3.0), None]);
        let p = col(&[Some(2.55), Some(4.95), Some(0.85), Some(1.0)]);
        let rate = col(&[Some(0.1), None, Some(0.0), None]);
        assert_eq!(DiscountKind::Auto.resolve(&rate), DiscountKind::Rate);
        let a = line_amounts(&q, &p, Some(&rate), DiscountKind::Rate);
        let got: Vec<Option<i64>> = a.amount.iter().collect();
        // 6 × 2.55 × 0.9 = 13.77; −2 × 4.95 = −9.90; 3 × 0.85 = 2.55; no quantity: empty.
        assert_eq!(got, vec![Some(137_700), Some(-99_000), Some(25_500), None]);

        let off = col(&[Some(1.5), None, Some(2.0), None]);
        assert_eq!(DiscountKind::Auto.resolve(&off), DiscountKind::Amount);
        let a = line_amounts(&q, &p, Some(&off), DiscountKind::Amount);
        let got: Vec<Option<i64>> = a.amount.iter().collect();
        assert_eq!(got, vec![Some(138_000), Some(-99_000), Some(5_500), None]);
        assert_eq!(a.overflow, None);
    }

    #[test]
    fn a_line_past_a_trillion_is_reported() {
        let q = col(&[Some(1.0), Some(2e6)]);
        let p = col(&[Some(1.0), Some(1e6)]);
        let a = line_amounts(&q, &p, None, DiscountKind::Rate);
        assert_eq!(a.overflow, Some(1));
    }
}

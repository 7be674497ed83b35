//! Special functions the CLV models need: log-gamma (libm), digamma and the Gauss hypergeometric
//! function 2F1 on 0 ≤ z < 1, the only range the models use.

/// ln Γ(x) for x > 0.
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// ψ(x) = d/dx ln Γ(x) for x > 0: the recurrence ψ(x) = ψ(x + 1) − 1/x up to x ≥ 6, then the
/// asymptotic series (error below 1e-13 from there).
pub fn digamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    acc + x.ln()
        - 0.5 * inv
        - inv2
            * (1.0 / 12.0
                - inv2 * (1.0 / 120.0 - inv2 * (1.0 / 252.0 - inv2 * (1.0 / 240.0 - inv2 / 132.0))))
}

/// ln 2F1(a, b; c; z) for a, b, c > 0 and 0 ≤ z < 1, summed as a power series whose terms are
/// all positive. The running sum is rescaled when it grows large, so heavy buyers (a, b in the
/// hundreds, where the terms rise a long way before they fall) neither overflow nor lose digits.
/// `None` when the series has not converged after a million terms (z within 1e-5 of 1).
pub fn ln_hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&z) || a <= 0.0 || b <= 0.0 || c <= 0.0 {
        return None;
    }
    if z == 0.0 {
        return Some(0.0);
    }
    const BIG: f64 = 1e200;
    let mut offset = 0.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..1_000_000u32 {
        let n = f64::from(n);
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if sum > BIG {
            sum /= BIG;
            term /= BIG;
            offset += BIG.ln();
        }
        // The ratio of successive terms tends to z < 1; once it is below 1 and the term no longer
        // moves the sum, the tail (a geometric bound) is negligible.
        let ratio = (a + n + 1.0) * (b + n + 1.0) / ((c + n + 1.0) * (n + 2.0)) * z;
        if ratio < 1.0 && term / (1.0 - ratio) <= sum * 1e-16 {
            return Some(sum.ln() + offset);
        }
    }
    None
}

/// ln(e^x + e^y), stable for large magnitudes.
pub fn log_add_exp(x: f64, y: f64) -> f64 {
    let m = x.max(y);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((x - m).exp() + (y - m).exp()).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digamma_matches_known_values() {
        // ψ(1) = −γ (Euler–Mascheroni), ψ(1/2) = −γ − 2 ln 2, ψ(10) = H_9 − γ.
        let euler = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + euler).abs() < 1e-12);
        assert!((digamma(0.5) + euler + 2.0 * 2f64.ln()).abs() < 1e-12);
        let h9: f64 = (1..10).map(|k| 1.0 / f64::from(k)).sum();
        assert!((digamma(10.0) - (h9 - euler)).abs() < 1e-12);
    }

    #[test]
    fn hyp2f1_matches_closed_forms() {
        // 2F1(1, 1; 2; z) = −ln(1 − z)/z.
        for z in [0.1f64, 0.5, 0.9, 0.99] {
            let exact = -(1.0 - z).ln() / z;
            let got = ln_hyp2f1(1.0, 1.0, 2.0, z).unwrap().exp();
            assert!((got / exact - 1.0).abs() < 1e-12, "z={z}: {got} vs {exact}");
        }
        // 2F1(a, b; b; z) = (1 − z)^−a, here with large a (the heavy-buyer case).
        for (a, z) in [(3.5, 0.3f64), (400.0, 0.7), (5000.0, 0.9)] {
            let exact = -a * (1.0 - z).ln();
            let got = ln_hyp2f1(a, 2.5, 2.5, z).unwrap();
            assert!(
                (got / exact - 1.0).abs() < 1e-10,
                "a={a} z={z}: {got} vs {exact}"
            );
        }
        assert_eq!(ln_hyp2f1(1.0, 1.0, 2.0, 1.0), None);
    }
}

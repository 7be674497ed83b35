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

/// 2F1(a, b; c; z) summed as a plain series, for a, b > 0, −1 < c < 0 and 0 ≤ z < 1, where the
/// terms after the first are negative and the value may be below 0 (BG/NBD's expected purchases
/// of a customer with no repeat purchase when a + b < 1). `None` when the series has not
/// converged after a million terms.
pub fn hyp2f1_series(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&z) || c == 0.0 || c <= -1.0 {
        return None;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..1_000_000u32 {
        let n = f64::from(n);
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        let ratio = (a + n + 1.0) * (b + n + 1.0) / ((c + n + 1.0) * (n + 2.0)) * z;
        if ratio > 0.0 && ratio < 1.0 && term.abs() / (1.0 - ratio) <= sum.abs().max(1.0) * 1e-16 {
            return sum.is_finite().then_some(sum);
        }
    }
    None
}

/// ln 2F1(a, b; a + 1; z) for a, b > 0 and 0 ≤ z < 1: the form Pareto/NBD's likelihood uses.
/// The power series needs about (b + 40) / (1 − z) terms; when that passes 2,000 (z near 1: a
/// dropout rate running towards 0, or heavy buyers) it is replaced by the integral
/// 2F1 = a ∫₀¹ t^(a−1) (1 − z t)^(−b) dt, taken with tanh-sinh quadrature in logs, which costs a
/// few hundred terms whatever z is (agreement with the series: `tests` below).
pub fn ln_hyp2f1_a_plus_one(a: f64, b: f64, z: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&z) || a <= 0.0 || b <= 0.0 {
        return None;
    }
    if (b + 40.0) / (1.0 - z) < 2_000.0 {
        return ln_hyp2f1(a, b, a + 1.0, z);
    }
    Some(ln_hyp2f1_a_plus_one_quadrature(a, b, z))
}

/// The integral of [`ln_hyp2f1_a_plus_one`]: with u = 1 − t, w = 1 − z and k = z / w,
/// 2F1 = a w^(−b) ∫₀¹ (1 − u)^(a−1) (1 + k u)^(−b) du; u = logistic(π sinh τ), τ on a grid of
/// step 1/32 over [−4.5, 4.5] (past that the weights are below e^−140), summed in logs.
fn ln_hyp2f1_a_plus_one_quadrature(a: f64, b: f64, z: f64) -> f64 {
    let w = 1.0 - z;
    let k = z / w;
    let softplus = |x: f64| if x > 30.0 { x } else { x.exp().ln_1p() };
    const H: f64 = 1.0 / 32.0;
    let terms = (-144..=144).map(|j| {
        let tau = f64::from(j) * H;
        let s = std::f64::consts::PI * tau.sinh();
        // u = 1 / (1 + e^−s), 1 − u = 1 / (1 + e^s), du/dτ = π cosh τ · u (1 − u).
        let ln_u = -softplus(-s);
        let ln_1mu = -softplus(s);
        // ln(1 + k u), accurate for small k u too.
        let ku = (k.ln() + ln_u).exp();
        (a - 1.0) * ln_1mu - b * ku.ln_1p()
            + (std::f64::consts::PI * tau.cosh()).ln()
            + ln_u
            + ln_1mu
    });
    let terms: Vec<f64> = terms.collect();
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = terms.iter().map(|t| (t - top).exp()).sum();
    a.ln() - b * w.ln() + top + (sum * H).ln()
}

/// ln 2F1(a, b; c; z) for several z at once, into `out` (None where a series does not converge).
/// The coefficient (a+n)(b+n) / ((c+n)(n+1)) of each term is the same for every z, so it is
/// computed once per n and shared: the monthly CLV sum needs twelve of these per customer.
pub fn ln_hyp2f1_many(a: f64, b: f64, c: f64, zs: &[f64], out: &mut [Option<f64>]) {
    const BIG: f64 = 1e200;
    let k = zs.len().min(out.len());
    if a <= 0.0 || b <= 0.0 || c <= 0.0 || zs.iter().any(|z| !(0.0..1.0).contains(z)) {
        out[..k].fill(None);
        return;
    }
    let mut term = vec![1.0f64; k];
    let mut sum = vec![1.0f64; k];
    let mut offset = vec![0.0f64; k];
    let mut done = vec![false; k];
    let mut left = k;
    for (i, z) in zs.iter().enumerate().take(k) {
        if *z == 0.0 {
            out[i] = Some(0.0);
            done[i] = true;
            left -= 1;
        }
    }
    let mut coefficient = a * b / c;
    for n in 0..1_000_000u32 {
        if left == 0 {
            return;
        }
        let nf = f64::from(n);
        let next = (a + nf + 1.0) * (b + nf + 1.0) / ((c + nf + 1.0) * (nf + 2.0));
        for i in 0..k {
            if done[i] {
                continue;
            }
            term[i] *= coefficient * zs[i];
            sum[i] += term[i];
            if sum[i] > BIG {
                sum[i] /= BIG;
                term[i] /= BIG;
                offset[i] += BIG.ln();
            }
            let ratio = next * zs[i];
            if ratio < 1.0 && term[i] / (1.0 - ratio) <= sum[i] * 1e-16 {
                out[i] = Some(sum[i].ln() + offset[i]);
                done[i] = true;
                left -= 1;
            }
        }
        coefficient = next;
    }
    for i in 0..k {
        if !done[i] {
            out[i] = None;
        }
    }
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
    fn the_quadrature_of_2f1_agrees_with_the_series() {
        // Where the series still converges (it may take many terms), both agree to 1e-11.
        for &(a, b, z) in &[
            (0.8, 0.6, 0.5),
            (5.5, 60.0, 0.99),
            (0.3, 1.2, 0.999),
            (120.0, 4.0, 0.9995),
            (2.0, 300.0, 0.998),
            (0.25, 0.25, 0.0001),
        ] {
            let series = ln_hyp2f1(a, b, a + 1.0, z).unwrap();
            let quad = ln_hyp2f1_a_plus_one_quadrature(a, b, z);
            assert!(
                (series - quad).abs() < 1e-11 * series.abs().max(1.0),
                "a {a} b {b} z {z}: series {series} quadrature {quad}"
            );
        }
        // Close to 1, where the series would need tens of millions of terms.
        let near = ln_hyp2f1_a_plus_one(5.5, 60.0, 1.0 - 1e-9).unwrap();
        assert!(near.is_finite() && near > 0.0);
    }

    #[test]
    fn many_z_at_once_equals_one_at_a_time() {
        for (a, b, c) in [(0.5, 2.4, 3.2), (40.0, 300.0, 310.0), (2.24, 4.4, 6.0)] {
            let zs = [0.0, 0.05, 0.3, 0.6, 0.9];
            let mut out = [None; 5];
            ln_hyp2f1_many(a, b, c, &zs, &mut out);
            for (z, got) in zs.iter().zip(out) {
                let want = ln_hyp2f1(a, b, c, *z).unwrap();
                let got = got.unwrap();
                assert!(
                    (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                    "{a} {b} {c} {z}: {got} vs {want}"
                );
            }
        }
        let mut out = [Some(1.0)];
        ln_hyp2f1_many(1.0, 1.0, 1.0, &[1.0], &mut out);
        assert_eq!(out, [None]);
    }

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

//! Curves over a continuous axis: the Pareto curve, survival, a KPI's trend, cumulative
//! tracking, calibration.

use super::*;

/// A curve over [0, 1] × [0, 1] (the Pareto curve), with the diagonal for reference and
/// horizontal guides at `guides` (e.g. the A and B cut-offs) labelled with where the curve meets them.
pub fn share_curve(
    name: &str,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    points: &[(f64, f64)],
    guides: &[(f64, String)],
) -> Result<Chart> {
    draw(name, title, 420, |root, hover| {
        let mut chart = frame(root, title, 56)?
            .build_cartesian_2d(0f64..1f64, 0f64..1.02f64)
            .map_err(err)?;
        styled(&mut chart.configure_mesh())
            .x_label_formatter(&percent)
            .y_label_formatter(&percent)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                MUTED.stroke_width(1),
            ))
            .map_err(err)?;
        for (level, label) in guides {
            chart
                .draw_series(LineSeries::new(
                    [(0.0, *level), (1.0, *level)],
                    GUIDE.stroke_width(1),
                ))
                .map_err(err)?;
            let style = text_style(&INK, HPos::Right, VPos::Bottom);
            chart
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (0.99, *level - 0.01),
                    style,
                )))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                ACCENT.stroke_width(2),
            ))
            .map_err(err)?;
        for &(x, y) in thin(points, 60) {
            hover.point(
                chart.backend_coord(&(x, y)),
                format!("{x_desc}: {} · {y_desc}: {}", pct1(x), pct1(y)),
            );
        }
        Ok(())
    })
}

/// Survival over periods: the observed curve (solid, with its band when given) and a model's
/// (grey, projected past the data), both from 1 at period 0, with a legend of the two.
pub fn survival(
    name: &str,
    title: &str,
    x_desc: &str,
    observed: &[(f64, f64)],
    band: &[(f64, f64, f64)],
    model: &[(f64, f64)],
    model_name: &str,
) -> Result<Chart> {
    let last = observed
        .iter()
        .chain(model)
        .map(|p| p.0)
        .fold(1.0, f64::max);
    draw(name, title, 420, |root, hover| {
        let mut chart = frame(root, title, 56)?
            .build_cartesian_2d(0f64..last, 0f64..1.02f64)
            .map_err(err)?;
        styled(&mut chart.configure_mesh())
            .x_label_formatter(&|v: &f64| format!("{v:.0}"))
            .y_label_formatter(&percent)
            .x_desc(x_desc)
            .y_desc("still subscribed")
            .draw()
            .map_err(err)?;
        for &(t, lo, hi) in band {
            chart
                .draw_series(LineSeries::new(
                    [(t, lo), (t, hi)],
                    RGBColor(198, 219, 239).stroke_width(3),
                ))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                model.iter().copied(),
                MUTED.stroke_width(2),
            ))
            .map_err(err)?
            .label(model_name.to_string())
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], MUTED.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(
                observed.iter().copied(),
                ACCENT.stroke_width(2),
            ))
            .map_err(err)?
            .label("observed (Kaplan–Meier)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], ACCENT.stroke_width(2)));
        for &(t, v) in thin(observed, 60) {
            hover.point(
                chart.backend_coord(&(t, v)),
                format!("{x_desc}: {t:.0} · {} still subscribed (observed)", pct1(v)),
            );
        }
        for &(t, v) in thin(model, 60) {
            hover.point(
                chart.backend_coord(&(t, v)),
                format!(
                    "{x_desc}: {t:.0} · {} still subscribed ({model_name})",
                    pct1(v)
                ),
            );
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// A KPI over successive runs: the values at their dates (equally spaced, in order), with the
/// target as a horizontal guide when there is one.
pub fn trend(
    name: &str,
    title: &str,
    dates: &[String],
    values: &[f64],
    target: Option<f64>,
) -> Result<Chart> {
    let (mut lo, mut hi) = values
        .iter()
        .chain(target.iter())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    if !(lo.is_finite() && hi.is_finite()) {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.1).max(hi.abs() * 0.01).max(1e-9);
    let n = dates.len().max(1);
    draw(name, title, 300, |root, hover| {
        let mut chart = frame(root, title, 64)?
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), (lo - pad)..(hi + pad))
            .map_err(err)?;
        let label = |x: &f64| step_label(dates, *x);
        // Enough decimals to tell the axis labels apart (a rate moving by 0.005 included).
        let step = (hi - lo + 2.0 * pad) / 10.0;
        let decimals = (-step.log10()).ceil().clamp(0.0, 6.0) as usize;
        styled(&mut chart.configure_mesh())
            .x_labels(n.min(8))
            .x_label_formatter(&label)
            .y_label_formatter(&|v| {
                if v.abs() >= 1e4 {
                    compact(*v)
                } else {
                    format!("{v:.decimals$}")
                }
            })
            .draw()
            .map_err(err)?;
        if let Some(t) = target {
            chart
                .draw_series(LineSeries::new(
                    [(-0.5, t), (n as f64 - 0.5, t)],
                    GUIDE.stroke_width(1),
                ))
                .map_err(err)?;
        }
        let points = indexed(values);
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                ACCENT.stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 3, ACCENT.filled())))
            .map_err(err)?;
        for (i, p) in points.iter().enumerate() {
            hover.point(
                chart.backend_coord(p),
                format!(
                    "{}: {}",
                    dates.get(i).map_or("", String::as_str),
                    exact(p.1)
                ),
            );
        }
        Ok(())
    })
}

/// Cumulative counts over dated steps: what happened (solid) beside what a model expects (grey),
/// with a dashed guide where the holdout starts (`split`, a step index) when there is one.
pub fn tracking(
    name: &str,
    title: &str,
    dates: &[String],
    actual: &[f64],
    model: &[f64],
    split: Option<usize>,
) -> Result<Chart> {
    let n = dates.len().max(1);
    let top = actual.iter().chain(model).fold(1.0f64, |m, &v| m.max(v)) * 1.05;
    draw(name, title, 400, |root, hover| {
        let mut chart = frame(root, title, 64)?
            .build_cartesian_2d(0f64..(n as f64 - 1.0).max(1.0), 0f64..top)
            .map_err(err)?;
        let label = |x: &f64| step_label(dates, *x);
        styled(&mut chart.configure_mesh())
            .x_labels(6)
            .x_label_formatter(&label)
            .y_label_formatter(&|v| compact(*v))
            .x_desc("week")
            .y_desc("repeat purchases, cumulative")
            .draw()
            .map_err(err)?;
        if let Some(k) = split {
            let x = k as f64;
            chart
                .draw_series(DashedLineSeries::new(
                    [(x, 0.0), (x, top)],
                    6,
                    4,
                    GUIDE.stroke_width(1),
                ))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    " holdout →".to_string(),
                    (x, top * 0.97),
                    text_style(&GUIDE, HPos::Left, VPos::Top),
                )))
                .map_err(err)?;
        }
        let last = (n as f64 - 1.0).max(1.0);
        for (i, date) in dates.iter().enumerate() {
            let x = i as f64;
            let (a, m) = (actual.get(i).copied(), model.get(i).copied());
            hover.area(
                chart.backend_coord(&((x - 0.5).max(0.0), top)),
                chart.backend_coord(&((x + 0.5).min(last), 0.0)),
                format!(
                    "week of {date}: {} actual, {} model (cumulative)",
                    a.map_or("–".into(), exact),
                    m.map_or("–".into(), exact)
                ),
            );
        }
        chart
            .draw_series(LineSeries::new(indexed(model), MUTED.stroke_width(2)))
            .map_err(err)?
            .label("model")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], MUTED.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(indexed(actual), ACCENT.stroke_width(2)))
            .map_err(err)?
            .label("actual")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], ACCENT.stroke_width(2)));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

/// A calibration plot: observed rate against mean predicted probability per group (deciles),
/// both 0–1, with the diagonal a perfectly calibrated model would lie on.
pub fn calibration(name: &str, title: &str, points: &[(f64, f64)]) -> Result<Chart> {
    draw(name, title, 400, |root, hover| {
        let mut chart = frame(root, title, 60)?
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(err)?;
        styled(&mut chart.configure_mesh())
            .x_desc("mean predicted probability")
            .y_desc("observed rate")
            .x_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                GUIDE.stroke_width(1),
            ))
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                ACCENT.stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 4, ACCENT.filled())))
            .map_err(err)?;
        for p in points {
            hover.point(
                chart.backend_coord(p),
                format!("predicted {}, observed {}", pct1(p.0), pct1(p.1)),
            );
        }
        Ok(())
    })
}

/// The label of an x position on an axis of dated steps (0, 1, …): the step's date at a whole
/// position, nothing between steps.
fn step_label(dates: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 1e-9 && i >= 0.0 && (i as usize) < dates.len() {
        dates[i as usize].clone()
    } else {
        String::new()
    }
}

/// Values at x = 0, 1, 2, …
fn indexed(values: &[f64]) -> Vec<(f64, f64)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64, *v))
        .collect()
}

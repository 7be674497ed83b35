//! Categories and distributions: bars, paired columns, estimates with intervals, histograms.

use super::*;

/// Horizontal bars, one per label, listed top to bottom, each followed by its `value_labels` entry.
/// `tones` colours each bar by what it means, 0 (good, green) to 1 (bad, red); `None` for a bar,
/// or for all, keeps the accent blue.
pub fn bars(
    name: &str,
    title: &str,
    x_desc: &str,
    labels: &[String],
    values: &[f64],
    value_labels: &[String],
    tones: Option<&[Option<f64>]>,
) -> Result<Chart> {
    let n = labels.len() as i32;
    let max = values.iter().fold(0.0f64, |m, &v| m.max(v));
    // Room on the right for the value labels.
    let top = if max > 0.0 { max * 1.45 } else { 1.0 };
    let height = (n.max(1) as u32) * 30 + 100;
    draw(name, title, height, |root, hover| {
        let mut chart = frame(root, title, label_area(labels, 12.0))?
            .build_cartesian_2d(0f64..top, (0..last_segment(n)).into_segmented())
            .map_err(err)?;
        let bottom_up: Vec<String> = labels.iter().rev().cloned().collect();
        let yl = segment_label(&bottom_up);
        styled(&mut chart.configure_mesh())
            .disable_y_mesh()
            .y_labels(labels.len() + 1)
            .y_label_formatter(&yl)
            .x_label_formatter(&|v| compact(*v))
            .x_desc(x_desc)
            .draw()
            .map_err(err)?;
        for (i, &v) in values.iter().enumerate() {
            let y = n - 1 - i as i32;
            let color = tones
                .and_then(|t| t.get(i).copied().flatten())
                .map_or(ACCENT, good_to_bad);
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(y + 1)),
                    (v.max(0.0), SegmentValue::Exact(y)),
                ],
                color.filled(),
            );
            bar.set_margin(4, 4, 0, 0);
            hover.area(
                chart.backend_coord(&(0.0, SegmentValue::Exact(y + 1))),
                chart.backend_coord(&(v.max(0.0), SegmentValue::Exact(y))),
                format!(
                    "{}: {}",
                    labels.get(i).map_or("", String::as_str),
                    value_labels.get(i).map_or("", String::as_str)
                ),
            );
            chart.draw_series(std::iter::once(bar)).map_err(err)?;
            let style = text_style(&INK, HPos::Left, VPos::Center);
            chart
                .draw_series(std::iter::once(Text::new(
                    format!(" {}", value_labels.get(i).map_or("", String::as_str)),
                    (v.max(0.0), SegmentValue::CenterOf(y)),
                    style,
                )))
                .map_err(err)?;
        }
        Ok(())
    })
}

/// Estimates with intervals on a 0–1 scale, one row per label (top to bottom), with a dashed
/// vertical line at `reference` (e.g. the overall rate).
pub struct Intervals<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub x_desc: &'a str,
    pub labels: Vec<String>,
    /// (estimate, low, high) per label.
    pub values: Vec<(f64, f64, f64)>,
    pub reference: Option<(f64, String)>,
}

pub fn intervals(iv: &Intervals) -> Result<Chart> {
    let n = iv.labels.len() as i32;
    let hi = iv
        .values
        .iter()
        .map(|v| v.2)
        .chain(iv.reference.iter().map(|r| r.0))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let top = (hi * 1.1).clamp(0.05, 1.0);
    let height = (n.max(1) as u32) * 30 + 110;
    draw(iv.name, iv.title, height, |root, hover| {
        let mut chart = frame(root, iv.title, label_area(&iv.labels, 12.0))?
            .build_cartesian_2d(0f64..top, (0..last_segment(n)).into_segmented())
            .map_err(err)?;
        let bottom_up: Vec<String> = iv.labels.iter().rev().cloned().collect();
        let yl = segment_label(&bottom_up);
        styled(&mut chart.configure_mesh())
            .disable_y_mesh()
            .y_labels(iv.labels.len() + 1)
            .y_label_formatter(&yl)
            .x_label_formatter(&percent)
            .x_desc(iv.x_desc)
            .draw()
            .map_err(err)?;
        if let Some((r, label)) = &iv.reference {
            chart
                .draw_series(DashedLineSeries::new(
                    [(*r, SegmentValue::Exact(0)), (*r, SegmentValue::Exact(n))],
                    4,
                    3,
                    GUIDE.stroke_width(1),
                ))
                .map_err(err)?
                .label(label.clone())
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], GUIDE.stroke_width(1))
                });
        }
        for (i, &(est, lo, hi)) in iv.values.iter().enumerate() {
            let y = SegmentValue::CenterOf(n - 1 - i as i32);
            let row = n - 1 - i as i32;
            hover.area(
                chart.backend_coord(&(0.0, SegmentValue::Exact(row + 1))),
                chart.backend_coord(&(top, SegmentValue::Exact(row))),
                format!(
                    "{}: {} ({} to {})",
                    iv.labels.get(i).map_or("", String::as_str),
                    pct1(est),
                    pct1(lo),
                    pct1(hi)
                ),
            );
            if lo.is_finite() && hi.is_finite() {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(lo, y.clone()), (hi, y.clone())],
                        ACCENT.stroke_width(2),
                    )))
                    .map_err(err)?;
            }
            if est.is_finite() {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (est, y.clone()),
                        4,
                        ACCENT.filled(),
                    )))
                    .map_err(err)?;
            }
        }
        if iv.reference.is_some() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.9))
                .border_style(MUTED)
                .label_font((FONT, 14).into_font().color(&INK))
                .draw()
                .map_err(err)?;
        }
        Ok(())
    })
}

/// A histogram of `values` in `bins` equal bins from 0 (or the minimum, if negative) to `upper`;
/// values above `upper` are counted in the last bin.
pub fn histogram(
    name: &str,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    values: &[f64],
    upper: f64,
    bins: usize,
) -> Result<Chart> {
    let lower = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::min);
    let upper = if upper > lower { upper } else { lower + 1.0 };
    let bins = bins.max(1);
    let width = (upper - lower) / bins as f64;
    let mut counts = vec![0u64; bins];
    for &v in values.iter().filter(|v| v.is_finite()) {
        let b = (((v - lower) / width).floor() as usize).min(bins - 1);
        counts[b] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    draw(name, title, 400, |root, hover| {
        let mut chart = frame(root, title, 60)?
            .build_cartesian_2d(lower..upper, 0f64..max * 1.08)
            .map_err(err)?;
        styled(&mut chart.configure_mesh())
            .disable_x_mesh()
            .x_label_formatter(&|v| compact(*v))
            .y_label_formatter(&|v| compact(*v))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(err)?;
        for (i, &c) in counts.iter().enumerate() {
            let x0 = lower + i as f64 * width;
            let last = if i + 1 == bins { " and above" } else { "" };
            hover.area(
                chart.backend_coord(&(x0, max * 1.08)),
                chart.backend_coord(&(x0 + width, 0.0)),
                format!(
                    "{x_desc}: {} to {}{last} · {y_desc}: {c}",
                    compact(x0),
                    compact(x0 + width)
                ),
            );
        }
        chart
            .draw_series(counts.iter().enumerate().map(|(i, &c)| {
                let x0 = lower + i as f64 * width;
                let mut r = Rectangle::new([(x0, c as f64), (x0 + width, 0.0)], ACCENT.filled());
                r.set_margin(0, 0, 1, 1);
                r
            }))
            .map_err(err)?;
        Ok(())
    })
}

/// Columns in pairs, one pair per label left to right: what happened (blue) beside what a model
/// expects (grey), with a legend.
pub fn paired_columns(
    name: &str,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    labels: &[String],
    actual: &[f64],
    model: &[f64],
) -> Result<Chart> {
    let n = labels.len() as i32;
    let top = actual.iter().chain(model).fold(1.0f64, |m, &v| m.max(v)) * 1.12;
    // Pixels per category, for the half-width margins of each pair.
    let segment = (WIDTH as i32 - 64 - 24) / n.max(1);
    let half = (segment / 2).max(2) as u32;
    draw(name, title, 400, |root, hover| {
        let mut chart = frame(root, title, 64)?
            .build_cartesian_2d((0..last_segment(n)).into_segmented(), 0f64..top)
            .map_err(err)?;
        let xl = segment_label(labels);
        styled(&mut chart.configure_mesh())
            .disable_x_mesh()
            .x_labels(labels.len() + 1)
            .x_label_formatter(&xl)
            .y_label_formatter(&|v| compact(*v))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(err)?;
        for (i, label) in labels.iter().enumerate() {
            let k = i as i32;
            hover.area(
                chart.backend_coord(&(SegmentValue::Exact(k), top)),
                chart.backend_coord(&(SegmentValue::Exact(k + 1), 0.0)),
                format!(
                    "{x_desc}: {label} · {} actual, {} model",
                    actual.get(i).map_or("–".into(), |v| exact(*v)),
                    model.get(i).map_or("–".into(), |v| exact(*v))
                ),
            );
        }
        let bars = |values: &[f64], color: RGBColor, left: bool| {
            values
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let i = i as i32;
                    let mut r = Rectangle::new(
                        [
                            (SegmentValue::Exact(i), v.max(0.0)),
                            (SegmentValue::Exact(i + 1), 0.0),
                        ],
                        color.filled(),
                    );
                    if left {
                        r.set_margin(0, 0, 6, half);
                    } else {
                        r.set_margin(0, 0, half, 6);
                    }
                    r
                })
                .collect::<Vec<_>>()
        };
        chart
            .draw_series(bars(actual, ACCENT, true))
            .map_err(err)?
            .label("actual")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], ACCENT.filled()));
        chart
            .draw_series(bars(model, MUTED, false))
            .map_err(err)?
            .label("model")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], MUTED.filled()));
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

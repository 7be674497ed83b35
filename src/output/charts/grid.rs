//! Heatmaps: a value per row × column cell, with their colour legend.

use super::*;

/// A heatmap: `values[row][col]`, rows listed top to bottom. Empty cells (None) stay blank.
/// The colour runs from 0 to the largest value; `cell_text` labels each filled cell.
pub struct Heatmap<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub columns: Vec<String>,
    pub rows: Vec<String>,
    pub values: Vec<Vec<Option<f64>>>,
    pub cell_text: &'a dyn Fn(f64) -> String,
    /// The value that gets the darkest colour (default: the largest); larger values get it too.
    pub scale_max: Option<f64>,
}

pub fn heatmap(h: &Heatmap) -> Result<Chart> {
    let (nx, ny) = (h.columns.len() as i32, h.rows.len() as i32);
    let max = h.scale_max.unwrap_or_else(|| {
        h.values
            .iter()
            .flatten()
            .flatten()
            .fold(0.0f64, |m, &v| m.max(v))
    });
    let cell_h = if ny > 8 { 28 } else { 44 };
    // The chart, then a strip for the colour legend.
    const LEGEND: u32 = 34;
    let height = (ny as u32) * cell_h + 110 + LEGEND;
    draw(h.name, h.title, height, |root, hover| {
        let (area, strip) = root.split_vertically(height - LEGEND);
        colour_legend(&strip, max, h.cell_text)?;
        let mut chart = frame(&area, h.title, label_area(&h.rows, 12.0) + 18)?
            .build_cartesian_2d(
                (0..last_segment(nx)).into_segmented(),
                (0..last_segment(ny)).into_segmented(),
            )
            .map_err(err)?;
        let xl = segment_label(&h.columns);
        let rows_bottom_up: Vec<String> = h.rows.iter().rev().cloned().collect();
        let yl = segment_label(&rows_bottom_up);
        styled(&mut chart.configure_mesh())
            .disable_mesh()
            .x_labels(h.columns.len() + 1)
            .y_labels(h.rows.len() + 1)
            .x_label_formatter(&xl)
            .y_label_formatter(&yl)
            .x_desc(h.x_desc)
            .y_desc(h.y_desc)
            .draw()
            .map_err(err)?;
        for (r, row) in h.values.iter().enumerate() {
            let y = ny - 1 - r as i32;
            for (c, v) in row.iter().enumerate() {
                let Some(v) = *v else { continue };
                let x = c as i32;
                let t = if max > 0.0 { (v / max).min(1.0) } else { 0.0 };
                let corners = [
                    (SegmentValue::Exact(x), SegmentValue::Exact(y + 1)),
                    (SegmentValue::Exact(x + 1), SegmentValue::Exact(y)),
                ];
                hover.area(
                    chart.backend_coord(&corners[0]),
                    chart.backend_coord(&corners[1]),
                    format!(
                        "{}: {} · {}: {} · {}",
                        h.y_desc,
                        h.rows.get(r).map_or("", String::as_str),
                        h.x_desc,
                        h.columns.get(c).map_or("", String::as_str),
                        (h.cell_text)(v)
                    ),
                );
                chart
                    .draw_series(std::iter::once(Rectangle::new(corners, blue(t).filled())))
                    .map_err(err)?;
                let ink = if t > 0.55 { WHITE } else { INK };
                let style = text_style(&ink, HPos::Center, VPos::Center);
                chart
                    .draw_series(std::iter::once(Text::new(
                        (h.cell_text)(v),
                        (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                        style,
                    )))
                    .map_err(err)?;
            }
        }
        Ok(())
    })
}

/// The heatmap's colour scale under it, right-aligned: "0 ▮▮▮▮▮▮▮▮▮▮ max" from light to dark.
pub(super) fn colour_legend(
    strip: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    max: f64,
    cell_text: &dyn Fn(f64) -> String,
) -> Result<()> {
    strip.fill(&WHITE).map_err(err)?;
    const STEPS: i32 = 10;
    const STEP_W: i32 = 18;
    let right = WIDTH as i32 - 16 - text_width(&cell_text(max), 14.0) as i32;
    let left = right - STEPS * STEP_W;
    let (y0, y1) = (6, 20);
    for k in 0..STEPS {
        let t = (f64::from(k) + 0.5) / f64::from(STEPS);
        let x = left + k * STEP_W;
        strip
            .draw(&Rectangle::new(
                [(x, y0), (x + STEP_W, y1)],
                blue(t).filled(),
            ))
            .map_err(err)?;
    }
    let style = |h| text_style(&INK, h, VPos::Center);
    strip
        .draw(&Text::new(
            cell_text(0.0),
            (left - 6, (y0 + y1) / 2),
            style(HPos::Right),
        ))
        .map_err(err)?;
    strip
        .draw(&Text::new(
            cell_text(max),
            (right + 6, (y0 + y1) / 2),
            style(HPos::Left),
        ))
        .map_err(err)?;
    Ok(())
}

//! Native Excel charts and colour scales for the tables that read best as a picture: decided here,
//! by sheet name, for every workbook written (the report's, and a command's `-o x.xlsx`).

use anyhow::Result;
use polars::prelude::*;
use rust_xlsxwriter::{Chart, ChartType, ConditionalFormat3ColorScale, Worksheet};

use crate::metrics::ALL;

/// A chart of one value column against one category column of a sheet.
struct ChartSpec {
    sheet: &'static str,
    kind: ChartType,
    category: &'static str,
    value: &'static str,
    title: &'static str,
}

const CHARTS: &[ChartSpec] = &[
    ChartSpec {
        sheet: "segments",
        kind: ChartType::Bar,
        category: "segment",
        value: "customers",
        title: "Customers by RFM segment",
    },
    ChartSpec {
        sheet: "abc_tiers",
        kind: ChartType::Column,
        category: "tier",
        value: "value_share",
        title: "Share of value by ABC tier",
    },
    ChartSpec {
        sheet: "abc",
        kind: ChartType::Line,
        category: "rank",
        value: "cumulative_share",
        title: "Pareto curve: cumulative share of value by customer rank",
    },
    ChartSpec {
        sheet: "lifecycle_stages",
        kind: ChartType::Column,
        category: "stage",
        value: "customers",
        title: "Customers by lifecycle stage",
    },
    ChartSpec {
        sheet: "conversion",
        kind: ChartType::Column,
        category: "owner",
        value: "conversion_rate",
        title: "Lead conversion rate by owner",
    },
    ChartSpec {
        sheet: "recovery",
        kind: ChartType::Column,
        category: "owner",
        value: "recovery_rate",
        title: "Win-back rate by owner",
    },
    ChartSpec {
        sheet: "funnel",
        kind: ChartType::Column,
        category: "owner",
        value: "win_rate",
        title: "Win rate by owner",
    },
    ChartSpec {
        sheet: "retention",
        kind: ChartType::Column,
        category: "plan",
        value: "churn_rate",
        title: "Subscriber churn by plan",
    },
];

/// Sheets whose numbers after the first `skip` columns are a matrix read by colour: low red,
/// middle yellow, high green.
const COLOUR_SCALES: &[(&str, usize)] = &[("cohort", 2)];

/// Adds the charts and colour scales of sheet `name` (as written, `df` its table from row 1).
pub fn decorate(sheet: &mut Worksheet, name: &str, df: &DataFrame) -> Result<()> {
    let height = df.height() as u32;
    if height == 0 {
        return Ok(());
    }
    let position = |column: &str| {
        df.get_column_names()
            .iter()
            .position(|n| n.as_str() == column)
    };
    let mut placed = 0u32;
    for spec in CHARTS.iter().filter(|s| s.sheet == name) {
        let (Some(cat), Some(val)) = (position(spec.category), position(spec.value)) else {
            continue;
        };
        // The `all` row of a grouped table is not a group: left out of the picture.
        let last_is_all = df
            .column(spec.category)?
            .cast(&DataType::String)?
            .str()?
            .get(df.height() - 1)
            == Some(ALL);
        let last = if last_is_all { height - 1 } else { height };
        if last == 0 {
            continue;
        }
        let (cat, val) = (cat as u16, val as u16);
        let mut chart = Chart::new(spec.kind);
        chart
            .add_series()
            .set_categories((name, 1, cat, last, cat))
            .set_values((name, 1, val, last, val))
            .set_name(crate::i18n::tr(spec.value).as_ref());
        chart.title().set_name(crate::i18n::tr(spec.title).as_ref());
        chart.legend().set_hidden();
        sheet.insert_chart(1 + placed * 16, df.width() as u16 + 1, &chart)?;
        placed += 1;
    }
    for &(_, skip) in COLOUR_SCALES.iter().filter(|(s, _)| *s == name) {
        if df.width() > skip {
            let scale = ConditionalFormat3ColorScale::new()
                .set_minimum_color("F8696B")
                .set_midpoint_color("FFEB84")
                .set_maximum_color("63BE7B");
            sheet.add_conditional_format(
                1,
                skip as u16,
                height,
                (df.width() - 1) as u16,
                &scale,
            )?;
        }
    }
    Ok(())
}

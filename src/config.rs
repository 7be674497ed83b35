//! The optional `crm-eval.toml`: input defaults, column mappings and per-analysis settings.
//! Flags on the command line override it. See `examples/crm-eval.toml`.

use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use crate::error::usage;
use crate::input::schema::MapEntry;
use crate::input::source::EncodingChoice;
use crate::metrics::rfm::{FrequencyBasis, SegmentRule};

pub const DEFAULT_CONFIG: &str = "crm-eval.toml";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `--lang` for every report: "en" or "zh".
    pub lang: Option<crate::i18n::Lang>,
    #[serde(default)]
    pub input: InputConfig,
    /// `role = "header"` for every table, or `[map.orders] amount = "实付金额"` for one.
    #[serde(default)]
    pub map: toml::Table,
    #[serde(default)]
    pub rfm: RfmConfig,
    #[serde(default)]
    pub funnel: FunnelConfig,
    /// Where the config came from, for messages.
    #[serde(skip)]
    pub path: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    pub encoding: Option<EncodingChoice>,
    pub date_format: Option<String>,
    pub delimiter: Option<String>,
    pub sheet: Option<String>,
    pub decimal_comma: Option<bool>,
    pub excel_1904: Option<bool>,
    pub tz: Option<String>,
    pub strict: Option<bool>,
    pub line_discount: Option<crate::input::lines::DiscountKind>,
    /// `--on-bad-rows` for every run that reads this config ("fail" or "skip").
    pub on_bad_rows: Option<crate::input::BadRows>,
    /// `--max-rejects`: 100 (rows) or "0.5%" (of a file's rows).
    pub max_rejects: Option<crate::input::MaxRejects>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RfmConfig {
    pub bins: Option<u32>,
    pub frequency: Option<FrequencyBasis>,
    pub r_breaks: Option<Vec<f64>>,
    pub f_breaks: Option<Vec<f64>>,
    pub m_breaks: Option<Vec<f64>>,
    /// Replaces the built-in segment table; first matching rule wins.
    pub segments: Option<Vec<SegmentRule>>,
}

/// `[funnel]`: the pipeline's open stages in order, and stage names that close an opportunity
/// beyond the built-in words (won / 赢单, lost / 输单, invalid / 无效, …).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelConfig {
    pub stages: Option<Vec<String>>,
    #[serde(default)]
    pub won: Vec<String>,
    #[serde(default)]
    pub lost: Vec<String>,
    #[serde(default)]
    pub invalid: Vec<String>,
    pub stale_days: Option<i32>,
}

impl Config {
    /// Loads `--config FILE`, or `./crm-eval.toml` when it exists, or nothing.
    /// With `implicit_note`, a config found in the working directory (not named by --config) is
    /// said on stderr, so that a stray file never changes results without a word.
    pub fn find_and_load(explicit: Option<&Path>, implicit_note: bool) -> Result<Config> {
        let path = match explicit {
            Some(p) => {
                if !p.is_file() {
                    return Err(usage(format!("--config {}: no such file", p.display())));
                }
                p.to_path_buf()
            }
            None => {
                let p = Path::new(DEFAULT_CONFIG);
                if !p.is_file() {
                    return Ok(Config::default());
                }
                if implicit_note {
                    crate::diag::suspend(|| {
                        eprintln!(
                            "crm-eval: using ./{DEFAULT_CONFIG} (--config FILE names another, \
                             --no-config reads none)"
                        )
                    });
                }
                p.to_path_buf()
            }
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| usage(format!("{}: cannot read: {e}", path.display())))?;
        let mut config =
            Config::parse(&text).map_err(|e| usage(format!("{}: {e}", path.display())))?;
        config.path = Some(path.display().to_string());
        Ok(config)
    }

    /// Parses config text; the error names the line and column (from the TOML parser).
    pub fn parse(text: &str) -> std::result::Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().replace('\n', "\n  "))
    }

    /// The `[map]` section as mapping entries.
    pub fn mappings(&self) -> Result<Vec<MapEntry>> {
        let mut out = Vec::new();
        for (key, value) in &self.map {
            match value {
                toml::Value::String(header) => {
                    out.push(MapEntry::parse(&format!("{key}={header}"), "config")?)
                }
                toml::Value::Table(table) => {
                    for (role, header) in table {
                        let header = header.as_str().ok_or_else(|| {
                            usage(format!(
                                "config [map.{key}] {role}: expected a header name in quotes"
                            ))
                        })?;
                        out.push(MapEntry::parse(
                            &format!("{key}.{role}={header}"),
                            "config",
                        )?);
                    }
                }
                _ => {
                    return Err(usage(format!(
                    "config [map] {key}: expected a header name in quotes or a [map.{key}] table"
                )))
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_maps_and_segments() {
        let c = Config::parse(
            r#"
            [map]
            customer_id = "客户编号"
            [map.orders]
            amount = "实付金额"
            [rfm]
            bins = 4
            [[rfm.segments]]
            name = "Best"
            r = [4, 4]
            fm = [3, 4]
            "#,
        )
        .unwrap();
        assert_eq!(c.mappings().unwrap().len(), 2);
        assert_eq!(c.rfm.bins, Some(4));
        assert_eq!(c.rfm.segments.unwrap()[0].name, "Best");
    }

    #[test]
    fn unknown_keys_name_the_line() {
        let err = Config::parse("[rfm]\nbins = 5\nbinz = 4\n").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
    }
}

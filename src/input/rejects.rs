//! What a run does with rows it cannot read: `--on-bad-rows`, `--max-rejects`, and the rows
//! skipped, collected for `--rejects` from every reading thread.

/// What a row with a cell that cannot be read does to the run (`--on-bad-rows`, or
/// `on_bad_rows` under `[input]` in crm-eval.toml).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BadRows {
    /// The run fails, naming the file, row, column and what was expected.
    #[default]
    Fail,
    /// The row is left out, counted on stderr and listed in `--rejects`.
    Skip,
}

/// How many skipped rows a file may have before the run fails (`--max-rejects N|P%`, or
/// `max_rejects` under `[input]`): a count, or a share of the file's data rows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaxRejects {
    Rows(usize),
    /// Percent of the data rows, 0–100.
    Percent(f64),
}

impl MaxRejects {
    /// Whether `skipped` of `rows` data rows is more than allowed.
    pub fn exceeded(self, skipped: usize, rows: usize) -> bool {
        match self {
            MaxRejects::Rows(n) => skipped > n,
            MaxRejects::Percent(p) => skipped as f64 > p / 100.0 * rows as f64,
        }
    }
}

impl std::str::FromStr for MaxRejects {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim();
        let bad = || format!("{s:?}: expected a number of rows (100) or a share of them (0.5%)");
        match s.strip_suffix('%') {
            Some(p) => match p.trim().parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => Ok(MaxRejects::Percent(p)),
                _ => Err(bad()),
            },
            None => s.parse::<usize>().map(MaxRejects::Rows).map_err(|_| bad()),
        }
    }
}

impl std::fmt::Display for MaxRejects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaxRejects::Rows(n) => write!(f, "{n}"),
            MaxRejects::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for MaxRejects {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Rows(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Rows(n) => Ok(MaxRejects::Rows(n as usize)),
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// A row left out under `--on-bad-rows skip`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reject {
    pub file: String,
    /// The row number as the file shows it (header = 1).
    pub row: usize,
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// Every row skipped in this run, for `--rejects` (files are read on several threads).
pub(super) static REJECTS: std::sync::Mutex<Vec<Reject>> = std::sync::Mutex::new(Vec::new());

/// The rows skipped so far, in the order they were read; the list is emptied.
pub fn take_rejects() -> Vec<Reject> {
    REJECTS
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default()
}

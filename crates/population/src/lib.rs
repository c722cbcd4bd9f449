//! Populations for cost simulation (测算, issue 13): one table, one row per event, the rows of
//! an applicant contiguous, read and written as Parquet, CSV or JSON lines
//! (`docs/population.md`). Readers stream: they hand out batches of whole applicants
//! ([`kc_eval::Input`]) and never hold more than a batch, so a population larger than memory
//! can be simulated. Every cell is read by the same value parser as `kechuang/eval-input/v1`
//! (`kc_wire::parse_value_text`), so a value means the same in every format, and an error names
//! its row and column. The generator ([`generate`]) draws a synthetic population, deterministic
//! for a seed, whose counts and distributions follow a calibration file in which every figure
//! cites its source or says it is an assumption.

mod calibration;
mod columns;
mod generate;
mod read;
mod write;

pub use calibration::{Calibration, CertCalibration, EventCalibration, FieldCalibration, Quantity};
pub use columns::{Layout, layout};
pub use generate::{generate, generate_over};
pub use read::{PopulationReader, check, check_bytes, read, read_as_of, read_bytes};
pub use write::{PopulationWriter, write};

use std::fmt;

/// The file formats, chosen by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Csv,
    Jsonl,
}

impl Format {
    /// The lower-case name: `parquet`, `csv`, `jsonl`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    pub fn of(path: &std::path::Path) -> Result<Format, PopulationError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("parquet") => Ok(Format::Parquet),
            Some("csv") => Ok(Format::Csv),
            Some("jsonl") | Some("ndjson") => Ok(Format::Jsonl),
            _ => Err(PopulationError::new(format!(
                "不支持的文件类型 {} (unsupported file type: use .parquet, .csv or .jsonl)",
                path.display()
            ))),
        }
    }
}

/// A problem with a population file: where (row and column, when known) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PopulationError {
    /// CSV: the line of the table, the header being row 1. Parquet: the data row, from 1.
    /// JSON lines: the line.
    pub row: Option<u64>,
    pub column: Option<String>,
    pub message: String,
}

impl PopulationError {
    pub fn new(message: impl Into<String>) -> PopulationError {
        PopulationError {
            row: None,
            column: None,
            message: message.into(),
        }
    }
    pub fn at(row: u64, column: &str, message: impl Into<String>) -> PopulationError {
        PopulationError {
            row: Some(row),
            column: Some(column.to_string()),
            message: message.into(),
        }
    }
}

impl fmt::Display for PopulationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.row, &self.column) {
            (Some(r), Some(c)) => write!(f, "第{r}行 row {r}, 列 column {c}: ")?,
            (Some(r), None) => write!(f, "第{r}行 row {r}: ")?,
            (None, Some(c)) => write!(f, "列 column {c}: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for PopulationError {}

/// What a file held or received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub applicants: u64,
    pub events: u64,
    pub rows: u64,
}

fn io_error(what: &str, path: &std::path::Path, e: impl fmt::Display) -> PopulationError {
    PopulationError::new(format!("{what} {}: {e}", path.display()))
}

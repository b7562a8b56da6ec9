//! Rows behind a figure, as a page or as CSV: the explain pages and the data-health
//! lists share this one table shape, so every list renders and downloads alike.

use std::io::Write;

use shiplog_model::Timestamp;

use crate::QueryError;
use crate::csv::{guard, quote};

/// One cell. The kinds say what a value is, so that `web` can link a deployment or
/// a service without knowing SQL, and the CSV can write each kind one way.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(Option<String>),
    Count(i64),
    /// Hours, 2 decimals in CSV.
    Hours(Option<f64>),
    Time(Option<Timestamp>),
    Flag(bool),
    Service(String),
    /// A deployment id, with its service when known (for a link to its timeline).
    Deployment {
        id: Option<String>,
        service: Option<String>,
    },
    Sha(Option<String>),
}

impl Cell {
    /// The cell as CSV text: text kinds guarded against formula injection and quoted
    /// where needed, like the weekly report's `service`.
    pub fn csv(&self) -> String {
        let text = |s: &str| quote(&guard(s));
        match self {
            Cell::Text(v) | Cell::Sha(v) => v.as_deref().map(text).unwrap_or_default(),
            Cell::Service(v) => text(v),
            Cell::Deployment { id, .. } => id.as_deref().map(text).unwrap_or_default(),
            Cell::Count(n) => n.to_string(),
            Cell::Hours(h) => h.map(|h| format!("{h:.2}")).unwrap_or_default(),
            Cell::Time(t) => t
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default(),
            Cell::Flag(b) => b.to_string(),
        }
    }
}

/// A page of rows with their column names and how many rows there are in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<Cell>>,
    /// Rows on every page together: the count the figure shows.
    pub total: i64,
    pub paging: Paging,
}

/// Which page of rows to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl Paging {
    pub const PER_PAGE: u32 = 100;

    pub fn page(page: u32) -> Paging {
        Paging {
            page: page.max(1),
            per_page: Self::PER_PAGE,
        }
    }

    pub(crate) fn limit(self) -> i64 {
        i64::from(self.per_page)
    }

    pub(crate) fn offset(self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(self.per_page)
    }

    /// Pages needed for `total` rows (at least 1).
    pub fn pages(self, total: i64) -> u32 {
        let per = i64::from(self.per_page);
        u32::try_from(((total + per - 1) / per).max(1)).unwrap_or(u32::MAX)
    }
}

/// Writes the header line, `\n` line ends.
pub fn write_csv_header(columns: &[&str], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "{}", columns.join(","))
}

/// Writes one row as a CSV line.
pub fn write_csv_row(row: &[Cell], out: &mut impl Write) -> std::io::Result<()> {
    let mut first = true;
    for cell in row {
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        out.write_all(cell.csv().as_bytes())?;
    }
    out.write_all(b"\n")
}

/// Rows written as CSV while a query yields them: the header first, then each row; the
/// first write error is kept and ends the writing (the query's row callback cannot
/// return it), and [`CsvRows::finish`] reports it.
pub(crate) struct CsvRows<'a, W: Write> {
    out: &'a mut W,
    written: u64,
    failed: Option<std::io::Error>,
}

fn output_error(e: std::io::Error) -> QueryError {
    QueryError::Output {
        path: "the response".into(),
        message: e.to_string(),
    }
}

impl<'a, W: Write> CsvRows<'a, W> {
    pub(crate) fn start(columns: &[&str], out: &'a mut W) -> Result<Self, QueryError> {
        write_csv_header(columns, out).map_err(output_error)?;
        Ok(CsvRows {
            out,
            written: 0,
            failed: None,
        })
    }

    pub(crate) fn push(&mut self, cells: Vec<Cell>) -> duckdb::Result<()> {
        if self.failed.is_none() {
            match write_csv_row(&cells, self.out) {
                Ok(()) => self.written += 1,
                Err(e) => self.failed = Some(e),
            }
        }
        Ok(())
    }

    /// How many rows were written, or the first write error.
    pub(crate) fn finish(self) -> Result<u64, QueryError> {
        match self.failed {
            Some(e) => Err(output_error(e)),
            None => Ok(self.written),
        }
    }
}

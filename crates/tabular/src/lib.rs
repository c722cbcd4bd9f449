//! Tables in and out: CSV and xlsx files read into rows of text cells (header + rows, each
//! row with its 1-based line number in the file), and tables written back as CSV or xlsx.
//! Knows nothing of applicants or money: meaning is given by the caller (kc-store's import).

use std::path::Path;

/// A table read from a file: the header and the data rows, as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    /// (row number as a user sees it: the header is row 1, the first data row is row 2; cells)
    pub rows: Vec<(usize, Vec<String>)>,
}

#[derive(Debug)]
pub enum TableError {
    Io(String),
    Format(String),
    Unsupported(String),
}

impl std::fmt::Display for TableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableError::Io(m) | TableError::Format(m) => f.write_str(m),
            TableError::Unsupported(p) => {
                write!(f, "{p}: unsupported file type (use .csv or .xlsx)")
            }
        }
    }
}

impl std::error::Error for TableError {}

/// Reads a `.csv` (UTF-8, optional BOM) or the first sheet of an `.xlsx`.
pub fn read(path: &Path) -> Result<Table, TableError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "csv" => read_csv(path),
        "xlsx" => read_xlsx(path),
        _ => Err(TableError::Unsupported(path.display().to_string())),
    }
}

/// Reads a table from bytes already in memory (an upload): `format` is `csv` or `xlsx`;
/// `name` is used in error messages as the file name.
pub fn read_bytes(name: &str, format: &str, bytes: &[u8]) -> Result<Table, TableError> {
    match format.to_ascii_lowercase().as_str() {
        "csv" => csv_table(name, bytes),
        "xlsx" => xlsx_table(
            name,
            <calamine::Xlsx<_> as calamine::Reader<_>>::new(std::io::Cursor::new(bytes))
                .map_err(|e| TableError::Format(format!("{name}: {e}")))?,
        ),
        _ => Err(TableError::Unsupported(name.to_string())),
    }
}

fn read_csv(path: &Path) -> Result<Table, TableError> {
    let bytes =
        std::fs::read(path).map_err(|e| TableError::Io(format!("{}: {e}", path.display())))?;
    csv_table(&path.display().to_string(), &bytes)
}

fn csv_table(name: &str, bytes: &[u8]) -> Result<Table, TableError> {
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers: Vec<String> = r
        .headers()
        .map_err(|e| TableError::Format(format!("{name}: header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| TableError::Format(format!("{name}: row {}: {e}", i + 2)))?;
        rows.push((i + 2, rec.iter().map(|c| c.trim().to_string()).collect()));
    }
    Ok(Table { headers, rows })
}

fn read_xlsx(path: &Path) -> Result<Table, TableError> {
    use calamine::{Xlsx, open_workbook};
    let wb: Xlsx<_> =
        open_workbook(path).map_err(|e| TableError::Format(format!("{}: {e}", path.display())))?;
    xlsx_table(&path.display().to_string(), wb)
}

fn xlsx_table<R: std::io::Read + std::io::Seek>(
    name: &str,
    mut wb: calamine::Xlsx<R>,
) -> Result<Table, TableError> {
    use calamine::{Data, Reader};
    let sheet = wb
        .worksheet_range_at(0)
        .ok_or_else(|| TableError::Format(format!("{name}: the workbook has no sheet")))?
        .map_err(|e| TableError::Format(format!("{name}: {e}")))?;
    let cell = |d: &Data| -> String {
        match d {
            Data::Empty => String::new(),
            Data::String(s) => s.trim().to_string(),
            // Whole numbers print without ".0"; amounts should be text cells to keep fen exact.
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
            Data::Float(f) => f.to_string(),
            Data::Int(i) => i.to_string(),
            Data::Bool(b) => b.to_string(),
            Data::DateTime(dt) => excel_date(dt.as_f64()),
            Data::DateTimeIso(s) | Data::DurationIso(s) => s.get(..10).unwrap_or(s).to_string(),
            Data::Error(e) => format!("#ERROR {e:?}"),
        }
    };
    let mut it = sheet.rows();
    let headers: Vec<String> = it
        .next()
        .map(|r| r.iter().map(cell).collect())
        .unwrap_or_default();
    let start = sheet.start().map(|(r, _)| r as usize).unwrap_or(0);
    let mut rows = Vec::new();
    for (i, r) in it.enumerate() {
        let cells: Vec<String> = r.iter().map(cell).collect();
        if cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        rows.push((start + i + 2, cells));
    }
    Ok(Table { headers, rows })
}

/// An Excel date serial (days since 1899-12-30 in the 1900 system) as YYYY-MM-DD.
fn excel_date(serial: f64) -> String {
    // Civil-from-days (Howard Hinnant's algorithm) on days since 1970-01-01.
    let z = serial.floor() as i64 - 25_569 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Writes a table as `.csv` (UTF-8 with BOM, so spreadsheet programs read Chinese right) or
/// `.xlsx`, chosen by the extension.
pub fn write(
    path: &Path,
    sheet: &str,
    headers: &[&str],
    rows: &[Vec<String>],
) -> Result<(), TableError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "csv" => std::fs::write(path, csv_bytes(headers, rows)?)
            .map_err(|e| TableError::Io(format!("{}: {e}", path.display()))),
        "xlsx" => {
            use rust_xlsxwriter::{Format, Workbook};
            let mut wb = Workbook::new();
            let ws = wb.add_worksheet();
            ws.set_name(sheet)
                .map_err(|e| TableError::Format(e.to_string()))?;
            let bold = Format::new().set_bold();
            for (c, h) in headers.iter().enumerate() {
                ws.write_string_with_format(0, c as u16, *h, &bold)
                    .map_err(|e| TableError::Format(e.to_string()))?;
            }
            for (r, row) in rows.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    // Text cells throughout: amounts stay exact strings to the fen.
                    ws.write_string((r + 1) as u32, c as u16, v)
                        .map_err(|e| TableError::Format(e.to_string()))?;
                }
            }
            wb.save(path)
                .map_err(|e| TableError::Io(format!("{}: {e}", path.display())))
        }
        _ => Err(TableError::Unsupported(path.display().to_string())),
    }
}

/// A CSV cell that a spreadsheet program will not run as a formula (issue 9, defect 9): text
/// starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, the
/// convention spreadsheets show as plain text. Plain numbers (`-1500.00`, a reversal) are left
/// as they are, so exported amounts stay numbers. xlsx needs none of this: its cells are
/// written as text, never as formulas.
pub fn csv_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let number = {
        let t = cell.strip_prefix(['-', '+']).unwrap_or(cell);
        !t.is_empty()
            && t.chars().all(|c| c.is_ascii_digit() || c == '.')
            && t.chars().filter(|c| *c == '.').count() <= 1
            && t.starts_with(|c: char| c.is_ascii_digit())
    };
    if risky && !number {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// A `.csv` file in memory (UTF-8 with BOM, as `write` makes it), for a download.
pub fn csv_bytes(headers: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, TableError> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(headers)
            .map_err(|e| TableError::Io(e.to_string()))?;
        for r in rows {
            w.write_record(r.iter().map(|c| csv_safe(c).into_owned()))
                .map_err(|e| TableError::Io(e.to_string()))?;
        }
        w.flush().map_err(|e| TableError::Io(e.to_string()))?;
    }
    Ok(out)
}

/// An `.xlsx` workbook in memory (for a download), text cells throughout.
pub fn xlsx_bytes(
    sheet: &str,
    headers: &[&str],
    rows: &[Vec<String>],
) -> Result<Vec<u8>, TableError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet)
        .map_err(|e| TableError::Format(e.to_string()))?;
    let bold = Format::new().set_bold();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(|e| TableError::Format(e.to_string()))?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string((r + 1) as u32, c as u16, v)
                .map_err(|e| TableError::Format(e.to_string()))?;
        }
    }
    wb.save_to_buffer()
        .map_err(|e| TableError::Io(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_xlsx_round_trip_with_row_numbers() {
        let dir = std::env::temp_dir().join(format!("kc-tab-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rows = vec![
            vec![
                "91210112MA0XK8R34Y".to_string(),
                "沈阳示例".to_string(),
                "1234567.89".to_string(),
            ],
            vec!["a,b".into(), "引号\"".into(), "".into()],
        ];
        for ext in ["csv", "xlsx"] {
            let p = dir.join(format!("t.{ext}"));
            write(&p, "表", &["id", "name", "amount"], &rows).unwrap();
            let t = read(&p).unwrap();
            assert_eq!(t.headers, vec!["id", "name", "amount"]);
            assert_eq!(t.rows[0], (2, rows[0].clone()), "{ext}");
            assert_eq!(t.rows[1].0, 3);
            assert_eq!(t.rows[1].1[0], "a,b");
            let from_bytes = read_bytes("upload", ext, &std::fs::read(&p).unwrap()).unwrap();
            assert_eq!(from_bytes, t, "{ext} from bytes");
        }
        assert!(matches!(
            read(&dir.join("t.txt")),
            Err(TableError::Unsupported(_))
        ));
        // 45000 is 2023-03-15 in Excel's 1900 date system; 1 is 1899-12-31.
        assert_eq!(excel_date(45000.0), "2023-03-15");
        assert_eq!(excel_date(1.0), "1899-12-31");
        std::fs::remove_dir_all(&dir).ok();
    }

    // Issue 9, defect 9: `=HYPERLINK(…)` was written verbatim into CSV exports.
    #[test]
    fn issue_9_csv_cells_never_become_formulas() {
        for (cell, out) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+1+2", "'+1+2"),
            ("-cmd", "'-cmd"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("-1500.00", "-1500.00"),
            ("+3", "+3"),
            ("沈阳=示例", "沈阳=示例"),
            ("", ""),
        ] {
            assert_eq!(csv_safe(cell), out, "{cell}");
        }
        let dir = std::env::temp_dir().join(format!("kc-tab-inj-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.csv");
        write(
            &p,
            "t",
            &["name", "amount"],
            &[vec!["=1+1".into(), "-20.00".into()]],
        )
        .unwrap();
        let t = read(&p).unwrap();
        assert_eq!(t.rows[0].1, vec!["'=1+1".to_string(), "-20.00".to_string()]);
        std::fs::remove_dir_all(&dir).ok();
    }
}

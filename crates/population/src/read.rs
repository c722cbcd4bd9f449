//! Streaming readers: rows in, batches of whole applicants out. A Parquet file is decoded on a
//! thread of its own (see `decode_parquet`) while this one assembles applicants from its rows.

use crate::columns::*;
use crate::{Counts, Format, PopulationError, io_error};
use arrow::array::{Array, ArrayRef, AsArray, Date32Array, Int32Array, StringArray};
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use jiff::civil::Date;
use kc_check::Library;
use kc_check::ir::{MemberId, Type, Value};
use kc_eval::{Applicant, Event, Input};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use rustc_hash::FxHashMap;
use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

/// One cell: text, a date from a Parquet `date32` column, or the text of a dictionary-encoded
/// Parquet column with its key in the batch's dictionary (see [`Assembler::field`]).
#[derive(Clone, Copy)]
enum Cell<'a> {
    Text(&'a str),
    Date(Date),
    Keyed(u32, &'a str),
}

/// Where each known column sits in the file's header.
struct Columns {
    names: Vec<String>,
    applicant: usize,
    name: Option<usize>,
    as_of: Option<usize>,
    /// (slot, column index) of the applicant fields present.
    applicant_fields: Vec<(usize, usize)>,
    certifications: Option<usize>,
    figures: Option<usize>,
    history: Option<usize>,
    event: Option<(usize, usize, usize)>,
    /// Per event type: the column of each declared field, if present.
    event_fields: Vec<Vec<Option<usize>>>,
    /// Per event type: the `event.*` columns that are not fields of that type.
    stray: Vec<Vec<usize>>,
    /// The same as bits (column i is bit i), when there are at most 128 columns: a row whose
    /// non-null columns (see [`Assembler::row`]) miss every bit needs no look at each.
    stray_bits: Option<Vec<u128>>,
}

impl Columns {
    fn new(lib: &Library, header: &[String]) -> Result<Columns, PopulationError> {
        let layout = layout(lib);
        let header_row = 1;
        let mut seen = HashSet::new();
        for h in header {
            if !seen.insert(h.as_str()) {
                return Err(PopulationError::at(
                    header_row,
                    h,
                    "列名重复 (the column appears twice)",
                ));
            }
            if !layout.names.contains(h) {
                return Err(PopulationError::at(
                    header_row,
                    h,
                    format!(
                        "未知的列 (unknown column; the columns are: {})",
                        layout.names.join(", ")
                    ),
                ));
            }
        }
        let pos = |n: &str| header.iter().position(|h| h == n);
        let missing = |n: &str| {
            PopulationError::at(
                header_row,
                n,
                format!("缺少必需的列 {n} (missing required column {n})"),
            )
        };
        let applicant = pos(APPLICANT).ok_or_else(|| missing(APPLICANT))?;
        let event = match (pos(EVENT), pos(EVENT_KIND), pos(EVENT_DATE)) {
            (None, None, None) => None,
            (Some(a), Some(b), Some(c)) => Some((a, b, c)),
            (None, _, _) => return Err(missing(EVENT)),
            (_, None, _) => return Err(missing(EVENT_KIND)),
            (_, _, None) => return Err(missing(EVENT_DATE)),
        };
        let event_cols: Vec<usize> = (0..header.len())
            .filter(|i| header[*i].starts_with("event."))
            .collect();
        if event.is_none() && !event_cols.is_empty() {
            return Err(missing(EVENT));
        }
        let mut event_fields = Vec::new();
        let mut stray = Vec::new();
        for def in &lib.vocab.events {
            let cols: Vec<Option<usize>> = def
                .fields
                .iter()
                .map(|f| pos(&format!("event.{}", f.name)))
                .collect();
            stray.push(
                event_cols
                    .iter()
                    .copied()
                    .filter(|c| !cols.contains(&Some(*c)))
                    .collect(),
            );
            event_fields.push(cols);
        }
        let stray_bits = (header.len() <= 128).then(|| {
            stray
                .iter()
                .map(|cs: &Vec<usize>| cs.iter().fold(0u128, |b, c| b | 1 << c))
                .collect()
        });
        Ok(Columns {
            stray_bits,
            names: header.to_vec(),
            applicant,
            name: pos(NAME),
            as_of: pos(AS_OF),
            applicant_fields: layout
                .applicant_fields
                .iter()
                .filter_map(|(slot, c)| pos(c).map(|i| (*slot, i)))
                .collect(),
            certifications: pos(CERTIFICATIONS),
            figures: pos(FIGURES),
            history: pos(HISTORY),
            event,
            event_fields,
            stray,
        })
    }
}

/// Builds applicants from their rows; complete ones wait in `done`.
struct Assembler<'l> {
    lib: &'l Library,
    cols: Columns,
    default_as_of: Date,
    current: Option<Input>,
    event_ids: HashSet<String>,
    done: VecDeque<Input>,
    counts: Counts,
    /// Per enum: the member of each text already read as one (see [`Assembler::value`]).
    members: std::cell::RefCell<Vec<FxHashMap<Box<str>, MemberId>>>,
    /// The event type of each `event_kind` text already read.
    kinds: FxHashMap<Box<str>, usize>,
    /// Per column, the value of each key of the current Parquet batch's dictionary already
    /// read, with the type it was read as (an `event.*` column serves the fields of that name
    /// of every event type; see [`Assembler::field`]); emptied with each batch.
    keyed: std::cell::RefCell<Vec<KeyedValues>>,
    /// The same for the `event_kind` column: each key's event type.
    keyed_kinds: Vec<Option<usize>>,
}

/// A column's value of each key of a batch's dictionary, with the type it was read as.
type KeyedValues = Vec<Option<(Type, Value)>>;

/// At most this many texts remembered per enum (or event kinds): a member has its name and its
/// label, but a text that is not trimmed (inside `figures`) is remembered apart.
const REMEMBERED: usize = 4_096;

/// Text as `str::trim` leaves it, without its scan where the text begins and ends with
/// characters that are not white space (most cells).
fn trimmed(s: &str) -> &str {
    let plain = |c: &u8| *c > b' ' && *c < 0x7f;
    let b = s.as_bytes();
    if b.first().is_some_and(plain) && b.last().is_some_and(plain) {
        s
    } else {
        s.trim()
    }
}

fn text<'a>(get: &dyn Fn(usize) -> Option<Cell<'a>>, col: Option<usize>) -> Option<&'a str> {
    match col.and_then(get) {
        Some(Cell::Text(s) | Cell::Keyed(_, s)) => Some(trimmed(s)).filter(|t| !t.is_empty()),
        _ => None,
    }
}

/// Whether a cell holds anything (a date, or text other than white space).
fn has_value<'a>(get: &dyn Fn(usize) -> Option<Cell<'a>>, col: usize) -> bool {
    match get(col) {
        Some(Cell::Date(_)) => true,
        Some(Cell::Text(s) | Cell::Keyed(_, s)) => !trimmed(s).is_empty(),
        None => false,
    }
}

impl<'l> Assembler<'l> {
    fn date<'c>(
        &self,
        row: u64,
        get: &dyn Fn(usize) -> Option<Cell<'c>>,
        col: usize,
    ) -> Result<Option<Date>, PopulationError> {
        match get(col) {
            Some(Cell::Date(d)) => Ok(Some(d)),
            Some(Cell::Text(s) | Cell::Keyed(_, s)) if !s.trim().is_empty() => {
                match kc_wire::parse_value_text(self.lib, Type::Date, s, "")
                    .map_err(|e| PopulationError::at(row, &self.cols.names[col], e.message))?
                {
                    Value::Date(d) => Ok(Some(d)),
                    _ => Ok(None),
                }
            }
            _ => Ok(None),
        }
    }

    /// The value of a cell's text. An enum member is looked up by name or label among the
    /// enum's members (a region has hundreds): each text read as a member is remembered, so
    /// a column of a few distinct members is looked up once per text, not once per cell.
    fn value(&self, row: u64, col: usize, ty: Type, t: &str) -> Result<Value, PopulationError> {
        if let Type::Enum(e) = ty
            && let Some(m) = self.members.borrow().get(e).and_then(|h| h.get(t))
        {
            return Ok(Value::Enum(e, *m));
        }
        let v = kc_wire::parse_value_text(self.lib, ty, t, "")
            .map_err(|e| PopulationError::at(row, &self.cols.names[col], e.message))?;
        if let Value::Enum(e, m) = v {
            let mut members = self.members.borrow_mut();
            if members.len() <= e {
                members.resize_with(e + 1, FxHashMap::default);
            }
            if members[e].len() < REMEMBERED {
                members[e].insert(t.into(), m);
            }
        }
        Ok(v)
    }

    /// The value of column `col` in a row, for a field of type `ty`. A cell of a dictionary
    /// column is read once per key of the batch's dictionary (an enum column holds a few
    /// distinct texts, repeated on every row); a date cell is a date.
    fn field<'c>(
        &self,
        row: u64,
        get: &dyn Fn(usize) -> Option<Cell<'c>>,
        col: usize,
        ty: Type,
    ) -> Result<Value, PopulationError> {
        match get(col) {
            None => Ok(Value::Unknown),
            Some(Cell::Date(d)) if ty == Type::Date => Ok(Value::Date(d)),
            // Any other type: the date's text, refused or read as a text would be.
            Some(Cell::Date(d)) => self.value(row, col, ty, &d.to_string()),
            Some(Cell::Text(s)) => match Some(trimmed(s)).filter(|t| !t.is_empty()) {
                Some(t) => self.value(row, col, ty, t),
                None => Ok(Value::Unknown),
            },
            Some(Cell::Keyed(k, s)) => {
                if let Some(Some((t, v))) =
                    self.keyed.borrow().get(col).and_then(|m| m.get(k as usize))
                    && *t == ty
                {
                    return Ok(v.clone());
                }
                let v = match Some(trimmed(s)).filter(|t| !t.is_empty()) {
                    Some(t) => self.value(row, col, ty, t)?,
                    None => Value::Unknown,
                };
                let mut keyed = self.keyed.borrow_mut();
                if keyed.len() <= col {
                    keyed.resize_with(col + 1, Vec::new);
                }
                let memo = &mut keyed[col];
                if memo.len() <= k as usize {
                    memo.resize(k as usize + 1, None);
                }
                memo[k as usize] = Some((ty, v.clone()));
                Ok(v)
            }
        }
    }

    /// A new Parquet batch: its dictionaries may differ from the last one's.
    fn new_dictionaries(&mut self) {
        self.keyed.get_mut().iter_mut().for_each(Vec::clear);
        self.keyed_kinds.clear();
    }

    fn finish_current(&mut self) {
        if let Some(input) = self.current.take() {
            self.counts.applicants += 1;
            self.done.push_back(input);
        }
        self.event_ids.clear();
    }

    /// Takes one row; `present`, where the reader knows it, has bit i set for each column i
    /// that is not null in the row (a null cell is empty).
    fn row<'c>(
        &mut self,
        row: u64,
        get: &dyn Fn(usize) -> Option<Cell<'c>>,
        present: Option<u128>,
    ) -> Result<(), PopulationError> {
        self.counts.rows += 1;
        let id = text(get, Some(self.cols.applicant)).ok_or_else(|| {
            PopulationError::at(
                row,
                APPLICANT,
                "缺少申报主体编号 (missing: every row names its applicant)",
            )
        })?;
        if self.current.as_ref().is_none_or(|c| c.applicant.id != id) {
            self.finish_current();
            let input = self.start(row, get, id)?;
            self.current = Some(input);
        }
        let Some((ec, kc, dc)) = self.cols.event else {
            return Ok(());
        };
        let Some(event_id) = text(get, Some(ec)) else {
            if text(get, Some(kc)).is_some() {
                return Err(PopulationError::at(
                    row,
                    EVENT,
                    "缺少事项编号 (missing: an event kind is given, so the event needs an id)",
                ));
            }
            return Ok(());
        };
        let kind_name = text(get, Some(kc)).ok_or_else(|| {
            PopulationError::at(row, EVENT_KIND, "缺少事项类型 (missing: the event kind)")
        })?;
        let vocab = &self.lib.vocab;
        // A dictionary column's key names the kind as well as its text does.
        let key = match get(kc) {
            Some(Cell::Keyed(k, _)) => Some(k as usize),
            _ => None,
        };
        let kind = match key.and_then(|k| self.keyed_kinds.get(k).copied().flatten()) {
            Some(kind) => kind,
            None => {
                let known = self.kinds.get(kind_name).copied();
                let kind = known
                    .or_else(|| vocab.event_by_name(kind_name))
                    .ok_or_else(|| {
                        let names: Vec<&str> =
                            vocab.events.iter().map(|e| e.name.as_str()).collect();
                        PopulationError::at(
                            row,
                            EVENT_KIND,
                            format!(
                                "未知的事项类型“{kind_name}” (unknown event kind; one of: {})",
                                names.join(", ")
                            ),
                        )
                    })?;
                if known.is_none() && self.kinds.len() < REMEMBERED {
                    self.kinds.insert(kind_name.into(), kind);
                }
                if let Some(k) = key {
                    if self.keyed_kinds.len() <= k {
                        self.keyed_kinds.resize(k + 1, None);
                    }
                    self.keyed_kinds[k] = Some(kind);
                }
                kind
            }
        };
        let date = self.date(row, get, dc)?.ok_or_else(|| {
            PopulationError::at(row, EVENT_DATE, "缺少事项日期 (missing: the event date)")
        })?;
        let may_stray = match (present, &self.cols.stray_bits) {
            (Some(p), Some(bits)) => p & bits[kind] != 0,
            _ => true,
        };
        for c in self.cols.stray[kind].iter().filter(|_| may_stray) {
            if has_value(get, *c) {
                return Err(PopulationError::at(
                    row,
                    &self.cols.names[*c],
                    format!(
                        "事项类型 {kind_name} 没有此字段,应留空 (not a field of event kind {kind_name}: leave it empty)"
                    ),
                ));
            }
        }
        let def = &vocab.events[kind];
        let mut fields = Vec::with_capacity(def.fields.len());
        for (f, col) in def.fields.iter().zip(&self.cols.event_fields[kind]) {
            fields.push(match col {
                Some(c) => self.field(row, get, *c, f.ty)?,
                None => Value::Unknown,
            });
        }
        // An applicant has a few events: their ids are compared in place; past a few dozen a
        // set keeps the check linear.
        let events = &self.current.as_ref().expect("started above").events;
        let repeated = if events.len() < 32 {
            events.iter().any(|e| e.id == event_id)
        } else {
            if self.event_ids.is_empty() {
                self.event_ids.extend(events.iter().map(|e| e.id.clone()));
            }
            !self.event_ids.insert(event_id.to_string())
        };
        if repeated {
            return Err(PopulationError::at(
                row,
                EVENT,
                format!("事项编号“{event_id}”重复 (event id used twice for this applicant)"),
            ));
        }
        self.counts.events += 1;
        self.current
            .as_mut()
            .expect("started above")
            .events
            .push(Event {
                id: event_id.to_string(),
                kind,
                date,
                fields,
            });
        Ok(())
    }

    /// The applicant of its first row.
    fn start<'c>(
        &self,
        row: u64,
        get: &dyn Fn(usize) -> Option<Cell<'c>>,
        id: &str,
    ) -> Result<Input, PopulationError> {
        let lib = self.lib;
        let vocab = &lib.vocab;
        let name = text(get, self.cols.name).unwrap_or("").to_string();
        let mut fields = vec![Value::Unknown; vocab.applicant.len()];
        if let Some(slot) = vocab.applicant.iter().position(|f| f.name == NAME)
            && !name.is_empty()
        {
            fields[slot] = Value::Text(name.clone());
        }
        for (slot, col) in &self.cols.applicant_fields {
            fields[*slot] = self.field(row, get, *col, vocab.applicant[*slot].ty)?;
        }
        let as_of = match self.cols.as_of {
            Some(c) => self.date(row, get, c)?,
            None => None,
        }
        .unwrap_or(self.default_as_of);
        let mut certifications = Vec::new();
        if let Some(t) = text(get, self.cols.certifications) {
            for part in t.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                let bad = |m: String| PopulationError::at(row, CERTIFICATIONS, m);
                let (cert, date) = part.split_once('@').ok_or_else(|| {
                    bad(format!(
                        "“{part}”应写作 资质@日期 (expected cert@YYYY-MM-DD, e.g. high_tech@2022-11-01)"
                    ))
                })?;
                let Value::Enum(_, m) = self.value(
                    row,
                    self.cols.certifications.expect("read"),
                    Type::Enum(vocab.certification),
                    cert,
                )?
                else {
                    return Err(bad(format!("“{part}”缺少资质 (missing the certification)")));
                };
                let Value::Date(d) = self.value(
                    row,
                    self.cols.certifications.expect("read"),
                    Type::Date,
                    date,
                )?
                else {
                    return Err(bad(format!("“{part}”缺少日期 (missing the date)")));
                };
                certifications.push((m, d));
            }
        }
        let mut figures = Vec::new();
        if let Some(t) = text(get, self.cols.figures) {
            for part in t.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                let bad = |m: String| PopulationError::at(row, FIGURES, m);
                let shape = || {
                    bad(format!(
                        "“{part}”应写作 数据@年份=值 (expected figure@YEAR=value, e.g. revenue@2022=1234.56)"
                    ))
                };
                let (fig, rest) = part.split_once('@').ok_or_else(shape)?;
                let (year, val) = rest.split_once('=').ok_or_else(shape)?;
                let fid = vocab.figure_by_name(fig.trim()).ok_or_else(|| {
                    let names: Vec<&str> = vocab.figures.iter().map(|f| f.name.as_str()).collect();
                    bad(format!(
                        "未知的年度数据“{fig}” (unknown figure; figures: {})",
                        names.join(", ")
                    ))
                })?;
                let year: i64 = match year.trim().parse() {
                    Ok(y) if (1900..=2200).contains(&y) => y,
                    _ => return Err(bad(format!("“{year}”不是年份 (not a year)"))),
                };
                let v = self.value(
                    row,
                    self.cols.figures.expect("read"),
                    vocab.figures[fid].ty,
                    val,
                )?;
                figures.push((fid, year, v));
            }
        }
        let mut history = Vec::new();
        if let Some(t) = text(get, self.cols.history) {
            let bad = |m: String| PopulationError::at(row, HISTORY, m);
            let arr: serde_json::Value = serde_json::from_str(t)
                .map_err(|e| bad(format!("不是有效的 JSON (not valid JSON: {e})")))?;
            // The prior awards are read by eval-input's own parser, inside a minimal document.
            let doc = serde_json::json!({"schema": kc_wire::INPUT_SCHEMA, "as_of": "2000-01-01",
                "applicant": {}, "history": arr});
            history = kc_wire::parse_input_value(lib, &doc, None)
                .map_err(|e| bad(e.to_string()))?
                .history;
        }
        Ok(Input {
            as_of,
            applicant: Applicant {
                id: id.to_string(),
                name,
                fields,
                certifications,
                figures,
            },
            events: Vec::new(),
            history,
        })
    }
}

/// One Parquet record batch with its columns as text or dates.
/// Rows of a Parquet file decoded at once (see `PopulationReader::open`).
const PARQUET_ROWS: usize = 2_048;

struct PqBatch {
    cols: Vec<PqCol>,
    rows: usize,
    /// Per row, its non-null columns as bits (at most 128 columns).
    present: Option<Vec<u128>>,
}

enum PqCol {
    /// A column whose every cell is null (see [`columns_with_values`]).
    Null,
    Text(StringArray),
    Date(Date32Array),
    /// A dictionary-encoded text column: each row's key, and the texts they stand for.
    Keyed(Int32Array, StringArray),
}

/// A population's bytes: a file, or held in memory (an upload).
enum Data {
    File(File),
    Bytes(bytes::Bytes),
}

impl Data {
    fn reader(self) -> Box<dyn std::io::Read + Send> {
        match self {
            Data::File(f) => Box::new(f),
            Data::Bytes(b) => Box::new(std::io::Cursor::new(b)),
        }
    }
}

enum Source {
    Csv {
        reader: csv::Reader<BufReader<Box<dyn std::io::Read + Send>>>,
        record: csv::StringRecord,
    },
    Parquet {
        /// Batches decoded by the decoding thread (see [`decode_parquet`]), in file order.
        decoded: std::sync::mpsc::Receiver<Decoded>,
        batch: Option<PqBatch>,
        pos: usize,
    },
    Jsonl {
        lines: std::io::Lines<BufReader<Box<dyn std::io::Read + Send>>>,
    },
}

/// A streaming reader over a population file: an iterator of batches of whole applicants.
/// It stops after the first error.
pub struct PopulationReader<'l> {
    lib: &'l Library,
    source: Source,
    asm: Assembler<'l>,
    batch: usize,
    row: u64,
    finished: bool,
    failed: bool,
    max_held: usize,
}

const EPOCH: Date = Date::constant(1970, 1, 1);

fn epoch_days(days: i32) -> Option<Date> {
    EPOCH.checked_add(jiff::Span::new().days(days as i64)).ok()
}

impl<'l> PopulationReader<'l> {
    /// The largest number of complete applicants the reader held at once: never more than a
    /// batch, whatever the size of the file.
    pub fn max_held(&self) -> usize {
        self.max_held
    }

    /// Applicants, events and rows read so far.
    pub fn counts(&self) -> Counts {
        self.asm.counts
    }

    fn open(
        path: &Path,
        lib: &'l Library,
        batch: usize,
        default_as_of: Date,
    ) -> Result<PopulationReader<'l>, PopulationError> {
        let file = File::open(path).map_err(|e| io_error("无法读取 cannot read", path, e))?;
        Self::open_data(
            path,
            Data::File(file),
            Format::of(path)?,
            lib,
            batch,
            default_as_of,
        )
    }

    fn open_data(
        path: &Path,
        data: Data,
        format: Format,
        lib: &'l Library,
        batch: usize,
        default_as_of: Date,
    ) -> Result<PopulationReader<'l>, PopulationError> {
        let batch = batch.max(1);
        let (source, header): (Source, Vec<String>) = match format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .flexible(false)
                    .from_reader(BufReader::new(data.reader()));
                let header = reader
                    .headers()
                    .map_err(|e| PopulationError {
                        row: Some(1),
                        column: None,
                        message: format!("表头无法读取 (cannot read the header: {e})"),
                    })?
                    .iter()
                    .enumerate()
                    // A spreadsheet's UTF-8 byte order mark is not part of the first name.
                    .map(|(i, h)| {
                        if i == 0 {
                            h.trim_start_matches('\u{feff}')
                        } else {
                            h
                        }
                    })
                    .map(|h| h.trim().to_string())
                    .collect();
                (
                    Source::Csv {
                        reader,
                        record: csv::StringRecord::new(),
                    },
                    header,
                )
            }
            Format::Parquet => {
                fn open<T: parquet::file::reader::ChunkReader + 'static>(
                    path: &Path,
                    data: T,
                    lib: &Library,
                ) -> Result<(ParquetRecordBatchReader, Vec<String>, Vec<usize>), PopulationError>
                {
                    let invalid =
                        |e| io_error("不是有效的 Parquet 文件 not a valid Parquet file", path, e);
                    let mut md = ArrowReaderMetadata::load(&data, ArrowReaderOptions::new())
                        .map_err(invalid)?;
                    if let Some(schema) = keyed_schema(lib, md.schema()) {
                        md = ArrowReaderMetadata::try_new(
                            md.metadata().clone(),
                            ArrowReaderOptions::new().with_schema(schema),
                        )
                        .map_err(invalid)?;
                    }
                    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(data, md);
                    let header: Vec<String> = builder
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect();
                    let read = columns_with_values(builder.metadata(), header.len());
                    let mask = parquet::arrow::ProjectionMask::leaves(
                        builder.metadata().file_metadata().schema_descr(),
                        read.iter().copied(),
                    );
                    // Rows are assembled one by one across every column: a few thousand
                    // rows keep the columns being read in the processor's cache (at the
                    // applicant batch's 65,536 rows, most reads of a cell missed it).
                    let reader = builder
                        .with_projection(mask)
                        .with_batch_size(PARQUET_ROWS)
                        .build()
                        .map_err(|e| io_error("无法读取 cannot read", path, e))?;
                    Ok((reader, header, read))
                }
                let (reader, header, read) = match data {
                    Data::File(f) => open(path, f, lib)?,
                    Data::Bytes(b) => open(path, b, lib)?,
                };
                (
                    Source::Parquet {
                        decoded: decode_parquet(reader, read, header.len())
                            .map_err(|e| io_error("无法读取 cannot read", path, e))?,
                        batch: None,
                        pos: 0,
                    },
                    header,
                )
            }
            Format::Jsonl => (
                Source::Jsonl {
                    lines: BufReader::new(data.reader()).lines(),
                },
                vec![APPLICANT.to_string()],
            ),
        };
        let cols = Columns::new(lib, &header)?;
        Ok(PopulationReader {
            lib,
            source,
            asm: Assembler {
                lib,
                cols,
                default_as_of,
                current: None,
                event_ids: HashSet::new(),
                done: VecDeque::new(),
                counts: Counts::default(),
                members: Default::default(),
                kinds: FxHashMap::default(),
                keyed: Default::default(),
                keyed_kinds: Vec::new(),
            },
            batch,
            row: 0,
            finished: false,
            failed: false,
            max_held: 0,
        })
    }

    /// Reads one row (one line of JSON lines); `false` at the end of the file.
    fn pull(&mut self) -> Result<bool, PopulationError> {
        match &mut self.source {
            Source::Csv { reader, record } => {
                // The header is row 1.
                let row = self.row + 2;
                match reader.read_record(record) {
                    Ok(false) => Ok(false),
                    Ok(true) => {
                        self.row += 1;
                        let r = &*record;
                        self.asm
                            .row(row, &|i| r.get(i).map(Cell::Text), None)
                            .map(|_| true)
                    }
                    Err(e) => Err(PopulationError {
                        row: Some(row),
                        column: None,
                        message: format!("CSV 无法读取 (cannot read the CSV row: {e})"),
                    }),
                }
            }
            Source::Parquet {
                decoded,
                batch,
                pos,
            } => {
                if batch.as_ref().is_none_or(|b| *pos >= b.rows) {
                    // The decoding thread ends after the last batch or the first error.
                    match decoded.recv() {
                        Ok(Decoded::Batch(next)) => *batch = Some(next?),
                        Ok(Decoded::End) => return Ok(false),
                        // Gone without saying the file ended (it panicked): not an end of
                        // file, or a population would be cut short without a word.
                        Err(_) => {
                            return Err(PopulationError {
                                row: Some(self.row + 1),
                                column: None,
                                message: "Parquet 解码中断,文件未读完 (decoding stopped before \
                                          the end of the file)"
                                    .into(),
                            });
                        }
                    }
                    *pos = 0;
                    self.asm.new_dictionaries();
                }
                let b = batch.as_ref().expect("loaded above");
                let r = *pos;
                *pos += 1;
                self.row += 1;
                let get = |i: usize| match &b.cols[i] {
                    PqCol::Null => None,
                    PqCol::Text(a) => (!a.is_null(r)).then(|| Cell::Text(a.value(r))),
                    PqCol::Date(a) => (!a.is_null(r))
                        .then(|| epoch_days(a.value(r)))
                        .flatten()
                        .map(Cell::Date),
                    PqCol::Keyed(keys, texts) => (!keys.is_null(r)).then(|| {
                        let k = keys.value(r);
                        Cell::Keyed(k as u32, texts.value(k as usize))
                    }),
                };
                let present = b.present.as_ref().map(|p| p[r]);
                self.asm.row(self.row, &get, present).map(|_| true)
            }
            Source::Jsonl { lines } => loop {
                let Some(line) = lines.next() else {
                    return Ok(false);
                };
                self.row += 1;
                let n = self.row;
                let line = line.map_err(|e| PopulationError {
                    row: Some(n),
                    column: None,
                    message: format!("无法读取 (cannot read the line: {e})"),
                })?;
                let l = line.trim();
                if l.is_empty() || l.starts_with('#') {
                    continue;
                }
                let input =
                    kc_wire::parse_input(self.lib, l, None).map_err(|e| PopulationError {
                        row: Some(n),
                        column: None,
                        message: e.to_string(),
                    })?;
                self.asm.counts.rows += 1;
                self.asm.counts.applicants += 1;
                self.asm.counts.events += input.events.len() as u64;
                self.asm.done.push_back(input);
                return Ok(true);
            },
        }
    }
}

/// Batches decoded ahead, at most this many waiting. Two keep the decoded cells in the cache the
/// two cores share: with eight waiting, `population check` of 2M applicants took a third more
/// CPU time than on one thread; with two, the same CPU time in 4.5 s instead of 7.5–8 s.
const DECODED_AHEAD: usize = 2;

/// What the decoding thread sends: a batch or its error, then `End` after the last batch.
enum Decoded {
    Batch(Result<PqBatch, PopulationError>),
    End,
}

/// Starts the thread that decodes the Parquet file into column batches while the calling thread
/// assembles applicants from the batches already decoded. Decoding (decompression, dictionaries,
/// null padding) is a third of the reading: on its own thread the reading of a large file no
/// longer bounds a simulation on two cores. The thread stops at the end of the file, at the
/// first error (sent on, with the row where it arose), or when the reader is dropped.
fn decode_parquet(
    reader: ParquetRecordBatchReader,
    read: Vec<usize>,
    width: usize,
) -> std::io::Result<std::sync::mpsc::Receiver<Decoded>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(DECODED_AHEAD);
    std::thread::Builder::new()
        // Named, so that a profile tells decoding from assembling.
        .name("kc-parquet-decode".into())
        .spawn(move || {
            let mut rows = 0u64;
            for next in reader {
                let batch = pq_batch(next, rows, &read, width);
                let failed = batch.is_err();
                if let Ok(b) = &batch {
                    rows += b.rows as u64;
                }
                if tx.send(Decoded::Batch(batch)).is_err() || failed {
                    return;
                }
            }
            // The reader may be gone already; then nobody waits for the end.
            let _ = tx.send(Decoded::End);
        })?;
    Ok(rx)
}

/// One decoded record batch as text and date columns with each row's non-null columns;
/// `before` rows came before it (errors name the batch's first row). The batch holds the
/// columns `read` of the file's `width` (see [`columns_with_values`]), in that order; the
/// others are all null.
fn pq_batch(
    next: Result<arrow::record_batch::RecordBatch, arrow::error::ArrowError>,
    before: u64,
    read: &[usize],
    width: usize,
) -> Result<PqBatch, PopulationError> {
    let rb = next.map_err(|e| PopulationError {
        row: Some(before + 1),
        column: None,
        message: format!("Parquet 无法读取 (cannot read: {e})"),
    })?;
    let mut cols: Vec<PqCol> = (0..width).map(|_| PqCol::Null).collect();
    for (k, c) in rb.columns().iter().enumerate() {
        cols[read[k]] = pq_col(c).map_err(|e| PopulationError {
            row: Some(before + 1),
            column: Some(rb.schema().field(k).name().clone()),
            message: e,
        })?;
    }
    // Each row's non-null columns, from the columns' validity bitmaps (only the valid cells
    // are visited).
    let present = (cols.len() <= 128).then(|| {
        let mut p = vec![0u128; rb.num_rows()];
        for (k, c) in rb.columns().iter().enumerate() {
            let bit = 1u128 << read[k];
            match c.logical_nulls() {
                None => p.iter_mut().for_each(|x| *x |= bit),
                Some(n) => n.valid_indices().for_each(|r| p[r] |= bit),
            }
        }
        p
    });
    Ok(PqBatch {
        cols,
        rows: rb.num_rows(),
        present,
    })
}

/// Arrow's dictionary-encoded text, as enum columns are read (see [`keyed_schema`]).
fn dictionary_of_text() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// The file's schema with its text columns of enum members read as dictionaries, where any
/// is: an enum column holds a few distinct texts, which Parquet stores once per column chunk
/// as its dictionary. Read as text, every row's text is copied out of the dictionary and looked
/// up among the members again; read as a dictionary, each row is a key, and each key is read
/// once per batch ([`Assembler::field`]). `None` when no column is such.
fn keyed_schema(lib: &Library, schema: &Schema) -> Option<Arc<Schema>> {
    let v = &lib.vocab;
    let is_enum = |name: &str| -> bool {
        if name == EVENT_KIND {
            return true;
        }
        if let Some(f) = name.strip_prefix("applicant.") {
            return v
                .applicant
                .iter()
                .any(|a| a.name == f && matches!(a.ty, Type::Enum(_)));
        }
        if let Some(f) = name.strip_prefix("event.") {
            // A column serves every event type with a field of its name: all must be enums.
            let mut tys = v
                .events
                .iter()
                .flat_map(|e| &e.fields)
                .filter(|x| x.name == f);
            let first = tys.next();
            return first.is_some_and(|x| matches!(x.ty, Type::Enum(_)))
                && tys.all(|x| matches!(x.ty, Type::Enum(_)));
        }
        false
    };
    let mut any = false;
    let fields: Vec<Arc<Field>> = schema
        .fields()
        .iter()
        .map(|f| {
            if *f.data_type() == DataType::Utf8 && is_enum(f.name()) {
                any = true;
                Arc::new(f.as_ref().clone().with_data_type(dictionary_of_text()))
            } else {
                f.clone()
            }
        })
        .collect();
    any.then(|| Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())))
}

/// The columns of a Parquet file that hold a value somewhere: those of a flat schema whose
/// statistics in some row group count fewer nulls than rows (or give no count). A generated
/// population leaves most of its 87 columns empty — the fields of event types it has none
/// of — and decoding a column of nulls still costs a null buffer and padding for every row:
/// the columns left out are read as null without being decoded. (A file whose statistics
/// count every cell of a column null when one is not is corrupt; the check trusts them, as
/// every reader that prunes on statistics does.)
fn columns_with_values(md: &parquet::file::metadata::ParquetMetaData, width: usize) -> Vec<usize> {
    let leaves = md.file_metadata().schema_descr().num_columns();
    if leaves != width {
        // Nested columns: leaves are not fields; read them all.
        return (0..leaves).collect();
    }
    (0..width)
        .filter(|&i| {
            md.row_groups().iter().any(|rg| {
                let nulls = rg
                    .columns()
                    .get(i)
                    .and_then(|c| c.statistics())
                    .and_then(|s| s.null_count_opt());
                nulls.is_none_or(|n| i64::try_from(n).map_or(true, |n| n < rg.num_rows()))
            })
        })
        .collect()
}

/// A column as text (any type Arrow can cast to text) or as dates (`date32`).
fn pq_col(c: &ArrayRef) -> Result<PqCol, String> {
    match c.data_type() {
        DataType::Date32 => Ok(PqCol::Date(c.as_primitive().clone())),
        DataType::Utf8 => Ok(PqCol::Text(c.as_string::<i32>().clone())),
        DataType::Dictionary(k, v) if **v == DataType::Utf8 => {
            let d = if **k == DataType::Int32 {
                c.clone()
            } else {
                arrow::compute::cast(c, &dictionary_of_text())
                    .map_err(|e| format!("无法读作文本 (dictionary column cannot be read: {e})"))?
            };
            let d = d.as_dictionary::<Int32Type>();
            let texts = d
                .values()
                .as_string_opt::<i32>()
                .ok_or("字典不是文本 (dictionary values are not text)")?;
            // A key outside the dictionary would be a corrupt file: refused here rather than
            // panicking when its row is read.
            // (Every slot in range, nulls' too, is the common case and one vectorised pass.)
            let n = texts.len() as i32;
            let slots_in_range = d.keys().values().iter().all(|k| (0..n).contains(k));
            if !slots_in_range && d.keys().iter().flatten().any(|k| k < 0 || k >= n) {
                return Err("字典键越界 (a dictionary key is out of range)".into());
            }
            Ok(PqCol::Keyed(d.keys().clone(), texts.clone()))
        }
        _ => {
            let t = arrow::compute::cast(c, &DataType::Utf8).map_err(|e| {
                format!(
                    "无法读作文本 (column of type {} cannot be read as text: {e})",
                    c.data_type()
                )
            })?;
            Ok(PqCol::Text(t.as_string::<i32>().clone()))
        }
    }
}

impl Iterator for PopulationReader<'_> {
    type Item = Result<Vec<Input>, PopulationError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            if self.asm.done.len() >= self.batch {
                return Some(Ok(self.asm.done.drain(..self.batch).collect()));
            }
            if self.finished {
                if self.asm.done.is_empty() {
                    return None;
                }
                return Some(Ok(self.asm.done.drain(..).collect()));
            }
            match self.pull() {
                Ok(true) => {}
                Ok(false) => {
                    self.asm.finish_current();
                    self.finished = true;
                }
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
            self.max_held = self.max_held.max(self.asm.done.len());
        }
    }
}

/// Today in China (UTC+8): the default as-of date of a row that gives none, as for JSON lines
/// read by `kechuang simulate` (which moves it to the period's end anyway).
fn today() -> Date {
    jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date()
}

/// Reads a population in batches of at most `batch_size` applicants, by the file's extension
/// (.parquet, .csv, .jsonl). Rows without `as_of` are assessed as of today.
pub fn read<'l>(
    path: &Path,
    lib: &'l Library,
    batch_size: usize,
) -> Result<PopulationReader<'l>, PopulationError> {
    PopulationReader::open(path, lib, batch_size, today())
}

/// [`read`] with the as-of date of rows that give none (e.g. the simulation period's end).
pub fn read_as_of<'l>(
    path: &Path,
    lib: &'l Library,
    batch_size: usize,
    default_as_of: Date,
) -> Result<PopulationReader<'l>, PopulationError> {
    PopulationReader::open(path, lib, batch_size, default_as_of)
}

/// Reads the whole file, keeping nothing: its counts, or the first error.
pub fn check(path: &Path, lib: &Library) -> Result<Counts, PopulationError> {
    let mut r = read(path, lib, 4096)?;
    for b in r.by_ref() {
        b?;
    }
    Ok(r.counts())
}

/// [`read_as_of`] over a population held in memory (an uploaded file): `name` names it in
/// errors, `format` is its format (see [`Format::of`]).
pub fn read_bytes<'l>(
    name: &str,
    bytes: Vec<u8>,
    format: Format,
    lib: &'l Library,
    batch_size: usize,
    default_as_of: Date,
) -> Result<PopulationReader<'l>, PopulationError> {
    PopulationReader::open_data(
        Path::new(name),
        Data::Bytes(bytes::Bytes::from(bytes)),
        format,
        lib,
        batch_size,
        default_as_of,
    )
}

/// [`check`] over a population held in memory: its counts, or the first error (with its row
/// and column).
pub fn check_bytes(
    name: &str,
    bytes: Vec<u8>,
    format: Format,
    lib: &Library,
) -> Result<Counts, PopulationError> {
    let mut r = read_bytes(name, bytes, format, lib, 4096, today())?;
    for b in r.by_ref() {
        b?;
    }
    Ok(r.counts())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped library.
    fn shipped() -> Library {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
        let (_, checked) = kc_library::load(&dir).expect("policies load");
        checked.library.expect("the library checks")
    }

    #[test]
    fn a_decoding_thread_gone_without_its_end_is_an_error_not_an_end_of_file() {
        let lib = shipped();
        let tmp = std::env::temp_dir().join(format!("kc-decode-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let csv = tmp.join("one.csv");
        std::fs::write(
            &csv,
            "applicant,applicant.kind,applicant.region\nA,enterprise,hunnan\n",
        )
        .unwrap();
        let inputs: Vec<Input> = read(&csv, &lib, 10)
            .unwrap()
            .flat_map(|b| b.unwrap())
            .collect();
        let pq = tmp.join("one.parquet");
        crate::write(&pq, &lib, inputs).unwrap();
        // Read whole, the file ends normally.
        assert_eq!(
            read(&pq, &lib, 10)
                .unwrap()
                .flat_map(|b| b.unwrap())
                .count(),
            1
        );
        // A decoding thread that stopped without sending the end (a panic in the decoder)
        // must not read as the end of the file.
        let mut r = read(&pq, &lib, 10).unwrap();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        drop(tx);
        if let Source::Parquet { decoded, .. } = &mut r.source {
            *decoded = rx;
        }
        let e = r.next().expect("an error").expect_err("not an end of file");
        assert_eq!(e.row, Some(1), "{e}");
        assert!(e.message.contains("decoding stopped"), "{e}");
        assert!(r.next().is_none(), "the reader stops after its error");
    }

    #[test]
    fn enum_columns_and_only_they_are_read_as_dictionaries() {
        let lib = shipped();
        let names = [
            APPLICANT,
            "applicant.kind",
            "applicant.region",
            "applicant.size",
            EVENT_KIND,
            EVENT_DATE,
            "event.amount",
            "event.contract_type",
            "event.grade",
        ];
        let schema = Schema::new(
            names
                .iter()
                .map(|n| {
                    let ty = if *n == EVENT_DATE {
                        DataType::Date32
                    } else {
                        DataType::Utf8
                    };
                    Field::new(*n, ty, true)
                })
                .collect::<Vec<_>>(),
        );
        let keyed = keyed_schema(&lib, &schema).expect("enum columns present");
        let dictionaries: Vec<&str> = keyed
            .fields()
            .iter()
            .filter(|f| *f.data_type() == dictionary_of_text())
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(
            dictionaries,
            [
                "applicant.kind",
                "applicant.region",
                "applicant.size",
                EVENT_KIND,
                "event.contract_type",
                "event.grade"
            ]
        );
        // Nothing to change: no second reading of the metadata.
        let plain = Schema::new(vec![
            Field::new(APPLICANT, DataType::Utf8, false),
            Field::new("event.amount", DataType::Utf8, true),
        ]);
        assert!(keyed_schema(&lib, &plain).is_none());
    }

    #[test]
    fn a_dictionary_key_read_as_one_type_is_read_again_as_another() {
        // An `event.*` column serves the fields of its name of every event type, which a
        // vocabulary may type differently: a key's value is remembered with its type.
        let lib = shipped();
        let tmp = std::env::temp_dir().join(format!("kc-keyed-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let csv = tmp.join("header.csv");
        std::fs::write(&csv, "applicant,event,event_kind,event_date,event.grade\n").unwrap();
        let r = read(&csv, &lib, 10).unwrap();
        let col = r
            .asm
            .cols
            .names
            .iter()
            .position(|n| n == "event.grade")
            .unwrap();
        let get = |i: usize| (i == col).then_some(Cell::Keyed(0, "excellent"));
        let grade = lib
            .vocab
            .events
            .iter()
            .flat_map(|e| &e.fields)
            .find(|f| f.name == "grade")
            .unwrap()
            .ty;
        assert!(matches!(
            r.asm.field(2, &get, col, grade).unwrap(),
            Value::Enum(..)
        ));
        assert_eq!(
            r.asm.field(3, &get, col, Type::Text).unwrap(),
            Value::Text("excellent".into())
        );
        assert!(matches!(
            r.asm.field(4, &get, col, grade).unwrap(),
            Value::Enum(..)
        ));
    }
}

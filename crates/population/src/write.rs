//! Streaming writers: applicants in, rows out.

use crate::columns::*;
use crate::{Counts, Format, PopulationError, io_error};
use arrow::array::{ArrayRef, Date32Builder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use jiff::civil::Date;
use kc_check::Library;
use kc_eval::Input;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per Parquet record batch (and row group flush): bounded memory, good compression.
const PARQUET_ROWS: usize = 65_536;

enum Out {
    Null,
    Text(String),
    Date(Date),
}

enum Builder {
    Text(StringBuilder),
    Date(Date32Builder),
}

enum Sink {
    Csv(csv::Writer<BufWriter<File>>),
    Parquet {
        writer: ArrowWriter<File>,
        schema: SchemaRef,
        builders: Vec<Builder>,
        pending: usize,
    },
    Jsonl(BufWriter<File>),
}

/// Writes a population applicant by applicant; [`finish`](Self::finish) completes the file.
pub struct PopulationWriter<'l> {
    lib: &'l Library,
    layout: Layout,
    sink: Sink,
    path: PathBuf,
    counts: Counts,
}

const EPOCH: Date = Date::constant(1970, 1, 1);

fn days(d: Date) -> i32 {
    EPOCH
        .until(d)
        .map(|s| s.get_days())
        .expect("civil dates are within range")
}

fn builders(schema: &Schema) -> Vec<Builder> {
    schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Date32 => Builder::Date(Date32Builder::new()),
            _ => Builder::Text(StringBuilder::new()),
        })
        .collect()
}

impl<'l> PopulationWriter<'l> {
    pub fn create(path: &Path, lib: &'l Library) -> Result<PopulationWriter<'l>, PopulationError> {
        let format = Format::of(path)?;
        let layout = layout(lib);
        let file = File::create(path).map_err(|e| io_error("无法写入 cannot write", path, e))?;
        let sink = match format {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(BufWriter::new(file));
                w.write_record(&layout.names)
                    .map_err(|e| io_error("无法写入 cannot write", path, e))?;
                Sink::Csv(w)
            }
            Format::Jsonl => Sink::Jsonl(BufWriter::new(file)),
            Format::Parquet => {
                let schema: SchemaRef = Arc::new(Schema::new(
                    layout
                        .names
                        .iter()
                        .map(|n| {
                            let ty = if Layout::is_date(n) {
                                DataType::Date32
                            } else {
                                DataType::Utf8
                            };
                            Field::new(n, ty, n != APPLICANT)
                        })
                        .collect::<Vec<_>>(),
                ));
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .set_dictionary_enabled(true)
                    .build();
                let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
                    .map_err(|e| io_error("无法写入 cannot write", path, e))?;
                Sink::Parquet {
                    writer,
                    builders: builders(&schema),
                    schema,
                    pending: 0,
                }
            }
        };
        Ok(PopulationWriter {
            lib,
            layout,
            sink,
            path: path.to_path_buf(),
            counts: Counts::default(),
        })
    }

    /// The rows of one applicant: its record on every row (a spreadsheet filtered by region
    /// keeps whole rows), its certifications, figures and history on the first only.
    fn rows(&self, input: &Input) -> Vec<Vec<Out>> {
        let lib = self.lib;
        let a = &input.applicant;
        let opt = |s: Option<String>| s.map_or(Out::Null, Out::Text);
        let mut rows = Vec::with_capacity(input.events.len().max(1));
        let n = input.events.len().max(1);
        for i in 0..n {
            let mut r: Vec<Out> = Vec::with_capacity(self.layout.names.len());
            r.push(Out::Text(a.id.clone()));
            r.push(opt((!a.name.is_empty()).then(|| a.name.clone())));
            r.push(Out::Date(input.as_of));
            for (slot, _) in &self.layout.applicant_fields {
                r.push(opt(value_text(lib, &a.fields[*slot])));
            }
            if i == 0 {
                r.push(opt(certifications_text(lib, input)));
                r.push(opt(figures_text(lib, input)));
                r.push(opt(history_text(input)));
            } else {
                r.extend([Out::Null, Out::Null, Out::Null]);
            }
            match input.events.get(i) {
                None => {
                    r.extend([Out::Null, Out::Null, Out::Null]);
                    r.extend(self.layout.event_fields.iter().map(|_| Out::Null));
                }
                Some(e) => {
                    let def = &lib.vocab.events[e.kind];
                    r.push(Out::Text(e.id.clone()));
                    r.push(Out::Text(def.name.clone()));
                    r.push(Out::Date(e.date));
                    for name in &self.layout.event_fields {
                        r.push(match def.fields.iter().position(|f| &f.name == name) {
                            Some(k) => opt(value_text(lib, &e.fields[k])),
                            None => Out::Null,
                        });
                    }
                }
            }
            rows.push(r);
        }
        rows
    }

    pub fn push(&mut self, input: &Input) -> Result<(), PopulationError> {
        self.counts.applicants += 1;
        self.counts.events += input.events.len() as u64;
        let path = self.path.clone();
        let werr = |e: &dyn std::fmt::Display| io_error("无法写入 cannot write", &path, e);
        if let Sink::Jsonl(w) = &mut self.sink {
            self.counts.rows += 1;
            let line = input_json(self.lib, input).to_string();
            return writeln!(w, "{line}").map_err(|e| werr(&e));
        }
        let rows = self.rows(input);
        self.counts.rows += rows.len() as u64;
        match &mut self.sink {
            Sink::Jsonl(_) => unreachable!("handled above"),
            Sink::Csv(w) => {
                for r in rows {
                    let cells: Vec<String> = r
                        .into_iter()
                        .map(|c| match c {
                            Out::Null => String::new(),
                            Out::Text(s) => s,
                            Out::Date(d) => d.to_string(),
                        })
                        .collect();
                    w.write_record(&cells).map_err(|e| werr(&e))?;
                }
            }
            Sink::Parquet {
                writer,
                schema,
                builders,
                pending,
            } => {
                for r in rows {
                    for (b, c) in builders.iter_mut().zip(r) {
                        match (b, c) {
                            (Builder::Text(b), Out::Text(s)) => b.append_value(s),
                            (Builder::Text(b), Out::Null) => b.append_null(),
                            (Builder::Date(b), Out::Date(d)) => b.append_value(days(d)),
                            (Builder::Date(b), Out::Null) => b.append_null(),
                            (Builder::Text(b), Out::Date(d)) => b.append_value(d.to_string()),
                            (Builder::Date(b), Out::Text(_)) => b.append_null(),
                        }
                    }
                    *pending += 1;
                }
                if *pending >= PARQUET_ROWS {
                    flush(writer, schema, builders).map_err(|e| werr(&e))?;
                    *pending = 0;
                }
            }
        }
        Ok(())
    }

    pub fn finish(self) -> Result<Counts, PopulationError> {
        let path = self.path;
        let werr = |e: &dyn std::fmt::Display| io_error("无法写入 cannot write", &path, e);
        match self.sink {
            Sink::Csv(mut w) => w.flush().map_err(|e| werr(&e))?,
            Sink::Jsonl(mut w) => w.flush().map_err(|e| werr(&e))?,
            Sink::Parquet {
                mut writer,
                schema,
                mut builders,
                pending,
            } => {
                if pending > 0 {
                    flush(&mut writer, &schema, &mut builders).map_err(|e| werr(&e))?;
                }
                writer.close().map_err(|e| werr(&e))?;
            }
        }
        Ok(self.counts)
    }
}

fn flush(
    writer: &mut ArrowWriter<File>,
    schema: &SchemaRef,
    builders: &mut [Builder],
) -> Result<(), parquet::errors::ParquetError> {
    let arrays: Vec<ArrayRef> = builders
        .iter_mut()
        .map(|b| -> ArrayRef {
            match b {
                Builder::Text(b) => Arc::new(b.finish()),
                Builder::Date(b) => Arc::new(b.finish()),
            }
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays)?;
    writer.write(&batch)
}

/// Writes a population to a .parquet, .csv or .jsonl file, streaming.
pub fn write(
    path: &Path,
    lib: &Library,
    inputs: impl IntoIterator<Item = Input>,
) -> Result<Counts, PopulationError> {
    let mut w = PopulationWriter::create(path, lib)?;
    for input in inputs {
        w.push(&input)?;
    }
    w.finish()
}

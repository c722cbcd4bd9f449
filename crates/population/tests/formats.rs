//! Parquet, CSV and JSON lines hold the same population: round trips, streaming in batches, and
//! errors that name the row and the column.

use kc_money::Money;
use kc_population::{read, read_as_of, write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

fn library() -> Arc<kc_check::Library> {
    static LIB: OnceLock<Arc<kc_check::Library>> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
        let (files, checked) = kc_library::load(&dir).expect("policies load");
        assert!(!checked.has_errors(), "{}", checked.render(&files));
        Arc::new(checked.library.unwrap())
    })
    .clone()
}

fn twelve() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../simulate/tests/data/twelve.jsonl")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kc-pop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn all(path: &Path, lib: &kc_check::Library) -> Vec<kc_eval::Input> {
    read(path, lib, 5)
        .unwrap()
        .flat_map(|b| b.unwrap())
        .collect()
}

fn forecast(lib: &kc_check::Library, inputs: Vec<kc_eval::Input>) -> kc_simulate::Forecast {
    let mut sim = kc_simulate::Simulation::new(
        lib,
        Some("2023-01-01".parse().unwrap()),
        Some("2023-12-31".parse().unwrap()),
    );
    for i in inputs {
        sim.add(i);
    }
    sim.finish()
}

#[test]
fn twelve_applicants_round_trip_through_parquet_csv_and_jsonl() {
    let lib = library();
    let inputs = all(&twelve(), &lib);
    assert_eq!(inputs.len(), 12);
    let baseline = forecast(&lib, inputs.clone());
    assert_eq!(baseline.total(), Money::parse_amount("1023000").unwrap());
    for ext in ["parquet", "csv", "jsonl"] {
        let path = temp(&format!("twelve.{ext}"));
        let counts = write(&path, &lib, inputs.clone()).unwrap();
        assert_eq!((counts.applicants, counts.events), (12, 16), "{ext}");
        let back = all(&path, &lib);
        assert_eq!(back.len(), 12, "{ext}");
        let f = forecast(&lib, back.clone());
        // Every line, level, recipient and amount, not only the total.
        assert_eq!(f, baseline, "{ext}");
        assert_eq!(f.total(), Money::parse_amount("1023000").unwrap(), "{ext}");
        // And the inputs themselves: the same facts, value by value.
        for (a, b) in inputs.iter().zip(&back) {
            assert_eq!(a.applicant.id, b.applicant.id);
            assert_eq!(
                a.applicant.fields, b.applicant.fields,
                "{ext} {}",
                a.applicant.id
            );
            assert_eq!(a.as_of, b.as_of);
            assert_eq!(a.events.len(), b.events.len());
            for (x, y) in a.events.iter().zip(&b.events) {
                assert_eq!(
                    (&x.id, x.kind, x.date, &x.fields),
                    (&y.id, y.kind, y.date, &y.fields)
                );
            }
        }
    }
    // CSV rows: one per event, an applicant's rows together; header on row 1.
    let csv = std::fs::read_to_string(temp("twelve.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 16);
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .starts_with("applicant,name,as_of,applicant.kind,")
    );
}

#[test]
fn certifications_figures_and_history_round_trip() {
    let lib = library();
    let line = r#"{"schema": "kechuang/eval-input/v1", "as_of": "2023-12-31", "applicant": {"id": "T1", "name": "示例机构", "kind": "tech_transfer_institution", "region": "dongchangfu", "certifications": [{"cert": "tech_transfer_municipal", "date": "2021-03-01"}, {"cert": "high_tech", "date": "2020-01-02"}], "figures": {"2022": {"contract_turnover": "4000000.50"}, "2023": {"revenue": "12"}}}, "events": [{"id": "t1", "kind": "transfer_service_year", "date": "2023-03-01", "service_year": 2022, "local_conversion": true}], "history": [{"measure": "voucher_institution", "date": "2022-05-01", "amount": "1000.00", "item": "x"}]}"#;
    let src = temp("one.jsonl");
    std::fs::write(&src, format!("{line}\n")).unwrap();
    let inputs = all(&src, &lib);
    for ext in ["parquet", "csv"] {
        let path = temp(&format!("one.{ext}"));
        write(&path, &lib, inputs.clone()).unwrap();
        let back = all(&path, &lib);
        let (a, b) = (&inputs[0], &back[0]);
        assert_eq!(
            a.applicant.certifications, b.applicant.certifications,
            "{ext}"
        );
        assert_eq!(a.applicant.figures, b.applicant.figures, "{ext}");
        assert_eq!(a.history, b.history, "{ext}");
        assert_eq!(b.applicant.certifications.len(), 2);
        assert_eq!(b.history[0].amount, Money::parse_amount("1000").unwrap());
    }
    let csv = std::fs::read_to_string(temp("one.csv")).unwrap();
    assert!(
        csv.contains("tech_transfer_municipal@2021-03-01;high_tech@2020-01-02"),
        "{csv}"
    );
    assert!(
        csv.contains("contract_turnover@2022=4000000.50;revenue@2023=12.00"),
        "{csv}"
    );
}

#[test]
fn batches_never_split_an_applicant_and_hold_at_most_a_batch() {
    let lib = library();
    let cal = kc_population::Calibration::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/population/shenyang.toml"),
    )
    .unwrap();
    let inputs: Vec<_> = kc_population::generate(&lib, &cal, 300, 7)
        .unwrap()
        .collect();
    let events: usize = inputs.iter().map(|i| i.events.len()).sum();
    assert!(
        inputs.iter().filter(|i| i.events.len() > 1).count() > 20,
        "multi-row applicants"
    );
    for ext in ["parquet", "csv"] {
        let path = temp(&format!("stream.{ext}"));
        write(&path, &lib, inputs.clone()).unwrap();
        for k in [1, 7, 64] {
            let mut r = read(&path, &lib, k).unwrap();
            let mut sizes = Vec::new();
            let mut ids = Vec::new();
            let mut n_events = 0;
            for b in r.by_ref() {
                let b = b.unwrap();
                sizes.push(b.len());
                n_events += b.iter().map(|i| i.events.len()).sum::<usize>();
                ids.extend(b.into_iter().map(|i| i.applicant.id));
            }
            // Every batch but the last is full; no applicant appears twice (none was split).
            assert!(
                sizes[..sizes.len() - 1].iter().all(|s| *s == k),
                "{ext} {k}"
            );
            assert_eq!(sizes.iter().sum::<usize>(), 300, "{ext} {k}");
            let expected: Vec<_> = inputs.iter().map(|i| i.applicant.id.clone()).collect();
            assert_eq!(ids, expected, "{ext} {k}");
            assert_eq!(n_events, events, "{ext} {k}");
            assert!(r.max_held() <= k, "{ext} {k}: held {}", r.max_held());
            assert_eq!(r.counts().applicants, 300);
        }
    }
}

fn csv_error(text: &str) -> kc_population::PopulationError {
    let lib = library();
    let path = temp(&format!("bad-{}.csv", text.len()));
    std::fs::write(&path, text).unwrap();
    match read(&path, &lib, 10) {
        Err(e) => e,
        Ok(r) => r
            .filter_map(|b| b.err())
            .next()
            .expect("the file is refused"),
    }
}

#[test]
fn a_bad_money_value_names_its_row_and_column() {
    let text = "applicant,applicant.kind,applicant.region,event,event_kind,event_date,event.amount,event.contract_type\n\
                L4,university,dongchangfu,e1,contract_registered,2023-05-01,2000000,tech_transfer\n\
                L4,university,dongchangfu,e2,contract_registered,2023-06-01,100,tech_service\n\
                L5,research_institute,dongchangfu,e3,contract_registered,2023-05-01,300.5,tech_service\n\
                L5,research_institute,dongchangfu,e4,contract_registered,2023-07-01,12.345.6,tech_service\n";
    let e = csv_error(text);
    assert_eq!(
        (e.row, e.column.as_deref()),
        (Some(5), Some("event.amount")),
        "{e}"
    );
    let shown = e.to_string();
    assert!(
        shown.starts_with("第5行 row 5, 列 column event.amount: "),
        "{shown}"
    );
}

#[test]
fn an_unknown_enum_member_names_the_column() {
    let text =
        "applicant,applicant.kind,applicant.region\nA,enterprise,hunnan\nB,enterprise,atlantis\n";
    let e = csv_error(text);
    assert_eq!(
        (e.row, e.column.as_deref()),
        (Some(3), Some("applicant.region")),
        "{e}"
    );
    assert!(
        e.message.contains("atlantis") && e.message.contains("hunnan"),
        "{e}"
    );
}

#[test]
fn missing_and_unknown_columns_are_named() {
    let e = csv_error("name,applicant.kind\n示例,enterprise\n");
    assert_eq!(e.column.as_deref(), Some("applicant"), "{e}");
    assert!(
        e.to_string().contains("missing required column applicant"),
        "{e}"
    );
    let e = csv_error("applicant,event,event_date\nA,e1,2023-01-01\n");
    assert_eq!(e.column.as_deref(), Some("event_kind"), "{e}");
    let e = csv_error("applicant,applicant.colour\nA,red\n");
    assert_eq!(e.column.as_deref(), Some("applicant.colour"), "{e}");
    // A field of another event kind must stay empty.
    let e = csv_error(
        "applicant,event,event_kind,event_date,event.amount,event.cert\nA,e1,certified,2023-01-01,5,high_tech\n",
    );
    assert_eq!(
        (e.row, e.column.as_deref()),
        (Some(2), Some("event.amount")),
        "{e}"
    );
}

#[test]
fn rows_without_as_of_take_the_default_and_an_applicant_without_events_is_kept() {
    let lib = library();
    let path = temp("noevents.csv");
    std::fs::write(
        &path,
        "applicant,applicant.kind,event,event_kind,event_date\nA,enterprise,,,\nB,university,b1,rural_team_recognized,2023-04-01\n",
    )
    .unwrap();
    let inputs: Vec<_> = read_as_of(&path, &lib, 10, "2023-12-31".parse().unwrap())
        .unwrap()
        .flat_map(|b| b.unwrap())
        .collect();
    assert_eq!(inputs.len(), 2);
    assert!(inputs[0].events.is_empty());
    assert_eq!(inputs[1].events.len(), 1);
    assert_eq!(inputs[0].as_of.to_string(), "2023-12-31");
    let c = kc_population::check(&path, &lib).unwrap();
    assert_eq!((c.applicants, c.events, c.rows), (2, 1, 2));
}

/// A population held in memory (an upload to the 测算 page) reads as the same file on disk,
/// in each format, and a wrong row is named alike.
#[test]
fn a_population_in_memory_reads_as_its_file() {
    use kc_population::{Format, check_bytes, read_bytes};
    let lib = library();
    let inputs = all(&twelve(), &lib);
    let baseline = forecast(&lib, inputs.clone());
    for (ext, format) in [
        ("parquet", Format::Parquet),
        ("csv", Format::Csv),
        ("jsonl", Format::Jsonl),
    ] {
        let path = temp(&format!("mem-twelve.{ext}"));
        write(&path, &lib, inputs.clone()).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let counts = check_bytes("twelve", bytes.clone(), format, &lib).unwrap();
        assert_eq!((counts.applicants, counts.events), (12, 16), "{ext}");
        let back: Vec<kc_eval::Input> = read_bytes(
            "twelve",
            bytes,
            format,
            &lib,
            5,
            "2023-12-31".parse().unwrap(),
        )
        .unwrap()
        .flat_map(|b| b.unwrap())
        .collect();
        assert_eq!(forecast(&lib, back), baseline, "{ext}");
    }
    let text = "applicant,applicant.kind,applicant.region,event,event_kind,event_date,event.amount,event.contract_type\n\
                L4,university,dongchangfu,e1,contract_registered,2023-05-01,12.345.6,tech_transfer\n";
    let e = check_bytes("bad.csv", text.as_bytes().to_vec(), Format::Csv, &lib).unwrap_err();
    assert_eq!(
        (e.row, e.column.as_deref()),
        (Some(2), Some("event.amount"))
    );
    let e = check_bytes(
        "bad.parquet",
        b"PAR1 not parquet".to_vec(),
        Format::Parquet,
        &lib,
    )
    .unwrap_err();
    assert!(e.to_string().contains("Parquet"), "{e}");
}

/// Writes a CSV text (no quoting, empty cells null) as a Parquet file of text columns.
fn parquet_of_csv(
    text: &str,
    path: &Path,
    props: Option<parquet::file::properties::WriterProperties>,
) {
    parquet_of_csv_keyed(text, path, &[], props)
}

fn csv_and_parquet_errors(text: &str, name: &str) -> Vec<kc_population::PopulationError> {
    let lib = library();
    let pq = temp(&format!("{name}.parquet"));
    parquet_of_csv(text, &pq, None);
    let csv = temp(&format!("{name}.csv"));
    std::fs::write(&csv, text).unwrap();
    [csv, pq]
        .iter()
        .map(|p| match read(p, &lib, 10) {
            Err(e) => e,
            Ok(r) => r
                .filter_map(|b| b.err())
                .next()
                .unwrap_or_else(|| panic!("{} is refused", p.display())),
        })
        .collect()
}

#[test]
fn a_field_of_another_event_kind_is_refused_in_csv_and_parquet_alike() {
    // Row 3's contract carries a registered volume, a field of contract_registration_volume
    // events: the reader refuses it rather than drop it silently. (The Parquet reader looks at
    // such cells through each row's non-null columns; this checks it still sees them.)
    let text = "applicant,applicant.kind,applicant.region,event,event_kind,event_date,event.amount,event.contract_type,event.registered_volume\n\
                L4,university,dongchangfu,e1,contract_registered,2023-05-01,2000000,tech_transfer,\n\
                L4,university,dongchangfu,e2,contract_registered,2023-06-01,100,tech_service,5000\n\
                L5,contract_registration_institution,hunnan,e3,contract_registration_volume,2023-06-30,,,300000000\n";
    // A CSV file's header is its row 1; a Parquet file's rows count from its first.
    for (e, row) in csv_and_parquet_errors(text, "stray")
        .into_iter()
        .zip([3, 2])
    {
        assert_eq!(
            (e.row, e.column.as_deref()),
            (Some(row), Some("event.registered_volume")),
            "{e}"
        );
        assert!(e.to_string().contains("没有此字段"), "{e}");
    }
}

#[test]
fn an_event_id_used_twice_by_one_applicant_is_refused() {
    let head = "applicant,applicant.kind,applicant.region,event,event_kind,event_date,event.amount,event.contract_type\n";
    let row = |a: &str, e: &str| {
        format!("{a},university,dongchangfu,{e},contract_registered,2023-05-01,100,tech_service\n")
    };
    // A few events (compared in place), and forty (past the in-place comparison).
    for n in [2usize, 40] {
        let mut text = head.to_string();
        text += &row("L1", "e0");
        for i in 0..n {
            text += &row("L4", &format!("e{i}"));
        }
        // L1 used e0 too, which is no repeat; L4 using e1 again is.
        text += &row("L4", "e1");
        let e = csv_error(&text);
        // Header, L1, L4's n rows: the repeat is row n + 3.
        assert_eq!(
            (e.row, e.column.as_deref()),
            (Some(n as u64 + 3), Some("event")),
            "{e}"
        );
        assert!(e.to_string().contains("重复"), "{e}");
    }
}

#[test]
fn an_error_past_the_first_decoded_batches_names_its_row_and_a_reader_dropped_early_stops() {
    // Parquet is decoded a few thousand rows at a time on a thread of its own, ahead of the
    // rows being assembled: a bad cell in a later batch still names its row, and the
    // applicants before it come out first.
    let head = "applicant,applicant.kind,applicant.region,event,event_kind,event_date,event.amount,event.contract_type\n";
    let mut text = head.to_string();
    for i in 0..6_000 {
        let amount = if i == 5_000 { "12.345.6" } else { "100" };
        text += &format!(
            "A{i},university,dongchangfu,e1,contract_registered,2023-05-01,{amount},tech_service\n"
        );
    }
    // A CSV file's header is its row 1; a Parquet file's rows count from its first.
    for (e, row) in csv_and_parquet_errors(&text, "late")
        .into_iter()
        .zip([5_002, 5_001])
    {
        assert_eq!(
            (e.row, e.column.as_deref()),
            (Some(row), Some("event.amount")),
            "{e}"
        );
    }
    let lib = library();
    let pq = temp("late.parquet");
    let mut read_before = 0;
    for b in read(&pq, &lib, 1_000).unwrap() {
        match b {
            Ok(b) => read_before += b.len(),
            Err(_) => break,
        }
    }
    // The batches completed before the bad row (the applicant on row 5,000 is complete only
    // when the next row starts, and that row is the bad one).
    assert_eq!(read_before, 4_000, "the batches before the bad row");
    // Dropped after its first batch: the decoding thread ends instead of blocking the test.
    let mut r = read(&pq, &lib, 10).unwrap();
    assert_eq!(r.next().unwrap().unwrap().len(), 10);
    drop(r);
}

/// An applicant's id, fields and events (id, kind, fields as text).
type Facts = (String, Vec<kc_check::Value>, Vec<(String, usize, String)>);

/// The facts of each applicant read from `path`, as comparable tuples.
fn facts(path: &Path) -> Vec<Facts> {
    all(path, &library())
        .into_iter()
        .map(|i| {
            let events = i
                .events
                .iter()
                .map(|e| (e.id.clone(), e.kind, format!("{:?}", e.fields)))
                .collect();
            (i.applicant.id, i.applicant.fields, events)
        })
        .collect()
}

#[test]
fn a_column_empty_in_one_row_group_is_still_read_in_another_and_without_statistics() {
    use parquet::file::properties::{EnabledStatistics, WriterProperties};
    // The reader skips decoding a column whose statistics count only nulls in every row
    // group. Here event.amount and event.contract_type are empty in the first row group of
    // two rows and hold values in the second; applicant.size is empty everywhere.
    let text = "applicant,applicant.kind,applicant.region,applicant.size,event,event_kind,event_date,event.amount,event.contract_type\n\
                A1,enterprise,hunnan,,,,,,\n\
                A2,enterprise,hunnan,,,,,,\n\
                L4,university,dongchangfu,,e1,contract_registered,2023-05-01,2000000,tech_transfer\n\
                L5,university,dongchangfu,,e2,contract_registered,2023-06-01,100,tech_service\n";
    let csv = temp("groups.csv");
    std::fs::write(&csv, text).unwrap();
    let expected = facts(&csv);
    assert_eq!(expected.len(), 4);
    assert!(expected[2].2[0].2.contains("2000000"), "{:?}", expected[2]);
    for (name, stats) in [
        ("groups.parquet", EnabledStatistics::Chunk),
        ("groups-nostats.parquet", EnabledStatistics::None),
    ] {
        let pq = temp(name);
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(2))
            .set_statistics_enabled(stats)
            .build();
        parquet_of_csv(text, &pq, Some(props));
        let md = parquet::file::reader::FileReader::metadata(
            &parquet::file::serialized_reader::SerializedFileReader::new(
                std::fs::File::open(&pq).unwrap(),
            )
            .unwrap(),
        )
        .clone();
        assert_eq!(md.num_row_groups(), 2, "{name}");
        assert_eq!(facts(&pq), expected, "{name}");
    }
}

/// Writes a CSV text as [`parquet_of_csv`] does, with the columns `keyed` as Arrow
/// dictionaries of 8-bit keys, as pandas and pyarrow write categorical columns.
fn parquet_of_csv_keyed(
    text: &str,
    path: &Path,
    keyed: &[&str],
    props: Option<parquet::file::properties::WriterProperties>,
) {
    use arrow::array::{ArrayRef, StringArray};
    use arrow::datatypes::DataType;
    use arrow::record_batch::RecordBatch;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let batch = RecordBatch::try_from_iter(header.iter().enumerate().map(|(i, h)| {
        let cells: Vec<Option<&str>> = rows
            .iter()
            .map(|r| Some(r[i]).filter(|c| !c.is_empty()))
            .collect();
        let col = Arc::new(StringArray::from(cells)) as ArrayRef;
        let col = if keyed.contains(h) {
            let ty = DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8));
            arrow::compute::cast(&col, &ty).unwrap()
        } else {
            col
        };
        (h.to_string(), col)
    }))
    .unwrap();
    write_batch(&batch, path, props);
}

/// Writes one record batch as a Parquet file.
fn write_batch(
    batch: &arrow::record_batch::RecordBatch,
    path: &Path,
    props: Option<parquet::file::properties::WriterProperties>,
) {
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        batch.schema(),
        props,
    )
    .unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

/// The first error reading `path` gives.
fn first_error(path: &Path) -> kc_population::PopulationError {
    read(path, &library(), 10)
        .unwrap()
        .filter_map(Result::err)
        .next()
        .unwrap_or_else(|| panic!("{} is refused", path.display()))
}

/// 5,000 applicants with one contract each; the enum columns' members come in an order that
/// changes every 700 rows, so each row group's dictionary numbers them differently.
fn rotating_members(bad_row: Option<usize>) -> String {
    let kinds = ["enterprise", "university", "research_institute"];
    let regions = ["hunnan", "dongchangfu", "heping", "linqing"];
    let types = [
        "tech_development",
        "tech_transfer",
        "tech_consulting",
        "tech_service",
    ];
    let mut text = String::from(
        "applicant,applicant.kind,applicant.region,event,event_kind,event_date,event.amount,event.contract_type\n",
    );
    for i in 0..5_000 {
        let turn = i / 700;
        let kind = if bad_row == Some(i + 1) {
            "spaceship"
        } else {
            kinds[(i + turn) % 3]
        };
        // Every seventh applicant's region is left empty (a null key).
        let region = if i % 7 == 3 {
            ""
        } else {
            regions[(i * 3 + turn) % 4]
        };
        let ty = types[(i + 2 * turn) % 4];
        text.push_str(&format!(
            "P{i},{kind},{region},c{i},contract_registered,2023-05-01,{}.{:02},{ty}\n",
            1000 + i,
            i % 100
        ));
    }
    text
}

#[test]
fn enum_columns_read_as_dictionaries_hold_what_the_csv_holds_across_row_groups_and_batches() {
    use parquet::file::properties::WriterProperties;
    // The reader reads the text columns of enum members as dictionaries and each key once
    // per batch: a batch of 2,048 rows here spans row groups of 700 whose dictionaries
    // differ, and the columns are plain text, Arrow dictionaries of 8-bit keys, and text
    // written without Parquet dictionaries.
    let text = rotating_members(None);
    let csv = temp("rotating.csv");
    std::fs::write(&csv, &text).unwrap();
    let expected = facts(&csv);
    assert_eq!(expected.len(), 5_000);
    let keyed = [
        "applicant.kind",
        "applicant.region",
        "event_kind",
        "event.contract_type",
    ];
    let groups = || WriterProperties::builder().set_max_row_group_row_count(Some(700));
    for (name, keys, props) in [
        ("rotating-text.parquet", &[][..], groups().build()),
        ("rotating-keyed.parquet", &keyed[..], groups().build()),
        (
            "rotating-plain.parquet",
            &[][..],
            groups().set_dictionary_enabled(false).build(),
        ),
    ] {
        let pq = temp(name);
        parquet_of_csv_keyed(&text, &pq, keys, Some(props));
        assert_eq!(facts(&pq), expected, "{name}");
    }
    // A member unknown to the vocabulary names its row and column, in a dictionary too.
    let bad = rotating_members(Some(4_321));
    for (name, keys) in [
        ("bad-text.parquet", &[][..]),
        ("bad-keyed.parquet", &keyed[..]),
    ] {
        let pq = temp(name);
        parquet_of_csv_keyed(&bad, &pq, keys, Some(groups().build()));
        let e = first_error(&pq);
        assert_eq!(
            (e.row, e.column.as_deref()),
            (Some(4_321), Some("applicant.kind")),
            "{name}: {e}"
        );
        assert!(e.message.contains("spaceship"), "{name}: {e}");
    }
}

#[test]
fn a_date_column_under_a_field_of_another_type_is_refused_not_read_as_unknown() {
    use arrow::array::{ArrayRef, Date32Array, StringArray};
    use arrow::record_batch::RecordBatch;
    // event.amount is money; a date32 column there is a mistake to report, not a fact to
    // drop (it read as unknown before).
    let text = |v: &str| Arc::new(StringArray::from(vec![v])) as ArrayRef;
    let day = Arc::new(Date32Array::from(vec![19_478])) as ArrayRef; // 2023-05-01
    let batch = RecordBatch::try_from_iter([
        ("applicant", text("L1")),
        ("applicant.kind", text("university")),
        ("applicant.region", text("dongchangfu")),
        ("event", text("e1")),
        ("event_kind", text("contract_registered")),
        ("event_date", day.clone()),
        ("event.amount", day),
    ])
    .unwrap();
    let pq = temp("date-amount.parquet");
    write_batch(&batch, &pq, None);
    let e = first_error(&pq);
    assert_eq!(
        (e.row, e.column.as_deref()),
        (Some(1), Some("event.amount")),
        "{e}"
    );
    assert!(e.message.contains("2023-05-01"), "{e}");
}

#[test]
fn an_applicant_id_under_two_keys_of_one_dictionary_is_one_applicant() {
    use arrow::array::{ArrayRef, DictionaryArray, Int32Array, StringArray};
    use arrow::record_batch::RecordBatch;
    // Rows are one applicant's while their id is the same. An id column written as a dictionary
    // (a pandas categorical) may hold one text twice (Arrow allows it): two keys of the same
    // text are still one applicant. P2 follows under a third key.
    let ids = DictionaryArray::try_new(
        Int32Array::from(vec![0, 1, 1, 2]),
        Arc::new(StringArray::from(vec!["P1", "P1", "P2"])),
    )
    .unwrap();
    let text = |v: Vec<&str>| Arc::new(StringArray::from(v)) as ArrayRef;
    let batch = RecordBatch::try_from_iter([
        ("applicant", Arc::new(ids) as ArrayRef),
        ("applicant.kind", text(vec!["enterprise"; 4])),
        ("applicant.region", text(vec!["hunnan"; 4])),
        ("event", text(vec!["e1", "e2", "e3", "e1"])),
        ("event_kind", text(vec!["certified"; 4])),
        ("event_date", text(vec!["2023-03-01"; 4])),
        ("event.cert", text(vec!["tech_sme"; 4])),
        ("event.first", text(vec!["true"; 4])),
    ])
    .unwrap();
    let pq = temp("two-keys.parquet");
    write_batch(&batch, &pq, None);
    let read: Vec<(String, usize)> = all(&pq, &library())
        .into_iter()
        .map(|i| (i.applicant.id, i.events.len()))
        .collect();
    assert_eq!(read, [("P1".to_string(), 3), ("P2".to_string(), 1)]);
}

//! Every format through real stores: write with `TableWriter`, upload, read back.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::collections::BTreeMap;

use cambium_data::{
    read_batches_with, read_table, Format, Location, ReadOptions, Stores, TableWriter,
};
use cambium_ml::table::{Column, Field, Table};

fn sample() -> Table {
    Table::new(vec![
        Field {
            name: "id".into(),
            data: Column::Int(vec![Some(1), None, Some(-3), Some(i64::MAX), Some(0)]),
        },
        Field {
            name: "score".into(),
            data: Column::Float(vec![Some(0.1), Some(3.0), None, Some(-1e300), Some(2.5e-8)]),
        },
        Field {
            name: "ok".into(),
            data: Column::Bool(vec![Some(true), Some(false), None, Some(true), None]),
        },
        Field {
            name: "note, \"quoted\"".into(),
            data: Column::Str(vec![
                Some("plain".into()),
                Some("comma, \"quotes\" and\nnew line\r\n".into()),
                None,
                Some("ünïcødé ✓ 日本語".into()),
                Some(String::new()),
            ]),
        },
    ])
    .unwrap()
}

async fn write(
    loc: &Location,
    format: Format,
    key: &str,
    batches: &[Table],
) -> cambium_data::WrittenObject {
    let scratch = tempfile::tempdir().unwrap();
    let mut w = TableWriter::new(format, scratch.path()).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    let written = w.finish(loc, key).await.unwrap();
    // The scratch file is gone once uploaded.
    assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0);
    written
}

#[tokio::test]
async fn every_format_round_trips_through_a_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::new(BTreeMap::new(), dir.path().join("artifacts")).unwrap();
    let loc = stores.artifacts().unwrap();
    let table = sample();
    for format in Format::ALL {
        let key = format!("runs/r1/data.{}", format.extension());
        // Two batches, to check they join up.
        let written = write(
            &loc,
            format,
            &key,
            &[table.take(&[0, 1]), table.take(&[2, 3, 4])],
        )
        .await;
        assert_eq!(written.rows, 5, "{format}");
        assert_eq!(written.uri, loc.uri(&key));
        assert!(written.uri.starts_with("file:///"), "{}", written.uri);
        let on_disk = std::fs::read(dir.path().join("artifacts").join(&key)).unwrap();
        assert_eq!(written.bytes, on_disk.len() as u64);

        let back = read_table(&written.uri, format).await.unwrap();
        assert_eq!(back, table, "{format}");

        // The same data written again has the same fingerprint.
        let again = write(
            &loc,
            format,
            &format!("runs/r2/data.{}", format.extension()),
            std::slice::from_ref(&table),
        )
        .await;
        assert_eq!(again.fingerprint, written.fingerprint, "{format}");
        assert_eq!(again.fingerprint.len(), 64);
    }
}

#[tokio::test]
async fn memory_store_objects_are_downloaded_and_read_in_batches() {
    let loc = Location::open("memory://roundtrip/p".parse().unwrap()).unwrap();
    let n = 20_000usize;
    let big = Table::new(vec![
        Field {
            name: "i".into(),
            data: Column::Int((0..n as i64).map(Some).collect()),
        },
        Field {
            name: "s".into(),
            data: Column::Str(
                (0..n)
                    .map(|i| (i % 7 != 0).then(|| format!("row {i}")))
                    .collect(),
            ),
        },
    ])
    .unwrap();
    for format in Format::ALL {
        let written = write(
            &loc,
            format,
            &format!("big.{format}"),
            std::slice::from_ref(&big),
        )
        .await;
        assert!(
            written.uri.starts_with("memory://roundtrip/p/"),
            "{}",
            written.uri
        );
        let options = ReadOptions {
            batch_rows: 8192,
            scratch_dir: Some(tempfile::tempdir().unwrap().keep()),
        };
        let reader = read_batches_with(&written.uri, format, &options)
            .await
            .unwrap();
        let sizes: Vec<usize> = reader.map(|b| b.unwrap().rows()).collect();
        assert_eq!(sizes, [8192, 8192, 3616], "{format}");
        assert_eq!(
            read_table(&written.uri, format).await.unwrap(),
            big,
            "{format}"
        );
    }
}

#[tokio::test]
async fn empty_and_missing_objects() {
    let dir = tempfile::tempdir().unwrap();
    let loc = Location::open(format!("file://{}", dir.path().display()).parse().unwrap()).unwrap();
    let empty = sample().take(&[]);
    for format in Format::ALL {
        // No batch at all: an empty object that reads back as an empty table.
        let none = write(&loc, format, &format!("none.{format}"), &[]).await;
        assert_eq!(none.rows, 0);
        assert_eq!(read_table(&none.uri, format).await.unwrap().rows(), 0);
        // Columns but no rows: Parquet keeps the columns.
        let cols = write(
            &loc,
            format,
            &format!("cols.{format}"),
            std::slice::from_ref(&empty),
        )
        .await;
        let back = read_table(&cols.uri, format).await.unwrap();
        if format == Format::Parquet {
            assert_eq!(back, empty);
        }
    }
    let err = read_table(&loc.uri("nope.csv"), Format::Csv)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("no object at file:///") && err.contains("nope.csv"),
        "{err}"
    );
    let err = read_table("memory://roundtrip/zzz.parquet", Format::Parquet)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(err, "no object at memory://roundtrip/zzz.parquet");
}

#[tokio::test]
async fn foreign_csv_is_typed_by_inference() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.csv");
    std::fs::write(
        &path,
        "\u{feff}a,b,c,d,e\r\n1,1,true,x,\r\n2,2.5,FALSE,\"y, z\",\r\n,,,\"\",\r\n",
    )
    .unwrap();
    let uri = format!("file://{}", path.display());
    let t = read_table(&uri, Format::Csv).await.unwrap();
    assert_eq!(
        t.column("a"),
        Some(&Column::Int(vec![Some(1), Some(2), None]))
    );
    assert_eq!(
        t.column("b"),
        Some(&Column::Float(vec![Some(1.0), Some(2.5), None]))
    );
    assert_eq!(
        t.column("c"),
        Some(&Column::Bool(vec![Some(true), Some(false), None]))
    );
    assert_eq!(
        t.column("d"),
        Some(&Column::Str(vec![
            Some("x".into()),
            Some("y, z".into()),
            Some(String::new())
        ]))
    );
    assert_eq!(t.column("e"), Some(&Column::Str(vec![None, None, None])));

    std::fs::write(&path, "a,b\n1,2\n3\n").unwrap();
    let err = read_table(&uri, Format::Csv).await.unwrap_err().to_string();
    assert!(
        err.contains("at line 3") && err.contains("1 fields but the header has 2"),
        "{err}"
    );
}

#[tokio::test]
async fn parquet_from_elsewhere_with_unsupported_types_names_the_column() {
    use std::sync::Arc;

    use arrow_array::{Date32Array, Int32Array, RecordBatch};
    use arrow_schema::{DataType, Field as ArrowField, Schema};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dates.parquet");
    let schema = Arc::new(Schema::new(vec![
        ArrowField::new("n", DataType::Int32, true),
        ArrowField::new("day", DataType::Date32, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int32Array::from(vec![1])),
            Arc::new(Date32Array::from(vec![19000])),
        ],
    )
    .unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let err = read_table(&format!("file://{}", path.display()), Format::Parquet)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("column 'day' has type Date32"), "{err}");
}

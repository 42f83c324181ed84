//! `cambium examples wine-warehouse`: seeds the example DAG's SQLite "warehouse" with the red
//! wine quality data that the `linfa-datasets` crate ships (1599 wines, 11 physico-chemical
//! features, quality 3–8), split into batches that exercise a continuous-training pipeline:
//!
//! | batch | rows | what |
//! |---|---|---|
//! | 1 | 1000 | the first 1000 rows of a fixed shuffle: the initial training data |
//! | 2 | 599 | the other rows: new data arriving |
//! | 3 | 600 | drifted: the first 600 rows of batch 1 with alcohol + 3, sulphates × 2, volatile acidity × 2 |
//! | 4 | 300 | broken: the first 300 rows of batch 2 with alcohol missing (NULL) in every row |
//!
//! `wine_id` is the row number in the original data (1..=1599); the copies in batch 3 have
//! `10000 + wine_id` of the row they copy and those in batch 4 `20000 + wine_id`, so every
//! copy can be traced back to its original.
//!
//! The shuffle is the same on every platform: rows are sorted by the 64-bit FNV-1a hash of
//! the bytes of [`SHUFFLE_SEED`] followed by the wine id as 8 little-endian bytes (ties,
//! which do not happen on this data, by wine id). No random number generator is involved.
//!
//! Batches arrive in order: `--through N` lands batches 1 to N (all four by default;
//! `--through 0` only creates the empty table), so a run of the example DAG sees new data the
//! way a warehouse receives it, and its `watermark` on `batch` takes only what arrived since
//! the last successful run.
//!
//! The command is idempotent: it creates the table if it does not exist and inserts a batch
//! only when no row of that batch is there, one `BEGIN IMMEDIATE` transaction per batch (so
//! two concurrent calls cannot both insert a batch).

use crate::cli::{Global, Output};
use crate::context::Ctx;
use crate::error::{CliError, CmdResult};
use crate::table;
use clap::Subcommand;
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};
use std::collections::BTreeMap;
use std::str::FromStr;

#[derive(Debug, Subcommand)]
pub enum ExamplesCommand {
    /// Seeds the `wine_quality` table of the example DAG's SQLite warehouse from the red wine
    /// quality data (batches: 1 training, 2 new data, 3 drifted, 4 broken); idempotent.
    WineWarehouse {
        /// The SQLite database (sqlite://PATH) [default: the `warehouse` connection of the
        /// configuration, sqlite://<home>/warehouse.db unless configured].
        #[arg(long)]
        url: Option<String>,
        /// Land batches 1 to N, as data arriving in order (0: only create the empty table).
        #[arg(long, value_name = "N", default_value_t = 4,
              value_parser = clap::value_parser!(i64).range(0..=4))]
        through: i64,
    },
}

/// The table the command writes.
pub const TABLE: &str = "wine_quality";

/// The seed of the deterministic shuffle (see the module docs).
pub const SHUFFLE_SEED: &[u8] = b"cambium wine_quality v1";

/// The feature columns, in the order of the dataset's columns.
const FEATURES: [&str; 11] = [
    "fixed_acidity",
    "volatile_acidity",
    "citric_acid",
    "residual_sugar",
    "chlorides",
    "free_sulfur_dioxide",
    "total_sulfur_dioxide",
    "density",
    "ph",
    "sulphates",
    "alcohol",
];
const VOLATILE_ACIDITY: usize = 1;
const SULPHATES: usize = 9;
const ALCOHOL: usize = 10;

const ROWS: usize = 1599;
const TRAIN_ROWS: usize = 1000;
const DRIFTED_ROWS: usize = 600;
const BROKEN_ROWS: usize = 300;
const DRIFTED_ID_OFFSET: i64 = 10_000;
const BROKEN_ID_OFFSET: i64 = 20_000;

/// What each batch is, for the table output.
const BATCH_NOTES: [&str; 4] = [
    "training data: the first 1000 rows of a fixed shuffle",
    "new data arriving: the other 599 rows",
    "drifted: 600 rows of batch 1, alcohol + 3, sulphates x 2, volatile acidity x 2",
    "broken: 300 rows of batch 2 with alcohol missing",
];

pub async fn run(global: Global, command: ExamplesCommand) -> CmdResult<i32> {
    match command {
        ExamplesCommand::WineWarehouse { url, through } => {
            wine_warehouse(&global, url, through).await
        }
    }
}

/// One row of `wine_quality`.
#[derive(Debug, Clone)]
struct Wine {
    wine_id: i64,
    features: [Option<f64>; 11],
    quality: i64,
}

#[derive(Debug, Serialize)]
struct Summary {
    url: String,
    table: &'static str,
    batches: BTreeMap<String, i64>,
    inserted: Vec<i64>,
    /// Batches 1 to this one were asked for.
    through: i64,
}

async fn wine_warehouse(global: &Global, url: Option<String>, through: i64) -> CmdResult<i32> {
    let url = match url {
        Some(url) => url,
        None => {
            let (_, config, _) = Ctx::resolve(global)?;
            match config.connections.get(cambium_config::WAREHOUSE_CONN) {
                Some(secret) => secret.expose().to_string(),
                None => {
                    return Err(CliError::usage(format!(
                        "no '{}' connection is configured; pass --url sqlite://PATH",
                        cambium_config::WAREHOUSE_CONN
                    )))
                }
            }
        }
    };
    let masked = cambium_config::mask_url(&url);
    let batches = batches(load_wines()?);
    let mut conn = open(&url, &masked).await?;
    let result = seed(&mut conn, &batches, through).await;
    let _ = conn.close().await;
    let (inserted, counts) =
        result.map_err(|e| CliError::failed(format!("cannot seed {TABLE} in {masked}: {e}")))?;

    let summary = Summary {
        url: masked,
        table: TABLE,
        batches: counts
            .iter()
            .map(|(batch, n)| (batch.to_string(), *n))
            .collect(),
        inserted,
        through,
    };
    if global.output == Output::Json {
        let text = serde_json::to_string_pretty(&summary)
            .map_err(|e| CliError::usage(format!("cannot print JSON: {e}")))?;
        outln!("{text}");
    } else {
        print_summary(&summary, &counts);
    }
    Ok(0)
}

fn print_summary(summary: &Summary, counts: &BTreeMap<i64, i64>) {
    if summary.inserted.is_empty() {
        outln!(
            "{} in {}: nothing inserted (batches 1 to {} are there)",
            summary.table,
            summary.url,
            summary.through
        );
    } else {
        let list: Vec<String> = summary.inserted.iter().map(i64::to_string).collect();
        outln!(
            "{} in {}: inserted batch{} {}",
            summary.table,
            summary.url,
            if list.len() == 1 { "" } else { "es" },
            list.join(", ")
        );
    }
    let rows: Vec<Vec<String>> = (1..=4i64)
        .map(|batch| {
            let note = usize::try_from(batch - 1)
                .ok()
                .and_then(|i| BATCH_NOTES.get(i))
                .copied()
                .unwrap_or_default();
            vec![
                batch.to_string(),
                counts.get(&batch).copied().unwrap_or(0).to_string(),
                if summary.inserted.contains(&batch) {
                    "yes"
                } else {
                    "no"
                }
                .to_string(),
                note.to_string(),
            ]
        })
        .collect();
    table::print(&["batch", "rows", "inserted", "what"], &rows);
}

/// The red wine quality data, `wine_id` = row number (1-based) in the original data.
fn load_wines() -> CmdResult<Vec<Wine>> {
    let data = linfa_datasets::winequality();
    let (records, targets) = (&data.records, &data.targets);
    if records.nrows() != ROWS || records.ncols() != FEATURES.len() || targets.len() != ROWS {
        return Err(CliError::failed(format!(
            "the wine quality data has {} rows of {} features and {} targets; expected {ROWS} \
             rows of {} features",
            records.nrows(),
            records.ncols(),
            targets.len(),
            FEATURES.len()
        )));
    }
    let mut wines = Vec::with_capacity(ROWS);
    for (i, row) in records.rows().into_iter().enumerate() {
        let mut features = [None; 11];
        for (slot, value) in features.iter_mut().zip(row.iter()) {
            *slot = Some(*value);
        }
        let quality = i64::try_from(targets[i])
            .map_err(|_| CliError::failed(format!("wine {}: quality out of range", i + 1)))?;
        let wine_id = i64::try_from(i + 1)
            .map_err(|_| CliError::failed("wine id out of range".to_string()))?;
        wines.push(Wine {
            wine_id,
            features,
            quality,
        });
    }
    Ok(wines)
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.into_iter().fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// The shuffle key of a wine: FNV-1a of the seed then the id's 8 little-endian bytes.
fn shuffle_key(wine_id: i64) -> u64 {
    fnv1a(SHUFFLE_SEED.iter().copied().chain(wine_id.to_le_bytes()))
}

/// Batches 1 to 4 (index 0 to 3) from the original rows.
fn batches(mut wines: Vec<Wine>) -> [Vec<Wine>; 4] {
    wines.sort_by_key(|w| (shuffle_key(w.wine_id), w.wine_id));
    let new_data = wines.split_off(TRAIN_ROWS.min(wines.len()));
    let train = wines;
    let drifted = train
        .iter()
        .take(DRIFTED_ROWS)
        .map(|w| {
            let mut d = w.clone();
            d.wine_id += DRIFTED_ID_OFFSET;
            d.features[ALCOHOL] = d.features[ALCOHOL].map(|v| v + 3.0);
            d.features[SULPHATES] = d.features[SULPHATES].map(|v| v * 2.0);
            d.features[VOLATILE_ACIDITY] = d.features[VOLATILE_ACIDITY].map(|v| v * 2.0);
            d
        })
        .collect();
    let broken = new_data
        .iter()
        .take(BROKEN_ROWS)
        .map(|w| {
            let mut b = w.clone();
            b.wine_id += BROKEN_ID_OFFSET;
            b.features[ALCOHOL] = None;
            b
        })
        .collect();
    [train, new_data, drifted, broken]
}

/// Opens (creating it and its folder if needed) the SQLite database.
async fn open(url: &str, masked: &str) -> CmdResult<SqliteConnection> {
    if !url.to_ascii_lowercase().starts_with("sqlite:") {
        return Err(CliError::usage(format!(
            "{masked} is not a SQLite URL; the wine warehouse is a SQLite database: pass \
             --url sqlite://PATH or configure the '{}' connection as one",
            cambium_config::WAREHOUSE_CONN
        )));
    }
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| CliError::usage(format!("{masked} is not a valid SQLite URL: {e}")))?
        .create_if_missing(true);
    if let Some(parent) = options
        .get_filename()
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            CliError::usage(format!(
                "cannot create the folder {} for {masked}: {e}",
                parent.display()
            ))
        })?;
    }
    SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| CliError::usage(format!("cannot open the warehouse {masked}: {e}")))
}

/// Creates the table and inserts the missing batches up to `through`; returns the batches inserted and the
/// row count of every batch afterwards.
async fn seed(
    conn: &mut SqliteConnection,
    batches: &[Vec<Wine>; 4],
    through: i64,
) -> Result<(Vec<i64>, BTreeMap<i64, i64>), sqlx::Error> {
    let columns: Vec<String> = FEATURES.iter().map(|f| format!("{f} REAL")).collect();
    sqlx::query(&format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (wine_id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, \
         {}, quality INTEGER)",
        columns.join(", ")
    ))
    .execute(&mut *conn)
    .await?;

    let placeholders = vec!["?"; FEATURES.len() + 3].join(", ");
    let insert = format!(
        "INSERT INTO {TABLE} (wine_id, batch, {}, quality) VALUES ({placeholders})",
        FEATURES.join(", ")
    );
    let mut inserted = Vec::new();
    for (batch, rows) in (1i64..=through).zip(batches.iter()) {
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let present: i64 = sqlx::query(&format!(
            "SELECT EXISTS (SELECT 1 FROM {TABLE} WHERE batch = ?)"
        ))
        .bind(batch)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if present != 0 {
            tx.rollback().await?;
            continue;
        }
        for wine in rows {
            let mut query = sqlx::query(&insert).bind(wine.wine_id).bind(batch);
            for value in wine.features {
                query = query.bind(value);
            }
            query.bind(wine.quality).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        inserted.push(batch);
    }

    let mut counts: BTreeMap<i64, i64> = (1..=4).map(|b| (b, 0)).collect();
    let rows = sqlx::query(&format!(
        "SELECT batch, COUNT(*) FROM {TABLE} WHERE batch IS NOT NULL GROUP BY batch ORDER BY batch"
    ))
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        counts.insert(row.try_get(0)?, row.try_get(1)?);
    }
    Ok((inserted, counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a(*b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(*b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(*b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn batches_have_the_documented_sizes_and_shifts() {
        let wines = load_wines().expect("the dataset loads");
        let [train, new_data, drifted, broken] = batches(wines.clone());
        assert_eq!(
            (train.len(), new_data.len(), drifted.len(), broken.len()),
            (1000, 599, 600, 300)
        );
        let mut ids: Vec<i64> = train.iter().chain(&new_data).map(|w| w.wine_id).collect();
        ids.sort_unstable();
        assert_eq!(ids, (1..=1599).collect::<Vec<i64>>());
        for (d, t) in drifted.iter().zip(&train) {
            assert_eq!(d.wine_id, t.wine_id + 10_000);
            assert_eq!(d.features[ALCOHOL], t.features[ALCOHOL].map(|v| v + 3.0));
            assert_eq!(
                d.features[SULPHATES],
                t.features[SULPHATES].map(|v| v * 2.0)
            );
        }
        assert!(broken.iter().all(|b| b.features[ALCOHOL].is_none()));
        // The first row of the original data, and the shuffle is stable.
        assert_eq!(wines[0].features[ALCOHOL], Some(9.4));
        assert_eq!(wines[0].quality, 5);
        let again = batches(load_wines().expect("the dataset loads"));
        assert_eq!(
            again[0].iter().map(|w| w.wine_id).collect::<Vec<_>>(),
            train.iter().map(|w| w.wine_id).collect::<Vec<_>>()
        );
    }
}

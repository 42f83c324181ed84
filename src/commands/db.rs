//! `cambium db migrate | check`.

use crate::cli::{DbCommand, Global};
use crate::error::CmdResult;
use cambium_store::Store;

pub async fn run(global: Global, command: DbCommand) -> CmdResult<i32> {
    std::fs::create_dir_all(&global.home)?;
    let home = cambium_scheduler::Home::new(
        std::fs::canonicalize(&global.home).unwrap_or_else(|_| global.home.clone()),
    );
    let url = global
        .database_url
        .clone()
        .unwrap_or_else(|| home.default_database_url());
    let store = Store::connect(&url).await?;
    match command {
        DbCommand::Migrate => {
            store.migrate().await?;
            outln!("the metadata database is up to date");
        }
        DbCommand::Check => {
            store.check().await?;
            outln!("the metadata database is reachable and migrated");
        }
    }
    store.close().await;
    Ok(0)
}

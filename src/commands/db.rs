//! `cambium db migrate | check`.

use crate::cli::{DbCommand, Global};
use crate::context::Ctx;
use crate::error::CmdResult;
use cambium_store::Store;

pub async fn run(global: Global, command: DbCommand) -> CmdResult<i32> {
    let (_, _, url) = Ctx::resolve(&global)?;
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

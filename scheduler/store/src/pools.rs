//! Pools: named slot limits from configuration.

use crate::codec::{text, u32_col};
use crate::error::Result;
use crate::store::Store;
use std::collections::HashMap;

impl Store {
    /// Sets the pools from configuration (name → slots), replacing earlier values: afterwards
    /// the store holds exactly these pools.
    pub async fn set_pools(&self, pools: &HashMap<String, u32>) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM pools").execute(&mut *tx).await?;
        for (name, slots) in pools {
            sqlx::query("INSERT INTO pools (name, slots) VALUES ($1, $2)")
                .bind(name.as_str())
                .bind(i64::from(*slots))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every pool and its slots.
    pub async fn pools(&self) -> Result<HashMap<String, u32>> {
        let rows = sqlx::query("SELECT name, slots FROM pools")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((text(row, "name")?, u32_col(row, "slots")?)))
            .collect()
    }
}

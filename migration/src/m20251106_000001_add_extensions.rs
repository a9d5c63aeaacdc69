//! Life Graph `001_add_extensions`: `pgcrypto`, `pg_trgm` and `btree_gist` on PostgreSQL.
//!
//! SQLite has no extensions; there this migration does nothing (DECISIONS 5), and the trigram
//! search it enables falls back to a portable ranking over an index on the normalized name
//! (migration 002).
//!
//! As in the seed, `down` drops the three extensions even if they existed before `up` (which
//! used `IF NOT EXISTS`): a database that had them for other reasons must re-create them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::support::exec;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        exec(manager, "CREATE EXTENSION IF NOT EXISTS pgcrypto").await?;
        exec(manager, "CREATE EXTENSION IF NOT EXISTS pg_trgm").await?;
        exec(manager, "CREATE EXTENSION IF NOT EXISTS btree_gist").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        exec(manager, "DROP EXTENSION IF EXISTS btree_gist").await?;
        exec(manager, "DROP EXTENSION IF EXISTS pg_trgm").await?;
        exec(manager, "DROP EXTENSION IF EXISTS pgcrypto").await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

//! `lifeos-testkit` — test databases and schema comparisons for the LifeOS suites.
//!
//! - [`TestDb`]: a fresh database per test — SQLite in memory by default, or a uniquely named
//!   PostgreSQL database when `LIFEOS_TEST_POSTGRES_URL` is set, dropped afterwards (also when
//!   the test fails). `TestDb::at_head()` migrates it to the head of the chain,
//!   `TestDb::at(name)` / [`migrate_to`] to a named revision, so a test can insert rows there
//!   and continue with `Migrator::up`.
//! - [`schema`]: normalized snapshots of a live schema and their differences.
//! - [`drift`]: entities compared with a migrated schema.
//! - [`explain`]: which index serves a query (`assert_uses_index`), on either backend.
//! - [`rows`]: row counts, to show that a refused call wrote nothing.
//!
//! A test is written once against `&TestDb`; the environment picks the backend, and CI runs
//! every suite on both.
//!
//! ```no_run
//! # async fn example() -> Result<(), sea_orm::DbErr> {
//! use lifeos_testkit::TestDb;
//! use sea_orm::ConnectionTrait;
//!
//! let db = TestDb::at_head().await?;
//! db.execute_unprepared("SELECT 1").await?;
//! # Ok(())
//! # }
//! ```

pub mod db;
pub mod drift;
pub mod explain;
pub mod rows;
/// Schema snapshots and their comparison (the `lifeos-schema` crate, re-exported).
pub use lifeos_schema as schema;

pub use db::{
    CONCURRENT_CONNECTIONS, POSTGRES_URL_VAR, TestDb, backend, migrate_to, migration_names, user,
};

//! One fresh database per test.
//!
//! SQLite in memory by default; when `LIFEOS_TEST_POSTGRES_URL` is set (a URL to any
//! database of a server, e.g. `postgres://postgres@127.0.0.1:5432/postgres`), a uniquely
//! named PostgreSQL database, created for the test and dropped when the [`TestDb`] is dropped
//! — also when the test panics.

use std::ops::Deref;

use lifeos_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};

/// The variable that switches the test suites to PostgreSQL.
pub const POSTGRES_URL_VAR: &str = "LIFEOS_TEST_POSTGRES_URL";

/// The backend tests run on in this process: PostgreSQL when [`POSTGRES_URL_VAR`] is set.
pub fn backend() -> DbBackend {
    match postgres_url() {
        Some(_) => DbBackend::Postgres,
        None => DbBackend::Sqlite,
    }
}

fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A database that exists for one test. Derefs to its [`DatabaseConnection`].
///
/// Write a test body once against `&TestDb` (or `&DatabaseConnection`); the environment
/// decides the backend, and CI runs every suite once per backend.
#[derive(Debug)]
pub struct TestDb {
    conn: DatabaseConnection,
    guard: Option<DropDatabase>,
    _remove_file: Option<RemoveFile>,
}

impl TestDb {
    /// A fresh, empty database (no migrations applied).
    ///
    /// # Errors
    /// Fails when the database cannot be created or connected to.
    pub async fn empty() -> Result<Self, DbErr> {
        Self::empty_with_pool(5).await
    }

    /// [`TestDb::empty`] with a PostgreSQL pool of `connections`.
    async fn empty_with_pool(connections: u32) -> Result<Self, DbErr> {
        match postgres_url() {
            None => {
                let conn = Database::connect("sqlite::memory:").await?;
                Ok(Self {
                    conn,
                    guard: None,
                    _remove_file: None,
                })
            }
            Some(admin_url) => {
                let name = format!("lifeos_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(admin_url.as_str()).await?;
                admin
                    // From template0: whatever a server's template1 holds (extensions,
                    // functions) stays out of the test's schema.
                    .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE template0"))
                    .await?;
                // From here on the guard drops the database whatever happens.
                let guard = DropDatabase {
                    admin_url: admin_url.clone(),
                    name: name.clone(),
                };
                admin.close().await?;
                let mut options = ConnectOptions::new(with_database(&admin_url, &name)?);
                options.max_connections(connections).sqlx_logging(false);
                let conn = Database::connect(options).await?;
                Ok(Self {
                    conn,
                    guard: Some(guard),
                    _remove_file: None,
                })
            }
        }
    }

    /// A fresh database migrated to the head of the chain.
    ///
    /// # Errors
    /// Fails when the database cannot be created or a migration fails.
    pub async fn at_head() -> Result<Self, DbErr> {
        let db = Self::empty().await?;
        Migrator::up(&db.conn, None).await?;
        Ok(db)
    }

    /// A fresh database at head that several connections use at once, for tests of
    /// concurrent callers: a pool of [`CONCURRENT_CONNECTIONS`] connections. On SQLite an
    /// in-memory database has one connection, which would run "concurrent" callers one after
    /// another; this one is a temporary file in WAL mode, each connection waiting up to five
    /// seconds for the write lock (sqlx's busy timeout), removed when dropped.
    ///
    /// # Errors
    /// Fails when the database cannot be created or a migration fails.
    pub async fn concurrent_at_head() -> Result<Self, DbErr> {
        if postgres_url().is_some() {
            let db = Self::empty_with_pool(CONCURRENT_CONNECTIONS).await?;
            Migrator::up(&db.conn, None).await?;
            return Ok(db);
        }
        let path = std::env::temp_dir().join(format!(
            "lifeos_test_{}.sqlite",
            uuid::Uuid::new_v4().simple()
        ));
        let file = RemoveFile(path.clone());
        let url = format!("sqlite://{}?mode=rwc", path.display());
        // Migrate on one connection: the runner switches foreign-key enforcement off on the
        // connection it rebuilds tables on, which a pool would not guarantee is the same.
        let mut options = ConnectOptions::new(url.as_str());
        options.max_connections(1).sqlx_logging(false);
        let setup = Database::connect(options).await?;
        setup
            .execute_unprepared("PRAGMA journal_mode = WAL")
            .await?;
        Migrator::up(&setup, None).await?;
        setup.close().await?;
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(CONCURRENT_CONNECTIONS)
            .sqlx_logging(false);
        let conn = Database::connect(options).await?;
        Ok(Self {
            conn,
            guard: None,
            _remove_file: Some(file),
        })
    }

    /// A fresh database migrated up to and including the migration `name`.
    ///
    /// # Errors
    /// Fails when `name` is not in the chain or a migration fails.
    pub async fn at(name: &str) -> Result<Self, DbErr> {
        let db = Self::empty().await?;
        migrate_to(&db.conn, name).await?;
        Ok(db)
    }

    /// The connection.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// The URL of the PostgreSQL database this test owns, for a test that opens connections
    /// of its own (`None` on SQLite, in memory).
    ///
    /// # Errors
    /// Fails when the configured server URL is malformed.
    pub fn postgres_url(&self) -> Result<Option<String>, DbErr> {
        match (&self.guard, postgres_url()) {
            (Some(guard), Some(server)) => with_database(&server, &guard.name).map(Some),
            _ => Ok(None),
        }
    }

    /// The name of the PostgreSQL database this test owns (`None` on SQLite, in memory).
    pub fn database_name(&self) -> Option<&str> {
        self.guard.as_ref().map(|guard| guard.name.as_str())
    }
}

impl Deref for TestDb {
    type Target = DatabaseConnection;

    fn deref(&self) -> &DatabaseConnection {
        &self.conn
    }
}

/// Connections of a [`TestDb::concurrent_at_head`] database (at most this many racing calls,
/// the lock-holding transaction included, run at once).
pub const CONCURRENT_CONNECTIONS: u32 = 10;

/// Removes a SQLite database file (and its WAL and shared-memory files) when dropped.
#[derive(Debug)]
struct RemoveFile(std::path::PathBuf);

impl Drop for RemoveFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The names of the chain's migrations, in order.
pub fn migration_names() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect()
}

/// Applies the pending migrations of `db` up to and including `name`, so a test can put rows
/// in place at that revision and then continue with `Migrator::up`.
///
/// # Errors
/// Fails when `name` is not in the chain, when it is already applied (this never migrates
/// down), or when a migration fails.
pub async fn migrate_to(db: &DatabaseConnection, name: &str) -> Result<(), DbErr> {
    let names = migration_names();
    let position = names
        .iter()
        .position(|candidate| candidate == name)
        .ok_or_else(|| DbErr::Custom(format!("no migration named `{name}` in the chain")))?;
    let applied = Migrator::get_applied_migrations(db).await?.len();
    if applied > position {
        return Err(DbErr::Custom(format!(
            "`{name}` is already applied ({applied} migrations are)"
        )));
    }
    let steps = u32::try_from(position + 1 - applied)
        .map_err(|_| DbErr::Custom("too many migrations".to_owned()))?;
    Migrator::up(db, Some(steps)).await
}

/// `url` with its database (path) replaced by `name`.
fn with_database(url: &str, name: &str) -> Result<String, DbErr> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base
        .find("://")
        .map(|index| index + 3)
        .ok_or_else(|| DbErr::Custom(format!("{POSTGRES_URL_VAR} is not a URL: {url}")))?;
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    Ok(match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    })
}

/// Drops a test database when dropped (from its own thread and runtime, since `Drop` cannot
/// await and may run while a test's runtime is unwinding).
#[derive(Debug)]
struct DropDatabase {
    admin_url: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async move {
                let admin = Database::connect(admin_url.as_str())
                    .await
                    .map_err(|error| error.to_string())?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(|error| error.to_string())?;
                admin.close().await.map_err(|error| error.to_string())
            })
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("lifeos-testkit: could not drop {}: {error}", self.name),
            Err(_) => eprintln!("lifeos-testkit: dropping {} panicked", self.name),
        }
    }
}

/// Inserts a user with `email` and no usable password — an owner for test rows, not someone
/// who signs in (the kernel's `accounts::register` hashes a password, which is slow) — and
/// returns its id.
///
/// # Errors
/// On a database error (a duplicate email, say).
pub async fn user(db: &DatabaseConnection, email: &str) -> Result<lifeos_entity::UserId, DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            match backend {
                DbBackend::Postgres => {
                    "INSERT INTO \"user\" (email, password_hash) VALUES ($1, '!') RETURNING id"
                }
                _ => "INSERT INTO \"user\" (email, password_hash) VALUES (?, '!') RETURNING id",
            },
            [email.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("no id returned for the new user".to_owned()))?;
    Ok(lifeos_entity::UserId(row.try_get_by_index(0)?))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_of_a_url() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "t1").unwrap(),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "t1").unwrap(),
            "postgres://u@h/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h", "t1").unwrap(),
            "postgres://h/t1"
        );
        assert!(with_database("not a url", "t1").is_err());
    }
}

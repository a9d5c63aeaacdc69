//! Scratch databases: somewhere to build a schema the chain (or the original LifeOS) would
//! have, to compare a live database with. SQLite: in memory. PostgreSQL: a database on the
//! same server (`lifeos_scratch_…`, from `template0`), dropped afterwards — the role needs
//! the CREATEDB privilege.

use std::future::Future;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend};

/// Why a scratch build gave no result.
#[derive(Debug)]
pub enum ScratchError {
    /// No scratch database could be made (on PostgreSQL: the role lacks CREATEDB): the
    /// caller may fall back or skip.
    Unavailable(String),
    /// The scratch database was made, but building in it or reading it failed.
    Failed(String),
}

impl std::fmt::Display for ScratchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(message) | Self::Failed(message) => f.write_str(message),
        }
    }
}

impl From<ScratchError> for String {
    fn from(error: ScratchError) -> Self {
        error.to_string()
    }
}

/// Runs `build` on a fresh, empty scratch database beside `db` (reached at `url`) and drops
/// the scratch database afterwards, whatever `build` returned.
///
/// # Errors
/// [`ScratchError::Unavailable`] when no scratch database could be made (on PostgreSQL the
/// message says the role needs CREATEDB); [`ScratchError::Failed`] with `build`'s error or a
/// failure to reach or drop the scratch database.
pub async fn with_scratch<T, F, Fut>(
    db: &DatabaseConnection,
    url: &str,
    build: F,
) -> Result<T, ScratchError>
where
    F: FnOnce(DatabaseConnection) -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let name = format!(
                "lifeos_scratch_{}",
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            );
            db.execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE template0"))
                .await
                .map_err(|error| {
                    ScratchError::Unavailable(format!(
                        "cannot create a scratch database ({error}); the role needs the \
                         CREATEDB privilege"
                    ))
                })?;
            let outcome = match with_database(url, &name) {
                Ok(scratch_url) => match Database::connect(scratch_url.as_str()).await {
                    Ok(scratch) => {
                        // Never build in anything but the database just created (a URL
                        // parameter naming another one, say).
                        let outcome = match current_database(&scratch).await {
                            Ok(current) if current == name => build(scratch.clone()).await,
                            Ok(current) => Err(format!(
                                "the scratch database's URL reached `{current}`, not `{name}`; \
                                 nothing was built"
                            )),
                            Err(error) => Err(error),
                        };
                        let _ = scratch.close().await;
                        outcome
                    }
                    Err(error) => Err(format!("connecting to the scratch database: {error}")),
                },
                Err(error) => Err(error),
            };
            let dropped = db
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            let value = outcome.map_err(ScratchError::Failed)?;
            dropped.map_err(|error| {
                ScratchError::Failed(format!("dropping the scratch database {name}: {error}"))
            })?;
            Ok(value)
        }
        _ => {
            let scratch = Database::connect("sqlite::memory:")
                .await
                .map_err(|error| {
                    ScratchError::Unavailable(format!("opening a scratch database: {error}"))
                })?;
            let outcome = build(scratch.clone()).await;
            let _ = scratch.close().await;
            outcome.map_err(ScratchError::Failed)
        }
    }
}

/// Whether the checked-in schemas (`lifeos_schema::HEAD_*`, `ORIGINAL_*`) describe `db`'s
/// server faithfully: always on SQLite; on PostgreSQL only on major version 15, on which they
/// are made (other versions spell some definitions differently).
pub async fn checked_in_applies(db: &DatabaseConnection) -> Result<bool, String> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(true);
    }
    let version: i32 = db
        .query_one_raw(sea_orm::Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_setting('server_version_num')::int",
        ))
        .await
        .map_err(|error| error.to_string())?
        .ok_or_else(|| "no server version".to_owned())?
        .try_get_by_index(0)
        .map_err(|error| error.to_string())?;
    Ok(version / 10000 == 15)
}

async fn current_database(db: &DatabaseConnection) -> Result<String, String> {
    db.query_one_raw(sea_orm::Statement::from_string(
        DbBackend::Postgres,
        "SELECT current_database()::text",
    ))
    .await
    .map_err(|error| error.to_string())?
    .ok_or_else(|| "no current database".to_owned())?
    .try_get_by_index(0)
    .map_err(|error| error.to_string())
}

/// `url` with its database (path) replaced by `name`, and without parameters that name
/// another database (`dbname`, which sqlx applies after the path).
fn with_database(url: &str, name: &str) -> Result<String, String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let start = base
        .find("://")
        .map(|index| index + 3)
        .ok_or_else(|| "the database URL has no scheme".to_owned())?;
    let server = match base[start..].find('/') {
        Some(slash) => &base[..start + slash],
        None => base,
    };
    let query: Vec<&str> = query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            !pair.is_empty() && !key.eq_ignore_ascii_case("dbname")
        })
        .collect();
    Ok(if query.is_empty() {
        format!("{server}/{name}")
    } else {
        format!("{server}/{name}?{}", query.join("&"))
    })
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_scratch_url_names_only_the_scratch_database() {
        assert_eq!(
            with_database(
                "postgres://u:p@h:5432/live?dbname=live&sslmode=disable",
                "s"
            ),
            Ok("postgres://u:p@h:5432/s?sslmode=disable".to_owned())
        );
        assert_eq!(
            with_database("postgres://h/live?DBNAME=live", "s"),
            Ok("postgres://h/s".to_owned())
        );
        assert_eq!(
            with_database("postgres://h", "s"),
            Ok("postgres://h/s".to_owned())
        );
    }
}

//! What the kernel's test suites share.

use lifeos_core::Error;
use lifeos_core::identity::accounts::{self, NewAccount};
use lifeos_entity::UserId;
use sea_orm::DatabaseConnection;

/// The password of every account [`account`] registers.
#[allow(dead_code)] // not every suite signs in
pub const PASSWORD: &str = "correct horse battery";

/// Registers an account with `email` and [`PASSWORD`].
pub async fn account(db: &DatabaseConnection, email: &str) -> Result<UserId, Error> {
    Ok(accounts::register(
        db,
        NewAccount {
            email: email.to_owned(),
            password: PASSWORD.to_owned(),
            ..Default::default()
        },
    )
    .await?
    .id)
}

//! LifeOS `20251207_standardize_user_roles` (data only, runs after `20251218`): the seven
//! domain write roles exist, and every existing user holds them.
//!
//! The original worked row by row through an ORM session; this port is two set-based
//! `INSERT … SELECT … WHERE NOT EXISTS` statements.
//!
//! Irreversible: `down` fails. The original `down` deleted *every* assignment of these roles,
//! including those that existed before the upgrade or were granted later; which assignments
//! the upgrade made is not recorded, so no `down` can remove only those.

use sea_orm_migration::prelude::*;

use crate::support::{exec, irreversible};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The roles this migration standardises.
pub(crate) const ROLES: [&str; 7] = [
    "calendar:write",
    "health:write",
    "habits:write",
    "skills:write",
    "projects:write",
    "relationships:write",
    "journal:write",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let values: Vec<String> = ROLES
            .iter()
            .map(|role| {
                let domain = role.trim_end_matches(":write");
                format!("SELECT '{role}' AS name, 'Write access to {domain} domain' AS description")
            })
            .collect();
        exec(
            manager,
            &format!(
                "INSERT INTO role (name, description) \
                 SELECT v.name, v.description FROM ({}) AS v \
                 WHERE NOT EXISTS (SELECT 1 FROM role AS r WHERE r.name = v.name)",
                values.join(" UNION ALL ")
            ),
        )
        .await?;
        let names: Vec<String> = ROLES.iter().map(|role| format!("'{role}'")).collect();
        exec(
            manager,
            &format!(
                "INSERT INTO user_role (user_id, role_id) \
                 SELECT u.id, r.id FROM \"user\" AS u CROSS JOIN role AS r \
                 WHERE r.name IN ({}) AND NOT EXISTS \
                     (SELECT 1 FROM user_role AS ur WHERE ur.user_id = u.id AND ur.role_id = r.id)",
                names.join(", ")
            ),
        )
        .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(irreversible(
            "m20251207_000003_standardize_user_roles",
            "which role assignments it added is not recorded, and deleting all of them would \
             also remove grants made before or after it",
        ))
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

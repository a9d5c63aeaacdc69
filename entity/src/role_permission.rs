//! `role_permission`: which permissions a role grants.

use sea_orm::entity::prelude::*;

/// A grant of a permission to a role.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_permission")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub role_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub permission_id: i32,
    #[sea_orm(belongs_to, from = "role_id", to = "id", on_delete = "Cascade")]
    pub role: HasOne<super::role::Entity>,
    #[sea_orm(belongs_to, from = "permission_id", to = "id", on_delete = "Cascade")]
    pub permission: HasOne<super::permission::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}

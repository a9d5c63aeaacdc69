//! `metric_values`: a value of a metric recorded for an activity instance (per split).

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

/// A recorded metric value; negative values are legitimate.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "metric_values")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(indexed, unique_key = "instance_metric_split")]
    pub activity_instance_id: Uuid,
    #[sea_orm(indexed, unique_key = "instance_metric_split")]
    pub metric_definition_id: Uuid,
    /// `NULL` for activities without splits (and then one value per instance and metric:
    /// the key treats a missing split as one value).
    #[sea_orm(unique_key = "instance_metric_split")]
    pub split_definition_id: Option<Uuid>,
    pub value: f64,
    #[sea_orm(indexed)]
    pub root_id: Uuid,
    pub updated_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    #[sea_orm(
        belongs_to,
        from = "activity_instance_id",
        to = "id",
        on_delete = "Cascade"
    )]
    pub activity_instance: HasOne<super::activity_instances::Entity>,
    #[sea_orm(
        belongs_to,
        from = "metric_definition_id",
        to = "id",
        on_delete = "NoAction"
    )]
    pub metric_definition: HasOne<super::metric_definitions::Entity>,
    #[sea_orm(
        belongs_to,
        from = "split_definition_id",
        to = "id",
        on_delete = "NoAction"
    )]
    pub split_definition: HasOne<super::split_definitions::Entity>,
    #[sea_orm(belongs_to, from = "root_id", to = "id", on_delete = "Cascade")]
    pub root: HasOne<super::goals::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}

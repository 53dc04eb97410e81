//! Display names for the ids a query groups by: for platforms, account
//! names from the linked accounts, campaign, ad group and ad names from the
//! latest day the platform reported them; for logs, the configured names of
//! log sources (`api.source_labels`). Rows carry ids (stable, and what
//! filters take); the dashboard shows the names.

use std::collections::BTreeMap;

use adhouse_connectors::Level;
use clickhouse::Row;
use serde::Deserialize;

use super::request::Query;
use super::sql::names_statement;
use crate::db::{Db, Stats};
use crate::error::Result;
use crate::metrics_catalog::{AnyDimension, Dimension, PlatformDimension};

/// Dimension name → id → display name.
pub type Labels = BTreeMap<&'static str, BTreeMap<String, String>>;

#[derive(Debug, Row, Deserialize)]
struct Named {
    id: String,
    name: String,
}

/// Names for each named dimension of `query` among `groups` (one value per
/// dimension, in the query's order). `level` is the level the query reads.
pub async fn fetch(db: &Db, tenant: &str, query: &Query, level: Level, groups: &[Vec<String>]) -> Result<(Labels, Stats)> {
    let mut labels = Labels::new();
    let mut stats = Stats::default();
    for (i, dimension) in query.dimensions.iter().enumerate() {
        let named_level = match dimension {
            AnyDimension::Platform(PlatformDimension::Account) => None,
            AnyDimension::Platform(entity @ (PlatformDimension::Campaign | PlatformDimension::AdGroup | PlatformDimension::Ad)) => {
                debug_assert_eq!(entity.level(), Some(level));
                Some(level)
            }
            _ => continue,
        };
        let mut ids: Vec<String> = groups.iter().filter_map(|group| group.get(i).cloned()).collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            continue;
        }
        let (rows, fetched) = db.fetch::<Named>(&names_statement(named_level, tenant, ids)).await?;
        stats.add(fetched);
        labels.insert(dimension.name(), rows.into_iter().map(|row| (row.id, row.name)).collect());
    }
    Ok((labels, stats))
}

/// The configured display names of the log sources among `groups`, if the
/// query groups by source and any of them has one.
pub fn of_sources(query: &Query, groups: &[Vec<String>], configured: &BTreeMap<String, String>) -> Option<Labels> {
    let i = query.dimensions.iter().position(|dimension| *dimension == AnyDimension::Log(Dimension::Source))?;
    let named: BTreeMap<String, String> = groups
        .iter()
        .filter_map(|group| group.get(i))
        .filter_map(|source| configured.get(source).map(|label| (source.clone(), label.clone())))
        .collect();
    (!named.is_empty()).then(|| Labels::from([(AnyDimension::Log(Dimension::Source).name(), named)]))
}

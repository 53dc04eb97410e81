//! Turns a schema template into the statements to run.
//!
//! Templates are plain ClickHouse SQL with `${name}` placeholders (ClickHouse
//! itself uses `{shard}`/`{replica}` macros, hence the `$`). Single-server
//! mode renders the placeholders away; cluster mode renders `ON CLUSTER`,
//! Replicated engines and `_local` storage tables, and adds a Distributed
//! table over every storage table that declares `-- distributed by: <key>`.

use sha2::{Digest, Sha256};

use super::migrations::{FRAGMENTS, Migration};
use crate::error::{Error, Result};
use crate::settings::{SchemaSettings, check_identifier};

/// In cluster mode a table's rows live in `<table>_local` on every shard, and
/// `<table>` is the Distributed table over them.
pub const LOCAL_SUFFIX: &str = "_local";

/// A migration ready to apply.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub statements: Vec<String>,
    /// SHA-256 of the statements: recorded when applied, compared later to
    /// detect a migration that changed after it ran.
    pub checksum: String,
}

const DISTRIBUTED_MARKER: &str = "-- distributed by:";

/// Renders `migration` for database `db` with `schema` settings.
pub fn render(migration: &Migration, db: &str, schema: &SchemaSettings) -> Result<Rendered> {
    let file = migration.id.name;
    let fail = |problem: String| Error::Template { file, problem };
    check_identifier("clickhouse.database", db)?;
    let cluster = (!schema.cluster.is_empty()).then_some(schema.cluster.as_str());

    let mut statements = Vec::new();
    for TemplateStatement { sql, distributed_by } in split_statements(migration.template) {
        let rendered = substitute(&sql, db, cluster, schema).map_err(fail)?;
        let twin = match (cluster, distributed_by) {
            (Some(cluster), Some(key)) => {
                let table = storage_table(&sql)
                    .ok_or_else(|| fail("`distributed by` outside a CREATE TABLE".into()))?;
                Some(format!(
                    "CREATE TABLE IF NOT EXISTS `{db}`.`{table}` ON CLUSTER `{cluster}` \
                     AS `{db}`.`{table}{LOCAL_SUFFIX}` \
                     ENGINE = Distributed(`{cluster}`, `{db}`, `{table}{LOCAL_SUFFIX}`, {key})"
                ))
            }
            _ => None,
        };
        statements.push(rendered);
        statements.extend(twin);
    }
    let mut hasher = Sha256::new();
    for statement in &statements {
        hasher.update(statement.as_bytes());
        hasher.update(b"\n;\n");
    }
    let checksum = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(Rendered { statements, checksum })
}

/// One statement of a template, comment lines removed.
struct TemplateStatement {
    sql: String,
    /// Sharding key of the Distributed twin, from `-- distributed by: <key>`.
    distributed_by: Option<String>,
}

/// Statements end at a line whose last character is `;` (comment lines
/// aside); the HTTP interface takes one statement per request. Comments are
/// dropped, so that documenting a migration never counts as drift.
fn split_statements(template: &str) -> Vec<TemplateStatement> {
    let mut statements = Vec::new();
    let mut sql = String::new();
    let mut distributed_by = None;
    for line in template.lines().chain([";"]) {
        let trimmed = line.trim();
        if let Some(key) = trimmed.strip_prefix(DISTRIBUTED_MARKER) {
            distributed_by = Some(key.trim().to_owned());
        } else if !trimmed.starts_with("--") {
            sql.push_str(line);
            sql.push('\n');
        }
        if trimmed.ends_with(';') && !trimmed.starts_with("--") {
            let text = sql.trim().trim_end_matches(';').trim_end();
            if !text.is_empty() {
                statements.push(TemplateStatement { sql: text.to_owned(), distributed_by: distributed_by.take() });
            }
            sql.clear();
        }
    }
    statements
}

/// `events` from `CREATE TABLE IF NOT EXISTS ${db}.events${local} ...`.
fn storage_table(template: &str) -> Option<&str> {
    let rest = template.split("CREATE TABLE IF NOT EXISTS ${db}.").nth(1)?;
    rest.split_once("${local}").map(|(table, _)| table)
}

fn substitute(
    template: &str,
    db: &str,
    cluster: Option<&str>,
    schema: &SchemaSettings,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| format!("unclosed placeholder at {:?}", &rest[start..]))?;
        let name = &rest[start + 2..start + end];
        match name {
            "db" => out.push_str(&format!("`{db}`")),
            "local" => out.push_str(if cluster.is_some() { LOCAL_SUFFIX } else { "" }),
            "replicated" => out.push_str(if cluster.is_some() { "Replicated" } else { "" }),
            "on_cluster" => {
                if let Some(cluster) = cluster {
                    out.push_str(&format!("ON CLUSTER `{cluster}`"));
                }
            }
            "dedup_window" => out.push_str(&match cluster {
                Some(_) => format!("replicated_deduplication_window = {}", schema.dedup_window_blocks),
                None => format!("non_replicated_deduplication_window = {}", schema.dedup_window_blocks),
            }),
            "events_ttl_days" => out.push_str(&schema.events_ttl_days.to_string()),
            "minute_ttl_days" => out.push_str(&schema.minute_ttl_days.to_string()),
            "hour_ttl_days" => out.push_str(&schema.hour_ttl_days.to_string()),
            fragment => {
                let (_, text) = FRAGMENTS
                    .iter()
                    .find(|(key, _)| *key == fragment)
                    .ok_or_else(|| format!("unknown placeholder ${{{fragment}}}"))?;
                out.push_str(text.trim_end());
            }
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

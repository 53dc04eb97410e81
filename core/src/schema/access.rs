//! Read-only access for analysts on a real ClickHouse server or ClickHouse
//! Cloud: a role with `SELECT` on the reporting tables and nothing on tokens,
//! credentials or OAuth state, a settings profile bounding every query, and
//! optional row policies that tie an analyst user to tenants.
//!
//! Printed by `adhouse-ingester migrate --print-grants` for an administrator
//! to run (creating roles needs rights the adhouse user should not hold, and
//! the local engine, chDB, has no access control to apply them to).

use std::str::FromStr;

use super::LOCAL_SUFFIX;
use crate::error::{Error, Result};
use crate::settings::{SchemaSettings, check_identifier};

/// The role every analyst is granted.
pub const ANALYST_ROLE: &str = "adhouse_analyst";

/// Tables analysts read, and whether each has a `tenant` column for row policies.
pub const ANALYST_TABLES: &[(&str, bool)] = &[
    ("events", true),
    ("events_1m", true),
    ("events_1h", true),
    ("events_1d", true),
    ("ingest_files", true),
    ("ingest_errors", false),
    ("platform_accounts", true),
    ("platform_daily", true),
    ("platform_sync_days", true),
    ("partner_metrics", true),
    ("partner_feed_status", true),
    ("partner_quarantine", true),
];

/// Tables never granted: API token hashes and their history, sealed platform
/// credentials and pending grants, used OAuth nonces and sealed OAuth 1.0a
/// flow secrets, the migration ledger.
pub const PRIVATE_TABLES: &[&str] =
    &["api_tokens", "api_token_events", "platform_credentials", "platform_grants", "oauth_used_states", "oauth_flows", "schema_migrations"];

/// Per-query bounds of the analysts' settings profile: the default, and the
/// most an analyst may raise it to in a session (readonly = 2 lets BI tools
/// send settings, the MAX constraints keep them bounded).
const MAX_EXECUTION_TIME_SECS: (u32, u32) = (60, 600);
const MAX_MEMORY_USAGE_BYTES: (u64, u64) = (10 << 30, 20 << 30);
const MAX_CONCURRENT_QUERIES: u32 = 4;

/// An analyst user restricted to some tenants: `alice=acme,globex` on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantAnalyst {
    pub user: String,
    pub tenants: Vec<String>,
}

impl FromStr for TenantAnalyst {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (user, tenants) = text.split_once('=').ok_or("expected USER=TENANT[,TENANT...]")?;
        let tenants: Vec<String> = tenants.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
        if user.trim().is_empty() || tenants.is_empty() {
            return Err("expected USER=TENANT[,TENANT...] with a user and at least one tenant".into());
        }
        Ok(Self { user: user.trim().to_owned(), tenants })
    }
}

/// The statements, in the order to run them. Row policies are `OR REPLACE`,
/// so running the output again with other tenants moves the user to them.
pub fn analyst_access(db: &str, schema: &SchemaSettings, analysts: &[TenantAnalyst]) -> Result<Vec<String>> {
    check_identifier("clickhouse.database", db)?;
    let on_cluster = if schema.cluster.is_empty() {
        String::new()
    } else {
        check_identifier("schema.cluster", &schema.cluster)?;
        format!(" ON CLUSTER `{}`", schema.cluster)
    };
    // In cluster mode a query on the Distributed table reads `<table>_local` on every shard.
    let names = |table: &str| -> Vec<String> {
        let mut names = vec![format!("`{db}`.`{table}`")];
        if !schema.cluster.is_empty() {
            names.push(format!("`{db}`.`{table}{LOCAL_SUFFIX}`"));
        }
        names
    };
    let role = ANALYST_ROLE;
    let (time, time_max) = MAX_EXECUTION_TIME_SECS;
    let (memory, memory_max) = MAX_MEMORY_USAGE_BYTES;
    let mut statements = vec![
        format!("CREATE ROLE IF NOT EXISTS {role}{on_cluster}"),
        format!(
            "CREATE SETTINGS PROFILE IF NOT EXISTS {role}{on_cluster} SETTINGS readonly = 2, \
             max_execution_time = {time} MAX {time_max}, max_memory_usage = {memory} MAX {memory_max}, \
             max_concurrent_queries_for_user = {MAX_CONCURRENT_QUERIES} TO {role}"
        ),
    ];
    for (table, _) in ANALYST_TABLES {
        for name in names(table) {
            statements.push(format!("GRANT{on_cluster} SELECT ON {name} TO {role}"));
        }
    }
    for analyst in analysts {
        let user = quote_identifier(&analyst.user);
        statements.push(format!("GRANT{on_cluster} {role} TO {user}"));
        let tenants = analyst.tenants.iter().map(|t| quote_string(t)).collect::<Vec<_>>().join(", ");
        let policy = quote_identifier(&format!("{role}_{}", analyst.user));
        for (filter, with_tenant) in [(format!("tenant IN ({tenants})"), true), ("0".to_owned(), false)] {
            // A table without a tenant column cannot be filtered by tenant: such a user sees none of it.
            let tables: Vec<String> = ANALYST_TABLES.iter().filter(|(_, has)| *has == with_tenant).flat_map(|(t, _)| names(t)).collect();
            statements.push(format!("CREATE ROW POLICY OR REPLACE {policy}{on_cluster} ON {} USING {filter} TO {user}", tables.join(", ")));
        }
    }
    Ok(statements)
}

/// A user or policy name as a backquoted identifier: any characters (e-mail
/// style names too), backquotes and backslashes escaped.
fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`"))
}

/// A tenant as a string literal. DDL takes no query parameters, hence escaping.
fn quote_string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `<user>=<tenants>` arguments, or a configuration error naming the flag.
pub fn parse_analysts(args: &[String]) -> Result<Vec<TenantAnalyst>> {
    args.iter()
        .map(|arg| arg.parse().map_err(|err| Error::Config(format!("--analyst {arg:?}: {err}"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::MIGRATIONS;
    use crate::settings::Settings;

    fn schema(cluster: &str) -> SchemaSettings {
        let mut schema = Settings::load(None).expect("defaults load").schema;
        schema.cluster = cluster.to_owned();
        schema
    }

    /// Every table the migrations create, from their `CREATE TABLE` lines.
    fn created_tables() -> Vec<String> {
        MIGRATIONS
            .iter()
            .flat_map(|m| m.template.split("CREATE TABLE IF NOT EXISTS ${db}.").skip(1))
            .map(|rest| rest.split("${local}").next().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn every_table_of_the_schema_is_either_granted_or_private() {
        let mut classified: Vec<String> = ANALYST_TABLES.iter().map(|(t, _)| t.to_string()).collect();
        classified.extend(PRIVATE_TABLES.iter().filter(|t| **t != "schema_migrations").map(|t| t.to_string()));
        let mut created = created_tables();
        created.sort();
        classified.sort();
        assert_eq!(created, classified, "a new table must be added to ANALYST_TABLES or PRIVATE_TABLES");
    }

    #[test]
    fn the_role_reads_the_reporting_tables_and_nothing_private() {
        let statements = analyst_access("adhouse", &schema(""), &[]).unwrap();
        let grants: Vec<&String> = statements.iter().filter(|s| s.starts_with("GRANT")).collect();
        assert_eq!(grants.len(), ANALYST_TABLES.len());
        assert!(grants.iter().all(|g| g.starts_with("GRANT SELECT ON `adhouse`.") && g.ends_with(" TO adhouse_analyst")));
        for private in PRIVATE_TABLES {
            assert!(!statements.iter().any(|s| s.contains(&format!("`{private}`"))), "{private} is granted");
        }
        assert!(statements[1].contains("readonly = 2") && statements[1].contains("max_execution_time = 60 MAX 600"));
    }

    #[test]
    fn a_cluster_gets_on_cluster_and_the_local_tables_too() {
        let statements = analyst_access("adhouse", &schema("prod"), &["alice=acme".parse().unwrap()]).unwrap();
        assert!(statements.iter().all(|s| s.contains(" ON CLUSTER `prod`")), "{statements:#?}");
        assert!(statements.contains(&"GRANT ON CLUSTER `prod` SELECT ON `adhouse`.`events_local` TO adhouse_analyst".to_owned()));
        let policy = statements.iter().find(|s| s.contains("USING tenant IN")).unwrap();
        assert!(policy.contains("`adhouse`.`events`, `adhouse`.`events_local`"), "{policy}");
    }

    #[test]
    fn a_tenant_analyst_sees_only_their_tenants_and_nothing_without_a_tenant_column() {
        let alice: TenantAnalyst = "alice@example.com=acme, o'hara".parse().unwrap();
        assert_eq!(alice.tenants, ["acme", "o'hara"]);
        let statements = analyst_access("adhouse", &schema(""), &[alice]).unwrap();
        let tail = &statements[statements.len() - 3..];
        assert_eq!(tail[0], "GRANT adhouse_analyst TO `alice@example.com`");
        assert!(tail[1].starts_with("CREATE ROW POLICY OR REPLACE `adhouse_analyst_alice@example.com` ON `adhouse`.`events`, "));
        assert!(tail[1].ends_with(" USING tenant IN ('acme', 'o\\'hara') TO `alice@example.com`"), "{}", tail[1]);
        assert!(!tail[1].contains("ingest_errors"));
        assert_eq!(tail[2], "CREATE ROW POLICY OR REPLACE `adhouse_analyst_alice@example.com` ON `adhouse`.`ingest_errors` USING 0 TO `alice@example.com`");
    }

    #[test]
    fn an_analyst_argument_needs_a_user_and_a_tenant() {
        for bad in ["alice", "=acme", "alice=", "alice= , "] {
            assert!(bad.parse::<TenantAnalyst>().is_err(), "{bad}");
        }
        let err = parse_analysts(&["alice".to_owned()]).unwrap_err();
        assert!(err.to_string().contains("--analyst \"alice\""), "{err}");
    }
}

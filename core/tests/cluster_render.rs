//! Cluster mode cannot run on the local stack; these tests check the SQL it
//! renders instead.

use adhouse_core::Settings;
use adhouse_core::schema::{MIGRATIONS, render};

fn rendered(cluster: &str) -> Vec<String> {
    let mut settings = Settings::load(None).unwrap();
    settings.schema.cluster = cluster.to_owned();
    MIGRATIONS
        .iter()
        .flat_map(|m| render(m, "adhouse", &settings.schema).unwrap().statements)
        .collect()
}

fn first_line(statement: &str) -> &str {
    statement.lines().find(|line| !line.trim_start().starts_with("--")).unwrap_or_default()
}

#[test]
fn cluster_mode_renders_on_cluster_replicated_local_tables_and_distributed_tables() {
    let statements = rendered("ads");
    let storage = ["events", "events_1m", "events_1h", "events_1d", "ingest_files", "ingest_errors"];
    for statement in &statements {
        assert!(!statement.contains("${"), "unrendered placeholder in {statement}");
        assert!(first_line(statement).contains("ON CLUSTER `ads`"), "{statement}");
    }
    for table in storage {
        let local = statements
            .iter()
            .find(|s| first_line(s).starts_with(&format!("CREATE TABLE IF NOT EXISTS `adhouse`.{table}_local ")))
            .unwrap_or_else(|| panic!("{table}_local"));
        assert!(local.contains("ENGINE = Replicated"), "{local}");
        assert!(!local.contains("non_replicated_deduplication_window"), "{local}");
        let distributed = statements
            .iter()
            .find(|s| s.starts_with(&format!("CREATE TABLE IF NOT EXISTS `adhouse`.`{table}` ON CLUSTER `ads`")))
            .unwrap_or_else(|| panic!("Distributed {table}"));
        assert!(
            distributed.contains(&format!("ENGINE = Distributed(`ads`, `adhouse`, `{table}_local`, ")),
            "{distributed}"
        );
    }
    let events = statements.iter().find(|s| s.contains("`adhouse`.events_local ")).unwrap();
    assert!(events.contains("replicated_deduplication_window = 100000"), "{events}");
    for view in statements.iter().filter(|s| first_line(s).starts_with("CREATE MATERIALIZED VIEW")) {
        assert!(view.contains("FROM `adhouse`.events_local"), "views read the local shard: {view}");
        assert!(view.contains("_local\nAS SELECT") || view.contains("TO `adhouse`.events_1"), "{view}");
    }
}

#[test]
fn single_server_mode_renders_no_cluster_constructs() {
    for statement in rendered("") {
        for word in ["ON CLUSTER", "Replicated", "Distributed", "_local", "${"] {
            assert!(!statement.contains(word), "{word} in {statement}");
        }
    }
}

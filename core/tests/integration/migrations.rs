use adhouse_core::schema::{MIGRATIONS, MigrationState, Migrator};

use crate::common::TestDb;

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_a_second_run_is_a_no_op() {
    let db = TestDb::empty("migrate").await;
    let migrator = Migrator::new(&db.settings);

    let before = migrator.status().await.unwrap();
    assert!(before.iter().all(|(_, state)| *state == MigrationState::Pending));

    let applied = migrator.apply().await.unwrap();
    assert_eq!(applied.len(), MIGRATIONS.len());
    let tables = db
        .tsv(&format!(
            "SELECT name FROM system.tables WHERE database = '{}' ORDER BY name",
            db.settings.clickhouse.database
        ))
        .await;
    for table in [
        "events", "events_1m", "events_1m_mv", "events_1h", "events_1h_mv", "events_1d", "events_1d_mv",
        "ingest_files", "ingest_errors", "schema_migrations",
    ] {
        assert!(tables.lines().any(|t| t == table), "{table} missing from {tables}");
    }

    assert!(migrator.apply().await.unwrap().is_empty(), "second run applies nothing");
    let recorded = db.count("SELECT count() FROM schema_migrations").await;
    assert_eq!(recorded, MIGRATIONS.len() as u64, "each migration recorded once");
    let after = migrator.status().await.unwrap();
    assert!(after.iter().all(|(_, state)| matches!(state, MigrationState::Applied { .. })));
}

#[tokio::test]
async fn changing_a_rendered_setting_after_migrating_is_reported_as_drift() {
    let mut db = TestDb::migrated("drift").await;
    db.settings.schema.events_ttl_days += 1;
    let status = Migrator::new(&db.settings).status().await.unwrap();
    let drifted: Vec<_> = status
        .iter()
        .filter(|(_, state)| matches!(state, MigrationState::Drifted { .. }))
        .map(|(id, _)| id.to_string())
        .collect();
    assert_eq!(drifted, ["0001_events", "0003_ingest_ledger", "0012_partner_metrics"]);
}

#[tokio::test]
async fn every_column_of_every_table_is_documented() {
    let db = TestDb::migrated("comments").await;
    let undocumented = db
        .tsv(&format!(
            "SELECT table, name FROM system.columns WHERE database = '{}' AND comment = '' \
             AND table NOT LIKE '%\\\\_mv' ORDER BY table, name",
            db.settings.clickhouse.database
        ))
        .await;
    assert_eq!(undocumented, "");
}

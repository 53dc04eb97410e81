//! The official Rust client against the local ClickHouse HTTP interface:
//! what adhouse relies on must behave as on a real server.

use adhouse_core::settings::WireCompression;
use clickhouse::Row;
use serde::{Deserialize, Serialize};

use crate::common::TestDb;

#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
struct Sample {
    id: u32,
    name: String,
    amount: i64,
}

async fn sample_table(db: &TestDb) {
    db.client
        .query("CREATE TABLE samples (id UInt32, name String, amount Int64) ENGINE = MergeTree ORDER BY id")
        .execute()
        .await
        .unwrap();
}

#[tokio::test]
async fn typed_insert_and_validated_fetch_round_trip_with_and_without_compression() {
    for compression in [WireCompression::Lz4, WireCompression::None] {
        let mut db = TestDb::empty("compat_roundtrip").await;
        db.settings.clickhouse.compression = compression;
        db.client = adhouse_core::clickhouse::client(&db.settings.clickhouse);
        sample_table(&db).await;
        let rows: Vec<Sample> = (0..10_000)
            .map(|id| Sample { id, name: format!("name \t'\"\\ {id} ✓"), amount: i64::from(id) * -7 })
            .collect();
        let mut insert = db.client.insert::<Sample>("samples").await.unwrap();
        for row in &rows {
            insert.write(row).await.unwrap();
        }
        insert.end().await.unwrap();

        let fetched: Vec<Sample> =
            db.client.query("SELECT ?fields FROM samples ORDER BY id").fetch_all().await.unwrap();
        assert_eq!(fetched, rows, "{compression:?}");
    }
}

#[tokio::test]
async fn fetch_validation_rejects_a_row_type_that_does_not_match_the_schema() {
    #[derive(Debug, Row, Deserialize)]
    struct Wrong {
        #[expect(dead_code, reason = "only deserialized")]
        id: String,
    }
    let db = TestDb::empty("compat_validation").await;
    sample_table(&db).await;
    db.client.query("INSERT INTO samples VALUES (1, 'one', 1)").execute().await.unwrap();
    let err = db.client.query("SELECT id FROM samples").fetch_all::<Wrong>().await.unwrap_err();
    assert!(matches!(err, clickhouse::error::Error::SchemaMismatch(_)), "{err:?}");
}

#[tokio::test]
async fn server_side_parameters_carry_hostile_strings_verbatim() {
    let db = TestDb::empty("compat_params").await;
    sample_table(&db).await;
    let hostile = "x'; DROP TABLE samples; --\\\n\t\"é😀";
    let echoed: String = db
        .client
        .query("SELECT {value:String}")
        .param("value", hostile)
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(echoed, hostile);
    let tables = db.count("SELECT count() FROM system.tables WHERE database = currentDatabase()").await;
    assert_eq!(tables, 1, "the table survived");

    let ids: Vec<u32> = db
        .client
        .query("SELECT number::UInt32 FROM numbers(10) WHERE number IN {ids:Array(UInt32)} ORDER BY number")
        .param("ids", vec![2u32, 5, 7])
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(ids, [2, 5, 7]);
}

#[tokio::test]
async fn server_errors_arrive_with_their_clickhouse_code() {
    let db = TestDb::empty("compat_errors").await;
    sample_table(&db).await;
    let err = db.client.query("SELECT * FROM no_such_table").execute().await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("Code: 60") && message.contains("UNKNOWN_TABLE"), "{message}");

    let err = db.client.query("SELEC 1").execute().await.unwrap_err();
    assert!(err.to_string().contains("Code: 62"), "syntax error: {err}");
}

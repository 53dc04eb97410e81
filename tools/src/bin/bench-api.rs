//! `bench-api`: latency of typical dashboard requests through the
//! API on the rollups versus the same requests forced onto raw `events`
//! (`"use_rollups": false`). Generates the events inside ClickHouse
//! (`INSERT … SELECT … FROM numbers()`, through the materialized views) into
//! its own database on first run; later runs reuse them.
//!
//! Requests go through the whole actix application in-process (auth, JSON,
//! validation, SQL, ClickHouse over HTTP, dense assembly, serialization);
//! only the client's TCP hop to the API is left out.

use std::time::{Duration, Instant};

use actix_web::{test, web};
use adhouse_api::AppState;
use adhouse_api::query::time::Zone;
use adhouse_core::Settings;
use adhouse_core::schema::Migrator;
use anyhow::{Context, ensure};
use clap::Parser;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(about = "Benchmark the query API on rollups against raw events")]
struct Args {
    /// Database to generate into and query (created and migrated if missing).
    #[arg(long, default_value = "adhouse_bench")]
    database: String,
    /// Events to generate over the 30 days before now.
    #[arg(long, default_value_t = 20_000_000)]
    events: u64,
    /// Timed runs per request and table choice (after two warm-up runs).
    #[arg(long, default_value_t = 25)]
    runs: usize,
}

/// Skewed like real traffic: a few publishers, countries and campaigns carry
/// most events (cubes of uniform numbers), placements belong to publishers,
/// creatives to campaigns, campaigns to demand partners.
const GENERATE: &str = "
INSERT INTO events (tenant, ts, event_type, publisher_id, placement_id, demand_partner, campaign_id, creative_id,
                    ad_format, country, device_type, os, domain, user_id_hash, revenue_micros, cost_micros,
                    error_code, source, file, line)
SELECT
    if(number % 10 = 0, 'other', 'bench') AS tenant,
    toDateTime64({start:UInt32} + (cityHash64(number, 1) % {span:UInt32}), 3, 'UTC') AS ts,
    ['request','request','request','request','request','request','impression','impression','impression',
     'impression','impression','click','video_start','video_first_quartile','video_midpoint',
     'video_third_quartile','video_complete','error'][1 + cityHash64(number, 2) % 18] AS event_type,
    concat('pub-', toString(toUInt32(pow((cityHash64(number, 3) % 1000) / 1000, 3) * 20))) AS publisher_id,
    concat(publisher_id, '-plc-', toString(cityHash64(number, 4) % 5)) AS placement_id,
    ['appnexus','rubicon','pubmatic','openx'][1 + toUInt32(pow((cityHash64(number, 5) % 1000) / 1000, 2) * 4)] AS demand_partner,
    concat(demand_partner, '-cmp-', toString(toUInt32(pow((cityHash64(number, 6) % 1000) / 1000, 3) * 5))) AS campaign_id,
    concat(campaign_id, '-cr-', toString(cityHash64(number, 7) % 3)) AS creative_id,
    ['banner','banner','video','native'][1 + cityHash64(campaign_id) % 4] AS ad_format,
    ['US','US','US','DE','DE','JP','IN','BR'][1 + toUInt32(pow((cityHash64(number, 8) % 1000) / 1000, 2) * 8)] AS country,
    ['mobile','mobile','desktop','ctv'][1 + cityHash64(number, 9) % 4] AS device_type,
    ['android','ios','windows','macos'][1 + cityHash64(number, 10) % 4] AS os,
    concat(publisher_id, '.example') AS domain,
    1 + cityHash64(number, 11) % 2000000 AS user_id_hash,
    if(event_type = 'impression', toInt64(cityHash64(number, 12) % 5000), 0) AS revenue_micros,
    if(event_type = 'impression', toInt64(cityHash64(number, 13) % 3000), 0) AS cost_micros,
    if(event_type = 'error', 400, 0) AS error_code,
    'bench' AS source, 'generated' AS file, number AS line
FROM numbers({offset:UInt64}, {count:UInt64})";

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut settings = Settings::load(None)?;
    if let Ok(url) = std::env::var("CLICKHOUSE_URL") {
        settings.clickhouse.url = url;
    }
    settings.clickhouse.database = args.database.clone();
    settings.api.max_execution_secs = 60;
    adhouse_core::telemetry::init(&settings.log);
    Migrator::new(&settings).apply().await.context("migrating the benchmark database")?;
    let client = adhouse_core::clickhouse::client(&settings.clickhouse);
    let now = jiff::Timestamp::now().as_second();
    generate(&client, args.events, now).await?;

    let state = web::Data::new(AppState::new(&settings));
    let token = adhouse_api::auth::create(&client, "bench", &Zone::parse("timezone", "UTC")?).await?;
    let minute_now = now - now % 60;
    let iso = |epoch: i64| jiff::Timestamp::from_second(epoch).map(|t| t.to_string());
    let requests = [
        ("30 days by day, compare previous period", json!({
            "metrics": ["impressions", "revenue", "ecpm", "ctr", "fill_rate"],
            "time_range": { "preset": "last_30_days" }, "granularity": "day", "compare": "previous_period" })),
        ("24 hours by minute", json!({
            "metrics": ["requests", "impressions", "revenue"],
            "time_range": { "from": iso(minute_now - 86_400)?, "to": iso(minute_now)? }, "granularity": "minute" })),
        ("top 20 placements, 7 days", json!({
            "metrics": ["revenue", "impressions", "ecpm"], "dimensions": ["placement_id"],
            "time_range": { "preset": "last_7_days" }, "order_by": [{ "field": "revenue" }], "limit": 20 })),
        ("30 days by day in Asia/Tokyo by country", json!({
            "metrics": ["impressions", "revenue"], "dimensions": ["country"], "timezone": "Asia/Tokyo",
            "time_range": { "preset": "last_30_days" }, "granularity": "day", "limit": 10 })),
    ];
    println!("{:<42} {:>10} {:>10} {:>10} {:>12}   {:>10} {:>10} {:>12}   {:>7}", "request", "table", "p50 ms", "p95 ms", "rows read", "raw p50", "raw p95", "rows read", "p50 ×");
    for (name, body) in requests {
        let mut raw_body = body.clone();
        raw_body["use_rollups"] = json!(false);
        // A failed request is reported and the benchmark goes on, so one
        // bad case does not hide the others' figures.
        let (rollup, raw) = match (measure(&state, &token, &body, args.runs).await, measure(&state, &token, &raw_body, args.runs).await) {
            (Ok(rollup), Ok(raw)) => (rollup, raw),
            (rollup, raw) => {
                let error = rollup.err().or(raw.err()).map(|err| format!("{err:#}")).unwrap_or_default();
                println!("{name:<42} failed: {}", error.lines().next().unwrap_or(""));
                continue;
            }
        };
        println!(
            "{name:<42} {:>10} {:>10.1} {:>10.1} {:>12}   {:>10.1} {:>10.1} {:>12}   {:>6.1}×",
            rollup.table, rollup.p50_ms, rollup.p95_ms, rollup.rows_read, raw.p50_ms, raw.p95_ms, raw.rows_read, raw.p50_ms / rollup.p50_ms
        );
    }
    Ok(())
}

async fn generate(client: &clickhouse::Client, events: u64, now: i64) -> anyhow::Result<()> {
    let have: u64 = client.query("SELECT count() FROM events").fetch_one().await?;
    if have >= events {
        println!("reusing {have} events in the benchmark database");
        return Ok(());
    }
    ensure!(have == 0, "the benchmark database holds {have} events, fewer than {events}; drop it to regenerate");
    let span = 30 * 86_400u32;
    let start = u32::try_from(now)? - span;
    let chunk = 2_000_000u64;
    let started = Instant::now();
    for offset in (0..events).step_by(chunk as usize) {
        client
            .query(GENERATE)
            .param("start", start)
            .param("span", span)
            .param("offset", offset)
            .param("count", chunk.min(events - offset))
            .with_setting("max_execution_time", "0")
            .execute()
            .await
            .context("generating events")?;
        println!("generated {} of {events} events ({:.0} s)", offset + chunk.min(events - offset), started.elapsed().as_secs_f64());
    }
    for table in ["events", "events_1m", "events_1h", "events_1d"] {
        client.query(&format!("OPTIMIZE TABLE {table} FINAL")).execute().await?;
        let rows: u64 = client.query(&format!("SELECT count() FROM {table}")).fetch_one().await?;
        println!("{table:<10} {rows:>12} rows");
    }
    Ok(())
}

struct Timing {
    table: String,
    p50_ms: f64,
    p95_ms: f64,
    rows_read: u64,
}

async fn measure(state: &web::Data<AppState>, token: &str, body: &Value, runs: usize) -> anyhow::Result<Timing> {
    let app = test::init_service(adhouse_api::app(state.clone())).await;
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut last = Value::Null;
    for run in 0..runs + 2 {
        let request = test::TestRequest::post()
            .uri("/api/v1/query")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .set_json(body)
            .to_request();
        let started = Instant::now();
        let response = test::call_service(&app, request).await;
        let status = response.status();
        let bytes = test::read_body(response).await;
        let elapsed = started.elapsed();
        ensure!(status.is_success(), "{body} → {status}: {}", String::from_utf8_lossy(&bytes));
        if run >= 2 {
            times.push(elapsed);
        }
        last = serde_json::from_slice(&bytes)?;
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    let p95_index = (times.len() * 95).div_ceil(100).saturating_sub(1);
    Ok(Timing {
        table: last["meta"]["table"].as_str().unwrap_or("?").to_owned(),
        p50_ms: ms(times[times.len() / 2]),
        p95_ms: ms(times[p95_index]),
        rows_read: last["meta"]["clickhouse"]["rows_read"].as_u64().unwrap_or(0),
    })
}

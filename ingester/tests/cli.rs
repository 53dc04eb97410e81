//! The command line as an operator meets it: help, and configuration errors
//! that name the key to fix. Needs no running services.

use std::process::{Command, Output};

fn ingester(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_adhouse-ingester"));
    command.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("adhouse-ingester runs")
}

#[test]
fn help_lists_every_command() {
    let help = String::from_utf8(ingester(&["--help"], &[]).stdout).unwrap();
    for command in ["run", "replay", "check-config", "migrate"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
}

#[test]
fn an_invalid_setting_is_rejected_at_start_up_with_its_key() {
    let output = ingester(&["check-config"], &[("ADHOUSE__CLICKHOUSE__DATABASE", "ad-house")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("clickhouse.database") && stderr.contains("ad-house"), "{stderr}");

    let output = ingester(&["check-config"], &[("ADHOUSE__INGEST__CHUNK_LINES", "5000000")]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("ingest.chunk_lines"));
}

#[test]
fn the_example_sources_pass_check_config_and_a_broken_one_names_its_field() {
    let output = ingester(&["check-config"], &[("ADHOUSE__INGEST__SOURCES_DIR", "examples/sources")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    for source in ["vast-jsonl", "ssp-csv", "exchange-tsv", "pixel-w3c", "bidder-parquet"] {
        assert!(stdout.contains(source), "{stdout}");
    }

    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("broken-sources");
    std::fs::create_dir_all(&dir).unwrap();
    let broken = std::fs::read_to_string("examples/sources/vast-jsonl.toml").unwrap().replace("time = \"rfc3339\"", "money = \"units\"");
    std::fs::write(dir.join("broken.toml"), broken).unwrap();
    let output = ingester(&["check-config"], &[("ADHOUSE__INGEST__SOURCES_DIR", dir.to_str().unwrap())]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("ingest.sources[vast-jsonl].fields.ts"), "{stderr}");
}

#[test]
fn check_config_checks_the_platforms_the_ingester_syncs() {
    let meta = [
        ("ADHOUSE__INGEST__SOURCES_DIR", "examples/sources"),
        ("ADHOUSE__PLATFORMS__META__ENABLED", "true"),
        ("ADHOUSE__PLATFORMS__META__CLIENT_ID", "app"),
        ("ADHOUSE__PLATFORMS__META__CLIENT_SECRET", "app secret"),
        ("ADHOUSE__PLATFORMS__SYNC_QUEUE_URL", "http://127.0.0.1:1/000000000000/sync"),
    ];
    let output = ingester(&["check-config"], &[&meta[..], &[("ADHOUSE__PLATFORMS__VAULT_KEYS", "")]].concat());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("platforms.vault_keys is empty") && !stderr.contains("app secret"), "{stderr}");

    let vault = ("ADHOUSE__PLATFORMS__VAULT_KEYS", "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let output = ingester(&["check-config"], &[&meta[..], &[vault]].concat());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("account sync on: meta"), "{stdout}");
}

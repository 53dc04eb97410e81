//! `tracing` set-up: readable lines for people, JSON for log pipelines.

use tracing_subscriber::EnvFilter;

use crate::settings::{LogOutput, LogSettings, Service};

/// Installs the global subscriber. `RUST_LOG`, when set, overrides
/// `log.level` so that one run can be made more verbose without editing files.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(&settings.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.format {
        LogOutput::Text => builder.init(),
        LogOutput::Json => builder.json().flatten_event(true).init(),
    }
}

/// Start-up shared by the binaries: loads the settings and validates what
/// `service` uses, then installs logging. On a configuration error it prints
/// the error and returns `None`; the caller exits with status 2.
pub fn start(config_file: Option<&std::path::Path>, service: Service) -> Option<crate::Settings> {
    match crate::Settings::load_for(config_file, service) {
        Ok(settings) => {
            init(&settings.log);
            Some(settings)
        }
        Err(err) => {
            eprintln!("error: {err}");
            None
        }
    }
}

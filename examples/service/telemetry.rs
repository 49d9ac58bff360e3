//! Logs: readable by default, JSON with `LOG_FORMAT=json`; `RUST_LOG` filters (default
//! `info`). A resource of the lowest order, so it is installed before anything else opens and
//! outlives everything that logs.

use std::io::IsTerminal;

use graceful::Close;
use tracing_subscriber::EnvFilter;

pub struct Telemetry;

impl Close for Telemetry {}

#[graceful::resource(order = 0)]
async fn telemetry() -> Result<Telemetry, String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let installed = match std::env::var("LOG_FORMAT").as_deref() {
        Ok("json") => builder.json().try_init(),
        Ok("text") | Err(_) => builder
            .with_ansi(std::io::stdout().is_terminal())
            .try_init(),
        Ok(other) => {
            return Err(format!(
                "LOG_FORMAT must be `text` or `json`, not `{other}`"
            ));
        }
    };
    installed.map_err(|error| format!("cannot install the log subscriber: {error}"))?;
    Ok(Telemetry)
}

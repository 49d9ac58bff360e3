//! The service's settings, from the environment; a bad value stops the startup with a message
//! that names the variable.

use graceful::Close;

#[derive(Clone, Debug)]
pub struct Settings {
    pub addr: String,
    pub database_url: String,
    pub workers: usize,
}

impl Close for Settings {}

#[graceful::resource(order = 1)]
async fn settings() -> Result<Settings, String> {
    let workers = match std::env::var("WORKERS") {
        Err(_) => 4,
        Ok(text) => match text.trim().parse() {
            Ok(workers) if workers > 0 => workers,
            _ => return Err(format!("WORKERS must be a positive integer, not `{text}`")),
        },
    };
    let settings = Settings {
        addr: std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned()),
        database_url: std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "sqlite://data/service.db".to_owned()),
        workers,
    };
    tracing::info!(?settings, "settings");
    Ok(settings)
}

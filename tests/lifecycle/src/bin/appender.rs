//! The usual way to log to a file: `tracing-appender`'s non-blocking writer, its guard a plain
//! `let _guard` in `main`, whose body returns at once. Every line must reach the file,
//! graceful's report included: the guard lives until graceful has written its last line.

use graceful::{BoxError, Shutdown};
use graceful_lifecycle_tests::event;

#[graceful::main(timeout = "10s")]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    let file = std::fs::File::create(std::env::var("LOG_FILE")?)?;
    let (writer, _guard) = tracing_appender::non_blocking(file);
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .init();
    let logger = shutdown.clone();
    shutdown.spawn("logger", async move {
        let mut lines = 0;
        while logger
            .until_shutdown(tokio::time::sleep(std::time::Duration::from_millis(1)))
            .await
            .is_some()
        {
            lines += 1;
            tracing::info!("line {lines}");
        }
        // A burst as the service stops: what a busy service logs while it drains.
        for _ in 0..2_000 {
            lines += 1;
            tracing::info!("line {lines}");
        }
        tracing::info!("logger wrote {lines} lines");
    });
    event("ready");
    Ok(())
}

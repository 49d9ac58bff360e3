// Every argument of `#[graceful::main]` (the longest timeout accepted), a renamed crate path,
// and a custom error type.
use std::fmt;

struct AppError;

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("app error")
    }
}

#[graceful::main(timeout = "24h", drain_delay = "1500ms", flavor = "multi_thread", worker_threads = 2, crate = "::graceful")]
async fn main(_shutdown: graceful::Shutdown) -> Result<(), AppError> {
    Ok(())
}

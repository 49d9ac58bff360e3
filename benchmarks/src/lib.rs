//! What the benchmark services share: how they learn their size, how they say they are ready,
//! the resources they close, and the router they serve.
//!
//! Each service comes twice, written once on graceful and once by hand on tokio + tokio-util
//! (the baseline a careful engineer would write without graceful), doing the same work.

use std::io::Write;

/// The number of parked tasks to spawn: the first argument, 1 if absent.
pub fn tasks_from_args() -> usize {
    std::env::args()
        .nth(1)
        .map(|arg| {
            arg.parse()
                .expect("the first argument is a number of tasks")
        })
        .unwrap_or(1)
}

/// Tells the driver that the service is up: one line on stdout, flushed.
pub fn ready(detail: impl std::fmt::Display) {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "ready {detail}").expect("stdout is open");
    stdout.flush().expect("stdout is open");
}

/// A resource with a trivial close, standing in for a pool or a client: the shutdown benchmark
/// measures the sequence around the closes, not the closes.
#[derive(Debug)]
pub struct Conn(pub u32);

impl Conn {
    /// What a hand-written service would call for each resource, in reverse order.
    pub async fn close(&self) {
        std::hint::black_box(self.0);
    }
}

impl graceful::Close for Conn {
    async fn close(&self) -> Result<(), graceful::BoxError> {
        Conn::close(self).await;
        Ok(())
    }
}

/// The router both HTTP services serve.
pub fn router() -> axum::Router {
    axum::Router::new().route("/", axum::routing::get(|| async { "hello, world" }))
}

/// The resource of the teardown benchmark.
pub mod teardown {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    /// How many `Slow` resources a teardown service declares.
    pub const RESOURCES: usize = 10;

    static FIRST_CLOSE: OnceLock<Instant> = OnceLock::new();
    static CLOSED: AtomicUsize = AtomicUsize::new(0);

    /// A resource whose close takes 50 ms. The last of the [`RESOURCES`] to close prints
    /// `teardown_us N`: the time since the first close began.
    #[derive(Debug)]
    pub struct Slow;

    impl graceful::Close for Slow {
        async fn close(&self) -> Result<(), graceful::BoxError> {
            let first = *FIRST_CLOSE.get_or_init(Instant::now);
            tokio::time::sleep(Duration::from_millis(50)).await;
            if CLOSED.fetch_add(1, Ordering::SeqCst) + 1 == RESOURCES {
                println!("teardown_us {}", first.elapsed().as_micros());
            }
            Ok(())
        }
    }
}

//! Resources declared in a library crate. The binary names `Metrics` (it takes it as a
//! parameter) but never names `Tracer`: both must still be found, because the registrations
//! of a linked crate all link.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use graceful::{BoxError, Close, Shutdown};
use graceful_lifecycle_tests::event;

/// A handle type: clones share the counter, so it is injected by value.
#[derive(Clone)]
pub struct Metrics {
    requests: Arc<AtomicU64>,
}

impl Metrics {
    pub fn count(&self) -> u64 {
        self.requests.fetch_add(1, Ordering::SeqCst) + 1
    }
}

impl Close for Metrics {
    async fn close(&self) -> Result<(), BoxError> {
        event(format!(
            "closing metrics after {} counts",
            self.requests.load(Ordering::SeqCst)
        ));
        Ok(())
    }
}

#[graceful::resource(order = 5)]
async fn metrics(shutdown: Shutdown) -> Metrics {
    assert!(!shutdown.is_shutting_down());
    event("opened metrics");
    Metrics {
        requests: Arc::new(AtomicU64::new(0)),
    }
}

/// Nobody names this type outside this crate.
pub struct Tracer {
    metrics: Metrics,
}

impl Close for Tracer {
    async fn close(&self) -> Result<(), BoxError> {
        event("closing tracer");
        tokio::time::sleep(Duration::from_millis(400)).await;
        event(format!("closed tracer (count {})", self.metrics.count()));
        Ok(())
    }
}

#[graceful::resource(order = 20)]
async fn tracer(metrics: Metrics) -> Result<Tracer, BoxError> {
    if graceful_lifecycle_tests::scenario() == "sibling_fails" {
        // Never opens: the failure of its sibling `cache` must not wait for it.
        event("tracer opening");
        std::future::pending::<()>().await;
    }
    event(format!("opened tracer (count {})", metrics.count()));
    Ok(Tracer { metrics })
}

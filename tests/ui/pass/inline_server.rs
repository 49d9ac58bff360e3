// The body itself serves until cancelled, then drains: it is part of the shutdown.
#[graceful::main(flavor = "current_thread")]
async fn main(shutdown: graceful::Shutdown) {
    #![allow(clippy::let_unit_value)]
    let ready = shutdown.readiness();
    assert!(ready.is_ready());
    shutdown.trigger("done serving");
    assert!(!ready.is_ready());
    assert!(shutdown.is_shutting_down());
    shutdown.cancelled().await;
    assert_eq!(shutdown.until_shutdown(async { 1 }).await, None);
}

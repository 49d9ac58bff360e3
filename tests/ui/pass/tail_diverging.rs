// A body whose last expression diverges (a serving loop that returns from inside): handed over
// like any other, with no warning from the generated code.
#![deny(warnings)]

#[graceful::main(flavor = "current_thread")]
async fn main(shutdown: graceful::Shutdown) -> Result<(), graceful::BoxError> {
    let local = String::from("lives until the end");
    shutdown.trigger("done");
    loop {
        shutdown.cancelled().await;
        assert!(!local.is_empty());
        return Ok(());
    }
}

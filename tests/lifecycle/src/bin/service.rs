//! The fixture service: three resources (db < cache < publisher) and two tasks, with the
//! behaviour under test chosen by `SCENARIO`. No tracing subscriber is installed, so the
//! stderr summary is what a user without logging would see.

use std::time::Duration;

use graceful::{BoxError, Shutdown};
use graceful_lifecycle_tests::{Behaviour, Probe, Unprintable, event, job, scenario};

#[graceful::main(timeout = "4s")]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    let scenario = scenario();
    let cache_behaviour = match scenario.as_str() {
        "hang_close" => Behaviour::Hang,
        "fail_close" => Behaviour::Fail,
        _ => Behaviour::Ok,
    };

    #[resource]
    let db = Probe::open("db", Behaviour::Ok).await?;
    if scenario == "slow_startup" {
        // A slow step of startup, during which the test sends SIGTERM.
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    #[resource(timeout = "1s")]
    let cache = Probe::open("cache", cache_behaviour).await?;
    if scenario == "startup_fail" {
        return Err("publisher: connection refused".into());
    }
    if scenario == "main_panic" {
        let port: Option<u16> = std::env::var("PORT")
            .ok()
            .and_then(|port| port.parse().ok());
        port.expect("PORT must be set");
    }
    #[resource(name = "publisher")]
    let _publisher = Probe::open("publisher", Behaviour::Slow(Duration::from_millis(100))).await?;

    // A worker that takes jobs until shutdown; the job in flight is finished.
    let worker = shutdown.clone();
    shutdown.spawn("worker", async move {
        let mut next = 0;
        while worker
            .until_shutdown(tokio::time::sleep(Duration::from_millis(50)))
            .await
            .is_some()
        {
            next += 1;
            if next == 1 {
                job(next, Duration::from_millis(1500)).await;
            }
        }
        let _ = (&db, &cache);
    });

    let other = shutdown.clone();
    let scenario_task = scenario.clone();
    shutdown.spawn("http", async move {
        match scenario_task.as_str() {
            "fail" => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                return Err::<(), BoxError>("bind: address already in use".into());
            }
            "panic" => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                panic!("handler bug: index out of bounds");
            }
            "display_panics" => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                return Err(Box::new(Unprintable) as BoxError);
            }
            "stuck_blocking" => {
                other.cancelled().await;
                // A blocking call that never returns: must not hold the process past the deadline.
                tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_secs(600)))
                    .await?;
            }
            "straggler" => {
                other.cancelled().await;
                std::future::pending::<()>().await;
            }
            "slow_drain" => {
                other.cancelled().await;
                // The first signal has been heard: a test sends its second after this.
                event("draining");
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            _ => other.cancelled().await,
        }
        Ok(())
    });

    event("ready");
    Ok(())
}

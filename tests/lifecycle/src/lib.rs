//! Shared by the fixture services: resources that print what happens to them, so the tests
//! can read the order of events from stdout.

use std::time::{Duration, Instant};

use graceful::{BoxError, Close};

/// Prints one event line; the tests parse these. Stdout is line-buffered, so each line is
/// visible to the test as soon as it is printed.
pub fn event(what: impl std::fmt::Display) {
    println!("event {what}");
}

/// The scenario a fixture runs, from `SCENARIO`.
pub fn scenario() -> String {
    std::env::var("SCENARIO").unwrap_or_default()
}

/// A resource that records its close, optionally slowly, failing or never finishing.
pub struct Probe {
    pub name: &'static str,
    pub behaviour: Behaviour,
}

#[derive(Clone, Copy)]
pub enum Behaviour {
    Ok,
    Slow(Duration),
    Fail,
    Hang,
}

impl Probe {
    pub async fn open(name: &'static str, behaviour: Behaviour) -> Result<Probe, BoxError> {
        event(format!("opened {name}"));
        Ok(Probe { name, behaviour })
    }
}

impl Close for Probe {
    async fn close(&self) -> Result<(), BoxError> {
        event(format!("closing {}", self.name));
        match self.behaviour {
            Behaviour::Ok => {}
            Behaviour::Slow(duration) => tokio::time::sleep(duration).await,
            Behaviour::Fail => return Err(format!("{} refused to close", self.name).into()),
            Behaviour::Hang => std::future::pending::<()>().await,
        }
        event(format!("closed {}", self.name));
        Ok(())
    }
}

/// Runs a job that shutdown does not interrupt, printing its start and end.
pub async fn job(id: u32, duration: Duration) {
    let started = Instant::now();
    event(format!("job {id} started"));
    tokio::time::sleep(duration).await;
    event(format!(
        "job {id} done after {}ms",
        started.elapsed().as_millis()
    ));
}

/// An error whose `Display` panics: graceful must still report the failure.
#[derive(Debug)]
pub struct Unprintable;

impl std::fmt::Display for Unprintable {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("Display of Unprintable")
    }
}

impl std::error::Error for Unprintable {}

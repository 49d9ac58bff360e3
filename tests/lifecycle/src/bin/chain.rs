//! `main` failing with an error that has causes, in each form a user returns one, through the
//! body's last expression or through `?`: the report shows every cause, on one line.
//!
//! `SCENARIO`: `anyhow` (two contexts on an I/O error, returned), `anyhow_question` (the same
//! through `?`), `std` (an error type of the service's own with a source), `boxed` (the same
//! in a `graceful::BoxError`, through `?`).

use std::fmt;

use graceful::{BoxError, Shutdown};
use graceful_lifecycle_tests::scenario;

fn refused() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused")
}

fn anyhow_error() -> anyhow::Error {
    anyhow::Error::new(refused())
        .context("connect to db at 10.0.0.1:5432")
        .context("open the database")
}

#[derive(Debug)]
struct Connect(std::io::Error);

impl fmt::Display for Connect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connect to db at 10.0.0.1:5432")
    }
}

impl std::error::Error for Connect {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn connect() -> Result<(), Connect> {
    Err(Connect(refused()))
}

mod anyhow_main {
    #[graceful::main(timeout = "5s")]
    pub async fn main(_shutdown: graceful::Shutdown) -> anyhow::Result<()> {
        if graceful_lifecycle_tests::scenario() == "anyhow_question" {
            Err(super::anyhow_error())?;
        }
        Err(super::anyhow_error())
    }
}

#[graceful::main(timeout = "5s")]
async fn std_main(_shutdown: Shutdown) -> Result<(), Connect> {
    connect()
}

#[graceful::main(timeout = "5s")]
async fn boxed_main(_shutdown: Shutdown) -> Result<(), BoxError> {
    connect()?;
    Ok(())
}

fn main() {
    match scenario().as_str() {
        "std" => std_main(),
        "boxed" => boxed_main(),
        _ => anyhow_main::main(),
    }
}

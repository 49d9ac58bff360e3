//! Resources that do not fit together; the startup check names every problem before anything
//! opens:
//! - `early` (order 1) takes `Later`, which `later` provides at order 2;
//! - `later` and `replica` both provide `Later`;
//! - `orphan` takes `Missing`, which nothing provides;
//! - `main` takes `Nowhere`, which nothing provides.

use graceful::Close;
use graceful_lifecycle_tests::event;

#[derive(Clone)]
struct Early;
impl Close for Early {}

#[derive(Clone)]
struct Later;
impl Close for Later {}

#[derive(Clone)]
struct Missing;

#[derive(Clone)]
struct Orphan;
impl Close for Orphan {}

#[derive(Clone)]
struct Nowhere;

#[graceful::resource(order = 1)]
async fn early(_later: Later) -> Early {
    event("opened early");
    Early
}

#[graceful::resource(order = 2)]
async fn later() -> Later {
    event("opened later");
    Later
}

#[graceful::resource(order = 3)]
async fn replica() -> Later {
    event("opened replica");
    Later
}

#[graceful::resource(order = 4)]
async fn orphan(_missing: Missing) -> Orphan {
    event("opened orphan");
    Orphan
}

#[graceful::main]
async fn main(_nowhere: Nowhere) {
    event("main started");
}

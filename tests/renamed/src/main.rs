//! graceful under another name (`g = { package = "gracefully", ... }` in Cargo.toml): the three
//! places the attributes generate code that names the crate, each with `crate = "::g"`, and
//! `#[g::resource]` on a `let` recognised under the new name (one of them `telemetry`, which
//! closes last).

use g::{BoxError, Close, Shutdown};

struct Pool;

impl Close for Pool {
    async fn close(&self) -> Result<(), BoxError> {
        println!("event closed pool");
        Ok(())
    }
}

struct Cache;

impl Close for Cache {
    async fn close(&self) -> Result<(), BoxError> {
        println!("event closed cache");
        Ok(())
    }
}

#[g::resource(order = 1, crate = "::g")]
async fn pool() -> Pool {
    println!("event opened pool");
    Pool
}

#[g::main(timeout = "5s", crate = "::g")]
async fn main(shutdown: Shutdown, _pool: g::Resource<Pool>) -> Result<(), BoxError> {
    // Telemetry: it closes last of all, after the report.
    #[g::resource(telemetry)]
    let _cache = Cache;
    #[resource]
    let _plain = Cache;
    println!("event opened caches");
    shutdown.trigger("done");
    Ok(())
}

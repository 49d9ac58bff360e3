// Every resource form, tasks that finish by themselves, `?` in the body, and no warning from
// the generated code. (That resources really close is proven by tests/lifecycle.)
#![deny(warnings, unused_qualifications, rust_2018_idioms, unreachable_pub, unsafe_code)]

use graceful::{BoxError, Close, Shutdown};

struct Pool {
    url: String,
}

impl Pool {
    fn url(&self) -> &str {
        &self.url
    }
}

impl Close for Pool {
    async fn close(&self) -> Result<(), BoxError> {
        Ok(())
    }
}

struct Cache;

async fn close_cache(_: &Cache) {}

struct Foreign;

impl Foreign {
    async fn shutdown(&self) -> Result<(), std::io::Error> {
        Ok(())
    }
}

async fn connect(url: &str) -> Result<Pool, std::io::Error> {
    Ok(Pool { url: url.to_owned() })
}

#[graceful::main(timeout = "5s")]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    #[resource(order = 1, timeout = "2s", name = "database")]
    let db = connect("sqlite::memory:").await?;
    #[resource(order = 2, close = close_cache)]
    let cache: Cache = Cache;
    #[resource(order = 2, close = Foreign::shutdown)]
    #[allow(unused_variables)]
    let foreign = Foreign;
    let _ = &cache;

    assert_eq!(db.url(), "sqlite::memory:");
    let for_task = db.clone();
    shutdown.spawn("query", async move {
        assert_eq!(for_task.url(), "sqlite::memory:");
        Ok::<(), BoxError>(())
    });
    shutdown.spawn("unit", async {});
    Ok(())
}

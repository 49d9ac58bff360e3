use std::time::Duration;

use graceful::{BoxError, Close, Resource};
use graceful_lifecycle_tests::event;

use crate::db::Db;

pub struct Cache {
    pub db: Resource<Db>,
}

impl Close for Cache {
    async fn close(&self) -> Result<(), BoxError> {
        event("closing cache");
        tokio::time::sleep(Duration::from_millis(400)).await;
        event("closed cache");
        Ok(())
    }
}

/// Same order as the library's tracer: they open together and close together.
#[graceful::resource(order = 20)]
async fn cache(db: Resource<Db>) -> Result<Cache, BoxError> {
    if graceful_lifecycle_tests::scenario() == "sibling_fails" {
        tokio::time::sleep(Duration::from_millis(100)).await;
        return Err("the cache cluster is down".into());
    }
    event(format!("opened cache on db {}", db.serial));
    Ok(Cache { db })
}

// Resources declared on functions: every form of `#[graceful::resource]` on an item, their
// parameters resolved by type (`T`, `Resource<T>`, `Shutdown`), `main`'s too, and no warning
// from the generated code. (Order, unwinding and errors are proven by tests/items.)
#![deny(warnings, unused_qualifications, rust_2018_idioms, unreachable_pub, unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};

use graceful::{BoxError, Close, Resource, Shutdown};

#[derive(Clone)]
struct Settings {
    url: String,
}

impl Close for Settings {}

#[graceful::resource(order = 1)]
async fn settings() -> Settings {
    Settings {
        url: "memory://".to_owned(),
    }
}

struct Db {
    url: String,
    closed: AtomicBool,
}

impl Close for Db {
    async fn close(&self) -> Result<(), BoxError> {
        self.closed.store(true, Ordering::SeqCst);
        Ok(())
    }
}

#[graceful::resource(order = 10, timeout = "2s", name = "database")]
async fn db(settings: Settings, _shutdown: Shutdown) -> std::io::Result<Db> {
    Ok(Db {
        url: settings.url,
        closed: AtomicBool::new(false),
    })
}

struct Audit {
    db: Resource<Db>,
}

async fn flush(audit: &Audit) -> Result<(), BoxError> {
    // Closed before the database it writes to.
    match audit.db.closed.load(Ordering::SeqCst) {
        true => Err("the database closed before the audit log".into()),
        false => Ok(()),
    }
}

mod audit {
    use super::{Audit, Db};
    use graceful::Resource;

    #[graceful::resource(order = 20, close = super::flush)]
    async fn audit_log(db: Resource<Db>) -> Result<Audit, String> {
        Ok(Audit { db })
    }
}

#[graceful::main]
async fn main(shutdown: Shutdown, db: Resource<Db>, settings: Settings) -> Result<(), BoxError> {
    assert_eq!(db.url, settings.url);
    let audit = shutdown.resource::<Audit>().ok_or("the audit log is fetched by type")?;
    assert!(std::ptr::eq(&*audit.db, &*db), "one shared instance");
    Ok(())
}

use graceful::{BoxError, Close};

struct Db;
impl Close for Db {}

#[graceful::resource(order = 1)]
fn not_async() -> Db {
    Db
}

#[graceful::resource(order = 2)]
async fn no_return_value() {}

#[graceful::resource(order = 3)]
async fn returns_unit() -> () {}

#[graceful::resource(order = 4)]
async fn generic<T: Default>() -> Result<Db, BoxError> {
    Ok(Db)
}

#[graceful::resource(order = 5)]
async fn borrowed(_db: &Db) -> Db {
    Db
}

struct Factory;
impl Factory {
    #[graceful::resource(order = 6)]
    async fn method(&self) -> Db {
        Db
    }
}

#[graceful::main]
async fn main() {
    let _ = Factory;
}

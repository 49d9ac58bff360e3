use graceful::Close;

struct Db;
impl Close for Db {}

#[graceful::resource(order = 1)]
async fn database() -> Db {
    Db
}

#[graceful::main]
async fn main(_db: Db) {}

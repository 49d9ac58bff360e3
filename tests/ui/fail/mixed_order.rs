struct Db;

async fn close_db(_: &Db) {}

#[graceful::main]
async fn main() {
    #[resource(order = 1, close = close_db)]
    let db = Db;
    #[resource(close = close_db)]
    let other = Db;
    let _ = (db, other);
}

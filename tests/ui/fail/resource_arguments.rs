struct Db;

async fn close_db(_: &Db) {}

#[graceful::main]
async fn main() {
    #[resource(order = "1", close = "close_db", timeout = "forever", color = "blue")]
    let db = Db;
    let _ = db;
}

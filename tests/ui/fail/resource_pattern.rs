struct Db;

#[graceful::main]
async fn main() {
    #[resource(close = drop_it)]
    let (a, b) = (Db, Db);
    #[resource]
    let c;
    c = Db;
    let _ = (a, b, c);
}

async fn drop_it(_: &Db) {}

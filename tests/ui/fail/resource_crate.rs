// `crate` belongs on `#[graceful::main]`, which a `#[resource] let` follows.
struct Db;
impl graceful::Close for Db {}

#[graceful::main]
async fn main() {
    #[resource(crate = "::graceful")]
    let _db = Db;
}

struct Pool;

#[graceful::main]
async fn main() {
    #[resource]
    let pool = Pool;
    let _ = pool;
}

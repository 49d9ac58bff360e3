#[graceful::main(timeout = "24h 1ms", worker_threads = 4097)]
async fn main() {
    #[resource(timeout = "25h")]
    let _cache = Cache;
}

struct Cache;
impl graceful::Close for Cache {}

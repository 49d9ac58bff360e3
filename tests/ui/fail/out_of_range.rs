#[graceful::main(timeout = "25h", worker_threads = 5000)]
async fn main() {
    #[resource(timeout = "300000000000y")]
    let _cache = Cache;
}

struct Cache;
impl graceful::Close for Cache {}

#[graceful::main(timeout = 30, flavor = "single_thread", worker_threads = 0, crate = "not a path")]
async fn main() {}

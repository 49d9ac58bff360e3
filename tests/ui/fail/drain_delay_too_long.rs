#[graceful::main(timeout = "5s", drain_delay = "5s")]
async fn main() {}

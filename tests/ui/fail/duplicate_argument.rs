#[graceful::main(timeout = "5s", timeout = "6s")]
async fn main() {}

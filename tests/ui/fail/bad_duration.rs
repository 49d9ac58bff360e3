#[graceful::main(timeout = "5 parsecs", drain_delay = "soon")]
async fn main() {}

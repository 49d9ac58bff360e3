#[graceful::main(timout = "5s", grace = "1s")]
async fn main() {}

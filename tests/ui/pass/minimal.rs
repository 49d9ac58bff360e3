// No parameter, no return value, no task: shuts down at once, cleanly.
#[graceful::main]
async fn main() {}

#[graceful::main]
async fn main<T>(_shutdown: graceful::Shutdown, db: u32) {}

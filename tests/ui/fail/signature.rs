#[graceful::main]
async fn main<T>(_shutdown: graceful::Shutdown, _db: &u32, _cache: impl Clone) {}

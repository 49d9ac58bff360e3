#[graceful::resource(order = 1)]
async fn database() -> Result<u32, graceful::BoxError> {
    Ok(1)
}

#[graceful::main]
async fn main() {}

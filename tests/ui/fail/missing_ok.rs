// A `Result` main that ends with a statement: one error, on the body's end.
#[graceful::main]
async fn main() -> Result<(), graceful::BoxError> {
    let _guard = 1;
}

use graceful::Close;

struct Db;
impl Close for Db {}

struct NotAnError;

#[graceful::resource(order = 1)]
async fn database() -> Result<Db, NotAnError> {
    Ok(Db)
}

#[graceful::main]
async fn main() {}

use graceful::Close;

struct Db;
impl Close for Db {}

#[graceful::resource]
async fn no_order() -> Db {
    Db
}

#[graceful::resource(order = "ten")]
async fn text_order() -> Db {
    Db
}

#[graceful::resource(order = 99999999999999999999)]
async fn huge_order() -> Db {
    Db
}

#[graceful::resource(order = 1, timeout = "soon", colour = "red")]
async fn more() -> Db {
    Db
}

#[graceful::resource(order = 1)]
struct NotAFunction;

#[graceful::main]
async fn main() {}

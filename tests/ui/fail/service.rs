// `#[graceful::service]`: the handle its resources register with, an `async fn`, and
// `#[resource]` only at its top level.
struct Db;
impl graceful::Close for Db {}

#[graceful::service]
async fn no_handle() {
    #[resource]
    let _db = Db;
}

#[graceful::service]
async fn unnamed_handle(_: graceful::Shutdown) {
    #[resource]
    let _db = Db;
}

#[graceful::service]
fn not_async(shutdown: graceful::Shutdown) {
    let _ = shutdown;
}

#[graceful::service]
async fn nested(shutdown: graceful::Shutdown) {
    {
        #[resource]
        let _db = Db;
    }
    let _ = shutdown;
}

#[graceful::service(crate = "::graceful")]
async fn crate_on_let(shutdown: graceful::Shutdown) {
    #[resource(crate = "::graceful")]
    let _db = Db;
    let _ = shutdown;
}

mod other {
    pub struct Shutdown;
}

// A `Shutdown` that is not graceful's: the error is on its type.
#[graceful::service]
async fn not_graceful_s(shutdown: other::Shutdown) {
    #[resource]
    let _db = Db;
    let _ = shutdown;
}

fn main() {}

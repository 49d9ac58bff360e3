struct Db;
impl graceful::Close for Db {
    async fn close(&self) -> Result<(), graceful::BoxError> {
        Ok(())
    }
}

#[graceful::main]
async fn main() {
    {
        #[resource]
        let db = Db;
        let _ = db;
    }
    let open = || {
        #[resource]
        let db = Db;
        db
    };
    let _ = open();
}

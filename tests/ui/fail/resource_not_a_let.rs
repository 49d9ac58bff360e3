fn connect() {}

#[graceful::main]
async fn main() {
    #[resource]
    connect();
}

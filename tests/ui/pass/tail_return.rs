// A body that ends with `return`, or with a statement: both hand over their value, with no
// warning from the generated code.
#![deny(warnings)]

struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        println!("guard dropped");
    }
}

#[graceful::main]
async fn main(shutdown: graceful::Shutdown) -> Result<(), String> {
    let _guard = Guard;
    shutdown.spawn("job", async {});
    return Ok(());
}

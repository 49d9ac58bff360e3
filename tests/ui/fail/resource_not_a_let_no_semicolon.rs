// The attribute is on an `if` with no `;`: the next statement must not be swallowed.
#[graceful::main]
async fn main() {
    #[resource]
    if true {}
    let x: u32 = 1;
    let _ = x;
}

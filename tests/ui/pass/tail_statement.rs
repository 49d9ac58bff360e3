// Bodies that end with a statement: one that diverges (`loop { .. };`), and `_`-named
// bindings, one of them used again (so it drops when the body returns) and one kept for the
// end: no warning from the generated code.
#![deny(warnings)]

struct Guard(&'static str);

impl Drop for Guard {
    fn drop(&mut self) {
        println!("{} dropped", self.0);
    }
}

#[graceful::main(flavor = "current_thread")]
async fn main(shutdown: graceful::Shutdown) -> Result<(), String> {
    let (_named_again, _kept) = (Guard("named again"), Guard("kept"));
    // Not compiled in: nothing may name it at the end.
    #[cfg(any())]
    let _absent = Guard("absent");
    println!("{}", _named_again.0);
    shutdown.trigger("done");
    loop {
        shutdown.cancelled().await;
        return Ok(());
    };
}

//! Compile-time behaviour of the attributes: what compiles (and runs to a clean exit), and the
//! errors users get for misuse, with snapshots of our own messages.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}

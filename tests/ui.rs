//! Compile-time behaviour of the attributes: what compiles (and runs to a clean exit), and the
//! errors users get for misuse, with snapshots of our own messages.

/// What compiles, and runs to a clean exit: on every toolchain.
#[test]
fn ui_pass() {
    trybuild::TestCases::new().pass("tests/ui/pass/*.rs");
}

/// The `.stderr` snapshots hold rustc's own wording next to ours (notes, help, spans), which
/// changes between releases: this suite runs on the toolchain that took them, as thiserror's
/// and tracing's do, and is ignored elsewhere. To move it to a new toolchain, run it there with
/// `TRYBUILD=overwrite`, review the diff of `tests/ui/fail/*.stderr`, and change the version
/// below.
#[rustversion::attr(
    not(stable(1.95)),
    ignore = "the ui snapshots are of rustc 1.95's wording"
)]
#[test]
fn ui_fail() {
    trybuild::TestCases::new().compile_fail("tests/ui/fail/*.rs");
}

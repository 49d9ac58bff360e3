//! The attributes of [`graceful`](https://docs.rs/graceful). Depend on `graceful`, which
//! re-exports them next to the runtime they expand to.
//!
//! Each attribute is a thin shim over a function on `proc_macro2` tokens, with one stage per
//! file: `args` (attribute arguments), `parse` (the function), `body` (the `#[resource]`
//! statements), `validate`, `expand`. Errors accumulate and are reported together, each on the
//! smallest span, and the function is emitted even when there are errors.
#![warn(missing_docs, unreachable_pub)]

mod args;
mod body;
mod duration;
mod errors;
mod expand;
mod parse;
mod validate;

use proc_macro::TokenStream;

/// Runs an `async fn` as a service with graceful shutdown: signal handling, the task group,
/// the deadline and the ordered teardown of its resources.
///
/// ```no_run
/// use graceful::{BoxError, Close, Shutdown};
///
/// struct Db;
/// impl Db {
///     async fn connect() -> Result<Db, BoxError> { Ok(Db) }
/// }
/// impl Close for Db {
///     async fn close(&self) -> Result<(), BoxError> { Ok(()) }
/// }
///
/// #[graceful::main(timeout = "25s", drain_delay = "5s")]
/// async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
///     #[resource(timeout = "5s")]
///     let db = Db::connect().await?; // closed after every task has drained
///     let worker = shutdown.clone();
///     shutdown.spawn("worker", async move {
///         let _db = db.clone();
///         worker.cancelled().await;
///     });
///     Ok(())
/// }
/// ```
///
/// # Arguments
///
/// | argument | default | meaning |
/// |---|---|---|
/// | `timeout = "30s"` | 30 s | bounds the whole shutdown sequence (override: `GRACEFUL_TIMEOUT`) |
/// | `drain_delay = "5s"` | 0 | keep serving, not ready, before stopping (override: `GRACEFUL_DRAIN_DELAY`) |
/// | `flavor = "current_thread"` | `"multi_thread"` | the Tokio scheduler |
/// | `worker_threads = 4` | one per core | threads of the multi-thread scheduler |
/// | `crate = "::graceful"` | `::graceful` | where `graceful` is, if renamed |
///
/// # The function
///
/// It must be an `async fn`, not generic. It may take the [`Shutdown`] handle as its one
/// parameter, and return `()` or `Result<(), E>` with `E: Display`. Its body runs alongside
/// the lifecycle: it may return at once after spawning tasks, or run a server itself until
/// [`Shutdown::cancelled`] resolves.
///
/// # Resources
///
/// `#[resource]` on a `let` at the top level of the body declares a resource, closed after
/// the drain: `#[resource(order = N, close = path, timeout = "5s", name = "db")]`, every
/// argument optional. The binding becomes a [`Resource<T>`], which dereferences to the value
/// and clones cheaply. Without `order`, resources close in reverse creation order; with it,
/// in descending `order`, equal orders concurrently (give every resource an order, or none).
/// The type implements [`Close`], or `close = path` names a function or method taking `&T`
/// whose future returns `()` or `Result<(), E>`.
///
/// `#[resource]` works only where `#[graceful::main]` can see it: on a top-level `let` of
/// its function. Anywhere else it is an error; on a `let` in a function without
/// `#[graceful::main]`, rustc reports E0658 (attributes on statements are unstable).
///
/// [`Shutdown`]: https://docs.rs/graceful/latest/graceful/struct.Shutdown.html
/// [`Shutdown::cancelled`]: https://docs.rs/graceful/latest/graceful/struct.Shutdown.html#method.cancelled
/// [`Resource<T>`]: https://docs.rs/graceful/latest/graceful/struct.Resource.html
/// [`Close`]: https://docs.rs/graceful/latest/graceful/trait.Close.html
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::main(args.into(), item.into()).into()
}

/// Declares a resource. Inside a `#[graceful::main]` function, write it on a top-level `let`
/// (see [`macro@main`]); `#[graceful::main]` removes it and generates the registration.
///
/// On an item (a function declaring a resource anywhere in the crate) it is not supported yet,
/// and is a compile error that says so.
#[proc_macro_attribute]
pub fn resource(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::resource(args.into(), item.into()).into()
}

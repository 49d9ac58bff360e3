//! The attributes of [`graceful`](https://docs.rs/gracefully). Depend on the `gracefully` package (library `graceful`), which
//! re-exports them next to the runtime they expand to.
//!
//! Each attribute is a thin shim over a function on `proc_macro2` tokens, with one stage per
//! file: `args` (attribute arguments), `parse` (the function), `body` (the `#[resource]`
//! statements), `tail` (the value the body ends with), `validate`, `expand`. Errors accumulate and are reported together, each on the
//! smallest span, and the function is emitted even when there are errors.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod args;
mod body;
mod duration;
mod errors;
mod expand;
mod parse;
mod tail;
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
/// It must be an `async fn`, not generic, returning `()` or `Result<(), E>` with
/// `E: Display`. Its parameters are resolved by type: the [`Shutdown`] handle, and the
/// resources declared with `#[graceful::resource]` on functions (see [`macro@resource`]), as
/// `T` (a clone) or [`Resource<T>`] (the shared instance). Its body runs alongside the
/// lifecycle, after those resources have opened: it may return at once after spawning tasks,
/// or run a server itself until [`Shutdown::cancelled`] resolves.
///
/// A top-level binding whose name starts with `_` (`let _guard = …;`) and that the body never
/// names again lives until the very end of the shutdown, after the report is written: a log
/// writer's guard flushes graceful's last lines too (on a forced exit no `Drop` runs: use a
/// `telemetry` resource and its `flush_now` for that). Every other local drops when the body
/// returns, as in any function; a `?` or an early `return` drops everything then. An error is
/// reported with its causes (its sources, or the chain of an `anyhow` or `eyre` error).
///
/// # Resources
///
/// `#[resource]` on a `let` at the top level of the body declares a resource, closed after
/// the drain: `#[resource(order = N, close = path, timeout = "5s", name = "db")]`, every
/// argument optional. The binding becomes a [`Resource<T>`], which dereferences to the value
/// and clones cheaply. Without `order`, resources close in reverse creation order; with it,
/// in descending `order`, equal orders concurrently (give every resource an order, or none).
/// The type implements [`Close`], or `close = path` names a function or method taking `&T`
/// whose future returns `()` or `Result<(), E>`. `#[resource(telemetry)]` marks one that
/// carries the logs or traces: it closes last of all, after the report is logged, and its
/// [`Close::flush_now`] runs if the process must end at once.
///
/// `#[resource]` works only where `#[graceful::main]` (or [`macro@service`]) can see it: on a
/// top-level `let` of its function. Anywhere else it is an error; on a `let` in a function without
/// `#[graceful::main]`, rustc reports E0658 (attributes on statements are unstable).
///
/// [`Shutdown`]: https://docs.rs/gracefully/latest/graceful/struct.Shutdown.html
/// [`Shutdown::cancelled`]: https://docs.rs/gracefully/latest/graceful/struct.Shutdown.html#method.cancelled
/// [`Resource<T>`]: https://docs.rs/gracefully/latest/graceful/struct.Resource.html
/// [`Close`]: https://docs.rs/gracefully/latest/graceful/trait.Close.html
/// [`Close::flush_now`]: https://docs.rs/gracefully/latest/graceful/trait.Close.html#method.flush_now
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::main(args.into(), item.into()).into()
}

/// A service's body outside `main`: a function whose `#[resource] let`s register with the
/// [`Shutdown`] handle it takes, for a test to run it (with [`graceful::test`]) or several
/// binaries to share it. The function stays as written: `main` calls it, a test runs it.
///
/// ```
/// use graceful::{BoxError, Close, Config, Shutdown, Signal};
///
/// struct Db;
/// impl Close for Db {}
/// struct Publisher;
/// impl Close for Publisher {}
///
/// #[graceful::service]
/// async fn service(shutdown: Shutdown) -> Result<(), BoxError> {
///     #[resource(order = 1)]
///     let db = Db;
///     #[resource(order = 2)]
///     let publisher = Publisher; // closed before db
///     let _ = (db, publisher);
///     Ok(())
/// }
///
/// // In the binary:
/// // #[graceful::main(timeout = "25s")]
/// // async fn main(shutdown: Shutdown) -> Result<(), BoxError> { service(shutdown).await }
///
/// // In a test (a plain `#[test]`; in a `#[tokio::test]`, `.run(..).await`):
/// let report = graceful::test::Service::new(Config::new())
///     .run_blocking(service, |control| async move { control.signal(Signal::Terminate) });
/// assert_eq!(report.close_order(), ["publisher", "db"]);
/// ```
///
/// `#[resource]` works as in [`macro@main`], on the function's top-level `let`s; they close
/// with the service that runs the function, in the same order as `main`'s own. Unlike
/// `main`'s, the function's locals (`_`-named ones included) drop when it returns. Its
/// parameters are its own (a caller passes them): only the `Shutdown` one is needed, and only
/// if it declares resources. `crate = "::g"` names graceful if renamed.
///
/// [`Shutdown`]: https://docs.rs/gracefully/latest/graceful/struct.Shutdown.html
/// [`graceful::test`]: https://docs.rs/gracefully/latest/graceful/test/index.html
#[proc_macro_attribute]
pub fn service(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::service(args.into(), item.into()).into()
}

/// Declares a resource: a value opened at startup and closed after the drain, in reverse
/// order. It goes in two places.
///
/// **On a `let` in `main`** (a top-level statement of a `#[graceful::main]` function): see
/// [`macro@main`], which removes the attribute and generates the registration.
///
/// **On an `async fn` anywhere in the program**, which opens the resource:
///
/// ```no_run
/// use graceful::{BoxError, Close, Resource, Shutdown};
///
/// #[derive(Clone)]
/// pub struct Settings { pub url: String }
/// impl Close for Settings {} // nothing to close
///
/// #[graceful::resource(order = 1)]
/// async fn settings() -> Settings {
///     Settings { url: std::env::var("DATABASE_URL").unwrap_or_default() }
/// }
///
/// pub struct Db { /* a pool */ }
/// impl Close for Db {
///     async fn close(&self) -> Result<(), BoxError> { Ok(()) }
/// }
///
/// // Takes the settings by type; opens after them and closes before them.
/// #[graceful::resource(order = 10, timeout = "5s")]
/// async fn database(settings: Settings) -> Result<Db, BoxError> {
///     let _ = settings.url;
///     Ok(Db {})
/// }
///
/// #[graceful::main]
/// async fn main(shutdown: Shutdown, db: Resource<Db>) {
///     shutdown.spawn("worker", async move { let _db = db; });
/// }
/// ```
///
/// - `order = N` is required: resources open in ascending `order` before `main`'s body,
///   equal orders concurrently, and close in descending `order` after the drain, equal
///   orders concurrently. Ties are listed by the function's path (`module::function`), then
///   its source location.
/// - `close = path` names the close function (taking `&T`) when `T` does not implement
///   [`Close`]; `timeout = "5s"` bounds the close; `name = "db"` names it in logs and the
///   report (the function's name by default); `telemetry` makes it close last of all,
///   after the report is logged (see `#[resource]` in [`macro@main`]); `crate = "::g"` is
///   where graceful is, if the dependency is renamed (as on `#[graceful::main]`).
/// - It returns `T` or `Result<T, E>` (any type named `Result`, such as `io::Result<T>`), with
///   `E` converting into [`BoxError`]. An error stops the startup: the resources already opened
///   close in reverse, `main` does not run, and the exit code is 1.
/// - Its parameters are resolved by type, like `main`'s: [`Shutdown`] (to spawn a background
///   flusher, say), and resources of a *lower* `order`, as `T` (a clone, for handle types such
///   as pools) or [`Resource<T>`] (the one shared instance). [`Shutdown::resource`] fetches
///   one by type too.
/// - Before anything opens, the startup checks that every parameter has exactly one provider
///   of a lower order, and names every problem: a type no resource provides, two resources of
///   the same type, a dependency on an equal or higher order.
///
/// The registrations are collected at link time with `inventory`, which needs a platform with
/// static constructors: Linux, macOS, Windows, the BSDs, Android and iOS. A registration in a library crate is only seen if that crate is linked
/// into the binary: name something from it, such as `use that_crate as _;`. Where that cannot
/// work, declare the resource with `#[resource]` on a `let` in `main`.
///
/// [`Shutdown`]: https://docs.rs/gracefully/latest/graceful/struct.Shutdown.html
/// [`Shutdown::resource`]: https://docs.rs/gracefully/latest/graceful/struct.Shutdown.html#method.resource
/// [`Resource<T>`]: https://docs.rs/gracefully/latest/graceful/struct.Resource.html
/// [`Close`]: https://docs.rs/gracefully/latest/graceful/trait.Close.html
/// [`BoxError`]: https://docs.rs/gracefully/latest/graceful/type.BoxError.html
#[proc_macro_attribute]
pub fn resource(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::resource(args.into(), item.into()).into()
}

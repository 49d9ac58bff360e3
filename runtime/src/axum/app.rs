//! What [`serve`](super::serve) accepts: a `Router`, or a router that gives its handlers the
//! client's address (`ConnectInfo`). Both become one concrete service per connection, so the
//! connection code (hyper's, and graceful's around it) is compiled once, in this crate, rather
//! than once per user type in the user's crate.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::connect_info::{Connected, IntoMakeServiceWithConnectInfo};
use axum::routing::future::RouteFuture;
use futures_util::FutureExt;
use hyper::Request;
use tower_service::Service;

use super::requests::RequestBody;

/// What [`serve`](super::serve) serves: an axum `Router`, or
/// `router.into_make_service_with_connect_info::<C>()`, whose handlers then extract
/// `ConnectInfo<C>`, as with `axum::serve`. `C` is `SocketAddr`, or a type of yours that
/// implements `Connected<SocketAddr>` (the client's address is what a TCP listener knows).
///
/// ```no_run
/// use std::net::SocketAddr;
/// use axum::{Router, extract::ConnectInfo, routing::get};
///
/// # graceful::Config::new().run(|shutdown| async move {
/// let app = Router::new().route(
///     "/",
///     get(|ConnectInfo(client): ConnectInfo<SocketAddr>| async move { client.to_string() }),
/// );
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let app = app.into_make_service_with_connect_info::<SocketAddr>();
/// shutdown.spawn("http", graceful::axum::serve(listener, app, shutdown.clone()));
/// # Ok::<(), std::io::Error>(())
/// # });
/// ```
///
/// It is sealed: these are what `serve` knows how to drain.
pub trait App: sealed::Sealed {}

impl App for Router {}

impl<C: Connected<SocketAddr>> App for IntoMakeServiceWithConnectInfo<Router, C> {}

mod sealed {
    pub trait Sealed {
        /// The application, erased to what every connection gets.
        fn into_routing(self) -> Erased;
    }

    /// [`Routing`](super::Routing), behind a name the sealed trait can show.
    pub struct Erased(pub(super) super::Routing);

    impl std::fmt::Debug for Erased {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Erased")
        }
    }
}

impl sealed::Sealed for Router {
    fn into_routing(self) -> sealed::Erased {
        sealed::Erased(Routing::Router(self))
    }
}

impl<C: Connected<SocketAddr>> sealed::Sealed for IntoMakeServiceWithConnectInfo<Router, C> {
    fn into_routing(self) -> sealed::Erased {
        sealed::Erased(Routing::PerClient(Arc::new(move |client| {
            // axum's make service answers at once: it adds `ConnectInfo` to the router.
            let service = self
                .clone()
                .call(client)
                .now_or_never()
                .expect("axum's connect-info make service is ready at once");
            let Ok(service) = service;
            Routes::Erased(Arc::new(move |request| service.clone().call(request)))
        })))
    }
}

/// The application, as the server holds it.
pub(crate) enum Routing {
    Router(Router),
    /// Makes each connection's routes from its client's address.
    PerClient(Arc<dyn Fn(SocketAddr) -> Routes + Send + Sync>),
}

impl Routing {
    pub(crate) fn from_app(app: impl App) -> Self {
        sealed::Sealed::into_routing(app).0
    }

    /// The routes of a connection from `client`.
    pub(crate) fn for_client(&self, client: SocketAddr) -> Routes {
        match self {
            Routing::Router(router) => Routes::Router(router.clone()),
            Routing::PerClient(make) => make(client),
        }
    }
}

/// One request's routing, as a future: what the router's own call returns.
type Route = RouteFuture<Infallible>;

/// A connection's routes: the router, or the router with what it adds to each request.
#[derive(Clone)]
pub(crate) enum Routes {
    Router(Router),
    Erased(Arc<dyn Fn(Request<RequestBody>) -> Route + Send + Sync>),
}

impl hyper::service::Service<Request<RequestBody>> for Routes {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = Route;

    fn call(&self, request: Request<RequestBody>) -> Self::Future {
        match self {
            // The router is always ready (axum's `poll_ready` is `Ready`), as hyper-util's
            // `TowerToHyperService` assumes too.
            Routes::Router(router) => router.clone().call(request),
            Routes::Erased(call) => call(request),
        }
    }
}

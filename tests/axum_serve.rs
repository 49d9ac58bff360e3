//! `graceful::axum::serve` with what `axum::serve` accepts besides a `Router`: a router whose
//! handlers extract `ConnectInfo`, over a real socket on loopback.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::connect_info::Connected;
use axum::routing::get;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// `GET /` from a fresh connection: the status, the body, and the client's own address.
async fn get_root(addr: SocketAddr) -> (u16, String, SocketAddr) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let client = stream.local_addr().unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::get("/")
        .header("host", "test")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap(), client)
}

/// `app` served by `graceful::axum::serve` on a loopback port, under a handle of its own: the
/// address, the test's control of the handle, and the server's task.
async fn serving(
    app: impl graceful::axum::App,
) -> (
    SocketAddr,
    graceful::test::Control,
    tokio::task::JoinHandle<()>,
) {
    let (shutdown, control) = graceful::test::shutdown();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = shutdown.spawn(
        "http",
        graceful::axum::serve(listener, app, shutdown.clone()),
    );
    (addr, control, server)
}

#[tokio::test]
async fn connect_info_handlers_get_the_clients_address() {
    let app = Router::new().route(
        "/",
        get(|ConnectInfo(client): ConnectInfo<SocketAddr>| async move { client.to_string() }),
    );
    let (addr, control, server) =
        serving(app.into_make_service_with_connect_info::<SocketAddr>()).await;
    for _ in 0..2 {
        let (status, body, client) = get_root(addr).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, client.to_string());
    }
    control.cancel();
    server.await.unwrap();
}

/// A connect-info type of the user's, made from the client's address.
#[derive(Clone)]
struct Peer {
    port: u16,
}

impl Connected<SocketAddr> for Peer {
    fn connect_info(client: SocketAddr) -> Self {
        Peer {
            port: client.port(),
        }
    }
}

#[tokio::test]
async fn a_connect_info_type_of_the_users_is_made_per_connection() {
    let app = Router::new()
        .route(
            "/",
            get(|ConnectInfo(peer): ConnectInfo<Peer>| async move { peer.port.to_string() }),
        )
        .into_make_service_with_connect_info::<Peer>();
    let (addr, control, server) = serving(app).await;
    let (status, body, client) = get_root(addr).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, client.port().to_string());
    control.cancel();
    server.await.unwrap();
}

#[tokio::test]
async fn without_connect_info_the_extractor_fails_as_with_axum_serve() {
    let app = Router::new().route(
        "/",
        get(|ConnectInfo(client): ConnectInfo<SocketAddr>| async move { client.to_string() }),
    );
    let (addr, control, server) = serving(app).await;
    let (status, _, _) = get_root(addr).await;
    assert_eq!(status, 500);
    control.cancel();
    server.await.unwrap();
}

/// Reads until the server closes the connection (or the bound passes): whether it closed.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buffer = [0; 1024];
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    read.await.is_ok()
}

#[tokio::test]
async fn with_a_header_read_timeout_half_a_head_is_closed_and_whole_requests_are_served() {
    use tokio::io::AsyncWriteExt;
    let (shutdown, control) = graceful::test::shutdown();
    let app = Router::new().route("/", get(|| async { "whole" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = graceful::axum::serve(listener, app, shutdown.clone())
        .header_read_timeout(std::time::Duration::from_millis(300));
    let server = shutdown.spawn("http", server);

    let (status, body, _) = get_root(addr).await;
    assert_eq!((status, body.as_str()), (200, "whole"));
    // Half a head: closed by the server, long before the cancel (there is none here).
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nhost: te").await.unwrap();
    assert!(
        closed_by_server(&mut half).await,
        "half a head is still open"
    );
    // Nothing at all: the first bytes are bounded too.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert!(
        closed_by_server(&mut silent).await,
        "a silent client is still open"
    );
    control.cancel();
    server.await.unwrap();
}

/// Tells, when dropped, that the body holding it was dropped.
struct Dropped(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for Dropped {
    fn drop(&mut self) {
        if let Some(dropped) = self.0.take() {
            let _ = dropped.send(());
        }
    }
}

/// An HTTP/2 stream whose body never ends (a feed) runs on a task of its own; when its client
/// goes, the connection ends and so does the stream's task: its body is dropped, nothing is
/// left running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_stream_that_never_ends_is_dropped_with_its_connection() {
    let (dropped, body_dropped) = tokio::sync::oneshot::channel();
    let dropped = Arc::new(std::sync::Mutex::new(Some(dropped)));
    let app = Router::new().route(
        "/feed",
        get(move || {
            let guard = Dropped(dropped.lock().unwrap().take());
            async move {
                let first = futures_util::stream::once(async {
                    Ok::<_, std::io::Error>(Bytes::from_static(b"first\n"))
                });
                let feed = futures_util::StreamExt::chain(first, futures_util::stream::pending());
                let feed = futures_util::StreamExt::map(feed, move |chunk| {
                    let _ = &guard;
                    chunk
                });
                axum::body::Body::from_stream(feed)
            }
        }),
    );
    let (addr, control, server) = serving(app).await;

    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(stream),
    )
    .await
    .unwrap();
    let connection = tokio::spawn(connection);
    let request = hyper::Request::get("http://test/feed")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let mut response = sender.send_request(request).await.unwrap().into_body();
    let first = response
        .frame()
        .await
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    assert_eq!(&first[..], b"first\n");
    // The client goes.
    connection.abort();
    drop((sender, response));
    tokio::time::timeout(std::time::Duration::from_secs(20), body_dropped)
        .await
        .expect("the stream's body is dropped once its connection is gone")
        .unwrap();
    control.cancel();
    server.await.unwrap();
}

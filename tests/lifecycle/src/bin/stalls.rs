//! A server on `graceful::axum` whose handlers are busy on purpose, stream slowly, read their
//! bodies slowly, or read them from a task of their own, with drop guards that count the
//! handler futures still alive (tests/stalls.rs).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::routing::{get, post};
use futures_util::StreamExt;
use graceful::{BoxError, Shutdown};
use graceful_lifecycle_tests::event;

static LIVE: AtomicUsize = AtomicUsize::new(0);

struct Guard(&'static str);
impl Guard {
    fn new(name: &'static str) -> Guard {
        LIVE.fetch_add(1, Ordering::SeqCst);
        event(format!("started {name}"));
        Guard(name)
    }
}
impl Drop for Guard {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
        event(format!("dropped {}", self.0));
    }
}

#[graceful::main(timeout = "20s")]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app = Router::new()
        .route("/big", get(|| async { vec![b'x'; 16 << 20] }))
        // A handler computing (sleeping) for `ms` before it answers.
        .route(
            "/slow",
            get(|| async {
                let _g = Guard::new("slow");
                tokio::time::sleep(Duration::from_secs(6)).await;
                event("slow answered");
                "done"
            }),
        )
        // A feed yielding every 3 s, 4 times.
        .route(
            "/sse",
            get(|| async {
                let g = Guard::new("sse");
                let ticks = futures_util::stream::unfold((0u32, g), |(n, g)| async move {
                    if n == 4 {
                        event("sse ended");
                        return None;
                    }
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    Some((
                        Ok::<_, std::io::Error>(format!("data: {n}\n\n")),
                        (n + 1, g),
                    ))
                });
                Body::from_stream(ticks)
            }),
        )
        // Reads its body one frame at a time, 3 s of work after each.
        .route(
            "/slowread",
            post(|request: Request| async move {
                let _g = Guard::new("slowread");
                let mut body = request.into_body().into_data_stream();
                let mut total = 0;
                while let Some(Ok(data)) = body.next().await {
                    total += data.len();
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                event(format!("slowread got {total}"));
                total.to_string()
            }),
        )
        // Reads its body on a task of its own while the response streams 1 MiB chunks.
        .route(
            "/duplex",
            post(|request: Request| async move {
                let g = Guard::new("duplex");
                let mut body = request.into_body().into_data_stream();
                tokio::spawn(async move { while let Some(Ok(_)) = body.next().await {} });
                let chunks = futures_util::stream::iter(0..64).map(move |_| {
                    let _ = &g;
                    Ok::<_, std::io::Error>(vec![b'y'; 1 << 20])
                });
                Body::from_stream(chunks)
            }),
        )
        // Answers at once; a task of its own reads the body to its end.
        .route(
            "/detach",
            post(|request: Request| async move {
                let g = Guard::new("detach-reader");
                let mut body = request.into_body().into_data_stream();
                tokio::spawn(async move {
                    while let Some(Ok(_)) = body.next().await {}
                    drop(g);
                });
                "accepted"
            }),
        )
        // Echoes its body as it comes.
        .route(
            "/echo",
            post(|request: Request| async move {
                let g = Guard::new("echo");
                let stream = request.into_body().into_data_stream().map(move |c| {
                    let _ = &g;
                    c
                });
                Body::from_stream(stream)
            }),
        )
        // A handler that never answers.
        .route(
            "/never",
            get(|| async {
                let _g = Guard::new("never");
                std::future::pending::<()>().await;
                "never"
            }),
        )
        .route(
            "/live",
            get(|| async { LIVE.load(Ordering::SeqCst).to_string() }),
        )
        .route(
            "/ci",
            get(|ConnectInfo(c): ConnectInfo<SocketAddr>| async move { c.to_string() }),
        )
        .route("/", get(|| async { "ok" }))
        .merge(graceful::axum::health(&shutdown));
    event(format!("listening {}", listener.local_addr()?));
    let server = graceful::axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
        shutdown.clone(),
    );
    let server = match std::env::var("HRT_MS") {
        Ok(ms) => server.header_read_timeout(Duration::from_millis(ms.parse().unwrap())),
        Err(_) => server,
    };
    shutdown.spawn("http", async move {
        let result = server.await;
        event(format!("serve returned {result:?}"));
        result
    });
    Ok(())
}

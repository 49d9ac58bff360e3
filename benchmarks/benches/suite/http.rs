//! HTTP and gRPC: the same axum router served through `graceful::axum::serve` and through plain
//! `axum::serve` (HTTP/1.1) or hyper's own HTTP/2 connection, and the gRPC health service
//! through `graceful::tonic::serve` and through tonic's own server, each loaded by a client on
//! loopback: requests per second and p99 latency.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::Rounds;
use crate::child::Service;
use crate::stats::{PAIR_HEADER, Pair};

const GRACEFUL: &str = env!("CARGO_BIN_EXE_http_graceful");
const BASELINE: &str = env!("CARGO_BIN_EXE_http_axum");
const HTTP2_BASELINE: &str = env!("CARGO_BIN_EXE_http2_hyper");
const GRPC_GRACEFUL: &str = env!("CARGO_BIN_EXE_grpc_graceful");
const GRPC_BASELINE: &str = env!("CARGO_BIN_EXE_grpc_tonic");
/// HTTP/1.1: one request at a time per connection.
const CONNECTIONS: usize = 32;
/// HTTP/2 and gRPC: as many requests in flight, on a few connections.
const MULTIPLEXED_CONNECTIONS: usize = 4;
const WARM_UP: Duration = Duration::from_secs(1);
const MEASURED: Duration = Duration::from_secs(3);
/// A request slower than this fails the run rather than stalling it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

struct Load {
    requests_per_second: f64,
    p99_micros: f64,
}

/// One keep-alive connection sending `GET /` back to back until `end`; the latencies (µs) of
/// the requests that started after `measure_from`.
async fn connection(address: SocketAddr, measure_from: Instant, end: Instant) -> Vec<u32> {
    let stream = TcpStream::connect(address).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let mut latencies = Vec::new();
    loop {
        let started = Instant::now();
        if started >= end {
            return latencies;
        }
        let request = hyper::Request::get("/")
            .header("host", "bench")
            .body(Empty::<Bytes>::new())
            .expect("request");
        let exchange = async {
            sender.ready().await.expect("connection ready");
            let response = sender.send_request(request).await.expect("response");
            assert_eq!(response.status(), 200);
            response.into_body().collect().await.expect("body");
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .expect("a response within the request timeout");
        if started >= measure_from {
            latencies.push(started.elapsed().as_micros() as u32);
        }
    }
}

/// What loads a server: HTTP/1.1, one connection per client; HTTP/2 and gRPC, the clients
/// share [`MULTIPLEXED_CONNECTIONS`] connections.
#[derive(Clone, Copy)]
enum Protocol {
    Http1,
    Http2,
    Grpc,
}

/// One client sending `request` back to back until `end`; the latencies (µs) of the requests
/// that started after `measure_from`.
async fn back_to_back<F: std::future::Future<Output = ()>>(
    measure_from: Instant,
    end: Instant,
    mut request: impl FnMut() -> F,
) -> Vec<u32> {
    let mut latencies = Vec::new();
    loop {
        let started = Instant::now();
        if started >= end {
            return latencies;
        }
        tokio::time::timeout(REQUEST_TIMEOUT, request())
            .await
            .expect("a response within the request timeout");
        if started >= measure_from {
            latencies.push(started.elapsed().as_micros() as u32);
        }
    }
}

async fn http2_clients(address: SocketAddr, measure_from: Instant, end: Instant) -> Vec<Vec<u32>> {
    let mut senders = Vec::new();
    for _ in 0..MULTIPLEXED_CONNECTIONS {
        let stream = TcpStream::connect(address).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (sender, connection) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            TokioIo::new(stream),
        )
        .await
        .expect("handshake");
        tokio::spawn(connection);
        senders.push(sender);
    }
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|client| {
            let sender = senders[client % MULTIPLEXED_CONNECTIONS].clone();
            tokio::spawn(back_to_back(measure_from, end, move || {
                let mut sender = sender.clone();
                async move {
                    let request = hyper::Request::get("http://bench/")
                        .body(Empty::<Bytes>::new())
                        .expect("request");
                    let response = sender.send_request(request).await.expect("response");
                    assert_eq!(response.status(), 200);
                    response.into_body().collect().await.expect("body");
                }
            }))
        })
        .collect();
    let mut all = Vec::new();
    for client in clients {
        all.push(client.await.expect("client task"));
    }
    all
}

async fn grpc_clients(address: SocketAddr, measure_from: Instant, end: Instant) -> Vec<Vec<u32>> {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    let mut channels = Vec::new();
    for _ in 0..MULTIPLEXED_CONNECTIONS {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
            .expect("an endpoint")
            .tcp_nodelay(true)
            .connect()
            .await
            .expect("connect");
        channels.push(channel);
    }
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|client| {
            let health = HealthClient::new(channels[client % MULTIPLEXED_CONNECTIONS].clone());
            tokio::spawn(back_to_back(measure_from, end, move || {
                let mut health = health.clone();
                async move {
                    let answer = health
                        .check(HealthCheckRequest::default())
                        .await
                        .expect("an answer");
                    assert_eq!(answer.into_inner().status, 1, "SERVING");
                }
            }))
        })
        .collect();
    let mut all = Vec::new();
    for client in clients {
        all.push(client.await.expect("client task"));
    }
    all
}

fn load(address: SocketAddr, protocol: Protocol) -> Load {
    // The load generator gets one thread; the services their default runtime.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let measure_from = Instant::now() + WARM_UP;
        let end = measure_from + MEASURED;
        let per_client = match protocol {
            Protocol::Http1 => {
                let clients: Vec<_> = (0..CONNECTIONS)
                    .map(|_| tokio::spawn(connection(address, measure_from, end)))
                    .collect();
                let mut all = Vec::new();
                for client in clients {
                    all.push(client.await.expect("client task"));
                }
                all
            }
            Protocol::Http2 => http2_clients(address, measure_from, end).await,
            Protocol::Grpc => grpc_clients(address, measure_from, end).await,
        };
        let mut latencies: Vec<u32> = per_client.into_iter().flatten().collect();
        latencies.sort_unstable();
        let p99 = latencies[latencies.len() * 99 / 100];
        Load {
            requests_per_second: latencies.len() as f64 / MEASURED.as_secs_f64(),
            p99_micros: f64::from(p99),
        }
    })
}

fn serve_and_load(binary: &str, protocol: Protocol) -> Load {
    let mut service = Service::start(binary, &[]);
    let address: SocketAddr = service.wait_for("ready").parse().expect("an address");
    let measured = load(address, protocol);
    service.terminate();
    service.wait();
    measured
}

/// The HTTP/1.1 section.
pub fn run(rounds: Rounds) {
    println!("## HTTP/1.1: `graceful::axum::serve` against `axum::serve`\n");
    println!(
        "`http_graceful` and `http_axum` serve the same router (`GET /` → 12 bytes), and a \
         hyper client on one thread keeps {CONNECTIONS} keep-alive connections busy on \
         loopback. {WARM_UP:?} of warm-up, then {MEASURED:?} measured. Higher requests per \
         second is better, so that ratio's target is a floor.\n"
    );
    compare(rounds, "HTTP/1.1", GRACEFUL, BASELINE, Protocol::Http1);
}

/// The HTTP/2 section.
pub fn run_http2(rounds: Rounds) {
    println!("## HTTP/2: `graceful::axum::serve` against hyper's own HTTP/2 connection\n");
    println!(
        "`http_graceful` against `http2_hyper`: hyper's HTTP/2 connection on the same router, \
         with tokio's executor, stricter than `axum::serve` with its `http2` feature (whose \
         auto builder sits in front of it). {CONNECTIONS} clients on \
         {MULTIPLEXED_CONNECTIONS} h2c connections, {WARM_UP:?} of warm-up, then {MEASURED:?} \
         measured.\n"
    );
    compare(rounds, "HTTP/2", GRACEFUL, HTTP2_BASELINE, Protocol::Http2);
}

/// The gRPC section.
pub fn run_grpc(rounds: Rounds) {
    println!("## gRPC: `graceful::tonic::serve` against tonic's own server\n");
    println!(
        "The health service's unary `Check`: `grpc_graceful` (`graceful::tonic::serve` and \
         `graceful::tonic::health`) against `grpc_tonic` (tonic's `Server` and \
         `tonic_health`). {CONNECTIONS} tonic clients on {MULTIPLEXED_CONNECTIONS} channels, \
         {WARM_UP:?} of warm-up, then {MEASURED:?} measured.\n"
    );
    compare(
        rounds,
        "gRPC unary",
        GRPC_GRACEFUL,
        GRPC_BASELINE,
        Protocol::Grpc,
    );
}

/// Interleaved rounds of `graceful` then `baseline` under the same load; prints the rows.
///
/// `GRACEFUL_BENCH_BASELINE` names another binary to take the baseline's place: the same
/// service built from another commit, to measure a change rather than graceful.
fn compare(rounds: Rounds, name: &str, graceful: &str, baseline: &str, protocol: Protocol) {
    let replaced = std::env::var("GRACEFUL_BENCH_BASELINE").ok();
    let baseline = replaced.as_deref().unwrap_or(baseline);
    let mut throughput = Pair::default();
    let mut p99 = Pair::default();
    for round in 0..rounds.0 {
        // Each goes first in every other round: the first of a pair measured lower, two
        // copies of one binary included (0.954x over 7 rounds), whatever the binary.
        let (ours, theirs) = if round % 2 == 0 {
            let ours = serve_and_load(graceful, protocol);
            (ours, serve_and_load(baseline, protocol))
        } else {
            let theirs = serve_and_load(baseline, protocol);
            (serve_and_load(graceful, protocol), theirs)
        };
        throughput.graceful.push(ours.requests_per_second);
        throughput.baseline.push(theirs.requests_per_second);
        p99.graceful.push(ours.p99_micros);
        p99.baseline.push(theirs.p99_micros);
    }
    println!("{PAIR_HEADER}");
    println!(
        "{}",
        throughput.row_floor(&format!("{name}: requests per second"), 0, 0.97)
    );
    println!(
        "{}\n",
        p99.row(&format!("{name}: p99 latency (µs)"), 0, 1.0 / 0.97)
    );
}

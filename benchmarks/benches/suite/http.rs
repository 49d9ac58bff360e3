//! HTTP: the same axum router served through `graceful::axum::serve` and through plain
//! `axum::serve`, loaded by a hyper client on loopback: requests per second and p99 latency.

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
const CONNECTIONS: usize = 32;
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

fn load(address: SocketAddr) -> Load {
    // The load generator gets one thread; the services their default runtime.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let measure_from = Instant::now() + WARM_UP;
        let end = measure_from + MEASURED;
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|_| tokio::spawn(connection(address, measure_from, end)))
            .collect();
        let mut latencies = Vec::new();
        for client in clients {
            latencies.extend(client.await.expect("client task"));
        }
        latencies.sort_unstable();
        let p99 = latencies[latencies.len() * 99 / 100];
        Load {
            requests_per_second: latencies.len() as f64 / MEASURED.as_secs_f64(),
            p99_micros: f64::from(p99),
        }
    })
}

fn serve_and_load(binary: &str) -> Load {
    let mut service = Service::start(binary, &[]);
    let address: SocketAddr = service.wait_for("ready").parse().expect("an address");
    let measured = load(address);
    service.terminate();
    service.wait();
    measured
}

pub fn run(rounds: Rounds) {
    println!("## HTTP: `graceful::axum::serve` against `axum::serve`\n");
    println!(
        "`http_graceful` and `http_axum` serve the same router (`GET /` → 12 bytes). A hyper \
         client on one thread keeps {CONNECTIONS} keep-alive connections busy on loopback: \
         {WARM_UP:?} of warm-up, then {MEASURED:?} measured. Higher requests per second is \
         better, so that ratio's target is a floor.\n"
    );
    let mut throughput = Pair::default();
    let mut p99 = Pair::default();
    for _ in 0..rounds.0 {
        let graceful = serve_and_load(GRACEFUL);
        let baseline = serve_and_load(BASELINE);
        throughput.graceful.push(graceful.requests_per_second);
        throughput.baseline.push(baseline.requests_per_second);
        p99.graceful.push(graceful.p99_micros);
        p99.baseline.push(baseline.p99_micros);
    }
    println!("{PAIR_HEADER}");
    println!("{}", throughput.row_floor("requests per second", 0, 0.97));
    println!("{}\n", p99.row("p99 latency (µs)", 0, 1.0 / 0.97));
}

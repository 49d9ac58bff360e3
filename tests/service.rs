//! The example service (`examples/service/`) driven as its users drive it: a real process, a
//! real HTTP client on loopback, a real SQLite file, real signals. Nothing accepted is lost:
//! requests in flight complete, jobs run exactly once across restarts, audit rows match the
//! requests served.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::ChildStdout;

const SOON: Duration = Duration::from_secs(30);

#[path = "support/example.rs"]
mod example;
use example::{example, scratch};

struct Service {
    child: tokio::process::Child,
    addr: String,
    /// Every line it has logged so far.
    logged: Arc<std::sync::Mutex<Vec<String>>>,
    _logs: tokio::task::JoinHandle<()>,
}

impl Service {
    async fn start(dir: &Path, env: &[(&str, &str)]) -> Service {
        let mut child = tokio::process::Command::from(example::command(dir))
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the example service");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let addr = tokio::time::timeout(SOON, async {
            while let Some(line) = lines.next_line().await.expect("read the log") {
                if let Some(at) = line.find("listening on http://") {
                    let rest = &line[at + "listening on http://".len()..];
                    return rest.split_whitespace().next().expect("address").to_owned();
                }
            }
            panic!("the service exited before listening")
        })
        .await
        .expect("the service listens within 30 s");
        let logged = Arc::new(std::sync::Mutex::new(Vec::new()));
        let logs = tokio::spawn(drain(lines, logged.clone()));
        Service {
            child,
            addr,
            logged,
            _logs: logs,
        }
    }

    fn signal(&self, signal: i32) {
        let pid = self.child.id().expect("running") as libc::pid_t;
        // SAFETY: kill(2) on a child we own, with a valid signal number.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    async fn exit(self) -> (Option<i32>, Duration) {
        let (code, elapsed, _) = self.exit_logged().await;
        (code, elapsed)
    }

    /// [`exit`](Self::exit), with every line the service logged.
    async fn exit_logged(mut self) -> (Option<i32>, Duration, Vec<String>) {
        let started = Instant::now();
        let status = tokio::time::timeout(SOON, self.child.wait())
            .await
            .expect("the service exits within 30 s")
            .expect("wait");
        let elapsed = started.elapsed();
        // The last lines are read once stdout closes.
        let _ = tokio::time::timeout(SOON, self._logs).await;
        let logged = std::mem::take(&mut *self.logged.lock().unwrap());
        (status.code(), elapsed, logged)
    }
}

async fn drain(
    mut lines: tokio::io::Lines<BufReader<ChildStdout>>,
    logged: Arc<std::sync::Mutex<Vec<String>>>,
) {
    while let Ok(Some(line)) = lines.next_line().await {
        println!("service: {line}");
        logged.lock().unwrap().push(line);
    }
}

/// What became of one request.
#[derive(Debug)]
enum Outcome {
    /// A complete response: status, whether the server closes the connection, body.
    Answered(StatusCode, bool, Bytes),
    /// Never accepted: connection refused, or closed before the request was read.
    NotAccepted,
    /// Anything else (a reset or truncated response): must never happen.
    Broken(String),
}

/// Whether the connection was reset under `error`.
fn is_reset(error: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionReset;
        }
        source = cause.source();
    }
    false
}

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Connection {
    async fn open(addr: &str) -> Option<Connection> {
        let stream = TcpStream::connect(addr).await.ok()?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        tokio::spawn(connection);
        Some(Connection { sender })
    }

    async fn send(&mut self, method: &str, path: &str, body: Option<&str>) -> Outcome {
        if self.sender.ready().await.is_err() {
            return Outcome::NotAccepted;
        }
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "test");
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default().to_owned())))
            .expect("request");
        let response = match self.sender.send_request(request).await {
            Ok(response) => response,
            // Closed before any byte of a response: the server never took the request. A reset
            // while the request is written is that too: a socket closed with the request still
            // unread in it resets, while one that had read the request would have answered it.
            Err(error)
                if error.is_incomplete_message() || error.is_canceled() || is_reset(&error) =>
            {
                return Outcome::NotAccepted;
            }
            Err(error) => return Outcome::Broken(format!("{error:?}")),
        };
        let status = response.status();
        let closing = response
            .headers()
            .get("connection")
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
        match response.into_body().collect().await {
            Ok(body) => Outcome::Answered(status, closing, body.to_bytes()),
            Err(error) => Outcome::Broken(format!("truncated body: {error}")),
        }
    }
}

/// A GET on a new connection: its status, or `refused`.
/// An HTTP/2 (h2c) connection to `addr`: its sender, and its task (which ends when the
/// connection does).
async fn http2(
    addr: &str,
) -> (
    hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    tokio::task::JoinHandle<Result<(), hyper::Error>>,
) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(stream),
    )
    .await
    .expect("an HTTP/2 connection");
    (sender, tokio::spawn(connection))
}

/// `GET path`, as both protocols send it.
fn get(path: &str) -> Request<Full<Bytes>> {
    Request::get(format!("http://test{path}"))
        .header("host", "test")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

async fn probe(addr: &str, path: &str) -> String {
    match Connection::open(addr).await {
        None => "refused".to_owned(),
        Some(mut connection) => match connection.send("GET", path, None).await {
            Outcome::Answered(status, _, _) => status.as_u16().to_string(),
            other => format!("{other:?}"),
        },
    }
}

async fn get_json(addr: &str, path: &str) -> Value {
    let mut connection = Connection::open(addr).await.expect("connect");
    match connection.send("GET", path, None).await {
        Outcome::Answered(status, _, body) if status.is_success() => {
            serde_json::from_slice(&body).expect("json")
        }
        other => panic!("GET {path}: {other:?}"),
    }
}

async fn post_job(addr: &str, duration_ms: u64) -> i64 {
    let mut connection = Connection::open(addr).await.expect("connect");
    let body = format!("{{\"duration_ms\": {duration_ms}}}");
    match connection.send("POST", "/jobs", Some(&body)).await {
        Outcome::Answered(StatusCode::CREATED, _, body) => {
            let json: Value = serde_json::from_slice(&body).expect("json");
            json["id"].as_i64().expect("id")
        }
        other => panic!("POST /jobs: {other:?}"),
    }
}

async fn wait_for_stats(addr: &str, what: &str, until: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + SOON;
    loop {
        let stats = get_json(addr, "/stats").await;
        if until(&stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "no {what} within 30 s: {stats}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(Default)]
struct Tally {
    /// Complete answers from the business endpoints: each must be one audit row.
    answered: AtomicUsize,
    /// Connections refused or closed before a request was read: expected once the listener
    /// closes, and reported when an assertion fails.
    /// Responses that carried `Connection: close` (in flight when the server stopped).
    closed_by_server: AtomicUsize,
    not_accepted: AtomicUsize,
    broken: std::sync::Mutex<Vec<String>>,
}

/// One client: requests on a keep-alive connection, a new one when the server asks, until the
/// server refuses connections or `stop` is set.
async fn client(addr: String, id: usize, tally: Arc<Tally>, stop: Arc<AtomicBool>) {
    let mut round = 0u64;
    'connections: while !stop.load(Ordering::Relaxed) {
        let Some(mut connection) = Connection::open(&addr).await else {
            tally.not_accepted.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        while !stop.load(Ordering::Relaxed) {
            round += 1;
            let (method, path, body) = match (id + round as usize) % 3 {
                0 => (
                    "GET",
                    format!("/slow?ms={}", 100 + (id as u64 * 37 + round * 11) % 400),
                    None,
                ),
                1 => ("POST", "/jobs".to_owned(), Some(r#"{"duration_ms": 50}"#)),
                _ => ("GET", format!("/jobs/{}", 1 + round % 5), None),
            };
            match connection.send(method, &path, body).await {
                Outcome::Answered(status, closing, _) => {
                    if status.is_success() || status == StatusCode::NOT_FOUND {
                        tally.answered.fetch_add(1, Ordering::Relaxed);
                    } else {
                        tally
                            .broken
                            .lock()
                            .unwrap()
                            .push(format!("{method} {path}: {status}"));
                    }
                    if closing {
                        tally.closed_by_server.fetch_add(1, Ordering::Relaxed);
                        continue 'connections;
                    }
                }
                Outcome::NotAccepted => {
                    tally.not_accepted.fetch_add(1, Ordering::Relaxed);
                    continue 'connections;
                }
                Outcome::Broken(error) => {
                    tally
                        .broken
                        .lock()
                        .unwrap()
                        .push(format!("{method} {path}: {error}"));
                    continue 'connections;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_request_and_readiness_fails_before_the_listener_closes() {
    let dir = scratch("load");
    let service = Service::start(&dir, &[("GRACEFUL_DRAIN_DELAY", "1s")]).await;
    let addr = service.addr.clone();

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..16)
        .map(|id| tokio::spawn(client(addr.clone(), id, tally.clone(), stop.clone())))
        .collect();
    // Readiness, probed on a new connection every 20 ms, as a load balancer would.
    let probe = {
        let (addr, stop) = (addr.clone(), stop.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                // While not ready, the process is still live: `/livez` stays 200.
                let observed = match probe(&addr, "/readyz").await.as_str() {
                    "503" => format!("503, livez {}", probe(&addr, "/livez").await),
                    other => other.to_owned(),
                };
                if seen.last() != Some(&observed) {
                    seen.push(observed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen
        })
    };

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = tally.answered.load(Ordering::Relaxed);
    service.signal(libc::SIGTERM);
    let (code, elapsed) = service.exit().await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.expect("client");
    }
    let readiness = probe.await.expect("probe");

    assert_eq!(code, Some(0), "a clean drain exits 0");
    assert!(
        elapsed < Duration::from_secs(15),
        "exit took {elapsed:?}, beyond the 15 s deadline"
    );
    let broken = tally.broken.lock().unwrap().clone();
    assert!(
        broken.is_empty(),
        "requests accepted but not answered in full: {broken:?} ({} not accepted)",
        tally.not_accepted.load(Ordering::Relaxed)
    );
    let answered = tally.answered.load(Ordering::Relaxed);
    assert!(
        before > 30,
        "the load was too light to mean anything: {before} answers"
    );
    assert!(
        answered > before,
        "requests kept being served during the drain delay"
    );
    assert!(
        tally.closed_by_server.load(Ordering::Relaxed) > 0,
        "requests in flight at the cancel were answered with `Connection: close`"
    );
    // 200 while serving, then 503 from the signal on while still accepting, then refused.
    // (`seen` only records changes.)
    assert_eq!(
        readiness.first().map(String::as_str),
        Some("200"),
        "{readiness:?}"
    );
    let unready = readiness
        .iter()
        .position(|seen| seen.starts_with("503"))
        .unwrap_or_else(|| panic!("never 503: {readiness:?}"));
    // Live while not ready (a refusal can only mean the listener closed between the two).
    assert!(
        readiness.contains(&"503, livez 200".to_owned()),
        "{readiness:?}"
    );
    assert!(
        readiness
            .iter()
            .filter_map(|seen| seen.strip_prefix("503, livez "))
            // Refused, or accepted in the instant of the cancel and closed unread: the
            // listener is closing, which is not a failed liveness.
            .all(|livez| livez == "200" || livez == "refused" || livez == "NotAccepted"),
        "{readiness:?}"
    );
    let refused = readiness
        .iter()
        .position(|seen| seen == "refused")
        .unwrap_or_else(|| panic!("never refused: {readiness:?}"));
    assert!(unready < refused, "{readiness:?}");
    assert!(
        !readiness[unready..].contains(&"200".to_owned()),
        "ready again: {readiness:?}"
    );

    // Every request served was audited, including those served during the drain: the audit
    // buffer was flushed before the pool closed. Checked from a second run (GET /stats is not
    // audited).
    let service = Service::start(&dir, &[]).await;
    let stats = get_json(&service.addr, "/stats").await;
    assert_eq!(
        stats["audit_rows"].as_u64(),
        Some(tally.answered.load(Ordering::Relaxed) as u64),
        "{stats}"
    );
    service.signal(libc::SIGTERM);
    assert_eq!(service.exit().await.0, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_taken_before_sigterm_finish_and_every_job_runs_exactly_once_across_a_restart() {
    let dir = scratch("jobs");
    let service = Service::start(&dir, &[("WORKERS", "3")]).await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(post_job(&service.addr, 400).await);
    }
    wait_for_stats(&service.addr, "running jobs", |stats| {
        stats["running"].as_i64() > Some(0)
    })
    .await;
    service.signal(libc::SIGTERM);
    let (code, _) = service.exit().await;
    assert_eq!(code, Some(0));

    let service = Service::start(&dir, &[("WORKERS", "3")]).await;
    let stats = get_json(&service.addr, "/stats").await;
    assert!(
        stats["done"].as_i64() > Some(0),
        "the jobs taken finished before the exit: {stats}"
    );
    let stats = wait_for_stats(&service.addr, "all jobs done", |stats| {
        stats["done"].as_i64() == Some(12)
    })
    .await;
    assert_eq!(
        (stats["queued"].as_i64(), stats["running"].as_i64()),
        (Some(0), Some(0)),
        "{stats}"
    );
    for id in ids {
        let job = get_json(&service.addr, &format!("/jobs/{id}")).await;
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!(job["attempts"], 1, "run exactly once: {job}");
    }
    service.signal(libc::SIGTERM);
    assert_eq!(service.exit().await.0, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_running_when_the_process_is_killed_hard_runs_again_and_is_done_once() {
    let dir = scratch("kill");
    let service = Service::start(&dir, &[("WORKERS", "1")]).await;
    let id = post_job(&service.addr, 5_000).await;
    wait_for_stats(&service.addr, "the job running", |stats| {
        stats["running"].as_i64() == Some(1)
    })
    .await;
    service.signal(libc::SIGKILL);
    let (code, _) = service.exit().await;
    assert_eq!(code, None, "killed by a signal");

    let service = Service::start(&dir, &[("WORKERS", "1")]).await;
    let job = get_json(&service.addr, &format!("/jobs/{id}")).await;
    assert_ne!(job["status"], "done", "{job}");
    // Re-queued at start and taken again: the second start is its second attempt.
    wait_for_stats(&service.addr, "the job done", |stats| {
        stats["done"].as_i64() == Some(1)
    })
    .await;
    let job = get_json(&service.addr, &format!("/jobs/{id}")).await;
    assert_eq!(
        (job["status"].as_str(), job["attempts"].as_i64()),
        (Some("done"), Some(2)),
        "{job}"
    );
    service.signal(libc::SIGTERM);
    assert_eq!(service.exit().await.0, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_log_file_the_telemetry_resource_closes_last_and_the_file_gets_the_report() {
    let dir = scratch("log-file");
    let log = dir.join("service.log");
    let _ = std::fs::remove_file(&log);
    let mut child = tokio::process::Command::new(example())
        .env("ADDR", "127.0.0.1:0")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/service.db", dir.display()),
        )
        .env("LOG_FILE", &log)
        .env("LOG_FORMAT", "text")
        .env("RUST_LOG", "info")
        .env("GRACEFUL_TIMEOUT", "15s")
        .env_remove("GRACEFUL_DRAIN_DELAY")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the example service");
    // Serving once the file says where.
    let addr = tokio::time::timeout(SOON, async {
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(at) = text.find("listening on http://") {
                let rest = &text[at + "listening on http://".len()..];
                break rest.split_whitespace().next().expect("address").to_owned();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the service logs where it listens");
    assert_eq!(probe(&addr, "/livez").await, "200");
    let pid = child.id().expect("running") as libc::pid_t;
    // SAFETY: kill(2) on a child we own, with a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tokio::time::timeout(SOON, child.wait())
        .await
        .expect("the service exits")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
    let text = std::fs::read_to_string(&log).expect("the log file");
    for line in ["resource `database` closed in", "shutdown complete in"] {
        assert!(
            text.contains(line),
            "`{line}` is not in the log file:\n{text}"
        );
    }
}

/// A client that sends half a request head and then nothing (slowloris) cannot hold the drain:
/// at the cancel a connection with no request in progress is closed, so the exit stays clean.
/// A connection in the middle of a complete request is not touched (the request finishes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_request_head_cannot_hold_the_drain_or_make_the_exit_unclean() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = scratch("slowloris");
    let service = Service::start(&dir, &[("GRACEFUL_TIMEOUT", "20s")]).await;
    let mut slowloris = tokio::net::TcpStream::connect(&service.addr)
        .await
        .expect("connect");
    slowloris
        .write_all(b"GET /slow?ms=10 HTTP/1.1\r\nhost: test\r\nx-header: ")
        .await
        .expect("half a head");
    // A complete request, sent before the signal: whatever reached the server by the cancel is
    // served.
    let mut in_flight = tokio::net::TcpStream::connect(&service.addr)
        .await
        .expect("connect");
    in_flight
        .write_all(b"GET /slow?ms=1500 HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
        .await
        .expect("a whole request");
    // The server has both connections once a request on a third, sent after them, has been
    // answered.
    assert_eq!(probe(&service.addr, "/livez").await, "200");
    let in_flight = tokio::spawn(async move {
        let mut response = String::new();
        in_flight.read_to_string(&mut response).await.expect("read");
        response[9..12].parse::<u16>().expect("a status line")
    });
    service.signal(libc::SIGTERM);
    let (code, took) = service.exit().await;
    assert_eq!(code, Some(0), "a clean exit, whatever the half head");
    assert!(
        took < Duration::from_secs(15),
        "closed at the cancel, not held to the deadline: {took:?}"
    );
    let mut rest = Vec::new();
    let read = slowloris.read_to_end(&mut rest).await;
    assert!(
        matches!(read, Ok(0)) || read.is_err(),
        "the half head got no answer, only the close: {:?}",
        String::from_utf8_lossy(&rest)
    );
    assert_eq!(
        in_flight.await.unwrap(),
        200,
        "the complete request finished"
    );
}

/// HTTP/2 by prior knowledge (h2c) on the same port: a stream in flight at SIGTERM finishes,
/// the client gets a GOAWAY at the cancel (a new stream on that connection is refused), the
/// connection then closes, and the exit is clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_streams_in_flight_finish_after_sigterm_and_the_client_gets_goaway() {
    let dir = scratch("http2");
    let service = Service::start(&dir, &[]).await;
    let (mut sender, connection) = http2(&service.addr).await;
    let ready = sender.send_request(get("/readyz")).await.expect("h2 works");
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.version(), hyper::Version::HTTP_2);

    let in_flight = tokio::spawn(sender.send_request(get("/slow?ms=1500")));
    // Streams reach the server in order: once a later one is answered, it has the slow one.
    tokio::task::yield_now().await;
    let livez = sender
        .send_request(get("/livez"))
        .await
        .expect("a later stream");
    assert_eq!(livez.status(), StatusCode::OK);
    service.signal(libc::SIGTERM);

    let slow = in_flight
        .await
        .unwrap()
        .expect("the stream in flight is answered");
    assert_eq!(slow.status(), StatusCode::OK);
    let body = slow
        .into_body()
        .collect()
        .await
        .expect("its whole body")
        .to_bytes();
    assert_eq!(&body[..], br#"{"slept_ms":1500}"#);
    // The GOAWAY came before the slow stream's end: no new stream on this connection.
    let refused = sender.send_request(get("/livez")).await;
    assert!(
        refused.is_err(),
        "a new stream after the GOAWAY: {refused:?}"
    );
    tokio::time::timeout(SOON, connection)
        .await
        .expect("the server closes the connection")
        .unwrap()
        .expect("closed cleanly, after the GOAWAY");
    let (code, _) = service.exit().await;
    assert_eq!(code, Some(0));
}

/// The example's gRPC API, as a client of it sees it (the code generated from its `.proto`).
mod pb {
    #![allow(clippy::all, clippy::pedantic, dead_code, unreachable_pub)]
    include!("../examples/service/grpc/jobs.v1.rs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_health_turns_not_serving_at_sigterm_calls_in_flight_complete_and_streams_end_with_unavailable()
 {
    use pb::jobs_client::JobsClient;
    use pb::{GetRequest, SlowRequest, SubmitRequest};
    use tonic_health::ServingStatus;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;

    let dir = scratch("grpc");
    let service = Service::start(&dir, &[("GRACEFUL_DRAIN_DELAY", "2s")]).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", service.addr))
        .unwrap()
        .connect()
        .await
        .expect("a gRPC connection, on the HTTP port");
    let mut health = HealthClient::new(channel.clone());
    let asking = |name: &str| HealthCheckRequest {
        service: name.to_owned(),
    };
    for name in ["", "jobs.v1.Jobs"] {
        let answer = health.check(asking(name)).await.expect("a health check");
        assert_eq!(
            answer.into_inner().status,
            ServingStatus::Serving as i32,
            "{name:?}"
        );
    }
    let mut watching = health
        .watch(asking(""))
        .await
        .expect("a health watch")
        .into_inner();
    let first = watching.message().await.expect("its first status").unwrap();
    assert_eq!(first.status, ServingStatus::Serving as i32);

    let mut jobs = JobsClient::new(channel.clone());
    let job = jobs
        .submit(SubmitRequest { duration_ms: 4000 })
        .await
        .expect("a job submitted")
        .into_inner();
    let mut job_watch = jobs
        .watch(GetRequest { id: job.id })
        .await
        .expect("a job watched")
        .into_inner();
    let job_watch = tokio::spawn(async move {
        loop {
            match job_watch.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the job's watch ended with OK, before the job was done"),
                Err(status) => return (status, Instant::now()),
            }
        }
    });
    let slow = tokio::spawn({
        let mut jobs = jobs.clone();
        async move { jobs.slow(SlowRequest { ms: 1500 }).await }
    });
    // Calls reach the server in order on one connection: once a later one is answered, the
    // slow one is in flight.
    tokio::task::yield_now().await;
    jobs.get(GetRequest { id: job.id })
        .await
        .expect("a later call");
    service.signal(libc::SIGTERM);

    let turned = watching.message().await.expect("the change").unwrap();
    let not_serving_at = Instant::now();
    assert_eq!(turned.status, ServingStatus::NotServing as i32);
    let answer = health.check(asking("jobs.v1.Jobs")).await.expect("a check");
    assert_eq!(answer.into_inner().status, ServingStatus::NotServing as i32);
    // Through the drain delay, calls are still served.
    jobs.get(GetRequest { id: job.id })
        .await
        .expect("a new call during the drain delay is served");
    let slow = slow.await.unwrap().expect("the call in flight completes");
    assert_eq!(slow.into_inner().slept_ms, 1500);
    // At the cancel, the job's watch ends with UNAVAILABLE (its job runs on), after the
    // health turned; the health watch ends as well.
    let (status, ended_at) = tokio::time::timeout(SOON, job_watch)
        .await
        .expect("the watch ends at the cancel")
        .unwrap();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(not_serving_at < ended_at);
    let health_end = tokio::time::timeout(SOON, watching.message())
        .await
        .unwrap();
    assert_eq!(
        health_end
            .expect_err("the health watch ends with a status")
            .code(),
        tonic::Code::Unavailable
    );
    let (code, _) = service.exit().await;
    assert_eq!(code, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_stream_still_open_at_the_deadline_is_cut_and_the_report_names_the_server() {
    let dir = scratch("http2-deadline");
    let service = Service::start(&dir, &[("GRACEFUL_TIMEOUT", "3s")]).await;
    let (mut sender, _connection) = http2(&service.addr).await;
    let endless = tokio::spawn(sender.send_request(get("/slow?ms=60000")));
    tokio::task::yield_now().await;
    let livez = sender
        .send_request(get("/livez"))
        .await
        .expect("a later stream");
    assert_eq!(livez.status(), StatusCode::OK);
    service.signal(libc::SIGTERM);
    let cut = tokio::time::timeout(SOON, endless)
        .await
        .expect("the stream ends by the deadline")
        .unwrap();
    assert!(cut.is_err(), "the 60 s stream was answered: {cut:?}");
    let (code, elapsed, logged) = service.exit_logged().await;
    assert_eq!(code, Some(1), "a stream was cut: the exit says so");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert!(
        logged.iter().any(
            |line| line.contains("still running at the deadline: aborted") && line.contains("http")
        ),
        "the report names the server: {logged:#?}"
    );
}

/// From the trigger, an HTTP/1.1 response tells its client to move (`Connection: close`),
/// while the server still serves: a request cannot cross a close the server announced. An
/// HTTP/2 connection keeps serving through the drain delay: its GOAWAY comes at the cancel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_the_drain_delay_http1_clients_are_told_to_move_and_everyone_is_served() {
    let dir = scratch("hints");
    let service = Service::start(&dir, &[("GRACEFUL_DRAIN_DELAY", "5s")]).await;
    // HTTP/1.1, keep-alive: no `Connection: close` before the trigger.
    let stream = TcpStream::connect(&service.addr).await.unwrap();
    let (mut h1, h1_connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let h1_connection = tokio::spawn(h1_connection);
    let before = h1.send_request(get("/livez")).await.unwrap();
    assert_eq!(before.status(), StatusCode::OK);
    assert!(before.headers().get("connection").is_none());
    let (mut h2, _h2_connection) = http2(&service.addr).await;
    let ready = h2.send_request(get("/livez")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    service.signal(libc::SIGTERM);
    let signalled = Instant::now();
    // Readiness fails: the trigger has come.
    loop {
        let readyz = h1.send_request(get("/readyz")).await.unwrap();
        if readyz.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(
                readyz.headers().get("connection").map(|v| v.as_bytes()),
                Some(&b"close"[..]),
                "an HTTP/1.1 response from the trigger on tells its client to move"
            );
            break;
        }
        assert!(h1.ready().await.is_ok(), "closed before the trigger");
    }
    // Its connection is then closed by the server, after that response.
    tokio::time::timeout(SOON, h1_connection)
        .await
        .expect("the HTTP/1.1 connection closes after its response")
        .unwrap()
        .expect("cleanly");
    // A new HTTP/1.1 connection is still served; the HTTP/2 one still takes new streams.
    let stream = TcpStream::connect(&service.addr).await.unwrap();
    let (mut again, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let served = again.send_request(get("/readyz")).await.expect("served");
    assert_eq!(served.status(), StatusCode::SERVICE_UNAVAILABLE);
    let served = h2
        .send_request(get("/livez"))
        .await
        .expect("a new stream is served");
    assert_eq!(served.status(), StatusCode::OK);
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "all of it within the 5 s drain delay ({:?})",
        signalled.elapsed()
    );
    let (code, _) = service.exit().await;
    assert_eq!(code, Some(0));
}

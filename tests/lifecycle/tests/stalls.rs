//! Clients that stop, and servers that are busy: the stalled-client bound lets go only of
//! connections whose every request waits on its client, never of one the server is still
//! working for; and the drain hints, HTTP/2 stream tasks, `ConnectInfo` and the header read
//! timeout, each against real clients (fixture: src/bin/stalls.rs). First written as an
//! adversarial review.
#![allow(dead_code)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{SOON, Service};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Bytes, Frame};

type ClientBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

fn start(env: &[(&str, &str)]) -> (Service, String) {
    let mut service = Service::start_with(env!("CARGO_BIN_EXE_stalls"), "", env);
    service.wait_for("listening ");
    let addr = service.events.last().unwrap()["listening ".len()..].to_owned();
    (service, addr)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn empty() -> ClientBody {
    http_body_util::Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

/// A body that sends `first`, then holds (its sender is returned).
fn held(
    first: &'static [u8],
) -> (
    tokio::sync::mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>,
    ClientBody,
) {
    let (chunks, mut body) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(4);
    chunks
        .try_send(Ok(Frame::data(Bytes::from_static(first))))
        .unwrap();
    let stream = futures_util::stream::poll_fn(move |cx| body.poll_recv(cx));
    (chunks, StreamBody::new(stream).boxed())
}

async fn h2(
    addr: &str,
    ping: Option<Duration>,
) -> hyper::client::conn::http2::SendRequest<ClientBody> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut builder =
        hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
    if let Some(every) = ping {
        builder
            .timer(hyper_util::rt::TokioTimer::new())
            .keep_alive_interval(every)
            .keep_alive_timeout(Duration::from_secs(30));
    }
    let (sender, connection) = builder
        .handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

fn report(name: &str, service: Service) -> (Option<i32>, Duration, String) {
    let (exit, elapsed) = service.wait(Duration::from_secs(60));
    eprintln!(
        "{name}: exit {:?} after {elapsed:?}\nevents {:?}\nstderr:\n{}",
        exit.code, exit.events, exit.stderr
    );
    (exit.code, elapsed, exit.stderr)
}

/// A: HTTP/1.1, a client reading a 16 MiB response steadily at ~200 KB/s after the cancel.
/// Contract: "A response still being written goes on to its end"; "a client that trickles
/// bytes keeps its request, as a slow link would, until the deadline".
#[test]
fn slow_but_steady_reader_is_not_cut() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "40s")]);
    let mut client = TcpStream::connect(&addr).unwrap();
    client.set_read_timeout(Some(SOON)).unwrap();
    client
        .write_all(b"GET /big HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        .unwrap();
    let chunk: usize = std::env::var("STALLS_CHUNK").map_or(16 * 1024, |v| v.parse().unwrap());
    let pause: u64 = std::env::var("STALLS_SLEEP_MS").map_or(80, |v| v.parse().unwrap());
    let mut buffer = vec![0; 16 * 1024];
    let mut total = 0;
    while total < 64 * 1024 {
        total += client.read(&mut buffer).unwrap();
    }
    let mut buffer = vec![0; chunk];
    service.signal(libc::SIGTERM);
    let signalled = Instant::now();
    let outcome = loop {
        match client.read(&mut buffer) {
            Ok(0) => break "EOF".to_owned(),
            Ok(n) => total += n,
            Err(e) => break format!("error {e}"),
        }
        if signalled.elapsed() > Duration::from_secs(12) {
            break "still reading after 12 s (not cut)".to_owned();
        }
        std::thread::sleep(Duration::from_millis(pause));
    };
    eprintln!(
        "A: {outcome} after {:?}, {total} bytes read ({:.0} KB/s)",
        signalled.elapsed(),
        (total - 64 * 1024) as f64 / 1024.0 / signalled.elapsed().as_secs_f64()
    );
    drop(client);
    let _ = report("A", service);
    assert!(
        outcome.starts_with("still reading") || total > 16 << 20,
        "a steady reader was cut: {outcome} at {total}"
    );
}

/// B: HTTP/2, a stream whose handler answered at once and left a task reading the body the
/// client holds open, and a stream whose handler computes for 6 s. The busy one must finish.
#[test]
fn h2_busy_stream_next_to_a_detached_body_reader() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "30s")]);
    let rt = runtime();
    let result = rt.block_on(async {
        let mut sender = h2(&addr, None).await;
        let (_hold, body) = held(b"first");
        let detach = hyper::Request::post("http://t/detach").body(body).unwrap();
        let response = sender.send_request(detach).await.unwrap();
        let text = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&text[..], b"accepted");
        let slow = hyper::Request::get("http://t/slow").body(empty()).unwrap();
        let slow = tokio::spawn(sender.send_request(slow));
        tokio::time::sleep(Duration::from_millis(300)).await;
        service.signal(libc::SIGTERM);
        let started = Instant::now();
        let result = match slow.await.unwrap() {
            Ok(response) => match response.into_body().collect().await {
                Ok(body) => format!("answered {:?}", body.to_bytes()),
                Err(e) => format!("body error {e}"),
            },
            Err(e) => format!("error {e:?}"),
        };
        eprintln!("B: /slow {result} after {:?}", started.elapsed());
        drop(_hold);
        result
    });
    let _ = report("B", service);
    assert!(result.starts_with("answered"), "busy stream cut: {result}");
}

/// C: HTTP/2, a duplex stream (request body held, response unread: counted twice) and a
/// stream whose handler computes for 6 s.
#[test]
fn h2_busy_stream_next_to_a_stalled_duplex() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "30s")]);
    let rt = runtime();
    let result = rt.block_on(async {
        let mut sender = h2(&addr, None).await;
        let (_hold, body) = held(b"first");
        let duplex = hyper::Request::post("http://t/duplex").body(body).unwrap();
        let mut response = sender.send_request(duplex).await.unwrap().into_body();
        response.frame().await.unwrap().unwrap();
        let slow = hyper::Request::get("http://t/slow").body(empty()).unwrap();
        let slow = tokio::spawn(sender.send_request(slow));
        tokio::time::sleep(Duration::from_millis(300)).await;
        service.signal(libc::SIGTERM);
        let started = Instant::now();
        let result = match slow.await.unwrap() {
            Ok(response) => match response.into_body().collect().await {
                Ok(body) => format!("answered {:?}", body.to_bytes()),
                Err(e) => format!("body error {e}"),
            },
            Err(e) => format!("error {e:?}"),
        };
        eprintln!("C: /slow {result} after {:?}", started.elapsed());
        drop((_hold, response));
        result
    });
    let _ = report("C", service);
    assert!(result.starts_with("answered"), "busy stream cut: {result}");
}

/// D: HTTP/1.1 duplex whose client stops both sending and reading. Contract: closed within
/// a few seconds of the cancel, exit 0.
#[test]
fn h1_stalled_duplex_is_let_go() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "10s")]);
    let mut client = TcpStream::connect(&addr).unwrap();
    client
        .write_all(b"POST /duplex HTTP/1.1\r\nhost: t\r\ncontent-length: 1000\r\n\r\n0123456789")
        .unwrap();
    let mut first = [0; 1024];
    client.read_exact(&mut first).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    service.signal(libc::SIGTERM);
    let (code, elapsed, _) = report("D", service);
    drop(client);
    assert!(
        code == Some(0) && elapsed < Duration::from_secs(7),
        "{code:?} {elapsed:?}"
    );
}

/// E: HTTP/2, a request body held by a client that sends a PING every 300 ms. A documented
/// limit: its PINGs are bytes moving, so the connection is not let go as stalled; the deadline
/// cuts it, and the exit says so.
#[test]
fn h2_pings_keep_a_stalled_body_until_the_deadline() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "10s")]);
    let rt = runtime();
    let keep = rt.block_on(async {
        let mut sender = h2(&addr, Some(Duration::from_millis(300))).await;
        let (hold, body) = held(b"first");
        let echo = hyper::Request::post("http://t/echo").body(body).unwrap();
        let mut response = sender.send_request(echo).await.unwrap().into_body();
        response.frame().await.unwrap().unwrap();
        (sender, hold, response)
    });
    service.signal(libc::SIGTERM);
    let (code, _, _) = report("E", service);
    drop(keep);
    assert_eq!(code, Some(1), "cut at the deadline, and said so");
}

fn live(addr: &str) -> String {
    let mut client = TcpStream::connect(addr).unwrap();
    client
        .write_all(b"GET /live HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    client.read_to_string(&mut text).unwrap();
    text.rsplit("\r\n\r\n").next().unwrap().to_owned()
}

/// F: HTTP/2 stream tasks in several states (handler pending, body pending, response
/// window closed, an idle SSE) end when the client's connection goes, before any shutdown.
#[test]
fn h2_stream_tasks_end_when_the_client_goes() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "10s")]);
    let rt = runtime();
    rt.block_on(async {
        let mut sender = h2(&addr, None).await;
        let never = tokio::spawn(
            sender.send_request(hyper::Request::get("http://t/never").body(empty()).unwrap()),
        );
        let sse = tokio::spawn(
            sender.send_request(hyper::Request::get("http://t/sse").body(empty()).unwrap()),
        );
        let (_hold, body) = held(b"first");
        let slowread = tokio::spawn(
            sender.send_request(
                hyper::Request::post("http://t/slowread")
                    .body(body)
                    .unwrap(),
            ),
        );
        let (_hold2, body) = held(b"first");
        let duplex = sender
            .send_request(hyper::Request::post("http://t/duplex").body(body).unwrap())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        eprintln!("F: live while connected: {}", live(&addr));
        drop((never, sse, slowread, duplex, _hold, _hold2, sender));
    });
    drop(rt); // the client's connection task and socket go
    let started = Instant::now();
    let mut now = live(&addr);
    while now != "0" && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(100));
        now = live(&addr);
    }
    eprintln!(
        "F: live after the client went: {now} ({:?})",
        started.elapsed()
    );
    service.signal(libc::SIGTERM);
    let _ = report("F", service);
    assert_eq!(now, "0");
}

/// G: an SSE feed yielding every 3 s, on HTTP/1.1 and on HTTP/2 next to a stalled stream.
#[test]
fn slow_sse_runs_to_its_end() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "30s")]);
    let rt = runtime();
    let (h1, h2r) = rt.block_on(async {
        let h1 = tokio::task::spawn_blocking({
            let addr = addr.clone();
            move || {
                let (r, text) = get_once(&addr, "/sse");
                format!("{r:?} {} events", text.matches("data: ").count())
            }
        });
        let mut sender = h2(&addr, None).await;
        let (_hold, body) = held(b"first");
        let echo = sender
            .send_request(hyper::Request::post("http://t/echo").body(body).unwrap())
            .await
            .unwrap();
        let sse = sender
            .send_request(hyper::Request::get("http://t/sse").body(empty()).unwrap())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        service.signal(libc::SIGTERM);
        let h2r = match sse.into_body().collect().await {
            Ok(body) => format!(
                "ok {} events",
                String::from_utf8_lossy(&body.to_bytes())
                    .matches("data: ")
                    .count()
            ),
            Err(e) => format!("error {e}"),
        };
        drop((_hold, echo));
        (h1.await.unwrap(), h2r)
    });
    eprintln!("G: h1 {h1}; h2 {h2r}");
    let _ = report("G", service);
    assert!(
        h1.ends_with(" 4 events") && h2r == "ok 4 events",
        "{h1} / {h2r}"
    );
}

/// H: HTTP/1.1, a handler that reads its body slowly on purpose (3 s of work per chunk),
/// from a client that sends a chunk every 4.6 s (it waits 1.6 s on the client each time).
#[test]
fn slow_body_reader_and_slowish_client() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "40s")]);
    let mut client = TcpStream::connect(&addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    client
        .write_all(b"POST /slowread HTTP/1.1\r\nhost: t\r\ncontent-length: 4000\r\nconnection: close\r\n\r\n")
        .unwrap();
    client.write_all(&[b'a'; 1000]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    service.signal(libc::SIGTERM);
    let mut sent = 1;
    let mut error = None;
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(4600));
        if let Err(e) = client.write_all(&[b'a'; 1000]) {
            error = Some(e);
            break;
        }
        sent += 1;
    }
    let mut text = String::new();
    let r = client.read_to_string(&mut text);
    eprintln!("H: sent {sent} chunks, write error {error:?}, read {r:?}: {text:?}");
    let _ = report("H", service);
    assert!(text.ends_with("4000"), "{text:?}");
}

/// I: pipelined requests sent after the trigger, during the drain delay. A documented limit:
/// the first is answered with `Connection: close`, and the others, unanswered, are the
/// client's to send again (RFC 9112 §9.3.2), as with any server that closes.
#[test]
fn pipelined_requests_after_the_trigger_get_one_answer_and_a_close() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "10s"), ("GRACEFUL_DRAIN_DELAY", "3s")]);
    let mut client = TcpStream::connect(&addr).unwrap();
    client.set_read_timeout(Some(SOON)).unwrap();
    // Before: three pipelined requests all answered.
    client
        .write_all(&b"GET / HTTP/1.1\r\nhost: t\r\n\r\n".repeat(3))
        .unwrap();
    let mut answered = Vec::new();
    let mut buffer = vec![0; 64 * 1024];
    while String::from_utf8_lossy(&answered)
        .matches("HTTP/1.1 200")
        .count()
        < 3
    {
        let n = client
            .read(&mut buffer)
            .expect("three answers before the signal");
        assert!(n > 0, "closed before three answers");
        answered.extend_from_slice(&buffer[..n]);
    }
    let before = String::from_utf8_lossy(&answered)
        .matches("HTTP/1.1 200")
        .count();
    service.signal(libc::SIGTERM);
    wait_not_ready(&addr);
    client
        .write_all(&b"GET / HTTP/1.1\r\nhost: t\r\n\r\n".repeat(3))
        .unwrap();
    let mut text = Vec::new();
    let r = client.read_to_end(&mut text);
    let text = String::from_utf8_lossy(&text);
    let after = text.matches("HTTP/1.1 200").count();
    eprintln!("I: before {before}/3 answered; after the trigger {after}/3 answered, {r:?}");
    let (code, _, _) = report("I", service);
    assert_eq!(after, 1, "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    assert_eq!(code, Some(0));
}

/// `GET path` on a connection of its own, closed after the answer: how the read ended, and
/// what it read.
fn get_once(addr: &str, path: &str) -> (std::io::Result<usize>, String) {
    let mut client = TcpStream::connect(addr).unwrap();
    client.set_read_timeout(Some(SOON)).unwrap();
    client
        .write_all(
            format!("GET {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
    let mut text = String::new();
    let read = client.read_to_string(&mut text);
    (read, text)
}

/// Waits until the service has heard its signal: `/readyz` answers 503 on a new connection.
fn wait_not_ready(addr: &str) {
    let deadline = Instant::now() + SOON;
    loop {
        let (_, answer) = get_once(addr, "/readyz");
        if answer.starts_with("HTTP/1.1 503") {
            return;
        }
        assert!(Instant::now() < deadline, "still ready: {answer:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// J: ConnectInfo is the client's address, on HTTP/1.1 and HTTP/2.
#[test]
fn connect_info() {
    let (service, addr) = start(&[]);
    let mut client = TcpStream::connect(&addr).unwrap();
    let local = client.local_addr().unwrap().to_string();
    client
        .write_all(b"GET /ci HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    client.read_to_string(&mut text).unwrap();
    assert!(text.ends_with(&local), "{text} vs {local}");
    let rt = runtime();
    rt.block_on(async {
        let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let local = stream.local_addr().unwrap().to_string();
        let (mut sender, connection) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(stream),
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        for _ in 0..2 {
            let r = sender
                .send_request(hyper::Request::get("http://t/ci").body(empty()).unwrap())
                .await
                .unwrap();
            let body = r.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(String::from_utf8_lossy(&body), local);
        }
    });
    service.signal(libc::SIGTERM);
    let _ = report("J", service);
}

/// K: header_read_timeout of 1 s: a request computing for 6 s on a keep-alive connection,
/// then the same across the cancel.
#[test]
fn header_read_timeout_and_a_long_request() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "30s"), ("HRT_MS", "1000")]);
    let mut client = TcpStream::connect(&addr).unwrap();
    client.set_read_timeout(Some(SOON)).unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n")
        .unwrap();
    let mut buffer = vec![0; 4096];
    let n = client.read(&mut buffer).unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).contains("200"));
    client
        .write_all(b"GET /slow HTTP/1.1\r\nhost: t\r\n\r\n")
        .unwrap();
    let n = client.read(&mut buffer);
    let first = n.map(|n| String::from_utf8_lossy(&buffer[..n]).into_owned());
    eprintln!("K: keep-alive /slow with hrt 1s: {first:?}");
    // Across the cancel.
    let mut client = TcpStream::connect(&addr).unwrap();
    client.set_read_timeout(Some(SOON)).unwrap();
    client
        .write_all(b"GET /slow HTTP/1.1\r\nhost: t\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    service.signal(libc::SIGTERM);
    let mut text = String::new();
    let r = client.read_to_string(&mut text);
    eprintln!("K: across the cancel: {r:?} {text:?}");
    let _ = report("K", service);
    assert!(first.unwrap().ends_with("done") && text.ends_with("done"));
}

/// D2: as D, with the whole (10-byte) body sent: only the response waits on the client.
#[test]
fn h1_unread_duplex_with_a_finished_body_is_let_go() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "10s")]);
    let mut client = TcpStream::connect(&addr).unwrap();
    client
        .write_all(b"POST /duplex HTTP/1.1\r\nhost: t\r\ncontent-length: 10\r\n\r\n0123456789")
        .unwrap();
    let mut first = [0; 1024];
    client.read_exact(&mut first).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    service.signal(libc::SIGTERM);
    let (code, elapsed, _) = report("D2", service);
    drop(client);
    assert!(
        code == Some(0) && elapsed < Duration::from_secs(7),
        "{code:?} {elapsed:?}"
    );
}

/// E2: as E without the PINGs: the same stalled body is let go (the PINGs are what hold it).
#[test]
fn h2_stalled_body_without_pings_is_let_go() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "10s")]);
    let rt = runtime();
    let keep = rt.block_on(async {
        let mut sender = h2(&addr, None).await;
        let (hold, body) = held(b"first");
        let echo = hyper::Request::post("http://t/echo").body(body).unwrap();
        let mut response = sender.send_request(echo).await.unwrap().into_body();
        response.frame().await.unwrap().unwrap();
        (sender, hold, response)
    });
    service.signal(libc::SIGTERM);
    let (code, elapsed, _) = report("E2", service);
    drop(keep);
    assert!(
        code == Some(0) && elapsed < Duration::from_secs(7),
        "{code:?} {elapsed:?}"
    );
}

/// L: HTTP/1.1 keep-alive clients under load through the trigger, the drain delay and the
/// cancel: a request written and never answered is lost (a refused connect is not). A fresh
/// connection reset before any byte of an answer is not lost either: at the cancel, one that
/// completed its handshake in the kernel's backlog between the last accept and the listener's
/// close is reset by the kernel, as with any server that stops listening (Go's `Shutdown`
/// too); the server never had it, and its request can be sent again elsewhere.
#[test]
fn keep_alive_load_through_the_drain() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "10s"), ("GRACEFUL_DRAIN_DELAY", "2s")]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let addr = addr.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let (mut ok, mut lost, mut refused, mut closes) = (0, 0, 0, 0);
                let mut reset = 0;
                let mut conn: Option<TcpStream> = None;
                // Answers on the connection in use: none yet on a fresh one.
                let mut answers = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let c = match conn.as_mut() {
                        Some(c) => c,
                        None => match TcpStream::connect(&addr) {
                            Ok(c) => {
                                c.set_read_timeout(Some(SOON)).unwrap();
                                answers = 0;
                                conn.insert(c)
                            }
                            Err(_) => {
                                refused += 1;
                                std::thread::sleep(Duration::from_millis(5));
                                continue;
                            }
                        },
                    };
                    if c.write_all(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n").is_err() {
                        lost += 1;
                        conn = None;
                        continue;
                    }
                    let mut buf = [0u8; 1024];
                    let mut got = Vec::new();
                    let answered = loop {
                        match c.read(&mut buf) {
                            Ok(0) | Err(_) => break false,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                        if got.ends_with(b"ok") {
                            break true;
                        }
                    };
                    if !answered {
                        match answers == 0 && got.is_empty() {
                            true => reset += 1,
                            false => lost += 1,
                        }
                        conn = None;
                        continue;
                    }
                    ok += 1;
                    answers += 1;
                    if String::from_utf8_lossy(&got)
                        .to_ascii_lowercase()
                        .contains("connection: close")
                    {
                        closes += 1;
                        conn = None;
                    }
                }
                (ok, lost, refused, closes, reset)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    service.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let totals: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    eprintln!("L: (ok, lost, refused, closes, reset fresh) per worker: {totals:?}");
    let _ = report("L", service);
    assert!(totals.iter().all(|t| t.1 == 0), "{totals:?}");
}

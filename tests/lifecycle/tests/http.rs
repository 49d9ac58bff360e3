//! `graceful::axum::serve` at the cancel, against clients on loopback: what is still being
//! written goes on to its end, and what a client leaves behind is let go.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{SOON, Service};

fn address(service: &mut Service) -> String {
    service.wait_for("listening ");
    service.events.last().unwrap()["listening ".len()..].to_owned()
}

/// A response whose body has left the router but not the server (16 MiB to a client reading
/// about 8 MB/s) is written in full after the cancel: the connection is not idle while it
/// still writes. (It was cut a second after the cancel in a first version of the slowloris
/// bound.)
#[test]
fn a_response_still_being_written_at_the_cancel_is_written_in_full() {
    let mut service = Service::start(env!("CARGO_BIN_EXE_download"), "");
    let addr = address(&mut service);
    let mut client = TcpStream::connect(&addr).unwrap();
    client.set_read_timeout(Some(SOON)).unwrap();
    client
        .write_all(b"GET /big HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut total = 0usize;
    let mut buffer = vec![0; 64 * 1024];
    let mut signalled = false;
    loop {
        match client.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => total += read,
            Err(error) => panic!("cut after {total} bytes: {error}"),
        }
        if !signalled && total > 1 << 20 {
            service.signal(libc::SIGTERM);
            signalled = true;
        }
        std::thread::sleep(Duration::from_millis(8));
    }
    assert!(
        signalled,
        "the response ended before the signal: {total} bytes"
    );
    assert!(
        total > 16 << 20,
        "cut at {total} of {} body bytes",
        16 << 20
    );
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
}

/// A client that sends one byte of a request and closes leaves nothing behind, whatever the
/// byte: the server reads its first bytes (to tell HTTP/2 from HTTP/1.1) and sees the end.
/// (Peeking at them instead kept each such socket open, and polled it, until the cancel.)
#[cfg(target_os = "linux")]
#[test]
fn a_client_that_sends_a_byte_and_goes_leaves_no_socket_behind() {
    let mut service = Service::start(env!("CARGO_BIN_EXE_download"), "");
    let addr = address(&mut service);
    let descriptors = || {
        std::fs::read_dir(format!("/proc/{}/fd", service.pid()))
            .unwrap()
            .count()
    };
    let before = descriptors();
    for byte in [b"P", b"G"] {
        for _ in 0..200 {
            let mut client = TcpStream::connect(&addr).unwrap();
            client.write_all(byte).unwrap();
        }
    }
    // Something that must happen: poll for it, with a generous bound.
    let started = std::time::Instant::now();
    while descriptors() > before + 10 {
        assert!(
            started.elapsed() < SOON,
            "{} descriptors open, {before} before the clients",
            descriptors()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    service.signal(libc::SIGTERM);
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
}

/// The drain is the deadline's, the report's `http` task is clean, and the exit is 0: what a
/// client that stops cannot change.
fn exits_clean_long_before_the_deadline(service: Service) {
    let (exit, elapsed) = service.wait(SOON);
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
    // The fixture's timeout is 20 s: the stalled client was let go a few seconds after the
    // cancel, not at the deadline.
    assert!(
        elapsed < Duration::from_secs(12),
        "{elapsed:?}\n{}",
        exit.stderr
    );
}

/// HTTP/1.1: a request head, then part of its body, then nothing (the socket stays open).
#[test]
fn a_request_body_the_client_stops_sending_does_not_hold_the_drain() {
    let mut service = Service::start(env!("CARGO_BIN_EXE_download"), "");
    let addr = address(&mut service);
    let mut client = TcpStream::connect(&addr).unwrap();
    client
        .write_all(b"POST /upload HTTP/1.1\r\nhost: test\r\ncontent-length: 1000\r\n\r\n0123456789")
        .unwrap();
    // The handler waits for the rest: the request is in progress once it has started.
    std::thread::sleep(Duration::from_millis(200));
    service.signal(libc::SIGTERM);
    exits_clean_long_before_the_deadline(service);
    drop(client);
}

/// HTTP/1.1: a large response the client stops reading (its socket's buffers fill).
#[test]
fn a_response_the_client_stops_reading_does_not_hold_the_drain() {
    let mut service = Service::start(env!("CARGO_BIN_EXE_download"), "");
    let addr = address(&mut service);
    let mut client = TcpStream::connect(&addr).unwrap();
    client
        .write_all(b"GET /big HTTP/1.1\r\nhost: test\r\n\r\n")
        .unwrap();
    let mut first = [0; 1024];
    client.read_exact(&mut first).unwrap();
    service.signal(libc::SIGTERM);
    exits_clean_long_before_the_deadline(service);
    drop(client);
}

/// HTTP/2: a stream whose request body stops after its first chunk, and one whose response
/// the client stops reading (its flow-control window closes), on one connection.
#[test]
fn http2_streams_whose_client_stops_do_not_hold_the_drain() {
    use http_body_util::{BodyExt, StreamBody};
    use hyper::body::{Bytes, Frame};
    let mut service = Service::start(env!("CARGO_BIN_EXE_download"), "");
    let addr = address(&mut service);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (sender, _held) = runtime.block_on(async {
        let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(stream),
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        // The upload: one chunk, then the sender is held, never used, never dropped.
        let (chunks, body) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(1);
        chunks
            .send(Ok(Frame::data(Bytes::from_static(b"first"))))
            .await
            .unwrap();
        let upload = hyper::Request::post("http://test/upload")
            .header("content-length", "1000")
            .body(StreamBody::new(tokio_stream_from(body)).boxed())
            .unwrap();
        let upload = tokio::spawn(sender.send_request(upload));
        // The download: its first frame read, then never again.
        let download = hyper::Request::get("http://test/big")
            .body(
                http_body_util::Empty::<Bytes>::new()
                    .map_err(|never| match never {})
                    .boxed(),
            )
            .unwrap();
        let mut response = sender.send_request(download).await.unwrap().into_body();
        response.frame().await.unwrap().unwrap();
        (sender, (chunks, upload, response))
    });
    service.signal(libc::SIGTERM);
    // The client's runtime keeps its connection task alive, in the background.
    let keep = std::thread::spawn(move || {
        runtime.block_on(async { tokio::time::sleep(SOON).await });
    });
    exits_clean_long_before_the_deadline(service);
    drop((sender, keep));
}

/// A stream of the frames an `mpsc` receiver yields.
fn tokio_stream_from<T: Send + 'static>(
    mut receiver: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

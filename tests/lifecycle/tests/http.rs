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

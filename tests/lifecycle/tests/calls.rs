//! Process-level tests of graceful::tonic and graceful::axum's gRPC cut (first written as an
//! adversarial review), against
//! src/bin/calls.rs, with real tonic clients (and raw h2 / raw TCP) and real SIGTERM.

mod common;

use std::time::{Duration, Instant};

use common::{SOON, Service};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Request, Status, Streaming};
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

include!("../src/calls_pb.rs");
use pb::{Msg, Req};

fn start(env: &[(&str, &str)]) -> (Service, String) {
    let mut service = Service::start_with(env!("CARGO_BIN_EXE_calls"), "", env);
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

async fn channel(addr: &str) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("connect")
}

fn req(mode: &str, n: u64) -> Req {
    Req {
        mode: mode.to_owned(),
        n,
    }
}

type Codec = tonic_prost::ProstCodec<Req, Msg>;

async fn grpc(channel: &Channel) -> tonic::client::Grpc<Channel> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    grpc
}

async fn server_stream(channel: &Channel, mode: &str, n: u64) -> Streaming<Msg> {
    grpc(channel)
        .await
        .server_streaming(
            Request::new(req(mode, n)),
            PathAndQuery::from_static(pb::STREAM),
            Codec::default(),
        )
        .await
        .expect("the stream starts")
        .into_inner()
}

async fn unary(channel: &Channel, path: &'static str, n: u64) -> Result<Msg, Status> {
    grpc(channel)
        .await
        .unary(
            Request::new(req("", n)),
            PathAndQuery::from_static(path),
            Codec::default(),
        )
        .await
        .map(|response| response.into_inner())
}

/// A unary call to `path` whose handler takes `ms`, sent SIGTERM once its handler has
/// started (the fixture says so): the service, and what the client got.
fn unary_across_sigterm(
    env: &[(&str, &str)],
    path: &'static str,
    ms: u64,
) -> (Service, Result<Msg, Status>) {
    let (mut service, addr) = start(env);
    let rt = runtime();
    let channel = rt.block_on(channel(&addr));
    let call = rt.spawn(async move { unary(&channel, path, ms).await });
    // The runtime's workers carry the call while this thread waits for its start.
    let started = match path {
        pb::FAIL => format!("fail started {ms}"),
        _ => format!("unary started {ms}"),
    };
    service.wait_for(&started);
    service.signal(libc::SIGTERM);
    let result = rt.block_on(async { tokio::time::timeout(SOON, call).await.unwrap().unwrap() });
    (service, result)
}

/// Reads until the stream ends: the status it ended with (OK as `Ok(count)`), and when.
async fn read_to_end(mut stream: Streaming<Msg>) -> (Result<u64, Status>, Instant) {
    let mut count = 0;
    loop {
        match stream.message().await {
            Ok(Some(_)) => count += 1,
            Ok(None) => return (Ok(count), Instant::now()),
            Err(status) => return (Err(status), Instant::now()),
        }
    }
}

fn code(result: &Result<u64, Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// A stream that is never pending (a message ready at every poll) is cut at the deadline with
/// UNAVAILABLE, and the exit says so.
#[test]
fn busy_stream_never_pending_is_cut_with_unavailable() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "5s")]);
    let rt = runtime();
    let (result, signalled, ended) = rt.block_on(async {
        let channel = channel(&addr).await;
        let mut stream = server_stream(&channel, "busy", 64).await;
        stream.message().await.unwrap().unwrap();
        let signalled = Instant::now();
        service.signal(libc::SIGTERM);
        let (result, ended) = tokio::time::timeout(SOON, read_to_end(stream))
            .await
            .unwrap();
        (result, signalled, ended)
    });
    eprintln!(
        "busy: {:?} after {:?}",
        result
            .as_ref()
            .map_err(|s| (s.code(), s.message().to_owned())),
        ended - signalled
    );
    let (exit, _) = service.wait(SOON);
    eprintln!("exit {:?}\n{}", exit.code, exit.stderr);
    assert_eq!(code(&result), Code::Unavailable, "{result:?}");
    assert_eq!(exit.code, Some(1));
    assert!(
        exit.stderr.contains("1 gRPC call was still running"),
        "{}",
        exit.stderr
    );
}

/// Large messages (1 MiB each, never pending), the client reading as fast as it can.
#[test]
fn large_message_stream_is_cut_with_unavailable() {
    // A drain of 4.75 s: the cut comes its whole second ahead of the deadline (a quarter of a
    // 3 s timeout's drain was 690 ms for the status to get out behind 1 MiB messages).
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "5s")]);
    let rt = runtime();
    let (result, signalled, ended) = rt.block_on(async {
        let channel = channel(&addr).await;
        let mut stream = server_stream(&channel, "busy", 1 << 20).await;
        stream.message().await.unwrap().unwrap();
        let signalled = Instant::now();
        service.signal(libc::SIGTERM);
        let (result, ended) = tokio::time::timeout(SOON, read_to_end(stream))
            .await
            .unwrap();
        (result, signalled, ended)
    });
    eprintln!(
        "large: {:?} after {:?}",
        result
            .as_ref()
            .map_err(|s| (s.code(), s.message().to_owned())),
        ended - signalled
    );
    let (exit, _) = service.wait(SOON);
    eprintln!("exit {:?}\n{}", exit.code, exit.stderr);
    assert_eq!(code(&result), Code::Unavailable, "{result:?}");
    assert_eq!(exit.code, Some(1));
}

/// The client stops reading (its window fills): what does it get, and is the exit honest?
#[test]
fn client_not_reading_zero_window() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "3s")]);
    let rt = runtime();
    let (result, signalled, ended) = rt.block_on(async {
        let channel = channel(&addr).await;
        let mut stream = server_stream(&channel, "busy", 64 * 1024).await;
        stream.message().await.unwrap().unwrap();
        let signalled = Instant::now();
        service.signal(libc::SIGTERM);
        // Not read until well past the deadline.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let (result, ended) = tokio::time::timeout(SOON, read_to_end(stream))
            .await
            .unwrap();
        (result, signalled, ended)
    });
    eprintln!(
        "zero window: {:?} after {:?}",
        result
            .as_ref()
            .map_err(|s| (s.code(), s.message().to_owned())),
        ended - signalled
    );
    let (exit, _) = service.wait(SOON);
    eprintln!("exit {:?}\n{}", exit.code, exit.stderr);
    assert_eq!(exit.code, Some(1));
}

/// 4 connections x 25 streams, each pending after one message: all 100 get UNAVAILABLE, the
/// count is 100.
#[test]
fn many_streams_on_many_connections_all_get_unavailable() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "5s")]);
    let rt = runtime();
    let results = rt.block_on(async {
        let mut streams = Vec::new();
        for _ in 0..4 {
            let channel = channel(&addr).await;
            for _ in 0..25 {
                let mut stream = server_stream(&channel, "pending", 0).await;
                stream.message().await.unwrap().unwrap();
                streams.push(tokio::spawn(read_to_end(stream)));
            }
        }
        service.signal(libc::SIGTERM);
        let mut results = Vec::new();
        for stream in streams {
            results.push(tokio::time::timeout(SOON, stream).await.unwrap().unwrap().0);
        }
        results
    });
    let (exit, _) = service.wait(SOON);
    let codes: Vec<Code> = results.iter().map(code).collect();
    let unavailable = codes.iter().filter(|c| **c == Code::Unavailable).count();
    eprintln!(
        "unavailable {unavailable}/100; others {:?}",
        results
            .iter()
            .filter(|r| code(r) != Code::Unavailable)
            .take(3)
            .collect::<Vec<_>>()
    );
    eprintln!("exit {:?}\n{}", exit.code, exit.stderr);
    assert_eq!(unavailable, 100);
    assert_eq!(exit.code, Some(1));
    assert!(
        exit.stderr.contains("100 gRPC calls were still running"),
        "{}",
        exit.stderr
    );
}

/// A unary call answered shortly before the cut (its handler returns about 4 s after the
/// signal; the drain's deadline is 5.75 s, the cut a second before) gets its answer, and the
/// exit is clean.
#[test]
fn a_unary_call_answered_shortly_before_the_cut_gets_its_answer() {
    let (mut service, result) =
        unary_across_sigterm(&[("GRACEFUL_TIMEOUT", "6s")], pb::UNARY, 4000);
    service.wait_for("unary done 4000");
    let (exit, _) = service.wait(SOON);
    assert!(
        result.is_ok(),
        "the handler finished (its work is done) before the cut, yet: {result:?}"
    );
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
}

/// Same, with a trailers-only error (NOT_FOUND): it keeps its status.
#[test]
fn a_trailers_only_error_shortly_before_the_cut_keeps_its_status() {
    let (service, result) = unary_across_sigterm(&[("GRACEFUL_TIMEOUT", "6s")], pb::FAIL, 4000);
    let (exit, _) = service.wait(SOON);
    assert_eq!(result.unwrap_err().code(), Code::NotFound);
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
}

/// A tiny timeout (1 s, no drain delay): the drain is 750 ms, shorter than four times the
/// cut's second, and the cut keeps three quarters of it for calls to finish. A unary call of
/// 50 ms in flight at the SIGTERM finishes within the drain. (The cut was once clamped to the
/// cancel itself, and ended it. With a 300 ms timeout the call had 60 ms to spare, which a
/// loaded machine can take.)
#[test]
fn tiny_timeout_unary_of_50ms_in_flight() {
    let (mut service, result) = unary_across_sigterm(&[("GRACEFUL_TIMEOUT", "1s")], pb::UNARY, 50);
    service.wait_for("unary done 50");
    let (exit, _) = service.wait(SOON);
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
}

/// Same tiny timeout, a server stream that ends by itself 50 ms after the SIGTERM.
#[test]
fn tiny_timeout_stream_ending_by_itself_in_50ms() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "1s")]);
    let rt = runtime();
    let result = rt.block_on(async {
        let channel = channel(&addr).await;
        // 2 messages 100 ms apart: ends ~200 ms after start; SIGTERM at ~+150 ms.
        let stream = server_stream(&channel, "finite", 2).await;
        let reading = tokio::spawn(read_to_end(stream));
        tokio::time::sleep(Duration::from_millis(150)).await;
        service.signal(libc::SIGTERM);
        tokio::time::timeout(SOON, reading)
            .await
            .unwrap()
            .unwrap()
            .0
    });
    let (exit, _) = service.wait(SOON);
    eprintln!(
        "tiny timeout stream: {:?}",
        result
            .as_ref()
            .map_err(|s| (s.code(), s.message().to_owned()))
    );
    eprintln!(
        "exit {:?} events {:?}\n{}",
        exit.code, exit.events, exit.stderr
    );
    assert_eq!(code(&result), Code::Ok, "{result:?}");
    assert_eq!(exit.code, Some(0));
}

/// A client-streaming call whose client never ends its request stream: the handler never
/// answers. Does it get UNAVAILABLE, or a protocol error; is the exit 1?
#[test]
fn client_streaming_never_ended_by_its_client() {
    let (mut service, addr) = start(&[("GRACEFUL_TIMEOUT", "3s")]);
    let rt = runtime();
    let (result, signalled, ended) = rt.block_on(async {
        let channel = channel(&addr).await;
        let requests = futures_util::StreamExt::chain(
            futures_util::stream::iter([req("", 1)]),
            futures_util::stream::pending(),
        );
        let call = tokio::spawn({
            let channel = channel.clone();
            async move {
                grpc(&channel)
                    .await
                    .client_streaming(
                        Request::new(requests),
                        PathAndQuery::from_static(pb::COLLECT),
                        Codec::default(),
                    )
                    .await
            }
        });
        // The handler has the first message (the call runs on a worker; this thread may block).
        service.wait_for("collect got 1");
        let signalled = Instant::now();
        service.signal(libc::SIGTERM);
        let result = tokio::time::timeout(SOON, call).await.unwrap().unwrap();
        (
            result.map(|r| r.into_inner().seq),
            signalled,
            Instant::now(),
        )
    });
    eprintln!(
        "client streaming: {:?} after {:?}",
        result
            .as_ref()
            .map_err(|s| (s.code(), s.message().to_owned())),
        ended - signalled
    );
    let _ = &mut service;
    let (exit, _) = service.wait(SOON);
    eprintln!("exit {:?}\n{}", exit.code, exit.stderr);
    assert_eq!(exit.code, Some(1));
    assert_eq!(
        result.unwrap_err().code(),
        Code::Unavailable,
        "contract: a stream still open at the deadline ends with UNAVAILABLE"
    );
}

/// A bidi call whose client never ends its request stream: the response side is streaming.
#[test]
fn bidi_never_ended_by_its_client() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "3s")]);
    let rt = runtime();
    let (result, signalled, ended) = rt.block_on(async {
        let channel = channel(&addr).await;
        let requests = futures_util::StreamExt::chain(
            futures_util::stream::iter([req("", 1)]),
            futures_util::stream::pending(),
        );
        let mut responses = grpc(&channel)
            .await
            .streaming(
                Request::new(requests),
                PathAndQuery::from_static(pb::CHAT),
                Codec::default(),
            )
            .await
            .expect("the chat starts")
            .into_inner();
        responses.message().await.unwrap().unwrap();
        let signalled = Instant::now();
        service.signal(libc::SIGTERM);
        let (result, ended) = tokio::time::timeout(SOON, read_to_end(responses))
            .await
            .unwrap();
        (result, signalled, ended)
    });
    eprintln!(
        "bidi: {:?} after {:?}",
        result
            .as_ref()
            .map_err(|s| (s.code(), s.message().to_owned())),
        ended - signalled
    );
    let (exit, _) = service.wait(SOON);
    eprintln!("exit {:?}\n{}", exit.code, exit.stderr);
    assert_eq!(code(&result), Code::Unavailable);
    assert_eq!(exit.code, Some(1));
    assert!(
        exit.stderr.contains("1 gRPC call was still running"),
        "{}",
        exit.stderr
    );
}

/// Everything cooperates: until_cancelled streams (a ticking one and an always-ready one)
/// end at the cancel with UNAVAILABLE, a unary call finishes in the drain delay; exit 0.
#[test]
fn cooperating_streams_and_calls_exit_0() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "5s"), ("GRACEFUL_DRAIN_DELAY", "1s")]);
    let rt = runtime();
    let (ticking, ready, call, signalled) = rt.block_on(async {
        let channel = channel(&addr).await;
        let ticking = server_stream(&channel, "until", 0).await;
        let ready = server_stream(&channel, "until_ready", 0).await;
        let ticking = tokio::spawn(read_to_end(ticking));
        let ready = tokio::spawn(read_to_end(ready));
        let call = tokio::spawn({
            let channel = channel.clone();
            async move { unary(&channel, pb::UNARY, 700).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let signalled = Instant::now();
        service.signal(libc::SIGTERM);
        (
            tokio::time::timeout(SOON, ticking).await.unwrap().unwrap(),
            tokio::time::timeout(SOON, ready).await.unwrap().unwrap(),
            tokio::time::timeout(SOON, call).await.unwrap().unwrap(),
            signalled,
        )
    });
    let (exit, _) = service.wait(SOON);
    for (name, (result, at)) in [("ticking", &ticking), ("ready", &ready)] {
        eprintln!(
            "{name}: {:?} after {:?}",
            result
                .as_ref()
                .map_err(|s| (s.code(), s.message().to_owned())),
            *at - signalled
        );
    }
    eprintln!(
        "unary: {:?}; exit {:?}\n{}",
        call.as_ref().map(|m| m.seq),
        exit.code,
        exit.stderr
    );
    assert_eq!(code(&ticking.0), Code::Unavailable);
    assert_eq!(code(&ready.0), Code::Unavailable);
    assert!(call.is_ok());
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
}

/// Health: NOT_SERVING from the trigger for "", a named service, one set after the trigger,
/// and one set in a loop across the trigger; no SERVING seen afterwards; Watch streams get
/// the change and end with UNAVAILABLE at the cancel; exit 0.
#[test]
fn health_not_serving_from_the_trigger_for_every_service() {
    // The fixture's `race` service is set SERVING back to back, across the trigger.
    let (service, addr) = start(&[
        ("GRACEFUL_TIMEOUT", "6s"),
        ("GRACEFUL_DRAIN_DELAY", "2s"),
        ("RACE_SPIN", "1"),
    ]);
    let rt = runtime();
    rt.block_on(async {
        let channel = channel(&addr).await;
        let mut health = HealthClient::new(channel.clone());
        let ask = |name: &str| HealthCheckRequest { service: name.to_owned() };
        for name in ["", pb::SERVICE, "race"] {
            let status = health.check(ask(name)).await.unwrap().into_inner().status;
            assert_eq!(status, ServingStatus::Serving as i32, "{name:?} before");
        }
        let mut watches = Vec::new();
        for name in ["", pb::SERVICE, "race"] {
            let mut watch = health.watch(ask(name)).await.unwrap().into_inner();
            let first = watch.message().await.unwrap().unwrap();
            assert_eq!(first.status, ServingStatus::Serving as i32);
            watches.push((name, tokio::spawn(async move {
                let mut seen = Vec::new();
                loop {
                    match watch.message().await {
                        Ok(Some(m)) => seen.push(m.status),
                        Ok(None) => return (seen, Code::Ok, Instant::now()),
                        Err(status) => return (seen, status.code(), Instant::now()),
                    }
                }
            })));
        }
        let signalled = Instant::now();
        service.signal(libc::SIGTERM);
        // Poll hard through the drain delay: none may say SERVING after "" says NOT_SERVING.
        let mut turned = None;
        let mut bad = Vec::new();
        let mut checks = 0;
        while signalled.elapsed() < Duration::from_millis(1800) {
            let root = health.check(ask("")).await.unwrap().into_inner().status;
            if root == ServingStatus::NotServing as i32 && turned.is_none() {
                turned = Some(signalled.elapsed());
            }
            if turned.is_some() {
                for name in [pb::SERVICE, "race", "late", ""] {
                    match health.check(ask(name)).await {
                        Ok(r) if r.get_ref().status == ServingStatus::NotServing as i32 => {}
                        Ok(r) => bad.push((name, r.into_inner().status, signalled.elapsed())),
                        Err(status) if name == "late" && status.code() == Code::NotFound => {}
                        Err(status) => panic!("{name}: {status:?}"),
                    }
                    checks += 1;
                }
            }
        }
        eprintln!("turned after {turned:?}; {checks} checks; not NOT_SERVING: {bad:?}");
        for (name, watch) in watches {
            let (seen, end, at) = tokio::time::timeout(SOON, watch).await.unwrap().unwrap();
            let first_not = seen.iter().position(|s| *s == ServingStatus::NotServing as i32);
            let after: Vec<i32> = first_not.map(|i| seen[i..].to_vec()).unwrap_or_default();
            let serving_again = after.iter().filter(|s| **s == ServingStatus::Serving as i32).count();
            eprintln!("watch {name:?}: {} messages, {serving_again} SERVING after the first NOT_SERVING, ended {end:?} after {:?}", seen.len(), at - signalled);
            assert_eq!(end, Code::Unavailable, "{name:?}");
            assert!(first_not.is_some(), "{name:?}: never NOT_SERVING");
            assert_eq!(serving_again, 0, "{name:?}: SERVING again after the trigger");
        }
        assert!(bad.is_empty(), "{bad:?}");
    });
    let (exit, _) = service.wait(SOON);
    eprintln!("exit {:?}\n{}", exit.code, exit.stderr);
    assert_eq!(exit.code, Some(0));
}

/// A unary call whose handler is still running at the cut (no response yet, so no body to
/// end): it is answered trailers-only with UNAVAILABLE, its handler dropped. (Before, the
/// client got a protocol error.)
#[test]
fn slow_unary_still_running_at_the_deadline() {
    let (service, result) = unary_across_sigterm(&[("GRACEFUL_TIMEOUT", "3s")], pb::UNARY, 10_000);
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(1));
    assert_eq!(
        result.unwrap_err().code(),
        Code::Unavailable,
        "the client gets a status rather than a protocol error"
    );
    assert!(!exit.events.iter().any(|event| event == "unary done 10000"));
}

/// A client that reads, but slowly (one 1 MiB message every 300 ms): the status is queued
/// behind the data already in flight under flow control, and does not get out before the
/// abort. A documented limit: the client gets an error, and the exit is honest.
#[test]
fn slow_reader_of_large_messages() {
    let (service, addr) = start(&[("GRACEFUL_TIMEOUT", "3s")]);
    let rt = runtime();
    let (result, signalled, ended, count) = rt.block_on(async {
        let channel = channel(&addr).await;
        let mut stream = server_stream(&channel, "busy", 1 << 20).await;
        stream.message().await.unwrap().unwrap();
        let signalled = Instant::now();
        service.signal(libc::SIGTERM);
        let mut count = 0;
        let result = loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            match stream.message().await {
                Ok(Some(_)) => count += 1,
                Ok(None) => break Ok(count),
                Err(status) => break Err(status),
            }
        };
        (result, signalled, Instant::now(), count)
    });
    eprintln!(
        "slow reader: {:?} after {:?}, {count} messages",
        result
            .as_ref()
            .map_err(|s| (s.code(), s.message().to_owned())),
        ended - signalled
    );
    let (exit, _) = service.wait(SOON);
    eprintln!("exit {:?}\n{}", exit.code, exit.stderr);
    assert_eq!(exit.code, Some(1));
    assert!(
        result.is_err(),
        "a slow reader cut at the deadline: {result:?}"
    );
}

/// A quiet client-streaming call (one message, then nothing, as a telemetry upload between two
/// samples) with a 10 s timeout: a gRPC call is not let go as a stalled client, which would
/// give its client a transport error; it is ended with UNAVAILABLE at the cut. (It was let go
/// 3 s after the signal, `Unknown: transport error`, with a clean exit.)
#[test]
fn a_quiet_client_stream_ends_with_unavailable_at_the_cut_not_as_a_stalled_client() {
    let (mut service, addr) = start(&[("GRACEFUL_TIMEOUT", "10s")]);
    let rt = runtime();
    let channel = rt.block_on(channel(&addr));
    let call = rt.spawn(async move {
        let requests = futures_util::StreamExt::chain(
            futures_util::stream::iter([req("", 1)]),
            futures_util::stream::pending(),
        );
        grpc(&channel)
            .await
            .client_streaming(
                Request::new(requests),
                PathAndQuery::from_static(pb::COLLECT),
                Codec::default(),
            )
            .await
    });
    service.wait_for("collect got 1");
    service.signal(libc::SIGTERM);
    let result = rt.block_on(async { tokio::time::timeout(SOON, call).await.unwrap().unwrap() });
    let (exit, _) = service.wait(SOON);
    assert_eq!(
        result.unwrap_err().code(),
        Code::Unavailable,
        "a gRPC call still running is ended with UNAVAILABLE"
    );
    assert_eq!(exit.code, Some(1), "{}", exit.stderr);
    assert!(
        exit.stderr.contains("1 gRPC call was still running"),
        "{}",
        exit.stderr
    );
}

//! `graceful::tonic` against a real tonic client on loopback: a server stream that ignores the
//! shutdown is ended just before the deadline with a gRPC status, not a protocol error, and
//! the exit says that work was cut.

mod common;

use common::{SOON, Service};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

#[test]
fn a_stream_still_open_at_the_deadline_ends_with_unavailable_and_the_exit_names_it() {
    let mut service = Service::start_with(
        env!("CARGO_BIN_EXE_grpc"),
        "",
        &[("GRACEFUL_TIMEOUT", "3s")],
    );
    service.wait_for("listening ");
    let addr = service.events.last().unwrap()["listening ".len()..].to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = runtime.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .expect("connect");
        let mut client = HealthClient::new(channel);
        let mut watch = client
            .watch(HealthCheckRequest::default())
            .await
            .expect("the watch starts")
            .into_inner();
        let first = watch.message().await.expect("a first message");
        assert!(first.is_some());
        service.signal(libc::SIGTERM);
        tokio::time::timeout(SOON, watch.message())
            .await
            .expect("the stream ends by the deadline")
            .expect_err("it ends with a status")
    });
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().contains("deadline"), "{status:?}");
    let (exit, _) = service.wait(SOON);
    assert_eq!(exit.code, Some(1), "{}", exit.stderr);
    assert!(
        exit.stderr
            .contains("1 gRPC call was still running at the shutdown deadline"),
        "{}",
        exit.stderr
    );
}

//! A gRPC fixture for graceful::tonic: a hand-written `adv.v1.Adv` service whose calls
//! behave as the request's `mode` says, plus graceful's health service with named services,
//! one set after the trigger and one set in a loop (a race with the trigger).

use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use graceful::tonic::ServingStatus;
use graceful::{BoxError, Shutdown};
use graceful_lifecycle_tests::event;
use tonic::codegen::{Body, BoxFuture, Service, StdError, http};
use tonic::{Request, Response, Status, Streaming};

include!("../calls_pb.rs");
use pb::{Msg, Req};

type MsgStream = Pin<Box<dyn Stream<Item = Result<Msg, Status>> + Send>>;

#[derive(Clone)]
struct Adv {
    shutdown: Shutdown,
}

impl tonic::server::NamedService for Adv {
    const NAME: &'static str = pb::SERVICE;
}

fn msg(seq: u64, size: usize) -> Msg {
    Msg {
        seq,
        payload: vec![7u8; size],
    }
}

struct UnarySvc;
impl tonic::server::UnaryService<Req> for UnarySvc {
    type Response = Msg;
    type Future = BoxFuture<Response<Msg>, Status>;
    fn call(&mut self, request: Request<Req>) -> Self::Future {
        Box::pin(async move {
            let n = request.get_ref().n;
            event(format!("unary started {n}"));
            tokio::time::sleep(Duration::from_millis(n)).await;
            event(format!("unary done {n}"));
            Ok(Response::new(msg(n, 0)))
        })
    }
}

struct FailSvc;
impl tonic::server::UnaryService<Req> for FailSvc {
    type Response = Msg;
    type Future = BoxFuture<Response<Msg>, Status>;
    fn call(&mut self, request: Request<Req>) -> Self::Future {
        Box::pin(async move {
            let n = request.get_ref().n;
            event(format!("fail started {n}"));
            tokio::time::sleep(Duration::from_millis(n)).await;
            event(format!("fail done {n}"));
            Err(Status::not_found("no such thing"))
        })
    }
}

struct StreamSvc(Shutdown);
impl tonic::server::ServerStreamingService<Req> for StreamSvc {
    type Response = Msg;
    type ResponseStream = MsgStream;
    type Future = BoxFuture<Response<MsgStream>, Status>;
    fn call(&mut self, request: Request<Req>) -> Self::Future {
        let shutdown = self.0.clone();
        Box::pin(async move {
            let Req { mode, n } = request.into_inner();
            event(format!("stream started {mode}"));
            let stream: MsgStream = match mode.as_str() {
                // One message, then pending forever: ignores the shutdown.
                "pending" => Box::pin(
                    futures_util::stream::once(async { Ok(msg(0, 0)) })
                        .chain(futures_util::stream::pending()),
                ),
                // Never pending: a message ready at every poll, `n` bytes each.
                "busy" => {
                    let size = n as usize;
                    let mut seq = 0;
                    Box::pin(futures_util::stream::repeat_with(move || {
                        seq += 1;
                        Ok(msg(seq, size))
                    }))
                }
                // A message every 10 ms, ended at the cancel by until_cancelled.
                "until" => Box::pin(graceful::tonic::until_cancelled(
                    &shutdown,
                    ticks(10, u64::MAX),
                )),
                // Always ready, under until_cancelled.
                "until_ready" => {
                    let mut seq = 0;
                    Box::pin(graceful::tonic::until_cancelled(
                        &shutdown,
                        futures_util::stream::repeat_with(move || {
                            seq += 1;
                            Ok(msg(seq, 16))
                        }),
                    ))
                }
                // `n` messages, 100 ms apart, then OK.
                "finite" => ticks(100, n),
                other => return Err(Status::invalid_argument(format!("mode {other}"))),
            };
            Ok(Response::new(stream))
        })
    }
}

fn ticks(every_ms: u64, count: u64) -> MsgStream {
    Box::pin(futures_util::stream::unfold(0u64, move |seq| async move {
        if seq >= count {
            event("finite stream done");
            return None;
        }
        tokio::time::sleep(Duration::from_millis(every_ms)).await;
        Some((Ok(msg(seq, 0)), seq + 1))
    }))
}

struct CollectSvc;
impl tonic::server::ClientStreamingService<Req> for CollectSvc {
    type Response = Msg;
    type Future = BoxFuture<Response<Msg>, Status>;
    fn call(&mut self, request: Request<Streaming<Req>>) -> Self::Future {
        Box::pin(async move {
            let mut incoming = request.into_inner();
            let mut count = 0;
            while let Some(item) = incoming.next().await {
                item?;
                count += 1;
                event(format!("collect got {count}"));
            }
            event(format!("collect done {count}"));
            Ok(Response::new(msg(count, 0)))
        })
    }
}

struct ChatSvc;
impl tonic::server::StreamingService<Req> for ChatSvc {
    type Response = Msg;
    type ResponseStream = MsgStream;
    type Future = BoxFuture<Response<MsgStream>, Status>;
    fn call(&mut self, request: Request<Streaming<Req>>) -> Self::Future {
        Box::pin(async move {
            let incoming = request.into_inner();
            let echo = incoming.map(|item| item.map(|req| msg(req.n, 0)));
            Ok(Response::new(Box::pin(echo) as MsgStream))
        })
    }
}

impl<B> Service<http::Request<B>> for Adv
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let shutdown = self.shutdown.clone();
        let path = req.uri().path().to_owned();
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<Msg, Req>::default());
            Ok(match path.as_str() {
                pb::UNARY => grpc.unary(UnarySvc, req).await,
                pb::FAIL => grpc.unary(FailSvc, req).await,
                pb::STREAM => grpc.server_streaming(StreamSvc(shutdown), req).await,
                pb::COLLECT => grpc.client_streaming(CollectSvc, req).await,
                pb::CHAT => grpc.streaming(ChatSvc, req).await,
                _ => Status::unimplemented(path).into_http(),
            })
        })
    }
}

#[graceful::main(timeout = "20s")]
async fn main(shutdown: Shutdown) -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let (reporter, health) = graceful::tonic::health(&shutdown);
    reporter
        .set_service_status(pb::SERVICE, ServingStatus::Serving)
        .await;
    // Set SERVING right after the trigger: must read NOT_SERVING.
    let late = reporter.clone();
    let triggered = shutdown.triggered();
    shutdown.spawn("late", async move {
        triggered.await;
        late.set_service_status("late", ServingStatus::Serving)
            .await;
        event("late set");
    });
    // Set SERVING in a loop, across the trigger, until the cancel.
    let racing = reporter.clone();
    let race = shutdown.clone();
    let spin = std::env::var_os("RACE_SPIN").is_some();
    shutdown.spawn("race", async move {
        while !race.is_cancelled() {
            racing
                .set_service_status("race", ServingStatus::Serving)
                .await;
            // Back to back only for the test that races them against the trigger: a fixture
            // that keeps a core busy slows every other test running beside it.
            if spin {
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    let routes = tonic::service::Routes::new(health).add_service(Adv {
        shutdown: shutdown.clone(),
    });
    event(format!("listening {}", listener.local_addr()?));
    shutdown.spawn(
        "grpc",
        graceful::tonic::serve(listener, routes, shutdown.clone()),
    );
    Ok(())
}

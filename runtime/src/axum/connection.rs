//! An accepted connection's socket, wrapped so that the server knows when it is gone and can
//! end it at the deadline wherever it went: served by hyper, or handed to a handler by an
//! upgrade (a WebSocket), which axum's own graceful shutdown neither waits for nor bounds.
//!
//! The wrapper costs the hot path nothing shared: one relaxed atomic load per read or write,
//! and a per-connection `AtomicWaker` registration when the socket is not ready.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TaskTrackerToken;

use crate::sync::lock;

/// Every live connection of one server.
#[derive(Default)]
pub(crate) struct Connections {
    live: Mutex<HashMap<u64, Arc<Switch>>>,
    next_id: AtomicU64,
    /// One token per live socket: the server waits until every socket is dropped.
    tracker: TaskTracker,
}

impl Connections {
    pub(crate) fn accept(self: &Arc<Self>, stream: TcpStream) -> Io {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let switch = Arc::new(Switch::default());
        self.lock().insert(id, switch.clone());
        Io {
            stream,
            first: Vec::new(),
            switch,
            id,
            connections: self.clone(),
            _alive: self.tracker.token(),
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.lock().len()
    }

    /// Ends every live socket: its next read or write fails, and a pending one wakes up.
    pub(crate) fn kill_all(&self) {
        for switch in self.lock().values() {
            switch.kill();
        }
    }

    /// Resolves once every socket accepted so far has been dropped.
    pub(crate) async fn gone(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Switch>>> {
        lock(&self.live)
    }
}

#[derive(Default)]
struct Switch {
    killed: AtomicBool,
    reader: AtomicWaker,
    writer: AtomicWaker,
    /// Bytes written so far: whether a closing connection still makes progress.
    written: AtomicU64,
    /// Bytes read so far (after the first ones), for the same.
    read: AtomicU64,
}

impl Switch {
    fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.reader.wake();
        self.writer.wake();
    }

    fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    /// `Pending` from the socket: park on the switch too, and re-check it so that a kill
    /// between the check and the registration is not missed.
    fn pending<T>(&self, waker: &AtomicWaker, cx: &Context<'_>) -> Poll<io::Result<T>> {
        waker.register(cx.waker());
        if self.is_killed() {
            Poll::Ready(Err(killed()))
        } else {
            Poll::Pending
        }
    }
}

fn killed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "closed by graceful: the shutdown deadline has passed",
    )
}

/// How much the first read of a connection takes at most (hyper's own reads start at 8 KiB).
const FIRST_READ: usize = 8 * 1024;

/// A connection's socket. Dropping it (hyper is done with it, or an upgraded stream ends)
/// removes it from the server's live set.
pub(crate) struct Io {
    stream: TcpStream,
    /// The client's first bytes, read to tell its protocol, given back to hyper before the
    /// rest of the stream.
    first: Vec<u8>,
    switch: Arc<Switch>,
    id: u64,
    connections: Arc<Connections>,
    _alive: TaskTrackerToken,
}

impl Io {
    /// Reads the client's first bytes until there are `count` of them, or `enough` says they
    /// tell enough, or the client has sent all it will: they are given back, in order, to the
    /// first reads. Each read takes what has arrived (a whole request head, usually), as
    /// hyper's own first read would, so that telling the protocol costs no read of its own.
    /// Returns them.
    pub(crate) async fn first_bytes(
        &mut self,
        count: usize,
        enough: impl Fn(&[u8]) -> bool,
    ) -> &[u8] {
        use tokio::io::AsyncReadExt;
        while self.first.len() < count && !enough(&self.first) {
            self.first.reserve(FIRST_READ);
            match self.stream.read_buf(&mut self.first).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        &self.first
    }

    /// How many bytes have gone through this socket so far, each way.
    pub(crate) fn traffic(&self) -> Traffic {
        Traffic(self.switch.clone())
    }
}

/// A socket's bytes so far, read from outside the task that reads and writes.
pub(crate) struct Traffic(Arc<Switch>);

impl Traffic {
    pub(crate) fn written(&self) -> u64 {
        self.0.written.load(Ordering::Relaxed)
    }

    /// Read and written.
    pub(crate) fn moved(&self) -> u64 {
        self.0.read.load(Ordering::Relaxed) + self.written()
    }
}

impl Drop for Io {
    fn drop(&mut self) {
        self.connections.lock().remove(&self.id);
    }
}

impl Io {
    /// Polls the socket unless the switch is off; parks on the switch too when it is pending.
    fn guarded<T>(
        &mut self,
        direction: Direction,
        cx: &mut Context<'_>,
        poll: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if self.switch.is_killed() {
            return Poll::Ready(Err(killed()));
        }
        match poll(Pin::new(&mut self.stream), cx) {
            Poll::Pending => {
                let waker = match direction {
                    Direction::Read => &self.switch.reader,
                    Direction::Write => &self.switch.writer,
                };
                self.switch.pending(waker, cx)
            }
            ready => ready,
        }
    }
}

impl Io {
    fn count(&self, written: &Poll<io::Result<usize>>) {
        if let Poll::Ready(Ok(bytes)) = written {
            self.switch
                .written
                .fetch_add(*bytes as u64, Ordering::Relaxed);
        }
    }
}

/// Reads and writes park separately: the halves of an upgraded stream may live in two tasks.
enum Direction {
    Read,
    Write,
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let io = self.get_mut();
        if !io.first.is_empty() {
            let given = io.first.len().min(buf.remaining());
            buf.put_slice(&io.first[..given]);
            io.first.drain(..given);
            if io.first.is_empty() {
                // Its buffer is not kept for the connection's life.
                io.first = Vec::new();
            }
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let read = io.guarded(Direction::Read, cx, |stream, cx| stream.poll_read(cx, buf));
        if let Poll::Ready(Ok(())) = read {
            let bytes = (buf.filled().len() - before) as u64;
            io.switch.read.fetch_add(bytes, Ordering::Relaxed);
        }
        read
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let io = self.get_mut();
        let written = io.guarded(Direction::Write, cx, |stream, cx| {
            stream.poll_write(cx, buf)
        });
        io.count(&written);
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let io = self.get_mut();
        let written = io.guarded(Direction::Write, cx, |stream, cx| {
            stream.poll_write_vectored(cx, bufs)
        });
        io.count(&written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

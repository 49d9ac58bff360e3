//! Socket activation: the listening sockets systemd (a `.socket` unit) or `systemfd` passed,
//! taken by name or position; or the address bound, when none was passed.
//!
//! `sd_notify::listen_fds_with_names` reads the protocol (`LISTEN_PID` must be this process,
//! `LISTEN_FDS` counts from fd 3, `LISTEN_FDNAMES` names them) and marks the descriptors
//! close-on-exec. They are read once per process, by `Config::run` before its runtime opens
//! a descriptor of its own (and before the service can spawn a child that would inherit
//! them), and each is handed out once: a descriptor owned twice would be closed twice. A
//! descriptor that is not a socket is never owned: `LISTEN_FDS` may overstate what was passed
//! (a wrapper that closed one), and what sits at that number then is somebody else's.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, OnceLock};

use tokio::net::{TcpListener, ToSocketAddrs};

use crate::sync::lock;

/// A descriptor systemd passed, until it is taken; or why it cannot be.
struct Passed {
    fd: Result<Option<OwnedFd>, String>,
    name: String,
}

/// What systemd passed this process, read on first use.
fn passed() -> &'static Mutex<Result<Vec<Passed>, String>> {
    static PASSED: OnceLock<Mutex<Result<Vec<Passed>, String>>> = OnceLock::new();
    PASSED.get_or_init(|| Mutex::new(read()))
}

/// Reads what systemd passed, now: `Config::run` calls it before it builds its runtime.
pub(crate) fn claim_passed() {
    passed();
}

#[allow(unsafe_code)]
fn read() -> Result<Vec<Passed>, String> {
    let fds = sd_notify::listen_fds_with_names().map_err(|error| {
        format!("the sockets systemd passed (LISTEN_FDS, LISTEN_FDNAMES) cannot be read: {error}")
    })?;
    Ok(fds
        .map(|(fd, name): (RawFd, String)| {
            // SAFETY: only asked what it is; not owned, not closed.
            let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
            let fd = match socket_option(borrowed, libc::SO_TYPE) {
                // SAFETY: systemd passed this socket to this process (`LISTEN_PID` is this
                // process), for it to own; `PASSED` reads it once, so it has one owner.
                Ok(_) => Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) })),
                Err(error) => Err(format!(
                    "LISTEN_FDS and LISTEN_PID say descriptor {fd} (`{name}`) was passed to this \
                     process, but it is not a socket ({error}): were they left set by a parent \
                     process?"
                )),
            };
            Passed { fd, name }
        })
        .collect())
}
/// Which passed socket to take.
enum Which<'a> {
    /// The first one.
    First,
    Named(&'a str),
}

/// The TCP listener systemd passed first, or else `addr` bound: the same code runs under a
/// `.socket` unit, under `systemfd`, and on its own. The socket passed is set non-blocking
/// (tokio requires it) and must be a TCP socket that listens: anything else is an error that
/// says what was passed.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let listener = graceful::systemd::listener("127.0.0.1:8080").await?;
/// # drop(listener); Ok(()) }
/// ```
pub async fn listener(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
    take(Which::First, addr).await
}

/// The TCP listener systemd passed under `name` (`FileDescriptorName=` of the `.socket` unit;
/// by default the unit's name, `service.socket`), or else `addr` bound when systemd passed
/// none at all. Sockets passed but none of them named `name` is an error that lists their
/// names: binding `addr` then would listen where no one connects.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let http = graceful::systemd::named_listener("http", "127.0.0.1:8080").await?;
/// let admin = graceful::systemd::named_listener("admin", "127.0.0.1:9090").await?;
/// # drop((http, admin)); Ok(()) }
/// ```
pub async fn named_listener(name: &str, addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
    take(Which::Named(name), addr).await
}

async fn take(which: Which<'_>, addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
    match take_passed(&which)? {
        Some(fd) => listening(fd),
        None => TcpListener::bind(addr).await,
    }
}

/// The descriptor `which` names, if systemd passed any.
fn take_passed(which: &Which<'_>) -> io::Result<Option<OwnedFd>> {
    let mut passed = lock(passed());
    let passed = passed
        .as_mut()
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error.clone()))?;
    if passed.is_empty() {
        return Ok(None);
    }
    let found = match which {
        Which::First => passed.first_mut(),
        Which::Named(name) => passed.iter_mut().find(|passed| passed.name == *name),
    };
    let Some(found) = found else {
        let names: Vec<_> = passed.iter().map(|passed| passed.name.as_str()).collect();
        let Which::Named(name) = which else {
            unreachable!("the first of a list that is not empty exists")
        };
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "systemd passed sockets named {names:?}, none named `{name}` \
                 (FileDescriptorName= in the .socket unit)"
            ),
        ));
    };
    match &mut found.fd {
        Ok(fd) => fd.take().map(Some).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "the socket systemd passed as `{}` was taken already",
                    found.name
                ),
            )
        }),
        Err(error) => Err(io::Error::new(io::ErrorKind::InvalidInput, error.clone())),
    }
}

/// A tokio listener on a passed socket, once it is known to be a listening TCP socket.
fn listening(fd: OwnedFd) -> io::Result<TcpListener> {
    let kind = socket_option(fd.as_fd(), libc::SO_TYPE)?;
    let listens = socket_option(fd.as_fd(), libc::SO_ACCEPTCONN)? != 0;
    if kind != libc::SOCK_STREAM || !listens {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the socket systemd passed is not a listening TCP socket (ListenStream= with an \
             address or a port in the .socket unit)",
        ));
    }
    let listener = std::net::TcpListener::from(fd);
    // `local_addr` fails on a Unix socket: not TCP either.
    listener.local_addr().map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("the socket systemd passed is not a TCP socket: {error}"),
        )
    })?;
    // Sockets are passed as they were made: blocking, which tokio cannot drive.
    listener.set_nonblocking(true)?;
    TcpListener::from_std(listener)
}

/// An `int` socket option of `fd` (`SO_TYPE`, `SO_ACCEPTCONN`): an error if it is no socket.
#[allow(unsafe_code)]
fn socket_option(fd: BorrowedFd<'_>, name: libc::c_int) -> io::Result<libc::c_int> {
    use std::os::fd::AsRawFd;
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes of an int, and the descriptor is open for
    // as long as it is borrowed.
    let done = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            name,
            (&raw mut value).cast(),
            &mut len,
        )
    };
    match done {
        0 => Ok(value),
        _ => Err(io::Error::last_os_error()),
    }
}

//! Socket activation: the listening sockets systemd (a `.socket` unit) or `systemfd` passed,
//! taken by name or position; or the address bound, when none was passed.
//!
//! `sd_notify::listen_fds_with_names` reads the protocol (`LISTEN_PID` must be this process,
//! `LISTEN_FDS` counts from fd 3, `LISTEN_FDNAMES` names them) and marks the descriptors
//! close-on-exec. They are read once per process, and each is handed out once: a descriptor
//! owned twice would be closed twice.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, OnceLock};

use tokio::net::{TcpListener, ToSocketAddrs};

use crate::sync::lock;

/// A descriptor systemd passed, until it is taken.
struct Passed {
    fd: Option<OwnedFd>,
    name: String,
}

/// What systemd passed this process, read on first use.
fn passed() -> &'static Mutex<Result<Vec<Passed>, String>> {
    static PASSED: OnceLock<Mutex<Result<Vec<Passed>, String>>> = OnceLock::new();
    PASSED.get_or_init(|| Mutex::new(read()))
}

#[allow(unsafe_code)]
fn read() -> Result<Vec<Passed>, String> {
    let fds = sd_notify::listen_fds_with_names().map_err(|error| {
        format!("the sockets systemd passed (LISTEN_FDS, LISTEN_FDNAMES) cannot be read: {error}")
    })?;
    Ok(fds
        .map(|(fd, name): (RawFd, String)| Passed {
            // SAFETY: systemd passed these descriptors to this process (`LISTEN_PID` is this
            // process), for it to own; `PASSED` reads them once, so each has one owner.
            fd: Some(unsafe { OwnedFd::from_raw_fd(fd) }),
            name,
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
    match found.fd.take() {
        Some(fd) => Ok(Some(fd)),
        None => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "the socket systemd passed as `{}` was taken already",
                found.name
            ),
        )),
    }
}

/// A tokio listener on a passed descriptor, once it is known to be a listening TCP socket.
fn listening(fd: OwnedFd) -> io::Result<TcpListener> {
    let listener = std::net::TcpListener::from(fd);
    let kind = socket_kind(&listener)?;
    if kind != (libc::SOCK_STREAM, true) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the socket systemd passed is not a listening TCP socket (ListenStream= with an \
             address or a port in the .socket unit)",
        ));
    }
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

/// The socket's type, and whether it listens.
#[allow(unsafe_code)]
fn socket_kind(socket: &std::net::TcpListener) -> io::Result<(libc::c_int, bool)> {
    use std::os::fd::AsRawFd;
    let option = |name| {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `value` and `len` are valid for writes of an int, and the descriptor is
        // open for as long as `socket` is borrowed.
        let done = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                name,
                (&raw mut value).cast(),
                &mut len,
            )
        };
        match done {
            0 => Ok(value),
            _ => Err(io::Error::other(format!(
                "the descriptor systemd passed is not a socket: {}",
                io::Error::last_os_error()
            ))),
        }
    };
    Ok((option(libc::SO_TYPE)?, option(libc::SO_ACCEPTCONN)? != 0))
}

//! The datagram socket systemd listens on for a service's notifications (`NOTIFY_SOCKET`): a
//! path, or on Linux an abstract name written with a leading `@`.
//!
//! `sd_notify::notify` is not used to send: it opens a blocking socket for every message and
//! takes `@` as part of a path. Blocking matters here: a datagram socket whose reader has
//! fallen behind blocks its sender, and the sender is graceful's notify thread, which must
//! keep its heartbeat honest and its stop messages on time. So one socket, non-blocking; a
//! message that finds the queue full is kept and sent again at the next wake.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Where the notifications go.
pub(super) struct NotifySocket {
    socket: UnixDatagram,
    address: SocketAddr,
}

impl NotifySocket {
    /// The socket `NOTIFY_SOCKET` names, or why it cannot be used.
    pub(super) fn open(name: &OsStr) -> Result<Self, String> {
        let address = address(name)
            .map_err(|error| format!("NOTIFY_SOCKET={}: {error}", name.to_string_lossy()))?;
        let socket = UnixDatagram::unbound()
            .and_then(|socket| socket.set_nonblocking(true).map(|()| socket))
            .map_err(|error| {
                format!("could not open a socket for systemd's notifications: {error}")
            })?;
        Ok(NotifySocket { socket, address })
    }

    /// Sends one message: `Ok(false)` if the receiver's queue is full (send it again later).
    pub(super) fn send(&self, message: &str) -> io::Result<bool> {
        match self.socket.send_to_addr(message.as_bytes(), &self.address) {
            Ok(_) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(error) => Err(error),
        }
    }
}

/// A path, or (`@name`) an abstract address, as systemd writes them.
fn address(name: &OsStr) -> io::Result<SocketAddr> {
    let bytes = name.as_bytes();
    match bytes.split_first() {
        None => Err(io::Error::new(io::ErrorKind::InvalidInput, "empty")),
        Some((b'@', abstract_name)) => abstract_address(abstract_name),
        Some((b'/', _)) => SocketAddr::from_pathname(name),
        Some(_) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "neither an absolute path nor an abstract name (`@…`)",
        )),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_address(name: &[u8]) -> io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_address(_: &[u8]) -> io::Result<SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract socket names (`@…`) exist on Linux only",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_path_or_an_empty_name_is_refused() {
        assert!(address(OsStr::new("run/notify")).is_err());
        assert!(address(OsStr::new("")).is_err());
        assert!(address(OsStr::new("/run/systemd/notify")).is_ok());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_at_sign_is_an_abstract_name() {
        use std::os::linux::net::SocketAddrExt;
        let address = address(OsStr::new("@graceful/test")).unwrap();
        assert_eq!(address.as_abstract_name(), Some(&b"graceful/test"[..]));
    }
}

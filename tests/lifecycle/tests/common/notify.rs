//! systemd's side of the notify protocol, as a test owns it: a datagram socket (a path, or an
//! abstract name) whose messages are read on a thread of their own and timestamped.
// Shared with the root package's tests/systemd.rs (by `#[path]`), each using part of it.
#![allow(dead_code)]

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// One datagram: its assignments (`READY=1`, `STATUS=…`), and when it came.
#[derive(Clone, Debug)]
pub struct Message {
    pub at: Instant,
    pub lines: Vec<String>,
}

impl Message {
    /// The value of `key` in this message, if it has one.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
    }
}

pub struct NotifySocket {
    /// What `NOTIFY_SOCKET` is set to.
    pub name: String,
    path: Option<PathBuf>,
    messages: Receiver<Message>,
    /// Every message received so far, in order.
    pub seen: Vec<Message>,
}

impl NotifySocket {
    /// A socket at a fresh path.
    pub fn at_path(test: &str) -> NotifySocket {
        let path =
            std::env::temp_dir().join(format!("graceful-notify-{}-{test}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        NotifySocket::reading(socket, path.display().to_string(), Some(path))
    }

    /// A socket in the abstract namespace (`@name`), as older systemd versions use.
    #[cfg(target_os = "linux")]
    pub fn abstract_named(test: &str) -> NotifySocket {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("graceful-notify-{}-{test}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).expect("abstract name");
        let socket = UnixDatagram::bind_addr(&address).expect("bind the abstract notify socket");
        NotifySocket::reading(socket, format!("@{name}"), None)
    }

    fn reading(socket: UnixDatagram, name: String, path: Option<PathBuf>) -> NotifySocket {
        let (sender, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buffer = vec![0; 64 * 1024];
            while let Ok(len) = socket.recv(&mut buffer) {
                let text = String::from_utf8_lossy(&buffer[..len]).into_owned();
                let message = Message {
                    at: Instant::now(),
                    lines: text.lines().map(str::to_owned).collect(),
                };
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        NotifySocket {
            name,
            path,
            messages,
            seen: Vec::new(),
        }
    }

    /// Waits (at most `within`) for a message with the assignment `key` (`key=value`);
    /// returns it.
    pub fn wait_for(&mut self, key: &str, within: Duration) -> Message {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(message) => {
                    self.seen.push(message.clone());
                    if message.get(key).is_some() {
                        return message;
                    }
                }
                Err(_) => panic!(
                    "no {key}= within {within:?}; received so far: {:?}",
                    self.lines()
                ),
            }
        }
    }

    /// Every message that arrives within `within`.
    pub fn collect(&mut self, within: Duration) -> Vec<Message> {
        let deadline = Instant::now() + within;
        let mut got = Vec::new();
        while let Ok(message) = self
            .messages
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(message.clone());
            got.push(message);
        }
        got
    }

    /// Every assignment received so far, in order.
    pub fn lines(&self) -> Vec<String> {
        self.seen.iter().flat_map(|m| m.lines.clone()).collect()
    }

    /// The `STATUS=` values received so far, in order.
    pub fn statuses(&self) -> Vec<String> {
        self.seen
            .iter()
            .filter_map(|message| message.get("STATUS").map(str::to_owned))
            .collect()
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

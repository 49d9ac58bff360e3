//! The example service under systemd's protocols, as systemd runs it: the notify socket
//! (a path, and an abstract name) with the watchdog, socket activation on fd 3, and the
//! budget against a Kubernetes grace period. A real process, real datagrams, real signals.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

#[path = "support/example.rs"]
mod example;
#[path = "lifecycle/tests/common/notify.rs"]
mod notify;

use example::scratch;
use notify::NotifySocket;

const SOON: Duration = Duration::from_secs(30);

/// The example service, started with `env`, its log lines read as they come.
struct Service {
    child: Child,
    lines: Receiver<String>,
    logged: Vec<String>,
}

impl Service {
    fn start(test: &str, env: &[(&str, &str)], prepare: impl FnOnce(&mut Command)) -> Service {
        let dir = scratch(test);
        let mut command = example::command(&dir);
        command
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        prepare(&mut command);
        let mut child = command.spawn().expect("start the example service");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Service {
            child,
            lines,
            logged: Vec::new(),
        }
    }

    /// Waits for a log line containing `text`; returns it.
    fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + SOON;
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.logged.push(line.clone());
            if line.contains(text) {
                return line;
            }
        }
        panic!("no line with `{text}`; logged: {:#?}", self.logged)
    }

    /// The address it listens on, from its log.
    fn addr(&mut self) -> String {
        let line = self.wait_for("listening on http://");
        let at = line.find("listening on http://").unwrap() + "listening on http://".len();
        line[at..].split_whitespace().next().unwrap().to_owned()
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on a child this test owns, with a valid signal number.
        assert_eq!(
            unsafe { libc::kill(self.child.id() as libc::pid_t, signal) },
            0
        );
    }

    fn exit(mut self) -> Option<i32> {
        let deadline = Instant::now() + SOON;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(Instant::now() < deadline, "still running after {SOON:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// `GET path` over HTTP/1.1 on a fresh connection: the status line.
fn get(addr: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(SOON)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn notify_socket_hears_ready_status_watchdog_and_the_stop() {
    let mut socket = NotifySocket::at_path("example");
    // A port known before the start, to be asked the moment READY=1 arrives.
    let addr = {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        free.local_addr().unwrap().to_string()
    };
    // `WatchdogSec=2`: a WATCHDOG=1 every second is expected.
    let mut service = Service::start(
        "notify",
        &[
            ("ADDR", &addr),
            ("NOTIFY_SOCKET", &socket.name),
            ("WATCHDOG_USEC", "2000000"),
            ("GRACEFUL_DRAIN_DELAY", "1s"),
        ],
        |_| {},
    );
    socket.wait_for("READY", SOON);
    // READY=1 comes once the service serves: its listener is up.
    assert_eq!(get(&addr, "/readyz"), "HTTP/1.1 200 OK");
    assert_eq!(service.addr(), addr);

    // The heartbeat, at half the watchdog's timeout: never late enough for systemd to kill.
    let first = socket.wait_for("WATCHDOG", SOON).at;
    let mut beats = vec![first];
    while beats.len() < 4 {
        beats.push(socket.wait_for("WATCHDOG", SOON).at);
    }
    for pair in beats.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(500) && gap < Duration::from_secs(2),
            "WATCHDOG=1 {gap:?} after the one before (WatchdogSec=2s)"
        );
    }

    // A request in flight through the drain delay and the drain, so that both last.
    let slow = {
        let addr = addr.clone();
        std::thread::spawn(move || get(&addr, "/slow?ms=2500"))
    };
    service.signal(libc::SIGTERM);
    let stopping = socket.wait_for("STOPPING", SOON);
    let extend: u64 = stopping
        .get("EXTEND_TIMEOUT_USEC")
        .expect("EXTEND_TIMEOUT_USEC with STOPPING=1")
        .parse()
        .unwrap();
    // GRACEFUL_TIMEOUT=15s, the watchdog's 0.5 s after it, a second to exit.
    assert!(
        (15_000_000..=16_500_000).contains(&extend),
        "EXTEND_TIMEOUT_USEC={extend}"
    );
    assert_eq!(service.exit(), Some(0));
    assert_eq!(slow.join().unwrap(), "HTTP/1.1 200 OK");
    socket.collect(Duration::from_millis(200));

    // The status, in the order the run went.
    let statuses = socket.statuses();
    let expected = [
        "serving",
        "stopping (received SIGTERM): not ready, serving for the drain delay (1s)",
        "stopping (received SIGTERM): draining ",
        "stopping (received SIGTERM): closing ",
        "stopping (received SIGTERM): writing the report",
    ];
    let mut at = 0;
    for status in &statuses {
        if at < expected.len() && status.starts_with(expected[at]) {
            at += 1;
        }
    }
    assert_eq!(at, expected.len(), "STATUS lines: {statuses:#?}");
    // The stop timeout is extended again as the phases advance, never past graceful's bound.
    let extends: Vec<u64> = socket
        .seen
        .iter()
        .filter_map(|m| m.get("EXTEND_TIMEOUT_USEC")?.parse().ok())
        .collect();
    assert!(extends.len() > 1, "{:?}", socket.lines());
    assert!(extends.windows(2).all(|w| w[1] <= w[0]), "{extends:?}");
}

#[test]
fn an_abstract_notify_socket_works_and_a_grace_period_too_short_is_a_warning() {
    let mut socket = NotifySocket::abstract_named("example");
    let mut service = Service::start(
        "abstract",
        &[
            ("NOTIFY_SOCKET", &socket.name),
            ("GRACEFUL_DRAIN_DELAY", "2s"),
            // Shorter than GRACEFUL_TIMEOUT=15s and what follows it.
            ("GRACEFUL_GRACE_PERIOD", "10s"),
        ],
        |_| {},
    );
    let warning = service.wait_for("does not fit the platform's grace period");
    for numbers in [
        "GRACEFUL_GRACE_PERIOD=10s",
        "timeout (15s, the drain delay of 2s included)",
        "= 16.5s",
        "Lower `timeout` to 8.5s",
        "raise the grace period by 6.5s",
    ] {
        assert!(warning.contains(numbers), "`{numbers}` in: {warning}");
    }
    let budget = service.wait_for("shutdown budget:");
    assert!(
        budget.contains("drain delay 2s + drain up to ") && budget.contains("= timeout 15s − "),
        "{budget}"
    );
    socket.wait_for("READY", SOON);
    service.signal(libc::SIGTERM);
    let status = socket.wait_for("STOPPING", SOON);
    assert!(
        status
            .get("STATUS")
            .is_some_and(|s| s.starts_with("stopping (received SIGTERM)")),
        "{status:?}"
    );
    assert_eq!(service.exit(), Some(0));
}

#[test]
fn a_socket_passed_as_fd_3_is_served_and_the_address_is_not_bound() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let fd = listener.as_raw_fd();
    // As systemd does: the socket at fd 3, LISTEN_FDS, and LISTEN_PID set to the service's own
    // process (the shell `exec`s it, so `$$` is its pid).
    let mut service = Service::start(
        "activation",
        &[
            // An address this machine does not have: binding it would fail.
            ("ADDR", "192.0.2.1:80"),
            ("LISTEN_FDS", "1"),
            ("LISTEN_FDNAMES", "service.socket"),
        ],
        |command| {
            let program = command.get_program().to_owned();
            *command = rebuild_as_shell(command, program);
            // SAFETY: between fork and exec only dup2(2) and fcntl(2), which are
            // async-signal-safe.
            unsafe {
                command.pre_exec(move || {
                    // dup2 onto itself would leave close-on-exec set: the socket may be fd 3
                    // already.
                    let done = match fd {
                        3 => libc::fcntl(3, libc::F_SETFD, 0),
                        _ => libc::dup2(fd, 3),
                    };
                    if done == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        },
    );
    assert_eq!(service.addr(), addr);
    assert_eq!(get(&addr, "/readyz"), "HTTP/1.1 200 OK");
    drop(listener);
    // Still served: the service owns its copy.
    assert_eq!(get(&addr, "/livez"), "HTTP/1.1 200 OK");
    service.signal(libc::SIGTERM);
    assert_eq!(service.exit(), Some(0));
}

/// `command`, run by `sh` so that `LISTEN_PID` is the pid the program runs as.
fn rebuild_as_shell(command: &Command, program: std::ffi::OsString) -> Command {
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg("LISTEN_PID=$$ exec \"$0\"")
        .arg(program)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => shell.env(key, value),
            None => shell.env_remove(key),
        };
    }
    shell
}

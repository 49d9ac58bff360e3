//! The operating-system signals that start and force shutdown, and how they are heard: outside
//! the runtime, so that no blocked runtime thread, lock or stderr pipe can make one go unheard.
//!
//! On Unix the handler of SIGINT and SIGTERM (installed through `signal-hook-registry`, which
//! chains with any other handler in the process, tokio's included) writes the signal's number to
//! a pipe: one byte per delivery, so two deliveries are two bytes, however close together, and a
//! signal delivered before the reader looks is still in the pipe when it does. tokio's own
//! listener merges deliveries it has not yet read, and drops one delivered between its handler's
//! installation and its receiver's subscription. The watchdog thread reads the pipe
//! (`crate::watchdog`); `wake` writes a 0 so that it looks again at its deadlines.
//!
//! The kernel itself keeps at most one pending instance of a standard signal: a second SIGTERM
//! sent before the first was delivered is merged by the kernel, before any handler can count it.
//! And delivery is not yet handling: the kernel takes a signal off the pending set before its
//! handler runs, so a SIGINT sent just after a SIGTERM was delivered can be handled, and heard,
//! first (on another thread, or nested in the SIGTERM's handler before it writes). The two are
//! then reported, and the forced exit's code chosen, in the order they were heard.

use std::fmt;
use std::time::Duration;

/// A signal that starts shutdown (the first) or forces an immediate exit (the second).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signal {
    /// SIGINT (Ctrl+C in a terminal; Ctrl+C on Windows).
    Interrupt,
    /// SIGTERM (Kubernetes, systemd, `docker stop`).
    Terminate,
    /// Windows Ctrl+Break.
    CtrlBreak,
    /// Windows console window closed.
    CtrlClose,
    /// Windows system shutdown.
    CtrlShutdown,
}

impl Signal {
    /// The exit code of a forced exit: 128 + the signal number (130 for SIGINT, 143 for
    /// SIGTERM), the code a shell reports for a process killed by that signal.
    ///
    /// ```
    /// assert_eq!(graceful::Signal::Terminate.forced_exit_code(), 143);
    /// assert_eq!(graceful::Signal::Interrupt.forced_exit_code(), 130);
    /// ```
    pub fn forced_exit_code(self) -> i32 {
        match self {
            Signal::Terminate => 128 + 15,
            Signal::Interrupt | Signal::CtrlBreak | Signal::CtrlClose | Signal::CtrlShutdown => {
                128 + 2
            }
        }
    }

    /// The conventional name, such as `SIGTERM`.
    ///
    /// ```
    /// assert_eq!(graceful::Signal::Terminate.name(), "SIGTERM");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
            Signal::CtrlBreak => "CTRL_BREAK",
            Signal::CtrlClose => "CTRL_CLOSE",
            Signal::CtrlShutdown => "CTRL_SHUTDOWN",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the watchdog thread waits on: the signals delivered, and wake-ups.
pub(crate) struct Events(os::Events);

impl Events {
    /// Opens the channel from the handlers to the watchdog thread. Nothing is installed yet.
    pub(crate) fn new() -> std::io::Result<Self> {
        os::Events::new().map(Events)
    }

    /// Installs the handlers: from now on every delivered SIGINT and SIGTERM is kept.
    pub(crate) fn install(&self) -> std::io::Result<()> {
        self.0.install()
    }

    /// Lets the calling thread take the signals, whatever mask it inherited.
    pub(crate) fn receive_here(&self) {
        self.0.receive_here()
    }

    /// A handle that wakes [`wait`](Self::wait) from any thread.
    pub(crate) fn waker(&self) -> Waker {
        Waker(self.0.waker())
    }

    /// The signals delivered since the last call, in order; waits for one, or for a wake-up, at
    /// most `timeout` (for ever if `None`). May return early with none.
    pub(crate) fn wait(&self, timeout: Option<Duration>, signals: &mut Vec<Signal>) {
        self.0.wait(timeout, signals)
    }
}

/// SIGINT and SIGTERM kept from this thread until dropped: they stay pending (none is lost)
/// and go to a thread that takes them, or here once dropped.
///
/// signal-hook-registry installs the OS handler a moment before its handler knows the action,
/// and a signal handled in that moment is dropped (it "chains" to the default action, which
/// for a handler means doing nothing). Blocked on every thread of graceful's and on the one
/// that installs, a signal sent then waits instead.
pub(crate) struct Blocked(#[allow(dead_code)] os::Blocked);

impl Blocked {
    pub(crate) fn here() -> Self {
        Blocked(os::Blocked::here())
    }
}

/// Wakes the watchdog thread: cheap, never blocks, callable from any thread.
#[derive(Clone)]
pub(crate) struct Waker(os::Waker);

impl Waker {
    pub(crate) fn wake(&self) {
        self.0.wake()
    }
}

#[cfg(unix)]
#[allow(unsafe_code)]
mod os {
    use std::io;
    use std::os::fd::{AsRawFd, OwnedFd, RawFd};
    use std::sync::Arc;
    use std::time::Duration;

    use super::Signal;

    /// The byte `wake` writes: no signal has number 0.
    const WAKE: u8 = 0;

    pub(super) struct Events {
        read: OwnedFd,
        write: Arc<OwnedFd>,
    }

    #[derive(Clone)]
    pub(super) struct Waker(Arc<OwnedFd>);

    impl Events {
        pub(super) fn new() -> io::Result<Self> {
            // Closed on exec from the start: a child must not inherit them.
            let (read, write) = io::pipe()?;
            let (read, write) = (OwnedFd::from(read), OwnedFd::from(write));
            for fd in [&read, &write] {
                non_blocking(fd.as_raw_fd())?;
            }
            Ok(Events {
                read,
                write: Arc::new(write),
            })
        }

        pub(super) fn install(&self) -> io::Result<()> {
            // SAFETY: getpid cannot fail.
            let pid = unsafe { libc::getpid() };
            for signal in [libc::SIGTERM, libc::SIGINT] {
                let fd = self.write.as_raw_fd();
                let byte = signal as u8;
                // SAFETY: the action calls only async-signal-safe functions (getpid, write,
                // sigaction, raise) on a descriptor that is never closed (the watchdog lives
                // as long as the process); signal-hook-registry saves and restores errno
                // around it. The pipe is non-blocking: with 64 KiB of signals unread a byte is
                // dropped, never waited on.
                let registered = unsafe {
                    signal_hook_registry::register(signal, move || {
                        if libc::getpid() != pid {
                            // A child forked from the service, before or without exec:
                            // graceful's threads do not exist in it, and the pipe is its
                            // parent's. The signal does what it does without graceful.
                            default_action(signal);
                            return;
                        }
                        libc::write(fd, (&raw const byte).cast(), 1);
                    })
                };
                registered?;
            }
            Ok(())
        }

        /// Lets this thread take SIGINT and SIGTERM, whatever mask it inherited (a parent that
        /// blocked them before exec, or code that blocked them before `Config::run`): sent to
        /// the process, they are then always delivered here.
        pub(super) fn receive_here(&self) {
            mask(libc::SIG_UNBLOCK);
        }

        pub(super) fn waker(&self) -> Waker {
            Waker(self.write.clone())
        }

        pub(super) fn wait(&self, timeout: Option<Duration>, signals: &mut Vec<Signal>) {
            let mut poll = libc::pollfd {
                fd: self.read.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // Rounded up, so that a deadline is never checked a little before it.
            let millis = timeout.map_or(-1, |timeout| {
                let millis = timeout.as_nanos().div_ceil(1_000_000);
                i32::try_from(millis).unwrap_or(i32::MAX)
            });
            // SAFETY: one valid pollfd. An interrupted poll (EINTR) is a return with nothing.
            if unsafe { libc::poll(&mut poll, 1, millis) } <= 0 {
                return;
            }
            let mut bytes = [0u8; 64];
            loop {
                // SAFETY: reads at most `bytes.len()` bytes into `bytes`.
                let read = unsafe {
                    libc::read(
                        self.read.as_raw_fd(),
                        bytes.as_mut_ptr().cast(),
                        bytes.len(),
                    )
                };
                let Ok(read @ 1..) = usize::try_from(read) else {
                    return;
                };
                signals.extend(
                    bytes[..read]
                        .iter()
                        .filter_map(|&byte| match i32::from(byte) {
                            libc::SIGTERM => Some(Signal::Terminate),
                            libc::SIGINT => Some(Signal::Interrupt),
                            _ => None,
                        }),
                );
            }
        }
    }

    impl Waker {
        pub(super) fn wake(&self) {
            let byte = WAKE;
            // SAFETY: writes one byte from a live buffer to an open descriptor. A full pipe
            // (EAGAIN) already wakes the reader.
            unsafe { libc::write(self.0.as_raw_fd(), (&raw const byte).cast(), 1) };
        }
    }

    /// SIGINT and SIGTERM blocked on this thread, until dropped (the previous mask back).
    pub(super) struct Blocked(libc::sigset_t);

    impl Blocked {
        pub(super) fn here() -> Self {
            Blocked(mask(libc::SIG_BLOCK))
        }
    }

    impl Drop for Blocked {
        fn drop(&mut self) {
            // SAFETY: the mask pthread_sigmask returned for this thread.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) };
        }
    }

    /// Applies `how` to SIGINT and SIGTERM on this thread; returns the previous mask.
    fn mask(how: libc::c_int) -> libc::sigset_t {
        // SAFETY: sets built with sigemptyset and sigaddset, passed to pthread_sigmask.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut previous: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::pthread_sigmask(how, &set, &mut previous);
            previous
        }
    }

    /// Puts back the default action of `signal` and raises it again: it takes effect when the
    /// handler returns. Async-signal-safe.
    ///
    /// # Safety
    ///
    /// Only from a signal handler of `signal`.
    unsafe fn default_action(signal: libc::c_int) {
        // SAFETY: a zeroed sigaction is SIG_DFL with an empty mask and no flags; sigaction and
        // raise are async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signal, &action, std::ptr::null_mut());
            libc::raise(signal);
        }
    }

    /// Neither end may ever wait: not the handler, not a wake-up, not the reader.
    fn non_blocking(fd: RawFd) -> io::Result<()> {
        // SAFETY: fcntl on a descriptor we own, with flags read from it first.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use std::os::fd::AsRawFd;
        use std::time::Duration;

        use super::{Events, Signal, WAKE};

        /// What the handlers wrote reaches the watchdog in the order they wrote it, in one read,
        /// wake-ups left out: the order it reports signals in, and the forced exit's code,
        /// come from here. (Through the handlers themselves in `tests/lifecycle`: a test here
        /// would leave them installed in the test binary.)
        #[test]
        fn signals_are_read_in_the_order_their_handlers_wrote_them() {
            let events = Events::new().unwrap();
            let bytes = [
                libc::SIGTERM as u8,
                WAKE,
                libc::SIGINT as u8,
                libc::SIGINT as u8,
            ];
            // SAFETY: writes `bytes` to the pipe's open write end.
            let written = unsafe {
                libc::write(events.write.as_raw_fd(), bytes.as_ptr().cast(), bytes.len())
            };
            assert_eq!(written, 4);
            let mut signals = Vec::new();
            events.wait(Some(Duration::from_secs(5)), &mut signals);
            assert_eq!(
                signals,
                [Signal::Terminate, Signal::Interrupt, Signal::Interrupt]
            );
        }
    }
}

/// Elsewhere (Windows), the console events arrive through tokio's listeners, on a thread of
/// their own with a runtime of their own: outside the service's runtime, like on Unix.
#[cfg(not(unix))]
mod os {
    use std::io;
    use std::sync::Mutex;
    use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
    use std::time::Duration;

    use super::Signal;

    pub(super) struct Events {
        sender: Sender<Option<Signal>>,
        receiver: Mutex<Receiver<Option<Signal>>>,
    }

    #[derive(Clone)]
    pub(super) struct Waker(Sender<Option<Signal>>);

    pub(super) struct Blocked;

    impl Blocked {
        pub(super) fn here() -> Self {
            Blocked
        }
    }

    impl Events {
        pub(super) fn new() -> io::Result<Self> {
            let (sender, receiver) = mpsc::channel();
            Ok(Events {
                sender,
                receiver: Mutex::new(receiver),
            })
        }

        pub(super) fn install(&self) -> io::Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (installed, result) = mpsc::channel();
            let sender = self.sender.clone();
            std::thread::Builder::new()
                .name("graceful-console".into())
                .spawn(move || runtime.block_on(listen(sender, installed)))?;
            result
                .recv()
                .unwrap_or_else(|_| Err(io::Error::other("the console listener stopped")))
        }

        pub(super) fn receive_here(&self) {}

        pub(super) fn waker(&self) -> Waker {
            Waker(self.sender.clone())
        }

        pub(super) fn wait(&self, timeout: Option<Duration>, signals: &mut Vec<Signal>) {
            let receiver = self
                .receiver
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let first = match timeout {
                Some(timeout) => receiver.recv_timeout(timeout),
                None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            let Ok(first) = first else { return };
            signals.extend(first);
            signals.extend(receiver.try_iter().flatten());
        }
    }

    impl Waker {
        pub(super) fn wake(&self) {
            let _ = self.0.send(None);
        }
    }

    #[cfg(windows)]
    async fn listen(sender: Sender<Option<Signal>>, installed: Sender<io::Result<()>>) {
        use tokio::signal::windows;
        let listeners = (|| {
            Ok::<_, io::Error>((
                windows::ctrl_c()?,
                windows::ctrl_break()?,
                windows::ctrl_close()?,
                windows::ctrl_shutdown()?,
            ))
        })();
        let (mut ctrl_c, mut ctrl_break, mut ctrl_close, mut ctrl_shutdown) = match listeners {
            Ok(listeners) => {
                let _ = installed.send(Ok(()));
                listeners
            }
            Err(error) => {
                let _ = installed.send(Err(error));
                return;
            }
        };
        loop {
            let signal = tokio::select! {
                Some(()) = ctrl_c.recv() => Signal::Interrupt,
                Some(()) = ctrl_break.recv() => Signal::CtrlBreak,
                Some(()) = ctrl_close.recv() => Signal::CtrlClose,
                Some(()) = ctrl_shutdown.recv() => Signal::CtrlShutdown,
                else => return,
            };
            if sender.send(Some(signal)).is_err() {
                return;
            }
        }
    }

    #[cfg(not(windows))]
    async fn listen(_: Sender<Option<Signal>>, installed: Sender<io::Result<()>>) {
        let _ = installed.send(Err(io::Error::other("no signals on this platform")));
    }
}

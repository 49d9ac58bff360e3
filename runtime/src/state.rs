//! What every handle of one service shares: its settings, the trigger, where graceful's lines
//! go, how far the lifecycle got, and the subsystems: the task group, the resources to close,
//! and the item resources opened (by type) or opening. Each module asks for the part it needs;
//! none of them belongs here.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use crate::Config;
use crate::in_process::{InProcess, Step};
use crate::log::Log;
use crate::main_status::MainStatus;
use crate::progress::Progress;
use crate::resources::{Provided, Resources};
use crate::tasks::TaskGroup;
use crate::trigger::Trigger;

pub(crate) struct State {
    config: Config,
    /// Shared with the task group (whose failures start shutdown) and with `Readiness`.
    trigger: Arc<Trigger>,
    /// Where graceful's own events go (the subscriber of the code that called `Config::run`).
    log: Log,
    progress: AtomicU8,
    /// `main`'s body (with the item resources' opening, which starts it).
    main: MainStatus,
    tasks: Arc<TaskGroup>,
    resources: Resources,
    provided: Provided,
    /// Set for a run of the test kit, in-process.
    in_process: Option<InProcess>,
    /// When the drain ends, set by the sequence at the trigger: a server that must end its
    /// streams itself before it is aborted (a gRPC status is a frame) reads it.
    drain_deadline: OnceLock<tokio::time::Instant>,
}

impl State {
    pub(crate) fn new(config: Config) -> Arc<Self> {
        Self::with(config, None)
    }

    /// The state of a run of the test kit (no process around it), or with `standalone` of a
    /// handle that no sequence runs.
    pub(crate) fn new_in_process(config: Config, standalone: bool) -> Arc<Self> {
        Self::with(config, Some(InProcess::new(standalone)))
    }

    fn with(config: Config, in_process: Option<InProcess>) -> Arc<Self> {
        let log = match in_process {
            None => Log::here(),
            Some(_) => Log::here().quiet(),
        };
        let trigger = Arc::new(Trigger::new(config.timeout));
        Arc::new(State {
            tasks: TaskGroup::new(trigger.clone(), log.clone()),
            resources: Resources::new(config.clone(), log.clone()),
            provided: Provided::default(),
            progress: AtomicU8::new(Progress::Building as u8),
            main: MainStatus::default(),
            in_process,
            drain_deadline: OnceLock::new(),
            config,
            trigger,
            log,
        })
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn trigger(&self) -> &Arc<Trigger> {
        &self.trigger
    }

    pub(crate) fn log(&self) -> &Log {
        &self.log
    }

    pub(crate) fn tasks(&self) -> &Arc<TaskGroup> {
        &self.tasks
    }

    pub(crate) fn resources(&self) -> &Resources {
        &self.resources
    }

    pub(crate) fn provided(&self) -> &Provided {
        &self.provided
    }

    pub(crate) fn enter(&self, progress: Progress) {
        self.progress.store(progress as u8, Ordering::Release);
        self.trigger.wake_observer();
        if let Some(in_process) = &self.in_process {
            let step = match progress {
                Progress::Building | Progress::Running => return,
                Progress::DrainDelay => Step::DrainDelay,
                Progress::Draining | Progress::Stopping => Step::Draining,
                Progress::Closing | Progress::Finishing => Step::Closing,
            };
            in_process.reach(step);
        }
    }

    /// What a run of the test kit adds; `None` in a process of its own.
    pub(crate) fn in_process(&self) -> Option<&InProcess> {
        self.in_process.as_ref()
    }

    pub(crate) fn progress(&self) -> Progress {
        Progress::from_u8(self.progress.load(Ordering::Acquire))
    }

    pub(crate) fn main(&self) -> &MainStatus {
        &self.main
    }

    /// The service has started (`main`'s body returned `Ok`, or said so): systemd hears
    /// `READY=1`.
    pub(crate) fn mark_started(&self) {
        if self.main.mark_started() {
            self.trigger.wake_observer();
        }
    }

    /// When the drain ends and what still runs is aborted, once the sequence has begun
    /// shutdown (never for a handle that no sequence runs).
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn drain_deadline(&self) -> Option<tokio::time::Instant> {
        self.drain_deadline.get().copied()
    }

    pub(crate) fn set_drain_deadline(&self, at: tokio::time::Instant) {
        let _ = self.drain_deadline.set(at);
    }
}

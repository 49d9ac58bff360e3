//! Medians, ranges and ratios over repeated runs, printed as markdown rows.

use std::fmt::Write;

/// Repeated measurements of one quantity.
#[derive(Clone, Debug, Default)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    pub fn push(&mut self, value: f64) {
        self.0.push(value);
    }

    fn sorted(&self) -> Vec<f64> {
        let mut values = self.0.clone();
        values.sort_by(f64::total_cmp);
        values
    }

    pub fn median(&self) -> f64 {
        let values = self.sorted();
        let n = values.len();
        assert!(n > 0, "no samples");
        if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        }
    }

    pub fn min(&self) -> f64 {
        self.sorted()[0]
    }

    pub fn max(&self) -> f64 {
        *self.sorted().last().expect("no samples")
    }

    /// `median (min–max)` with `digits` decimals.
    pub fn show(&self, digits: usize) -> String {
        format!(
            "{:.digits$} ({:.digits$}–{:.digits$})",
            self.median(),
            self.min(),
            self.max()
        )
    }
}

/// graceful and the baseline measured in interleaved rounds.
#[derive(Clone, Debug, Default)]
pub struct Pair {
    pub graceful: Samples,
    pub baseline: Samples,
}

impl Pair {
    /// graceful / baseline per round, so that a slow moment of the machine hits both sides.
    pub fn ratios(&self) -> Samples {
        Samples(
            self.graceful
                .0
                .iter()
                .zip(&self.baseline.0)
                .map(|(graceful, baseline)| graceful / baseline)
                .collect(),
        )
    }

    /// A table row for a cost (lower is better): what, graceful, baseline, ratio, target and
    /// whether the median ratio meets it.
    pub fn row(&self, what: &str, digits: usize, ceiling: f64) -> String {
        let met = self.ratios().median() <= ceiling;
        self.format_row(what, digits, &format!("≤ {ceiling:.2}×"), met)
    }

    /// A table row for a rate (higher is better).
    pub fn row_floor(&self, what: &str, digits: usize, floor: f64) -> String {
        let met = self.ratios().median() >= floor;
        self.format_row(what, digits, &format!("≥ {floor:.2}×"), met)
    }

    fn format_row(&self, what: &str, digits: usize, target: &str, met: bool) -> String {
        let verdict = if met { "met" } else { "**missed**" };
        format!(
            "| {what} | {} | {} | {} | {target} {verdict} |",
            self.graceful.show(digits),
            self.baseline.show(digits),
            self.ratios().show(3),
        )
    }
}

pub const PAIR_HEADER: &str = "| measure | graceful, median (min–max) | baseline, median (min–max) | ratio, median (min–max) | target |\n|---|---|---|---|---|";

/// graceful, the baseline and the two peers (issue 17), measured in interleaved rounds. Each is
/// given as its ratio to the baseline per round; a peer not measured on a row has no samples.
#[derive(Clone, Debug, Default)]
pub struct Sides {
    pub graceful: Samples,
    pub baseline: Samples,
    pub tokio_graceful: Samples,
    pub tokio_graceful_shutdown: Samples,
}

pub const SIDES_HEADER: &str = "| measure | graceful, median (min–max) | baseline, median (min–max) | graceful ratio | tokio-graceful ratio | tokio-graceful-shutdown ratio | target for graceful |\n|---|---|---|---|---|---|---|";

impl Sides {
    fn ratio_to_baseline(&self, side: &Samples) -> String {
        if side.0.is_empty() {
            return "—".to_owned();
        }
        Pair {
            graceful: side.clone(),
            baseline: self.baseline.clone(),
        }
        .ratios()
        .show(3)
    }

    /// A table row for a cost (lower is better); the verdict is graceful's median ratio
    /// against `ceiling`.
    pub fn row(&self, what: &str, digits: usize, ceiling: f64) -> String {
        let graceful = Pair {
            graceful: self.graceful.clone(),
            baseline: self.baseline.clone(),
        };
        let verdict = if graceful.ratios().median() <= ceiling {
            "met"
        } else {
            "**missed**"
        };
        self.format_row(what, digits, &format!("≤ {ceiling:.2}× {verdict}"))
    }

    /// A row of detail, with no target.
    pub fn detail_row(&self, what: &str, digits: usize) -> String {
        self.format_row(what, digits, "")
    }

    fn format_row(&self, what: &str, digits: usize, target: &str) -> String {
        format!(
            "| {what} | {} | {} | {} | {} | {} | {target} |",
            self.graceful.show(digits),
            self.baseline.show(digits),
            self.ratio_to_baseline(&self.graceful),
            self.ratio_to_baseline(&self.tokio_graceful),
            self.ratio_to_baseline(&self.tokio_graceful_shutdown),
        )
    }
}

/// The date, the machine and the toolchain, for the report's header.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("MemTotal"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or_else(String::new, |kb| format!(", {} GiB", kb / (1024 * 1024)));
    let date = command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let rustc = command_line("rustc", &["--version"]);
    let mut out = String::new();
    let _ = write!(
        out,
        "{date}; {cores} cores ({cpu}{memory}); {rustc}; release profile"
    );
    out
}

fn command_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}

//! What the machine and the server process were doing: CPU use from `/proc/stat`, a process's
//! memory from `/proc/<pid>/status`.

use std::time::Duration;

/// The kernel's cumulative CPU counters (all cores), in clock ticks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CpuTimes {
    busy: u64,
    total: u64,
}

impl CpuTimes {
    /// Reads the first line of `/proc/stat`; `None` where there is no such file.
    pub(crate) fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|field| field.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest time is inside user).
        let total: u64 = fields.iter().take(8).sum();
        let idle = fields.get(3).copied()? + fields.get(4).copied().unwrap_or(0);
        Some(Self {
            busy: total - idle,
            total,
        })
    }

    /// The share of all cores that was busy since `earlier`, in percent.
    pub(crate) fn busy_since(self, earlier: Self) -> f64 {
        let total = self.total.saturating_sub(earlier.total);
        if total == 0 {
            return 0.0;
        }
        100.0 * self.busy.saturating_sub(earlier.busy) as f64 / total as f64
    }
}

/// How busy the machine is with nothing of ours running: CPU use over `window`, the load
/// average, and the number of cores.
pub(crate) async fn idle_reading(window: Duration) -> String {
    let before = CpuTimes::now();
    tokio::time::sleep(window).await;
    let busy = match (before, CpuTimes::now()) {
        (Some(before), Some(after)) => format!("{:.0} %", after.busy_since(before)),
        _ => "unknown".to_owned(),
    };
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!(
        "{cores} cores; before the run: {busy} CPU busy over {:.1} s, 1-minute load {load}",
        window.as_secs_f64()
    )
}

/// A process's resident memory, in MiB: (all of it, the anonymous part). The anonymous part
/// is the heap and stacks; the rest is the mapped binary and libraries.
pub(crate) fn resident_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
    };
    Some((field("VmRSS:")?, field("RssAnon:")?))
}

/// The peak resident memory of process `pid` so far (`VmHWM`), in MiB.
pub(crate) fn peak_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<f64>().ok())
        .map(|kib| kib / 1024.0)
}

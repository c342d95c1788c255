//! Peak resident memory of one workload, as Linux counts it: `VmHWM` in /proc/self/status, reset
//! to the present resident size before the workload by writing `5` to /proc/self/clear_refs.
//!
//! Memory that an earlier workload of the same process freed but the allocator kept (see
//! `allocator.rs`) still counts after the reset: run one training workload per process
//! (`benches/compare.py` does) for a figure comparable with PyTorch's.

/// Resets the peak to the present resident size; false where the kernel refuses (then the peak
/// covers the whole process so far).
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The peak resident size since the last reset (or the process start), in MiB; `None` off Linux.
pub fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// Prints `RESULT convkit <label>-rss <MiB> <MiB> <MiB> MiB` (one figure: the peak over all the
/// workload's repetitions), with a comment line when the peak could not be reset.
pub fn report(label: &str, was_reset: bool) {
    let Some(mib) = peak_mib() else {
        println!("# {label}-rss: no /proc/self/status here, peak RSS not measured");
        return;
    };
    if !was_reset {
        println!("# {label}-rss: /proc/self/clear_refs refused, the peak covers the whole process");
    }
    println!("RESULT convkit {label}-rss {mib:.1} {mib:.1} {mib:.1} MiB");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_follows_a_large_allocation_and_resets() {
        if !reset_peak() {
            return; // not Linux, or a kernel without clear_refs: nothing to check
        }
        let before = peak_mib().unwrap();
        let big = vec![1u8; 256 << 20];
        let touched: u64 = big.iter().step_by(4096).map(|&b| b as u64).sum();
        assert_eq!(touched, (256 << 20) / 4096);
        let peak = peak_mib().unwrap();
        assert!(peak >= before + 200.0, "{before} MiB → {peak} MiB");
        drop(big);
        assert!(reset_peak());
        assert!(peak_mib().unwrap() < peak - 200.0);
    }
}

//! One command for the speed figures: `cargo bench --bench speed` runs the other benchmarks
//! (each a `cargo bench` of its own, so each keeps its own setup and environment variables)
//! and prints one Markdown table with the machine it ran on.
//!
//! Every benchmark prints its table rows as lines starting with `| `; the hostile-input shapes
//! (criterion) are read from criterion's `time: [low mid high]` lines. The load average before
//! and after is printed, since the machine may be shared. `SPEED_ONLY=send,api_load` runs a
//! subset; `BENCH_BACKEND=pg` switches the gateway benchmarks to PostgreSQL as usual.

use std::process::Command;

/// (label, cargo arguments) of every benchmark, in table order, run as the README names them.
const BENCHES: &[(&str, &[&str])] = &[
    ("hostile", &["bench", "-p", "ksef-fa3", "--bench", "hostile"]),
    ("intake", &["bench", "--bench", "intake"]),
    ("send", &["bench", "--bench", "send"]),
    ("api_load", &["bench", "--bench", "api_load"]),
    ("memory", &["bench", "--bench", "memory"]),
];

fn main() {
    let only = std::env::var("SPEED_ONLY").ok();
    let wanted = |name: &str| only.as_deref().is_none_or(|list| list.split(',').any(|n| n.trim() == name));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let load_before = load_average();
    let mut rows = Vec::new();
    for (name, args) in BENCHES.iter().filter(|(name, _)| wanted(name)) {
        eprintln!("speed: running {name} ({cargo} {})", args.join(" "));
        let output = match Command::new(&cargo).args(*args).output() {
            Ok(output) => output,
            Err(e) => {
                rows.push(format!("| {name} | could not run: {e} |"));
                continue;
            }
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        let found = if *name == "hostile" { criterion_rows(&stdout) } else { table_rows(&stdout) };
        if !output.status.success() || found.is_empty() {
            rows.push(format!("| {name} | failed ({}); run it alone to see why |", output.status));
        }
        rows.extend(found);
    }
    println!("\nMachine: {}; load average before {load_before}, after {}", machine(), load_average());
    println!("\n| figure | result |\n|---|---|");
    for row in rows {
        println!("{row}");
    }
}

fn table_rows(stdout: &str) -> Vec<String> {
    stdout.lines().filter(|l| l.starts_with("| ")).map(str::to_owned).collect()
}

/// `hostile/<shape> time: [low mid high]` (criterion may break the line after a long name).
fn criterion_rows(stdout: &str) -> Vec<String> {
    let mut rows = Vec::new();
    let mut shape = None;
    for line in stdout.lines() {
        if let Some(name) = line.split_whitespace().find(|w| w.starts_with("hostile/")) {
            shape = Some(name.trim_start_matches("hostile/").to_owned());
        }
        let Some(times) = line.split_once("time:").map(|(_, t)| t) else { continue };
        let Some(name) = shape.take() else { continue };
        let mid: Vec<&str> = times.trim().trim_matches(['[', ']']).split_whitespace().collect();
        if let [_, _, value, unit, ..] = mid.as_slice() {
            rows.push(format!("| hostile 990 kB shape `{name}`, full pre-flight | {value} {unit} |"));
        }
    }
    rows
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    format!("{cpu}, {cores} cores")
}

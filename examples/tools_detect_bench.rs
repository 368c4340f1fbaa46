//! Benchmark (figures, never pass/fail): `configure-tools` detection of every tool present
//! (`tools::engine::detect`: PATH walk, every version command in parallel under its deadline)
//! against the slowest single `TOOL --version` run alone, interleaved round by round in the same
//! run. Run by `bench/tools_detect.sh`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use trust_proxy::tools::{self, engine, Os};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(15);
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let os = Os::current();
    let all = tools::all();
    let present: Vec<_> = all
        .iter()
        .filter_map(|t| {
            let (program, args) = t.version_command();
            engine::find_program(program, &env, os).map(|p| (t.id(), p, args))
        })
        .collect();
    if present.is_empty() {
        eprintln!("no known tool on PATH: nothing to measure");
        std::process::exit(1);
    }
    println!(
        "tools known: {}; present: {}",
        all.len(),
        present
            .iter()
            .map(|(id, p, _)| format!("{} ({})", id.as_str(), p.display()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // Warm-up: page cache, Python's .pyc files.
    let _ = engine::detect(&all, &env, os, engine::VERSION_DEADLINE);
    let mut detect_times = Vec::new();
    let mut slowest_times = Vec::new();
    let mut per_tool: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for round in 0..rounds {
        let mut singles = Vec::new();
        let time_detect = || {
            let started = Instant::now();
            let found = engine::detect(&all, &env, os, engine::VERSION_DEADLINE);
            let took = started.elapsed();
            assert_eq!(
                found.iter().filter(|d| d.found.is_ok()).count(),
                present.len(),
                "a tool failed its version command"
            );
            took
        };
        // Alternate which goes first, so neither always runs on a warmer cache.
        if round % 2 == 0 {
            detect_times.push(time_detect());
        }
        for (id, program, args) in &present {
            let started = Instant::now();
            engine::run_bounded(program, args, engine::VERSION_DEADLINE)
                .unwrap_or_else(|e| panic!("{}: {e}", id.as_str()));
            let took = started.elapsed();
            per_tool.entry(id.as_str()).or_default().push(took);
            singles.push(took);
        }
        if round % 2 == 1 {
            detect_times.push(time_detect());
        }
        slowest_times.push(singles.into_iter().max().unwrap_or_default());
    }
    for (tool, times) in per_tool {
        println!("  {tool:<8} --version alone: median {:?}", median(times));
    }
    let detect = median(detect_times);
    let slowest = median(slowest_times);
    println!("detection of every tool present: median {detect:?} over {rounds} rounds");
    println!("slowest single TOOL --version:    median {slowest:?}");
    println!(
        "ratio detection / slowest single: {:.2}",
        detect.as_secs_f64() / slowest.as_secs_f64().max(f64::EPSILON)
    );
}

//! `pt2 bench programs DIR`: per fixture archive, pt2's load time, median inference latency on
//! the first recorded input set and peak resident memory, beside PyTorch's
//! (`tools/anchor_bench.py`: `torch.export.load`, `ep.module()` under `no_grad`), at each
//! requested thread count.
//!
//! Every archive runs in a process of its own, pt2's (`pt2 bench program-one`) and PyTorch's
//! alike, so that each peak RSS is that program's alone.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ops::Value;
use serde_json::Value as Json;

use crate::conformance::fixture::{value_of, TensorStore};

/// One run's figures, pt2's or PyTorch's.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    pub load_ms: f64,
    pub run_ms: f64,
    /// The process's peak resident set, MiB.
    pub peak_rss_mb: f64,
}

/// One archive at one thread count.
pub struct ProgramTiming {
    pub case: String,
    pub archive: String,
    pub threads: usize,
    pub pt2: Result<Figures, String>,
    pub torch: Option<Result<Figures, String>>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// This process's peak resident set in MiB (Linux's `VmHWM`; 0 where it is not reported).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Times one archive in this process: load (median of 5), then `runs` calls on the case's
/// first input set after 3 warm-up calls.
pub fn time_one(case_dir: &Path, archive: &str, runs: usize) -> Result<Figures, String> {
    crate::conformance::programs::register_custom_op_as_relu(ops::Registry::global())?;
    let case: Json = serde_json::from_str(&std::fs::read_to_string(case_dir.join("case.json")).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let store = TensorStore::load_referenced(&case_dir.join("io.safetensors"), &case["sets"][0]["inputs"])?;
    let path = case_dir.join(archive);
    let load_ms = median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                let _ = serialize::load(&path);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    );
    let ep = serialize::load(&path).map_err(|e| e.to_string())?;
    let module = ep.module().map_err(|e| e.to_string())?;
    let inputs: Vec<Value> = case["sets"][0]["inputs"].as_array().ok_or("no input set")?.iter().map(|v| value_of(v, &store)).collect::<Result<_, _>>()?;
    for _ in 0..3 {
        module.call_flat(inputs.clone()).map_err(|e| e.to_string())?;
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        module.call_flat(inputs.clone()).map_err(|e| e.to_string())?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(Figures { load_ms, run_ms: median(times), peak_rss_mb: peak_rss_mb() })
}

/// The figures line `pt2 bench program-one` prints.
pub fn figures_json(f: &Result<Figures, String>) -> String {
    match f {
        Ok(f) => serde_json::json!({"load_ms": f.load_ms, "run_ms": f.run_ms, "peak_rss_mb": f.peak_rss_mb}).to_string(),
        Err(e) => serde_json::json!({"error": e}).to_string(),
    }
}

fn parse_figures(line: &str) -> Result<Figures, String> {
    let j: Json = serde_json::from_str(line).map_err(|e| format!("unreadable figures `{line}`: {e}"))?;
    if let Some(e) = j["error"].as_str() {
        return Err(e.to_string());
    }
    let num = |k: &str| j[k].as_f64().ok_or_else(|| format!("figures without {k}: {line}"));
    Ok(Figures { load_ms: num("load_ms")?, run_ms: num(if j["run_ms"].is_null() { "run_ms_median" } else { "run_ms" })?, peak_rss_mb: num(if j["peak_rss_mb"].is_null() { "maxrss_mb" } else { "peak_rss_mb" })? })
}

/// The last line of a child's output as figures.
fn child_figures(mut cmd: Command, what: &str) -> Result<Figures, String> {
    let out = cmd.output().map_err(|e| format!("cannot run {what}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().rev().find(|l| l.trim_start().starts_with('{')) {
        Some(line) => parse_figures(line),
        None => Err(format!("{what} printed no figures: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or_default())),
    }
}

/// Times every archive under `dir` at each thread count, each in a fresh process; PyTorch's
/// figures too when `python` is given.
pub fn run(dir: &Path, runs: usize, threads: &[usize], python: Option<&str>) -> Result<Vec<ProgramTiming>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the pt2 executable: {e}"))?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/anchor_bench.py");
    let mut out = Vec::new();
    for case_dir in crate::conformance::programs::case_dirs(dir)? {
        let case: Json = serde_json::from_str(&std::fs::read_to_string(case_dir.join("case.json")).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        let name = case["name"].as_str().unwrap_or_default().to_string();
        for archive in ["program.pt2", "program.core.pt2"] {
            if !case_dir.join(archive).exists() {
                continue;
            }
            for &t in threads {
                let mut ours = Command::new(&exe);
                ours.args(["bench", "program-one"]).arg(&case_dir).arg(archive).args(["--runs", &runs.to_string(), "--threads", &t.to_string()]);
                let pt2 = child_figures(ours, "pt2 bench program-one");
                let torch = python.map(|py| {
                    let mut theirs = Command::new(py);
                    theirs.arg(&script).arg(dir).arg(runs.to_string()).env("THREADS", t.to_string()).env("ONLY", format!("{name}/{archive}"));
                    child_figures(theirs, &script.display().to_string())
                });
                out.push(ProgramTiming { case: name.clone(), archive: archive.to_string(), threads: t, pt2, torch });
            }
        }
    }
    Ok(out)
}

/// The figures as a table: printed (`markdown` false) or markdown.
pub fn report(timings: &[ProgramTiming], markdown: bool) -> String {
    let fmt = |v: Option<f64>, digits: usize, suffix: &str| v.map(|x| format!("{x:.digits$}{suffix}")).unwrap_or_else(|| "-".into());
    let mut s = String::new();
    if markdown {
        s.push_str("| program | threads | pt2 ms | PyTorch ms | pt2/PyTorch | pt2 peak RSS MiB | PyTorch peak RSS MiB | RSS ratio |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    } else {
        s.push_str(&format!(
            "{:<38} {:>3} {:>8} {:>9} {:>9} {:>10} {:>9} {:>9} {:>8} {:>9} {:>7}\n",
            "program", "thr", "load ms", "torch ms", "speedup", "run ms", "torch ms", "pt2/torch", "RSS MiB", "torch RSS", "ratio"
        ));
    }
    let mut by_threads: std::collections::BTreeMap<usize, (Vec<f64>, Vec<f64>)> = Default::default();
    let mut load_ratios = Vec::new();
    for t in timings {
        let name = format!("{}/{}", t.case, t.archive.trim_end_matches(".pt2"));
        let ours = t.pt2.as_ref().ok();
        let theirs = t.torch.as_ref().and_then(|r| r.as_ref().ok());
        let ratio = |f: fn(&Figures) -> f64| match (ours, theirs) {
            (Some(a), Some(b)) if f(b) > 0.0 => Some(f(a) / f(b)),
            _ => None,
        };
        let (run_ratio, rss_ratio, load_speedup) = (ratio(|f| f.run_ms), ratio(|f| f.peak_rss_mb), ratio(|f| f.load_ms).map(|r| 1.0 / r));
        let entry = by_threads.entry(t.threads).or_default();
        entry.0.extend(run_ratio);
        entry.1.extend(rss_ratio);
        load_ratios.extend(load_speedup);
        let error = match (&t.pt2, &t.torch) {
            (Err(e), _) => format!("  (pt2: {})", e.chars().take(60).collect::<String>()),
            (_, Some(Err(e))) => format!("  (PyTorch: {})", e.chars().take(60).collect::<String>()),
            _ => String::new(),
        };
        if markdown {
            s.push_str(&format!(
                "| {name} | {} | {} | {} | {} | {} | {} | {} |\n",
                t.threads,
                fmt(ours.map(|f| f.run_ms), 2, ""),
                fmt(theirs.map(|f| f.run_ms), 2, ""),
                fmt(run_ratio, 2, "×"),
                fmt(ours.map(|f| f.peak_rss_mb), 0, ""),
                fmt(theirs.map(|f| f.peak_rss_mb), 0, ""),
                fmt(rss_ratio, 2, "×"),
            ));
        } else {
            s.push_str(&format!(
                "{:<38} {:>3} {:>8} {:>9} {:>9} {:>10} {:>9} {:>9} {:>8} {:>9} {:>7}{error}\n",
                name,
                t.threads,
                fmt(ours.map(|f| f.load_ms), 2, ""),
                fmt(theirs.map(|f| f.load_ms), 1, ""),
                fmt(load_speedup, 0, "x"),
                fmt(ours.map(|f| f.run_ms), 2, ""),
                fmt(theirs.map(|f| f.run_ms), 2, ""),
                fmt(run_ratio, 3, "x"),
                fmt(ours.map(|f| f.peak_rss_mb), 0, ""),
                fmt(theirs.map(|f| f.peak_rss_mb), 0, ""),
                fmt(rss_ratio, 2, "x"),
            ));
        }
    }
    let geo = |v: &[f64]| if v.is_empty() { f64::NAN } else { (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp() };
    s.push('\n');
    for (threads, (runs, rss)) in &by_threads {
        s.push_str(&format!(
            "{threads} thread(s): inference time {:.2}× PyTorch eager, peak RSS {:.2}× PyTorch's (geometric means over {} programs)\n",
            geo(runs),
            geo(rss),
            runs.len()
        ));
    }
    if !load_ratios.is_empty() {
        s.push_str(&format!("load: {:.0}× faster than torch.export.load (geometric mean)\n", geo(&load_ratios)));
    }
    s
}

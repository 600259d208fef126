//! `pt2 bench programs DIR`: per fixture archive, pt2's load time and median inference latency
//! on the first recorded input set, beside PyTorch's (`tools/anchor_bench.py`) as ratios.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ops::Value;
use serde_json::Value as Json;

use crate::conformance::fixture::{value_of, TensorStore};

/// One archive's figures.
pub struct ProgramTiming {
    pub case: String,
    pub archive: String,
    pub load_ms: f64,
    pub run_ms: Option<f64>,
    pub error: Option<String>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn time_archive(path: &Path, case: &Json, store: &TensorStore, runs: usize) -> (f64, Result<f64, String>) {
    let load_ms = median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                let _ = serialize::load(path);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    );
    let run = (|| -> Result<f64, String> {
        let ep = serialize::load(path).map_err(|e| e.to_string())?;
        let module = ep.module().map_err(|e| e.to_string())?;
        let inputs: Vec<Value> = case["sets"][0]["inputs"]
            .as_array()
            .ok_or("no input set")?
            .iter()
            .map(|v| value_of(v, store))
            .collect::<Result<_, _>>()?;
        for _ in 0..3 {
            module.call_flat(inputs.clone()).map_err(|e| e.to_string())?;
        }
        let times = (0..runs)
            .map(|_| {
                let t = Instant::now();
                let r = module.call_flat(inputs.clone());
                (t.elapsed().as_secs_f64() * 1e3, r.is_ok())
            })
            .collect::<Vec<_>>();
        Ok(median(times.into_iter().map(|(t, _)| t).collect()))
    })();
    (load_ms, run)
}

/// Times every archive under `dir`.
pub fn run(dir: &Path, runs: usize) -> Result<Vec<ProgramTiming>, String> {
    crate::conformance::programs::register_custom_op_as_relu(ops::Registry::global())?;
    let mut out = Vec::new();
    for case_dir in crate::conformance::programs::case_dirs(dir)? {
        let case: Json = serde_json::from_str(&std::fs::read_to_string(case_dir.join("case.json")).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        let store = TensorStore::load(&case_dir.join("io.safetensors"))?;
        for archive in ["program.pt2", "program.core.pt2"] {
            let path = case_dir.join(archive);
            if !path.exists() {
                continue;
            }
            let (load_ms, run) = time_archive(&path, &case, &store, runs);
            out.push(ProgramTiming {
                case: case["name"].as_str().unwrap_or_default().to_string(),
                archive: archive.to_string(),
                load_ms,
                run_ms: run.as_ref().ok().copied(),
                error: run.err(),
            });
        }
    }
    Ok(out)
}

/// PyTorch's figures from `tools/anchor_bench.py`: (case, archive) -> (load ms, run ms).
pub fn torch_figures(python: &str, dir: &Path, runs: usize, threads: usize) -> Result<Vec<(String, String, f64, f64)>, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/anchor_bench.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(dir)
        .arg(runs.to_string())
        .env("THREADS", threads.to_string())
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Json>(l).ok())
        .filter_map(|j| {
            Some((
                j["case"].as_str()?.to_string(),
                j["prog"].as_str()?.to_string(),
                j["load_ms"].as_f64()?,
                j["run_ms_median"].as_f64()?,
            ))
        })
        .collect())
}

//! `pt2 bench kernels`: GFLOP/s of the kernels that dominate inference (float32 matrix
//! multiply and 3×3 convolution), beside the machine's rough peak and, when a Python with
//! torch is given, beside PyTorch eager on the same threads.

use ops::names::aten;
use std::process::Command;
use std::time::Instant;

use ops::{Registry, Value};
use tensor::Tensor;

/// One benchmarked kernel.
pub struct Kernel {
    pub name: &'static str,
    pub description: String,
    pub flops: f64,
    pub seconds: f64,
}

/// A deterministic pseudo-random f32 tensor in [-1, 1) (the values do not matter for timing,
/// but denormals and NaNs would): the front end's seeded generator.
fn random(shape: &[usize], seed: u64) -> Tensor {
    export::Tensor::rand_uniform(shape, seed).data()
}

fn median_seconds(repeats: usize, mut f: impl FnMut()) -> f64 {
    // warm up for a quarter second: page faults, thread pool start, buffers, the clock
    // (tools/bench_torch_kernels.py does the same)
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < 0.25 {
        f();
    }
    let mut times: Vec<f64> = (0..repeats)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

fn call(op: ops::OpName, args: Vec<Value>) -> Value {
    Registry::global().call(op, args, vec![]).unwrap_or_else(|e| panic!("bench: {op} failed: {e}"))
}

/// Runs the kernels on the current rayon pool.
pub fn run_kernels() -> Vec<Kernel> {
    let mut out = Vec::new();
    for (n, reps) in [(512usize, 50usize), (2048, 10)] {
        let (a, b) = (random(&[n, n], 1), random(&[n, n], 2));
        let seconds = median_seconds(reps, || {
            call(aten::mm, vec![a.clone().into(), b.clone().into()]);
        });
        out.push(Kernel {
            name: if n == 512 { "matmul_512" } else { "matmul_2048" },
            description: format!("matmul f32 {n}x{n}x{n}"),
            flops: 2.0 * (n as f64).powi(3),
            seconds,
        });
    }
    let x = random(&[8, 64, 56, 56], 3);
    let w = random(&[64, 64, 3, 3], 4);
    let bias = random(&[64], 5);
    let ints = |v: &[i64]| Value::List(v.iter().map(|&i| Value::Int(i)).collect());
    let seconds = median_seconds(30, || {
        call(
            aten::convolution,
            vec![
                x.clone().into(),
                w.clone().into(),
                bias.clone().into(),
                ints(&[1, 1]),
                ints(&[1, 1]),
                ints(&[1, 1]),
                Value::Bool(false),
                ints(&[0, 0]),
                Value::Int(1),
            ],
        );
    });
    out.push(Kernel {
        name: "conv3x3",
        description: "conv2d f32 3x3, batch 8, 64->64 channels, 56x56, padding 1".into(),
        flops: 2.0 * 8.0 * 64.0 * 56.0 * 56.0 * 64.0 * 9.0,
        seconds,
    });
    out
}

/// The machine's rough float32 peak and how it was derived.
pub fn peak_gflops(threads: usize) -> (f64, String) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let mhz = cpuinfo.lines().find(|l| l.starts_with("cpu MHz")).and_then(|l| l.split(':').nth(1)).and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(2000.0);
    let amd = cpuinfo.contains("AuthenticAMD");
    let avx512 = cpuinfo.contains(" avx512f");
    let fma = cpuinfo.contains(" fma");
    // the widest vector the CPU reports; Zen 4 splits AVX-512 into two 256-bit halves, for
    // which this peak is twice too high (Zen 5 and Intel have the full width)
    let lanes = if avx512 {
        16.0
    } else if fma {
        8.0
    } else {
        4.0
    };
    let pipes = 2.0;
    let flops_per_fma = if fma { 2.0 } else { 1.0 };
    let peak = threads as f64 * pipes * lanes * flops_per_fma * mhz / 1000.0;
    let how = format!(
        "{threads} threads x {pipes} FMA pipes x {lanes} f32 lanes x {flops_per_fma} flops x {:.2} GHz (/proc/cpuinfo's clock, often the nominal one: turbo can run above it{})",
        mhz / 1000.0,
        if amd && avx512 { "; on Zen 4, which halves AVX-512, the peak is half this" } else { "" }
    );
    (peak, how)
}

/// Runs `tools/bench_torch_kernels.py` with `python`, returning seconds per kernel name.
pub fn torch_seconds(python: &str, script: &std::path::Path, threads: usize) -> Result<Vec<(String, f64)>, String> {
    let out = Command::new(python).arg(script).args(["--threads", &threads.to_string()]).output().map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr)));
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("bad output from {}: {e}", script.display()))?;
    Ok(json.as_object().map(|m| m.iter().filter_map(|(k, v)| v.as_f64().map(|s| (k.clone(), s))).collect()).unwrap_or_default())
}

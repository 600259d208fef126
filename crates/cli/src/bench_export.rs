//! `pt2 bench export`: export time per catalogue case, beside `torch.export.export` for the
//! same program (tools/bench_torch_export.py) when a Python with torch is given.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// Median seconds to export each case that exports (the case's model built once).
pub fn pt2_seconds(runs: usize) -> Result<Vec<(String, f64)>, String> {
    let mut out = Vec::new();
    for case in exportdb::catalogue().into_iter().filter(|c| c.export_error().is_none()) {
        let model = (case.model)();
        let example = (case.sets)().remove(0);
        let options = export::ExportOptions { dynamic_shapes: (case.dynamic_shapes)(), ..Default::default() };
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) + 1 {
            let inputs = example.clone();
            let t = Instant::now();
            export::export(model.as_ref(), inputs, &options).map_err(|e| format!("{}: {e}", case.name))?;
            times.push(t.elapsed().as_secs_f64());
        }
        times.remove(0);
        times.sort_by(f64::total_cmp);
        out.push((case.name.to_string(), times[times.len() / 2]));
    }
    Ok(out)
}

/// Runs tools/bench_torch_export.py: `name seconds` per case.
pub fn torch_seconds(python: &str, script: &Path, runs: usize) -> Result<HashMap<String, f64>, String> {
    let out = std::process::Command::new(python).arg(script).arg(runs.to_string()).output().map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (name, secs) = l.split_once(' ')?;
            Some((name.to_string(), secs.trim().parse().ok()?))
        })
        .collect())
}

/// The table: one line per case, then the geometric mean of the speed-ups.
pub fn report(ours: &[(String, f64)], theirs: Option<&HashMap<String, f64>>) -> String {
    let mut s = format!("{:<32} {:>10} {:>12} {:>9}\n", "case", "pt2 ms", "PyTorch ms", "speed-up");
    let mut logs = Vec::new();
    for (name, t) in ours {
        match theirs.and_then(|m| m.get(name)) {
            Some(p) => {
                logs.push((p / t).ln());
                s.push_str(&format!("{name:<32} {:>10.3} {:>12.2} {:>8.0}x\n", t * 1e3, p * 1e3, p / t));
            }
            None => s.push_str(&format!("{name:<32} {:>10.3} {:>12} {:>9}\n", t * 1e3, "-", "-")),
        }
    }
    if !logs.is_empty() {
        let geo = (logs.iter().sum::<f64>() / logs.len() as f64).exp();
        s.push_str(&format!("export is {geo:.0}x faster than torch.export.export (geometric mean over {} cases)\n", logs.len()));
    }
    s
}

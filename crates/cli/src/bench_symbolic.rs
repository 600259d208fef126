//! `pt2 bench symbolic`: how long the shape environment takes to build, simplify and evaluate
//! many guards, as export does while tracing and as loading does when checking inputs.

use std::time::{Duration, Instant};

use symbolic::{Expr, ShapeEnv, ValueRange};

/// Time spent in each phase for `guards` guards over `symbols` input dims.
pub struct Report {
    pub guards: usize,
    pub symbols: usize,
    pub recorded: usize,
    pub build: Duration,
    pub simplify: Duration,
    pub evaluate: Duration,
    pub recheck: Duration,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let per = |d: Duration| d.as_secs_f64() * 1e6 / self.guards as f64;
        writeln!(f, "{} guards over {} symbolic dims ({} recorded as guards, the rest known without one)", self.guards, self.symbols, self.recorded)?;
        for (phase, d) in [
            ("build (canonical form)", self.build),
            ("simplify with ranges", self.simplify),
            ("evaluate and record", self.evaluate),
            ("recheck with concrete sizes", self.recheck),
        ] {
            writeln!(f, "  {phase:<28} {:>9.2} ms  {:>6.2} µs/guard", d.as_secs_f64() * 1e3, per(d))?;
        }
        Ok(())
    }
}

impl Report {
    /// PyTorch's seconds for build, simplify and evaluate, with pt2's speed-up for each.
    pub fn beside_torch(&self, torch: [f64; 3]) -> String {
        let mut out = String::from("PyTorch ShapeEnv (sympy), same guards:\n");
        for (phase, ours, theirs) in [("build", self.build, torch[0]), ("simplify", self.simplify, torch[1]), ("evaluate and record", self.evaluate, torch[2])] {
            out.push_str(&format!("  {phase:<28} {:>9.2} ms  pt2 is {:.0}x faster\n", theirs * 1e3, theirs / ours.as_secs_f64().max(1e-9)));
        }
        out
    }
}

/// Runs tools/bench_torch_symbolic.py: PyTorch's seconds for build, simplify, evaluate.
pub fn torch_seconds(python: &str, script: &std::path::Path, guards: usize, symbols: usize) -> Result<[f64; 3], String> {
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(guards.to_string())
        .arg(symbols.to_string())
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<f64> = text.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    match v.as_slice() {
        [a, b, c] => Ok([*a, *b, *c]),
        _ => Err(format!("{} printed `{}`, expected three numbers", script.display(), text.trim())),
    }
}

/// A small deterministic generator, so that every run times the same guards.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

pub fn run(guards: usize, symbols: usize) -> Result<Report, String> {
    let mut env = ShapeEnv::new();
    let mut dims = Vec::with_capacity(symbols);
    let mut hints = Vec::with_capacity(symbols);
    for i in 0..symbols {
        let hint = 2 + (i as i64 * 37) % 1000;
        let sym = env.create_size(&format!("L['x{}'].size()[{}]", i / 4, i % 4), hint, true, ValueRange::DYNAMIC_SIZE).map_err(|e| e.to_string())?;
        dims.push(sym);
        hints.push(hint);
    }
    let mut rng = Lcg(7);
    let t = Instant::now();
    let exprs: Vec<Expr> = (0..guards)
        .map(|i| {
            let (a, b, c) = (rng.next(symbols), rng.next(symbols), rng.next(symbols));
            let (x, y, z) = (dims[a].clone(), dims[b].clone(), dims[c].clone());
            let k = 1 + (i % 7) as i64;
            match i % 6 {
                // a linear bound over two dims, true for the hints
                0 => Expr::less_eq(x + y * k, hints[a] + hints[b] * k + (i % 5) as i64),
                // a value the dim does not take
                1 => Expr::not_equals(x, hints[a] + 1 + (i % 3) as i64),
                // floor division and modulo
                2 => Expr::equals(Expr::floordiv(x.clone() * 2 + 1, 2.into()) + Expr::modulo(y, (k + 1).into()), hints[a] + hints[b] % (k + 1)),
                3 => Expr::greater_eq(Expr::max_of([x.clone(), y]), Expr::min_of([x, z])),
                4 => Expr::greater(x * y, k),
                // known from the range alone
                _ => Expr::greater_eq(x + 1, 3),
            }
        })
        .collect();
    let build = t.elapsed();

    let t = Instant::now();
    let simplified: Vec<Expr> = exprs.iter().map(|e| env.simplify(e)).collect();
    let simplify = t.elapsed();
    std::hint::black_box(&simplified);

    let t = Instant::now();
    for e in &exprs {
        // the generator's guards hold for the hints; a false one would be recorded negated
        env.evaluate(e, None).map_err(|e| e.to_string())?;
    }
    let evaluate = t.elapsed();
    let recorded = env.guards().len();

    let values: std::collections::HashMap<String, i64> = dims.iter().zip(&hints).filter_map(|(d, h)| d.as_symbol().map(|s| (s.to_string(), *h))).collect();
    let t = Instant::now();
    let mut failed = 0;
    for g in env.guards() {
        if g.expr.eval(&values) != Some(1) {
            failed += 1;
        }
    }
    let recheck = t.elapsed();
    if failed > 0 {
        return Err(format!("{failed} recorded guards do not hold for the example sizes they were recorded with"));
    }
    Ok(Report { guards, symbols, recorded, build, simplify, evaluate, recheck })
}

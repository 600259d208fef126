//! `pt2 bench nodes`: what the interpreter costs per node, apart from the kernels' work — a
//! long chain of element-wise nodes on a four-element tensor, exported by pt2, loaded back
//! from its archive and called many times.

use ops::names::aten;
use std::time::Instant;

use export::{Inputs, Module, Program, Result, Tensor, Tree, Visitor};
use ops::Value;

/// `x + 1`, `relu`, `x * 0.5`, repeated: each node's kernel touches four floats.
struct Chain {
    nodes: usize,
}

impl Module for Chain {
    fn visit<'a>(&'a self, _: &mut Visitor<'a>) {}
}

impl Program for Chain {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let mut x = inputs.tensor("x")?.clone();
        for i in 0..self.nodes {
            x = match i % 3 {
                0 => x.add(1.0)?,
                1 => x.relu()?,
                _ => x.mul(0.5)?,
            };
        }
        Ok(x.into())
    }
}

/// Per-node figures of one chain.
pub struct NodeCost {
    pub nodes: usize,
    /// Median wall time of one call, in seconds.
    pub call_seconds: f64,
    /// The same chain's kernels called directly through the registry (no graph walk), per call.
    pub kernels_seconds: f64,
}

impl NodeCost {
    pub fn per_node_us(&self) -> f64 {
        self.call_seconds / self.nodes as f64 * 1e6
    }

    /// What the walk adds to each node beyond calling its kernel.
    pub fn overhead_per_node_us(&self) -> f64 {
        (self.call_seconds - self.kernels_seconds).max(0.0) / self.nodes as f64 * 1e6
    }
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Exports a chain of `nodes` nodes, saves and loads it, and times `runs` calls of the loaded
/// program's module against the same kernels called one after another.
pub fn run(nodes: usize, runs: usize) -> std::result::Result<NodeCost, String> {
    let x = Tensor::from_data(tensor::Tensor::from_vec(vec![0.5f32, -1.0, 2.0, -3.0], &[4]).map_err(|e| e.to_string())?);
    let ep = export::export(&Chain { nodes }, Inputs::new().arg("x", x.clone()), &Default::default()).map_err(|e| e.to_string())?;
    let path = std::env::temp_dir().join(format!("pt2-bench-nodes-{}.pt2", std::process::id()));
    serialize::save(&ep, &path).map_err(|e| e.to_string())?;
    let loaded = serialize::load(&path).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&path);
    let module = loaded.module().map_err(|e| e.to_string())?;
    let input = x.data();
    let call = || module.call_flat(vec![Value::Tensor(input.clone())]).map(drop).map_err(|e| e.to_string());
    call()?; // warm-up
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        call()?;
        times.push(t.elapsed().as_secs_f64());
    }
    let registry = ops::Registry::global();
    let (add, relu, mul) = (registry.lookup(aten::add_Tensor), registry.lookup(aten::relu), registry.lookup(aten::mul_Tensor));
    let (add, relu, mul) = (add.map_err(|e| e.to_string())?, relu.map_err(|e| e.to_string())?, mul.map_err(|e| e.to_string())?);
    let kernels = || -> std::result::Result<(), String> {
        let mut v = Value::Tensor(input.clone());
        for i in 0..nodes {
            v = match i % 3 {
                0 => add.call(vec![v, Value::Float(1.0)], vec![]),
                1 => relu.call(vec![v], vec![]),
                _ => mul.call(vec![v, Value::Float(0.5)], vec![]),
            }
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    kernels()?;
    let mut ktimes = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        kernels()?;
        ktimes.push(t.elapsed().as_secs_f64());
    }
    Ok(NodeCost { nodes, call_seconds: median(times), kernels_seconds: median(ktimes) })
}

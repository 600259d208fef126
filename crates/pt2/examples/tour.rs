//! The main job: write a model in Rust, export it with a dynamic batch, print it, save it as a
//! PT2 archive (which `torch.export.load` accepts), load the archive back, run it, and see an
//! input outside the program's shape constraints refused.
//!
//!     cargo run --release --example tour
//!
//! With a path, it loads that archive instead (one PyTorch exported, say) and runs it:
//!
//!     cargo run --release --example tour -- fixtures/pytorch/tutorial_dynamic_slice/program.pt2

use std::path::PathBuf;

use pt2::frontend::Tensor;
use pt2::nn::{Layer, LayerNorm, Linear, Stateless};
use pt2::{Dim, DynamicShapes, ExportOptions, Inputs, Module, Program, Tree, Value};

/// A small classifier head: LayerNorm, Linear, GELU, Linear.
struct Head {
    norm: LayerNorm,
    fc1: Linear,
    act: Stateless,
    fc2: Linear,
}

impl Module for Head {
    fn visit<'a>(&'a self, v: &mut pt2::Visitor<'a>) {
        v.module("norm", &self.norm);
        v.module("fc1", &self.fc1);
        v.module("act", &self.act);
        v.module("fc2", &self.fc2);
    }
}

impl Program for Head {
    fn forward(&self, inputs: &Inputs) -> pt2::frontend::Result<Tree> {
        let x = inputs.tensor("x")?;
        let h = self.act.forward(&self.fc1.forward(&self.norm.forward(x)?)?)?;
        Ok(self.fc2.forward(&h)?.softmax(-1)?.into())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Some(path) = std::env::args().nth(1) {
        return run_archive(&PathBuf::from(path));
    }
    let model = Head { norm: LayerNorm::new(&[16]), fc1: Linear::new(16, 32, true, 1), act: Stateless::GELU, fc2: Linear::new(32, 4, true, 2) };

    // export with the batch dimension dynamic (2..=1024)
    let example = Inputs::new().arg("x", Tensor::rand_uniform(&[8, 16], 7));
    let options = ExportOptions { dynamic_shapes: DynamicShapes::new().dim("x", 0, Dim::new("batch").min(2).max(1024)), ..Default::default() };
    let ep = pt2::export(&model, example, &options)?;
    println!("{ep}");

    let path = std::env::temp_dir().join("pt2-tour.pt2");
    pt2::save(&ep, &path)?;
    println!("saved to {}", path.display());
    run_archive(&path)?;

    // a batch outside the declared range is refused before anything runs
    let loaded = pt2::load(&path)?;
    let too_big = Value::Tensor(pt2::Tensor::full(&[2000, 16], 0.5, pt2::DType::F32));
    if let Err(e) = loaded.module()?.call_flat(vec![too_big]) {
        println!("refused as expected: {e}");
    }
    Ok(())
}

/// Loads an archive, runs it on inputs shaped like its example (a dynamic size takes the
/// example's size, which its range always holds), then shows a refused input.
fn run_archive(path: &PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let ep = pt2::load(path)?;
    let module = ep.module()?;
    let inputs: Vec<Value> = ep
        .user_input_names()
        .iter()
        .map(|name| {
            // a constant input (a string, a number) takes the program's own value
            let Some(meta) = ep.graph().tensor_values.get(*name) else { return Value::None };
            let shape: Vec<usize> = meta
                .sizes
                .iter()
                .map(|s| match s {
                    pt2::ir::schema::SymInt::AsInt(n) => *n as usize,
                    pt2::ir::schema::SymInt::AsExpr(e) => match &e.hint {
                        Some(pt2::ir::schema::SymExprHint::AsInt(h)) => *h as usize,
                        _ => 4,
                    },
                })
                .collect();
            let dtype = pt2::ir::dtype::to_dtype(meta.dtype).unwrap_or(pt2::DType::F32);
            Value::Tensor(pt2::Tensor::full(&shape, 0.5, dtype))
        })
        .collect();
    let outputs = module.call_flat(inputs)?;
    for (i, o) in outputs.iter().enumerate() {
        if let Value::Tensor(t) = o {
            // printed as PyTorch's print(tensor) prints it (summarized past 1,000 elements)
            println!("loaded {} and ran it: output {i} has shape {:?}:\n{t}", path.display(), t.shape());
        }
    }
    // a rank-1 input is outside every program's constraints here
    if let Err(e) = module.call_flat(vec![Value::Tensor(pt2::Tensor::full(&[3], 1.0, pt2::DType::F32))]) {
        println!("refused as expected: {e}");
    }
    Ok(())
}

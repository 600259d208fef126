//! The main job today: load a program PyTorch exported, print it, run it, refuse an input it
//! was not exported for, save it, load the copy and run it again.
//!
//!     cargo run --release --example tour [path/to/program.pt2]

use std::path::PathBuf;

use pt2::{DType, Tensor, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pytorch");
    let path = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| root.join("tutorial_dynamic_slice/program.pt2"));

    let ep = pt2::load(&path)?;
    println!("{ep}");

    let module = ep.module()?;
    let names = ep.input_names();
    println!("inputs: {}", names.join(", "));

    // ones shaped like the example inputs PyTorch recorded (dynamic dims at their hints)
    let inputs: Vec<Value> = ep
        .user_input_names()
        .iter()
        .map(|name| {
            let meta = &ep.graph().tensor_values[*name];
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
            Value::Tensor(Tensor::full(&shape, 1.0, pt2::ir::dtype::to_dtype(meta.dtype).unwrap_or(DType::F32)))
        })
        .collect();
    let outputs = module.call_flat(inputs.clone())?;
    for (i, o) in outputs.iter().enumerate() {
        println!("output {i}: {o:?}");
    }

    // an input of the wrong rank is refused before anything runs
    let bad = vec![Value::Tensor(Tensor::full(&[2], 1.0, DType::F32))];
    if let Err(e) = module.call_flat(bad) {
        println!("refused as expected: {e}");
    }

    let copy = std::env::temp_dir().join("pt2-tour-copy.pt2");
    pt2::save(&ep, &copy)?;
    let again = pt2::load(&copy)?;
    let outputs_again = again.module()?.call_flat(inputs)?;
    println!("saved to {} and reloaded: {} outputs, same as before: {}", copy.display(), outputs_again.len(), format!("{outputs_again:?}") == format!("{outputs:?}"));
    Ok(())
}

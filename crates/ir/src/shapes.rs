//! Replaying a program shapes only: every node run through its operator's meta function and
//! dtype rule on meta tensors (no kernel, no data), and each value compared with the sizes and
//! dtype the exporter recorded for it. On programs PyTorch exported, this checks pt2's meta
//! functions and dtype rules against PyTorch's on real models, node by node.

use ops::{Registry, Value};
use tensor::Tensor;

use crate::plan::GraphPlan;
use crate::schema::{self, Argument, SymExprHint, SymInt, TensorMeta};
use crate::{dtype, Error, ExportedProgram, Result};

/// What a shapes-only replay found.
#[derive(Debug, Default)]
pub struct ShapeReplay {
    /// Tensor values compared with their recorded metadata.
    pub checked: usize,
    /// Values whose sizes or dtype differ from the recorded ones: `name: got ..., recorded ...`.
    pub mismatches: Vec<String>,
}

impl schema::SymExpr {
    /// The example's integer value of a symbolic size, if the exporter recorded one.
    pub fn int_hint(&self) -> Option<i64> {
        match self.hint {
            Some(SymExprHint::AsInt(h)) => Some(h),
            _ => None,
        }
    }
}

impl SymInt {
    /// A recorded size's example value: the integer, or the hint of a symbolic size.
    pub fn hint(&self) -> Option<i64> {
        match self {
            SymInt::AsInt(i) => Some(*i),
            SymInt::AsExpr(e) => e.int_hint(),
        }
    }
}

/// A meta tensor of a recorded value's example sizes and dtype.
fn meta_of(name: &str, m: &TensorMeta) -> Result<Tensor> {
    let shape = m
        .sizes
        .iter()
        .map(|s| s.hint().filter(|&d| d >= 0).map(|d| d as usize))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| Error::msg(format!("input `{name}`: a recorded size has no example value to replay with")))?;
    Ok(Tensor::meta(&shape, dtype::to_dtype(m.dtype)?))
}

/// Replays `ep`'s graph shapes only, with every placeholder (parameters included) a meta tensor
/// of its recorded sizes and dtype, and compares each node's outputs with their recorded
/// metadata. Sizes recorded without an example value are not compared.
pub fn replay_shapes(ep: &ExportedProgram, registry: &Registry) -> Result<ShapeReplay> {
    let graph = ep.graph();
    let plan = GraphPlan::compile(graph, registry)?;
    let inputs = graph
        .inputs
        .iter()
        .map(|a| match a {
            Argument::AsTensor(t) => {
                let m = graph.tensor_values.get(&t.name).ok_or_else(|| Error::msg(format!("input `{}` has no recorded metadata", t.name)))?;
                Ok(Value::Tensor(meta_of(&t.name, m)?))
            }
            Argument::AsSymInt(schema::SymIntArgument::AsName(n)) => graph
                .sym_int_values
                .get(n)
                .and_then(SymInt::hint)
                .map(Value::Int)
                .ok_or_else(|| Error::msg(format!("input `{n}` has no example value to replay with"))),
            Argument::AsSymInt(schema::SymIntArgument::AsInt(i)) => Ok(Value::Int(*i)),
            _ => Ok(Value::None),
        })
        .collect::<Result<Vec<_>>>()?;
    let mut replay = ShapeReplay::default();
    plan.run_shapes_only(inputs, &mut |name, value| {
        let (Value::Tensor(t), Some(recorded)) = (value, graph.tensor_values.get(name)) else { return Ok(()) };
        replay.checked += 1;
        let want_dtype = dtype::to_dtype(recorded.dtype)?;
        let sizes_agree = t.dim() == recorded.sizes.len() && t.shape().iter().zip(&recorded.sizes).all(|(&d, s)| s.hint().is_none_or(|h| h == d as i64));
        if !sizes_agree || t.dtype() != want_dtype {
            let recorded_sizes: Vec<String> = recorded.sizes.iter().map(|s| s.hint().map_or("?".to_string(), |h| h.to_string())).collect();
            replay.mismatches.push(format!("{name}: got {:?} {:?}, recorded [{}] {:?}", t.shape(), t.dtype(), recorded_sizes.join(", "), want_dtype));
        }
        Ok(())
    })?;
    Ok(replay)
}

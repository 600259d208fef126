//! Plan-time folding of eval-mode batch norm into the convolution before it. A batch norm that
//! reads only a convolution's output, with its statistics and affine parameters all program
//! state, is a per-output-channel scale and shift: the convolution's weight is scaled and the
//! shift becomes its bias, once, when the program is compiled — so a ResNet's batch norms cost
//! nothing per call. The result differs from PyTorch's unfolded order by float rounding only
//! (well inside the programs conformance tolerance); the program itself is not changed.

use std::collections::HashMap;

use tensor::{DType, Tensor};

use crate::print::arg_names;
use crate::schema::{Argument, Graph, Node, OptionalTensorArgument, TensorArgument};

/// A graph with its batch norms folded, and the new state tensors its new placeholders read.
pub(crate) struct Folded {
    pub graph: Graph,
    pub state: Vec<(String, Tensor)>,
}

fn arg<'a>(node: &'a Node, name: &str) -> Option<&'a Argument> {
    node.inputs.iter().find(|a| a.name == name).map(|a| &a.arg)
}

fn tensor_name(a: Option<&Argument>) -> Option<&str> {
    match a? {
        Argument::AsTensor(t) | Argument::AsOptionalTensor(OptionalTensorArgument::AsTensor(t)) => Some(&t.name),
        _ => None,
    }
}

fn is_none(a: Option<&Argument>) -> bool {
    matches!(a, None | Some(Argument::AsNone(_)) | Some(Argument::AsOptionalTensor(OptionalTensorArgument::AsNone(_))))
}

fn output_name(node: &Node, i: usize) -> Option<&str> {
    match node.outputs.get(i)? {
        Argument::AsTensor(t) => Some(&t.name),
        _ => None,
    }
}

/// Folds what can be folded; `None` when nothing can (the graph is then used as it is).
/// `state` gives the value of a placeholder that is program state (parameter, buffer, constant).
pub(crate) fn fold_batch_norms(graph: &Graph, state: &(dyn Fn(&str) -> Option<Tensor> + Sync)) -> Option<Folded> {
    let mut uses: HashMap<String, usize> = HashMap::new();
    let mut names = Vec::new();
    for n in &graph.nodes {
        for a in &n.inputs {
            arg_names(&a.arg, &mut names);
        }
    }
    for o in &graph.outputs {
        arg_names(o, &mut names);
    }
    for name in names {
        *uses.entry(name).or_default() += 1;
    }
    let producer: HashMap<&str, usize> = graph.nodes.iter().enumerate().filter_map(|(i, n)| output_name(n, 0).map(|o| (o, i))).collect();

    // (batch norm, convolution) pairs that fold, found first, their arithmetic then done in
    // parallel (a ResNet-50 scales 25 M weights)
    let mut pairs = Vec::new();
    let mut taken = vec![false; graph.nodes.len()];
    for (bi, bn) in graph.nodes.iter().enumerate() {
        let eval_bn = match bn.target.as_str() {
            "torch.ops.aten.batch_norm.default" => matches!(arg(bn, "training"), Some(Argument::AsBool(false))),
            "torch.ops.aten._native_batch_norm_legit_no_training.default" => {
                (1..3).all(|i| output_name(bn, i).is_some_and(|o| uses.get(o).copied().unwrap_or(0) == 0))
            }
            _ => false,
        };
        if !eval_bn {
            continue;
        }
        let Some(x) = tensor_name(arg(bn, "input")) else { continue };
        let Some(&ci) = producer.get(x) else { continue };
        let conv = &graph.nodes[ci];
        let is_conv = match conv.target.as_str() {
            "torch.ops.aten.conv2d.default" | "torch.ops.aten.conv1d.default" | "torch.ops.aten.conv3d.default" => true,
            "torch.ops.aten.convolution.default" => matches!(arg(conv, "transposed"), Some(Argument::AsBool(false))),
            _ => false,
        };
        if is_conv && uses.get(x).copied().unwrap_or(0) == 1 && !taken[ci] {
            taken[ci] = true;
            pairs.push((ci, bi));
        }
    }
    let folded: Vec<Option<(Tensor, Tensor)>> = {
        use rayon::prelude::*;
        pairs.par_iter().map(|&(ci, bi)| fold_one(&graph.nodes[ci], &graph.nodes[bi], state)).collect()
    };

    let mut graph_out = graph.clone();
    let mut remove = vec![false; graph.nodes.len()];
    let mut new_state = Vec::new();
    for ((ci, bi), folded) in pairs.into_iter().zip(folded) {
        let Some((weight, bias)) = folded else { continue };
        let k = new_state.len() / 2;
        let (w_name, b_name) = (format!("_bn_folded_weight_{k}"), format!("_bn_folded_bias_{k}"));
        let node = &mut graph_out.nodes[ci];
        for a in &mut node.inputs {
            match a.name.as_str() {
                "weight" => a.arg = Argument::AsTensor(TensorArgument { name: w_name.clone() }),
                "bias" => a.arg = Argument::AsOptionalTensor(OptionalTensorArgument::AsTensor(TensorArgument { name: b_name.clone() })),
                _ => {}
            }
        }
        // the convolution now produces what the batch norm did
        node.outputs[0] = graph.nodes[bi].outputs[0].clone();
        remove[bi] = true;
        graph_out.inputs.push(Argument::AsTensor(TensorArgument { name: w_name.clone() }));
        graph_out.inputs.push(Argument::AsTensor(TensorArgument { name: b_name.clone() }));
        new_state.push((w_name, weight));
        new_state.push((b_name, bias));
    }
    if new_state.is_empty() {
        return None;
    }
    let mut i = 0;
    graph_out.nodes.retain(|_| {
        i += 1;
        !remove[i - 1]
    });
    Some(Folded { graph: graph_out, state: new_state })
}

/// The scaled weight and the new bias, for float32 state only.
fn fold_one(conv: &Node, bn: &Node, state: &(dyn Fn(&str) -> Option<Tensor> + Sync)) -> Option<(Tensor, Tensor)> {
    let get = |node: &Node, name: &str| tensor_name(arg(node, name)).and_then(state);
    let f32s = |t: &Tensor| (t.dtype() == DType::F32).then(|| t.to_vec::<f32>());
    let w = get(conv, "weight")?;
    let out_channels = *w.shape().first()?;
    let per_channel = |t: Option<Tensor>, default: f32| -> Option<Vec<f32>> {
        match t {
            Some(t) => f32s(&t).filter(|v| v.len() == out_channels),
            None => Some(vec![default; out_channels]),
        }
    };
    let conv_bias = if is_none(arg(conv, "bias")) { per_channel(None, 0.0)? } else { per_channel(Some(get(conv, "bias")?), 0.0)? };
    let gamma = if is_none(arg(bn, "weight")) { per_channel(None, 1.0)? } else { per_channel(Some(get(bn, "weight")?), 1.0)? };
    let beta = if is_none(arg(bn, "bias")) { per_channel(None, 0.0)? } else { per_channel(Some(get(bn, "bias")?), 0.0)? };
    let mean = per_channel(Some(get(bn, "running_mean")?), 0.0)?;
    let var = per_channel(Some(get(bn, "running_var")?), 0.0)?;
    let eps = match arg(bn, "eps")? {
        Argument::AsFloat(e) => e.0,
        _ => return None,
    };
    let weights = f32s(&w)?;
    let per = weights.len() / out_channels.max(1);
    let scale: Vec<f64> = (0..out_channels).map(|c| gamma[c] as f64 / (var[c] as f64 + eps).sqrt()).collect();
    let folded_w: Vec<f32> = weights.iter().enumerate().map(|(i, &v)| (v as f64 * scale[i / per.max(1)]) as f32).collect();
    let folded_b: Vec<f32> = (0..out_channels).map(|c| ((conv_bias[c] as f64 - mean[c] as f64) * scale[c] + beta[c] as f64) as f32).collect();
    Some((Tensor::from_vec(folded_w, w.shape()).ok()?, Tensor::from_vec(folded_b, &[out_channels]).ok()?))
}

//! The verifier: checks what an archive claims before anything runs, and reports every problem
//! with the node it is on: the signature matches the placeholders and outputs, every value is
//! defined before it is used and has metadata, every target is a registered operator whose
//! schema accepts the node's arguments and whose kernel computes on their dtypes, and
//! subgraphs are well formed.

use ops::names::aten;
use std::collections::HashSet;

use ops::Registry;

use crate::print::arg_names;
use crate::program::ExportedProgram;
use crate::schema::{Argument, Graph, InputSpec, OutputSpec};

/// The largest tensor a program may declare (1 TiB): a guard against hostile archives whose
/// metadata would make the runtime try to allocate without bound.
pub const MAX_TENSOR_BYTES: u128 = 1 << 40;

const PYTHON_OPS: &[&str] = &["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "eq", "ne", "lt", "le", "gt", "ge", "and_", "or_", "neg", "not_"];
const HIGHER_ORDER_OPS: &[&str] = &["cond", "map_impl", "scan", "while_loop", "wrap_with_set_grad_enabled", "with_effects"];

fn verify_graph(g: &Graph, registry: &Registry, where_: &str, problems: &mut Vec<String>) {
    let mut defined: HashSet<String> = HashSet::new();
    let mut tensors_needing_meta = Vec::new();
    for a in &g.inputs {
        let mut names = Vec::new();
        arg_names(a, &mut names);
        for n in names {
            if matches!(a, Argument::AsTensor(_)) {
                tensors_needing_meta.push((n.clone(), "placeholder".to_string()));
            }
            defined.insert(n);
        }
    }
    for node in &g.nodes {
        let label = node.name.clone().unwrap_or_else(|| node.target.clone());
        let at = format!("{where_}node `{label}`");
        for a in &node.inputs {
            if let Argument::AsGraph(sg) = &a.arg {
                verify_graph(&sg.graph, registry, &format!("{at} > subgraph `{}`: ", sg.name), problems);
                continue;
            }
            let mut used = Vec::new();
            arg_names(&a.arg, &mut used);
            for u in used {
                if !defined.contains(&u) {
                    problems.push(format!("{at}: uses `{u}` before it is defined (a cycle or a missing value)"));
                }
            }
        }
        // the target
        let target = node.target.as_str();
        if let Some(op) = target.strip_prefix("_operator.") {
            if !PYTHON_OPS.contains(&op) {
                problems.push(format!("{at}: `{target}` is not a supported Python operator"));
            }
        } else if let Some(op) = target.strip_prefix("torch.ops.higher_order.") {
            if !HIGHER_ORDER_OPS.contains(&op) {
                problems.push(format!("{at}: higher-order operator `{op}` is not supported (supported: {})", HIGHER_ORDER_OPS.join(", ")));
            }
            // the operator an effect wraps must be one pt2 has
            if let Some(Argument::AsOperator(inner)) = node.inputs.get(1).map(|a| &a.arg).filter(|_| op == "with_effects") {
                let name = inner.strip_prefix("torch.ops.").unwrap_or(inner);
                if registry.get(name).is_none() {
                    problems.push(format!("{at}: operator {name} (inside with_effects) is not registered"));
                }
            }
        } else {
            let name = target.strip_prefix("torch.ops.").unwrap_or(target);
            match registry.get(name) {
                None => problems.push(format!("{at}: operator `{name}` is not registered")),
                Some(def) => {
                    let positional = node.inputs.iter().filter(|a| a.kind != Some(crate::schema::ArgumentKind::KEYWORD)).count();
                    if positional > def.schema.params.len() {
                        problems.push(format!("{at}: {name} takes {} arguments, {positional} given", def.schema.params.len()));
                    }
                    for a in node.inputs.iter().filter(|a| a.kind == Some(crate::schema::ArgumentKind::KEYWORD)) {
                        if def.schema.param_index(&a.name).is_none() {
                            problems.push(format!("{at}: {name} has no parameter `{}`", a.name));
                        }
                    }
                    // the dtypes the kernel would refuse at run time are refused here, at load
                    if let Some(why) = node.inputs.iter().flat_map(|a| argument_dtypes(&a.arg, g)).find_map(|d| def.refusal(d)) {
                        problems.push(format!("{at}: {why}"));
                    }
                }
            }
        }
        for o in &node.outputs {
            let mut names = Vec::new();
            arg_names(o, &mut names);
            for n in names {
                if matches!(o, Argument::AsTensor(_) | Argument::AsTensors(_)) {
                    tensors_needing_meta.push((n.clone(), format!("output of node `{label}`")));
                }
                if !defined.insert(n.clone()) {
                    problems.push(format!("{at}: defines `{n}` a second time"));
                }
            }
        }
    }
    for o in &g.outputs {
        let mut used = Vec::new();
        arg_names(o, &mut used);
        for u in used {
            if !defined.contains(&u) {
                problems.push(format!("{where_}graph output `{u}` is never defined"));
            }
        }
    }
    for (n, what) in tensors_needing_meta {
        if !g.tensor_values.contains_key(&n) {
            problems.push(format!("{where_}tensor `{n}` ({what}) has no metadata in tensor_values"));
        }
    }
    for (n, meta) in &g.tensor_values {
        let mut elems: u128 = 1;
        for s in &meta.sizes {
            match s {
                crate::schema::SymInt::AsInt(v) if *v < 0 => problems.push(format!("{where_}tensor `{n}` declares a negative size {v}")),
                crate::schema::SymInt::AsInt(v) => elems = elems.saturating_mul(*v as u128),
                crate::schema::SymInt::AsExpr(_) => {}
            }
        }
        let bytes = elems.saturating_mul(crate::dtype::to_dtype(meta.dtype).map(|d| d.size() as u128).unwrap_or(1));
        if bytes > MAX_TENSOR_BYTES {
            problems.push(format!("{where_}tensor `{n}` declares {bytes} bytes, more than the {MAX_TENSOR_BYTES} pt2 allows"));
        }
    }
}

/// The dtypes of the tensors an argument passes (as the graph's metadata records them), and
/// `complex64` for a complex number.
fn argument_dtypes(a: &Argument, g: &Graph) -> Vec<tensor::DType> {
    let of = |name: &str| g.tensor_values.get(name).and_then(|m| crate::dtype::to_dtype(m.dtype).ok());
    let optional = |t: &crate::schema::OptionalTensorArgument| match t {
        crate::schema::OptionalTensorArgument::AsTensor(t) => of(&t.name),
        crate::schema::OptionalTensorArgument::AsNone(_) => None,
    };
    match a {
        Argument::AsTensor(t) => of(&t.name).into_iter().collect(),
        Argument::AsTensors(ts) => ts.iter().filter_map(|t| of(&t.name)).collect(),
        Argument::AsOptionalTensor(t) => optional(t).into_iter().collect(),
        Argument::AsOptionalTensors(ts) => ts.iter().filter_map(optional).collect(),
        Argument::AsComplex(_) => vec![tensor::DType::C64],
        _ => Vec::new(),
    }
}

impl ExportedProgram {
    /// Every problem found, each naming where it is; empty when the program is well formed.
    pub fn verify(&self, registry: &Registry) -> Vec<String> {
        let mut problems = Vec::new();
        let g = self.graph();
        let sig = self.signature();
        if sig.input_specs.len() != g.inputs.len() {
            problems.push(format!("signature lists {} inputs but the graph has {} placeholders", sig.input_specs.len(), g.inputs.len()));
        }
        for (i, (spec, a)) in sig.input_specs.iter().zip(&g.inputs).enumerate() {
            let mut names = Vec::new();
            arg_names(a, &mut names);
            let spec_name = match spec {
                InputSpec::UserInput(u) => {
                    let mut n = Vec::new();
                    arg_names(&u.arg, &mut n);
                    n.into_iter().next()
                }
                InputSpec::Parameter(p) => Some(p.arg.name.clone()),
                InputSpec::Buffer(b) => Some(b.arg.name.clone()),
                InputSpec::TensorConstant(c) => Some(c.arg.name.clone()),
                InputSpec::CustomObj(c) => Some(c.arg.name.clone()),
                InputSpec::Token(t) => Some(t.arg.name.clone()),
                InputSpec::ConstantInput(_) => None,
            };
            if let (Some(s), Some(p)) = (&spec_name, names.first()) {
                if s != p {
                    problems.push(format!("input {i}: the signature names `{s}` but the placeholder is `{p}`"));
                }
            }
            let target = match spec {
                InputSpec::Parameter(p) => Some(&p.parameter_name),
                InputSpec::Buffer(b) if b.persistent => Some(&b.buffer_name),
                _ => None,
            };
            if let Some(t) = target {
                if !self.state_dict.contains_key(t) {
                    problems.push(format!("input {i}: `{t}` is not in the state dict"));
                }
            }
            if let InputSpec::TensorConstant(c) = spec {
                if !self.constants.contains_key(&c.tensor_constant_name) && !self.state_dict.contains_key(&c.tensor_constant_name) {
                    problems.push(format!("input {i}: constant `{}` is not in the archive", c.tensor_constant_name));
                }
            }
        }
        if sig.output_specs.len() != g.outputs.len() {
            problems.push(format!("signature lists {} outputs but the graph returns {}", sig.output_specs.len(), g.outputs.len()));
        }
        for (i, spec) in sig.output_specs.iter().enumerate() {
            if let OutputSpec::BufferMutation(b) = spec {
                if !self.state_dict.contains_key(&b.buffer_name) && !self.constants.contains_key(&b.buffer_name) {
                    problems.push(format!("output {i}: mutated buffer `{}` is not in the program's state", b.buffer_name));
                }
            }
        }
        verify_graph(g, registry, "", &mut problems);
        problems
    }
}

/// Whether a node target may stand in a core-ATen program: a core ATen overload (tagged
/// `core` in the registry), or one of the operators PyTorch's own core programs hold beside
/// them: higher-order operators, Python operators on sizes, `sym_size`, runtime assertions,
/// the functional form of the core `_native_batch_norm_legit`, and what PyTorch's default
/// decompositions leave undecomposed (`var_mean.correction`, `cumprod`, `_trilinear`).
pub fn allowed_in_core_aten(target: &str, registry: &Registry) -> bool {
    let name = target.strip_prefix("torch.ops.").unwrap_or(target);
    if target.starts_with("_operator.") || target.starts_with("torch.ops.higher_order.") || !name.starts_with("aten.") {
        return true;
    }
    let qualified = ops::canonical_name(name);
    let beside_core =
        [
            aten::sym_size_int,
            aten::_assert_scalar,
            aten::_assert_async_msg,
            aten::_assert_tensor_metadata,
            aten::sym_constrain_range_for_size,
            aten::_native_batch_norm_legit_functional,
            // not tagged core, yet PyTorch 2.15's default decompositions keep them (its core
            // programs of var_mean, linalg_vander and bilinear hold them)
            aten::var_mean_correction,
            aten::cumprod,
            aten::_trilinear,
        ];
    if beside_core.iter().any(|op| *op == *qualified) {
        return true;
    }
    registry.get(name).is_some_and(|op| op.has_tag(ops::Tag::Core))
}

fn non_core(g: &Graph, registry: &Registry, where_: &str, out: &mut Vec<String>) {
    for n in &g.nodes {
        let at = format!("{where_}node `{}`", n.name.as_deref().unwrap_or(&n.target));
        if !allowed_in_core_aten(&n.target, registry) {
            out.push(format!("{at}: {} is not a core ATen operator", n.target));
        }
        for a in &n.inputs {
            if let Argument::AsGraph(sg) = &a.arg {
                non_core(&sg.graph, registry, &format!("{at} > subgraph `{}`: ", sg.name), out);
            }
        }
    }
}

impl ExportedProgram {
    /// The nodes (subgraphs included) that are not core ATen; empty for a core-ATen program.
    pub fn verify_core_aten(&self, registry: &Registry) -> Vec<String> {
        let mut out = Vec::new();
        non_core(self.graph(), registry, "", &mut out);
        out
    }
}

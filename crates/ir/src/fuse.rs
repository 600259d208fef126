//! Plan-time fusion of element-wise chains: a run of functional float32 element-wise operators
//! whose intermediate values are each read once (`x * sigmoid(x)`, `x * clamp(x + 3, 0, 6) / 6`,
//! `relu(a + b)`) becomes one step that evaluates the whole chain block by block, each block
//! small enough to stay in L1, instead of one pass over memory (and one tensor) per operator.
//! That is what a core-ATen program of a SiLU or hard-swish network is made of.
//!
//! Only chains the program's own metadata proves safe are fused: every value float32 and of the
//! same sizes (the same symbolic expressions, so it holds for every input the program accepts),
//! every other operand a number. The results differ from running the operators one by one only
//! where those round differently (`silu` from `x * sigmoid(x)`: no operator here is replaced by
//! another formula; each is computed as its own kernel computes it, in float32).

use std::collections::HashMap;

use tensor::kernels::vmath::{self, Activation};
use tensor::{DType, Tensor};

use super::{Action, Bind, GraphPlan, Operand, Step};
use crate::schema::{Graph, TensorMeta};
use ops::Value;

/// One operator of a chain, applied to a block.
#[derive(Clone, Copy, Debug)]
enum Op {
    Act(Activation),
    Neg,
    Add,
    Sub,
    Mul,
    Div,
}

/// Where an operand of an instruction comes from.
#[derive(Clone, Copy, Debug)]
enum Src {
    /// The fused step's n-th tensor input.
    Input(usize),
    /// The result of instruction n.
    Reg(usize),
    Scalar(f32),
}

#[derive(Clone, Debug)]
struct Instr {
    op: Op,
    a: Src,
    b: Src,
}

/// A fused chain: its tensor inputs (slots) and its instructions; the last one's result is the
/// step's output.
#[derive(Debug)]
pub(super) struct Chain {
    pub(super) inputs: Vec<usize>,
    program: Vec<Instr>,
}

/// Elements evaluated at a time: a block of every register fits in L1.
const BLOCK: usize = 1024;

impl Chain {
    /// Runs the chain on its inputs' values.
    pub(super) fn run(&self, inputs: Vec<Value>, label: &str) -> crate::Result<Value> {
        let tensors: Vec<Tensor> = inputs
            .into_iter()
            .map(|v| match v {
                Value::Tensor(t) if t.dtype() == DType::F32 => Ok(t),
                other => Err(crate::Error::msg(format!("node `{label}`: fused element-wise chain expected a float32 tensor, got {}", other.kind()))),
            })
            .collect::<crate::Result<_>>()?;
        let shape = tensors[0].shape().to_vec();
        if let Some(t) = tensors.iter().find(|t| t.shape() != shape.as_slice()) {
            return Err(crate::Error::msg(format!("node `{label}`: fused element-wise chain expected inputs of sizes {shape:?}, got {:?}", t.shape())));
        }
        if tensors.iter().any(|t| t.is_meta()) {
            return Ok(Tensor::meta(&shape, DType::F32).into());
        }
        let contiguous: Vec<Tensor> = tensors.iter().map(|t| t.contiguous()).collect();
        let n = tensor::shape::numel(&shape);
        let mut out = tensor::alloc::tensor_vec(0f32, &shape);
        let guards: Vec<_> = contiguous.iter().map(|t| t.storage().read()).collect();
        let slices: Vec<&[f32]> = guards
            .iter()
            .zip(&contiguous)
            .map(|(g, t)| &bytemuck::cast_slice::<u8, f32>(g.bytes())[t.storage_offset()..t.storage_offset() + n])
            .collect();
        let one = |regs: &mut Vec<f32>, (b, dst): (usize, &mut [f32])| {
            let start = b * BLOCK;
            let ins: Vec<&[f32]> = slices.iter().map(|s| &s[start..start + dst.len()]).collect();
            regs.resize(self.program.len() * BLOCK, 0.0);
            evaluate(&self.program, &ins, regs, dst);
        };
        if n >= 1 << 15 {
            use rayon::prelude::*;
            out.par_chunks_mut(BLOCK).enumerate().for_each_init(Vec::new, one);
        } else {
            let mut regs = Vec::new();
            out.chunks_mut(BLOCK).enumerate().for_each(|item| one(&mut regs, item));
        }
        drop(guards);
        Ok(Tensor::from_vec(out, &shape)?.into())
    }
}

tensor::per_isa!(fn evaluate(program: &[Instr], ins: &[&[f32]], regs: &mut [f32], dst: &mut [f32]) => evaluate_portable);

/// `o[j] = f(a[j])` or `f(a)` for a scalar.
#[inline(always)]
fn unary(o: &mut [f32], a: Operand1, f: impl Fn(f32) -> f32) {
    match a {
        Operand1::Run(a) => o.iter_mut().zip(a).for_each(|(o, &x)| *o = f(x)),
        Operand1::Scalar(x) => o.fill(f(x)),
    }
}

#[inline(always)]
fn binary(o: &mut [f32], a: Operand1, b: Operand1, f: impl Fn(f32, f32) -> f32) {
    match (a, b) {
        (Operand1::Run(a), Operand1::Run(b)) => o.iter_mut().zip(a).zip(b).for_each(|((o, &x), &y)| *o = f(x, y)),
        (Operand1::Run(a), Operand1::Scalar(y)) => o.iter_mut().zip(a).for_each(|(o, &x)| *o = f(x, y)),
        (Operand1::Scalar(x), Operand1::Run(b)) => o.iter_mut().zip(b).for_each(|(o, &y)| *o = f(x, y)),
        (Operand1::Scalar(x), Operand1::Scalar(y)) => o.fill(f(x, y)),
    }
}

#[derive(Clone, Copy)]
enum Operand1<'a> {
    Run(&'a [f32]),
    Scalar(f32),
}

#[inline(always)]
fn evaluate_portable(program: &[Instr], ins: &[&[f32]], regs: &mut [f32], dst: &mut [f32]) {
    let n = dst.len();
    for (i, instr) in program.iter().enumerate() {
        let (done, rest) = regs.split_at_mut(i * BLOCK);
        let o = &mut rest[..n];
        let get = |s: Src| match s {
            Src::Input(k) => Operand1::Run(&ins[k][..n]),
            Src::Reg(r) => Operand1::Run(&done[r * BLOCK..r * BLOCK + n]),
            Src::Scalar(v) => Operand1::Scalar(v),
        };
        let (a, b) = (get(instr.a), get(instr.b));
        match instr.op {
            Op::Act(f) => match f {
                Activation::Relu => unary(o, a, vmath::relu),
                Activation::Sigmoid => unary(o, a, vmath::sigmoid),
                Activation::Silu => unary(o, a, vmath::silu),
                Activation::Tanh => unary(o, a, vmath::tanh),
                Activation::Gelu => unary(o, a, vmath::gelu),
                Activation::GeluTanh => unary(o, a, vmath::gelu_tanh),
                Activation::Hardswish => unary(o, a, vmath::hardswish),
                Activation::Hardsigmoid => unary(o, a, vmath::hardsigmoid),
                Activation::Clamp(lo, hi) => unary(o, a, |x| vmath::clamp(x, lo, hi)),
            },
            Op::Neg => unary(o, a, |x| -x),
            Op::Add => binary(o, a, b, |x, y| x + y),
            Op::Sub => binary(o, a, b, |x, y| x - y),
            Op::Mul => binary(o, a, b, |x, y| x * y),
            Op::Div => binary(o, a, b, |x, y| x / y),
        }
    }
    let last = program.len() - 1;
    dst.copy_from_slice(&regs[last * BLOCK..last * BLOCK + n]);
}

/// A number operand as float32, if it is one.
fn number(o: &Operand) -> Option<f32> {
    match o {
        Operand::Const(Value::Float(f)) => Some(*f as f32),
        Operand::Const(Value::Int(i)) => Some(*i as f32),
        _ => None,
    }
}

/// The activation a step computes, if it is one of the functional activation operators (with
/// constant parameters), or with `in_place_too` their in-place forms (`relu_`), and its input.
pub(super) fn activation(step: &Step, in_place_too: bool) -> Option<(Activation, Operand)> {
    let Action::Kernel { args, .. } = &step.action else { return None };
    let name = step.target.strip_prefix("torch.ops.aten.")?;
    let functional;
    let name = match name.split_once("_.") {
        Some((base, overload)) if in_place_too => {
            functional = format!("{base}.{overload}");
            functional.as_str()
        }
        _ => name,
    };
    let bound = |i: usize, none: f32| match args.get(i) {
        Some(Operand::Const(Value::None)) | None => Some(none),
        Some(o) => number(o),
    };
    let f = match name {
        "relu.default" => Activation::Relu,
        "sigmoid.default" => Activation::Sigmoid,
        "silu.default" => Activation::Silu,
        "tanh.default" => Activation::Tanh,
        "hardswish.default" => Activation::Hardswish,
        "hardsigmoid.default" => Activation::Hardsigmoid,
        "gelu.default" => match args.get(1) {
            Some(Operand::Const(Value::Str(s))) if s == "none" => Activation::Gelu,
            Some(Operand::Const(Value::Str(s))) if s == "tanh" => Activation::GeluTanh,
            _ => return None,
        },
        "clamp.default" => Activation::Clamp(bound(1, f32::NEG_INFINITY)?, bound(2, f32::INFINITY)?),
        // hardtanh's bounds default to -1 and 1; relu6 lowers to it
        "hardtanh.default" => Activation::Clamp(bound(1, -1.0)?, bound(2, 1.0)?),
        _ => return None,
    };
    Some((f, args.first()?.clone()))
}

/// What a step computes, if it is a fusable element-wise operator: the op and its operands
/// (tensor operands as slots).
fn recognize(step: &Step) -> Option<(Op, Operand, Operand)> {
    if let Some((f, x)) = activation(step, false) {
        return Some((Op::Act(f), x, Operand::Const(Value::None)));
    }
    let Action::Kernel { args, .. } = &step.action else { return None };
    let name = step.target.strip_prefix("torch.ops.aten.")?;
    // `add`/`sub` with `alpha` 1 only
    let scalar_one = |i: usize| args.get(i).is_none_or(|o| number(o) == Some(1.0));
    match name {
        "neg.default" => Some((Op::Neg, args.first()?.clone(), Operand::Const(Value::None))),
        "add.Tensor" | "sub.Tensor" if scalar_one(2) => {
            Some((if name == "add.Tensor" { Op::Add } else { Op::Sub }, args.first()?.clone(), args.get(1)?.clone()))
        }
        "mul.Tensor" => Some((Op::Mul, args.first()?.clone(), args.get(1)?.clone())),
        "div.Tensor" => Some((Op::Div, args.first()?.clone(), args.get(1)?.clone())),
        _ => None,
    }
}

impl GraphPlan {
    /// Fuses the element-wise chains of this (top-level) plan, with `graph` the graph it was
    /// compiled from (for its values' recorded dtypes and sizes). Returns how many operator
    /// steps were folded into chains.
    pub(crate) fn fuse_elementwise(&mut self, graph: &Graph) -> usize {
        let meta = |slot: usize| -> Option<&TensorMeta> { graph.tensor_values.get(&self.names[slot]) };
        let is_f32 = |m: &TensorMeta| crate::dtype::to_dtype(m.dtype).ok() == Some(DType::F32);
        let uses = self.slot_reads();
        // per step: its op, operands and output slot, when fusable on float32 values of one size
        let mut candidates: Vec<Option<(Op, Operand, Operand, usize)>> = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            let c = (|| {
                let (op, a, b) = recognize(step)?;
                let [Bind::One(out)] = step.outputs.as_slice() else { return None };
                let out_meta = meta(*out).filter(|m| is_f32(m))?;
                for o in [&a, &b] {
                    match o {
                        Operand::Slot(s) => {
                            let m = meta(*s)?;
                            if !is_f32(m) || m.sizes != out_meta.sizes {
                                return None;
                            }
                        }
                        Operand::Const(Value::None) => {}
                        other => {
                            number(other)?;
                        }
                    }
                }
                Some((op, a, b, *out))
            })();
            candidates.push(c);
        }
        // each step's group: a step joins the group of a fusable producer whose value only it reads
        let producer: HashMap<usize, usize> = candidates.iter().enumerate().filter_map(|(i, c)| c.as_ref().map(|c| (c.3, i))).collect();
        let mut group: Vec<usize> = (0..self.steps.len()).collect();
        for (i, c) in candidates.iter().enumerate() {
            let Some((_, a, b, _)) = c else { continue };
            for o in [a, b] {
                if let Operand::Slot(s) = o {
                    if let Some(&p) = producer.get(s) {
                        if uses[*s] == 1 {
                            let root = find(&mut group, p);
                            group[root] = i;
                        }
                    }
                }
            }
        }
        let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
        for i in 0..self.steps.len() {
            if candidates[i].is_some() {
                let root = find(&mut group, i);
                members.entry(root).or_default().push(i);
            }
        }
        // a chain runs at its last step: no step between its first and last may write a tensor
        let mut writes_before = Vec::with_capacity(self.steps.len() + 1);
        writes_before.push(0usize);
        for step in &self.steps {
            let writes = matches!(&step.action, Action::Kernel { def, .. } if def.schema.is_mutating());
            writes_before.push(writes_before.last().copied().unwrap_or(0) + writes as usize);
        }
        let mut chains: HashMap<usize, (Chain, Vec<usize>)> = HashMap::new();
        for (root, steps) in members {
            if steps.len() < 2 || writes_before[root] != writes_before[steps[0]] {
                continue;
            }
            let mut inputs: Vec<usize> = Vec::new();
            let mut reg_of: HashMap<usize, usize> = HashMap::new();
            let mut program = Vec::new();
            for &i in &steps {
                let (op, a, b, out) = candidates[i].clone().expect("a member is a candidate");
                let mut src = |o: &Operand| match o {
                    Operand::Slot(s) => match reg_of.get(s) {
                        Some(&r) => Src::Reg(r),
                        None => Src::Input(inputs.iter().position(|x| x == s).unwrap_or_else(|| {
                            inputs.push(*s);
                            inputs.len() - 1
                        })),
                    },
                    other => Src::Scalar(number(other).unwrap_or(0.0)),
                };
                let (a, b) = (src(&a), src(&b));
                program.push(Instr { op, a, b });
                reg_of.insert(out, program.len() - 1);
            }
            if inputs.is_empty() {
                continue;
            }
            chains.insert(root, (Chain { inputs, program }, steps));
        }
        let fused: usize = chains.values().map(|(_, s)| s.len()).sum();
        let absorbed: std::collections::HashSet<usize> = chains.values().flat_map(|(_, s)| s[..s.len() - 1].iter().copied()).collect();
        let old = std::mem::take(&mut self.steps);
        for (i, mut step) in old.into_iter().enumerate() {
            if absorbed.contains(&i) {
                continue;
            }
            if let Some((chain, steps)) = chains.remove(&i) {
                step.label = format!("{} (fused: {} element-wise operators)", step.label, steps.len());
                step.target = "pt2.fused_elementwise".to_string();
                step.action = Action::Fused(chain);
            }
            step.frees.clear();
            self.steps.push(step);
        }
        self.place_frees();
        fused
    }
}

fn find(group: &mut [usize], mut i: usize) -> usize {
    while group[i] != i {
        group[i] = group[group[i]];
        i = group[i];
    }
    i
}

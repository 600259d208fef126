//! `export()`: lifts a module's state to placeholders, gives each input dim a size (static or
//! symbolic, per the dynamic-shapes spec), traces `forward`, checks the guards against the
//! specs, and assembles the `ExportedProgram`.

use indexmap::IndexMap;
use ir::pytree::{DictKey, TreeSpec};
use ir::schema::{self, Argument, InputSpec, OutputSpec, TensorArgument};
use symbolic::{DimSpec, Expr};

use crate::module::{Module, Visitor};
use crate::tensor::Tensor;
use crate::trace::{tracing, Placeholder, PlaceholderKind, SymbolSource, Tracer};
use crate::tree::Tree;
use crate::{Error, Result};

/// Named inputs, in the order `forward` takes them (PyTorch's argument names); keyword
/// arguments come after the positional ones, as in Python.
#[derive(Clone, Default)]
pub struct Inputs {
    pub args: Vec<(String, Tree)>,
    /// How many of `args` are keyword arguments (the last ones).
    pub keywords: usize,
}

impl Inputs {
    pub fn new() -> Inputs {
        Inputs::default()
    }

    /// A positional argument.
    pub fn arg(mut self, name: &str, value: impl Into<Tree>) -> Inputs {
        let at = self.args.len() - self.keywords;
        self.args.insert(at, (name.to_string(), value.into()));
        self
    }

    /// A keyword argument.
    pub fn kwarg(mut self, name: &str, value: impl Into<Tree>) -> Inputs {
        self.args.push((name.to_string(), value.into()));
        self.keywords += 1;
        self
    }

    /// The same structure with its leaves (tensors and numbers, in order) replaced.
    pub fn with_leaves(&self, leaves: Vec<Tree>) -> Inputs {
        leaves_into(self, &mut leaves.into_iter())
    }

    pub fn get(&self, name: &str) -> Result<&Tree> {
        self.args.iter().find(|(n, _)| n == name).map(|(_, t)| t).ok_or_else(|| Error::msg(format!("no input named `{name}`")))
    }

    /// The input `name` when it is given and not `None` (Python's `y=None` default), or
    /// `None`.
    pub fn optional_tensor(&self, name: &str) -> Result<Option<&Tensor>> {
        match self.args.iter().find(|(n, _)| n == name).map(|(_, t)| t) {
            None | Some(Tree::None) => Ok(None),
            Some(Tree::Tensor(t)) => Ok(Some(t)),
            Some(other) => Err(Error::msg(format!("input `{name}` must be a tensor or None, got {}", other.kind()))),
        }
    }

    /// The tensor input `name`.
    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        match self.get(name)? {
            Tree::Tensor(t) => Ok(t),
            other => Err(Error::msg(format!("input `{name}` must be a tensor, got {}", other.kind()))),
        }
    }
}

/// A program that can be exported: a module with a `forward` over named inputs.
pub trait Program: Module {
    fn forward(&self, inputs: &Inputs) -> Result<Tree>;
}

/// Which input dims are dynamic: by input path (`x`, `inp['x']`, `inp['others'][0]`) and dim,
/// or by tensor (PyTorch's `ShapesCollection`); dims not named are static.
#[derive(Clone, Default)]
pub struct DynamicShapes {
    dims: Vec<(String, usize, DimSpec)>,
    by_tensor: Vec<(Tensor, usize, DimSpec)>,
}

impl DynamicShapes {
    pub fn new() -> DynamicShapes {
        DynamicShapes::default()
    }

    /// Dim `dim` of the input at `input` (a path into the inputs).
    pub fn dim(mut self, input: &str, dim: usize, spec: impl Into<DimSpec>) -> DynamicShapes {
        self.dims.push((input.to_string(), dim, spec.into()));
        self
    }

    /// Dim `dim` of whichever input is `tensor`, wherever it sits in the inputs
    /// (`ShapesCollection`: `sc[tensor] = (dim, dim + 1, 8)`).
    pub fn tensor_dim(mut self, tensor: &Tensor, dim: usize, spec: impl Into<DimSpec>) -> DynamicShapes {
        self.by_tensor.push((tensor.clone(), dim, spec.into()));
        self
    }

    /// PyTorch's `AdditionalInputs`: the dims whose sizes differ between the example and the
    /// other input sets are `Dim::DYNAMIC`, the rest static. The sets must have the same
    /// structure.
    pub fn from_input_sets(example: &Inputs, others: &[Inputs]) -> Result<DynamicShapes> {
        let (leaves, _) = input_leaves(example);
        let mut out = DynamicShapes::new();
        let other_leaves: Vec<Vec<(String, String, String, Tree)>> = others.iter().map(|o| input_leaves(o).0).collect();
        for (i, (path, _, _, leaf)) in leaves.iter().enumerate() {
            let Tree::Tensor(t) = leaf else { continue };
            let shape = t.shape();
            for o in &other_leaves {
                let Some((_, _, _, Tree::Tensor(u))) = o.get(i) else {
                    return Err(Error::msg(format!("the input sets differ in structure at {path}")));
                };
                if u.shape().len() != shape.len() {
                    return Err(Error::msg(format!("{path} has rank {} in one input set and {} in another", shape.len(), u.shape().len())));
                }
            }
            for (d, size) in shape.iter().enumerate() {
                if other_leaves.iter().any(|o| matches!(&o[i].3, Tree::Tensor(u) if u.shape()[d] != *size)) {
                    out = out.dim(path, d, DimSpec::Dynamic);
                }
            }
        }
        Ok(out)
    }

    /// One line per dim the spec names, as the Rust that names it: `x` dim 0: `Dim::new("b")`.
    pub fn describe(&self) -> Vec<String> {
        let by_path = self.dims.iter().map(|(input, dim, spec)| format!("`{input}` dim {dim}: {spec}"));
        let by_tensor = self.by_tensor.iter().map(|(t, dim, spec)| format!("the tensor of sizes {:?}, dim {dim}: {spec}", t.shape()));
        by_path.chain(by_tensor).collect()
    }

    /// For a draft export: a copy whose `Dim`s hold their examples, each widening recorded as a
    /// problem with the `Dim` that would hold it.
    fn widened_to_examples(&self, leaves: &[(String, String, String, Tree)]) -> DynamicShapes {
        let mut out = self.clone();
        let widen = |path: &str, t: &Tensor, dim: usize, spec: &mut DimSpec| {
            let (DimSpec::Named(d), Some(&size)) = (&mut *spec, t.shape().get(dim)) else { return };
            let size = size as i64;
            let (lo, hi) = (d.min.unwrap_or(0), d.max);
            if size >= lo && hi.is_none_or(|h| size <= h) {
                return;
            }
            let hi_text = hi.map_or("inf".to_string(), |h| h.to_string());
            let message = format!("input `{path}` dim {dim}: {size} not in range [{lo}, {hi_text}] (the example's size, outside Dim `{}`'s range)", d.name);
            if size < lo {
                d.min = Some(size);
            } else {
                d.max = Some(size);
            }
            let mut fix = format!("let {} = Dim::new(\"{}\")", d.name, d.name);
            if let Some(m) = d.min {
                fix.push_str(&format!(".min({m})"));
            }
            if let Some(m) = d.max {
                fix.push_str(&format!(".max({m})"));
            }
            fix.push(';');
            crate::draft::record(crate::draft::ProblemKind::ExampleOutsideRange, message, None, vec![fix]);
        };
        for (input, dim, spec) in &mut out.dims {
            if let Some((_, _, _, Tree::Tensor(t))) = leaves.iter().find(|(p, ..)| p == input) {
                widen(input, t, *dim, spec);
            }
        }
        for (tensor, dim, spec) in &mut out.by_tensor {
            if let Some((path, ..)) = leaves.iter().find(|(_, _, _, l)| matches!(l, Tree::Tensor(t) if t.same_as(tensor))) {
                let t = tensor.clone();
                widen(path, &t, *dim, spec);
            }
        }
        out
    }

    /// Every input path and dim the spec names must exist, and every Dim's range must be
    /// non-empty and hold the example's size: a spec that names nothing would otherwise export
    /// a static program without a word (PyTorch refuses it too).
    fn validate(&self, leaves: &[(String, String, String, Tree)]) -> Result<()> {
        let tensors: Vec<(&str, &Tensor)> = leaves.iter().filter_map(|(path, _, _, leaf)| if let Tree::Tensor(t) = leaf { Some((path.as_str(), t)) } else { None }).collect();
        let known = || tensors.iter().map(|(p, t)| format!("`{p}` {:?}", t.shape())).collect::<Vec<_>>().join(", ");
        let check_dim = |path: &str, t: &Tensor, dim: usize, spec: &DimSpec, via: &str| -> Result<()> {
            let shape = t.shape();
            if dim >= shape.len() {
                return Err(Error::msg(format!("{via} names dim {dim} of input `{path}`, which has {} dims (sizes {shape:?})", shape.len())));
            }
            if let DimSpec::Named(d) = spec {
                if let (Some(lo), Some(hi)) = (d.min, d.max) {
                    if lo > hi {
                        return Err(Error::msg(format!("Dim `{}` has an empty range: min {lo} is greater than max {hi} (given for input `{path}` dim {dim})", d.name)));
                    }
                }
                let size = shape[dim] as i64;
                let (lo, hi) = (d.min.unwrap_or(0), d.max);
                if size < lo || hi.is_some_and(|h| size > h) {
                    let hi = hi.map_or("inf".to_string(), |h| h.to_string());
                    return Err(Error::msg(format!("input `{path}` dim {dim}: {size} not in range [{lo}, {hi}] (the example's size, outside Dim `{}`'s range)", d.name)));
                }
            }
            Ok(())
        };
        for (input, dim, spec) in &self.dims {
            match leaves.iter().find(|(path, ..)| path == input) {
                Some((_, _, _, Tree::Tensor(t))) => check_dim(input, t, *dim, spec, "DynamicShapes::dim")?,
                Some((_, _, _, other)) => {
                    return Err(Error::msg(format!("DynamicShapes::dim names input `{input}`, which is {}, not a tensor", other.kind())));
                }
                None => return Err(Error::msg(format!("DynamicShapes::dim names input `{input}`, which is not among the inputs; the tensor inputs are {}", known()))),
            }
        }
        for (tensor, dim, spec) in &self.by_tensor {
            match tensors.iter().find(|(_, t)| t.same_as(tensor)) {
                Some((path, t)) => check_dim(path, t, *dim, spec, "DynamicShapes::tensor_dim")?,
                None => return Err(Error::msg(format!("DynamicShapes::tensor_dim names a tensor of sizes {:?} that is not among the inputs; the tensor inputs are {}", tensor.shape(), known()))),
            }
        }
        Ok(())
    }

    fn spec(&self, input: &str, tensor: Option<&Tensor>, dim: usize) -> DimSpec {
        if let Some(t) = tensor {
            if let Some((_, _, s)) = self.by_tensor.iter().find(|(u, d, _)| u.same_as(t) && *d == dim) {
                return s.clone();
            }
        }
        self.dims.iter().find(|(i, d, _)| i == input && *d == dim).map(|(_, _, s)| s.clone()).unwrap_or(DimSpec::Static)
    }
}

#[derive(Clone, Default)]
pub struct ExportOptions {
    pub dynamic_shapes: DynamicShapes,
    /// Strict mode: reading a traced tensor's values into host code (`item_f64().value()`,
    /// `values()`) fails export instead of specializing the program to the example.
    pub strict: bool,
}

/// Leaves of the inputs with their paths (`inp['x']`), placeholder names (`inp_x`) and the
/// source PyTorch names their sizes by (`L['inp']['x']`).
fn input_leaves(inputs: &Inputs) -> (Vec<(String, String, String, Tree)>, TreeSpec) {
    fn walk(t: &Tree, path: &str, name: &str, source: &str, out: &mut Vec<(String, String, String, Tree)>) -> TreeSpec {
        match t {
            Tree::Tuple(v) | Tree::List(v) => {
                let specs = v.iter().enumerate().map(|(i, c)| walk(c, &format!("{path}[{i}]"), &format!("{name}_{i}"), &format!("{source}[{i}]"), out)).collect();
                if matches!(t, Tree::Tuple(_)) {
                    TreeSpec::Tuple(specs)
                } else {
                    TreeSpec::List(specs)
                }
            }
            Tree::Dict(v) => TreeSpec::Dict(
                v.iter().map(|(k, c)| (DictKey::Str(k.clone()), walk(c, &format!("{path}['{k}']"), &format!("{name}_{k}"), &format!("{source}['{k}']"), out))).collect(),
            ),
            Tree::None => TreeSpec::NoneNode,
            leaf => {
                out.push((path.to_string(), name.to_string(), source.to_string(), leaf.clone()));
                TreeSpec::Leaf
            }
        }
    }
    let mut out = Vec::new();
    let specs: Vec<TreeSpec> = inputs.args.iter().map(|(n, t)| walk(t, n, n, &format!("L['{n}']"), &mut out)).collect();
    let split = inputs.args.len() - inputs.keywords;
    let kwargs = inputs.args[split..].iter().zip(&specs[split..]).map(|((n, _), s)| (DictKey::Str(n.clone()), s.clone())).collect();
    (out, TreeSpec::Tuple(vec![TreeSpec::Tuple(specs[..split].to_vec()), TreeSpec::Dict(kwargs)]))
}

/// Traces `program.forward(inputs)` into an `ExportedProgram`.
pub fn export(program: &dyn Program, inputs: Inputs, options: &ExportOptions) -> Result<ir::ExportedProgram> {
    export_with(program, inputs, options, false)
}

/// [`export`], or with `draft` the tracing of [`crate::draft_export`]: problems are recorded
/// and export goes on.
pub(crate) fn export_with(program: &dyn Program, inputs: Inputs, options: &ExportOptions, draft: bool) -> Result<ir::ExportedProgram> {
    let mut tracer = Tracer::new();
    tracer.strict = options.strict;
    let visitor = Visitor::root(program);
    for (fqn, addr, ty) in &visitor.modules {
        tracer.module_names.insert(*addr, (fqn.clone(), ty.clone()));
    }

    // lifted state: parameters, then buffers (buffers are copied: tracing runs the real
    // kernels and must not change the module)
    for (fqn, p) in &visitor.parameters {
        let name = tracer.fresh_name(&format!("p_{}", fqn.replace('.', "_")));
        let data = p.0.data();
        let sizes = static_sizes(&data);
        let t = tracer.new_value(name.clone(), data, sizes, true);
        tracer.lifted.insert(p.0.id(), t);
        tracer.placeholders.push(Placeholder { name, kind: PlaceholderKind::Parameter { target: fqn.clone() } });
    }
    for (fqn, b) in &visitor.buffers {
        let name = tracer.fresh_name(&format!("b_{}", fqn.replace('.', "_")));
        let data = b.state.data().deep_clone();
        let sizes = static_sizes(&data);
        let t = tracer.new_value(name.clone(), data, sizes, false);
        tracer.lifted.insert(b.state.id(), t);
        tracer.placeholders.push(Placeholder { name, kind: PlaceholderKind::Buffer { target: fqn.clone(), persistent: b.persistent } });
    }

    for (fqn, c) in &visitor.constants {
        let name = tracer.fresh_name(&format!("c_{}", fqn.replace('.', "_")));
        let data = c.0.data().deep_clone();
        let sizes = static_sizes(&data);
        let t = tracer.new_value(name.clone(), data, sizes, false);
        tracer.lifted.insert(c.0.id(), t);
        tracer.placeholders.push(Placeholder { name, kind: PlaceholderKind::Constant { target: fqn.clone() } });
    }

    // user inputs, each dim sized per the spec
    let (leaves, in_spec) = input_leaves(&inputs);
    let widened;
    let dynamic_shapes = if draft {
        widened = options.dynamic_shapes.widened_to_examples(&leaves);
        &widened
    } else {
        &options.dynamic_shapes
    };
    dynamic_shapes.validate(&leaves)?;
    let mut traced_leaves = Vec::new();
    let mut user_inputs = Vec::new();
    for (path, name, source, leaf) in &leaves {
        match leaf {
            Tree::Tensor(t) => {
                let data = t.data().deep_clone();
                let mut sizes = Vec::new();
                for (d, &hint) in data.shape().iter().enumerate() {
                    let spec = dynamic_shapes.spec(path, Some(t), d);
                    let src = format!("{source}.size()[{d}]");
                    let size = tracer.env.create_size_for_spec(&src, hint as i64, &spec).map_err(Error::from)?;
                    sizes.push(size);
                }
                let pname = tracer.fresh_name(name);
                for (d, s) in sizes.iter().enumerate() {
                    if let Some(sym) = s.as_symbol() {
                        tracer.symbol_sources.entry(sym.to_string()).or_insert(SymbolSource { value: pname.clone(), dim: d, input: true });
                    }
                }
                let traced = tracer.new_value(pname.clone(), data, sizes, false);
                user_inputs.push((pname.clone(), Some(path.clone())));
                traced_leaves.push(Tree::Tensor(traced));
            }
            other => {
                // numbers are specialized, as PyTorch does for non-tensor inputs
                user_inputs.push((name.clone(), None));
                traced_leaves.push(other.clone());
            }
        }
    }
    let mut rebuilt = leaves_into(&inputs, &mut traced_leaves.into_iter());

    let root_entry = (String::new(), program.type_name());
    tracer.module_stack.push(root_entry);
    let (tracer, out) = tracing(tracer, || program.forward(&std::mem::take(&mut rebuilt)));
    let out = out?;
    // the violation keeps its suggested fixes (`Error::Constraint`)
    match tracer.env.check_specs() {
        Err(violation) if draft => {
            let at = (!violation.locations.is_empty()).then(|| violation.locations.join(", "));
            crate::draft::record(crate::draft::ProblemKind::ConstraintViolation, violation.message, at, violation.fixes);
        }
        checked => checked?,
    }
    assemble(tracer, &visitor, &inputs, &leaves, user_inputs, in_spec, out)
}

fn static_sizes(t: &tensor::Tensor) -> Vec<Expr> {
    t.shape().iter().map(|&d| Expr::Int(d as i64)).collect()
}

/// The inputs with their leaves replaced, in order.
fn leaves_into(inputs: &Inputs, leaves: &mut impl Iterator<Item = Tree>) -> Inputs {
    fn rebuild(t: &Tree, leaves: &mut dyn Iterator<Item = Tree>) -> Tree {
        match t {
            Tree::Tuple(v) => Tree::Tuple(v.iter().map(|c| rebuild(c, leaves)).collect()),
            Tree::List(v) => Tree::List(v.iter().map(|c| rebuild(c, leaves)).collect()),
            Tree::Dict(v) => Tree::Dict(v.iter().map(|(k, c)| (k.clone(), rebuild(c, leaves))).collect()),
            Tree::None => Tree::None,
            _ => leaves.next().expect("one leaf per leaf"),
        }
    }
    Inputs { args: inputs.args.iter().map(|(n, t)| (n.clone(), rebuild(t, leaves))).collect(), keywords: inputs.keywords }
}

fn assemble(
    mut tracer: Tracer,
    visitor: &Visitor,
    inputs: &Inputs,
    leaves: &[(String, String, String, Tree)],
    user_inputs: Vec<(String, Option<String>)>,
    in_spec: TreeSpec,
    out: Tree,
) -> Result<ir::ExportedProgram> {
    // outputs
    let mut outputs = Vec::new();
    let out_spec = output_leaves(&mut tracer, &out, &mut outputs)?;

    // sizes in final form: replacements found after a value was recorded apply to it too
    let values = tracer.finished_values();
    let env = &tracer.env;

    // range constraints: every symbol the inputs' sizes use, and derived sizes
    let mut range_constraints = IndexMap::new();
    for (name, _) in &user_inputs {
        let Some(meta) = values.0.get(name) else { continue };
        for s in &meta.sizes {
            let schema::SymInt::AsExpr(x) = s else { continue };
            let Ok(e) = Expr::parse_srepr(&x.expr_str) else { continue };
            let key = e.to_string();
            if range_constraints.contains_key(&key) {
                continue;
            }
            let r = e.range(&|s| env.declared_range(s).unwrap_or_else(|| env.range_of(s)));
            range_constraints.insert(key, schema::RangeConstraint { min_val: r.lo.as_int(), max_val: r.hi.as_int() });
        }
    }

    // values read from data (unbacked symbols), with what checks established
    for info in env.symbols().iter().filter(|s| s.hint.is_none()) {
        let r = env.range_of(&info.name);
        range_constraints.insert(info.name.clone(), schema::RangeConstraint { min_val: r.lo.as_int(), max_val: r.hi.as_int() });
    }

    // placeholders in PyTorch's order: parameters, buffers, constants, user inputs
    let mut input_specs = Vec::new();
    let mut graph_inputs = Vec::new();
    let rank = |k: &PlaceholderKind| match k {
        PlaceholderKind::Parameter { .. } => 0,
        PlaceholderKind::Buffer { .. } => 1,
        PlaceholderKind::Constant { .. } => 2,
    };
    let mut lifted = tracer.placeholders.clone();
    lifted.sort_by_key(|p| rank(&p.kind));
    for p in &lifted {
        let arg = TensorArgument { name: p.name.clone() };
        graph_inputs.push(Argument::AsTensor(arg.clone()));
        input_specs.push(match &p.kind {
            PlaceholderKind::Parameter { target } => InputSpec::Parameter(schema::InputToParameterSpec { arg, parameter_name: target.clone() }),
            PlaceholderKind::Buffer { target, persistent } => {
                InputSpec::Buffer(schema::InputToBufferSpec { arg, buffer_name: target.clone(), persistent: *persistent })
            }
            PlaceholderKind::Constant { target } => {
                InputSpec::TensorConstant(schema::InputToTensorConstantSpec { arg, tensor_constant_name: target.clone() })
            }
        });
    }
    for ((name, path), (_, _, _, leaf)) in user_inputs.iter().zip(leaves) {
        match (path, leaf) {
            (Some(_), _) => {
                let arg = Argument::AsTensor(TensorArgument { name: name.clone() });
                graph_inputs.push(arg.clone());
                input_specs.push(InputSpec::UserInput(schema::UserInputSpec { arg }));
            }
            (None, leaf) => {
                let value = match leaf {
                    Tree::Int(i) => schema::ConstantValue::AsInt(*i),
                    Tree::Float(f) => schema::ConstantValue::AsFloat(ir::float::F64(*f)),
                    Tree::Bool(b) => schema::ConstantValue::AsBool(*b),
                    _ => schema::ConstantValue::AsNone(true),
                };
                input_specs.push(InputSpec::ConstantInput(schema::InputToConstantInputSpec { name: name.clone(), value }));
            }
        }
    }
    let output_specs = outputs.iter().map(|a| OutputSpec::UserOutput(schema::UserOutputSpec { arg: a.clone() })).collect();

    let mut module_call_graph = vec![schema::ModuleCallEntry {
        fqn: String::new(),
        signature: Some(schema::ModuleCallSignature {
            inputs: vec![],
            outputs: vec![],
            in_spec: in_spec.to_json(),
            out_spec: out_spec.to_json(),
            forward_arg_names: Some(inputs.args.iter().map(|(n, _)| n.clone()).collect()),
        }),
    }];
    module_call_graph.extend(visitor.modules.iter().skip(1).map(|(fqn, _, _)| schema::ModuleCallEntry { fqn: fqn.clone(), signature: None }));

    let graph = crate::trace::graph_of(graph_inputs, outputs.clone(), std::mem::take(&mut tracer.nodes), values);
    let model = schema::ExportedProgram {
        graph_module: schema::GraphModule {
            graph,
            signature: schema::GraphSignature { input_specs, output_specs },
            module_call_graph,
            metadata: IndexMap::new(),
            treespec_namedtuple_fields: IndexMap::new(),
        },
        opset_version: [("aten".to_string(), 10)].into_iter().collect(),
        range_constraints,
        schema_version: schema::SchemaVersion { major: 8, minor: 20 },
        verifiers: vec!["TRAINING".into()],
        torch_version: "2.15.0".into(),
        guards_code: vec![],
    };
    let mut state_dict = IndexMap::new();
    for (fqn, p) in &visitor.parameters {
        state_dict.insert(fqn.clone(), p.0.data());
    }
    let mut constants = IndexMap::new();
    for (fqn, b) in &visitor.buffers {
        if b.persistent {
            state_dict.insert(fqn.clone(), b.state.data());
        } else {
            constants.insert(fqn.clone(), b.state.data());
        }
    }
    for (fqn, c) in &visitor.constants {
        constants.insert(fqn.clone(), c.0.data());
    }
    for (name, t) in &tracer.constants {
        constants.insert(name.clone(), t.clone());
    }
    Ok(ir::ExportedProgram { model, state_dict, constants, example_inputs: None })
}

/// The output leaves as graph arguments, and the output's structure.
fn output_leaves(tracer: &mut Tracer, out: &Tree, args: &mut Vec<Argument>) -> Result<TreeSpec> {
    Ok(match out {
        Tree::Tensor(t) => {
            let name = t.name_in(tracer.id).ok_or_else(|| Error::msg("an output tensor was not computed from the inputs (a constant output is not supported)"))?;
            args.push(Argument::AsTensor(TensorArgument { name }));
            TreeSpec::Leaf
        }
        Tree::Int(i) => {
            args.push(Argument::AsInt(*i));
            TreeSpec::Leaf
        }
        Tree::SymInt(s) => {
            let a = tracer.sym_value(s.expr(), s.hint())?;
            args.push(match a {
                schema::SymIntArgument::AsInt(v) => Argument::AsInt(v),
                n => Argument::AsSymInt(n),
            });
            TreeSpec::Leaf
        }
        Tree::Float(f) => {
            args.push(Argument::AsFloat(ir::float::F64(*f)));
            TreeSpec::Leaf
        }
        Tree::Bool(b) => {
            args.push(Argument::AsBool(*b));
            TreeSpec::Leaf
        }
        Tree::None => TreeSpec::NoneNode,
        Tree::Tuple(v) => TreeSpec::Tuple(v.iter().map(|c| output_leaves(tracer, c, args)).collect::<Result<_>>()?),
        Tree::List(v) => TreeSpec::List(v.iter().map(|c| output_leaves(tracer, c, args)).collect::<Result<_>>()?),
        Tree::Dict(v) => TreeSpec::Dict(v.iter().map(|(k, c)| Ok((DictKey::Str(k.clone()), output_leaves(tracer, c, args)?))).collect::<Result<_>>()?),
    })
}

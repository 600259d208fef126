//! `ep.unflatten()`, as `torch.export.unflatten`: the module tree of a flat program, rebuilt
//! from each node's `nn_module_stack` and the module call graph, with PyTorch's fully qualified
//! names. Each submodule holds its part of the graph (its nodes, and calls of its children), the
//! state it owns (`layer1.0.conv1.weight` belongs to `layer1.0.conv1`), and its signature: the
//! values it reads from outside and the values it gives back.
//!
//! The root takes the flat program's inputs and gives its outputs. A submodule can be replaced
//! by another implementation with the same signature ([`UnflattenedModule::replace`]) — the
//! reason people unflatten — and the program then runs around it: the graph is cut at the
//! replaced calls and each piece runs as its own compiled plan.

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write};
use std::sync::Arc;

use ops::{Registry, Value};

use crate::plan::GraphPlan;
use crate::print::{arg_names, node_text};
use crate::program::ExportedProgram;
use crate::run::Boundary;
use crate::schema::{Argument, Graph, InputSpec, Node, TensorArgument};
use crate::{Error, Result};

/// A submodule of an unflattened program.
#[derive(Clone, Debug, PartialEq)]
pub struct Submodule {
    /// PyTorch's fully qualified name (`layer1.0.conv1`; empty for the root).
    pub fqn: String,
    /// Which call of the module this is: 0, or 1, 2, ... for a module its parent calls again
    /// (a ResNet block's `relu`). Each call is its own entry, with its own inputs and outputs;
    /// all share the name, as PyTorch's unflatten shares one module between its calls.
    pub call: usize,
    /// The module's class as recorded (`Conv2d`, `Bottleneck`).
    pub class: String,
    /// Its part of the graph, in order.
    pub body: Vec<Step>,
    pub children: Vec<Submodule>,
    /// Values it reads that are made outside it (its forward's inputs), in order of first use.
    pub inputs: Vec<String>,
    /// Values it makes that are read after it, in the order it makes them.
    pub outputs: Vec<String>,
    /// The state it owns: (fully qualified name, the graph's placeholder for it).
    pub state: Vec<(String, String)>,
    /// The flat graph's nodes it covers, `start..end`.
    pub nodes: std::ops::Range<usize>,
}

/// One step of a submodule's part of the graph.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// A node of the flat graph, by index.
    Node(usize),
    /// A call of the child with this index in `children`.
    Call(usize),
}

/// What replaces a submodule: its inputs in, its outputs out.
pub type Replacement = Arc<dyn Fn(&[Value]) -> Result<Vec<Value>> + Send + Sync>;

/// A program as its module tree.
pub struct UnflattenedModule<'a> {
    ep: &'a ExportedProgram,
    root: Submodule,
    boundary: Boundary,
    registry: &'a Registry,
    replaced: Vec<(String, Replacement)>,
    stages: Vec<Stage>,
}

/// The program's run, cut at the replaced submodules.
enum Stage {
    Graph { plan: GraphPlan, inputs: Vec<String>, outputs: Vec<String> },
    Replaced { fqn: String, inputs: Vec<String>, outputs: Vec<String> },
}

impl ExportedProgram {
    /// The program's module tree, as `torch.export.unflatten(ep)`.
    pub fn unflatten(&self) -> Result<UnflattenedModule<'_>> {
        self.unflatten_in(Registry::global())
    }

    /// [`ExportedProgram::unflatten`] with the operators of `registry`.
    pub fn unflatten_in<'a>(&'a self, registry: &'a Registry) -> Result<UnflattenedModule<'a>> {
        let root = module_tree(self);
        let mut um = UnflattenedModule { ep: self, root, boundary: Boundary::of(self)?, registry, replaced: Vec::new(), stages: Vec::new() };
        um.stages = um.plan()?;
        Ok(um)
    }
}

/// The owner of each state placeholder: its fully qualified name.
fn state_names(ep: &ExportedProgram) -> HashMap<String, String> {
    ep.signature()
        .input_specs
        .iter()
        .filter_map(|s| match s {
            InputSpec::Parameter(p) => Some((p.arg.name.clone(), p.parameter_name.clone())),
            InputSpec::Buffer(b) => Some((b.arg.name.clone(), b.buffer_name.clone())),
            InputSpec::TensorConstant(c) => Some((c.arg.name.clone(), c.tensor_constant_name.clone())),
            _ => None,
        })
        .collect()
}

/// A node's `nn_module_stack` metadata (`key,fqn,class;key,fqn,class;...`, as PyTorch writes
/// it) as (fqn, class name) pairs, outermost first, without the root module and without
/// PyTorch's placeholder for nodes made outside any module.
pub fn module_stack(stack: &str) -> Vec<(String, String)> {
    stack_entries(stack)
        .filter(|(key, fqn, _)| !fqn.is_empty() && !key.starts_with("_empty_nn_module_stack"))
        .map(|(_, fqn, class)| (fqn.to_string(), class.to_string()))
        .collect()
}

/// Every entry of an `nn_module_stack` as (key, fqn, class name without its module path).
fn stack_entries(stack: &str) -> impl Iterator<Item = (&str, &str, &str)> {
    stack.split(';').filter_map(|entry| {
        // the key never holds a comma; the class is last
        let (key, rest) = entry.split_once(',')?;
        let (fqn, class) = rest.rsplit_once(',')?;
        Some((key, fqn, class.rsplit('.').next().unwrap_or(class)))
    })
}

/// The node's module path; `None` when it records none (it stays in the module being read, as
/// PyTorch's unflatten keeps it).
fn module_path(node: &Node) -> Option<Vec<(String, String)>> {
    node.metadata.get("nn_module_stack").map(|s| module_stack(s))
}

/// The value names a list of arguments holds, in order.
fn names_of(args: &[Argument]) -> Vec<String> {
    let mut out = Vec::new();
    for a in args {
        arg_names(a, &mut out);
    }
    out
}

fn used_names(node: &Node) -> Vec<String> {
    let mut used = Vec::new();
    for a in &node.inputs {
        arg_names(&a.arg, &mut used);
    }
    used
}

fn defined_names(node: &Node) -> Vec<String> {
    names_of(&node.outputs)
}

/// Builds the tree: nodes in order, a stack of open module calls; a node whose path leaves a
/// call closes it, one whose path goes deeper opens calls.
fn module_tree(ep: &ExportedProgram) -> Submodule {
    let g = ep.graph();
    // the root is the stack's first entry, which `module_stack` leaves out
    let root_class = g
        .nodes
        .iter()
        .find_map(|n| n.metadata.get("nn_module_stack"))
        .and_then(|s| stack_entries(s).next())
        .map(|(_, _, class)| class.to_string())
        .unwrap_or_else(|| "GraphModule".into());
    let new = |fqn: &str, class: &str, at: usize, call: usize| Submodule {
        fqn: fqn.to_string(),
        call,
        class: class.to_string(),
        body: Vec::new(),
        children: Vec::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        state: Vec::new(),
        nodes: at..at,
    };
    let mut root = new("", &root_class, 0, 0);
    root.nodes = 0..g.nodes.len();
    // the open calls, as child indices from the root down, with their fqns
    let mut open: Vec<(usize, String)> = Vec::new();
    let mut calls_of: HashMap<String, usize> = HashMap::new();
    let mut current: Vec<(String, String)> = Vec::new();
    for (i, node) in g.nodes.iter().enumerate() {
        if let Some(path) = module_path(node) {
            current = path;
        }
        // close the calls the node is not inside
        let keep = open.iter().zip(&current).take_while(|((_, open_fqn), (fqn, _))| open_fqn == fqn).count();
        open.truncate(keep);
        // open the calls it goes into
        for (fqn, class) in &current[keep..] {
            let parent = walk_mut(&mut root, &open);
            let n = calls_of.entry(fqn.clone()).or_insert(0);
            parent.children.push(new(fqn, class, i, *n));
            *n += 1;
            let child = parent.children.len() - 1;
            parent.body.push(Step::Call(child));
            open.push((child, fqn.clone()));
        }
        let inner = walk_mut(&mut root, &open);
        inner.body.push(Step::Node(i));
        // every open call covers this node
        let mut m = &mut root;
        for (c, _) in &open {
            m = &mut m.children[*c];
            m.nodes.end = i + 1;
        }
    }
    // modules the call graph names that no node ran in (a dropout in eval mode): empty
    for entry in &ep.model.graph_module.module_call_graph {
        if !entry.fqn.is_empty() && !calls_of.contains_key(&entry.fqn) {
            let parent = nearest_ancestor(&mut root, &entry.fqn);
            let at = parent.nodes.start;
            parent.children.push(new(&entry.fqn, "", at, 0));
            let c = parent.children.len() - 1;
            parent.body.push(Step::Call(c));
        }
    }
    let owners = state_names(ep);
    let mut last_use: HashMap<String, usize> = HashMap::new();
    for (i, node) in g.nodes.iter().enumerate() {
        for u in used_names(node) {
            last_use.insert(u, i);
        }
    }
    for o in names_of(&g.outputs) {
        last_use.insert(o, usize::MAX);
    }
    fill_signatures(&mut root, g, &owners, &last_use);
    root
}

fn walk_mut<'m>(root: &'m mut Submodule, open: &[(usize, String)]) -> &'m mut Submodule {
    let mut m = root;
    for (c, _) in open {
        m = &mut m.children[*c];
    }
    m
}

fn nearest_ancestor<'m>(m: &'m mut Submodule, fqn: &str) -> &'m mut Submodule {
    let inside = |c: &Submodule| fqn.starts_with(&format!("{}.", c.fqn));
    match m.children.iter().position(inside) {
        Some(i) => nearest_ancestor(&mut m.children[i], fqn),
        None => m,
    }
}

/// Each submodule's inputs, outputs and owned state, from the flat graph's uses and definitions.
/// `last_use` is the index of the last node reading each value (`usize::MAX` for the graph's
/// outputs): a value a submodule makes is one of its outputs when it is read after it.
fn fill_signatures(m: &mut Submodule, g: &Graph, owners: &HashMap<String, String>, last_use: &HashMap<String, usize>) {
    for c in &mut m.children {
        fill_signatures(c, g, owners, last_use);
    }
    if m.fqn.is_empty() {
        // the root's signature is the program's: its graph's inputs and outputs
        m.inputs = names_of(&g.inputs).into_iter().filter(|n| !owners.contains_key(n)).collect();
        m.outputs = names_of(&g.outputs);
        m.state = owners.iter().map(|(p, f)| (f.clone(), p.clone())).collect();
        m.state.sort();
        return;
    }
    let range = m.nodes.clone();
    let mut defined = HashSet::new();
    let mut inputs = Vec::new();
    let mut state = Vec::new();
    let owns = |fqn: &str| fqn.starts_with(&format!("{}.", m.fqn));
    for node in &g.nodes[range.clone()] {
        for u in used_names(node) {
            if defined.contains(&u) || inputs.contains(&u) || state.iter().any(|(_, p): &(String, String)| *p == u) {
                continue;
            }
            match owners.get(&u) {
                Some(fqn) if owns(fqn) => state.push((fqn.clone(), u)),
                _ => inputs.push(u),
            }
        }
        defined.extend(defined_names(node));
    }
    m.outputs = g.nodes[range.clone()].iter().flat_map(defined_names).filter(|d| last_use.get(d).is_some_and(|&at| at >= range.end)).collect();
    m.inputs = inputs;
    m.state = state;
}

impl Submodule {
    /// The submodule at `fqn` (`layer1.0.conv1`; its first call), this one for `""`.
    pub fn get(&self, fqn: &str) -> Option<&Submodule> {
        self.calls(fqn).into_iter().next()
    }

    /// Every call of the module at `fqn`, in program order.
    pub fn calls(&self, fqn: &str) -> Vec<&Submodule> {
        let mut out = Vec::new();
        self.walk(&mut |m| {
            if m.fqn == fqn {
                out.push(m);
            }
        });
        out
    }

    fn walk<'s>(&'s self, f: &mut dyn FnMut(&'s Submodule)) {
        f(self);
        for c in &self.children {
            c.walk(f);
        }
    }

    /// Every submodule's name once, depth first (the root's empty name first): the names of
    /// PyTorch's unflattened module (`named_modules()`).
    pub fn names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        self.walk(&mut |m| {
            if !out.contains(&m.fqn.as_str()) {
                out.push(&m.fqn);
            }
        });
        out
    }

    /// The name its parent calls it by (`conv1` for `layer1.0.conv1`).
    pub fn local_name(&self) -> &str {
        self.fqn.rsplit('.').next().unwrap_or(&self.fqn)
    }
}

impl<'a> UnflattenedModule<'a> {
    pub fn root(&self) -> &Submodule {
        &self.root
    }

    /// The submodule at `fqn`, as `getattr` chains reach it in PyTorch.
    pub fn submodule(&self, fqn: &str) -> Option<&Submodule> {
        self.root.get(fqn)
    }

    pub fn program(&self) -> &ExportedProgram {
        self.ep
    }

    /// Replaces the submodule at `fqn` by `f`, which takes its inputs ([`Submodule::inputs`], in
    /// order) and must return as many values as it has outputs. Calls of the program then run
    /// `f` in its place (at every call of the module, for one called more than once). Replacing a submodule inside one already replaced, or the root, is
    /// refused.
    pub fn replace(&mut self, fqn: &str, f: impl Fn(&[Value]) -> Result<Vec<Value>> + Send + Sync + 'static) -> Result<()> {
        if fqn.is_empty() {
            return Err(Error::msg("the root cannot be replaced: call another program instead"));
        }
        if self.root.get(fqn).is_none() {
            let names: Vec<&str> = self.root.names().into_iter().filter(|n| !n.is_empty()).collect();
            return Err(Error::msg(format!("there is no submodule `{fqn}`; the submodules are: {}", names.join(", "))));
        }
        let inside = |a: &str, b: &str| a.starts_with(&format!("{b}."));
        if let Some((other, _)) = self.replaced.iter().find(|(r, _)| r == fqn || inside(fqn, r) || inside(r, fqn)) {
            return Err(Error::msg(format!("`{fqn}` and `{other}`, already replaced, overlap: replace one of them")));
        }
        self.replaced.push((fqn.to_string(), Arc::new(f)));
        self.stages = self.plan()?;
        Ok(())
    }

    /// Cuts the flat graph at the replaced submodules; compiles each piece between them.
    fn plan(&self) -> Result<Vec<Stage>> {
        let g = self.ep.graph();
        let mut cuts: Vec<&Submodule> = self.replaced.iter().flat_map(|(f, _)| self.root.calls(f)).collect();
        cuts.sort_by_key(|m| m.nodes.start);
        // the values each later part reads, to know what each piece must hand on
        let mut stages = Vec::new();
        let mut start = 0;
        let mut pieces: Vec<(std::ops::Range<usize>, Option<&Submodule>)> = Vec::new();
        for m in cuts {
            pieces.push((start..m.nodes.start, None));
            pieces.push((m.nodes.clone(), Some(m)));
            start = m.nodes.end;
        }
        pieces.push((start..g.nodes.len(), None));
        let graph_outputs = names_of(&g.outputs);
        let mut available = names_of(&g.inputs);
        for (k, (range, replaced)) in pieces.iter().enumerate() {
            let mut later: HashSet<String> = pieces[k + 1..]
                .iter()
                .flat_map(|(r, rep)| match rep {
                    Some(m) => m.inputs.clone(),
                    None => g.nodes[r.clone()].iter().flat_map(used_names).collect(),
                })
                .collect();
            later.extend(graph_outputs.iter().cloned());
            if let Some(m) = replaced {
                stages.push(Stage::Replaced { fqn: m.fqn.clone(), inputs: m.inputs.clone(), outputs: m.outputs.clone() });
                available.extend(m.outputs.iter().cloned());
                continue;
            }
            let nodes = &g.nodes[range.clone()];
            let defined: Vec<String> = nodes.iter().flat_map(defined_names).collect();
            let mut inputs: Vec<String> = Vec::new();
            for u in nodes.iter().flat_map(used_names) {
                if !defined.contains(&u) && !inputs.contains(&u) && available.contains(&u) {
                    inputs.push(u);
                }
            }
            let outputs: Vec<String> = defined.iter().filter(|d| later.contains(*d)).cloned().collect();
            // the piece's nodes with the graph's value metadata (cloning `g` whole would copy
            // every node only to drop most of them)
            let piece = Graph {
                inputs: inputs.iter().map(|n| Argument::AsTensor(TensorArgument { name: n.clone() })).collect(),
                outputs: outputs.iter().map(|n| Argument::AsTensor(TensorArgument { name: n.clone() })).collect(),
                nodes: nodes.to_vec(),
                tensor_values: g.tensor_values.clone(),
                sym_int_values: g.sym_int_values.clone(),
                sym_bool_values: g.sym_bool_values.clone(),
                is_single_tensor_return: false,
                custom_obj_values: g.custom_obj_values.clone(),
                sym_float_values: g.sym_float_values.clone(),
            };
            let plan = GraphPlan::compile(&piece, self.registry)?;
            available.extend(outputs.iter().cloned());
            stages.push(Stage::Graph { plan, inputs, outputs });
        }
        Ok(stages)
    }

    /// Calls the root with the flat program's user inputs (checked against its constraints, as
    /// `ep.module()` checks them); returns its user outputs.
    pub fn call_flat(&self, user_inputs: Vec<Value>) -> Result<Vec<Value>> {
        self.ep.check_inputs(&user_inputs)?;
        let g = self.ep.graph();
        let mut env: HashMap<String, Value> = HashMap::new();
        for (a, v) in g.inputs.iter().zip(self.boundary.graph_inputs(&user_inputs)?) {
            let mut names = Vec::new();
            arg_names(a, &mut names);
            if let Some(n) = names.into_iter().next() {
                env.insert(n, v);
            }
        }
        let take = |env: &HashMap<String, Value>, names: &[String]| -> Result<Vec<Value>> {
            names.iter().map(|n| env.get(n).cloned().ok_or_else(|| Error::msg(format!("value `{n}` is not made before it is read")))).collect()
        };
        for stage in &self.stages {
            match stage {
                Stage::Graph { plan, inputs, outputs } => {
                    let values = plan.run(take(&env, inputs)?)?;
                    env.extend(outputs.iter().cloned().zip(values));
                }
                Stage::Replaced { fqn, inputs, outputs } => {
                    let f = &self.replaced.iter().find(|(r, _)| r == fqn).expect("a replaced submodule has its replacement").1;
                    let values = f(&take(&env, inputs)?).map_err(|e| e.in_node(format!("replacement of `{fqn}`")))?;
                    if values.len() != outputs.len() {
                        return Err(Error::msg(format!(
                            "the replacement of `{fqn}` returned {} values; the submodule gives {} ({})",
                            values.len(),
                            outputs.len(),
                            outputs.join(", ")
                        )));
                    }
                    env.extend(outputs.iter().cloned().zip(values));
                }
            }
        }
        let mut outs = Vec::new();
        for o in &g.outputs {
            let mut names = Vec::new();
            arg_names(o, &mut names);
            match names.first() {
                Some(n) => outs.push(env.get(n).cloned().ok_or_else(|| Error::msg(format!("output `{n}` was not made")))?),
                None => outs.push(crate::plan::literal(o).unwrap_or(Value::None)),
            }
        }
        self.boundary.user_outputs(&user_inputs, outs)
    }
}

impl fmt::Display for UnflattenedModule<'_> {
    /// The tree, each submodule with its signature and its part of the graph.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write_module(&mut out, &self.root, self.ep.graph(), 0)?;
        f.write_str(&out)
    }
}

fn write_module(out: &mut String, m: &Submodule, g: &Graph, depth: usize) -> fmt::Result {
    let pad = "    ".repeat(depth);
    let name = match (m.fqn.as_str(), m.call) {
        ("", _) => "(root)".to_string(),
        (fqn, 0) => fqn.to_string(),
        (fqn, n) => format!("{fqn} (call {})", n + 1),
    };
    let class = if m.class.is_empty() { String::new() } else { format!(": {}", m.class) };
    writeln!(out, "{pad}{name}{class}")?;
    if !m.state.is_empty() && !m.fqn.is_empty() {
        let owned: Vec<&str> = m.state.iter().map(|(f, _)| f.strip_prefix(&format!("{}.", m.fqn)).unwrap_or(f)).collect();
        writeln!(out, "{pad}    state: {}", owned.join(", "))?;
    }
    writeln!(out, "{pad}    def forward({}):", m.inputs.join(", "))?;
    for step in &m.body {
        match step {
            Step::Node(i) => {
                let t = node_text(g, &g.nodes[*i]);
                let outs: Vec<String> = t.outputs.iter().map(|(n, ty)| ty.as_ref().map_or(n.clone(), |ty| format!("{n}: \"{ty}\""))).collect();
                let args: Vec<String> = t.args.iter().map(|a| a.split_once('=').map_or(a.clone(), |(_, v)| v.to_string())).collect();
                writeln!(out, "{pad}        {} = {}({})", if outs.is_empty() { "_".into() } else { outs.join(", ") }, t.target, args.join(", "))?;
            }
            Step::Call(c) => {
                let child = &m.children[*c];
                let lhs = if child.outputs.is_empty() { "_".to_string() } else { child.outputs.join(", ") };
                writeln!(out, "{pad}        {lhs} = self.{}({})", child.local_name(), child.inputs.join(", "))?;
            }
        }
    }
    writeln!(out, "{pad}        return ({})", m.outputs.join(", "))?;
    for c in &m.children {
        write_module(out, c, g, depth + 1)?;
    }
    Ok(())
}

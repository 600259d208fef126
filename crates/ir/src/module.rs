//! `ep.module()`: the program as a callable that takes and returns pytrees, checks its inputs
//! first, and keeps the program's state (buffers mutated by a call stay mutated).

use std::ops::Deref;
use std::sync::Arc;

use ops::{Registry, Value};

use crate::check::InputChecks;
use crate::program::ExportedProgram;
use crate::run::ProgramPlan;
use crate::pytree::{input_names, PyTree, TreeSpec};
use crate::{Error, Result};

/// A callable view of an [`ExportedProgram`], compiled once: its input checks, its graph's
/// operators and arguments, its state. A call checks the inputs and runs the plan.
///
/// A module borrows its program ([`ExportedProgram::module`]) or shares it
/// ([`ExportedProgram::into_module`], for a caller that keeps the module and not the program:
/// a binding to another language, a server). It may be called from many threads at once.
pub struct Module<'a> {
    ep: ProgramRef<'a>,
    in_spec: TreeSpec,
    out_spec: TreeSpec,
    checks: InputChecks,
    plan: ProgramPlan,
    memory_budget: Option<u64>,
}

/// The program a [`Module`] runs: borrowed, or shared with whoever else holds it.
enum ProgramRef<'a> {
    Borrowed(&'a ExportedProgram),
    Shared(Arc<ExportedProgram>),
}

impl Deref for ProgramRef<'_> {
    type Target = ExportedProgram;
    fn deref(&self) -> &ExportedProgram {
        match self {
            ProgramRef::Borrowed(ep) => ep,
            ProgramRef::Shared(ep) => ep,
        }
    }
}

impl ExportedProgram {
    /// The program as a callable, like PyTorch's `ep.module()`. The program is verified first:
    /// a malformed program is refused with every problem listed, before anything runs.
    pub fn module(&self) -> Result<Module<'_>> {
        self.module_in(Registry::global())
    }

    /// [`ExportedProgram::module`] for a shared program: the module keeps the program alive,
    /// so it can outlive the caller's handle on it.
    pub fn into_module(self: Arc<Self>) -> Result<Module<'static>> {
        let Module { in_spec, out_spec, checks, plan, memory_budget, ep: _ } = self.module()?;
        Ok(Module { ep: ProgramRef::Shared(self), in_spec, out_spec, checks, plan, memory_budget })
    }

    /// [`ExportedProgram::module`] with the operators of `registry` (one that holds custom
    /// operators, say).
    pub fn module_in(&self, registry: &Registry) -> Result<Module<'_>> {
        if let Some(name) = self.first_meta_state() {
            return Err(Error::msg(format!(
                "the program was exported shapes-only: `{name}` (and maybe more of its state) has sizes and a dtype but no values; \
                 give it real values before running the program"
            )));
        }
        // an operator pt2 lacks is a typed error (`Error::UnknownOperator` in its node), not
        // one line of the verifier's list
        if let Some((node, name)) = first_unknown_operator(self.graph(), registry) {
            return Err(Error::UnknownOperator { name }.in_node(node));
        }
        let problems = self.verify(registry);
        if !problems.is_empty() {
            return Err(Error::msg(format!("the program is not valid:\n  {}", problems.join("\n  "))));
        }
        let sig = self.root_call_signature().ok_or_else(|| Error::msg("the program has no module call signature (in_spec/out_spec)"))?;
        Ok(Module {
            ep: ProgramRef::Borrowed(self),
            in_spec: TreeSpec::parse(&sig.in_spec)?,
            out_spec: TreeSpec::parse(&sig.out_spec)?,
            checks: InputChecks::compile(self)?,
            plan: ProgramPlan::compile(self, registry)?,
            memory_budget: None,
        })
    }

    /// The call signature of the program's root module: its input and output tree specs (as
    /// `torch.utils._pytree.treespec_dumps` writes them) and `forward`'s argument names.
    pub fn root_call_signature(&self) -> Option<&crate::schema::ModuleCallSignature> {
        self.model.graph_module.module_call_graph.iter().find(|e| e.fqn.is_empty())?.signature.as_ref()
    }

    /// The names users know the flat inputs by (`x`, `inp['x']`, `args[0]`), in order; falls
    /// back to the placeholder names when the program has no call signature.
    pub fn input_names(&self) -> Vec<String> {
        match self.root_call_signature().and_then(|s| TreeSpec::parse(&s.in_spec).ok().map(|t| (t, s))) {
            Some((spec, sig)) => input_names(&spec, sig.forward_arg_names.as_deref().unwrap_or(&[])),
            None => self.user_input_names().into_iter().map(str::to_string).collect(),
        }
    }
}

impl Module<'_> {
    /// Limits each call to `bytes` of tensor memory held at once (intermediates and outputs
    /// allocated on the calling thread; the inputs and the program's memory-mapped weights are
    /// not counted). A call that would go past it fails with an error naming the node and the
    /// bytes, as an allocation the system refuses does.
    pub fn with_memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget = Some(bytes);
        self
    }

    /// Calls the program with positional and keyword arguments, bound as PyTorch 2.15's
    /// `ep.module()` binds them: the inputs `forward` took by position are given by position,
    /// keyword inputs by name. A keyword the program does not take (its positional inputs
    /// included, which PyTorch refuses by name too), a missing input or an extra one is an error
    /// naming the program's inputs.
    pub fn call(&self, args: Vec<PyTree>, kwargs: Vec<(String, PyTree)>) -> Result<PyTree> {
        let (args, kwargs) = self.bind(args, kwargs)?;
        let tree = PyTree::Tuple(vec![
            PyTree::Tuple(args),
            PyTree::Dict(kwargs.into_iter().map(|(k, v)| (crate::pytree::DictKey::Str(k), v)).collect()),
        ]);
        let mut flat = Vec::new();
        self.in_spec.flatten(&tree, "inputs", &mut flat)?;
        let outputs = self.call_flat(flat)?;
        let mut it = outputs.into_iter();
        self.out_spec.unflatten(&mut it)
    }

    /// Checks the call's shape against the program's: the error says what the program takes.
    fn bind(&self, args: Vec<PyTree>, kwargs: Vec<(String, PyTree)>) -> Result<(Vec<PyTree>, Vec<(String, PyTree)>)> {
        let (positional, keywords): (usize, Vec<String>) = match &self.in_spec {
            TreeSpec::Tuple(parts) if parts.len() == 2 => (
                match &parts[0] {
                    TreeSpec::Tuple(p) => p.len(),
                    _ => return Ok((args, kwargs)),
                },
                match &parts[1] {
                    TreeSpec::Dict(d) => d
                        .iter()
                        .filter_map(|(k, _)| match k {
                            crate::pytree::DictKey::Str(s) => Some(s.clone()),
                            crate::pytree::DictKey::Int(_) => None,
                        })
                        .collect(),
                    _ => return Ok((args, kwargs)),
                },
            ),
            _ => return Ok((args, kwargs)),
        };
        let names: Vec<String> = self.ep.root_call_signature().and_then(|s| s.forward_arg_names.clone()).unwrap_or_default().into_iter().take(positional).collect();
        let takes = || {
            let by_position = if names.len() == positional { names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ") } else { positional.to_string() };
            let by_name = if keywords.is_empty() { "no keyword inputs".to_string() } else { format!("keywords {}", keywords.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")) };
            format!("the program takes {by_position} by position and {by_name}")
        };
        for (k, _) in &kwargs {
            if !keywords.contains(k) {
                let why = if names.contains(k) { format!("`{k}` is a positional input, given by position (PyTorch's module refuses it by name too)") } else { format!("the program has no input named `{k}`") };
                return Err(Error::Input { input: Some(k.clone()), message: format!("{why}; {}", takes()) });
            }
        }
        if args.len() != positional {
            let missing = names.get(args.len()).filter(|_| args.len() < positional).map(|n| format!(" (input `{n}` is missing)")).unwrap_or_default();
            return Err(Error::Input { input: None, message: format!("{} positional inputs were given{missing}; {}", args.len(), takes()) });
        }
        Ok((args, kwargs))
    }

    /// Calls the program with inputs already flattened in PyTorch's pytree order; returns the
    /// flat outputs.
    pub fn call_flat(&self, inputs: Vec<Value>) -> Result<Vec<Value>> {
        self.checks.check(&inputs)?;
        let run = || tensor::alloc::catch(|| self.plan.run(inputs)).unwrap_or_else(|e| Err(Error::Alloc(e)));
        match self.memory_budget {
            Some(bytes) => tensor::alloc::with_budget(&tensor::alloc::MemoryBudget::new(bytes), run),
            None => run(),
        }
    }

    /// The program this module runs.
    pub fn program(&self) -> &ExportedProgram {
        &self.ep
    }

    pub fn in_spec(&self) -> &TreeSpec {
        &self.in_spec
    }

    pub fn out_spec(&self) -> &TreeSpec {
        &self.out_spec
    }
}

/// The first node (in this graph or a subgraph) whose operator `registry` does not hold.
fn first_unknown_operator(graph: &crate::schema::Graph, registry: &Registry) -> Option<(String, String)> {
    for node in &graph.nodes {
        if let Some(name) = node.target.strip_prefix("torch.ops.").filter(|t| !t.starts_with("higher_order.")) {
            if registry.get(name).is_none() {
                return Some((node.name.clone().unwrap_or_else(|| node.target.clone()), name.to_string()));
            }
        }
        for input in &node.inputs {
            if let crate::schema::Argument::AsGraph(g) = &input.arg {
                if let Some(found) = first_unknown_operator(&g.graph, registry) {
                    return Some(found);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::Module;

    // a loaded program is called from many threads at once (the C and Python bindings promise it)
    #[test]
    fn a_module_is_shared_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Module<'static>>();
    }
}

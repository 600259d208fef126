//! Running a whole program as PyTorch's unlifted module does: lifted parameters, buffers and
//! constants supplied from the program, user inputs in their places, buffer mutations written
//! back to the program's state and user-input mutations to the inputs. All of it is resolved
//! once into a [`ProgramPlan`].

use std::collections::HashMap;

use ops::{Registry, Value};
use tensor::Tensor;

use crate::plan::GraphPlan;
use crate::program::ExportedProgram;
use crate::schema::{self, Argument, InputSpec, OutputSpec};
use crate::{Error, Result};

/// Where a graph placeholder's value comes from.
#[derive(Debug)]
enum Source {
    /// The n-th user input.
    User(usize),
    /// A parameter, buffer or tensor constant (sharing the program's storage).
    State(Tensor),
    /// A constant input: it takes a user input's place but has the program's value.
    Constant(Value),
    /// A token, which carries nothing.
    Nothing,
}

/// What becomes of a graph output.
#[derive(Debug)]
enum Sink {
    User,
    /// Written back into a buffer or parameter of the program.
    State(Tensor, String),
    /// Written back into the n-th user input.
    UserInput(usize, String),
    Drop,
}

/// A program compiled for running.
#[derive(Debug)]
pub struct ProgramPlan {
    graph: GraphPlan,
    /// Batch norms folded into their convolutions ([`crate::fold`]).
    folded_batch_norms: usize,
    /// Activations run inside the product or convolution before them.
    fused_activations: usize,
    /// Element-wise operators run inside fused chains.
    fused_elementwise: usize,
    boundary: Boundary,
}

/// Where a program's graph meets its caller: the value of each placeholder (a user input, the
/// program's state, a constant) and what becomes of each graph output (a user output, a write
/// back into state or into a user input).
#[derive(Debug)]
pub(crate) struct Boundary {
    sources: Vec<Source>,
    sinks: Vec<Sink>,
    user_inputs: usize,
}

impl Boundary {
    pub(crate) fn of(ep: &ExportedProgram) -> Result<Boundary> {
        let sig = ep.signature();
        let mut sources = Vec::with_capacity(sig.input_specs.len());
        let mut user_index_of_placeholder = HashMap::new();
        let mut user = 0;
        for spec in &sig.input_specs {
            sources.push(match spec {
                InputSpec::UserInput(u) => {
                    if let Argument::AsTensor(t) = &u.arg {
                        user_index_of_placeholder.insert(t.name.as_str(), user);
                    }
                    user += 1;
                    Source::User(user - 1)
                }
                InputSpec::Parameter(p) => Source::State(state(ep, &p.parameter_name)?),
                InputSpec::Buffer(b) => Source::State(state(ep, &b.buffer_name)?),
                InputSpec::TensorConstant(c) => Source::State(state(ep, &c.tensor_constant_name)?),
                InputSpec::ConstantInput(c) => {
                    user += 1;
                    Source::Constant(match &c.value {
                        schema::ConstantValue::AsNone(_) => Value::None,
                        schema::ConstantValue::AsInt(i) => Value::Int(*i),
                        schema::ConstantValue::AsFloat(f) => Value::Float(f.0),
                        schema::ConstantValue::AsString(s) => Value::Str(s.clone()),
                        schema::ConstantValue::AsBool(b) => Value::Bool(*b),
                    })
                }
                InputSpec::CustomObj(c) => {
                    return Err(Error::msg(format!("input `{}` is a custom object ({}), which pt2 cannot run", c.arg.name, c.custom_obj_name)))
                }
                InputSpec::Token(_) => Source::Nothing,
            });
        }
        let sinks = sig
            .output_specs
            .iter()
            .map(|spec| {
                Ok(match spec {
                    OutputSpec::UserOutput(_) | OutputSpec::LossOutput(_) => Sink::User,
                    OutputSpec::BufferMutation(b) => Sink::State(state(ep, &b.buffer_name)?, b.buffer_name.clone()),
                    OutputSpec::ParameterMutation(p) => Sink::State(state(ep, &p.parameter_name)?, p.parameter_name.clone()),
                    OutputSpec::UserInputMutation(m) => {
                        let i = user_index_of_placeholder
                            .get(m.user_input_name.as_str())
                            .ok_or_else(|| Error::msg(format!("mutated user input `{}` is not an input", m.user_input_name)))?;
                        Sink::UserInput(*i, m.user_input_name.clone())
                    }
                    OutputSpec::Token(_) | OutputSpec::GradientToParameter(_) | OutputSpec::GradientToUserInput(_) => Sink::Drop,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Boundary { sources, sinks, user_inputs: user })
    }

    /// The values of the graph's placeholders for one call.
    pub(crate) fn graph_inputs(&self, user_inputs: &[Value]) -> Result<Vec<Value>> {
        if user_inputs.len() != self.user_inputs {
            return Err(Error::msg(format!("the program takes {} user inputs but {} were given", self.user_inputs, user_inputs.len())));
        }
        Ok(self
            .sources
            .iter()
            .map(|s| match s {
                Source::User(i) => user_inputs[*i].clone(),
                Source::State(t) => Value::Tensor(t.clone()),
                Source::Constant(v) => v.clone(),
                Source::Nothing => Value::None,
            })
            .collect())
    }

    /// The user outputs among the graph's outputs; mutated state and inputs written back.
    pub(crate) fn user_outputs(&self, user_inputs: &[Value], outputs: Vec<Value>) -> Result<Vec<Value>> {
        let mut user_outputs = Vec::new();
        for (sink, value) in self.sinks.iter().zip(outputs) {
            match sink {
                Sink::User => user_outputs.push(value),
                Sink::State(target, name) => target.copy_(&tensor(&value, name)?)?,
                Sink::UserInput(i, name) => tensor(&user_inputs[*i], name)?.copy_(&tensor(&value, name)?)?,
                Sink::Drop => {}
            }
        }
        Ok(user_outputs)
    }
}

impl ProgramPlan {
    pub fn compile(ep: &ExportedProgram, registry: &Registry) -> Result<ProgramPlan> {
        let mut boundary = Boundary::of(ep)?;
        let sig = ep.signature();
        // eval-mode batch norms folded into their convolutions, reading new state placeholders
        let state_of: HashMap<&str, Tensor> = sig
            .input_specs
            .iter()
            .zip(&boundary.sources)
            .filter_map(|(spec, source)| match (spec, source) {
                (InputSpec::Parameter(p), Source::State(t)) => Some((p.arg.name.as_str(), t.clone())),
                (InputSpec::Buffer(b), Source::State(t)) => Some((b.arg.name.as_str(), t.clone())),
                (InputSpec::TensorConstant(c), Source::State(t)) => Some((c.arg.name.as_str(), t.clone())),
                _ => None,
            })
            .collect();
        let (graph, folded_batch_norms, (fused_activations, fused_elementwise)) = match crate::fold::fold_batch_norms(ep.graph(), &|name| state_of.get(name).cloned()) {
            Some(folded) => {
                let count = folded.state.len() / 2;
                boundary.sources.extend(folded.state.into_iter().map(|(_, t)| Source::State(t)));
                let mut plan = GraphPlan::compile(&folded.graph, registry)?;
                let fused = (plan.fuse_activations(&folded.graph), plan.fuse_elementwise(&folded.graph));
                (plan, count, fused)
            }
            None => {
                let mut plan = GraphPlan::compile(ep.graph(), registry)?;
                let fused = (plan.fuse_activations(ep.graph()), plan.fuse_elementwise(ep.graph()));
                (plan, 0, fused)
            }
        };
        Ok(ProgramPlan { graph, folded_batch_norms, fused_activations, fused_elementwise, boundary })
    }

    /// How many eval-mode batch norms were folded into the convolutions before them.
    pub fn folded_batch_norms(&self) -> usize {
        self.folded_batch_norms
    }

    /// How many activations run inside the product or convolution before them ([`crate::plan`]'s
    /// `epilogue`).
    pub fn fused_activations(&self) -> usize {
        self.fused_activations
    }

    /// How many element-wise operators run inside fused chains ([`crate::plan`]'s `fuse`).
    pub fn fused_elementwise(&self) -> usize {
        self.fused_elementwise
    }

    /// Runs the program on its user inputs (flattened in PyTorch's pytree order), returns the
    /// user outputs, flattened.
    pub fn run(&self, user_inputs: Vec<Value>) -> Result<Vec<Value>> {
        let inputs = self.boundary.graph_inputs(&user_inputs)?;
        let epoch = tensor::pool::begin_call();
        let outputs = self.graph.run(inputs);
        tensor::pool::release_unused_since(epoch);
        self.boundary.user_outputs(&user_inputs, outputs?)
    }
}

fn tensor(v: &Value, what: &str) -> Result<Tensor> {
    match v {
        Value::Tensor(t) => Ok(t.clone()),
        other => Err(Error::msg(format!("{what}: expected a tensor, got {}", other.kind()))),
    }
}

/// A parameter, buffer or constant by name.
fn state(ep: &ExportedProgram, name: &str) -> Result<Tensor> {
    ep.state_dict
        .get(name)
        .or_else(|| ep.constants.get(name))
        .cloned()
        .ok_or_else(|| Error::msg(format!("the program names `{name}`, but it is in neither the state dict nor the constants")))
}

impl ExportedProgram {
    /// Runs the program on its user inputs, as PyTorch's unlifted module does (see
    /// [`ProgramPlan`]); compiles it for this one call. [`ExportedProgram::module`] compiles once
    /// and checks the inputs first.
    pub fn run(&self, user_inputs: Vec<Value>) -> Result<Vec<Value>> {
        ProgramPlan::compile(self, Registry::global())?.run(user_inputs)
    }
}

//! `ExportedProgram`: the schema's program plus its tensors.

use indexmap::IndexMap;
use tensor::Tensor;

use crate::schema;

/// An exported program: PyTorch's serialized model (graph, signature, module call graph,
/// range constraints, versions) and the tensors it names.
#[derive(Clone, Debug)]
pub struct ExportedProgram {
    pub model: schema::ExportedProgram,
    /// Parameters and persistent buffers, by fully qualified name (`lin.weight`).
    pub state_dict: IndexMap<String, Tensor>,
    /// Tensor constants and non-persistent buffers, by name (`lifted_tensor_0`).
    pub constants: IndexMap<String, Tensor>,
    /// PyTorch's pickled example inputs (`data/sample_inputs/<model>.pt`), kept opaque so that
    /// a loaded archive saves back whole.
    pub example_inputs: Option<Vec<u8>>,
}

impl ExportedProgram {
    /// The name of the first parameter, buffer or constant that is a shapes-only (meta) tensor,
    /// with no values: a program exported shapes-only cannot run or be saved until its state
    /// has values.
    pub fn first_meta_state(&self) -> Option<&str> {
        self.state_dict.iter().chain(&self.constants).find(|(_, t)| t.is_meta()).map(|(n, _)| n.as_str())
    }

    pub fn graph(&self) -> &schema::Graph {
        &self.model.graph_module.graph
    }

    pub fn signature(&self) -> &schema::GraphSignature {
        &self.model.graph_module.signature
    }

    /// Names of the graph's user-input placeholders, in order.
    pub fn user_input_names(&self) -> Vec<&str> {
        self.signature()
            .input_specs
            .iter()
            .filter_map(|s| match s {
                schema::InputSpec::UserInput(u) => match &u.arg {
                    schema::Argument::AsTensor(t) => Some(t.name.as_str()),
                    schema::Argument::AsSymInt(schema::SymIntArgument::AsName(n)) => Some(n.as_str()),
                    schema::Argument::AsSymFloat(schema::SymFloatArgument::AsName(n)) => Some(n.as_str()),
                    schema::Argument::AsSymBool(schema::SymBoolArgument::AsName(n)) => Some(n.as_str()),
                    _ => Some(""),
                },
                // a constant input is still passed by the caller (and ignored), as in PyTorch
                schema::InputSpec::ConstantInput(c) => Some(c.name.as_str()),
                _ => None,
            })
            .collect()
    }
}

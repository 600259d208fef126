//! Modules: named parameters, buffers and submodules, visited in PyTorch's registration order
//! so that fully qualified names (`branch1.0.weight`) and state-dict keys match PyTorch's.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::tensor::Tensor;
use crate::trace::with_tracer;
use crate::{Error, Result};

static NEXT_STATE: AtomicU64 = AtomicU64::new(1);

/// A tensor a module owns: a parameter or a buffer. While tracing, reading it gives the
/// placeholder the program takes it as (`p_lin_weight`), not the module's data.
#[derive(Debug)]
pub struct State {
    id: u64,
    data: std::sync::Mutex<tensor::Tensor>,
}

impl State {
    fn new(data: tensor::Tensor) -> State {
        State { id: NEXT_STATE.fetch_add(1, Ordering::Relaxed), data: std::sync::Mutex::new(data) }
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The module's own data (what the state dict saves).
    pub fn data(&self) -> tensor::Tensor {
        self.data.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The tensor to compute with.
    pub fn tensor(&self) -> Tensor {
        with_tracer(|t| t.and_then(|t| t.lifted.get(&self.id).cloned())).unwrap_or_else(|| Tensor::from_data(self.data()))
    }

    /// Replaces the data with `new` of the same shape and dtype (loading a state dict).
    pub fn load(&self, new: tensor::Tensor, name: &str) -> Result<()> {
        let mut data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        if new.shape() != data.shape() || new.dtype() != data.dtype() {
            return Err(Error::msg(format!("{name}: expected {:?} {:?}, got {:?} {:?}", data.dtype(), data.shape(), new.dtype(), new.shape())));
        }
        *data = new;
        Ok(())
    }
}

/// A learnable tensor (`nn.Parameter`).
#[derive(Debug)]
pub struct Parameter(pub State);

impl Parameter {
    pub fn new(data: tensor::Tensor) -> Parameter {
        Parameter(State::new(data))
    }
    pub fn tensor(&self) -> Tensor {
        self.0.tensor()
    }
}

/// A module's non-learnable tensor (`register_buffer`); persistent ones are in the state dict.
#[derive(Debug)]
pub struct Buffer {
    pub state: State,
    pub persistent: bool,
}

impl Buffer {
    pub fn new(data: tensor::Tensor) -> Buffer {
        Buffer { state: State::new(data), persistent: true }
    }
    pub fn non_persistent(data: tensor::Tensor) -> Buffer {
        Buffer { state: State::new(data), persistent: false }
    }
    pub fn tensor(&self) -> Tensor {
        self.state.tensor()
    }
}

/// A tensor attribute that is neither a parameter nor a buffer (`self.scale = torch.ones(3)`):
/// the program takes it as a constant (`c_scale`).
#[derive(Debug)]
pub struct Constant(pub State);

impl Constant {
    pub fn new(data: tensor::Tensor) -> Constant {
        Constant(State::new(data))
    }
    pub fn tensor(&self) -> Tensor {
        self.0.tensor()
    }
}

/// A model or a layer. `visit` declares what it owns, in PyTorch's order: its parameters, its
/// buffers, then its submodules.
pub trait Module {
    fn visit<'a>(&'a self, v: &mut Visitor<'a>);

    /// The type as `nn_module_stack` records it.
    fn type_name(&self) -> String {
        std::any::type_name::<Self>().replace("::", ".")
    }
}

/// What a module tree holds, gathered by [`Module::visit`].
pub struct Visitor<'a> {
    prefix: String,
    pub(crate) parameters: Vec<(String, &'a Parameter)>,
    pub(crate) buffers: Vec<(String, &'a Buffer)>,
    pub(crate) constants: Vec<(String, &'a Constant)>,
    /// `(fqn, address, type)` of every module, the root first.
    pub(crate) modules: Vec<(String, usize, String)>,
}

impl<'a> Visitor<'a> {
    pub(crate) fn root(module: &'a dyn Module) -> Visitor<'a> {
        let mut v = Visitor { prefix: String::new(), parameters: vec![], buffers: vec![], constants: vec![], modules: vec![] };
        v.modules.push((String::new(), address(module), module.type_name()));
        module.visit(&mut v);
        v
    }

    fn fqn(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    pub fn parameter(&mut self, name: &str, p: &'a Parameter) {
        let fqn = self.fqn(name);
        self.parameters.push((fqn, p));
    }

    pub fn buffer(&mut self, name: &str, b: &'a Buffer) {
        let fqn = self.fqn(name);
        self.buffers.push((fqn, b));
    }

    pub fn constant(&mut self, name: &str, c: &'a Constant) {
        let fqn = self.fqn(name);
        self.constants.push((fqn, c));
    }

    /// A list of submodules named `name.0`, `name.1`, ... (`nn.ModuleList`).
    pub fn module_list(&mut self, name: &str, modules: impl Iterator<Item = &'a dyn Module>) {
        let fqn = self.fqn(name);
        self.modules.push((fqn.clone(), 0, "torch.nn.modules.container.ModuleList".into()));
        let outer = std::mem::replace(&mut self.prefix, fqn);
        for (i, m) in modules.enumerate() {
            self.module(&i.to_string(), m);
        }
        self.prefix = outer;
    }

    pub fn module(&mut self, name: &str, m: &'a dyn Module) {
        let fqn = self.fqn(name);
        self.modules.push((fqn.clone(), address(m), m.type_name()));
        let outer = std::mem::replace(&mut self.prefix, fqn);
        m.visit(self);
        self.prefix = outer;
    }
}

pub(crate) fn address(m: &dyn Module) -> usize {
    m as *const dyn Module as *const () as usize
}

/// Every parameter and buffer by fully qualified name (`lin.weight`), as `state_dict()`.
pub fn state_dict(m: &dyn Module) -> Vec<(String, tensor::Tensor)> {
    let v = Visitor::root(m);
    let mut out: Vec<(String, tensor::Tensor)> = v.parameters.iter().map(|(n, p)| (n.clone(), p.0.data())).collect();
    out.extend(v.buffers.iter().filter(|(_, b)| b.persistent).map(|(n, b)| (n.clone(), b.state.data())));
    out
}

/// Loads tensors by fully qualified name (`lin.weight`); every parameter and persistent
/// buffer must be given, with its shape and dtype. Constants and non-persistent buffers are
/// loaded when given.
pub fn load_state_dict(m: &dyn Module, tensors: &dyn Fn(&str) -> Option<tensor::Tensor>) -> Result<()> {
    let v = Visitor::root(m);
    let required = v.parameters.iter().map(|(n, p)| (n, &p.0)).chain(v.buffers.iter().filter(|(_, b)| b.persistent).map(|(n, b)| (n, &b.state)));
    for (name, state) in required {
        match tensors(name) {
            Some(t) => state.load(t, name)?,
            None => return Err(Error::msg(format!("the state dict has no entry `{name}`"))),
        }
    }
    let optional = v.constants.iter().map(|(n, c)| (n, &c.0)).chain(v.buffers.iter().filter(|(_, b)| !b.persistent).map(|(n, b)| (n, &b.state)));
    for (name, state) in optional {
        if let Some(t) = tensors(name) {
            state.load(t, name)?;
        }
    }
    Ok(())
}

/// While a module's `forward` runs, nodes record it in `nn_module_stack`.
pub struct Scope(bool);

impl Scope {
    pub fn enter(m: &dyn Module) -> Scope {
        let addr = address(m);
        Scope(with_tracer(|t| match t {
            Some(t) => match t.module_names.get(&addr).cloned() {
                Some(entry) => {
                    t.module_stack.push(entry);
                    true
                }
                None => false,
            },
            None => false,
        }))
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        if self.0 {
            with_tracer(|t| {
                if let Some(t) = t {
                    t.module_stack.pop();
                }
            });
        }
    }
}

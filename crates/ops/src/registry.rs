//! The operator registry: every operator registered once, under its PyTorch name, with its
//! schema, tags and kernel. Eager execution, the runtime, tracing and serialization all read
//! the same entry.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

use crate::args::Args;
use crate::dtype::DtypeRule;
use crate::meta::{MetaCall, MetaFn};
use symbolic::Expr;
use tensor::kernels::vmath::Activation;
use tensor::{DType, Tensor};
use crate::schema::Schema;
use crate::value::Value;
use crate::{Error, Result};

/// What an operator is, beyond its schema. View-ness and in-place-ness are read off the
/// schema's alias annotations ([`Schema::is_view`], [`Schema::is_mutating`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tag {
    /// One of PyTorch's ~190 core ATen operators (`torch.Tag.core`).
    Core,
    /// Element-wise (`torch.Tag.pointwise`).
    Pointwise,
    /// Reads a random generator (`torch.Tag.nondeterministic_seeded`).
    Nondeterministic,
    /// Output shape depends on input data (`torch.Tag.dynamic_output_shape`).
    DynamicOutputShape,
}

/// A CPU kernel: arguments bound to the schema in, one value out (a `Value::List` for operators
/// with several returns).
pub type Kernel = Arc<dyn Fn(&Args) -> Result<Value> + Send + Sync>;

/// The kernel again, with an activation applied to its (float32) output while each block of it
/// is still in cache: what a compiled plan runs for `relu(convolution(..))`, `gelu(addmm(..))`.
pub type ActivationKernel = fn(&Args, Activation) -> Result<Value>;

/// One registered operator overload.
pub struct OpDef {
    pub schema: Schema,
    pub tags: Vec<Tag>,
    pub kernel: Kernel,
    /// Output sizes from symbolic input sizes, for tracing (see [`crate::meta`]); `None` for an
    /// operator that can only be traced with static input sizes.
    pub meta: Option<MetaFn>,
    /// Output dtypes from the arguments' dtypes ([`crate::dtype`]): inferred from the schema
    /// and tags unless registration names one.
    pub dtype: DtypeRule,
    /// The kernel with a fused activation ([`ActivationKernel`]), for operators whose output
    /// an activation commonly follows (products and convolutions).
    pub with_activation: Option<ActivationKernel>,
    /// Whether the kernel computes on complex tensors (reading both parts). Views are, since
    /// they never read elements; other kernels are marked at registration
    /// ([`Defined::complex`]), and the rest refuse a complex argument rather than compute on its
    /// real parts alone.
    pub complex: bool,
    /// Whether the kernel computes on `uint16`/`uint32`/`uint64` tensors, which PyTorch
    /// supports in a few operators only (copies, views, `eq`, `mul`, `sum`, `sort`, `unique`,
    /// bitwise logic, conversions): views are, others are marked at registration
    /// ([`Defined::wide_unsigned`]) once their kernel is exact on values past `i64`/`f64`
    /// precision, and the rest refuse such an argument as PyTorch does.
    pub wide_unsigned: bool,
}

impl OpDef {
    pub fn has_tag(&self, tag: Tag) -> bool {
        self.tags.contains(&tag)
    }

    /// Whether the operator returns a SymInt (`sym_size`, `sym_numel`): it reads only its
    /// arguments' metadata.
    fn reads_metadata_only(&self) -> bool {
        self.schema.returns.len() == 1 && self.schema.returns[0].ty == crate::schema::Type::SymInt
    }

    /// Why the kernel refuses an argument of `dtype` (a complex or wide unsigned dtype it is
    /// not marked for), or `None` when it computes on it. One rule for the run-time check at
    /// the operator boundary and the load-time one of `ir`'s verifier; operators that read only
    /// metadata take every dtype.
    pub fn refusal(&self, dtype: DType) -> Option<String> {
        let refused = (dtype.is_complex() && !self.complex) || (dtype.is_wide_unsigned() && !self.wide_unsigned);
        (refused && !self.reads_metadata_only()).then(|| format!("{}: pt2 does not compute this operator on {dtype} tensors", self.name()))
    }

    /// The name as `aten::add.Tensor`.
    pub fn name(&self) -> String {
        self.schema.qualified_name()
    }

    /// Binds arguments and runs the kernel. Memory the kernel cannot have is this call's error
    /// (the operator boundary of [`tensor::alloc`]), never an abort.
    pub fn call(&self, positional: Vec<Value>, kwargs: Vec<(String, Value)>) -> Result<Value> {
        self.run(Args::bind(&self.schema, positional, kwargs)?)
    }

    /// What the outputs of a call look like without running the kernel: each output tensor's
    /// sizes (the meta function) and dtype (the dtype rule), flattened as the kernel flattens
    /// them (a `Tensor[]` return gives one dtype to all its tensors).
    pub fn output_meta(&self, call: &mut MetaCall) -> Result<Vec<(Vec<Expr>, DType)>> {
        let meta = self.meta.ok_or_else(|| Error::msg(format!("{} has no meta function: its output sizes are not known without running it", self.name())))?;
        let sizes = meta(call)?;
        let dtypes = self.dtype.output_dtypes(call.args)?;
        let per_output = if dtypes.len() == sizes.len() {
            dtypes
        } else if dtypes.len() == 1 {
            vec![dtypes[0]; sizes.len()]
        } else {
            return Err(Error::msg(format!("{}: the meta function gives {} outputs, the dtype rule {}", self.name(), sizes.len(), dtypes.len())));
        };
        Ok(sizes.into_iter().zip(per_output).collect())
    }

    /// Shapes only, with static sizes: meta tensors of the sizes and dtypes [`OpDef::output_meta`]
    /// gives (running eagerly on meta tensors, or replaying a program shapes only). A size that
    /// depends on tensor values (`nonzero`) has no value here, and is refused.
    pub fn meta_tensors(&self, args: &Args, location: Option<&str>) -> Result<Vec<Tensor>> {
        let sym = vec![None; self.schema.params.len()];
        let mut env = symbolic::ShapeEnv::new();
        let mut call = MetaCall { args, sym: &sym, env: &mut env, location, out_shapes: &[] };
        self.output_meta(&mut call)?
            .into_iter()
            .map(|(sizes, dtype)| {
                let shape = sizes
                    .iter()
                    .map(|e| {
                        e.as_int().filter(|&d| d >= 0).map(|d| d as usize).ok_or_else(|| {
                            Error::msg(format!("{}: output size {e} depends on tensor values, which shapes-only (meta) tensors do not have", self.name()))
                        })
                    })
                    .collect::<Result<Vec<usize>>>()?;
                Ok(Tensor::meta(&shape, dtype))
            })
            .collect()
    }

    /// Runs the kernel on arguments already bound to the schema ([`crate::args::bind`]): what a
    /// compiled plan calls, having bound each node's arguments once.
    pub fn call_bound(&self, values: Vec<Value>) -> Result<Value> {
        self.run(Args::bound(&self.schema, values))
    }

    /// [`OpDef::call_bound`], then `activation` on the output, in one kernel when the operator
    /// has one ([`OpDef::with_activation`]), else as a pass of its own over a float32 output.
    pub fn call_bound_then(&self, values: Vec<Value>, activation: Activation) -> Result<Value> {
        let args = Args::bound(&self.schema, values);
        match self.with_activation {
            Some(fused) => self.run_kernel(args, &|a| fused(a, activation)),
            None => self.run_kernel(args, &|a| activated((self.kernel)(a)?, activation)),
        }
    }

    fn run(&self, args: Args<'_>) -> Result<Value> {
        self.run_kernel(args, &*self.kernel)
    }

    fn run_kernel(&self, args: Args<'_>, kernel: &dyn Fn(&Args) -> Result<Value>) -> Result<Value> {
        if let Some(d) = args.values().iter().find_map(|v| v.find_dtype(&|d| self.refusal(d).is_some())) {
            return Err(Error::msg(self.refusal(d).unwrap_or_default()));
        }
        if let Some(param) = args.first_meta_tensor().filter(|_| !self.reads_metadata_only()) {
            return Err(Error::msg(format!(
                "{}: argument '{param}' is a shapes-only (meta) tensor, which has no values to compute with; \
                 export runs meta tensors through meta functions, a kernel needs real data",
                self.name()
            )));
        }
        // kernels compute on real data, also when called while a model is built on the meta device
        let result = tensor::meta::off_meta_device(|| tensor::alloc::catch(|| kernel(&args))).unwrap_or_else(|e| Err(e.into()));
        result.map_err(|e| match e {
            // a kernel's words get the operator's name in front (once)
            Error::Message(m) => {
                let name = self.name();
                let prefix = format!("{name}: ");
                Error::msg(format!("{name}: {}", m.trim_start_matches(prefix.as_str())))
            }
            other => other,
        })
    }
}

/// `activation` applied to a kernel's float32 output (the first, of several), as a pass of its
/// own: what an [`ActivationKernel`] does where it has no fused path for its arguments.
pub fn activated(out: Value, activation: Activation) -> Result<Value> {
    match out {
        Value::Tensor(t) => Ok(then_activation(t, Some(activation))?.into()),
        Value::List(mut outputs) if !outputs.is_empty() => {
            let first = std::mem::replace(&mut outputs[0], Value::None);
            outputs[0] = activated(first, activation)?;
            Ok(Value::List(outputs))
        }
        other => Err(Error::msg(format!("an activation ({activation:?}) follows it, but its output is {}, not a float32 tensor", other.kind()))),
    }
}

/// `then`, if any, applied to a float32 tensor a kernel computed, as a pass of its own.
pub fn then_activation(out: Tensor, then: Option<Activation>) -> Result<Tensor> {
    match then {
        None => Ok(out),
        Some(f) if out.dtype() == DType::F32 => Ok(tensor::kernels::elementwise::activation_f32(&out, f)),
        Some(f) => Err(Error::msg(format!("an activation ({f:?}) follows it, but its output is {}, not a float32 tensor", out.dtype().name()))),
    }
}

impl fmt::Debug for OpDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpDef({})", self.name())
    }
}

/// Operators that crates above `ops` define: the composites of `decomp`, whose kernel is their
/// decomposition run eagerly (`tensor` → `ops` → `export` → `decomp` is the layering, and a
/// decomposition is written against `export`'s tensor API). A crate submits its registration
/// function with `inventory::submit!`; [`Registry::global`] runs each after the ATen operators.
pub struct Extension(pub fn(&Registry));

inventory::collect!(Extension);

/// Operators by qualified name (`aten::add.Tensor`, `aten::relu.default`).
#[derive(Default)]
pub struct Registry {
    ops: RwLock<HashMap<String, Arc<OpDef>>>,
}

/// Turns `aten.add.Tensor`, `aten::add.Tensor` or `aten::relu` into `aten::add.Tensor` /
/// `aten::relu.default`.
pub fn canonical_name(name: &str) -> String {
    let name = name.strip_prefix("torch.ops.").unwrap_or(name);
    let (ns, rest) = match name.split_once("::") {
        Some((ns, rest)) => (ns, rest),
        None => match name.split_once('.') {
            Some((ns, rest)) => (ns, rest),
            None => return name.to_string(),
        },
    };
    if rest.contains('.') {
        format!("{ns}::{rest}")
    } else {
        format!("{ns}::{rest}.default")
    }
}

/// An operator just registered, whose rules can still be set: `r.def(..).dtype(rule)`.
pub struct Defined<'r> {
    registry: &'r Registry,
    name: String,
}

impl Defined<'_> {
    /// Names the operator's dtype rule (instead of the one its schema and tags imply).
    pub fn dtype(self, rule: DtypeRule) {
        self.update(|def| def.dtype = rule);
    }

    /// Marks the kernel as computing on complex tensors ([`OpDef::complex`]).
    pub fn complex(self) -> Self {
        self.update(|def| def.complex = true);
        self
    }

    /// Marks the kernel as computing on uint16/uint32/uint64 tensors ([`OpDef::wide_unsigned`]).
    pub fn wide_unsigned(self) -> Self {
        self.update(|def| def.wide_unsigned = true);
        self
    }

    /// Marks a kernel that moves, copies or tests elements without arithmetic on them (`cat`,
    /// `index`, `where`, `clone`): it computes on every dtype, complex and wide unsigned ones
    /// included.
    pub fn any_dtype(self) -> Self {
        self.complex().wide_unsigned()
    }

    /// Gives the operator a kernel that fuses an activation into it ([`OpDef::with_activation`]).
    pub fn with_activation(self, kernel: ActivationKernel) -> Self {
        self.update(|def| def.with_activation = Some(kernel));
        self
    }

    fn update(&self, f: impl FnOnce(&mut OpDef)) {
        let mut ops = self.registry.ops.write().unwrap_or_else(|e| e.into_inner());
        match ops.get_mut(&self.name).and_then(Arc::get_mut) {
            Some(def) => f(def),
            None => panic!("{}: a rule set after the operator was shared", self.name),
        }
    }
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// The process-wide registry, holding every ATen operator pt2 implements. Users add custom
    /// operators to it with [`Registry::register`].
    pub fn global() -> &'static Registry {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let r = Registry::new();
            crate::aten::register_all(&r);
            for extension in inventory::iter::<Extension> {
                (extension.0)(&r);
            }
            r
        })
    }

    /// Registers an operator from its schema string. Fails on a malformed schema or a name that
    /// is already taken. Its meta function comes from its tags: a [`Tag::Pointwise`] operator
    /// broadcasts its tensor arguments; any other traces with static sizes only (use
    /// [`Registry::register_with_meta`] to give it one).
    pub fn register(&self, schema: &str, tags: &[Tag], kernel: impl Fn(&Args) -> Result<Value> + Send + Sync + 'static) -> Result<Arc<OpDef>> {
        self.add(schema, tags, None, Arc::new(kernel))
    }

    /// Registers a custom operator with its meta function, so that programs using it can be
    /// traced with dynamic shapes.
    pub fn register_with_meta(
        &self,
        schema: &str,
        tags: &[Tag],
        kernel: impl Fn(&Args) -> Result<Value> + Send + Sync + 'static,
        meta: MetaFn,
    ) -> Result<Arc<OpDef>> {
        self.add(schema, tags, Some(meta), Arc::new(kernel))
    }

    /// The one registration path: schema, tags, meta function (or the one the tags imply) and
    /// kernel, all in one entry.
    fn add(&self, schema: &str, tags: &[Tag], meta: Option<MetaFn>, kernel: Kernel) -> Result<Arc<OpDef>> {
        let schema = Schema::parse(schema)?;
        // rules the schema and tags imply: broadcasting for pointwise operators; nothing to
        // size for an operator that returns nothing (`_assert_tensor_metadata`)
        let meta = meta
            .or_else(|| tags.contains(&Tag::Pointwise).then_some(crate::meta::pointwise as MetaFn))
            .or_else(|| schema.returns.is_empty().then_some(crate::meta::no_outputs as MetaFn));
        let takes_tensor = schema.params.iter().any(|p| p.ty.is_tensor_like());
        let dtype = DtypeRule::inferred(takes_tensor, tags.contains(&Tag::Pointwise));
        // views never read elements, so every dtype is theirs
        let (complex, wide_unsigned) = (schema.is_view(), schema.is_view());
        self.insert(OpDef { schema, tags: tags.to_vec(), kernel, meta, dtype, with_activation: None, complex, wide_unsigned })
    }

    fn insert(&self, def: OpDef) -> Result<Arc<OpDef>> {
        let name = def.schema.qualified_name();
        let def = Arc::new(def);
        let mut ops = self.ops.write().unwrap_or_else(|e| e.into_inner());
        if ops.contains_key(&name) {
            return Err(Error::msg(format!("operator {name} is already registered")));
        }
        ops.insert(name, def.clone());
        Ok(def)
    }

    /// Registers a built-in operator whose meta function its tags imply (or that traces with
    /// static sizes only); a bad schema or a duplicate is a bug in pt2, so it panics (the
    /// registry test builds every entry).
    pub(crate) fn def(&self, schema: &str, tags: &[Tag], kernel: fn(&Args) -> Result<Value>) -> Defined<'_> {
        self.def_with(schema, tags, None, Arc::new(kernel))
    }

    /// Registers a built-in operator with its meta function ([`crate::meta`]).
    pub(crate) fn def_meta(&self, schema: &str, tags: &[Tag], meta: MetaFn, kernel: fn(&Args) -> Result<Value>) -> Defined<'_> {
        self.def_with(schema, tags, Some(meta), Arc::new(kernel))
    }

    /// The registration every built-in and extension operator goes through; what it returns
    /// names the dtype rule where the inferred one does not hold.
    pub fn def_with(&self, schema: &str, tags: &[Tag], meta: Option<MetaFn>, kernel: Kernel) -> Defined<'_> {
        match self.add(schema, tags, meta, kernel) {
            Ok(def) => Defined { registry: self, name: def.name() },
            Err(e) => panic!("built-in operator: {e}"),
        }
    }

    pub fn get(&self, name: impl AsRef<str>) -> Option<Arc<OpDef>> {
        self.ops.read().unwrap_or_else(|e| e.into_inner()).get(&canonical_name(name.as_ref())).cloned()
    }

    /// Looks an operator up, with an error that names it when it is not registered.
    pub fn lookup(&self, name: impl AsRef<str>) -> Result<Arc<OpDef>> {
        let name = name.as_ref();
        self.get(name).ok_or_else(|| Error::UnknownOperator { name: canonical_name(name) })
    }

    pub fn call(&self, name: impl AsRef<str>, positional: Vec<Value>, kwargs: Vec<(String, Value)>) -> Result<Value> {
        self.lookup(name)?.call(positional, kwargs)
    }

    /// Every registered name, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.ops.read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::aten;

    #[test]
    fn every_builtin_schema_parses_and_names_are_unique() {
        // `Registry::global` panics on a malformed schema or a duplicate name.
        let r = Registry::global();
        assert!(r.names().len() > 100);
        let add = r.lookup(aten::add_Tensor).unwrap();
        assert_eq!(add.schema.params.len(), 3);
        assert!(r.get(aten::relu).is_some(), "a bare name means the default overload");
    }

    #[test]
    fn unknown_operator_is_a_clear_error() {
        let e = Registry::global().call("aten::no_such_op", vec![], vec![]).unwrap_err();
        assert_eq!(e, Error::UnknownOperator { name: "aten::no_such_op.default".into() }, "{e}");
    }
}

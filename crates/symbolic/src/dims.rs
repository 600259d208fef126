//! Dim specs, what a user declares about input sizes (`Dim::new("batch").max(1024)`,
//! `2 * dx`, `Dim::AUTO`), and checking the guards tracing recorded against them: PyTorch's
//! constraint violations and suggested fixes.
//!
//! ```text
//! Constraints violated (inp4_dim0, inp5_dim0, inp5_dim1)!
//!   - The values of inp5_dim0 = L['y'].size()[0] and inp4_dim1 = L['x'].size()[1] must always be equal.
//!   - ...
//! Suggested fixes:
//!   let inp4_dim0 = Dim::new("inp4_dim0").max(16);
//!   let inp5_dim1 = Dim::new("inp5_dim1").min(17);
//!   let inp5_dim0 = inp4_dim1.clone();
//! ```
//!
//! The violations read as PyTorch's; the fixes are written in pt2's API (PyTorch writes
//! `inp4_dim0 = Dim('inp4_dim0', max=16)`), ready to paste into the `DynamicShapes` code.

use std::fmt;
use std::ops;

use crate::expr::Expr;
use crate::range::{Bound, ValueRange};
use crate::shape_env::{Result, ShapeEnv, SymbolicError};

/// A named dynamic dimension with an optional range. The same `Dim` on two inputs declares
/// their sizes equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Dim {
    pub name: String,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl Dim {
    pub fn new(name: impl Into<String>) -> Dim {
        Dim { name: name.into(), min: None, max: None }
    }

    pub fn min(mut self, v: i64) -> Dim {
        self.min = Some(v);
        self
    }

    pub fn max(mut self, v: i64) -> Dim {
        self.max = Some(v);
        self
    }

    /// The declared range (`[0, int_oo]` where nothing is said).
    pub fn declared(&self) -> ValueRange {
        ValueRange::between(Some(self.min.unwrap_or(0)), self.max)
    }

    /// The range its symbol starts with: the declared one above PyTorch's floor of 2.
    fn symbol_range(&self) -> ValueRange {
        self.declared().intersect(&ValueRange::DYNAMIC_SIZE)
    }

    /// `4 <= dx <= 18`, as violation messages describe a declared range.
    fn describe(&self) -> Option<String> {
        match (self.min, self.max) {
            (None, None) => None,
            (Some(lo), None) => Some(format!("{} >= {lo}", self.name)),
            (None, Some(hi)) => Some(format!("{} <= {hi}", self.name)),
            (Some(lo), Some(hi)) => Some(format!("{lo} <= {} <= {hi}", self.name)),
        }
    }
}

/// `scale * root + offset`: a size determined by another dim (`2 * dx`, `dx + 1`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DerivedDim {
    pub root: Dim,
    pub scale: i64,
    pub offset: i64,
}

impl DerivedDim {
    fn expr(&self, root: Expr) -> Expr {
        root * self.scale + self.offset
    }
}

impl fmt::Display for DerivedDim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr(Expr::sym(self.root.name.as_str())))
    }
}

impl ops::Mul<Dim> for i64 {
    type Output = DerivedDim;
    fn mul(self, root: Dim) -> DerivedDim {
        DerivedDim { root, scale: self, offset: 0 }
    }
}

impl ops::Add<i64> for Dim {
    type Output = DerivedDim;
    fn add(self, offset: i64) -> DerivedDim {
        DerivedDim { root: self, scale: 1, offset }
    }
}

impl ops::Sub<i64> for Dim {
    type Output = DerivedDim;
    fn sub(self, offset: i64) -> DerivedDim {
        DerivedDim { root: self, scale: 1, offset: -offset }
    }
}

impl ops::Add<i64> for DerivedDim {
    type Output = DerivedDim;
    fn add(self, offset: i64) -> DerivedDim {
        DerivedDim { offset: self.offset + offset, ..self }
    }
}

/// What the user says of one input dimension.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DimSpec {
    /// Dynamic, named, with a range; violations are errors with suggested fixes.
    Named(Dim),
    Derived(DerivedDim),
    /// Dynamic if the program allows it, static otherwise: never an error.
    Auto,
    /// Dynamic, unnamed; specializing it is an error.
    Dynamic,
    /// The example's size, fixed.
    Static,
}

/// The spec as the Rust that declares it (`Dim::new("batch").max(64)`, `2 * dx`,
/// `DimSpec::Auto`).
impl fmt::Display for DimSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DimSpec::Named(d) => {
                write!(f, "Dim::new(\"{}\")", d.name)?;
                if let Some(m) = d.min {
                    write!(f, ".min({m})")?;
                }
                if let Some(m) = d.max {
                    write!(f, ".max({m})")?;
                }
                Ok(())
            }
            DimSpec::Derived(d) => write!(f, "{}", rust_arithmetic(&d.to_string())),
            DimSpec::Auto => f.write_str("DimSpec::Auto"),
            DimSpec::Dynamic => f.write_str("DimSpec::Dynamic"),
            DimSpec::Static => f.write_str("DimSpec::Static"),
        }
    }
}

impl From<Dim> for DimSpec {
    fn from(d: Dim) -> DimSpec {
        DimSpec::Named(d)
    }
}

impl From<DerivedDim> for DimSpec {
    fn from(d: DerivedDim) -> DimSpec {
        DimSpec::Derived(d)
    }
}

/// One input dim created from a spec, remembered for checking.
#[derive(Clone, Debug)]
pub(crate) struct SpecRecord {
    source: String,
    spec: DimSpec,
    size: Expr,
}

/// Export fails: the program needs more (or other) constraints than the specs declare.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ConstraintViolation {
    /// The whole text: header, one line per violation, the suggested fixes.
    pub message: String,
    /// The suggested fixes alone, one Rust statement per line, in pt2's API
    /// (`let dx = Dim::new("dx").max(16);`), where PyTorch writes `dx = Dim('dx', max=16)`.
    pub fixes: Vec<String>,
    /// Where the guards that broke the specs were made (`src/model.rs:12`), in order.
    pub locations: Vec<String>,
}

/// An expression as Rust writes it: `2*dx.clone()` → `2 * dx.clone()`.
fn rust_arithmetic(expr: &str) -> String {
    expr.replace('*', " * ")
}

impl ShapeEnv {
    /// The size of input dim `source` (example `hint`) as `spec` declares it.
    pub fn create_size_for_spec(&mut self, source: &str, hint: i64, spec: &DimSpec) -> Result<Expr> {
        let size = match spec {
            DimSpec::Static => return Ok(Expr::Int(hint)),
            DimSpec::Auto => return self.create_size(source, hint, true, ValueRange::DYNAMIC_SIZE),
            DimSpec::Dynamic => self.create_size(source, hint, true, ValueRange::DYNAMIC_SIZE)?,
            DimSpec::Named(dim) => self.named_dim(source, hint, dim)?,
            DimSpec::Derived(derived) => {
                let root = match self.dim_symbols.get(&derived.root.name) {
                    Some(r) => r.clone(),
                    None => {
                        let scaled = hint - derived.offset;
                        if derived.scale == 0 || scaled % derived.scale != 0 {
                            return Err(SymbolicError::Other(format!(
                                "{source} is {hint}, which is not {derived} for any integer {}",
                                derived.root.name
                            )));
                        }
                        self.named_dim(&format!("{source} as {derived}"), scaled / derived.scale, &derived.root)?
                    }
                };
                let size = derived.expr(root);
                match self.hint(&size) {
                    Some(v) if v != hint => {
                        return Err(SymbolicError::Other(format!(
                            "{source} is {hint}, but it is declared {derived} = {v} by the other inputs' sizes"
                        )))
                    }
                    _ => size,
                }
            }
        };
        self.specs.push(SpecRecord { source: source.into(), spec: spec.clone(), size: size.clone() });
        Ok(size)
    }

    fn named_dim(&mut self, source: &str, hint: i64, dim: &Dim) -> Result<Expr> {
        let declared = dim.declared();
        if !declared.contains(hint) {
            return Err(SymbolicError::NotInRange { value: hint, lo: declared.lo, hi: declared.hi });
        }
        let existing = self.dim_symbols.get(&dim.name).cloned();
        if let Some(v) = existing.as_ref().and_then(|e| self.hint(e)).filter(|v| *v != hint) {
            return Err(SymbolicError::Other(format!("{source} is {hint}, but other inputs sized by the same Dim {} are {v}", dim.name)));
        }
        let size = if hint <= 1 && !self.keep_zero_one_symbolic { Expr::Int(hint) } else { self.create_symbol(source, hint, dim.symbol_range())? };
        // a Dim used again: its symbol is the last source's, as PyTorch names it, and the
        // earlier sources' symbols stand for it
        if let Some(old) = existing.as_ref().and_then(|e| e.as_symbol()).map(String::from) {
            self.replace(&old, size.clone());
        }
        self.dim_symbols.insert(dim.name.clone(), size.clone());
        Ok(size)
    }

    /// Checks the recorded guards against the specs; the first error lists every violation
    /// and the fixes that would make the specs agree with the program.
    pub fn check_specs(&self) -> std::result::Result<(), ConstraintViolation> {
        let mut names: Vec<String> = Vec::new();
        let (mut relations, mut others, mut ranges) = (Vec::new(), Vec::new(), Vec::new());
        let (mut range_fixes, mut relation_fixes) = (Vec::new(), Vec::new());
        let mut seen_dims = Vec::new();
        for rec in &self.specs {
            let (name, dim) = match &rec.spec {
                DimSpec::Named(d) => (d.name.clone(), Some(d)),
                DimSpec::Dynamic => (rec.source.clone(), None),
                _ => continue,
            };
            if seen_dims.contains(&name) {
                continue;
            }
            seen_dims.push(name.clone());
            let now = self.simplify(&rec.size);
            if let Expr::Int(v) = now {
                names.push(name.clone());
                relations.push(format!(
                    "You marked {name} as dynamic but your code specialized it to be a constant ({v}). Declare it static \
                     (`DimSpec::Static`, or leave it out of the `DynamicShapes`), or let export decide (`DimSpec::Auto`)."
                ));
                if dim.is_some() {
                    relation_fixes.push(format!("let {name} = DimSpec::Static; // the code needs {name} == {v}"));
                }
                continue;
            }
            let Some(sym) = rec.size.as_symbol() else { continue };
            if now != rec.size {
                // replaced by an expression of other symbols
                let others_syms = now.free_symbols();
                let Some(other_rec) = others_syms.iter().find_map(|s| self.record_of(s)) else { continue };
                let other_name = spec_name(other_rec);
                if other_name == name {
                    continue;
                }
                let in_names = now.substitute(&|s| self.record_of(s).map(|r| Expr::sym(spec_name(r))));
                names.push(name.clone());
                if now.as_symbol().is_some() {
                    relations.push(format!(
                        "The values of {name} = {} and {other_name} = {} must always be equal.",
                        rec.source, other_rec.source
                    ));
                } else {
                    relations.push(format!(
                        "The values of {name} = {} must always be related to the values of {other_name} = {} by {name} = {in_names}.",
                        rec.source, other_rec.source
                    ));
                }
                if dim.is_some() {
                    // the same Dim, or one derived from it (`2 * dx.clone()`, `dx.clone() + 1`)
                    let rust = now.substitute(&|s| self.record_of(s).map(|r| Expr::sym(format!("{}.clone()", spec_name(r)))));
                    relation_fixes.push(format!("let {name} = {};", rust_arithmetic(&rust.to_string())));
                }
                continue;
            }
            let declared = dim.map(Dim::symbol_range).unwrap_or(ValueRange::DYNAMIC_SIZE);
            let in_range = dim.and_then(Dim::describe).map(|d| format!(" {d}")).unwrap_or_default();
            let mut violated = false;
            // guards over this symbol alone that are not range bounds (`!=`), and guards that
            // relate it to other dims without making them equal
            for g in &self.guards {
                let syms = g.expr.free_symbols();
                if !syms.iter().any(|s| s == sym) {
                    continue;
                }
                let is_bound = syms.len() == 1 && matches!(&g.expr, Expr::Cmp(op, ..) if op != &crate::expr::CmpOp::Ne);
                // equalities that became replacements hold trivially once applied
                let now = self.apply_replacements(&g.expr);
                let implied = now.simplify(&|s| if s == sym { declared } else { self.range_of(s) }) == Expr::Bool(true);
                if is_bound || implied {
                    continue;
                }
                violated = true;
                others.push(format!(
                    "Not all values of {name} = {} in the specified range{in_range} satisfy the generated guard {}.",
                    rec.source,
                    self.in_sources(&g.expr)
                ));
            }
            let known = self.range_of(sym);
            if known != declared && known.is_subset_of(&declared) {
                violated = true;
                let mut parts = Vec::new();
                if let Bound::Int(lo) = known.lo {
                    parts.push(format!("{lo} <= {}", rec.source));
                }
                if let Bound::Int(hi) = known.hi {
                    parts.push(format!("{} <= {hi}", rec.source));
                }
                ranges.push(format!(
                    "Not all values of {name} = {} in the specified range{in_range} satisfy the generated guard {}",
                    rec.source,
                    parts.join(" and ")
                ));
                let mut calls = String::new();
                if known.lo != Bound::Int(2) {
                    calls.push_str(&format!(".min({})", known.lo));
                }
                if let Bound::Int(hi) = known.hi {
                    calls.push_str(&format!(".max({hi})"));
                }
                if dim.is_some() {
                    range_fixes.push(format!("let {name} = Dim::new(\"{name}\"){calls};"));
                }
            }
            if violated {
                names.push(name);
            }
        }
        if names.is_empty() {
            return Ok(());
        }
        names.sort();
        names.dedup();
        let mut message = format!("Constraints violated ({})!", names.join(", "));
        for line in relations.iter().chain(&others).chain(&ranges) {
            message.push_str(&format!("\n  - {line}"));
        }
        let fixes: Vec<String> = range_fixes.into_iter().chain(relation_fixes).collect();
        if !fixes.is_empty() {
            message.push_str("\nSuggested fixes:");
            for f in &fixes {
                message.push_str(&format!("\n  {f}"));
            }
        }
        // the lines whose guards involve a dim that broke its spec
        let violating: Vec<String> = self
            .specs
            .iter()
            .filter(|r| names.contains(&spec_name(r)))
            .filter_map(|r| r.size.as_symbol().map(str::to_string))
            .collect();
        let mut locations: Vec<String> = Vec::new();
        for g in &self.guards {
            let involved = g.expr.free_symbols().iter().any(|s| violating.iter().any(|v| v == s));
            if let Some(at) = g.location.as_ref().filter(|at| involved && !locations.contains(at)) {
                locations.push(at.clone());
            }
        }
        Err(ConstraintViolation { message, fixes, locations })
    }

    /// The range the user declared for `sym`'s Dim (`[0, int_oo]` for `Dim("x")`): what
    /// PyTorch reports as the program's range constraint. `None` for symbols of other specs.
    pub fn declared_range(&self, sym: &str) -> Option<ValueRange> {
        self.specs.iter().find_map(|r| match &r.spec {
            DimSpec::Named(d) if self.apply_replacements(&r.size).as_symbol() == Some(sym) => Some(d.declared()),
            DimSpec::Derived(dd) if self.dim_symbols.get(&dd.root.name).and_then(|e| e.as_symbol()) == Some(sym) => Some(dd.root.declared()),
            _ => None,
        })
    }

    /// The spec record whose size is the symbol `sym`.
    fn record_of(&self, sym: &str) -> Option<&SpecRecord> {
        self.specs.iter().find(|r| r.size.as_symbol() == Some(sym) && matches!(r.spec, DimSpec::Named(_) | DimSpec::Dynamic))
    }

    /// A guard in the user's terms: each symbol written as the input dim it stands for.
    pub fn in_sources(&self, e: &Expr) -> String {
        e.to_python(&|s| self.symbol(s).map(|i| i.source.clone()).filter(|src| !src.is_empty()).unwrap_or_else(|| s.to_string()))
    }
}

fn spec_name(rec: &SpecRecord) -> String {
    match &rec.spec {
        DimSpec::Named(d) => d.name.clone(),
        _ => rec.source.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tutorial's `dynamic_shapes_example3`, traced as pt2's tracer will trace it:
    /// `if x.shape[0] <= 16: return x @ y[:, :16]`.
    #[test]
    fn tutorial_example_3_suggested_fixes() {
        let mut env = ShapeEnv::new();
        let x0 = env.create_size_for_spec("L['x'].size()[0]", 8, &Dim::new("inp4_dim0").into()).unwrap();
        let x1 = env.create_size_for_spec("L['x'].size()[1]", 16, &Dim::new("inp4_dim1").into()).unwrap();
        let y0 = env.create_size_for_spec("L['y'].size()[0]", 16, &Dim::new("inp5_dim0").into()).unwrap();
        let y1 = env.create_size_for_spec("L['y'].size()[1]", 32, &Dim::new("inp5_dim1").into()).unwrap();
        // the `if`
        assert!(env.evaluate(&Expr::less_eq(x0.clone(), 16), Some("example3.rs:2")).unwrap());
        // y[:, :16]: slicing clamps the end to the size, so it asks whether 16 fits
        assert!(env.evaluate(&Expr::not_equals(y1.clone(), 16), None).unwrap());
        assert!(env.evaluate(&Expr::greater_eq(y1.clone(), 16), None).unwrap());
        // the matmul's inner dims must agree
        assert!(env.evaluate(&Expr::equals(x1.clone(), y0.clone()), None).unwrap());
        let err = env.check_specs().unwrap_err();
        // PyTorch 2.15 suggests `inp4_dim0 = Dim('inp4_dim0', max=16)`, ... : the same fixes in
        // pt2's API
        assert_eq!(
            err.fixes,
            ["let inp4_dim0 = Dim::new(\"inp4_dim0\").max(16);", "let inp5_dim1 = Dim::new(\"inp5_dim1\").min(17);", "let inp5_dim0 = inp4_dim1.clone();"]
        );
        let expected = "\
Constraints violated (inp4_dim0, inp5_dim0, inp5_dim1)!
  - The values of inp5_dim0 = L['y'].size()[0] and inp4_dim1 = L['x'].size()[1] must always be equal.
  - Not all values of inp5_dim1 = L['y'].size()[1] in the specified range satisfy the generated guard L['y'].size()[1] != 16.
  - Not all values of inp4_dim0 = L['x'].size()[0] in the specified range satisfy the generated guard 2 <= L['x'].size()[0] and L['x'].size()[0] <= 16
  - Not all values of inp5_dim1 = L['y'].size()[1] in the specified range satisfy the generated guard 17 <= L['y'].size()[1]
Suggested fixes:
  let inp4_dim0 = Dim::new(\"inp4_dim0\").max(16);
  let inp5_dim1 = Dim::new(\"inp5_dim1\").min(17);
  let inp5_dim0 = inp4_dim1.clone();";
        assert_eq!(err.message, expected);
    }

    #[test]
    fn fixed_specs_pass() {
        let mut env = ShapeEnv::new();
        let shared = Dim::new("shared_dim");
        let x0 = env.create_size_for_spec("L['x'].size()[0]", 8, &Dim::new("inp4_dim0").max(16).into()).unwrap();
        let x1 = env.create_size_for_spec("L['x'].size()[1]", 16, &shared.clone().into()).unwrap();
        let y0 = env.create_size_for_spec("L['y'].size()[0]", 16, &shared.into()).unwrap();
        let y1 = env.create_size_for_spec("L['y'].size()[1]", 32, &Dim::new("inp5_dim1").min(17).into()).unwrap();
        // one Dim, one symbol: the last source names it (`s17`, as PyTorch names it)
        assert_eq!(env.simplify(&x1), y0);
        assert_eq!(y0.to_string(), "s17");
        // all of these are now known, so none is a guard
        assert!(env.evaluate(&Expr::less_eq(x0, 16), None).unwrap());
        assert!(env.evaluate(&Expr::not_equals(y1.clone(), 16), None).unwrap());
        assert!(env.evaluate(&Expr::greater_eq(y1, 16), None).unwrap());
        assert!(env.evaluate(&Expr::equals(x1, y0), None).unwrap());
        assert!(env.guards().is_empty());
        env.check_specs().unwrap();
    }

    #[test]
    fn example_outside_its_own_spec() {
        let mut env = ShapeEnv::new();
        let err = env.create_size_for_spec("L['x'].size()[1]", 10, &Dim::new("inp1_dim1_bad").min(11).max(18).into()).unwrap_err();
        assert_eq!(err.to_string(), "10 not in range [11, 18]");
    }

    #[test]
    fn specialization_and_derived_relations() {
        // `if x.shape[0] == 8` with x's dim 0 declared dynamic
        let mut env = ShapeEnv::new();
        let x0 = env.create_size_for_spec("L['x'].size()[0]", 8, &Dim::new("dx").into()).unwrap();
        assert!(env.evaluate(&Expr::equals(x0, 8), None).unwrap());
        let err = env.check_specs().unwrap_err();
        assert!(err.message.starts_with("Constraints violated (dx)!\n  - You marked dx as dynamic but your code specialized it to be a constant (8)."), "{}", err.message);
        assert_eq!(err.fixes, ["let dx = DimSpec::Static; // the code needs dx == 8"]);

        // torch.cat([x, x]) + y with x, y declared independent
        let mut env = ShapeEnv::new();
        let x0 = env.create_size_for_spec("L['x'].size()[0]", 4, &Dim::new("dx").into()).unwrap();
        let y0 = env.create_size_for_spec("L['y'].size()[0]", 8, &Dim::new("dy").into()).unwrap();
        assert!(env.evaluate(&Expr::equals(x0 * 2, y0), None).unwrap());
        let err = env.check_specs().unwrap_err();
        assert_eq!(
            err.message,
            "Constraints violated (dy)!\n  - The values of dy = L['y'].size()[0] must always be related to the values of dx = L['x'].size()[0] by dy = 2*dx.\nSuggested fixes:\n  let dy = 2 * dx.clone();"
        );

        // x[1:] + y: PyTorch words the relation as dx = dy + 1
        let mut env = ShapeEnv::new();
        let x0 = env.create_size_for_spec("L['x'].size()[0]", 5, &Dim::new("dx").into()).unwrap();
        let y0 = env.create_size_for_spec("L['y'].size()[0]", 4, &Dim::new("dy").into()).unwrap();
        assert!(env.evaluate(&Expr::equals(x0 - 1, y0), None).unwrap());
        assert_eq!(env.check_specs().unwrap_err().fixes, ["let dx = dy.clone() + 1;"]);

        // a derived spec that matches the program passes
        let mut env = ShapeEnv::new();
        let dx = Dim::new("dx");
        let x0 = env.create_size_for_spec("L['x'].size()[0]", 4, &dx.clone().into()).unwrap();
        let y0 = env.create_size_for_spec("L['y'].size()[0]", 8, &(2 * dx).into()).unwrap();
        assert!(env.evaluate(&Expr::equals(x0 * 2, y0), None).unwrap());
        assert!(env.guards().is_empty());
        env.check_specs().unwrap();
    }

    #[test]
    fn declared_range_narrowed_from_below() {
        // `if x.shape[0] > 4` with dx <= 100
        let mut env = ShapeEnv::new();
        let x0 = env.create_size_for_spec("L['x'].size()[0]", 8, &Dim::new("dx").max(100).into()).unwrap();
        assert!(env.evaluate(&Expr::greater(x0, 4), None).unwrap());
        let err = env.check_specs().unwrap_err();
        assert_eq!(
            err.message,
            "Constraints violated (dx)!\n  - Not all values of dx = L['x'].size()[0] in the specified range dx <= 100 satisfy the generated guard 5 <= L['x'].size()[0] and L['x'].size()[0] <= 100\nSuggested fixes:\n  let dx = Dim::new(\"dx\").min(5).max(100);"
        );
    }
}

//! The shape environment: the symbols standing for input sizes and for values read from tensor
//! data, what is known about them, and every decision tracing made about them.
//!
//! Each symbol has a range and, when it stands for an input size, a *hint* (the example
//! value). Deciding a boolean ([`ShapeEnv::evaluate`]) first tries what is known; when that
//! does not settle it, the hint does, and the outcome is recorded as a *guard*: the exported
//! program is only valid for inputs where every guard holds. Guards teach the environment:
//! `Eq(s1, s0)` makes `s1` a *replacement* for `s0` everywhere afterwards, `Eq(s0, 8)`
//! specializes `s0`, and `s0 <= 16` narrows its range. Symbols read from data (*unbacked*,
//! `u0`) have no hint: a decision that needs one is a data-dependent error, and
//! [`ShapeEnv::check`] constrains them with runtime assertions instead.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::expr::{floor_div, CmpOp, Expr};
use crate::range::{Bound, ValueRange};

/// What the environment knows of one symbol.
#[derive(Clone, Debug)]
pub struct SymbolInfo {
    pub name: String,
    /// Where the value comes from, in the user's terms (`L['x'].size()[0]`); empty for
    /// unbacked symbols.
    pub source: String,
    /// The example value; `None` for an unbacked symbol.
    pub hint: Option<i64>,
    pub range: ValueRange,
    /// Values ruled out by `!=` guards; they tighten the range when they reach its ends.
    pub excluded: Vec<i64>,
    /// An unbacked value known to be usable as a size (`check_is_size`).
    pub size_like: bool,
}

/// A decision recorded while tracing, with the user's code location that made it.
#[derive(Clone, Debug, PartialEq)]
pub struct Guard {
    pub expr: Expr,
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SymbolicError {
    /// A decision needs the value of a symbol read from tensor data.
    #[error(
        "Could not guard on data-dependent expression {expr} (unhinted: {unhinted}).  (Size-like symbols: {size_like})\n\n\
         Caused by: {location}\n\
         The value comes from tensor data, so it is not known while tracing. Branch with `cond` \
         instead of `if`, or constrain the value with `check(...)` / `check_is_size(...)`."
    )]
    DataDependent { expr: Expr, unhinted: Expr, size_like: String, location: String },
    /// An example value outside the range its spec declares.
    #[error("{value} not in range [{lo}, {hi}]")]
    NotInRange { value: i64, lo: Bound, hi: Bound },
    /// A `check` that can never hold, or that fails for the example values.
    #[error("{what} failed: {expr} (at {location})")]
    CheckFailed { what: &'static str, expr: Expr, location: String },
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, SymbolicError>;

#[derive(Default)]
pub struct ShapeEnv {
    symbols: Vec<SymbolInfo>,
    index: HashMap<String, usize>,
    unique_ids: HashSet<u64>,
    unbacked_count: usize,
    replacements: HashMap<String, Expr>,
    pub(crate) guards: Vec<Guard>,
    runtime_asserts: Vec<Guard>,
    /// Whether dims whose example is 0 or 1 become constants (PyTorch's rule; on by default).
    pub keep_zero_one_symbolic: bool,
    pub(crate) specs: Vec<crate::dims::SpecRecord>,
    pub(crate) dim_symbols: HashMap<String, Expr>,
}

impl ShapeEnv {
    pub fn new() -> ShapeEnv {
        ShapeEnv::default()
    }

    /// PyTorch's name for the symbol of `source`: `s` and the SHA-256 of the source text
    /// modulo 100, moved up past names already taken (`L['x'].size()[0]` is `s77`).
    fn fresh_size_name(&mut self, source: &str) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(source.as_bytes());
        let mut id = digest.iter().fold(0u64, |acc, b| (acc * 256 + *b as u64) % 100);
        while !self.unique_ids.insert(id) {
            id += 1;
        }
        format!("s{id}")
    }

    fn push(&mut self, info: SymbolInfo) -> Expr {
        let name = info.name.clone();
        self.index.insert(name.clone(), self.symbols.len());
        self.symbols.push(info);
        Expr::Sym(name)
    }

    /// A symbol for a value with example `hint`, in `range` (refused when the hint is not in
    /// it).
    pub fn create_symbol(&mut self, source: &str, hint: i64, range: ValueRange) -> Result<Expr> {
        if !range.contains(hint) {
            return Err(SymbolicError::NotInRange { value: hint, lo: range.lo, hi: range.hi });
        }
        let name = self.fresh_size_name(source);
        Ok(self.push(SymbolInfo { name, source: source.into(), hint: Some(hint), range, excluded: vec![], size_like: true }))
    }

    /// A symbol with a given name (re-creating a program's symbols: `s77`), example `hint` and
    /// range.
    pub fn create_named_symbol(&mut self, name: &str, source: &str, hint: i64, range: ValueRange) -> Result<Expr> {
        if !range.contains(hint) {
            return Err(SymbolicError::NotInRange { value: hint, lo: range.lo, hi: range.hi });
        }
        if let Some(id) = name.strip_prefix('s').and_then(|n| n.parse::<u64>().ok()) {
            self.unique_ids.insert(id);
        }
        if let Some(n) = name.strip_prefix('u').and_then(|n| n.parse::<usize>().ok()) {
            self.unbacked_count = self.unbacked_count.max(n + 1);
        }
        Ok(self.push(SymbolInfo { name: name.into(), source: source.into(), hint: Some(hint), range, excluded: vec![], size_like: true }))
    }

    /// The size of an input dim: a constant when static, or when its example is 0 or 1 (0/1
    /// specialization); otherwise a symbol in `range ∩ [2, int_oo]`.
    pub fn create_size(&mut self, source: &str, hint: i64, dynamic: bool, range: ValueRange) -> Result<Expr> {
        if !dynamic || (hint <= 1 && !self.keep_zero_one_symbolic) {
            return Ok(Expr::Int(hint));
        }
        let range = if self.keep_zero_one_symbolic { range } else { range.intersect(&ValueRange::DYNAMIC_SIZE) };
        self.create_symbol(source, hint, range)
    }

    /// A symbol for a value read from tensor data (`item()`, `nonzero`'s length): no hint.
    pub fn create_unbacked(&mut self, size_like: bool) -> Expr {
        let name = format!("u{}", self.unbacked_count);
        self.unbacked_count += 1;
        let range = if size_like { ValueRange::SIZE } else { ValueRange::UNKNOWN };
        self.push(SymbolInfo { name, source: String::new(), hint: None, range, excluded: vec![], size_like })
    }

    pub fn symbol(&self, name: &str) -> Option<&SymbolInfo> {
        self.index.get(name).map(|&i| &self.symbols[i])
    }

    pub fn symbols(&self) -> &[SymbolInfo] {
        &self.symbols
    }

    pub fn guards(&self) -> &[Guard] {
        &self.guards
    }

    /// Assertions on unbacked values that the program must check when it runs.
    pub fn runtime_asserts(&self) -> &[Guard] {
        &self.runtime_asserts
    }

    /// What `name` has been replaced by (after `Eq` guards), if anything.
    pub fn replacement(&self, name: &str) -> Option<&Expr> {
        self.replacements.get(name)
    }

    /// The range of a symbol as currently known.
    pub fn range_of(&self, name: &str) -> ValueRange {
        match self.replacements.get(name) {
            Some(e) => e.range(&|s| self.symbol_range(s)),
            None => self.symbol_range(name),
        }
    }

    fn symbol_range(&self, name: &str) -> ValueRange {
        self.symbol(name).map(|s| s.range).unwrap_or(ValueRange::UNKNOWN)
    }

    /// The expression with every replacement applied, in canonical form.
    pub fn apply_replacements(&self, e: &Expr) -> Expr {
        if self.replacements.is_empty() {
            e.canonical()
        } else {
            e.substitute(&|s| self.replacements.get(s).cloned())
        }
    }

    /// The expression with replacements applied, simplified with the known ranges.
    pub fn simplify(&self, e: &Expr) -> Expr {
        self.apply_replacements(e).simplify(&|s| self.symbol_range(s))
    }

    /// The value under the example inputs; `None` when it depends on an unbacked symbol.
    pub fn hint(&self, e: &Expr) -> Option<i64> {
        self.simplify(e).eval_with(&|s| self.symbol(s).and_then(|i| i.hint))
    }

    /// Whether `cond` is known true without consulting hints (and so without a guard).
    pub fn statically_known_true(&self, cond: &Expr) -> bool {
        self.simplify(cond) == Expr::Bool(true)
    }

    /// Decides a boolean: by what is known if that settles it, else by the example values,
    /// recording the outcome as a guard made at `location`.
    pub fn evaluate(&mut self, cond: &Expr, location: Option<&str>) -> Result<bool> {
        let e = self.simplify(cond);
        if let Expr::Bool(b) = e {
            return Ok(b);
        }
        let Some(value) = e.eval_with(&|s| self.symbol(s).and_then(|i| i.hint)) else {
            return Err(self.data_dependent(cond, &e, location));
        };
        let holds = value != 0;
        let fact = if holds { e } else { Expr::not(e) };
        self.guards.push(Guard { expr: fact.clone(), location: location.map(String::from) });
        self.learn(&fact);
        Ok(holds)
    }

    /// An integer's concrete value, guarding that it equals its example (specializing it).
    pub fn guard_int(&mut self, e: &Expr, location: Option<&str>) -> Result<i64> {
        let s = self.simplify(e);
        if let Expr::Int(v) = s {
            return Ok(v);
        }
        let Some(v) = self.hint(&s) else {
            return Err(self.data_dependent(e, &s, location));
        };
        self.evaluate(&Expr::equals(s, v), location)?;
        Ok(v)
    }

    /// `torch._check`: asserts `cond`. Known true: nothing to do. With example values: a guard
    /// (and an error if it fails for them). Over unbacked values: it refines their ranges and
    /// becomes a runtime assertion.
    pub fn check(&mut self, cond: &Expr, location: Option<&str>) -> Result<()> {
        let e = self.simplify(cond);
        let failed = |e: Expr| SymbolicError::CheckFailed { what: "check", expr: e, location: location.unwrap_or("<unknown>").into() };
        match e {
            Expr::Bool(true) => Ok(()),
            Expr::Bool(false) => Err(failed(cond.clone())),
            _ if e.eval_with(&|s| self.symbol(s).and_then(|i| i.hint)).is_some() => {
                if self.evaluate(&e, location)? {
                    Ok(())
                } else {
                    Err(failed(e))
                }
            }
            _ => {
                self.learn(&e);
                self.runtime_asserts.push(Guard { expr: e, location: location.map(String::from) });
                Ok(())
            }
        }
    }

    /// `torch._check_is_size`: the value is at least 0 and may be used as a size.
    pub fn check_is_size(&mut self, e: &Expr, location: Option<&str>) -> Result<()> {
        if let Some(name) = self.simplify(e).as_symbol().map(String::from) {
            if let Some(&i) = self.index.get(&name) {
                self.symbols[i].size_like = true;
            }
        }
        self.check(&Expr::greater_eq(e.clone(), 0), location)
    }

    /// Every free symbol with its range: the program's `range_constraints`.
    pub fn range_constraints(&self) -> Vec<(String, ValueRange)> {
        self.symbols.iter().filter(|s| !self.replacements.contains_key(&s.name)).map(|s| (s.name.clone(), s.range)).collect()
    }

    fn data_dependent(&self, original: &Expr, simplified: &Expr, location: Option<&str>) -> SymbolicError {
        let size_like: Vec<String> = self.symbols.iter().filter(|s| s.hint.is_none() && s.size_like).map(|s| s.name.clone()).collect();
        SymbolicError::DataDependent {
            expr: simplified.clone(),
            unhinted: original.canonical(),
            size_like: if size_like.is_empty() { "none".into() } else { size_like.join(", ") },
            location: location.unwrap_or("<unknown>").into(),
        }
    }

    /// Takes a fact that holds (a guard or an assertion) into account: equalities become
    /// replacements, bounds on one symbol narrow its range.
    fn learn(&mut self, fact: &Expr) {
        match fact {
            Expr::And(parts) => parts.iter().for_each(|p| self.learn(p)),
            Expr::Cmp(op, a, b) => {
                let Some((terms, constant)) = (&**a - &**b).linear_terms() else { return };
                match (op, terms.as_slice()) {
                    (CmpOp::Eq, [(c, s)]) => {
                        // c*s + constant == 0
                        if (-constant) % c == 0 {
                            self.replace(s, Expr::Int(-constant / c));
                        }
                    }
                    (CmpOp::Ne, [(c, s)]) => {
                        if (-constant) % c == 0 {
                            self.exclude(s, -constant / c);
                        }
                    }
                    (CmpOp::Eq, _) => self.learn_equality(&terms, constant),
                    (op, [(c, s)]) => {
                        // normalized to a*s + b >= 0
                        let (a, b) = match op {
                            CmpOp::Ge => (*c, constant),
                            CmpOp::Gt => (*c, constant - 1),
                            CmpOp::Le => (-c, -constant),
                            _ => (-c, -constant - 1),
                        };
                        let bound = if a > 0 {
                            // s >= ceil(-b / a)
                            floor_div(-b + a - 1, a).map(|lo| ValueRange::new(Bound::Int(lo), Bound::PosInf))
                        } else {
                            // s <= floor(b / -a)
                            floor_div(b, -a).map(|hi| ValueRange::new(Bound::NegInf, Bound::Int(hi)))
                        };
                        if let Some(bound) = bound {
                            self.narrow(s, &bound);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// `Σ c_i*s_i + constant == 0` over two or more symbols: solves for one symbol with a unit
    /// coefficient, preferring a solution with no negative coefficients or offset (so that it
    /// reads as a derived dim, `dx = dy + 1`), then the most recently created symbol.
    fn learn_equality(&mut self, terms: &[(i64, String)], constant: i64) {
        let order = |s: &str| self.index.get(s).copied().unwrap_or(usize::MAX);
        let mut best: Option<(bool, usize, String, Expr)> = None;
        for (c, s) in terms.iter().filter(|(c, _)| c.abs() == 1) {
            // s = -(rest + constant) / c
            let rest = terms.iter().filter(|(_, t)| t != s).fold(Expr::Int(constant), |acc, (k, t)| acc + *k * Expr::sym(t.as_str()));
            let solution = if *c == 1 { -rest } else { rest };
            let natural = solution.linear_terms().is_some_and(|(ts, k)| k >= 0 && ts.iter().all(|(c, _)| *c > 0));
            let key = (natural, order(s));
            if best.as_ref().is_none_or(|(n, o, _, _)| key > (*n, *o)) {
                best = Some((natural, order(s), s.clone(), solution));
            }
        }
        if let Some((_, _, s, solution)) = best {
            self.replace(&s, solution);
        }
    }

    /// From now on `name` stands for `value`; `name`'s range carries over to the symbols of
    /// `value` where it can (a symbol, or `a*sym + b`).
    pub(crate) fn replace(&mut self, name: &str, value: Expr) {
        let value = value.substitute(&|s| self.replacements.get(s).cloned());
        if value.has_symbol(name) {
            return;
        }
        let old_range = self.symbol_range(name);
        if let Some(v) = value.as_int() {
            if let Some(&i) = self.index.get(name) {
                self.symbols[i].range = ValueRange::point(v);
            }
        } else if let Some((terms, b)) = value.linear_terms() {
            if let [(a, kept)] = terms.as_slice() {
                // old_range ∋ a*kept + b  ⇒  kept ∈ (old_range - b) / a, for a > 0
                if *a > 0 {
                    let lo = match old_range.lo {
                        Bound::Int(l) => l.checked_sub(b).and_then(|x| floor_div(x + a - 1, *a)).map(Bound::Int).unwrap_or(Bound::NegInf),
                        inf => inf,
                    };
                    let hi = match old_range.hi {
                        Bound::Int(h) => h.checked_sub(b).and_then(|x| floor_div(x, *a)).map(Bound::Int).unwrap_or(Bound::PosInf),
                        inf => inf,
                    };
                    let kept = kept.clone();
                    self.narrow(&kept, &ValueRange::new(lo, hi));
                }
            }
        }
        for v in self.replacements.values_mut() {
            if v.has_symbol(name) {
                *v = v.substitute(&|s| (s == name).then(|| value.clone()));
            }
        }
        self.replacements.insert(name.to_string(), value);
    }

    fn narrow(&mut self, name: &str, bound: &ValueRange) {
        if let Some(e) = self.replacements.get(name).cloned() {
            // narrowing a replaced symbol narrows the one it stands for, when that is direct
            if let Some(s) = e.as_symbol() {
                return self.narrow(&s.to_string(), bound);
            }
            return;
        }
        if let Some(&i) = self.index.get(name) {
            let info = &mut self.symbols[i];
            info.range = info.range.intersect(bound);
            tighten(info);
        }
    }

    fn exclude(&mut self, name: &str, value: i64) {
        if let Some(s) = self.replacements.get(name).and_then(|e| e.as_symbol()).map(String::from) {
            return self.exclude(&s, value);
        }
        if let Some(&i) = self.index.get(name) {
            let info = &mut self.symbols[i];
            info.excluded.push(value);
            tighten(info);
        }
    }
}

/// Moves a range's ends past values a `!=` guard excludes (`s >= 16` and `s != 16` give
/// `s >= 17`).
fn tighten(info: &mut SymbolInfo) {
    loop {
        let before = info.range;
        if let Bound::Int(lo) = info.range.lo {
            if info.excluded.contains(&lo) {
                info.range.lo = Bound::Int(lo + 1);
            }
        }
        if let Bound::Int(hi) = info.range.hi {
            if info.excluded.contains(&hi) {
                info.range.hi = Bound::Int(hi - 1);
            }
        }
        if info.range == before {
            return;
        }
    }
}

impl fmt::Display for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(at) => write!(f, "{} (at {at})", self.expr),
            None => write!(f, "{}", self.expr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_named_as_pytorch_names_them() {
        let mut env = ShapeEnv::new();
        let x0 = env.create_size("L['x'].size()[0]", 8, true, ValueRange::DYNAMIC_SIZE).unwrap();
        let x1 = env.create_size("L['x'].size()[1]", 16, true, ValueRange::DYNAMIC_SIZE).unwrap();
        assert_eq!(x0.to_string(), "s77");
        assert_eq!(x1.to_string(), "s27");
        // 0/1 specialization and static dims
        assert_eq!(env.create_size("L['y'].size()[0]", 1, true, ValueRange::DYNAMIC_SIZE).unwrap(), Expr::Int(1));
        assert_eq!(env.create_size("L['y'].size()[1]", 5, false, ValueRange::DYNAMIC_SIZE).unwrap(), Expr::Int(5));
    }

    #[test]
    fn guards_record_and_teach() {
        let mut env = ShapeEnv::new();
        let a = env.create_size("a", 8, true, ValueRange::DYNAMIC_SIZE).unwrap();
        let b = env.create_size("b", 8, true, ValueRange::DYNAMIC_SIZE).unwrap();
        // decided by the range: no guard
        assert!(env.evaluate(&Expr::greater_eq(a.clone(), 2), None).unwrap());
        assert!(env.guards().is_empty());
        // decided by the hint: a guard, and the range narrows
        assert!(env.evaluate(&Expr::less_eq(a.clone(), 16), Some("model.rs:3")).unwrap());
        assert_eq!(env.range_of(a.as_symbol().unwrap()).to_string(), "VR[2, 16]");
        // already known from the range: no new guard
        assert!(!env.evaluate(&Expr::greater(a.clone(), 100), None).unwrap());
        assert_eq!(env.guards().len(), 1);
        // a false outcome is recorded negated
        assert!(!env.evaluate(&Expr::greater(a.clone(), 10), None).unwrap());
        assert_eq!(env.guards()[1].expr.to_string(), format!("{a} <= 10"));
        // an equality unifies: b becomes a everywhere
        assert!(env.evaluate(&Expr::equals(a.clone(), b.clone()), None).unwrap());
        assert_eq!(env.simplify(&(b.clone() * 2)), a.clone() * 2);
        // and what is known of b is known of a
        assert!(env.statically_known_true(&Expr::less_eq(b.clone(), 16)));
    }

    #[test]
    fn unbacked_values_need_checks() {
        let mut env = ShapeEnv::new();
        let u = env.create_unbacked(false);
        let err = env.evaluate(&Expr::greater(u.clone(), 0), Some("model.rs:7")).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("Could not guard on data-dependent expression u0 > 0"), "{text}");
        assert!(text.contains("model.rs:7") && text.contains("cond"), "{text}");
        env.check_is_size(&u, None).unwrap();
        env.check(&Expr::less(u.clone(), 5), None).unwrap();
        assert_eq!(env.range_of("u0").to_string(), "VR[0, 4]");
        assert_eq!(env.runtime_asserts().len(), 2);
        // now decided without a hint
        assert!(env.evaluate(&Expr::less(u.clone(), 10), None).unwrap());
        assert!(env.check(&Expr::greater(u, 7), None).is_err());
    }
}

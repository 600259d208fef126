//! The expression tree: what an expression is, how it evaluates, and how it prints.
//!
//! Trees built through the constructors in `canon` (`Expr::add`, `a + b`, `Expr::floordiv`, …)
//! are in canonical form, so equal values compare and hash equal. Trees read by the parsers keep
//! the shape they were written in until [`Expr::canonical`] is called; the SymPy strings PyTorch
//! writes are already canonical in the same sense.

use std::collections::HashMap;
use std::fmt;

/// An integer (or boolean) expression over named integer symbols.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Expr {
    Int(i64),
    Bool(bool),
    Sym(String),
    Add(Vec<Expr>),
    Mul(Vec<Expr>),
    Pow(Box<Expr>, Box<Expr>),
    /// Python's `//`: rounds toward negative infinity.
    FloorDiv(Box<Expr>, Box<Expr>),
    /// Python's `%`: the result has the sign of the divisor.
    Mod(Box<Expr>, Box<Expr>),
    Max(Vec<Expr>),
    Min(Vec<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// The comparison that holds exactly when this one does not.
    pub fn negated(self) -> CmpOp {
        match self {
            CmpOp::Eq => CmpOp::Ne,
            CmpOp::Ne => CmpOp::Eq,
            CmpOp::Lt => CmpOp::Ge,
            CmpOp::Le => CmpOp::Gt,
            CmpOp::Gt => CmpOp::Le,
            CmpOp::Ge => CmpOp::Lt,
        }
    }

    /// The comparison with its operands swapped (`a < b` is `b > a`).
    pub fn swapped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }

    pub fn holds<T: Ord>(self, x: T, y: T) -> bool {
        match self {
            CmpOp::Eq => x == y,
            CmpOp::Ne => x != y,
            CmpOp::Lt => x < y,
            CmpOp::Le => x <= y,
            CmpOp::Gt => x > y,
            CmpOp::Ge => x >= y,
        }
    }

    /// SymPy's class name, as `srepr` writes it.
    fn sympy_class(self) -> &'static str {
        match self {
            CmpOp::Eq => "Equality",
            CmpOp::Ne => "Unequality",
            CmpOp::Lt => "StrictLessThan",
            CmpOp::Le => "LessThan",
            CmpOp::Gt => "StrictGreaterThan",
            CmpOp::Ge => "GreaterThan",
        }
    }
}

/// Python's floor division; `None` when dividing by zero or overflowing.
pub fn floor_div(x: i64, y: i64) -> Option<i64> {
    let q = x.checked_div(y)?;
    Some(if (x % y != 0) && ((x < 0) != (y < 0)) { q - 1 } else { q })
}

/// Python's modulo (the sign of the divisor); `None` when dividing by zero.
pub fn python_mod(x: i64, y: i64) -> Option<i64> {
    let r = x.checked_rem(y)?;
    Some(if r != 0 && ((r < 0) != (y < 0)) { r + y } else { r })
}

impl Expr {
    pub fn sym(name: impl Into<String>) -> Expr {
        Expr::Sym(name.into())
    }

    /// The symbol's name if the expression is a bare symbol.
    pub fn as_symbol(&self) -> Option<&str> {
        match self {
            Expr::Sym(s) => Some(s),
            _ => None,
        }
    }

    /// The value if the expression is a constant.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Expr::Int(i) => Some(*i),
            Expr::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }

    pub fn is_bool(&self) -> bool {
        matches!(self, Expr::Bool(_) | Expr::Cmp(..) | Expr::Not(_) | Expr::And(_) | Expr::Or(_))
    }

    /// The direct sub-expressions.
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Int(_) | Expr::Bool(_) | Expr::Sym(_) => vec![],
            Expr::Add(v) | Expr::Mul(v) | Expr::Max(v) | Expr::Min(v) | Expr::And(v) | Expr::Or(v) => v.iter().collect(),
            Expr::Pow(a, b) | Expr::FloorDiv(a, b) | Expr::Mod(a, b) | Expr::Cmp(_, a, b) => vec![a, b],
            Expr::Not(a) => vec![a],
        }
    }

    /// Every symbol name in the expression, in order of first appearance.
    pub fn symbols(&self, out: &mut Vec<String>) {
        if let Expr::Sym(s) = self {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        for c in self.children() {
            c.symbols(out);
        }
    }

    pub fn free_symbols(&self) -> Vec<String> {
        let mut v = Vec::new();
        self.symbols(&mut v);
        v
    }

    pub fn has_symbol(&self, name: &str) -> bool {
        match self {
            Expr::Sym(s) => s == name,
            _ => self.children().iter().any(|c| c.has_symbol(name)),
        }
    }

    /// The value for the given symbol values (booleans are 0/1); `None` if a symbol is unbound
    /// or the arithmetic is undefined (division by zero, overflow).
    pub fn eval(&self, env: &HashMap<String, i64>) -> Option<i64> {
        self.eval_with(&|s| env.get(s).copied())
    }

    /// [`Expr::eval`] with the symbol values given by a function. Intermediates are 128-bit, so
    /// an expanded polynomial whose terms pass `i64` but whose value does not still evaluates;
    /// `None` when the value itself does not fit.
    pub fn eval_with(&self, value: &dyn Fn(&str) -> Option<i64>) -> Option<i64> {
        i64::try_from(self.eval_wide(value)?).ok()
    }

    fn eval_wide(&self, value: &dyn Fn(&str) -> Option<i64>) -> Option<i128> {
        let all = |v: &Vec<Expr>| v.iter().map(|e| e.eval_wide(value)).collect::<Option<Vec<_>>>();
        let narrow = |e: &Expr| i64::try_from(e.eval_wide(value)?).ok();
        Some(match self {
            Expr::Int(i) => *i as i128,
            Expr::Bool(b) => *b as i128,
            Expr::Sym(s) => value(s)? as i128,
            Expr::Add(v) => all(v)?.into_iter().try_fold(0i128, |a, x| a.checked_add(x))?,
            Expr::Mul(v) => all(v)?.into_iter().try_fold(1i128, |a, x| a.checked_mul(x))?,
            Expr::Pow(a, b) => {
                let e = b.eval_wide(value)?;
                a.eval_wide(value)?.checked_pow(u32::try_from(e).ok()?)?
            }
            Expr::FloorDiv(a, b) => floor_div(narrow(a)?, narrow(b)?)? as i128,
            Expr::Mod(a, b) => python_mod(narrow(a)?, narrow(b)?)? as i128,
            Expr::Max(v) => all(v)?.into_iter().max()?,
            Expr::Min(v) => all(v)?.into_iter().min()?,
            Expr::Cmp(op, a, b) => op.holds(a.eval_wide(value)?, b.eval_wide(value)?) as i128,
            Expr::Not(a) => (a.eval_wide(value)? == 0) as i128,
            Expr::And(v) => all(v)?.iter().all(|&x| x != 0) as i128,
            Expr::Or(v) => all(v)?.iter().any(|&x| x != 0) as i128,
        })
    }

    /// SymPy's `srepr`, as PT2 archives store sizes. Size symbols (`s…`) are written positive
    /// and integer, other symbols integer, as PyTorch creates them.
    pub fn to_srepr(&self) -> String {
        let mut out = String::new();
        self.write_srepr(&mut out);
        out
    }

    fn write_srepr(&self, out: &mut String) {
        let list = |out: &mut String, name: &str, args: &[&Expr]| {
            out.push_str(name);
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                a.write_srepr(out);
            }
            out.push(')');
        };
        match self {
            Expr::Int(i) => out.push_str(&format!("Integer({i})")),
            Expr::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Expr::Sym(s) if s.starts_with('s') => out.push_str(&format!("Symbol('{s}', positive=True, integer=True)")),
            Expr::Sym(s) => out.push_str(&format!("Symbol('{s}', integer=True)")),
            Expr::Cmp(op, a, b) => list(out, op.sympy_class(), &[a, b]),
            other => {
                let name = match other {
                    Expr::Add(_) => "Add",
                    Expr::Mul(_) => "Mul",
                    Expr::Pow(..) => "Pow",
                    Expr::FloorDiv(..) => "FloorDiv",
                    Expr::Mod(..) => "PythonMod",
                    Expr::Max(_) => "Max",
                    Expr::Min(_) => "Min",
                    Expr::Not(_) => "Not",
                    Expr::And(_) => "And",
                    _ => "Or",
                };
                list(out, name, &other.children())
            }
        }
    }

    /// The expression as Python source, each symbol written as `name(symbol)`: how PyTorch
    /// words guards over inputs (`2 * x.size()[0] == y.size()[0]`, `1 + x.size()[0]`).
    pub fn to_python(&self, name: &dyn Fn(&str) -> String) -> String {
        let mut out = String::new();
        self.write_python(&mut out, name, 0);
        out
    }

    fn write_python(&self, out: &mut String, name: &dyn Fn(&str) -> String, min: u8) {
        let prec = self.precedence();
        if prec < min {
            out.push('(');
            self.write_python(out, name, 0);
            out.push(')');
            return;
        }
        let join = |out: &mut String, items: &[Expr], sep: &str, at: u8| {
            for (i, e) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                e.write_python(out, name, at);
            }
        };
        match self {
            Expr::Int(i) => out.push_str(&i.to_string()),
            Expr::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
            Expr::Sym(s) => out.push_str(&name(s)),
            // PyTorch's guard printer puts the constant first
            Expr::Add(terms) => {
                let mut ordered: Vec<Expr> = terms.iter().filter(|t| matches!(t, Expr::Int(_))).cloned().collect();
                ordered.extend(terms.iter().filter(|t| !matches!(t, Expr::Int(_))).cloned());
                join(out, &ordered, " + ", 1)
            }
            Expr::Mul(fs) => join(out, fs, " * ", 3),
            Expr::Pow(a, b) => {
                a.write_python(out, name, 4);
                out.push_str(" ** ");
                b.write_python(out, name, 4);
            }
            Expr::FloorDiv(a, b) => {
                a.write_python(out, name, 3);
                out.push_str(" // ");
                b.write_python(out, name, 3);
            }
            Expr::Mod(a, b) => {
                a.write_python(out, name, 3);
                out.push_str(" % ");
                b.write_python(out, name, 3);
            }
            Expr::Max(v) | Expr::Min(v) => {
                out.push_str(if matches!(self, Expr::Max(_)) { "max(" } else { "min(" });
                join(out, v, ", ", 0);
                out.push(')');
            }
            Expr::Cmp(op, a, b) => {
                a.write_python(out, name, 1);
                out.push_str(&format!(" {} ", op.symbol()));
                b.write_python(out, name, 1);
            }
            Expr::Not(a) => {
                out.push_str("not ");
                a.write_python(out, name, 4);
            }
            Expr::And(v) => join(out, v, " and ", 4),
            Expr::Or(v) => join(out, v, " or ", 4),
        }
    }

    fn precedence(&self) -> u8 {
        match self {
            Expr::Cmp(..) | Expr::And(_) | Expr::Or(_) | Expr::Not(_) => 0,
            Expr::Add(_) => 1,
            // SymPy parenthesizes `//` and `PythonMod` as factors: `2*((s0//2))`
            Expr::Mul(_) | Expr::FloorDiv(..) | Expr::Mod(..) => 2,
            Expr::Pow(..) => 3,
            Expr::Int(i) if *i < 0 => 1,
            Expr::Max(_) | Expr::Min(_) => 4,
            _ => 5,
        }
    }

    /// SymPy's `str` layout, which PyTorch uses to print sizes (`2*s77`, `s27 - 2`,
    /// `Max(1, s27 - 2)`, `Eq(s0, s1)`, `s0 <= 16`).
    fn fmt_at(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        if self.precedence() < min {
            write!(f, "(")?;
            self.fmt_at(f, 0)?;
            return write!(f, ")");
        }
        let call = |f: &mut fmt::Formatter<'_>, head: &str, args: &[&Expr]| -> fmt::Result {
            write!(f, "{head}(")?;
            for (i, e) in args.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                e.fmt_at(f, 0)?;
            }
            write!(f, ")")
        };
        match self {
            Expr::Int(i) => write!(f, "{i}"),
            Expr::Bool(b) => write!(f, "{}", if *b { "True" } else { "False" }),
            Expr::Sym(s) => write!(f, "{s}"),
            Expr::Add(terms) => {
                // symbolic terms first and the constant last; `s - 2` for a negative constant
                let (consts, others): (Vec<&Expr>, Vec<&Expr>) = terms.iter().partition(|t| matches!(t, Expr::Int(_)));
                for (i, t) in others.iter().enumerate() {
                    match (i, negative_term(t)) {
                        (0, _) => t.fmt_at(f, 1)?,
                        (_, Some(positive)) => {
                            write!(f, " - ")?;
                            positive.fmt_at(f, 2)?;
                        }
                        (_, None) => {
                            write!(f, " + ")?;
                            t.fmt_at(f, 2)?;
                        }
                    }
                }
                let c: i64 = consts.iter().filter_map(|t| t.as_int()).sum();
                match (others.is_empty(), c) {
                    (true, c) => write!(f, "{c}"),
                    (false, 0) => Ok(()),
                    (false, c) if c > 0 => write!(f, " + {c}"),
                    (false, c) => write!(f, " - {}", c.unsigned_abs()),
                }
            }
            Expr::Mul(factors) => {
                for (i, t) in factors.iter().enumerate() {
                    if i == 0 && factors.len() > 1 && *t == Expr::Int(-1) {
                        write!(f, "-")?;
                        continue;
                    }
                    let after_minus = i == 1 && factors[0] == Expr::Int(-1);
                    if i > 0 && !after_minus {
                        write!(f, "*")?;
                    }
                    t.fmt_at(f, 3)?;
                }
                Ok(())
            }
            Expr::Pow(a, b) => {
                a.fmt_at(f, 4)?;
                write!(f, "**")?;
                b.fmt_at(f, 4)
            }
            // torch's FloorDiv prints `(s0//2)`, with any operand that is not a symbol or a
            // number in parentheses: `((s0 + 1)//2)`
            Expr::FloorDiv(a, b) => {
                write!(f, "(")?;
                a.fmt_at(f, 4)?;
                write!(f, "//")?;
                b.fmt_at(f, 4)?;
                write!(f, ")")
            }
            Expr::Mod(a, b) => call(f, "PythonMod", &[a, b]),
            Expr::Max(v) => call(f, "Max", &v.iter().collect::<Vec<_>>()),
            Expr::Min(v) => call(f, "Min", &v.iter().collect::<Vec<_>>()),
            Expr::Cmp(CmpOp::Eq, a, b) => call(f, "Eq", &[a, b]),
            Expr::Cmp(CmpOp::Ne, a, b) => call(f, "Ne", &[a, b]),
            Expr::Cmp(op, a, b) => {
                a.fmt_at(f, 1)?;
                write!(f, " {} ", op.symbol())?;
                b.fmt_at(f, 1)
            }
            Expr::Not(a) => call(f, "Not", &[a]),
            Expr::And(v) => call(f, "And", &v.iter().collect::<Vec<_>>()),
            Expr::Or(v) => call(f, "Or", &v.iter().collect::<Vec<_>>()),
        }
    }
}

/// For a term with a negative coefficient (`-2*s0`, `-s0`), the term negated.
fn negative_term(t: &Expr) -> Option<Expr> {
    let Expr::Mul(fs) = t else { return None };
    let Some(Expr::Int(c)) = fs.first() else { return None };
    if *c >= 0 {
        return None;
    }
    let mut rest = fs.clone();
    if *c == -1 {
        rest.remove(0);
    } else {
        rest[0] = Expr::Int(-c);
    }
    Some(if rest.len() == 1 { rest.pop().expect("one factor") } else { Expr::Mul(rest) })
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_at(f, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(s: &str) -> String {
        Expr::parse_srepr(s).unwrap().to_string()
    }

    #[test]
    fn prints_srepr_as_pytorch_prints_sizes() {
        // left: as stored in PyTorch 2.15 archives; right: as PyTorch prints them
        let sym = |n: &str| format!("Symbol('{n}', positive=True, integer=True)");
        assert_eq!(show(&format!("Mul(Integer(2), {})", sym("s77"))), "2*s77");
        assert_eq!(show(&format!("Add({}, Integer(-2))", sym("s27"))), "s27 - 2");
        assert_eq!(show(&format!("Add(Mul(Integer(8), {}), Integer(8))", sym("s96"))), "8*s96 + 8");
        assert_eq!(show(&format!("Mul(Integer(4), Pow({}, Integer(2)))", sym("s27"))), "4*s27**2");
        assert_eq!(show(&format!("Mul(Integer(2), Max(Integer(1), Add({}, Integer(-2))))", sym("s27"))), "2*Max(1, s27 - 2)");
        assert_eq!(show("GreaterThan(Symbol('u0', integer=True), Integer(0))"), "u0 >= 0");
        assert_eq!(show(&format!("StrictGreaterThan({}, Integer(2))", sym("s77"))), "s77 > 2");
    }

    #[test]
    fn evaluates_with_bindings() {
        let e = Expr::parse_srepr("Add(Mul(Integer(8), Symbol('s96', positive=True, integer=True)), Integer(8))").unwrap();
        let env: HashMap<String, i64> = [("s96".to_string(), 3)].into();
        assert_eq!(e.eval(&env), Some(32));
        assert_eq!(e.eval(&HashMap::new()), None);
    }

    #[test]
    fn python_division_semantics() {
        assert_eq!(floor_div(-7, 2), Some(-4));
        assert_eq!(floor_div(7, -2), Some(-4));
        assert_eq!(floor_div(7, 0), None);
        assert_eq!(python_mod(-7, 2), Some(1));
        assert_eq!(python_mod(7, -2), Some(-1));
    }
}

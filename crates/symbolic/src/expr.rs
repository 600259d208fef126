//! The expression tree, its SymPy-`srepr` parser, evaluator and printer.

use std::collections::HashMap;
use std::fmt;

/// An integer (or boolean) expression over named symbols.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    Int(i64),
    Sym(String),
    Add(Vec<Expr>),
    Mul(Vec<Expr>),
    Pow(Box<Expr>, Box<Expr>),
    FloorDiv(Box<Expr>, Box<Expr>),
    Mod(Box<Expr>, Box<Expr>),
    Max(Vec<Expr>),
    Min(Vec<Expr>),
    /// Comparisons: `==`, `!=`, `<`, `<=`, `>`, `>=`.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    Bool(bool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot parse symbolic expression `{text}`: {why}")]
pub struct ParseError {
    pub text: String,
    pub why: String,
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn ident(&mut self) -> String {
        self.ws();
        let start = self.pos;
        while self.pos < self.s.len() && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_') {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.pos]).to_string()
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected `{}` at offset {}", c as char, self.pos))
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.pos).copied()
    }

    /// Comma-separated arguments up to `)`; keyword arguments (`positive=True`) are skipped.
    fn args(&mut self) -> Result<Vec<Expr>, String> {
        self.expect(b'(')?;
        let mut out = Vec::new();
        loop {
            if self.peek() == Some(b')') {
                self.pos += 1;
                return Ok(out);
            }
            let save = self.pos;
            let word = self.ident();
            if self.peek() == Some(b'=') {
                // a keyword argument: skip its value
                self.pos += 1;
                self.ident();
            } else {
                self.pos = save;
                out.push(self.expr()?);
            }
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b')') => {}
                other => return Err(format!("expected `,` or `)` after `{word}`, found {:?}", other.map(|c| c as char))),
            }
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        self.ws();
        if self.peek() == Some(b'\'') {
            self.pos += 1;
            let start = self.pos;
            while self.pos < self.s.len() && self.s[self.pos] != b'\'' {
                self.pos += 1;
            }
            let name = String::from_utf8_lossy(&self.s[start..self.pos]).to_string();
            self.pos += 1;
            return Ok(Expr::Sym(name));
        }
        if matches!(self.peek(), Some(b'-') | Some(b'0'..=b'9')) {
            let start = self.pos;
            self.pos += 1;
            while self.pos < self.s.len() && self.s[self.pos].is_ascii_digit() {
                self.pos += 1;
            }
            let t = String::from_utf8_lossy(&self.s[start..self.pos]);
            return t.parse().map(Expr::Int).map_err(|_| format!("bad integer `{t}`"));
        }
        let head = self.ident();
        let two = |mut v: Vec<Expr>| -> Result<(Box<Expr>, Box<Expr>), String> {
            if v.len() != 2 {
                return Err(format!("{head} takes two arguments"));
            }
            let b = v.pop().expect("two");
            let a = v.pop().expect("two");
            Ok((Box::new(a), Box::new(b)))
        };
        Ok(match head.as_str() {
            "Symbol" => {
                let v = self.args()?;
                v.into_iter().next().ok_or("Symbol needs a name")?
            }
            "Integer" => self.args()?.into_iter().next().ok_or("Integer needs a value")?,
            "Add" => Expr::Add(self.args()?),
            "Mul" => Expr::Mul(self.args()?),
            "Pow" => {
                let (a, b) = two(self.args()?)?;
                Expr::Pow(a, b)
            }
            "FloorDiv" => {
                let (a, b) = two(self.args()?)?;
                Expr::FloorDiv(a, b)
            }
            "Mod" | "PythonMod" => {
                let (a, b) = two(self.args()?)?;
                Expr::Mod(a, b)
            }
            "Max" => Expr::Max(self.args()?),
            "Min" => Expr::Min(self.args()?),
            "Equality" | "Eq" | "Unequality" | "Ne" | "StrictLessThan" | "Lt" | "LessThan" | "Le" | "StrictGreaterThan" | "Gt" | "GreaterThan" | "Ge" => {
                let op = match head.as_str() {
                    "Equality" | "Eq" => CmpOp::Eq,
                    "Unequality" | "Ne" => CmpOp::Ne,
                    "StrictLessThan" | "Lt" => CmpOp::Lt,
                    "LessThan" | "Le" => CmpOp::Le,
                    "StrictGreaterThan" | "Gt" => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                let (a, b) = two(self.args()?)?;
                Expr::Cmp(op, a, b)
            }
            "true" | "True" | "BooleanTrue" => Expr::Bool(true),
            "false" | "False" | "BooleanFalse" => Expr::Bool(false),
            other => return Err(format!("unsupported function `{other}`")),
        })
    }
}

impl Expr {
    /// Parses SymPy's `srepr` form, as PT2 archives store sizes.
    pub fn parse_srepr(text: &str) -> Result<Expr, ParseError> {
        let mut p = Parser { s: text.as_bytes(), pos: 0 };
        let e = p.expr().map_err(|why| ParseError { text: text.into(), why })?;
        p.ws();
        if p.pos != p.s.len() {
            return Err(ParseError { text: text.into(), why: format!("trailing text at offset {}", p.pos) });
        }
        Ok(e)
    }

    /// The symbol's name if the expression is a bare symbol.
    pub fn as_symbol(&self) -> Option<&str> {
        match self {
            Expr::Sym(s) => Some(s),
            _ => None,
        }
    }

    /// Every symbol name in the expression.
    pub fn symbols(&self, out: &mut Vec<String>) {
        match self {
            Expr::Sym(s) => {
                if !out.contains(s) {
                    out.push(s.clone())
                }
            }
            Expr::Add(v) | Expr::Mul(v) | Expr::Max(v) | Expr::Min(v) => v.iter().for_each(|e| e.symbols(out)),
            Expr::Pow(a, b) | Expr::FloorDiv(a, b) | Expr::Mod(a, b) | Expr::Cmp(_, a, b) => {
                a.symbols(out);
                b.symbols(out);
            }
            Expr::Int(_) | Expr::Bool(_) => {}
        }
    }

    /// The value for the given symbol values (booleans are 0/1); `None` if a symbol is unbound
    /// or the arithmetic is undefined (division by zero).
    pub fn eval(&self, env: &HashMap<String, i64>) -> Option<i64> {
        Some(match self {
            Expr::Int(i) => *i,
            Expr::Bool(b) => *b as i64,
            Expr::Sym(s) => *env.get(s)?,
            Expr::Add(v) => v.iter().try_fold(0i64, |a, e| e.eval(env).map(|x| a.wrapping_add(x)))?,
            Expr::Mul(v) => v.iter().try_fold(1i64, |a, e| e.eval(env).map(|x| a.wrapping_mul(x)))?,
            Expr::Pow(a, b) => {
                let e = b.eval(env)?;
                if e < 0 {
                    return None;
                }
                a.eval(env)?.wrapping_pow(e as u32)
            }
            Expr::FloorDiv(a, b) => {
                let (x, y) = (a.eval(env)?, b.eval(env)?);
                if y == 0 {
                    return None;
                }
                x.div_euclid(y) - if x.rem_euclid(y) != 0 && y < 0 { 1 } else { 0 }
            }
            Expr::Mod(a, b) => {
                let (x, y) = (a.eval(env)?, b.eval(env)?);
                if y == 0 {
                    return None;
                }
                ((x % y) + y) % y
            }
            Expr::Max(v) => v.iter().map(|e| e.eval(env)).collect::<Option<Vec<_>>>()?.into_iter().max()?,
            Expr::Min(v) => v.iter().map(|e| e.eval(env)).collect::<Option<Vec<_>>>()?.into_iter().min()?,
            Expr::Cmp(op, a, b) => {
                let (x, y) = (a.eval(env)?, b.eval(env)?);
                (match op {
                    CmpOp::Eq => x == y,
                    CmpOp::Ne => x != y,
                    CmpOp::Lt => x < y,
                    CmpOp::Le => x <= y,
                    CmpOp::Gt => x > y,
                    CmpOp::Ge => x >= y,
                }) as i64
            }
        })
    }

    fn precedence(&self) -> u8 {
        match self {
            Expr::Cmp(..) => 0,
            Expr::Add(_) => 1,
            Expr::Mul(_) | Expr::FloorDiv(..) | Expr::Mod(..) => 2,
            Expr::Pow(..) => 3,
            Expr::Int(i) if *i < 0 => 1,
            _ => 4,
        }
    }

    fn fmt_at(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        if self.precedence() < min {
            write!(f, "(")?;
            self.fmt_at(f, 0)?;
            return write!(f, ")");
        }
        match self {
            Expr::Int(i) => write!(f, "{i}"),
            Expr::Bool(b) => write!(f, "{}", if *b { "True" } else { "False" }),
            Expr::Sym(s) => write!(f, "{s}"),
            Expr::Add(terms) => {
                // SymPy prints symbolic terms first and the constant last, `s - 2` for a
                // negative constant
                let (consts, others): (Vec<&Expr>, Vec<&Expr>) = terms.iter().partition(|t| matches!(t, Expr::Int(_)));
                for (i, t) in others.iter().enumerate() {
                    match (i, t) {
                        (0, t) => t.fmt_at(f, 1)?,
                        (_, Expr::Mul(fs)) if matches!(fs.first(), Some(Expr::Int(c)) if *c < 0) => {
                            write!(f, " - ")?;
                            let Some(Expr::Int(c)) = fs.first() else { unreachable!() };
                            let mut rest = fs.clone();
                            rest[0] = Expr::Int(-c);
                            Expr::Mul(rest).fmt_at(f, 2)?;
                        }
                        (_, t) => {
                            write!(f, " + ")?;
                            t.fmt_at(f, 2)?;
                        }
                    }
                }
                let c: i64 = consts.iter().map(|t| if let Expr::Int(i) = t { *i } else { 0 }).sum();
                if others.is_empty() {
                    write!(f, "{c}")
                } else if c > 0 {
                    write!(f, " + {c}")
                } else if c < 0 {
                    write!(f, " - {}", -c)
                } else {
                    Ok(())
                }
            }
            Expr::Mul(factors) => {
                for (i, t) in factors.iter().enumerate() {
                    if i > 0 {
                        write!(f, "*")?;
                    }
                    match t {
                        Expr::Int(-1) if i == 0 && factors.len() > 1 => {
                            write!(f, "-")?;
                            continue;
                        }
                        _ => t.fmt_at(f, 3)?,
                    }
                }
                Ok(())
            }
            Expr::Pow(a, b) => {
                a.fmt_at(f, 4)?;
                write!(f, "**")?;
                b.fmt_at(f, 4)
            }
            Expr::FloorDiv(a, b) => {
                write!(f, "((")?;
                a.fmt_at(f, 0)?;
                write!(f, ")//(")?;
                b.fmt_at(f, 0)?;
                write!(f, "))")
            }
            Expr::Mod(a, b) => {
                a.fmt_at(f, 3)?;
                write!(f, " % ")?;
                b.fmt_at(f, 3)
            }
            Expr::Max(v) | Expr::Min(v) => {
                write!(f, "{}(", if matches!(self, Expr::Max(_)) { "Max" } else { "Min" })?;
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    e.fmt_at(f, 0)?;
                }
                write!(f, ")")
            }
            Expr::Cmp(op, a, b) => {
                a.fmt_at(f, 1)?;
                write!(f, " {} ", op.symbol())?;
                b.fmt_at(f, 1)
            }
        }
    }
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
    fn malformed_text_is_an_error() {
        assert!(Expr::parse_srepr("Add(Symbol('s0'), ").is_err());
        assert!(Expr::parse_srepr("Frobnicate(Integer(1))").is_err());
    }
}

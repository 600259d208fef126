//! Reading expressions: SymPy's `srepr` form (how PT2 archives store sizes:
//! `Mul(Integer(2), Symbol('s77', positive=True, integer=True))`) and PyTorch's printed form
//! (`2*s77 + 1`, `((s0)//(2))`, `Eq(s0, s1)`, `s0 <= 16`, `Max(1, s27 - 2)`).

use crate::expr::{CmpOp, Expr};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot parse symbolic expression `{text}`: {why}")]
pub struct ParseError {
    pub text: String,
    pub why: String,
}

/// Bounds on the text the parsers accept, so that a hostile archive's expression is refused
/// with a message instead of overflowing the stack or holding megabytes of terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// Deepest nesting of calls, parentheses and unary operators.
    pub max_depth: usize,
    /// Longest text, in bytes.
    pub max_len: usize,
}

impl Default for ParseLimits {
    /// Nesting 200 deep and 64 KiB of text: far past any size expression PyTorch writes (a few
    /// levels, a few hundred bytes), far below what the recursive parser and the recursive
    /// algorithms over the tree can take on a 2 MiB thread stack.
    fn default() -> ParseLimits {
        ParseLimits { max_depth: 200, max_len: 64 * 1024 }
    }
}

pub(crate) struct Cursor<'a> {
    pub s: &'a [u8],
    pub pos: usize,
    depth: usize,
    limits: ParseLimits,
}

impl Cursor<'_> {
    pub fn new(text: &str) -> Cursor<'_> {
        Cursor::with_limits(text, ParseLimits::default())
    }

    fn with_limits(text: &str, limits: ParseLimits) -> Cursor<'_> {
        Cursor { s: text.as_bytes(), pos: 0, depth: 0, limits }
    }

    /// One level deeper; refused past the limit. (An error ends the parse, so the matching
    /// `ascend` is skipped only when nothing follows.)
    fn descend(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(format!("nested deeper than the limit of {} levels (at offset {})", self.limits.max_depth, self.pos));
        }
        Ok(())
    }

    fn ascend(&mut self) {
        self.depth -= 1;
    }

    pub fn peek(&mut self) -> Option<u8> {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        self.s.get(self.pos).copied()
    }

    /// Consumes `token` if the text continues with it.
    pub fn eat(&mut self, token: &str) -> bool {
        self.peek();
        if self.s[self.pos..].starts_with(token.as_bytes()) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    pub fn expect(&mut self, token: &str) -> Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!("expected `{token}` at offset {}", self.pos))
        }
    }

    pub fn ident(&mut self) -> String {
        self.peek();
        let start = self.pos;
        while self.pos < self.s.len() && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_') {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.pos]).into_owned()
    }

    pub fn integer(&mut self) -> Result<i64, String> {
        self.peek();
        let start = self.pos;
        if self.s.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        let t = String::from_utf8_lossy(&self.s[start..self.pos]);
        t.parse().map_err(|_| format!("bad integer `{t}` at offset {start}"))
    }

    /// Consumes the word `kw` if it comes next.
    pub fn keyword(&mut self, kw: &str) -> bool {
        let save = self.pos;
        if self.ident() == kw {
            return true;
        }
        self.pos = save;
        false
    }

    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    fn error(&self, text: &str, why: String) -> ParseError {
        ParseError { text: shortened(text), why }
    }
}

/// The text as an error shows it: whole when short, its first 120 characters otherwise.
fn shortened(text: &str) -> String {
    const SHOWN: usize = 120;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
        None => text.to_string(),
    }
}

fn comparison(name: &str) -> Option<CmpOp> {
    Some(match name {
        "Equality" | "Eq" => CmpOp::Eq,
        "Unequality" | "Ne" => CmpOp::Ne,
        "StrictLessThan" | "Lt" => CmpOp::Lt,
        "LessThan" | "Le" => CmpOp::Le,
        "StrictGreaterThan" | "Gt" => CmpOp::Gt,
        "GreaterThan" | "Ge" => CmpOp::Ge,
        _ => return None,
    })
}

/// Builds the node a function name stands for, from its parsed arguments. `canonical` picks the
/// canonical constructors (for text a user wrote) or the tree as written (for `srepr`).
fn apply(head: &str, mut args: Vec<Expr>, canonical: bool) -> Result<Expr, String> {
    let two = |args: &mut Vec<Expr>| -> Result<(Expr, Expr), String> {
        if args.len() != 2 {
            return Err(format!("{head} takes two arguments, got {}", args.len()));
        }
        let b = args.pop().expect("two");
        Ok((args.pop().expect("two"), b))
    };
    let b = Box::new;
    Ok(match head {
        "Add" if canonical => Expr::add_all(args),
        "Add" => Expr::Add(args),
        "Mul" if canonical => Expr::mul_all(args),
        "Mul" => Expr::Mul(args),
        "Max" | "max" if canonical => Expr::max_of(args),
        "Max" | "max" => Expr::Max(args),
        "Min" | "min" if canonical => Expr::min_of(args),
        "Min" | "min" => Expr::Min(args),
        "And" if canonical => Expr::and_all(args),
        "And" => Expr::And(args),
        "Or" if canonical => Expr::or_all(args),
        "Or" => Expr::Or(args),
        "Not" => match (args.pop(), args.is_empty()) {
            (Some(a), true) if canonical => Expr::not(a),
            (Some(a), true) => Expr::Not(b(a)),
            _ => return Err("Not takes one argument".into()),
        },
        "Pow" | "FloorDiv" | "Mod" | "PythonMod" => {
            let (x, y) = two(&mut args)?;
            match (head, canonical) {
                ("Pow", true) => Expr::pow(x, y),
                ("Pow", false) => Expr::Pow(b(x), b(y)),
                ("FloorDiv", true) => Expr::floordiv(x, y),
                ("FloorDiv", false) => Expr::FloorDiv(b(x), b(y)),
                (_, true) => Expr::modulo(x, y),
                (_, false) => Expr::Mod(b(x), b(y)),
            }
        }
        _ => match comparison(head) {
            Some(op) => {
                let (x, y) = two(&mut args)?;
                if canonical {
                    Expr::compare(op, x, y)
                } else {
                    Expr::Cmp(op, b(x), b(y))
                }
            }
            None => return Err(format!("unsupported function `{head}`")),
        },
    })
}

struct Srepr<'a>(Cursor<'a>);

impl Srepr<'_> {
    /// Comma-separated arguments up to `)`; keyword arguments (`positive=True`) are skipped.
    fn args(&mut self) -> Result<Vec<Expr>, String> {
        let c = &mut self.0;
        c.expect("(")?;
        let mut out = Vec::new();
        loop {
            if self.0.eat(")") {
                return Ok(out);
            }
            let save = self.0.pos;
            let word = self.0.ident();
            if !word.is_empty() && self.0.peek() == Some(b'=') {
                self.0.pos += 1;
                self.0.ident();
            } else {
                self.0.pos = save;
                out.push(self.expr()?);
            }
            if !self.0.eat(",") && self.0.peek() != Some(b')') {
                return Err(format!("expected `,` or `)` at offset {}", self.0.pos));
            }
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        self.0.descend()?;
        let e = self.term();
        self.0.ascend();
        e
    }

    fn term(&mut self) -> Result<Expr, String> {
        match self.0.peek() {
            Some(b'\'') => {
                self.0.pos += 1;
                let start = self.0.pos;
                while self.0.pos < self.0.s.len() && self.0.s[self.0.pos] != b'\'' {
                    self.0.pos += 1;
                }
                let name = String::from_utf8_lossy(&self.0.s[start..self.0.pos]).into_owned();
                self.0.expect("'")?;
                return Ok(Expr::Sym(name));
            }
            Some(b'-' | b'0'..=b'9') => return self.0.integer().map(Expr::Int),
            _ => {}
        }
        let head = self.0.ident();
        match head.as_str() {
            "Symbol" | "Integer" => {
                let mut v = self.args()?;
                if v.len() != 1 {
                    return Err(format!("{head} takes one argument"));
                }
                Ok(v.pop().expect("one"))
            }
            "true" | "True" | "BooleanTrue" => Ok(Expr::Bool(true)),
            "false" | "False" | "BooleanFalse" => Ok(Expr::Bool(false)),
            "" => Err(format!("expected an expression at offset {}", self.0.pos)),
            _ => {
                let args = self.args()?;
                apply(&head, args, false)
            }
        }
    }
}

struct Infix<'a>(Cursor<'a>);

impl Infix<'_> {
    fn expr(&mut self) -> Result<Expr, String> {
        self.0.descend()?;
        let e = self.disjunction();
        self.0.ascend();
        e
    }

    fn disjunction(&mut self) -> Result<Expr, String> {
        let mut terms = vec![self.conjunction()?];
        while self.0.keyword("or") || self.0.eat("|") {
            terms.push(self.conjunction()?);
        }
        Ok(if terms.len() == 1 { terms.pop().expect("one") } else { Expr::or_all(terms) })
    }

    fn conjunction(&mut self) -> Result<Expr, String> {
        let mut terms = vec![self.negation()?];
        while self.0.keyword("and") || self.0.eat("&") {
            terms.push(self.negation()?);
        }
        Ok(if terms.len() == 1 { terms.pop().expect("one") } else { Expr::and_all(terms) })
    }

    fn negation(&mut self) -> Result<Expr, String> {
        if self.0.keyword("not") || self.0.eat("~") {
            self.0.descend()?;
            let inner = self.negation()?;
            self.0.ascend();
            return Ok(Expr::not(inner));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, String> {
        let lhs = self.sum()?;
        for (token, op) in [("==", CmpOp::Eq), ("!=", CmpOp::Ne), ("<=", CmpOp::Le), (">=", CmpOp::Ge), ("<", CmpOp::Lt), (">", CmpOp::Gt)] {
            if self.0.eat(token) {
                return Ok(Expr::compare(op, lhs, self.sum()?));
            }
        }
        Ok(lhs)
    }

    fn sum(&mut self) -> Result<Expr, String> {
        let mut acc = self.product()?;
        loop {
            if self.0.eat("+") {
                acc = acc + self.product()?;
            } else if self.0.peek() == Some(b'-') {
                self.0.pos += 1;
                acc = acc - self.product()?;
            } else {
                return Ok(acc);
            }
        }
    }

    fn product(&mut self) -> Result<Expr, String> {
        let mut acc = self.unary()?;
        loop {
            if self.0.eat("//") {
                acc = Expr::floordiv(acc, self.unary()?);
            } else if self.0.peek() == Some(b'*') && self.0.s.get(self.0.pos + 1) != Some(&b'*') {
                self.0.pos += 1;
                acc = acc * self.unary()?;
            } else if self.0.eat("%") {
                acc = Expr::modulo(acc, self.unary()?);
            } else {
                return Ok(acc);
            }
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.0.descend()?;
        let e = self.signed();
        self.0.ascend();
        e
    }

    fn signed(&mut self) -> Result<Expr, String> {
        if self.0.peek() == Some(b'-') {
            self.0.pos += 1;
            return Ok(-self.unary()?);
        }
        let base = self.atom()?;
        if self.0.eat("**") {
            return Ok(Expr::pow(base, self.unary()?));
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<Expr, String> {
        match self.0.peek() {
            Some(b'(') => {
                self.0.pos += 1;
                let e = self.expr()?;
                self.0.expect(")")?;
                Ok(e)
            }
            Some(b'0'..=b'9') => self.0.integer().map(Expr::Int),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let name = self.0.ident();
                match name.as_str() {
                    "True" | "true" => return Ok(Expr::Bool(true)),
                    "False" | "false" => return Ok(Expr::Bool(false)),
                    _ => {}
                }
                if self.0.peek() != Some(b'(') {
                    return Ok(Expr::Sym(name));
                }
                self.0.pos += 1;
                let mut args = Vec::new();
                if !self.0.eat(")") {
                    loop {
                        args.push(self.expr()?);
                        if self.0.eat(")") {
                            break;
                        }
                        self.0.expect(",")?;
                    }
                }
                apply(&name, args, true)
            }
            other => Err(format!("unexpected {} at offset {}", other.map(|c| format!("`{}`", c as char)).unwrap_or("end of text".into()), self.0.pos)),
        }
    }
}

/// Refuses text longer than the limit before any parsing.
fn check_len(text: &str, limits: ParseLimits) -> Result<(), ParseError> {
    if text.len() > limits.max_len {
        return Err(ParseError { text: shortened(text), why: format!("{} bytes, past the limit of {}", text.len(), limits.max_len) });
    }
    Ok(())
}

impl Expr {
    /// Parses SymPy's `srepr` form, as PT2 archives store sizes, keeping the tree as written,
    /// within the default [`ParseLimits`].
    pub fn parse_srepr(text: &str) -> Result<Expr, ParseError> {
        Expr::parse_srepr_within(text, ParseLimits::default())
    }

    /// [`Expr::parse_srepr`] within the given limits.
    pub fn parse_srepr_within(text: &str, limits: ParseLimits) -> Result<Expr, ParseError> {
        check_len(text, limits)?;
        let mut p = Srepr(Cursor::with_limits(text, limits));
        let e = p.expr().map_err(|why| p.0.error(text, why))?;
        if !p.0.at_end() {
            return Err(p.0.error(text, format!("trailing text at offset {}", p.0.pos)));
        }
        Ok(e)
    }

    /// Parses PyTorch's printed form (`2*s0 + 1`, `Eq(s0, s1)`, `s0 <= 16`), in canonical form,
    /// within the default [`ParseLimits`].
    pub fn parse(text: &str) -> Result<Expr, ParseError> {
        check_len(text, ParseLimits::default())?;
        let mut p = Infix(Cursor::new(text));
        let e = p.expr().map_err(|why| p.0.error(text, why))?;
        if !p.0.at_end() {
            return Err(p.0.error(text, format!("trailing text at offset {}", p.0.pos)));
        }
        Ok(e)
    }
}

impl std::str::FromStr for Expr {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Expr, ParseError> {
        Expr::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_forms_parse_back() {
        // as torch 2.15 prints them (`str` of its SymPy expressions)
        for text in ["s0", "2*s0 + 1", "(s0//2)", "((s0 + 1)//2)", "2*((s0//2))", "PythonMod(s0, 2)", "2*(PythonMod(s0 + 1, 3))", "Eq(s0, s1)", "Ne(s3, 16)", "s0 <= 16", "Max(1, s27 - 2)", "2*Max(1, s27 - 2)", "-s0 + s1", "s0**2 + 2*s0 + 1", "u0 >= 0"] {
            let e = Expr::parse(text).unwrap();
            assert_eq!(e.to_string(), text, "{text}");
        }
        assert_eq!(Expr::parse("2*s0 + s1 - s0").unwrap(), Expr::parse("s1 + s0").unwrap());
        assert_eq!(Expr::parse("(s0//2)").unwrap(), Expr::parse("((s0)//(2))").unwrap());
        assert_eq!(Expr::parse("s0 % 2").unwrap(), Expr::parse("PythonMod(s0, 2)").unwrap());
    }

    #[test]
    fn nesting_past_the_limit_is_refused_not_a_stack_overflow() {
        let deep = |n: usize| format!("{}Symbol('s27', integer=True){}", "Add(".repeat(n), ", Integer(1))".repeat(n));
        assert!(Expr::parse_srepr(&deep(150)).is_ok());
        let e = Expr::parse_srepr_within(&deep(100_000), ParseLimits { max_depth: 200, max_len: usize::MAX }).unwrap_err();
        assert!(e.why.contains("deeper than the limit of 200"), "{e}");
        assert!(e.to_string().len() < 400, "the message quotes a bounded part of the text: {e}");
        let e = Expr::parse_srepr(&deep(100_000)).unwrap_err();
        assert!(e.why.contains("past the limit of 65536"), "{e}");
        let e = Expr::parse(&format!("{}s0{}", "(".repeat(100_000), ")".repeat(100_000))).unwrap_err();
        assert!(e.why.contains("past the limit"), "{e}");
        let e = Expr::parse(&format!("{}s0", "-".repeat(5_000))).unwrap_err();
        assert!(e.why.contains("deeper than the limit"), "{e}");
    }

    #[test]
    fn malformed_text_is_an_error() {
        assert!(Expr::parse_srepr("Add(Symbol('s0'), ").is_err());
        assert!(Expr::parse_srepr("Frobnicate(Integer(1))").is_err());
        assert!(Expr::parse("2*").is_err());
        assert!(Expr::parse("s0 +* 1").is_err());
        assert!(Expr::parse("Max(s0").is_err());
        let err = Expr::parse("s0 $ 1").unwrap_err();
        assert!(err.to_string().contains("offset 3"), "{err}");
    }
}

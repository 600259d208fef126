//! Canonical form. Every constructor here returns an expression in canonical form, so two
//! expressions with the same value under every binding that the rules below can see compare and
//! hash equal (`2*s0 + s1 - s0` is `s0 + s1`).
//!
//! The arithmetic part is a polynomial with integer coefficients over *atoms* (symbols and
//! the non-polynomial operations: `//`, `%`, `Max`, `Min`), fully expanded. Its terms are
//! ordered as SymPy prints them: higher degree first, then by atom, the constant last; a term's
//! coefficient comes first. Comparisons keep one side free of constants and negative
//! coefficients; boolean connectives are flattened, deduplicated and sorted.
//!
//! When a coefficient would overflow `i64`, the constructor keeps the operation unexpanded
//! instead: the result is still exact, only less simplified.

use std::collections::BTreeMap;
use std::ops;

use crate::expr::{floor_div, python_mod, CmpOp, Expr};

/// A term without its coefficient: atoms with their exponents, sorted by atom.
type Monomial = Vec<(Expr, u32)>;

/// Expanding `(a + b)**n` is skipped above this exponent, to keep expressions small.
const MAX_EXPANDED_POWER: i64 = 8;

/// `m / d` when each factor of `d` appears in `m` with at least its power.
fn divided_monomial(m: &Monomial, d: &Monomial) -> Option<Monomial> {
    let mut out = m.clone();
    for (f, p) in d {
        let i = out.iter().position(|(g, _)| g == f)?;
        if out[i].1 < *p {
            return None;
        }
        out[i].1 -= p;
        if out[i].1 == 0 {
            out.remove(i);
        }
    }
    Some(out)
}

/// Sum of `coefficient * monomial`; the constant sits under the empty monomial.
#[derive(Clone, Default)]
struct Poly(BTreeMap<Monomial, i64>);

impl Poly {
    fn constant(c: i64) -> Poly {
        let mut p = Poly::default();
        if c != 0 {
            p.0.insert(Vec::new(), c);
        }
        p
    }

    fn atom(e: Expr) -> Poly {
        Poly([(vec![(e, 1)], 1)].into_iter().collect())
    }

    fn as_constant(&self) -> Option<i64> {
        match self.0.len() {
            0 => Some(0),
            1 => self.0.get(&Vec::new()).copied(),
            _ => None,
        }
    }

    fn add(mut self, other: &Poly) -> Option<Poly> {
        for (m, c) in &other.0 {
            let sum = self.0.get(m).copied().unwrap_or(0).checked_add(*c)?;
            if sum == 0 {
                self.0.remove(m);
            } else {
                self.0.insert(m.clone(), sum);
            }
        }
        Some(self)
    }

    fn scale(&self, k: i64) -> Option<Poly> {
        if k == 0 {
            return Some(Poly::default());
        }
        let mut out = Poly::default();
        for (m, c) in &self.0 {
            out.0.insert(m.clone(), c.checked_mul(k)?);
        }
        Some(out)
    }

    fn mul(&self, other: &Poly) -> Option<Poly> {
        let mut out = Poly::default();
        for (ma, ca) in &self.0 {
            for (mb, cb) in &other.0 {
                let term = Poly([(monomial_product(ma, mb), ca.checked_mul(*cb)?)].into_iter().collect());
                out = out.add(&term)?;
            }
        }
        Some(out)
    }

    fn from_expr(e: &Expr) -> Option<Poly> {
        Some(match e {
            Expr::Int(c) => Poly::constant(*c),
            Expr::Add(terms) => {
                let mut p = Poly::default();
                for t in terms {
                    p = p.add(&Poly::from_expr(t)?)?;
                }
                p
            }
            Expr::Mul(factors) => {
                let mut p = Poly::constant(1);
                for f in factors {
                    p = p.mul(&Poly::from_expr(f)?)?;
                }
                p
            }
            Expr::Pow(base, exp) => match (exp.as_ref(), base.as_ref()) {
                (Expr::Int(n), Expr::Sym(_) | Expr::FloorDiv(..) | Expr::Mod(..) | Expr::Max(_) | Expr::Min(_)) if *n >= 1 => {
                    Poly([(vec![((**base).clone(), *n as u32)], 1)].into_iter().collect())
                }
                (Expr::Int(n), _) if (0..=MAX_EXPANDED_POWER).contains(n) => {
                    let b = Poly::from_expr(base)?;
                    let mut p = Poly::constant(1);
                    for _ in 0..*n {
                        p = p.mul(&b)?;
                    }
                    p
                }
                _ => Poly::atom(e.clone()),
            },
            other => Poly::atom(other.clone()),
        })
    }

    /// Terms in printing order: degree descending, then by monomial; the constant last.
    fn sorted_terms(&self) -> Vec<(&Monomial, i64)> {
        let mut terms: Vec<(&Monomial, i64)> = self.0.iter().filter(|(m, _)| !m.is_empty()).map(|(m, c)| (m, *c)).collect();
        terms.sort_by(|(a, _), (b, _)| degree(b).cmp(&degree(a)).then_with(|| a.cmp(b)));
        if let Some(c) = self.0.get(&Vec::new()) {
            terms.push((&EMPTY, *c));
        }
        terms
    }

    fn to_expr(&self) -> Expr {
        let mut terms: Vec<Expr> = self.sorted_terms().into_iter().map(|(m, c)| term_expr(m, c)).collect();
        match terms.len() {
            0 => Expr::Int(0),
            1 => terms.pop().expect("one term"),
            _ => Expr::Add(terms),
        }
    }

    /// The coefficient of the first non-constant term in printing order.
    fn leading_coefficient(&self) -> Option<i64> {
        self.sorted_terms().into_iter().find(|(m, _)| !m.is_empty()).map(|(_, c)| c)
    }
}

static EMPTY: Monomial = Vec::new();

fn degree(m: &Monomial) -> u32 {
    m.iter().map(|(_, k)| k).sum()
}

fn monomial_product(a: &Monomial, b: &Monomial) -> Monomial {
    let mut out: Monomial = a.clone();
    for (atom, k) in b {
        match out.iter_mut().find(|(x, _)| x == atom) {
            Some((_, e)) => *e += k,
            None => out.push((atom.clone(), *k)),
        }
    }
    out.sort();
    out
}

fn term_expr(m: &Monomial, c: i64) -> Expr {
    if m.is_empty() {
        return Expr::Int(c);
    }
    let mut factors: Vec<Expr> = Vec::with_capacity(m.len() + 1);
    if c != 1 {
        factors.push(Expr::Int(c));
    }
    for (atom, k) in m {
        factors.push(if *k == 1 { atom.clone() } else { Expr::Pow(Box::new(atom.clone()), Box::new(Expr::Int(*k as i64))) });
    }
    if factors.len() == 1 {
        factors.pop().expect("one factor")
    } else {
        Expr::Mul(factors)
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.min(i64::MAX as u64) as i64
}

impl Expr {
    /// `a + b + …`, canonical.
    pub fn add_all(terms: impl IntoIterator<Item = Expr>) -> Expr {
        let terms: Vec<Expr> = terms.into_iter().collect();
        let mut p = Poly::default();
        for t in &terms {
            match Poly::from_expr(t).and_then(|q| p.clone().add(&q)) {
                Some(sum) => p = sum,
                None => return Expr::Add(terms),
            }
        }
        p.to_expr()
    }

    /// `a * b * …`, canonical (products of sums are expanded).
    pub fn mul_all(factors: impl IntoIterator<Item = Expr>) -> Expr {
        let factors: Vec<Expr> = factors.into_iter().collect();
        let mut p = Poly::constant(1);
        for f in &factors {
            match Poly::from_expr(f).and_then(|q| p.mul(&q)) {
                Some(prod) => p = prod,
                None => return Expr::Mul(factors),
            }
        }
        p.to_expr()
    }

    pub fn pow(base: Expr, exp: Expr) -> Expr {
        match (&base, &exp) {
            (Expr::Int(b), Expr::Int(e)) if *e >= 0 => match u32::try_from(*e).ok().and_then(|e| b.checked_pow(e)) {
                Some(v) => Expr::Int(v),
                None => Expr::Pow(Box::new(base), Box::new(exp)),
            },
            (_, Expr::Int(0)) => Expr::Int(1),
            (_, Expr::Int(1)) => base,
            (Expr::Int(1), _) => Expr::Int(1),
            (_, Expr::Int(n)) if *n > 0 => {
                let raw = Expr::Pow(Box::new(base), Box::new(exp));
                Poly::from_expr(&raw).map(|p| p.to_expr()).unwrap_or(raw)
            }
            _ => Expr::Pow(Box::new(base), Box::new(exp)),
        }
    }

    /// Python's `a // b`, canonical: constant parts that divide exactly are taken out
    /// (`(2*s0 + 1) // 2` is `s0 + 1//2`, that is `s0`), common factors cancel, and nested
    /// divisions by constants merge.
    pub fn floordiv(a: Expr, b: Expr) -> Expr {
        let raw = |a: Expr, b: Expr| Expr::FloorDiv(Box::new(a), Box::new(b));
        match (&a, &b) {
            (Expr::Int(x), Expr::Int(y)) => floor_div(*x, *y).map(Expr::Int).unwrap_or_else(|| raw(a, b)),
            (_, Expr::Int(1)) => a,
            (Expr::Int(0), _) => Expr::Int(0),
            (Expr::FloorDiv(inner, k1), Expr::Int(k2)) if *k2 > 0 && matches!(**k1, Expr::Int(k) if k > 0) => {
                let k1 = k1.as_int().expect("constant");
                match k1.checked_mul(*k2) {
                    Some(k) => Expr::floordiv((**inner).clone(), Expr::Int(k)),
                    None => raw(a, b),
                }
            }
            (_, Expr::Int(k)) if *k > 0 => {
                let k = *k;
                let Some(p) = Poly::from_expr(&a) else { return raw(a, b) };
                // exact part / k  +  (rest // k)
                let (mut exact, mut rest) = (Poly::default(), Poly::default());
                for (m, c) in &p.0 {
                    let target = if c % k == 0 { &mut exact } else { &mut rest };
                    target.0.insert(m.clone(), *c);
                }
                let quotient = Poly(exact.0.into_iter().map(|(m, c)| (m, c / k)).collect());
                if rest.0.is_empty() {
                    return quotient.to_expr();
                }
                let g = rest.0.values().fold(k, |g, c| gcd(g, *c));
                let rest = Poly(rest.0.into_iter().map(|(m, c)| (m, c / g)).collect());
                let divided = match (rest.as_constant(), rest.to_expr()) {
                    (Some(c), _) => Expr::Int(floor_div(c, k / g).expect("positive divisor")),
                    // what is left is itself a division by a constant: the two merge, as they
                    // would had it come alone (`(2*s0 + (x//3)) // 2` is `s0 + x//6`)
                    (None, e @ Expr::FloorDiv(_, _)) if matches!(&e, Expr::FloorDiv(_, d) if matches!(**d, Expr::Int(d) if d > 0)) => {
                        Expr::floordiv(e, Expr::Int(k / g))
                    }
                    (None, e) => raw(e, Expr::Int(k / g)),
                };
                Expr::add_all([quotient.to_expr(), divided])
            }
            _ => {
                // a divisor `c * m` (one term, m a product of sizes, which are positive) whose
                // `m` divides every term of `a` cancels, as SymPy's FloorDiv cancels it:
                // `(64*s0) // (16*s0)` is 4, `(16*s0*x) // (16*s0)` is x
                let (Some(pa), Some(pb)) = (Poly::from_expr(&a), Poly::from_expr(&b)) else { return raw(a, b) };
                let mut terms = pb.0.iter();
                let (Some((m, &c)), None) = (terms.next(), terms.next()) else { return raw(a, b) };
                if c <= 0 || m.is_empty() {
                    return raw(a, b);
                }
                let mut quotient = Poly::default();
                for (ma, ca) in &pa.0 {
                    let Some(q) = divided_monomial(ma, m) else { return raw(a, b) };
                    quotient.0.insert(q, *ca);
                }
                Expr::floordiv(quotient.to_expr(), Expr::Int(c))
            }
        }
    }

    /// Python's `a % b`, canonical: with a positive constant divisor, coefficients are reduced
    /// modulo it (`(3*s0 + 4) % 2` is `s0 % 2`).
    pub fn modulo(a: Expr, b: Expr) -> Expr {
        let raw = |a: Expr, b: Expr| Expr::Mod(Box::new(a), Box::new(b));
        match (&a, &b) {
            (Expr::Int(x), Expr::Int(y)) => python_mod(*x, *y).map(Expr::Int).unwrap_or_else(|| raw(a, b)),
            (_, Expr::Int(1) | Expr::Int(-1)) => Expr::Int(0),
            (Expr::Mod(_, inner), _) if **inner == b => a,
            (_, Expr::Int(k)) if *k > 0 => {
                let k = *k;
                let Some(p) = Poly::from_expr(&a) else { return raw(a, b) };
                let reduced = Poly(p.0.into_iter().map(|(m, c)| (m, python_mod(c, k).expect("positive divisor"))).filter(|(_, c)| *c != 0).collect());
                match reduced.as_constant() {
                    Some(c) => Expr::Int(c),
                    None => raw(reduced.to_expr(), b),
                }
            }
            _ => raw(a, b),
        }
    }

    pub fn max_of(args: impl IntoIterator<Item = Expr>) -> Expr {
        extremum(args.into_iter().collect(), true)
    }

    pub fn min_of(args: impl IntoIterator<Item = Expr>) -> Expr {
        extremum(args.into_iter().collect(), false)
    }

    /// `a op b`, canonical: decided when `a - b` is a constant; otherwise written with the
    /// positive terms of `a - b` on the left (`16 <= s0` is `s0 >= 16`, `Eq(s2, s1)` is
    /// `Eq(s1, s2)`).
    pub fn compare(op: CmpOp, a: Expr, b: Expr) -> Expr {
        let raw = |a: Expr, b: Expr| Expr::Cmp(op, Box::new(a), Box::new(b));
        if a.is_bool() || b.is_bool() {
            return raw(a, b);
        }
        let Some(d) = Poly::from_expr(&a).zip(Poly::from_expr(&b)).and_then(|(pa, pb)| pa.add(&pb.scale(-1)?)) else {
            return raw(a, b);
        };
        if let Some(c) = d.as_constant() {
            return Expr::Bool(op.holds(c, 0));
        }
        let (d, op) = match d.leading_coefficient() {
            Some(c) if c < 0 => match d.scale(-1) {
                Some(n) => (n, op.swapped()),
                None => return raw(a, b),
            },
            _ => (d, op),
        };
        let lhs = Poly(d.0.iter().filter(|(m, c)| !m.is_empty() && **c > 0).map(|(m, c)| (m.clone(), *c)).collect());
        let Some(rhs) = Poly(d.0.iter().filter(|(m, c)| m.is_empty() || **c < 0).map(|(m, c)| (m.clone(), *c)).collect()).scale(-1) else {
            return raw(a, b);
        };
        Expr::Cmp(op, Box::new(lhs.to_expr()), Box::new(rhs.to_expr()))
    }

    pub fn equals(a: impl Into<Expr>, b: impl Into<Expr>) -> Expr {
        Expr::compare(CmpOp::Eq, a.into(), b.into())
    }
    pub fn not_equals(a: impl Into<Expr>, b: impl Into<Expr>) -> Expr {
        Expr::compare(CmpOp::Ne, a.into(), b.into())
    }
    pub fn less(a: impl Into<Expr>, b: impl Into<Expr>) -> Expr {
        Expr::compare(CmpOp::Lt, a.into(), b.into())
    }
    pub fn less_eq(a: impl Into<Expr>, b: impl Into<Expr>) -> Expr {
        Expr::compare(CmpOp::Le, a.into(), b.into())
    }
    pub fn greater(a: impl Into<Expr>, b: impl Into<Expr>) -> Expr {
        Expr::compare(CmpOp::Gt, a.into(), b.into())
    }
    pub fn greater_eq(a: impl Into<Expr>, b: impl Into<Expr>) -> Expr {
        Expr::compare(CmpOp::Ge, a.into(), b.into())
    }

    /// Logical negation; a negated comparison becomes the opposite comparison.
    pub fn not(a: Expr) -> Expr {
        match a {
            Expr::Bool(b) => Expr::Bool(!b),
            Expr::Not(inner) => *inner,
            Expr::Cmp(op, x, y) => Expr::compare(op.negated(), *x, *y),
            other => Expr::Not(Box::new(other)),
        }
    }

    pub fn and_all(args: impl IntoIterator<Item = Expr>) -> Expr {
        connective(args.into_iter().collect(), true)
    }

    pub fn or_all(args: impl IntoIterator<Item = Expr>) -> Expr {
        connective(args.into_iter().collect(), false)
    }

    /// The same value rebuilt through the canonical constructors.
    pub fn canonical(&self) -> Expr {
        self.substitute(&|_| None)
    }

    /// Replaces symbols for which `value` gives an expression, in canonical form.
    pub fn substitute(&self, value: &dyn Fn(&str) -> Option<Expr>) -> Expr {
        let all = |v: &Vec<Expr>| v.iter().map(|e| e.substitute(value)).collect::<Vec<_>>();
        match self {
            Expr::Int(_) | Expr::Bool(_) => self.clone(),
            Expr::Sym(s) => value(s).unwrap_or_else(|| self.clone()),
            Expr::Add(v) => Expr::add_all(all(v)),
            Expr::Mul(v) => Expr::mul_all(all(v)),
            Expr::Pow(a, b) => Expr::pow(a.substitute(value), b.substitute(value)),
            Expr::FloorDiv(a, b) => Expr::floordiv(a.substitute(value), b.substitute(value)),
            Expr::Mod(a, b) => Expr::modulo(a.substitute(value), b.substitute(value)),
            Expr::Max(v) => Expr::max_of(all(v)),
            Expr::Min(v) => Expr::min_of(all(v)),
            Expr::Cmp(op, a, b) => Expr::compare(*op, a.substitute(value), b.substitute(value)),
            Expr::Not(a) => Expr::not(a.substitute(value)),
            Expr::And(v) => Expr::and_all(all(v)),
            Expr::Or(v) => Expr::or_all(all(v)),
        }
    }

    /// Splits a linear expression into `(coefficient, symbol)` terms and a constant; `None`
    /// when some term is not a constant times a single symbol.
    pub fn linear_terms(&self) -> Option<(Vec<(i64, String)>, i64)> {
        let p = Poly::from_expr(self)?;
        let mut terms = Vec::new();
        let mut constant = 0;
        for (m, c) in &p.0 {
            match m.as_slice() {
                [] => constant = *c,
                [(Expr::Sym(s), 1)] => terms.push((*c, s.clone())),
                _ => return None,
            }
        }
        Some((terms, constant))
    }
}

fn extremum(args: Vec<Expr>, is_max: bool) -> Expr {
    let mut flat: Vec<Expr> = Vec::new();
    for a in args {
        match a {
            Expr::Max(inner) if is_max => flat.extend(inner),
            Expr::Min(inner) if !is_max => flat.extend(inner),
            other => flat.push(other),
        }
    }
    // fold the constants into one
    let (consts, mut rest): (Vec<Expr>, Vec<Expr>) = flat.into_iter().partition(|e| matches!(e, Expr::Int(_)));
    let best = consts.iter().filter_map(Expr::as_int).reduce(|a, b| if is_max { a.max(b) } else { a.min(b) });
    rest.extend(best.map(Expr::Int));
    rest.sort();
    rest.dedup();
    // of two arguments a constant apart, only the larger (smaller) can matter
    let mut keep = vec![true; rest.len()];
    for i in 0..rest.len() {
        for j in 0..rest.len() {
            if i == j || !keep[i] || !keep[j] {
                continue;
            }
            if let Expr::Int(d) = Expr::add_all([rest[i].clone(), Expr::mul_all([Expr::Int(-1), rest[j].clone()])]) {
                // d = rest[i] - rest[j]
                if (is_max && d >= 0) || (!is_max && d <= 0) {
                    keep[j] = false;
                }
            }
        }
    }
    let mut out: Vec<Expr> = rest.into_iter().zip(keep).filter(|(_, k)| *k).map(|(e, _)| e).collect();
    match out.len() {
        0 => Expr::Int(0),
        1 => out.pop().expect("one argument"),
        _ if is_max => Expr::Max(out),
        _ => Expr::Min(out),
    }
}

fn connective(args: Vec<Expr>, is_and: bool) -> Expr {
    let mut flat: Vec<Expr> = Vec::new();
    for a in args {
        match a {
            Expr::Bool(b) if b == is_and => {}
            Expr::Bool(b) => return Expr::Bool(b),
            Expr::And(inner) if is_and => flat.extend(inner),
            Expr::Or(inner) if !is_and => flat.extend(inner),
            other => flat.push(other),
        }
    }
    flat.sort();
    flat.dedup();
    match flat.len() {
        0 => Expr::Bool(is_and),
        1 => flat.pop().expect("one argument"),
        _ if is_and => Expr::And(flat),
        _ => Expr::Or(flat),
    }
}

impl From<i64> for Expr {
    fn from(v: i64) -> Expr {
        Expr::Int(v)
    }
}

impl From<&str> for Expr {
    fn from(name: &str) -> Expr {
        Expr::Sym(name.to_string())
    }
}

macro_rules! arith {
    ($trait:ident, $method:ident, |$a:ident, $b:ident| $body:expr) => {
        impl ops::$trait<Expr> for Expr {
            type Output = Expr;
            fn $method(self, rhs: Expr) -> Expr {
                let ($a, $b) = (self, rhs);
                $body
            }
        }
        impl ops::$trait<i64> for Expr {
            type Output = Expr;
            fn $method(self, rhs: i64) -> Expr {
                let ($a, $b) = (self, Expr::Int(rhs));
                $body
            }
        }
        impl ops::$trait<Expr> for i64 {
            type Output = Expr;
            fn $method(self, rhs: Expr) -> Expr {
                let ($a, $b) = (Expr::Int(self), rhs);
                $body
            }
        }
        impl ops::$trait<&Expr> for &Expr {
            type Output = Expr;
            fn $method(self, rhs: &Expr) -> Expr {
                let ($a, $b) = (self.clone(), rhs.clone());
                $body
            }
        }
    };
}

arith!(Add, add, |a, b| Expr::add_all([a, b]));
arith!(Sub, sub, |a, b| Expr::add_all([a, Expr::mul_all([Expr::Int(-1), b])]));
arith!(Mul, mul, |a, b| Expr::mul_all([a, b]));
arith!(Rem, rem, |a, b| Expr::modulo(a, b));

impl ops::Neg for Expr {
    type Output = Expr;
    fn neg(self) -> Expr {
        Expr::mul_all([Expr::Int(-1), self])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: &str) -> Expr {
        Expr::sym(n)
    }

    #[test]
    fn like_terms_collect_and_order_does_not_matter() {
        let a = 2 * s("s0") + s("s1") - s("s0");
        let b = s("s1") + s("s0");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "s0 + s1");
        assert_eq!((s("s0") - s("s0")), Expr::Int(0));
        assert_eq!((s("s0") + 1) * (s("s0") + 1), s("s0") * s("s0") + 2 * s("s0") + 1);
        assert_eq!(((s("s0") + 1) * (s("s0") + 1)).to_string(), "s0**2 + 2*s0 + 1");
        assert_eq!((s("s27") - 2).to_string(), "s27 - 2");
        assert_eq!((s("s1") - s("s0")).to_string(), "-s0 + s1");
    }

    #[test]
    fn division_and_modulo_simplify() {
        assert_eq!(Expr::floordiv(s("s0"), 1.into()), s("s0"));
        assert_eq!(Expr::floordiv(2 * s("s0"), 2.into()), s("s0"));
        assert_eq!(Expr::floordiv(4 * s("s0") + 3, 2.into()), 2 * s("s0") + 1);
        assert_eq!(Expr::floordiv(2 * s("s0") + 1, 4.into()).to_string(), "((2*s0 + 1)//4)");
        assert_eq!(Expr::floordiv(Expr::floordiv(s("s0"), 2.into()), 3.into()), Expr::floordiv(s("s0"), 6.into()));
        // a size that divides every term cancels (a view's -1 over symbolic sizes), as SymPy does
        assert_eq!(Expr::floordiv(64 * s("s0"), 16 * s("s0")), Expr::Int(4));
        assert_eq!(Expr::floordiv(16 * s("s0") * s("s1"), 16 * s("s0")), s("s1"));
        assert_eq!(Expr::floordiv(6 * s("s0") * s("s1") + 3 * s("s0"), 2 * s("s0")), Expr::floordiv(6 * s("s1") + 3, 2.into()));
        assert_eq!(Expr::floordiv(s("s0") + 1, s("s0")).to_string(), "((s0 + 1)//s0)");
        assert_eq!(Expr::modulo(2 * s("s0"), 2.into()), Expr::Int(0));
        assert_eq!(Expr::modulo(3 * s("s0") + 4, 2.into()), Expr::modulo(s("s0"), 2.into()));
        assert_eq!(Expr::floordiv(Expr::Int(-7), Expr::Int(2)), Expr::Int(-4));
    }

    #[test]
    fn comparisons_are_oriented() {
        assert_eq!(Expr::less_eq(16, s("s0")), Expr::greater_eq(s("s0"), 16));
        assert_eq!(Expr::less_eq(16, s("s0")).to_string(), "s0 >= 16");
        assert_eq!(Expr::equals(s("s2"), s("s1")), Expr::equals(s("s1"), s("s2")));
        assert_eq!(Expr::equals(s("s1"), s("s2")).to_string(), "Eq(s1, s2)");
        assert_eq!(Expr::less(s("s0") + 1, s("s0") + 2), Expr::Bool(true));
        assert_eq!(Expr::not(Expr::less_eq(s("s0"), 16)), Expr::greater(s("s0"), 16));
        assert_eq!(Expr::max_of([s("s0"), s("s0") + 1, Expr::Int(1), Expr::Int(3)]).to_string(), "Max(3, s0 + 1)");
    }
}

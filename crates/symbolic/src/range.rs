//! Value ranges: the closed interval of integers an expression can take, with `int_oo` for an
//! unbounded side, propagated soundly through every operation (the true value is always
//! inside; the range may be wider than the exact set).

use std::fmt;

use crate::expr::{floor_div, CmpOp, Expr};
use crate::parse::{Cursor, ParseError};

/// One end of a range. `NegInf < Int(_) < PosInf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bound {
    NegInf,
    Int(i64),
    PosInf,
}

impl Bound {
    pub fn as_int(self) -> Option<i64> {
        match self {
            Bound::Int(v) => Some(v),
            _ => None,
        }
    }

    fn neg(self) -> Bound {
        match self {
            Bound::NegInf => Bound::PosInf,
            Bound::PosInf => Bound::NegInf,
            Bound::Int(v) => v.checked_neg().map(Bound::Int).unwrap_or(Bound::PosInf),
        }
    }

    fn signum(self) -> i64 {
        match self {
            Bound::NegInf => -1,
            Bound::PosInf => 1,
            Bound::Int(v) => v.signum(),
        }
    }

    /// `a + b` rounded outward: `lower` says which way an overflow goes.
    fn add(self, other: Bound, lower: bool) -> Bound {
        match (self, other) {
            (Bound::Int(a), Bound::Int(b)) => a.checked_add(b).map(Bound::Int).unwrap_or(if lower { Bound::NegInf } else { Bound::PosInf }),
            // -oo + oo is unknown: outward is -oo for a lower bound, oo for an upper one
            (Bound::NegInf, Bound::PosInf) | (Bound::PosInf, Bound::NegInf) => {
                if lower {
                    Bound::NegInf
                } else {
                    Bound::PosInf
                }
            }
            (Bound::NegInf, _) | (_, Bound::NegInf) => Bound::NegInf,
            _ => Bound::PosInf,
        }
    }

    /// `a * b`; an overflow becomes the infinity of the product's sign; `0 * inf` is 0.
    fn mul(self, other: Bound) -> Bound {
        match (self, other) {
            (Bound::Int(a), Bound::Int(b)) => a.checked_mul(b).map(Bound::Int).unwrap_or(if (a < 0) != (b < 0) { Bound::NegInf } else { Bound::PosInf }),
            (Bound::Int(0), _) | (_, Bound::Int(0)) => Bound::Int(0),
            (a, b) => {
                if a.signum() * b.signum() < 0 {
                    Bound::NegInf
                } else {
                    Bound::PosInf
                }
            }
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::NegInf => write!(f, "-int_oo"),
            Bound::PosInf => write!(f, "int_oo"),
            Bound::Int(v) => write!(f, "{v}"),
        }
    }
}

/// A closed integer interval `[lo, hi]`; `lo > hi` is the empty range (a contradiction).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ValueRange {
    pub lo: Bound,
    pub hi: Bound,
}

impl ValueRange {
    pub const UNKNOWN: ValueRange = ValueRange { lo: Bound::NegInf, hi: Bound::PosInf };
    pub const BOOL: ValueRange = ValueRange { lo: Bound::Int(0), hi: Bound::Int(1) };
    /// PyTorch's default for a dynamic size: `[2, int_oo]` (0 and 1 are specialized).
    pub const DYNAMIC_SIZE: ValueRange = ValueRange { lo: Bound::Int(2), hi: Bound::PosInf };
    /// Any size, the range of an unbacked value known to be a size.
    pub const SIZE: ValueRange = ValueRange { lo: Bound::Int(0), hi: Bound::PosInf };

    pub fn new(lo: Bound, hi: Bound) -> ValueRange {
        ValueRange { lo, hi }
    }

    pub fn point(v: i64) -> ValueRange {
        ValueRange { lo: Bound::Int(v), hi: Bound::Int(v) }
    }

    /// `[lo, hi]` with `None` for an unbounded side.
    pub fn between(lo: Option<i64>, hi: Option<i64>) -> ValueRange {
        ValueRange { lo: lo.map(Bound::Int).unwrap_or(Bound::NegInf), hi: hi.map(Bound::Int).unwrap_or(Bound::PosInf) }
    }

    pub fn is_empty(&self) -> bool {
        self.lo > self.hi
    }

    pub fn contains(&self, v: i64) -> bool {
        self.lo <= Bound::Int(v) && Bound::Int(v) <= self.hi
    }

    /// The single value, if the range holds exactly one.
    pub fn as_point(&self) -> Option<i64> {
        match (self.lo, self.hi) {
            (Bound::Int(a), Bound::Int(b)) if a == b => Some(a),
            _ => None,
        }
    }

    pub fn is_subset_of(&self, other: &ValueRange) -> bool {
        self.is_empty() || (other.lo <= self.lo && self.hi <= other.hi)
    }

    pub fn intersect(&self, other: &ValueRange) -> ValueRange {
        ValueRange { lo: self.lo.max(other.lo), hi: self.hi.min(other.hi) }
    }

    pub fn union(&self, other: &ValueRange) -> ValueRange {
        ValueRange { lo: self.lo.min(other.lo), hi: self.hi.max(other.hi) }
    }

    pub fn add(&self, other: &ValueRange) -> ValueRange {
        ValueRange { lo: self.lo.add(other.lo, true), hi: self.hi.add(other.hi, false) }
    }

    pub fn neg(&self) -> ValueRange {
        ValueRange { lo: self.hi.neg(), hi: self.lo.neg() }
    }

    pub fn mul(&self, other: &ValueRange) -> ValueRange {
        let corners = [self.lo.mul(other.lo), self.lo.mul(other.hi), self.hi.mul(other.lo), self.hi.mul(other.hi)];
        ValueRange { lo: *corners.iter().min().expect("four"), hi: *corners.iter().max().expect("four") }
    }

    pub fn pow(&self, exp: &ValueRange) -> ValueRange {
        let Some(n) = exp.as_point().filter(|n| *n >= 0) else { return ValueRange::UNKNOWN };
        let mut acc = ValueRange::point(1);
        for _ in 0..n.min(64) {
            acc = acc.mul(self);
        }
        if n > 64 {
            return ValueRange::UNKNOWN;
        }
        if n % 2 == 0 && n > 0 {
            // an even power is never negative
            acc.lo = acc.lo.max(Bound::Int(0));
        }
        acc
    }

    /// Python's `//`. Only a divisor range that excludes 0 gives a finite answer.
    pub fn floordiv(&self, other: &ValueRange) -> ValueRange {
        if other.contains(0) {
            return ValueRange::UNKNOWN;
        }
        let div = |a: Bound, b: Bound| -> Bound {
            match (a, b) {
                (Bound::Int(x), Bound::Int(y)) => floor_div(x, y).map(Bound::Int).unwrap_or(Bound::PosInf),
                (Bound::Int(_), _) => Bound::Int(0),
                (inf, b) => {
                    if inf.signum() * b.signum() < 0 {
                        Bound::NegInf
                    } else {
                        Bound::PosInf
                    }
                }
            }
        };
        // floor(a/b) is monotone in a for fixed b and in b for fixed a on one side of 0; the
        // corners bound it, but an infinite divisor end means the quotient approaches -1 or 0
        let mut corners = vec![div(self.lo, other.lo), div(self.lo, other.hi), div(self.hi, other.lo), div(self.hi, other.hi)];
        if matches!(other.lo, Bound::NegInf) || matches!(other.hi, Bound::PosInf) {
            corners.extend([Bound::Int(-1), Bound::Int(0)]);
        }
        ValueRange { lo: *corners.iter().min().expect("corners"), hi: *corners.iter().max().expect("corners") }
    }

    /// Python's `%`: for a positive divisor the result is in `[0, divisor - 1]`, and the
    /// dividend itself when it already lies there.
    pub fn modulo(&self, other: &ValueRange) -> ValueRange {
        match (other.lo, other.hi) {
            (Bound::Int(lo), hi) if lo > 0 => {
                let top = match hi {
                    Bound::Int(h) => Bound::Int(h - 1),
                    inf => inf,
                };
                let full = ValueRange { lo: Bound::Int(0), hi: top };
                if self.is_subset_of(&ValueRange { lo: Bound::Int(0), hi: Bound::Int(lo - 1) }) {
                    *self
                } else if self.lo >= Bound::Int(0) {
                    ValueRange { lo: Bound::Int(0), hi: top.min(self.hi) }
                } else {
                    full
                }
            }
            _ => ValueRange::UNKNOWN,
        }
    }

    pub fn max(&self, other: &ValueRange) -> ValueRange {
        ValueRange { lo: self.lo.max(other.lo), hi: self.hi.max(other.hi) }
    }

    pub fn min(&self, other: &ValueRange) -> ValueRange {
        ValueRange { lo: self.lo.min(other.lo), hi: self.hi.min(other.hi) }
    }

    /// The truth of `self op other` as a range of 0/1.
    pub fn compare(&self, op: CmpOp, other: &ValueRange) -> ValueRange {
        let always = |b: bool| if b { ValueRange::point(1) } else { ValueRange::point(0) };
        let (a, b) = (self, other);
        let decided = match op {
            CmpOp::Lt if a.hi < b.lo => Some(true),
            CmpOp::Lt if a.lo >= b.hi => Some(false),
            CmpOp::Le if a.hi <= b.lo => Some(true),
            CmpOp::Le if a.lo > b.hi => Some(false),
            CmpOp::Gt => return b.compare(CmpOp::Lt, a),
            CmpOp::Ge => return b.compare(CmpOp::Le, a),
            CmpOp::Eq if a.as_point().is_some() && a.as_point() == b.as_point() => Some(true),
            CmpOp::Eq if a.intersect(b).is_empty() => Some(false),
            CmpOp::Ne => return a.compare(CmpOp::Eq, b).not(),
            _ => None,
        };
        decided.map(always).unwrap_or(ValueRange::BOOL)
    }

    pub fn not(&self) -> ValueRange {
        match self.as_point() {
            Some(0) => ValueRange::point(1),
            Some(_) => ValueRange::point(0),
            None if !self.contains(0) => ValueRange::point(0),
            None => ValueRange::BOOL,
        }
    }

    /// Parses `VR[2, int_oo]` (or `[2, int_oo]`).
    pub fn parse(text: &str) -> Result<ValueRange, ParseError> {
        let err = |why: String| ParseError { text: text.into(), why };
        let mut c = Cursor::new(text);
        c.eat("VR");
        c.expect("[").map_err(err)?;
        let bound = |c: &mut Cursor| -> Result<Bound, String> {
            if c.eat("-int_oo") {
                Ok(Bound::NegInf)
            } else if c.eat("int_oo") {
                Ok(Bound::PosInf)
            } else {
                c.integer().map(Bound::Int)
            }
        };
        let lo = bound(&mut c).map_err(err)?;
        c.expect(",").map_err(err)?;
        let hi = bound(&mut c).map_err(err)?;
        c.expect("]").map_err(err)?;
        if !c.at_end() {
            return Err(err(format!("trailing text at offset {}", c.pos)));
        }
        Ok(ValueRange { lo, hi })
    }
}

impl fmt::Display for ValueRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VR[{}, {}]", self.lo, self.hi)
    }
}

impl Expr {
    /// The range of values the expression can take when each symbol stays in the range
    /// `range_of` gives it.
    pub fn range(&self, range_of: &dyn Fn(&str) -> ValueRange) -> ValueRange {
        let fold = |v: &Vec<Expr>, f: fn(&ValueRange, &ValueRange) -> ValueRange| -> ValueRange {
            let mut it = v.iter().map(|e| e.range(range_of));
            let first = it.next().unwrap_or(ValueRange::point(0));
            it.fold(first, |a, b| f(&a, &b))
        };
        match self {
            Expr::Int(v) => ValueRange::point(*v),
            Expr::Bool(b) => ValueRange::point(*b as i64),
            Expr::Sym(s) => range_of(s),
            Expr::Add(v) => fold(v, ValueRange::add),
            Expr::Mul(v) => fold(v, ValueRange::mul),
            Expr::Pow(a, b) => a.range(range_of).pow(&b.range(range_of)),
            Expr::FloorDiv(a, b) => a.range(range_of).floordiv(&b.range(range_of)),
            Expr::Mod(a, b) => a.range(range_of).modulo(&b.range(range_of)),
            Expr::Max(v) => fold(v, ValueRange::max),
            Expr::Min(v) => fold(v, ValueRange::min),
            Expr::Cmp(op, a, b) => {
                // the difference's range decides more than the two sides' ranges apart
                // (`s0 + 1 > s0` for any s0)
                let d = (**a).clone() - (**b).clone();
                d.range(range_of).compare(*op, &ValueRange::point(0))
            }
            Expr::Not(a) => a.range(range_of).not(),
            Expr::And(v) => v.iter().fold(ValueRange::point(1), |acc, e| {
                let r = e.range(range_of);
                match (acc.as_point(), r.as_point()) {
                    (Some(0), _) | (_, Some(0)) => ValueRange::point(0),
                    (Some(_), Some(_)) => ValueRange::point(1),
                    _ => ValueRange::BOOL,
                }
            }),
            Expr::Or(v) => v.iter().fold(ValueRange::point(0), |acc, e| {
                let r = e.range(range_of);
                match (acc.as_point(), r.as_point()) {
                    (Some(1), _) | (_, Some(1)) => ValueRange::point(1),
                    (Some(0), Some(0)) => ValueRange::point(0),
                    _ => ValueRange::BOOL,
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_and_parses_pytorch_ranges() {
        for text in ["VR[2, int_oo]", "VR[-int_oo, 5]", "VR[0, 0]", "VR[-3, 7]"] {
            assert_eq!(ValueRange::parse(text).unwrap().to_string(), text);
        }
        assert!(ValueRange::parse("VR[2, ").is_err());
    }

    #[test]
    fn infinity_propagates() {
        let dyn_size = ValueRange::DYNAMIC_SIZE;
        assert_eq!(dyn_size.mul(&ValueRange::point(2)).to_string(), "VR[4, int_oo]");
        assert_eq!(dyn_size.neg().to_string(), "VR[-int_oo, -2]");
        assert_eq!(dyn_size.add(&ValueRange::point(-3)).to_string(), "VR[-1, int_oo]");
        assert_eq!(dyn_size.floordiv(&ValueRange::point(2)).to_string(), "VR[1, int_oo]");
        assert_eq!(dyn_size.modulo(&ValueRange::point(4)).to_string(), "VR[0, 3]");
        assert_eq!(ValueRange::point(i64::MAX).add(&ValueRange::point(1)).hi, Bound::PosInf);
        let any = ValueRange::UNKNOWN;
        assert_eq!(any.mul(&any).to_string(), "VR[-int_oo, int_oo]");
        assert_eq!(ValueRange::point(0).mul(&any).to_string(), "VR[0, 0]");
    }
}

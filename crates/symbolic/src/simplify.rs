//! Simplification with what is known about the symbols' ranges: `Max(s0, 2)` is `s0` when
//! `s0 >= 2`, `s0 // 8` is 0 when `s0 < 8`, a comparison the ranges decide is a constant.

use crate::expr::Expr;
use crate::range::ValueRange;

impl Expr {
    /// The expression simplified, in canonical form, given each symbol's range.
    pub fn simplify(&self, range_of: &dyn Fn(&str) -> ValueRange) -> Expr {
        let all = |v: &Vec<Expr>| v.iter().map(|e| e.simplify(range_of)).collect::<Vec<_>>();
        let rebuilt = match self {
            Expr::Int(_) | Expr::Bool(_) | Expr::Sym(_) => return self.clone(),
            Expr::Add(v) => Expr::add_all(all(v)),
            Expr::Mul(v) => Expr::mul_all(all(v)),
            Expr::Pow(a, b) => Expr::pow(a.simplify(range_of), b.simplify(range_of)),
            Expr::FloorDiv(a, b) => {
                let (a, b) = (a.simplify(range_of), b.simplify(range_of));
                match b.as_int() {
                    Some(k) if k > 0 && a.range(range_of).is_subset_of(&ValueRange::between(Some(0), Some(k - 1))) => Expr::Int(0),
                    _ => Expr::floordiv(a, b),
                }
            }
            Expr::Mod(a, b) => {
                let (a, b) = (a.simplify(range_of), b.simplify(range_of));
                match b.as_int() {
                    Some(k) if k > 0 && a.range(range_of).is_subset_of(&ValueRange::between(Some(0), Some(k - 1))) => a,
                    _ => Expr::modulo(a, b),
                }
            }
            Expr::Max(v) => Expr::max_of(undominated(all(v), range_of, true)),
            Expr::Min(v) => Expr::min_of(undominated(all(v), range_of, false)),
            Expr::Cmp(op, a, b) => Expr::compare(*op, a.simplify(range_of), b.simplify(range_of)),
            Expr::Not(a) => Expr::not(a.simplify(range_of)),
            Expr::And(v) => Expr::and_all(all(v)),
            Expr::Or(v) => Expr::or_all(all(v)),
        };
        match rebuilt.range(range_of).as_point() {
            Some(v) if rebuilt.is_bool() => Expr::Bool(v != 0),
            Some(v) => Expr::Int(v),
            None => rebuilt,
        }
    }
}

/// The arguments of a `Max` (or `Min`) that some other argument does not always dominate.
fn undominated(args: Vec<Expr>, range_of: &dyn Fn(&str) -> ValueRange, is_max: bool) -> Vec<Expr> {
    let mut keep = vec![true; args.len()];
    for i in 0..args.len() {
        for j in 0..args.len() {
            if i == j || !keep[i] || !keep[j] {
                continue;
            }
            let d = (&args[i] - &args[j]).range(range_of);
            let dominates = if is_max { d.lo >= crate::range::Bound::Int(0) } else { d.hi <= crate::range::Bound::Int(0) };
            if dominates {
                keep[j] = false;
            }
        }
    }
    args.into_iter().zip(keep).filter(|(_, k)| *k).map(|(e, _)| e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ranges_decide() {
        let r = |_: &str| ValueRange::DYNAMIC_SIZE;
        let s0 = Expr::sym("s0");
        assert_eq!(Expr::max_of([s0.clone(), Expr::Int(2)]).simplify(&r), s0);
        assert_eq!(Expr::min_of([s0.clone(), Expr::Int(1)]).simplify(&r), Expr::Int(1));
        assert_eq!(Expr::greater_eq(s0.clone(), 2).simplify(&r), Expr::Bool(true));
        assert_eq!(Expr::equals(s0.clone(), 1).simplify(&r), Expr::Bool(false));
        assert_eq!(Expr::less_eq(s0.clone(), 16).simplify(&r), Expr::less_eq(s0.clone(), 16));
        let small = |_: &str| ValueRange::between(Some(0), Some(7));
        assert_eq!(Expr::floordiv(s0.clone(), 8.into()).simplify(&small), Expr::Int(0));
        assert_eq!(Expr::modulo(s0.clone(), 8.into()).simplify(&small), s0);
    }
}

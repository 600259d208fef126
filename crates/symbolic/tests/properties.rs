//! Properties of the symbolic engine over random expressions: canonical form ignores argument
//! order, simplification keeps values, ranges contain every value, printing parses back.

use std::collections::HashMap;

use proptest::prelude::*;
use symbolic::{CmpOp, Expr, ValueRange};

const SYMBOLS: [&str; 3] = ["s0", "s1", "s2"];

/// Random expression trees as a parser would build them: raw, not canonical.
fn expr() -> impl Strategy<Value = Expr> {
    let symbol = (0..SYMBOLS.len()).prop_map(|i| Expr::sym(SYMBOLS[i]));
    // `c*s + k`: linear terms exercise the coefficient rules of `//` and `%`
    let linear = (-4i64..5, symbol.clone(), -10i64..10).prop_map(|(c, s, k)| Expr::Add(vec![Expr::Mul(vec![Expr::Int(c), s]), Expr::Int(k)]));
    let leaf = prop_oneof![(-20i64..20).prop_map(Expr::Int), symbol, linear];
    leaf.prop_recursive(4, 24, 3, |inner| {
        let pair = (inner.clone(), inner.clone());
        let divisor = prop_oneof![(1i64..6).prop_map(Expr::Int), (-5i64..-1).prop_map(Expr::Int), (0..SYMBOLS.len()).prop_map(|i| Expr::sym(SYMBOLS[i]))];
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Add),
            prop::collection::vec(inner.clone(), 2..3).prop_map(Expr::Mul),
            pair.clone().prop_map(|(a, b)| Expr::Add(vec![a, Expr::Mul(vec![Expr::Int(-1), b])])),
            (inner.clone(), divisor.clone()).prop_map(|(a, b)| Expr::FloorDiv(Box::new(a), Box::new(b))),
            (inner.clone(), divisor).prop_map(|(a, b)| Expr::Mod(Box::new(a), Box::new(b))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Max),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Min),
            (inner.clone(), 2i64..4).prop_map(|(a, n)| Expr::Pow(Box::new(a), Box::new(Expr::Int(n)))),
        ]
    })
}

fn comparison() -> impl Strategy<Value = Expr> {
    let op = prop_oneof![Just(CmpOp::Eq), Just(CmpOp::Ne), Just(CmpOp::Lt), Just(CmpOp::Le), Just(CmpOp::Gt), Just(CmpOp::Ge)];
    (op, expr(), expr()).prop_map(|(op, a, b)| Expr::Cmp(op, Box::new(a), Box::new(b)))
}

/// A range per symbol and values inside them.
fn bindings() -> impl Strategy<Value = (HashMap<String, ValueRange>, HashMap<String, i64>)> {
    prop::collection::vec((-30i64..30, 0i64..40, 0.0f64..1.0, any::<bool>()), SYMBOLS.len()).prop_map(|v| {
        let mut ranges = HashMap::new();
        let mut values = HashMap::new();
        for (name, (lo, width, at, unbounded)) in SYMBOLS.iter().zip(v) {
            let hi = lo + width;
            ranges.insert(name.to_string(), ValueRange::between(Some(lo), if unbounded { None } else { Some(hi) }));
            values.insert(name.to_string(), lo + (at * width as f64) as i64);
        }
        (ranges, values)
    })
}

/// The same tree with the arguments of every n-ary node reversed and rotated.
fn reordered(e: &Expr) -> Expr {
    let all = |v: &Vec<Expr>| {
        let mut v: Vec<Expr> = v.iter().map(reordered).collect();
        v.reverse();
        let n = v.len().max(1);
        v.rotate_left(1 % n);
        v
    };
    let b = |x: &Expr| Box::new(reordered(x));
    match e {
        Expr::Add(v) => Expr::Add(all(v)),
        Expr::Mul(v) => Expr::Mul(all(v)),
        Expr::Max(v) => Expr::Max(all(v)),
        Expr::Min(v) => Expr::Min(all(v)),
        Expr::Pow(x, y) => Expr::Pow(b(x), b(y)),
        Expr::FloorDiv(x, y) => Expr::FloorDiv(b(x), b(y)),
        Expr::Mod(x, y) => Expr::Mod(b(x), b(y)),
        Expr::Cmp(op, x, y) => Expr::Cmp(*op, b(x), b(y)),
        other => other.clone(),
    }
}

fn hash(e: &Expr) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    e.hash(&mut h);
    h.finish()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn canonical_form_ignores_argument_order(e in expr()) {
        let (a, b) = (e.canonical(), reordered(&e).canonical());
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(hash(&a), hash(&b));
        // and is a fixed point
        prop_assert_eq!(a.canonical(), a);
    }

    #[test]
    fn canonical_form_keeps_the_value(e in expr(), (_, values) in bindings()) {
        if let Some(v) = e.eval(&values) {
            prop_assert_eq!(e.canonical().eval(&values), Some(v), "{} vs {}", e, e.canonical());
        }
    }

    #[test]
    fn simplification_with_ranges_keeps_the_value(e in expr(), (ranges, values) in bindings()) {
        let range_of = |s: &str| ranges[s];
        if let Some(v) = e.eval(&values) {
            let simple = e.simplify(&range_of);
            prop_assert_eq!(simple.eval(&values), Some(v), "{} simplified to {}", e, simple);
        }
    }

    #[test]
    fn comparisons_simplify_soundly(c in comparison(), (ranges, values) in bindings()) {
        let range_of = |s: &str| ranges[s];
        if let Some(v) = c.eval(&values) {
            prop_assert_eq!(c.canonical().eval(&values), Some(v));
            prop_assert_eq!(c.simplify(&range_of).eval(&values), Some(v), "{} simplified to {}", c, c.simplify(&range_of));
        }
    }

    #[test]
    fn ranges_contain_every_value(e in expr(), (ranges, values) in bindings()) {
        let range_of = |s: &str| ranges[s];
        if let Some(v) = e.eval(&values) {
            let r = e.range(&range_of);
            prop_assert!(r.contains(v), "{} = {} outside {}", e, v, r);
            let rc = e.canonical().range(&range_of);
            prop_assert!(rc.contains(v), "{} = {} outside {}", e.canonical(), v, rc);
        }
    }

    #[test]
    fn printing_parses_back(e in expr()) {
        let c = e.canonical();
        let text = c.to_string();
        prop_assert_eq!(Expr::parse(&text).unwrap(), c.clone(), "{}", text);
        prop_assert_eq!(Expr::parse_srepr(&c.to_srepr()).unwrap(), c);
    }
}

//! Every symbolic size and every range constraint PyTorch wrote into the fixture archives
//! parses, prints back identically, and evaluates.

use std::collections::HashMap;
use std::path::PathBuf;

use symbolic::{Expr, ValueRange};

fn archives() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut v = Vec::new();
    for dir in ["pytorch", "zoo"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let case = e.unwrap().path();
            for name in ["program.pt2", "program.core.pt2"] {
                if case.join(name).exists() {
                    v.push(case.join(name));
                }
            }
        }
    }
    v.sort();
    v
}

/// Every `expr_str` anywhere in the model.
fn expr_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("expr_str", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => expr_strings(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| expr_strings(x, out)),
        _ => {}
    }
}

#[test]
fn every_symbolic_size_and_range_round_trips() {
    let (mut sizes, mut ranges) = (0, 0);
    for path in archives() {
        let ep = serialize::load(&path).unwrap();
        let at = path.display();
        // a value for each symbol inside its range, to evaluate with
        let mut env: HashMap<String, i64> = HashMap::new();
        for (key, rc) in &ep.model.range_constraints {
            let range = ValueRange::between(rc.min_val, rc.max_val);
            let printed = range.to_string();
            assert_eq!(ValueRange::parse(&printed).unwrap(), range, "{at}: {printed}");
            let key_expr = Expr::parse(key).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(key_expr.to_string(), *key, "{at}: range key prints back");
            if let Some(sym) = key_expr.as_symbol() {
                env.insert(sym.to_string(), rc.min_val.unwrap_or(0).max(2));
            }
            ranges += 1;
        }
        let mut strings = Vec::new();
        expr_strings(&serde_json::to_value(&ep.model).unwrap(), &mut strings);
        for text in strings {
            let e = Expr::parse_srepr(&text).unwrap_or_else(|err| panic!("{at}: {err}"));
            assert_eq!(e.to_srepr(), text, "{at}: srepr prints back");
            // PyTorch's (SymPy's) form is already canonical in pt2's sense
            assert_eq!(e.canonical(), e, "{at}: {text} is canonical");
            let printed = e.to_string();
            assert_eq!(Expr::parse(&printed).unwrap(), e, "{at}: `{printed}` parses back");
            for s in e.free_symbols() {
                env.entry(s).or_insert(3);
            }
            assert!(e.eval(&env).is_some(), "{at}: {printed} evaluates");
            sizes += 1;
        }
    }
    assert!(sizes > 100 && ranges > 40, "read {sizes} sizes and {ranges} ranges");
}

/// The module call graph's treespecs print back exactly as PyTorch wrote them.
#[test]
fn treespecs_print_back_identically() {
    let mut checked = 0;
    for path in archives() {
        let ep = serialize::load(&path).unwrap();
        for entry in &ep.model.graph_module.module_call_graph {
            let Some(sig) = &entry.signature else { continue };
            for text in [&sig.in_spec, &sig.out_spec] {
                let Ok(spec) = ir::pytree::TreeSpec::parse(text) else { continue };
                assert_eq!(&spec.to_json(), text, "{}", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "{checked} treespecs");
}

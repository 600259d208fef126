//! Typed operator handles. Code that calls a built-in operator names it through a constant of
//! [`crate::names`] (`names::aten::add_Tensor`), never a string: the table is generated from
//! the registered schemas and a test keeps it current, so a misspelled operator does not
//! compile. Custom operators, known only at run time, are still named by string.

use std::fmt;
use std::sync::Arc;

use crate::registry::{OpDef, Registry};

/// The qualified name of a built-in operator (`aten::add.Tensor`), from [`crate::names`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpName(&'static str);

impl OpName {
    pub(crate) const fn new(qualified: &'static str) -> OpName {
        OpName(qualified)
    }

    /// `aten::add.Tensor`.
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// The operator's definition in the global registry. Every constant of [`crate::names`] is
    /// registered there (the table is generated from it, and checked by a test).
    pub fn def(self) -> Arc<OpDef> {
        match Registry::global().get(self.0) {
            Some(def) => def,
            None => unreachable!("{} is in ops::names but not registered: regenerate the table (PT2_BLESS=1 cargo test -p pt2-ops names)", self.0),
        }
    }
}

impl AsRef<str> for OpName {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl fmt::Display for OpName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for OpName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpName({})", self.0)
    }
}

impl PartialEq<str> for OpName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<OpName> for String {
    fn eq(&self, other: &OpName) -> bool {
        self == other.0
    }
}

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod",
    "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while",
    "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
];

/// The Rust identifier of an operator overload: `add.Tensor` → `add_Tensor`, `relu.default` →
/// `relu`, a keyword escaped (`r#where`).
pub fn ident(op: &str, overload: &str) -> String {
    let name = if overload == "default" { op.to_string() } else { format!("{op}_{overload}") };
    if KEYWORDS.contains(&name.as_str()) {
        format!("r#{name}")
    } else {
        name
    }
}

/// The source of `names.rs` for a registry: one constant per overload, by namespace.
pub fn render_names(registry: &Registry) -> String {
    let mut out = String::from(
        "//! Every built-in operator overload, as a typed handle: `aten::add_Tensor` is `aten::add.Tensor`,\n\
         //! `aten::relu` is `aten::relu.default`. Generated from the registry by\n\
         //! `PT2_BLESS=1 cargo test -p pt2-ops names_table_is_current`; do not edit.\n\n\
         #![allow(non_upper_case_globals)]\n",
    );
    let mut namespace = String::new();
    let mut seen = std::collections::HashSet::new();
    for name in registry.names() {
        let Some((ns, rest)) = name.split_once("::") else { continue };
        let (op, overload) = rest.split_once('.').unwrap_or((rest, "default"));
        if ns != namespace {
            if !namespace.is_empty() {
                out.push_str("}\n");
            }
            out.push_str(&format!("\npub mod {ns} {{\n    use crate::OpName;\n\n"));
            namespace = ns.to_string();
        }
        let id = ident(op, overload);
        assert!(seen.insert(format!("{ns}::{id}")), "two overloads map to the identifier {ns}::{id}");
        out.push_str(&format!("    pub const {id}: OpName = OpName::new(\"{name}\");\n"));
    }
    if !namespace.is_empty() {
        out.push_str("}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated table names exactly the registered overloads.
    #[test]
    fn names_table_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/names.rs");
        let want = render_names(Registry::global());
        let have = std::fs::read_to_string(path).unwrap_or_default();
        if have != want {
            if std::env::var_os("PT2_BLESS").is_some() {
                std::fs::write(path, want).unwrap();
            } else {
                panic!("crates/ops/src/names.rs is out of date with the registry: run PT2_BLESS=1 cargo test -p pt2-ops names_table_is_current");
            }
        }
    }

    #[test]
    fn identifiers() {
        assert_eq!(ident("add", "Tensor"), "add_Tensor");
        assert_eq!(ident("add_", "Tensor"), "add__Tensor");
        assert_eq!(ident("relu", "default"), "relu");
        assert_eq!(ident("where", "default"), "r#where");
    }
}

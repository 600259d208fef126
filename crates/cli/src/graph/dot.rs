//! Graphviz text: the same items and edges, module groups as nested clusters, control-flow
//! subgraphs as clusters beside their node.

use std::collections::BTreeMap;
use std::fmt::Write;

use ir::ExportedProgram;

use super::{Drawing, Item, Kind};

/// The program as a Graphviz `digraph`.
pub fn dot(ep: &ExportedProgram) -> String {
    let d = Drawing::of_program(ep);
    let mut out = String::from("digraph program {\n  rankdir=TB;\n  node [shape=box, style=\"rounded,filled\", fontname=\"monospace\", fontsize=10];\n");
    write_drawing(&mut out, &d, 1);
    out.push_str("}\n");
    out
}

/// Module groups as a tree: the items directly in a group, and its child groups.
#[derive(Default)]
struct Cluster {
    class: String,
    items: Vec<usize>,
    children: BTreeMap<String, Cluster>,
}

fn write_drawing(out: &mut String, d: &Drawing, depth: usize) {
    let mut root = Cluster::default();
    for (i, it) in d.items.iter().enumerate() {
        let mut c = &mut root;
        for (fqn, class) in &it.modules {
            c = c.children.entry(fqn.clone()).or_default();
            c.class = class.clone();
        }
        c.items.push(i);
    }
    write_cluster(out, d, &root, depth);
    for &(a, b) in &d.edges {
        let _ = writeln!(out, "{}{} -> {};", "  ".repeat(depth), quote(&d.items[a].id), quote(&d.items[b].id));
    }
}

fn write_cluster(out: &mut String, d: &Drawing, c: &Cluster, depth: usize) {
    let pad = "  ".repeat(depth);
    for &i in &c.items {
        write_item(out, &d.items[i], depth);
    }
    for (fqn, child) in &c.children {
        let _ = writeln!(out, "{pad}subgraph {} {{\n{pad}  label={}; style=rounded; color=gray60;", quote(&format!("cluster_{fqn}")), quote(&format!("{fqn} · {}", child.class)));
        write_cluster(out, d, child, depth + 1);
        let _ = writeln!(out, "{pad}}}");
    }
}

fn write_item(out: &mut String, it: &Item, depth: usize) {
    let pad = "  ".repeat(depth);
    let color = match it.kind {
        Kind::UserInput => "#cfe3ff",
        Kind::Parameter => "#d9f2d0",
        Kind::Buffer => "#fff0c2",
        Kind::Constant | Kind::Token => "#e4e4e4",
        Kind::SubgraphInput => "#e8e0ff",
        Kind::Operator => "#ffffff",
        Kind::Output => "#ffd6d6",
    };
    let label = if it.subtitle.is_empty() { it.title.clone() } else { format!("{}\n{}", it.title, it.subtitle) };
    let _ = writeln!(out, "{pad}{} [label={}, fillcolor=\"{color}\", tooltip={}];", quote(&it.id), quote(&label), quote(&it.details));
    for (name, sub) in &it.subgraphs {
        let _ = writeln!(out, "{pad}subgraph {} {{\n{pad}  label={}; style=dashed;", quote(&format!("cluster_{}/{name}", it.id)), quote(name));
        write_drawing(out, sub, depth + 1);
        let _ = writeln!(out, "{pad}}}");
    }
}

/// A Graphviz quoted string.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
}

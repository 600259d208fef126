//! `pt2 graph`: every fixture program drawn as a self-contained page and as Graphviz text that
//! hold every input, node and output of the program and of its control-flow subgraphs.

use std::path::{Path, PathBuf};
use std::process::Command;

use ir::schema::{Argument, Graph};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn archives() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for folder in ["fixtures/pytorch", "fixtures/zoo", "fixtures/hf"] {
        for case in pt2_cli::conformance::programs::case_dirs(&root().join(folder)).unwrap() {
            out.extend(["program.pt2", "program.core.pt2"].map(|a| case.join(a)).into_iter().filter(|p| p.exists()));
        }
    }
    out
}

/// The ids the drawing gives every input, node and output: names, prefixed inside subgraphs.
fn expected_ids(g: &Graph, prefix: &str, out: &mut Vec<String>) {
    for (i, input) in g.inputs.iter().enumerate() {
        let mut names = Vec::new();
        ir::print::arg_names(input, &mut names);
        // an input that holds no named value (a constant) is drawn as `input_<position>`
        out.push(format!("{prefix}{}", names.first().cloned().unwrap_or_else(|| format!("input_{i}"))));
    }
    for node in &g.nodes {
        let mut outputs = Vec::new();
        for o in &node.outputs {
            ir::print::arg_names(o, &mut outputs);
        }
        let name = node.name.clone().or_else(|| outputs.first().cloned()).expect("a named node");
        out.push(format!("{prefix}{name}"));
        for a in &node.inputs {
            if let Argument::AsGraph(sg) = &a.arg {
                expected_ids(&sg.graph, &format!("{prefix}{name}/{}/", sg.name), out);
            }
        }
    }
    out.push(format!("{prefix}output"));
}

#[test]
fn every_node_of_every_fixture_program_is_drawn() {
    let mut checked = 0;
    let mut subgraph_programs = 0;
    for path in archives() {
        let ep = pt2::load(&path).unwrap();
        let mut ids = Vec::new();
        expected_ids(ep.graph(), "", &mut ids);
        if ids.iter().any(|i| i.contains('/')) {
            subgraph_programs += 1;
        }
        let html = pt2_cli::graph::html(&ep, "program.pt2");
        let dot = pt2_cli::graph::dot(&ep);
        for id in &ids {
            let esc = pt2_cli::graph::escape(id);
            assert!(html.contains(&format!("id=\"n:{esc}\"")), "{}: node `{id}` is not in the page", path.display());
            assert!(dot.contains(&format!("\"{id}\" [label=")), "{}: node `{id}` is not in the Graphviz text", path.display());
        }
        // nothing else is drawn as a node
        assert_eq!(html.matches("<g class=\"node ").count(), ids.len(), "{}", path.display());
        // one file: nothing fetched from anywhere
        let outside = html.replace("http://www.w3.org/2000/svg", "");
        assert!(!outside.contains("http://") && !outside.contains("https://") && !outside.contains("<script src") && !outside.contains("<img") && !outside.contains("<link"), "{}", path.display());
        assert!(dot.starts_with("digraph program {") && dot.trim_end().ends_with('}'));
        checked += 1;
    }
    assert!(checked >= 133, "only {checked} archives drawn");
    // cond, map, scan and while_loop programs draw their subgraphs inside their node
    assert!(subgraph_programs >= 10, "only {subgraph_programs} programs with subgraphs");
}

#[test]
fn modules_become_groups() {
    let ep = pt2::load(root().join("fixtures/zoo/zoo_resnet/program.pt2")).unwrap();
    let html = pt2_cli::graph::html(&ep, "zoo_resnet");
    for group in ["stem · Sequential", "stem.3 · MaxPool2d", "layer2.down · Sequential"] {
        assert!(html.contains(&format!(">{group}</text>")), "no group `{group}`");
    }
    let dot = pt2_cli::graph::dot(&ep);
    assert!(dot.contains("subgraph \"cluster_layer2.down\""), "{dot}");
}

#[test]
fn the_command_writes_a_page_or_graphviz() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("graph_view");
    std::fs::create_dir_all(&dir).unwrap();
    let archive = root().join("fixtures/pytorch/tutorial_cond_sin_cos/program.pt2");
    for (out, marker) in [("g.html", "<!DOCTYPE html>"), ("g.dot", "digraph program {")] {
        let status = Command::new(env!("CARGO_BIN_EXE_pt2")).arg("graph").arg(&archive).arg("-o").arg(dir.join(out)).output().unwrap();
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        assert!(std::fs::read_to_string(dir.join(out)).unwrap().starts_with(marker), "{out}");
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_pt2")).arg("graph").arg(root().join("README.md")).arg("-o").arg(dir.join("x.html")).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a PT2 archive"));
}

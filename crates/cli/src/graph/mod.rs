//! `pt2 graph`: a program drawn as a graph a person can read: one self-contained HTML page
//! (SVG laid out here, so the browser only renders it) or Graphviz text.
//!
//! [`Drawing`] is what both formats draw: a program's graph as items (inputs grouped by what
//! they hold, operators with their output types, the output), the values between them as
//! edges, control-flow subgraphs drawn inside their node, and each operator's module path from
//! `nn_module_stack` for the module groups.

mod dot;
mod html;
mod layout;

pub use dot::dot;
pub use html::html;

use std::collections::HashMap;

use ir::print::{node_text, value_type_text};
use ir::unflatten::module_stack;
use ir::schema::{Argument, Graph, InputSpec};
use ir::ExportedProgram;

use layout::{Layout, Shape};

/// What an item is; inputs are told apart by what they hold, as PyTorch's graph signature does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    UserInput,
    Parameter,
    Buffer,
    Constant,
    Token,
    /// An input of a control-flow subgraph.
    SubgraphInput,
    Operator,
    Output,
}

impl Kind {
    /// The CSS class and the word a legend uses.
    pub fn class(self) -> &'static str {
        match self {
            Kind::UserInput => "input",
            Kind::Parameter => "parameter",
            Kind::Buffer => "buffer",
            Kind::Constant => "constant",
            Kind::Token => "token",
            Kind::SubgraphInput => "subinput",
            Kind::Operator => "op",
            Kind::Output => "output",
        }
    }
}

/// One drawn box.
#[derive(Debug)]
pub struct Item {
    /// Unique in the page: the node's name, prefixed by the names of the control-flow node and
    /// subgraph it is inside (`cond/true_graph_0/add`).
    pub id: String,
    pub kind: Kind,
    /// The first line: the operator (`aten.conv2d`) or the input's name.
    pub title: String,
    /// The second line: output types (`f32[2, 64, 56, 56]`).
    pub subtitle: String,
    /// Everything about it, shown on hover: name, target, arguments, outputs, source line.
    pub details: String,
    /// The modules it belongs to, outermost first: (`layer1`, `layer1.0`), with their classes.
    pub modules: Vec<(String, String)>,
    /// Control-flow subgraphs drawn inside it.
    pub subgraphs: Vec<(String, Drawing)>,
}

/// A graph, laid out.
#[derive(Debug)]
pub struct Drawing {
    pub items: Vec<Item>,
    pub edges: Vec<(usize, usize)>,
    pub sizes: Vec<(f64, f64)>,
    pub layout: Layout,
}

/// Text metrics of the page's monospace font (12px): enough to size boxes without a browser.
pub const CHAR_WIDTH: f64 = 7.3;
pub const LINE_HEIGHT: f64 = 15.0;
/// Inside a node box: padding, and the header above its subgraphs.
pub const PAD: f64 = 8.0;
pub const CAPTION: f64 = 18.0;

impl Drawing {
    /// The program's graph with its inputs named by the graph signature.
    pub fn of_program(ep: &ExportedProgram) -> Drawing {
        let kinds: Vec<Kind> = ep
            .signature()
            .input_specs
            .iter()
            .map(|s| match s {
                InputSpec::UserInput(_) => Kind::UserInput,
                InputSpec::Parameter(_) => Kind::Parameter,
                InputSpec::Buffer(_) => Kind::Buffer,
                InputSpec::TensorConstant(_) | InputSpec::CustomObj(_) => Kind::Constant,
                InputSpec::Token(_) => Kind::Token,
                _ => Kind::Constant,
            })
            .collect();
        Drawing::of_graph(ep.graph(), &kinds, "")
    }

    fn of_graph(g: &Graph, input_kinds: &[Kind], prefix: &str) -> Drawing {
        let mut items = Vec::new();
        let mut producer: HashMap<String, usize> = HashMap::new();
        for (i, input) in g.inputs.iter().enumerate() {
            let mut names = Vec::new();
            ir::print::arg_names(input, &mut names);
            let name = names.first().cloned().unwrap_or_else(|| format!("input_{i}"));
            let kind = input_kinds.get(i).copied().unwrap_or(Kind::SubgraphInput);
            let ty = value_type_text(g, &name).unwrap_or_default();
            producer.insert(name.clone(), items.len());
            items.push(Item {
                id: format!("{prefix}{name}"),
                kind,
                title: name.clone(),
                subtitle: ty.clone(),
                details: format!("{name}: {ty}\n{}", kind.class()),
                modules: Vec::new(),
                subgraphs: Vec::new(),
            });
        }
        let mut edges = Vec::new();
        for node in &g.nodes {
            let text = node_text(g, node);
            let name = node.name.clone().or_else(|| text.outputs.first().map(|o| o.0.clone())).unwrap_or_else(|| format!("node_{}", items.len()));
            let index = items.len();
            let mut used = Vec::new();
            let mut subgraphs = Vec::new();
            for a in &node.inputs {
                match &a.arg {
                    Argument::AsGraph(sg) => {
                        let inner = format!("{prefix}{name}/{}/", sg.name);
                        subgraphs.push((sg.name.clone(), Drawing::of_graph(&sg.graph, &[], &inner)));
                    }
                    arg => ir::print::arg_names(arg, &mut used),
                }
            }
            for u in used {
                if let Some(&p) = producer.get(&u) {
                    edges.push((p, index));
                }
            }
            for (o, _) in &text.outputs {
                producer.insert(o.clone(), index);
            }
            let types: Vec<&str> = text.outputs.iter().filter_map(|(_, t)| t.as_deref()).collect();
            let mut details = format!("{name} = {}\n", text.target);
            for a in &text.args {
                details.push_str(&format!("  {a}\n"));
            }
            for (o, t) in &text.outputs {
                details.push_str(&format!("-> {o}: {}\n", t.as_deref().unwrap_or("?")));
            }
            if let Some(src) = &text.source {
                details.push_str(src);
            }
            items.push(Item {
                id: format!("{prefix}{name}"),
                kind: Kind::Operator,
                title: short_target(&text.target),
                subtitle: types.join(", "),
                details: details.trim_end().to_string(),
                modules: node.metadata.get("nn_module_stack").map(|s| module_stack(s)).unwrap_or_default(),
                subgraphs,
            });
        }
        let out_index = items.len();
        let mut returned = Vec::new();
        for o in &g.outputs {
            ir::print::arg_names(o, &mut returned);
        }
        for r in &returned {
            if let Some(&p) = producer.get(r) {
                edges.push((p, out_index));
            }
        }
        items.push(Item {
            id: format!("{prefix}output"),
            kind: Kind::Output,
            title: "output".into(),
            subtitle: String::new(),
            details: format!("return ({})", returned.join(", ")),
            modules: Vec::new(),
            subgraphs: Vec::new(),
        });
        edges.sort_unstable();
        edges.dedup();
        let sizes: Vec<(f64, f64)> = items.iter().map(item_size).collect();
        let shapes: Vec<Shape> = sizes.iter().map(|&(width, height)| Shape { width, height }).collect();
        let layout = layout::layout(&shapes, &edges);
        Drawing { items, edges, sizes, layout }
    }

    /// Every item of this drawing and of the subgraphs inside it.
    pub fn all_items(&self) -> Vec<&Item> {
        let mut out = Vec::new();
        for it in &self.items {
            out.push(it);
            for (_, d) in &it.subgraphs {
                out.extend(d.all_items());
            }
        }
        out
    }
}

/// A box's size: its two lines of text, or its header over its subgraphs side by side.
fn item_size(it: &Item) -> (f64, f64) {
    let chars = it.title.chars().count().max(it.subtitle.chars().count()) as f64;
    let text_w = chars * CHAR_WIDTH + 2.0 * PAD;
    let lines = if it.subtitle.is_empty() { 1.0 } else { 2.0 };
    let header_h = lines * LINE_HEIGHT + PAD;
    if it.subgraphs.is_empty() {
        return (text_w.max(48.0), header_h);
    }
    let inner_w: f64 = it.subgraphs.iter().map(|(_, d)| d.layout.width + 3.0 * PAD).sum::<f64>() + PAD;
    let inner_h = it.subgraphs.iter().map(|(_, d)| d.layout.height).fold(0.0, f64::max);
    (text_w.max(inner_w), header_h + CAPTION + inner_h + 2.0 * PAD)
}

/// `torch.ops.aten.conv2d.default` → `aten.conv2d`; `torch.ops.higher_order.cond` → `cond`;
/// `_operator.getitem` → `getitem`. Overloads other than `default` stay (`aten.add.Tensor`).
pub fn short_target(target: &str) -> String {
    let t = target.strip_prefix("torch.ops.").unwrap_or(target);
    let t = t.strip_prefix("higher_order.").or_else(|| t.strip_prefix("_operator.")).unwrap_or(t);
    t.strip_suffix(".default").unwrap_or(t).to_string()
}

/// Escapes text for HTML and XML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_stacks_and_targets_read_as_pytorch_writes_them() {
        let stack = "L__self__,,__main__.TinyResNet;L__self__stem,stem,torch.nn.modules.container.Sequential;L__self__stem.3,stem.3,torch.nn.modules.pooling.MaxPool2d";
        assert_eq!(module_stack(stack), vec![("stem".into(), "Sequential".into()), ("stem.3".into(), "MaxPool2d".into())]);
        assert_eq!(module_stack("_empty_nn_module_stack_from_metadata_hook,_empty_nn_module_stack_from_metadata_hook,_empty_nn_module_stack_from_metadata_hook"), vec![]);
        assert_eq!(short_target("torch.ops.aten.conv2d.default"), "aten.conv2d");
        assert_eq!(short_target("torch.ops.aten.add.Tensor"), "aten.add.Tensor");
        assert_eq!(short_target("torch.ops.higher_order.cond"), "cond");
        assert_eq!(short_target("_operator.getitem"), "getitem");
    }
}

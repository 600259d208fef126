//! Printing a program as PyTorch's `print(ep)` does: the `GraphModule` code with typed
//! placeholders and one line per node (with `# File:` comments from the stack traces and the
//! `x = None` lines that mark last uses), then the graph signature and range constraints.

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write};

use crate::program::ExportedProgram;
use crate::schema::{self, Argument, Graph, InputSpec, Node, OutputSpec, SymInt};

/// How symbolic sizes are shown. PT2 archives store them as SymPy `srepr` strings
/// (`Mul(Integer(2), Symbol('s77', ...))`); the symbolic engine turns them into PyTorch's
/// printed form (`2*s77`).
pub type ExprPrinter = fn(&str) -> String;

/// Shows a stored expression as PyTorch prints it (`2*s77`); text that is not SymPy `srepr`
/// (range constraint keys are already infix) is shown as stored.
pub fn plain_expr(expr: &str) -> String {
    match symbolic::Expr::parse_srepr(expr) {
        Ok(e) => e.to_string(),
        Err(_) => expr.trim().to_string(),
    }
}

pub use ops::repr::python_float;

/// Python's `repr` of a string: single quotes unless the text holds a single quote and no
/// double quote.
pub fn python_str(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::new();
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

fn dtype_name(s: schema::ScalarType, short: bool) -> String {
    match crate::dtype::to_dtype(s) {
        Ok(d) if short => d.short_name().to_string(),
        Ok(d) => format!("torch.{}", d.name()),
        Err(_) => format!("<scalar type {}>", s.0),
    }
}

struct Printer<'a> {
    expr: ExprPrinter,
    graph: &'a Graph,
}

impl Printer<'_> {
    fn sym(&self, s: &SymInt) -> String {
        match s {
            SymInt::AsInt(i) => i.to_string(),
            SymInt::AsExpr(e) => (self.expr)(&e.expr_str),
        }
    }

    fn tensor_type(&self, name: &str) -> Option<String> {
        let m = self.graph.tensor_values.get(name)?;
        let sizes: Vec<String> = m.sizes.iter().map(|s| self.sym(s)).collect();
        Some(format!("\"{}[{}]\"", dtype_name(m.dtype, true), sizes.join(", ")))
    }

    fn sym_type(&self, name: &str) -> Option<String> {
        if let Some(s) = self.graph.sym_int_values.get(name) {
            return Some(format!("\"Sym({})\"", self.sym(s)));
        }
        if let Some(b) = self.graph.sym_bool_values.get(name) {
            return Some(match b {
                schema::SymBool::AsExpr(e) => format!("\"Sym({})\"", (self.expr)(&e.expr_str)),
                schema::SymBool::AsBool(b) => format!("\"Sym({})\"", if *b { "True" } else { "False" }),
            });
        }
        None
    }

    fn value_type(&self, name: &str) -> Option<String> {
        self.tensor_type(name).or_else(|| self.sym_type(name))
    }

    fn arg(&self, a: &Argument) -> String {
        use Argument::*;
        let list = |items: Vec<String>| format!("[{}]", items.join(", "));
        match a {
            AsNone(_) => "None".into(),
            AsTensor(t) => t.name.clone(),
            AsTensors(ts) => list(ts.iter().map(|t| t.name.clone()).collect()),
            AsInt(i) => i.to_string(),
            AsInts(is) => list(is.iter().map(|i| i.to_string()).collect()),
            AsFloat(f) => python_float(f.0),
            AsFloats(fs) => list(fs.iter().map(|f| python_float(f.0)).collect()),
            AsString(s) => python_str(s),
            AsStrings(ss) => list(ss.iter().map(|s| python_str(s)).collect()),
            AsSymInt(s) => sym_int_arg(s),
            AsSymInts(ss) => list(ss.iter().map(sym_int_arg).collect()),
            AsScalarType(s) => dtype_name(*s, false),
            AsMemoryFormat(m) => match m.0 {
                1 => "torch.contiguous_format".into(),
                2 => "torch.channels_last".into(),
                3 => "torch.channels_last_3d".into(),
                4 => "torch.preserve_format".into(),
                other => format!("<memory format {other}>"),
            },
            AsLayout(l) => if l.0 == 7 { "torch.strided".into() } else { format!("<layout {}>", l.0) },
            AsDevice(d) => match d.index {
                Some(i) => format!("device(type={}, index={i})", python_str(&d.type_)),
                None => format!("device(type={})", python_str(&d.type_)),
            },
            AsBool(b) => py_bool(*b).into(),
            AsBools(bs) => list(bs.iter().map(|b| py_bool(*b).to_string()).collect()),
            AsSymBool(s) => match s {
                schema::SymBoolArgument::AsName(n) => n.clone(),
                schema::SymBoolArgument::AsBool(b) => py_bool(*b).into(),
            },
            AsSymBools(ss) => list(
                ss.iter()
                    .map(|s| match s {
                        schema::SymBoolArgument::AsName(n) => n.clone(),
                        schema::SymBoolArgument::AsBool(b) => py_bool(*b).into(),
                    })
                    .collect(),
            ),
            AsGraph(g) => g.name.clone(),
            AsOptionalTensors(ts) => list(ts.iter().map(optional_tensor).collect()),
            AsOptionalTensor(t) => optional_tensor(t),
            AsSymFloat(s) => match s {
                schema::SymFloatArgument::AsName(n) => n.clone(),
                schema::SymFloatArgument::AsFloat(f) => python_float(f.0),
            },
            AsOperator(s) => s.clone(),
            // as torch.fx's code generation writes a complex constant
            AsComplex(c) => format!("complex({}, {})", python_float(c.real.0), python_float(c.imag.0)),
            other => format!("{other:?}"),
        }
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

fn sym_int_arg(s: &schema::SymIntArgument) -> String {
    match s {
        schema::SymIntArgument::AsName(n) => n.clone(),
        schema::SymIntArgument::AsInt(i) => i.to_string(),
    }
}

fn optional_tensor(t: &schema::OptionalTensorArgument) -> String {
    match t {
        schema::OptionalTensorArgument::AsTensor(t) => t.name.clone(),
        schema::OptionalTensorArgument::AsNone(_) => "None".into(),
    }
}

/// The value names an argument reads, in order (a subgraph argument reads its attribute).
pub fn arg_names(a: &Argument, out: &mut Vec<String>) {
    match a {
        Argument::AsTensor(t) => out.push(t.name.clone()),
        Argument::AsTensors(ts) => out.extend(ts.iter().map(|t| t.name.clone())),
        Argument::AsOptionalTensors(ts) => out.extend(ts.iter().filter_map(|t| match t {
            schema::OptionalTensorArgument::AsTensor(t) => Some(t.name.clone()),
            _ => None,
        })),
        Argument::AsOptionalTensor(schema::OptionalTensorArgument::AsTensor(t)) => out.push(t.name.clone()),
        Argument::AsSymInt(schema::SymIntArgument::AsName(n))
        | Argument::AsSymBool(schema::SymBoolArgument::AsName(n))
        | Argument::AsSymFloat(schema::SymFloatArgument::AsName(n)) => out.push(n.clone()),
        Argument::AsSymInts(ss) => out.extend(ss.iter().filter_map(|s| match s {
            schema::SymIntArgument::AsName(n) => Some(n.clone()),
            _ => None,
        })),
        Argument::AsSymBools(ss) => out.extend(ss.iter().filter_map(|s| match s {
            schema::SymBoolArgument::AsName(n) => Some(n.clone()),
            _ => None,
        })),
        Argument::AsGraph(g) => out.push(g.name.clone()),
        _ => {}
    }
}

/// The names a node's outputs bind, in order.
fn output_names(n: &Node) -> Vec<String> {
    let mut v = Vec::new();
    for o in &n.outputs {
        arg_names(o, &mut v);
    }
    v
}

/// The last frame of a stack trace as FX prints it: `File: f.py:12 in forward, code: x + 1`.
fn frame_comment(trace: &str) -> Option<String> {
    let lines: Vec<&str> = trace.lines().collect();
    let i = lines.iter().rposition(|l| l.trim_start().starts_with("File \""))?;
    let head = lines[i].trim_start().strip_prefix("File \"")?;
    let (file, rest) = head.split_once('"')?;
    let rest = rest.trim_start_matches(',').trim();
    let line = rest.strip_prefix("line ")?.split(',').next()?.trim();
    let func = rest.split_once(" in ").map(|(_, f)| f.trim()).unwrap_or("");
    let code = lines.get(i + 1).map(|c| c.trim()).filter(|c| !c.is_empty())?;
    Some(format!("File: {file}:{line} in {func}, code: {code}"))
}

const PYTHON_OPS: &[(&str, &str)] = &[
    ("add", "+"),
    ("sub", "-"),
    ("mul", "*"),
    ("truediv", "/"),
    ("floordiv", "//"),
    ("mod", "%"),
    ("pow", "**"),
    ("eq", "=="),
    ("ne", "!="),
    ("lt", "<"),
    ("le", "<="),
    ("gt", ">"),
    ("ge", ">="),
    ("and_", "&"),
    ("or_", "|"),
];

fn write_graph(f: &mut String, p: &Printer, class: &str, indent: usize, names: Option<&[String]>) -> fmt::Result {
    let g = p.graph;
    let pad = " ".repeat(indent);
    let body = " ".repeat(indent + 8);
    writeln!(f, "{pad}class {class}(torch.nn.Module):")?;
    let params: Vec<String> = g
        .inputs
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut found = Vec::new();
            arg_names(a, &mut found);
            let name = found.first().cloned().or_else(|| names.and_then(|n| n.get(i).cloned())).unwrap_or_else(|| "_".into());
            match p.value_type(&name) {
                Some(t) => format!("{name}: {t}"),
                None => name,
            }
        })
        .collect();
    let sep = if params.is_empty() { "" } else { ", " };
    writeln!(f, "{pad}    def forward(self{sep}{}):", params.join(", "))?;

    // last uses: walking backwards, the first time a name is seen is its last use
    let mut last_use: HashMap<usize, Vec<String>> = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut outs = Vec::new();
    for o in &g.outputs {
        arg_names(o, &mut outs);
    }
    seen.extend(outs);
    for (i, n) in g.nodes.iter().enumerate().rev() {
        let mut used = Vec::new();
        for a in &n.inputs {
            arg_names(&a.arg, &mut used);
        }
        for u in used {
            if seen.insert(u.clone()) {
                last_use.entry(i).or_default().push(u);
            }
        }
    }
    let mut used_anywhere: HashSet<String> = HashSet::new();
    for n in &g.nodes {
        let mut used = Vec::new();
        for a in &n.inputs {
            arg_names(&a.arg, &mut used);
        }
        used_anywhere.extend(used);
    }
    for o in &g.outputs {
        let mut v = Vec::new();
        arg_names(o, &mut v);
        used_anywhere.extend(v);
    }

    // FX (2.15) starts a group when the summary line changes — the innermost frame as printed,
    // not the whole stack trace — starting from "none seen yet", so a first node without a
    // trace says so; a trace whose last frame has no code line prints as "No stacktrace found".
    let mut prev_summary: Option<String> = None;
    let mut printed_any = false;
    let mut subgraphs: Vec<(&str, &Graph)> = Vec::new();
    for (i, n) in g.nodes.iter().enumerate() {
        let summary = n
            .metadata
            .get("stack_trace")
            .and_then(|t| frame_comment(t))
            .unwrap_or_else(|| "No stacktrace found for following nodes".to_string());
        if prev_summary.as_ref() != Some(&summary) {
            if printed_any {
                writeln!(f, "    ")?;
            }
            writeln!(f, "{body}# {summary}")?;
            prev_summary = Some(summary);
        }
        printed_any = true;
        let node_name = n.name.clone().unwrap_or_else(|| n.target.rsplit('.').next().unwrap_or("node").to_string());
        // subgraph arguments are read from attributes first
        for a in &n.inputs {
            if let Argument::AsGraph(sg) = &a.arg {
                writeln!(f, "{body}{0} = self.{0}", sg.name)?;
                subgraphs.push((&sg.name, &sg.graph));
            }
        }
        let mut dead: Vec<String> = last_use.remove(&i).unwrap_or_default();
        // a positional argument list, then `name = value` keywords
        let mut rendered = Vec::new();
        for a in &n.inputs {
            let v = p.arg(&a.arg);
            if a.kind == Some(schema::ArgumentKind::KEYWORD) {
                rendered.push(format!("{} = {v}", a.name));
            } else {
                rendered.push(v);
            }
        }
        let outs = output_names(n);
        let python_op = n.target.strip_prefix("_operator.").and_then(|op| PYTHON_OPS.iter().find(|(k, _)| *k == op)).map(|(_, s)| *s);
        let call = match python_op {
            Some(sym) if rendered.len() == 2 => format!("{} {sym} {}", rendered[0], rendered[1]),
            _ => format!("{}({})", n.target, rendered.join(", ")),
        };
        let single = n.outputs.len() == 1
            && matches!(n.outputs[0], Argument::AsTensor(_) | Argument::AsSymInt(_) | Argument::AsSymBool(_) | Argument::AsSymFloat(_))
            && !n.target.starts_with("torch.ops.higher_order.");
        let suffix = |dead: &[String]| if dead.is_empty() { String::new() } else { format!(";  {} = None", dead.join(" = ")) };
        if single {
            let out = &outs[0];
            if !used_anywhere.contains(out) {
                dead.push(out.clone());
            }
            let ty = p.value_type(out).map(|t| format!(": {t}")).unwrap_or_default();
            writeln!(f, "{body}{out}{ty} = {call}{}", suffix(&dead))?;
        } else if outs.is_empty() {
            // a node returning nothing is still bound to its name, which is dead at once
            dead.push(node_name.clone());
            writeln!(f, "{body}{node_name} = {call}{}", suffix(&dead))?;
        } else {
            writeln!(f, "{body}{node_name} = {call}{}", suffix(&dead))?;
            let n_out = outs.len();
            for (k, out) in outs.iter().enumerate() {
                let ty = p.value_type(out).map(|t| format!(": {t}")).unwrap_or_default();
                let mut d = Vec::new();
                if k + 1 == n_out {
                    d.push(node_name.clone());
                }
                if !used_anywhere.contains(out) {
                    d.push(out.clone());
                }
                writeln!(f, "{body}{out}{ty} = {node_name}[{k}]{}", suffix(&d))?;
            }
        }
    }
    let rets: Vec<String> = g.outputs.iter().map(|o| p.arg(o)).collect();
    let tuple = if g.is_single_tensor_return && rets.len() == 1 {
        rets[0].clone()
    } else if rets.len() == 1 {
        format!("({},)", rets[0])
    } else {
        format!("({})", rets.join(", "))
    };
    writeln!(f, "{body}return {tuple}")?;
    for (name, sg) in subgraphs {
        writeln!(f, "    ")?;
        let sp = Printer { expr: p.expr, graph: sg };
        write_graph(f, &sp, name, indent + 4, None)?;
    }
    Ok(())
}

impl ExportedProgram {
    /// Per placeholder, the name of a constant input (which its placeholder argument does not
    /// carry), empty for the others.
    fn constant_input_names(&self) -> Vec<String> {
        self.signature()
            .input_specs
            .iter()
            .map(|s| match s {
                InputSpec::ConstantInput(c) => c.name.clone(),
                _ => String::new(),
            })
            .collect()
    }

    /// The program in PyTorch's `print(ep)` layout, with symbolic sizes shown by `expr`.
    pub fn to_text(&self, expr: ExprPrinter) -> String {
        let mut f = String::from("ExportedProgram:\n");
        let p = Printer { expr, graph: self.graph() };
        let placeholder_names = self.constant_input_names();
        write_graph(&mut f, &p, "GraphModule", 4, Some(&placeholder_names)).expect("writing to a String");
        f.push_str("    \nGraph signature:\n    # inputs\n");
        for s in &self.signature().input_specs {
            let line = match s {
                InputSpec::UserInput(u) => format!("{}: USER_INPUT", p.arg(&u.arg)),
                InputSpec::Parameter(x) => format!("{}: PARAMETER target='{}'", x.arg.name, x.parameter_name),
                InputSpec::Buffer(x) => {
                    format!("{}: BUFFER target='{}' persistent={}", x.arg.name, x.buffer_name, py_bool(x.persistent))
                }
                InputSpec::TensorConstant(x) => format!("{}: CONSTANT_TENSOR target='{}'", x.arg.name, x.tensor_constant_name),
                InputSpec::CustomObj(x) => format!("{}: CUSTOM_OBJ target='{}'", x.arg.name, x.custom_obj_name),
                InputSpec::Token(x) => format!("{}: TOKEN", x.arg.name),
                InputSpec::ConstantInput(x) => format!("{}: USER_INPUT", x.name),
            };
            f.push_str(&format!("    {line}\n"));
        }
        f.push_str("    \n    # outputs\n");
        for s in &self.signature().output_specs {
            let line = match s {
                OutputSpec::UserOutput(u) => format!("{}: USER_OUTPUT", p.arg(&u.arg)),
                OutputSpec::LossOutput(x) => format!("{}: LOSS_OUTPUT", x.arg.name),
                OutputSpec::BufferMutation(x) => format!("{}: BUFFER_MUTATION target='{}'", x.arg.name, x.buffer_name),
                OutputSpec::GradientToParameter(x) => format!("{}: GRADIENT_TO_PARAMETER target='{}'", x.arg.name, x.parameter_name),
                OutputSpec::GradientToUserInput(x) => format!("{}: GRADIENT_TO_USER_INPUT target='{}'", x.arg.name, x.user_input_name),
                OutputSpec::UserInputMutation(x) => format!("{}: USER_INPUT_MUTATION target='{}'", x.arg.name, x.user_input_name),
                OutputSpec::Token(x) => format!("{}: TOKEN", x.arg.name),
                OutputSpec::ParameterMutation(x) => format!("{}: PARAMETER_MUTATION target='{}'", x.arg.name, x.parameter_name),
            };
            f.push_str(&format!("    {line}\n"));
        }
        f.push_str(&format!("    \nRange constraints: {{{}}}\n", self.range_lines(expr).join(", ")));
        f
    }

    /// `s0: VR[2, 64]` for each constrained symbol the graph still uses (PyTorch keeps those).
    fn range_lines(&self, expr: ExprPrinter) -> Vec<String> {
        let used = self.symbols_in_graph();
        self.model
            .range_constraints
            .iter()
            .filter(|(k, _)| identifiers(k).iter().all(|s| used.contains(s)))
            .map(|(k, r)| format!("{}: {}", (expr)(k), symbolic::ValueRange::between(r.min_val, r.max_val)))
            .collect()
    }

    /// How to call the program, in a few lines: each user input by the name `Module::call`
    /// binds and `pt2 run` reads (`x`, `inp['mask']`) with its dtype and sizes, each output,
    /// and the range of each symbol:
    ///
    /// ```text
    /// x: f32[s0, 4]
    /// -> f32[s0, 3]
    /// s0: VR[2, 64]
    /// ```
    pub fn signature_summary(&self) -> String {
        let graph = self.graph();
        let p = Printer { expr: plain_expr, graph };
        let type_of = |name: &str| p.value_type(name).map(|t| t.trim_matches('"').to_string()).unwrap_or_else(|| "a constant".to_string());
        let placeholders: Vec<String> = self
            .signature()
            .input_specs
            .iter()
            .filter_map(|s| match s {
                InputSpec::UserInput(u) => {
                    let mut names = Vec::new();
                    arg_names(&u.arg, &mut names);
                    Some(names.into_iter().next().unwrap_or_default())
                }
                _ => None,
            })
            .collect();
        let names = self.input_names();
        let mut lines: Vec<String> = placeholders
            .iter()
            .enumerate()
            .map(|(i, placeholder)| format!("{}: {}", names.get(i).cloned().unwrap_or_else(|| placeholder.clone()), type_of(placeholder)))
            .collect();
        for s in &self.signature().output_specs {
            if let OutputSpec::UserOutput(u) = s {
                let mut out = Vec::new();
                arg_names(&u.arg, &mut out);
                lines.push(format!("-> {}", out.first().map_or_else(|| p.arg(&u.arg), |n| type_of(n))));
            }
        }
        lines.extend(self.range_lines(plain_expr));
        lines.join("\n")
    }
}

/// The symbol names (`s77`, `u0`) in an expression, in infix or SymPy `srepr` form.
pub fn identifiers(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\'' {
            // srepr: Symbol('s77', ...)
            let end = expr[i + 1..].find('\'').map(|e| i + 1 + e).unwrap_or(bytes.len());
            out.push(expr[i + 1..end].to_string());
            i = end + 1;
        } else if c.is_ascii_lowercase() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            let end = expr[i..].find(|ch: char| !ch.is_ascii_alphanumeric() && ch != '_').map(|e| i + e).unwrap_or(bytes.len());
            let word = &expr[i..end];
            if word.len() > 1 && word[1..].chars().all(|ch| ch.is_ascii_digit()) {
                out.push(word.to_string());
            }
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

impl ExportedProgram {
    /// Every symbol used by a size, stride or symbolic value of the graph or its subgraphs.
    pub fn symbols_in_graph(&self) -> HashSet<String> {
        fn walk(g: &Graph, out: &mut HashSet<String>) {
            let mut add = |s: &SymInt| {
                if let SymInt::AsExpr(e) = s {
                    out.extend(identifiers(&e.expr_str));
                }
            };
            for m in g.tensor_values.values() {
                m.sizes.iter().chain(&m.strides).chain(std::iter::once(&m.storage_offset)).for_each(&mut add);
            }
            g.sym_int_values.values().for_each(&mut add);
            for n in &g.nodes {
                for a in &n.inputs {
                    if let Argument::AsGraph(sg) = &a.arg {
                        walk(&sg.graph, out);
                    }
                }
            }
        }
        let mut out = HashSet::new();
        walk(self.graph(), &mut out);
        out
    }
}

impl fmt::Display for ExportedProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text(plain_expr))
    }
}

/// An argument as FX's graph listing shows it: values as `%name`, strings unquoted.
fn fx_arg(p: &Printer, a: &Argument) -> String {
    let refer = |n: &str| format!("%{n}");
    let list = |items: Vec<String>| format!("[{}]", items.join(", "));
    match a {
        Argument::AsTensor(t) => refer(&t.name),
        Argument::AsTensors(ts) => list(ts.iter().map(|t| refer(&t.name)).collect()),
        Argument::AsSymInt(schema::SymIntArgument::AsName(n)) | Argument::AsSymBool(schema::SymBoolArgument::AsName(n)) | Argument::AsSymFloat(schema::SymFloatArgument::AsName(n)) => refer(n),
        Argument::AsSymInts(ss) => list(
            ss.iter()
                .map(|s| match s {
                    schema::SymIntArgument::AsName(n) => refer(n),
                    schema::SymIntArgument::AsInt(i) => i.to_string(),
                })
                .collect(),
        ),
        Argument::AsOptionalTensors(ts) => list(
            ts.iter()
                .map(|t| match t {
                    schema::OptionalTensorArgument::AsTensor(t) => refer(&t.name),
                    schema::OptionalTensorArgument::AsNone(_) => "None".into(),
                })
                .collect(),
        ),
        Argument::AsOptionalTensor(schema::OptionalTensorArgument::AsTensor(t)) => refer(&t.name),
        Argument::AsString(s) => s.clone(),
        Argument::AsDevice(d) => match d.index {
            Some(i) => format!("{}:{i}", d.type_),
            None => d.type_.clone(),
        },
        Argument::AsGraph(g) => refer(&g.name),
        other => p.arg(other),
    }
}

fn fx_target(t: &str) -> String {
    match t.strip_prefix("_operator.") {
        Some(op) => format!("operator.{op}"),
        None => t.to_string(),
    }
}

impl ExportedProgram {
    /// The graph as FX lists it (`print(ep.graph)`): one line per node with its users count.
    pub fn graph_text(&self) -> String {
        let g = self.graph();
        let p = Printer { expr: plain_expr, graph: g };
        // users: distinct consuming nodes (and the output) per value
        let mut users: HashMap<String, usize> = HashMap::new();
        for n in &g.nodes {
            let mut used = Vec::new();
            for a in &n.inputs {
                arg_names(&a.arg, &mut used);
            }
            let distinct: HashSet<String> = used.into_iter().collect();
            for u in distinct {
                *users.entry(u).or_default() += 1;
            }
        }
        let mut outs = Vec::new();
        for o in &g.outputs {
            arg_names(o, &mut outs);
        }
        for u in outs.into_iter().collect::<HashSet<_>>() {
            *users.entry(u).or_default() += 1;
        }
        let count = |n: &str| users.get(n).copied().unwrap_or(0);
        let mut f = String::from("graph():\n");
        let placeholder_names = self.constant_input_names();
        for (i, a) in g.inputs.iter().enumerate() {
            let mut names = Vec::new();
            arg_names(a, &mut names);
            let name = names.first().cloned().or_else(|| placeholder_names.get(i).cloned()).unwrap_or_default();
            f.push_str(&format!("    %{name} : [num_users={}] = placeholder[target={name}]\n", count(&name)));
        }
        for n in &g.nodes {
            for a in &n.inputs {
                if let Argument::AsGraph(sg) = &a.arg {
                    f.push_str(&format!("    %{0} : [num_users=1] = get_attr[target={0}]\n", sg.name));
                }
            }
            let (mut args, mut kwargs) = (Vec::new(), Vec::new());
            for a in &n.inputs {
                if a.kind == Some(schema::ArgumentKind::KEYWORD) {
                    kwargs.push(format!("{}: {}", a.name, fx_arg(&p, &a.arg)));
                } else {
                    args.push(fx_arg(&p, &a.arg));
                }
            }
            let args = if args.len() == 1 { format!("({},)", args[0]) } else { format!("({})", args.join(", ")) };
            let call = format!("call_function[target={}](args = {args}, kwargs = {{{}}})", fx_target(&n.target), kwargs.join(", "));
            let outs = output_names(n);
            let node_name = n.name.clone().unwrap_or_else(|| n.target.rsplit('.').next().unwrap_or("node").to_string());
            let single = n.outputs.len() == 1
                && matches!(n.outputs[0], Argument::AsTensor(_) | Argument::AsSymInt(_) | Argument::AsSymBool(_) | Argument::AsSymFloat(_))
                && !n.target.starts_with("torch.ops.higher_order.");
            if single {
                f.push_str(&format!("    %{} : [num_users={}] = {call}\n", outs[0], count(&outs[0])));
            } else {
                f.push_str(&format!("    %{node_name} : [num_users={}] = {call}\n", outs.len()));
                for (k, o) in outs.iter().enumerate() {
                    f.push_str(&format!("    %{o} : [num_users={}] = call_function[target=operator.getitem](args = (%{node_name}, {k}), kwargs = {{}})\n", count(o)));
                }
            }
        }
        let rets: Vec<String> = g.outputs.iter().map(|o| p.arg(o)).collect();
        let tuple = if rets.len() == 1 { format!("({},)", rets[0]) } else { format!("({})", rets.join(", ")) };
        f.push_str(&format!("    return {tuple}"));
        f
    }
}

/// One node as `print(ep)` shows it, in parts, for views that draw nodes rather than lines
/// (`pt2 graph`).
#[derive(Clone, Debug, PartialEq)]
pub struct NodeText {
    /// The operator as the program names it (`torch.ops.aten.conv2d.default`).
    pub target: String,
    /// Each argument as `name=value`, values printed as in `print(ep)`.
    pub args: Vec<String>,
    /// Each output's name and type (`f32[2, s27, 32]`, `Sym(s27)`), where the program records one.
    pub outputs: Vec<(String, Option<String>)>,
    /// The innermost user frame (`File: model.py:12 in forward, code: x + 1`), if recorded.
    pub source: Option<String>,
}

/// The parts of `node` (of `graph`) as `print(ep)` prints them.
pub fn node_text(graph: &Graph, node: &Node) -> NodeText {
    let p = Printer { expr: plain_expr, graph };
    NodeText {
        target: node.target.clone(),
        args: node.inputs.iter().map(|a| format!("{}={}", a.name, p.arg(&a.arg))).collect(),
        outputs: output_names(node).into_iter().map(|o| (o.clone(), value_type_text(graph, &o))).collect(),
        source: node.metadata.get("stack_trace").and_then(|t| frame_comment(t)),
    }
}

/// The type of value `name` of `graph` as `print(ep)` annotates it, without quotes
/// (`f32[2, s27, 32]`, `Sym(s27)`).
pub fn value_type_text(graph: &Graph, name: &str) -> Option<String> {
    let p = Printer { expr: plain_expr, graph };
    p.value_type(name).map(|t| t.trim_matches('"').to_string())
}

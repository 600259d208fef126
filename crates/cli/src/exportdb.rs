//! `pt2 exportdb write DIR` / `pt2 exportdb show NAME`: the case catalogue exported into the
//! shared fixture format (`program.pt2`, `io.safetensors`, `case.json`), so that the same
//! conformance runner checks pt2's own exports and PyTorch's.

use std::path::Path;

use export::{Inputs, Tree};
use exportdb::Case;
use ops::Value;
use serde_json::{json, Value as Json};

use crate::run::write_safetensors;

/// What writing one case gave.
pub enum Written {
    /// The program was exported, with this many input sets and rejects.
    Program { sets: usize, rejects: usize },
    /// Export failed as the case expects (`export_error.txt` holds the message).
    ExpectedError,
}

/// The leaves of an input or output tree as fixture JSON, their tensors stored under
/// `{prefix}.{i}`.
fn leaves_json(tree: &Tree, prefix: &str, tensors: &mut Vec<(String, tensor::Tensor)>, out: &mut Vec<Json>) {
    match tree {
        Tree::Tensor(t) => {
            let key = format!("{prefix}.{}", out.len());
            // a copy: an eager run that mutates its input in place must not change what was saved
            let data = t.data().contiguous().deep_clone();
            out.push(json!({"tensor": key, "dtype": data.dtype().name(), "shape": data.shape()}));
            tensors.push((key, data));
        }
        Tree::Int(i) => out.push(json!({ "int": i })),
        Tree::SymInt(s) => out.push(json!({ "int": s.hint() })),
        Tree::Float(f) => out.push(json!({ "float": f })),
        Tree::Bool(b) => out.push(json!({ "bool": b })),
        Tree::None => {}
        Tree::Tuple(v) | Tree::List(v) => v.iter().for_each(|c| leaves_json(c, prefix, tensors, out)),
        Tree::Dict(v) => v.iter().for_each(|(_, c)| leaves_json(c, prefix, tensors, out)),
    }
}

fn inputs_json(inputs: &Inputs, prefix: &str, tensors: &mut Vec<(String, tensor::Tensor)>) -> Vec<Json> {
    let mut out = Vec::new();
    for (_, t) in &inputs.args {
        leaves_json(t, prefix, tensors, &mut out);
    }
    out
}

/// The inputs' leaves as runtime values, in the program's input order.
pub fn flat_values(inputs: &Inputs) -> Vec<Value> {
    fn walk(t: &Tree, out: &mut Vec<Value>) {
        match t {
            Tree::Tensor(t) => out.push(Value::Tensor(t.data().deep_clone())),
            Tree::Int(i) => out.push(Value::Int(*i)),
            Tree::SymInt(s) => out.push(Value::Int(s.hint())),
            Tree::Float(f) => out.push(Value::Float(*f)),
            Tree::Bool(b) => out.push(Value::Bool(*b)),
            Tree::None => {}
            Tree::Tuple(v) | Tree::List(v) => v.iter().for_each(|c| walk(c, out)),
            Tree::Dict(v) => v.iter().for_each(|(_, c)| walk(c, out)),
        }
    }
    let mut out = Vec::new();
    inputs.args.iter().for_each(|(_, t)| walk(t, &mut out));
    out
}

/// Exports `case` into `dir/<name>/`.
pub fn write_case(case: &Case, dir: &Path) -> Result<Written, String> {
    let folder = dir.join(case.name);
    std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let model = (case.model)();
    let sets = (case.sets)();
    let example = sets.first().ok_or_else(|| format!("{}: a case needs at least one input set", case.name))?;
    let options = export::ExportOptions { dynamic_shapes: (case.dynamic_shapes)(), ..Default::default() };
    let exported = export::export(model.as_ref(), example.clone(), &options);
    let ep = match (exported, case.export_error()) {
        (Err(e), Some(want)) if e.to_string().contains(want) => {
            std::fs::write(folder.join("export_error.txt"), e.to_string()).map_err(|e| e.to_string())?;
            return Ok(Written::ExpectedError);
        }
        (Err(e), Some(want)) => return Err(format!("{}: export failed with `{e}`, expected an error containing `{want}`", case.name)),
        (Err(e), None) => return Err(format!("{}: export failed: {e}", case.name)),
        (Ok(_), Some(want)) => return Err(format!("{}: export succeeded, expected an error containing `{want}`", case.name)),
        (Ok(ep), None) => ep,
    };
    serialize::save(&ep, folder.join("program.pt2")).map_err(|e| format!("{}: {e}", case.name))?;

    let mut tensors = Vec::new();
    let mut sets_json = Vec::new();
    for (i, set) in sets.iter().enumerate() {
        let inputs = inputs_json(set, &format!("set{i}.in"), &mut tensors);
        // the eager outputs, from a fresh model so that mutated buffers start the same
        let out = (case.model)().forward(set).map_err(|e| format!("{}: eager run of set {i}: {e}", case.name))?;
        let mut outputs = Vec::new();
        leaves_json(&out, &format!("set{i}.out"), &mut tensors, &mut outputs);
        sets_json.push(json!({"inputs": inputs, "outputs": outputs}));
    }
    ep.module().map_err(|e| format!("{}: the exported program does not verify: {e}", case.name))?;
    let mut rejects_json = Vec::new();
    for (i, set) in (case.rejects)().iter().enumerate() {
        let inputs = inputs_json(set, &format!("reject{i}.in"), &mut tensors);
        let error = match ep.check_inputs(&flat_values(set)) {
            Err(e) => e.to_string(),
            Ok(()) => return Err(format!("{}: reject set {i} is accepted by the exported program", case.name)),
        };
        // pt2's own refusal: these folders check pt2 against itself, not against PyTorch
        rejects_json.push(json!({"inputs": inputs, "pt2_error": error}));
    }
    write_safetensors(&tensors, &folder.join("io.safetensors"))?;
    let ranges: serde_json::Map<String, Json> = ep
        .model
        .range_constraints
        .iter()
        .map(|(k, r)| {
            let b = |v: Option<i64>, inf: &str| v.map(|v| v.to_string()).unwrap_or_else(|| inf.to_string());
            (k.clone(), json!([b(r.min_val, "-int_oo"), b(r.max_val, "int_oo")]))
        })
        .collect();
    let case_json = json!({
        "name": case.name,
        "description": case.description,
        "tags": case.tags,
        "torch_version": null,
        "reference": format!("pt2 {} eager run (self-consistency, not PyTorch's ground truth)", env!("CARGO_PKG_VERSION")),
        "strict": false,
        "has_core_ir": false,
        "custom_ops": [],
        "sets": sets_json,
        "rejects": rejects_json,
        "range_constraints": ranges,
        "graph": ep.graph_text(),
    });
    let text = serde_json::to_string_pretty(&case_json).map_err(|e| e.to_string())?;
    std::fs::write(folder.join("case.json"), text).map_err(|e| e.to_string())?;
    Ok(Written::Program { sets: sets.len(), rejects: rejects_json.len() })
}

/// The case's source, then its exported program (or the error export gives).
pub fn show(case: &Case) -> String {
    let mut out = format!("// {} — {}\n// tags: {}\n\n{}\n\n", case.name, case.description, case.tags.join(", "), case.source());
    let sets = (case.sets)();
    let Some(example) = sets.first() else { return out };
    let options = export::ExportOptions { dynamic_shapes: (case.dynamic_shapes)(), ..Default::default() };
    match export::export((case.model)().as_ref(), example.clone(), &options) {
        Ok(ep) => out.push_str(&ep.to_string()),
        Err(e) => out.push_str(&format!("export fails:\n{e}\n")),
    }
    out
}

/// `pt2 exportdb draft NAME`: the case draft-exported on its example, as its report.
pub fn draft(case: &Case) -> Result<export::DraftExport, String> {
    let sets = (case.sets)();
    let example = sets.first().ok_or_else(|| format!("case `{}` has no input set", case.name))?;
    let options = export::ExportOptions { dynamic_shapes: (case.dynamic_shapes)(), ..Default::default() };
    export::draft_export((case.model)().as_ref(), example.clone(), &options).map_err(|e| e.to_string())
}

/// One case of a catalogue run: how writing it went, and how its written program fared in the
/// conformance runner.
pub struct CaseRow {
    pub name: String,
    pub tags: Vec<String>,
    /// ExportDB's support level (`Support::name`).
    pub support: &'static str,
    pub written: Result<Written, String>,
    pub conformance: Option<Result<crate::conformance::programs::Checked, String>>,
}

pub struct Report {
    pub rows: Vec<CaseRow>,
}

impl Report {
    pub fn passed(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| match (&r.written, &r.conformance) {
                (Ok(Written::ExpectedError), _) => true,
                (Ok(Written::Program { .. }), Some(Ok(_))) => true,
                _ => false,
            })
            .count()
    }

    pub fn summary(&self) -> String {
        format!(
            "exportdb: {} of {} cases pass (exported and consistent with pt2's eager run, or failing exactly as expected)",
            self.passed(),
            self.rows.len()
        )
    }

    /// The markdown table `conformance/exportdb.md` holds.
    pub fn table(&self) -> String {
        let mut s = String::from("# Catalogue conformance\n\n");
        s.push_str("Generated by `pt2 exportdb write DIR --table conformance/exportdb.md`; do not edit.\n");
        s.push_str("Each case is a program written in Rust (`crates/exportdb`), exported by pt2, run eagerly on every input\n");
        s.push_str("set, and its written folder checked by `pt2 conformance programs`: the exported program's outputs match\n");
        s.push_str("pt2's eager run and its rejects are refused. This is self-consistency, not ground truth; the cases PyTorch\n");
        s.push_str("also exported are compared with PyTorch's recordings by `crates/cli/tests/exportdb.rs`.\n\n");
        s.push_str(&format!("**{}**\n\n| case | tags | support | export | conformance |\n|---|---|---|---|---|\n", self.summary()));
        for r in &self.rows {
            let export = match &r.written {
                Ok(Written::Program { sets, rejects }) => format!("exported; {sets} sets, {rejects} rejects"),
                Ok(Written::ExpectedError) => "fails as expected".to_string(),
                Err(e) => format!("FAIL: {}", e.replace('|', "\\|").replace('\n', " ")),
            };
            let conf = match &r.conformance {
                Some(Ok(_)) => "pass".to_string(),
                Some(Err(e)) => format!("FAIL: {}", e.replace('|', "\\|").replace('\n', " ")),
                None => "-".to_string(),
            };
            s.push_str(&format!("| {} | {} | {} | {export} | {conf} |\n", r.name, r.tags.join(", "), r.support));
        }
        s
    }
}

/// Writes every case (whose name contains `filter`) into `dir` and runs the conformance
/// runner on the written folders.
pub fn write_all(dir: &Path, filter: Option<&str>) -> Result<Report, String> {
    let cases: Vec<Case> = exportdb::catalogue().into_iter().filter(|c| filter.is_none_or(|f| c.name.contains(f))).collect();
    let mut rows: Vec<CaseRow> = cases
        .iter()
        .map(|c| CaseRow { name: c.name.to_string(), tags: c.tags.iter().map(|t| t.to_string()).collect(), support: c.support.name(), written: write_case(c, dir), conformance: None })
        .collect();
    let report = crate::conformance::programs::run(dir, filter)?;
    for a in report.archives {
        if let Some(r) = rows.iter_mut().find(|r| r.name == a.case) {
            r.conformance = Some(a.outcome);
        }
    }
    Ok(Report { rows })
}

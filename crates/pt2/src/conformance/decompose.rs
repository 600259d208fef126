//! `pt2 conformance decompose DIR`: every fixture program lowered with the default
//! decompositions must hold only core ATen operators (plus higher-order, assertion and
//! symbolic-size ones), still match PyTorch's recorded outputs and refuse the reject sets; and
//! its operator multiset is compared with PyTorch's own `program.core.pt2`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;

use crate::conformance::fixture::TensorStore;
use crate::conformance::programs::{case_dirs, check_program, register_custom_op_as_relu};

pub struct CaseResult {
    pub case: String,
    /// `Err` when decomposing failed, the result is not core ATen, or it computes something else.
    pub outcome: Result<(), String>,
    /// Where PyTorch's core program exists: `None` when the operator multisets are equal, or
    /// how they differ.
    pub multiset: Option<Option<String>>,
}

pub struct Report {
    pub cases: Vec<CaseResult>,
}

impl Report {
    pub fn summary(&self) -> String {
        let ok = self.cases.iter().filter(|c| c.outcome.is_ok()).count();
        let compared: Vec<&CaseResult> = self.cases.iter().filter(|c| c.multiset.is_some()).collect();
        let same = compared.iter().filter(|c| matches!(c.multiset, Some(None))).count();
        format!(
            "decompose: {ok} of {} programs lowered to core ATen and still correct; operator multiset equal to PyTorch's core program for {same} of {}",
            self.cases.len(),
            compared.len()
        )
    }
}

fn multiset(ep: &ir::ExportedProgram) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for n in &ep.graph().nodes {
        *m.entry(n.target.trim_start_matches("torch.ops.").to_string()).or_insert(0) += 1;
    }
    m
}

fn difference(ours: &BTreeMap<String, usize>, theirs: &BTreeMap<String, usize>) -> Option<String> {
    let mut parts = Vec::new();
    for k in ours.keys().chain(theirs.keys()).collect::<std::collections::BTreeSet<_>>() {
        let (a, b) = (ours.get(k).copied().unwrap_or(0), theirs.get(k).copied().unwrap_or(0));
        if a != b {
            parts.push(format!("{k}: {a} vs PyTorch {b}"));
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

pub fn run(dir: &Path, filter: Option<&str>) -> Result<Report, String> {
    register_custom_op_as_relu(ops::Registry::global())?;
    let table = decomp::default_decompositions();
    let mut cases = Vec::new();
    for case_dir in case_dirs(dir)? {
        let name = case_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if filter.is_some_and(|f| !name.contains(f)) || !case_dir.join("program.pt2").exists() {
            continue;
        }
        let ep = serialize::load(case_dir.join("program.pt2")).map_err(|e| e.to_string())?;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<ir::ExportedProgram, String> {
            let lowered = decomp::run_decompositions(&ep, &table).map_err(|e| e.0)?;
            let stray = lowered.verify_core_aten(ops::Registry::global());
            if !stray.is_empty() {
                return Err(stray.join("; "));
            }
            let json: Json = serde_json::from_str(&std::fs::read_to_string(case_dir.join("case.json")).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
            let store = TensorStore::load(&case_dir.join("io.safetensors"))?;
            check_program(&lowered, &json, &store)?;
            Ok(lowered)
        }))
        .unwrap_or_else(|_| Err("panicked".into()));
        let multiset_cmp = match (&outcome, serialize::load(case_dir.join("program.core.pt2"))) {
            (Ok(lowered), Ok(theirs)) => Some(difference(&multiset(lowered), &multiset(&theirs))),
            (Err(_), Ok(_)) => Some(Some("not lowered".into())),
            _ => None,
        };
        cases.push(CaseResult { case: name, outcome: outcome.map(|_| ()), multiset: multiset_cmp });
    }
    Ok(Report { cases })
}

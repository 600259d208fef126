//! `draft_export`: an export that never stops at the first problem. It returns a program and a
//! report of every problem met in one run — each with its kind, the user's line and what to do —
//! where [`export`](crate::export) would have refused at the first. Where the program had to be
//! decided on the example (a branch on data, a read of tensor values into host code), the
//! decision is listed and, where the program can check it, kept as a runtime assertion; where
//! an operator had no meta function, it ran on the data and its output sizes are the example's.
//!
//! A clean report says the program is what `export` would give; otherwise fix what the report
//! lists and go back to `export`.

use std::cell::RefCell;
use std::fmt;

use serde::Serialize;

use crate::capture::{export_with, ExportOptions, Inputs, Program};
use crate::Result;

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The example is outside a `Dim`'s declared range (the range was widened to hold it).
    ExampleOutsideRange,
    /// The program needs other constraints than the `DynamicShapes` declare (fixes given).
    ConstraintViolation,
    /// A branch on a value read from tensor data: taken as the example takes it.
    DataDependent,
    /// A traced tensor's values read into host code: the example's values kept, with a
    /// runtime check.
    HostRead,
    /// An operator without a meta function traced with dynamic shapes: run on the data, its
    /// output sizes the example's.
    MissingMeta,
    /// A custom operator without a meta function: run on the data.
    MissingCustomMeta,
}

impl ProblemKind {
    fn title(self) -> &'static str {
        match self {
            ProblemKind::ExampleOutsideRange => "Example outside its Dim's range",
            ProblemKind::ConstraintViolation => "Constraint violation",
            ProblemKind::DataDependent => "Data dependent error",
            ProblemKind::HostRead => "Tensor values read into host code",
            ProblemKind::MissingMeta => "Operator without a meta function",
            ProblemKind::MissingCustomMeta => "Custom operator without a meta function",
        }
    }
}

/// One problem, where it happened and what to do about it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    /// What happened, in pt2's words (the message `export` would have failed with).
    pub message: String,
    /// The user's line (`src/model.rs:12`), where known.
    pub location: Option<String>,
    /// What to do: Rust to paste, or a change to make.
    pub fixes: Vec<String>,
}

/// Every problem one `draft_export` run met, in the order met.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DraftReport {
    pub problems: Vec<Problem>,
}

impl DraftReport {
    /// Whether export met no problem: the program is what `export` gives.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

const RULE: &str = "###################################################################################################";

impl fmt::Display for DraftReport {
    /// As PyTorch's draft_export report: a banner, then each problem numbered with its line and
    /// its fixes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            writeln!(f, "{RULE}")?;
            writeln!(f, "Congratulations: No issues are found during export, and it was able to soundly produce a graph.")?;
            writeln!(f, "You can now change back to pt2::export().")?;
            return writeln!(f, "{RULE}");
        }
        writeln!(f, "{RULE}")?;
        writeln!(f, "WARNING: {} issue(s) found during export, and it was not able to soundly produce a graph.", self.problems.len())?;
        writeln!(f, "Please follow the instructions to fix the errors.")?;
        writeln!(f, "{RULE}")?;
        for (i, p) in self.problems.iter().enumerate() {
            writeln!(f)?;
            writeln!(f, "{}. {}.", i + 1, p.kind.title())?;
            for line in p.message.lines() {
                writeln!(f, "    {line}")?;
            }
            if let Some(at) = &p.location {
                writeln!(f, "    This occurred at {at}.")?;
            }
            if !p.fixes.is_empty() {
                writeln!(f, "    To fix it:")?;
                for fix in &p.fixes {
                    writeln!(f, "      {fix}")?;
                }
            }
        }
        Ok(())
    }
}

/// A draft export's result: the program, and the report of what had to be assumed to make it.
pub struct DraftExport {
    pub program: ir::ExportedProgram,
    pub report: DraftReport,
}

/// `torch.export.draft_export`: [`export`](crate::export) that goes on past every problem it
/// can and reports them all at once. Problems it cannot go past (a spec that names no input,
/// a kernel refusing its arguments) are still errors.
pub fn draft_export(program: &dyn Program, inputs: Inputs, options: &ExportOptions) -> Result<DraftExport> {
    /// Ends the draft on this thread however the export ends (a panic included).
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            DRAFT.with(|d| *d.borrow_mut() = None);
        }
    }
    let _reset = Reset;
    DRAFT.with(|d| *d.borrow_mut() = Some(Vec::new()));
    let result = export_with(program, inputs, options, true);
    let problems = DRAFT.with(|d| d.borrow_mut().take()).unwrap_or_default();
    Ok(DraftExport { program: result?, report: DraftReport { problems } })
}

thread_local! {
    /// The problems of the draft export running on this thread, if one is.
    static DRAFT: RefCell<Option<Vec<Problem>>> = const { RefCell::new(None) };
}

/// Whether a draft export is running: problems are recorded instead of failing the export.
pub(crate) fn drafting() -> bool {
    DRAFT.with(|d| d.borrow().is_some())
}

/// Records a problem of the draft export running (nothing outside one).
pub(crate) fn record(kind: ProblemKind, message: impl Into<String>, location: Option<String>, fixes: Vec<String>) {
    DRAFT.with(|d| {
        if let Some(problems) = d.borrow_mut().as_mut() {
            problems.push(Problem { kind, message: message.into(), location, fixes });
        }
    });
}

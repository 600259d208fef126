//! The case catalogue: programs from PyTorch's torch.export tutorial, its docs and common
//! blocks, written in Rust against pt2's torch-like API, each with its example inputs, further
//! input sets, inputs the exported program must refuse, dynamic shapes, tags and a
//! description. `pt2 exportdb write DIR` exports every case into the shared fixture format;
//! `pt2 exportdb show NAME` prints a case's source and exported program.
//!
//! Each case's source sits between `// case: NAME` (or `// case: NAME, OTHER` for a source two
//! cases share) and `// end case` in its module, so that
//! `show` can print exactly the code that defines it.

mod blocks;
mod control;
mod docs;
mod pytorch_examples;
mod tutorial;

use export::{DynamicShapes, Inputs, Program, Tensor};

/// One program of the catalogue.
pub struct Case {
    pub name: &'static str,
    pub description: &'static str,
    pub tags: &'static [&'static str],
    /// A fresh instance of the model.
    pub model: fn() -> Box<dyn Program>,
    /// Input sets the program accepts; the first is the example it is exported with.
    pub sets: fn() -> Vec<Inputs>,
    /// Input sets the exported program must refuse.
    pub rejects: fn() -> Vec<Inputs>,
    pub dynamic_shapes: fn() -> DynamicShapes,
    /// How far pt2 supports what the case shows; for a case whose export must fail, the
    /// text its error must contain.
    pub support: Support,
    /// The module file holding the case's source.
    pub file: &'static str,
}

/// ExportDB's support levels, in Rust's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Exports; the program runs and matches PyTorch where PyTorch exported it too.
    Supported,
    /// Export fails, with the error a user sees; it must contain this text.
    NotSupportedYet(&'static str),
    /// What the Python example tests has no Rust counterpart: why, and what the Rust program
    /// does instead (it exports, but is not compared with PyTorch's program).
    NotApplicable(&'static str),
}

impl Support {
    /// The level as ExportDB names it.
    pub fn name(&self) -> &'static str {
        match self {
            Support::Supported => "supported",
            Support::NotSupportedYet(_) => "not supported yet",
            Support::NotApplicable(_) => "not applicable to Rust",
        }
    }
}

impl Case {
    /// When export must fail: text the error must contain.
    pub fn export_error(&self) -> Option<&'static str> {
        match self.support {
            Support::NotSupportedYet(e) => Some(e),
            _ => None,
        }
    }

    /// The Rust source that defines the case.
    pub fn source(&self) -> String {
        // `// case: NAME, OTHER` marks a source two cases share
        let mut at = 0;
        while let Some(i) = self.file[at..].find("// case: ").map(|i| at + i) {
            let line_end = self.file[i..].find('\n').map_or(self.file.len(), |e| i + e);
            let names = &self.file[i + "// case: ".len()..line_end];
            if names.split(',').any(|n| n.trim() == self.name) {
                let body = &self.file[(line_end + 1).min(self.file.len())..];
                return body[..body.find("// end case").unwrap_or(body.len())].trim_end().to_string();
            }
            at = line_end;
        }
        String::new()
    }
}

/// Every case, by name.
pub fn catalogue() -> Vec<Case> {
    let mut v = tutorial::cases();
    v.extend(docs::cases());
    v.extend(blocks::cases());
    v.extend(control::cases());
    v.extend(pytorch_examples::cases());
    v
}

pub fn find(name: &str) -> Option<Case> {
    catalogue().into_iter().find(|c| c.name == name)
}

/// Deterministic example values of a shape (float32, in [-1, 1)).
pub(crate) fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::rand_uniform(shape, seed)
}

/// Deterministic integer ids in `[0, high)`.
pub(crate) fn randint(high: i64, shape: &[usize], seed: u64) -> Tensor {
    let v: Vec<i64> = randn(shape, seed).data().to_vec::<f32>().iter().map(|x| (((x + 1.0) / 2.0) * high as f32) as i64 % high).collect();
    Tensor::from_i64(v, shape).expect("shape matches")
}

pub(crate) fn no_dynamic_shapes() -> DynamicShapes {
    DynamicShapes::new()
}

pub(crate) fn none() -> Vec<Inputs> {
    vec![]
}

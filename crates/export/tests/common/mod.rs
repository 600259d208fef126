//! What the front end's tests share.

/// A model with no state and `forward` as the closure body: `program!(Name, |inputs| ...)`.
#[macro_export]
macro_rules! program {
    ($name:ident, |$inputs:ident| $body:expr) => {
        struct $name;
        impl Module for $name {
            fn visit<'a>(&'a self, _: &mut Visitor<'a>) {}
        }
        impl Program for $name {
            fn forward(&self, $inputs: &Inputs) -> Result<Tree> {
                $body
            }
        }
    };
}

/// `crates/export/tests/FILE:N` for the first line of `source` (the file's text) holding
/// `needle`: where a test's model makes a node, without writing line numbers down.
#[allow(dead_code)]
pub fn line_of(source: &str, file: &str, needle: &str) -> String {
    let n = source.lines().position(|l| l.contains(needle) && !l.contains("line_of(")).expect("the line is in the file") + 1;
    format!("crates/export/tests/{file}:{n}")
}

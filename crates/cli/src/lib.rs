//! The `pt2` command line's library part: the conformance runners that check pt2 against the
//! results PyTorch recorded (`pt2 conformance ...`, and the tests built on them), the
//! benchmarks (`pt2 bench ...`), the ExportDB catalogue writer and `pt2 run`. Not the library's
//! API: programs use the `pt2` crate.

pub mod bench;
pub mod bench_export;
pub mod bench_nodes;
pub mod bench_programs;
pub mod bench_symbolic;
pub mod conformance;
pub mod exportdb;
pub mod exportdb_docs;
pub mod graph;
pub mod run;

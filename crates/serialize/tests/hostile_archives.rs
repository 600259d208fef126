//! Archives that lie about themselves are refused with errors that say what is wrong; nothing
//! panics and nothing allocates without bound.

use std::io::{Cursor, Read, Write};
use std::path::PathBuf;

use ir::schema::{Argument, SymInt, TensorArgument};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pytorch/tutorial_linear_relu/program.pt2")
}

/// Rewrites one entry of an archive (by suffix) with `edit`, into a file named for `test`
/// (tests run in parallel, so each writes its own file).
fn rewrite(test: &str, entry_suffix: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let bytes = std::fs::read(fixture()).unwrap();
    let mut zin = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut zout = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let name = f.name().to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        if name.ends_with(entry_suffix) {
            data = edit(&String::from_utf8(data).unwrap()).into_bytes();
        }
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored).with_alignment(64);
        zout.start_file(name, opts).unwrap();
        zout.write_all(&data).unwrap();
    }
    let out = zout.finish().unwrap().into_inner();
    let path = std::env::temp_dir().join(format!("pt2-hostile-{}-{test}.pt2", std::process::id()));
    std::fs::write(&path, out).unwrap();
    path
}

fn load_err(path: &PathBuf) -> String {
    match serialize::load(path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn weight_path_escaping_the_archive_is_refused() {
    let p = rewrite("escape", "model_weights_config.json", |t| t.replace("\"weight_0\"", "\"../../etc/passwd\""));
    assert!(load_err(&p).contains("outside"), "{}", load_err(&p));
}

#[test]
fn weight_larger_than_its_file_is_refused() {
    // lin.weight claims 1000 x 100 floats but its file holds 10 x 100
    let p = rewrite("oversized", "model_weights_config.json", |t| t.replacen("{\"as_int\": 10}, {\"as_int\": 100}", "{\"as_int\": 1000}, {\"as_int\": 100}", 1));
    let e = load_err(&p);
    assert!(e.contains("lin.weight") && e.contains("storage"), "{e}");
}

#[test]
fn unknown_schema_major_version_is_refused() {
    let p = rewrite("schema", "models/model.json", |t| t.replace("\"major\": 8", "\"major\": 99"));
    let e = load_err(&p);
    assert!(e.contains("schema version 99"), "{e}");
}

#[test]
fn huge_declared_shapes_and_cycles_are_caught_before_running() {
    let ep = serialize::load(fixture()).unwrap();

    let mut huge = ep.clone();
    huge.model.graph_module.graph.tensor_values.get_mut("add").unwrap().sizes = vec![SymInt::AsInt(1 << 40), SymInt::AsInt(1 << 20)];
    let e = huge.module().err().expect("a huge tensor must be refused").to_string();
    assert!(e.contains("tensor `add` declares") && e.contains("bytes"), "{e}");

    let mut cyclic = ep.clone();
    // the first node now reads the output of the last one
    cyclic.model.graph_module.graph.nodes[0].inputs[0].arg = Argument::AsTensor(TensorArgument { name: "relu_".into() });
    let e = cyclic.module().err().expect("a cycle must be refused").to_string();
    assert!(e.contains("node `add`") && e.contains("before it is defined"), "{e}");
}

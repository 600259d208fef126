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

/// `Add(Add(... Symbol('s27') ..., Integer(1)), Integer(1))`, `depth` levels deep.
fn nested_size(depth: usize) -> String {
    format!("{}Symbol('s27', positive=True, integer=True){}", "Add(".repeat(depth), ", Integer(1))".repeat(depth))
}

#[test]
fn deeply_nested_size_expressions_are_refused_at_load() {
    let as_expr = |depth: usize| {
        move |t: &str| t.replacen("\"sizes\": [{\"as_int\": ", &format!("\"sizes\": [{{\"as_expr\": {{\"expr_str\": \"{}\", \"hint\": null}}}}, {{\"as_int\": ", nested_size(depth)), 1)
    };
    // 100,000 levels (3.5 MB of text): refused by length before any parsing
    let e = load_err(&rewrite("nested-100000", "models/model.json", as_expr(100_000)));
    assert!(e.contains("models/model.json") && e.contains("tensor_values[`") && e.contains("past the limit of 65536"), "{e}");
    assert!(e.len() < 1000, "the message quotes a bounded part of the expression: {} bytes", e.len());
    // 1,000 levels (35 KB): refused by depth
    let e = load_err(&rewrite("nested-1000", "models/model.json", as_expr(1000)));
    assert!(e.contains("models/model.json") && e.contains("deeper than the limit of 200 levels"), "{e}");
    // a limit raised by the caller lets it through the loader
    let limits = serialize::LoadLimits { expr: symbolic::ParseLimits { max_depth: 2000, max_len: 1 << 20 }, ..Default::default() };
    assert!(serialize::load_within(rewrite("nested-raised", "models/model.json", as_expr(1000)), limits).is_ok());
}

#[test]
fn deep_verification_finds_a_changed_weight_byte() {
    // the weight file's bytes change; the zip directory keeps the CRC of the original
    let bytes = std::fs::read(fixture()).unwrap();
    let archive = serialize::Archive::open(&fixture()).unwrap();
    assert!(archive.verify_checksums().is_empty(), "{:?}", archive.verify_checksums());
    let mut zin = zip::ZipArchive::new(Cursor::new(bytes.clone())).unwrap();
    let start = zin.by_name("program/data/weights/weight_0").unwrap().data_start() as usize;
    let mut corrupt = bytes;
    corrupt[start + 17] ^= 0x40;
    let path = std::env::temp_dir().join(format!("pt2-hostile-{}-crc.pt2", std::process::id()));
    std::fs::write(&path, corrupt).unwrap();
    // an ordinary load does not read every byte; the deep check does
    assert!(serialize::load(&path).is_ok());
    let bad = serialize::Archive::open(&path).unwrap().verify_checksums();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].starts_with("program/data/weights/weight_0: CRC-32"), "{bad:?}");
}

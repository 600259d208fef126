//! Every `models/*.json` PyTorch wrote in the fixture archives parses into the schema types and
//! serializes back to the same JSON value: no field is lost or altered.

use std::io::Read;
use std::path::PathBuf;

use ir::schema::ExportedProgram;

/// Normalizes floats so `1` and `1.0` compare equal (JSON does not distinguish them).
fn normalize(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value::*;
    match v {
        Number(n) => n.as_f64().map(|f| serde_json::json!(f)).unwrap_or(Number(n)),
        Array(a) => Array(a.into_iter().map(normalize).collect()),
        Object(o) => Object(o.into_iter().map(|(k, v)| (k, normalize(v))).collect()),
        other => other,
    }
}

#[test]
fn every_fixture_program_round_trips_through_the_schema_types() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pytorch");
    let mut checked = 0;
    for case in std::fs::read_dir(&root).expect("fixtures/pytorch") {
        let case = case.unwrap().path();
        for archive in ["program.pt2", "program.core.pt2"] {
            let path = case.join(archive);
            if !path.exists() {
                continue;
            }
            let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
            let names: Vec<String> = zip.file_names().filter(|n| n.contains("/models/") && n.ends_with(".json")).map(String::from).collect();
            assert!(!names.is_empty(), "{}: no models/*.json", path.display());
            for name in names {
                let mut text = String::new();
                zip.by_name(&name).unwrap().read_to_string(&mut text).unwrap();
                let original: serde_json::Value = serde_json::from_str(&text).unwrap();
                let program: ExportedProgram = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{} {name}: {e}", path.display()));
                let written = serde_json::to_value(&program).unwrap();
                assert_eq!(normalize(written), normalize(original), "{} {name} changed in a round trip", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 100, "only {checked} programs found");
}

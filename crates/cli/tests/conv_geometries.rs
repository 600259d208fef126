//! Float32 convolution against PyTorch over the geometries its code paths split on: stride 1
//! (read in place from a padded image), other strides (packed from the image), groups,
//! depthwise, 1-d/2-d/3-d, one image spread over threads vs images on threads, sizes past one
//! kernel tile and one k-block. Goldens: `fixtures/conv`, made by `tools/gen_conv_goldens.py`.

use std::path::PathBuf;

use ops::{Registry, Value};
use pt2_cli::conformance::fixture::{compare, TensorStore, Tolerance};

struct Case {
    name: String,
    stride: Vec<i64>,
    padding: Vec<i64>,
    dilation: Vec<i64>,
    groups: i64,
    bias: bool,
}

#[test]
fn convolution_matches_pytorch_on_every_geometry() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/conv");
    let store = TensorStore::load(&dir.join("geometries.safetensors")).unwrap();
    let json: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(dir.join("geometries.json")).unwrap()).unwrap();
    let ints_of = |v: &serde_json::Value| v.as_array().unwrap().iter().map(|i| i.as_i64().unwrap()).collect::<Vec<_>>();
    let cases: Vec<Case> = json
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_string(),
            stride: ints_of(&c["stride"]),
            padding: ints_of(&c["padding"]),
            dilation: ints_of(&c["dilation"]),
            groups: c["groups"].as_i64().unwrap(),
            bias: c["bias"].as_bool().unwrap(),
        })
        .collect();
    assert_eq!(cases.len(), 22, "the fixture's cases");
    let ints = |v: &[i64]| Value::List(v.iter().map(|&i| Value::Int(i)).collect());
    let mut failures = Vec::new();
    for c in &cases {
        let t = |part: &str| Value::Tensor(store.get(&format!("{}.{part}", c.name)).unwrap().clone());
        let args = vec![
            t("x"),
            t("w"),
            if c.bias { t("b") } else { Value::None },
            ints(&c.stride),
            ints(&c.padding),
            ints(&c.dilation),
            Value::Bool(false),
            ints(&vec![0; c.stride.len()]),
            Value::Int(c.groups),
        ];
        let result = Registry::global().call("aten::convolution", args, vec![]).map_err(|e| e.to_string());
        if let Err(e) = result.and_then(|got| compare(&got, &t("out"), Tolerance { rtol: 1e-4, atol: 1e-4 }, &c.name).map_err(|e| e.to_string())) {
            failures.push(format!("{}: {e}", c.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

//! `ep.unflatten()` against PyTorch: the module tree has the fully qualified names PyTorch's
//! archive records (the names `torch.export.unflatten` gives its submodules), the root gives
//! the outputs PyTorch recorded, and a replaced submodule's outputs are what its replacement
//! says.

use std::path::{Path, PathBuf};

use ops::Value;
use pt2_cli::conformance::fixture::compare;
use pt2_cli::conformance::programs::{case_dirs, first_set, leaves, read_case, register_custom_op_as_relu, TOLERANCE};
use tensor::{DType, Tensor};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn unflattened_programs_have_pytorchs_names_and_outputs() {
    register_custom_op_as_relu(ops::Registry::global()).unwrap();
    let mut checked = 0;
    let mut with_submodules = 0;
    // held-out programs in the same format: PT2_EXTRA_FIXTURES=DIR:DIR
    let extra = std::env::var("PT2_EXTRA_FIXTURES").unwrap_or_default();
    let folders = ["fixtures/zoo", "fixtures/pytorch", "fixtures/hf"].iter().map(|f| root().join(f)).chain(extra.split(':').filter(|d| !d.is_empty()).map(PathBuf::from));
    for folder in folders {
        for dir in case_dirs(&folder).unwrap() {
            let (case, store) = read_case(&dir).unwrap();
            for archive in ["program.pt2", "program.core.pt2"].map(|a| dir.join(a)).into_iter().filter(|p| p.exists()) {
                let label = format!("{}/{}", dir.file_name().unwrap().to_string_lossy(), archive.file_name().unwrap().to_string_lossy());
                let ep = pt2::load(&archive).unwrap();
                let um = ep.unflatten().unwrap_or_else(|e| panic!("{label}: {e}"));
                let mut ours: Vec<String> = um.root().names().into_iter().map(str::to_string).collect();
                let mut theirs: Vec<String> = ep.model.graph_module.module_call_graph.iter().map(|e| e.fqn.clone()).collect();
                ours.sort();
                theirs.sort();
                assert_eq!(ours, theirs, "{label}: submodule names differ from the module call graph PyTorch recorded");
                if ours.len() > 1 {
                    with_submodules += 1;
                }
                for (i, set) in case["sets"].as_array().unwrap().iter().enumerate() {
                    let inputs: Vec<Value> = leaves(&set["inputs"], &store)
                        .unwrap()
                        .into_iter()
                        .map(|v| match v {
                            Value::Tensor(t) => Value::Tensor(t.deep_clone()),
                            other => other,
                        })
                        .collect();
                    let got = um.call_flat(inputs).unwrap_or_else(|e| panic!("{label} set {i}: {e}"));
                    let want = leaves(&set["outputs"], &store).unwrap();
                    compare(&Value::List(got), &Value::List(want), TOLERANCE, &format!("{label} set {i}")).unwrap();
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 133, "only {checked} archives unflattened");
    // 45 when this was written (the others are one-module programs)
    assert!(with_submodules >= 45, "only {with_submodules} archives have submodules");
}

fn resnet() -> (pt2::ExportedProgram, Tensor, Tensor) {
    let dir = root().join("fixtures/zoo/zoo_resnet");
    let (inputs, outputs) = first_set(&dir).unwrap();
    let (Some(Value::Tensor(input)), Some(Value::Tensor(output))) = (inputs.into_iter().next(), outputs.into_iter().next()) else { panic!("a tensor in, a tensor out") };
    (pt2::load(dir.join("program.pt2")).unwrap(), input, output)
}

#[test]
fn a_replaced_submodule_gives_what_its_replacement_says() {
    let (ep, x, logits) = resnet();
    let mut um = ep.unflatten().unwrap();
    let fc = um.submodule("fc").unwrap();
    assert_eq!((fc.class.as_str(), fc.inputs.len(), fc.outputs.len()), ("Linear", 1, 1));
    assert_eq!(fc.state.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(), ["fc.weight", "fc.bias"]);
    // the classifier replaced by one that answers 1 for every class
    um.replace("fc", |inputs| {
        let Value::Tensor(features) = &inputs[0] else { panic!("fc takes a tensor") };
        Ok(vec![Value::Tensor(Tensor::full(&[features.shape()[0], 10], 1.0, DType::F32))])
    })
    .unwrap();
    let out = um.call_flat(vec![Value::Tensor(x.clone())]).unwrap();
    let Value::Tensor(out) = &out[0] else { panic!() };
    assert_eq!(out.shape(), logits.shape());
    assert!(out.to_vec::<f32>().iter().all(|&v| v == 1.0));
}

#[test]
fn a_replacement_sees_the_submodules_inputs_and_feeds_the_rest_of_the_program() {
    let (ep, x, logits) = resnet();
    let mut um = ep.unflatten().unwrap();
    // the stem's max pooling, replaced by the same operator called by hand: the program's
    // output must still be PyTorch's
    let pool = um.submodule("stem.3").unwrap().clone();
    assert_eq!(pool.inputs.len(), 1);
    um.replace("stem.3", |inputs| {
        let args = vec![inputs[0].clone(), Value::List(vec![Value::Int(3), Value::Int(3)]), Value::List(vec![Value::Int(2), Value::Int(2)]), Value::List(vec![Value::Int(1), Value::Int(1)])];
        Ok(vec![ops::Registry::global().call(ops::names::aten::max_pool2d, args, vec![])?])
    })
    .unwrap();
    let out = um.call_flat(vec![Value::Tensor(x)]).unwrap();
    compare(&Value::List(out), &Value::List(vec![Value::Tensor(logits)]), TOLERANCE, "zoo_resnet with stem.3 replaced").unwrap();
}

#[test]
fn replacing_explains_mistakes() {
    let (ep, x, _) = resnet();
    let mut um = ep.unflatten().unwrap();
    let unknown = um.replace("layer9", |_| Ok(vec![])).unwrap_err().to_string();
    assert!(unknown.starts_with("there is no submodule `layer9`; the submodules are: stem, stem.0,"), "{unknown}");
    um.replace("layer1", |_| Ok(vec![])).unwrap();
    let overlap = um.replace("layer1.conv1", |_| Ok(vec![])).unwrap_err().to_string();
    assert!(overlap.contains("`layer1.conv1` and `layer1`, already replaced, overlap"), "{overlap}");
    let short = um.call_flat(vec![Value::Tensor(x)]).unwrap_err().to_string();
    assert_eq!(short, "the replacement of `layer1` returned 0 values; the submodule gives 1 (relu)");
}

#[test]
fn inspect_prints_the_module_tree() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pt2")).args(["inspect", "--unflatten"]).arg(root().join("fixtures/zoo/zoo_resnet/program.pt2")).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("(root): TinyResNet\n    def forward(x):\n        max_pool2d = self.stem(x)\n"), "{text}");
    assert!(text.contains("\n        stem.0: Conv2d\n            state: weight\n            def forward(x):\n"), "{text}");
}

#[test]
fn a_module_called_twice_is_one_name_with_two_calls() {
    let ep = pt2::load(root().join("fixtures/zoo/zoo_shared_module/program.pt2")).unwrap();
    let mut um = ep.unflatten().unwrap();
    // PyTorch's unflattened module: `lin`, `act` and `out`, each once
    assert_eq!(um.root().names(), ["", "lin", "act", "out"]);
    let calls = um.root().calls("act");
    assert_eq!(calls.iter().map(|c| c.call).collect::<Vec<_>>(), [0, 1]);
    assert_ne!(calls[0].inputs, calls[1].inputs, "each call reads its own value");
    // a replacement runs at every call of the module
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    um.replace("act", move |inputs| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(inputs.to_vec())
    })
    .unwrap();
    let x = Tensor::full(&[3, 6], 0.5, DType::F32);
    um.call_flat(vec![Value::Tensor(x)]).unwrap();
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 2);
}

//! pt2's `nn` layers against PyTorch's: each layer loads the state dict PyTorch recorded
//! (`fixtures/nn/layers.safetensors`, made by `tools/gen_nn_goldens.py`) and must reproduce
//! PyTorch's output on PyTorch's input.

use std::path::PathBuf;

use export::nn::{BatchNorm, Conv1d, GroupNorm, Layer, MultiheadAttention, Stateless};
use export::{Module, Tensor};
use ops::Value;
use pt2_cli::conformance::fixture::{compare, TensorStore, Tolerance};

fn store() -> TensorStore {
    TensorStore::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/nn/layers.safetensors")).unwrap()
}

fn load(store: &TensorStore, name: &str, m: &dyn Module) {
    export::load_state_dict(m, &|k| store.get(&format!("{name}.{k}")).ok().cloned()).unwrap();
}

fn input(store: &TensorStore, name: &str, i: usize) -> Tensor {
    Tensor::from_data(store.get(&format!("{name}.in.{i}")).unwrap().clone())
}

fn check(store: &TensorStore, name: &str, i: usize, got: &Tensor) {
    let want = store.get(&format!("{name}.out.{i}")).unwrap().clone();
    compare(&Value::Tensor(got.data()), &Value::Tensor(want), Tolerance { rtol: 1e-4, atol: 1e-5 }, name).unwrap();
}

#[test]
fn layers_match_pytorch() {
    let s = store();
    let layer = |name: &str, m: &dyn Layer| {
        load(&s, name, m);
        check(&s, name, 0, &m.forward(&input(&s, name, 0)).unwrap());
    };
    layer("group_norm", &GroupNorm::new(2, 6));
    layer("conv1d", &Conv1d::new(3, 5, 3, 1));
    layer("avg_pool2d", &Stateless::AvgPool2d { kernel: 2, stride: None });
    layer("batch_norm1d", &BatchNorm::new_1d(4).eval());
}

#[test]
fn multihead_attention_matches_pytorch() {
    let s = store();
    let mha = MultiheadAttention::new(16, 4, 1);
    load(&s, "mha", &mha);
    let (q, k, v) = (input(&s, "mha", 0), input(&s, "mha", 1), input(&s, "mha", 2));
    let (out, weights) = mha.forward(&q, &k, &v, None, true).unwrap();
    check(&s, "mha", 0, &out);
    check(&s, "mha", 1, &weights.unwrap());

    let masked = MultiheadAttention::new(16, 4, 2);
    load(&s, "mha_masked", &masked);
    let (q, mask) = (input(&s, "mha_masked", 0), input(&s, "mha_masked", 1));
    let (out, _) = masked.forward(&q, &q, &q, Some(&mask), false).unwrap();
    check(&s, "mha_masked", 0, &out);
}

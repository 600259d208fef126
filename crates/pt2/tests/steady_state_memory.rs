//! Running a program again reuses the memory of the last call: after the first call, a
//! steady-state call takes every large tensor buffer from the pool of dropped storages
//! (`tensor::pool`) and maps no new memory. One test in this file, so that the process-wide
//! counts are this test's alone.

use std::path::PathBuf;

use pt2::{DType, Tensor, Value};

#[test]
fn a_steady_state_call_allocates_no_new_tensor_buffers() {
    let archive = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/zoo/zoo_resnet/program.pt2");
    let ep = pt2::load(archive).unwrap();
    let module = ep.module().unwrap();
    // batch 8 of 32x32 images: the first feature maps are 8x16x32x32 float32 (512 KiB)
    let x = Tensor::from_vec((0..8 * 3 * 32 * 32).map(|i| ((i % 97) as f32 - 48.0) / 50.0).collect::<Vec<f32>>(), &[8, 3, 32, 32]).unwrap();
    assert_eq!(x.dtype(), DType::F32);
    let first = module.call_flat(vec![Value::Tensor(x.clone())]).unwrap();
    let (_, fresh_after_first) = pt2::tensor::pool::counts();
    assert!(fresh_after_first > 0, "the first call allocates its large buffers");
    for _ in 0..3 {
        let again = module.call_flat(vec![Value::Tensor(x.clone())]).unwrap();
        // and computes the same thing in reused memory
        match (&first[0], &again[0]) {
            (Value::Tensor(a), Value::Tensor(b)) => assert_eq!(a.to_vec::<f32>(), b.to_vec::<f32>()),
            other => panic!("expected tensor outputs, got {other:?}"),
        }
    }
    let (reused, fresh) = pt2::tensor::pool::counts();
    assert!(reused > 0, "later calls reuse buffers");
    // the output of each call is still alive when the next call runs (it is compared above),
    // so each later call may need one more block for it; nothing else is new
    assert!(fresh - fresh_after_first <= 3, "{} new buffers in 3 steady-state calls ({fresh_after_first} in the first)", fresh - fresh_after_first);
}

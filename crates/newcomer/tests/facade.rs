//! Everything a newcomer does first, through the `pt2` facade alone.

use pt2::frontend::Tensor;
use pt2::{Dim, DynamicShapes, ExportOptions, Inputs, Program, Value};
use pt2_newcomer::Mlp;

#[test]
fn derive_export_run_save_load_and_run_again() {
    let model = Mlp::new(4, 8, 3);
    let x = Tensor::rand_uniform(&[5, 4], 3);

    // eager
    let eager = model.forward(&Inputs::new().arg("x", x.clone())).unwrap();
    let eager = eager.tensor().expect("one tensor").data();

    // export with a dynamic batch, then run the exported program
    let options = ExportOptions { dynamic_shapes: DynamicShapes::new().dim("x", 0, Dim::new("batch").min(2).max(64)), ..Default::default() };
    let ep = pt2::export(&model, Inputs::new().arg("x", x.clone()), &options).unwrap();
    let printed = ep.to_string();
    assert!(printed.contains("torch.ops.aten.linear.default") && printed.contains("torch.ops.aten.relu.default"), "{printed}");
    let run = |ep: &pt2::ExportedProgram, x: &Tensor| -> pt2::Tensor {
        match ep.module().unwrap().call_flat(vec![Value::Tensor(x.data())]).unwrap().remove(0) {
            Value::Tensor(t) => t,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(run(&ep, &x).to_f64_vec(), eager.to_f64_vec());

    // save, load, run the archive: same numbers; another batch size within the range works
    let path = std::env::temp_dir().join(format!("pt2-newcomer-{}.pt2", std::process::id()));
    pt2::save(&ep, &path).unwrap();
    let loaded = pt2::load(&path).unwrap();
    assert_eq!(run(&loaded, &x).to_f64_vec(), eager.to_f64_vec());
    assert_eq!(run(&loaded, &Tensor::rand_uniform(&[9, 4], 4)).shape(), &[9, 3]);

    // a batch outside 2..=64 is refused, naming the input
    let err = loaded.module().unwrap().call_flat(vec![Value::Tensor(Tensor::rand_uniform(&[65, 4], 5).data())]).unwrap_err();
    assert!(err.to_string().contains("x.size()[0]"), "{err}");
    let _ = std::fs::remove_file(path);
}

#[test]
fn tensors_print_as_pytorch_prints_them() {
    // PyTorch 2.15: print(torch.tensor([[1., 2.], [3., 4.]])) and a float64 vector
    let x = Tensor::from_data(pt2::Tensor::from_vec(vec![1f32, 2., 3., 4.], &[2, 2]).unwrap());
    assert_eq!(x.to_string(), "tensor([[1., 2.],\n        [3., 4.]])");
    let y = pt2::Tensor::from_vec(vec![1.5f64, 2.25], &[2]).unwrap();
    assert_eq!(format!("{y}"), "tensor([1.5000, 2.2500], dtype=torch.float64)");
}

#[test]
fn one_path_between_model_tensors_program_tensors_and_files() {
    let model = Mlp::new(4, 8, 3);
    // a data tensor (what files and loaded programs hold) is a model input as it is
    let data = pt2::Tensor::from_vec((0..20).map(|i| i as f32 / 10.0).collect::<Vec<f32>>(), &[5, 4]).unwrap();
    let eager: pt2::Tensor = model.forward(&Inputs::new().arg("x", data.clone())).unwrap().tensor().expect("one tensor").into();
    let ep = pt2::export(&model, Inputs::new().arg("x", data.clone()), &ExportOptions::default()).unwrap();

    // and a front-end tensor is a program input as it is
    let x = Tensor::from(data.clone());
    let out = ep.module().unwrap().call(vec![x.into()], vec![]).unwrap();
    let pt2::PyTree::Leaf(Value::Tensor(got)) = out else { panic!("one tensor out: {out:?}") };
    assert_eq!(got.to_f64_vec(), eager.to_f64_vec());
    assert!(got.allclose(&eager, 1e-5, 1e-8, false));
    assert!(!got.allclose(&pt2::Tensor::full(got.shape(), 100.0, pt2::DType::F32), 1e-5, 1e-8, false));
    // integers with the dtype said, as torch.tensor([1, 2, 3]) gives int64
    let ids = pt2::Tensor::from_vec_as(vec![1, 2, 3], &[3], pt2::DType::I64).unwrap();
    assert_eq!((ids.dtype(), ids.to_i64_vec()), (pt2::DType::I64, vec![1, 2, 3]));

    // safetensors files in and out, as library functions
    let path = std::env::temp_dir().join(format!("pt2-newcomer-{}.safetensors", std::process::id()));
    pt2::save_tensors(&path, &[("output_0".to_string(), got.clone())]).unwrap();
    let read = pt2::load_tensors(&path).unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!((read[0].0.as_str(), read[0].1.to_f64_vec()), ("output_0", got.to_f64_vec()));
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_program_says_how_to_call_it() {
    let model = Mlp::new(4, 8, 3);
    let options = ExportOptions { dynamic_shapes: DynamicShapes::new().dim("x", 0, Dim::new("batch").min(2).max(64)), ..Default::default() };
    let ep = pt2::export(&model, Inputs::new().arg("x", Tensor::rand_uniform(&[5, 4], 3)), &options).unwrap();
    let summary = ep.signature_summary();
    // the batch symbol as the program names it
    let symbol = summary.lines().next().and_then(|l| l.strip_prefix("x: f32[")).and_then(|l| l.strip_suffix(", 4]")).expect("x's line").to_string();
    assert_eq!(summary, format!("x: f32[{symbol}, 4]\n-> f32[{symbol}, 3]\n{symbol}: VR[2, 64]"));
}

#[test]
fn the_constructors_a_pytorch_user_expects() {
    use pt2::DType;
    // torch.rand / torch.randn with a seeded generator of their own: repeatable
    let u = pt2::rand(&[10_000], DType::F32, 3).unwrap();
    let values = u.to_vec::<f32>();
    assert!(values.iter().all(|&v| (0.0..1.0).contains(&v)));
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / 1e4;
    // uniform: mean 1/2, standard error sqrt(1/12 / 1e4) ≈ 0.003
    assert!((mean - 0.5).abs() < 0.015, "{mean}");
    assert!(u.allclose(&pt2::rand(&[10_000], DType::F32, 3).unwrap(), 0.0, 0.0, false), "the same seed, the same values");
    assert!(!u.allclose(&pt2::rand(&[10_000], DType::F32, 4).unwrap(), 0.0, 0.0, false), "another seed, other values");
    let n = pt2::randn(&[10_000], DType::F64, 9).unwrap().to_vec::<f64>();
    let (m, var) = (n.iter().sum::<f64>() / 1e4, n.iter().map(|v| v * v).sum::<f64>() / 1e4);
    assert!(m.abs() < 0.05 && (var - 1.0).abs() < 0.06, "mean {m}, variance {var}");
    assert_eq!(pt2::randn(&[2], DType::I64, 1).unwrap_err().to_string(), "randn is implemented only for floating types, not torch.int64");
    // torch.ones, torch.arange
    assert_eq!(pt2::Tensor::ones(&[2, 2], DType::I64).to_vec::<i64>(), [1, 1, 1, 1]);
    assert_eq!(pt2::Tensor::arange(0.0, 1.0, 0.3, DType::F64).unwrap().to_vec::<f64>().len(), 4, "as torch.arange(0, 1, 0.3)");
    assert_eq!(pt2::Tensor::arange(5.0, 0.0, -2.0, DType::I64).unwrap().to_vec::<i64>(), [5, 3, 1]);
    assert!(pt2::Tensor::arange(0.0, 5.0, -1.0, DType::I64).unwrap_err().to_string().contains("inconsistent with step sign"));
}

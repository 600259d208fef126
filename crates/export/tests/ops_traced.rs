//! The tensor API's operators traced with a dynamic batch: each operator's meta function must
//! agree with its kernel (the tracer checks every call), and the exported program must compute
//! what eager execution computes at other batch sizes, data-dependent lengths included.

use export::{arange, export, full, where_, Dim, DynamicShapes, ExportOptions, Inputs, Module, Program, Result, Tensor, Tree};
use tensor::DType;

#[derive(Module)]
struct ManyOps;

impl Program for ManyOps {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        let idx = inputs.tensor("idx")?;
        let b = x.size(0)?;
        let pos = x.abs()?.add(1.0)?;
        let a = pos.log()?.add(&pos.rsqrt()?)?.clamp(Some(-0.5), Some(2.0))?;
        let a = a.maximum(&x)?.cumsum(1)?.flip(&[1])?;
        let picked = a.index_select(1, idx)?;
        let gathered = a.gather(1, &idx.unsqueeze(0)?.expand(&[b.clone(), 2.into()])?)?;
        let rows = a.index(&[None, Some(idx)])?;
        let (top, top_i) = a.topk(2, 1, true)?;
        let (sorted, _) = a.sort(1, false)?;
        let (mx, mx_i) = a.max_dim(1, false)?;
        let var = a.var(&[1], 1, true)?;
        let any = a.gt(1.0)?.any_dim(1, false)?;
        let picked_rows = where_(&a.gt(0.0)?, &a, &full(&[b.clone(), 4.into()], -1.0, DType::F32)?)?;
        let steps = arange(0, b.clone(), 1)?;
        let nz = x.gt(0.0)?.nonzero()?;
        let sel = x.masked_select(&x.gt(0.5)?)?;
        Ok(Tree::Tuple(vec![
            picked.into(), gathered.into(), rows.into(), top.into(), top_i.into(), sorted.into(), mx.into(), mx_i.into(), var.into(), any.into(),
            picked_rows.into(), steps.into(), nz.into(), sel.into(),
        ]))
    }
}

fn inputs(batch: usize, seed: u64) -> Inputs {
    Inputs::new().arg("x", Tensor::rand_uniform(&[batch, 4], seed)).arg("idx", Tensor::from_i64(vec![3, 1], &[2]).unwrap())
}

#[test]
fn traced_operators_agree_with_eager_at_other_sizes() {
    let shapes = DynamicShapes::new().dim("x", 0, Dim::new("batch"));
    let ep = export(&ManyOps, inputs(5, 1), &ExportOptions { dynamic_shapes: shapes, ..Default::default() }).unwrap();
    let text = ep.to_string();
    assert!(text.contains("x: \"f32[s77, 4]\""), "{text}");
    assert!(text.contains("torch.ops.aten.nonzero.default") && text.contains("Runtime assertion failed for expression u0 >= 0"), "{text}");
    let m = ep.module().unwrap();
    for (batch, seed) in [(3, 2), (9, 3)] {
        let set = inputs(batch, seed);
        let eager: Vec<Vec<f64>> = ManyOps.forward(&set).unwrap().tensors().iter().map(|t| t.data().to_f64_vec()).collect();
        let flat: Vec<ops::Value> = set.args.iter().map(|(_, t)| match t {
            Tree::Tensor(t) => ops::Value::Tensor(t.data()),
            _ => unreachable!(),
        }).collect();
        let got = m.call_flat(flat).unwrap();
        assert_eq!(got.len(), eager.len());
        for (i, (g, e)) in got.iter().zip(&eager).enumerate() {
            let ops::Value::Tensor(g) = g else { panic!("output {i} is not a tensor") };
            let g = g.to_f64_vec();
            assert_eq!(g.len(), e.len(), "output {i} at batch {batch}");
            for (a, b) in g.iter().zip(e) {
                assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "output {i} at batch {batch}: {a} vs {b}");
            }
        }
    }
}

#[derive(Module)]
struct Pooled;

impl Program for Pooled {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        // average pooling's schema has no `dilation`: its shape rule must not read one
        Ok(export::functional::avg_pool2d(inputs.tensor("x")?, [2, 2], None)?.into())
    }
}

#[test]
fn average_pooling_traces_with_a_dynamic_batch() {
    let shapes = DynamicShapes::new().dim("x", 0, Dim::new("batch"));
    let example = Inputs::new().arg("x", Tensor::rand_uniform(&[3, 2, 6, 6], 1));
    let ep = export(&Pooled, example, &ExportOptions { dynamic_shapes: shapes, ..Default::default() }).unwrap();
    assert!(ep.to_string().contains("f32[s77, 2, 3, 3]"), "{ep}");
    let x = Tensor::rand_uniform(&[5, 2, 6, 6], 2);
    let eager = Pooled.forward(&Inputs::new().arg("x", x.clone())).unwrap().tensors()[0].data().to_f64_vec();
    let got = ep.module().unwrap().call_flat(vec![ops::Value::Tensor(x.data())]).unwrap();
    let ops::Value::Tensor(got) = &got[0] else { panic!("{got:?}") };
    assert_eq!(got.to_f64_vec(), eager);
}

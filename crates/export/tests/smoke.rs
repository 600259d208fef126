use export::nn::{Layer, Linear};
use export::{export, Dim, DynamicShapes, ExportOptions, Inputs, Module, Program, Tensor, Tree, Visitor};

struct MyModule {
    lin: Linear,
}

impl Module for MyModule {
    fn visit<'a>(&'a self, v: &mut Visitor<'a>) {
        v.module("lin", &self.lin);
    }
}

impl Program for MyModule {
    fn forward(&self, inputs: &Inputs) -> export::Result<Tree> {
        let (x, y) = (inputs.tensor("x")?, inputs.tensor("y")?);
        Ok(self.lin.forward(&x.add(y)?)?.relu_()?.into())
    }
}

#[test]
fn smoke() {
    let m = MyModule { lin: Linear::new(100, 10, true, 1) };
    let inputs = Inputs::new().arg("x", Tensor::rand_uniform(&[8, 100], 2)).arg("y", Tensor::rand_uniform(&[8, 100], 3));
    let ep = export(&m, inputs.clone(), &ExportOptions::default()).unwrap();
    println!("{ep}");
    let opts = ExportOptions { dynamic_shapes: DynamicShapes::new().dim("x", 0, Dim::new("batch")).dim("y", 0, Dim::new("batch")) };
    let ep = export(&m, inputs, &opts).unwrap();
    println!("{ep}");
}

#[test]
fn saves() {
    let m = MyModule { lin: Linear::new(100, 10, true, 1) };
    let inputs = Inputs::new().arg("x", Tensor::rand_uniform(&[8, 100], 2)).arg("y", Tensor::rand_uniform(&[8, 100], 3));
    let opts = ExportOptions { dynamic_shapes: DynamicShapes::new().dim("x", 0, Dim::new("batch")).dim("y", 0, Dim::new("batch")) };
    let ep = export(&m, inputs, &opts).unwrap();
    serialize::save(&ep, "/tmp/pt2_smoke.pt2").unwrap();
}

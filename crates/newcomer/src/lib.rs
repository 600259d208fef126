//! A user's crate, depending only on `pt2`: a model written with the facade's front end
//! (`#[derive(pt2::Module)]`, `pt2::nn`, `pt2::frontend::Tensor`). Its tests export it, run it,
//! save and load the archive, and run that — nothing from pt2's inner crates.

use pt2::frontend::{Result, Tensor};
use pt2::nn::{Layer, Linear};
use pt2::{Inputs, Program, Tree};

/// Two linear layers with a ReLU between them.
#[derive(pt2::Module)]
pub struct Mlp {
    pub fc1: Linear,
    pub fc2: Linear,
}

impl Mlp {
    pub fn new(inputs: usize, hidden: usize, outputs: usize) -> Mlp {
        Mlp { fc1: Linear::new(inputs, hidden, true, 1), fc2: Linear::new(hidden, outputs, true, 2) }
    }
}

impl Program for Mlp {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x: &Tensor = inputs.tensor("x")?;
        Ok(self.fc2.forward(&self.fc1.forward(x)?.relu()?)?.into())
    }
}

//! Small, common building blocks: causal self-attention, an embedding classifier.

use export::functional as F;
use export::nn::{Embedding, Layer, LayerNorm, Linear};
use export::{Dim, DynamicShapes, Inputs, Module, Program, Result, SymInt, Tree};
use tensor::DType;

use crate::{none, randint, randn, Case, Support};

const FILE: &str = include_str!("blocks.rs");

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "block_causal_attention",
            description: "hand-written causal self-attention block, dynamic sequence length",
            tags: &["block", "dynamic"],
            model: || Box::new(MiniBlock::new(32, 4)),
            sets: || vec![Inputs::new().arg("x", randn(&[2, 8, 32], 1)), Inputs::new().arg("x", randn(&[2, 13, 32], 2))],
            rejects: || vec![Inputs::new().arg("x", randn(&[2, 65, 32], 3))],
            dynamic_shapes: || DynamicShapes::new().dim("x", 1, Dim::new("seq").min(2).max(64)),
            support: Support::Supported,
            file: FILE,
        },
        Case {
            name: "block_embedding_argmax",
            description: "int64 ids, embedding, mean, log_softmax, argmax (int output)",
            tags: &["block", "dynamic"],
            model: || Box::new(Embed { emb: Embedding::new(50, 16, 1), head: Linear::new(16, 50, true, 2) }),
            sets: || vec![Inputs::new().arg("ids", randint(50, &[3, 7], 1)), Inputs::new().arg("ids", randint(50, &[5, 2], 2))],
            rejects: none,
            dynamic_shapes: || DynamicShapes::new().dim("ids", 0, Dim::new("b")).dim("ids", 1, Dim::new("t")),
            support: Support::Supported,
            file: FILE,
        },
    ]
}

// case: block_causal_attention
#[derive(Module)]
struct MiniBlock {
    h: i64,
    ln1: LayerNorm,
    qkv: Linear,
    proj: Linear,
    ln2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

impl MiniBlock {
    fn new(d: usize, h: i64) -> MiniBlock {
        MiniBlock {
            h,
            ln1: LayerNorm::new(&[d]),
            qkv: Linear::new(d, 3 * d, true, 1),
            proj: Linear::new(d, d, true, 3),
            ln2: LayerNorm::new(&[d]),
            fc1: Linear::new(d, 4 * d, true, 5),
            fc2: Linear::new(4 * d, d, true, 7),
        }
    }
}

impl Program for MiniBlock {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let x = inputs.tensor("x")?;
        let (b, t, d) = (x.size(0)?, x.size(1)?, x.size(2)?);
        let head = d.floordiv(self.h);
        let qkv = self.qkv.forward(&self.ln1.forward(x)?)?.chunk(3, -1)?;
        let heads = |z: &export::Tensor| z.view(&[b.clone(), t.clone(), SymInt::from(self.h), head.clone()])?.transpose(1, 2);
        let (q, k, v) = (heads(&qkv[0])?, heads(&qkv[1])?, heads(&qkv[2])?);
        let scale = (head.guard_int()? as f64).powf(0.5);
        let att = q.matmul(&k.transpose(-2, -1)?)?.div(scale)?;
        let mask = export::ones(&[t.clone(), t.clone()], DType::Bool)?.triu(1)?;
        let att = att.masked_fill(&mask, f64::NEG_INFINITY)?.softmax(-1)?;
        let y = att.matmul(&v)?.transpose(1, 2)?.reshape(&[b, t, d])?;
        let x = x.add(&self.proj.forward(&y)?)?;
        let mlp = self.fc2.forward(&F::gelu(&self.fc1.forward(&self.ln2.forward(&x)?)?)?)?;
        Ok(x.add(&mlp)?.into())
    }
}
// end case

// case: block_embedding_argmax
#[derive(Module)]
struct Embed {
    emb: Embedding,
    head: Linear,
}

impl Program for Embed {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let pooled = self.emb.forward(inputs.tensor("ids")?)?.mean_dim(&[1], false)?;
        Ok(self.head.forward(&pooled)?.log_softmax(-1)?.argmax(Some(-1), false)?.into())
    }
}
// end case

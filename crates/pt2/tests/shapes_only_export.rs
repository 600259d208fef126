//! Shapes-only export (PyTorch's meta device / FakeTensor): a model built on the meta device
//! and example inputs that are only sizes and dtypes export through meta functions and dtype
//! rules, with no kernel run and no parameter allocated.

use pt2::frontend::{functional as F, Result, Tensor};
use pt2::nn::{Layer, Linear};
use pt2::{on_meta_device, DType, Dim, DynamicShapes, ExportOptions, Inputs, Module, Parameter, Program, Tree};

/// A Llama-style decoder: token embedding, pre-norm blocks of causal self-attention with
/// rotary position embedding and a SwiGLU MLP, RMS norms, a language-model head.
#[derive(Clone, Copy)]
struct Config {
    vocab: usize,
    hidden: usize,
    intermediate: usize,
    layers: usize,
    heads: usize,
}

#[derive(Module)]
struct RmsNorm {
    weight: Parameter,
}

impl RmsNorm {
    fn new(n: usize) -> RmsNorm {
        RmsNorm { weight: Parameter::new(pt2::Tensor::full(&[n], 1.0, DType::F32)) }
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // HF's LlamaRMSNorm: x * rsqrt(mean(x^2, -1, keepdim) + eps) * weight
        let variance = x.pow(2.0)?.mean_dim(&[-1], true)?;
        x.mul(&variance.add(1e-6)?.rsqrt()?)?.mul(&self.weight.tensor())
    }
}

#[derive(Module)]
struct Block {
    input_layernorm: RmsNorm,
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    post_attention_layernorm: RmsNorm,
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
}

/// `rotate_half`: the second half of the last dim, negated, then the first half.
fn rotate_half(x: &Tensor, half: i64) -> Result<Tensor> {
    let first = x.slice(-1, None, Some(half.into()))?;
    let second = x.slice(-1, Some(half.into()), None)?;
    pt2::frontend::cat(&[&second.neg()?, &first], -1)
}

impl Block {
    fn new(c: Config, seed: u64) -> Block {
        let lin = |i, o, s| Linear::new(i, o, false, seed * 16 + s);
        Block {
            input_layernorm: RmsNorm::new(c.hidden),
            q_proj: lin(c.hidden, c.hidden, 0),
            k_proj: lin(c.hidden, c.hidden, 1),
            v_proj: lin(c.hidden, c.hidden, 2),
            o_proj: lin(c.hidden, c.hidden, 3),
            post_attention_layernorm: RmsNorm::new(c.hidden),
            gate_proj: lin(c.hidden, c.intermediate, 4),
            up_proj: lin(c.hidden, c.intermediate, 5),
            down_proj: lin(c.intermediate, c.hidden, 6),
        }
    }

    fn forward(&self, c: Config, x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
        let (batch, seq) = (x.size(0)?, x.size(1)?);
        let head_dim = (c.hidden / c.heads) as i64;
        let h = self.input_layernorm.forward(x)?;
        let heads = |t: Tensor| -> Result<Tensor> { t.view(&[batch.clone(), seq.clone(), (c.heads as i64).into(), head_dim.into()])?.transpose(1, 2) };
        let rope = |t: Tensor| -> Result<Tensor> { t.mul(cos)?.add(&rotate_half(&t, head_dim / 2)?.mul(sin)?) };
        let q = rope(heads(self.q_proj.forward(&h)?)?)?;
        let k = rope(heads(self.k_proj.forward(&h)?)?)?;
        let v = heads(self.v_proj.forward(&h)?)?;
        let attn = F::scaled_dot_product_attention(&q, &k, &v, None, true)?;
        let attn = attn.transpose(1, 2)?.reshape(&[batch, seq, (c.hidden as i64).into()])?;
        let x = x.add(&self.o_proj.forward(&attn)?)?;
        let h = self.post_attention_layernorm.forward(&x)?;
        let mlp = F::silu(&self.gate_proj.forward(&h)?)?.mul(&self.up_proj.forward(&h)?)?;
        x.add(&self.down_proj.forward(&mlp)?)
    }
}

#[derive(Module)]
struct Decoder {
    #[module(skip)]
    config: Config,
    embed_tokens: pt2::nn::Embedding,
    layers: Vec<Block>,
    norm: RmsNorm,
    lm_head: Linear,
}

impl Decoder {
    fn new(c: Config) -> Decoder {
        Decoder {
            config: c,
            embed_tokens: pt2::nn::Embedding::new(c.vocab, c.hidden, 1),
            layers: (0..c.layers).map(|i| Block::new(c, i as u64 + 2)).collect(),
            norm: RmsNorm::new(c.hidden),
            lm_head: Linear::new(c.hidden, c.vocab, false, 99),
        }
    }
}

impl Program for Decoder {
    fn forward(&self, inputs: &Inputs) -> Result<Tree> {
        let c = self.config;
        let ids = inputs.tensor("input_ids")?;
        let seq = ids.size(1)?;
        let head_dim = (c.hidden / c.heads) as i64;
        // rotary angles: position * 10000^(-2i/d), duplicated over the two halves
        let positions = pt2::frontend::arange(0, seq, 1)?.to_dtype(DType::F32)?.unsqueeze(1)?;
        let exponents = pt2::frontend::arange(0, head_dim / 2, 1)?.to_dtype(DType::F32)?.mul(-2.0 * (10000f64).ln() / head_dim as f64)?.exp()?;
        let angles = positions.mul(&exponents.unsqueeze(0)?)?;
        let angles = pt2::frontend::cat(&[&angles, &angles], -1)?;
        let (cos, sin) = (angles.cos()?, angles.sin()?);
        let mut x = self.embed_tokens.forward(ids)?;
        for layer in &self.layers {
            x = layer.forward(c, &x, &cos, &sin)?;
        }
        Ok(self.lm_head.forward(&self.norm.forward(&x)?)?.into())
    }
}

fn options() -> ExportOptions {
    ExportOptions { dynamic_shapes: DynamicShapes::new().dim("input_ids", 1, Dim::new("seq").min(2).max(2048)), ..Default::default() }
}

const SMALL: Config = Config { vocab: 64, hidden: 32, intermediate: 48, layers: 2, heads: 4 };

#[test]
fn shapes_only_export_prints_exactly_as_data_export() {
    let ids = Tensor::from_i64((0..16).map(|i| i % 64).collect(), &[2, 8]).unwrap();
    let with_data = pt2::export(&Decoder::new(SMALL), Inputs::new().arg("input_ids", ids), &options()).unwrap();

    let model = on_meta_device(|| Decoder::new(SMALL));
    let meta_ids = Tensor::meta(&[2, 8], DType::I64);
    let shapes_only = pt2::export(&model, Inputs::new().arg("input_ids", meta_ids), &options()).unwrap();

    assert_eq!(shapes_only.to_string(), with_data.to_string());
    assert!(shapes_only.state_dict.values().all(|t| t.is_meta()), "no parameter has values");
    assert!(with_data.state_dict.values().all(|t| !t.is_meta()));
    // the same graph, signature and range constraints, with the sequence dim symbolic
    assert!(with_data.to_string().contains(": VR[2, 2048]}"), "{with_data}");
}

#[test]
fn a_shapes_only_program_refuses_to_run_or_save_and_says_why() {
    let model = on_meta_device(|| Decoder::new(SMALL));
    let ep = pt2::export(&model, Inputs::new().arg("input_ids", Tensor::meta(&[1, 4], DType::I64)), &options()).unwrap();
    let err = ep.module().err().expect("no values to run with").to_string();
    assert!(err.contains("exported shapes-only") && err.contains("embed_tokens.weight"), "{err}");
    let path = std::env::temp_dir().join(format!("pt2-shapes-only-{}.pt2", std::process::id()));
    let err = pt2::save(&ep, &path).unwrap_err().to_string();
    assert!(err.contains("cannot save a program exported shapes-only"), "{err}");
    assert!(!path.exists(), "nothing written");

    // reading values of a meta tensor is an error, not a panic
    let t = Tensor::meta(&[2, 3], DType::F32);
    let error = t.values().unwrap_err();
    assert!(matches!(&error, pt2::Error::NoValues { shape, .. } if shape == &[2, 3]), "{error:?}");
    let err = error.to_string();
    assert!(err.contains("shapes-only (meta) tensor") && err.contains("[2, 3]"), "{err}");
    assert_eq!(t.data().to_string(), "tensor(..., device='meta', size=(2, 3))", "PyTorch's print of a meta tensor");
    // a kernel refuses meta arguments, naming the parameter
    let err = pt2::Registry::global()
        .call("aten::relu", vec![pt2::Value::Tensor(t.data())], vec![])
        .unwrap_err()
        .to_string();
    assert!(err.contains("aten::relu.default: argument 'self' is a shapes-only (meta) tensor"), "{err}");
}

/// The peak resident memory of this process so far (Linux: `VmHWM`), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn a_billion_parameter_decoder_exports_shapes_only_in_little_memory() {
    // Llama-shaped at full width (TinyLlama's sizes, 22 layers, full multi-head attention):
    // 1.26 billion parameters, 5 GB as float32 if they were allocated
    let config = Config { vocab: 32000, hidden: 2048, intermediate: 5632, layers: 22, heads: 32 };
    let model = on_meta_device(|| Decoder::new(config));
    let ep = pt2::export(&model, Inputs::new().arg("input_ids", Tensor::meta(&[1, 128], DType::I64)), &options()).unwrap();
    let parameters: usize = ep.state_dict.values().map(|t| t.numel()).sum();
    assert!(parameters > 1_000_000_000, "{parameters} parameters");
    let text = ep.to_string();
    let logits = text.lines().find(|l| l.contains("torch.ops.aten.linear.default(") && l.contains("p_lm_head_weight)")).expect("the lm_head call");
    assert!(logits.contains(", 32000]\" = "), "logits keep the vocabulary width: {logits}");
    assert_eq!(text.matches("torch.ops.aten.scaled_dot_product_attention.default(").count(), 22, "one attention per layer");
    eprintln!("{parameters} parameters, {} nodes, peak RSS {:?} MB", ep.graph().nodes.len(), peak_rss().map(|p| p >> 20));
    if let Some(peak) = peak_rss() {
        assert!(peak < 1 << 30, "peak RSS {} MB; shapes-only export must not allocate the parameters", peak >> 20);
    }
}

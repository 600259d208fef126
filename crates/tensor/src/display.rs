//! `print(tensor)` as PyTorch writes it: nested brackets, one width for every element, floats
//! in PyTorch's three modes (`1.` for integral values, `0.5000` fixed, `1.0000e-05` scientific),
//! rows wrapped at 80 columns, more than 1,000 elements summarized with `...`, and the dtype
//! named when it is not the default.

use std::fmt;

use crate::{with_dtype, DType, Element, Tensor};

const PRECISION: usize = 4;
const LINE_WIDTH: usize = 80;
const THRESHOLD: usize = 1000;
const EDGE_ITEMS: usize = 3;

/// How the elements of one tensor are written.
struct Formatter {
    floating: bool,
    int_mode: bool,
    sci_mode: bool,
    width: usize,
}

/// Python's `f"{v:.4e}"`: four decimals, a signed exponent of at least two digits.
fn scientific(v: f64) -> String {
    let s = format!("{v:.PRECISION$e}");
    let (mantissa, exp) = s.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
}

fn special(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("nan")
    } else if v.is_infinite() {
        Some(if v > 0.0 { "inf" } else { "-inf" })
    } else {
        None
    }
}

impl Formatter {
    fn new(dtype: DType, values: &[f64], texts: &[String]) -> Formatter {
        let floating = dtype.is_float();
        let mut f = Formatter { floating, int_mode: true, sci_mode: false, width: 1 };
        if !floating {
            f.width = texts.iter().map(String::len).max().unwrap_or(1);
            return f;
        }
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite() && *v != 0.0).collect();
        if finite.is_empty() {
            return f;
        }
        let (min, max) = finite.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v.abs()), hi.max(v.abs())));
        f.int_mode = finite.iter().all(|v| v.ceil() == *v);
        f.sci_mode = max / min > 1000.0 || max > 1.0e8 || (!f.int_mode && min < 1.0e-4);
        f.width = finite
            .iter()
            .map(|&v| match (f.sci_mode, f.int_mode) {
                (true, _) => scientific(v).len(),
                (false, true) => format!("{v:.0}").len() + 1,
                (false, false) => format!("{v:.PRECISION$}").len(),
            })
            .max()
            .unwrap_or(1);
        f
    }

    fn format(&self, v: f64, text: &str) -> String {
        let s = if !self.floating {
            text.to_string()
        } else if let Some(s) = special(v) {
            s.to_string()
        } else if self.sci_mode {
            scientific(v)
        } else if self.int_mode {
            format!("{v:.0}.")
        } else {
            format!("{v:.PRECISION$}")
        };
        format!("{s:>width$}", width = self.width)
    }
}

/// The elements as numbers (for the formatter's choice) and as PyTorch writes non-floats.
fn elements(t: &Tensor) -> (Vec<f64>, Vec<String>) {
    with_dtype!(t.dtype(), T => {
        let v = t.to_vec::<T>();
        let texts = match t.dtype() {
            DType::Bool => v.iter().map(|x| if x.to_bool() { "True".to_string() } else { "False".to_string() }).collect(),
            d if d.is_float() => Vec::new(),
            _ => v.iter().map(|x| x.to_i64().to_string()).collect(),
        };
        (v.iter().map(|x| Element::to_f64(*x)).collect(), texts)
    })
}

/// The indices shown along a dim of `size`: all, or the first and last `EDGE_ITEMS` with a gap.
fn shown(size: usize, summarize: bool) -> Vec<Option<usize>> {
    if summarize && size > 2 * EDGE_ITEMS {
        (0..EDGE_ITEMS).map(Some).chain([None]).chain((size - EDGE_ITEMS..size).map(Some)).collect()
    } else {
        (0..size).map(Some).collect()
    }
}

/// Writes the sub-tensor at `offset` (row-major over `shape`, elements already formatted).
fn write_dims(out: &mut String, cells: &[String], shape: &[usize], offset: usize, indent: usize, summarize: bool, width: usize) {
    let stride: usize = shape[1..].iter().product();
    if shape.len() == 1 {
        let items: Vec<String> = shown(shape[0], summarize)
            .into_iter()
            .map(|i| i.map_or_else(|| " ...".to_string(), |i| cells[offset + i].clone()))
            .collect();
        let per_line = ((LINE_WIDTH.saturating_sub(indent)) / (width + 2)).max(1);
        let lines: Vec<String> = items.chunks(per_line).map(|c| c.join(", ")).collect();
        out.push('[');
        out.push_str(&lines.join(&format!(",\n{}", " ".repeat(indent + 1))));
        out.push(']');
        return;
    }
    let separator = format!(",{}{}", "\n".repeat(shape.len() - 1), " ".repeat(indent + 1));
    out.push('[');
    for (k, i) in shown(shape[0], summarize).into_iter().enumerate() {
        if k > 0 {
            out.push_str(&separator);
        }
        match i {
            Some(i) => write_dims(out, cells, &shape[1..], offset + i * stride, indent + 1, summarize, width),
            None => out.push_str("..."),
        }
    }
    out.push(']');
}

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const PREFIX: &str = "tensor(";
        let suffix = match self.dtype() {
            DType::F32 | DType::I64 | DType::Bool => String::new(),
            d => format!(", dtype=torch.{}", d.name()),
        };
        if self.is_meta() {
            // PyTorch: tensor(..., device='meta', size=(2, 3), dtype=torch.float16)
            let sizes: Vec<String> = self.shape().iter().map(|s| s.to_string()).collect();
            let size = if sizes.len() == 1 { format!("({},)", sizes[0]) } else { format!("({})", sizes.join(", ")) };
            return write!(f, "{PREFIX}..., device='meta', size={size}{suffix})");
        }
        if self.numel() == 0 {
            let size = if self.dim() > 1 {
                format!(", size=({})", self.shape().iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "))
            } else {
                String::new()
            };
            return write!(f, "{PREFIX}[]{size}{suffix})");
        }
        let summarize = self.numel() > THRESHOLD;
        let (values, texts) = elements(self);
        // the formatter sees the elements that are shown
        let visible: Vec<usize> = visible_indices(self.shape(), summarize);
        let pick = |v: &[String]| -> Vec<String> { if v.is_empty() { Vec::new() } else { visible.iter().map(|&i| v[i].clone()).collect() } };
        let fmt = Formatter::new(self.dtype(), &visible.iter().map(|&i| values[i]).collect::<Vec<_>>(), &pick(&texts));
        let cells: Vec<String> = (0..values.len()).map(|i| fmt.format(values[i], texts.get(i).map_or("", String::as_str))).collect();
        let mut out = String::new();
        if self.dim() == 0 {
            out.push_str(cells[0].trim_start());
        } else {
            write_dims(&mut out, &cells, self.shape(), 0, PREFIX.len(), summarize, fmt.width);
        }
        write!(f, "{PREFIX}{out}{suffix})")
    }
}

/// Row-major indices of the elements a summarized print shows.
fn visible_indices(shape: &[usize], summarize: bool) -> Vec<usize> {
    let mut out = vec![0usize];
    for (d, &size) in shape.iter().enumerate() {
        let stride: usize = shape[d + 1..].iter().product();
        let along: Vec<usize> = shown(size, summarize).into_iter().flatten().collect();
        out = out.iter().flat_map(|&base| along.iter().map(move |&i| base + i * stride)).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(v: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), shape).unwrap()
    }

    /// Each expected string is what PyTorch 2.15's `str(tensor)` gives for the same tensor.
    #[test]
    fn prints_as_pytorch_does() {
        let cases: Vec<(Tensor, &str)> = vec![
            (f32s(&[1., 2., 3., 4.], &[2, 2]), "tensor([[1., 2.],\n        [3., 4.]])"),
            (f32s(&[0.5, -1.25, 3.0], &[3]), "tensor([ 0.5000, -1.2500,  3.0000])"),
            (f32s(&[1e-5, 1.0, 1e9], &[3]), "tensor([1.0000e-05, 1.0000e+00, 1.0000e+09])"),
            (f32s(&[f32::NAN, 1.5, f32::INFINITY], &[3]), "tensor([   nan, 1.5000,    inf])"),
            (Tensor::from_vec(vec![1i64, -20, 300, 4], &[2, 2]).unwrap(), "tensor([[  1, -20],\n        [300,   4]])"),
            (Tensor::from_vec(vec![1i32, 2, 3], &[3]).unwrap(), "tensor([1, 2, 3], dtype=torch.int32)"),
            (Tensor::from_vec(vec![1.5f64, 2.25], &[2]).unwrap(), "tensor([1.5000, 2.2500], dtype=torch.float64)"),
            (Tensor::scalar(3.0f32), "tensor(3.)"),
            (Tensor::scalar(7i64), "tensor(7)"),
            (f32s(&[0., 1., 2., 3., 4., 5., 6., 7.], &[2, 2, 2]), "tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])"),
            (Tensor::zeros(&[0], DType::F32), "tensor([])"),
            (Tensor::zeros(&[0, 3], DType::F32), "tensor([], size=(0, 3))"),
            (
                f32s(&(0..30).map(|i| i as f32).collect::<Vec<_>>(), &[30]),
                "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n        28., 29.])",
            ),
            (
                f32s(&(0..2000).map(|i| i as f32).collect::<Vec<_>>(), &[2, 1000]),
                "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 9.9700e+02, 9.9800e+02,\n         9.9900e+02],\n        [1.0000e+03, 1.0010e+03, 1.0020e+03,  ..., 1.9970e+03, 1.9980e+03,\n         1.9990e+03]])",
            ),
            (Tensor::from_vec(vec![1.5f32, 2.0], &[2]).unwrap().to_dtype(DType::F16), "tensor([1.5000, 2.0000], dtype=torch.float16)"),
        ];
        for (t, want) in cases {
            assert_eq!(t.to_string(), want);
        }
        let b = Tensor::from_vec(vec![crate::Bool8::from_bool(true), crate::Bool8::from_bool(false)], &[2]).unwrap();
        assert_eq!(b.to_string(), "tensor([ True, False])");
    }
}

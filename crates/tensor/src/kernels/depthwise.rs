//! Depthwise 2-d convolution in float32 (one filter per channel, as in MobileNet and
//! EfficientNet).
//!
//! Rows of a depthwise convolution are short (7 to 112 outputs) and a row-by-row loop spends
//! its time in loop tails. Instead, each input plane is split once into its stride phases
//! (`stride_h * stride_w` zero-padded planes: phase `(r, c)` holds padded rows `r, r + sh, ..`
//! and columns `c, c + sw, ..`), in which every kernel tap of every output position is a fixed
//! offset from the output's position on a grid of the phase width. The whole plane is then one
//! long run per tap: blocks of the grid are accumulated in registers over all taps, then the
//! grid's columns past the output width are dropped. Compiled per instruction set.

use rayon::prelude::*;

use super::sgemm::Isa;

/// The geometry of a depthwise convolution over `[planes, ih, iw]` planes.
#[derive(Clone, Copy, Debug)]
pub struct Depthwise {
    /// Channels: plane `p` uses filter `p % channels`.
    pub channels: usize,
    pub input: [usize; 2],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub output: [usize; 2],
}

/// Where the taps of one plane read: the phase planes' shape and each tap's offset into them.
struct Phases {
    /// Rows and columns of each phase plane.
    rows: usize,
    cols: usize,
    /// Per tap: flat offset of its phase plane plus its shift inside it.
    offsets: Vec<usize>,
    /// Grid elements computed: up to the last output position.
    grid: usize,
}

impl Depthwise {
    /// Panics unless the output size is the one the input, kernel, stride, padding and
    /// dilation give (so that every tap reads inside the padded plane).
    fn check(&self) {
        for d in 0..2 {
            let span = self.dilation[d] * (self.kernel[d] - 1) + 1;
            let padded = self.input[d] + 2 * self.padding[d];
            assert!(self.stride[d] > 0 && padded >= span && self.output[d] == (padded - span) / self.stride[d] + 1, "depthwise: inconsistent geometry {self:?}");
        }
    }

    fn phases(&self) -> Phases {
        let [sh, sw] = self.stride;
        let [dh, dw] = self.dilation;
        // a phase plane is as tall as the padded plane's rows of one phase, plus one row of
        // slack so that a grid run never leaves it
        let rows = (self.input[0] + 2 * self.padding[0]).div_ceil(sh) + 1;
        let cols = (self.input[1] + 2 * self.padding[1]).div_ceil(sw);
        let mut offsets = Vec::with_capacity(self.kernel[0] * self.kernel[1]);
        for b in 0..self.kernel[0] {
            for e in 0..self.kernel[1] {
                let (ry, rx) = (b * dh, e * dw);
                let phase = (ry % sh) * sw + rx % sw;
                offsets.push(phase * rows * cols + (ry / sh) * cols + rx / sw);
            }
        }
        Phases { rows, cols, offsets, grid: (self.output[0] - 1) * cols + self.output[1] }
    }
}

/// `out[p] = bias[c] + sum over taps of weight[c, tap] * x[p] (shifted)`, `c = p % channels`,
/// for every plane `p` of `x` (`[planes, ih, iw]`, contiguous); `weight` is `[channels, kh, kw]`.
pub fn depthwise_f32(x: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &Depthwise, out: &mut [f32]) {
    g.check();
    let [ih, iw] = g.input;
    let [oh, ow] = g.output;
    let (in_plane, out_plane) = (ih * iw, oh * ow);
    let taps = g.kernel[0] * g.kernel[1];
    assert!(weight.len() == g.channels * taps && bias.is_none_or(|b| b.len() == g.channels), "depthwise: weight or bias of the wrong size");
    let planes = x.len() / in_plane.max(1);
    assert!(x.len() == planes * in_plane && out.len() == planes * out_plane, "depthwise: input or output of the wrong size");
    if out_plane == 0 {
        return;
    }
    let ph = g.phases();
    let [sh, sw] = g.stride;
    let phase_len = ph.rows * ph.cols;
    assert!(ph.offsets.iter().all(|&o| o % phase_len + ph.grid <= phase_len), "depthwise: a tap reads past its phase plane");
    let one = |(phases, grid): &mut (Vec<f32>, Vec<f32>), (p, dst): (usize, &mut [f32])| {
        let c = p % g.channels;
        let src = &x[p * in_plane..(p + 1) * in_plane];
        phases.clear();
        phases.resize(sh * sw * phase_len, 0.0);
        for y in 0..ih {
            let py = y + g.padding[0];
            let row = &src[y * iw..(y + 1) * iw];
            for (xi, &v) in row.iter().enumerate() {
                let px = xi + g.padding[1];
                phases[((py % sh) * sw + px % sw) * phase_len + (py / sh) * ph.cols + px / sw] = v;
            }
        }
        grid.clear();
        grid.resize(ph.grid, 0.0);
        let filter = &weight[c * taps..(c + 1) * taps];
        accumulate(phases, &ph.offsets, filter, bias.map_or(0.0, |b| b[c]), grid);
        for (y, row) in dst.chunks_exact_mut(ow).enumerate() {
            row.copy_from_slice(&grid[y * ph.cols..y * ph.cols + ow]);
        }
    };
    if planes * out_plane * taps >= 1 << 16 {
        out.par_chunks_mut(out_plane).enumerate().for_each_init(Default::default, one);
    } else {
        let mut scratch = Default::default();
        out.chunks_mut(out_plane).enumerate().for_each(|item| one(&mut scratch, item));
    }
}

/// `grid[i] = bias + sum_t filter[t] * phases[offsets[t] + i]`.
fn accumulate(phases: &[f32], offsets: &[usize], filter: &[f32], bias: f32, grid: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    match Isa::best() {
        // SAFETY: the instruction set was detected on this CPU
        Isa::Avx512 => return unsafe { accumulate_avx512(phases, offsets, filter, bias, grid) },
        Isa::Avx2 => return unsafe { accumulate_avx2(phases, offsets, filter, bias, grid) },
        Isa::Portable => {}
    }
    accumulate_portable(phases, offsets, filter, bias, grid)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
unsafe fn accumulate_avx512(phases: &[f32], offsets: &[usize], filter: &[f32], bias: f32, grid: &mut [f32]) {
    accumulate_portable(phases, offsets, filter, bias, grid)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn accumulate_avx2(phases: &[f32], offsets: &[usize], filter: &[f32], bias: f32, grid: &mut [f32]) {
    accumulate_portable(phases, offsets, filter, bias, grid)
}

/// Grid elements accumulated in registers at once (four AVX-512 vectors).
const BLOCK: usize = 64;

#[inline(always)]
fn accumulate_portable(phases: &[f32], offsets: &[usize], filter: &[f32], bias: f32, grid: &mut [f32]) {
    let mut blocks = grid.chunks_exact_mut(BLOCK);
    let mut i = 0;
    for out in &mut blocks {
        let mut acc = [bias; BLOCK];
        for (&o, &w) in offsets.iter().zip(filter) {
            let src: &[f32; BLOCK] = phases[o + i..o + i + BLOCK].try_into().expect("a block");
            for (a, &v) in acc.iter_mut().zip(src) {
                *a += w * v;
            }
        }
        out.copy_from_slice(&acc);
        i += BLOCK;
    }
    let tail = blocks.into_remainder();
    let n = tail.len();
    tail.fill(bias);
    for (&o, &w) in offsets.iter().zip(filter) {
        for (a, &v) in tail.iter_mut().zip(&phases[o + i..o + i + n]) {
            *a += w * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, term by term.
    fn naive(x: &[f32], w: &[f32], bias: &[f32], g: &Depthwise) -> Vec<f32> {
        let [ih, iw] = g.input;
        let [oh, ow] = g.output;
        let planes = x.len() / (ih * iw);
        let mut out = vec![0f32; planes * oh * ow];
        for p in 0..planes {
            let c = p % g.channels;
            for y in 0..oh {
                for xo in 0..ow {
                    let mut acc = bias[c];
                    for b in 0..g.kernel[0] {
                        for e in 0..g.kernel[1] {
                            let iy = (y * g.stride[0] + b * g.dilation[0]) as isize - g.padding[0] as isize;
                            let ix = (xo * g.stride[1] + e * g.dilation[1]) as isize - g.padding[1] as isize;
                            if iy >= 0 && ix >= 0 && (iy as usize) < ih && (ix as usize) < iw {
                                acc += w[c * g.kernel[0] * g.kernel[1] + b * g.kernel[1] + e] * x[p * ih * iw + iy as usize * iw + ix as usize];
                            }
                        }
                    }
                    out[(p * oh + y) * ow + xo] = acc;
                }
            }
        }
        out
    }

    #[test]
    fn matches_the_definition_for_strides_paddings_and_dilations() {
        for (k, s, p, d, h, w) in [(3, 1, 1, 1, 7, 9), (5, 2, 2, 1, 12, 11), (3, 2, 1, 1, 8, 8), (3, 1, 2, 2, 6, 6), (1, 1, 0, 1, 4, 5), (3, 3, 0, 1, 9, 10)] {
            let out = |i: usize| (i + 2 * p - (d * (k - 1) + 1)) / s + 1;
            let g = Depthwise { channels: 3, input: [h, w], kernel: [k, k], stride: [s, s], padding: [p, p], dilation: [d, d], output: [out(h), out(w)] };
            let x: Vec<f32> = (0..2 * 3 * h * w).map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0).collect();
            let wt: Vec<f32> = (0..3 * k * k).map(|i| ((i * 13 % 17) as f32 - 8.0) / 8.0).collect();
            let bias = [0.5, -0.25, 1.0];
            let mut got = vec![0f32; 2 * 3 * g.output[0] * g.output[1]];
            depthwise_f32(&x, &wt, Some(&bias), &g, &mut got);
            let want = naive(&x, &wt, &bias, &g);
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "k{k} s{s} p{p} d{d}: {a} vs {b}");
            }
        }
    }
}

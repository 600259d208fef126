//! Sliding windows over float32 planes: depthwise 2-d convolution (one filter per channel, as
//! in MobileNet and EfficientNet) and max pooling.
//!
//! Rows of a depthwise convolution are short (7 to 112 outputs) and a row-by-row loop spends
//! its time in loop tails. Instead, each input plane is split once into its stride phases
//! (`stride_h * stride_w` zero-padded planes: phase `(r, c)` holds padded rows `r, r + sh, ..`
//! and columns `c, c + sw, ..`), in which every kernel tap of every output position is a fixed
//! offset from the output's position on a grid of the phase width. The whole plane is then one
//! long run per tap: blocks of the grid are accumulated in registers over all taps, then the
//! grid's columns past the output width are dropped. Compiled per instruction set.

use rayon::prelude::*;


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
    grouped_f32(x, weight, bias, g, 1, 1, out, None)
}

/// A grouped convolution with few channels a group (`g.channels` groups of `group_in` input
/// and `group_out` output channels; depthwise is 1 and 1): `x` is `[images, groups * group_in,
/// ih, iw]`, `weight` `[groups * group_out, group_in, kh, kw]`, `out` `[images, groups *
/// group_out, oh, ow]`. Each image's group splits its input planes into stride phases once;
/// every output plane is then one accumulation over all its input channels' taps, and `then`
/// (an activation) follows on each plane while it is in cache.
#[allow(clippy::too_many_arguments)]
pub fn grouped_f32(x: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &Depthwise, group_in: usize, group_out: usize, out: &mut [f32], then: Option<super::vmath::Activation>) {
    g.check();
    let [ih, iw] = g.input;
    let [oh, ow] = g.output;
    let (in_plane, out_plane) = (ih * iw, oh * ow);
    let groups = g.channels;
    let taps = g.kernel[0] * g.kernel[1];
    assert!(
        weight.len() == groups * group_out * group_in * taps && bias.is_none_or(|b| b.len() == groups * group_out),
        "grouped convolution: weight or bias of the wrong size"
    );
    let images = x.len() / (groups * group_in * in_plane).max(1);
    assert!(
        x.len() == images * groups * group_in * in_plane && out.len() == images * groups * group_out * out_plane,
        "grouped convolution: input or output of the wrong size"
    );
    if out_plane == 0 || out.is_empty() {
        return;
    }
    let ph = g.phases();
    let phase_len = ph.rows * ph.cols;
    let phase_total = g.stride[0] * g.stride[1] * phase_len;
    assert!(ph.offsets.iter().all(|&o| o % phase_len + ph.grid <= phase_len), "grouped convolution: a tap reads past its phase plane");
    // every (input channel, tap) of a group, in the weight's order
    let offsets: Vec<usize> = (0..group_in).flat_map(|ci| ph.offsets.iter().map(move |&o| ci * phase_total + o)).collect();
    let one = |(phases, grid): &mut (Vec<f32>, Vec<f32>), (u, dst): (usize, &mut [f32])| {
        let (image, group) = (u / groups, u % groups);
        phases.resize(group_in * phase_total, 0.0);
        for (ci, dst) in phases.chunks_exact_mut(phase_total).enumerate() {
            let plane = (image * groups + group) * group_in + ci;
            fill_phases(&x[plane * in_plane..(plane + 1) * in_plane], g, &ph, 0.0, dst);
        }
        grid.resize(ph.grid, 0.0);
        for (j, dst) in dst.chunks_exact_mut(out_plane).enumerate() {
            let co = group * group_out + j;
            let filter = &weight[co * group_in * taps..(co + 1) * group_in * taps];
            accumulate(phases, &offsets, filter, bias.map_or(0.0, |b| b[co]), grid);
            for (y, row) in dst.chunks_exact_mut(ow).enumerate() {
                row.copy_from_slice(&grid[y * ph.cols..y * ph.cols + ow]);
            }
            if let Some(f) = then {
                f.apply(dst);
            }
        }
    };
    let unit = group_out * out_plane;
    if out.len() * group_in * taps >= 1 << 16 {
        out.par_chunks_mut(unit).enumerate().for_each_init(Default::default, one);
    } else {
        let mut scratch = Default::default();
        out.chunks_mut(unit).enumerate().for_each(|item| one(&mut scratch, item));
    }
}

/// Max pooling over the same geometry (`channels` unused): each output is the maximum of its
/// window, NaN winning, padding never; `indices`, when given, receives each maximum's flat
/// position in its input plane (the first of equal values), as PyTorch's
/// `max_pool2d_with_indices` returns it.
pub fn max_pool_f32(x: &[f32], g: &Depthwise, out: &mut [f32], mut indices: Option<&mut [i64]>) {
    g.check();
    let [ih, iw] = g.input;
    let [oh, ow] = g.output;
    let (in_plane, out_plane) = (ih * iw, oh * ow);
    let planes = x.len() / in_plane.max(1);
    assert!(x.len() == planes * in_plane && out.len() == planes * out_plane, "max_pool: input or output of the wrong size");
    assert!(indices.as_ref().is_none_or(|i| i.len() == out.len()), "max_pool: indices of the wrong size");
    if out_plane == 0 {
        return;
    }
    let ph = g.phases();
    let phase_len = ph.rows * ph.cols;
    // the input position of tap (0, 0) for each grid element, and each tap's shift from it
    let base: Vec<i64> = (0..ph.grid)
        .map(|i| ((i / ph.cols * g.stride[0]) as i64 - g.padding[0] as i64) * iw as i64 + (i % ph.cols * g.stride[1]) as i64 - g.padding[1] as i64)
        .collect();
    let mut shifts = Vec::with_capacity(ph.offsets.len());
    for b in 0..g.kernel[0] {
        for e in 0..g.kernel[1] {
            shifts.push((b * g.dilation[0] * iw + e * g.dilation[1]) as i64);
        }
    }
    let one = |(phases, grid, grid_tap): &mut (Vec<f32>, Vec<f32>, Vec<u32>), p: usize, dst: &mut [f32], idx: Option<&mut [i64]>| {
        phases.resize(g.stride[0] * g.stride[1] * phase_len, 0.0);
        fill_phases(&x[p * in_plane..(p + 1) * in_plane], g, &ph, f32::NEG_INFINITY, phases);
        grid.clear();
        grid.resize(ph.grid, f32::NEG_INFINITY);
        grid_tap.clear();
        grid_tap.resize(ph.grid, 0);
        window_max(phases, &ph.offsets, grid, idx.is_some().then_some(&mut grid_tap[..]));
        for (y, row) in dst.chunks_exact_mut(ow).enumerate() {
            row.copy_from_slice(&grid[y * ph.cols..y * ph.cols + ow]);
        }
        if let Some(idx) = idx {
            // the winning tap's input position; where no tap beat -inf (a window of -inf
            // values), the window's first position inside the image, as PyTorch's kernel starts
            for (y, row) in idx.chunks_exact_mut(ow).enumerate() {
                for (xo, i) in row.iter_mut().enumerate() {
                    let at = y * ph.cols + xo;
                    *i = if grid[at] == f32::NEG_INFINITY { first_inside(g, y, xo) } else { base[at] + shifts[grid_tap[at] as usize] };
                }
            }
        }
    };
    assert!(ph.offsets.iter().all(|&o| o % phase_len + ph.grid <= phase_len), "max_pool: a tap reads past its phase plane");
    match indices.as_deref_mut() {
        Some(idx) if planes * out_plane >= 1 << 14 => {
            out.par_chunks_mut(out_plane).zip(idx.par_chunks_mut(out_plane)).enumerate().for_each_init(Default::default, |s, (p, (d, i))| one(s, p, d, Some(i)))
        }
        Some(idx) => {
            let mut s = Default::default();
            out.chunks_mut(out_plane).zip(idx.chunks_mut(out_plane)).enumerate().for_each(|(p, (d, i))| one(&mut s, p, d, Some(i)))
        }
        None if planes * out_plane >= 1 << 14 => out.par_chunks_mut(out_plane).enumerate().for_each_init(Default::default, |s, (p, d)| one(s, p, d, None)),
        None => {
            let mut s = Default::default();
            out.chunks_mut(out_plane).enumerate().for_each(|(p, d)| one(&mut s, p, d, None))
        }
    }
}

/// The flat position of the first tap of output `(y, x)`'s window that lies inside the image.
fn first_inside(g: &Depthwise, y: usize, x: usize) -> i64 {
    let first = |d: usize, o: usize| {
        let mut at = (o * g.stride[d]) as i64 - g.padding[d] as i64;
        while at < 0 {
            at += g.dilation[d] as i64;
        }
        at
    };
    first(0, y) * g.input[1] as i64 + first(1, x)
}

/// Splits one `[ih, iw]` plane into `g`'s stride phases, padding with `pad`, into `phases`
/// (all of its `stride_h * stride_w` phase planes).
fn fill_phases(src: &[f32], g: &Depthwise, ph: &Phases, pad: f32, phases: &mut [f32]) {
    let [sh, sw] = g.stride;
    let [ih, iw] = g.input;
    let phase_len = ph.rows * ph.cols;
    assert_eq!(phases.len(), sh * sw * phase_len, "fill_phases: room for every phase plane");
    phases.fill(pad);
    for y in 0..ih {
        let py = y + g.padding[0];
        let row = &src[y * iw..(y + 1) * iw];
        if sw == 1 {
            let at = (py % sh) * phase_len + (py / sh) * ph.cols + g.padding[1];
            phases[at..at + iw].copy_from_slice(row);
            continue;
        }
        // column phase r holds the padded columns px = r, r + sw, ..: every sw-th input
        // column from the first whose padded position is r
        for r in 0..sw {
            let first = (r + sw - g.padding[1] % sw) % sw;
            if first >= iw {
                continue;
            }
            let at = ((py % sh) * sw + r) * phase_len + (py / sh) * ph.cols + (first + g.padding[1]) / sw;
            for (d, &v) in phases[at..].iter_mut().zip(row[first..].iter().step_by(sw)) {
                *d = v;
            }
        }
    }
}

crate::per_isa!(
    /// `grid[i] = max_t phases[offsets[t] + i]`, with the winning tap's number in `taps` when
    /// given.
    fn window_max(phases: &[f32], offsets: &[usize], grid: &mut [f32], taps: Option<&mut [u32]>) => window_max_portable
);

#[inline(always)]
fn window_max_portable(phases: &[f32], offsets: &[usize], grid: &mut [f32], mut taps: Option<&mut [u32]>) {
    let n = grid.len();
    for (t, &o) in offsets.iter().enumerate() {
        let src = &phases[o..o + n];
        if let Some(tap) = taps.as_deref_mut() {
            for ((m, i), &v) in grid.iter_mut().zip(tap.iter_mut()).zip(src) {
                // strictly greater: the first of equal values stays; a NaN wins over a number
                let take = v > *m || (v.is_nan() && !m.is_nan());
                *m = if take { v } else { *m };
                *i = if take { t as u32 } else { *i };
            }
        } else {
            for (m, &v) in grid.iter_mut().zip(src) {
                let take = v > *m || (v.is_nan() && !m.is_nan());
                *m = if take { v } else { *m };
            }
        }
    }
}

crate::per_isa!(
    /// `grid[i] = bias + sum_t filter[t] * phases[offsets[t] + i]`.
    fn accumulate(phases: &[f32], offsets: &[usize], filter: &[f32], bias: f32, grid: &mut [f32]) => accumulate_portable
);

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
    fn max_pool_matches_the_definition() {
        for (k, s, p, d, h, w) in [(3, 2, 1, 1, 12, 11), (2, 2, 0, 1, 8, 8), (3, 1, 1, 1, 7, 9), (3, 2, 1, 2, 13, 13), (5, 3, 2, 1, 20, 17)] {
            let out = |i: usize| (i + 2 * p - (d * (k - 1) + 1)) / s + 1;
            let g = Depthwise { channels: 1, input: [h, w], kernel: [k, k], stride: [s, s], padding: [p, p], dilation: [d, d], output: [out(h), out(w)] };
            let mut x: Vec<f32> = (0..3 * h * w).map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0).collect();
            x[5] = f32::NAN;
            x[h * w + 7] = x[h * w + 8]; // a tie
            x[2 * h * w..2 * h * w + 3 * w].fill(f32::NEG_INFINITY); // windows of -inf only
            let n = 3 * g.output[0] * g.output[1];
            let (mut got, mut idx) = (vec![0f32; n], vec![0i64; n]);
            max_pool_f32(&x, &g, &mut got, Some(&mut idx));
            for pl in 0..3 {
                for y in 0..g.output[0] {
                    for xo in 0..g.output[1] {
                        let (mut best, mut bi) = (f32::NEG_INFINITY, -1i64);
                        for b in 0..k {
                            for e in 0..k {
                                let iy = (y * s + b * d) as isize - p as isize;
                                let ix = (xo * s + e * d) as isize - p as isize;
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                    let flat = iy as usize * w + ix as usize;
                                    let v = x[pl * h * w + flat];
                                    if bi < 0 || v > best || v.is_nan() && !best.is_nan() {
                                        (best, bi) = (v, flat as i64);
                                    }
                                }
                            }
                        }
                        let o = (pl * g.output[0] + y) * g.output[1] + xo;
                        assert!(got[o] == best || got[o].is_nan() && best.is_nan(), "k{k} s{s} p{p} d{d}: {} vs {best}", got[o]);
                        assert_eq!(idx[o], bi, "k{k} s{s} p{p} d{d} at {o}");
                    }
                }
            }
        }
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

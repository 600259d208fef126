//! Convolution (1-d, 2-d and 3-d; strided, padded, dilated, grouped, transposed) as
//! im2col + one matrix product per group and image, and its helpers `im2col`/`col2im`.
//!
//! Every case is lifted to three spatial dims (`[1, 1, W]`, `[1, H, W]`, `[D, H, W]`), so one
//! im2col serves all ranks; its innermost loop copies a contiguous run of the input row.

use rayon::prelude::*;
use tensor::kernels::matmul;
use tensor::kernels::scratch::with_scratch;
use tensor::kernels::vmath::Activation;
use tensor::kernels::sgemm::{put_run, sgemm, sgemm_gathered, zero_run, GatheredMatrix, PanelSource, StridedMatrix};
use tensor::{DType, Tensor};

use crate::aten::common::*;
use crate::{Args, Result, Value};

/// Spatial geometry of one convolution, lifted to three dims.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub input: [usize; 3],
    pub kernel: [usize; 3],
    pub stride: [usize; 3],
    pub padding: [usize; 3],
    pub dilation: [usize; 3],
    pub output: [usize; 3],
}

fn lift(v: &[i64], fill: i64) -> [i64; 3] {
    let mut out = [fill; 3];
    let off = 3 - v.len();
    out[off..].copy_from_slice(v);
    out
}

/// A per-dim parameter list: one value for every dim, or one per dim.
fn per_dim(v: &[i64], n: usize, name: &str) -> Result<Vec<i64>> {
    match v.len() {
        1 => Ok(vec![v[0]; n]),
        l if l == n => Ok(v.to_vec()),
        l => {
            bail!("expected {name} to be a single integer value or a list of {n} values to match the convolution dimensions, but got {name}={v:?} ({l} values)")
        }
    }
}

impl Geometry {
    /// For kernel column offset `e`: the input column of output column 0 (`base`), and the range
    /// of output columns whose input column lies inside the row.
    fn columns(&self, e: usize) -> (isize, usize, usize) {
        let (iw, ow) = (self.input[2], self.output[2]);
        let base = (e * self.dilation[2]) as isize - self.padding[2] as isize;
        let sx = self.stride[2] as isize;
        let lo = if base >= 0 { 0 } else { ((-base + sx - 1) / sx) as usize }.min(ow);
        let hi = if base > iw as isize - 1 { lo } else { (((iw as isize - 1 - base) / sx + 1) as usize).clamp(lo, ow) };
        (base, lo, hi)
    }

    /// Calls `f(z, y, iz, iy)` for every output row whose input row, for kernel offsets `a`
    /// (depth) and `b` (height), lies inside the input.
    fn for_each_row(&self, a: usize, b: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
        for z in 0..self.output[0] {
            let iz = (z * self.stride[0] + a * self.dilation[0]) as isize - self.padding[0] as isize;
            if iz < 0 || iz as usize >= self.input[0] {
                continue;
            }
            for y in 0..self.output[1] {
                let iy = (y * self.stride[1] + b * self.dilation[1]) as isize - self.padding[1] as isize;
                if iy >= 0 && (iy as usize) < self.input[1] {
                    f(z, y, iz as usize, iy as usize);
                }
            }
        }
    }

    pub fn output_elems(&self) -> usize {
        self.output.iter().product()
    }
    pub fn kernel_elems(&self) -> usize {
        self.kernel.iter().product()
    }
}

/// The columns of one image: `[channels * kernel_elems, output_elems]`, zero where the kernel
/// overlaps the padding.
fn im2col_image<T: Copy + Default + Send + Sync>(x: &[T], g: &Geometry, cols: &mut [T]) {
    let [id, ih, iw] = g.input;
    let [kd, kh, kw] = g.kernel;
    let [od, oh, ow] = g.output;
    let l = od * oh * ow;
    let rows_per_channel = kd * kh * kw;
    cols.chunks_mut(rows_per_channel * l).enumerate().for_each(|(c, chunk)| {
        let plane = &x[c * id * ih * iw..(c + 1) * id * ih * iw];
        for a in 0..kd {
            for b in 0..kh {
                for e in 0..kw {
                    let row = &mut chunk[((a * kh + b) * kw + e) * l..((a * kh + b) * kw + e + 1) * l];
                    let mut o = 0;
                    for z in 0..od {
                        let iz = (z * g.stride[0] + a * g.dilation[0]) as isize - g.padding[0] as isize;
                        for y in 0..oh {
                            let iy = (y * g.stride[1] + b * g.dilation[1]) as isize - g.padding[1] as isize;
                            let inside = iz >= 0 && (iz as usize) < id && iy >= 0 && (iy as usize) < ih;
                            let dst = &mut row[o..o + ow];
                            if !inside {
                                dst.iter_mut().for_each(|v| *v = T::default());
                            } else {
                                let src_row = &plane[(iz as usize * ih + iy as usize) * iw..(iz as usize * ih + iy as usize + 1) * iw];
                                let (base, lo, hi) = g.columns(e);
                                let sx = g.stride[2] as isize;
                                dst[..lo].iter_mut().for_each(|v| *v = T::default());
                                dst[hi..].iter_mut().for_each(|v| *v = T::default());
                                if sx == 1 {
                                    let start = (base + lo as isize) as usize;
                                    dst[lo..hi].copy_from_slice(&src_row[start..start + hi - lo]);
                                } else {
                                    for (xo, d) in dst[lo..hi].iter_mut().enumerate() {
                                        *d = src_row[(base + (lo + xo) as isize * sx) as usize];
                                    }
                                }
                            }
                            o += ow;
                        }
                    }
                }
            }
        }
    });
}

/// The inverse scatter: adds each column entry back to the input position it came from.
fn col2im_image(cols: &[f64], channels: usize, g: &Geometry, out: &mut [f64]) {
    let [id, ih, iw] = g.input;
    let [kd, kh, kw] = g.kernel;
    let [od, oh, ow] = g.output;
    let l = od * oh * ow;
    for c in 0..channels {
        for a in 0..kd {
            for b in 0..kh {
                for e in 0..kw {
                    let row = ((c * kd + a) * kh + b) * kw + e;
                    let (base, lo, hi) = g.columns(e);
                    let sx = g.stride[2] as isize;
                    g.for_each_row(a, b, |z, y, iz, iy| {
                        for xo in lo..hi {
                            let ix = (base + xo as isize * sx) as usize;
                            out[((c * id + iz) * ih + iy) * iw + ix] += cols[row * l + (z * oh + y) * ow + xo];
                        }
                    });
                }
            }
        }
    }
}

/// A depthwise convolution (one filter per channel, `groups == channels`) computed directly:
/// im2col would turn it into thousands of one-row products.
fn depthwise<T: tensor::Element + Copy + Default + Send + Sync + std::ops::Mul<Output = T> + std::ops::AddAssign>(
    x: &Tensor,
    w: &Tensor,
    g: &Geometry,
    out_shape: &[usize],
) -> Result<Tensor> {
    let (n, c) = (out_shape[0], out_shape[1]);
    let [id, ih, iw] = g.input;
    let [kd, kh, kw] = g.kernel;
    let [od, oh, ow] = g.output;
    let (in_plane, out_plane, kn) = (id * ih * iw, od * oh * ow, kd * kh * kw);
    let (x, w) = (x.contiguous(), w.contiguous());
    let mut data = tensor::alloc::tensor_vec(T::default(), &[n, c, out_plane]);
    x.with_contiguous::<T, _>(|xs| {
        w.with_contiguous::<T, _>(|ws| {
            data.par_chunks_mut(out_plane).enumerate().for_each(|(plane, out)| {
                let ch = plane % c;
                let src = &xs[plane * in_plane..(plane + 1) * in_plane];
                let filt = &ws[ch * kn..(ch + 1) * kn];
                for a in 0..kd {
                    for b in 0..kh {
                        for e in 0..kw {
                            let wv = filt[(a * kh + b) * kw + e];
                            let (base, lo, hi) = g.columns(e);
                            let sx = g.stride[2] as isize;
                            g.for_each_row(a, b, |z, y, iz, iy| {
                                let row = &src[(iz * ih + iy) * iw..(iz * ih + iy + 1) * iw];
                                let dst = &mut out[(z * oh + y) * ow..(z * oh + y + 1) * ow];
                                for (xo, d) in dst[lo..hi].iter_mut().enumerate() {
                                    *d += wv * row[(base + (lo + xo) as isize * sx) as usize];
                                }
                            });
                        }
                    }
                }
            })
        })
    });
    Tensor::from_vec(data, out_shape)
}

/// Input channels a group up to which a grouped convolution (depthwise: 1) is computed
/// directly, tap by tap, instead of as one small product per group and image (ResNeXt's 4 to
/// 32, RegNet's 8 to 16 channels a group).
const GROUP_DIRECT: usize = 32;

/// A float32 grouped convolution with few channels a group (depthwise among them) over 2-d
/// (or 1-d, lifted) images, with its bias.
fn grouped_2d_f32(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, g: &Geometry, groups: usize, out_shape: &[usize], then: Option<Activation>) -> Result<Tensor> {
    let (group_in, group_out) = (x.shape()[1] / groups, out_shape[1] / groups);
    let geometry = tensor::kernels::depthwise::Depthwise {
        channels: groups,
        input: [g.input[1], g.input[2]],
        kernel: [g.kernel[1], g.kernel[2]],
        stride: [g.stride[1], g.stride[2]],
        padding: [g.padding[1], g.padding[2]],
        dilation: [g.dilation[1], g.dilation[2]],
        output: [g.output[1], g.output[2]],
    };
    let bias: Option<Vec<f32>> = bias.map(|b| b.to_dtype(DType::F32).to_vec::<f32>());
    let mut data = tensor::alloc::tensor_vec(0f32, out_shape);
    let (x, w) = (x.contiguous(), w.contiguous());
    x.with_contiguous::<f32, _>(|xs| {
        w.with_contiguous::<f32, _>(|ws| tensor::kernels::depthwise::grouped_f32(xs, ws, bias.as_deref(), &geometry, group_in, group_out, &mut data, then))
    });
    Tensor::from_vec(data, out_shape)
}

/// The forward convolution: images in parallel, each group's product written straight into
/// the image's output block.
fn forward<T: tensor::Element + matmul::GemmScalar>(x: &Tensor, w: &Tensor, g: &Geometry, groups: usize, out_shape: &[usize]) -> Result<Tensor> {
    let (n, c_in, c_out) = (out_shape[0], x.shape()[1], out_shape[1]);
    let (cg, og) = (c_in / groups, c_out / groups);
    let k = cg * g.kernel_elems();
    let l = g.output_elems();
    let in_elems: usize = g.input.iter().product();
    let mut data = tensor::alloc::tensor_vec(T::default(), &[n, c_out, l]);
    let (x, w) = (x.contiguous(), w.contiguous());
    x.with_contiguous::<T, _>(|xs| {
        w.with_contiguous::<T, _>(|ws| {
            // one column buffer per worker, reused across its images
            let one_image = |cols: &mut Vec<T>, (b, out): (usize, &mut [T])| {
                for gi in 0..groups {
                    let xin = &xs[(b * c_in + gi * cg) * in_elems..(b * c_in + (gi + 1) * cg) * in_elems];
                    im2col_image(xin, g, cols);
                    let wg = &ws[gi * og * k..(gi + 1) * og * k];
                    // computed as out^T[l×og] = cols^T[l×k] @ w^T[k×og]: the long output dim
                    // as gemm's row dim suits its kernels better than the few channels
                    matmul::gemm_strided(
                        l,
                        og,
                        k,
                        &mut out[gi * og * l..(gi + 1) * og * l],
                        1,
                        l,
                        matmul::Strided { data: cols, rs: 1, cs: l },
                        matmul::Strided { data: wg, rs: 1, cs: k },
                        n == 1,
                    );
                }
            };
            if n > 1 {
                data.par_chunks_mut(c_out * l).enumerate().for_each_init(|| vec![T::default(); k * l], one_image);
            } else {
                let mut cols = vec![T::default(); k * l];
                data.chunks_mut(c_out * l).enumerate().for_each(|item| one_image(&mut cols, item));
            }
        })
    });
    Tensor::from_vec(data, out_shape)
}

/// The im2col matrix (`[channels * kernel_elems, images * output_elems]`) of one or more
/// images as a right-hand operand of [`sgemm`]: each packed panel is gathered straight from
/// the images, so the whole column matrix (often larger than the cache) never exists. Column
/// `j` is output position `j % output_elems` of image `j / output_elems`, so that images too
/// small to fill the microkernel's columns share them.
struct ImageColumns<'a> {
    /// The first image's channels; image `b` starts `b * image_stride` floats later.
    images: &'a [f32],
    image_stride: usize,
    count: usize,
    g: &'a Geometry,
}

impl PanelSource for ImageColumns<'_> {
    fn cols(&self) -> usize {
        self.count * self.g.output_elems()
    }

    fn pack_panels(&self, k0: usize, kc: usize, j0: usize, panels: usize, nr: usize, dst: &mut [f32]) {
        let g = self.g;
        let [id, ih, iw] = g.input;
        let [kd, kh, kw] = g.kernel;
        let [od, oh, ow] = g.output;
        let l = od * oh * ow;
        let cols = (panels * nr).min(self.cols().saturating_sub(j0));
        let plane_elems = id * ih * iw;
        for p in 0..kc {
            let r = k0 + p;
            let (c, tap) = (r / (kd * kh * kw), r % (kd * kh * kw));
            let (a, b, e) = (tap / (kh * kw), (tap / kw) % kh, tap % kw);
            let (base, lo, hi) = g.columns(e);
            let sx = g.stride[2];
            // the image and output position of the block's first column
            let (mut image, mut at) = (j0 / l, j0 % l);
            let (mut z, mut y, mut x) = (at / (oh * ow), (at / ow) % oh, at % ow);
            let mut o = 0;
            while o < cols {
                let plane = &self.images[image * self.image_stride + c * plane_elems..][..plane_elems];
                // one output row's run: output columns x..x + run
                let run = (ow - x).min(cols - o);
                let iz = (z * g.stride[0] + a * g.dilation[0]) as isize - g.padding[0] as isize;
                let iy = (y * g.stride[1] + b * g.dilation[1]) as isize - g.padding[1] as isize;
                if iz >= 0 && (iz as usize) < id && iy >= 0 && (iy as usize) < ih {
                    let src = &plane[(iz as usize * ih + iy as usize) * iw..][..iw];
                    let v0 = lo.clamp(x, x + run);
                    let v1 = hi.clamp(v0, x + run);
                    zero_run(dst, p, kc, nr, o, v0 - x);
                    zero_run(dst, p, kc, nr, o + v1 - x, x + run - v1);
                    // a tap whose every position falls in the padding (a dilation wider than
                    // the image) reads nothing
                    let start = (base + (v0 * sx) as isize) as usize;
                    if v1 == v0 {
                    } else if sx == 1 {
                        put_run(dst, p, kc, nr, o + v0 - x, &src[start..start + v1 - v0]);
                    } else {
                        put_strided_run(dst, p, kc, nr, o + v0 - x, src[start..].iter().step_by(sx).take(v1 - v0));
                    }
                } else {
                    zero_run(dst, p, kc, nr, o, run);
                }
                o += run;
                at += run;
                x = 0;
                y += 1;
                if y == oh {
                    y = 0;
                    z += 1;
                }
                if at == l {
                    (image, at, z, y) = (image + 1, 0, 0, 0);
                }
            }
            zero_run(dst, p, kc, nr, cols, panels * nr - cols);
        }
    }
}

/// Like [`put_run`], for elements that are not contiguous in their source.
#[inline]
fn put_strided_run<'a>(dst: &mut [f32], p: usize, kc: usize, nr: usize, o: usize, src: impl Iterator<Item = &'a f32>) {
    let (mut q, mut j) = (o / nr, o % nr);
    let mut at = q * kc * nr + p * nr + j;
    for &v in src {
        dst[at] = v;
        j += 1;
        at += 1;
        if j == nr {
            (q, j) = (q + 1, 0);
            at = q * kc * nr + p * nr;
        }
    }
}

/// A stride-1 image zero-padded by the convolution's padding, in which every im2col row is
/// one contiguous run: output position `(z, y, x)` is flat column `(z * ph + y) * pw + x` of
/// the padded grid, and kernel tap `(c, a, b, e)` shifts it by a fixed offset. Computing the
/// product over the padded grid's columns wastes the few columns past each output row
/// (`pw - ow` of every `pw`) and needs no packing.
struct PaddedImage {
    dims: [usize; 3],
    /// Each im2col row's offset into the padded image.
    row_offsets: Vec<usize>,
    /// Columns of the padded-grid product: up to the last output position.
    cols: usize,
}

impl PaddedImage {
    fn new(g: &Geometry, channels: usize) -> Self {
        let dims: [usize; 3] = std::array::from_fn(|d| g.input[d] + 2 * g.padding[d]);
        let [_, ph, pw] = dims;
        let plane = dims.iter().product::<usize>();
        let [kd, kh, kw] = g.kernel;
        let mut row_offsets = Vec::with_capacity(channels * kd * kh * kw);
        for c in 0..channels {
            for a in 0..kd {
                for b in 0..kh {
                    for e in 0..kw {
                        row_offsets.push(c * plane + (a * g.dilation[0] * ph + b * g.dilation[1]) * pw + e * g.dilation[2]);
                    }
                }
            }
        }
        let [od, oh, ow] = g.output;
        PaddedImage { dims, row_offsets, cols: ((od - 1) * ph + (oh - 1)) * pw + ow }
    }

    /// Writes `channels` planes of `image` (unpadded, `g.input` each) into `dst`, padded.
    fn fill(&self, g: &Geometry, image: &[f32], channels: usize, dst: &mut Vec<f32>) {
        let [pd, ph, pw] = self.dims;
        let [id, ih, iw] = g.input;
        let [zp, yp, xp] = g.padding;
        dst.clear();
        dst.resize(channels * pd * ph * pw, 0.0);
        for c in 0..channels {
            for z in 0..id {
                for y in 0..ih {
                    let src = &image[((c * id + z) * ih + y) * iw..][..iw];
                    let at = ((c * pd + z + zp) * ph + y + yp) * pw + xp;
                    dst[at..at + iw].copy_from_slice(src);
                }
            }
        }
    }

    /// Copies the output positions of the padded-grid product `grid` (`rows` rows of
    /// `self.cols`) into `out` (`rows` rows of `g.output_elems()`).
    fn compact(&self, g: &Geometry, grid: &[f32], rows: usize, out: &mut [f32]) {
        let [_, ph, pw] = self.dims;
        let [od, oh, ow] = g.output;
        for r in 0..rows {
            let src = &grid[r * self.cols..(r + 1) * self.cols];
            let dst = &mut out[r * od * oh * ow..(r + 1) * od * oh * ow];
            for z in 0..od {
                for y in 0..oh {
                    let from = (z * ph + y) * pw;
                    dst[(z * oh + y) * ow..][..ow].copy_from_slice(&src[from..from + ow]);
                }
            }
        }
    }
}

/// Output positions per image below which a batch's images are multiplied as one matrix
/// (a 7x7 image alone fills barely two of the microkernel's 48-column panels, half of them
/// zeros). Past it, reading each image in place beats packing them together (measured on
/// ResNet-50's 14x14 layers).
const SMALL_IMAGE: usize = 100;

/// The float32 forward convolution: per image and group, `out[og × l] = w[og × k] @
/// columns[k × l]`, the columns read in place from a padded image when the stride is 1
/// ([`PaddedImage`]) and else packed from the image ([`ImageColumns`]); the bias is written
/// first so that the product adds onto it. Images go to threads when there are enough of
/// them, else each product is spread over the threads. `then` is applied to each output tile
/// as the product finishes it.
fn forward_f32(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, g: &Geometry, groups: usize, out_shape: &[usize], then: Option<Activation>) -> Result<Tensor> {
    let (n, c_in, c_out) = (out_shape[0], x.shape()[1], out_shape[1]);
    let (cg, og) = (c_in / groups, c_out / groups);
    let k = cg * g.kernel_elems();
    let l = g.output_elems();
    let in_elems: usize = g.input.iter().product();
    let bias: Option<Vec<f32>> = bias.map(|b| b.to_dtype(DType::F32).to_f64_vec().into_iter().map(|v| v as f32).collect());
    let mut data = tensor::alloc::tensor_vec(0f32, &[n, c_out, l]);
    if l == 0 {
        return Tensor::from_vec(data, out_shape);
    }
    let (x, w) = (x.contiguous(), w.contiguous());
    let threads = rayon::current_num_threads();
    let by_image = threads > 1 && n >= threads;
    let padded = (g.stride == [1, 1, 1]).then(|| PaddedImage::new(g, cg));
    // fills `rows` output rows with the bias of channels `first..`, or leaves them zero
    let start_with_bias = |out: &mut [f32], row_len: usize, first: usize| {
        if let Some(bias) = &bias {
            for (row, &v) in out.chunks_mut(row_len).zip(&bias[first..]) {
                row.fill(v);
            }
        }
    };
    if n > 1 && l < SMALL_IMAGE {
        // small images share the microkernel's columns: one product per group over all of
        // them, its [og, n * l] result then scattered to the images
        x.with_contiguous::<f32, _>(|xs| {
            w.with_contiguous::<f32, _>(|ws| {
                with_scratch(|grid, _| {
                    for gi in 0..groups {
                        let weights = StridedMatrix::row_major(&ws[gi * og * k..(gi + 1) * og * k], og, k);
                        let columns = ImageColumns { images: &xs[gi * cg * in_elems..], image_stride: c_in * in_elems, count: n, g };
                        grid.clear();
                        grid.resize(og * n * l, 0.0);
                        start_with_bias(grid, n * l, gi * og);
                        sgemm(og, n * l, k, &weights, &columns, grid, n * l, bias.is_some(), true, then);
                        for (co, row) in grid.chunks_exact(n * l).enumerate() {
                            for (b, run) in row.chunks_exact(l).enumerate() {
                                let at = (b * c_out + gi * og + co) * l;
                                data[at..at + l].copy_from_slice(run);
                            }
                        }
                    }
                })
            })
        });
        return Tensor::from_vec(data, out_shape);
    }
    x.with_contiguous::<f32, _>(|xs| {
        w.with_contiguous::<f32, _>(|ws| {
            let one_image = |(b, out): (usize, &mut [f32])| {
                // the padded image and the padded-grid output
                with_scratch(|pad_buf, grid| {
                    for gi in 0..groups {
                        let image = &xs[(b * c_in + gi * cg) * in_elems..(b * c_in + (gi + 1) * cg) * in_elems];
                        let weights = StridedMatrix::row_major(&ws[gi * og * k..(gi + 1) * og * k], og, k);
                        let dst = &mut out[gi * og * l..(gi + 1) * og * l];
                        match &padded {
                            Some(p) if g.padding == [0, 0, 0] && p.cols == l => {
                                // a 1x1 convolution (or any kernel whose padded grid has no
                                // columns to spare): the image is the column matrix and the
                                // product lands in the output as it is
                                start_with_bias(dst, l, gi * og);
                                let columns = GatheredMatrix::new(image, &p.row_offsets, l);
                                sgemm_gathered(og, l, k, &weights, &columns, dst, l, bias.is_some(), !by_image, then);
                            }
                            Some(p) => {
                                p.fill(g, image, cg, pad_buf);
                                grid.clear();
                                grid.resize(og * p.cols, 0.0);
                                start_with_bias(grid, p.cols, gi * og);
                                let columns = GatheredMatrix::new(pad_buf, &p.row_offsets, p.cols);
                                sgemm_gathered(og, p.cols, k, &weights, &columns, grid, p.cols, bias.is_some(), !by_image, then);
                                p.compact(g, grid, og, dst);
                            }
                            None => {
                                start_with_bias(dst, l, gi * og);
                                let columns = ImageColumns { images: image, image_stride: 0, count: 1, g };
                                sgemm(og, l, k, &weights, &columns, dst, l, bias.is_some(), !by_image, then);
                            }
                        }
                    }
                })
            };
            if by_image {
                data.par_chunks_mut(c_out * l).enumerate().for_each(one_image);
            } else {
                data.chunks_mut(c_out * l).enumerate().for_each(one_image);
            }
        })
    });
    Tensor::from_vec(data, out_shape)
}

struct ConvParams {
    stride: Vec<i64>,
    padding: Vec<i64>,
    dilation: Vec<i64>,
    output_padding: Vec<i64>,
    transposed: bool,
    groups: usize,
}

fn conv_nd(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, p: &ConvParams, then: Option<Activation>) -> Result<Tensor> {
    if x.dtype().is_complex() || w.dtype().is_complex() {
        if then.is_some() {
            bail!("convolution: no activation is fused into a complex convolution");
        }
        return conv_complex(x, w, bias, p);
    }
    let spatial = w.dim().saturating_sub(2);
    if !(1..=3).contains(&spatial) {
        bail!("convolution: expected a 3-D, 4-D or 5-D weight, got {}-D", w.dim());
    }
    // an unbatched input gets a batch dim for the computation
    let batched = x.dim() == spatial + 2;
    if !batched && x.dim() != spatial + 1 {
        bail!("Expected {}D (unbatched) or {}D (batched) input to conv{spatial}d, but got input of size: {:?}", spatial + 1, spatial + 2, x.shape());
    }
    let x = if batched { x.clone() } else { x.unsqueeze(0)? };
    let groups = p.groups;
    if groups == 0 {
        bail!("non-positive groups is not supported");
    }
    let stride = per_dim(&p.stride, spatial, "stride")?;
    let padding = per_dim(&p.padding, spatial, "padding")?;
    let dilation = per_dim(&p.dilation, spatial, "dilation")?;
    if stride.iter().any(|&s| s <= 0) {
        bail!("non-positive stride is not supported");
    }
    if padding.iter().any(|&s| s < 0) {
        bail!("negative padding is not supported");
    }
    if dilation.iter().any(|&s| s <= 0) {
        bail!("dilation should be greater than zero");
    }
    let (n, c_in) = (x.shape()[0], x.shape()[1]);
    let in_sp: Vec<usize> = x.shape()[2..].to_vec();
    let k_sp: Vec<usize> = w.shape()[2..].to_vec();
    let dtype = tensor::promote_types(x.dtype(), w.dtype())?;
    let compute = if dtype == DType::F32 { DType::F32 } else { DType::F64 };
    let (xc, wc) = (x.to_dtype(compute), w.to_dtype(compute));
    let geometry = |input: &[usize], output: &[usize]| Geometry {
        input: lift(&input.iter().map(|&v| v as i64).collect::<Vec<_>>(), 1).map(|v| v as usize),
        kernel: lift(&k_sp.iter().map(|&v| v as i64).collect::<Vec<_>>(), 1).map(|v| v as usize),
        stride: lift(&stride, 1).map(|v| v as usize),
        padding: lift(&padding, 0).map(|v| v as usize),
        dilation: lift(&dilation, 1).map(|v| v as usize),
        output: lift(&output.iter().map(|&v| v as i64).collect::<Vec<_>>(), 1).map(|v| v as usize),
    };
    let out = if !p.transposed {
        let c_out = w.shape()[0];
        if c_in != w.shape()[1] * groups || c_out % groups != 0 {
            bail!(
                "Given groups={groups}, weight of size {:?}, expected input{:?} to have {} channels, but got {c_in} channels instead",
                w.shape(),
                x.shape(),
                w.shape()[1] * groups
            );
        }
        let mut out_sp = Vec::new();
        for d in 0..spatial {
            let span = dilation[d] * (k_sp[d] as i64 - 1) + 1;
            let o = (in_sp[d] as i64 + 2 * padding[d] - span) / stride[d] + 1;
            if o <= 0 || in_sp[d] as i64 + 2 * padding[d] < span {
                bail!(
                    "Calculated padded input size per channel: ({}). Kernel size: ({}). Kernel size can't be greater than actual input size",
                    in_sp[d] as i64 + 2 * padding[d],
                    span
                );
            }
            out_sp.push(o as usize);
        }
        let g = geometry(&in_sp, &out_sp);
        let mut out_shape = vec![n, c_out];
        out_shape.extend(&out_sp);
        let depthwise_case = groups > 1 && groups == c_in && c_out == c_in;
        let few_per_group = groups > 1 && c_in / groups <= GROUP_DIRECT;
        if few_per_group && compute == DType::F32 && g.input[0] == 1 && g.kernel[0] == 1 {
            return finish(grouped_2d_f32(&xc, &wc, bias, &g, groups, &out_shape, then)?, dtype, batched);
        } else if depthwise_case && compute == DType::F32 {
            depthwise::<f32>(&xc, &wc, &g, &out_shape)?
        } else if depthwise_case {
            depthwise::<f64>(&xc, &wc, &g, &out_shape)?
        } else if compute == DType::F32 {
            return finish(forward_f32(&xc, &wc, bias, &g, groups, &out_shape, then)?, dtype, batched);
        } else {
            forward::<f64>(&xc, &wc, &g, groups, &out_shape)?
        }
    } else {
        let output_padding = per_dim(&p.output_padding, spatial, "output_padding")?;
        if c_in != w.shape()[0] {
            bail!(
                "Given transposed=1, weight of size {:?}, expected input{:?} to have {} channels, but got {c_in} channels instead",
                w.shape(),
                x.shape(),
                w.shape()[0]
            );
        }
        let og = w.shape()[1];
        let c_out = og * groups;
        let cg = c_in / groups;
        let mut out_sp = Vec::new();
        for d in 0..spatial {
            let o = (in_sp[d] as i64 - 1) * stride[d] - 2 * padding[d] + dilation[d] * (k_sp[d] as i64 - 1) + output_padding[d] + 1;
            if o <= 0 {
                bail!("convolution_transpose: computed output size {o} is not positive");
            }
            out_sp.push(o as usize);
        }
        // the transposed convolution is col2im of (W^T x): geometry of the forward conv whose
        // output is our input
        let g = geometry(&out_sp, &in_sp);
        let k = og * g.kernel_elems();
        let l = in_sp.iter().product::<usize>();
        let out_elems: usize = out_sp.iter().product();
        let w2 = wc.reshape(&[groups as i64, cg as i64, k as i64])?;
        let mut data = tensor::alloc::tensor_vec(0f64, &[n, c_out, out_elems]);
        for b in 0..n {
            for gi in 0..groups {
                let xin = xc.select(0, b as i64)?.narrow(0, (gi * cg) as i64, cg)?.reshape(&[cg as i64, l as i64])?;
                let cols = matmul::mm(&w2.select(0, gi as i64)?.transpose(0, 1)?, &xin)?.to_f64_vec();
                let start = (b * c_out + gi * og) * out_elems;
                col2im_image(&cols, og, &g, &mut data[start..start + og * out_elems]);
            }
        }
        let mut out_shape = vec![n, c_out];
        out_shape.extend(&out_sp);
        Tensor::from_vec(data, &out_shape)?.to_dtype(compute)
    };
    let out = match bias {
        None => out,
        Some(bias) => {
            let mut shape = vec![1i64; out.dim()];
            shape[1] = -1;
            let b = bias.to_dtype(compute).reshape(&shape)?;
            if compute == DType::F32 {
                tensor::kernels::elementwise::zip::<f32, f32, f32>(&out, &b, |p, q| p + q)?
            } else {
                tensor::kernels::elementwise::zip::<f64, f64, f64>(&out, &b, |p, q| p + q)?
            }
        }
    };
    crate::then_activation(finish(out, dtype, batched)?, then)
}

/// The result in the promoted dtype, without the batch dim an unbatched input was given.
fn finish(out: Tensor, dtype: DType, batched: bool) -> Result<Tensor> {
    let out = if dtype.is_float() { out.to_dtype(dtype) } else { map_f64(&out, dtype, |v| v.round()) };
    if batched {
        Ok(out)
    } else {
        out.squeeze(Some(&[0]))
    }
}

/// A complex convolution as four real ones over the parts (it is bilinear):
/// `re = conv(xr, wr) + br - conv(xi, wi)`, `im = conv(xr, wi) + bi + conv(xi, wr)`.
fn conv_complex(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, p: &ConvParams) -> Result<Tensor> {
    use crate::aten::complex::{self, Complex};
    let out = tensor::promote_types(x.dtype(), w.dtype())?;
    let (xr, xi) = complex::split(&x.to_dtype(out))?;
    let (wr, wi) = complex::split(&w.to_dtype(out))?;
    let (br, bi) = match bias.map(|b| complex::split(&b.to_dtype(out))).transpose()? {
        Some((r, i)) => (Some(r), Some(i)),
        None => (None, None),
    };
    let conv = |x: &Tensor, w: &Tensor, b: Option<&Tensor>| conv_nd(x, w, b, p, None);
    // (conv(xr, wr) + br) + j(conv(xr, wi) + bi), and conv(xi, wi) + j conv(xi, wr)
    let from_real = complex::join(&conv(&xr, &wr, br.as_ref())?, &conv(&xr, &wi, bi.as_ref())?, out)?;
    let from_imag = complex::join(&conv(&xi, &wi, None)?, &conv(&xi, &wr, None)?, out)?;
    complex::zip(&from_real, &from_imag, out, |p, q| Complex::new(p.re - q.re, p.im + q.im))
}

pub fn convolution(a: &Args) -> Result<Value> {
    convolution_then(a, None)
}

/// `convolution` with an activation fused into it ([`ops::ActivationKernel`]).
pub fn convolution_activated(a: &Args, then: Activation) -> Result<Value> {
    convolution_then(a, Some(then))
}

fn convolution_then(a: &Args, then: Option<Activation>) -> Result<Value> {
    let p = ConvParams {
        stride: a.int_list("stride")?,
        padding: a.int_list("padding")?,
        dilation: a.int_list("dilation")?,
        output_padding: a.int_list("output_padding")?,
        transposed: a.bool("transposed")?,
        groups: a.int("groups")?.max(0) as usize,
    };
    Ok(conv_nd(a.tensor("input")?, a.tensor("weight")?, a.opt_tensor("bias")?, &p, then)?.into())
}

pub fn conv2d(a: &Args) -> Result<Value> {
    conv2d_then(a, None)
}

/// `conv2d` with an activation fused into it ([`ops::ActivationKernel`]).
pub fn conv2d_activated(a: &Args, then: Activation) -> Result<Value> {
    conv2d_then(a, Some(then))
}

fn conv2d_then(a: &Args, then: Option<Activation>) -> Result<Value> {
    let p = ConvParams {
        stride: a.int_list("stride")?,
        padding: a.int_list("padding")?,
        dilation: a.int_list("dilation")?,
        output_padding: vec![0],
        transposed: false,
        groups: a.int("groups")?.max(0) as usize,
    };
    Ok(conv_nd(a.tensor("input")?, a.tensor("weight")?, a.opt_tensor("bias")?, &p, then)?.into())
}

fn pair(a: &Args, name: &str) -> Result<[usize; 2]> {
    let v = a.int_list(name)?;
    if v.len() != 2 || v.iter().any(|&x| x < 0) {
        bail!("{name} must be two non-negative integers, got {v:?}");
    }
    Ok([v[0] as usize, v[1] as usize])
}

pub fn im2col(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let batched = x.dim() == 4;
    if !batched && x.dim() != 3 {
        bail!("Expected 3D or 4D (batch mode) tensor for input with possibly 0 batch size and non-zero dimensions for input, but got: {:?}", x.shape());
    }
    let x = if batched { x.clone() } else { x.unsqueeze(0)? };
    let (k, d, p, s) = (pair(a, "kernel_size")?, pair(a, "dilation")?, pair(a, "padding")?, pair(a, "stride")?);
    let (n, c, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let oh = ((h + 2 * p[0]) as i64 - (d[0] * (k[0] - 1) + 1) as i64) / s[0] as i64 + 1;
    let ow = ((w + 2 * p[1]) as i64 - (d[1] * (k[1] - 1) + 1) as i64) / s[1] as i64 + 1;
    if oh <= 0 || ow <= 0 {
        bail!("Given input with spatial size ({h}, {w}), kernel_size={k:?}, dilation={d:?}, padding={p:?}, calculated shape of the array of sliding blocks as ({oh}, {ow}), but its components must be at least one.");
    }
    let g = Geometry {
        input: [1, h, w],
        kernel: [1, k[0], k[1]],
        stride: [1, s[0], s[1]],
        padding: [0, p[0], p[1]],
        dilation: [1, d[0], d[1]],
        output: [1, oh as usize, ow as usize],
    };
    let (rows, l) = (c * k[0] * k[1], (oh * ow) as usize);
    let xf = x.to_dtype(DType::F64);
    let mut data = tensor::alloc::tensor_vec(0f64, &[n, rows, l]);
    for b in 0..n {
        let img = xf.select(0, b as i64)?.contiguous();
        img.with_contiguous::<f64, _>(|xs| im2col_image(xs, &g, &mut data[b * rows * l..(b + 1) * rows * l]));
    }
    let out = Tensor::from_vec(data, &[n, rows, l])?.to_dtype(x.dtype());
    Ok(if batched { out } else { out.squeeze(Some(&[0]))? }.into())
}

pub fn col2im(a: &Args) -> Result<Value> {
    let x = a.tensor("self")?;
    let batched = x.dim() == 3;
    let x = if batched { x.clone() } else { x.unsqueeze(0)? };
    let (osz, k, d, p, s) = (pair(a, "output_size")?, pair(a, "kernel_size")?, pair(a, "dilation")?, pair(a, "padding")?, pair(a, "stride")?);
    let (n, rows, l) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let kk = k[0] * k[1];
    if kk == 0 || rows % kk != 0 {
        bail!("Expected size of input's dimension 1 to be divisible by the product of kernel_size, but got input.size(1)={rows} and kernel_size={k:?}");
    }
    let c = rows / kk;
    let oh = (osz[0] + 2 * p[0]).saturating_sub(d[0] * (k[0] - 1) + 1) / s[0] + 1;
    let ow = (osz[1] + 2 * p[1]).saturating_sub(d[1] * (k[1] - 1) + 1) / s[1] + 1;
    if oh * ow != l {
        bail!("Given output_size={osz:?}, kernel_size={k:?}, dilation={d:?}, padding={p:?}, stride={s:?}, expected size of input's dimension 2 to match the calculated number of sliding blocks {oh} * {ow} = {}, but got input.size(2)={l}.", oh * ow);
    }
    let g = Geometry {
        input: [1, osz[0], osz[1]],
        kernel: [1, k[0], k[1]],
        stride: [1, s[0], s[1]],
        padding: [0, p[0], p[1]],
        dilation: [1, d[0], d[1]],
        output: [1, oh, ow],
    };
    let xv = x.to_f64_vec();
    let plane = c * osz[0] * osz[1];
    let mut data = tensor::alloc::tensor_vec(0f64, &[n, plane]);
    for b in 0..n {
        col2im_image(&xv[b * rows * l..(b + 1) * rows * l], c, &g, &mut data[b * plane..(b + 1) * plane]);
    }
    let out = Tensor::from_vec(data, &[n, c, osz[0], osz[1]])?.to_dtype(x.dtype());
    Ok(if batched { out } else { out.squeeze(Some(&[0]))? }.into())
}

//! Matrix products: `gemm` for floating point, a plain loop for integers.

use super::sgemm;
use super::vmath::Activation;
use crate::{bail, with_dtype, DType, Element, Result, Tensor};

/// `out[b] = a[b] @ c[b]` for 3-d `a: [B, M, K]` and `c: [B, K, N]`; reads any strides.
pub fn bmm(a: &Tensor, c: &Tensor) -> Result<Tensor> {
    let (sa, sc) = (a.shape(), c.shape());
    if a.dim() != 3 || c.dim() != 3 {
        bail!("bmm: expected 3-D tensors, got {}-D and {}-D", a.dim(), c.dim());
    }
    if sa[0] != sc[0] || sa[2] != sc[1] {
        bail!("Expected size for first two dimensions of batch2 tensor to be: [{}, {}] but got: [{}, {}].", sa[0], sa[2], sc[0], sc[1]);
    }
    if a.dtype() != c.dtype() {
        bail!("expected m1 and m2 to have the same dtype, but got: {} != {}", a.dtype().name(), c.dtype().name());
    }
    let (batch, m, k, n) = (sa[0], sa[1], sa[2], sc[2]);
    if batch > 1 && c.strides()[0] == 0 {
        // one right operand for every batch (a weight expanded by `matmul`'s decomposition):
        // a single product over all the batches' rows packs it once instead of once a batch
        let rows = a.contiguous().reshape(&[(batch * m) as i64, k as i64])?;
        return bmm(&rows.unsqueeze(0)?, &c.select(0, 0)?.unsqueeze(0)?)?.reshape(&[batch as i64, m as i64, n as i64]);
    }
    match a.dtype() {
        // thin products (a few rows or columns) are bandwidth-bound: gemm's matrix-vector paths
        // beat packing a whole operand for them
        DType::F32 if m >= 8 && n >= 16 && sgemm::Isa::best() != sgemm::Isa::Portable => Ok(sgemm_batched(a, c, batch, m, k, n)),
        DType::F32 => Ok(gemm_batched::<f32>(a, c, batch, m, k, n)),
        DType::F64 => Ok(gemm_batched::<f64>(a, c, batch, m, k, n)),
        // computed in f32, through the f32 choice of kernel above
        DType::F16 | DType::BF16 => Ok(bmm(&a.to_dtype(DType::F32), &c.to_dtype(DType::F32))?.to_dtype(a.dtype())),
        dt if dt.is_complex() => with_dtype!(dt, T => Ok(complex_batched::<T>(a, c, batch, m, k, n))),
        dt => with_dtype!(dt, T => Ok(int_batched::<T>(a, c, batch, m, k, n))),
    }
}

/// `a @ c` for 2-d tensors.
pub fn mm(a: &Tensor, c: &Tensor) -> Result<Tensor> {
    if a.dim() != 2 || c.dim() != 2 {
        bail!("mm: expected 2-D tensors, got {}-D and {}-D", a.dim(), c.dim());
    }
    if a.shape()[1] != c.shape()[0] {
        bail!("mat1 and mat2 shapes cannot be multiplied ({}x{} and {}x{})", a.shape()[0], a.shape()[1], c.shape()[0], c.shape()[1]);
    }
    bmm(&a.unsqueeze(0)?, &c.unsqueeze(0)?)?.squeeze(Some(&[0]))
}

/// `bias + a @ b` for float32 `a: [M, K]`, `b: [K, N]` (any strides) and a `bias` that
/// broadcasts to `[M, N]` (`linear`'s `[N]`, `addmm`'s `self`): the bias is written into the
/// output first and the product accumulates onto it, so adding it costs no pass of its own.
/// `None` when the product is thin (a few rows or columns, where packing does not pay), the
/// dtypes are not float32, or the machine has only the portable kernel: the caller takes the
/// general path. `then` is applied to each finished output tile (`f(bias + a @ b)`).
pub fn addmm_f32(bias: Option<&Tensor>, a: &Tensor, b: &Tensor, then: Option<Activation>) -> Option<Tensor> {
    let ([m, k], [k2, n]) = (<[usize; 2]>::try_from(a.shape()).ok()?, <[usize; 2]>::try_from(b.shape()).ok()?);
    let dtypes_fit = a.dtype() == DType::F32 && b.dtype() == DType::F32 && bias.is_none_or(|t| t.dtype() == DType::F32);
    if !dtypes_fit || k != k2 || m < 8 || n < 16 || sgemm::Isa::best() == sgemm::Isa::Portable {
        return None;
    }
    let mut out = match bias {
        None => crate::alloc::tensor_vec(0f32, &[m, n]),
        // one row repeated: copied row by row
        Some(t) if t.shape() == [n] || t.shape() == [1, n] => {
            let row = t.to_vec::<f32>();
            let mut out = crate::alloc::tensor_vec(0f32, &[m, n]);
            out.chunks_mut(n).for_each(|r| r.copy_from_slice(&row));
            out
        }
        Some(t) => t.broadcast_to(&[m, n]).ok()?.to_vec::<f32>(),
    };
    if k > 0 {
        let (ga, gb) = (a.storage().read(), b.storage().read());
        let (da, db): (&[f32], &[f32]) = (bytemuck::cast_slice(ga.bytes()), bytemuck::cast_slice(gb.bytes()));
        let (sa, sb) = (a.strides(), b.strides());
        let lhs = sgemm::StridedMatrix { data: da, offset: a.storage_offset(), rows: m, cols: k, rs: sa[0], cs: sa[1] };
        let rhs = sgemm::StridedMatrix { data: db, offset: b.storage_offset(), rows: k, cols: n, rs: sb[0], cs: sb[1] };
        sgemm::sgemm(m, n, k, &lhs, &rhs, &mut out, n, bias.is_some(), m * n * k >= 64 * 64 * 64, then);
    } else if let Some(f) = then {
        f.apply(&mut out);
    }
    Some(Tensor::from_vec(out, &[m, n]).expect("sized by shape"))
}

/// Float32 products through our own [`sgemm`]: batches in parallel when there are enough of
/// them, else each product spread over the threads.
fn sgemm_batched(a: &Tensor, c: &Tensor, batch: usize, m: usize, k: usize, n: usize) -> Tensor {
    let mut out = crate::alloc::tensor_vec(0f32, &[batch, m, n]);
    if m == 0 || n == 0 || batch == 0 {
        return Tensor::from_vec(out, &[batch, m, n]).unwrap();
    }
    let ga = a.storage().read();
    let gc = c.storage().read();
    let da: &[f32] = bytemuck::cast_slice(ga.bytes());
    let dc: &[f32] = bytemuck::cast_slice(gc.bytes());
    let (sa, sc) = (a.strides(), c.strides());
    let threads = rayon::current_num_threads();
    let work = m * n * k;
    let big = work >= 64 * 64 * 64;
    let by_batch = batch >= threads && threads > 1 && batch * work >= 64 * 64 * 64;
    let one = |(b, dst): (usize, &mut [f32])| {
        let lhs =
            sgemm::StridedMatrix { data: da, offset: (a.storage_offset() as isize + b as isize * sa[0]) as usize, rows: m, cols: k, rs: sa[1], cs: sa[2] };
        let rhs =
            sgemm::StridedMatrix { data: dc, offset: (c.storage_offset() as isize + b as isize * sc[0]) as usize, rows: k, cols: n, rs: sc[1], cs: sc[2] };
        sgemm::sgemm(m, n, k, &lhs, &rhs, dst, n, false, big && !by_batch, None);
    };
    if by_batch {
        use rayon::prelude::*;
        out.par_chunks_mut(m * n).enumerate().for_each(one);
    } else {
        out.chunks_mut(m * n).enumerate().for_each(one);
    }
    Tensor::from_vec(out, &[batch, m, n]).unwrap()
}

fn gemm_batched<T: Element + GemmScalar>(a: &Tensor, c: &Tensor, batch: usize, m: usize, k: usize, n: usize) -> Tensor {
    let mut out = crate::alloc::tensor_vec(T::default(), &[batch, m, n]);
    let ga = a.storage().read();
    let gc = c.storage().read();
    let da: &[T] = bytemuck::cast_slice(ga.bytes());
    let dc: &[T] = bytemuck::cast_slice(gc.bytes());
    let (sa, sc) = (a.strides(), c.strides());
    let threads = if m * n * k >= 64 * 64 * 64 { rayon::current_num_threads() } else { 1 };
    let parallelism = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    if k == 0 || m == 0 || n == 0 {
        return Tensor::from_vec(out, &[batch, m, n]).unwrap();
    }
    // Rows are split into one band per thread, each band a single-threaded product: for
    // mid-sized matrices this keeps both cores busier than gemm's own splitting.
    let bands = if threads > 1 && m >= 2 * threads { threads } else { 1 };
    let band = m.div_ceil(bands);
    for b in 0..batch {
        let pa = a.storage_offset() as isize + b as isize * sa[0];
        let pc = c.storage_offset() as isize + b as isize * sc[0];
        let dst = &mut out[b * m * n..(b + 1) * m * n];
        let run = |(i, rows): (usize, &mut [T])| {
            let r = rows.len() / n;
            // SAFETY: the tensors' layouts were checked to lie inside their storages when
            // built; band `i` reads rows `i*band..` of `a` and writes its own slice of `dst`.
            unsafe {
                gemm::gemm(
                    r,
                    n,
                    k,
                    rows.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    da.as_ptr().offset(pa + (i * band) as isize * sa[1]),
                    sa[2],
                    sa[1],
                    dc.as_ptr().offset(pc),
                    sc[2],
                    sc[1],
                    T::zero(),
                    T::one(),
                    false,
                    false,
                    false,
                    if bands > 1 { gemm::Parallelism::None } else { parallelism },
                );
            }
        };
        if bands > 1 {
            use rayon::prelude::*;
            dst.par_chunks_mut(band * n).enumerate().for_each(run);
        } else {
            dst.chunks_mut(band * n).enumerate().for_each(run);
        }
    }
    Tensor::from_vec(out, &[batch, m, n]).unwrap()
}

fn int_batched<T: Element>(a: &Tensor, c: &Tensor, batch: usize, m: usize, k: usize, n: usize) -> Tensor {
    let av = a.to_i64_vec();
    let cv = c.to_i64_vec();
    let mut out = crate::alloc::tensor_vec(T::default(), &[batch, m, n]);
    for b in 0..batch {
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0i64;
                for p in 0..k {
                    acc = acc.wrapping_add(av[b * m * k + i * k + p].wrapping_mul(cv[b * k * n + p * n + j]));
                }
                out[b * m * n + i * n + j] = if T::DTYPE == DType::Bool { T::from_bool(acc != 0) } else { T::from_i64(acc) };
            }
        }
    }
    Tensor::from_vec(out, &[batch, m, n]).unwrap()
}

/// Complex products, each output accumulated in double precision and rounded once; rows run in
/// parallel. A plain loop: complex programs are rare, and small next to float ones.
fn complex_batched<T: Element>(a: &Tensor, c: &Tensor, batch: usize, m: usize, k: usize, n: usize) -> Tensor {
    use rayon::prelude::*;
    let mut out = crate::alloc::tensor_vec(T::default(), &[batch, m, n]);
    if out.is_empty() {
        return Tensor::from_vec(out, &[batch, m, n]).unwrap();
    }
    let av: Vec<(f64, f64)> = a.to_vec::<T>().into_iter().map(Element::to_complex).collect();
    let cv: Vec<(f64, f64)> = c.to_vec::<T>().into_iter().map(Element::to_complex).collect();
    out.par_chunks_mut(n).enumerate().for_each(|(row, o)| {
        let (b, lhs) = (row / m, &av[row * k..(row + 1) * k]);
        for (j, o) in o.iter_mut().enumerate() {
            let (mut re, mut im) = (0.0, 0.0);
            for (p, &(xr, xi)) in lhs.iter().enumerate() {
                let (yr, yi) = cv[(b * k + p) * n + j];
                re += xr * yr - xi * yi;
                im += xr * yi + xi * yr;
            }
            *o = T::from_complex(re, im);
        }
    });
    Tensor::from_vec(out, &[batch, m, n]).unwrap()
}

/// The element types `gemm` multiplies.
pub trait GemmScalar: Copy + Send + Sync + 'static {
    fn zero() -> Self;
    fn one() -> Self;
}
impl GemmScalar for f32 {
    fn zero() -> Self {
        0.0
    }
    fn one() -> Self {
        1.0
    }
}
impl GemmScalar for f64 {
    fn zero() -> Self {
        0.0
    }
    fn one() -> Self {
        1.0
    }
}

/// A strided operand of [`gemm_strided`]: a slice and its (row, column) strides in elements.
pub struct Strided<'a, T> {
    pub data: &'a [T],
    pub rs: usize,
    pub cs: usize,
}

fn extent(rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * rs + (cols - 1) * cs + 1
    }
}

/// `dst[m×n] = lhs[m×k] @ rhs[k×n]` with every operand strided (row stride, column stride),
/// e.g. to compute a transposed product without copying.
#[allow(clippy::too_many_arguments)]
pub fn gemm_strided<T: GemmScalar>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    dst_rs: usize,
    dst_cs: usize,
    lhs: Strided<T>,
    rhs: Strided<T>,
    parallel: bool,
) {
    assert!(dst.len() >= extent(m, n, dst_rs, dst_cs), "gemm_strided: dst too small");
    assert!(lhs.data.len() >= extent(m, k, lhs.rs, lhs.cs) && rhs.data.len() >= extent(k, n, rhs.rs, rhs.cs), "gemm_strided: operand too small");
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let threads = rayon::current_num_threads();
    let parallelism = if parallel && threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    // SAFETY: the asserts bound every element each strided operand addresses.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_cs as isize,
            dst_rs as isize,
            false,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            T::zero(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
}

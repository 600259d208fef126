//! Single-precision matrix multiply, `C (+)= A @ B`, written for the shapes inference runs:
//! the operand packing, cache blocking and threading of the BLIS design around one
//! register-blocked microkernel per instruction set (AVX-512, AVX2+FMA, portable).
//!
//! Why our own: the `gemm` crate reaches about half of an AVX-512 core's peak, MKL nearly all
//! of it. And convolution wants to pack its right-hand operand straight from the image
//! (implicit im2col, see [`PanelSource`]) instead of materializing a column matrix that does
//! not fit in cache.
//!
//! The loops, outermost first (`KC`, `NC` below; `MR`×`NR` is the microkernel's tile):
//! 1. `k` in blocks of `KC`: `A[:, k-block]` is packed once into `MR`-row panels shared by
//!    every thread;
//! 2. tasks, one per thread: a range of `NC` columns (and, when columns are too few to go
//!    round, a range of rows); each task packs its `B[k-block, cols]` into `NR`-column panels
//!    (its own cache-resident buffer);
//! 3. for each `A` panel (kept in L1) and each `B` panel (streamed from L2): the microkernel.

mod kernels;
mod pack;

pub use kernels::Isa;
pub use pack::{put_run, zero_run, GatheredMatrix, PanelSource, StridedMatrix};

use kernels::{GatheredRows, MicroKernel, PackedRows, Rows};
use super::vmath::Activation;
use super::scratch::with_local;
use std::cell::RefCell;

/// Depth of one packed block: an `A` panel (`MR × KC`) stays in L1 while `B` panels stream.
const KC: usize = 256;
/// Columns of one task's packed `B` block (`KC × NC` floats, sized for a core's L2).
const NC: usize = 1024;

/// `c[i*ldc + j] (+)= sum_p a[i, p] * b[p, j]` for `i < m`, `j < n`, `p < k`, with the best
/// microkernel this CPU runs. `accumulate` adds to `c` instead of overwriting it; `parallel`
/// spreads the work over rayon's threads; `then`, an activation, is applied to each output
/// tile as it is finished, while it is in cache (`c = f(c + a @ b)`).
#[allow(clippy::too_many_arguments)]
pub fn sgemm<B: PanelSource>(m: usize, n: usize, k: usize, a: &StridedMatrix, b: &B, c: &mut [f32], ldc: usize, accumulate: bool, parallel: bool, then: Option<Activation>) {
    sgemm_with(Isa::best(), m, n, k, a, b, c, ldc, accumulate, parallel, then)
}

/// [`sgemm`] with a right-hand operand whose rows are read in place instead of packed (see
/// [`GatheredMatrix`]).
#[allow(clippy::too_many_arguments)]
pub fn sgemm_gathered(m: usize, n: usize, k: usize, a: &StridedMatrix, b: &GatheredMatrix, c: &mut [f32], ldc: usize, accumulate: bool, parallel: bool, then: Option<Activation>) {
    sgemm_right(Isa::best(), m, n, k, a, Right::Gathered(b), c, ldc, accumulate, parallel, then)
}

/// [`sgemm`] with a chosen microkernel (tests run every one the machine has).
///
/// Panics if `isa` is not available on this CPU or `c` is too short for `m` rows of `ldc`.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_with<B: PanelSource>(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    a: &StridedMatrix,
    b: &B,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
    parallel: bool,
    then: Option<Activation>,
) {
    sgemm_right(isa, m, n, k, a, Right::Packed(b), c, ldc, accumulate, parallel, then)
}

/// The right-hand operand as the driver reads it.
#[derive(Clone, Copy)]
pub enum Right<'a> {
    /// Packed block by block from its source.
    Packed(&'a dyn PanelSource),
    /// Read in place, but for a ragged last panel.
    Gathered(&'a GatheredMatrix<'a>),
}

impl Right<'_> {
    fn cols(&self) -> usize {
        match self {
            Right::Packed(s) => s.cols(),
            Right::Gathered(g) => g.cols(),
        }
    }
}

/// [`sgemm`] with a chosen microkernel and either kind of right-hand operand.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_right(isa: Isa, m: usize, n: usize, k: usize, a: &StridedMatrix, b: Right, c: &mut [f32], ldc: usize, accumulate: bool, parallel: bool, then: Option<Activation>) {
    assert!(isa.available(), "sgemm: {isa:?} is not supported by this CPU");
    if m == 0 || n == 0 {
        return;
    }
    assert!(ldc >= n && c.len() >= (m - 1) * ldc + n, "sgemm: output too small");
    a.check(m, k);
    assert_eq!(b.cols(), n, "sgemm: right operand has {} columns, expected {n}", b.cols());
    if let Right::Gathered(g) = b {
        assert!(g.row_offsets.len() >= k, "sgemm: right operand has {} rows, expected {k}", g.row_offsets.len());
    }
    if k == 0 {
        for row in c.chunks_mut(ldc).take(m) {
            if !accumulate {
                row[..n].fill(0.0);
            }
            if let Some(f) = then {
                f.apply(&mut row[..n]);
            }
        }
        return;
    }
    let out = Output { ptr: c.as_mut_ptr(), ldc, m, n, then };
    let run = || match isa {
        Isa::Avx512 => drive::<kernels::Avx512>(k, a, b, out, accumulate, parallel),
        Isa::Avx2 => drive::<kernels::Avx2>(k, a, b, out, accumulate, parallel),
        Isa::Portable => drive::<kernels::Portable>(k, a, b, out, accumulate, parallel),
    };
    // The driver's parallel steps (pack A, then the tasks, per k-block) are cheap joins
    // between rayon's workers, but each one started from outside the pool would wake the
    // workers and park the caller: so the whole product runs on a worker.
    if parallel && rayon::current_thread_index().is_none() {
        rayon::scope(|_| run());
    } else {
        run();
    }
}

/// The output matrix, shared by tasks that write disjoint tiles of it.
#[derive(Clone, Copy)]
struct Output {
    ptr: *mut f32,
    ldc: usize,
    m: usize,
    n: usize,
    /// Applied to each tile after the last k-block has been added.
    then: Option<Activation>,
}
// SAFETY: tasks write disjoint row×column ranges (see `drive`), so sharing the pointer across
// threads never makes two of them touch the same element.
unsafe impl Send for Output {}
unsafe impl Sync for Output {}

thread_local! {
    /// Each thread's packed-`B` block, kept between calls so that its pages stay mapped.
    static B_BLOCK: RefCell<AlignedBuf> = RefCell::new(AlignedBuf::default());
    /// The calling thread's packed `A` block.
    static A_BLOCK: RefCell<AlignedBuf> = RefCell::new(AlignedBuf::default());
}

fn drive<K: MicroKernel>(k: usize, a: &StridedMatrix, b: Right, out: Output, accumulate: bool, parallel: bool) {
    let (m, n) = (out.m, out.n);
    let threads = if parallel { rayon::current_num_threads().max(1) } else { 1 };
    let m_panels = m.div_ceil(K::MR);
    let n_panels = n.div_ceil(K::NR);
    let grid = Grid::choose(m_panels, n_panels, K::MR, K::NR, threads);
    let (col_tasks, row_tasks) = (grid.col_tasks, grid.row_tasks);
    let (per_task, rows_per_task) = (n_panels.div_ceil(col_tasks), m_panels.div_ceil(row_tasks));
    with_local(&A_BLOCK, |a_buf| {
        // equal k-blocks: a short last one would pay a whole tile load and store for little
        let kc = k.div_ceil(k.div_ceil(KC));
        for k0 in (0..k).step_by(kc) {
            let kc = kc.min(k - k0);
            let a_pack = a_buf.get(m_panels * K::MR * kc);
            let pack_a = |(panel, dst): (usize, &mut [f32])| a.pack_rows(panel * K::MR, K::MR, m, k0, kc, dst);
            if threads > 1 && m_panels > 1 {
                use rayon::prelude::*;
                a_pack.par_chunks_mut(K::MR * kc).enumerate().for_each(pack_a);
            } else {
                a_pack.chunks_mut(K::MR * kc).enumerate().for_each(pack_a);
            }
            let a_pack: &[f32] = a_pack;
            let add = accumulate || k0 > 0;
            let last = k0 + kc == k;
            let task = |t: usize| {
                let (ct, rt) = (t % col_tasks, t / col_tasks);
                let panels = ct * per_task..((ct + 1) * per_task).min(n_panels);
                let rows = rt * rows_per_task..((rt + 1) * rows_per_task).min(m_panels);
                with_local(&B_BLOCK, |b_buf| match b {
                    Right::Packed(source) => {
                        let b_pack = b_buf.get(panels.len() * K::NR * kc);
                        source.pack_panels(k0, kc, panels.start * K::NR, panels.len(), K::NR, b_pack);
                        for r in rows.clone() {
                            let a_panel = &a_pack[r * K::MR * kc..(r + 1) * K::MR * kc];
                            for (q, b_panel) in panels.clone().zip(b_pack.chunks(K::NR * kc)) {
                                let rows = PackedRows { ptr: b_panel.as_ptr(), width: K::NR };
                                // SAFETY: tile (r, q) lies in this task's rows × columns, which no
                                // other task writes; `tile` bounds it by the output's m × n.
                                unsafe { tile::<K>(kc, a_panel, rows, out, r * K::MR, q * K::NR, add, last) };
                            }
                        }
                    }
                    Right::Gathered(g) => {
                        // a panel's rows are reread from cache for every A panel: panels outer
                        for q in panels.clone() {
                            let j0 = q * K::NR;
                            let offsets = &g.row_offsets[k0..k0 + kc];
                            let whole = j0 + K::NR <= n;
                            let packed = if whole {
                                None
                            } else {
                                let dst = b_buf.get(K::NR * kc);
                                g.pack_panels(k0, kc, j0, 1, K::NR, dst);
                                Some(&*dst)
                            };
                            for r in rows.clone() {
                                let a_panel = &a_pack[r * K::MR * kc..(r + 1) * K::MR * kc];
                                // SAFETY: as above; a whole panel's rows lie inside `g.data`
                                // (checked when `g` was built: every offset + cols fits).
                                unsafe {
                                    match packed {
                                        None => {
                                            let rows = GatheredRows { base: g.data.as_ptr().add(j0), offsets: offsets.as_ptr() };
                                            tile::<K>(kc, a_panel, rows, out, r * K::MR, j0, add, last)
                                        }
                                        Some(p) => tile::<K>(kc, a_panel, PackedRows { ptr: p.as_ptr(), width: K::NR }, out, r * K::MR, j0, add, last),
                                    }
                                }
                            }
                        }
                    }
                });
            };
            let tasks = col_tasks * row_tasks;
            if threads > 1 && tasks > 1 {
                use rayon::prelude::*;
                (0..tasks).into_par_iter().for_each(task);
            } else {
                (0..tasks).for_each(task);
            }
        }
    });
}

/// How one k-block's output is cut into tasks: `col_tasks × row_tasks` rectangles of whole
/// tiles.
#[derive(Debug, PartialEq)]
struct Grid {
    col_tasks: usize,
    row_tasks: usize,
}

impl Grid {
    /// The cut whose slowest thread finishes first. A task's cost is its tiles' area plus the
    /// packing of its `B` columns (about four rows' worth of multiply-adds); tasks beyond the
    /// thread count run in further rounds. Column blocks never exceed `NC`, so a packed block
    /// stays in L2.
    fn choose(m_panels: usize, n_panels: usize, mr: usize, nr: usize, threads: usize) -> Grid {
        let min_cols = n_panels.div_ceil((NC / nr).max(1));
        let mut best = (usize::MAX, Grid { col_tasks: min_cols, row_tasks: 1 });
        for col_tasks in min_cols..=(min_cols + threads).min(n_panels) {
            for row_tasks in 1..=threads.min(m_panels) {
                let rows = m_panels.div_ceil(row_tasks) * mr;
                let cols = n_panels.div_ceil(col_tasks) * nr;
                let rounds = (col_tasks * row_tasks).div_ceil(threads);
                let cost = (rows + 4) * cols * rounds;
                if cost < best.0 {
                    best = (cost, Grid { col_tasks, row_tasks });
                }
            }
        }
        best.1
    }
}

/// One `MR × NR` tile of the output at (`i0`, `j0`): written in place when whole, through a
/// scratch tile at the matrix's bottom and right edges; on the `last` k-block, the output's
/// activation follows while the tile is in L1.
///
/// # Safety
/// No other thread may access the tile's elements of `out` during the call.
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<K: MicroKernel>(kc: usize, a_panel: &[f32], b: impl Rows, out: Output, i0: usize, j0: usize, add: bool, last: bool) {
    debug_assert!(a_panel.len() >= K::MR * kc);
    let (rows, cols) = (K::MR.min(out.m - i0), K::NR.min(out.n - j0));
    let c = out.ptr.add(i0 * out.ldc + j0);
    if rows == K::MR && cols == K::NR {
        K::run(kc, a_panel.as_ptr(), b, c, out.ldc, add);
    } else {
        let mut scratch = [0f32; kernels::MAX_TILE];
        K::run(kc, a_panel.as_ptr(), b, scratch.as_mut_ptr(), K::NR, false);
        for i in 0..rows {
            let dst = std::slice::from_raw_parts_mut(c.add(i * out.ldc), cols);
            let src = &scratch[i * K::NR..i * K::NR + cols];
            if add {
                dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
            } else {
                dst.copy_from_slice(src);
            }
        }
    }
    if let (Some(f), true) = (out.then, last) {
        for i in 0..rows {
            f.apply(std::slice::from_raw_parts_mut(c.add(i * out.ldc), cols));
        }
    }
}

/// A growable f32 buffer whose slices start on a 64-byte (cache line) boundary.
#[derive(Default)]
struct AlignedBuf {
    data: Vec<f32>,
}

impl AlignedBuf {
    fn get(&mut self, len: usize) -> &mut [f32] {
        if self.data.len() < len + 16 {
            self.data = vec![0.0; len + 16];
        }
        let start = self.data.as_ptr().align_offset(64).min(15);
        &mut self.data[start..start + len]
    }
}

#[cfg(test)]
mod tests;

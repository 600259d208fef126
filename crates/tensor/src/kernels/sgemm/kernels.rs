//! The microkernels: `C[MR×NR] (+)= A_panel[MR×kc] @ B_panel[kc×NR]` with the whole tile in
//! registers. Each is sized to its register file: accumulators plus the `B` row in vector
//! registers, `A` values broadcast from memory, twice as many FMAs per step as loads.

/// The largest `MR * NR` of any kernel (the edge tiles' scratch size).
pub const MAX_TILE: usize = 8 * 48;

/// Where a tile's `B` rows are: `NR` consecutive floats each.
pub trait Rows: Copy {
    /// # Safety
    /// `p` is below the tile's depth.
    unsafe fn row(self, p: usize) -> *const f32;
}

/// A packed panel: row `p` at `p * width`.
#[derive(Clone, Copy)]
pub struct PackedRows {
    pub ptr: *const f32,
    pub width: usize,
}

impl Rows for PackedRows {
    #[inline(always)]
    unsafe fn row(self, p: usize) -> *const f32 {
        self.ptr.add(p * self.width)
    }
}

/// Rows read in place: row `p` at `base + offsets[p]` (see [`super::GatheredMatrix`]).
#[derive(Clone, Copy)]
pub struct GatheredRows {
    pub base: *const f32,
    pub offsets: *const usize,
}

impl Rows for GatheredRows {
    #[inline(always)]
    unsafe fn row(self, p: usize) -> *const f32 {
        self.base.add(*self.offsets.add(p))
    }
}

/// A register-blocked tile product.
pub trait MicroKernel {
    const MR: usize;
    const NR: usize;

    /// `c[i*ldc + j] (+)= sum_p a[p*MR + i] * b.row(p)[j]` for the whole tile.
    ///
    /// # Safety
    /// `a` holds `MR * kc` floats, every `b` row `p < kc` `NR` floats, `c` an `MR`-row tile
    /// of stride `ldc`; the CPU has the kernel's instruction set.
    unsafe fn run<R: Rows>(kc: usize, a: *const f32, b: R, c: *mut f32, ldc: usize, add: bool);
}

/// The instruction sets a microkernel is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// 8×48 tiles in 24 zmm accumulators.
    Avx512,
    /// 6×16 tiles in 12 ymm accumulators.
    Avx2,
    /// 4×16 tiles in plain Rust, for CPUs without either.
    Portable,
}

impl Isa {
    pub const ALL: [Isa; 3] = [Isa::Avx512, Isa::Avx2, Isa::Portable];

    pub fn available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"),
            Isa::Portable => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The fastest kernel this CPU runs.
    pub fn best() -> Isa {
        Isa::ALL.into_iter().find(|isa| isa.available()).unwrap_or(Isa::Portable)
    }
}

pub struct Avx512;
pub struct Avx2;
pub struct Portable;

impl MicroKernel for Avx512 {
    const MR: usize = 8;
    const NR: usize = 48;

    #[inline]
    unsafe fn run<R: Rows>(kc: usize, a: *const f32, b: R, c: *mut f32, ldc: usize, add: bool) {
        #[cfg(target_arch = "x86_64")]
        x86::avx512_8x48(kc, a, b, c, ldc, add);
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("AVX-512 kernel on a CPU without it {:?}", (kc, a, b.row(0), c, ldc, add));
    }
}

impl MicroKernel for Avx2 {
    const MR: usize = 6;
    const NR: usize = 16;

    #[inline]
    unsafe fn run<R: Rows>(kc: usize, a: *const f32, b: R, c: *mut f32, ldc: usize, add: bool) {
        #[cfg(target_arch = "x86_64")]
        x86::avx2_6x16(kc, a, b, c, ldc, add);
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("AVX2 kernel on a CPU without it {:?}", (kc, a, b.row(0), c, ldc, add));
    }
}

impl MicroKernel for Portable {
    const MR: usize = 4;
    const NR: usize = 16;

    unsafe fn run<R: Rows>(kc: usize, a: *const f32, b: R, c: *mut f32, ldc: usize, add: bool) {
        const MR: usize = Portable::MR;
        const NR: usize = Portable::NR;
        let a = std::slice::from_raw_parts(a, MR * kc);
        let mut acc = [[0f32; NR]; MR];
        for (p, ap) in a.chunks_exact(MR).enumerate() {
            let bp = std::slice::from_raw_parts(b.row(p), NR);
            for (row, &av) in acc.iter_mut().zip(ap) {
                for (s, &bv) in row.iter_mut().zip(bp) {
                    *s = av.mul_add(bv, *s);
                }
            }
        }
        for (i, row) in acc.iter().enumerate() {
            let dst = std::slice::from_raw_parts_mut(c.add(i * ldc), NR);
            for (d, &s) in dst.iter_mut().zip(row) {
                *d = if add { *d + s } else { s };
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Rows;
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f")]
    pub unsafe fn avx512_8x48<R: Rows>(kc: usize, mut a: *const f32, rows: R, c: *mut f32, ldc: usize, add: bool) {
        let mut acc = [[_mm512_setzero_ps(); 3]; 8];
        for p in 0..kc {
            let b = rows.row(p);
            let b0 = _mm512_loadu_ps(b);
            let b1 = _mm512_loadu_ps(b.add(16));
            let b2 = _mm512_loadu_ps(b.add(32));
            for (i, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*a.add(i));
                row[0] = _mm512_fmadd_ps(av, b0, row[0]);
                row[1] = _mm512_fmadd_ps(av, b1, row[1]);
                row[2] = _mm512_fmadd_ps(av, b2, row[2]);
            }
            a = a.add(8);
        }
        for (i, row) in acc.iter().enumerate() {
            for (v, &sum) in row.iter().enumerate() {
                let p = c.add(i * ldc + 16 * v);
                let r = if add { _mm512_add_ps(_mm512_loadu_ps(p), sum) } else { sum };
                _mm512_storeu_ps(p, r);
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn avx2_6x16<R: Rows>(kc: usize, mut a: *const f32, rows: R, c: *mut f32, ldc: usize, add: bool) {
        let mut acc = [[_mm256_setzero_ps(); 2]; 6];
        for p in 0..kc {
            let b = rows.row(p);
            let b0 = _mm256_loadu_ps(b);
            let b1 = _mm256_loadu_ps(b.add(8));
            for (i, row) in acc.iter_mut().enumerate() {
                let av = _mm256_broadcast_ss(&*a.add(i));
                row[0] = _mm256_fmadd_ps(av, b0, row[0]);
                row[1] = _mm256_fmadd_ps(av, b1, row[1]);
            }
            a = a.add(6);
        }
        for (i, row) in acc.iter().enumerate() {
            for (v, &sum) in row.iter().enumerate() {
                let p = c.add(i * ldc + 8 * v);
                let r = if add { _mm256_add_ps(_mm256_loadu_ps(p), sum) } else { sum };
                _mm256_storeu_ps(p, r);
            }
        }
    }
}

//! Packing operands into the microkernel's panel layouts: `A` as `MR`-row panels stored
//! column by column (`dst[p * MR + i]`), `B` as `NR`-column panels stored row by row
//! (`dst[p * NR + j]`), both zero-padded past the matrix edge.

/// A right-hand operand that can write its own packed panels. A strided matrix is one; an
/// image read as its im2col matrix (convolution) is another.
pub trait PanelSource: Sync {
    /// The operand's column count; columns at and past it pack as zeros.
    fn cols(&self) -> usize;

    /// Writes rows `k0..k0 + kc` of columns `j0..j0 + nr` into `dst` (`kc * nr` floats, row
    /// by row).
    fn pack_panel(&self, k0: usize, kc: usize, j0: usize, nr: usize, dst: &mut [f32]);
}

/// A read-only matrix over a slice: element `(i, j)` at `data[offset + i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub struct StridedMatrix<'a> {
    pub data: &'a [f32],
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
    pub rs: isize,
    pub cs: isize,
}

impl<'a> StridedMatrix<'a> {
    /// A row-major `rows × cols` matrix.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        StridedMatrix { data, offset: 0, rows, cols, rs: cols as isize, cs: 1 }
    }

    /// Panics unless the matrix is `rows × cols` and every element lies inside `data`.
    pub(super) fn check(&self, rows: usize, cols: usize) {
        assert!(self.rows == rows && self.cols == cols, "sgemm: operand is {}x{}, expected {rows}x{cols}", self.rows, self.cols);
        if rows == 0 || cols == 0 {
            return;
        }
        let corner = |i: usize, j: usize| self.offset as isize + i as isize * self.rs + j as isize * self.cs;
        let ends = [corner(0, 0), corner(rows - 1, 0), corner(0, cols - 1), corner(rows - 1, cols - 1)];
        assert!(ends.iter().all(|&e| e >= 0 && (e as usize) < self.data.len()), "sgemm: operand strides reach outside its data");
    }

    #[inline]
    fn at(&self, i: usize, j: usize) -> f32 {
        self.data[(self.offset as isize + i as isize * self.rs + j as isize * self.cs) as usize]
    }

    /// Packs rows `i0..i0 + mr` (zero past `m`) of columns `k0..k0 + kc` column by column.
    pub(super) fn pack_rows(&self, i0: usize, mr: usize, m: usize, k0: usize, kc: usize, dst: &mut [f32]) {
        let rows = mr.min(m.saturating_sub(i0));
        if rows < mr {
            dst[..mr * kc].fill(0.0);
        }
        for i in 0..rows {
            if self.cs == 1 {
                let start = (self.offset as isize + (i0 + i) as isize * self.rs) as usize + k0;
                for (p, &v) in self.data[start..start + kc].iter().enumerate() {
                    dst[p * mr + i] = v;
                }
            } else {
                for p in 0..kc {
                    dst[p * mr + i] = self.at(i0 + i, k0 + p);
                }
            }
        }
    }
}

impl PanelSource for StridedMatrix<'_> {
    fn cols(&self) -> usize {
        self.cols
    }

    fn pack_panel(&self, k0: usize, kc: usize, j0: usize, nr: usize, dst: &mut [f32]) {
        let cols = nr.min(self.cols.saturating_sub(j0));
        for (p, row) in dst[..kc * nr].chunks_exact_mut(nr).enumerate() {
            if self.cs == 1 {
                let start = (self.offset as isize + (k0 + p) as isize * self.rs) as usize + j0;
                row[..cols].copy_from_slice(&self.data[start..start + cols]);
            } else {
                for (j, d) in row[..cols].iter_mut().enumerate() {
                    *d = self.at(k0 + p, j0 + j);
                }
            }
            row[cols..].fill(0.0);
        }
    }
}

//! Packing operands into the microkernel's panel layouts: `A` as `MR`-row panels stored
//! column by column (`dst[p * MR + i]`), `B` as `NR`-column panels stored row by row
//! (`dst[p * NR + j]`), both zero-padded past the matrix edge.

/// A right-hand operand that can write its own packed panels. A strided matrix is one; an
/// image read as its im2col matrix (convolution) is another.
pub trait PanelSource: Sync {
    /// The operand's column count; columns at and past it pack as zeros.
    fn cols(&self) -> usize;

    /// Writes rows `k0..k0 + kc` of columns `j0..j0 + panels * nr` into `dst` as `panels`
    /// consecutive panels of `kc * nr` floats, each row by row.
    fn pack_panels(&self, k0: usize, kc: usize, j0: usize, panels: usize, nr: usize, dst: &mut [f32]);
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
        if self.cs == 1 && rows == 8 && mr == 8 {
            let row = |i: usize| {
                let start = (self.offset as isize + (i0 + i) as isize * self.rs) as usize + k0;
                &self.data[start..start + kc]
            };
            interleave::<8>(std::array::from_fn(row), &mut dst[..8 * kc]);
            return;
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

/// `dst[p * R + i] = rows[i][p]`: `R` equal rows side by side, written straight through.
fn interleave<const R: usize>(rows: [&[f32]; R], dst: &mut [f32]) {
    let kc = dst.len() / R;
    assert!(rows.iter().all(|r| r.len() == kc), "interleave: rows of unequal length");
    for (p, column) in dst.chunks_exact_mut(R).enumerate() {
        for (d, row) in column.iter_mut().zip(&rows) {
            // SAFETY: p < kc == row.len(), asserted above
            *d = unsafe { *row.get_unchecked(p) };
        }
    }
}

impl PanelSource for StridedMatrix<'_> {
    fn cols(&self) -> usize {
        self.cols
    }

    fn pack_panels(&self, k0: usize, kc: usize, j0: usize, panels: usize, nr: usize, dst: &mut [f32]) {
        for (q, panel) in dst[..panels * kc * nr].chunks_exact_mut(kc * nr).enumerate() {
            self.pack_panel(k0, kc, j0 + q * nr, nr, panel);
        }
    }
}

impl StridedMatrix<'_> {
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

/// A matrix whose rows are contiguous runs at arbitrary offsets of one slice: row `p` is
/// `data[row_offsets[p]..row_offsets[p] + cols]`. Convolution with stride 1 reads its im2col
/// matrix this way from a padded image, with no packing at all.
#[derive(Clone, Copy, Debug)]
pub struct GatheredMatrix<'a> {
    pub(super) data: &'a [f32],
    pub(super) row_offsets: &'a [usize],
    cols: usize,
}

impl<'a> GatheredMatrix<'a> {
    /// Panics unless every row lies inside `data`.
    pub fn new(data: &'a [f32], row_offsets: &'a [usize], cols: usize) -> Self {
        assert!(row_offsets.iter().all(|&o| o + cols <= data.len()), "GatheredMatrix: a row reaches past its data");
        GatheredMatrix { data, row_offsets, cols }
    }
}

impl PanelSource for GatheredMatrix<'_> {
    fn cols(&self) -> usize {
        self.cols
    }

    fn pack_panels(&self, k0: usize, kc: usize, j0: usize, panels: usize, nr: usize, dst: &mut [f32]) {
        let width = panels * nr;
        let cols = width.min(self.cols.saturating_sub(j0));
        for p in 0..kc {
            let start = self.row_offsets[k0 + p] + j0;
            put_run(dst, p, kc, nr, 0, &self.data[start..start + cols]);
            zero_run(dst, p, kc, nr, cols, width - cols);
        }
    }
}

/// Writes `src` as row `p`, columns `o..o + src.len()` (relative to the block's first column)
/// of a packed block of `kc × nr` panels, splitting it at panel edges: for sources that
/// produce contiguous runs of a row, like convolution's image columns.
#[inline]
pub fn put_run(dst: &mut [f32], p: usize, kc: usize, nr: usize, o: usize, mut src: &[f32]) {
    let mut col = o;
    while !src.is_empty() {
        let (q, j) = (col / nr, col % nr);
        let len = (nr - j).min(src.len());
        let at = q * kc * nr + p * nr + j;
        dst[at..at + len].copy_from_slice(&src[..len]);
        src = &src[len..];
        col += len;
    }
}

/// Like [`put_run`], for a run of `len` zeros.
#[inline]
pub fn zero_run(dst: &mut [f32], p: usize, kc: usize, nr: usize, o: usize, len: usize) {
    let mut col = o;
    let end = o + len;
    while col < end {
        let (q, j) = (col / nr, col % nr);
        let l = (nr - j).min(end - col);
        let at = q * kc * nr + p * nr + j;
        dst[at..at + l].fill(0.0);
        col += l;
    }
}

//! Walking a strided layout in logical (row-major) order.

/// Calls `f(dst_index, src_offset)` for every element of a strided layout, in row-major order.
/// The innermost dimension is a tight loop; outer dimensions advance an odometer.
#[inline]
pub fn for_each_offset(shape: &[usize], strides: &[isize], offset: usize, mut f: impl FnMut(usize, usize)) {
    let n: usize = shape.iter().product();
    if n == 0 {
        return;
    }
    if shape.is_empty() {
        f(0, offset);
        return;
    }
    let rank = shape.len();
    let inner = shape[rank - 1];
    let inner_stride = strides[rank - 1];
    let mut idx = [0usize; 16];
    let mut idx_vec;
    let counters: &mut [usize] = if rank <= 16 {
        &mut idx[..rank]
    } else {
        idx_vec = vec![0usize; rank];
        &mut idx_vec
    };
    let mut base = offset as isize;
    let mut out = 0usize;
    loop {
        let mut o = base;
        for _ in 0..inner {
            f(out, o as usize);
            out += 1;
            o += inner_stride;
        }
        // advance the odometer over the outer dims
        let mut d = rank - 1;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            counters[d] += 1;
            base += strides[d];
            if counters[d] < shape[d] {
                break;
            }
            base -= strides[d] * shape[d] as isize;
            counters[d] = 0;
        }
    }
}

/// The same layout with size-1 dims dropped and each dim merged into the one before it where
/// the two walk memory as one (`stride[d] == stride[d + 1] * shape[d + 1]`): a permuted or
/// sliced tensor's copy then runs over the fewest, longest rows.
pub fn coalesce(shape: &[usize], strides: &[isize]) -> (Vec<usize>, Vec<isize>) {
    let (mut sh, mut st): (Vec<usize>, Vec<isize>) = (Vec::with_capacity(shape.len()), Vec::with_capacity(shape.len()));
    for (&n, &s) in shape.iter().zip(strides) {
        if n == 1 {
            continue;
        }
        match (sh.last_mut(), st.last_mut()) {
            (Some(pn), Some(ps)) if *ps == s * n as isize => {
                *pn *= n;
                *ps = s;
            }
            _ => {
                sh.push(n);
                st.push(s);
            }
        }
    }
    (sh, st)
}

/// Elements below which a copy runs on the calling thread.
const PARALLEL_COPY: usize = 1 << 16;

/// Copies a strided source into a contiguous destination: over the coalesced layout, whole
/// rows at a time where the innermost stride is 1, and in parallel over the outer dims when
/// the copy is large.
pub fn gather<T: Copy + Send + Sync>(src: &[T], shape: &[usize], strides: &[isize], offset: usize, dst: &mut [T]) {
    if shape.contains(&0) {
        return;
    }
    let (shape, strides) = coalesce(shape, strides);
    if dst.len() < PARALLEL_COPY || shape.len() < 2 {
        return gather_serial(src, &shape, &strides, offset, dst);
    }
    // split over enough leading dims for the threads; each part copies the dims after them
    let mut lead = 1;
    while lead < shape.len() - 1 && shape[..lead].iter().product::<usize>() < 64 {
        lead += 1;
    }
    let part: usize = shape[lead..].iter().product();
    use rayon::prelude::*;
    dst.par_chunks_mut(part).enumerate().for_each(|(c, out)| {
        // the part's starting offset from its index over the leading dims
        let (mut rest, mut at) = (c, offset as isize);
        for d in (0..lead).rev() {
            at += (rest % shape[d]) as isize * strides[d];
            rest /= shape[d];
        }
        gather_serial(src, &shape[lead..], &strides[lead..], at as usize, out);
    });
}

fn gather_serial<T: Copy>(src: &[T], shape: &[usize], strides: &[isize], offset: usize, dst: &mut [T]) {
    match (shape.last(), strides.last()) {
        (Some(&inner), Some(&1)) => {
            let outer = shape.len() - 1;
            for_each_offset(&shape[..outer], &strides[..outer], offset, |i, o| dst[i * inner..(i + 1) * inner].copy_from_slice(&src[o..o + inner]));
        }
        _ => for_each_offset(shape, strides, offset, |i, o| dst[i] = src[o]),
    }
}

/// Copies a contiguous source into a strided destination.
pub fn scatter<T: Copy>(src: &[T], shape: &[usize], strides: &[isize], offset: usize, dst: &mut [T]) {
    for_each_offset(shape, strides, offset, |i, o| dst[o] = src[i]);
}

/// The smallest and one-past-largest storage offsets a layout touches (`None` when empty).
/// Layouts whose offsets overflow `isize` report `(isize::MIN, isize::MAX)`, which no storage
/// contains.
pub fn extent(shape: &[usize], strides: &[isize], offset: usize) -> Option<(isize, isize)> {
    if shape.contains(&0) {
        return None;
    }
    let overflow = (isize::MIN, isize::MAX);
    let Ok(start) = isize::try_from(offset) else { return Some(overflow) };
    let (mut lo, mut hi) = (start, start);
    for (&s, &st) in shape.iter().zip(strides) {
        let Some(span) = isize::try_from(s - 1).ok().and_then(|n| n.checked_mul(st)) else { return Some(overflow) };
        let next = if span < 0 { lo.checked_add(span).map(|l| (l, hi)) } else { hi.checked_add(span).map(|h| (lo, h)) };
        match next {
            Some((l, h)) => (lo, hi) = (l, h),
            None => return Some(overflow),
        }
    }
    Some((lo, hi.saturating_add(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: every element at its strided offset, in row-major order.
    fn naive(src: &[f32], shape: &[usize], strides: &[isize], offset: usize) -> Vec<f32> {
        let n: usize = shape.iter().product();
        (0..n)
            .map(|mut i| {
                let mut at = offset as isize;
                for d in (0..shape.len()).rev() {
                    at += (i % shape[d]) as isize * strides[d];
                    i /= shape[d];
                }
                src[at as usize]
            })
            .collect()
    }

    #[test]
    fn gather_matches_the_definition_on_permuted_sliced_and_flipped_layouts() {
        let src: Vec<f32> = (0..700_000).map(|i| i as f32).collect();
        let cases: [(&[usize], &[isize], usize); 9] = [
            // a window-partition permute (Swin), small and large: runs of the last dim
            (&[2, 8, 8, 7, 7, 3], &[9408, 1176, 21, 168, 3, 1], 0),
            (&[2, 8, 8, 7, 7, 96], &[301056, 37632, 672, 5376, 96, 1], 0),
            // a transpose: no unit stride
            (&[300, 400], &[1, 300], 0),
            // contiguous with size-1 dims: one run
            (&[1, 50, 1, 40], &[2000, 40, 40, 1], 7),
            // a slice of rows, large enough to split over threads
            (&[3, 170, 128], &[65536, 256, 1], 64),
            // flipped (negative stride)
            (&[100, 30], &[-30, 1], 2970),
            // expanded (zero stride)
            (&[64, 2048], &[0, 1], 5),
            // scalar, and empty with a nonzero offset past the end
            (&[], &[], 11),
            (&[3, 0], &[1, 1], 699_999),
        ];
        for (shape, strides, offset) in cases {
            let want = naive(&src, shape, strides, offset);
            let mut got = vec![f32::NAN; want.len()];
            gather(&src, shape, strides, offset, &mut got);
            assert_eq!(got, want, "{shape:?} {strides:?} +{offset}");
        }
    }

    #[test]
    fn coalescing_merges_dims_that_walk_memory_as_one() {
        assert_eq!(coalesce(&[2, 3, 4], &[12, 4, 1]), (vec![24], vec![1]));
        assert_eq!(coalesce(&[2, 1, 3, 4], &[12, 99, 1, 3]), (vec![2, 3, 4], vec![12, 1, 3]));
        assert_eq!(coalesce(&[4, 5], &[0, 1]), (vec![4, 5], vec![0, 1]));
    }
}

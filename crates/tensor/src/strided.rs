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

/// Copies a strided source into a contiguous destination.
pub fn gather<T: Copy>(src: &[T], shape: &[usize], strides: &[isize], offset: usize, dst: &mut [T]) {
    for_each_offset(shape, strides, offset, |i, o| dst[i] = src[o]);
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

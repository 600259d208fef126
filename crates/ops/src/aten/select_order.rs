//! The selection algorithms PyTorch's CPU kernels run, reproduced so that ties come out in the
//! same order: `topk` uses the C++ standard library's `nth_element` then `sort` (libstdc++'s
//! introselect and insertion sort), `kthvalue` and `median` PyTorch's own quickselect. Both are
//! deterministic, so matching them step by step gives PyTorch's indices for equal values.

/// `(value, original index)`, as the kernels keep them.
pub type Elem = (f64, usize);

/// PyTorch's "greater, or NaN" order (NaN is the largest value).
pub fn gt_or_nan(x: f64, y: f64) -> bool {
    (x.is_nan() && !y.is_nan()) || x > y
}

/// PyTorch's "less, or NaN" order used for `largest=False` (NaN still sorts as largest).
pub fn lt_or_nan(x: f64, y: f64) -> bool {
    (!x.is_nan() && y.is_nan()) || x < y
}

fn move_median_to_first(v: &mut [Elem], result: usize, a: usize, b: usize, c: usize, comp: &impl Fn(&Elem, &Elem) -> bool) {
    if comp(&v[a], &v[b]) {
        if comp(&v[b], &v[c]) {
            v.swap(result, b);
        } else if comp(&v[a], &v[c]) {
            v.swap(result, c);
        } else {
            v.swap(result, a);
        }
    } else if comp(&v[a], &v[c]) {
        v.swap(result, a);
    } else if comp(&v[b], &v[c]) {
        v.swap(result, c);
    } else {
        v.swap(result, b);
    }
}

fn unguarded_partition(v: &mut [Elem], mut first: usize, mut last: usize, pivot: usize, comp: &impl Fn(&Elem, &Elem) -> bool) -> usize {
    loop {
        while comp(&v[first], &v[pivot]) {
            first += 1;
        }
        last -= 1;
        while comp(&v[pivot], &v[last]) {
            last -= 1;
        }
        if first >= last {
            return first;
        }
        v.swap(first, last);
        first += 1;
    }
}

fn partition_pivot(v: &mut [Elem], first: usize, last: usize, comp: &impl Fn(&Elem, &Elem) -> bool) -> usize {
    let mid = first + (last - first) / 2;
    move_median_to_first(v, first, first + 1, mid, last - 1, comp);
    unguarded_partition(v, first + 1, last, first, comp)
}

fn insertion_sort(v: &mut [Elem], first: usize, last: usize, comp: &impl Fn(&Elem, &Elem) -> bool) {
    if first == last {
        return;
    }
    for i in first + 1..last {
        let val = v[i];
        if comp(&val, &v[first]) {
            v.copy_within(first..i, first + 1);
            v[first] = val;
        } else {
            let mut j = i;
            while comp(&val, &v[j - 1]) {
                v[j] = v[j - 1];
                j -= 1;
            }
            v[j] = val;
        }
    }
}

fn heap_select_then_sort(v: &mut [Elem], first: usize, last: usize, comp: &impl Fn(&Elem, &Elem) -> bool) {
    // only reached past the depth limit, which needs adversarial input; any correct order will do
    v[first..last].sort_by(|a, b| if comp(a, b) { std::cmp::Ordering::Less } else if comp(b, a) { std::cmp::Ordering::Greater } else { std::cmp::Ordering::Equal });
}

fn lg(n: usize) -> usize {
    (usize::BITS - 1 - n.leading_zeros()) as usize
}

/// libstdc++'s `std::nth_element(first, first + nth, last, comp)`.
pub fn nth_element(v: &mut [Elem], nth: usize, comp: impl Fn(&Elem, &Elem) -> bool) {
    let (mut first, mut last) = (0usize, v.len());
    if first == last || nth == last {
        return;
    }
    let mut depth = lg(last - first) * 2;
    while last - first > 3 {
        if depth == 0 {
            heap_select_then_sort(v, first, last, &comp);
            return;
        }
        depth -= 1;
        let cut = partition_pivot(v, first, last, &comp);
        if cut <= nth {
            first = cut;
        } else {
            last = cut;
        }
    }
    insertion_sort(v, first, last, &comp);
}

/// libstdc++'s `std::sort(first, first + len, comp)` (introsort, then insertion sort).
pub fn std_sort(v: &mut [Elem], len: usize, comp: impl Fn(&Elem, &Elem) -> bool) {
    const THRESHOLD: usize = 16;
    fn introsort_loop(v: &mut [Elem], first: usize, mut last: usize, mut depth: usize, comp: &impl Fn(&Elem, &Elem) -> bool) {
        while last - first > THRESHOLD {
            if depth == 0 {
                heap_select_then_sort(v, first, last, comp);
                return;
            }
            depth -= 1;
            let cut = partition_pivot(v, first, last, comp);
            introsort_loop(v, cut, last, depth, comp);
            last = cut;
        }
    }
    if len < 2 {
        return;
    }
    introsort_loop(v, 0, len, lg(len) * 2, &comp);
    if len > THRESHOLD {
        insertion_sort(v, 0, THRESHOLD, &comp);
        for i in THRESHOLD..len {
            let val = v[i];
            let mut j = i;
            while comp(&val, &v[j - 1]) {
                v[j] = v[j - 1];
                j -= 1;
            }
            v[j] = val;
        }
    } else {
        insertion_sort(v, 0, len, &comp);
    }
}

/// The first `k` elements of a lane as PyTorch's `topk` leaves them.
pub fn topk_order(lane: &[f64], k: usize, largest: bool) -> Vec<usize> {
    let mut q: Vec<Elem> = lane.iter().copied().zip(0..).collect();
    if k == 0 {
        return Vec::new();
    }
    let comp = move |x: &Elem, y: &Elem| if largest { gt_or_nan(x.0, y.0) } else { lt_or_nan(x.0, y.0) };
    nth_element(&mut q, k - 1, comp);
    std_sort(&mut q, k - 1, comp);
    q[..k].iter().map(|e| e.1).collect()
}

/// PyTorch's quickselect: after it, position `k` holds the k-th smallest (NaN largest).
pub fn quick_select(arr: &mut [Elem], k: usize) {
    if arr.is_empty() {
        return;
    }
    let gt = |a: &Elem, b: &Elem| gt_or_nan(a.0, b.0);
    let (mut l, mut r) = (0usize, arr.len() - 1);
    loop {
        if r <= l {
            return;
        }
        if r == l + 1 {
            if gt(&arr[l], &arr[r]) {
                arr.swap(l, r);
            }
            return;
        }
        let p = l + (r - l) / 2;
        arr.swap(p, l + 1);
        if gt(&arr[l + 1], &arr[r]) {
            arr.swap(l + 1, r);
        }
        if gt(&arr[l], &arr[r]) {
            arr.swap(l, r);
        }
        if gt(&arr[l + 1], &arr[l]) {
            arr.swap(l + 1, l);
        }
        let (mut i, mut j) = (l + 1, r);
        let piv = arr[l];
        loop {
            i += 1;
            while gt(&piv, &arr[i]) {
                i += 1;
            }
            j -= 1;
            while gt(&arr[j], &piv) {
                j -= 1;
            }
            if j < i {
                break;
            }
            arr.swap(i, j);
        }
        arr.swap(l, j);
        if j <= k {
            l = i;
        }
        if j >= k {
            r = j - 1;
        }
    }
}

/// The original index of the k-th smallest element (0-based), as PyTorch's kernels pick it.
pub fn kth_index(lane: &[f64], k: usize) -> usize {
    let mut q: Vec<Elem> = lane.iter().copied().zip(0..).collect();
    quick_select(&mut q, k);
    q[k].1
}

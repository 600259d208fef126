//! The selection algorithms PyTorch's CPU kernels run, reproduced so that ties come out in the
//! same order: `topk` uses the C++ standard library's `nth_element` then `sort` (libstdc++'s
//! introselect and insertion sort), `kthvalue` and `median` PyTorch's own quickselect. Both are
//! deterministic, so matching them step by step gives PyTorch's indices for equal values.

use std::cmp::Ordering;

/// A lane element as the sorting kernels compare it: floats as `f64` with NaN the largest value,
/// integers as themselves (`i64`, or `u64` for uint64), exact where `f64` keys would tie values
/// past 2^53.
pub trait SortKey: Copy + PartialOrd + Send + Sync + tensor::Element {
    fn is_nan(self) -> bool;

    /// A total order with NaN last (after every number, equal to other NaNs).
    fn nan_last(self, other: Self) -> Ordering {
        match (self.is_nan(), other.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => self.partial_cmp(&other).unwrap_or(Ordering::Equal),
        }
    }
}

impl SortKey for f64 {
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
}

impl SortKey for i64 {
    fn is_nan(self) -> bool {
        false
    }
}

impl SortKey for u64 {
    fn is_nan(self) -> bool {
        false
    }
}

/// `(value, original index)`, as the kernels keep them.
pub type Elem<K> = (K, usize);

/// PyTorch's "greater, or NaN" order (NaN is the largest value).
pub fn gt_or_nan<K: SortKey>(x: K, y: K) -> bool {
    (x.is_nan() && !y.is_nan()) || x > y
}

/// PyTorch's "less, or NaN" order used for `largest=False` (NaN still sorts as largest).
pub fn lt_or_nan<K: SortKey>(x: K, y: K) -> bool {
    (!x.is_nan() && y.is_nan()) || x < y
}

fn move_median_to_first<K: SortKey>(v: &mut [Elem<K>], result: usize, a: usize, b: usize, c: usize, comp: &impl Fn(&Elem<K>, &Elem<K>) -> bool) {
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

fn unguarded_partition<K: SortKey>(v: &mut [Elem<K>], mut first: usize, mut last: usize, pivot: usize, comp: &impl Fn(&Elem<K>, &Elem<K>) -> bool) -> usize {
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

fn partition_pivot<K: SortKey>(v: &mut [Elem<K>], first: usize, last: usize, comp: &impl Fn(&Elem<K>, &Elem<K>) -> bool) -> usize {
    let mid = first + (last - first) / 2;
    move_median_to_first(v, first, first + 1, mid, last - 1, comp);
    unguarded_partition(v, first + 1, last, first, comp)
}

fn insertion_sort<K: SortKey>(v: &mut [Elem<K>], first: usize, last: usize, comp: &impl Fn(&Elem<K>, &Elem<K>) -> bool) {
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

fn heap_select_then_sort<K: SortKey>(v: &mut [Elem<K>], first: usize, last: usize, comp: &impl Fn(&Elem<K>, &Elem<K>) -> bool) {
    // only reached past the depth limit, which needs adversarial input; any correct order will do
    v[first..last].sort_by(|a, b| if comp(a, b) { Ordering::Less } else if comp(b, a) { Ordering::Greater } else { Ordering::Equal });
}

fn lg(n: usize) -> usize {
    (usize::BITS - 1 - n.leading_zeros()) as usize
}

/// libstdc++'s `std::nth_element(first, first + nth, last, comp)`.
pub fn nth_element<K: SortKey>(v: &mut [Elem<K>], nth: usize, comp: impl Fn(&Elem<K>, &Elem<K>) -> bool) {
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
pub fn std_sort<K: SortKey>(v: &mut [Elem<K>], len: usize, comp: impl Fn(&Elem<K>, &Elem<K>) -> bool) {
    const THRESHOLD: usize = 16;
    fn introsort_loop<K: SortKey>(v: &mut [Elem<K>], first: usize, mut last: usize, mut depth: usize, comp: &impl Fn(&Elem<K>, &Elem<K>) -> bool) {
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
pub fn topk_order<K: SortKey>(lane: &[K], k: usize, largest: bool) -> Vec<usize> {
    let mut q: Vec<Elem<K>> = lane.iter().copied().zip(0..).collect();
    if k == 0 {
        return Vec::new();
    }
    let comp = move |x: &Elem<K>, y: &Elem<K>| if largest { gt_or_nan(x.0, y.0) } else { lt_or_nan(x.0, y.0) };
    nth_element(&mut q, k - 1, comp);
    std_sort(&mut q, k - 1, comp);
    q[..k].iter().map(|e| e.1).collect()
}

/// PyTorch's quickselect: after it, position `k` holds the k-th smallest (NaN largest).
pub fn quick_select<K: SortKey>(arr: &mut [Elem<K>], k: usize) {
    if arr.is_empty() {
        return;
    }
    let gt = |a: &Elem<K>, b: &Elem<K>| gt_or_nan(a.0, b.0);
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
pub fn kth_index<K: SortKey>(lane: &[K], k: usize) -> usize {
    let mut q: Vec<Elem<K>> = lane.iter().copied().zip(0..).collect();
    quick_select(&mut q, k);
    q[k].1
}

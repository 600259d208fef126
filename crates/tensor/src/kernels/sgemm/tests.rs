use super::*;

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

/// The product in f64 by the textbook triple loop.
fn reference(m: usize, n: usize, k: usize, a: &StridedMatrix, b: &StridedMatrix) -> Vec<f64> {
    let at = |x: &StridedMatrix, i: usize, j: usize| x.data[(x.offset as isize + i as isize * x.rs + j as isize * x.cs) as usize] as f64;
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = (0..k).map(|p| at(a, i, p) * at(b, p, j)).sum();
        }
    }
    out
}

fn assert_close(got: &[f32], want: &[f64], k: usize, what: &str) {
    for (idx, (&g, &w)) in got.iter().zip(want).enumerate() {
        let tol = 1e-5 * (k as f64).sqrt() * 4.0 + 1e-6;
        assert!((g as f64 - w).abs() <= tol, "{what}: element {idx}: got {g}, want {w}");
    }
}

#[test]
fn every_kernel_matches_the_triple_loop_on_ragged_shapes() {
    // sizes straddle every kernel's tile edges and the KC block
    let shapes = [(1, 1, 1), (7, 5, 3), (8, 48, 256), (9, 49, 257), (13, 100, 300), (33, 17, 600), (64, 130, 77)];
    for isa in Isa::ALL.into_iter().filter(|i| i.available()) {
        for &(m, n, k) in &shapes {
            let (av, bv) = (values(m * k, 1), values(k * n, 2));
            let a = StridedMatrix::row_major(&av, m, k);
            let b = StridedMatrix::row_major(&bv, k, n);
            let want = reference(m, n, k, &a, &b);
            for parallel in [false, true] {
                let mut c = vec![f32::NAN; m * n];
                sgemm_with(isa, m, n, k, &a, &b, &mut c, n, false, parallel, None);
                assert_close(&c, &want, k, &format!("{isa:?} {m}x{n}x{k} parallel={parallel}"));
            }
        }
    }
}

#[test]
fn transposed_operands_offsets_and_accumulation() {
    let (m, n, k) = (19, 53, 270);
    for isa in Isa::ALL.into_iter().filter(|i| i.available()) {
        // A stored as k×m (read transposed) after 3 unused floats; B stored n×k (transposed)
        let av = values(3 + m * k, 3);
        let bv = values(k * n, 4);
        let a = StridedMatrix { data: &av, offset: 3, rows: m, cols: k, rs: 1, cs: m as isize };
        let b = StridedMatrix { data: &bv, offset: 0, rows: k, cols: n, rs: 1, cs: k as isize };
        let product = reference(m, n, k, &a, &b);
        // C has a wider row stride; accumulate onto its existing values
        let ldc = n + 5;
        let start = values(m * ldc, 5);
        let mut c = start.clone();
        sgemm_with(isa, m, n, k, &a, &b, &mut c, ldc, true, true, None);
        for i in 0..m {
            let want: Vec<f64> = (0..n).map(|j| product[i * n + j] + start[i * ldc + j] as f64).collect();
            assert_close(&c[i * ldc..i * ldc + n], &want, k, &format!("{isa:?} row {i}"));
            assert_eq!(&c[i * ldc + n..i * ldc + ldc], &start[i * ldc + n..i * ldc + ldc], "{isa:?}: padding of row {i} was written");
        }
    }
}

#[test]
fn empty_depth_zeroes_or_keeps_the_output() {
    let a = StridedMatrix::row_major(&[], 2, 0);
    let b = StridedMatrix::row_major(&[], 0, 3);
    let mut c = vec![1.0f32; 6];
    sgemm(2, 3, 0, &a, &b, &mut c, 3, true, false, None);
    assert_eq!(c, vec![1.0; 6]);
    sgemm(2, 3, 0, &a, &b, &mut c, 3, false, false, None);
    assert_eq!(c, vec![0.0; 6]);
}

#[test]
fn gathered_rows_match_the_same_matrix_packed() {
    // rows at scattered, overlapping offsets of one slice, as a padded image's taps are
    let (m, n, k) = (21, 100, 300);
    let data = values(4000, 6);
    let offsets: Vec<usize> = (0..k).map(|p| (p * 37) % 3900).collect();
    let dense: Vec<f32> = offsets.iter().flat_map(|&o| data[o..o + n].iter().copied()).collect();
    let av = values(m * k, 7);
    let a = StridedMatrix::row_major(&av, m, k);
    let want = reference(m, n, k, &a, &StridedMatrix::row_major(&dense, k, n));
    let gathered = GatheredMatrix::new(&data, &offsets, n);
    for isa in Isa::ALL.into_iter().filter(|i| i.available()) {
        for parallel in [false, true] {
            let mut c = vec![f32::NAN; m * n];
            sgemm_right(isa, m, n, k, &a, Right::Gathered(&gathered), &mut c, n, false, parallel, None);
            assert_close(&c, &want, k, &format!("{isa:?} gathered parallel={parallel}"));
        }
    }
}

#[test]
#[should_panic(expected = "a row reaches past its data")]
fn gathered_rows_are_bounds_checked() {
    GatheredMatrix::new(&[0.0; 10], &[0, 5], 6);
}

#[test]
fn the_grid_splits_rows_when_columns_are_few_and_keeps_blocks_in_cache() {
    // 512 columns are 11 panels: halving the 64 row panels balances two threads better
    assert_eq!(Grid::choose(64, 11, 8, 48, 2), Grid { col_tasks: 1, row_tasks: 2 });
    // 2048 columns exceed one packed block: at least 3 column blocks
    assert!(Grid::choose(256, 43, 8, 48, 2).col_tasks >= 43usize.div_ceil(NC / 48));
    // one thread: one task unless the block limit forces more
    assert_eq!(Grid::choose(4, 5, 8, 48, 1), Grid { col_tasks: 1, row_tasks: 1 });
}

#[test]
fn the_activation_is_applied_once_after_every_k_block() {
    // k spans three KC blocks: applying it to a partial sum (relu of a negative partial) or
    // twice (gelu of gelu) would show; ragged edges go through the scratch tile
    let (m, n, k) = (21, 61, 3 * KC + 5);
    let relu = |v: f64| v.max(0.0);
    let gelu = |v: f64| 0.5 * v * (1.0 + erf64(v / std::f64::consts::SQRT_2));
    for isa in Isa::ALL.into_iter().filter(|i| i.available()) {
        let (av, bv) = (values(m * k, 6), values(k * n, 7));
        let a = StridedMatrix::row_major(&av, m, k);
        let b = StridedMatrix::row_major(&bv, k, n);
        let product = reference(m, n, k, &a, &b);
        let start = values(m * n, 8);
        for (then, f) in [(Activation::Relu, &relu as &dyn Fn(f64) -> f64), (Activation::Gelu, &gelu)] {
            for parallel in [false, true] {
                let mut c = start.clone();
                sgemm_with(isa, m, n, k, &a, &b, &mut c, n, true, parallel, Some(then));
                let want: Vec<f64> = product.iter().zip(&start).map(|(p, &s)| f(p + s as f64)).collect();
                assert_close(&c, &want, k, &format!("{isa:?} {then:?} parallel={parallel}"));
            }
        }
    }
}

/// `erf` by its series (|x| here stays below 6, where 60 terms are plenty).
fn erf64(x: f64) -> f64 {
    if x.abs() > 5.5 {
        return x.signum();
    }
    let (mut term, mut sum) = (x, x);
    for n in 1..200 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

use std::time::Instant;
fn main() {
    for n in [512usize, 2048] {
        let a = tensor::Tensor::from_vec((0..n * n).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect(), &[n, n]).unwrap();
        let b = a.clone();
        let _ = tensor::kernels::matmul::mm(&a, &b).unwrap();
        let t = Instant::now();
        let reps = if n == 512 { 20 } else { 3 };
        for _ in 0..reps {
            let _ = tensor::kernels::matmul::mm(&a, &b).unwrap();
        }
        let s = t.elapsed().as_secs_f64() / reps as f64;
        println!("{n}: {:.2} ms, {:.1} GFLOP/s", s * 1e3, 2.0 * (n as f64).powi(3) / s / 1e9);
    }
}

//! Per-thread scratch buffers for kernels that need working memory on every call (a padded
//! image, a packed block): kept between calls so that a call neither allocates nor touches
//! fresh pages, which for megabyte buffers costs as much as the arithmetic.

use std::cell::RefCell;

thread_local! {
    static SCRATCH: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

/// Runs `f` with this thread's two scratch buffers (of any length and contents), or with
/// fresh ones when they are in use further up the stack: a rayon worker waiting inside one
/// kernel may pick up a task of another.
pub fn with_scratch<R>(f: impl FnOnce(&mut Vec<f32>, &mut Vec<f32>) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut bufs) => {
            let [a, b] = &mut *bufs;
            f(a, b)
        }
        Err(_) => f(&mut Vec::new(), &mut Vec::new()),
    })
}

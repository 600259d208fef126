//! Per-thread scratch buffers for kernels that need working memory on every call (a padded
//! image, a packed block): kept between calls so that a call neither allocates nor touches
//! fresh pages, which for megabyte buffers costs as much as the arithmetic.

use std::cell::RefCell;
use std::thread::LocalKey;

thread_local! {
    static SCRATCH: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

/// Runs `f` with this thread's value of `key`, or with a fresh default one when it is in use
/// further up the stack: a rayon worker waiting inside one kernel may pick up a task of
/// another.
pub fn with_local<T: Default, R>(key: &'static LocalKey<RefCell<T>>, f: impl FnOnce(&mut T) -> R) -> R {
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut value) => f(&mut value),
        Err(_) => f(&mut T::default()),
    })
}

/// Runs `f` with this thread's two scratch buffers (of any length and contents); see
/// [`with_local`].
pub fn with_scratch<R>(f: impl FnOnce(&mut Vec<f32>, &mut Vec<f32>) -> R) -> R {
    with_local(&SCRATCH, |[a, b]| f(a, b))
}

//! Memory for tensors: sizes computed with checked arithmetic, buffers reserved fallibly, and an
//! optional budget per call, so that a program asking for an impossible tensor gets an error
//! instead of aborting the process.
//!
//! Element buffers are made deep inside infallible helpers (`to_vec`, element-wise maps), so a
//! failed allocation leaves them by unwinding with an [`AllocError`] payload through
//! [`std::panic::resume_unwind`], which runs no panic hook and prints nothing. The operator
//! boundary ([`catch`], used by the registry for every kernel call) turns that payload back into
//! an error. This is the pattern rust-analyzer's salsa uses for cancellation: an exceptional exit
//! through code that has no error path, caught at one well-defined place.

use std::cell::RefCell;
use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Why memory for a tensor could not be had, and for which tensor when that is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocError {
    pub reason: AllocFailure,
    /// `float32 tensor of shape [100000, 100000, 100]`.
    pub tensor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocFailure {
    /// The byte count does not fit in a 64-bit size (or in `isize`, Rust's limit for one
    /// allocation).
    Overflow { elements: u128, element_size: usize },
    /// The system allocator refused.
    OutOfMemory { bytes: u64 },
    /// The call's [`MemoryBudget`] would be exceeded.
    OverBudget { bytes: u64, in_use: u64, budget: u64 },
}

impl AllocError {
    fn new(reason: AllocFailure) -> AllocError {
        AllocError { reason, tensor: None }
    }

    /// Names the tensor the memory was for.
    pub fn for_tensor(mut self, shape: &[usize], dtype: crate::DType) -> AllocError {
        self.tensor = Some(format!("{} tensor of shape {shape:?}", dtype.name()));
        self
    }
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            AllocFailure::Overflow { elements, element_size } => {
                write!(f, "cannot allocate {elements} elements of {element_size} bytes: the size overflows what one allocation can address")?
            }
            AllocFailure::OutOfMemory { bytes } => write!(f, "cannot allocate memory: tried to allocate {bytes} bytes")?,
            AllocFailure::OverBudget { bytes, in_use, budget } => write!(
                f,
                "cannot allocate {bytes} bytes: the call's memory budget is {budget} bytes and {in_use} are in use"
            )?,
        }
        match &self.tensor {
            Some(t) => write!(f, " (a {t})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for AllocError {}

/// The bytes of `elements` items of `element_size` bytes, refused past `isize::MAX`.
pub fn bytes_for(elements: u128, element_size: usize) -> Result<u64, AllocError> {
    elements
        .checked_mul(element_size as u128)
        .filter(|&b| b <= isize::MAX as u128)
        .map(|b| b as u64)
        .ok_or(AllocError::new(AllocFailure::Overflow { elements, element_size }))
}

/// The number of elements of a shape, without wrapping (`u128` holds any product of a few
/// `usize` factors that could ever be allocated; the product saturates past that).
pub fn elements(shape: &[usize]) -> u128 {
    shape.iter().try_fold(1u128, |acc, &d| acc.checked_mul(d as u128)).unwrap_or(u128::MAX)
}

/// A vector of `n` copies of `value`, or the reason it cannot be had. A large one reuses a
/// dropped storage's block of the same size ([`crate::pool`]); else zeros come from the
/// allocator already zeroed (`calloc`: fresh pages cost nothing until written), as `vec![0; n]`
/// does, so a kernel's output buffer is touched once, by the kernel.
pub fn try_vec_filled<T: bytemuck::Pod>(value: T, n: usize) -> Result<Vec<T>, AllocError> {
    let bytes = bytes_for(n as u128, std::mem::size_of::<T>())?;
    check_budget(bytes)?;
    let out_of_memory = || AllocError::new(AllocFailure::OutOfMemory { bytes });
    let pooled = std::alloc::Layout::array::<T>(n).ok().and_then(crate::pool::take);
    if let Some((ptr, block)) = pooled.filter(|&(ptr, block)| {
        let fits = block % std::mem::size_of::<T>().max(1) == 0;
        if !fits {
            // not a whole number of `T`s (no element type of ours does this): back it goes
            let layout = std::alloc::Layout::from_size_align(block, std::mem::align_of::<T>()).expect("a kept block's layout");
            // SAFETY: the block came from the pool with this layout and is owned here alone
            unsafe { crate::pool::give(ptr, layout) };
        }
        fits
    }) {
        // SAFETY: the pool's block has `T`'s alignment and room for `capacity >= n` `T`s
        // exactly (its size a multiple of `T`'s), and was allocated by the global allocator
        // with that layout, as `Vec` requires; every element is written before the vector is
        // made.
        unsafe {
            let capacity = block / std::mem::size_of::<T>().max(1);
            let ptr = ptr as *mut T;
            if bytemuck::bytes_of(&value).iter().all(|&b| b == 0) {
                std::ptr::write_bytes(ptr, 0, n);
            } else {
                for i in 0..n {
                    ptr.add(i).write(value);
                }
            }
            return Ok(Vec::from_raw_parts(ptr, n, capacity));
        }
    }
    if bytemuck::bytes_of(&value).iter().all(|&b| b == 0) && bytes > 0 {
        let layout = std::alloc::Layout::array::<T>(n).map_err(|_| out_of_memory())?;
        // SAFETY: the layout has a non-zero size; a null pointer is refused; the memory is
        // zeroed, and all-zero bytes are a valid `T` (`Pod`); it was allocated by the global
        // allocator with `T`'s layout for exactly `n` elements, as `Vec` requires.
        unsafe {
            let ptr = std::alloc::alloc_zeroed(layout) as *mut T;
            if ptr.is_null() {
                return Err(out_of_memory());
            }
            return Ok(Vec::from_raw_parts(ptr, n, n));
        }
    }
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| out_of_memory())?;
    v.resize(n, value);
    Ok(v)
}

/// [`try_vec_filled`] for helpers with no error path: a failure unwinds to the operator
/// boundary ([`catch`]).
pub fn vec_filled<T: bytemuck::Pod>(value: T, n: usize) -> Vec<T> {
    try_vec_filled(value, n).unwrap_or_else(|e| fail(e))
}

/// The contiguous elements of a `shape` tensor, all `value`; a failure names the tensor and
/// unwinds to the operator boundary.
pub fn tensor_vec<T: crate::Element>(value: T, shape: &[usize]) -> Vec<T> {
    try_tensor_vec(value, shape).unwrap_or_else(|e| fail(e))
}

/// [`tensor_vec`], or why it cannot be had.
pub fn try_tensor_vec<T: crate::Element>(value: T, shape: &[usize]) -> Result<Vec<T>, AllocError> {
    let n = elements(shape);
    let checked = bytes_for(n, std::mem::size_of::<T>()).and_then(|_| try_vec_filled(value, n as usize));
    checked.map_err(|e| e.for_tensor(shape, T::DTYPE))
}

/// Leaves the current operator with `e` (see the module documentation).
pub fn fail(e: AllocError) -> ! {
    resume_unwind(Box::new(e))
}

/// Runs `f`, turning an allocation failure inside it into `Err`. Any other panic is a bug and
/// keeps unwinding.
pub fn catch<R>(f: impl FnOnce() -> R) -> Result<R, AllocError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Ok(r),
        Err(payload) => match payload.downcast::<AllocError>() {
            Ok(e) => Err(*e),
            Err(other) => resume_unwind(other),
        },
    }
}

// ----- budgets --------------------------------------------------------------------------------

/// A limit on the tensor memory one call may hold at once: a server sets it so that one request
/// cannot take the memory of all. Storage allocated on the calling thread while the budget is in
/// force ([`with_budget`]) is counted from its creation to its release; memory-mapped weights are
/// not counted. Shareable between threads; counting is exact under concurrent use.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    in_use: AtomicU64,
    peak: AtomicU64,
}

impl MemoryBudget {
    pub fn new(limit_bytes: u64) -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget { limit: limit_bytes, in_use: AtomicU64::new(0), peak: AtomicU64::new(0) })
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes held now by storage charged to this budget.
    pub fn in_use(&self) -> u64 {
        self.in_use.load(Ordering::Relaxed)
    }

    /// The most bytes held at once so far.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    fn would_exceed(&self, bytes: u64) -> Option<AllocError> {
        let in_use = self.in_use();
        (in_use.saturating_add(bytes) > self.limit)
            .then_some(AllocError::new(AllocFailure::OverBudget { bytes, in_use, budget: self.limit }))
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<MemoryBudget>>> = const { RefCell::new(None) };
}

/// Runs `f` with `budget` counting the storage this thread allocates; the previous budget (if
/// any) is restored after, also when `f` unwinds.
pub fn with_budget<R>(budget: &Arc<MemoryBudget>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<MemoryBudget>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| *c.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.borrow_mut().replace(budget.clone())));
    f()
}

fn current() -> Option<Arc<MemoryBudget>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Refuses `bytes` that the thread's budget cannot hold, before they are allocated.
fn check_budget(bytes: u64) -> Result<(), AllocError> {
    match current().and_then(|b| b.would_exceed(bytes)) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Bytes counted against a budget until dropped (held by a storage).
#[derive(Debug)]
pub struct Charge {
    budget: Arc<MemoryBudget>,
    bytes: u64,
}

impl Charge {
    /// Counts `bytes` against the thread's budget, if one is in force. A buffer that already
    /// exists is counted even past the limit (it is released when the operator fails), and the
    /// failure unwinds to the operator boundary.
    pub(crate) fn for_new_storage(bytes: u64) -> Option<Charge> {
        let budget = current()?;
        let over = budget.would_exceed(bytes);
        let now = budget.in_use.fetch_add(bytes, Ordering::Relaxed) + bytes;
        budget.peak.fetch_max(now, Ordering::Relaxed);
        let charge = Charge { budget, bytes };
        if let Some(e) = over {
            drop(charge);
            fail(e);
        }
        Some(charge)
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.in_use.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_that_overflow_are_errors() {
        let e = bytes_for(1 << 62, 4).unwrap_err();
        assert_eq!(e.reason, AllocFailure::Overflow { elements: 1 << 62, element_size: 4 });
        assert_eq!(elements(&[usize::MAX, usize::MAX, 4]), u128::MAX);
        let e = try_tensor_vec(0f32, &[1 << 31, 1 << 31, 1 << 31]).unwrap_err();
        assert_eq!(e.to_string(), "cannot allocate 9903520314283042199192993792 elements of 4 bytes: the size overflows what one allocation can address (a float32 tensor of shape [2147483648, 2147483648, 2147483648])");
    }

    #[test]
    fn a_failed_allocation_unwinds_to_catch_silently() {
        let r = catch(|| vec_filled(0u64, usize::MAX / 4).len());
        assert!(matches!(r, Err(AllocError { reason: AllocFailure::Overflow { .. }, .. })), "{r:?}");
        assert_eq!(catch(|| 3), Ok(3));
    }

    #[test]
    fn a_budget_refuses_what_it_cannot_hold_and_counts_releases() {
        let budget = MemoryBudget::new(1000);
        with_budget(&budget, || {
            let a = try_vec_filled(0u8, 600).unwrap();
            let held = Charge::for_new_storage(600);
            assert_eq!(budget.in_use(), 600);
            let e = try_vec_filled(0u8, 600).unwrap_err();
            assert_eq!(e.reason, AllocFailure::OverBudget { bytes: 600, in_use: 600, budget: 1000 });
            drop((a, held));
            assert_eq!(budget.in_use(), 0);
            assert!(try_vec_filled(0u8, 600).is_ok());
        });
        assert_eq!(budget.peak(), 600);
        // outside the scope, nothing is counted
        assert!(try_vec_filled(0u8, 6000).is_ok());
    }
}

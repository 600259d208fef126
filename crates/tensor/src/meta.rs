//! Shapes-only ("meta") tensors, PyTorch's `device="meta"`: a dtype, sizes and strides over a
//! storage with no memory. Export traces them through operators' meta functions and dtype
//! rules instead of kernels, so a model with a billion parameters exports without allocating
//! them.
//!
//! A meta tensor has no values. The operator boundary refuses to run a kernel on one
//! (`ops::OpDef`), and the front end refuses to read one into host code; reaching its bytes
//! anyway is a bug in pt2, reported by [`values_read`].

use std::cell::Cell;

use crate::shape::contiguous_strides;
use crate::storage::{Buffer, Storage};
use crate::{DType, Tensor};

thread_local! {
    static META_DEVICE: Cell<usize> = const { Cell::new(0) };
}

/// Runs `f` with this thread's tensor constructors (`Tensor::zeros`, `full`, the front end's
/// random initializers) making meta tensors, as `with torch.device("meta"):` does: build a
/// model inside it to export it shapes-only.
pub fn on_meta_device<R>(f: impl FnOnce() -> R) -> R {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            META_DEVICE.with(|d| d.set(d.get() - 1));
        }
    }
    META_DEVICE.with(|d| d.set(d.get() + 1));
    let _leave = Leave;
    f()
}

/// Runs `f` with the meta device off: kernels compute on real data even when called while a
/// model is built on the meta device (the operator boundary runs each kernel this way).
pub fn off_meta_device<R>(f: impl FnOnce() -> R) -> R {
    let saved = META_DEVICE.with(|d| d.replace(0));
    if saved == 0 {
        return f();
    }
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            META_DEVICE.with(|d| d.set(self.0));
        }
    }
    let _restore = Restore(saved);
    f()
}

/// Whether [`on_meta_device`] is in force on this thread.
pub fn meta_device_active() -> bool {
    META_DEVICE.with(|d| d.get() > 0)
}

impl Tensor {
    /// A contiguous meta tensor: sizes and dtype, no values.
    pub fn meta(shape: &[usize], dtype: DType) -> Tensor {
        let len = crate::shape::numel(shape).saturating_mul(dtype.size());
        Tensor::from_storage(Storage::new(Buffer::Meta { len }), dtype, shape, &contiguous_strides(shape), 0)
    }

    /// Whether this is a meta tensor (shapes only, no values).
    pub fn is_meta(&self) -> bool {
        self.storage().is_meta()
    }
}

/// Reached only when pt2 reads the bytes of a meta tensor past its own guards.
#[track_caller]
pub(crate) fn values_read() -> ! {
    panic!("the values of a shapes-only (meta) tensor were read; meta tensors have sizes and a dtype but no values (a bug in pt2: the read should have been refused with an error)")
}

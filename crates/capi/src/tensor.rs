//! `Pt2Tensor`: a tensor made from the caller's buffer (copied, or borrowed without copying) or
//! returned by a run, read back as a pointer plus dtype, shape and strides.

use std::ffi::{c_char, c_void, CString};
use std::sync::OnceLock;

use pt2::tensor::storage::{Buffer, ElementVec, Storage};
use pt2::{DType, Tensor};

use crate::{guard, handle, pt2, Pt2Error};

/// Element types, numbered as PyTorch's `c10::ScalarType` (and `torch.float32` etc.).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pt2Dtype {
    Uint8 = 0,
    Int8 = 1,
    Int16 = 2,
    Int32 = 3,
    Int64 = 4,
    Float16 = 5,
    Float32 = 6,
    Float64 = 7,
    Complex64 = 9,
    Complex128 = 10,
    Bool = 11,
    Bfloat16 = 15,
    Uint16 = 27,
    Uint32 = 28,
    Uint64 = 29,
}

/// A tensor: its dtype, shape and strides, and its elements. Tensors a run returns are
/// contiguous (row-major); a tensor made from a caller's buffer keeps the strides it was given.
pub struct Pt2Tensor {
    pub(crate) tensor: Tensor,
    shape: Vec<i64>,
    strides: Vec<i64>,
}

impl Pt2Tensor {
    pub(crate) fn new(tensor: Tensor) -> Pt2Tensor {
        let shape = tensor.shape().iter().map(|&s| s as i64).collect();
        let strides = tensor.strides().iter().map(|&s| s as i64).collect();
        Pt2Tensor { tensor, shape, strides }
    }

    /// A contiguous copy if `tensor` is not contiguous (what C readers expect of outputs).
    pub(crate) fn contiguous(tensor: Tensor) -> Pt2Tensor {
        Pt2Tensor::new(if tensor.is_contiguous() { tensor } else { tensor.contiguous() })
    }
}

fn dtype_arg(dtype: i32) -> Result<DType, Pt2Error> {
    DType::from_scalar_type_code(dtype as i64).ok_or_else(|| {
        let known: Vec<String> = DType::ALL.iter().map(|d| format!("{} ({})", d.scalar_type_code(), d.name())).collect();
        Pt2Error::message(format!("`dtype` is {dtype}, which is no pt2 dtype; the dtypes are {}", known.join(", ")))
    })
}

/// The caller's layout, checked: sizes and strides (in elements; NULL strides = row-major) and
/// the number of elements the layout spans in memory.
///
/// # Safety
/// `shape` points to `ndim` sizes; `strides` is NULL or points to `ndim` strides.
unsafe fn layout_arg(shape: *const i64, ndim: usize, strides: *const i64) -> Result<(Vec<usize>, Vec<isize>, usize), Pt2Error> {
    if shape.is_null() && ndim > 0 {
        return Err(Pt2Error::message("`shape` is NULL but `ndim` is not 0"));
    }
    let sizes: &[i64] = if ndim == 0 { &[] } else { std::slice::from_raw_parts(shape, ndim) };
    let shape: Vec<usize> = sizes
        .iter()
        .enumerate()
        .map(|(d, &s)| usize::try_from(s).map_err(|_| Pt2Error::message(format!("`shape[{d}]` is {s}; sizes are 0 or more"))))
        .collect::<Result<_, _>>()?;
    let strides: Vec<isize> = if strides.is_null() {
        let mut st = vec![0isize; ndim];
        let mut step = 1isize;
        for d in (0..ndim).rev() {
            st[d] = step;
            step = step.saturating_mul(shape[d].max(1) as isize);
        }
        st
    } else {
        std::slice::from_raw_parts(strides, ndim)
            .iter()
            .enumerate()
            .map(|(d, &s)| usize::try_from(s).map(|s| s as isize).map_err(|_| Pt2Error::message(format!("`strides[{d}]` is {s}; strides are 0 or more"))))
            .collect::<Result<_, _>>()?
    };
    let span = if shape.contains(&0) {
        0
    } else {
        shape
            .iter()
            .zip(&strides)
            .try_fold(1usize, |acc, (&n, &s)| (n - 1).checked_mul(s as usize).and_then(|x| acc.checked_add(x)))
            .ok_or_else(|| Pt2Error::message(format!("the layout (shape {shape:?}, strides {strides:?}) spans more elements than memory holds")))?
    };
    Ok((shape, strides, span))
}

/// A new tensor holding a copy of the caller's elements: `dtype` (a `Pt2Dtype`), `ndim` sizes at
/// `shape`, strides in elements at `strides` (NULL: row-major), elements at `data`. The caller
/// may free or reuse `data` as soon as this returns.
///
/// # Safety
/// `shape` points to `ndim` sizes, `strides` is NULL or points to `ndim` strides, and `data`
/// holds every element the layout reaches.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_from_data(
    dtype: i32,
    shape: *const i64,
    ndim: usize,
    strides: *const i64,
    data: *const c_void,
    error: *mut *mut Pt2Error,
) -> *mut Pt2Tensor {
    guard(error, || {
        let dtype = dtype_arg(dtype)?;
        let (shape, strides, span) = layout_arg(shape, ndim, strides)?;
        let bytes = span * dtype.size();
        if data.is_null() && bytes > 0 {
            return Err(Pt2Error::message("`data` is NULL"));
        }
        let source: &[u8] = if bytes == 0 { &[] } else { std::slice::from_raw_parts(data.cast(), bytes) };
        let storage = Storage::new(Buffer::from_bytes(source));
        Ok(Box::into_raw(Box::new(Pt2Tensor::new(Tensor::from_storage(storage, dtype, &shape, &strides, 0)))))
    })
    .unwrap_or(std::ptr::null_mut())
}

/// The caller's memory, used in place.
struct Borrowed {
    data: *mut u8,
    len: usize,
}

// SAFETY: the caller of `pt2_tensor_borrow` promises the memory stays valid and is not written
// by anyone else while pt2 holds it; pt2 reads it from any thread under the storage's lock.
unsafe impl Send for Borrowed {}
unsafe impl Sync for Borrowed {}

impl ElementVec for Borrowed {
    fn bytes(&self) -> &[u8] {
        // SAFETY: `data` holds `len` bytes (see `pt2_tensor_borrow`)
        unsafe { std::slice::from_raw_parts(self.data, self.len) }
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and the storage's write lock makes this the only reference
        unsafe { std::slice::from_raw_parts_mut(self.data, self.len) }
    }
    fn recycle(self: Box<Self>) {
        // the memory is the caller's: nothing to give back
    }
}

/// A new tensor over the caller's elements, without copying them (as `torch.from_numpy`).
/// Arguments as [`pt2_tensor_from_data`]; `data` must be aligned for the dtype.
///
/// The caller keeps `data` valid, and does not change it, until this tensor **and every tensor a
/// run returned with it as an input** are freed (an output may be a view of an input). A
/// program that mutates an input (an in-place operator on it, as PyTorch's module would)
/// writes into `data`.
///
/// # Safety
/// As [`pt2_tensor_from_data`], plus the lifetime promise above.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_borrow(
    dtype: i32,
    shape: *const i64,
    ndim: usize,
    strides: *const i64,
    data: *mut c_void,
    error: *mut *mut Pt2Error,
) -> *mut Pt2Tensor {
    guard(error, || {
        let dtype = dtype_arg(dtype)?;
        let (shape, strides, span) = layout_arg(shape, ndim, strides)?;
        let len = span * dtype.size();
        let data = if len == 0 {
            std::ptr::NonNull::<u64>::dangling().as_ptr().cast::<u8>()
        } else if data.is_null() {
            return Err(Pt2Error::message("`data` is NULL"));
        } else {
            data.cast::<u8>()
        };
        if (data as usize) % dtype.size() != 0 {
            return Err(Pt2Error::message(format!("`data` ({data:p}) is not aligned for {}: its address must be a multiple of {}", dtype.name(), dtype.size())));
        }
        let storage = Storage::new(Buffer::Elements(Box::new(Borrowed { data, len })));
        Ok(Box::into_raw(Box::new(Pt2Tensor::new(Tensor::from_storage(storage, dtype, &shape, &strides, 0)))))
    })
    .unwrap_or(std::ptr::null_mut())
}

/// A new handle on the same tensor (its elements are shared, not copied).
///
/// # Safety
/// `tensor` is NULL or a live tensor.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_clone(tensor: *const Pt2Tensor) -> *mut Pt2Tensor {
    match tensor.as_ref() {
        Some(t) => Box::into_raw(Box::new(Pt2Tensor::new(t.tensor.clone()))),
        None => std::ptr::null_mut(),
    }
}

/// Frees a tensor handle (its elements live on while another tensor shares them).
///
/// # Safety
/// `tensor` is NULL or a tensor from `pt2_tensor_from_data`, `pt2_tensor_borrow` or
/// `pt2_tensor_clone`, not yet freed (tensors inside a `Pt2TensorList` belong to the list).
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_free(tensor: *mut Pt2Tensor) {
    if !tensor.is_null() {
        drop(Box::from_raw(tensor));
    }
}

/// The tensor's dtype, a `Pt2Dtype` value (-1 for NULL).
///
/// # Safety
/// `tensor` is NULL or a live tensor.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_dtype(tensor: *const Pt2Tensor) -> i32 {
    tensor.as_ref().map_or(-1, |t| t.tensor.dtype().scalar_type_code() as i32)
}

/// The number of dimensions (0 for a scalar tensor, and for NULL).
///
/// # Safety
/// `tensor` is NULL or a live tensor.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_ndim(tensor: *const Pt2Tensor) -> usize {
    tensor.as_ref().map_or(0, |t| t.shape.len())
}

/// The `ndim` sizes. Valid while the tensor lives.
///
/// # Safety
/// `tensor` is NULL or a live tensor.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_shape(tensor: *const Pt2Tensor) -> *const i64 {
    tensor.as_ref().map_or(std::ptr::null(), |t| t.shape.as_ptr())
}

/// The `ndim` strides, in elements. Valid while the tensor lives.
///
/// # Safety
/// `tensor` is NULL or a live tensor.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_strides(tensor: *const Pt2Tensor) -> *const i64 {
    tensor.as_ref().map_or(std::ptr::null(), |t| t.strides.as_ptr())
}

/// The number of elements (the product of the sizes).
///
/// # Safety
/// `tensor` is NULL or a live tensor.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_numel(tensor: *const Pt2Tensor) -> usize {
    tensor.as_ref().map_or(0, |t| t.tensor.numel())
}

/// The tensor's first element: element `(i, j, ...)` is at `data + (i*strides[0] + j*strides[1]
/// + ...) * pt2_dtype_size(dtype)` bytes. Valid while the tensor (or another handle on its
/// elements) lives; read-only (NULL for NULL).
///
/// # Safety
/// `tensor` is NULL or a live tensor.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_data(tensor: *const Pt2Tensor) -> *const c_void {
    let Some(t) = tensor.as_ref() else { return std::ptr::null() };
    let t = &t.tensor;
    let base = t.storage().read().bytes().as_ptr();
    // the storage's elements do not move while a handle holds it (buffers are never resized)
    base.wrapping_add(t.storage_offset() * t.dtype().size()).cast()
}

/// Copies the tensor's elements, in row-major order, into `out` (`capacity` bytes). Returns
/// false, with an error, when `out` is smaller than `pt2_tensor_numel * pt2_dtype_size`.
///
/// # Safety
/// `tensor` is NULL or a live tensor; `out` holds `capacity` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_copy_to(tensor: *const Pt2Tensor, out: *mut c_void, capacity: usize, error: *mut *mut Pt2Error) -> bool {
    guard(error, || {
        let t = &handle(tensor, "tensor")?.tensor;
        let bytes = t.to_bytes();
        if bytes.len() > capacity {
            return Err(Pt2Error::message(format!("`out` holds {capacity} bytes; the tensor's {} elements take {}", t.numel(), bytes.len())));
        }
        if !bytes.is_empty() {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), out.cast::<u8>(), bytes.len());
        }
        Ok(())
    })
    .is_some()
}

/// The size of one element of `dtype` in bytes (0 for a value that is no dtype).
#[no_mangle]
pub extern "C" fn pt2_dtype_size(dtype: i32) -> usize {
    dtype_arg(dtype).map_or(0, DType::size)
}

/// The dtype's name as `torch` prints it after `torch.` (`float32`, `int64`, `bool`), a static
/// string; NULL for a value that is no dtype.
#[no_mangle]
pub extern "C" fn pt2_dtype_name(dtype: i32) -> *const c_char {
    static NAMES: OnceLock<Vec<(DType, CString)>> = OnceLock::new();
    let names = NAMES.get_or_init(|| DType::ALL.iter().map(|&d| (d, CString::new(d.name()).expect("no NUL"))).collect());
    match dtype_arg(dtype) {
        Ok(d) => names.iter().find(|(n, _)| *n == d).map_or(std::ptr::null(), |(_, s)| s.as_ptr()),
        Err(_) => std::ptr::null(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C_DTYPES: [Pt2Dtype; 15] = [
        Pt2Dtype::Uint8,
        Pt2Dtype::Uint16,
        Pt2Dtype::Uint32,
        Pt2Dtype::Uint64,
        Pt2Dtype::Int8,
        Pt2Dtype::Int16,
        Pt2Dtype::Int32,
        Pt2Dtype::Int64,
        Pt2Dtype::Float16,
        Pt2Dtype::Float32,
        Pt2Dtype::Float64,
        Pt2Dtype::Bool,
        Pt2Dtype::Bfloat16,
        Pt2Dtype::Complex64,
        Pt2Dtype::Complex128,
    ];

    // the C enum is the dtype list written again (cbindgen needs it here): both must name the
    // same dtypes with the same codes, and the C names must read as torch's
    #[test]
    fn c_dtypes_are_pt2s_dtypes() {
        assert_eq!(C_DTYPES.len(), DType::ALL.len());
        for c in C_DTYPES {
            let d = DType::from_scalar_type_code(c as i64).unwrap_or_else(|| panic!("{c:?} is no pt2 dtype"));
            assert_eq!(format!("{c:?}").to_lowercase(), d.name(), "{c:?}");
        }
    }
}

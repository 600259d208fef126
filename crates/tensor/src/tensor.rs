//! `Tensor`: a strided view (sizes, strides, storage offset) over shared storage.

use std::fmt;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::shape::{self, contiguous_strides, wrap_dim, Shape, Strides};
use crate::storage::{Buffer, Storage};
use crate::strided;
use crate::{with_dtype, DType, Element, Error, Result};

/// A dense CPU tensor. Cloning a `Tensor` is cheap and shares storage, like assigning a tensor
/// to another variable in Python; views share storage too.
#[derive(Clone)]
pub struct Tensor {
    storage: Arc<Storage>,
    dtype: DType,
    shape: Shape,
    strides: Strides,
    offset: usize,
}

impl Tensor {
    // ----- construction -------------------------------------------------------------------

    /// A contiguous tensor owning `data`, which must hold exactly `shape.product()` elements.
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        if data.len() != shape::numel(shape) {
            return Err(Error::msg(format!(
                "from_vec: {} elements given for shape {shape:?} ({} expected)",
                data.len(),
                shape::numel(shape)
            )));
        }
        // the vector becomes the storage: no copy
        let buffer = Buffer::Elements(Box::new(data));
        Ok(Tensor::from_storage(Storage::new(buffer), T::DTYPE, shape, &contiguous_strides(shape), 0))
    }

    /// A contiguous tensor of `dtype` from `data`, each element converted as by a cast — the
    /// dtype said explicitly, as `torch.tensor(data, dtype=...)` does (`from_vec(vec![1, 2, 3],
    /// ..)` alone makes int32, Rust's default integer, where PyTorch would make int64).
    ///
    /// ```
    /// use tensor::{DType, Tensor};
    /// let ids = Tensor::from_vec_as(vec![1, 2, 3], &[3], DType::I64).unwrap();
    /// assert_eq!((ids.dtype(), ids.to_i64_vec()), (DType::I64, vec![1, 2, 3]));
    /// ```
    pub fn from_vec_as<T: Element>(data: Vec<T>, shape: &[usize], dtype: DType) -> Result<Tensor> {
        Ok(Tensor::from_vec(data, shape)?.to_dtype(dtype))
    }

    /// A 0-dim tensor holding `v`.
    pub fn scalar<T: Element>(v: T) -> Tensor {
        Tensor::from_vec(vec![v], &[]).expect("one element for a 0-dim tensor")
    }

    /// A tensor of `dtype` and `shape` with every element `value` (converted as by a cast).
    /// Fails with the bytes asked for when the memory cannot be had.
    pub fn try_full(shape: &[usize], value: f64, dtype: DType) -> Result<Tensor> {
        if crate::meta::meta_device_active() {
            return Ok(Tensor::meta(shape, dtype));
        }
        with_dtype!(dtype, T => Tensor::filled(shape, T::from_f64(value)))
    }

    /// Like [`Tensor::try_full`] with an integer value, exact for every integer dtype.
    pub fn try_full_i64(shape: &[usize], value: i64, dtype: DType) -> Result<Tensor> {
        if crate::meta::meta_device_active() {
            return Ok(Tensor::meta(shape, dtype));
        }
        with_dtype!(dtype, T => Tensor::filled(shape, T::from_i64(value)))
    }

    /// A tensor of zeros (over 8-byte aligned memory, so any dtype can view it); fails when the
    /// memory cannot be had.
    pub fn try_zeros(shape: &[usize], dtype: DType) -> Result<Tensor> {
        Ok(Tensor::zeros_within(shape, dtype)?)
    }

    fn zeros_within(shape: &[usize], dtype: DType) -> std::result::Result<Tensor, crate::alloc::AllocError> {
        if crate::meta::meta_device_active() {
            return Ok(Tensor::meta(shape, dtype));
        }
        let buffer = crate::alloc::bytes_for(crate::alloc::elements(shape), dtype.size())
            .and_then(|bytes| Buffer::try_zeroed(bytes as usize))
            .map_err(|e| e.for_tensor(shape, dtype))?;
        Ok(Tensor::from_storage(Storage::new(buffer), dtype, shape, &contiguous_strides(shape), 0))
    }

    fn filled<T: Element>(shape: &[usize], value: T) -> Result<Tensor> {
        Tensor::from_vec(crate::alloc::try_tensor_vec(value, shape)?, shape)
    }

    /// [`Tensor::try_full`] where there is no error path. When the memory cannot be had, this
    /// unwinds with an [`AllocError`](crate::alloc::AllocError) that the operator boundary turns
    /// into the operator's error ([`crate::alloc`]); outside an operator, use the `try_` form.
    pub fn full(shape: &[usize], value: f64, dtype: DType) -> Tensor {
        if crate::meta::meta_device_active() {
            return Tensor::meta(shape, dtype);
        }
        with_dtype!(dtype, T => Tensor::from_vec(crate::alloc::tensor_vec(T::from_f64(value), shape), shape).expect("sized by shape"))
    }

    /// [`Tensor::try_full_i64`] where there is no error path (see [`Tensor::full`]).
    pub fn full_i64(shape: &[usize], value: i64, dtype: DType) -> Tensor {
        if crate::meta::meta_device_active() {
            return Tensor::meta(shape, dtype);
        }
        with_dtype!(dtype, T => Tensor::from_vec(crate::alloc::tensor_vec(T::from_i64(value), shape), shape).expect("sized by shape"))
    }

    /// [`Tensor::try_zeros`] where there is no error path (see [`Tensor::full`]).
    /// `torch.ones(shape, dtype=dtype)`.
    pub fn ones(shape: &[usize], dtype: DType) -> Tensor {
        Tensor::full(shape, 1.0, dtype)
    }

    /// `torch.arange(start, end, step, dtype=dtype)`: `start, start + step, ...` while before
    /// `end`. A zero step, or one that walks away from `end`, is refused.
    ///
    /// ```
    /// let t = tensor::Tensor::arange(0.0, 5.0, 2.0, tensor::DType::I64)?;
    /// assert_eq!(t.to_vec::<i64>(), [0, 2, 4]);
    /// # Ok::<(), tensor::Error>(())
    /// ```
    pub fn arange(start: f64, end: f64, step: f64, dtype: DType) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            return Err(Error::msg(format!("arange: step must be finite and nonzero, and the bounds finite (got start {start}, end {end}, step {step})")));
        }
        if (end - start) * step < 0.0 {
            return Err(Error::msg(format!("arange: upper bound and larger bound inconsistent with step sign (start {start}, end {end}, step {step})")));
        }
        let n = ((end - start) / step).ceil().max(0.0) as usize;
        let values: Vec<f64> = (0..n).map(|i| start + i as f64 * step).collect();
        Ok(Tensor::from_vec(values, &[n])?.to_dtype(dtype))
    }

    pub fn zeros(shape: &[usize], dtype: DType) -> Tensor {
        Tensor::zeros_within(shape, dtype).unwrap_or_else(|e| crate::alloc::fail(e))
    }

    /// A tensor from any storage and layout. The layout is not checked against the storage:
    /// use [`Tensor::as_strided`] for untrusted layouts.
    pub fn from_storage(storage: Arc<Storage>, dtype: DType, shape: &[usize], strides: &[isize], offset: usize) -> Tensor {
        Tensor { storage, dtype, shape: shape.into(), strides: strides.into(), offset }
    }

    /// A tensor over untrusted storage and layout (a loaded archive): checks that every element
    /// lies inside the storage and that a mapped region is aligned for the dtype.
    pub fn from_storage_checked(
        storage: Arc<Storage>,
        dtype: DType,
        shape: &[usize],
        strides: &[isize],
        offset: usize,
    ) -> Result<Tensor> {
        if shape.len() != strides.len() {
            return Err(Error::msg(format!("{} sizes but {} strides", shape.len(), strides.len())));
        }
        let t = Tensor::from_storage(storage, dtype, shape, strides, offset);
        t.check_in_bounds()?;
        let aligned = (t.storage.read().bytes().as_ptr() as usize) % dtype.size() == 0;
        if !aligned {
            let bytes = t.storage.read().bytes().to_vec();
            let copy = Storage::new(Buffer::from_bytes(&bytes));
            return Ok(Tensor { storage: copy, ..t });
        }
        Ok(t)
    }

    fn check_in_bounds(&self) -> Result<()> {
        if let Some((lo, hi)) = strided::extent(&self.shape, &self.strides, self.offset) {
            let elems = (self.storage.len_bytes() / self.dtype.size()) as isize;
            if lo < 0 || hi > elems {
                return Err(Error::msg(format!(
                    "layout sizes={:?} strides={:?} offset={} reaches element {} of a storage of {} {} elements",
                    self.shape.as_slice(),
                    self.strides.as_slice(),
                    self.offset,
                    hi - 1,
                    elems,
                    self.dtype.name()
                )));
            }
        }
        Ok(())
    }

    // ----- metadata -----------------------------------------------------------------------

    pub fn dtype(&self) -> DType {
        self.dtype
    }
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    pub fn strides(&self) -> &[isize] {
        &self.strides
    }
    pub fn storage_offset(&self) -> usize {
        self.offset
    }
    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }
    pub fn dim(&self) -> usize {
        self.shape.len()
    }
    pub fn numel(&self) -> usize {
        shape::numel(&self.shape)
    }
    /// Size of dim `d` (negative counts from the end).
    pub fn size(&self, d: i64) -> Result<usize> {
        Ok(self.shape[wrap_dim(d, self.dim())?])
    }
    pub fn shares_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.storage, &other.storage)
    }

    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1isize;
        for i in (0..self.dim()).rev() {
            if self.shape[i] != 1 && self.strides[i] != expected {
                return false;
            }
            expected *= self.shape[i] as isize;
        }
        true
    }

    /// Whether PyTorch's `suggest_memory_format()` would call this tensor channels-last: a 4-d
    /// tensor whose strides order its dims C, W, H, N (`channels_last`), or a 5-d one ordered C,
    /// W, H, D, N (`channels_last_3d`). Ambiguous layouts (a size-1 channel dim whose stride
    /// equals the batch's, a zero channel stride, an empty dim) are contiguous, as in
    /// `c10::is_channels_last_strides_2d` / `_3d`. Some of PyTorch's composites (global
    /// average pooling) restride their result when this holds.
    pub fn strides_like_channels_last(&self) -> bool {
        let order: &[usize] = match self.dim() {
            4 => &[1, 3, 2, 0],
            5 => &[1, 4, 3, 2, 0],
            _ => return false,
        };
        if self.strides[1] == 0 {
            return false;
        }
        let mut min = 0isize;
        for &d in order {
            if self.shape[d] == 0 || self.strides[d] < min {
                return false;
            }
            if d == 0 && min == self.strides[1] {
                return false;
            }
            min = self.strides[d];
            if self.shape[d] > 1 {
                min *= self.shape[d] as isize;
            }
        }
        true
    }

    /// A complex tensor's storage read as its float parts: the same sizes and a last dim of 2
    /// (`torch.view_as_real`). `None` for a real tensor.
    pub fn view_as_real(&self) -> Option<Tensor> {
        if !self.dtype.is_complex() {
            return None;
        }
        let shape: Vec<usize> = self.shape.iter().copied().chain([2]).collect();
        let strides: Vec<isize> = self.strides.iter().map(|s| s * 2).chain([1]).collect();
        Some(Tensor::from_storage(self.storage.clone(), self.dtype.to_real(), &shape, &strides, self.offset * 2))
    }

    // ----- data access --------------------------------------------------------------------

    /// Runs `f` on the elements in logical order as one slice: borrowed from storage when the
    /// tensor is contiguous, gathered into a temporary otherwise. `T` must be the tensor's dtype.
    pub fn with_contiguous<T: Element, R>(&self, f: impl FnOnce(&[T]) -> R) -> R {
        assert_eq!(T::DTYPE, self.dtype, "with_contiguous: element type does not match dtype");
        let n = self.numel();
        if self.is_contiguous() {
            let guard = self.storage.read();
            let all: &[T] = bytemuck::cast_slice(guard.bytes());
            if n == 0 {
                return f(&[]);
            }
            f(&all[self.offset..self.offset + n])
        } else {
            f(&self.to_vec::<T>())
        }
    }

    /// The elements in logical order, converted to `T` if the dtype differs.
    pub fn to_vec<T: Element>(&self) -> Vec<T> {
        if T::DTYPE != self.dtype {
            return with_dtype!(self.dtype, S => {
                let src = self.to_vec::<S>();
                convert_slice::<S, T>(&src)
            });
        }
        let mut out = crate::alloc::tensor_vec(T::default(), &self.shape);
        let guard = self.storage.read();
        let all: &[T] = bytemuck::cast_slice(guard.bytes());
        if self.is_contiguous() {
            if !out.is_empty() {
                out.copy_from_slice(&all[self.offset..self.offset + self.numel()]);
            }
        } else {
            strided::gather(all, &self.shape, &self.strides, self.offset, &mut out);
        }
        out
    }

    pub fn to_f64_vec(&self) -> Vec<f64> {
        with_dtype!(self.dtype, S => self.to_vec::<S>().into_iter().map(|x| x.to_f64()).collect())
    }

    pub fn to_i64_vec(&self) -> Vec<i64> {
        with_dtype!(self.dtype, S => self.to_vec::<S>().into_iter().map(|x| x.to_i64()).collect())
    }

    pub fn to_bool_vec(&self) -> Vec<bool> {
        with_dtype!(self.dtype, S => self.to_vec::<S>().into_iter().map(|x| x.to_bool()).collect())
    }

    /// The single element of a one-element tensor, as f64.
    pub fn item_f64(&self) -> Result<f64> {
        self.expect_one_element()?;
        Ok(self.to_f64_vec()[0])
    }

    pub fn item_i64(&self) -> Result<i64> {
        self.expect_one_element()?;
        Ok(self.to_i64_vec()[0])
    }

    fn expect_one_element(&self) -> Result<()> {
        if self.numel() != 1 {
            return Err(Error::msg(format!(
                "a Tensor with {} elements cannot be converted to Scalar",
                self.numel()
            )));
        }
        Ok(())
    }

    /// The raw bytes of the elements in logical order (little-endian, as stored).
    pub fn to_bytes(&self) -> Vec<u8> {
        with_dtype!(self.dtype, S => bytemuck::cast_slice(&self.to_vec::<S>()).to_vec())
    }

    /// A contiguous tensor from little-endian bytes.
    pub fn from_bytes(bytes: &[u8], dtype: DType, shape: &[usize]) -> Result<Tensor> {
        let n = shape::numel(shape);
        if bytes.len() != n * dtype.size() {
            return Err(Error::msg(format!(
                "{} bytes given for a {} tensor of shape {shape:?} ({} expected)",
                bytes.len(),
                dtype.name(),
                n * dtype.size()
            )));
        }
        Ok(Tensor::from_storage(Storage::new(Buffer::from_bytes(bytes)), dtype, shape, &contiguous_strides(shape), 0))
    }

    // ----- copies -------------------------------------------------------------------------

    /// A contiguous copy if the tensor is not contiguous, else a cheap clone.
    pub fn contiguous(&self) -> Tensor {
        if self.is_contiguous() {
            self.clone()
        } else {
            self.deep_clone()
        }
    }

    /// A contiguous copy with its own storage.
    pub fn deep_clone(&self) -> Tensor {
        if self.is_meta() {
            return Tensor::meta(&self.shape, self.dtype);
        }
        with_dtype!(self.dtype, T => Tensor::from_vec(self.to_vec::<T>(), &self.shape).unwrap())
    }

    /// `torch.allclose`: same shape (after broadcasting, as PyTorch compares) and every element
    /// within `atol + rtol * |other|`; NaNs are equal only with `equal_nan`. Compared in f64.
    ///
    /// ```
    /// use tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
    /// let b = Tensor::from_vec(vec![1.0f32, 2.000001], &[2]).unwrap();
    /// assert!(a.allclose(&b, 1e-5, 1e-8, false));
    /// assert!(!a.allclose(&Tensor::from_vec(vec![1.0f32, 2.1], &[2]).unwrap(), 1e-5, 1e-8, false));
    /// ```
    pub fn allclose(&self, other: &Tensor, rtol: f64, atol: f64, equal_nan: bool) -> bool {
        // shapes-only tensors have no values to be close
        if self.is_meta() || other.is_meta() {
            return false;
        }
        let Ok(shape) = crate::shape::broadcast_shapes(self.shape(), other.shape()) else { return false };
        let (Ok(a), Ok(b)) = (self.broadcast_to(&shape), other.broadcast_to(&shape)) else { return false };
        a.to_f64_vec().iter().zip(b.to_f64_vec()).all(|(&x, y)| {
            if x.is_nan() || y.is_nan() {
                return equal_nan && x.is_nan() && y.is_nan();
            }
            x == y || (x - y).abs() <= atol + rtol * y.abs()
        })
    }

    /// A contiguous copy converted to `dtype` (a clone-free no-op when already of that dtype and
    /// contiguous).
    pub fn to_dtype(&self, dtype: DType) -> Tensor {
        if dtype == self.dtype {
            return self.contiguous();
        }
        if self.is_meta() {
            return Tensor::meta(&self.shape, dtype);
        }
        with_dtype!(dtype, T => Tensor::from_vec(self.to_vec::<T>(), &self.shape).unwrap())
    }

    /// `self.copy_(src)`: writes `src`, broadcast to this shape and cast to this dtype, into this
    /// view's storage. Other views of the storage see the change.
    pub fn copy_(&self, src: &Tensor) -> Result<()> {
        let src = src.expand(&self.shape.iter().map(|&s| s as i64).collect::<Vec<_>>())?;
        let n = self.numel();
        if src.dtype == self.dtype && !Arc::ptr_eq(&src.storage, &self.storage) && self.is_contiguous() && src.is_contiguous() && n > 0 {
            // two storages, both contiguous: one copy of the bytes, nothing materialized between
            let size = self.dtype.size();
            let from = src.storage.read();
            let mut to = self.storage.write();
            to.bytes_mut()[self.offset * size..(self.offset + n) * size].copy_from_slice(&from.bytes()[src.offset * size..(src.offset + n) * size]);
            return Ok(());
        }
        with_dtype!(self.dtype, T => {
            let values = src.to_vec::<T>(); // materialized first, so aliasing views are safe
            let mut guard = self.storage.write();
            let all: &mut [T] = bytemuck::cast_slice_mut(guard.bytes_mut());
            strided::scatter(&values, &self.shape, &self.strides, self.offset, all);
        });
        Ok(())
    }

    // ----- views (no copy) ----------------------------------------------------------------

    fn view_of(&self, shape: &[usize], strides: &[isize], offset: usize) -> Tensor {
        Tensor { storage: self.storage.clone(), dtype: self.dtype, shape: shape.into(), strides: strides.into(), offset }
    }

    /// `aten.as_strided`: any layout inside the storage.
    pub fn as_strided(&self, shape: &[usize], strides: &[isize], offset: Option<usize>) -> Result<Tensor> {
        let t = self.view_of(shape, strides, offset.unwrap_or(self.offset));
        t.check_in_bounds()?;
        Ok(t)
    }

    /// `aten.view`: the same elements with a new shape (one `-1` allowed), without a copy.
    pub fn view(&self, shape: &[i64]) -> Result<Tensor> {
        let new_shape = shape::infer_size(shape, self.numel())?;
        match shape::view_strides(&self.shape, &self.strides, &new_shape) {
            Some(strides) => Ok(self.view_of(&new_shape, &strides, self.offset)),
            None => Err(Error::msg(
                "view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.",
            )),
        }
    }

    /// `aten.reshape`: a view when the layout allows, otherwise a copy.
    pub fn reshape(&self, shape: &[i64]) -> Result<Tensor> {
        match self.view(shape) {
            Ok(v) => Ok(v),
            Err(_) => self.deep_clone().view(shape),
        }
    }

    pub fn permute(&self, dims: &[i64]) -> Result<Tensor> {
        let rank = self.dim();
        if dims.len() != rank {
            return Err(Error::msg(format!(
                "permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = {rank} is not equal to len(dims) = {}",
                dims.len()
            )));
        }
        let mut seen = vec![false; rank];
        let mut shape = Shape::new();
        let mut strides = Strides::new();
        for &d in dims {
            let d = wrap_dim(d, rank)?;
            if seen[d] {
                return Err(Error::msg("permute(): duplicate dims are not allowed."));
            }
            seen[d] = true;
            shape.push(self.shape[d]);
            strides.push(self.strides[d]);
        }
        Ok(self.view_of(&shape, &strides, self.offset))
    }

    pub fn transpose(&self, d0: i64, d1: i64) -> Result<Tensor> {
        if self.dim() == 0 {
            wrap_dim(d0, 0)?;
            wrap_dim(d1, 0)?;
            return Ok(self.clone());
        }
        let (a, b) = (wrap_dim(d0, self.dim())?, wrap_dim(d1, self.dim())?);
        let (mut shape, mut strides) = (self.shape.clone(), self.strides.clone());
        shape.swap(a, b);
        strides.swap(a, b);
        Ok(self.view_of(&shape, &strides, self.offset))
    }

    /// `aten.expand`: broadcast to `shape` (`-1` keeps a dim) by giving new dims stride 0.
    pub fn expand(&self, shape: &[i64]) -> Result<Tensor> {
        if shape.len() < self.dim() {
            return Err(Error::msg(format!(
                "expand: the number of sizes provided ({}) must be greater or equal to the number of dimensions in the tensor ({})",
                shape.len(),
                self.dim()
            )));
        }
        let lead = shape.len() - self.dim();
        let mut new_shape = Shape::new();
        let mut new_strides = Strides::new();
        for (i, &want) in shape.iter().enumerate() {
            if i < lead {
                if want < 0 {
                    return Err(Error::msg("expand: -1 is not allowed in a leading, non-existing dimension"));
                }
                new_shape.push(want as usize);
                new_strides.push(0);
                continue;
            }
            let (have, stride) = (self.shape[i - lead], self.strides[i - lead]);
            if want == -1 || want as usize == have {
                new_shape.push(have);
                new_strides.push(stride);
            } else if have == 1 && want >= 0 {
                new_shape.push(want as usize);
                new_strides.push(0);
            } else {
                return Err(Error::msg(format!(
                    "The expanded size of the tensor ({want}) must match the existing size ({have}) at non-singleton dimension {i}.  Target sizes: {shape:?}.  Tensor sizes: {:?}",
                    self.shape.as_slice()
                )));
            }
        }
        Ok(self.view_of(&new_shape, &new_strides, self.offset))
    }

    /// Broadcasts to `shape` (a usize shape, as `broadcast_shapes` returns).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        self.expand(&shape.iter().map(|&s| s as i64).collect::<Vec<_>>())
    }

    pub fn select(&self, dim: i64, index: i64) -> Result<Tensor> {
        if self.dim() == 0 {
            return Err(Error::msg("select() cannot be applied to a 0-dim tensor."));
        }
        let d = wrap_dim(dim, self.dim())?;
        let size = self.shape[d] as i64;
        let i = if index < 0 { index + size } else { index };
        if i < 0 || i >= size {
            return Err(Error::msg(format!(
                "select(): index {index} out of range for tensor of size {:?} at dimension {d}",
                self.shape.as_slice()
            )));
        }
        let mut shape = self.shape.clone();
        let mut strides = self.strides.clone();
        let offset = (self.offset as isize + i as isize * strides[d]) as usize;
        shape.remove(d);
        strides.remove(d);
        Ok(self.view_of(&shape, &strides, offset))
    }

    /// `aten.slice.Tensor`: Python slicing `start:end:step` along `dim` (bounds clamp, as in
    /// Python; `None` is the full range).
    pub fn slice(&self, dim: i64, start: Option<i64>, end: Option<i64>, step: i64) -> Result<Tensor> {
        if step <= 0 {
            return Err(Error::msg("slice step must be positive"));
        }
        let d = wrap_dim(dim, self.dim())?;
        if self.dim() == 0 {
            return Err(Error::msg("slice() cannot be applied to a 0-dim tensor."));
        }
        let size = self.shape[d] as i64;
        let clamp = |v: i64| -> i64 {
            let v = if v < 0 { v + size } else { v };
            v.clamp(0, size)
        };
        let s = clamp(start.unwrap_or(0));
        let e = clamp(end.unwrap_or(size)).max(s);
        let len = ((e - s) + step - 1) / step;
        let mut shape = self.shape.clone();
        let mut strides = self.strides.clone();
        let offset = (self.offset as isize + s as isize * strides[d]) as usize;
        shape[d] = len as usize;
        strides[d] *= step as isize;
        Ok(self.view_of(&shape, &strides, offset))
    }

    pub fn narrow(&self, dim: i64, start: i64, length: usize) -> Result<Tensor> {
        let d = wrap_dim(dim, self.dim())?;
        let size = self.shape[d] as i64;
        let s = if start < 0 { start + size } else { start };
        if s < 0 || s + length as i64 > size {
            return Err(Error::msg(format!("start ({start}) + length ({length}) exceeds dimension size ({size}).")));
        }
        self.slice(dim, Some(s), Some(s + length as i64), 1)
    }

    pub fn unsqueeze(&self, dim: i64) -> Result<Tensor> {
        let d = wrap_dim(dim, self.dim() + 1)?;
        let mut shape = self.shape.clone();
        let mut strides = self.strides.clone();
        let stride = if d < self.dim() { strides[d] * shape[d] as isize } else { 1 };
        shape.insert(d, 1);
        strides.insert(d, stride);
        Ok(self.view_of(&shape, &strides, self.offset))
    }

    /// Removes the given dims where they have size 1 (all size-1 dims when `dims` is `None`).
    pub fn squeeze(&self, dims: Option<&[i64]>) -> Result<Tensor> {
        let rank = self.dim();
        let mut drop = vec![false; rank];
        match dims {
            None => (0..rank).for_each(|d| drop[d] = self.shape[d] == 1),
            Some(ds) => {
                for &d in ds {
                    let d = wrap_dim(d, rank)?;
                    if rank > 0 && self.shape[d] == 1 {
                        drop[d] = true;
                    }
                }
            }
        }
        let mut shape = Shape::new();
        let mut strides = Strides::new();
        for d in 0..rank {
            if !drop[d] {
                shape.push(self.shape[d]);
                strides.push(self.strides[d]);
            }
        }
        Ok(self.view_of(&shape, &strides, self.offset))
    }

    /// `aten.diagonal`: the diagonal of dims `d1`, `d2` as a new last dim.
    pub fn diagonal(&self, offset: i64, d1: i64, d2: i64) -> Result<Tensor> {
        let (a, b) = (wrap_dim(d1, self.dim())?, wrap_dim(d2, self.dim())?);
        if a == b {
            return Err(Error::msg(format!("diagonal dimensions cannot be identical {d1}, {d2}")));
        }
        let (sa, sb) = (self.shape[a] as i64, self.shape[b] as i64);
        let (len, start) = if offset >= 0 {
            ((sa.min(sb - offset)).max(0), offset as isize * self.strides[b])
        } else {
            ((sa + offset).min(sb).max(0), -offset as isize * self.strides[a])
        };
        let mut shape = Shape::new();
        let mut strides = Strides::new();
        for d in 0..self.dim() {
            if d != a && d != b {
                shape.push(self.shape[d]);
                strides.push(self.strides[d]);
            }
        }
        shape.push(len as usize);
        strides.push(self.strides[a] + self.strides[b]);
        let off = if len == 0 { self.offset } else { (self.offset as isize + start) as usize };
        Ok(self.view_of(&shape, &strides, off))
    }

    /// `aten.unfold`: windows of `size` every `step` along `dim`, as a new last dim.
    pub fn unfold(&self, dim: i64, size: usize, step: usize) -> Result<Tensor> {
        let d = if self.dim() == 0 { 0 } else { wrap_dim(dim, self.dim())? };
        let dim_size = if self.dim() == 0 { 1 } else { self.shape[d] };
        if size > dim_size {
            return Err(Error::msg(format!(
                "maximum size for tensor at dimension {d} is {dim_size} but size is {size}"
            )));
        }
        if step == 0 {
            return Err(Error::msg("step is 0 but must be > 0"));
        }
        let mut shape: Shape = self.shape.clone();
        let mut strides: Strides = self.strides.clone();
        let stride = if self.dim() == 0 { 1 } else { self.strides[d] };
        if self.dim() > 0 {
            shape[d] = (dim_size - size) / step + 1;
            strides[d] = stride * step as isize;
        }
        shape.push(size);
        strides.push(stride);
        Ok(self.view_of(&shape, &strides, self.offset))
    }
}

fn convert_slice<S: Element, T: Element>(src: &[S]) -> Vec<T> {
    use crate::Category::*;
    match (S::DTYPE.category(), T::DTYPE.category()) {
        // integer to integer (and bool) conversions must not round-trip through f64
        (Integral | Bool, Integral) => src.iter().map(|x| T::from_i64(x.to_i64())).collect(),
        (_, Bool) => src.iter().map(|x| T::from_bool(x.to_bool())).collect(),
        // both parts to a complex type; to a real one, the real part (C++'s cast)
        (_, Complex) | (Complex, _) => src.iter().map(|x| {
            let (re, im) = x.to_complex();
            T::from_complex(re, im)
        }).collect(),
        _ => src.iter().map(|x| T::from_f64(x.to_f64())).collect(),
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 16;
        let values: SmallVec<[String; SHOWN]> = with_dtype!(self.dtype, T => {
            let v = self.to_vec::<T>();
            v.iter().take(SHOWN).map(|x| format!("{:?}", x.to_f64())).collect()
        });
        write!(f, "tensor({:?}, dtype={}, values=[{}{}])", self.shape.as_slice(), self.dtype, values.join(", "),
            if self.numel() > SHOWN { ", ..." } else { "" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes, strides and what `torch._prims_common.suggest_memory_format` (PyTorch 2.15)
    /// says of a tensor laid out so.
    #[test]
    fn channels_last_as_pytorch_suggests_it() {
        let cases: &[(&[usize], &[isize], bool)] = &[
            (&[2, 3, 4, 5], &[60, 20, 5, 1], false),
            (&[2, 3, 4, 5], &[60, 1, 15, 3], true),
            (&[2, 1, 1, 1], &[1, 1, 1, 1], false),
            (&[2, 3, 1, 1], &[3, 1, 3, 3], true),
            (&[1, 3, 1, 4], &[12, 1, 12, 3], true),
            (&[2, 3, 4, 5, 6], &[360, 1, 90, 18, 3], true),
            (&[2, 3, 0, 5], &[0, 1, 15, 3], false),
            (&[3, 4, 5], &[20, 1, 4], false),
        ];
        let base = Tensor::zeros(&[720], DType::F32);
        for &(shape, strides, expected) in cases {
            let t = base.as_strided(shape, strides, Some(0)).unwrap();
            assert_eq!(t.strides_like_channels_last(), expected, "{shape:?} {strides:?}");
        }
    }
}

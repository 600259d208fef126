//! `Pt2TensorList`: named tensors, in order: a safetensors file's contents, a run's inputs by
//! name, a run's outputs (`output_0`, `output_1`, ...).

use std::ffi::{c_char, CStr, CString};

use pt2::Tensor;

use crate::{c_string, guard, handle, pt2, str_arg, Pt2Error, Pt2Tensor};

/// Named tensors in order. An entry's tensor may be absent (a run's output that is `None`).
#[derive(Default)]
pub struct Pt2TensorList {
    entries: Vec<(CString, Option<Box<Pt2Tensor>>)>,
}

impl Pt2TensorList {
    pub(crate) fn push(&mut self, name: &str, tensor: Option<Pt2Tensor>) {
        self.entries.push((c_string(name), tensor.map(Box::new)));
    }

    /// The entries as names and tensors (absent ones skipped).
    pub(crate) fn tensors(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.entries.iter().filter_map(|(n, t)| Some((n.to_str().unwrap_or_default(), &t.as_ref()?.tensor)))
    }

    pub(crate) fn find(&self, name: &str) -> Option<&Pt2Tensor> {
        self.entries.iter().find(|(n, _)| n.to_bytes() == name.as_bytes()).and_then(|(_, t)| t.as_deref())
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.to_str().unwrap_or_default())
    }
}

/// A new, empty list.
#[no_mangle]
pub extern "C" fn pt2_tensor_list_new() -> *mut Pt2TensorList {
    Box::into_raw(Box::default())
}

/// Appends `tensor` under `name`; the list holds its own handle (the elements are shared, and
/// the caller still frees `tensor`). A name already in the list is refused.
///
/// # Safety
/// `list` and `tensor` are live handles; `name` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_list_push(
    list: *mut Pt2TensorList,
    name: *const c_char,
    tensor: *const Pt2Tensor,
    error: *mut *mut Pt2Error,
) -> bool {
    guard(error, || {
        let list = list.as_mut().ok_or_else(|| Pt2Error::message("`list` is NULL"))?;
        let name = str_arg(name, "name")?;
        let tensor = handle(tensor, "tensor")?;
        if list.names().any(|n| n == name) {
            return Err(Pt2Error::message(format!("the list already holds a tensor named `{name}`")));
        }
        list.push(name, Some(Pt2Tensor::new(tensor.tensor.clone())));
        Ok(())
    })
    .is_some()
}

/// The number of entries.
///
/// # Safety
/// `list` is NULL or a live list.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_list_len(list: *const Pt2TensorList) -> usize {
    list.as_ref().map_or(0, |l| l.entries.len())
}

/// The name of entry `index` (NULL past the end). Valid while the list lives.
///
/// # Safety
/// `list` is NULL or a live list.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_list_name(list: *const Pt2TensorList, index: usize) -> *const c_char {
    list.as_ref().and_then(|l| l.entries.get(index)).map_or(std::ptr::null(), |(n, _)| n.as_ptr())
}

/// The tensor of entry `index`, owned by the list (NULL past the end, and for an output that is
/// `None`). Valid while the list lives; `pt2_tensor_clone` keeps it longer.
///
/// # Safety
/// `list` is NULL or a live list.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_list_get(list: *const Pt2TensorList, index: usize) -> *const Pt2Tensor {
    list.as_ref()
        .and_then(|l| l.entries.get(index))
        .and_then(|(_, t)| t.as_deref())
        .map_or(std::ptr::null(), |t| t as *const Pt2Tensor)
}

/// The tensor named `name`, owned by the list, or NULL.
///
/// # Safety
/// `list` is NULL or a live list; `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_list_find(list: *const Pt2TensorList, name: *const c_char) -> *const Pt2Tensor {
    match (list.as_ref(), name.is_null()) {
        (Some(l), false) => CStr::from_ptr(name).to_str().ok().and_then(|n| l.find(n)).map_or(std::ptr::null(), |t| t as *const Pt2Tensor),
        _ => std::ptr::null(),
    }
}

/// Frees a list and the tensor handles it holds.
///
/// # Safety
/// `list` is NULL or a live list, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn pt2_tensor_list_free(list: *mut Pt2TensorList) {
    if !list.is_null() {
        drop(Box::from_raw(list));
    }
}

/// The tensors of a safetensors file, in the file's order, or NULL with an error.
///
/// # Safety
/// `path` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pt2_safetensors_load(path: *const c_char, error: *mut *mut Pt2Error) -> *mut Pt2TensorList {
    guard(error, || {
        let path = str_arg(path, "path")?;
        let mut list = Pt2TensorList::default();
        for (name, tensor) in pt2::load_tensors(path)? {
            list.push(&name, Some(Pt2Tensor::new(tensor)));
        }
        Ok(Box::into_raw(Box::new(list)))
    })
    .unwrap_or(std::ptr::null_mut())
}

/// Writes the list's tensors to a safetensors file (entries without a tensor are left out).
///
/// # Safety
/// `path` is a NUL-terminated string; `list` is a live list.
#[no_mangle]
pub unsafe extern "C" fn pt2_safetensors_save(path: *const c_char, list: *const Pt2TensorList, error: *mut *mut Pt2Error) -> bool {
    guard(error, || {
        let path = str_arg(path, "path")?;
        let list = handle(list, "list")?;
        let tensors: Vec<(String, Tensor)> = list.tensors().map(|(n, t)| (n.to_string(), t.clone())).collect();
        pt2::save_tensors(path, &tensors)?;
        Ok(())
    })
    .is_some()
}

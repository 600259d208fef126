//! libpt2: load and run PT2 archives from C and C++, with no Python and no libtorch.
//!
//! The C interface (`include/pt2.h`, generated from this crate by cbindgen) is a thin layer over
//! the `pt2` facade: a [`Pt2Program`] is a loaded [`pt2::ExportedProgram`], a [`Pt2Module`] its
//! `ep.module()`, a [`Pt2Tensor`] a tensor, a [`Pt2TensorList`] named tensors (a safetensors
//! file, a run's inputs by name or its outputs), a [`Pt2Error`] pt2's error with its message.
//!
//! Every exported function catches panics ([`guard`]): nothing unwinds into C.

mod error;
mod list;
mod program;
mod tensor;

pub use error::*;
pub use list::*;
pub use program::*;
pub use tensor::*;

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use pt2_facade as pt2;

/// Runs `f`; a failure (or a panic, which becomes an error) is stored in `*error` when `error`
/// is not NULL, and gives `None`.
fn guard<T>(error: *mut *mut Pt2Error, f: impl FnOnce() -> Result<T, Pt2Error>) -> Option<T> {
    let result = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(Pt2Error::message(format!("internal error in pt2 (please report it): {what}")))
    });
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            if !error.is_null() {
                // SAFETY: the caller passes NULL or a pointer it owns, to store one error in
                unsafe { *error = Box::into_raw(Box::new(e)) };
            }
            None
        }
    }
}

/// A NUL-terminated argument as UTF-8, or an error naming the parameter.
///
/// # Safety
/// `s` is NULL or points to a NUL-terminated string.
unsafe fn str_arg<'a>(s: *const c_char, parameter: &str) -> Result<&'a str, Pt2Error> {
    if s.is_null() {
        return Err(Pt2Error::message(format!("`{parameter}` is NULL")));
    }
    CStr::from_ptr(s).to_str().map_err(|_| Pt2Error::message(format!("`{parameter}` is not UTF-8")))
}

/// A reference from a handle pointer, or an error naming the parameter.
///
/// # Safety
/// `p` is NULL or a live handle of type `T` made by this library.
unsafe fn handle<'a, T>(p: *const T, parameter: &str) -> Result<&'a T, Pt2Error> {
    p.as_ref().ok_or_else(|| Pt2Error::message(format!("`{parameter}` is NULL")))
}

/// A Rust string as C text; an inner NUL (which C cannot hold) ends it there.
fn c_string(s: impl Into<Vec<u8>>) -> CString {
    let mut bytes = s.into();
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        bytes.truncate(nul);
    }
    CString::new(bytes).expect("NUL bytes were removed")
}

/// Frees a string this library returned as `char *`.
///
/// # Safety
/// `s` is NULL or a string returned as `char *` by this library, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn pt2_string_free(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

/// The library's version (`0.1.0`), a static string.
#[no_mangle]
pub extern "C" fn pt2_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

//! `Pt2Error`: pt2's error with the message it prints, handed to C.

use std::ffi::{c_char, CString};

use crate::{c_string, pt2};

/// A failure: the message pt2 prints (the input, the dim, what was expected and what came), and
/// the input at fault where there is one.
pub struct Pt2Error {
    message: CString,
    input: Option<CString>,
}

impl Pt2Error {
    pub(crate) fn message(message: impl Into<String>) -> Pt2Error {
        Pt2Error { message: c_string(message.into()), input: None }
    }
}

impl From<pt2::Error> for Pt2Error {
    fn from(e: pt2::Error) -> Pt2Error {
        let input = match e.root() {
            pt2::Error::Input { input: Some(name), .. } => Some(c_string(name.as_str())),
            _ => None,
        };
        Pt2Error { message: c_string(e.to_string()), input }
    }
}

/// The error's message, as pt2's command line prints it. Valid until the error is freed.
///
/// # Safety
/// `error` is NULL or an error this library made, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn pt2_error_message(error: *const Pt2Error) -> *const c_char {
    match error.as_ref() {
        Some(e) => e.message.as_ptr(),
        None => c"(no error)".as_ptr(),
    }
}

/// The program input the error is about, as the program names it (`x`, `inp['x']`), or NULL
/// when it is not about one input. Valid until the error is freed.
///
/// # Safety
/// `error` is NULL or an error this library made, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn pt2_error_input(error: *const Pt2Error) -> *const c_char {
    match error.as_ref().and_then(|e| e.input.as_ref()) {
        Some(name) => name.as_ptr(),
        None => std::ptr::null(),
    }
}

/// Frees an error.
///
/// # Safety
/// `error` is NULL or an error this library made, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn pt2_error_free(error: *mut Pt2Error) {
    if !error.is_null() {
        drop(Box::from_raw(error));
    }
}

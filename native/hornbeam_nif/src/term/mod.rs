//! Erlang term <-> Python object conversion (the table is `docs/term-conversion.md`).
//!
//! Both directions run on a context's own thread with its GIL held: Python objects are
//! made and read there, terms live in the job's process-independent environment.
mod from_py;
mod to_py;

pub use from_py::from_py;
pub use to_py::{to_py, to_py_args, to_py_kwargs};

use crate::atoms;
use hornbeam_python::call::{self, PyResult};
use hornbeam_python::object::PyOwned;
use rustler::{Encoder, Env, Term};

/// Deeper structures are refused rather than risking the thread's stack; cyclic Python
/// containers end here too.
pub const MAX_DEPTH: usize = 512;

/// The classes of the `erlang` Python module that conversion produces and recognises,
/// looked up once per interpreter.
pub struct PyTypes {
    pub atom: PyOwned,
    pub pid: PyOwned,
    pub reference: PyOwned,
    pub list_key: PyOwned,
    pub map_key: PyOwned,
    pub erlang_error: PyOwned,
    pub unknown_function_error: PyOwned,
}

impl PyTypes {
    /// # Safety
    /// GIL of the current interpreter held.
    pub unsafe fn load() -> PyResult<PyTypes> {
        // SAFETY: the caller keeps the contract above: GIL of the current interpreter held.
        unsafe {
            let module = call::import("erlang")?;
            let get = |name: &str| call::getattr_path(module.clone(), name);
            Ok(PyTypes {
                atom: get("Atom")?,
                pid: get("Pid")?,
                reference: get("Ref")?,
                list_key: get("ListKey")?,
                map_key: get("MapKey")?,
                erlang_error: get("ErlangError")?,
                unknown_function_error: get("UnknownFunctionError")?,
            })
        }
    }
}

/// The name of an atom as UTF-8.
///
/// On OTP 25, `enif_get_atom` reads names only as Latin-1 (and rustler copies those
/// bytes into a `String` unchecked), so only an ASCII result is taken from it; any
/// other name is read from the atom's external term format, which is exact.
pub fn atom_name(term: Term) -> Option<String> {
    if let Ok(name) = term.atom_to_string() {
        if name.as_bytes().is_ascii() {
            return Some(name);
        }
    }
    let etf = term.to_binary();
    let bytes = etf.as_slice();
    // 131 = version; then SMALL_ATOM_UTF8_EXT (119, u8 length), ATOM_UTF8_EXT (118, u16
    // length), or their Latin-1 forms SMALL_ATOM_EXT (115) and ATOM_EXT (100).
    let (tag, len, body) = match bytes {
        [131, tag @ (119 | 115), len, body @ ..] => (*tag, *len as usize, body),
        [131, tag @ (118 | 100), hi, lo, body @ ..] => {
            (*tag, u16::from_be_bytes([*hi, *lo]) as usize, body)
        }
        _ => return None,
    };
    let name = body.get(..len)?;
    match tag {
        118 | 119 => String::from_utf8(name.to_vec()).ok(),
        _ => Some(name.iter().map(|&b| b as char).collect()),
    }
}

/// Why a value could not be converted.
#[derive(Debug)]
pub enum ConvError {
    /// No counterpart on the other side (an Erlang fun or port, a Python set); the
    /// string names the kind.
    Unconvertible(String),
    ImproperList,
    TooDeep,
    /// An atom name over 255 characters.
    AtomTooLong,
}

impl ConvError {
    /// The reason term, e.g. `{unconvertible, <<"set">>}` or `nesting_too_deep`.
    pub fn reason<'a>(&self, env: Env<'a>) -> Term<'a> {
        match self {
            ConvError::Unconvertible(kind) => (atoms::unconvertible(), kind.as_str()).encode(env),
            ConvError::ImproperList => atoms::improper_list().encode(env),
            ConvError::TooDeep => (atoms::nesting_too_deep(), MAX_DEPTH).encode(env),
            ConvError::AtomTooLong => atoms::atom_too_long().encode(env),
        }
    }

    pub fn message(&self) -> String {
        match self {
            ConvError::Unconvertible(kind) => format!("{kind} has no Erlang/Python counterpart"),
            ConvError::ImproperList => "improper lists cannot be converted".into(),
            ConvError::TooDeep => format!("nesting deeper than {MAX_DEPTH} levels"),
            ConvError::AtomTooLong => "atom names are at most 255 characters".into(),
        }
    }
}

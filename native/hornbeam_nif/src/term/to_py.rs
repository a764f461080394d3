//! Erlang term -> Python object.
use super::{atom_name, ConvError, PyTypes, MAX_DEPTH};
use crate::atoms;
use hornbeam_python::object::PyOwned;
use pyo3::ffi;
use rustler::types::tuple::get_tuple;
use rustler::{BigInt, Binary, MapIterator, Term, TermType};

type Conv<T> = Result<T, ConvError>;

/// Converts `term`. In key position (`as_key`) lists and maps become the hashable
/// `ListKey`/`MapKey` tuples.
///
/// # Safety
/// GIL of the interpreter that owns `types` held.
pub unsafe fn to_py(types: &PyTypes, term: Term, as_key: bool, depth: usize) -> Conv<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL of the interpreter that owns `types` held.
    unsafe {
        if depth > MAX_DEPTH {
            return Err(ConvError::TooDeep);
        }
        match term.get_type() {
            TermType::Integer => integer(term),
            TermType::Float => new(ffi::PyFloat_FromDouble(
                term.decode::<f64>().map_err(|_| unconvertible("float"))?,
            )),
            TermType::Atom => atom(types, term),
            TermType::Binary => binary(term),
            TermType::List => list(types, term, as_key, depth),
            TermType::Tuple => tuple(types, term, as_key, depth),
            TermType::Map => map(types, term, as_key, depth),
            TermType::Pid => opaque(&types.pid, term),
            TermType::Ref => opaque(&types.reference, term),
            TermType::Fun => Err(unconvertible("fun")),
            TermType::Port => Err(unconvertible("port")),
            TermType::Unknown => Err(unconvertible("unknown term")),
        }
    }
}

/// An argument list as the positional-argument tuple of a call.
///
/// # Safety
/// As `to_py`.
pub unsafe fn to_py_args(types: &PyTypes, args: Term) -> Conv<PyOwned> {
    // SAFETY: the caller keeps the contract above: As `to_py`.
    unsafe {
        let len = args.list_length().map_err(|_| ConvError::ImproperList)?;
        let tuple = new(ffi::PyTuple_New(len as ffi::Py_ssize_t))?;
        for (i, item) in args.into_list_iterator().map_err(|_| ConvError::ImproperList)?.enumerate()
        {
            ffi::PyTuple_SetItem(
                tuple.as_ptr(),
                i as ffi::Py_ssize_t,
                to_py(types, item, false, 1)?.into_ptr(),
            );
        }
        Ok(tuple)
    }
}

/// A map of keyword arguments (atom or binary keys) as a dict; `None` when empty.
///
/// # Safety
/// As `to_py`.
pub unsafe fn to_py_kwargs(types: &PyTypes, kwargs: Term) -> Conv<Option<PyOwned>> {
    // SAFETY: the caller keeps the contract above: As `to_py`.
    unsafe {
        if kwargs.map_size().unwrap_or(0) == 0 {
            return Ok(None);
        }
        let dict = new(ffi::PyDict_New())?;
        for (key, value) in MapIterator::new(kwargs)
            .ok_or_else(|| unconvertible("keyword arguments that are not a map"))?
        {
            let name = match key.get_type() {
                TermType::Atom => atom_name(key).ok_or_else(|| unconvertible("keyword"))?,
                TermType::Binary => String::from_utf8(
                    key.decode::<Binary>()
                        .map_err(|_| unconvertible("keyword"))?
                        .as_slice()
                        .to_vec(),
                )
                .map_err(|_| unconvertible("a keyword that is not UTF-8"))?,
                _ => return Err(unconvertible("a keyword that is not an atom or a binary")),
            };
            let py_key = new(ffi::PyUnicode_FromStringAndSize(
                name.as_ptr().cast(),
                name.len() as ffi::Py_ssize_t,
            ))?;
            let py_value = to_py(types, value, false, 1)?;
            if ffi::PyDict_SetItem(dict.as_ptr(), py_key.as_ptr(), py_value.as_ptr()) != 0 {
                ffi::PyErr_Clear();
                return Err(unconvertible("keyword argument"));
            }
        }
        Ok(Some(dict))
    }
}

fn unconvertible(kind: &str) -> ConvError {
    ConvError::Unconvertible(kind.to_string())
}

/// A new reference, or the Python error (memory, mostly) as a conversion error.
unsafe fn new(ptr: *mut ffi::PyObject) -> Conv<PyOwned> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        PyOwned::from_owned(ptr).ok_or_else(|| {
            ffi::PyErr_Clear();
            unconvertible("a value Python could not allocate")
        })
    }
}

unsafe fn integer(term: Term) -> Conv<PyOwned> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        if let Ok(small) = term.decode::<i64>() {
            return new(ffi::PyLong_FromLongLong(small));
        }
        let big: BigInt = term.decode().map_err(|_| unconvertible("integer"))?;
        let digits = std::ffi::CString::new(big.to_string()).expect("decimal digits have no NUL");
        new(ffi::PyLong_FromString(digits.as_ptr(), std::ptr::null_mut(), 10))
    }
}

unsafe fn atom(types: &PyTypes, term: Term) -> Conv<PyOwned> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        if atoms::true_() == term {
            return new(ffi::PyBool_FromLong(1));
        }
        if atoms::false_() == term {
            return new(ffi::PyBool_FromLong(0));
        }
        if atoms::none() == term || atoms::undefined() == term || atoms::nil() == term {
            return PyOwned::from_borrowed(ffi::Py_None()).ok_or_else(|| unconvertible("None"));
        }
        if atoms::infinity() == term {
            return new(ffi::PyFloat_FromDouble(f64::INFINITY));
        }
        if atoms::neg_infinity() == term {
            return new(ffi::PyFloat_FromDouble(f64::NEG_INFINITY));
        }
        if atoms::nan() == term {
            return new(ffi::PyFloat_FromDouble(f64::NAN));
        }
        let name = atom_name(term).ok_or_else(|| unconvertible("atom"))?;
        let text = new(ffi::PyUnicode_FromStringAndSize(
            name.as_ptr().cast(),
            name.len() as ffi::Py_ssize_t,
        ))?;
        new(ffi::PyObject_CallOneArg(types.atom.as_ptr(), text.as_ptr()))
    }
}

/// UTF-8 text becomes `str`, anything else `bytes` (`{bytes, B}` forces `bytes`).
unsafe fn binary(term: Term) -> Conv<PyOwned> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let bin: Binary = term.decode().map_err(|_| unconvertible("bitstring"))?;
        let data = bin.as_slice();
        let text = ffi::PyUnicode_DecodeUTF8(
            data.as_ptr().cast(),
            data.len() as ffi::Py_ssize_t,
            c"strict".as_ptr(),
        );
        if !text.is_null() {
            return new(text);
        }
        ffi::PyErr_Clear();
        bytes(data)
    }
}

unsafe fn bytes(data: &[u8]) -> Conv<PyOwned> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        new(ffi::PyBytes_FromStringAndSize(data.as_ptr().cast(), data.len() as ffi::Py_ssize_t))
    }
}

unsafe fn list(types: &PyTypes, term: Term, as_key: bool, depth: usize) -> Conv<PyOwned> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let len = term.list_length().map_err(|_| ConvError::ImproperList)?;
        let iter = term.into_list_iterator().map_err(|_| ConvError::ImproperList)?;
        if as_key {
            let items = new(ffi::PyTuple_New(len as ffi::Py_ssize_t))?;
            for (i, item) in iter.enumerate() {
                ffi::PyTuple_SetItem(
                    items.as_ptr(),
                    i as ffi::Py_ssize_t,
                    to_py(types, item, true, depth + 1)?.into_ptr(),
                );
            }
            return new(ffi::PyObject_CallOneArg(types.list_key.as_ptr(), items.as_ptr()));
        }
        let out = new(ffi::PyList_New(len as ffi::Py_ssize_t))?;
        for (i, item) in iter.enumerate() {
            ffi::PyList_SetItem(
                out.as_ptr(),
                i as ffi::Py_ssize_t,
                to_py(types, item, false, depth + 1)?.into_ptr(),
            );
        }
        Ok(out)
    }
}

unsafe fn tuple(types: &PyTypes, term: Term, as_key: bool, depth: usize) -> Conv<PyOwned> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let elements = get_tuple(term).map_err(|_| unconvertible("tuple"))?;
        if let [tag, payload] = elements.as_slice() {
            if atoms::bytes() == *tag && payload.get_type() == TermType::Binary {
                let bin: Binary = payload.decode().map_err(|_| unconvertible("bitstring"))?;
                return bytes(bin.as_slice());
            }
        }
        let out = new(ffi::PyTuple_New(elements.len() as ffi::Py_ssize_t))?;
        for (i, item) in elements.into_iter().enumerate() {
            ffi::PyTuple_SetItem(
                out.as_ptr(),
                i as ffi::Py_ssize_t,
                to_py(types, item, as_key, depth + 1)?.into_ptr(),
            );
        }
        Ok(out)
    }
}

unsafe fn map(types: &PyTypes, term: Term, as_key: bool, depth: usize) -> Conv<PyOwned> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let iter = MapIterator::new(term).ok_or_else(|| unconvertible("map"))?;
        if as_key {
            let size = term.map_size().unwrap_or(0);
            let pairs = new(ffi::PyTuple_New(size as ffi::Py_ssize_t))?;
            for (i, (k, v)) in iter.enumerate() {
                let pair = new(ffi::PyTuple_New(2))?;
                ffi::PyTuple_SetItem(
                    pair.as_ptr(),
                    0,
                    to_py(types, k, true, depth + 1)?.into_ptr(),
                );
                ffi::PyTuple_SetItem(
                    pair.as_ptr(),
                    1,
                    to_py(types, v, true, depth + 1)?.into_ptr(),
                );
                ffi::PyTuple_SetItem(pairs.as_ptr(), i as ffi::Py_ssize_t, pair.into_ptr());
            }
            return new(ffi::PyObject_CallOneArg(types.map_key.as_ptr(), pairs.as_ptr()));
        }
        let dict = new(ffi::PyDict_New())?;
        let mut inserted: ffi::Py_ssize_t = 0;
        for (k, v) in iter {
            let key = to_py(types, k, true, depth + 1)?;
            let value = to_py(types, v, false, depth + 1)?;
            if ffi::PyDict_SetItem(dict.as_ptr(), key.as_ptr(), value.as_ptr()) != 0 {
                ffi::PyErr_Clear();
                return Err(unconvertible("map key"));
            }
            inserted += 1;
            // `a` and `<<"a">>`, or `1` and `1.0`, are one key in Python: refuse to drop one.
            if ffi::PyDict_Size(dict.as_ptr()) != inserted {
                return Err(unconvertible("map with keys that are equal in Python"));
            }
        }
        Ok(dict)
    }
}

/// Pids and references travel in external term format inside `erlang.Pid`/`erlang.Ref`.
unsafe fn opaque(class: &PyOwned, term: Term) -> Conv<PyOwned> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let etf = term.to_binary();
        let data = bytes(etf.as_slice())?;
        new(ffi::PyObject_CallOneArg(class.as_ptr(), data.as_ptr()))
    }
}

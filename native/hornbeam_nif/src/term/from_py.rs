//! Python object -> Erlang term.
use super::{ConvError, PyTypes, MAX_DEPTH};
use crate::atoms;
use hornbeam_python::error::str_of;
use hornbeam_python::object::PyOwned;
use hornbeam_python::value::type_name;
use pyo3::ffi;
use rustler::types::tuple::make_tuple;
use rustler::{Atom, BigInt, Encoder, Env, NewBinary, Term};

type Conv<T> = Result<T, ConvError>;

/// Converts `obj` (borrowed) into a term of `env`.
///
/// # Safety
/// GIL of the interpreter that owns `types` and `obj` held.
pub unsafe fn from_py<'a>(
    types: &PyTypes,
    env: Env<'a>,
    obj: *mut ffi::PyObject,
    depth: usize,
) -> Conv<Term<'a>> {
    // SAFETY: the caller keeps the contract above: GIL of the interpreter that owns `types` and
    // `obj` held.
    unsafe {
        if depth > MAX_DEPTH {
            return Err(ConvError::TooDeep);
        }
        if obj == ffi::Py_None() {
            return Ok(atoms::none().encode(env));
        }
        if obj == ffi::Py_True() {
            return Ok(true.encode(env));
        }
        if obj == ffi::Py_False() {
            return Ok(false.encode(env));
        }
        if ffi::PyLong_Check(obj) != 0 {
            return integer(env, obj);
        }
        if ffi::PyFloat_Check(obj) != 0 {
            return Ok(float(env, ffi::PyFloat_AsDouble(obj)));
        }
        if ffi::PyUnicode_Check(obj) != 0 {
            return if is_instance(obj, &types.atom) { atom(env, obj) } else { text(env, obj) };
        }
        if ffi::PyBytes_Check(obj) != 0 {
            let data = std::slice::from_raw_parts(
                ffi::PyBytes_AsString(obj) as *const u8,
                ffi::PyBytes_Size(obj) as usize,
            );
            return Ok(tagged_bytes(env, data));
        }
        if ffi::PyByteArray_Check(obj) != 0 {
            let data = std::slice::from_raw_parts(
                ffi::PyByteArray_AsString(obj) as *const u8,
                ffi::PyByteArray_Size(obj) as usize,
            );
            return Ok(tagged_bytes(env, data));
        }
        if ffi::PyList_Check(obj) != 0 {
            return list(types, env, obj, depth);
        }
        if ffi::PyTuple_Check(obj) != 0 {
            return tuple(types, env, obj, depth);
        }
        if ffi::PyDict_Check(obj) != 0 {
            return dict(types, env, obj, depth);
        }
        if is_instance(obj, &types.pid) || is_instance(obj, &types.reference) {
            return opaque(env, obj);
        }
        Err(ConvError::Unconvertible(type_name(obj)))
    }
}

unsafe fn is_instance(obj: *mut ffi::PyObject, class: &PyOwned) -> bool {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe { ffi::PyObject_TypeCheck(obj, class.as_ptr() as *mut ffi::PyTypeObject) != 0 }
}

unsafe fn integer<'a>(env: Env<'a>, obj: *mut ffi::PyObject) -> Conv<Term<'a>> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let mut overflow = 0;
        let small = ffi::PyLong_AsLongLongAndOverflow(obj, &mut overflow);
        if overflow == 0 && (small != -1 || ffi::PyErr_Occurred().is_null()) {
            return Ok(small.encode(env));
        }
        ffi::PyErr_Clear();
        // Hex is linear to produce and to parse, unlike decimal.
        let hex = PyOwned::from_owned(ffi::PyNumber_ToBase(obj, 16))
            .and_then(|s| str_of(&s))
            .ok_or_else(|| ConvError::Unconvertible("int".into()))?;
        let (negative, digits) = match hex.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, hex.as_str()),
        };
        let magnitude = BigInt::parse_bytes(digits.trim_start_matches("0x").as_bytes(), 16)
            .ok_or_else(|| ConvError::Unconvertible("int".into()))?;
        Ok((if negative { -magnitude } else { magnitude }).encode(env))
    }
}

/// Erlang floats have no infinities or NaN: those become atoms.
fn float(env: Env, value: f64) -> Term {
    if value.is_nan() {
        atoms::nan().encode(env)
    } else if value == f64::INFINITY {
        atoms::infinity().encode(env)
    } else if value == f64::NEG_INFINITY {
        atoms::neg_infinity().encode(env)
    } else {
        value.encode(env)
    }
}

unsafe fn utf8<'o>(obj: *mut ffi::PyObject) -> Conv<&'o [u8]> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let mut len: ffi::Py_ssize_t = 0;
        let data = ffi::PyUnicode_AsUTF8AndSize(obj, &mut len);
        if data.is_null() {
            ffi::PyErr_Clear();
            return Err(ConvError::Unconvertible("str with lone surrogates".into()));
        }
        Ok(std::slice::from_raw_parts(data as *const u8, len as usize))
    }
}

unsafe fn text<'a>(env: Env<'a>, obj: *mut ffi::PyObject) -> Conv<Term<'a>> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let data = utf8(obj)?;
        let mut bin = NewBinary::new(env, data.len());
        bin.as_mut_slice().copy_from_slice(data);
        Ok(bin.into())
    }
}

/// Atoms are at most 255 characters. OTP 25 NIFs make atoms from Latin-1 only, so other
/// names go through their external format (ATOM_UTF8_EXT: 118, u16 length, UTF-8).
unsafe fn atom<'a>(env: Env<'a>, obj: *mut ffi::PyObject) -> Conv<Term<'a>> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let data = utf8(obj)?;
        if let Ok(atom) = Atom::from_utf8_bytes(env, data) {
            return Ok(atom.encode(env));
        }
        if std::str::from_utf8(data).map_or(true, |s| s.chars().count() > 255) {
            return Err(ConvError::AtomTooLong);
        }
        let mut etf = Vec::with_capacity(data.len() + 4);
        etf.extend_from_slice(&[131, 118]);
        etf.extend_from_slice(&(data.len() as u16).to_be_bytes());
        etf.extend_from_slice(data);
        // SAFETY: `etf` is a well-formed ATOM_UTF8_EXT that we built; creating the atom is
        // the point (the safe variant refuses new atoms).
        env.binary_to_term_trusted(&etf).map(|(t, _)| t).ok_or(ConvError::AtomTooLong)
    }
}

/// `bytes` leaves as `{bytes, Binary}` so it comes back as `bytes`, not `str`.
fn tagged_bytes<'a>(env: Env<'a>, data: &[u8]) -> Term<'a> {
    let mut bin = NewBinary::new(env, data.len());
    bin.as_mut_slice().copy_from_slice(data);
    let bin: Term = bin.into();
    (atoms::bytes(), bin).encode(env)
}

unsafe fn items<'a>(
    types: &PyTypes,
    env: Env<'a>,
    obj: *mut ffi::PyObject,
    depth: usize,
) -> Conv<Vec<Term<'a>>> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        // PySequence_Fast items are borrowed from `seq`, which stays alive for the loop.
        let seq = PyOwned::from_owned(ffi::PySequence_Fast(obj, c"not a sequence".as_ptr()))
            .ok_or_else(|| ConvError::Unconvertible(type_name(obj)))?;
        let len = ffi::PySequence_Fast_GET_SIZE(seq.as_ptr());
        let mut out = Vec::with_capacity(len as usize);
        for i in 0..len {
            out.push(from_py(
                types,
                env,
                ffi::PySequence_Fast_GET_ITEM(seq.as_ptr(), i),
                depth + 1,
            )?);
        }
        Ok(out)
    }
}

unsafe fn list<'a>(
    types: &PyTypes,
    env: Env<'a>,
    obj: *mut ffi::PyObject,
    depth: usize,
) -> Conv<Term<'a>> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe { Ok(items(types, env, obj, depth)?.encode(env)) }
}

unsafe fn tuple<'a>(
    types: &PyTypes,
    env: Env<'a>,
    obj: *mut ffi::PyObject,
    depth: usize,
) -> Conv<Term<'a>> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let elements = items(types, env, obj, depth)?;
        if is_instance(obj, &types.list_key) {
            return Ok(elements.encode(env));
        }
        if is_instance(obj, &types.map_key) {
            let mut map = Term::map_new(env);
            for pair in elements {
                let kv = rustler::types::tuple::get_tuple(pair)
                    .map_err(|_| ConvError::Unconvertible("MapKey item".into()))?;
                let [k, v] = kv.as_slice() else {
                    return Err(ConvError::Unconvertible("MapKey item".into()));
                };
                map = map
                    .map_put(*k, *v)
                    .map_err(|_| ConvError::Unconvertible("MapKey item".into()))?;
            }
            return Ok(map);
        }
        Ok(make_tuple(env, &elements))
    }
}

unsafe fn dict<'a>(
    types: &PyTypes,
    env: Env<'a>,
    obj: *mut ffi::PyObject,
    depth: usize,
) -> Conv<Term<'a>> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let mut keys = Vec::new();
        let mut values = Vec::new();
        let mut pos: ffi::Py_ssize_t = 0;
        let mut key: *mut ffi::PyObject = std::ptr::null_mut();
        let mut value: *mut ffi::PyObject = std::ptr::null_mut();
        while ffi::PyDict_Next(obj, &mut pos, &mut key, &mut value) != 0 {
            keys.push(from_py(types, env, key, depth + 1)?);
            values.push(from_py(types, env, value, depth + 1)?);
        }
        Term::map_from_term_arrays(env, &keys, &values)
            .map_err(|_| ConvError::Unconvertible("dict whose keys collide once converted".into()))
    }
}

unsafe fn opaque<'a>(env: Env<'a>, obj: *mut ffi::PyObject) -> Conv<Term<'a>> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let bad = || ConvError::Unconvertible(type_name(obj));
        let etf = PyOwned::from_owned(ffi::PyObject_GetAttrString(obj, c"_etf".as_ptr()))
            .ok_or_else(|| {
                ffi::PyErr_Clear();
                bad()
            })?;
        if ffi::PyBytes_Check(etf.as_ptr()) == 0 {
            return Err(bad());
        }
        let data = std::slice::from_raw_parts(
            ffi::PyBytes_AsString(etf.as_ptr()) as *const u8,
            ffi::PyBytes_Size(etf.as_ptr()) as usize,
        );
        // binary_to_term with ERL_NIF_BIN2TERM_SAFE refuses to create new atoms.
        env.binary_to_term(data).map(|(t, _)| t).ok_or_else(bad)
    }
}

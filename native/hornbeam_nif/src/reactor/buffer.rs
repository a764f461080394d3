//! `ReactorBuffer`: the bytes of one read, handed to `Protocol.data_received` without
//! a copy. The reactor reads into a `Vec<u8>` with the GIL released; the vector then
//! becomes this object's storage, which the buffer protocol exposes read-only. It acts
//! like `bytes` for what protocols do with data: `len`, indexing, slicing, `in`, `==`,
//! `startswith`, `endswith`, `find`, `count`, `decode`, `bytes(data)` (the one copy),
//! `memoryview(data)` and `bytearray.extend(data)`.
//!
//! The type is a heap type made per interpreter by the `_hornbeam_reactor` module.
//!
//! Invariants: `data`/`len`/`cap` are the parts of a `Vec<u8>` owned by the object,
//! never resized, and freed in `dealloc`; so every pointer a buffer export hands out
//! stays valid while its exporter (this object) is alive, which the export keeps.
//! Every function below runs with the GIL of the object's interpreter held, as CPython
//! calls them.
use hornbeam_python::error::{raise, Exc};
use pyo3::ffi;
use std::ffi::c_int;
use std::mem::ManuallyDrop;
use std::ptr;

#[repr(C)]
struct BufferObject {
    ob_base: ffi::PyObject,
    data: *mut u8,
    len: usize,
    cap: usize,
}

/// Wraps `bytes` in a new `ReactorBuffer` of type `tp` (NULL with an exception set on
/// failure, in which case the bytes are freed).
///
/// # Safety
/// GIL held; `tp` is the `ReactorBuffer` type of the current interpreter.
pub unsafe fn new(tp: *mut ffi::PyObject, bytes: Vec<u8>) -> *mut ffi::PyObject {
    // SAFETY: the caller keeps the contract above: GIL held; `tp` is the `ReactorBuffer` type of
    // the current interpreter.
    unsafe {
        let obj = ffi::PyType_GenericAlloc(tp.cast(), 0);
        if obj.is_null() {
            return obj;
        }
        let mut bytes = ManuallyDrop::new(bytes);
        let b = obj.cast::<BufferObject>();
        (*b).data = bytes.as_mut_ptr();
        (*b).len = bytes.len();
        (*b).cap = bytes.capacity();
        obj
    }
}

/// The object's bytes.
///
/// # Safety
/// `obj` is a live `ReactorBuffer`; the slice must not outlive it.
unsafe fn bytes_of<'a>(obj: *mut ffi::PyObject) -> &'a [u8] {
    // SAFETY: the caller keeps the contract above: `obj` is a live `ReactorBuffer`; the slice must
    // not outlive it.
    unsafe {
        let b = obj.cast::<BufferObject>();
        if (*b).len == 0 {
            return &[];
        }
        std::slice::from_raw_parts((*b).data, (*b).len)
    }
}

unsafe extern "C" fn dealloc(obj: *mut ffi::PyObject) {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let b = obj.cast::<BufferObject>();
        if !(*b).data.is_null() {
            drop(Vec::from_raw_parts((*b).data, (*b).len, (*b).cap));
            (*b).data = ptr::null_mut();
        }
        crate::pyheap::free_instance(obj);
    }
}

unsafe extern "C" fn getbuffer(
    obj: *mut ffi::PyObject,
    view: *mut ffi::Py_buffer,
    flags: c_int,
) -> c_int {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let b = obj.cast::<BufferObject>();
        // Read-only: PyBuffer_FillInfo refuses PyBUF_WRITABLE requests with a BufferError.
        ffi::PyBuffer_FillInfo(view, obj, (*b).data.cast(), (*b).len as ffi::Py_ssize_t, 1, flags)
    }
}

unsafe extern "C" fn length(obj: *mut ffi::PyObject) -> ffi::Py_ssize_t {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe { (*obj.cast::<BufferObject>()).len as ffi::Py_ssize_t }
}

/// A borrowed view of another object's bytes, released on drop.
struct Borrowed {
    view: ffi::Py_buffer,
}

impl Borrowed {
    /// `None` (with a `TypeError` set) when `obj` does not export a buffer.
    unsafe fn of(obj: *mut ffi::PyObject) -> Option<Borrowed> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            let mut view = std::mem::MaybeUninit::<ffi::Py_buffer>::zeroed();
            if ffi::PyObject_GetBuffer(obj, view.as_mut_ptr(), ffi::PyBUF_SIMPLE) != 0 {
                return None;
            }
            Some(Borrowed { view: view.assume_init() })
        }
    }

    fn bytes(&self) -> &[u8] {
        if self.view.len == 0 {
            return &[];
        }
        // SAFETY: a successful PyBUF_SIMPLE export describes `len` contiguous bytes that
        // stay valid until PyBuffer_Release.
        unsafe { std::slice::from_raw_parts(self.view.buf as *const u8, self.view.len as usize) }
    }
}

impl Drop for Borrowed {
    fn drop(&mut self) {
        // SAFETY: the view came from a successful PyObject_GetBuffer, GIL held.
        unsafe { ffi::PyBuffer_Release(&mut self.view) }
    }
}

/// A search needle: a bytes-like object, or an int for one byte (as `bytes` accepts).
enum Needle {
    Bytes(Borrowed),
    Byte([u8; 1]),
}

impl Needle {
    unsafe fn of(obj: *mut ffi::PyObject) -> Option<Needle> {
        // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass
        // live objects.
        unsafe {
            if ffi::PyIndex_Check(obj) != 0 {
                let value = ffi::PyNumber_AsSsize_t(obj, Exc::OverflowError.class());
                if value == -1 && !ffi::PyErr_Occurred().is_null() {
                    return None;
                }
                if !(0..=255).contains(&value) {
                    raise(Exc::ValueError, "byte must be in range(0, 256)");
                    return None;
                }
                return Some(Needle::Byte([value as u8]));
            }
            Borrowed::of(obj).map(Needle::Bytes)
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Needle::Bytes(b) => b.bytes(),
            Needle::Byte(b) => b,
        }
    }
}

/// `[start:end]` bounds as `bytes.find` reads its optional arguments (None or ints,
/// negative from the end, clamped). `start` may exceed `len`; callers check.
unsafe fn bounds(args: &[*mut ffi::PyObject], len: usize) -> Option<(usize, usize)> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let len = len as isize;
        let read = |i: usize, default: isize| -> Option<isize> {
            match args.get(i) {
                Some(&a) if a != ffi::Py_None() => {
                    let v = ffi::PyNumber_AsSsize_t(a, ptr::null_mut());
                    if v == -1 && !ffi::PyErr_Occurred().is_null() {
                        return None;
                    }
                    Some(v)
                }
                _ => Some(default),
            }
        };
        let mut start = read(0, 0)?;
        let mut end = read(1, len)?;
        if start < 0 {
            start = (start + len).max(0);
        }
        if end < 0 {
            end = (end + len).max(0);
        }
        Some((start as usize, end.min(len) as usize))
    }
}

unsafe fn fast_args<'a>(
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> &'a [*mut ffi::PyObject] {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        if nargs <= 0 {
            return &[];
        }
        std::slice::from_raw_parts(args, nargs as usize)
    }
}

unsafe fn arity(name: &str, args: &[*mut ffi::PyObject], min: usize, max: usize) -> bool {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        if args.len() < min || args.len() > max {
            let msg = format!(
                "{name}() takes from {min} to {max} positional arguments ({} given)",
                args.len()
            );
            raise(Exc::TypeError, &msg);
            return false;
        }
        true
    }
}

/// The arguments of `find`/`count`: `(sub[, start[, end]])` over `obj`'s bytes.
/// `None` means a Python exception is set.
unsafe fn search_args<'a>(
    name: &str,
    obj: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> Option<(&'a [u8], Needle, usize, usize)> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let args = fast_args(args, nargs);
        if !arity(name, args, 1, 3) {
            return None;
        }
        let hay = bytes_of(obj);
        let needle = Needle::of(args[0])?;
        let (start, end) = bounds(&args[1..], hay.len())?;
        Some((hay, needle, start, end))
    }
}

unsafe extern "C" fn find(
    obj: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let Some((hay, needle, start, end)) = search_args("find", obj, args, nargs) else {
            return ptr::null_mut();
        };
        let needle = needle.bytes();
        let found = if end < start || end - start < needle.len() {
            None
        } else {
            memchr::memmem::find(&hay[start..end], needle).map(|i| i + start)
        };
        ffi::PyLong_FromSsize_t(found.map_or(-1, |i| i as ffi::Py_ssize_t))
    }
}

unsafe extern "C" fn count(
    obj: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let Some((hay, needle, start, end)) = search_args("count", obj, args, nargs) else {
            return ptr::null_mut();
        };
        let needle = needle.bytes();
        let n = if end < start {
            0
        } else if needle.is_empty() {
            end - start + 1
        } else {
            memchr::memmem::find_iter(&hay[start..end], needle).count()
        };
        ffi::PyLong_FromSsize_t(n as ffi::Py_ssize_t)
    }
}

/// `startswith`/`endswith`: `affix` is bytes-like or a tuple of them.
unsafe fn affix_match(
    name: &str,
    obj: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    at_end: bool,
) -> *mut ffi::PyObject {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let args = fast_args(args, nargs);
        if !arity(name, args, 1, 3) {
            return ptr::null_mut();
        }
        let hay = bytes_of(obj);
        let Some((start, end)) = bounds(&args[1..], hay.len()) else {
            return ptr::null_mut();
        };
        let matches = |affix: &[u8]| {
            if start > hay.len() || end < start || end - start < affix.len() {
                return false;
            }
            if at_end {
                &hay[end - affix.len()..end] == affix
            } else {
                &hay[start..start + affix.len()] == affix
            }
        };
        let candidates: Vec<*mut ffi::PyObject> = if ffi::PyTuple_Check(args[0]) != 0 {
            (0..ffi::PyTuple_Size(args[0])).map(|i| ffi::PyTuple_GetItem(args[0], i)).collect()
        } else {
            vec![args[0]]
        };
        for candidate in candidates {
            let Some(affix) = Borrowed::of(candidate) else {
                ffi::PyErr_Clear();
                let msg = format!("{name} first arg must be bytes or a tuple of bytes");
                raise(Exc::TypeError, &msg);
                return ptr::null_mut();
            };
            if matches(affix.bytes()) {
                return ffi::PyBool_FromLong(1);
            }
        }
        ffi::PyBool_FromLong(0)
    }
}

unsafe extern "C" fn startswith(
    obj: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe { affix_match("startswith", obj, args, nargs, false) }
}

unsafe extern "C" fn endswith(
    obj: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe { affix_match("endswith", obj, args, nargs, true) }
}

/// `decode(encoding="utf-8", errors="strict")`, straight from the buffer to `str`.
unsafe extern "C" fn decode(
    obj: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let positional = fast_args(args, nargs);
        if !arity("decode", positional, 0, 2) {
            return ptr::null_mut();
        }
        let mut encoding = positional.first().copied();
        let mut errors = positional.get(1).copied();
        if !kwnames.is_null() {
            for i in 0..ffi::PyTuple_Size(kwnames) {
                let value = *args.add(nargs as usize + i as usize);
                let key = ffi::PyTuple_GetItem(kwnames, i);
                if ffi::PyUnicode_CompareWithASCIIString(key, c"encoding".as_ptr()) == 0 {
                    encoding = Some(value);
                } else if ffi::PyUnicode_CompareWithASCIIString(key, c"errors".as_ptr()) == 0 {
                    errors = Some(value);
                } else {
                    raise(Exc::TypeError, "decode() got an unexpected keyword argument");
                    return ptr::null_mut();
                }
            }
        }
        let as_cstr = |o: Option<*mut ffi::PyObject>| -> Result<*const std::ffi::c_char, ()> {
            match o {
                None => Ok(ptr::null()),
                Some(o) if ffi::PyUnicode_Check(o) != 0 => {
                    let s = ffi::PyUnicode_AsUTF8(o);
                    if s.is_null() {
                        Err(())
                    } else {
                        Ok(s)
                    }
                }
                Some(_) => {
                    raise(Exc::TypeError, "decode() arguments must be str");
                    Err(())
                }
            }
        };
        let (Ok(encoding), Ok(errors)) = (as_cstr(encoding), as_cstr(errors)) else {
            return ptr::null_mut();
        };
        let data = bytes_of(obj);
        // A NULL encoding means UTF-8, a NULL errors "strict".
        ffi::PyUnicode_Decode(data.as_ptr().cast(), data.len() as ffi::Py_ssize_t, encoding, errors)
    }
}

unsafe extern "C" fn to_bytes(
    obj: *mut ffi::PyObject,
    _unused: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let data = bytes_of(obj);
        ffi::PyBytes_FromStringAndSize(data.as_ptr().cast(), data.len() as ffi::Py_ssize_t)
    }
}

unsafe extern "C" fn memoryview(
    obj: *mut ffi::PyObject,
    _unused: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe { ffi::PyMemoryView_FromObject(obj) }
}

unsafe extern "C" fn subscript(
    obj: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let data = bytes_of(obj);
        if ffi::PyIndex_Check(key) != 0 {
            let i = ffi::PyNumber_AsSsize_t(key, Exc::IndexError.class());
            if i == -1 && !ffi::PyErr_Occurred().is_null() {
                return ptr::null_mut();
            }
            return item(obj, i);
        }
        if ffi::PySlice_Check(key) != 0 {
            let (mut start, mut stop, mut step) = (0, 0, 0);
            if ffi::PySlice_Unpack(key, &mut start, &mut stop, &mut step) < 0 {
                return ptr::null_mut();
            }
            let n = ffi::PySlice_AdjustIndices(
                data.len() as ffi::Py_ssize_t,
                &mut start,
                &mut stop,
                step,
            );
            if step == 1 {
                let slice = &data[start as usize..(start + n) as usize];
                return ffi::PyBytes_FromStringAndSize(slice.as_ptr().cast(), n);
            }
            let picked: Vec<u8> = (0..n).map(|k| data[(start + k * step) as usize]).collect();
            return ffi::PyBytes_FromStringAndSize(picked.as_ptr().cast(), n);
        }
        raise(Exc::TypeError, "ReactorBuffer indices must be integers or slices");
        ptr::null_mut()
    }
}

/// `data[i]` (also what iteration uses).
unsafe extern "C" fn item(obj: *mut ffi::PyObject, i: ffi::Py_ssize_t) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let data = bytes_of(obj);
        let index = if i < 0 { i + data.len() as ffi::Py_ssize_t } else { i };
        match usize::try_from(index).ok().and_then(|k| data.get(k)) {
            Some(&byte) => ffi::PyLong_FromLong(byte as std::ffi::c_long),
            None => {
                raise(Exc::IndexError, "index out of range");
                ptr::null_mut()
            }
        }
    }
}

unsafe extern "C" fn contains(obj: *mut ffi::PyObject, value: *mut ffi::PyObject) -> c_int {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let Some(needle) = Needle::of(value) else {
            return -1;
        };
        memchr::memmem::find(bytes_of(obj), needle.bytes()).is_some() as c_int
    }
}

unsafe extern "C" fn concat(
    obj: *mut ffi::PyObject,
    other: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let Some(other) = Borrowed::of(other) else {
            return ptr::null_mut();
        };
        let mut joined = Vec::with_capacity(length(obj) as usize + other.bytes().len());
        joined.extend_from_slice(bytes_of(obj));
        joined.extend_from_slice(other.bytes());
        ffi::PyBytes_FromStringAndSize(joined.as_ptr().cast(), joined.len() as ffi::Py_ssize_t)
    }
}

/// Compares with any bytes-like object, as `bytes` does.
unsafe extern "C" fn richcompare(
    obj: *mut ffi::PyObject,
    other: *mut ffi::PyObject,
    op: c_int,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        if ffi::PyObject_CheckBuffer(other) == 0 || ffi::PyUnicode_Check(other) != 0 {
            return ffi::Py_NewRef(ffi::Py_NotImplemented());
        }
        let Some(other) = Borrowed::of(other) else {
            return ptr::null_mut();
        };
        let ord = bytes_of(obj).cmp(other.bytes());
        let result = match op {
            ffi::Py_LT => ord.is_lt(),
            ffi::Py_LE => ord.is_le(),
            ffi::Py_EQ => ord.is_eq(),
            ffi::Py_NE => ord.is_ne(),
            ffi::Py_GT => ord.is_gt(),
            _ => ord.is_ge(),
        };
        ffi::PyBool_FromLong(result as std::ffi::c_long)
    }
}

/// Equal objects hash equally: the same hash as the equal `bytes`.
unsafe extern "C" fn hash(obj: *mut ffi::PyObject) -> ffi::Py_hash_t {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let copy = to_bytes(obj, ptr::null_mut());
        if copy.is_null() {
            return -1;
        }
        let h = ffi::PyObject_Hash(copy);
        ffi::Py_DecRef(copy);
        h
    }
}

unsafe extern "C" fn repr(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this slot or method with the GIL held and the live arguments its
    // signature promises.
    unsafe {
        let copy = to_bytes(obj, ptr::null_mut());
        if copy.is_null() {
            return copy;
        }
        let inner = ffi::PyObject_Repr(copy);
        ffi::Py_DecRef(copy);
        if inner.is_null() {
            return inner;
        }
        let out = ffi::PyUnicode_FromFormat(c"ReactorBuffer(%U)".as_ptr(), inner);
        ffi::Py_DecRef(inner);
        out
    }
}

use crate::pyheap::{method, sealed_spec, slot};
use hornbeam_python::table::FfiTable;

// The C-API tables of this file's Python objects (`FfiTable`: their address goes to
// CPython, nothing else touches them).
static METHODS: FfiTable<[ffi::PyMethodDef; 8]> = FfiTable::new([
    method!(c"find", PyCFunctionFast: find, ffi::METH_FASTCALL, c"find(sub[, start[, end]]) -> int, as bytes.find"),
    method!(c"count", PyCFunctionFast: count, ffi::METH_FASTCALL, c"count(sub[, start[, end]]) -> int, as bytes.count"),
    method!(c"startswith", PyCFunctionFast: startswith, ffi::METH_FASTCALL, c"startswith(prefix[, start[, end]]) -> bool"),
    method!(c"endswith", PyCFunctionFast: endswith, ffi::METH_FASTCALL, c"endswith(suffix[, start[, end]]) -> bool"),
    method!(c"decode", PyCFunctionFastWithKeywords: decode, ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        c"decode(encoding='utf-8', errors='strict') -> str, without an intermediate bytes copy"),
    method!(c"memoryview", PyCFunction: memoryview, ffi::METH_NOARGS, c"memoryview() -> a read-only view of these bytes, no copy"),
    method!(c"__bytes__", PyCFunction: to_bytes, ffi::METH_NOARGS, c"bytes(data): a copy"),
    ffi::PyMethodDef::zeroed(),
]);

static SLOTS: FfiTable<[ffi::PyType_Slot; 14]> = FfiTable::new([
    slot!(Py_tp_dealloc, dealloc),
    slot!(Py_bf_getbuffer, getbuffer),
    slot!(Py_sq_length, length),
    slot!(Py_mp_length, length),
    slot!(Py_sq_item, item),
    slot!(Py_mp_subscript, subscript),
    slot!(Py_sq_contains, contains),
    slot!(Py_sq_concat, concat),
    slot!(Py_tp_richcompare, richcompare),
    slot!(Py_tp_hash, hash),
    slot!(Py_tp_repr, repr),
    slot!(Py_tp_methods, METHODS.get()),
    slot!(Py_tp_doc, doc c"The bytes of one read on a reactor connection, shared without a copy (read-only)."),
    slot!(end),
]);

static SPEC: FfiTable<ffi::PyType_Spec> =
    FfiTable::new(sealed_spec!(c"erlang.reactor.ReactorBuffer", BufferObject, SLOTS));

/// Makes this interpreter's `ReactorBuffer` type and adds it to `module`.
///
/// # Safety
/// GIL held; `module` is the `_hornbeam_reactor` module being executed.
pub unsafe fn add_type(module: *mut ffi::PyObject) -> c_int {
    // SAFETY: the caller keeps the contract above: GIL held; `module` is the `_hornbeam_reactor`
    // module being executed.
    unsafe {
        let tp = ffi::PyType_FromModuleAndSpec(module, SPEC.get(), ptr::null_mut());
        if tp.is_null() {
            return -1;
        }
        let rc = ffi::PyModule_AddType(module, tp.cast());
        ffi::Py_DecRef(tp);
        rc
    }
}

/// The address of the memory `obj` exports through the buffer protocol (tests use it
/// to show that `memoryview(data)` shares the buffer's memory).
///
/// # Safety
/// GIL held.
pub unsafe fn export_address(obj: *mut ffi::PyObject) -> Option<usize> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe { Borrowed::of(obj).map(|b| b.view.buf as usize) }
}

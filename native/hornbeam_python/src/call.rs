//! Resolving and running Python code: dotted names, calls, `eval` and `exec`.
//!
//! Every function requires the GIL of the current thread's interpreter.
use crate::error::PyErrInfo;
use crate::object::PyOwned;
use pyo3::ffi;
use std::ffi::CString;

pub type PyResult<T> = Result<T, PyErrInfo>;

/// Turns a NULL return into the raised exception.
///
/// # Safety
/// GIL held; `ptr` is a new reference or NULL with an exception set.
pub unsafe fn owned(ptr: *mut ffi::PyObject) -> PyResult<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held; `ptr` is a new reference or NULL with
    // an exception set.
    unsafe { PyOwned::from_owned(ptr).ok_or_else(|| PyErrInfo::fetch()) }
}

/// A new `str`.
///
/// # Safety
/// GIL held.
pub unsafe fn new_str(s: &str) -> PyResult<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe {
        owned(ffi::PyUnicode_FromStringAndSize(s.as_ptr().cast(), s.len() as ffi::Py_ssize_t))
    }
}

/// A new `int`.
///
/// # Safety
/// GIL held.
pub unsafe fn new_int(n: i64) -> PyResult<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe { owned(ffi::PyLong_FromLongLong(n)) }
}

/// A new `float`.
///
/// # Safety
/// GIL held.
pub unsafe fn new_float(x: f64) -> PyResult<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe { owned(ffi::PyFloat_FromDouble(x)) }
}

/// `True` or `False`.
///
/// # Safety
/// GIL held.
pub unsafe fn new_bool(value: bool) -> PyOwned {
    // SAFETY: the caller keeps the contract above: GIL held. The singletons are immortal;
    // `from_borrowed` takes a reference of its own.
    unsafe {
        PyOwned::from_borrowed(if value { ffi::Py_True() } else { ffi::Py_False() })
            .expect("the bool singletons exist")
    }
}

/// A `str` of `bytes`, each byte one code point (latin-1).
///
/// # Safety
/// GIL held.
pub unsafe fn new_latin1_str(bytes: &[u8]) -> PyResult<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held; the pointer and length describe
    // `bytes`.
    unsafe {
        owned(ffi::PyUnicode_DecodeLatin1(
            bytes.as_ptr().cast(),
            bytes.len() as ffi::Py_ssize_t,
            std::ptr::null(),
        ))
    }
}

/// A new, empty `dict`.
///
/// # Safety
/// GIL held.
pub unsafe fn new_dict() -> PyResult<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe { owned(ffi::PyDict_New()) }
}

/// A shallow copy of `dict`.
///
/// # Safety
/// GIL held; `dict` is a `dict`.
pub unsafe fn dict_copy(dict: &PyOwned) -> PyResult<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held; `dict` is a live `dict`.
    unsafe { owned(ffi::PyDict_Copy(dict.as_ptr())) }
}

/// A tuple of `items`, whose references it takes.
///
/// # Safety
/// GIL held.
pub unsafe fn tuple<const N: usize>(items: [PyOwned; N]) -> PyResult<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held. The tuple is new and has `N`
    // slots; `PyTuple_SetItem` steals each reference, which `into_ptr` gives up.
    unsafe {
        let tuple = owned(ffi::PyTuple_New(N as ffi::Py_ssize_t))?;
        for (i, item) in items.into_iter().enumerate() {
            ffi::PyTuple_SetItem(tuple.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr());
        }
        Ok(tuple)
    }
}

/// Whether `obj` can be called.
///
/// # Safety
/// GIL held.
pub unsafe fn is_callable(obj: &PyOwned) -> bool {
    // SAFETY: the caller keeps the contract above: GIL held; `obj` is a live reference.
    unsafe { ffi::PyCallable_Check(obj.as_ptr()) != 0 }
}

/// Imports `name` (dotted names allowed), using `sys.modules` first.
///
/// # Safety
/// GIL held.
pub unsafe fn import(name: &str) -> PyResult<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe {
        let py_name = new_str(name)?;
        if let Some(module) = PyOwned::from_owned(ffi::PyImport_GetModule(py_name.as_ptr())) {
            return Ok(module);
        }
        if ffi::PyErr_Occurred().is_null() {
            owned(ffi::PyImport_Import(py_name.as_ptr()))
        } else {
            Err(PyErrInfo::fetch())
        }
    }
}

/// Follows a dotted attribute path (`path.join`) from `root`.
///
/// # Safety
/// GIL held.
pub unsafe fn getattr_path(root: PyOwned, path: &str) -> PyResult<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe {
        let mut obj = root;
        for part in path.split('.') {
            let attr = CString::new(part)
                .map_err(|_| PyErrInfo::new("ValueError", "attribute name contains NUL"))?;
            obj = owned(ffi::PyObject_GetAttrString(obj.as_ptr(), attr.as_ptr()))?;
        }
        Ok(obj)
    }
}

/// Resolves `module` + `function`, both possibly dotted. When `module` is not a module
/// but a path to an attribute (`collections.OrderedDict` + `fromkeys`), its longest
/// importable prefix is imported and the rest followed as attributes.
///
/// # Safety
/// GIL held.
pub unsafe fn resolve(module: &str, function: &str) -> PyResult<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe {
        match import(module) {
            Ok(m) => getattr_path(m, function),
            Err(first_error) => {
                let mut prefix = module;
                while let Some((head, _)) = prefix.rsplit_once('.') {
                    if let Ok(m) = import(head) {
                        let rest = &module[head.len() + 1..];
                        return getattr_path(getattr_path(m, rest)?, function);
                    }
                    prefix = head;
                }
                Err(first_error)
            }
        }
    }
}

/// `callable(*args, **kwargs)`; `kwargs` may be `None` for no keyword arguments.
///
/// # Safety
/// GIL held; `args` is a tuple, `kwargs` a dict.
pub unsafe fn call(
    callable: &PyOwned,
    args: &PyOwned,
    kwargs: Option<&PyOwned>,
) -> PyResult<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held; `args` is a tuple, `kwargs` a dict.
    unsafe {
        let kw = kwargs.map_or(std::ptr::null_mut(), PyOwned::as_ptr);
        owned(ffi::PyObject_Call(callable.as_ptr(), args.as_ptr(), kw))
    }
}

/// A fresh globals dict for `eval`/`exec`, with builtins.
///
/// # Safety
/// GIL held.
pub unsafe fn new_globals(name: &str) -> PyResult<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe {
        let globals = owned(ffi::PyDict_New())?;
        let builtins = import("builtins")?;
        set_item(&globals, "__builtins__", &builtins)?;
        set_item(&globals, "__name__", &new_str(name)?)?;
        Ok(globals)
    }
}

/// `dict[key] = value` for a `str` key.
///
/// # Safety
/// GIL held; `dict` is a dict.
pub unsafe fn set_item(dict: &PyOwned, key: &str, value: &PyOwned) -> PyResult<()> {
    // SAFETY: the caller keeps the contract above: GIL held; `dict` is a dict.
    unsafe { crate::value::dict_set(dict, &new_str(key)?, value) }
}

fn source(code: &str) -> PyResult<CString> {
    CString::new(code).map_err(|_| PyErrInfo::new("ValueError", "source code contains a NUL byte"))
}

/// Evaluates an expression.
///
/// # Safety
/// GIL held; `globals` and `locals` are dicts.
pub unsafe fn eval(code: &str, globals: &PyOwned, locals: &PyOwned) -> PyResult<PyOwned> {
    // SAFETY: the caller keeps the contract above: GIL held; `globals` and `locals` are dicts.
    unsafe {
        let src = source(code)?;
        owned(ffi::PyRun_String(
            src.as_ptr(),
            ffi::Py_eval_input,
            globals.as_ptr(),
            locals.as_ptr(),
        ))
    }
}

/// Runs statements in `globals`.
///
/// # Safety
/// GIL held; `globals` is a dict.
pub unsafe fn exec(code: &str, globals: &PyOwned) -> PyResult<()> {
    // SAFETY: the caller keeps the contract above: GIL held; `globals` is a dict.
    unsafe {
        let src = source(code)?;
        owned(ffi::PyRun_String(
            src.as_ptr(),
            ffi::Py_file_input,
            globals.as_ptr(),
            globals.as_ptr(),
        ))
        .map(drop)
    }
}

/// Puts directories in front of `sys.path` (in the given order), then adds each site
/// directory with `site.addsitedir`, so `.pth` files of a venv are honoured.
///
/// # Safety
/// GIL held.
pub unsafe fn extend_sys_path(paths: &[String], site_dirs: &[String]) -> PyResult<()> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe {
        let sys = import("sys")?;
        let path = getattr_path(sys, "path")?;
        for (i, p) in paths.iter().enumerate() {
            let item = new_str(p)?;
            if ffi::PyList_Insert(path.as_ptr(), i as ffi::Py_ssize_t, item.as_ptr()) != 0 {
                return Err(PyErrInfo::fetch());
            }
        }
        if !site_dirs.is_empty() {
            let addsitedir = resolve("site", "addsitedir")?;
            for dir in site_dirs {
                let args = owned(ffi::PyTuple_New(1))?;
                ffi::PyTuple_SetItem(args.as_ptr(), 0, new_str(dir)?.into_ptr());
                call(&addsitedir, &args, None)?;
            }
        }
        Ok(())
    }
}

//! What the runners share on top of `hornbeam_python::value`: response headers from
//! the values apps hand them, and small caches of objects made once per interpreter.
//! Every function needs the GIL of the interpreter that owns the objects.
use hornbeam_python::call::PyResult;
use hornbeam_python::error::{raise, Exc};
use hornbeam_python::object::PyOwned;
use hyper::header::{HeaderName, HeaderValue};
use hyper::HeaderMap;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hash;

/// Appends a response header an app gave; `None` with `ValueError` set when the name or
/// value is not valid HTTP.
///
/// # Safety
/// GIL held.
pub unsafe fn append_header(headers: &mut HeaderMap, name: &[u8], value: &[u8]) -> Option<()> {
    // SAFETY: the caller keeps the contract above: GIL held.
    unsafe {
        let Ok(name) = HeaderName::from_bytes(name) else {
            raise(
                Exc::ValueError,
                &format!("invalid response header name {:?}", String::from_utf8_lossy(name)),
            );
            return None;
        };
        let Ok(value) = HeaderValue::from_bytes(value) else {
            raise(Exc::ValueError, &format!("invalid value for response header {name}"));
            return None;
        };
        headers.append(name, value);
        Some(())
    }
}

/// Python objects made once per key and reused (method names, header keys), up to
/// `limit` keys so clients sending random names cannot grow memory.
pub struct Interned<K> {
    objects: RefCell<HashMap<K, PyOwned>>,
    limit: usize,
}

impl<K: Hash + Eq + Clone> Interned<K> {
    pub fn new(limit: usize) -> Interned<K> {
        Interned { objects: RefCell::new(HashMap::new()), limit }
    }

    /// The object for `key`, made by `make` the first time.
    ///
    /// # Safety
    /// GIL held, on the thread that owns this cache.
    pub unsafe fn get(
        &self,
        key: &K,
        make: impl FnOnce() -> PyResult<PyOwned>,
    ) -> PyResult<PyOwned> {
        if let Some(object) = self.objects.borrow().get(key) {
            return Ok(object.clone());
        }
        let object = make()?;
        let mut objects = self.objects.borrow_mut();
        if objects.len() < self.limit {
            objects.insert(key.clone(), object.clone());
        }
        Ok(object)
    }
}

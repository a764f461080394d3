//! `FfiTable`: a C-API table (a method list, a slot list, a type spec, a module
//! definition) kept in a plain `static`. CPython takes such tables by `*mut` pointer;
//! `static mut` would give them that, and with it a mutable global every use of which
//! is unsafe. This wrapper hands out the address only.
use std::cell::UnsafeCell;

#[repr(transparent)]
pub struct FfiTable<T>(UnsafeCell<T>);

// SAFETY: Rust never reads or writes a table after building it; it only passes its
// address to CPython. CPython reads tables when it makes a type or a module, and writes
// only a module definition's header, in `PyModuleDef_Init`, as it does for its own
// static module definitions. Two OWN_GIL interpreters importing one module for the first
// time at once could both write that header: CPython's own static module definitions
// live with the same race, and the `static mut` tables this replaces had it too.
unsafe impl<T> Sync for FfiTable<T> {}

impl<T> FfiTable<T> {
    pub const fn new(table: T) -> FfiTable<T> {
        FfiTable(UnsafeCell::new(table))
    }

    /// The table's address, for CPython.
    pub const fn get(&self) -> *mut T {
        self.0.get()
    }
}

//! Real CPython, really started: sub-interpreters on their own threads.
use hornbeam_python::call::{self, PyResult};
use hornbeam_python::error::{raise, str_of, Exc, PyErrInfo};
use hornbeam_python::interp::{Interpreter, Mode};
use hornbeam_python::object::PyOwned;
use hornbeam_python::{runtime, value};
use pyo3::ffi;
use std::sync::mpsc;
use std::thread;

fn start() {
    runtime::start(runtime::RuntimeConfig { home: None, builtin_modules: vec![] })
        .expect("runtime starts");
}

/// Runs `f` on a new thread that owns a new interpreter of `mode`.
fn on_interpreter<R: Send + 'static>(
    mode: Mode,
    f: impl FnOnce(&Interpreter) -> R + Send + 'static,
) -> R {
    start();
    thread::spawn(move || {
        let interp = Interpreter::create(mode).expect("interpreter");
        let out = f(&interp);
        drop(interp);
        out
    })
    .join()
    .expect("interpreter thread")
}

unsafe fn eval_str(code: &str, globals: &PyOwned) -> PyResult<String> {
    // SAFETY: a helper of this file's Python-facing code: its callers hold the GIL and pass live
    // objects.
    unsafe {
        let value = call::eval(code, globals, globals)?;
        let text = call::owned(ffi::PyObject_Str(value.as_ptr()))?;
        Ok(str_of(&text).unwrap())
    }
}

#[test]
fn sub_interpreters_have_their_own_ids_globals_and_modules() {
    let run = |marker: &'static str| {
        // SAFETY: `on_interpreter` runs the closure with its interpreter attached.
        on_interpreter(Mode::Sub, move |interp| unsafe {
            let g = call::new_globals("__test__").unwrap();
            call::exec(&format!("import sys\nsys.hornbeam_marker = '{marker}'"), &g).unwrap();
            let seen = eval_str("sys.hornbeam_marker", &g).unwrap();
            (interp.id(), seen)
        })
    };
    let (id_a, seen_a) = run("a");
    let (id_b, seen_b) = run("b");
    assert_ne!(id_a, id_b);
    assert_ne!(id_a, 0, "a sub-interpreter is not the main one");
    assert_eq!((seen_a.as_str(), seen_b.as_str()), ("a", "b"));
}

#[test]
fn two_live_sub_interpreters_do_not_share_sys_modules() {
    start();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        let _interp = Interpreter::create(Mode::Sub).unwrap();
        // SAFETY: this thread created the interpreter and holds it attached.
        unsafe {
            let g = call::new_globals("__holder__").unwrap();
            call::exec(
                "import sys, types\nsys.modules['only_here'] = types.ModuleType('only_here')",
                &g,
            )
            .unwrap();
        }
        ready_tx.send(()).unwrap();
        go_rx.recv().unwrap();
    });
    ready_rx.recv().unwrap();
    // SAFETY: `on_interpreter` runs the closure with its interpreter attached.
    let seen = on_interpreter(Mode::Sub, |_| unsafe {
        let g = call::new_globals("__other__").unwrap();
        eval_str("'only_here' in __import__('sys').modules", &g).unwrap()
    });
    go_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(seen, "False");
}

#[test]
fn main_mode_runs_on_the_main_interpreter() {
    // SAFETY: `on_interpreter` runs the closure with its interpreter attached.
    let (id, answer) = on_interpreter(Mode::Main, |interp| unsafe {
        let g = call::new_globals("__main_mode__").unwrap();
        (interp.id(), eval_str("6 * 7", &g).unwrap())
    });
    assert_eq!(id, 0);
    assert_eq!(answer, "42");
}

#[test]
fn exceptions_are_captured_with_type_message_and_traceback() {
    // SAFETY: `on_interpreter` runs the closure with its interpreter attached.
    let err = on_interpreter(Mode::Sub, |_| unsafe {
        let g = call::new_globals("__err__").unwrap();
        call::exec("def boom():\n    return 1 / 0\n", &g).unwrap();
        call::eval("boom()", &g, &g).map(drop).unwrap_err()
    });
    assert_eq!(err.type_name, "ZeroDivisionError");
    assert_eq!(err.message, "division by zero");
    assert!(err.traceback.contains("in boom"), "traceback: {}", err.traceback);
}

#[test]
fn dotted_names_resolve_to_modules_and_attributes() {
    // SAFETY: `on_interpreter` runs the closure with its interpreter attached.
    let results = on_interpreter(Mode::Sub, |_| unsafe {
        let join = |m: &str, f: &str| -> Result<String, PyErrInfo> {
            let callable = call::resolve(m, f)?;
            let args = call::owned(ffi::PyTuple_New(2))?;
            ffi::PyTuple_SetItem(args.as_ptr(), 0, call::new_str("a")?.into_ptr());
            ffi::PyTuple_SetItem(args.as_ptr(), 1, call::new_str("b")?.into_ptr());
            Ok(str_of(&call::call(&callable, &args, None)?).unwrap())
        };
        (
            join("os.path", "join"),
            join("os", "path.join"),
            join("no_such_module", "f").map_err(|e| e.type_name),
        )
    });
    assert_eq!(results.0.unwrap(), "a/b");
    assert_eq!(results.1.unwrap(), "a/b");
    assert_eq!(results.2.unwrap_err(), "ModuleNotFoundError");
}

#[test]
fn a_busy_loop_is_interrupted_from_another_thread() {
    start();
    let (handle_tx, handle_rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        let interp = Interpreter::create(Mode::Sub).unwrap();
        handle_tx.send(interp.interrupt_handle()).unwrap();
        // SAFETY: this thread created the interpreter and holds it attached.
        let err = unsafe {
            let g = call::new_globals("__loop__").unwrap();
            call::exec("while True:\n    pass\n", &g).unwrap_err()
        };
        // After an interrupt the interpreter serves the next piece of code.
        // SAFETY: this thread created the interpreter and holds it attached.
        let next = unsafe { eval_str("1 + 1", &call::new_globals("__next__").unwrap()).unwrap() };
        (err.type_name, next)
    });
    let handle = handle_rx.recv().unwrap();
    // The loop may not have started yet: retry until the interrupt lands.
    while !handle.raise_keyboard_interrupt(|| true) {
        thread::yield_now();
    }
    let (type_name, next) = worker.join().unwrap();
    assert_eq!(type_name, "KeyboardInterrupt");
    assert_eq!(next, "2");
}

#[test]
fn an_interrupt_that_is_no_longer_wanted_is_not_raised() {
    start();
    let (handle_tx, handle_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let worker = thread::spawn(move || {
        let interp = Interpreter::create(Mode::Sub).unwrap();
        handle_tx.send(interp.interrupt_handle()).unwrap();
        interp.detached(|| done_rx.recv().unwrap());
        // SAFETY: this thread created the interpreter and holds it attached.
        let globals = unsafe { call::new_globals("__x__").unwrap() };
        // SAFETY: this thread created the interpreter and holds it attached.
        let out = unsafe { eval_str("'still fine'", &globals).unwrap() };
        drop(globals); // before the interpreter ends
        out
    });
    let handle = handle_rx.recv().unwrap();
    assert!(!handle.raise_keyboard_interrupt(|| false));
    done_tx.send(()).unwrap();
    assert_eq!(worker.join().unwrap(), "still fine");
}

#[test]
fn an_interrupt_after_the_interpreter_ended_is_a_no_op() {
    let handle = on_interpreter(Mode::Sub, |interp| interp.interrupt_handle());
    assert!(!handle.raise_keyboard_interrupt(|| true));
}

#[test]
fn extension_modules_import_in_sub_interpreters() {
    // math and _json are C extensions: they need libpython's symbols to be global.
    // SAFETY: `on_interpreter` runs the closure with its interpreter attached.
    let out = on_interpreter(Mode::Sub, |_| unsafe {
        let g = call::new_globals("__ext__").unwrap();
        eval_str("__import__('math').sqrt(16.0), __import__('json').dumps([1])", &g).unwrap()
    });
    assert_eq!(out, "(4.0, '[1]')");
}

/// The value builders and `raise` give Python the objects and exceptions they say.
#[test]
fn value_builders_and_raise() {
    let seen = on_interpreter(Mode::Sub, |_| {
        // SAFETY: `on_interpreter` runs the closure with its interpreter attached.
        unsafe {
            let g = call::new_globals("__values__").unwrap();
            let pair = call::tuple([call::new_int(-7).unwrap(), call::new_float(0.5).unwrap()]);
            call::set_item(&g, "pair", &pair.unwrap()).unwrap();
            call::set_item(&g, "flag", &call::new_bool(true)).unwrap();
            call::set_item(&g, "text", &call::new_latin1_str(b"caf\xe9").unwrap()).unwrap();
            let template = call::new_dict().unwrap();
            call::set_item(&template, "k", &call::new_int(1).unwrap()).unwrap();
            let copy = call::dict_copy(&template).unwrap();
            call::set_item(&copy, "k", &call::new_int(2).unwrap()).unwrap();
            call::set_item(&g, "template", &template).unwrap();
            call::set_item(&g, "copy", &copy).unwrap();
            let callable = call::is_callable(&call::eval("len", &g, &g).unwrap());
            let not_callable = call::is_callable(&call::new_int(3).unwrap());
            let values = eval_str("(pair, flag, text, template['k'], copy['k'])", &g).unwrap();
            let _ = raise(Exc::ValueError, "bad value");
            let raised = PyErrInfo::fetch();
            (values, callable, not_callable, raised.type_name, raised.message)
        }
    });
    assert_eq!(seen.0, "((-7, 0.5), True, 'café', 1, 2)");
    assert!(seen.1 && !seen.2);
    assert_eq!((seen.3.as_str(), seen.4.as_str()), ("ValueError", "bad value"));
}

/// `value` reads what apps hand the runners: bytes-likes, str, tuples; and says "no"
/// without leaving an exception set.
#[test]
fn values_are_read_as_the_runners_need_them() {
    let seen = on_interpreter(Mode::Sub, |_| {
        // SAFETY: `on_interpreter` runs the closure with its interpreter attached; every
        // object read here is alive in `g` for the whole closure.
        unsafe {
            let g = call::new_globals("__read__").unwrap();
            call::exec(
                "b = b'ab'\nba = bytearray(b'cd')\nmv = memoryview(b'efg')[1:]\n\
                 s = 'h\\u00e9'\nlone = '\\ud800'\nt = (1, 'x')\nn = 5\n",
                &g,
            )
            .unwrap();
            let get = |name: &str| call::eval(name, &g, &g).unwrap();
            let (b, ba, mv, s, lone, t, n) =
                (get("b"), get("ba"), get("mv"), get("s"), get("lone"), get("t"), get("n"));
            let like = |o: &PyOwned| value::bytes_like(o.as_ptr()).map(|b| b.to_vec());
            let read = (
                like(&b),
                like(&ba),
                like(&mv),
                like(&s),
                value::bytes_of(ba.as_ptr()).is_none(),
                value::utf8(s.as_ptr()),
                value::utf8(lone.as_ptr()),
                value::utf8(n.as_ptr()),
                value::tuple_items(t.as_ptr()).len(),
                value::type_name(n.as_ptr()),
            );
            let d = call::new_dict().unwrap();
            value::dict_set(&d, &call::new_str("k").unwrap(), &value::new_bytes(b"v").unwrap())
                .unwrap();
            call::set_item(&g, "d", &d).unwrap();
            let clean = ffi::PyErr_Occurred().is_null();
            (read, eval_str("d", &g).unwrap(), clean)
        }
    });
    let (read, dict, clean) = seen;
    assert_eq!(read.0.as_deref(), Some(&b"ab"[..]));
    assert_eq!(read.1.as_deref(), Some(&b"cd"[..]));
    assert_eq!(read.2.as_deref(), Some(&b"fg"[..]));
    assert_eq!(read.3, None, "a str is not bytes-like");
    assert!(read.4, "bytes_of takes bytes only");
    assert_eq!(read.5.as_deref(), Some("hé"));
    assert_eq!(read.6, None, "a lone surrogate is not UTF-8");
    assert_eq!(read.7, None);
    assert_eq!((read.8, read.9.as_str()), (2, "int"));
    assert_eq!(dict, "{'k': b'v'}");
    assert!(clean, "no exception is left set");
}

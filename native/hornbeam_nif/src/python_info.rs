//! What Python the NIF was built against.
use crate::guard::guarded;
use hornbeam_python::runtime;
use rustler::{Encoder, Env, Term};

/// `python_info()` -> `#{version => "3.13", executable => ..., home => ...}`.
#[rustler::nif]
fn python_info(env: Env<'_>) -> Term<'_> {
    guarded(env, || {
        let (major, minor) = runtime::version();
        let pairs = [
            ("version", format!("{major}.{minor}")),
            ("executable", runtime::PYTHON_EXECUTABLE.to_string()),
            ("home", runtime::PYTHON_HOME.to_string()),
            ("libpython", runtime::LIBPYTHON.to_string()),
        ];
        let pairs: Vec<(Term, Term)> = pairs
            .iter()
            .map(|(k, v)| (rustler::Atom::from_str(env, k).unwrap().encode(env), v.encode(env)))
            .collect();
        Term::map_from_pairs(env, &pairs).unwrap()
    })
}

//! Starts CPython once per OS process, with Hornbeam's built-in modules registered in
//! every interpreter. Contexts and reactors both call it; the first call wins.
use hornbeam_python::runtime::{self, RuntimeConfig};

pub fn start(home: Option<String>) -> Result<(), String> {
    runtime::start(RuntimeConfig {
        home,
        builtin_modules: vec![
            (c"_erlang", crate::erlang_module::init_module),
            (c"_hornbeam_reactor", crate::reactor::pymodule::init_module),
            (c"_hornbeam_client", crate::client::pymodule::init_module),
        ],
    })
    .map(drop)
}

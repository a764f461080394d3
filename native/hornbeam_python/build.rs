//! Records where the embedded Python lives, so the NIF needs no LD_LIBRARY_PATH and
//! no PYTHONHOME: libpython's directory goes into the rpath, and its path and the
//! interpreter's prefix become compile-time constants (overridable at run time).
use std::process::Command;

fn main() {
    let config = pyo3_build_config::get();
    let executable = config
        .executable()
        .map(str::to_owned)
        .expect("pyo3 found no Python executable; set PYO3_PYTHON (native/find-python picks one)");
    let lib_dir = config
        .lib_dir()
        .map(str::to_owned)
        .expect("the chosen Python has no shared libpython; Hornbeam needs --enable-shared");

    let probe = Command::new(&executable)
        .args([
            "-c",
            "import sys, sysconfig; print(sys.base_prefix); print(sysconfig.get_config_var('INSTSONAME') or sysconfig.get_config_var('LDLIBRARY'))",
        ])
        .output()
        .expect("cannot run the chosen Python");
    let out = String::from_utf8(probe.stdout).expect("non-UTF-8 output from Python");
    let mut lines = out.lines();
    let prefix = lines.next().expect("no sys.base_prefix").to_owned();
    let soname = lines.next().expect("no libpython name").to_owned();

    println!("cargo:rustc-env=HORNBEAM_PYTHON_EXECUTABLE={executable}");
    println!("cargo:rustc-env=HORNBEAM_PYTHON_HOME={prefix}");
    println!("cargo:rustc-env=HORNBEAM_LIBPYTHON={lib_dir}/{soname}");
    // Test binaries of this crate link libpython too.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    pyo3_build_config::use_pyo3_cfgs();
}

//! Reading the option maps `hornbeam_config` validated and `py_nif` passes down: a
//! missing key or a wrong type here is a bug on the Erlang side, so the error says which.
use rustler::{Atom, Decoder, Term};

pub fn get<'a, T: Decoder<'a>>(map: Term<'a>, key: &str) -> Result<T, String> {
    let key_atom = Atom::from_str(map.get_env(), key).map_err(|_| format!("bad key {key}"))?;
    map.map_get(key_atom)
        .map_err(|_| format!("missing option {key}"))?
        .decode::<T>()
        .map_err(|_| format!("option {key} has the wrong type"))
}

/// An integer option where `infinity` means no limit.
pub fn limit(map: Term<'_>, key: &str) -> Result<Option<u64>, String> {
    let value: Term = get(map, key)?;
    if let Ok(n) = value.decode::<u64>() {
        return Ok(Some(n));
    }
    match value.decode::<Atom>() {
        Ok(atom) if atom == crate::atoms::infinity() => Ok(None),
        _ => Err(format!("option {key} must be an integer or infinity")),
    }
}

//! Request paths as both runners decode them.

/// `%XX` sequences decoded; a malformed one is kept as it is.
pub fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' && i + 2 < raw.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(raw[i + 1]), hex(raw[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_decode_and_malformed_ones_stay() {
        assert_eq!(percent_decode(b"/a%20b%2Fc"), b"/a b/c");
        assert_eq!(percent_decode(b"%41%4a%4A"), b"AJJ");
        assert_eq!(percent_decode(b"%zz%4"), b"%zz%4");
        assert_eq!(percent_decode(b"%%41"), b"%A");
        assert_eq!(percent_decode(b"%"), b"%");
        assert_eq!(percent_decode(b"%00"), b"\0");
    }

    proptest! {
        #[test]
        fn encoding_every_byte_round_trips(raw in proptest::collection::vec(any::<u8>(), 0..200)) {
            let encoded: String = raw.iter().map(|b| format!("%{b:02X}")).collect();
            prop_assert_eq!(percent_decode(encoded.as_bytes()), raw);
        }

        #[test]
        fn never_longer_and_untouched_without_percent(raw in proptest::collection::vec(any::<u8>(), 0..200)) {
            let decoded = percent_decode(&raw);
            prop_assert!(decoded.len() <= raw.len());
            if !raw.contains(&b'%') {
                prop_assert_eq!(decoded, raw);
            }
        }
    }
}

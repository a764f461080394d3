//! The request's one `Host` (RFC 9112 3.2).
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::Version;

/// Settles the request's Host: an HTTP/1.1 request needs exactly one, with a valid
/// value, and an absolute-form target's authority replaces it (3.2.2). HTTP/2 carries
/// the host as :authority; applications look for Host, so it is made from it. The error
/// is the 400's text.
pub fn settle(parts: &mut Parts) -> Result<(), &'static str> {
    let authority = parts.uri.authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok());
    let hosts = parts.headers.get_all(header::HOST).iter().count();
    if parts.version == Version::HTTP_11 {
        if hosts > 1 {
            return Err("Bad Request: more than one Host header");
        }
        if let Some(authority) = authority {
            parts.headers.insert(header::HOST, authority);
            return Ok(());
        }
        let value = parts.headers.get(header::HOST).ok_or("Bad Request: no Host header")?;
        return if valid(value.as_bytes()) {
            Ok(())
        } else {
            Err("Bad Request: invalid Host header")
        };
    }
    if hosts == 0 {
        if let Some(authority) = authority {
            parts.headers.insert(header::HOST, authority);
        }
    }
    Ok(())
}

/// `uri-host [":" port]` (RFC 9110 7.2), or empty: no user info, no path, no spaces.
pub fn valid(value: &[u8]) -> bool {
    if value.is_empty() {
        return true;
    }
    if value
        .iter()
        .any(|&b| b == b'@' || b == b'/' || b == b'?' || b == b'#' || b <= b' ' || b >= 0x7f)
    {
        return false;
    }
    std::str::from_utf8(value).ok().and_then(|v| v.parse::<http::uri::Authority>().ok()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parts(version: Version, target: &str, hosts: &[&str]) -> Parts {
        let mut builder = http::Request::builder().version(version).uri(target);
        for host in hosts {
            builder = builder.header(header::HOST, *host);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn host_of(parts: &Parts) -> Vec<&[u8]> {
        parts.headers.get_all(header::HOST).iter().map(HeaderValue::as_bytes).collect()
    }

    #[test]
    fn http11_needs_exactly_one_valid_host() {
        assert_eq!(
            settle(&mut parts(Version::HTTP_11, "/", &[])),
            Err("Bad Request: no Host header")
        );
        assert_eq!(
            settle(&mut parts(Version::HTTP_11, "/", &["a", "b"])),
            Err("Bad Request: more than one Host header")
        );
        for bad in ["user@evil", "a/b", "a?b", "a#b", "a b", "a:b:c"] {
            assert_eq!(
                settle(&mut parts(Version::HTTP_11, "/", &[bad])),
                Err("Bad Request: invalid Host header"),
                "{bad}"
            );
        }
        for good in ["example.com", "example.com:8080", "[::1]:80", "127.0.0.1", ""] {
            assert_eq!(settle(&mut parts(Version::HTTP_11, "/", &[good])), Ok(()), "{good}");
        }
    }

    #[test]
    fn absolute_form_authority_wins() {
        let mut p = parts(Version::HTTP_11, "http://real.example:8080/x", &["other"]);
        assert_eq!(settle(&mut p), Ok(()));
        assert_eq!(host_of(&p), vec![&b"real.example:8080"[..]]);
    }

    #[test]
    fn http2_authority_becomes_host_and_http10_needs_none() {
        let mut p = parts(Version::HTTP_2, "https://h2.example/x", &[]);
        assert_eq!(settle(&mut p), Ok(()));
        assert_eq!(host_of(&p), vec![&b"h2.example"[..]]);
        let mut p = parts(Version::HTTP_2, "https://h2.example/x", &["kept"]);
        assert_eq!(settle(&mut p), Ok(()));
        assert_eq!(host_of(&p), vec![&b"kept"[..]]);
        assert_eq!(settle(&mut parts(Version::HTTP_10, "/", &[])), Ok(()));
    }

    proptest! {
        #[test]
        fn any_bytes_are_judged_without_panic(value in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = valid(&value);
        }

        #[test]
        fn names_and_ports_are_valid(name in "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\\.[a-z0-9]{1,10}){0,3}",
                                     port in proptest::option::of(0u16..)) {
            let host = match port { Some(p) => format!("{name}:{p}"), None => name };
            prop_assert!(valid(host.as_bytes()), "{}", host);
        }

        #[test]
        fn user_info_and_paths_are_not(before in "[a-z0-9.]{0,10}", after in "[a-z0-9.]{0,10}",
                                       sep in prop::sample::select(vec!['@', '/', '?', '#', ' '])) {
            let host = format!("{before}{sep}{after}");
            prop_assert!(!valid(host.as_bytes()), "{}", host);
        }

        #[test]
        fn any_host_headers_settle_without_panic(hosts in proptest::collection::vec("[ -~]{0,20}", 0..3),
                                                 http2 in any::<bool>()) {
            let mut builder = http::Request::builder().version(if http2 { Version::HTTP_2 } else { Version::HTTP_11 });
            for host in &hosts {
                builder = builder.header(header::HOST, host.as_str());
            }
            if let Ok(request) = builder.uri("/").body(()) {
                let mut p = request.into_parts().0;
                let settled = settle(&mut p);
                if !http2 && hosts.len() == 1 {
                    prop_assert_eq!(settled.is_ok(), valid(p.headers[header::HOST].as_bytes()));
                }
            }
        }
    }
}

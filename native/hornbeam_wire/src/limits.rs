//! The size limits a request head must keep before anything runs for it: the request
//! line (414), the header block (431) and a declared body (413). hyper stops reading a
//! head past their sum; these say which one a request broke.
use http::request::Parts;
use http::{header, StatusCode};

/// `max_request_line_size`, `max_header_size` and `max_body_size` (`None`: no limit).
#[derive(Clone, Copy, Debug)]
pub struct HeadLimits {
    pub request_line: usize,
    pub header_block: usize,
    pub body: Option<u64>,
}

/// The first limit the request breaks, as the status and text of its answer.
pub fn check(parts: &Parts, limits: &HeadLimits) -> Result<(), (StatusCode, &'static str)> {
    if request_line_len(parts) > limits.request_line {
        return Err((StatusCode::URI_TOO_LONG, "Request line too long"));
    }
    if header_block_len(parts) > limits.header_block {
        return Err((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request header fields too large",
        ));
    }
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    if let (Some(max), Some(length)) = (limits.body, declared.and_then(|l| l.parse::<u64>().ok())) {
        if length > max {
            return Err((StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"));
        }
    }
    Ok(())
}

/// "METHOD SP target SP HTTP/1.1", without its CRLF. The target is what the client
/// sent: origin form (path and query) unless the URI has a scheme (absolute form, or an
/// HTTP/2 request, whose :scheme and :authority hyper puts in the URI).
fn request_line_len(parts: &Parts) -> usize {
    let target = match parts.uri.path_and_query() {
        Some(pq) if parts.uri.scheme().is_none() => pq.as_str().len(),
        _ => parts.uri.to_string().len(),
    };
    parts.method.as_str().len() + 1 + target + 1 + "HTTP/1.1".len()
}

/// Each field as "name: value\r\n".
fn header_block_len(parts: &Parts) -> usize {
    parts.headers.iter().map(|(name, value)| name.as_str().len() + 2 + value.len() + 2).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;
    use proptest::prelude::*;

    const LIMITS: HeadLimits = HeadLimits { request_line: 40, header_block: 64, body: Some(100) };

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut req = Request::builder().method("GET").uri(uri);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.body(()).unwrap().into_parts().0
    }

    #[test]
    fn a_request_line_at_the_limit_passes_and_one_byte_more_is_414() {
        // "GET " + target + " HTTP/1.1" = 13 + target bytes.
        let at_limit = format!("/{}", "a".repeat(40 - 13 - 1));
        assert_eq!(check(&parts(&at_limit, &[]), &LIMITS), Ok(()));
        let over = format!("{at_limit}a");
        assert_eq!(check(&parts(&over, &[]), &LIMITS).unwrap_err().0, StatusCode::URI_TOO_LONG);
    }

    #[test]
    fn the_query_counts_and_an_absolute_target_counts_whole() {
        let query = format!("/?{}", "q".repeat(30));
        assert_eq!(check(&parts(&query, &[]), &LIMITS).unwrap_err().0, StatusCode::URI_TOO_LONG);
        // 13 + "http://h/x".len() = 23: fits; with a longer authority it does not.
        assert_eq!(check(&parts("http://h/x", &[]), &LIMITS), Ok(()));
        let long_host = format!("http://{}/x", "h".repeat(30));
        assert_eq!(
            check(&parts(&long_host, &[]), &LIMITS).unwrap_err().0,
            StatusCode::URI_TOO_LONG
        );
    }

    #[test]
    fn the_header_block_counts_name_separator_value_and_line_end() {
        // "x-a: " + 57 bytes + CRLF = 64.
        let value = "v".repeat(64 - 3 - 2 - 2);
        assert_eq!(check(&parts("/", &[("x-a", &value)]), &LIMITS), Ok(()));
        let value = format!("{value}v");
        let refused = check(&parts("/", &[("x-a", &value)]), &LIMITS).unwrap_err();
        assert_eq!(refused.0, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }

    #[test]
    fn a_declared_body_over_the_limit_is_413_and_none_means_no_limit() {
        assert_eq!(check(&parts("/", &[("content-length", "100")]), &LIMITS), Ok(()));
        let refused = check(&parts("/", &[("content-length", "101")]), &LIMITS).unwrap_err();
        assert_eq!(refused.0, StatusCode::PAYLOAD_TOO_LARGE);
        let unlimited = HeadLimits { body: None, ..LIMITS };
        assert_eq!(check(&parts("/", &[("content-length", "99999999")]), &unlimited), Ok(()));
    }

    #[test]
    fn the_request_line_is_checked_first() {
        let both = format!("/{}", "a".repeat(60));
        let refused = check(&parts(&both, &[("content-length", "999")]), &LIMITS).unwrap_err();
        assert_eq!(refused.0, StatusCode::URI_TOO_LONG);
    }

    proptest! {
        /// The verdict agrees with the sizes the request would have on the wire.
        #[test]
        fn agrees_with_the_wire_sizes(path in "/[a-z0-9]{0,60}", values in proptest::collection::vec("[ -~]{0,30}", 0..4)) {
            let headers: Vec<(String, String)> =
                values.iter().enumerate().map(|(i, v)| (format!("x-{i}"), v.trim().to_string())).collect();
            let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let p = parts(&path, &borrowed);
            let line = format!("GET {path} HTTP/1.1").len();
            let block: usize = headers.iter().map(|(n, v)| format!("{n}: {v}\r\n").len()).sum();
            let expected = if line > LIMITS.request_line {
                Err(StatusCode::URI_TOO_LONG)
            } else if block > LIMITS.header_block {
                Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
            } else {
                Ok(())
            };
            prop_assert_eq!(check(&p, &LIMITS).map_err(|(status, _)| status), expected);
        }
    }
}

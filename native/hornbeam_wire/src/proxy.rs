//! `forwarded_allow_ips`: which peers may set X-Forwarded-For/-Proto/-Host.
use std::net::IpAddr;

pub enum TrustedProxies {
    Nobody,
    Everybody,
    /// Networks as (address, prefix length).
    Networks(Vec<(IpAddr, u8)>),
}

impl TrustedProxies {
    /// Entries are `"*"`, an address, or `address/prefix` (IPv4 or IPv6).
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        if entries.iter().any(|e| e == "*") {
            return Ok(TrustedProxies::Everybody);
        }
        if entries.is_empty() {
            return Ok(TrustedProxies::Nobody);
        }
        let mut networks = Vec::with_capacity(entries.len());
        for entry in entries {
            let (addr, prefix) = match entry.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (entry.as_str(), None),
            };
            let addr: IpAddr =
                addr.parse().map_err(|_| format!("bad address in forwarded_allow_ips: {entry}"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|&p| p <= max)
                    .ok_or_else(|| format!("bad prefix in forwarded_allow_ips: {entry}"))?,
            };
            networks.push((addr, prefix));
        }
        Ok(TrustedProxies::Networks(networks))
    }

    pub fn trusts(&self, peer: IpAddr) -> bool {
        match self {
            TrustedProxies::Nobody => false,
            TrustedProxies::Everybody => true,
            TrustedProxies::Networks(nets) => {
                nets.iter().any(|&(net, prefix)| contains(net, prefix, peer))
            }
        }
    }
}

fn contains(net: IpAddr, prefix: u8, addr: IpAddr) -> bool {
    let addr = match (net, addr) {
        // An IPv4 peer on a dual-stack socket shows up as ::ffff:a.b.c.d.
        (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
        _ => addr,
    };
    match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            masked(u32::from(n) as u128, u32::from(a) as u128, prefix, 32)
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => masked(u128::from(n), u128::from(a), prefix, 128),
        _ => false,
    }
}

fn masked(net: u128, addr: u128, prefix: u8, bits: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = (bits - prefix) as u32;
    (net >> shift) == (addr >> shift)
}

/// What a trusted proxy says about the original request.
pub struct Forwarded {
    pub client: Option<IpAddr>,
    pub scheme: Option<&'static str>,
    pub host: Option<String>,
}

/// Reads X-Forwarded-For/-Proto/-Host. Call only for a trusted peer. For the client,
/// X-Forwarded-For is read from the right, skipping trusted proxies: the first address
/// no trusted proxy vouches for is the client (a client cannot forge what a trusted
/// proxy appended after it).
pub fn forwarded(headers: &http::HeaderMap, trusted: &TrustedProxies) -> Forwarded {
    let last_value = |name: &str| -> Option<String> {
        let all: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        let joined = all.join(",");
        joined.rsplit(',').map(str::trim).find(|s| !s.is_empty()).map(str::to_string)
    };
    let client = {
        let all: Vec<&str> =
            headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        let hops: Vec<IpAddr> = all
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .filter_map(parse_hop)
            .collect();
        hops.iter().rev().find(|ip| !trusted.trusts(**ip)).or(hops.first()).copied()
    };
    let scheme =
        last_value("x-forwarded-proto").and_then(|p| match p.to_ascii_lowercase().as_str() {
            "https" | "wss" => Some("https"),
            "http" | "ws" => Some("http"),
            _ => None,
        });
    Forwarded { client, scheme, host: last_value("x-forwarded-host") }
}

/// An X-Forwarded-For hop: `1.2.3.4`, `1.2.3.4:5678`, `::1` or `[::1]:5678`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn trusted(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn entries_parse_or_say_what_is_wrong() {
        assert!(matches!(trusted(&[]), TrustedProxies::Nobody));
        assert!(matches!(trusted(&["10.0.0.0/8", "*"]), TrustedProxies::Everybody));
        let bad = |e: &str| TrustedProxies::parse(&[e.to_string()]).err().unwrap();
        assert_eq!(bad("10.0.0.0/33"), "bad prefix in forwarded_allow_ips: 10.0.0.0/33");
        assert_eq!(bad("::1/129"), "bad prefix in forwarded_allow_ips: ::1/129");
        assert_eq!(bad("nope"), "bad address in forwarded_allow_ips: nope");
    }

    #[test]
    fn networks_match_by_prefix_and_mapped_ipv4_counts_as_ipv4() {
        let t = trusted(&["10.1.0.0/16", "::1"]);
        assert!(t.trusts("10.1.200.3".parse().unwrap()));
        assert!(!t.trusts("10.2.0.1".parse().unwrap()));
        assert!(t.trusts("::ffff:10.1.0.9".parse().unwrap()));
        assert!(t.trusts("::1".parse().unwrap()));
        assert!(!t.trusts("::2".parse().unwrap()));
        assert!(trusted(&["0.0.0.0/0"]).trusts("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn the_client_is_the_rightmost_hop_no_trusted_proxy_vouches_for() {
        let t = trusted(&["10.0.0.0/8"]);
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6, 1.2.3.4"),
            ("x-forwarded-for", "10.0.0.2:99, [::1]:5"),
            ("x-forwarded-proto", "http, HTTPS"),
            ("x-forwarded-host", "a, b.example"),
        ]);
        let f = forwarded(&h, &t);
        assert_eq!(f.client, Some("::1".parse().unwrap()));
        assert_eq!(f.scheme, Some("https"));
        assert_eq!(f.host.as_deref(), Some("b.example"));
        let all_trusted = forwarded(&headers(&[("x-forwarded-for", "10.0.0.1, 10.0.0.2")]), &t);
        assert_eq!(all_trusted.client, Some("10.0.0.1".parse().unwrap()));
        let junk = forwarded(
            &headers(&[("x-forwarded-for", "unknown, ,"), ("x-forwarded-proto", "gopher")]),
            &t,
        );
        assert_eq!((junk.client, junk.scheme), (None, None));
    }

    /// The mask written the slow way: the first `prefix` bits as text.
    fn same_prefix(a: &[u8], b: &[u8], prefix: u8) -> bool {
        let bits = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:08b}")).collect::<String>();
        bits(a)[..prefix as usize] == bits(b)[..prefix as usize]
    }

    proptest! {
        #[test]
        fn ipv4_prefixes_match_the_slow_way(net in any::<u32>(), addr in any::<u32>(), prefix in 0u8..=32) {
            let (n, a) = (Ipv4Addr::from(net), Ipv4Addr::from(addr));
            let t = TrustedProxies::Networks(vec![(IpAddr::V4(n), prefix)]);
            prop_assert_eq!(t.trusts(IpAddr::V4(a)), same_prefix(&n.octets(), &a.octets(), prefix));
        }

        #[test]
        fn ipv6_prefixes_match_the_slow_way(net in any::<u128>(), addr in any::<u128>(), prefix in 0u8..=128) {
            let (n, a) = (Ipv6Addr::from(net), Ipv6Addr::from(addr));
            let t = TrustedProxies::Networks(vec![(IpAddr::V6(n), prefix)]);
            prop_assert_eq!(t.trusts(IpAddr::V6(a)), same_prefix(&n.octets(), &a.octets(), prefix));
        }

        #[test]
        fn trusted_hops_appended_on_the_right_do_not_change_the_client(
            client in any::<[u8; 4]>().prop_filter("not in 10/8", |a| a[0] != 10),
            before in proptest::collection::vec(any::<[u8; 4]>(), 0..3),
            proxies in proptest::collection::vec(any::<[u8; 3]>(), 0..4),
        ) {
            // What the client forged first, then the client, then trusted proxies.
            let mut hops: Vec<String> = before.iter().map(|a| Ipv4Addr::from(*a).to_string()).collect();
            hops.push(Ipv4Addr::from(client).to_string());
            hops.extend(proxies.iter().map(|p| Ipv4Addr::new(10, p[0], p[1], p[2]).to_string()));
            let f = forwarded(&headers(&[("x-forwarded-for", &hops.join(", "))]), &trusted(&["10.0.0.0/8"]));
            prop_assert_eq!(f.client, Some(IpAddr::V4(Ipv4Addr::from(client))));
        }

        #[test]
        fn any_entries_parse_or_fail_without_panic(entries in proptest::collection::vec("[0-9a-f:./*]{0,45}", 0..4)) {
            let _ = TrustedProxies::parse(&entries);
        }

        #[test]
        fn any_forwarded_headers_give_a_listed_client(values in proptest::collection::vec("[ -~]{0,60}", 0..4)) {
            let mut map = http::HeaderMap::new();
            for v in &values {
                if let Ok(value) = v.parse() {
                    map.append("x-forwarded-for", value);
                    map.append("x-forwarded-proto", v.parse().unwrap());
                }
            }
            let f = forwarded(&map, &trusted(&["10.0.0.0/8"]));
            if let Some(client) = f.client {
                let hops: Vec<Option<IpAddr>> = values.iter().flat_map(|v| v.split(',')).map(|h| parse_hop(h.trim())).collect();
                prop_assert!(hops.contains(&Some(client)));
            }
        }
    }
}

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
            let addr: IpAddr = addr.parse().map_err(|_| format!("bad address in forwarded_allow_ips: {entry}"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p.parse::<u8>().ok().filter(|&p| p <= max).ok_or_else(|| format!("bad prefix in forwarded_allow_ips: {entry}"))?,
            };
            networks.push((addr, prefix));
        }
        Ok(TrustedProxies::Networks(networks))
    }

    pub fn trusts(&self, peer: IpAddr) -> bool {
        match self {
            TrustedProxies::Nobody => false,
            TrustedProxies::Everybody => true,
            TrustedProxies::Networks(nets) => nets.iter().any(|&(net, prefix)| contains(net, prefix, peer)),
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
        (IpAddr::V4(n), IpAddr::V4(a)) => masked(u32::from(n) as u128, u32::from(a) as u128, prefix, 32),
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
pub fn forwarded(headers: &hyper::HeaderMap, trusted: &TrustedProxies) -> Forwarded {
    let last_value = |name: &str| -> Option<String> {
        let all: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        let joined = all.join(",");
        joined.rsplit(',').map(str::trim).find(|s| !s.is_empty()).map(str::to_string)
    };
    let client = {
        let all: Vec<&str> = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        let hops: Vec<IpAddr> = all
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .filter_map(parse_hop)
            .collect();
        hops.iter().rev().find(|ip| !trusted.trusts(**ip)).or(hops.first()).copied()
    };
    let scheme = last_value("x-forwarded-proto").and_then(|p| match p.to_ascii_lowercase().as_str() {
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

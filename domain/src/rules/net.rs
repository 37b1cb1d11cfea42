//! Which address a request comes from, when proxies stand in between.

use std::net::IpAddr;

/// An address or CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let (addr, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let a = raw.parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Self { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |a: IpAddr| -> (u128, u8) {
            match a {
                IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
                IpAddr::V6(v) => match v.to_ipv4_mapped() {
                    Some(v4) => (u128::from(u32::from(v4)), 32),
                    None => (u128::from(v), 128),
                },
            }
        };
        let (net, width) = bits(self.addr);
        let (ip, ip_width) = bits(ip);
        if width != ip_width {
            return false;
        }
        let shift = u32::from(width - self.prefix.min(width));
        let mask = if shift >= 128 {
            0
        } else {
            (!0u128 << shift) & if width == 32 { 0xffff_ffff } else { !0 }
        };
        net & mask == ip & mask
    }
}

/// Comma-separated addresses/CIDRs; invalid entries are ignored.
pub fn parse_cidrs(raw: &str) -> Vec<Cidr> {
    raw.split(',')
        .filter(|s| !s.trim().is_empty())
        .filter_map(Cidr::parse)
        .collect()
}

/// The client's address. Forwarding headers are believed only when the peer is a trusted proxy;
/// then the right-most address that is not itself a trusted proxy is the client.
pub fn client_ip(
    peer: IpAddr,
    forwarded_for: Option<&str>,
    forwarded: Option<&str>,
    trusted: &[Cidr],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    if let Some(f) = forwarded {
        for element in f.split(',') {
            for pair in element.split(';') {
                if let Some((k, v)) = pair.split_once('=')
                    && k.trim().eq_ignore_ascii_case("for")
                {
                    let v = v.trim().trim_matches('"');
                    let v = v
                        .strip_prefix('[')
                        .map_or(v, |s| s.split(']').next().unwrap_or(s));
                    let v = if v.matches(':').count() == 1 {
                        v.split(':').next().unwrap_or(v)
                    } else {
                        v
                    };
                    if let Ok(ip) = v.parse() {
                        hops.push(ip);
                    }
                }
            }
        }
    } else if let Some(x) = forwarded_for {
        hops.extend(x.split(',').filter_map(|h| h.trim().parse::<IpAddr>().ok()));
    }
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(*ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains(ip("10.1.2.3")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(Cidr::parse("127.0.0.1").unwrap().contains(ip("127.0.0.1")));
        assert!(
            Cidr::parse("127.0.0.1")
                .unwrap()
                .contains(ip("::ffff:127.0.0.1"))
        );
        assert!(Cidr::parse("::1").unwrap().contains(ip("::1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(Cidr::parse("nonsense").is_none());
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert_eq!(parse_cidrs("10.0.0.0/8, ,bad,::1").len(), 2);
    }

    #[test]
    fn forwarding_headers_only_from_trusted_proxies() {
        let trusted = parse_cidrs("10.0.0.0/8");
        // An untrusted peer cannot spoof.
        assert_eq!(
            client_ip(ip("1.2.3.4"), Some("9.9.9.9"), None, &trusted),
            ip("1.2.3.4")
        );
        // Through our proxy: the right-most untrusted hop.
        assert_eq!(
            client_ip(
                ip("10.0.0.5"),
                Some("9.9.9.9, 5.6.7.8, 10.0.0.7"),
                None,
                &trusted
            ),
            ip("5.6.7.8")
        );
        assert_eq!(
            client_ip(
                ip("10.0.0.5"),
                None,
                Some("for=192.0.2.60;proto=http, for=\"[2001:db8::1]:4711\""),
                &trusted
            ),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_ip(ip("10.0.0.5"), None, Some("for=192.0.2.60:8080"), &trusted),
            ip("192.0.2.60")
        );
        // No header, or garbage: the proxy itself.
        assert_eq!(
            client_ip(ip("10.0.0.5"), Some("garbage"), None, &trusted),
            ip("10.0.0.5")
        );
    }
}

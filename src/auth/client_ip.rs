//! The client's IP address: the TCP peer, unless the peer is a trusted reverse proxy, in which
//! case `X-Forwarded-For` is walked from the right, skipping trusted hops, and the first
//! untrusted address is the client. The leftmost entry is never believed: the client writes it.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// Parses `10.0.0.0/8` or a bare address (as a /32 or /128).
pub fn parse_net(raw: &str) -> Result<IpNet, String> {
    let raw = raw.trim();
    raw.parse::<IpNet>()
        .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{raw:?} is neither an IP address nor a CIDR"))
}

/// The trusted proxies from configuration (validated at start, so bad entries are skipped here).
pub fn parse_nets(raw: &[String]) -> Vec<IpNet> {
    raw.iter().filter_map(|r| parse_net(r).ok()).collect()
}

/// The client's address for rate limits and the audit trail.
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip())?;
    if !trusted.iter().any(|n| n.contains(&peer)) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect();
    Some(forwarded.into_iter().rev().find(|ip| !trusted.iter().any(|n| n.contains(ip))).unwrap_or(peer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = parse_nets(&["10.0.0.0/8".into(), "127.0.0.1".into()]);
        let spoof = TestRequest::default()
            .peer_addr("203.0.113.7:5000".parse().unwrap_or_else(|_| unreachable!()))
            .insert_header(("X-Forwarded-For", "1.2.3.4"))
            .to_http_request();
        assert_eq!(client_ip(&spoof, &trusted), "203.0.113.7".parse().ok());
        let proxied = TestRequest::default()
            .peer_addr("127.0.0.1:5000".parse().unwrap_or_else(|_| unreachable!()))
            .insert_header(("X-Forwarded-For", "6.6.6.6, 198.51.100.9, 10.1.2.3"))
            .to_http_request();
        assert_eq!(client_ip(&proxied, &trusted), "198.51.100.9".parse().ok());
        assert!(parse_net("nonsense").is_err());
    }
}

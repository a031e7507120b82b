//! Where a webhook may point: https (or http to hosts the configuration names), and never into
//! loopback, private or link-local networks unless the configuration allows that network. The
//! same rule is applied when an endpoint is stored and at every delivery, through the HTTP
//! client's resolver, so a name that later resolves somewhere else (DNS rebinding) is refused
//! at connect time too.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use ksef_client::reqwest;
use url::{Host, Url};

use crate::config::WebhookSettings;
use crate::error::AppError;

/// Why a URL is refused, with a stable reason code (`details[].reason` in the API, Polish
/// words in the panel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlRefusal {
    Malformed,
    Scheme,
    HttpNotAllowed,
    Credentials,
    Unresolvable,
    PrivateAddress(IpAddr),
}

impl UrlRefusal {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed => "url_malformed",
            Self::Scheme => "url_scheme",
            Self::HttpNotAllowed => "url_http_not_allowed",
            Self::Credentials => "url_credentials",
            Self::Unresolvable => "url_unresolvable",
            Self::PrivateAddress(_) => "url_private_address",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Malformed => "url: not an absolute URL".to_owned(),
            Self::Scheme => "url: only https:// (or http:// to hosts the configuration allows) is accepted".to_owned(),
            Self::HttpNotAllowed => {
                "url: plain http:// is allowed only to hosts in webhooks.allow_http_hosts; use https://".to_owned()
            }
            Self::Credentials => "url: must not carry a user name or password".to_owned(),
            Self::Unresolvable => "url: the host name does not resolve".to_owned(),
            // The address itself is not said: it would map the gateway's internal names.
            Self::PrivateAddress(_) => {
                "url: the host resolves to a loopback, private or link-local address that webhooks.allow_private does not allow"
                    .to_owned()
            }
        }
    }
}

impl From<UrlRefusal> for AppError {
    fn from(r: UrlRefusal) -> Self {
        AppError::invalid_field("url", r.reason(), r.message())
    }
}

/// The configured rule.
#[derive(Debug, Clone, Default)]
pub struct UrlPolicy {
    http_hosts: Vec<String>,
    private_allowed: Vec<IpNet>,
}

impl UrlPolicy {
    pub fn new(settings: &WebhookSettings) -> Self {
        Self {
            http_hosts: settings.allow_http_hosts.iter().map(|h| h.trim().to_ascii_lowercase()).collect(),
            // Validated with the configuration; an entry that does not parse cannot be here.
            private_allowed: settings.allow_private.iter().filter_map(|n| n.trim().parse().ok()).collect(),
        }
    }

    /// The URL's form: scheme, host, no credentials. Where it resolves is [`UrlPolicy::resolve`]'s.
    pub fn check_form(&self, raw: &str) -> Result<Url, UrlRefusal> {
        let url = Url::parse(raw.trim()).map_err(|_| UrlRefusal::Malformed)?;
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or(UrlRefusal::Malformed)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlRefusal::Credentials);
        }
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        match url.scheme() {
            "https" => {}
            "http" if self.http_hosts.contains(&host) => {}
            "http" => return Err(UrlRefusal::HttpNotAllowed),
            _ => return Err(UrlRefusal::Scheme),
        }
        if let Some(ip) = literal_ip(&url) {
            self.check_ip(ip)?;
        }
        Ok(url)
    }

    /// The URL's form, and every address its host resolves to allowed.
    pub async fn check(&self, raw: &str) -> Result<Url, UrlRefusal> {
        let url = self.check_form(raw)?;
        if literal_ip(&url).is_none() {
            let host = url.host_str().ok_or(UrlRefusal::Malformed)?;
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host, 443)).await.map_err(|_| UrlRefusal::Unresolvable)?.collect();
            if addrs.is_empty() {
                return Err(UrlRefusal::Unresolvable);
            }
            for a in addrs {
                self.check_ip(a.ip())?;
            }
        }
        Ok(url)
    }

    /// An address is allowed when it is public, or inside a network the configuration allows.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), UrlRefusal> {
        let ip = canonical(ip);
        if !is_internal(ip) || self.private_allowed.iter().any(|n| n.contains(&ip)) {
            Ok(())
        } else {
            Err(UrlRefusal::PrivateAddress(ip))
        }
    }
}

fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    }
}

/// An IPv4 address carried in IPv6 is judged as the IPv4 address: mapped (`::ffff:a.b.c.d`),
/// compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`, which a NAT64 gateway translates to that
/// IPv4 address) and 6to4 (`2002:AABB:CCDD::/48`).
fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    let s = v6.segments();
    let v4 = |hi: u16, lo: u16| IpAddr::V4(std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    if let Some(mapped) = v6.to_ipv4_mapped() {
        IpAddr::V4(mapped)
    } else if (s[..6] == [0; 6] && !(v6.is_loopback() || v6.is_unspecified()))
        || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
    {
        v4(s[6], s[7])
    } else if s[0] == 0x2002 {
        v4(s[1], s[2])
    } else {
        ip
    }
}

/// Loopback, private, link-local, shared (CGNAT), unspecified, broadcast or multicast: addresses
/// that reach the gateway's own machine or network rather than a client's public system.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                // IETF protocol assignments, benchmarking, reserved (class E).
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                // Site-local (deprecated, still routed inside some networks) and local-use NAT64.
                || (first & 0xffc0) == 0xfec0
                || (v6.segments()[..3] == [0x64, 0xff9b, 1])
        }
    }
}

/// The HTTP client's resolver: a name resolves only to the addresses the policy allows, and a
/// name with none of those fails to connect.
pub struct GuardedResolver(pub Arc<UrlPolicy>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found.filter(|a| policy.check_ip(a.ip()).is_ok()).collect();
            if allowed.is_empty() {
                return Err(Box::new(std::io::Error::other(
                    "the host resolves only to addresses webhooks may not reach",
                )) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn policy(http: &[&str], private: &[&str]) -> UrlPolicy {
        UrlPolicy::new(&WebhookSettings {
            allow_http_hosts: http.iter().map(|s| (*s).to_owned()).collect(),
            allow_private: private.iter().map(|s| (*s).to_owned()).collect(),
            ..WebhookSettings::default()
        })
    }

    #[test]
    fn form_rules() {
        let p = policy(&["erp.local"], &[]);
        assert!(p.check_form("https://8.8.8.8/hook").is_ok());
        assert_eq!(p.check_form("http://8.8.8.8/hook").unwrap_err(), UrlRefusal::HttpNotAllowed);
        assert!(p.check_form("http://erp.local/hook").is_ok());
        assert_eq!(p.check_form("ftp://x.pl/").unwrap_err(), UrlRefusal::Scheme);
        assert_eq!(p.check_form("not a url").unwrap_err(), UrlRefusal::Malformed);
        assert_eq!(p.check_form("https://u:p@x.pl/").unwrap_err(), UrlRefusal::Credentials);
        for internal in [
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://169.254.169.254/",
            "https://[::1]/",
            "https://[::ffff:192.168.1.1]/",
            "https://[fd00::1]/",
            "https://0.0.0.0/",
            "https://100.64.0.1/",
            "https://[64:ff9b::a00:5]/",
            "https://[2002:a00:5::1]/",
            "https://[::10.0.0.5]/",
            "https://[fec0::1]/",
            "https://198.18.0.1/",
            "https://240.0.0.1/",
        ] {
            assert!(matches!(p.check_form(internal), Err(UrlRefusal::PrivateAddress(_))), "{internal}");
        }
        // A public IPv4 address behind NAT64 is as public as the address itself.
        assert!(p.check_form("https://[64:ff9b::808:808]/").is_ok());
        let allowed = policy(&[], &["10.20.0.0/16"]);
        assert!(allowed.check_form("https://10.20.1.1/").is_ok());
        assert!(allowed.check_form("https://10.21.1.1/").is_err());
    }
}

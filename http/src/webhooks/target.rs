//! Where a subscription may send: an absolute http(s) URL without credentials. In
//! production only https, and never to loopback, private, link-local or otherwise
//! non-public addresses unless the shop allows them (`SOUK__WEBHOOKS__ALLOW_PRIVATE`):
//! a webhook must not become a way to make Souk call into its own network.

use crate::i18n::Msg;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

pub const URL_MAX: usize = 2048;

/// The URLs a subscription may name, as the OpenAPI document states them
/// (`schema::field::webhook_url`): http(s), a dotted IPv4 address or a name whose last
/// label starts with a letter (so it is never read as an address), an optional port (up
/// to 65535), a
/// path and a query of URL characters. Every such URL parses; what the policy refuses on
/// top (plain http and private addresses in production) the document says in words.
pub const URL_PATTERN: &str = concat!(
    r"^https?://(?:",
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}",
    r"|(?:[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\.)*[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*",
    r")(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
    r"(?:/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?",
    r"(?:\?[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?$",
);

static URL_SHAPE: LazyLock<Option<regex::Regex>> =
    LazyLock::new(|| regex::Regex::new(URL_PATTERN).ok());

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlPolicy {
    pub https_only: bool,
    pub allow_private: bool,
}

/// The URL as stored, or why it is refused (a message for the `url` field).
pub fn check(raw: &str, policy: UrlPolicy) -> Result<String, Msg> {
    if raw.len() > URL_MAX {
        return Err(Msg::new("error-url-too-long").arg("max", URL_MAX));
    }
    if !URL_SHAPE.as_ref().is_some_and(|shape| shape.is_match(raw)) {
        return Err(Msg::new("error-url-shape"));
    }
    let url = reqwest::Url::parse(raw)
        .map_err(|e| Msg::new("error-url-not-absolute").arg("reason", e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if !policy.https_only => {}
        "http" => return Err(Msg::new("error-url-https-only")),
        other => return Err(Msg::new("error-url-scheme").arg("scheme", other)),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Msg::new("error-url-credentials"));
    }
    if url.fragment().is_some() {
        return Err(Msg::new("error-url-fragment"));
    }
    let host = url.host().ok_or_else(|| Msg::new("error-url-no-host"))?;
    if !policy.allow_private {
        let private = match host {
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                name == "localhost" || name.ends_with(".localhost")
            }
            url::Host::Ipv4(ip) => !public_v4(ip),
            url::Host::Ipv6(ip) => !public_v6(ip),
        };
        if private {
            return Err(Msg::new("error-url-private"));
        }
    }
    Ok(url.to_string())
}

/// Whether `ip` may be called when private targets are not allowed; also checked on every
/// address a target's name resolves to (`dispatch`).
pub fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => public_v4(ip),
        IpAddr::V6(ip) => public_v6(ip),
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b); // 100.64.0.0/10, carrier-grade NAT
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || shared
        || a == 0)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00; // fc00::/7
    let link_local = first & 0xffc0 == 0xfe80; // fe80::/10
    !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || unique_local || link_local)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCTION: UrlPolicy = UrlPolicy {
        https_only: true,
        allow_private: false,
    };
    const DEV: UrlPolicy = UrlPolicy {
        https_only: false,
        allow_private: true,
    };

    #[test]
    fn production_takes_only_public_https() {
        assert!(check("https://hooks.example.com/souk", PRODUCTION).is_ok());
        for bad in [
            "http://hooks.example.com/souk",
            "https://127.0.0.1/x",
            "https://localhost:8443/x",
            "https://10.1.2.3/x",
            "https://192.168.0.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/x",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://0.0.0.0/x",
            "https://user:pw@hooks.example.com/x",
            "ftp://hooks.example.com/x",
            "hooks.example.com/x",
            "",
        ] {
            assert!(check(bad, PRODUCTION).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_pattern_compiles_and_every_url_it_takes_parses() {
        assert!(URL_SHAPE.is_some());
        for url in [
            "http://127.0.0.1:9000/hook",
            "https://hooks.example.com/a/b?c=d&e=%zz",
            "http://a-b.c0/x",
            "http://1.2.3.4.com",
            "http://x",
            "https://EXAMPLE.org:0/",
        ] {
            assert!(check(url, DEV).is_ok(), "{url}");
        }
        assert!(check("http://127.0.0.1:65535/", DEV).is_ok());
        for url in [
            "http://1.2.3.999/",
            "http://xn--a/",
            "http://a_b/",
            "http://a:65536/",
            "http://a:99999/",
        ] {
            assert!(check(url, DEV).is_err(), "{url}");
        }
    }

    #[test]
    fn dev_takes_loopback_http() {
        assert!(check("http://127.0.0.1:9000/hook", DEV).is_ok());
        assert!(check("ftp://127.0.0.1/x", DEV).is_err());
        assert!(check(&format!("https://a.example/{}", "x".repeat(3000)), DEV).is_err());
    }
}

//! Addresses and hosts: private IPv4 and IPv6 ranges written where a real host is configured,
//! internal host names, and the documentation and test hosts that are stand-ins.

use std::net::Ipv6Addr;

use super::CheckContext;

/// Dotted quads in the RFC 1918 ranges, refusing the look-alikes: version numbers and OIDs
/// with more parts, octets over 255, leading zeros.
pub(super) fn private_ipv4(secret: &[u8], ctx: &CheckContext<'_>) -> bool {
    // Part of a longer dotted number (an OID, a 5-part version)?
    if matches!(ctx.before.last(), Some(b) if b.is_ascii_digit() || *b == b'.') {
        return false;
    }
    if ctx.after.len() >= 2 && ctx.after[0] == b'.' && ctx.after[1].is_ascii_digit() {
        return false;
    }
    if matches!(ctx.after.first(), Some(b) if b.is_ascii_digit()) {
        return false;
    }
    let mut octets = [0u16; 4];
    let mut count = 0;
    for part in secret.split(|&b| b == b'.') {
        if count == 4 || part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return false;
        }
        if !part.iter().all(u8::is_ascii_digit) {
            return false;
        }
        let value = part.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
        if value > 255 {
            return false;
        }
        octets[count] = value;
        count += 1;
    }
    if count != 4 {
        return false;
    }
    let host_octets: &[u16] = match octets {
        [10, ..] => &octets[1..],
        [172, b, ..] if (16..=31).contains(&b) => &octets[2..],
        [192, 168, ..] => &octets[2..],
        _ => return false,
    };
    // A network written as an address (`10.0.0.0/8`, `192.168.1.0/24`) defines a range rather
    // than naming a host; hand-typed defaults and documentation stand-ins (`192.168.1.1`,
    // `10.0.0.2`, `10.10.10.10`) have only tiny or repeated host octets.
    if octets[3] == 0 && ctx.after.first() == Some(&b'/') {
        return false;
    }
    let tiny = host_octets.iter().all(|&o| o < 16);
    let repeated = octets.iter().all(|&o| o == octets[0]);
    !(tiny || repeated)
}

/// Unique local IPv6 addresses (fc00::/7), parsed for real so hex words and MAC-like strings
/// do not pass.
pub(super) fn private_ipv6(secret: &[u8], ctx: &CheckContext<'_>) -> bool {
    if matches!(ctx.before.last(), Some(b) if b.is_ascii_alphanumeric() || *b == b':') {
        return false;
    }
    let Ok(text) = std::str::from_utf8(secret) else {
        return false;
    };
    let text = text.split('%').next().unwrap_or(text);
    // Needs at least three groups, so a `fd00:` label or a time `fc12:30` does not pass.
    if text.matches(':').count() < 2 {
        return false;
    }
    let Ok(addr) = text.parse::<Ipv6Addr>() else {
        return false;
    };
    let segments = addr.segments();
    if (segments[0] & 0xfe00) != 0xfc00 {
        return false;
    }
    // A real ULA prefix carries a random 40-bit global ID; `fd00::`, `fc00:1::` and friends are
    // the range itself or documentation.
    let global_id_is_trivial = (segments[0] & 0xff) == 0 || (segments[1] == 0 && segments[2] == 0);
    let network = ctx.after.first() == Some(&b'/');
    !(global_id_is_trivial || network)
}

/// Host names that only resolve inside an organisation.
const INTERNAL_SUFFIXES: &[&str] = &[
    "internal",
    "corp",
    "local",
    "lan",
    "intranet",
    "home.arpa",
    "localdomain",
    "private",
];

/// Labels that mark an internal zone inside a public-looking name (`x.corp.example.com`).
const INTERNAL_LABELS: &[&str] = &["internal", "corp", "intranet", "intra", "lan"];

/// Short host names of common intranet services (trailing digits ignored: `build01`).
const INTRANET_SHORT_NAMES: &[&str] = &[
    "intranet",
    "intra",
    "wiki",
    "jira",
    "confluence",
    "jenkins",
    "gitlab",
    "bitbucket",
    "gerrit",
    "nexus",
    "artifactory",
    "sonar",
    "sonarqube",
    "grafana",
    "kibana",
    "prometheus",
    "vault",
    "consul",
    "nomad",
    "sharepoint",
    "portal",
    "helpdesk",
    "build",
    "ci",
    "teamcity",
    "bamboo",
    "argocd",
    "rancher",
    "harbor",
    "registry",
    "ldap",
    "ad",
    "dc",
    "fileserver",
    "nas",
    "printer",
    "mail",
    "exchange",
    "owa",
    "smtp",
    "db",
    "mysql",
    "postgres",
    "redis",
    "mongo",
    "elastic",
    "rabbitmq",
    "kafka",
    "zookeeper",
    "ops",
    "admin",
    "internal",
    "corp",
    "hr",
    "payroll",
    "crm",
    "erp",
];

/// `secret` is the host part of a URL (optionally with `:port`).
pub(super) fn internal_host(secret: &[u8], internal_domains: &[String]) -> bool {
    let Ok(host) = std::str::from_utf8(secret) else {
        return false;
    };
    let host = host.rsplit('@').next().unwrap_or(host);
    let host = host.split(':').next().unwrap_or(host).trim_end_matches('.');
    let host = host.to_ascii_lowercase();
    if host.is_empty() || host.starts_with('-') || host.ends_with('-') {
        return false;
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let empty = CheckContext {
            before: b"",
            after: b"",
            internal_domains,
        };
        return private_ipv4(host.as_bytes(), &empty);
    }
    for domain in internal_domains {
        if host == *domain || ends_with_label(&host, domain) {
            return true;
        }
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return false;
    }
    if is_stand_in_host(&labels) {
        return false;
    }
    if labels.len() == 1 {
        // A single label (`http://wiki/`, `http://jenkins:8080/`) resolves only on a company // staunch:allow
        // network, but test code is full of single-label stand-ins (`http://original/a`), so
        // only the names intranets actually use count (plus the user's internal domains).
        let label = labels[0]
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .trim_end_matches('-');
        return INTRANET_SHORT_NAMES.contains(&label);
    }
    if host.ends_with(".svc.cluster.local") || host.ends_with(".svc") {
        return true;
    }
    if INTERNAL_SUFFIXES.iter().any(|s| ends_with_label(&host, s)) {
        // `.local` also names mDNS hosts, still a private network.
        return true;
    }
    // An internal zone label below a registrable domain: `grafana.corp.example.com`.
    labels.len() >= 3
        && labels[1..labels.len() - 1]
            .iter()
            .any(|l| INTERNAL_LABELS.contains(l))
}

/// Whether `host` ends with `.suffix`: a whole label (or labels), not part of one. Checked in
/// place, since every URL in a scan comes here.
fn ends_with_label(host: &str, suffix: &str) -> bool {
    host.len() > suffix.len()
        && host.ends_with(suffix)
        && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
}

/// Host labels that mark a test double or a documentation stand-in, not a real machine.
const STAND_IN_LABELS: &[&str] = &[
    "mock",
    "test",
    "fake",
    "dummy",
    "example",
    "sample",
    "foo",
    "bar",
    "baz",
    "invalid",
    "localhost",
];

fn is_stand_in_host(labels: &[&str]) -> bool {
    labels.iter().any(|l| {
        STAND_IN_LABELS.contains(l)
            || ["mock", "fake", "dummy", "example", "sample"]
                .iter()
                .any(|p| l.starts_with(p))
    })
}

/// Whether the host after a URL's `@` (`after` starts at the `@`) is a stand-in: the reserved
/// documentation and test names (`example.com`, `*.example`, `*.test`, `*.invalid`,
/// `localhost`) and hosts labelled as doubles (`mock`, `fake`, `dummy`…). URLs with such hosts
/// are documentation and URL-parser test vectors.
pub(super) fn stand_in_url_host(after: &[u8]) -> bool {
    let after = after.strip_prefix(b"@").unwrap_or(after);
    let end = after
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')))
        .unwrap_or(after.len());
    let Ok(host) = std::str::from_utf8(&after[..end]) else {
        return false;
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return false;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let last = labels[labels.len() - 1];
    let reserved_second_level = labels.len() >= 2
        && labels[labels.len() - 2] == "example"
        && matches!(last, "com" | "net" | "org");
    reserved_second_level
        || matches!(last, "example" | "test" | "invalid" | "localhost")
        || is_stand_in_host(&labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> CheckContext<'static> {
        CheckContext {
            before: b" ",
            after: b" ",
            internal_domains: &[],
        }
    }
    #[test]
    fn ipv4_ranges() {
        for ok in [
            "10.40.3.17",    // staunch:allow
            "172.16.5.44",   // staunch:allow
            "172.31.200.25", // staunch:allow
            "192.168.77.21", // staunch:allow
        ] {
            assert!(private_ipv4(ok.as_bytes(), &ctx()), "{ok}");
        }
        // out of range, malformed, public, loopback, and documentation-style stand-ins
        for no in [
            "172.32.0.1",
            "192.169.1.1",
            "10.256.0.1",
            "10.01.2.3",
            "8.8.8.8",
            "127.0.0.1",
            "192.168.1.1",
            "10.0.0.2",
            "10.10.10.10",
        ] {
            assert!(!private_ipv4(no.as_bytes(), &ctx()), "{no}");
        }
        let oid = CheckContext {
            before: b"1.3.",
            after: b".4",
            internal_domains: &[],
        };
        assert!(!private_ipv4(b"10.1.2.3", &oid));
    }

    #[test]
    fn ipv6_ula() {
        assert!(private_ipv6(b"fd12:3456:789a::1", &ctx())); // staunch:allow
        assert!(private_ipv6(b"fc9e:41b2:7c0d:1::20", &ctx())); // staunch:allow
        assert!(!private_ipv6(b"fc00::1", &ctx()));
        assert!(!private_ipv6(b"fd00:1234::1", &ctx()));
        assert!(!private_ipv6(b"fe80::1", &ctx()));
        assert!(!private_ipv6(b"fd00:", &ctx()));
    }

    #[test]
    fn internal_hosts() {
        for ok in [
            "jira.corp",
            "wiki.internal:8443",
            "api.svc.cluster.local",
            "intranet",
            "grafana.corp.acme.com",
            "10.61.2.37", // staunch:allow
            "nas.home.arpa",
        ] {
            assert!(internal_host(ok.as_bytes(), &[]), "{ok}");
        }
        for no in [
            "github.com",
            "localhost",
            "example",
            "docs.python.org",
            "8.8.8.8",
            "127.0.0.1",
            "mock.local",
            "mocked",
        ] {
            assert!(!internal_host(no.as_bytes(), &[]), "{no}");
        }
        let domains = vec!["acme.io".to_string()];
        assert!(internal_host(b"build.acme.io", &domains));
    }
}

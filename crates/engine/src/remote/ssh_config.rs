//! What `~/.ssh/config` says about a host, read as OpenSSH reads it — the first value of each
//! option wins, over every `Host` block whose patterns match (`*`, `?`, `!negation`) — for the
//! options an SFTP client needs: `HostName`, `User`, `Port`, `IdentityFile`,
//! `UserKnownHostsFile`.

use std::path::{Path, PathBuf};

/// The options of one host.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct HostConfig {
    pub(crate) host_name: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) identity_files: Vec<PathBuf>,
    pub(crate) known_hosts: Option<PathBuf>,
}

/// `~/.ssh/config`'s options for `host` (none when there is no file).
pub(crate) fn for_host(host: &str) -> HostConfig {
    let Some(home) = dirs::home_dir() else {
        return HostConfig::default();
    };
    match std::fs::read_to_string(home.join(".ssh").join("config")) {
        Ok(text) => parse(&text, host, &home),
        Err(_) => HostConfig::default(),
    }
}

/// `~/…` as under `home`, as OpenSSH and shells read it (a `--set ssh_key=~/…` reaches us
/// unexpanded).
pub(crate) fn expand_home(v: &str, home: Option<&Path>) -> PathBuf {
    match (v.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(v),
    }
}

fn parse(text: &str, host: &str, home: &Path) -> HostConfig {
    let mut c = HostConfig::default();
    let mut active = true; // options before any Host line apply to every host
    let expand = |v: &str| expand_home(v, Some(home));
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once(|c: char| c == '=' || c.is_whitespace()) {
            Some((k, v)) => (k.trim(), v.trim().trim_start_matches('=').trim()),
            None => continue,
        };
        let value = value.trim_matches('"');
        match key.to_ascii_lowercase().as_str() {
            "host" => active = matches(value, host),
            "match" => active = false, // not interpreted: its options are not applied
            _ if !active => {}
            "hostname" => {
                c.host_name.get_or_insert_with(|| value.replace("%h", host));
            }
            "user" => {
                c.user.get_or_insert_with(|| value.to_string());
            }
            "port" if c.port.is_none() => c.port = value.parse().ok(),
            "identityfile" => c.identity_files.push(expand(value)),
            "userknownhostsfile" if c.known_hosts.is_none() => {
                c.known_hosts = value.split_whitespace().next().map(expand);
            }
            _ => {}
        }
    }
    c
}

/// Whether a `Host` line's patterns select `host`: one positive match and no negated one.
fn matches(patterns: &str, host: &str) -> bool {
    let mut hit = false;
    for p in patterns.split_whitespace() {
        let (neg, p) = p.strip_prefix('!').map_or((false, p), |r| (true, r));
        if wildcard(p, host) {
            if neg {
                return false;
            }
            hit = true;
        }
    }
    hit
}

fn wildcard(p: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (p.chars().collect(), s.chars().collect());
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < s.len() {
        if i < p.len() && (p[i] == '?' || p[i].eq_ignore_ascii_case(&s[j])) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(st) = star {
            i = st + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_value_of_the_matching_blocks_wins() {
        let text = "Host nas backup-*\n  HostName 10.0.0.5\n  User alice\n  Port 2222\n  IdentityFile ~/.ssh/nas_key\n\
                    Host *.internal !bad.internal\n  User bob\n\
                    Host *\n  User everyone\n  IdentityFile ~/.ssh/id_ed25519\n  UserKnownHostsFile ~/.ssh/kh other\n";
        let home = Path::new("/home/u");
        let c = parse(text, "nas", home);
        assert_eq!(c.host_name.as_deref(), Some("10.0.0.5"));
        assert_eq!((c.user.as_deref(), c.port), (Some("alice"), Some(2222)));
        assert_eq!(
            c.identity_files,
            [home.join(".ssh/nas_key"), home.join(".ssh/id_ed25519")]
        );
        assert_eq!(c.known_hosts, Some(home.join(".ssh/kh")));
        assert_eq!(parse(text, "backup-3", home).port, Some(2222));
        assert_eq!(
            parse(text, "db.internal", home).user.as_deref(),
            Some("bob")
        );
        assert_eq!(
            parse(text, "bad.internal", home).user.as_deref(),
            Some("everyone")
        );
        assert_eq!(parse(text, "other", home).host_name, None);
    }
}

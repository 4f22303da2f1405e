//! The AWS shared files, `~/.aws/credentials` and `~/.aws/config` (or `AWS_SHARED_CREDENTIALS_FILE`
//! and `AWS_CONFIG_FILE`), read the way the AWS tools read them: the profile `AWS_PROFILE`, else
//! `default`. Only what an S3 client needs — keys, token, region, endpoint.

use std::path::PathBuf;

/// The values of one profile.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Profile {
    pub(crate) key_id: Option<String>,
    pub(crate) secret: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) endpoint: Option<String>,
}

/// The profile in effect, if either file says anything about it.
pub(crate) fn read() -> Option<Profile> {
    let name = std::env::var("AWS_PROFILE")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "default".into());
    let home = dirs::home_dir().map(|h| h.join(".aws"));
    let file = |var: &str, default: &str| -> Option<String> {
        let path = std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(default)))?;
        std::fs::read_to_string(path).ok()
    };
    let mut p = Profile::default();
    let mut any = false;
    if let Some(text) = file("AWS_SHARED_CREDENTIALS_FILE", "credentials") {
        any |= apply(&mut p, &text, &name, &name);
    }
    if let Some(text) = file("AWS_CONFIG_FILE", "config") {
        // The config file names its sections `[profile NAME]`, but `[default]`.
        any |= apply(&mut p, &text, &format!("profile {name}"), &name);
    }
    any.then_some(p)
}

/// Fills `p` from the section `[section]` (or `[alt]`) of an INI text: whether it had one.
fn apply(p: &mut Profile, text: &str, section: &str, alt: &str) -> bool {
    let mut inside = false;
    let mut found = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let s = s.trim();
            inside = s == section || s == alt;
            found |= inside;
            continue;
        }
        if !inside {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = Some(v.trim().to_string());
        match k.trim() {
            "aws_access_key_id" => p.key_id = v,
            "aws_secret_access_key" => p.secret = v,
            "aws_session_token" => p.token = v,
            "region" => p.region = v,
            "endpoint_url" => p.endpoint = v,
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_named_section_of_either_file() {
        let creds = "[default]\naws_access_key_id = A\naws_secret_access_key=B\n\n[work]\naws_access_key_id = W\n";
        let config = "[profile work]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:8333\n[default]\nregion = us-east-2\n";
        let mut p = Profile::default();
        assert!(apply(&mut p, creds, "work", "work"));
        assert!(apply(&mut p, config, "profile work", "work"));
        assert_eq!(p.key_id.as_deref(), Some("W"));
        assert_eq!(p.secret, None);
        assert_eq!(p.region.as_deref(), Some("eu-west-1"));
        assert_eq!(p.endpoint.as_deref(), Some("http://127.0.0.1:8333"));
        let mut d = Profile::default();
        assert!(apply(&mut d, creds, "default", "default"));
        assert!(apply(&mut d, config, "profile default", "default"));
        assert_eq!(
            (d.key_id.as_deref(), d.secret.as_deref()),
            (Some("A"), Some("B"))
        );
        assert_eq!(d.region.as_deref(), Some("us-east-2"));
        assert!(!apply(&mut Profile::default(), creds, "none", "none"));
    }
}

//! `Custom::RegistryCredentials` properties.

use serde_json::Value;

use super::{PropertyError, Props, Tag, parse_tags};
pub use crate::protocol::redact::SecretString;

/// Where the registry password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// Inline, from a NoEcho template parameter: it travels in the request.
    Inline(SecretString),
    /// The name of an SSM SecureString parameter the function reads.
    Parameter(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryCredentialsProperties {
    pub secret_name: Option<String>,
    pub username: SecretString,
    pub password: PasswordSource,
    pub kms_key_id: Option<String>,
    pub description: Option<String>,
    pub registry_url: Option<String>,
    pub verify_image: Option<String>,
    pub verify_credentials: bool,
    pub recovery_window_in_days: u32,
    pub tags: Vec<Tag>,
}

impl RegistryCredentialsProperties {
    pub(crate) const NAMES: &[&str] = &[
        "SecretName",
        "Username",
        "Password",
        "PasswordParameterName",
        "KmsKeyId",
        "Description",
        "RegistryUrl",
        "VerifyImage",
        "VerifyCredentials",
        "RecoveryWindowInDays",
        "Tags",
    ];
    /// Properties whose values are secret wherever they appear.
    pub(crate) const SECRET: &[&str] = &["Username", "Password"];

    pub fn parse(value: &Value) -> Result<Self, PropertyError> {
        let props = Props::top_level(value, Self::NAMES)?;
        let secret_name = props.non_empty_string("SecretName")?;
        if let Some(name) = &secret_name {
            let valid = name.len() <= 512
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
            if !valid {
                return Err(PropertyError::invalid(
                    "SecretName",
                    "up to 512 letters, digits and /_+=.@- characters",
                ));
            }
        }
        let username = SecretString::new(props.required_string("Username")?);
        let password = match (
            props.non_empty_string("Password")?,
            props.non_empty_string("PasswordParameterName")?,
        ) {
            (Some(password), None) => PasswordSource::Inline(SecretString::new(password)),
            (None, Some(parameter)) => PasswordSource::Parameter(parameter),
            (Some(_), Some(_)) => {
                return Err(PropertyError::Conflict(
                    "give exactly one of Password or PasswordParameterName, not both".into(),
                ));
            }
            (None, None) => {
                return Err(PropertyError::Conflict(
                    "missing required property Password or PasswordParameterName (exactly one)"
                        .into(),
                ));
            }
        };
        let registry_url = props.non_empty_string("RegistryUrl")?;
        if let Some(url) = &registry_url {
            validate_registry_url(url)?;
        }
        let verify_image = props.non_empty_string("VerifyImage")?;
        let recovery_window_in_days = props.integer("RecoveryWindowInDays", 0..=30)?.unwrap_or(7);
        if (1..7).contains(&recovery_window_in_days) {
            return Err(PropertyError::invalid(
                "RecoveryWindowInDays",
                "0 (delete without recovery) or from 7 to 30",
            ));
        }
        Ok(RegistryCredentialsProperties {
            secret_name,
            username,
            password,
            kms_key_id: props.non_empty_string("KmsKeyId")?,
            description: props.string("Description")?,
            registry_url,
            verify_image,
            verify_credentials: props.bool("VerifyCredentials")?.unwrap_or(true),
            recovery_window_in_days: recovery_window_in_days as u32,
            tags: parse_tags(&props)?,
        })
    }
}

/// `https://host[:port][/path]`, or no scheme (https is assumed); `http://` only for a
/// loopback registry.
fn validate_registry_url(url: &str) -> Result<(), PropertyError> {
    let expected = "a registry base URL: https://host, host, or http:// on a loopback address";
    // The same reading the registry check uses: no scheme means https.
    let parsed = crate::registry::registry_base(url)
        .map_err(|_| PropertyError::invalid("RegistryUrl", expected))?;
    let loopback = matches!(
        parsed.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(parsed.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || parsed.host_str() == Some("localhost");
    let scheme_ok = parsed.scheme() == "https" || (parsed.scheme() == "http" && loopback);
    if !scheme_ok
        || parsed.host_str().is_none()
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return Err(PropertyError::invalid("RegistryUrl", expected));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exactly_one_password_source_is_required() {
        let both = json!({"Username": "u", "Password": "p", "PasswordParameterName": "/x"});
        assert!(
            RegistryCredentialsProperties::parse(&both)
                .unwrap_err()
                .to_string()
                .contains("exactly one")
        );
        let neither = json!({"Username": "u"});
        assert!(
            RegistryCredentialsProperties::parse(&neither)
                .unwrap_err()
                .to_string()
                .contains("Password")
        );
        let parameter = json!({"Username": "u", "PasswordParameterName": "/registry/password"});
        assert_eq!(
            RegistryCredentialsProperties::parse(&parameter)
                .unwrap()
                .password,
            PasswordSource::Parameter("/registry/password".into())
        );
    }

    #[test]
    fn defaults() {
        let props =
            RegistryCredentialsProperties::parse(&json!({"Username": "u", "Password": "p"}))
                .unwrap();
        assert!(props.verify_credentials);
        assert_eq!(props.recovery_window_in_days, 7);
    }

    #[test]
    fn recovery_window_is_zero_or_seven_to_thirty() {
        for (days, ok) in [
            ("0", true),
            ("7", true),
            ("30", true),
            ("3", false),
            ("31", false),
        ] {
            let value = json!({"Username": "u", "Password": "p", "RecoveryWindowInDays": days});
            assert_eq!(
                RegistryCredentialsProperties::parse(&value).is_ok(),
                ok,
                "{days}"
            );
        }
    }

    #[test]
    fn registry_url_allows_http_only_on_loopback() {
        for (url, ok) in [
            ("https://ghcr.io", true),
            ("registry-1.docker.io", true),
            ("http://127.0.0.1:5000", true),
            ("http://localhost:5000", true),
            ("http://registry.example.com", false),
            ("ftp://x", false),
            ("https://user:pw@ghcr.io", false),
        ] {
            let value = json!({"Username": "u", "Password": "p", "RegistryUrl": url});
            assert_eq!(
                RegistryCredentialsProperties::parse(&value).is_ok(),
                ok,
                "{url}"
            );
        }
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let props = RegistryCredentialsProperties::parse(
            &json!({"Username": "alice-user", "Password": "hunter2-pw"}),
        )
        .unwrap();
        let shown = format!("{props:?}");
        assert!(
            !shown.contains("hunter2-pw") && !shown.contains("alice-user"),
            "{shown}"
        );
    }

    #[test]
    fn a_bad_value_under_a_secret_name_is_not_echoed() {
        let err = RegistryCredentialsProperties::parse(
            &json!({"Username": ["hunter2-pw"], "Password": "p"}),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("hunter2-pw"));
        assert_eq!(err.to_string(), "property Username must be a string");
    }
}

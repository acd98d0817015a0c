//! The certificates every HTTPS client trusts: Mozilla's roots, compiled in as trust anchors
//! (subject, key and constraints; nothing to parse at start). Reading the system's store instead
//! cost each cold start a scan and parse of hundreds of files for the same set of roots; see
//! docs/design.md#trusted-roots.
//!
//! The China partition is the one exception: its endpoints' chains are not known to be held by
//! Mozilla's set, so there the system's store decides.

use std::sync::{Arc, LazyLock};

use rustls::pki_types::TrustAnchor;

/// Mozilla's root certificates as trust anchors, shipped in the binary.
fn compiled_in_anchors() -> &'static [TrustAnchor<'static>] {
    webpki_roots::TLS_SERVER_ROOTS
}

/// Whether `host` is in the China partition (`*.amazonaws.com.cn`).
pub(crate) fn is_china_host(host: &str) -> bool {
    host.to_ascii_lowercase().ends_with(".amazonaws.com.cn")
}

/// Whether `region` is in the China partition (`cn-north-1`, `cn-northwest-1`).
pub(crate) fn is_china_region(region: &str) -> bool {
    region.starts_with("cn-")
}

/// The rustls configuration with the compiled-in roots and aws-lc, built once per process.
static COMPILED_IN: LazyLock<Option<rustls::ClientConfig>> = LazyLock::new(|| {
    let roots = rustls::RootCertStore::from_iter(compiled_in_anchors().iter().cloned());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Some(config)
});

/// Which certificates a client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trust {
    CompiledIn,
    /// The China partition's endpoints are not known to chain to Mozilla's set.
    SystemStore,
}

impl Trust {
    /// What a client of the AWS endpoints in `region` trusts.
    pub(crate) fn for_region(region: Option<&str>) -> Trust {
        if region.is_some_and(is_china_region) {
            Trust::SystemStore
        } else {
            Trust::CompiledIn
        }
    }

    /// `builder` set to trust this.
    pub(crate) fn configure(self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        match self {
            Trust::CompiledIn => with_compiled_in_roots(builder),
            Trust::SystemStore => builder,
        }
    }
}

/// A reqwest client builder's TLS set to the compiled-in roots; left as it is (reqwest's default,
/// the system's store) only if aws-lc offers no safe protocol version.
pub(crate) fn with_compiled_in_roots(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    match COMPILED_IN.as_ref() {
        Some(config) => builder.tls_backend_preconfigured(config.clone()),
        None => {
            tracing::warn!("compiled-in TLS roots unavailable: using the system's trust store");
            builder
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roots_hold_amazons_own() {
        // Amazon Root CA 1's subject, as DER: AWS endpoints and S3 chain to it.
        let amazon_root_ca_1 = b"Amazon Root CA 1";
        assert!(compiled_in_anchors().iter().any(|anchor| {
            anchor
                .subject
                .windows(amazon_root_ca_1.len())
                .any(|window| window == amazon_root_ca_1)
        }));
        assert!(
            compiled_in_anchors().len() > 100,
            "Mozilla's set has well over 100 roots"
        );
    }

    #[test]
    fn only_the_china_partition_trusts_the_systems_store() {
        assert_eq!(Trust::for_region(Some("cn-north-1")), Trust::SystemStore);
        assert_eq!(
            Trust::for_region(Some("cn-northwest-1")),
            Trust::SystemStore
        );
        assert_eq!(Trust::for_region(Some("us-east-1")), Trust::CompiledIn);
        assert_eq!(Trust::for_region(Some("us-gov-west-1")), Trust::CompiledIn);
        assert_eq!(Trust::for_region(None), Trust::CompiledIn);
    }

    #[test]
    fn china_is_told_by_its_regions_and_hosts() {
        assert!(is_china_region("cn-north-1"));
        assert!(!is_china_region("us-east-1"));
        assert!(is_china_host("bucket.s3.cn-northwest-1.AMAZONAWS.com.cn"));
        assert!(!is_china_host("bucket.s3.amazonaws.com"));
    }

    #[test]
    fn the_compiled_in_roots_configure_a_reqwest_client() {
        assert!(
            COMPILED_IN.is_some(),
            "aws-lc offers safe protocol versions"
        );
        with_compiled_in_roots(reqwest::Client::builder())
            .build()
            .expect("reqwest takes this rustls config");
    }
}

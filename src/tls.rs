//! The certificates every HTTPS client trusts: Mozilla's roots, compiled in. Reading the system's
//! store instead cost each cold start a scan and parse of hundreds of files (most of the init
//! time, and megabytes of memory) for the same set of roots; see docs/design.md#trusted-roots.
//!
//! The China partition is the one exception: its endpoints' chains are not known to be held by
//! Mozilla's set, so there the system's store decides.

use std::sync::{Arc, LazyLock};

use aws_sdk_ecs::config::SharedHttpClient;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use base64::Engine;
use rustls::pki_types::CertificateDer;

/// Mozilla's root certificates as shipped in the binary.
fn compiled_in_certificates() -> &'static [CertificateDer<'static>] {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
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
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(compiled_in_certificates().iter().cloned());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Some(config)
});

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

/// The compiled-in roots as one PEM bundle, the form the SDK's trust store takes.
fn pem_bundle() -> Vec<u8> {
    let mut pem = String::new();
    for certificate in compiled_in_certificates() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(certificate.as_ref());
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in encoded.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem.into_bytes()
}

/// The SDK's HTTPS client as the SDK builds its default one (rustls with aws-lc, proxies from the
/// environment, the client's connector settings), but trusting the compiled-in roots. `None` in
/// the China partition: the SDK's default client (the system's store) is kept.
pub fn sdk_http_client(region: Option<&str>) -> Option<SharedHttpClient> {
    if region.is_some_and(is_china_region) {
        return None;
    }
    let context = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(pem_bundle()))
        .build()
        .ok()?;
    // Called once per distinct connector setting (one, here), not per request.
    Some(
        Builder::new().build_with_connector_fn(move |settings, runtime_components| {
            let mut connector = ConnectorBuilder::default()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(context.clone());
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = runtime_components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector.set_proxy_config(Some(ProxyConfig::from_env()));
            connector.build()
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compiled_in_root_survives_the_pem_bundle() {
        use rustls::pki_types::pem::PemObject;
        let bundle = pem_bundle();
        let parsed = CertificateDer::pem_slice_iter(&bundle)
            .collect::<Result<Vec<_>, _>>()
            .expect("the bundle is valid PEM");
        assert!(parsed.len() > 100, "Mozilla's set has well over 100 roots");
        assert_eq!(parsed, compiled_in_certificates());
    }

    #[test]
    fn the_roots_hold_amazons_own() {
        // Amazon Root CA 1's subject, as DER: AWS endpoints and S3 chain to it.
        let amazon_root_ca_1 = b"Amazon Root CA 1";
        assert!(compiled_in_certificates().iter().any(|certificate| {
            certificate
                .windows(amazon_root_ca_1.len())
                .any(|window| window == amazon_root_ca_1)
        }),);
    }

    #[test]
    fn only_the_china_partition_keeps_the_system_store() {
        assert!(sdk_http_client(Some("us-east-1")).is_some());
        assert!(sdk_http_client(Some("us-gov-west-1")).is_some());
        assert!(sdk_http_client(None).is_some());
        assert!(sdk_http_client(Some("cn-north-1")).is_none());
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

use super::*;

fn reference(image: &str, registry: &str) -> Result<(String, String), RegistryError> {
    ImageReference::parse(image, &registry_base(registry).unwrap())
        .map(|parsed| (parsed.repository, parsed.reference))
}

fn ok(repository: &str, reference: &str) -> Result<(String, String), RegistryError> {
    Ok((repository.to_owned(), reference.to_owned()))
}

#[test]
fn image_references_name_a_repository_and_a_tag_or_digest() {
    assert_eq!(
        reference("ghcr.io/org/app:1.2", "ghcr.io"),
        ok("org/app", "1.2")
    );
    assert_eq!(
        reference("org/app", "https://ghcr.io"),
        ok("org/app", "latest")
    );
    assert_eq!(
        reference("127.0.0.1:5000/lab/hello:1.0", "http://127.0.0.1:5000"),
        ok("lab/hello", "1.0")
    );
    let digest = format!("sha256:{}", "ab".repeat(32));
    assert_eq!(
        reference(&format!("org/app@{digest}"), "quay.io"),
        ok("org/app", &digest)
    );
    assert_eq!(reference("app", "quay.io"), ok("app", "latest"));
}

#[test]
fn every_name_of_docker_hub_is_docker_hub_and_official_images_are_library() {
    for registry in [
        "docker.io",
        "index.docker.io",
        "https://registry-1.docker.io",
        "registry.hub.docker.com",
    ] {
        assert_eq!(
            registry_base(registry).unwrap().as_str(),
            "https://registry-1.docker.io/"
        );
        assert_eq!(reference("nginx", registry), ok("library/nginx", "latest"));
        assert_eq!(
            reference("docker.io/library/nginx:1.27", registry),
            ok("library/nginx", "1.27")
        );
        assert_eq!(
            reference("index.docker.io/acme/app:2", registry),
            ok("acme/app", "2")
        );
    }
}

#[test]
fn an_image_of_another_registry_or_a_bad_reference_is_refused() {
    assert!(matches!(
        reference("ghcr.io/org/app:1.2", "quay.io"),
        Err(RegistryError::OtherRegistry { .. })
    ));
    assert!(matches!(
        reference("nginx", "ghcr.io").map(|(r, _)| r),
        Ok(repository) if repository == "nginx"
    ));
    for bad in [
        "Org/App", "lab/../x", "../x", "lab//x", "lab/.x", "-lab/x", "a:b:c",
    ] {
        assert!(
            matches!(
                reference(bad, "ghcr.io"),
                Err(RegistryError::BadReference(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn challenges_parse_with_quoted_parameters() {
    let (scheme, params) = parse_challenge(
        r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull""#,
    );
    assert_eq!(scheme, "Bearer");
    assert_eq!(
        params[0],
        ("realm".into(), "https://auth.docker.io/token".into())
    );
    assert_eq!(params[1], ("service".into(), "registry.docker.io".into()));
    assert_eq!(params[2], ("scope".into(), "repository:a/b:pull".into()));
    let (scheme, params) = parse_challenge(r#"Basic realm="Registry Realm""#);
    assert_eq!((scheme.as_str(), params.len()), ("Basic", 1));
}

#[test]
fn credentials_go_only_to_the_registrys_own_host_or_domain_over_https() {
    let url = |text: &str| Url::parse(text).unwrap();
    for (registry, realm, trusted) in [
        (
            "https://registry-1.docker.io",
            "https://auth.docker.io/token",
            true,
        ),
        ("https://ghcr.io", "https://ghcr.io/token", true),
        ("https://quay.io", "https://quay.io/v2/auth", true),
        (
            "https://registry.gitlab.com",
            "https://gitlab.com/jwt/auth",
            true,
        ),
        (
            "https://registry.example.com",
            "https://auth.example.com/t",
            true,
        ),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5001/token", true),
        ("https://ghcr.io", "https://evil.io/token", false),
        (
            "https://registry.example.com",
            "https://auth.evil.com/t",
            false,
        ),
        (
            "https://registry-1.docker.io",
            "https://auth.docker.io.evil.com/t",
            false,
        ),
        (
            "https://registry-1.docker.io",
            "http://auth.docker.io/token",
            false,
        ),
        ("https://ghcr.io", "https://user:pw@ghcr.io/token", false),
        (
            "http://127.0.0.1:5000",
            "http://localhost:5001/token",
            false,
        ),
        ("http://127.0.0.1:5000", "http://10.0.0.1:5001/token", false),
    ] {
        assert_eq!(
            is_trusted_realm(&url(registry), &url(realm)),
            trusted,
            "{registry} → {realm}"
        );
    }
}

#[test]
fn redirects_stay_within_the_registrys_origin() {
    let url = |text: &str| Url::parse(text).unwrap();
    let first = url("https://ghcr.io/v2/");
    assert!(follows_redirect(&first, &url("https://ghcr.io/v2/other")));
    assert!(!follows_redirect(&first, &url("https://evil.example/v2/")));
    assert!(!follows_redirect(&first, &url("http://ghcr.io/v2/")));
    assert!(!follows_redirect(&first, &url("https://ghcr.io:8443/v2/")));
}

#[test]
fn paths_join_under_a_base_path() {
    let base = registry_base("https://gitlab.example.com/registry").unwrap();
    assert_eq!(
        join(&base, "v2/").as_str(),
        "https://gitlab.example.com/registry/v2/"
    );
    assert_eq!(
        registry_base("ghcr.io").unwrap().as_str(),
        "https://ghcr.io/"
    );
}

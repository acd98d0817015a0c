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

fn bad(image: &str) -> String {
    match reference(image, "ghcr.io") {
        Err(RegistryError::BadReference(cause)) => cause,
        other => panic!("{image} was not refused as a bad reference: {other:?}"),
    }
}

#[test]
fn repository_components_join_lowercase_runs_with_the_specs_separators() {
    for good in ["a.b", "a_b", "a__b", "a-b", "a---b", "a0/b-c/d.e_f", "0"] {
        assert_eq!(reference(good, "ghcr.io"), ok(good, "latest"), "{good}");
    }
    for wrong in ["a___b", "a.-b", "a..b", "a-", "_a", "a/", "a//b", "A"] {
        let cause = bad(wrong);
        assert!(cause.contains("repository component"), "{wrong}: {cause}");
    }
    let long = "a".repeat(256);
    assert!(bad(&long).contains("longer than 255"));
    assert_eq!(
        reference(&"a".repeat(255), "ghcr.io").map(|(r, _)| r.len()),
        Ok(255)
    );
}

#[test]
fn tags_are_word_characters_dots_and_hyphens_up_to_128() {
    let longest = "v".repeat(128);
    assert_eq!(
        reference(&format!("app:{longest}"), "ghcr.io"),
        ok("app", &longest)
    );
    assert_eq!(reference("app:1.2_rc-3", "ghcr.io"), ok("app", "1.2_rc-3"));
    for wrong in [
        "app:".to_owned(),
        "app:.hidden".to_owned(),
        "app:-x".to_owned(),
        "app:é".to_owned(),
        format!("app:{}", "v".repeat(129)),
    ] {
        assert!(bad(&wrong).contains("tag"), "{wrong}");
    }
}

#[test]
fn digests_have_the_length_their_algorithm_makes_and_win_over_a_tag() {
    for (algorithm, length) in [("sha256", 64), ("sha384", 96), ("sha512", 128)] {
        let digest = format!("{algorithm}:{}", "a".repeat(length));
        assert_eq!(
            reference(&format!("app@{digest}"), "ghcr.io"),
            ok("app", &digest)
        );
        let short = format!("app@{algorithm}:{}", "a".repeat(length - 1));
        assert!(
            bad(&short).contains(&format!("{length} hexadecimal")),
            "{short}"
        );
    }
    let digest = format!("sha256:{}", "0".repeat(64));
    assert_eq!(
        reference(&format!("app:1.0@{digest}"), "ghcr.io"),
        ok("app", &digest)
    );
    assert!(bad(&format!("app@md5:{}", "0".repeat(32))).contains("md5"));
    assert!(bad("app@sha256").contains("algorithm:hex"));
    assert!(bad(&format!("app@sha256:{}", "g".repeat(64))).contains("hexadecimal"));
}

#[test]
fn registry_hosts_are_labels_with_an_optional_numeric_port() {
    assert_eq!(
        reference("localhost:5000/app:1", "http://localhost:5000"),
        ok("app", "1")
    );
    assert_eq!(
        reference("localhost/app", "http://localhost"),
        ok("app", "latest")
    );
    assert!(bad("ghcr.io:x/app").contains("port"));
    assert!(bad("-ghcr.io/app").contains("host"));
    assert!(bad("ghcr..io/app").contains("host"));
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

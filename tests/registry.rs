//! The registry check against real HTTP servers: the Bearer token flow that Docker Hub and GHCR
//! use, served on loopback (the Basic flow runs against the Debian docker-registry in
//! registry_credentials.rs).

mod support;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use ecs_private_auth::properties::SecretString;
use ecs_private_auth::registry::{RegistryCheck, RegistryError};
use tokio::net::TcpListener;

const TOKEN: &str = "token-for-tests";
const BASIC: &str = "Basic cm9ib3Q6Z29vZC1wYXNzd29yZA=="; // robot:good-password

struct TokenRegistry {
    url: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TokenRegistry {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn start_token_registry() -> TokenRegistry {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let realm = Arc::new(format!("{url}/token"));
    let app = Router::new()
        .route("/token", get(token))
        .route("/v2/", get(api))
        .route(
            "/v2/org/app/manifests/{reference}",
            get(manifest).head(manifest),
        )
        .with_state(realm);
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TokenRegistry { url, server }
}

fn challenge(realm: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "www-authenticate",
        format!(r#"Bearer realm="{realm}",service="tests.registry""#)
            .parse()
            .unwrap(),
    );
    headers
}

async fn token(headers: HeaderMap, uri: axum::http::Uri) -> impl IntoResponse {
    let service_ok = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .any(|pair| pair == "service=tests.registry");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(BASIC) && service_ok {
        (StatusCode::OK, format!(r#"{{"token":"{TOKEN}"}}"#))
    } else {
        (
            StatusCode::UNAUTHORIZED,
            r#"{"details":"incorrect username or password"}"#.to_owned(),
        )
    }
}

fn bearer_ok(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

async fn api(State(realm): State<Arc<String>>, headers: HeaderMap) -> impl IntoResponse {
    if bearer_ok(&headers) {
        (StatusCode::OK, HeaderMap::new())
    } else {
        (StatusCode::UNAUTHORIZED, challenge(&realm))
    }
}

async fn manifest(
    State(realm): State<Arc<String>>,
    axum::extract::Path(reference): axum::extract::Path<String>,
    headers: HeaderMap,
) -> impl IntoResponse {
    if !bearer_ok(&headers) {
        return (StatusCode::UNAUTHORIZED, challenge(&realm));
    }
    if reference == "1.2" {
        (StatusCode::OK, HeaderMap::new())
    } else {
        (StatusCode::NOT_FOUND, HeaderMap::new())
    }
}

async fn check(
    registry: &TokenRegistry,
    password: &str,
    image: Option<&str>,
) -> Result<(), RegistryError> {
    let client = reqwest::Client::new();
    let username = SecretString::new("robot");
    let password = SecretString::new(password);
    RegistryCheck {
        client: &client,
        registry_url: &registry.url,
        username: &username,
        password: &password,
        learned_secret: &|_| {},
    }
    .verify(image)
    .await
}

#[tokio::test]
async fn the_bearer_flow_logs_in_and_pulls_a_manifest() {
    let registry = start_token_registry().await;
    assert_eq!(check(&registry, "good-password", None).await, Ok(()));
    assert_eq!(
        check(&registry, "good-password", Some("org/app:1.2")).await,
        Ok(())
    );
}

#[tokio::test]
async fn the_bearer_flow_reports_refused_credentials_with_the_registrys_answer() {
    let registry = start_token_registry().await;
    let error = check(&registry, "bad-password", Some("org/app:1.2"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::Unauthorized { status: 401, .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("incorrect username or password"),
        "{error}"
    );
    assert!(!error.to_string().contains("bad-password"));
}

#[tokio::test]
async fn the_bearer_flow_reports_a_missing_manifest() {
    let registry = start_token_registry().await;
    let error = check(&registry, "good-password", Some("org/app:9.9"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::ManifestNotFound { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn an_image_on_another_registry_is_refused_before_any_request() {
    let registry = start_token_registry().await;
    let error = check(&registry, "good-password", Some("ghcr.io/org/app:1.2"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::OtherRegistry { .. }),
        "{error}"
    );
}

/// A registry on 127.0.0.1 whose every answer to /v2/ is `answer`.
async fn start_registry_answering(
    answer: impl Fn() -> axum::response::Response + Clone + Send + Sync + 'static,
) -> TokenRegistry {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback(move || {
        let answer = answer.clone();
        async move { answer() }
    });
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TokenRegistry { url, server }
}

/// The snoop as another host: the same loopback server, named `localhost` instead of 127.0.0.1.
/// A request from the test itself shows that name reaches it, so that silence means something.
async fn snoop_as_another_host() -> (support::snoop::Snoop, String) {
    let snoop = support::snoop::Snoop::start().await;
    let elsewhere = format!("http://localhost:{}", snoop.port);
    reqwest::get(format!("{elsewhere}/control")).await.unwrap();
    assert_eq!(snoop.seen().len(), 1, "localhost reaches the snoop");
    (snoop, elsewhere)
}

async fn check_with_the_products_client(registry: &TokenRegistry) -> Result<(), RegistryError> {
    let username = SecretString::new("robot");
    let password = SecretString::new("good-password");
    RegistryCheck {
        client: &ecs_private_auth::registry::client(),
        registry_url: &registry.url,
        username: &username,
        password: &password,
        learned_secret: &|_| {},
    }
    .verify(None)
    .await
}

#[tokio::test]
async fn credentials_are_not_sent_to_a_token_realm_on_another_host() {
    let (snoop, elsewhere) = snoop_as_another_host().await;
    let realm = format!("{elsewhere}/token");
    let registry = start_registry_answering(move || {
        (StatusCode::UNAUTHORIZED, challenge(&realm)).into_response()
    })
    .await;

    let error = check_with_the_products_client(&registry).await.unwrap_err();

    assert!(
        matches!(error, RegistryError::UntrustedRealm { .. }),
        "{error}"
    );
    assert_eq!(snoop.seen().len(), 1, "only the control request arrived");
    assert!(snoop.credentials().is_empty());
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let (snoop, elsewhere) = snoop_as_another_host().await;
    let location = format!("{elsewhere}/v2/");
    let registry = start_registry_answering(move || {
        (
            StatusCode::TEMPORARY_REDIRECT,
            [("location", location.clone())],
        )
            .into_response()
    })
    .await;

    let error = check_with_the_products_client(&registry).await.unwrap_err();

    assert!(
        matches!(error, RegistryError::Unexpected { status: 307, .. }),
        "{error}"
    );
    assert_eq!(snoop.seen().len(), 1, "only the control request arrived");
}

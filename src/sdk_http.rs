//! The AWS SDK's HTTP client: reqwest (hyper, rustls with the compiled-in roots of
//! [`crate::tls`]) behind the SDK's `HttpClient` interface. Every binary then carries one HTTP
//! stack for the SDK, the ResponseURL PUT and the registry check, and its trust store is a
//! table of trust anchors compiled in: a cold start parses no certificate
//! (docs/design.md#cold-start).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::body::SdkBody;

/// Which certificates the client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trust {
    CompiledIn,
    /// The China partition's endpoints are not known to chain to Mozilla's set.
    SystemStore,
}

/// The SDK's HTTP client for `region`: trusting the compiled-in roots, or the system's store in
/// the China partition.
pub fn sdk_http_client(region: Option<&str>) -> SharedHttpClient {
    ReqwestHttpClient {
        trust: trust_for(region),
        connectors: Arc::default(),
    }
    .into_shared()
}

fn trust_for(region: Option<&str>) -> Trust {
    if region.is_some_and(crate::tls::is_china_region) {
        Trust::SystemStore
    } else {
        Trust::CompiledIn
    }
}

/// The timeouts the SDK asks a connector for; one reqwest client (one connection pool) each.
type Timeouts = (Option<Duration>, Option<Duration>);

#[derive(Debug, Clone)]
struct ReqwestHttpClient {
    trust: Trust,
    /// The SDK asks for a connector on every attempt; built once per distinct setting.
    connectors: Arc<Mutex<Vec<(Timeouts, SharedHttpConnector)>>>,
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let timeouts = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, connector)) = connectors.iter().find(|(key, _)| *key == timeouts) {
            return connector.clone();
        }
        let connector: SharedHttpConnector = ReqwestConnector {
            client: reqwest_client(self.trust, timeouts),
        }
        .into_shared();
        connectors.push((timeouts, connector.clone()));
        connector
    }
}

/// A reqwest client that sends what the SDK built as it is: no redirect followed (the SDK
/// decides what a 3xx means), proxies from the environment as the SDK's default client reads them.
fn reqwest_client(trust: Trust, (connect, read): Timeouts) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(timeout) = connect {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(timeout) = read {
        builder = builder.read_timeout(timeout);
    }
    if trust == Trust::CompiledIn {
        builder = crate::tls::with_compiled_in_roots(builder);
    }
    builder.build().unwrap_or_else(|err| {
        tracing::warn!(error = %err, "HTTP client settings refused: using reqwest's defaults");
        reqwest::Client::new()
    })
}

#[derive(Debug)]
struct ReqwestConnector {
    client: reqwest::Client,
}

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match into_reqwest_request(request) {
            Ok(request) => request,
            Err(err) => return HttpConnectorFuture::ready(Err(ConnectorError::user(err))),
        };
        let sending = self.client.execute(request);
        HttpConnectorFuture::new(async move {
            let response = sending.await.map_err(connector_error)?;
            let response: http::Response<reqwest::Body> = response.into();
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|err| ConnectorError::other(err.into(), None))
        })
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn into_reqwest_request(request: HttpRequest) -> Result<reqwest::Request, BoxError> {
    let (parts, body) = request.try_into_http1x()?.into_parts();
    // Every body these services take is in memory; a stream is passed on as one.
    let body = match body.bytes() {
        Some(bytes) => reqwest::Body::from(bytes.to_vec()),
        None => reqwest::Body::wrap(body),
    };
    Ok(reqwest::Request::try_from(http::Request::from_parts(
        parts, body,
    ))?)
}

/// How the SDK should take a failed send: a timeout or a broken connection is retried as
/// transient; a request that could not be built is the caller's.
fn connector_error(err: reqwest::Error) -> ConnectorError {
    if err.is_timeout() {
        ConnectorError::timeout(err.into())
    } else if err.is_builder() {
        ConnectorError::user(err.into())
    } else if err.is_connect() || err.is_request() || err.is_body() {
        ConnectorError::io(err.into())
    } else {
        ConnectorError::other(err.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
    use aws_smithy_types::byte_stream::ByteStream;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn connector(
        client: &SharedHttpClient,
        settings: &HttpConnectorSettings,
    ) -> SharedHttpConnector {
        let components = RuntimeComponentsBuilder::for_tests().build().unwrap();
        client.http_connector(settings, &components)
    }

    fn request(url: &str, body: &'static str) -> HttpRequest {
        let request = http::Request::builder()
            .method("POST")
            .uri(url)
            .header(
                "x-amz-target",
                "AmazonEC2ContainerServiceV20141113.ListClusters",
            )
            .header("content-length", body.len())
            .body(SdkBody::from(body))
            .unwrap();
        HttpRequest::try_from(request).unwrap()
    }

    /// A server on loopback that reads one request and answers it with `answer`, handing back
    /// what it read.
    async fn answering(answer: &'static str) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let served = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut read = Vec::new();
            let mut buffer = [0; 4096];
            while !String::from_utf8_lossy(&read).contains("{}") {
                let n = stream.read(&mut buffer).await.unwrap();
                if n == 0 {
                    break;
                }
                read.extend_from_slice(&buffer[..n]);
            }
            stream.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&read).into_owned()
        });
        (url, served)
    }

    #[tokio::test]
    async fn sends_the_request_as_built_and_hands_back_the_answer() {
        let (url, served) = answering(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 18\r\n\r\n{\"clusterArns\":[]}",
        )
        .await;
        let client = sdk_http_client(Some("us-east-1"));
        let response = connector(&client, &HttpConnectorSettings::builder().build())
            .call(request(&url, "{}"))
            .await
            .expect("answered");
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers().get("content-type"),
            Some("application/json")
        );
        let body = ByteStream::new(response.into_body())
            .collect()
            .await
            .unwrap();
        assert_eq!(&body.into_bytes()[..], b"{\"clusterArns\":[]}");
        let read = served.await.unwrap().to_ascii_lowercase();
        assert!(read.starts_with("post / http/1.1\r\n"), "{read}");
        assert!(read.contains("x-amz-target: amazonec2containerservicev20141113.listclusters\r\n"));
        assert_eq!(read.matches("content-length: 2\r\n").count(), 1, "{read}");
    }

    #[tokio::test]
    async fn a_redirect_is_the_sdks_to_read_not_followed() {
        let (url, served) = answering(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:9/elsewhere\r\ncontent-length: 0\r\n\r\n",
        )
        .await;
        let client = sdk_http_client(None);
        let response = connector(&client, &HttpConnectorSettings::builder().build())
            .call(request(&url, "{}"))
            .await
            .expect("the 307 itself");
        assert_eq!(response.status().as_u16(), 307);
        served.await.unwrap();
    }

    #[tokio::test]
    async fn a_refused_connection_is_retried_as_transient() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        drop(listener);
        let client = sdk_http_client(Some("us-east-1"));
        let err = connector(&client, &HttpConnectorSettings::builder().build())
            .call(request(&url, "{}"))
            .await
            .expect_err("nobody listens");
        assert!(err.is_io(), "{err:?}");
    }

    #[tokio::test]
    async fn the_sdks_read_timeout_bounds_a_silent_server() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let silent = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(stream);
        });
        let settings = HttpConnectorSettings::builder()
            .read_timeout(Duration::from_millis(200))
            .build();
        let client = sdk_http_client(Some("us-east-1"));
        let started = std::time::Instant::now();
        let err = connector(&client, &settings)
            .call(request(&url, "{}"))
            .await
            .expect_err("no answer");
        assert!(err.is_timeout(), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        silent.abort();
    }

    #[test]
    fn only_the_china_partition_trusts_the_systems_store() {
        assert_eq!(trust_for(Some("cn-north-1")), Trust::SystemStore);
        assert_eq!(trust_for(Some("cn-northwest-1")), Trust::SystemStore);
        assert_eq!(trust_for(Some("us-east-1")), Trust::CompiledIn);
        assert_eq!(trust_for(Some("us-gov-west-1")), Trust::CompiledIn);
        assert_eq!(trust_for(None), Trust::CompiledIn);
    }
}

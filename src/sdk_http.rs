//! The AWS SDK's HTTP client: reqwest (hyper, rustls with the compiled-in roots of
//! [`crate::tls`]) behind the SDK's `HttpClient` interface. Every binary then carries one HTTP
//! stack for the SDK, the ResponseURL PUT and the registry check, and its trust store is a
//! table of trust anchors compiled in: a cold start parses no certificate
//! (docs/design.md#cold-start).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::client::connection::{CaptureSmithyConnection, ConnectionMetadata};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;

use crate::tls::Trust;

/// The SDK's HTTP client for `region`: trusting the compiled-in roots, or the system's store in
/// the China partition.
pub fn sdk_http_client(region: Option<&str>) -> SharedHttpClient {
    ReqwestHttpClient {
        pools: Arc::new(Pools {
            trust: Trust::for_region(region),
            clients: Mutex::default(),
        }),
    }
    .into_shared()
}

/// The timeouts the SDK asks a connector for: connect, and read (reqwest applies a read timeout
/// to every read of the answer, its body included; the SDK's own client only to the wait for
/// its head. The product sets none).
type Timeouts = (Option<Duration>, Option<Duration>);

#[derive(Debug, Clone)]
struct ReqwestHttpClient {
    pools: Arc<Pools>,
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        ReqwestConnector {
            pools: self.pools.clone(),
            timeouts: (settings.connect_timeout(), settings.read_timeout()),
        }
        .into_shared()
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new("reqwest", None))
    }
}

/// One reqwest client, so one connection pool, per distinct timeout setting, built when first
/// needed (the SDK asks for a connector on every attempt).
#[derive(Debug)]
struct Pools {
    trust: Trust,
    clients: Mutex<Vec<(Timeouts, reqwest::Client)>>,
}

impl Pools {
    fn client(&self, timeouts: Timeouts) -> Result<reqwest::Client, reqwest::Error> {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, client)) = clients.iter().find(|(key, _)| *key == timeouts) {
            return Ok(client.clone());
        }
        let client = reqwest_client(self.trust, timeouts)?;
        clients.push((timeouts, client.clone()));
        Ok(client)
    }

    /// After a transient error the SDK asks for the connection to be closed, so that the retry
    /// reaches the service afresh. reqwest does not hand out its connections: the whole pool
    /// is dropped (one invocation at a time uses it) and the next attempt builds a new one.
    fn poison(&self, timeouts: Timeouts) {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        clients.retain(|(key, _)| *key != timeouts);
    }
}

/// A reqwest client that sends what the SDK built as it is: no redirect followed (the SDK
/// decides what a 3xx means), proxies from the environment as the SDK's default client reads them.
fn reqwest_client(
    trust: Trust,
    (connect, read): Timeouts,
) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(timeout) = connect {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(timeout) = read {
        builder = builder.read_timeout(timeout);
    }
    trust.configure(builder).build()
}

#[derive(Debug)]
struct ReqwestConnector {
    pools: Arc<Pools>,
    timeouts: Timeouts,
}

impl ReqwestConnector {
    /// Lets the SDK close this attempt's connection after a transient error.
    fn offer_poisoning(&self, request: &HttpRequest) {
        let Some(capture) = request.extension::<CaptureSmithyConnection>() else {
            return;
        };
        let (pools, timeouts) = (self.pools.clone(), self.timeouts);
        capture.set_connection_retriever(move || {
            let pools = pools.clone();
            Some(
                ConnectionMetadata::builder()
                    // Not known here; the SDK only reports it.
                    .proxied(false)
                    .poison_fn(move || pools.poison(timeouts))
                    .build(),
            )
        });
    }
}

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = match self.pools.client(self.timeouts) {
            Ok(client) => client,
            Err(err) => {
                let err = format!("the HTTP client could not be built: {err}");
                return HttpConnectorFuture::ready(Err(ConnectorError::other(err.into(), None)));
            }
        };
        self.offer_poisoning(&request);
        let request = match into_reqwest_request(request) {
            Ok(request) => request,
            Err(err) => return HttpConnectorFuture::ready(Err(ConnectorError::user(err))),
        };
        let sending = client.execute(request);
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
    let signed = parts
        .uri
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .to_owned();
    // Every body these services take is in memory; a stream is passed on as one.
    let body = match body.bytes() {
        Some(bytes) => reqwest::Body::from(bytes.to_vec()),
        None => reqwest::Body::wrap(body),
    };
    let request = reqwest::Request::try_from(http::Request::from_parts(parts, body))?;
    // reqwest re-reads the address as a URL, which may normalise a path (`.` segments,
    // escapes); the signature covers the path as the SDK wrote it, so a change is refused here
    // rather than answered with SignatureDoesNotMatch.
    let url = request.url();
    let sent = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    if sent != signed {
        return Err(format!("the request path {signed:?} would be sent as {sent:?}").into());
    }
    Ok(request)
}

/// How the SDK should take a failed send, as its own client classifies hyper's errors: a
/// timeout, or a connection refused, reset or closed, is retried as transient; a request that
/// could not be built is the caller's; anything else is not retried.
fn connector_error(err: reqwest::Error) -> ConnectorError {
    classify(&err)(err.into())
}

fn classify(err: &reqwest::Error) -> fn(BoxError) -> ConnectorError {
    if err.is_timeout() {
        return ConnectorError::timeout;
    }
    if err.is_builder() {
        return ConnectorError::user;
    }
    if err.is_connect() {
        return ConnectorError::io;
    }
    if let Some(hyper_err) = find_source::<hyper::Error>(err) {
        if hyper_err.is_timeout() {
            return ConnectorError::timeout;
        }
        if hyper_err.is_user() {
            return ConnectorError::user;
        }
        if hyper_err.is_closed()
            || hyper_err.is_canceled()
            || find_source::<std::io::Error>(hyper_err).is_some()
        {
            return ConnectorError::io;
        }
        if hyper_err.is_incomplete_message() {
            return |err| ConnectorError::other(err, Some(ErrorKind::TransientError));
        }
    }
    if find_source::<std::io::Error>(err).is_some() {
        return ConnectorError::io;
    }
    |err| ConnectorError::other(err, None)
}

fn find_source<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<E>() {
            return Some(found);
        }
        next = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
    use aws_smithy_types::byte_stream::ByteStream;
    use std::sync::atomic::{AtomicUsize, Ordering};
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

    /// A keep-alive server on loopback answering every request with `{}`; counts the
    /// connections it accepted.
    async fn keep_alive_server() -> (String, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        let server = tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut read = Vec::new();
                    let mut buffer = [0; 4096];
                    loop {
                        let n = stream.read(&mut buffer).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        read.extend_from_slice(&buffer[..n]);
                        if String::from_utf8_lossy(&read).ends_with("{}") {
                            read.clear();
                            let answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
                            stream.write_all(answer.as_bytes()).await.unwrap();
                        }
                    }
                });
            }
        });
        (url, connections, server)
    }

    #[tokio::test]
    async fn a_connection_the_sdk_poisons_is_not_used_again() {
        let (url, connections, server) = keep_alive_server().await;
        let client = sdk_http_client(Some("us-east-1"));
        let settings = HttpConnectorSettings::builder().build();
        let send = |capture: &CaptureSmithyConnection| {
            let mut request = request(&url, "{}");
            request.add_extension(capture.clone());
            let sending = connector(&client, &settings).call(request);
            async move {
                let response = sending.await.expect("answered");
                ByteStream::new(response.into_body())
                    .collect()
                    .await
                    .unwrap();
            }
        };
        let first = CaptureSmithyConnection::new();
        send(&first).await;
        send(&CaptureSmithyConnection::new()).await;
        assert_eq!(connections.load(Ordering::SeqCst), 1, "kept alive");

        first
            .get()
            .expect("the connector offers poisoning")
            .poison();
        send(&CaptureSmithyConnection::new()).await;
        assert_eq!(connections.load(Ordering::SeqCst), 2, "a fresh connection");
        server.abort();
    }

    #[tokio::test]
    async fn a_path_reqwest_would_rewrite_is_refused_before_it_is_sent() {
        let client = sdk_http_client(Some("us-east-1"));
        let err = connector(&client, &HttpConnectorSettings::builder().build())
            .call(request("http://127.0.0.1:9/functions/../admin", "{}"))
            .await
            .expect_err("its signature covers the path as written");
        assert!(err.is_user(), "{err:?}");
        let message = format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(&err)
        );
        assert!(message.contains("\"/functions/../admin\""), "{message}");
    }
}

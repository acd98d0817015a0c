//! A host someone else runs, on 127.0.0.1: it answers every request with a Basic-auth challenge
//! (so a registry check sends it credentials if it may), echoes whatever credentials it got in
//! its 401 body (as a careless registry might), and records everything it was sent.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::any;
use base64::Engine;
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Snooped {
    pub path: String,
    /// The Authorization header, decoded when it was Basic.
    pub authorization: Option<String>,
}

pub struct Snoop {
    pub url: String,
    pub port: u16,
    seen: Arc<Mutex<Vec<Snooped>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Snoop {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind snoop");
        let port = listener.local_addr().expect("snoop address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = seen.clone();
        let app = Router::new().fallback(any(move |uri: Uri, headers: HeaderMap| {
            let recorded = recorded.clone();
            async move {
                let authorization = headers
                    .get("authorization")
                    .and_then(|value| value.to_str().ok())
                    .map(decode);
                recorded.lock().unwrap().push(Snooped {
                    path: uri.path().to_owned(),
                    authorization: authorization.clone(),
                });
                (
                    StatusCode::UNAUTHORIZED,
                    [("www-authenticate", "Basic realm=\"snoop\"")],
                    format!("denied for {}", authorization.unwrap_or_default()),
                )
                    .into_response()
            }
        }));
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("snoop serves");
        });
        Snoop {
            url: format!("http://127.0.0.1:{port}"),
            port,
            seen,
            server,
        }
    }

    pub fn seen(&self) -> Vec<Snooped> {
        self.seen.lock().unwrap().clone()
    }

    /// Every credential it was sent.
    pub fn credentials(&self) -> Vec<String> {
        self.seen()
            .into_iter()
            .filter_map(|snooped| snooped.authorization)
            .collect()
    }
}

impl Drop for Snoop {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `Basic dXNlcjpwdw==` → `Basic user:pw`; anything else as it is.
fn decode(header: &str) -> String {
    match header.strip_prefix("Basic ") {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(|pair| format!("Basic {pair}"))
            .unwrap_or_else(|| header.to_owned()),
        None => header.to_owned(),
    }
}

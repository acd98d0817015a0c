//! The response PUT against a real HTTP server standing in for the pre-signed ResponseURL.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use ecs_private_auth::protocol::request::parse_request;
use ecs_private_auth::protocol::{Response, ResponseSender};
use serde_json::json;
use support::receiver::Receiver;
use tokio::time::Instant;

fn request_answered_at(url: &str) -> ecs_private_auth::protocol::Request {
    parse_request(&support::cfn_request(
        "Create",
        "Custom::FargateCluster",
        "Cluster",
        json!({}),
        url,
    ))
    .unwrap()
}

#[tokio::test]
async fn the_put_has_an_empty_content_type_and_an_exact_content_length() {
    let receiver = Receiver::start().await.unwrap();
    let request = request_answered_at(&receiver.url("Cluster"));
    let response = Response::success(
        "arn:aws:ecs:us-east-1:123456789012:cluster/lab",
        BTreeMap::from([("Name".to_owned(), "lab".to_owned())]),
    );
    let body = response.encode(&request);

    ResponseSender::new()
        .put(
            &request.response_url,
            body.clone(),
            Instant::now() + Duration::from_secs(10),
        )
        .await
        .unwrap();

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let put = &received[0];
    assert_eq!(put.method, "PUT");
    assert!(
        put.content_type.as_deref().unwrap_or("").is_empty(),
        "Content-Type {:?}",
        put.content_type
    );
    assert_eq!(put.content_length, Some(put.body.len()));
    assert_eq!(put.body, body);
    assert!(
        put.query.as_deref().unwrap().contains(Receiver::SIGNATURE),
        "the pre-signed query is sent as given"
    );
    let json = put.json();
    assert_eq!(json["Status"], "SUCCESS");
    assert_eq!(json["Data"]["Name"], "lab");
}

#[tokio::test]
async fn two_refusals_then_success_deliver_the_response_exactly_once() {
    let receiver = Receiver::start().await.unwrap();
    receiver.fail_next(2);
    let request = request_answered_at(&receiver.url("Cluster"));
    let body =
        Response::failed("marker", "creating ECS cluster (lab): AccessDenied").encode(&request);

    let attempts = ResponseSender::new()
        .put(
            &request.response_url,
            body.clone(),
            Instant::now() + Duration::from_secs(10),
        )
        .await
        .unwrap();

    assert_eq!(attempts, 3);
    let received = receiver.received();
    assert_eq!(
        received.iter().map(|r| r.answered).collect::<Vec<_>>(),
        vec![500, 500, 200]
    );
    assert!(
        received.iter().all(|r| r.body == body),
        "every attempt carries the same body"
    );
    assert_eq!(receiver.accepted_for("Cluster").len(), 1);
}

#[tokio::test]
async fn a_url_that_keeps_refusing_fails_after_bounded_attempts_without_leaking_the_signature() {
    let receiver = Receiver::start().await.unwrap();
    receiver.fail_next(100);
    let request = request_answered_at(&receiver.url("Cluster"));

    let error = ResponseSender::new()
        .put(
            &request.response_url,
            b"{}".to_vec(),
            Instant::now() + Duration::from_secs(10),
        )
        .await
        .unwrap_err();

    assert_eq!(receiver.received().len(), ResponseSender::ATTEMPTS as usize);
    let text = error.to_string();
    assert!(text.contains("HTTP 500"), "{text}");
    assert!(!text.contains(Receiver::SIGNATURE), "{text}");
}

#[tokio::test]
async fn retries_stop_at_the_deadline() {
    let receiver = Receiver::start().await.unwrap();
    receiver.fail_next(100);
    let request = request_answered_at(&receiver.url("Cluster"));
    let deadline = Instant::now() + Duration::from_millis(300);

    let result = ResponseSender::new()
        .put(&request.response_url, b"{}".to_vec(), deadline)
        .await;

    assert!(result.is_err());
    assert!(Instant::now() <= deadline + Duration::from_millis(50));
    assert!(receiver.received().len() < ResponseSender::ATTEMPTS as usize);
}

//! Web Push against a local test push service: a push arrives encrypted
//! so that only the subscribing browser reads it, signed with a VAPID
//! token the service accepts, and the service's answers (201, 404, 410,
//! 429, an untrusted certificate) become the outcomes the server acts on.

mod common;

use chat_server::push::{
    message_payload, summary_payload, PushOptions, SendFailure, SendOutcome, Sender,
    SenderSettings, Subscription, Urgency, VapidKey,
};
use common::push_service::{check_vapid, PushService, TestBrowser};
use std::path::PathBuf;
use std::time::Duration;

const CONTACT: &str = "mailto:ops@chat.example";

const OPTIONS: PushOptions = PushOptions {
    ttl: Duration::from_secs(3600),
    urgency: Urgency::High,
};

/// A sender with a fresh VAPID key, trusting `extra_roots` besides the
/// webpki roots.
fn sender(vapid: &VapidKey, extra_roots: Option<PathBuf>) -> Sender {
    Sender::new(SenderSettings {
        vapid: vapid.clone(),
        subject: CONTACT.to_owned(),
        extra_roots,
        timeout: Duration::from_secs(10),
        // The test push service is on loopback.
        allow_private_addresses: true,
    })
    .expect("sender")
}

/// A browser subscribed at `id` on `service`, and its subscription as the
/// server has it.
fn subscribe(service: &PushService, id: &str) -> (TestBrowser, Subscription) {
    let browser = TestBrowser::new();
    let subscription =
        Subscription::parse(&service.endpoint(id), &browser.p256dh(), &browser.auth())
            .expect("a browser's subscription is valid");
    (browser, subscription)
}

#[tokio::test]
async fn a_push_arrives_encrypted_for_the_browser_with_a_valid_vapid_token() {
    let service = PushService::start().await;
    let vapid = VapidKey::generate().expect("key");
    let sender = sender(&vapid, Some(service.write_ca("delivered")));
    let (browser, subscription) = subscribe(&service, "abc123");

    let payload = message_payload("lobby", 42, "alice", "hi @bob, lunch?").expect("payload");
    let outcome = sender.send(&subscription, &payload, OPTIONS).await;
    assert_eq!(outcome, SendOutcome::Delivered { status: 201 });

    let requests = service.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/push/abc123");
    assert_eq!(request.header("content-encoding"), Some("aes128gcm"));
    assert_eq!(
        request.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(request.header("ttl"), Some("3600"));
    assert_eq!(request.header("urgency"), Some("high"));
    let authorization = request.header("authorization").expect("authorization");
    let claims = check_vapid(authorization, &service.origin()).expect("the VAPID token is valid");
    assert_eq!(claims.key, vapid.public_key_base64());
    assert_eq!(claims.subject, CONTACT);

    let plaintext = browser
        .decrypt(&request.body)
        .expect("the browser decrypts it");
    let message: serde_json::Value = serde_json::from_slice(&plaintext).expect("JSON");
    assert_eq!(
        message,
        serde_json::json!({"room": "lobby", "id": 42, "author": "alice", "text": "hi @bob, lunch?"})
    );
    // Only the subscribing browser can: another one's keys fail.
    assert!(TestBrowser::new().decrypt(&request.body).is_err());
}

#[tokio::test]
async fn a_4000_character_message_still_fits_one_push() {
    let service = PushService::start().await;
    let vapid = VapidKey::generate().expect("key");
    let sender = sender(&vapid, Some(service.write_ca("long")));
    let (browser, subscription) = subscribe(&service, "long");

    let text = "ы".repeat(4000);
    let payload = message_payload("lobby", 7, "alice", &text).expect("payload");
    let outcome = sender.send(&subscription, &payload, OPTIONS).await;
    assert_eq!(outcome, SendOutcome::Delivered { status: 201 });

    let body = &service.requests()[0].body;
    assert!(body.len() <= 4096, "{} bytes", body.len());
    let message: serde_json::Value =
        serde_json::from_slice(&browser.decrypt(body).expect("decrypts")).expect("JSON");
    let sent = message["text"].as_str().expect("text");
    assert!(sent.ends_with('…'));
    assert!(sent.chars().count() > 1000, "kept as much as fits");
}

#[tokio::test]
async fn a_summary_push_decrypts_to_the_summary() {
    let service = PushService::start().await;
    let vapid = VapidKey::generate().expect("key");
    let sender = sender(&vapid, Some(service.write_ca("summary")));
    let (browser, subscription) = subscribe(&service, "summary");

    let payload = summary_payload("lobby", 12).expect("payload");
    assert_eq!(
        sender.send(&subscription, &payload, OPTIONS).await,
        SendOutcome::Delivered { status: 201 }
    );
    let plaintext = browser
        .decrypt(&service.requests()[0].body)
        .expect("decrypts");
    assert_eq!(plaintext, br#"{"room":"lobby","count":12,"summary":true}"#);
}

#[tokio::test]
async fn gone_and_not_found_say_drop_the_subscription() {
    let service = PushService::start().await;
    let vapid = VapidKey::generate().expect("key");
    let sender = sender(&vapid, Some(service.write_ca("gone")));
    let (_, subscription) = subscribe(&service, "gone");
    let payload = message_payload("lobby", 1, "alice", "hi").expect("payload");

    service.answer_with(410, None);
    assert_eq!(
        sender.send(&subscription, &payload, OPTIONS).await,
        SendOutcome::Gone { status: 410 }
    );
    service.answer_with(404, None);
    assert_eq!(
        sender.send(&subscription, &payload, OPTIONS).await,
        SendOutcome::Gone { status: 404 }
    );
    assert_eq!(service.requests().len(), 2);
}

#[tokio::test]
async fn too_many_requests_says_retry_later_after_its_delay() {
    let service = PushService::start().await;
    let vapid = VapidKey::generate().expect("key");
    let sender = sender(&vapid, Some(service.write_ca("throttled")));
    let (_, subscription) = subscribe(&service, "throttled");
    let payload = message_payload("lobby", 1, "alice", "hi").expect("payload");

    service.answer_with(429, Some("30"));
    assert_eq!(
        sender.send(&subscription, &payload, OPTIONS).await,
        SendOutcome::RetryLater {
            status: 429,
            retry_after: Some(Duration::from_secs(30))
        }
    );
    service.answer_with(429, None);
    assert_eq!(
        sender.send(&subscription, &payload, OPTIONS).await,
        SendOutcome::RetryLater {
            status: 429,
            retry_after: None
        }
    );
}

#[tokio::test]
async fn an_unknown_certificate_authority_fails_unless_its_root_is_passed() {
    let service = PushService::start().await;
    let vapid = VapidKey::generate().expect("key");
    let (browser, subscription) = subscribe(&service, "ca");
    let payload = message_payload("lobby", 1, "alice", "hi").expect("payload");

    let webpki_only = sender(&vapid, None);
    let outcome = webpki_only.send(&subscription, &payload, OPTIONS).await;
    assert!(
        matches!(outcome, SendOutcome::Failed(SendFailure::Tls(_))),
        "{outcome:?}"
    );
    assert!(service.requests().is_empty(), "nothing was sent");

    let trusting = sender(&vapid, Some(service.write_ca("ca")));
    assert_eq!(
        trusting.send(&subscription, &payload, OPTIONS).await,
        SendOutcome::Delivered { status: 201 }
    );
    let requests = service.requests();
    assert_eq!(requests.len(), 1);
    assert!(browser.decrypt(&requests[0].body).is_ok());
}

#[tokio::test]
async fn a_sender_for_production_does_not_push_to_loopback() {
    let service = PushService::start().await;
    let (_, subscription) = subscribe(&service, "internal");
    let production = Sender::new(SenderSettings {
        vapid: VapidKey::generate().expect("key"),
        subject: CONTACT.to_owned(),
        extra_roots: Some(service.write_ca("internal")),
        timeout: Duration::from_secs(10),
        allow_private_addresses: false,
    })
    .expect("sender");
    let payload = message_payload("lobby", 1, "alice", "hi").expect("payload");
    assert_eq!(
        production.send(&subscription, &payload, OPTIONS).await,
        SendOutcome::Failed(SendFailure::NotPublic {
            host: "127.0.0.1".to_owned()
        })
    );
    // A name is checked by the addresses it resolves to.
    let browser = TestBrowser::new();
    let by_name = Subscription::parse(
        &service
            .endpoint("internal")
            .replace("127.0.0.1", "localhost"),
        &browser.p256dh(),
        &browser.auth(),
    )
    .expect("subscription");
    assert_eq!(
        production.send(&by_name, &payload, OPTIONS).await,
        SendOutcome::Failed(SendFailure::NotPublic {
            host: "localhost".to_owned()
        })
    );
    assert!(service.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_push_service_that_never_answers_times_out() {
    // Accepts the connection and then says nothing, not even TLS.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let browser = TestBrowser::new();
    let subscription = Subscription::parse(
        &format!("https://{addr}/push/silent"),
        &browser.p256dh(),
        &browser.auth(),
    )
    .expect("subscription");
    let sender = Sender::new(SenderSettings {
        vapid: VapidKey::generate().expect("key"),
        subject: CONTACT.to_owned(),
        extra_roots: None,
        timeout: Duration::from_millis(300),
        allow_private_addresses: true,
    })
    .expect("sender");
    let payload = message_payload("lobby", 1, "alice", "hi").expect("payload");
    assert_eq!(
        sender.send(&subscription, &payload, OPTIONS).await,
        SendOutcome::Failed(SendFailure::Timeout)
    );
    held.abort();
}

#[tokio::test]
async fn a_closed_port_fails_to_connect() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let browser = TestBrowser::new();
    let subscription = Subscription::parse(
        &format!("https://{addr}/push/closed"),
        &browser.p256dh(),
        &browser.auth(),
    )
    .expect("subscription");
    let sender = sender(&VapidKey::generate().expect("key"), None);
    let payload = message_payload("lobby", 1, "alice", "hi").expect("payload");
    let outcome = sender.send(&subscription, &payload, OPTIONS).await;
    assert!(
        matches!(outcome, SendOutcome::Failed(SendFailure::Connect(_))),
        "{outcome:?}"
    );
}

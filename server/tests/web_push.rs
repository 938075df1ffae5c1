//! Web Push wired in (issue 24), through real sockets and a real HTTPS
//! push service on loopback (`common::push_service`), on one node and on
//! the cluster: refusals first (bad subscriptions, keyless names,
//! `--no-push`), then who is pushed what and when (only a called person
//! with no connection open and a level that calls them, encrypted for
//! their browser, with a valid VAPID token for the key every node offers), the per-browser limit's summary, a gone
//! subscription dropped, and a throttled push tried again.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chat_server::Config;
use chat_shared::{ClientFrame, ErrorCode, ForbiddenReason, NotifyLevel, PushKeys, ServerFrame};
use common::push_service::{check_vapid, PushService, Recorded, TestBrowser};
use common::{until, Client, TestServer, PATIENCE};
use std::time::Duration;

const ALICE: &str = "alice-key-0123456789abcdef0";
const BOB: &str = "bob-key-0123456789abcdef012";

/// The operator's contact the tests' servers give the push services.
const CONTACT: &str = "mailto:ops@chat.example";

/// A held join of `name` into `general`.
fn join(name: &str, key: Option<&str>) -> ClientFrame {
    common::join(name, Some("general"), key, None)
}

/// Settings that push to `service` (trusting its CA, on loopback).
fn pushing_to(service: &PushService, name: &str, window: Duration) -> Config {
    let mut config = common::unthrottled();
    config.push.push_relay_roots = Some(service.write_ca(name));
    config.push.push_window = window;
    config.push.push_contact = CONTACT.into();
    config
}

/// The error `client` is answered with next.
async fn error(client: &mut Client) -> (ErrorCode, Option<ForbiddenReason>, String) {
    until(client, |frame| match frame {
        ServerFrame::Error {
            code,
            reason,
            message,
            ..
        } => Some((code, reason, message)),
        _ => None,
    })
    .await
}

/// `browser`'s subscription at `endpoint`, as `push_subscribe`.
fn subscribe(endpoint: &str, browser: &TestBrowser) -> ClientFrame {
    ClientFrame::PushSubscribe {
        endpoint: endpoint.into(),
        keys: PushKeys {
            p256dh: browser.p256dh(),
            auth: browser.auth(),
        },
    }
}

/// Subscribes `client`'s browser and waits for `push_subscribed`.
async fn subscribed(client: &mut Client, endpoint: &str, browser: &TestBrowser) {
    client.send(subscribe(endpoint, browser)).await;
    let answered = until(client, |frame| match frame {
        ServerFrame::PushSubscribed { endpoint } => Some(endpoint),
        ServerFrame::Error { message, .. } => panic!("push_subscribe refused: {message}"),
        _ => None,
    })
    .await;
    assert_eq!(answered, endpoint);
}

/// Posts `text` and waits for it to come back.
async fn post(client: &mut Client, text: &str) -> u64 {
    client
        .send(ClientFrame::Message {
            text: text.into(),
            client_id: None,
            reply_to: None,
            attachments: Vec::new(),
        })
        .await;
    until(client, |frame| match frame {
        ServerFrame::Message(message) if message.text == text => Some(message.id),
        _ => None,
    })
    .await
}

/// Waits until `service` has received `count` requests; all of them.
async fn requests(service: &PushService, count: usize) -> Vec<Recorded> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let received = service.requests();
        if received.len() >= count {
            return received;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the push service got {} pushes, not {count}",
            received.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a push said, as the browser reads it.
fn opened(browser: &TestBrowser, request: &Recorded) -> serde_json::Value {
    let plain = browser
        .decrypt(&request.body)
        .expect("the browser decrypts it");
    serde_json::from_slice(&plain).expect("the payload is JSON")
}

/// alice leaves; returns once `bob` has seen her go.
async fn after_leaving(bob: &mut Client, alice: &mut Client) {
    after_leaving_as(bob, alice, "alice").await;
}

/// `name`'s `client` leaves; returns once `bob` has seen them go.
async fn after_leaving_as(bob: &mut Client, client: &mut Client, name: &str) {
    client.leave().await;
    until(bob, |frame| match frame {
        ServerFrame::UserLeft { username, .. } if username == name => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test]
async fn bad_subscriptions_keyless_names_and_no_push_get_clear_refusals() {
    let service = PushService::start().await;
    let server = TestServer::start_with(pushing_to(&service, "refusals", PUSH_WINDOW)).await;
    let browser = TestBrowser::new();
    // A keyless name is offered no key and may not subscribe.
    let mut keyless = server.connect().await;
    assert_eq!(keyless.join_with(join("dora", None)).await.push_key, None);
    keyless
        .send(subscribe(&service.endpoint("dora"), &browser))
        .await;
    let (code, reason, _) = error(&mut keyless).await;
    assert_eq!(
        (code, reason),
        (ErrorCode::Forbidden, Some(ForbiddenReason::NotHeld))
    );
    // A held name is offered the same 65-byte key on every node.
    let mut alice = server.connect().await;
    let key = alice.join_with(join("alice", Some(ALICE))).await.push_key;
    let key = key.expect("a held name is offered the push key");
    let point = URL_SAFE_NO_PAD.decode(&key).expect("base64url");
    assert_eq!((point.len(), point[0]), (65, 4));
    let mut bob = server.connect().await;
    let bobs = bob.join_with(join("bob", Some(BOB))).await.push_key;
    assert_eq!(bobs.as_deref(), Some(key.as_str()));
    // Each broken part is named.
    let good = browser.p256dh();
    let cases = [
        ("http://push.example/1", good.as_str(), "endpoint"),
        ("not a url", good.as_str(), "endpoint"),
        ("https://push.example/1", "AAAA", "p256dh"),
        ("https://push.example/1", "!!!", "p256dh"),
    ];
    for (endpoint, p256dh, part) in cases {
        alice
            .send(ClientFrame::PushSubscribe {
                endpoint: endpoint.into(),
                keys: PushKeys {
                    p256dh: p256dh.into(),
                    auth: browser.auth(),
                },
            })
            .await;
        let (code, _, message) = error(&mut alice).await;
        assert_eq!(code, ErrorCode::InvalidSubscription, "{endpoint} {p256dh}");
        assert!(message.contains(part), "{message:?} names {part}");
    }
    alice
        .send(ClientFrame::PushSubscribe {
            endpoint: "https://push.example/1".into(),
            keys: PushKeys {
                p256dh: good.clone(),
                auth: "c2hvcnQ".into(),
            },
        })
        .await;
    let (code, _, message) = error(&mut alice).await;
    assert_eq!(code, ErrorCode::InvalidSubscription);
    assert!(message.contains("auth"), "{message:?}");
    // A good one, after all those, is kept and pushed to.
    subscribed(&mut alice, &service.endpoint("alice"), &browser).await;
    after_leaving(&mut bob, &mut alice).await;
    post(&mut bob, "@alice now?").await;
    let received = requests(&service, 1).await;
    assert_eq!(received.len(), 1);
    assert_eq!(opened(&browser, &received[0])["text"], "@alice now?");
    server.stop().await.expect("clean stop");

    // With --no-push: no key offered, and subscribing is refused.
    let mut config = common::unthrottled();
    config.push.no_push = true;
    let server = TestServer::start_with(config).await;
    let mut alice = server.connect().await;
    assert_eq!(
        alice.join_with(join("alice", Some(ALICE))).await.push_key,
        None
    );
    alice
        .send(subscribe(&service.endpoint("off"), &browser))
        .await;
    let (code, _, message) = error(&mut alice).await;
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(message.contains("--no-push"), "{message:?}");
    server.stop().await.expect("clean stop");
}

/// The per-browser window in the tests that do not wait for a summary.
const PUSH_WINDOW: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_called_person_with_no_connection_open_is_pushed_and_no_one_else() {
    let service = PushService::start().await;
    let server = TestServer::start_with(pushing_to(&service, "called", PUSH_WINDOW)).await;
    let (laptop, carols) = (TestBrowser::new(), TestBrowser::new());
    let mut alice = server.connect().await;
    let key = alice
        .join_with(join("alice", Some(ALICE)))
        .await
        .push_key
        .expect("key");
    subscribed(&mut alice, &service.endpoint("alice"), &laptop).await;
    let mut carol = server.connect().await;
    carol
        .join_with(join("carol", Some("carol-key-0123456789abcdef")))
        .await;
    subscribed(&mut carol, &service.endpoint("carol"), &carols).await;
    // dave wants nothing from #general.
    let mut dave = server.connect().await;
    dave.join_with(join("dave", Some("dave-key-0123456789abcdef0")))
        .await;
    subscribed(&mut dave, &service.endpoint("dave"), &TestBrowser::new()).await;
    dave.send(ClientFrame::SetLevel {
        room: "general".into(),
        level: NotifyLevel::None,
    })
    .await;
    until(&mut dave, |frame| match frame {
        ServerFrame::Level { level, .. } => Some(level),
        _ => None,
    })
    .await;
    let mut bob = server.connect().await;
    bob.join_with(join("bob", Some(BOB))).await;
    after_leaving_as(&mut bob, &mut carol, "carol").await;
    after_leaving_as(&mut bob, &mut dave, "dave").await;
    // alice is here: she sees the message, and is not pushed. Nobody is
    // called by the next one, and dave, gone, chose nothing. carol is
    // gone and called: her push, after these in the node's one queue,
    // says they were passed over.
    post(&mut bob, "@alice while you are here").await;
    post(&mut bob, "nobody in particular").await;
    post(&mut bob, "@dave you said nothing").await;
    post(&mut bob, "@carol are you coming?").await;
    let received = requests(&service, 1).await;
    assert_eq!(received[0].path, "/push/carol");
    assert_eq!(
        opened(&carols, &received[0])["text"],
        "@carol are you coming?"
    );
    // alice's browser cannot read carol's push.
    assert!(laptop.decrypt(&received[0].body).is_err());
    // Now alice is gone too, and called.
    after_leaving(&mut bob, &mut alice).await;
    let id = post(&mut bob, "@alice lunch at noon?").await;
    let received = requests(&service, 2).await;
    assert_eq!(received.len(), 2, "one push each");
    let push = &received[1];
    assert_eq!(
        (push.method.as_str(), push.path.as_str()),
        ("POST", "/push/alice")
    );
    assert_eq!(push.header("content-encoding"), Some("aes128gcm"));
    let authorization = push.header("authorization").expect("VAPID");
    let claims = check_vapid(authorization, &service.origin()).expect("a valid VAPID token");
    assert_eq!(claims.key, key, "signed with the key joins are offered");
    assert_eq!(claims.subject, CONTACT);
    let said = opened(&laptop, push);
    assert_eq!(said["room"], "general");
    assert_eq!(said["id"], id);
    assert_eq!(said["author"], "bob");
    assert_eq!(said["text"], "@alice lunch at noon?");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_flood_becomes_a_summary_and_a_gone_subscription_is_dropped() {
    let service = PushService::start().await;
    let window = Duration::from_secs(3);
    let server = TestServer::start_with(pushing_to(&service, "flood", window)).await;
    let browser = TestBrowser::new();
    let mut alice = server.connect().await;
    alice.join_with(join("alice", Some(ALICE))).await;
    subscribed(&mut alice, &service.endpoint("old"), &browser).await;
    let mut bob = server.connect().await;
    bob.join_with(join("bob", Some(BOB))).await;
    after_leaving(&mut bob, &mut alice).await;
    for n in 1..=5 {
        post(&mut bob, &format!("@alice ping {n}")).await;
    }
    // Three go out at once; the other two become one summary when the
    // window ends.
    let received = requests(&service, 4).await;
    let said: Vec<_> = received
        .iter()
        .map(|request| opened(&browser, request))
        .collect();
    // Sent side by side, they may arrive in any order.
    let mut first: Vec<_> = said[..3].iter().map(|push| push["text"].clone()).collect();
    first.sort_by_key(ToString::to_string);
    assert_eq!(first, ["@alice ping 1", "@alice ping 2", "@alice ping 3"]);
    assert_eq!(said[3]["summary"], true);
    assert_eq!(said[3]["count"], 2);
    assert_eq!(said[3]["room"], "general");
    // The browser unsubscribed behind our back: the service answers 410
    // (the summary opened a window with room for two more), and the
    // subscription is dropped.
    service.answer_with(410, None);
    post(&mut bob, "@alice still there?").await;
    requests(&service, 5).await;
    service.answer_with(201, None);
    // Her next browser gets the next push, and the old one nothing.
    let mut alice = server.connect().await;
    alice.join_with(join("alice", Some(ALICE))).await;
    let phone = TestBrowser::new();
    subscribed(&mut alice, &service.endpoint("new"), &phone).await;
    after_leaving(&mut bob, &mut alice).await;
    post(&mut bob, "@alice on the phone?").await;
    let received = requests(&service, 6).await;
    assert_eq!(received.len(), 6);
    assert_eq!(received[5].path, "/push/new");
    assert_eq!(opened(&phone, &received[5])["text"], "@alice on the phone?");
    // A busy push service says "later": the push is tried again, once,
    // after its Retry-After.
    service.answer_with(429, Some("1"));
    post(&mut bob, "@alice are you busy?").await;
    requests(&service, 7).await;
    service.answer_with(201, None);
    let received = requests(&service, 8).await;
    assert_eq!(received[7].path, "/push/new");
    assert_eq!(opened(&phone, &received[7])["text"], "@alice are you busy?");
    server.stop().await.expect("clean stop");
}

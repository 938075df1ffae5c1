//! Who is online in a large room: past `PRESENCE_LIST_LIMIT` users the
//! members are told how many they are, not each arrival by name; `welcome`
//! lists the first of them and `users` pages through the rest.

mod common;

use chat_shared::{username_key, ClientFrame, ServerFrame, PRESENCE_LIST_LIMIT};
use common::TestServer;

fn name(index: usize) -> String {
    format!("m{index:03}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_room_is_counted_listed_in_part_and_paged() {
    let server = TestServer::start().await;
    let mut watcher = server.connect().await;
    assert_eq!(watcher.join("watcher").await, ["watcher"]);
    // Up to the limit, each arrival is announced by name.
    let mut members = Vec::new();
    for index in 1..PRESENCE_LIST_LIMIT {
        let mut client = server.connect().await;
        client.join(&name(index)).await;
        members.push(client);
        match watcher.recv().await {
            ServerFrame::UserJoined { username, count } => {
                assert_eq!(username, name(index));
                assert_eq!(count as usize, index + 1);
            }
            other => panic!("expected user_joined, got {other:?}"),
        }
    }

    // One more: the joiner's welcome lists the first names and itself,
    // and says how many there are; the others hear only the count.
    let mut late = server.connect().await;
    let welcome = late.join_with(ClientFrame::join("zzz")).await;
    assert_eq!(welcome.users.len(), PRESENCE_LIST_LIMIT);
    assert_eq!(welcome.users.last().map(String::as_str), Some("zzz"));
    assert_eq!(welcome.users[0], "m001");
    assert_eq!(welcome.online, Some(PRESENCE_LIST_LIMIT as u32 + 1));
    match watcher.recv().await {
        ServerFrame::Online { count } => assert_eq!(count as usize, PRESENCE_LIST_LIMIT + 1),
        other => panic!("expected online, not a name by name update: {other:?}"),
    }

    // The pages hold everyone once, ordered by key.
    let mut everyone: Vec<String> = (1..PRESENCE_LIST_LIMIT).map(name).collect();
    everyone.extend(["watcher".to_owned(), "zzz".to_owned()]);
    everyone.sort_by_key(|name| username_key(name));
    assert_eq!(watcher.all_users(30).await, everyone);
    // A page past the end is empty; a page without a limit holds the list size.
    watcher
        .send(ClientFrame::Users {
            after: Some("zzz".into()),
            limit: None,
        })
        .await;
    assert!(matches!(
        watcher.recv().await,
        ServerFrame::Users { users, next: None, .. } if users.is_empty()
    ));
    assert_eq!(late.all_users(u32::MAX).await, everyone);

    // Back to the limit: everyone gets the whole list again, then name by
    // name updates follow.
    late.socket.close(None).await.expect("close");
    everyone.retain(|name| name != "zzz");
    match watcher.recv().await {
        ServerFrame::Users {
            users,
            online,
            next: None,
        } => {
            assert_eq!(users, everyone);
            assert_eq!(online as usize, PRESENCE_LIST_LIMIT);
        }
        other => panic!("expected the whole list, got {other:?}"),
    }
    members[0].socket.close(None).await.expect("close");
    match watcher.recv().await {
        ServerFrame::UserLeft { username, count } => {
            assert_eq!(username, name(1));
            assert_eq!(count as usize, PRESENCE_LIST_LIMIT - 1);
        }
        other => panic!("expected user_left, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_before_joining_is_refused() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    client
        .send(ClientFrame::Users {
            after: None,
            limit: None,
        })
        .await;
    assert!(matches!(
        client.recv().await,
        ServerFrame::Error {
            code: chat_shared::ErrorCode::NotJoined,
            ..
        }
    ));
}

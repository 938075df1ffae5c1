//! A plain WebSocket client of the chat, for the someone in a room who is
//! not a browser: filling a room's history (files too) before a page
//! opens, a member of another room, a sender whose messages a page is
//! timed on.

use chat_shared::{ClientFrame, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::page::PATIENCE;
use crate::TestServer;

/// One joined connection, as the server's own socket tests use them.
pub struct ChatClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl ChatClient {
    /// Joins `room` (the default one when `None`) as `name` on `server`,
    /// once the welcome has come.
    pub async fn join(server: &TestServer, name: &str, room: Option<&str>) -> Self {
        let join = ClientFrame::Join {
            username: name.into(),
            room: room.map(str::to_owned),
            since: None,
            resume: None,
            join_code: None,
            author_key: None,
            link_code: None,
            device: None,
        };
        Self::join_with(server, &join).await.0
    }

    /// Joins with `join` as it is (a `since`, an author key), once the
    /// welcome has come; returns the welcome too, for its history.
    pub async fn join_with(server: &TestServer, join: &ClientFrame) -> (Self, ServerFrame) {
        let url = format!("ws://{}/ws", server.addr());
        let (socket, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
            .await
            .expect("the handshake in time")
            .expect("a WebSocket to the server");
        let mut client = Self { socket };
        client.send(join).await;
        loop {
            match client.next_frame().await {
                welcome @ ServerFrame::Welcome(chat_shared::Welcome { .. }) => {
                    return (client, welcome)
                }
                ServerFrame::Error { code, message, .. } => {
                    panic!("cannot join with {join:?}: {code:?} {message}")
                }
                _ => {}
            }
        }
    }

    /// Sends one frame.
    pub async fn send(&mut self, frame: &ClientFrame) {
        self.socket
            .send(Message::text(frame.encode()))
            .await
            .expect("the frame is sent");
    }

    /// The next protocol frame, within [`PATIENCE`].
    pub async fn next_frame(&mut self) -> ServerFrame {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a frame in time")
                .expect("the socket stays open")
                .expect("a frame");
            if let Message::Text(text) = message {
                return ServerFrame::decode(&text).expect("a frame of the protocol");
            }
        }
    }

    /// The next message the server confirms; a refusal fails the test.
    pub async fn next_message(&mut self) -> chat_shared::ChatMessage {
        loop {
            match self.next_frame().await {
                ServerFrame::Message(message) => return message,
                ServerFrame::Error { code, message, .. } => {
                    panic!("the server refused a message: {code:?} {message}")
                }
                _ => {}
            }
        }
    }

    /// Sends `text` and waits until the server broadcasts it back: then it
    /// is stored and on its way to every page.
    pub async fn say(&mut self, text: &str, client_id: String) {
        self.send(&ClientFrame::Message {
            text: text.to_owned(),
            client_id: Some(client_id),
            reply_to: None,
            attachments: Vec::new(),
        })
        .await;
        while self.next_message().await.text != text {}
    }

    /// Uploads `bytes` as a file called `name` to this room (an upload
    /// token, then `POST /files`, as the app does) and sends it with
    /// `caption`; returns once the server broadcasts the message back. For
    /// a history with files in it, without a browser's file picker.
    pub async fn share_file(
        &mut self,
        server: &TestServer,
        name: &str,
        bytes: &[u8],
        caption: &str,
        client_id: String,
    ) {
        self.send(&ClientFrame::UploadToken).await;
        let token = loop {
            if let ServerFrame::UploadToken { token, .. } = self.next_frame().await {
                break token;
            }
        };
        let (status, body) = post(
            server,
            &format!("/files?upload={client_id}&name={name}"),
            &token,
            bytes,
        )
        .await;
        assert_eq!(status, 201, "the upload is taken: {body}");
        let file: chat_shared::files::Attachment =
            serde_json::from_str(&body).expect("the uploaded file");
        self.send(&ClientFrame::Message {
            text: caption.to_owned(),
            client_id: Some(client_id),
            reply_to: None,
            attachments: vec![file.id.clone()],
        })
        .await;
        while !self
            .next_message()
            .await
            .attachments
            .iter()
            .any(|a| a.id == file.id)
        {}
    }

    /// Closes with a close frame: the user leaves at once, not after a grace.
    pub async fn leave(mut self) {
        self.socket.close(None).await.expect("close");
    }
}

/// `POST path` on `server` with `bytes` as the body and `token` as its
/// bearer, over plain HTTP/1.1: the answer's status and body.
async fn post(server: &TestServer, path: &str, token: &str, bytes: &[u8]) -> (u16, String) {
    let mut stream = tokio::time::timeout(PATIENCE, TcpStream::connect(server.addr()))
        .await
        .expect("a connection in time")
        .expect("a connection to the server");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr(),
        bytes.len()
    );
    stream.write_all(head.as_bytes()).await.expect("the head");
    stream.write_all(bytes).await.expect("the body");
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("the answer in time")
        .expect("the answer");
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status");
    (status, body.to_owned())
}

//! Handshakes and plain HTTP requests with chosen headers, for the tests of
//! what the server refuses before a WebSocket exists.
#![allow(dead_code)] // each test binary uses a different part of this

use crate::common::{Client, TestServer};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Error;

/// A refused handshake: the HTTP status and body.
#[derive(Debug)]
pub(crate) struct Refused {
    pub status: u16,
    pub body: String,
}

/// Opens `/ws` with extra request headers (`host` replaces the URL's);
/// `Err` if the server answered
/// with an HTTP error instead of 101.
pub(crate) async fn try_connect(
    server: &TestServer,
    headers: &[(&str, &str)],
) -> Result<Client, Refused> {
    let mut request = server
        .ws_url()
        .into_client_request()
        .expect("valid request");
    for (name, value) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
            .expect("valid header name");
        let value = HeaderValue::from_str(value).expect("valid header value");
        // A request has one Host: a test naming it replaces the URL's.
        if name == tokio_tungstenite::tungstenite::http::header::HOST {
            request.headers_mut().insert(name, value);
        } else {
            request.headers_mut().append(name, value);
        }
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, response)) => {
            assert_eq!(response.status().as_u16(), 101);
            Ok(Client { socket })
        }
        Err(Error::Http(response)) => Err(Refused {
            status: response.status().as_u16(),
            body: String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                .into_owned(),
        }),
        Err(other) => panic!("handshake failed without an HTTP answer: {other}"),
    }
}

/// A plain HTTP/1.1 GET; returns the status, headers (lower-cased names)
/// and body.
pub(crate) async fn get(server: &TestServer, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    get_from(server.addr, path, &[]).await
}

/// A plain HTTP/1.1 GET to any address, with extra request headers.
pub(crate) async fn get_from(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .expect("read response");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .expect("status code");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers, response[split + 4..].to_vec())
}

/// The value of a response header, or "" if it is missing.
pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

//! Uploads beside the chat (issue 25): do ten 25 MB files arriving at once
//! slow the chat down, and does the server hold them in memory?
//!
//! 20 clients in one room, 5 of them posting 50 messages a second in all,
//! everyone reading. Two windows on the same server, the same clients and
//! the same senders: first the chat alone; then the same chat while ten
//! clients of their own (other names, so no name's hourly quota decides
//! anything) each `POST /files` a 25 MB body at once, over plain HTTP/1.1
//! in 64 KiB writes of random bytes (nothing compresses, and no two files
//! are the same bytes, which the server would store once), from a thread
//! and runtime of their own. Rounds of ten
//! follow each other until the window has lasted as long as the first;
//! only the uploads differ between the windows. Measured: the chat's p50
//! and p99 in each and the rise of p99, the uploads' throughput, and the
//! server's RSS, sampled every 100 ms, at its peak against before.

use super::{join_one_room, note_closed, paced_senders, report_latency, Run};
use crate::client::{connect, join, name_of, Tally};
use crate::server_stats::Server;
use crate::Report;
use chat_shared::{ClientFrame, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

/// Clients in the room, senders among them.
const CHATTERS: usize = 20;
/// Of those, the ones posting.
const SENDERS: usize = 5;
/// Messages a second in all.
const RATE: f64 = 50.0;
/// Uploads running at once.
const UPLOADS: usize = 10;
/// One upload's body: 25 MB, under the default `--max-upload` (25 MiB).
const UPLOAD_BYTES: u64 = 25_000_000;
/// One write of an upload's body.
const CHUNK: usize = 64 * 1024;
/// Rounds at most: the default `--upload-quota` (500 MiB a name an hour)
/// takes twenty 25 MB files from each uploader.
const MAX_ROUNDS: usize = 20;
/// How often the server's RSS is read.
const RSS_EVERY: Duration = Duration::from_millis(100);
/// Before the first window: the senders at steady state.
const WARMUP: Duration = Duration::from_secs(2);
/// The random bytes bodies are cut from ([`noise`]).
const NOISE_BYTES: usize = 4 * 1024 * 1024;
/// The longest an upload token or an upload's answer may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// One uploader: a name with its upload token for the room.
struct Uploader {
    /// Its client index: which node it posts to.
    index: usize,
    /// `Authorization: Bearer` for `POST /files`.
    token: String,
}

/// What came of one `POST /files`.
struct Posted {
    /// The HTTP status, 201 for a stored file.
    status: u16,
    /// The answer's body, for a note when it is not 201.
    body: String,
    /// From the connect to the whole answer.
    seconds: f64,
}

/// Runs the scenario.
pub(crate) async fn run(run: &Run, report: &Report) -> Result<(), String> {
    let clients = run.count(CHATTERS, 4);
    let senders = run.count(SENDERS, 2).min(clients);
    let rate = RATE * run.scale.min(1.0);
    let (mut crowd, tally) =
        join_one_room(run, report, "uploads", clients, Duration::from_secs(60)).await;
    let uploaders = match upload_tokens(&run.target, clients).await {
        Ok(uploaders) => uploaders,
        Err(why) => {
            report.note(&format!("uploads: n/a, {why}"));
            return Ok(());
        }
    };
    let senders: Vec<_> = crowd
        .members
        .drain(..senders.min(crowd.members.len()))
        .collect();
    let period = Duration::from_secs_f64(senders.len() as f64 / rate.max(1.0));
    let pacing = paced_senders(senders, period);
    tokio::time::sleep(WARMUP).await;

    // Window A: the chat alone.
    let window = run.window(10.0);
    let cpu = run.cpu_meter();
    let echoed_before = tally.echoed.load(Ordering::Relaxed);
    let started = Instant::now();
    tally.latencies.open();
    let ((), alone_rss) = peak_rss_while(run.server.as_ref(), tokio::time::sleep(window)).await;
    let alone_p99 = report_latency(report, &tally, "chat_only");
    report_window(report, &tally, "chat_only", started, echoed_before, cpu);

    // Window B: the same chat, ten uploads at once, round after round.
    let rss_before = run.server.as_ref().and_then(Server::rss_kib);
    let cpu = run.cpu_meter();
    let echoed_before = tally.echoed.load(Ordering::Relaxed);
    let started = Instant::now();
    tally.latencies.open();
    let (rounds, peak_rss) = peak_rss_while(
        run.server.as_ref(),
        upload_rounds_apart(run.target.clone(), uploaders, window),
    )
    .await;
    let uploading_p99 = report_latency(report, &tally, "uploading");
    let seconds = started.elapsed().as_secs_f64();
    report_window(report, &tally, "uploading", started, echoed_before, cpu);
    drop(pacing);

    if let (Some(alone), Some(uploading)) = (alone_p99, uploading_p99) {
        report.result("p99_increase_ms", uploading - alone);
    }
    report_uploads(report, &rounds?, seconds);
    let mb = |kib: u64| kib as f64 * 1024.0 / 1e6;
    if let Some(kib) = alone_rss {
        report.result("chat_only_rss_peak_mb", mb(kib));
    }
    if let (Some(before), Some(peak)) = (rss_before, peak_rss) {
        report.result("rss_before_mb", mb(before));
        report.result("uploading_rss_peak_mb", mb(peak));
        report.result("rss_growth_mb", mb(peak.saturating_sub(before)));
    }
    note_closed(report, "uploads", &tally);
    Ok(())
}

/// A window's posting rate and the server's CPU share over it.
fn report_window(
    report: &Report,
    tally: &Tally,
    phase: &str,
    started: Instant,
    echoed_before: u64,
    cpu: Option<crate::server_stats::CpuMeter>,
) {
    let seconds = started.elapsed().as_secs_f64();
    let posted = tally.echoed.load(Ordering::Relaxed) - echoed_before;
    report.result(&format!("{phase}_seconds"), seconds);
    report.result(&format!("{phase}_messages_per_s"), posted as f64 / seconds);
    if let Some(percent) = cpu.and_then(|meter| meter.percent()) {
        report.result(&format!("{phase}_cpu_percent"), percent);
    }
}

/// The uploads' outcome: how many were stored, their throughput over the
/// window, the slowest one, and the first refusal.
fn report_uploads(report: &Report, posted: &[Posted], seconds: f64) {
    let stored = posted.iter().filter(|post| post.status == 201).count();
    report.result("uploads_ok", stored as f64);
    report.result("uploads_failed", (posted.len() - stored) as f64);
    report.result("rounds", posted.len().div_ceil(UPLOADS) as f64);
    report.result(
        "uploads_mb_per_s",
        stored as f64 * UPLOAD_BYTES as f64 / 1e6 / seconds,
    );
    if let Some(slowest) = posted.iter().map(|post| post.seconds).reduce(f64::max) {
        report.result("upload_s_max", slowest);
    }
    if let Some(refused) = posted.iter().find(|post| post.status != 201) {
        report.note(&format!(
            "uploads: an upload was answered {}: {}",
            refused.status, refused.body
        ));
    }
}

/// Runs `work`, reading the server's RSS every [`RSS_EVERY`] meanwhile:
/// its output and the highest RSS seen, in KiB (None without a pid).
async fn peak_rss_while<F: Future>(server: Option<&Server>, work: F) -> (F::Output, Option<u64>) {
    let mut peak: Option<u64> = None;
    let mut sample = || {
        if let Some(kib) = server.and_then(Server::rss_kib) {
            peak = Some(peak.map_or(kib, |peak| peak.max(kib)));
        }
    };
    let mut ticks = tokio::time::interval(RSS_EVERY);
    let mut work = std::pin::pin!(work);
    let output = loop {
        tokio::select! {
            output = &mut work => break output,
            _ = ticks.tick() => sample(),
        }
    };
    sample();
    (output, peak)
}

/// Ten names (client indices from `first`) join the room, each asks for
/// an upload token, and leaves: the tokens are signed and outlive the
/// socket. An error says why there are none (a server without files).
async fn upload_tokens(
    target: &crate::client::Target,
    first: usize,
) -> Result<Vec<Uploader>, String> {
    let mut uploaders = Vec::with_capacity(UPLOADS);
    for index in first..first + UPLOADS {
        let mut socket = connect(target, index).await?;
        join(&mut socket, &name_of(index), None).await?;
        socket
            .send(Message::text(ClientFrame::UploadToken.encode()))
            .await
            .map_err(|e| format!("send upload_token: {e}"))?;
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, async {
            while let Some(frame) = socket.next().await {
                let Message::Text(text) = frame.map_err(|e| format!("upload_token: {e}"))? else {
                    continue;
                };
                match ServerFrame::decode(&text) {
                    Ok(ServerFrame::UploadToken {
                        token, max_bytes, ..
                    }) => return Ok((token, max_bytes)),
                    Ok(ServerFrame::Error { code, message, .. }) => {
                        return Err(format!(
                            "the server refused upload_token: {code:?} {message}"
                        ))
                    }
                    _ => {}
                }
            }
            Err("closed before answering upload_token".to_owned())
        })
        .await
        .map_err(|_| "the server did not answer upload_token (no files)".to_owned())??;
        let (token, max_bytes) = answer;
        if max_bytes < UPLOAD_BYTES {
            return Err(format!(
                "the server takes files up to {max_bytes} bytes, not {UPLOAD_BYTES}: raise --max-upload"
            ));
        }
        let _ = socket.close(None).await;
        uploaders.push(Uploader { index, token });
    }
    Ok(uploaders)
}

/// [`upload_rounds`] on a thread and runtime of their own: the chat
/// clients' runtime, which stamps and times every delivery, never waits
/// behind the uploads' writes, so what the latency shows is the
/// server's.
async fn upload_rounds_apart(
    target: crate::client::Target,
    uploaders: Vec<Uploader>,
    window: Duration,
) -> Result<Vec<Posted>, String> {
    let (done, rounds) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("uploads".into())
        .spawn(move || {
            let outcome = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("the uploads' runtime: {e}"))
                .and_then(|runtime| runtime.block_on(upload_rounds(&target, &uploaders, window)));
            let _ = done.send(outcome);
        })
        .map_err(|e| format!("the uploads' thread: {e}"))?;
    rounds
        .await
        .map_err(|_| "the uploads' thread stopped".to_owned())?
}

/// Rounds of one upload per uploader at once, until `window` has passed
/// (at least one round; at most [`MAX_ROUNDS`], or until one is refused):
/// every upload's outcome.
async fn upload_rounds(
    target: &crate::client::Target,
    uploaders: &[Uploader],
    window: Duration,
) -> Result<Vec<Posted>, String> {
    let started = Instant::now();
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
        ^ u64::from(std::process::id()) << 32;
    let mut posted = Vec::new();
    for round in 0..MAX_ROUNDS {
        let mut uploads = JoinSet::new();
        for (n, uploader) in uploaders.iter().enumerate() {
            let seed = salt.wrapping_add((round * UPLOADS + n) as u64 * 0x9E37_79B9_7F4A_7C15);
            let addr = target.addr_of(uploader.index);
            let token = uploader.token.clone();
            uploads.spawn(async move { post_file(addr, &token, seed).await });
        }
        while let Some(done) = uploads.join_next().await {
            posted.push(done.map_err(|e| format!("upload task: {e}"))??);
        }
        if started.elapsed() >= window || posted.iter().any(|post| post.status != 201) {
            break;
        }
    }
    Ok(posted)
}

/// `POST /files` of [`UPLOAD_BYTES`] bytes drawn from `seed`, streamed in
/// [`CHUNK`] writes, and the answer read to its end (`Connection: close`).
async fn post_file(addr: SocketAddr, token: &str, seed: u64) -> Result<Posted, String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("upload connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let head = format!(
        "POST /files?upload=bench-{seed:016x}&name=bench-{seed:016x}.bin HTTP/1.1\r\n\
         Host: {addr}\r\n\
         Authorization: Bearer {token}\r\n\
         Content-Type: application/octet-stream\r\n\
         Content-Length: {UPLOAD_BYTES}\r\n\
         Connection: close\r\n\r\n"
    );
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| format!("upload head: {e}"))?;
    let noise = noise();
    let mut chunk = vec![0; CHUNK];
    let mut left = UPLOAD_BYTES;
    let mut written = 0u64;
    while left > 0 {
        let len = usize::try_from(left).map_or(CHUNK, |left| left.min(CHUNK));
        stamp(&mut chunk[..len], noise, seed, written);
        written += 1;
        // A server that answers before the end (a refusal) closes: its
        // answer is still there to read.
        if stream.write_all(&chunk[..len]).await.is_err() {
            break;
        }
        left -= len as u64;
    }
    let mut answer = Vec::new();
    tokio::time::timeout(ANSWER_TIMEOUT, stream.read_to_end(&mut answer))
        .await
        .map_err(|_| format!("no answer to an upload within {ANSWER_TIMEOUT:?}"))?
        .map_err(|e| format!("upload answer: {e}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {answer:.200}"))?;
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .chars()
        .take(300)
        .collect();
    Ok(Posted {
        status,
        body,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The random bytes every upload's body is cut from, made once:
/// [`NOISE_BYTES`] of splitmix64.
fn noise() -> &'static [u8] {
    static NOISE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    NOISE.get_or_init(|| {
        let mut state = 0x5EED_u64;
        let mut bytes = vec![0; NOISE_BYTES];
        for eight in bytes.chunks_mut(8) {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            eight.copy_from_slice(&z.to_le_bytes()[..eight.len()]);
        }
        bytes
    })
}

/// Fills `chunk` number `n` of the upload `seed`: random bytes that do
/// not compress, cut from [`noise`] at a place the seed and `n` choose,
/// with the seed and `n` written over its first 16 bytes, so no two
/// uploads (and no two chunks) are the same bytes. Copying, not drawing
/// random numbers, keeps the load generator's share of the CPU small.
fn stamp(chunk: &mut [u8], noise: &[u8], seed: u64, n: u64) {
    let spare = (noise.len() - CHUNK) as u64;
    let start = usize::try_from(seed.wrapping_add(n.wrapping_mul(7919)) % spare).unwrap_or(0);
    chunk.copy_from_slice(&noise[start..start + chunk.len()]);
    for (at, bytes) in [(0, seed), (8, n)] {
        if let Some(place) = chunk.get_mut(at..at + 8) {
            place.copy_from_slice(&bytes.to_le_bytes());
        }
    }
}

//! Every case runs against both kinds of store: a folder (a temp dir) and a
//! real S3 server (`s3s-fs`, one per test binary, a fresh bucket per test).

use std::path::PathBuf;

use bytes::Bytes;
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use super::{BlobError, Blobs, S3Url, PART_SIZE};

/// One store under test, with what keeps it alive.
struct Store {
    /// The blobs under test.
    blobs: Blobs,
    /// Which kind it is, for assertion messages.
    kind: &'static str,
    /// How a second node would open the same store.
    reopen: Reopen,
    /// The folder, removed when the test ends.
    _dir: Option<TempDir>,
}

/// How to open the same blobs again, as another node would.
enum Reopen {
    Folder(PathBuf),
    S3(String),
}

impl Store {
    /// A second `Blobs` on the same folder or bucket URL.
    fn reopen(&self) -> Blobs {
        match &self.reopen {
            Reopen::Folder(dir) => Blobs::folder(dir).expect("reopen the folder"),
            Reopen::S3(url) => s3_blobs(url),
        }
    }
}

/// A fresh folder store and a fresh S3 bucket store.
fn stores() -> Vec<Store> {
    let dir = TempDir::new().expect("temp dir");
    // A folder that does not exist yet: `folder` creates it.
    let files = dir.path().join("files");
    let folder = Store {
        blobs: Blobs::folder(&files).expect("folder store"),
        kind: "folder",
        reopen: Reopen::Folder(files),
        _dir: Some(dir),
    };
    let s3 = chat_engines::shared_s3();
    let url = s3.bucket_url(&s3.create_bucket("blobs").expect("bucket"));
    let bucket = Store {
        blobs: s3_blobs(&url),
        kind: "s3",
        reopen: Reopen::S3(url),
        _dir: None,
    };
    vec![folder, bucket]
}

/// [`stores`], each already holding `bytes` under `key`.
async fn stores_holding(key: &str, bytes: &Bytes) -> Vec<Store> {
    let stores = stores();
    for store in &stores {
        store
            .blobs
            .put_bytes(key, bytes.clone())
            .await
            .expect(store.kind);
    }
    stores
}

/// Blobs in the bucket at `url` on the test binary's S3 server, with its keys.
fn s3_blobs(url: &str) -> Blobs {
    let s3 = chat_engines::shared_s3();
    Blobs::s3_with_keys(url, s3.access_key(), s3.secret_key()).expect("S3 store")
}

/// `len` bytes that never repeat in a short period (xorshift), so a range
/// read from the wrong offset cannot look right.
fn sample_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// The key a file's bytes are stored under: `blobs/ab/abcdef…`.
fn blob_key(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("blobs/{}/{hex}", &hex[..2])
}

/// Writes `bytes` to a file in a new temp dir, as an upload would land.
fn local_file(bytes: &[u8]) -> (TempDir, PathBuf) {
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("upload");
    std::fs::write(&path, bytes).expect("write the local file");
    (dir, path)
}

/// Reads a range (or all) of a blob into memory, with the reported size.
async fn read(
    blobs: &Blobs,
    key: &str,
    range: Option<std::ops::Range<u64>>,
) -> Result<(u64, Vec<u8>), BlobError> {
    let (size, stream) = blobs.get(key, range).await?;
    let chunks: Vec<Bytes> = stream.try_collect().await?;
    Ok((size, chunks.concat()))
}

#[tokio::test]
async fn a_multi_mib_file_reads_back_whole_and_in_ranges() {
    // Two full parts and a bit: the multipart upload path.
    let bytes = sample_bytes(2 * PART_SIZE + 12_345, 1);
    let size = bytes.len() as u64;
    let key = blob_key(&bytes);
    let (_dir, path) = local_file(&bytes);
    for store in stores() {
        let kind = store.kind;
        store.blobs.put_file(&key, &path).await.expect(kind);
        let (reported, whole) = read(&store.blobs, &key, None).await.expect(kind);
        assert_eq!(reported, size, "{kind}: size");
        assert!(whole == bytes, "{kind}: the whole blob differs");
        let part = PART_SIZE as u64;
        let ranges = [
            0..16,
            size / 2 - 1_000..size / 2 + 5_000,
            part - 10..part + 10,
            size - 1..size,
        ];
        for range in ranges {
            let (reported, got) = read(&store.blobs, &key, Some(range.clone()))
                .await
                .expect(kind);
            assert_eq!(reported, size, "{kind}: size with range {range:?}");
            let want = &bytes[range.start as usize..range.end as usize];
            assert!(got == want, "{kind}: range {range:?} differs");
        }
        // A range that runs past the end is cut at the end.
        let (_, tail) = read(&store.blobs, &key, Some(size - 5..size + 100))
            .await
            .expect(kind);
        assert_eq!(
            tail,
            &bytes[bytes.len() - 5..],
            "{kind}: range past the end"
        );
    }
}

#[tokio::test]
async fn a_small_file_goes_up_in_one_put_and_reads_back() {
    let bytes = sample_bytes(100_000, 2);
    let key = blob_key(&bytes);
    let (_dir, path) = local_file(&bytes);
    for store in stores() {
        let kind = store.kind;
        store.blobs.put_file(&key, &path).await.expect(kind);
        let (size, got) = read(&store.blobs, &key, None).await.expect(kind);
        assert_eq!(size, bytes.len() as u64, "{kind}");
        assert!(got == bytes, "{kind}: contents differ");
        let (_, first) = read(&store.blobs, &key, Some(0..3)).await.expect(kind);
        assert_eq!(first, &bytes[..3], "{kind}");
    }
}

#[tokio::test]
async fn storing_an_existing_key_again_is_a_no_op() {
    let first = sample_bytes(50_000, 3);
    let other = sample_bytes(60_000, 4);
    let key = blob_key(&first);
    let (_dir, first_path) = local_file(&first);
    let (_other_dir, other_path) = local_file(&other);
    for store in stores() {
        let kind = store.kind;
        store.blobs.put_file(&key, &first_path).await.expect(kind);
        store.blobs.put_file(&key, &first_path).await.expect(kind);
        // Other bytes under the same key would be a bug upstream; they must
        // not replace what is stored.
        store.blobs.put_file(&key, &other_path).await.expect(kind);
        store
            .blobs
            .put_bytes(&key, Bytes::from(other.clone()))
            .await
            .expect(kind);
        let (size, got) = read(&store.blobs, &key, None).await.expect(kind);
        assert_eq!(size, first.len() as u64, "{kind}");
        assert!(got == first, "{kind}: the second put replaced the first");
    }
}

#[tokio::test]
async fn exists_reports_the_size_or_none() {
    let thumb = Bytes::from(sample_bytes(4_321, 5));
    let key = "thumbs/ab/abcdef0123/320";
    for store in stores() {
        let kind = store.kind;
        assert_eq!(store.blobs.exists(key).await, Ok(None), "{kind}: before");
        store.blobs.put_bytes(key, thumb.clone()).await.expect(kind);
        assert_eq!(
            store.blobs.exists(key).await,
            Ok(Some(4_321)),
            "{kind}: after"
        );
        assert_eq!(
            store.blobs.exists("thumbs/ab/abcdef0123/640").await,
            Ok(None),
            "{kind}: a sibling"
        );
    }
}

#[tokio::test]
async fn a_deleted_blob_is_not_found_and_deleting_again_is_fine() {
    let bytes = Bytes::from(sample_bytes(10_000, 6));
    let key = blob_key(&bytes);
    for store in stores_holding(&key, &bytes).await {
        let kind = store.kind;
        store.blobs.delete(&key).await.expect(kind);
        assert_eq!(store.blobs.exists(&key).await, Ok(None), "{kind}: exists");
        assert_eq!(
            read(&store.blobs, &key, None).await.err(),
            Some(BlobError::NotFound),
            "{kind}: get"
        );
        assert_eq!(
            read(&store.blobs, &key, Some(0..1)).await.err(),
            Some(BlobError::NotFound),
            "{kind}: get a range"
        );
        assert_eq!(store.blobs.delete(&key).await, Ok(()), "{kind}: again");
        assert_eq!(
            store.blobs.delete("blobs/00/never").await,
            Ok(()),
            "{kind}: never stored"
        );
    }
}

#[tokio::test]
async fn list_returns_every_key_and_size_under_a_prefix() {
    let entries = [
        ("blobs/aa/aa11", 10usize),
        ("blobs/aa/aa22", 20),
        ("blobs/ab/ab33", 30),
        ("thumbs/aa/aa11/320", 5),
    ];
    for store in stores() {
        let kind = store.kind;
        for (index, (key, len)) in entries.iter().enumerate() {
            let bytes = Bytes::from(sample_bytes(*len, index as u64 + 10));
            store.blobs.put_bytes(key, bytes).await.expect(kind);
        }
        let owned = |list: &[(&str, usize)]| -> Vec<(String, u64)> {
            list.iter()
                .map(|(key, len)| (key.to_string(), *len as u64))
                .collect()
        };
        assert_eq!(
            store.blobs.list("blobs").await.expect(kind),
            owned(&entries[..3]),
            "{kind}: blobs"
        );
        assert_eq!(
            store.blobs.list("blobs/aa/").await.expect(kind),
            owned(&entries[..2]),
            "{kind}: blobs/aa/"
        );
        assert_eq!(
            store.blobs.list("thumbs").await.expect(kind),
            owned(&entries[3..]),
            "{kind}: thumbs"
        );
        assert_eq!(
            store.blobs.list("").await.expect(kind),
            owned(&entries),
            "{kind}: everything"
        );
        assert_eq!(
            store.blobs.list("blobs/a").await.expect(kind),
            Vec::new(),
            "{kind}: half a segment matches nothing"
        );
        assert_eq!(
            store.blobs.list("nothing").await.expect(kind),
            Vec::new(),
            "{kind}: nothing"
        );
    }
}

#[tokio::test]
async fn keys_outside_the_rules_are_refused() {
    let (_dir, path) = local_file(b"x");
    let bad = [
        "",
        "..",
        "../outside",
        "blobs/../../etc/passwd",
        "/etc/passwd",
        "blobs//ab",
        "blobs/ab/",
        "Blobs/AB/ABCDEF",
        "blobs/ab/abc.def",
        "blobs/ab/a b",
        "blobs\\ab",
        "blobs/ab/é",
    ];
    for store in stores() {
        let kind = store.kind;
        for key in bad {
            let refused = |result: Result<(), BlobError>, call: &str| match result {
                Err(BlobError::Config(_)) => {}
                other => panic!("{kind}: {call}({key:?}) gave {other:?}, not a refusal"),
            };
            refused(store.blobs.put_file(key, &path).await, "put_file");
            refused(
                store.blobs.put_bytes(key, Bytes::from_static(b"x")).await,
                "put_bytes",
            );
            refused(store.blobs.exists(key).await.map(drop), "exists");
            refused(store.blobs.get(key, None).await.map(drop), "get");
            refused(store.blobs.delete(key).await, "delete");
            if !key.is_empty() && key != "blobs/ab/" {
                refused(store.blobs.list(key).await.map(drop), "list");
            }
        }
        let long = format!("blobs/{}", "a".repeat(300));
        assert!(
            matches!(store.blobs.exists(&long).await, Err(BlobError::Config(_))),
            "{kind}: a very long key"
        );
        // Nothing was written anywhere by the refused calls.
        assert_eq!(
            store.blobs.list("").await.expect(kind),
            Vec::new(),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn a_range_outside_the_blob_is_a_bad_range_with_its_size() {
    let bytes = Bytes::from(sample_bytes(1_000, 7));
    let key = blob_key(&bytes);
    for store in stores_holding(&key, &bytes).await {
        let kind = store.kind;
        for range in [1_000..1_010, 5_000..6_000, 10..10] {
            assert_eq!(
                read(&store.blobs, &key, Some(range.clone())).await.err(),
                Some(BlobError::BadRange { size: 1_000 }),
                "{kind}: {range:?}"
            );
        }
    }
}

#[tokio::test]
async fn what_one_node_stores_another_node_reads() {
    let bytes = sample_bytes(PART_SIZE + 1_000, 8);
    let key = blob_key(&bytes);
    let (_dir, path) = local_file(&bytes);
    for store in stores() {
        let kind = store.kind;
        store.blobs.put_file(&key, &path).await.expect(kind);
        let other = store.reopen();
        assert_eq!(
            other.exists(&key).await,
            Ok(Some(bytes.len() as u64)),
            "{kind}"
        );
        let (_, got) = read(&other, &key, None).await.expect(kind);
        assert!(got == bytes, "{kind}: the other node read other bytes");
        assert_eq!(
            other.list("blobs").await.expect(kind),
            vec![(key.clone(), bytes.len() as u64)],
            "{kind}"
        );
        other.delete(&key).await.expect(kind);
        assert_eq!(
            store.blobs.exists(&key).await,
            Ok(None),
            "{kind}: deleted by the other"
        );
    }
}

#[test]
fn s3_urls_name_a_bucket_and_optionally_an_endpoint_and_region() {
    assert_eq!(
        S3Url::parse("s3://chat-files"),
        Ok(S3Url {
            bucket: "chat-files".into(),
            endpoint: None,
            region: None
        })
    );
    assert_eq!(
        S3Url::parse("s3://chat-files/?endpoint=http://127.0.0.1:9000/&region=eu-west-1"),
        Ok(S3Url {
            bucket: "chat-files".into(),
            endpoint: Some("http://127.0.0.1:9000".into()),
            region: Some("eu-west-1".into())
        })
    );
    for bad in [
        "chat-files",
        "https://chat-files",
        "s3://",
        "s3://chat-files/some/prefix",
        "s3://key:secret@chat-files",
        "s3://chat-files?endpoint=ftp://host",
        "s3://chat-files?bucket=other",
    ] {
        assert!(
            matches!(S3Url::parse(bad), Err(BlobError::Config(_))),
            "{bad:?} was accepted"
        );
    }
}

#[test]
fn errors_read_as_sentences() {
    for error in [
        BlobError::NotFound,
        BlobError::BadRange { size: 3 },
        BlobError::Config("x".into()),
        BlobError::Store("y".into()),
    ] {
        let text = error.to_string();
        assert!(
            text.starts_with(char::is_uppercase) && text.ends_with('.'),
            "{text}"
        );
    }
}

#[tokio::test]
async fn the_s3_server_refuses_a_wrong_secret() {
    let s3 = chat_engines::shared_s3();
    let bucket = s3.create_bucket("blobs").expect("bucket");
    let blobs = Blobs::s3_with_keys(&s3.bucket_url(&bucket), s3.access_key(), "wrong")
        .expect("a store is built without contacting the server");
    match blobs
        .put_bytes("thumbs/aa/aa/320", Bytes::from_static(b"x"))
        .await
    {
        Err(BlobError::Store(_)) => {}
        other => panic!("a wrong secret gave {other:?}"),
    }
}

#[test]
fn a_bucket_on_aws_itself_builds_its_https_client() {
    // No request is sent: this checks that the TLS client can be built with
    // ring installed as the provider (reqwest's `rustls-no-provider` panics
    // otherwise).
    let blobs = Blobs::s3_with_keys("s3://chat-files?region=eu-west-1", "key", "secret")
        .expect("an https bucket");
    assert_eq!(blobs.label(), "s3://chat-files");
}

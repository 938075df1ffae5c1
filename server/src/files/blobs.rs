//! Where the bytes of shared files live: content-addressed blobs in a folder
//! (one node, the default) or an S3-compatible bucket (a cluster, where every
//! node must reach every file).
//!
//! Keys are ours, not the uploader's: `blobs/ab/abcdef…` (the SHA-256 in hex,
//! fanned out by its first two characters) and `thumbs/ab/abcdef…/320`. Since
//! the key names the content, storing a key that exists is a no-op, and a key
//! is never overwritten with other bytes. Every key is checked against
//! [`validate_key`] before it reaches a store, so nothing can name a path
//! outside the folder.
//!
//! Both kinds go through the `object_store` crate, so the code above sees one
//! interface; the S3 API calls it makes are PUT object, the multipart upload
//! (create, upload part, complete, abort), GET with `Range`, HEAD, DELETE and
//! ListObjectsV2.

use std::fmt;
use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;

/// The size of one part of a multipart upload, and so the most of a file held
/// in memory per part in flight. S3 wants at least 5 MiB for every part but
/// the last; a file no larger than this goes up in a single PUT.
const PART_SIZE: usize = 8 * 1024 * 1024;

/// How many parts of one file may be uploading at once: enough to keep the
/// connection busy while the next part is read, and a bound on memory
/// (`PART_SIZE` times this, plus the part being filled).
const PARTS_IN_FLIGHT: usize = 2;

/// How much of a file is read from disk at a time while filling a part.
const READ_CHUNK: usize = 256 * 1024;

/// The longest key accepted: a fanned-out SHA-256 with a suffix fits easily,
/// and a bound keeps odd input out of logs and requests.
const MAX_KEY_LEN: usize = 200;

/// The default region when neither the URL nor the environment names one; an
/// S3-compatible server behind `endpoint=` usually ignores it.
const DEFAULT_REGION: &str = "us-east-1";

/// Blob storage, in a folder or an S3 bucket; cheap to clone and share
/// between requests.
#[derive(Clone)]
pub(crate) struct Blobs {
    /// The store itself: a folder or a bucket behind one interface.
    store: Arc<dyn ObjectStore>,
    /// Where the blobs are, for logs and errors (`folder /var/lib/chat/files`,
    /// `s3://bucket at http://127.0.0.1:9000`); never holds a secret.
    label: String,
    /// The folder, for a folder store: a file already on its disk is linked
    /// in rather than copied through the store.
    folder: Option<std::path::PathBuf>,
}

impl fmt::Debug for Blobs {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Blobs")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// Why a blob operation failed, as a value the caller can answer with (404
/// for [`BlobError::NotFound`], 416 for [`BlobError::BadRange`], 500 for the
/// rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlobError {
    /// No blob under that key: a missing file, not a broken store.
    NotFound,
    /// The requested byte range does not lie within the blob; `size` is the
    /// blob's full size, which an HTTP 416 answer reports.
    BadRange { size: u64 },
    /// The store was set up wrongly (a bad URL, a folder that cannot be
    /// created) or was given a key we never make; fixing it needs a person.
    Config(String),
    /// The store failed while working: disk, network or the S3 server.
    Store(String),
}

impl fmt::Display for BlobError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobError::NotFound => write!(formatter, "There is no file stored under that key."),
            BlobError::BadRange { size } => write!(
                formatter,
                "The requested byte range is not within the file, which has {size} bytes."
            ),
            BlobError::Config(detail) => {
                write!(
                    formatter,
                    "The file storage is not set up correctly: {detail}."
                )
            }
            BlobError::Store(detail) => {
                write!(formatter, "The file storage failed: {detail}.")
            }
        }
    }
}

impl std::error::Error for BlobError {}

impl From<object_store::Error> for BlobError {
    /// Keeps "not there" apart from every other failure, which only needs
    /// its words for the log.
    fn from(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { .. } => BlobError::NotFound,
            other => BlobError::Store(other.to_string()),
        }
    }
}

impl Blobs {
    /// Files in a folder (the single-node default: `--files-dir`, beside the
    /// database). Creates it, with its parents, if missing.
    pub(crate) fn folder(dir: &FsPath) -> Result<Self, BlobError> {
        std::fs::create_dir_all(dir).map_err(|error| {
            BlobError::Config(format!(
                "cannot create the folder {}: {error}",
                dir.display()
            ))
        })?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(|error| {
                BlobError::Config(format!("cannot use the folder {}: {error}", dir.display()))
            })?
            // Deleting the last blob of a fan-out folder removes the folder too.
            .with_automatic_cleanup(true);
        Ok(Blobs {
            store: Arc::new(store),
            label: format!("folder {}", dir.display()),
            folder: Some(dir.to_owned()),
        })
    }

    /// An S3-compatible bucket: `s3://bucket`, with optional
    /// `?endpoint=http://127.0.0.1:9000&region=...`. With an endpoint,
    /// requests are path-style (`endpoint/bucket/key`, which MinIO and the
    /// like expect) and plain http is allowed for it. Credentials, region and
    /// endpoint otherwise come from the environment (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
    /// `AWS_ENDPOINT_URL`); the URL wins over the environment.
    pub(crate) fn s3(url: &str) -> Result<Self, BlobError> {
        Self::s3_from(AmazonS3Builder::from_env(), url)
    }

    /// Like [`Blobs::s3`] with the access key and secret given rather than
    /// read from the environment: for tests, which share one process and so
    /// cannot each set their own environment.
    #[cfg(test)]
    pub(crate) fn s3_with_keys(
        url: &str,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> Result<Self, BlobError> {
        let builder = AmazonS3Builder::from_env()
            .with_access_key_id(access_key_id)
            .with_secret_access_key(secret_access_key);
        Self::s3_from(builder, url)
    }

    /// Applies the URL to `builder` and builds the store.
    fn s3_from(mut builder: AmazonS3Builder, url: &str) -> Result<Self, BlobError> {
        let target = S3Url::parse(url)?;
        builder = builder.with_bucket_name(&target.bucket);
        if let Some(region) = &target.region {
            builder = builder.with_region(region);
        } else if builder
            .get_config_value(&AmazonS3ConfigKey::Region)
            .is_none()
        {
            builder = builder.with_region(DEFAULT_REGION);
        }
        if let Some(endpoint) = &target.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        let endpoint = builder.get_config_value(&AmazonS3ConfigKey::Endpoint);
        if endpoint
            .as_deref()
            .is_some_and(|endpoint| endpoint.starts_with("http://"))
        {
            builder = builder.with_allow_http(true);
        }
        install_tls_provider();
        let store = builder.build().map_err(|error| {
            BlobError::Config(format!("cannot use the S3 bucket {url:?}: {error}"))
        })?;
        let label = match endpoint {
            Some(endpoint) => format!("s3://{} at {endpoint}", target.bucket),
            None => format!("s3://{}", target.bucket),
        };
        Ok(Blobs {
            store: Arc::new(store),
            label,
            folder: None,
        })
    }

    /// Where the blobs are, for log lines (never holds a secret).
    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// Stores the local file `from` under `key` unless `key` already exists
    /// (content addressing makes that a no-op). Streams it: a file larger
    /// than one part goes up as a multipart upload read part by part, so
    /// memory stays bounded whatever the file's size.
    pub(crate) async fn put_file(&self, key: &str, from: &FsPath) -> Result<(), BlobError> {
        let path = store_path(key)?;
        if self.exists(key).await?.is_some() {
            return Ok(());
        }
        if let Some(folder) = &self.folder {
            return link_into(folder, key, from).await;
        }
        let read_error = |error: std::io::Error| {
            BlobError::Store(format!("cannot read {}: {error}", from.display()))
        };
        let mut file = tokio::fs::File::open(from).await.map_err(read_error)?;
        let size = file.metadata().await.map_err(read_error)?.len();
        if size <= PART_SIZE as u64 {
            let mut bytes = Vec::with_capacity(size as usize);
            (&mut file)
                .take(size)
                .read_to_end(&mut bytes)
                .await
                .map_err(read_error)?;
            self.store.put(&path, PutPayload::from(bytes)).await?;
            return Ok(());
        }
        let upload = self.store.put_multipart(&path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buffer = vec![0u8; READ_CHUNK];
        let outcome: Result<(), BlobError> = async {
            loop {
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                let read = file.read(&mut buffer).await.map_err(read_error)?;
                if read == 0 {
                    return Ok(());
                }
                writer.write(&buffer[..read]);
            }
        }
        .await;
        match outcome {
            Ok(()) => {
                writer.finish().await?;
                Ok(())
            }
            Err(error) => {
                // Leave no half-uploaded parts behind to be billed for.
                if let Err(abort_error) = writer.abort().await {
                    tracing::warn!(
                        store = %self.label,
                        key,
                        error = %abort_error,
                        "cannot abort a failed multipart upload"
                    );
                }
                Err(error)
            }
        }
    }

    /// Stores small bytes (a thumbnail) under `key`, unless it exists.
    pub(crate) async fn put_bytes(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        let path = store_path(key)?;
        if self.exists(key).await?.is_some() {
            return Ok(());
        }
        self.store.put(&path, PutPayload::from(bytes)).await?;
        Ok(())
    }

    /// The blob's size if it exists, `None` if not: to skip an upload that is
    /// already stored, and to answer HEAD and Range requests.
    pub(crate) async fn exists(&self, key: &str) -> Result<Option<u64>, BlobError> {
        let path = store_path(key)?;
        match self.store.head(&path).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// A byte range (or the whole blob) as a stream of chunks, with the
    /// blob's full size: for serving with HTTP `Range` without holding the
    /// file in memory. A range that ends past the end is cut at the end; one
    /// that is empty or starts at or past the end is [`BlobError::BadRange`].
    pub(crate) async fn get(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<(u64, BoxStream<'static, Result<Bytes, BlobError>>), BlobError> {
        let path = store_path(key)?;
        if let Some(range) = &range {
            if range.start >= range.end {
                let size = self.exists(key).await?.ok_or(BlobError::NotFound)?;
                return Err(BlobError::BadRange { size });
            }
        }
        let options = GetOptions {
            range: range.clone().map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = match self.store.get_opts(&path, options).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Err(BlobError::NotFound),
            Err(error) => {
                // A range past the end fails in a store-specific way; tell it
                // apart from a broken store by asking for the size.
                if let (Some(range), Ok(Some(size))) = (&range, self.exists(key).await) {
                    if range.start >= size {
                        return Err(BlobError::BadRange { size });
                    }
                }
                return Err(error.into());
            }
        };
        let size = result.meta.size;
        let stream = result.into_stream().map_err(BlobError::from).boxed();
        Ok((size, stream))
    }

    /// Removes the blob under `key`; one that is already gone is fine, so a
    /// retried or repeated clean-up succeeds.
    pub(crate) async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = store_path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Every key and its size under `prefix` (whole path segments: `blobs`
    /// or `blobs/ab`, never half a segment; empty for everything): for backup
    /// and export, and for a total-size check. Sorted by key.
    #[cfg(test)] // until `backup` copies a folder's files (docs/operations.md)
    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, BlobError> {
        let prefix = match prefix.trim_end_matches('/') {
            "" => None,
            prefix => Some(store_path(prefix)?),
        };
        let mut found: Vec<(String, u64)> = self
            .store
            .list(prefix.as_ref())
            .map_ok(|meta| (meta.location.to_string(), meta.size))
            .try_collect()
            .await?;
        found.sort();
        Ok(found)
    }
}

/// Checks that `key` is one we make: lowercase letters, digits and `/`
/// between non-empty segments, at most [`MAX_KEY_LEN`] long. That leaves no
/// way to write `..`, an absolute path or a name that differs only in case,
/// so a key cannot reach outside the folder or bucket prefix.
pub(crate) fn validate_key(key: &str) -> Result<(), BlobError> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '/';
    if key.is_empty()
        || key.len() > MAX_KEY_LEN
        || !key.chars().all(allowed)
        || key.split('/').any(str::is_empty)
    {
        return Err(BlobError::Config(format!(
            "{key:?} is not a blob key (lowercase letters, digits and `/` between non-empty parts, at most {MAX_KEY_LEN} characters)"
        )));
    }
    Ok(())
}

/// `key`, validated, as the store's path type.
fn store_path(key: &str) -> Result<StorePath, BlobError> {
    validate_key(key)?;
    StorePath::parse(key).map_err(|error| BlobError::Config(format!("{key:?}: {error}")))
}

/// What an `s3://` URL says: the bucket, and optionally an endpoint and a
/// region from its query.
#[derive(Debug, PartialEq, Eq)]
struct S3Url {
    /// The bucket's name, the URL's host.
    bucket: String,
    /// An S3-compatible server's base URL (`http://127.0.0.1:9000`).
    endpoint: Option<String>,
    /// The region to sign for.
    region: Option<String>,
}

impl S3Url {
    /// Parses `s3://bucket[?endpoint=URL][&region=NAME]`; anything else,
    /// including a path after the bucket (keys are ours to choose), is a
    /// [`BlobError::Config`] that names the problem.
    fn parse(url: &str) -> Result<Self, BlobError> {
        let bad = |why: &str| BlobError::Config(format!("{url:?} is not a usable S3 URL: {why}"));
        let parsed = url::Url::parse(url).map_err(|error| bad(&error.to_string()))?;
        if parsed.scheme() != "s3" {
            return Err(bad("it must start with s3://"));
        }
        let bucket = parsed
            .host_str()
            .filter(|bucket| !bucket.is_empty())
            .ok_or_else(|| bad("it names no bucket"))?
            .to_string();
        if !matches!(parsed.path(), "" | "/") {
            return Err(bad("a path after the bucket is not supported"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad(
                "credentials do not belong in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            ));
        }
        let mut target = S3Url {
            bucket,
            endpoint: None,
            region: None,
        };
        for (name, value) in parsed.query_pairs() {
            match name.as_ref() {
                "endpoint" => {
                    let endpoint = url::Url::parse(&value)
                        .map_err(|error| bad(&format!("endpoint {value:?}: {error}")))?;
                    if !matches!(endpoint.scheme(), "http" | "https") {
                        return Err(bad("the endpoint must be an http:// or https:// URL"));
                    }
                    target.endpoint = Some(value.trim_end_matches('/').to_string());
                }
                "region" => target.region = Some(value.into_owned()),
                other => return Err(bad(&format!("unknown option {other:?}"))),
            }
        }
        Ok(target)
    }
}

/// Makes ring rustls's process-wide default, once, if nothing else has: the
/// S3 client's HTTPS (reqwest with `rustls-no-provider`) needs one, and
/// ring is the provider the rest of the server already uses (aws-lc-rs would
/// need cmake to build). Losing the race to another caller is fine.
fn install_tls_provider() {
    use tokio_rustls::rustls::crypto::{ring, CryptoProvider};
    if CryptoProvider::get_default().is_none() {
        let _ = ring::default_provider().install_default();
    }
}

/// Puts the file `from` into a folder store under `key` without copying
/// it through memory: a hard link when `from` is on the same disk (the
/// uploads' own folder is inside the store's), else a copy by the kernel;
/// either way the blob appears whole or not at all (a copy goes to a
/// temporary name first).
async fn link_into(folder: &FsPath, key: &str, from: &FsPath) -> Result<(), BlobError> {
    let target = folder.join(key);
    let from = from.to_owned();
    let store_error = |error: std::io::Error| BlobError::Store(error.to_string());
    tokio::task::spawn_blocking(move || {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match std::fs::hard_link(&from, &target) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(_) => {
                let partial = target.with_extension("partial");
                std::fs::copy(&from, &partial)?;
                std::fs::rename(&partial, &target)
            }
        }
    })
    .await
    .map_err(|error| BlobError::Store(error.to_string()))?
    .map_err(store_error)
}

#[cfg(test)]
mod tests;

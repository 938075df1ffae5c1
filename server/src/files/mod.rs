//! Files shared in the chat (issue 25): stored content-addressed, in a folder or an S3 bucket.

pub(crate) mod blobs;

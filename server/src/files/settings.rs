//! The operator's file settings (docs/operations.md, "Files"): where the
//! bytes go, how large one file may be, and how much one name and the
//! whole server may store.

use chat_shared::files::DEFAULT_MAX_UPLOAD_BYTES;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// One name's uploads in an hour: 500 MB, twenty full-size files.
pub(crate) const DEFAULT_HOURLY_QUOTA_BYTES: u64 = 500 * 1024 * 1024;
/// Upload bytes a second a node reads: 64 MB, a 25 MB file in 0.4 s.
pub(crate) const DEFAULT_UPLOAD_RATE: u64 = 64 * 1024 * 1024;
/// Everything stored: 10 GB.
pub(crate) const DEFAULT_FILES_QUOTA_BYTES: u64 = 10 * 1024 * 1024 * 1024;

/// How the server keeps files.
#[derive(Debug, Clone, Args)]
pub struct FilesConfig {
    /// Keep no files: `upload_token` and `POST /files` are refused.
    #[arg(long, env = "CHAT_NO_FILES")]
    pub no_files: bool,

    /// The folder files are kept in. Defaults to a folder beside the
    /// SQLite file (`chat.db` keeps them in `chat-files/`).
    #[arg(long, env = "CHAT_FILES_DIR", value_name = "PATH")]
    pub files_dir: Option<PathBuf>,

    /// Keep files in an S3-compatible bucket instead, so every node of a
    /// cluster reaches them: `s3://BUCKET`, with `?endpoint=URL` for a
    /// service that is not AWS. Credentials come from the environment
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`).
    #[arg(
        long,
        env = "CHAT_FILES_S3",
        value_name = "URL",
        conflicts_with = "files_dir"
    )]
    pub files_s3: Option<String>,

    /// The largest file taken, in bytes (`25MB`, `1GB` and `512KB` work).
    #[arg(long, env = "CHAT_MAX_UPLOAD", default_value = "25MB", value_parser = parse_bytes)]
    pub max_upload: u64,

    /// What one name may upload in an hour, in bytes.
    #[arg(long, env = "CHAT_UPLOAD_QUOTA", default_value = "500MB", value_parser = parse_bytes)]
    pub upload_quota: u64,

    /// How long an upload token lasts (`upload_token`).
    #[arg(long, env = "CHAT_UPLOAD_TOKEN_LIFETIME", default_value = "30m", value_parser = humantime::parse_duration)]
    pub upload_token_lifetime: Duration,

    /// Upload bytes this node reads a second, all uploads together (`0`:
    /// no limit). On a fast network a few uploads at full speed would
    /// otherwise take the CPU the chat's messages need.
    #[arg(long, env = "CHAT_UPLOAD_RATE", default_value = "64MB", value_parser = parse_bytes)]
    pub upload_rate: u64,

    /// What the server stores in all, in bytes: past it, uploads are
    /// refused (`storage_full`) until messages with files are deleted.
    #[arg(long, env = "CHAT_FILES_QUOTA", default_value = "10GB", value_parser = parse_bytes)]
    pub files_quota: u64,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            no_files: false,
            files_dir: None,
            files_s3: None,
            max_upload: DEFAULT_MAX_UPLOAD_BYTES,
            upload_quota: DEFAULT_HOURLY_QUOTA_BYTES,
            upload_token_lifetime: Duration::from_secs(super::tokens::UPLOAD_TOKEN_SECS),
            files_quota: DEFAULT_FILES_QUOTA_BYTES,
            upload_rate: DEFAULT_UPLOAD_RATE,
        }
    }
}

/// A size: a number of bytes, or one with `KB`, `MB`, `GB` or `TB`
/// (powers of 1024; `K`, `M`, `G`, `T` and `KiB`… too).
pub(crate) fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size: use bytes, or a number with KB, MB or GB"))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        other => {
            return Err(format!(
                "{other:?} is not a size unit: use KB, MB, GB or TB"
            ))
        }
    };
    number
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_bytes("25MB"), Ok(25 * 1024 * 1024));
        assert_eq!(parse_bytes("1 GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("512k"), Ok(512 * 1024));
        assert_eq!(parse_bytes("100"), Ok(100));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("3 PB").is_err());
        assert!(parse_bytes("99999999999999TB").is_err());
    }
}

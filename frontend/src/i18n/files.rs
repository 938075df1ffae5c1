//! The strings of files on messages (issue 25), a part of [`super::Strings`]
//! of their own so the main list stays readable; each language fills them
//! in its own file.

use chat_shared::files::UploadErrorCode;

/// The text of attaching, uploading, showing and viewing files.
pub(crate) struct FileStrings {
    /// The composer's paper-clip button.
    pub(crate) attach: &'static str,
    /// The composer's camera button (touch screens).
    pub(crate) camera: &'static str,
    /// The chips above the message box, as a group.
    pub(crate) chosen_label: &'static str,
    /// A chip's × before and after its upload: "Remove cat.png".
    pub(crate) remove: fn(&str) -> String,
    /// A chip's × while uploading: "Cancel the upload of cat.png".
    pub(crate) cancel: fn(&str) -> String,
    pub(crate) retry: &'static str,
    /// A chip's state for screen readers and its tooltip.
    pub(crate) waiting: &'static str,
    pub(crate) uploading: fn(u8) -> String,
    pub(crate) uploaded: &'static str,
    /// Why the server refused a file, by its code.
    pub(crate) upload_error: fn(UploadErrorCode) -> String,
    /// Refused before any upload: "clip.mov is larger than 25.0 MB".
    pub(crate) too_large: fn(&str, &str) -> String,
    pub(crate) too_many: fn(u64) -> String,
    /// The overlay while files are dragged over the conversation.
    pub(crate) drop_here: &'static str,
    /// A message sent with files still uploading.
    pub(crate) waiting_for_files: &'static str,
    /// An outgoing message's files: "2 files".
    pub(crate) file_count: fn(u64) -> String,
    /// A file card's link, and the lightbox's button.
    pub(crate) download: &'static str,
    pub(crate) download_name: fn(&str) -> String,
    /// A thumbnail's button: "Open cat.png".
    pub(crate) open_image: fn(&str) -> String,
    /// The lightbox.
    pub(crate) viewer_label: &'static str,
    pub(crate) previous: &'static str,
    pub(crate) next: &'static str,
    /// "3 of 7".
    pub(crate) position: fn(u64, u64) -> String,
}

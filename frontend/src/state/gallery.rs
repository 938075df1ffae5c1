//! The lightbox's state: every image of the conversation in order (the
//! pictures of messages not deleted), which one is open, and where the
//! lightbox goes when that one's message is deleted under it.

use chat_shared::files::{caption, Attachment};
use chat_shared::ChatMessage;
use leptos::prelude::*;

/// One image of the conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Picture {
    pub(crate) message_id: u64,
    pub(crate) attachment: Attachment,
    /// The message's caption, for the lightbox's line under the image.
    pub(crate) caption: String,
}

/// The images of `messages` (oldest first), in the order they show:
/// those of deleted messages are gone.
pub(crate) fn pictures<'a>(messages: impl Iterator<Item = &'a ChatMessage>) -> Vec<Picture> {
    messages
        .filter(|m| !m.deleted)
        .flat_map(|m| {
            let text = caption(&m.text, &m.attachments).to_owned();
            m.attachments
                .iter()
                .filter(|a| a.is_image())
                .map(move |a| Picture {
                    message_id: m.id,
                    attachment: a.clone(),
                    caption: text.clone(),
                })
        })
        .collect()
}

/// Which picture the lightbox shows, by file id, and its place last
/// seen (so a deleted one gives way to its neighbour).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Viewer {
    open: Option<String>,
    index: usize,
}

impl Viewer {
    /// Opens the picture with file id `id`.
    pub(crate) fn open(&mut self, id: &str, pictures: &[Picture]) {
        if let Some(at) = pictures.iter().position(|p| p.attachment.id == id) {
            self.open = Some(id.to_owned());
            self.index = at;
        }
    }

    /// Closes the lightbox.
    pub(crate) fn close(&mut self) {
        self.open = None;
    }

    /// The file id of the picture shown, if open.
    pub(crate) fn current_id(&self) -> Option<&str> {
        self.open.as_deref()
    }

    /// Whether the lightbox is open.
    pub(crate) fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// The place of the picture shown in `pictures`; a picture gone (its
    /// message deleted) gives way to the one now at its place, or the one
    /// before it at the end, and the lightbox closes when none is left.
    pub(crate) fn follow(&mut self, pictures: &[Picture]) -> Option<usize> {
        let id = self.open.as_ref()?;
        if let Some(at) = pictures.iter().position(|p| p.attachment.id == *id) {
            self.index = at;
            return Some(at);
        }
        if pictures.is_empty() {
            self.open = None;
            return None;
        }
        let at = self.index.min(pictures.len() - 1);
        self.index = at;
        self.open = Some(pictures[at].attachment.id.clone());
        Some(at)
    }

    /// Goes `by` pictures forward (negative: back), stopping at the ends.
    /// Returns whether it moved.
    pub(crate) fn step(&mut self, by: isize, pictures: &[Picture]) -> bool {
        let Some(at) = self.follow(pictures) else {
            return false;
        };
        let to = at
            .saturating_add_signed(by)
            .min(pictures.len().saturating_sub(1));
        if to == at {
            return false;
        }
        self.index = to;
        self.open = Some(pictures[to].attachment.id.clone());
        true
    }
}

/// The lightbox for the views.
#[derive(Clone, Copy)]
pub(crate) struct Gallery {
    viewer: RwSignal<Viewer>,
}

impl Gallery {
    /// Closed, provided for the views.
    pub(crate) fn provide() -> Self {
        let gallery = Self {
            viewer: RwSignal::new(Viewer::default()),
        };
        provide_context(gallery);
        gallery
    }

    /// Changes the viewer.
    pub(crate) fn change<R>(&self, f: impl FnOnce(&mut Viewer) -> R) -> Option<R> {
        self.viewer.try_update(f)
    }

    /// Whether the lightbox is open (tracked).
    pub(crate) fn is_open(&self) -> bool {
        self.viewer.with(Viewer::is_open)
    }

    /// The file id of the picture shown (tracked).
    pub(crate) fn current_id(&self) -> Option<String> {
        self.viewer.with(|v| v.current_id().map(str::to_owned))
    }
}

/// The gallery from context.
pub(crate) fn use_gallery() -> Gallery {
    expect_context::<Gallery>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: u64, files: &[&str], deleted: bool) -> ChatMessage {
        let attachments: Vec<Attachment> = files
            .iter()
            .map(|name| Attachment {
                id: format!("f-{name}"),
                name: (*name).into(),
                size: 1,
                content_type: if name.ends_with(".pdf") {
                    "application/pdf".into()
                } else {
                    "image/png".into()
                },
                ..Attachment::default()
            })
            .collect();
        ChatMessage {
            id,
            username: "a".into(),
            text: chat_shared::files::text_with_links("cap", &attachments),
            timestamp: String::new(),
            attachments,
            deleted,
            ..ChatMessage::default()
        }
    }

    fn names(pictures: &[Picture]) -> Vec<&str> {
        pictures
            .iter()
            .map(|p| p.attachment.name.as_str())
            .collect()
    }

    #[test]
    fn the_pictures_are_the_images_of_messages_not_deleted_in_order() {
        let messages = [
            message(1, &["a.png", "doc.pdf", "b.png"], false),
            message(2, &["gone.png"], true),
            message(3, &["c.png"], false),
        ];
        let pictures = pictures(messages.iter());
        assert_eq!(names(&pictures), ["a.png", "b.png", "c.png"]);
        assert_eq!(pictures[0].caption, "cap");
    }

    #[test]
    fn steps_stop_at_the_ends() {
        let messages = [
            message(1, &["a.png", "b.png"], false),
            message(2, &["c.png"], false),
        ];
        let pictures = pictures(messages.iter());
        let mut viewer = Viewer::default();
        assert!(!viewer.step(1, &pictures));
        viewer.open("f-b.png", &pictures);
        assert!(viewer.step(1, &pictures));
        assert!(!viewer.step(1, &pictures));
        assert_eq!(viewer.follow(&pictures), Some(2));
        assert!(viewer.step(-2, &pictures));
        assert!(!viewer.step(-1, &pictures));
        assert_eq!(viewer.follow(&pictures), Some(0));
    }

    #[test]
    fn a_deleted_picture_gives_way_to_its_neighbour_and_the_last_closes() {
        let mut messages = [message(1, &["a.png"], false), message(2, &["b.png"], false)];
        let mut viewer = Viewer::default();
        viewer.open("f-b.png", &pictures(messages.iter()));
        messages[1].deleted = true;
        assert_eq!(viewer.follow(&pictures(messages.iter())), Some(0));
        messages[0].deleted = true;
        assert_eq!(viewer.follow(&pictures(messages.iter())), None);
        assert!(!viewer.is_open());
    }
}

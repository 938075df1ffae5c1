//! The view: small components, each in its own file, reading the shared
//! [`Chat`](crate::chat::Chat) and [`I18n`](crate::i18n::I18n) from context.

mod app;
mod attach;
mod attachments;
mod avatar;
mod bidi;
mod composer;
mod composer_mode;
mod drop_zone;
mod feed_focus;
mod focus_trap;
mod header;
mod install;
mod join;
mod language;
mod lightbox;
mod mention_picker;
mod message;
mod message_actions;
mod message_text;
mod messages;
mod moderation;
mod notify_settings;
mod profile;
mod push_setting;
mod qr;
mod quote;
mod reactions;
mod room_bar;
mod rooms;
mod search;
mod search_results;
mod status;
mod stay_at_bottom;
mod typing_indicator;
mod unread;
mod users;

pub(crate) use app::App;

//! The view: small components, each in its own file, reading the shared
//! [`Chat`](crate::chat::Chat) and [`I18n`](crate::i18n::I18n) from context.

mod app;
mod avatar;
mod composer;
mod header;
mod join;
mod language;
mod message;
mod messages;
mod moderation;
mod room_bar;
mod rooms;
mod status;
mod typing_indicator;
mod users;

pub use app::App;

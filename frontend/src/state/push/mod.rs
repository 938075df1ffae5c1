//! Web Push for this browser (issue 24): when a held name may get pushes
//! here, subscribing the browser with the server's key and telling the
//! server (`push_subscribe`); when it may not any more (turned off here,
//! permission gone, the name given up), telling the server
//! (`push_unsubscribe`) and dropping the browser's subscription.
//!
//! - here: [`PushState`], the plain rules (host-tested): from what is
//!   known, the one [`PushStep`] to take next; and [`Push`], which holds it
//!   in a signal and takes the steps.
//! - [`browser`]: the browser's side: the service worker's registration,
//!   its `pushManager`, and the worker's "open this message" after a click
//!   on a push notification.
//! - [`key`]: base64url, the encoding of push keys.
//!
//! The service worker (`frontend/sw.js`) shows the pushes; this module
//! only decides whether there is a subscription for them.

pub(crate) mod browser;
pub(crate) mod key;

use chat_shared::attention::PushKeys;
use chat_shared::ClientFrame;
use leptos::prelude::*;
use serde::Deserialize;

use super::Sender;
use crate::storage;

/// Remembers that push was turned off on this browser (the profile menu).
const OFF_KEY: &str = "chat.push_off";

/// The browser's push subscription: `PushSubscription.toJSON()`'s
/// endpoint and keys, and the server key it was made with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct BrowserSubscription {
    pub(crate) endpoint: String,
    pub(crate) keys: PushKeys,
    /// `options.applicationServerKey` in base64url; `None` where the
    /// browser does not say.
    #[serde(skip)]
    pub(crate) server_key: Option<String>,
}

/// The one thing to do next about push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PushStep {
    /// Nothing: things are as they should be.
    Nothing,
    /// Subscribe the browser with `key` (the server's, decoded); `stale`:
    /// first drop its subscription, made for another server key.
    Subscribe { key: Vec<u8>, stale: bool },
    /// Tell the server about the browser's subscription.
    Tell(ClientFrame),
    /// Drop the browser's subscription; `tell`: send `push_unsubscribe`
    /// for `endpoint` first (only a held name may).
    Drop { endpoint: String, tell: bool },
}

/// What decides whether this browser gets pushes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PushState {
    /// The server's VAPID key from the last `welcome`; none from a server
    /// that sends no push.
    server_key: Option<String>,
    /// The name is held by this browser's key: only such names get push.
    held: bool,
    /// Push was not turned off on this browser.
    enabled: bool,
    /// My name was given up on this page: the subscription it had goes.
    released: bool,
    /// The endpoint a `push_subscribe` went out for on this connection,
    /// so it is sent once per connection.
    told: Option<String>,
    /// The endpoint the server confirmed (`push_subscribed`).
    confirmed: Option<String>,
    /// The server refused the subscription (`invalid_subscription`): not
    /// asked again before the next `welcome`.
    refused: bool,
}

impl Default for PushState {
    fn default() -> Self {
        Self {
            server_key: None,
            held: false,
            enabled: true,
            released: false,
            told: None,
            confirmed: None,
            refused: false,
        }
    }
}

impl PushState {
    /// Starts with push on or off, as the user left it on this browser.
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            ..Self::default()
        }
    }

    /// Welcomed on a new connection: held or not, with the server's key
    /// or none. The server heard nothing yet on this connection.
    pub(crate) fn welcomed(&mut self, held: bool, server_key: Option<String>) {
        self.held = held;
        self.server_key = server_key.filter(|key| !key.is_empty());
        self.told = None;
        self.confirmed = None;
        self.refused = false;
        if held {
            self.released = false;
        }
    }

    /// Whether push can be offered here: a held name and a server that
    /// pushes (the profile menu's switch shows then).
    pub(crate) fn offered(&self) -> bool {
        self.held && self.server_key.is_some()
    }

    /// Whether push was not turned off on this browser.
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether this browser should have a subscription the server knows,
    /// given whether notifications are `granted`.
    pub(crate) fn wanted(&self, granted: bool) -> bool {
        self.offered() && self.enabled && granted && !self.refused
    }

    /// The next step, given whether notifications are `granted` and the
    /// browser's subscription (`existing`), if it has one.
    pub(crate) fn next_step(
        &self,
        granted: bool,
        existing: Option<&BrowserSubscription>,
    ) -> PushStep {
        if self.wanted(granted) {
            let Some(key) = self.server_key.as_deref().and_then(key::decode) else {
                // A key the browser could not use: nothing to subscribe with.
                return PushStep::Nothing;
            };
            let Some(existing) = existing else {
                return PushStep::Subscribe { key, stale: false };
            };
            let made_for_another = match (&existing.server_key, &self.server_key) {
                (Some(theirs), Some(ours)) => !key::same_key(theirs, ours),
                _ => false,
            };
            if made_for_another {
                return PushStep::Subscribe { key, stale: true };
            }
            if self.told.as_deref() == Some(existing.endpoint.as_str()) {
                return PushStep::Nothing;
            }
            return PushStep::Tell(ClientFrame::PushSubscribe {
                endpoint: existing.endpoint.clone(),
                keys: existing.keys.clone(),
            });
        }
        let Some(existing) = existing else {
            return PushStep::Nothing;
        };
        // Turned off here, or no permission any more: the held name says
        // so to the server. Given up: the server forgot the name's
        // subscriptions with it. A server without push, a keyless name or
        // a refusal leave the subscription alone (nothing pushes to it).
        let turned_off = self.offered() && (!self.enabled || !granted);
        if turned_off || self.released {
            return PushStep::Drop {
                endpoint: existing.endpoint.clone(),
                tell: turned_off,
            };
        }
        PushStep::Nothing
    }

    /// A `push_subscribe` for `endpoint` went out.
    pub(crate) fn told(&mut self, endpoint: &str) {
        self.told = Some(endpoint.to_owned());
    }

    /// `push_subscribed`: the server will push to `endpoint`.
    pub(crate) fn subscribed(&mut self, endpoint: &str) {
        self.confirmed = Some(endpoint.to_owned());
    }

    /// `push_unsubscribed`, or a `push_unsubscribe` went out: the server
    /// will not push to `endpoint`.
    pub(crate) fn unsubscribed(&mut self, endpoint: &str) {
        if self.confirmed.as_deref() == Some(endpoint) {
            self.confirmed = None;
        }
        if self.told.as_deref() == Some(endpoint) {
            self.told = None;
        }
    }

    /// `invalid_subscription`: the server refused this browser's
    /// subscription; not asked again on this connection.
    pub(crate) fn refused(&mut self) {
        self.refused = true;
        self.told = None;
    }

    /// Push was turned on or off on this browser.
    pub(crate) fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// The endpoint to unsubscribe before my name is given up: the one
    /// the server was told of on this connection.
    pub(crate) fn endpoint_to_forget(&self) -> Option<&str> {
        self.confirmed.as_deref().or(self.told.as_deref())
    }

    /// My name was given up: it is held no more, and this browser's
    /// subscription for it goes.
    pub(crate) fn released(&mut self) {
        self.held = false;
        self.released = true;
        self.told = None;
        self.confirmed = None;
    }
}

/// Push for the chat and the profile menu.
#[derive(Clone, Copy)]
pub(crate) struct Push {
    state: RwSignal<PushState>,
    send: StoredValue<Sender, LocalStorage>,
    /// A sync is running: another one asked for meanwhile runs after it,
    /// so two never race on the browser's one subscription.
    busy: StoredValue<bool>,
    /// A sync was asked for while one ran: it runs its steps once more.
    again: StoredValue<bool>,
}

impl Push {
    /// Push as the user left it on this browser; frames go through `send`.
    pub(crate) fn new(send: Sender) -> Self {
        Self {
            state: RwSignal::new(PushState::new(storage::get(OFF_KEY).is_none())),
            send: StoredValue::new_local(send),
            busy: StoredValue::new(false),
            again: StoredValue::new(false),
        }
    }

    /// Whether the switch shows (tracked): a held name, a server that
    /// pushes, a browser that can receive pushes.
    pub(crate) fn offered(&self) -> bool {
        self.state.with(PushState::offered) && browser::supported()
    }

    /// Whether push is on for this browser (tracked).
    pub(crate) fn enabled(&self) -> bool {
        self.state.with(PushState::enabled)
    }

    /// Welcomed: see [`PushState::welcomed`]; then brings the browser's
    /// subscription in line.
    pub(crate) fn welcomed(&self, held: bool, server_key: Option<String>) {
        self.state.update(|s| s.welcomed(held, server_key));
        self.sync();
    }

    /// Turns push on or off on this browser (remembered), then brings the
    /// subscription in line.
    pub(crate) fn set_enabled(&self, enabled: bool) {
        if enabled {
            storage::remove(OFF_KEY);
        } else {
            storage::set(OFF_KEY, "1");
        }
        self.state.update(|s| s.set_enabled(enabled));
        self.sync();
    }

    /// `push_subscribed`.
    pub(crate) fn subscribed(&self, endpoint: &str) {
        self.state.update(|s| s.subscribed(endpoint));
    }

    /// `push_unsubscribed`.
    pub(crate) fn unsubscribed(&self, endpoint: &str) {
        self.state.update(|s| s.unsubscribed(endpoint));
    }

    /// `invalid_subscription` (the notice bar says so).
    pub(crate) fn refused(&self) {
        self.state.update(PushState::refused);
    }

    /// Before my name is given up, while it is still held: the server is
    /// told to stop pushing here.
    pub(crate) fn before_release(&self) {
        let endpoint = self
            .state
            .with_untracked(|s| s.endpoint_to_forget().map(str::to_owned));
        if let Some(endpoint) = endpoint {
            if self.send(&ClientFrame::PushUnsubscribe {
                endpoint: endpoint.clone(),
            }) {
                self.state.update(|s| s.unsubscribed(&endpoint));
            }
        }
    }

    /// My name was given up: the browser's subscription goes.
    pub(crate) fn released(&self) {
        self.state.update(PushState::released);
        self.sync();
    }

    fn send(&self, frame: &ClientFrame) -> bool {
        self.send.with_value(|send| send(frame))
    }

    /// Brings the browser's subscription and the server's knowledge of it
    /// in line with [`PushState`], a step at a time, in the background.
    pub(crate) fn sync(&self) {
        if !browser::supported() {
            return;
        }
        if self.busy.get_value() {
            self.again.set_value(true);
            return;
        }
        self.busy.set_value(true);
        let push = *self;
        leptos::task::spawn_local(async move {
            loop {
                push.again.set_value(false);
                push.run_steps().await;
                if !push.again.get_value() {
                    break;
                }
            }
            push.busy.set_value(false);
        });
    }

    /// Takes steps until there is nothing to do (or a step fails: the
    /// next welcome or switch tries again).
    async fn run_steps(&self) {
        // Each step changes what the next one sees; a handful suffice
        // (drop a stale one, subscribe, tell).
        for _ in 0..4 {
            let Some(registration) = browser::registration().await else {
                return;
            };
            let existing = browser::subscription(&registration).await;
            let granted = crate::attention::permission().as_deref() == Some("granted");
            let step = self
                .state
                .with_untracked(|s| s.next_step(granted, existing.as_ref().map(|(_, sub)| sub)));
            let done = match step {
                PushStep::Nothing => return,
                PushStep::Subscribe { key, stale } => {
                    if stale {
                        if let Some((old, _)) = &existing {
                            browser::unsubscribe(old).await;
                        }
                    }
                    browser::subscribe(&registration, &key).await.is_some()
                }
                PushStep::Tell(frame) => {
                    let endpoint = match &frame {
                        ClientFrame::PushSubscribe { endpoint, .. } => endpoint.clone(),
                        _ => String::new(),
                    };
                    let sent = self.send(&frame);
                    if sent {
                        self.state.update(|s| s.told(&endpoint));
                    }
                    sent
                }
                PushStep::Drop { endpoint, tell } => {
                    if tell {
                        self.send(&ClientFrame::PushUnsubscribe {
                            endpoint: endpoint.clone(),
                        });
                    }
                    self.state.update(|s| s.unsubscribed(&endpoint));
                    match &existing {
                        Some((old, _)) => browser::unsubscribe(old).await,
                        None => false,
                    }
                }
            };
            if !done {
                return;
            }
        }
    }
}

/// Push from context.
pub(crate) fn use_push() -> Push {
    expect_context::<Push>()
}

#[cfg(test)]
mod tests;

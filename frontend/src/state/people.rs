//! My identity: whether my name is held (kept for my devices), the
//! devices that hold it, and the link code that adds another one, with
//! its expiry. The profile menu shows it; [`People`] sends what it asks.

use chat_shared::{ClientFrame, DeviceInfo};
use leptos::prelude::*;

use super::Sender;
use crate::time::{epoch_ms, now_ms};

/// A link code the server gave, for the link-a-device dialog.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Link {
    /// The one-time code (32 hex digits).
    pub(crate) code: String,
    /// When it stops working, milliseconds since the epoch.
    pub(crate) expires_ms: f64,
}

impl Link {
    /// Whole seconds left at `now_ms`: 0 once expired (or unreadable).
    pub(crate) fn seconds_left(&self, now_ms: f64) -> u64 {
        let left = ((self.expires_ms - now_ms) / 1000.0).ceil();
        if left.is_nan() || left <= 0.0 {
            0
        } else {
            left as u64
        }
    }
}

/// What I know about my identity.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PeopleState {
    /// The server said my name is held by this device (`welcome.held`).
    held: bool,
    /// The devices that hold it, as `devices` last listed them.
    devices: Vec<DeviceInfo>,
    /// The newest link code, while the dialog may show it.
    link: Option<Link>,
}

impl PeopleState {
    /// Welcomed: held or not. A name no longer held has no devices and
    /// no link.
    pub(crate) fn welcomed(&mut self, held: bool) {
        self.held = held;
        if !held {
            self.devices.clear();
            self.link = None;
        }
    }

    /// Whether my name is held.
    pub(crate) fn held(&self) -> bool {
        self.held
    }

    /// The devices, oldest first.
    pub(crate) fn devices(&self) -> &[DeviceInfo] {
        &self.devices
    }

    /// The link code, if one was asked for.
    pub(crate) fn link(&self) -> Option<&Link> {
        self.link.as_ref()
    }

    /// `devices` arrived.
    pub(crate) fn devices_listed(&mut self, devices: Vec<DeviceInfo>) {
        self.devices = devices;
    }

    /// `device_link` arrived.
    pub(crate) fn link_arrived(&mut self, code: String, expires_ms: f64) {
        self.link = Some(Link { code, expires_ms });
    }

    /// The dialog closed: its code is not shown again.
    pub(crate) fn forget_link(&mut self) {
        self.link = None;
    }

    /// My name was given up: nothing is held any more.
    pub(crate) fn released(&mut self) {
        self.welcomed(false);
    }
}

/// My identity for the views and the chat.
#[derive(Clone, Copy)]
pub(crate) struct People {
    state: RwSignal<PeopleState>,
    send: StoredValue<Sender, LocalStorage>,
}

impl People {
    /// Nothing known yet; requests go through `send`.
    pub(crate) fn new(send: Sender) -> Self {
        Self {
            state: RwSignal::new(PeopleState::default()),
            send: StoredValue::new_local(send),
        }
    }

    fn send(&self, frame: &ClientFrame) -> bool {
        self.send.with_value(|send| send(frame))
    }

    /// Whether my name is held (tracked).
    pub(crate) fn held(&self) -> bool {
        self.state.with(PeopleState::held)
    }

    /// The devices that hold my name (tracked).
    pub(crate) fn devices(&self) -> Vec<DeviceInfo> {
        self.state.with(|s| s.devices().to_vec())
    }

    /// The link code shown, if any (tracked).
    pub(crate) fn link(&self) -> Option<Link> {
        self.state.with(|s| s.link().cloned())
    }

    /// See [`PeopleState::welcomed`].
    pub(crate) fn welcomed(&self, held: bool) {
        self.state.update(|s| s.welcomed(held));
    }

    /// See [`PeopleState::devices_listed`].
    pub(crate) fn devices_listed(&self, devices: Vec<DeviceInfo>) {
        self.state.update(|s| s.devices_listed(devices));
    }

    /// `device_link` arrived; its expiry is read from RFC 3339.
    pub(crate) fn link_arrived(&self, code: String, expires_at: &str) {
        let expires_ms = epoch_ms(expires_at);
        self.state.update(|s| s.link_arrived(code, expires_ms));
    }

    /// See [`PeopleState::released`].
    pub(crate) fn released(&self) {
        self.state.update(PeopleState::released);
    }

    /// Asks for a link code (a new one each time).
    pub(crate) fn ask_link(&self) {
        self.send(&ClientFrame::LinkDevice);
    }

    /// Whether the code shown has expired, so a new one is due.
    pub(crate) fn link_expired(&self) -> bool {
        self.state
            .with_untracked(|s| s.link().is_some_and(|l| l.seconds_left(now_ms()) == 0))
    }

    /// The dialog closed.
    pub(crate) fn forget_link(&self) {
        self.state.update(PeopleState::forget_link);
    }

    /// Asks for the devices.
    pub(crate) fn ask_devices(&self) {
        self.send(&ClientFrame::Devices);
    }

    /// Takes device `id` off my name (this one included).
    pub(crate) fn revoke(&self, id: u64) {
        self.send(&ClientFrame::RevokeDevice { id });
    }

    /// Gives up my name.
    pub(crate) fn release(&self) {
        self.send(&ClientFrame::ReleaseName);
    }

    /// Asks for the direct-message room with `name`; the `dm` answer
    /// moves there.
    pub(crate) fn open_dm(&self, name: &str) {
        self.send(&ClientFrame::OpenDm {
            with: vec![name.to_owned()],
        });
    }

    /// Shows message `id` to the moderators, with why.
    pub(crate) fn report(&self, id: u64, reason: &str) {
        self.send(&ClientFrame::Report {
            id,
            reason: reason.trim().to_owned(),
        });
    }
}

/// My identity from context.
pub(crate) fn use_people() -> People {
    expect_context::<People>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_name_keeps_devices_and_a_link_until_it_is_released() {
        let mut state = PeopleState::default();
        assert!(!state.held());
        state.welcomed(true);
        state.devices_listed(vec![DeviceInfo {
            id: 1,
            this: true,
            ..DeviceInfo::default()
        }]);
        state.link_arrived("ab".repeat(16), 1_000.0);
        state.welcomed(true);
        assert_eq!(state.devices().len(), 1, "a rejoin keeps them");
        assert!(state.link().is_some());
        state.released();
        assert!(!state.held());
        assert!(state.devices().is_empty());
        assert!(state.link().is_none());
    }

    #[test]
    fn a_link_counts_down_to_zero() {
        let link = Link {
            code: "c".into(),
            expires_ms: 600_000.0,
        };
        assert_eq!(link.seconds_left(0.0), 600);
        assert_eq!(link.seconds_left(599_001.0), 1);
        assert_eq!(link.seconds_left(600_000.0), 0);
        assert_eq!(link.seconds_left(700_000.0), 0);
        let unreadable = Link {
            code: "c".into(),
            expires_ms: f64::NAN,
        };
        assert_eq!(unreadable.seconds_left(0.0), 0);
    }
}

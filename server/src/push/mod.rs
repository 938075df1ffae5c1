//! Web Push: telling a browser with no tab open that someone called its
//! owner. The building blocks, each on its own and tested; what decides
//! *when* to push (the level, the open connections) lives with the hub and
//! the commands, which call these.
//!
//! - [`subscription`]: a subscription as the browser gives it, checked
//!   (https endpoint, a `p256dh` on P-256, a 16-byte `auth`).
//! - [`vapid`]: the server's VAPID key (RFC 8292) and the signed
//!   `Authorization: vapid t=…, k=…` header.
//! - [`ece`]: RFC 8291 encryption (`aes128gcm`, RFC 8188), so the push
//!   service carries a message it cannot read.
//! - [`payload`]: the JSON the service worker reads, cut to fit one push.
//! - [`limiter`]: at most a few pushes per window per subscription; the
//!   rest become one summary.
//! - [`sender`]: the HTTPS POST to the push service and what its answer
//!   means (delivered, gone, retry later, refused, failed).
//! - [`dispatch`]: the node's pusher, which puts them together for each
//!   person a message calls: no open connection, a subscription, the
//!   limit, the send, a gone subscription dropped.
//! - [`settings`]: `--no-push` and the rest of the operator's choices.
//!
//! docs/notifications.md says what the push services see.

pub(crate) mod dispatch;
pub mod ece;
pub mod limiter;
pub mod payload;
pub mod sender;
pub mod settings;
pub mod subscription;
pub mod vapid;

pub use limiter::{Admission, PushLimiter, Summary};
pub use payload::{message_payload, summary_payload, PayloadError, MAX_PAYLOAD};
pub use sender::{
    PushOptions, SendFailure, SendOutcome, Sender, SenderError, SenderSettings, Urgency,
};
pub use settings::{PushConfig, DEFAULT_PUSH_CONTACT, DEFAULT_PUSH_WINDOW, PUSHES_PER_WINDOW};
pub use subscription::{Subscription, SubscriptionError};
pub use vapid::{VapidError, VapidKey};

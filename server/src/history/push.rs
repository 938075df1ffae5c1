//! What lasts of Web Push (issue 24): the server's VAPID key, kept once
//! for every node (a subscription is made for one key, so every node must
//! sign with it), and each held person's push subscriptions.
//!
//! A subscription belongs to the device that made it: revoking the device
//! drops it (a lost phone stops hearing the person's news), and so does
//! forgetting the person. The rules (who may subscribe, what is a valid
//! subscription, when a push goes out) are in `crate::command::push` and
//! [`crate::push`]; the store only stores.

use crate::history::store::StoreResult;

/// The most subscriptions one person keeps: a new one past it replaces
/// the oldest, so a person who reinstalls the app a hundred times does
/// not make the server push a hundred times.
pub(crate) const MAX_SUBSCRIPTIONS_PER_PERSON: usize = 10;

/// One browser's push subscription, as stored (keys in base64url, as the
/// browser gave them and already checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredSubscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    /// The device that subscribed.
    pub device: u64,
}

/// Where a person's pushes go: the held name's key (what the presence
/// knows them by, to tell whether they have a connection open) and their
/// subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PushTarget {
    pub name_key: String,
    pub subscriptions: Vec<StoredSubscription>,
}

/// The push half of a store.
pub(crate) trait PushStore {
    /// The VAPID private key in force (base64url): the stored one, or
    /// `fresh`, stored, when there is none yet. Two nodes starting at once
    /// both end up with the one that was stored first.
    fn vapid_key(&mut self, fresh: &str) -> StoreResult<String>;

    /// Keeps `subscription` for `person`, replacing whatever the endpoint
    /// had (an endpoint is one browser; its latest subscriber wins), and
    /// drops the person's oldest past [`MAX_SUBSCRIPTIONS_PER_PERSON`].
    fn add_push(
        &mut self,
        person: u64,
        subscription: &StoredSubscription,
        now_ms: u64,
    ) -> StoreResult<()>;

    /// Drops the person's subscription at `endpoint`; whether there was one.
    fn remove_push(&mut self, person: u64, endpoint: &str) -> StoreResult<bool>;

    /// Where the person's pushes go; `None` when they have no subscription
    /// (the common case, answered by one index probe).
    fn push_target(&mut self, person: u64) -> StoreResult<Option<PushTarget>>;

    /// Drops the subscription at `endpoint`, whoever's it was: the push
    /// service said it is gone (404, 410).
    fn drop_push(&mut self, endpoint: &str) -> StoreResult<()>;
}

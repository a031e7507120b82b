//! API keys this process verified against the database moments ago, so that a client system
//! busy reading does not make every request wait for the same key lookup (a blocking database
//! trip of its own before the request's work).
//!
//! An entry is believed for [`RECHECK_AFTER`] at most, and only for the exact key it was
//! verified with (its hash is compared, in constant time, on every use). A key revoked in this
//! process is forgotten at once; one revoked by another instance of the gateway is refused here
//! within [`RECHECK_AFTER`]. An expiry is checked on every use.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use crate::auth::apikey;
use crate::domain::ApiKeyId;

/// How long a verified key is believed without asking the database again.
pub const RECHECK_AFTER: Duration = Duration::from_secs(1);

/// A key as verified: what it stands for, and until when that holds.
#[derive(Debug, Clone)]
pub struct VerifiedKey<C> {
    pub id: ApiKeyId,
    pub expires_at: Option<NaiveDateTime>,
    /// Who calls with it (the service's caller).
    pub caller: C,
}

struct Entry<C> {
    key_hash: Vec<u8>,
    key: VerifiedKey<C>,
    verified_at: Instant,
}

struct Inner<C> {
    by_prefix: HashMap<String, Entry<C>>,
    /// Bumped by every forget: a verification that started before a revocation must not put
    /// the revoked key back.
    generation: u64,
}

/// The keys verified lately, by their lookup prefix.
pub struct VerifiedKeys<C> {
    inner: Mutex<Inner<C>>,
}

impl<C> Default for VerifiedKeys<C> {
    fn default() -> Self {
        Self { inner: Mutex::new(Inner { by_prefix: HashMap::new(), generation: 0 }) }
    }
}

impl<C: Clone> VerifiedKeys<C> {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner<C>> {
        crate::locks::lock(&self.inner)
    }

    /// The caller behind `presented` when it was verified within [`RECHECK_AFTER`], matches
    /// the verified key exactly and has not expired by `now`.
    pub fn get(&self, prefix: &str, presented: &str, now: NaiveDateTime) -> Option<C> {
        let inner = self.inner();
        let entry = inner.by_prefix.get(prefix)?;
        let fresh = entry.verified_at.elapsed() < RECHECK_AFTER;
        let live = entry.key.expires_at.is_none_or(|e| e > now);
        (fresh && live && apikey::matches(presented, &entry.key_hash)).then(|| entry.key.caller.clone())
    }

    /// Where a verification begins: pass it to [`VerifiedKeys::remember`].
    pub fn generation(&self) -> u64 {
        self.inner().generation
    }

    /// Keeps a key just verified against the database, unless a key was forgotten since the
    /// verification began (`generation`).
    pub fn remember(&self, generation: u64, prefix: &str, key_hash: Vec<u8>, key: VerifiedKey<C>) {
        let mut inner = self.inner();
        if inner.generation == generation {
            inner.by_prefix.insert(prefix.to_owned(), Entry { key_hash, key, verified_at: Instant::now() });
        }
    }

    /// Forgets keys that were revoked: they are refused at once, not after [`RECHECK_AFTER`].
    pub fn forget(&self, ids: &[ApiKeyId]) {
        let mut inner = self.inner();
        inner.generation += 1;
        inner.by_prefix.retain(|_, e| !ids.contains(&e.key.id));
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        chrono::Utc::now().naive_utc()
    }

    fn verified(keys: &VerifiedKeys<&'static str>, expires_at: Option<NaiveDateTime>) -> (String, ApiKeyId) {
        let generated = apikey::generate().unwrap();
        let id = ApiKeyId::new();
        let key = VerifiedKey { id: id.clone(), expires_at, caller: "client system" };
        keys.remember(keys.generation(), &generated.prefix, generated.hash, key);
        (secrecy::ExposeSecret::expose_secret(&generated.plaintext).to_owned(), id)
    }

    #[test]
    fn only_the_exact_live_key_is_believed() {
        let keys = VerifiedKeys::default();
        let (plain, _) = verified(&keys, None);
        let prefix = apikey::prefix_of(&plain).unwrap().to_owned();
        assert_eq!(keys.get(&prefix, &plain, now()), Some("client system"));
        // Same prefix, another secret: never the cached caller.
        let forged = format!("{}{}", &plain[..plain.len() - 1], if plain.ends_with('0') { '1' } else { '0' });
        assert_eq!(keys.get(&prefix, &forged, now()), None);

        let (expired, _) = verified(&keys, Some(now() - chrono::Duration::seconds(1)));
        let expired_prefix = apikey::prefix_of(&expired).unwrap().to_owned();
        assert_eq!(keys.get(&expired_prefix, &expired, now()), None, "expiry is checked on every use");
    }

    #[test]
    fn a_revoked_key_is_forgotten_and_not_put_back_by_a_check_that_began_before() {
        let keys = VerifiedKeys::default();
        let (plain, id) = verified(&keys, None);
        let prefix = apikey::prefix_of(&plain).unwrap().to_owned();
        let began = keys.generation();
        keys.forget(std::slice::from_ref(&id));
        assert_eq!(keys.get(&prefix, &plain, now()), None);
        // A request that read the key as live before the revocation committed.
        let key = VerifiedKey { id, expires_at: None, caller: "client system" };
        keys.remember(began, &prefix, apikey::hash(&plain), key);
        assert_eq!(keys.get(&prefix, &plain, now()), None);
    }
}

//! Panel session tokens: short-lived HS256 JWTs with explicit issuer, audience, expiry and
//! not-before checks, naming a session row that logout revokes. The signing key is derived from
//! the vault's master key, so replicas sharing the key accept each other's sessions and no new
//! secret has to be managed.

use hmac::{Hmac, Mac};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::{UserId, UserSessionId};

const ISSUER: &str = "ksef-gateway/panel";
const AUDIENCE: &str = "ksef-gateway";

/// The claims of a session token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The session row id.
    pub sid: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

impl Claims {
    /// The user the token names. The claim is the id's text, as in every token issued so far;
    /// text that is no user id names nobody.
    pub fn user_id(&self) -> Option<UserId> {
        UserId::parse(&self.sub).ok()
    }

    /// The session row the token names; text that is no session id names none.
    pub fn session_id(&self) -> Option<UserSessionId> {
        UserSessionId::parse(&self.sid).ok()
    }
}

/// Signs and checks session tokens and CSRF tokens.
#[derive(Clone)]
pub struct SessionKeys {
    jwt: Vec<u8>,
    csrf: Vec<u8>,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys([redacted])")
    }
}

fn derive(master: &[u8], label: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master).unwrap_or_else(|_| {
        // HMAC takes keys of any length; this branch cannot run.
        <Hmac<Sha256> as Mac>::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| unreachable!())
    });
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

impl SessionKeys {
    /// Derives both keys from a master key.
    pub fn derive(master: &[u8; 32]) -> Self {
        Self { jwt: derive(master, "ksef-gateway/jwt/v1"), csrf: derive(master, "ksef-gateway/csrf/v1") }
    }

    /// A token for `user_id`'s session `sid`, valid `ttl_s` seconds from `now`.
    pub fn issue(
        &self,
        user_id: &UserId,
        sid: &UserSessionId,
        now: i64,
        ttl_s: i64,
    ) -> Result<String, String> {
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user_id.to_string(),
            sid: sid.to_string(),
            iat: now,
            nbf: now,
            exp: now + ttl_s,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&self.jwt))
            .map_err(|e| e.to_string())
    }

    /// The claims of a valid token: right signature and algorithm, issuer, audience, not
    /// expired, not used before its time (30 s leeway for clock skew).
    pub fn check(&self, token: &str) -> Option<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[ISSUER]);
        v.set_audience(&[AUDIENCE]);
        v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        v.validate_nbf = true;
        v.leeway = 30;
        decode::<Claims>(token, &DecodingKey::from_secret(&self.jwt), &v).ok().map(|d| d.claims)
    }

    /// The CSRF token of a session: an HMAC of its id, so nothing extra is stored and a token
    /// from one session is worthless in another.
    pub fn csrf_token(&self, sid: &str) -> String {
        hex::encode(derive(&self.csrf, sid))
    }

    /// Constant-time check of a presented CSRF token.
    pub fn csrf_ok(&self, sid: &str, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.csrf_token(sid).as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_for_issuer_audience_expiry_and_signature() {
        let keys = SessionKeys::derive(&[7u8; 32]);
        let now = chrono::Utc::now().timestamp();
        let (u1, s1) = (UserId::new(), UserSessionId::new());
        let good = keys.issue(&u1, &s1, now, 600).unwrap_or_default();
        assert_eq!(keys.check(&good).map(|c| c.sid), Some(s1.to_string()));
        assert_eq!(keys.check(&good).and_then(|c| c.user_id()), Some(u1.clone()));
        let expired = keys.issue(&u1, &s1, now - 4000, 600).unwrap_or_default();
        assert!(keys.check(&expired).is_none());
        let other = SessionKeys::derive(&[8u8; 32]);
        assert!(other.check(&good).is_none(), "another master key must not accept it");
        let wrong_aud = encode(
            &Header::new(Algorithm::HS256),
            &Claims {
                iss: ISSUER.into(),
                aud: "somebody-else".into(),
                sub: u1.to_string(),
                sid: s1.to_string(),
                iat: now,
                nbf: now,
                exp: now + 600,
            },
            &EncodingKey::from_secret(&keys.jwt),
        )
        .unwrap_or_default();
        assert!(keys.check(&wrong_aud).is_none());
        let none_alg = format!("{}.", good.rsplit_once('.').map(|(h, _)| h).unwrap_or_default());
        assert!(keys.check(&none_alg).is_none());
        assert!(keys.csrf_ok("s1", &keys.csrf_token("s1")));
        assert!(!keys.csrf_ok("s2", &keys.csrf_token("s1")));
    }
}

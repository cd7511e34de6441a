//! Connection tokens (JWT) as Centrifugo reads them (shared/protocol.md
//! §4.4): `sub` is the user, `exp` is enforced, `info` travels with the
//! connection, `channels` adds server-side subscriptions.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;
use serde_json::Value;

/// How tokens are checked.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("algorithms", &self.validation.algorithms)
            .finish_non_exhaustive()
    }
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The key could not be read.
    #[error("invalid key: {0}")]
    Key(#[source] jsonwebtoken::errors::Error),
    /// The token is past its `exp`: error 109, the client gets a new one.
    #[error("token expired")]
    Expired,
    /// Bad signature, malformed, wrong algorithm, forbidden claim: close 3500.
    #[error("invalid token: {0}")]
    Invalid(String),
}

/// The claims wirecall reads; everything else stays in [`VerifiedToken::claims`].
#[derive(Debug, Deserialize)]
struct KnownClaims {
    #[serde(default)]
    sub: String,
    exp: Option<u64>,
    #[serde(default)]
    info: Option<Value>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    channel: Option<Value>,
}

/// A token that passed verification.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// The user id (`sub`); empty for anonymous.
    pub user: String,
    /// Expiry as seconds since the Unix epoch, if any.
    pub expires_at: Option<u64>,
    /// The `info` claim.
    pub info: Option<Value>,
    /// Server-side subscriptions asked for by the `channels` claim.
    pub channels: Vec<String>,
    /// Every claim.
    pub claims: Value,
}

impl TokenVerifier {
    /// HS256 tokens signed with a shared secret.
    pub fn hmac(secret: impl AsRef<[u8]>) -> Self {
        Self::with(DecodingKey::from_secret(secret.as_ref()), Algorithm::HS256)
    }

    /// RS256 tokens checked with a PEM-encoded RSA public key.
    ///
    /// # Errors
    /// The PEM does not hold an RSA public key.
    pub fn rsa_pem(pem: &[u8]) -> Result<Self, TokenError> {
        let key = DecodingKey::from_rsa_pem(pem).map_err(TokenError::Key)?;
        Ok(Self::with(key, Algorithm::RS256))
    }

    /// ES256 tokens checked with a PEM-encoded EC (P-256) public key.
    ///
    /// # Errors
    /// The PEM does not hold an EC public key.
    pub fn ec_pem(pem: &[u8]) -> Result<Self, TokenError> {
        let key = DecodingKey::from_ec_pem(pem).map_err(TokenError::Key)?;
        Ok(Self::with(key, Algorithm::ES256))
    }

    fn with(key: DecodingKey, algorithm: Algorithm) -> Self {
        let mut validation = Validation::new(algorithm);
        // Centrifugo tokens need not expire; `exp` is checked when present.
        validation.required_spec_claims.clear();
        validation.validate_nbf = true;
        validation.leeway = 0;
        validation.validate_aud = false;
        Self { key, validation }
    }

    /// Checks signature, expiry and claims.
    ///
    /// # Errors
    /// [`TokenError::Expired`] or [`TokenError::Invalid`].
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let data =
            jsonwebtoken::decode::<Value>(token, &self.key, &self.validation).map_err(|error| {
                match error.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    // Not valid yet (`nbf`): a new token would not help, so
                    // it is refused rather than reported as expired.
                    _ => TokenError::Invalid(error.to_string()),
                }
            })?;
        let known: KnownClaims = serde_json::from_value(data.claims.clone())
            .map_err(|error| TokenError::Invalid(format!("claims: {error}")))?;
        if known.channel.is_some() {
            // A subscription token used as a connection token.
            return Err(TokenError::Invalid(
                "`channel` claim in a connection token".into(),
            ));
        }
        Ok(VerifiedToken {
            user: known.sub,
            expires_at: known.exp,
            info: known.info,
            channels: known.channels,
            claims: data.claims,
        })
    }
}

/// Why a subscription token was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionTokenError {
    /// Past its `exp`: error 109, the client fetches a new one.
    #[error("subscription token expired")]
    Expired,
    /// Bad signature or malformed: error 103.
    #[error("invalid subscription token: {0}")]
    Invalid(String),
    /// Issued for another channel or user: close 3500.
    #[error("subscription token is for another channel or user")]
    Mismatch,
}

#[derive(Debug, Deserialize)]
struct SubscriptionClaims {
    #[serde(default)]
    sub: String,
    #[serde(default)]
    channel: String,
}

impl TokenVerifier {
    /// Checks a subscription token (shared/protocol.md §7.3): signed with
    /// the same key, `channel` equal to the channel, `sub` to the user.
    ///
    /// # Errors
    /// Expired, invalid, or issued for something else.
    pub fn verify_subscription(
        &self,
        token: &str,
        channel: &str,
        user: &str,
    ) -> Result<(), SubscriptionTokenError> {
        let data = jsonwebtoken::decode::<SubscriptionClaims>(token, &self.key, &self.validation)
            .map_err(|error| match error.kind() {
            ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => {
                SubscriptionTokenError::Expired
            }
            _ => SubscriptionTokenError::Invalid(error.to_string()),
        })?;
        if data.claims.channel != channel || data.claims.sub != user {
            return Err(SubscriptionTokenError::Mismatch);
        }
        Ok(())
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Mints an HS256 token, for development, the CLI and tests.
///
/// # Errors
/// Only if the claims cannot be encoded.
pub fn mint_hmac_token(
    secret: &[u8],
    claims: &Value,
) -> Result<String, jsonwebtoken::errors::Error> {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn hmac_tokens() {
        let verifier = TokenVerifier::hmac("s3cret");
        let exp = now_unix() + 60;
        let token = mint_hmac_token(
            b"s3cret",
            &json!({"sub": "42", "exp": exp, "info": {"n": 1}}),
        )
        .unwrap();
        let verified = verifier.verify(&token).unwrap();
        assert_eq!(
            (verified.user.as_str(), verified.expires_at),
            ("42", Some(exp))
        );
        assert_eq!(verified.info, Some(json!({"n": 1})));

        let expired =
            mint_hmac_token(b"s3cret", &json!({"sub": "42", "exp": now_unix() - 5})).unwrap();
        assert!(matches!(
            verifier.verify(&expired),
            Err(TokenError::Expired)
        ));

        let forged = mint_hmac_token(b"other", &json!({"sub": "42"})).unwrap();
        assert!(matches!(
            verifier.verify(&forged),
            Err(TokenError::Invalid(_))
        ));

        let sub_token = mint_hmac_token(b"s3cret", &json!({"sub": "42", "channel": "x"})).unwrap();
        assert!(matches!(
            verifier.verify(&sub_token),
            Err(TokenError::Invalid(_))
        ));
        assert!(matches!(
            verifier.verify("garbage"),
            Err(TokenError::Invalid(_))
        ));
    }
}

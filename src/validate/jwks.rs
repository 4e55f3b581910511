//! JWKS per issuer.
use crate::config::{CacheConfig, IssuerConfig};
/// A JSON Web Key (RFC 7517).
#[derive(Debug, Clone)]
pub struct Jwk;
/// A JSON Web Key Set (RFC 7517 §5).
#[derive(Debug, Clone)]
pub struct JwkSet;
#[derive(Debug)]
pub(crate) struct IssuerKeys {
    config: IssuerConfig,
}
impl IssuerKeys {
    pub(crate) fn new(config: IssuerConfig, _cache: &CacheConfig) -> Self {
        Self { config }
    }
}

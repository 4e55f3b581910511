//! The crate-level error: one variant per module error, for callers that do not care which.

/// Any error of the saslgate core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A token was refused or could not be validated.
    #[error(transparent)]
    Validate(#[from] crate::validate::ValidateError),
    /// A SASL exchange failed.
    #[error(transparent)]
    Sasl(#[from] crate::sasl::SaslError),
    /// This node's own token could not be acquired.
    #[error(transparent)]
    Acquire(#[from] crate::acquire::AcquireError),
}

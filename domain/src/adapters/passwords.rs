//! Password hashing off the async executor: argon2 takes tens of milliseconds of CPU, so each
//! hash or check runs on the blocking pool, a few at a time (a login flood must not starve
//! every other request of threads).

use tokio::sync::Semaphore;

use crate::error::{DomainError, DomainResult};
use crate::secrets;

pub struct Hasher {
    permits: Semaphore,
    /// Checked against when the login names no account, so that the answer takes as long as
    /// for a real one and does not reveal who has an account.
    dummy: String,
}

impl Hasher {
    /// At most `at_once` hashes at a time.
    pub async fn new(at_once: usize) -> DomainResult<Self> {
        let dummy = tokio::task::spawn_blocking(|| {
            secrets::hash_password(&uuid::Uuid::new_v4().to_string())
        })
        .await
        .map_err(|e| DomainError::Internal(e.to_string()))?
        .map_err(|e| DomainError::Internal(e.to_string()))?;
        Ok(Self {
            permits: Semaphore::new(at_once.max(1)),
            dummy,
        })
    }

    pub async fn hash(&self, password: String) -> DomainResult<String> {
        let _permit = self.permit().await?;
        tokio::task::spawn_blocking(move || secrets::hash_password(&password))
            .await
            .map_err(|e| DomainError::Internal(e.to_string()))?
            .map_err(|e| DomainError::Internal(e.to_string()))
    }

    /// True when `password` matches `phc`; with no `phc`, checks against the dummy hash and
    /// answers false.
    pub async fn verify(&self, password: String, phc: Option<String>) -> DomainResult<bool> {
        let real = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy.clone());
        let _permit = self.permit().await?;
        let matches =
            tokio::task::spawn_blocking(move || secrets::verify_password(&password, &phc))
                .await
                .map_err(|e| DomainError::Internal(e.to_string()))?;
        Ok(real && matches)
    }

    async fn permit(&self) -> DomainResult<tokio::sync::SemaphorePermit<'_>> {
        self.permits
            .acquire()
            .await
            .map_err(|e| DomainError::Internal(e.to_string()))
    }
}

//! The group commit's transaction: the connection it runs on, and why a write in it failed.

use crate::domain::error::DomainError;

/// The connection a write runs on, inside a transaction its caller began (see [`OpenTx`]).
pub(crate) type Db = deadpool_postgres::Client;

/// A pooled connection inside a transaction begun with `BEGIN` by hand, so BEGIN can travel
/// in one flight with the statements that follow it instead of costing a round trip of
/// its own. Dropped before [`OpenTx::finish`] (its future was cancelled, e.g. by a
/// timeout), the connection is closed rather than returned to the pool, and Postgres rolls
/// the transaction back: a pool never hands out a connection inside a transaction.
pub(crate) struct OpenTx {
    client: Option<deadpool_postgres::Object>,
}

impl OpenTx {
    pub(crate) fn new(client: deadpool_postgres::Object) -> OpenTx {
        OpenTx {
            client: Some(client),
        }
    }

    /// The connection; `None` only after `finish`.
    pub(crate) fn db(&self) -> Option<&Db> {
        self.client.as_ref()
    }

    /// Ends the transaction with COMMIT or ROLLBACK and gives the connection back to the
    /// pool; if that statement fails, the connection is closed instead.
    pub(crate) async fn finish(mut self, commit: bool) -> Result<(), tokio_postgres::Error> {
        let Some(client) = self.client.as_deref() else {
            return Ok(());
        };
        let result = client
            .batch_execute(if commit { "COMMIT" } else { "ROLLBACK" })
            .await;
        if result.is_ok() {
            // Back to the pool: the transaction is over.
            drop(self.client.take());
        }
        result
    }
}

impl Drop for OpenTx {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

/// Why a write could not be applied: the write's own fault (the batch goes on without it),
/// another write's fault (its error aborted the shared transaction), or the connection's
/// (the whole batch fails).
pub(crate) enum ApplyError {
    Job(DomainError),
    Aborted,
    Batch(tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for ApplyError {
    fn from(e: tokio_postgres::Error) -> Self {
        // Class 22 (data exception), 23 (integrity) and P0 (raised by us) belong to one write.
        match e.code().map(|c| c.code()) {
            Some("25P02") => ApplyError::Aborted,
            // Class 42 is a statement Postgres cannot run: a bug in that one write, which
            // must not fail the writes batched with it.
            Some(code) if code.starts_with("42") => {
                let detail = e
                    .as_db_error()
                    .map_or_else(|| e.to_string(), |db| db.message().to_string());
                tracing::error!(code, %detail, "a write's statement is invalid");
                ApplyError::Job(DomainError::Internal(format!("invalid statement ({code})")))
            }
            Some(code) if code.starts_with("22") => {
                ApplyError::Job(DomainError::data_exception(code))
            }
            Some(code) if code.starts_with("23") || code.starts_with("P0") => {
                ApplyError::Job(DomainError::Rejected {
                    constraint: e
                        .as_db_error()
                        .and_then(|db| db.constraint().map(str::to_string))
                        .unwrap_or_else(|| code.to_string()),
                })
            }
            _ => ApplyError::Batch(e),
        }
    }
}

//! Maintenance mode: whether customers are served, and what they are told meanwhile.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::msg::Msg;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Maintenance {
    pub enabled: bool,
    pub message: Option<String>,
}

impl Maintenance {
    /// The longest message shown to customers while maintenance is on.
    pub const MESSAGE_MAX: usize = 500;

    /// A switch as any front-end asks for it: the message, when there is one, is trimmed,
    /// 1..=500 characters and one line without control characters.
    pub fn new(enabled: bool, message: Option<&str>) -> DomainResult<Maintenance> {
        let message = message.map(str::trim).map(|m| {
            let len = m.chars().count();
            if !(1..=Self::MESSAGE_MAX).contains(&len) || m.chars().any(char::is_control) {
                return Err(DomainError::invalid(
                    "message",
                    Msg::new("error-maintenance-message-length").arg("max", Self::MESSAGE_MAX),
                ));
            }
            Ok(m.to_string())
        });
        Ok(Maintenance {
            enabled,
            message: message.transpose()?,
        })
    }
}

//! An admin's broadcast to every bot user: its text, its life (draft → sending → done, or
//! cancelled before it was sent) and the report the admin reads at the end.

use crate::domain::error::DomainError;
use crate::domain::msg::Msg;

/// The outbox rows only the bot reads (not webhook event types): a broadcast, whose
/// notifications are its recipients, and its report to the admin who sent it.
pub const BROADCAST_KIND: &str = "telegram.broadcast";
pub const REPORT_KIND: &str = "telegram.broadcast_report";

/// A broadcast's text: what Telegram accepts as one message (1 to 4096 characters, not
/// only blanks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastText(String);

impl BroadcastText {
    pub const MAX_CHARS: usize = 4096;

    pub fn new(raw: &str) -> Result<BroadcastText, DomainError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(DomainError::invalid(
                "text",
                Msg::new("error-broadcast-empty"),
            ));
        }
        let chars = text.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(DomainError::invalid(
                "text",
                Msg::new("error-broadcast-too-long")
                    .arg("max", Self::MAX_CHARS)
                    .arg("chars", chars),
            ));
        }
        Ok(BroadcastText(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastState {
    Draft,
    Sending,
    Done,
    Cancelled,
}

impl BroadcastState {
    pub const ALL: [BroadcastState; 4] = [
        BroadcastState::Draft,
        BroadcastState::Sending,
        BroadcastState::Done,
        BroadcastState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BroadcastState::Draft => "draft",
            BroadcastState::Sending => "sending",
            BroadcastState::Done => "done",
            BroadcastState::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<BroadcastState> {
        BroadcastState::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The one transition table: only a draft is confirmed or cancelled, and only the
    /// sender finishes a broadcast, when no recipient is left.
    pub fn can_move_to(self, next: BroadcastState) -> bool {
        matches!(
            (self, next),
            (BroadcastState::Draft, BroadcastState::Sending)
                | (BroadcastState::Draft, BroadcastState::Cancelled)
                | (BroadcastState::Sending, BroadcastState::Done)
        )
    }
}

/// How a finished broadcast went, counted over its recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct BroadcastReport {
    pub broadcast_id: i64,
    pub sent: i64,
    /// Refused by Telegram, or given up after a day of retries; includes `blocked`.
    pub failed: i64,
    /// Users who blocked the bot: before it began (skipped) or answered 403 while it ran.
    pub blocked: i64,
    /// Sends whose answer never came (a restart or a timeout midway): perhaps delivered,
    /// so not sent again.
    pub unknown: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded_by_telegrams_limit() {
        assert_eq!(BroadcastText::new("  Sale!\n").unwrap().as_str(), "Sale!");
        assert!(BroadcastText::new(" \n\t").is_err());
        let most = "é".repeat(BroadcastText::MAX_CHARS);
        assert!(BroadcastText::new(&most).is_ok(), "characters, not bytes");
        let over = format!("{most}x");
        let Err(DomainError::Invalid { field, message }) = BroadcastText::new(&over) else {
            panic!("4097 characters accepted");
        };
        assert_eq!(field, "text");
        assert!(message.to_string().contains("chars=4097"), "{message}");
    }

    #[test]
    fn only_a_draft_is_confirmed_or_cancelled_and_only_a_sending_one_finishes() {
        use BroadcastState::*;
        let allowed = [(Draft, Sending), (Draft, Cancelled), (Sending, Done)];
        for from in BroadcastState::ALL {
            for to in BroadcastState::ALL {
                assert_eq!(
                    from.can_move_to(to),
                    allowed.contains(&(from, to)),
                    "{from:?} → {to:?}"
                );
            }
            assert_eq!(BroadcastState::parse(from.as_str()), Some(from));
        }
    }
}

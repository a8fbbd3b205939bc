//! Text for people, kept language-neutral: a message id and its named arguments. The
//! domain says *what* to tell (`error-quantity-range` with `max = 100`); the HTTP crate's
//! `i18n` renders it in the reader's language from its Fluent resources. No Fluent here.

use crate::domain::error::{interned, Name};
use std::fmt;

/// A message id (as in the `.ftl` resources) with the values it interpolates.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Msg {
    #[serde(deserialize_with = "interned")]
    pub id: Name,
    /// Boxed rather than a `Vec`: errors carry a `Msg`, and every byte of it is copied
    /// wherever a `Result` with one moves.
    #[serde(default, skip_serializing_if = "no_args")]
    pub args: Box<[MsgArg]>,
}

fn no_args(args: &[MsgArg]) -> bool {
    args.is_empty()
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MsgArg {
    #[serde(deserialize_with = "interned")]
    pub name: Name,
    pub value: ArgValue,
}

/// A number (so a language can choose its plural form) or a text (a field name, a code,
/// a technical detail) inserted as it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum ArgValue {
    Int(i64),
    Text(String),
}

impl Msg {
    pub fn new(id: Name) -> Msg {
        Msg {
            id,
            args: Box::default(),
        }
    }

    pub fn arg(self, name: Name, value: impl Into<ArgValue>) -> Msg {
        let mut args = self.args.into_vec();
        args.push(MsgArg {
            name,
            value: value.into(),
        });
        Msg {
            id: self.id,
            args: args.into_boxed_slice(),
        }
    }
}

/// For logs: the id and its arguments, in no particular language.
impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id)?;
        for (i, arg) in self.args.iter().enumerate() {
            let sep = if i == 0 { " (" } else { ", " };
            write!(f, "{sep}{}={}", arg.name, arg.value)?;
        }
        if !self.args.is_empty() {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Display for ArgValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgValue::Int(n) => write!(f, "{n}"),
            ArgValue::Text(s) => f.write_str(s),
        }
    }
}

impl From<i64> for ArgValue {
    fn from(n: i64) -> ArgValue {
        ArgValue::Int(n)
    }
}

impl From<i32> for ArgValue {
    fn from(n: i32) -> ArgValue {
        ArgValue::Int(n.into())
    }
}

impl From<u32> for ArgValue {
    fn from(n: u32) -> ArgValue {
        ArgValue::Int(n.into())
    }
}

impl From<usize> for ArgValue {
    fn from(n: usize) -> ArgValue {
        ArgValue::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<&str> for ArgValue {
    fn from(s: &str) -> ArgValue {
        ArgValue::Text(s.to_string())
    }
}

impl From<String> for ArgValue {
    fn from(s: String) -> ArgValue {
        ArgValue::Text(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_shows_its_id_and_arguments_in_logs() {
        let m = Msg::new("test-length").arg("field", "name").arg("max", 200);
        assert_eq!(m.to_string(), "test-length (field=name, max=200)");
    }

    #[test]
    fn a_message_crosses_nodes_as_json_and_back() {
        let m = Msg::new("test-message").arg("n", 3).arg("s", "three");
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Msg>(&json).unwrap(), m);
    }
}

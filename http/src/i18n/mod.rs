//! Every text Souk shows people, in the reader's language: API error messages (chosen by
//! `Accept-Language`) and the bot's texts (chosen by the Telegram user's language). Code
//! names a message by id with arguments (`Msg`); the Fluent resources under `http/locales/`
//! say it in each language, and English answers whatever a language lacks.
//!
//! Adding a language: a folder `http/locales/<code>/` with the same `.ftl` files, a `Lang`
//! variant, and its arm in `catalog::sources` (the compiler points at each place); the
//! tests refuse a resource that misses an id another language has.

mod catalog;
mod lang;

pub use catalog::{render, tr};
pub use lang::Lang;
pub use souk_actors::domain::msg::{ArgValue, Msg};

#[cfg(test)]
mod tests;

//! The owners: one actor per product, user and promo code, found through the registry. Each
//! holds its committed state from `domain`, decides with domain functions, and sends its
//! changes to the store's group commit.

pub mod conversation;
pub mod gate;
pub(crate) mod lifecycle;
pub mod ownership;
pub mod product;
pub mod promo;
pub mod registry;
pub mod remote;
pub mod user;

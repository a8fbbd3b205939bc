//! The protocols that span several owners: checkout (a user's cart against the products'
//! stock and a promo's claims), cancel and status moves, refunds, external payments and
//! returns. Each runs inside the user actor that owns the order's money.

pub mod cart;
pub mod checkout;
pub mod orders;
pub mod payments;
pub mod refunds;
pub mod returns;
pub mod shop;

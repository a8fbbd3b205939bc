//! Button actions (P21): one typed enum, encoded as `<version><tag>[:arg...]` with base-36
//! arguments, so the largest ids still fit Telegram's 64-byte `callback_data`. `decode` is
//! the one parser: it never panics, and anything it does not recognise — crafted, oversized,
//! or from an older version of the bot — is `None`, which the bot answers with "this button
//! is out of date".

use crate::i18n::Lang;
use souk_actors::domain::ids::{CategoryId, OrderId, ProductId};

/// Bumped when the meaning of an encoding changes; older buttons then decode to `None`.
const VERSION: char = '1';
/// Telegram's limit on `callback_data`.
pub const CALLBACK_DATA_MAX: usize = 64;
/// Bounds of decoded numbers that are not ids.
const PAGE_MAX: u32 = 100_000;
pub const QTY_MAX: u8 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminList {
    Codes,
    Stock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Menu,
    Categories {
        page: u32,
    },
    Category {
        id: CategoryId,
        page: u32,
    },
    Product {
        id: ProductId,
        qty: u8,
    },
    /// Sets the cart line to `qty` from the product card. Quantities in buttons are the
    /// line's new value, not a step: a second press, or a redelivered one, sets the same.
    Add {
        id: ProductId,
        qty: u8,
    },
    Cart,
    /// Sets the cart line to `qty` from the cart (its − and + buttons).
    CartSet {
        id: ProductId,
        qty: u8,
    },
    CartRemove {
        id: ProductId,
    },
    Checkout,
    /// Pays the confirmation created by update `confirmation`: its idempotency key.
    Pay {
        confirmation: i64,
    },
    /// Pays the confirmation created by update `confirmation` in Telegram Stars.
    PayStars {
        confirmation: i64,
    },
    /// Pays the confirmation created by update `confirmation` by card, with delivery: an
    /// invoice that asks for the shipping address.
    PayShipped {
        confirmation: i64,
    },
    Orders,
    Keys {
        order: OrderId,
    },
    Wallet,
    /// A wallet top-up of `amount` in the invoice's currency (minor units, or Stars).
    TopUp {
        amount: i64,
    },
    /// A label-only button ("page 2 of 4").
    Noop,
    /// The languages the bot speaks, to choose from.
    Languages,
    /// Speak `lang` to this user from now on.
    Language {
        lang: Lang,
    },
    Admin,
    AdminPick {
        list: AdminList,
        page: u32,
    },
    AdminCodes {
        id: ProductId,
    },
    AdminStock {
        id: ProductId,
    },
    AdminAdjust {
        id: ProductId,
        delta: i64,
    },
    AdminLow,
    /// "Notify me" on a sold-out product's card.
    Watch {
        id: ProductId,
    },
    AdminMaintenance {
        on: bool,
    },
    /// Starts composing a broadcast.
    AdminBroadcast,
    /// Sends (`send`) or cancels the previewed broadcast `id`.
    BroadcastConfirm {
        id: i64,
        send: bool,
    },
}

impl Action {
    pub fn encode(&self) -> String {
        let (tag, args): (&str, Vec<i64>) = match *self {
            Action::Menu => ("m", vec![]),
            Action::Categories { page } => ("C", vec![page.into()]),
            Action::Category { id, page } => ("c", vec![id.get(), page.into()]),
            Action::Product { id, qty } => ("p", vec![id.get(), qty.into()]),
            Action::Add { id, qty } => ("a", vec![id.get(), qty.into()]),
            Action::Cart => ("k", vec![]),
            Action::CartSet { id, qty } => ("s", vec![id.get(), qty.into()]),
            Action::CartRemove { id } => ("r", vec![id.get()]),
            Action::Checkout => ("o", vec![]),
            Action::Pay { confirmation } => ("P", vec![confirmation]),
            Action::PayStars { confirmation } => ("Z", vec![confirmation]),
            Action::PayShipped { confirmation } => ("V", vec![confirmation]),
            Action::Orders => ("O", vec![]),
            Action::Keys { order } => ("K", vec![order.get()]),
            Action::Wallet => ("w", vec![]),
            Action::TopUp { amount } => ("t", vec![amount]),
            Action::Noop => ("n", vec![]),
            Action::Languages => ("G", vec![]),
            Action::Language { lang } => ("g", vec![lang_index(lang)]),
            Action::Admin => ("A", vec![]),
            Action::AdminPick { list, page } => {
                let list = match list {
                    AdminList::Codes => 0,
                    AdminList::Stock => 1,
                };
                ("L", vec![list, page.into()])
            }
            Action::AdminCodes { id } => ("X", vec![id.get()]),
            Action::AdminStock { id } => ("S", vec![id.get()]),
            Action::AdminAdjust { id, delta } => ("D", vec![id.get(), delta]),
            Action::AdminLow => ("W", vec![]),
            Action::Watch { id } => ("N", vec![id.get()]),
            Action::AdminMaintenance { on } => ("M", vec![i64::from(on)]),
            Action::AdminBroadcast => ("B", vec![]),
            Action::BroadcastConfirm { id, send } => ("Y", vec![id, i64::from(send)]),
        };
        let mut out = String::with_capacity(CALLBACK_DATA_MAX);
        out.push(VERSION);
        out.push_str(tag);
        for arg in args {
            out.push(':');
            out.push_str(&base36(arg));
        }
        out
    }
}

/// The one parser of callback data. `None` for anything that is not a current button.
pub fn decode(data: &str) -> Option<Action> {
    if data.len() > CALLBACK_DATA_MAX {
        return None;
    }
    let mut parts = data.split(':');
    let head = parts.next()?;
    let tag = head.strip_prefix(VERSION)?;
    let args = parts.map(unbase36).collect::<Option<Vec<i64>>>()?;
    let page = |raw: i64| u32::try_from(raw).ok().filter(|p| *p <= PAGE_MAX);
    let qty = |raw: i64| u8::try_from(raw).ok().filter(|q| (1..=QTY_MAX).contains(q));
    let action = match (tag, args.as_slice()) {
        ("m", []) => Action::Menu,
        ("C", [p]) => Action::Categories { page: page(*p)? },
        ("c", [id, p]) => Action::Category {
            id: CategoryId::new(*id)?,
            page: page(*p)?,
        },
        ("p", [id, q]) => Action::Product {
            id: ProductId::new(*id)?,
            qty: qty(*q)?,
        },
        ("a", [id, q]) => Action::Add {
            id: ProductId::new(*id)?,
            qty: qty(*q)?,
        },
        ("k", []) => Action::Cart,
        ("s", [id, q]) => Action::CartSet {
            id: ProductId::new(*id)?,
            qty: qty(*q)?,
        },
        ("r", [id]) => Action::CartRemove {
            id: ProductId::new(*id)?,
        },
        ("o", []) => Action::Checkout,
        ("P", [c]) if *c > 0 => Action::Pay { confirmation: *c },
        ("Z", [c]) if *c > 0 => Action::PayStars { confirmation: *c },
        ("V", [c]) if *c > 0 => Action::PayShipped { confirmation: *c },
        ("O", []) => Action::Orders,
        ("K", [id]) => Action::Keys {
            order: OrderId::new(*id)?,
        },
        ("w", []) => Action::Wallet,
        ("t", [a]) if *a > 0 => Action::TopUp { amount: *a },
        ("n", []) => Action::Noop,
        ("G", []) => Action::Languages,
        ("g", [i]) => Action::Language {
            lang: *Lang::ALL.get(usize::try_from(*i).ok()?)?,
        },
        ("A", []) => Action::Admin,
        ("L", [l, p]) => Action::AdminPick {
            list: match l {
                0 => AdminList::Codes,
                1 => AdminList::Stock,
                _ => return None,
            },
            page: page(*p)?,
        },
        ("X", [id]) => Action::AdminCodes {
            id: ProductId::new(*id)?,
        },
        ("S", [id]) => Action::AdminStock {
            id: ProductId::new(*id)?,
        },
        ("D", [id, d]) if *d != 0 => Action::AdminAdjust {
            id: ProductId::new(*id)?,
            delta: *d,
        },
        ("W", []) => Action::AdminLow,
        ("N", [id]) => Action::Watch {
            id: ProductId::new(*id)?,
        },
        ("M", [on]) => Action::AdminMaintenance { on: flag(*on)? },
        ("B", []) => Action::AdminBroadcast,
        ("Y", [id, send]) if *id > 0 => Action::BroadcastConfirm {
            id: *id,
            send: flag(*send)?,
        },
        _ => return None,
    };
    // Only the canonical spelling is accepted ("01" for "1" is someone else's button).
    (action.encode() == data).then_some(action)
}

/// A language in callback data: its place in `Lang::ALL` (never its name, so the data's
/// length is the same in every language).
fn lang_index(lang: Lang) -> i64 {
    Lang::ALL
        .iter()
        .position(|l| *l == lang)
        .and_then(|i| i64::try_from(i).ok())
        .unwrap_or(0)
}

fn flag(raw: i64) -> Option<bool> {
    match raw {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn base36(n: i64) -> String {
    let mut magnitude = n.unsigned_abs();
    let mut digits = Vec::with_capacity(14);
    loop {
        digits.push(DIGITS[(magnitude % 36) as usize]);
        magnitude /= 36;
        if magnitude == 0 {
            break;
        }
    }
    if n < 0 {
        digits.push(b'-');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

fn unbase36(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 14 {
        return None;
    }
    i64::from_str_radix(s, 36).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_action() -> impl Strategy<Value = Action> {
        let id = 1..=i64::MAX;
        let page = 0..=PAGE_MAX;
        let qty = 1..=QTY_MAX;
        prop_oneof![
            Just(Action::Menu),
            page.clone().prop_map(|page| Action::Categories { page }),
            (id.clone(), page.clone()).prop_map(|(i, page)| Action::Category {
                id: CategoryId::new(i).unwrap(),
                page
            }),
            (id.clone(), qty.clone()).prop_map(|(i, qty)| Action::Product {
                id: ProductId::new(i).unwrap(),
                qty
            }),
            (id.clone(), qty.clone()).prop_map(|(i, qty)| Action::Add {
                id: ProductId::new(i).unwrap(),
                qty
            }),
            (id.clone(), qty).prop_map(|(i, qty)| Action::CartSet {
                id: ProductId::new(i).unwrap(),
                qty
            }),
            id.clone()
                .prop_map(|confirmation| Action::Pay { confirmation }),
            id.clone()
                .prop_map(|confirmation| Action::PayStars { confirmation }),
            id.clone()
                .prop_map(|confirmation| Action::PayShipped { confirmation }),
            id.clone().prop_map(|i| Action::Watch {
                id: ProductId::new(i).unwrap()
            }),
            id.clone().prop_map(|i| Action::Keys {
                order: OrderId::new(i).unwrap()
            }),
            id.clone().prop_map(|amount| Action::TopUp { amount }),
            (id.clone(), page).prop_map(|(_, page)| Action::AdminPick {
                list: AdminList::Stock,
                page
            }),
            (
                id.clone(),
                any::<i64>().prop_filter("non-zero", |d| *d != 0)
            )
                .prop_map(|(i, delta)| {
                    Action::AdminAdjust {
                        id: ProductId::new(i).unwrap(),
                        delta,
                    }
                }),
            any::<bool>().prop_map(|on| Action::AdminMaintenance { on }),
            Just(Action::AdminBroadcast),
            Just(Action::Languages),
            proptest::sample::select(Lang::ALL.to_vec()).prop_map(|lang| Action::Language { lang }),
            (id, any::<bool>()).prop_map(|(id, send)| Action::BroadcastConfirm { id, send }),
        ]
    }

    #[test]
    fn the_largest_values_fit_in_64_bytes() {
        let max = ProductId::new(i64::MAX).unwrap();
        for action in [
            Action::Product { id: max, qty: 100 },
            Action::AdminAdjust {
                id: max,
                delta: i64::MIN,
            },
            Action::Category {
                id: CategoryId::new(i64::MAX).unwrap(),
                page: PAGE_MAX,
            },
            Action::BroadcastConfirm {
                id: i64::MAX,
                send: true,
            },
        ] {
            let data = action.encode();
            assert!(data.len() <= CALLBACK_DATA_MAX, "{data}");
            assert_eq!(decode(&data), Some(action));
        }
    }

    #[test]
    fn stale_and_crafted_data_decode_to_none() {
        for data in [
            "", "1", "0p:1:1", "2m", "1p", "1p:0:1", "1p:1:0", "1p:1:2t", "1p:-1:1", "1p:01:1",
            "1m:", "1c:1", "1zz", "p_1", "1p:1:1:1", "1P:0", "1D:1:0", "1M:2", "1Y:0:1", "1Y:1:2",
        ] {
            assert_eq!(decode(data), None, "{data}");
        }
        assert_eq!(decode(&"x".repeat(65)), None);
        assert_eq!(decode(&format!("1p:{}:1", "z".repeat(60))), None);
    }

    proptest! {
        #[test]
        fn every_action_fits_and_round_trips(action in any_action()) {
            let data = action.encode();
            prop_assert!(data.len() <= CALLBACK_DATA_MAX, "{} is {} bytes", data, data.len());
            prop_assert_eq!(decode(&data), Some(action));
        }

        #[test]
        fn decoding_anything_never_panics(data in ".{0,100}") {
            let _ = decode(&data);
        }
    }
}

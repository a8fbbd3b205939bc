//! What a customer browses: the menu, /help, categories and products in pages of at most
//! eight buttons with previous/next and "page i of n" (P22), the product card with its
//! quantity picker, and the cart priced by the same function as `GET /v1/me/cart` (P7).

use super::callback::{Action, QTY_MAX};
use super::screens::{button, Button, Ctx, Screen};
use super::{money, page_of, webhook};
use crate::auth::Role;
use crate::error::ApiResult;
use souk_actors::domain::ids::{CategoryId, ProductId};
use souk_actors::domain::money::Money;
use souk_actors::domain::quantity::Quantity;
use souk_actors::entity::user::{GetCart, SetCartLine};
use souk_actors::flows::cart::{self, PricedCart};
use souk_actors::store::notifications;
use souk_actors::store::telegram::{self as store, Paged};

pub fn menu(ctx: &Ctx<'_>) -> Screen {
    let mut screen = Screen::text(ctx.t("bot-menu-welcome"))
        .row(vec![
            button(ctx.t("bot-button-catalog"), Action::Categories { page: 0 }),
            button(ctx.t("bot-button-cart"), Action::Cart),
        ])
        .row(vec![
            button(ctx.t("bot-button-orders"), Action::Orders),
            button(ctx.t("bot-button-wallet"), Action::Wallet),
        ])
        .row(vec![button(
            ctx.t("bot-button-language"),
            Action::Languages,
        )]);
    if ctx.caller.role == Role::Admin {
        screen = screen.row(vec![button(ctx.t("bot-button-admin"), Action::Admin)]);
    }
    screen
}

pub async fn start(ctx: &mut Ctx<'_>) -> ApiResult<()> {
    let menu = menu(ctx);
    ctx.send(menu);
    Ok(())
}

pub fn help(ctx: &mut Ctx<'_>) -> ApiResult<()> {
    let mut text = ctx.t("bot-help");
    if ctx.caller.role == Role::Admin {
        text.push('\n');
        text.push_str(&ctx.t("bot-help-admin"));
    }
    ctx.say(&text);
    Ok(())
}

/// The previous / "page i of n" / next row of a paged list.
pub fn pager<T>(ctx: &Ctx<'_>, paged: &Paged<T>, to: impl Fn(u32) -> Action) -> Vec<Button> {
    if paged.pages <= 1 {
        return Vec::new();
    }
    let page = u32::try_from(paged.page).unwrap_or(0);
    let mut row = Vec::new();
    if page > 0 {
        row.push(button(ctx.t("bot-button-prev"), to(page - 1)));
    }
    let args = [
        ("page", (i64::from(page) + 1).into()),
        ("pages", paged.pages.into()),
    ];
    row.push(button(ctx.tr("bot-page-of", &args), Action::Noop));
    if i64::from(page) + 1 < paged.pages {
        row.push(button(ctx.t("bot-button-next"), to(page + 1)));
    }
    row
}

pub async fn categories(ctx: &mut Ctx<'_>, page: u32) -> ApiResult<()> {
    let paged = ctx
        .state
        .bounded(store::categories(&ctx.state.pool, page_of(page)))
        .await?;
    let text = if paged.items.is_empty() {
        ctx.t("bot-catalog-empty")
    } else {
        ctx.t("bot-catalog-choose")
    };
    let mut screen = Screen::text(text);
    for (id, name) in &paged.items {
        screen = screen.row(vec![button(
            name.clone(),
            Action::Category { id: *id, page: 0 },
        )]);
    }
    let screen = screen
        .row(pager(ctx, &paged, |page| Action::Categories { page }))
        .row(vec![
            button(ctx.t("bot-button-menu"), Action::Menu),
            button(ctx.t("bot-button-cart"), Action::Cart),
        ]);
    ctx.show(screen);
    Ok(())
}

pub async fn category(ctx: &mut Ctx<'_>, id: CategoryId, page: u32) -> ApiResult<()> {
    let paged = ctx
        .state
        .bounded(store::products(
            &ctx.state.pool,
            Some(id),
            None,
            page_of(page),
        ))
        .await?;
    let currency = ctx.currency().to_string();
    let text = if paged.items.is_empty() {
        ctx.t("bot-category-empty")
    } else {
        let args = [
            ("page", (paged.page + 1).into()),
            ("pages", paged.pages.into()),
        ];
        ctx.tr("bot-category-products", &args)
    };
    let mut screen = Screen::text(text);
    for p in &paged.items {
        let label = format!("{} — {}", p.name, money(p.price.minor(), &currency));
        screen = screen.row(vec![button(label, Action::Product { id: p.id, qty: 1 })]);
    }
    let screen = screen
        .row(pager(ctx, &paged, |page| Action::Category { id, page }))
        .row(vec![
            button(
                ctx.t("bot-button-categories"),
                Action::Categories { page: 0 },
            ),
            button(ctx.t("bot-button-cart"), Action::Cart),
        ]);
    ctx.show(screen);
    Ok(())
}

pub async fn product(ctx: &mut Ctx<'_>, id: ProductId, qty: u8) -> ApiResult<()> {
    let state = ctx.state;
    let p = state
        .bounded(state.registry.catalog.get(&state.pool, id, &state.currency))
        .await?;
    if !p.active {
        ctx.stale();
        return Ok(());
    }
    let in_cart = quantity_in_cart(ctx, id).await?;
    // The picker offers what is in stock and what still fits the line's limit.
    let room = (i64::from(QTY_MAX) - in_cart).min(p.stock_available).max(0);
    let most = u8::try_from(room).unwrap_or(QTY_MAX);
    let qty = qty.min(most.max(1));
    let price = money(p.price_minor.minor(), &p.currency);
    let mut text = format!("{}\n", p.name);
    text.push_str(&ctx.tr("bot-product-price", &[("price", price.into())]));
    text.push('\n');
    if let Some(stars) = p.price_stars.filter(|_| super::stars::enabled(ctx.bot)) {
        text.push_str(&ctx.tr("bot-product-price-stars", &[("stars", stars.get().into())]));
        text.push('\n');
    }
    if p.stock_available > 0 {
        let args = [("count", p.stock_available.into())];
        text.push_str(&ctx.tr("bot-product-in-stock", &args));
    } else {
        text.push_str(&ctx.t("bot-product-sold-out"));
    }
    text.push('\n');
    if in_cart > 0 {
        text.push_str(&ctx.tr("bot-product-in-cart", &[("count", in_cart.into())]));
        text.push('\n');
    }
    if !p.description.is_empty() {
        text.push('\n');
        text.push_str(&p.description);
    }
    let mut screen = Screen::text(text);
    screen.photo = p.image_url.clone();
    if most > 0 {
        let mut picker = Vec::new();
        if qty > 1 {
            picker.push(button("−", Action::Product { id, qty: qty - 1 }));
        }
        picker.push(button(format!("{qty}"), Action::Noop));
        if qty < most {
            picker.push(button("+", Action::Product { id, qty: qty + 1 }));
        }
        screen = screen.row(picker).row(vec![button(
            ctx.tr("bot-button-add", &[("count", i64::from(qty).into())]),
            Action::Add {
                id,
                qty: u8::try_from(in_cart + i64::from(qty)).unwrap_or(QTY_MAX),
            },
        )]);
    }
    if p.stock_available <= 0 {
        let waiting = state
            .bounded(notifications::watching(&state.pool, ctx.caller.user, id))
            .await?;
        screen = screen.row(vec![if waiting {
            button(ctx.t("bot-button-watching"), Action::Noop)
        } else {
            button(ctx.t("bot-button-watch"), Action::Watch { id })
        }]);
    }
    let screen = screen.row(vec![
        button(
            ctx.t("bot-button-back"),
            Action::Category {
                id: p.category_id,
                page: 0,
            },
        ),
        button(ctx.t("bot-button-cart"), Action::Cart),
    ]);
    ctx.show(screen);
    Ok(())
}

/// "Notify me" on a sold-out product's card: one message when it is restocked.
pub async fn watch(ctx: &mut Ctx<'_>, id: ProductId) -> ApiResult<()> {
    let state = ctx.state;
    state
        .bounded(notifications::watch(&state.pool, ctx.caller.user, id))
        .await?;
    ctx.answer(Some(&ctx.t("bot-watch-set")), false);
    product(ctx, id, 1).await
}

/// "Add to cart" on the product card: the line becomes `qty` (what the card showed plus
/// what was picked), then the card is shown again with the new line.
pub async fn add(ctx: &mut Ctx<'_>, id: ProductId, qty: u8) -> ApiResult<()> {
    set_line(ctx, id, Some(i64::from(qty))).await?;
    let added = ctx.tr("bot-added", &[("count", i64::from(qty).into())]);
    ctx.answer(Some(&added), false);
    product(ctx, id, 1).await
}

/// − / + / remove on a cart line (`None` removes it), then the cart again.
pub async fn change(ctx: &mut Ctx<'_>, id: ProductId, qty: Option<u8>) -> ApiResult<()> {
    set_line(ctx, id, qty.map(i64::from)).await?;
    cart(ctx).await
}

async fn quantity_in_cart(ctx: &Ctx<'_>, id: ProductId) -> ApiResult<i64> {
    let cart = ctx.state.registry.user(ctx.caller.user, GetCart).await?;
    Ok(cart
        .lines
        .iter()
        .find(|(p, _)| *p == id)
        .map_or(0, |(_, q)| q.get()))
}

async fn set_line(ctx: &Ctx<'_>, product: ProductId, quantity: Option<i64>) -> ApiResult<()> {
    let quantity = quantity.and_then(Quantity::new);
    ctx.state
        .registry
        .user(ctx.caller.user, SetCartLine { product, quantity })
        .await?;
    Ok(())
}

/// Lines shown with buttons; a longer cart is listed in full but only these get buttons,
/// so the keyboard stays far below Telegram's 100 buttons.
const CART_BUTTON_LINES: usize = 20;

pub async fn cart(ctx: &mut Ctx<'_>) -> ApiResult<()> {
    let cart = priced_cart(ctx).await?;
    let currency = ctx.currency().to_string();
    let amount = |m: Money| money(m.minor(), &currency);
    if cart.lines.is_empty() {
        let screen = Screen::text(ctx.t("bot-cart-empty")).row(vec![
            button(ctx.t("bot-button-catalog"), Action::Categories { page: 0 }),
            button(ctx.t("bot-button-menu"), Action::Menu),
        ]);
        ctx.show(screen);
        return Ok(());
    }
    let mut text = ctx.t("bot-cart-title");
    text.push('\n');
    let mut screen = Screen::default();
    for (i, line) in cart.lines.iter().enumerate() {
        let (id, name, qty) = (line.product_id, &line.name, line.quantity);
        text.push_str(&format!(
            "• {name} × {qty} = {}\n",
            amount(line.line_total_minor)
        ));
        if i < CART_BUTTON_LINES {
            let less = match u8::try_from(qty - 1) {
                Ok(q) if q >= 1 => Action::CartSet { id, qty: q },
                _ => Action::CartRemove { id },
            };
            let more = match u8::try_from(qty + 1) {
                Ok(q) if q <= QTY_MAX => Action::CartSet { id, qty: q },
                _ => Action::Noop,
            };
            screen = screen.row(vec![
                button(format!("− {}", super::screens::clip(name, 20)), less),
                button("+", more),
                button("✕", Action::CartRemove { id }),
            ]);
        }
    }
    let line = |id: &str, value: Money| ctx.tr(id, &[("amount", amount(value).into())]);
    text.push('\n');
    text.push_str(&line("bot-cart-subtotal", cart.subtotal_minor));
    text.push('\n');
    for (id, value) in [
        ("bot-cart-discount", cart.discount_minor),
        ("bot-cart-shipping", cart.shipping_minor),
        ("bot-cart-tax", cart.tax_minor),
    ] {
        if value != Money::ZERO {
            text.push_str(&line(id, value));
            text.push('\n');
        }
    }
    text.push_str(&line("bot-cart-total", cart.total_minor));
    if let Some(stars) = cart.total_stars.filter(|_| super::stars::enabled(ctx.bot)) {
        text.push('\n');
        text.push_str(&ctx.tr("bot-cart-total-stars", &[("stars", stars.into())]));
    }
    screen.text = text;
    let screen = screen
        .row(vec![button(ctx.t("bot-button-checkout"), Action::Checkout)])
        .row(vec![
            button(ctx.t("bot-button-catalog"), Action::Categories { page: 0 }),
            button(ctx.t("bot-button-menu"), Action::Menu),
        ]);
    ctx.show(screen);
    Ok(())
}

/// The caller's cart, priced by the same function as `GET /v1/me/cart` and checkout.
pub async fn priced_cart(ctx: &Ctx<'_>) -> ApiResult<PricedCart> {
    let user = ctx.caller.user;
    let view = ctx.state.shop.cart(user).await?;
    Ok(cart::priced(&ctx.state.registry, user, view).await?)
}

/// Clears a waiting dialogue (used by admin refusals and by /start).
pub async fn forget_step(ctx: &Ctx<'_>) -> ApiResult<()> {
    webhook::set_step(ctx, None).await
}

# The bot's texts. Ids start with `bot-`. Buttons carry ids in their callback data, never
# text, so Telegram's 64-byte limit on callback data does not depend on the language.

bot-language-name = English
bot-language-prompt = Choose the language of the shop:
bot-language-chosen = The shop now speaks English.

## Shared

# A text told again exactly as it was first said (a stored refusal).
bot-as-said = { $text }
bot-cart-empty = Your cart is empty.
bot-order-is = Order #{ $order } is { $status }.
bot-payment-try-again = The shop cannot take this payment right now. Please try again.

## Physical goods paid by card, with delivery

bot-invoice-title-order = Your order
bot-invoice-goods = Goods
bot-invoice-tax = Tax
bot-delivery = Delivery
bot-delivery-free = Free delivery
bot-address-check = Please check the address: { $problem }
bot-address-needed = A shipping address is needed.
bot-cart-changed = Your cart changed since this invoice was made. Please check out again.
bot-invoice-other-address = This invoice already placed order #{ $order } for another address. Please check out again.
bot-payment-already-received = This payment was already received.
bot-shipped-order-paid = ✅ Order #{ $order } is paid: { $amount }. Thank you! It ships to { $address }.
bot-payment-to-wallet = Your payment of { $amount } could not pay an order any more, so it went to your shop wallet. See /wallet.
bot-payment-unmatched = We received a payment we could not match to your order. Please contact support with this id: { $charge }

## Menu, help and commands

bot-menu-welcome = Welcome to the shop! What would you like to do?
bot-help =
    What I can do:
    /start — the main menu
    /catalog — browse categories and products
    /cart — your cart, with − / + / remove and checkout
    /orders — your orders; re-send the keys of any of them
    /wallet — your balance, history and top-up
    /language — the language I speak to you
    /cancel — stop what I was waiting for
    /help — this list
bot-help-admin =
    /admin — add codes, adjust stock, low stock, maintenance
    /broadcast — send a message to every bot user
bot-cancelled = Cancelled.
bot-unknown-command = I don't know that command. /help lists what I can do.
bot-not-understood = I didn't understand that. /help lists what I can do.
bot-only-text = I can only read text and buttons. /help lists what I can do.
bot-stale = This button is out of date — here is the menu
bot-error = Something went wrong on our side; nothing was applied twice. Please try again in a moment.
bot-maintenance-browse = { $message } You can keep browsing.

## Buttons

bot-button-catalog = 🛍 Catalog
bot-button-cart = 🛒 Cart
bot-button-orders = 📦 My orders
bot-button-wallet = 💳 Wallet
bot-button-language = 🌐 Language
bot-button-admin = 🔧 Admin
bot-button-menu = ⬅ Menu
bot-button-back = ⬅ Back
bot-button-categories = ⬅ Categories
bot-button-back-to-cart = ⬅ Back to cart
bot-button-prev = ◀ Prev
bot-button-next = Next ▶
bot-button-add = Add { $count } to cart
bot-button-watch = 🔔 Notify me when it is back
bot-button-watching = 🔔 You will hear when it is back
bot-button-checkout = ✅ Checkout
bot-button-pay-wallet = 💳 Pay { $total } from wallet
bot-button-pay-stars = ⭐ Pay { $stars } Stars
bot-button-pay-card = 📦 Pay { $total } by card, with delivery
bot-button-keys-of = 🔑 Keys of #{ $order }
bot-page-of = page { $page } of { $pages }

## Catalog and cart

bot-catalog-empty = The catalog is empty for now.
bot-catalog-choose = Choose a category:
bot-category-empty = Nothing for sale in this category right now.
bot-category-products = Products — page { $page } of { $pages }:
bot-product-price = Price: { $price }
bot-product-price-stars = In Stars: { $stars } ⭐
bot-product-in-stock = In stock: { $count }
bot-product-sold-out = Sold out for now.
bot-product-in-cart = In your cart: { $count }
bot-watch-set = We will message you when it is back
bot-added = Added — in your cart: { $count }
bot-cart-title = Your cart:
bot-cart-subtotal = Subtotal: { $amount }
bot-cart-discount = Discount: { $amount }
bot-cart-shipping = Shipping: { $amount }
bot-cart-tax = Tax: { $amount }
bot-cart-total = Total: { $amount }
bot-cart-total-stars = Or in Stars: { $stars } ⭐

## Checkout and orders

bot-confirm =
    Please confirm your order: { $lines } line(s), total { $total }.
    Your wallet balance: { $balance }.
bot-paid-thanks = Paid — thank you!
bot-order-paid = ✅ Order #{ $order } is paid: { $total }.
bot-order-already = Order #{ $order } is already { $status }.
bot-an-item = an item
bot-refused-sold-out = Sorry, '{ $name }' is sold out. Remove it from your cart and check out again.
bot-refused-only-left = Sorry, only { $count } left of '{ $name }'. Lower the quantity in your cart and check out again.
bot-refused-funds = Your wallet has { $balance } but the order needs { $required }. Top up in /wallet, then check out again.
bot-refused-cart-empty = Your cart is empty — nothing to pay.
bot-keys-of = 🔑 Your keys for order #{ $order }:
bot-keys-again = Here are your keys again.
bot-orders-none = You have no orders yet.
bot-orders-latest = Your latest orders:
bot-status = { $status ->
    [pending_payment] awaiting payment
    [paid] paid
    [processing] being prepared
    [shipped] shipped
    [delivered] delivered
    [cancelled] cancelled
    [return_requested] return requested
    [returned] returned
    [refunded] refunded
   *[other] { $status }
}

## Orders paid in Stars

bot-invoice-title = Order #{ $order }
bot-invoice-here = Here is your invoice.
bot-invoice-again = Here is your invoice again.
bot-stars-order-placed = ⭐ Order #{ $order } is placed: pay { $stars } Stars with the invoice below. Its items are kept for you until then.
bot-stars-order-cancelled = This order was cancelled, so nothing was charged. Check out again.
bot-stars-order-paid-already = This order is already paid.
bot-stars-invoice-other-order = This invoice does not match its order.
bot-stars-invoice-other-total = This invoice does not match the order's total.
bot-stars-order-expired = The time to pay this order ran out, so nothing was charged. Check out again.
bot-stars-invoice-not-yours = This invoice is not for one of your orders.
bot-payments-paused = The shop is under maintenance; payments are paused. Try again soon.
bot-stars-paid = ✅ Order #{ $order } is paid: { $stars } ⭐. Thank you!
bot-stars-paid-already = This payment was already applied to order #{ $order }.
bot-stars-to-wallet = Order #{ $order } could no longer be paid, so its price went to your shop wallet instead. See /wallet.
bot-stars-unmatched = We received a payment we could not match to order #{ $order }. Please contact support with this id: { $charge }

## Wallet

bot-wallet-balance = 💳 Balance: { $balance }
bot-wallet-latest = Latest:
bot-topup-title = Wallet top-up
bot-topup-description = Adds { $amount } to your shop wallet.
bot-topup-label = Top-up
bot-topup-already = This payment was already added. Balance: { $balance }.
bot-topup-added = ✅ { $amount } added to your wallet. Balance: { $balance }.
bot-topup-added-stars = ✅ { $amount } added to your wallet for { $stars } ⭐. Balance: { $balance }.
bot-topup-paused = The shop is under maintenance; top-ups are paused. Try again soon.
bot-topup-unmatched = We received a payment we could not match to your wallet. { $why } Nothing was added. Please contact support with this id: { $charge }

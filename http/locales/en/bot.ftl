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

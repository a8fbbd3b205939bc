# API error messages (the envelope's `message`), English: the default, and the fallback
# for any message another language lacks. Ids are stable; `code` and `details` never
# depend on the language. Field names, codes and header names stay as the API spells them.

## Request shape and framework errors

error-malformed-json = the body is not valid JSON: { $reason }
error-body-not-object = the body must be a JSON object
error-field-missing = missing field `{ $field }`
error-field-unknown = unknown field `{ $field }`
error-field-not-accepted = { $field }: { $reason }
error-invalid-id = { $field } must be a positive 64-bit integer
error-invalid-body = the body could not be read: it ended early or its encoding is broken
error-payload-too-large = the body is larger than this server accepts
error-request-timeout = the request did not arrive in time
error-no-such-resource = no such resource
error-mini-app-no-file = no Mini App file { $path }
error-no-route = no route for { $method } { $path }
error-method-not-allowed = this method is not allowed here
error-method-not-allowed-here = { $method } is not allowed here; use { $allowed }
error-bad-request = the request is not one this server reads
error-query-unreadable = { $reason }
error-query-name-nul = a query parameter's name contains NUL
error-limit-range = limit must be an integer in 1..={ $max }
error-cursor-unknown = cursor is not one this server handed out
error-value-unstorable = a value in the request is out of range or holds a character that cannot be stored

## Field rules shared by many fields

error-field-range = { $field } must be { $min }..={ $max }
error-field-length = { $field } must be { $min }..={ $max } characters
error-field-printable-length = { $field } must be 1..={ $max } printable characters
error-field-at-most-chars = { $field } is at most { $max } characters
error-field-control-chars = { $field } must not contain control characters
error-field-nul = { $field } must not contain NUL
error-field-one-of = { $field } must be one of { $allowed }
error-field-positive = { $field } must be positive
error-field-positive-id = { $field } must be a positive id
error-field-positive-integer = { $field } must be a positive integer
error-field-at-least-one = { $field } must be at least 1

## Authentication and access

error-token-missing = send `Authorization: Bearer <token>`
error-token-expired = the token has expired
error-token-invalid = the token is not valid
error-token-sub = the token's sub is not a user id
error-forbidden = this needs the { $role } role
error-signature-missing = the Souk-Signature header is missing
error-signature-mismatch = the signature does not match
error-signature-timestamp = the signature has no valid timestamp
error-signature-stale = the signature's timestamp is outside the { $minutes }-minute tolerance
error-signature-no-v1 = the signature has no v1 value
error-rate-limited = too many { $class } requests; retry in { $seconds } s

## Availability

error-internal = internal error; it has been logged
error-overloaded = too many requests in flight; retry shortly
error-database-unavailable = the database is unavailable; retry shortly with the same Idempotency-Key, which is never applied twice
error-database-slow = the database did not answer in time; retry shortly
error-database-silent = the database does not answer
error-shard-moving = this part of the shop is moving to another node; retry shortly with the same Idempotency-Key, which is never applied twice
error-node-unreachable = the node serving this part of the shop did not answer; retry shortly with the same Idempotency-Key, which is never applied twice
error-no-lease = this node holds no cluster lease; it serves again once etcd renews one
error-not-in-cluster = this node is not part of a cluster
error-not-actor-message = not an actor message: { $reason }
error-cluster-bad-key = { $key } is not a valid key
error-cluster-unknown-message = { $message } is not a message this node takes
error-maintenance = the shop is under maintenance; try again soon
# An operator's own note (PUT /v1/admin/maintenance), shown as written in every language.
error-maintenance-note = { $note }
error-maintenance-message-length = a maintenance message is 1..={ $max } characters on one line

## Idempotency-Key

error-idempotency-key-required = this request moves money or stock: send an Idempotency-Key header (1..255 printable ASCII)
error-idempotency-key-shape = Idempotency-Key must be 1..255 printable ASCII characters
error-idempotency-key-reused = this Idempotency-Key was used with a different request; use a new key
error-idempotency-key-in-use = this Idempotency-Key already has an answer
error-idempotency-earlier-failed = an earlier request with this Idempotency-Key failed; retry
error-idempotency-answer-unreadable = the Idempotency-Key's answer could not be read; retry
error-write-refused = the database refused the write ({ $constraint })

## Catalog and stock

error-entity-not-found = { $entity } { $id } not found
error-no-such-category = no such category
error-product-inactive = product { $product } is not for sale
error-out-of-stock = only { $available } left of '{ $name }'
error-stock-would-go-negative = stock cannot go below zero: { $available } on hand and free, change of { $delta } asked
error-wrong-stock-kind = { $kind } product stock is changed with { $expected }
error-stock-delta-range = a stock change is non-zero and at most ±{ $max } units
error-codes-count = a change adds 1..={ $max } codes
error-stock-body = send exactly one of quantity_delta (physical) or codes (digital)
error-options-count = at most { $max } options
error-price-stars-range = price_stars must be whole Stars, 1..={ $max }
error-image-url = image_url must be an http(s) URL

## Cart, checkout and wallet

error-cart-empty = the cart is empty
error-insufficient-funds = insufficient funds: { $required } needed, { $balance } available
error-balance-overflow = balance would overflow
error-order-total-too-large = order total is too large
error-shipping-address-needed = physical goods ship: checkout needs a shipping_address
error-country-code = country must be an ISO 3166-1 alpha-2 code such as DE
error-unpaid-orders = one buyer may have at most { $max } orders awaiting an external payment; { $held } already count (an order that ended unpaid still counts for a while) and { $requested } more were asked for; pay from the wallet, or pay the open orders
error-unpaid-units = one buyer may have at most { $max } units awaiting an external payment; { $held } already count (an order that ended unpaid still counts for a while) and { $requested } more were asked for; pay from the wallet, or pay the open orders
error-unpaid-product-units = one buyer may have at most { $max } units of this product awaiting an external payment; { $held } already count (an order that ended unpaid still counts for a while) and { $requested } more were asked for; pay from the wallet, or pay the open orders
error-baseline-no-promo = the row-lock baseline takes no promo codes
error-baseline-wallet-only = the row-lock baseline takes wallet payments only

## Promo codes

error-no-such-promo = there is no promo code { $code }
error-promo-code-unusable = promo_code is not a usable promo code
error-promo-code-shape = a promo code is 3..=32 letters, digits, '_' or '-'
error-promo-exists = promo code { $code } already exists; change it with PATCH
error-promo-needs-actors = promo codes need the actors engine
error-promo-percent-range = a percent promo is 1..=100
error-promo-fixed-range = a fixed promo is 1..={ $max } minor units
error-promo-ends-before-start = ends_at must be after starts_at
error-promo-unknown = promo code { $code }: there is no such promo code
error-promo-inactive = promo code { $code }: this promo code is switched off
error-promo-not-started = promo code { $code }: this promo code is not valid yet
error-promo-expired = promo code { $code }: this promo code has expired
error-promo-below-minimum = promo code { $code }: the cart is below this code's minimum subtotal
error-promo-exhausted = promo code { $code }: this promo code has been used up
error-promo-per-user-limit = promo code { $code }: you have already used this promo code

## Telegram Stars

error-stars-disabled = this shop does not take Telegram Stars
error-stars-no-price = a product in the cart has no price in Stars
error-stars-physical = physical goods cannot be paid in Stars; pay from the wallet or by card
error-stars-free = nothing is left to pay after the discount; pay from the wallet
error-checkout-nothing-to-pay = nothing is left to pay after the discount: check out with "payment": "wallet"
error-stars-no-invoice-link = the order is placed, but Telegram gave no invoice link; send the same request again (same Idempotency-Key) for a new link
error-stars-refund-not-stars = this order was not paid in Stars; refund it with POST /v1/admin/orders/{"{"}order_id{"}"}/refunds
error-stars-refund-nothing-paid = no payment in Stars was received for this order, so there is nothing to refund
error-stars-refund-unknown = Telegram did not answer the refund; ask again: a refund Telegram already made is not made twice
error-stars-refund-refused = Telegram refused the refund: { $reason }
error-stars-refund-done = the Stars of this order were already refunded
error-stars-refund-in-progress = a refund of this order is in progress; ask again in a moment

## Orders, refunds and returns

error-invalid-transition = an order cannot move from { $from } to { $to }
error-transition-own-endpoint = moving an order to { $to } has its own endpoint
error-status-changed = the order's status changed meanwhile; read it again
error-already-delivered = every item of order { $order } was delivered, so there is nothing to cancel; the shop can refund it instead
error-refund-exceeds-paid = a refund of { $requested } is more than the { $remaining } left to refund
error-refund-stars-order = this order was paid in Telegram Stars: refund it with POST /v1/admin/orders/{"{"}order_id{"}"}/stars-refund
error-return-window = returns are accepted within { $days } days of delivery
error-return-lines-count = a return names 1..={ $max } lines
error-return-physical-only = only physical goods are returned
error-return-product-not-in-order = product { $product } is not in this order
error-return-quantity-left = only { $left } of product { $product } can still be returned
error-return-product-twice = each product appears once
error-return-exchange-not-variant = product { $other } is not another size or colour of product { $product }
error-return-step-status = this return is { $status }; this step needs it to be { $allowed }

## Payments and webhooks

error-payments-no-secret = payment events are refused: no webhook secret is configured
error-event-id-shape = event_id must be 1..=255 printable ASCII characters
error-currency-code = currency must be a three-letter code
error-payment-target = an event names exactly one of order_id and wallet_topup
error-amount-within = amount_minor must be within { $max } of zero
error-events-empty = events must name at least one event type
error-event-type-unknown = unknown event type "{ $name }"; known: { $known }
error-event-id-pattern = event_id must look like evt_42
error-webhook-no-delivery = webhook { $webhook } has no delivery of event { $event }: not one of its event types, or no longer kept
error-url-too-long = url must be at most { $max } characters
error-url-shape = url must be an http(s) URL with a host name or IPv4 address, an optional port, path and query, and no user name or fragment
error-url-not-absolute = url is not an absolute URL: { $reason }
error-url-https-only = url must use https in production
error-url-scheme = url must be http or https, not { $scheme }
error-url-credentials = url must not carry a user name or password; the signature authenticates Souk
error-url-fragment = url must not have a fragment
error-url-no-host = url has no host
error-url-private = url must point to a public address, not a loopback, private or link-local one

## Users, Telegram and broadcasts

error-language-unknown = language must be one of en, ru, de
error-telegram-id-taken = a user with this telegram_id exists
error-telegram-sign-in-off = Telegram sign-in is not configured
error-init-data = initData is not valid or too old
error-telegram-secret = missing or wrong X-Telegram-Bot-Api-Secret-Token
error-telegram-update = a Telegram update is a JSON object with an integer update_id
error-telegram-updates-busy = this user's earlier updates are still being applied
error-broadcast-empty = a broadcast needs some text
error-broadcast-too-long = a broadcast is at most { $max } characters (Telegram's limit for one message); this one has { $chars }

# The bot's admin screens (/admin, /broadcast), its notifications and its top-up invoice checks.

## Admin screens: every admin reads them in their own language.

bot-admin-not-allowed = Not allowed.
bot-admin-menu = Admin. Maintenance is { $maintenance ->
        [on] ON
       *[off] off
    }.
bot-admin-add-codes = ➕ Add codes
bot-admin-adjust-stock = 📦 Adjust stock
bot-admin-low-stock = ⚠ Low stock
bot-admin-maintenance-turn-on = Maintenance on
bot-admin-maintenance-turn-off = Maintenance off
bot-admin-broadcast = 📣 Broadcast
bot-admin-to-menu = ⬅ Menu
bot-admin-back = ⬅ Admin
bot-admin-pick-digital = Choose a digital product:
bot-admin-pick-physical = Choose a physical product:
bot-admin-product-left = { $name } ({ $available } left)
bot-admin-codes-ask = Send the codes for '{ $name }', one per line (3–500 printable characters, no spaces). /cancel to stop.
bot-admin-not-applied = Not applied: { $reason }.
# Kept as "code(s)": the tests and the admins' habits read it so.
bot-admin-codes-added = Added { $accepted } code(s) to '{ $name }'; { $available } available now.
bot-admin-codes-rejected = Rejected { $count }:
bot-admin-codes-duplicate = line { $line }: duplicate
bot-admin-codes-invalid = line { $line }: invalid
bot-admin-codes-more = … and { $count } more
bot-admin-stock-card = '{ $name }': { $available } in stock.
bot-admin-stock-changed = Stock { $delta }
bot-admin-stock-below-zero = Stock cannot go below zero.
bot-admin-low-title = Products with { $threshold } or fewer units:
bot-admin-low-none = none.
bot-admin-maintenance-on = Maintenance is on.
bot-admin-maintenance-off = Maintenance is off.

## Broadcasts: the admin's text goes out as written; only what the bot says around it is here.

bot-admin-broadcast-ask = Send the message to broadcast to every bot user (text, up to { $max } characters). You will see it before it goes out. /cancel to stop.
bot-admin-broadcast-not-kept = Not kept: { $reason }. Send it again, or /cancel.
bot-admin-broadcast-preview = Preview of broadcast #{ $id } above. Send it to { $recipients } bot users (about { $minutes } min at { $rate } messages a second)?
bot-admin-broadcast-skipped = { $blocked } more blocked the bot and are skipped.
bot-admin-broadcast-send = ✅ Send to { $recipients }
bot-admin-broadcast-cancel = ✖ Cancel
bot-admin-broadcast-going = 📣 Broadcast #{ $id } is going out to { $queued } users. I will report here when it is done.
bot-admin-broadcast-cancelled = Broadcast #{ $id } cancelled; nobody got it.
bot-admin-broadcast-already = Broadcast #{ $id } is already { $state ->
        [draft] a draft
        [sending] sending
        [done] done
       *[cancelled] cancelled
    }; nothing more was done.

## Notifications: sent outside any conversation, in the recipient's chosen language.

bot-notify-view = View
bot-notify-restocked = 🔔 { $name } is back in stock.
bot-notify-restocked-unnamed = 🔔 A product you asked about is back in stock.
bot-notify-stars = { $stars } ⭐
bot-notify-paid = 💳 Payment received for order #{ $order }: { $amount }. Thank you!
bot-notify-shipped = 📦 Order #{ $order } is on its way.
bot-notify-shipped-note = 📦 Order #{ $order } is on its way ({ $note }).
bot-notify-delivered = ✅ Order #{ $order } was delivered.
bot-notify-delivered-note = ✅ Order #{ $order } was delivered ({ $note }).
bot-notify-cancelled = ❌ Order #{ $order } was cancelled.
bot-notify-cancelled-note = ❌ Order #{ $order } was cancelled ({ $note }).
bot-notify-cancelled-refund = { $amount } went back to your wallet.
bot-notify-refunded = ↩️ { $amount } of order #{ $order } was refunded to your wallet.
bot-notify-refunded-stars = ↩️ { $stars } ⭐ of order #{ $order } went back to your Telegram Stars.
bot-notify-report = 📣 Broadcast #{ $id } finished: { $sent } sent, { $failed } failed
bot-notify-report-blocked = ({ $blocked } blocked the bot)
bot-notify-report-unknown = { $unknown } unknown (Souk stopped or Telegram did not answer while sending; perhaps delivered, so not sent again)

## Top-up invoices: why a pre-checkout query or a payment does not match its invoice.

bot-topup-not-issued = This invoice was not issued by the shop.
bot-topup-other-user = This invoice is not yours.
bot-topup-amount = This invoice does not match its amount.
bot-topup-currency = This invoice does not match its currency.
bot-topup-expired = This invoice has expired; ask for a new one in /wallet.

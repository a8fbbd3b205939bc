# Die Texte des Bots. IDs beginnen mit `bot-`.

bot-language-name = Deutsch
bot-language-prompt = Wählen Sie die Sprache des Shops:
bot-language-chosen = Der Shop spricht jetzt Deutsch.

## Allgemein

bot-as-said = { $text }
bot-cart-empty = Ihr Warenkorb ist leer.
bot-order-is = Bestellung #{ $order }: { $status }.
bot-payment-try-again = Der Shop kann diese Zahlung gerade nicht annehmen. Bitte versuchen Sie es erneut.

## Physische Waren: Zahlung per Karte, mit Lieferung

bot-invoice-title-order = Ihre Bestellung
bot-invoice-goods = Waren
bot-invoice-tax = Steuer
bot-delivery = Lieferung
bot-delivery-free = Kostenlose Lieferung
bot-address-check = Bitte prüfen Sie die Adresse: { $problem }
bot-address-needed = Eine Lieferadresse wird benötigt.
bot-cart-changed = Ihr Warenkorb hat sich seit dieser Rechnung geändert. Bitte bestellen Sie erneut.
bot-invoice-other-address = Über diese Rechnung wurde bereits Bestellung #{ $order } an eine andere Adresse aufgegeben. Bitte bestellen Sie erneut.
bot-payment-already-received = Diese Zahlung ist bereits eingegangen.
bot-shipped-order-paid = ✅ Bestellung #{ $order } ist bezahlt: { $amount }. Vielen Dank! Sie geht an: { $address }.
bot-payment-to-wallet = Ihre Zahlung von { $amount } konnte keine Bestellung mehr bezahlen und wurde deshalb Ihrem Shop-Guthaben gutgeschrieben. Siehe /wallet.
bot-payment-unmatched = Wir haben eine Zahlung erhalten, die wir Ihrer Bestellung nicht zuordnen konnten. Bitte wenden Sie sich mit dieser ID an den Support: { $charge }

## Menü, Hilfe und Befehle

bot-menu-welcome = Willkommen im Shop! Was möchten Sie tun?
bot-help =
    Was ich kann:
    /start — das Hauptmenü
    /catalog — Kategorien und Produkte ansehen
    /cart — Ihr Warenkorb, mit − / + / Entfernen und Bestellen
    /orders — Ihre Bestellungen; die Schlüssel jeder davon erneut senden
    /wallet — Ihr Guthaben, Verlauf und Aufladen
    /language — die Sprache, in der ich mit Ihnen spreche
    /cancel — abbrechen, worauf ich warte
    /help — diese Liste
bot-help-admin =
    /admin — Codes hinzufügen, Bestand ändern, knapper Bestand, Wartung
    /broadcast — eine Nachricht an alle Nutzer des Bots senden
bot-cancelled = Abgebrochen.
bot-unknown-command = Diesen Befehl kenne ich nicht. /help zeigt, was ich kann.
bot-not-understood = Das habe ich nicht verstanden. /help zeigt, was ich kann.
bot-only-text = Ich kann nur Text und Schaltflächen lesen. /help zeigt, was ich kann.
bot-stale = Diese Schaltfläche ist veraltet — hier ist das Menü
bot-error = Bei uns ist etwas schiefgelaufen; nichts wurde doppelt ausgeführt. Bitte versuchen Sie es gleich noch einmal.
bot-maintenance-browse = { $message } Stöbern können Sie weiterhin.

## Schaltflächen

bot-button-catalog = 🛍 Katalog
bot-button-cart = 🛒 Warenkorb
bot-button-orders = 📦 Meine Bestellungen
bot-button-wallet = 💳 Guthaben
bot-button-language = 🌐 Sprache
bot-button-admin = 🔧 Verwaltung
bot-button-menu = ⬅ Menü
bot-button-back = ⬅ Zurück
bot-button-categories = ⬅ Kategorien
bot-button-back-to-cart = ⬅ Zum Warenkorb
bot-button-prev = ◀ Zurück
bot-button-next = Weiter ▶
bot-button-add = { $count } in den Warenkorb
bot-button-watch = 🔔 Benachrichtigen, wenn wieder da
bot-button-watching = 🔔 Sie hören von uns, wenn es wieder da ist
bot-button-checkout = ✅ Zur Kasse
bot-button-pay-wallet = 💳 { $total } mit Guthaben bezahlen
bot-button-pay-stars = ⭐ { $stars } Stars bezahlen
bot-button-pay-card = 📦 { $total } per Karte bezahlen, mit Lieferung
bot-button-keys-of = 🔑 Schlüssel von #{ $order }
bot-page-of = Seite { $page } von { $pages }

## Katalog und Warenkorb

bot-catalog-empty = Der Katalog ist noch leer.
bot-catalog-choose = Wählen Sie eine Kategorie:
bot-category-empty = In dieser Kategorie ist gerade nichts zu haben.
bot-category-products = Produkte — Seite { $page } von { $pages }:
bot-product-price = Preis: { $price }
bot-product-price-stars = In Stars: { $stars } ⭐
bot-product-in-stock = Auf Lager: { $count }
bot-product-sold-out = Derzeit ausverkauft.
bot-product-in-cart = In Ihrem Warenkorb: { $count }
bot-watch-set = Wir schreiben Ihnen, wenn es wieder da ist
bot-added = Hinzugefügt — im Warenkorb: { $count }
bot-cart-title = Ihr Warenkorb:
bot-cart-subtotal = Zwischensumme: { $amount }
bot-cart-discount = Rabatt: { $amount }
bot-cart-shipping = Versand: { $amount }
bot-cart-tax = Steuer: { $amount }
bot-cart-total = Gesamt: { $amount }
bot-cart-total-stars = Oder in Stars: { $stars } ⭐

## Bestellen und Bestellungen

bot-confirm =
    Bitte bestätigen Sie Ihre Bestellung: { $lines } { $lines ->
        [one] Position
       *[other] Positionen
    }, gesamt { $total }.
    Ihr Guthaben: { $balance }.
bot-paid-thanks = Bezahlt — vielen Dank!
bot-order-paid = ✅ Bestellung #{ $order } ist bezahlt: { $total }.
bot-order-already = Bestellung #{ $order } ist bereits { $status }.
bot-an-item = ein Artikel
bot-refused-sold-out = Leider ist „{ $name }“ ausverkauft. Entfernen Sie es aus dem Warenkorb und bestellen Sie erneut.
bot-refused-only-left = Leider sind von „{ $name }“ nur noch { $count } übrig. Verringern Sie die Menge im Warenkorb und bestellen Sie erneut.
bot-refused-funds = Ihr Guthaben beträgt { $balance }, die Bestellung kostet { $required }. Laden Sie unter /wallet auf und bestellen Sie dann erneut.
bot-refused-cart-empty = Ihr Warenkorb ist leer — es gibt nichts zu bezahlen.
bot-keys-of = 🔑 Ihre Schlüssel für Bestellung #{ $order }:
bot-keys-again = Hier sind Ihre Schlüssel noch einmal.
bot-orders-none = Sie haben noch keine Bestellungen.
bot-orders-latest = Ihre letzten Bestellungen:
bot-status = { $status ->
    [pending_payment] wartet auf Zahlung
    [paid] bezahlt
    [processing] in Bearbeitung
    [shipped] versandt
    [delivered] zugestellt
    [cancelled] storniert
    [return_requested] Rückgabe angefragt
    [returned] zurückgegeben
    [refunded] erstattet
   *[other] { $status }
}

## Bestellungen, bezahlt mit Stars

bot-invoice-title = Bestellung #{ $order }
bot-invoice-here = Hier ist Ihre Rechnung.
bot-invoice-again = Hier ist Ihre Rechnung noch einmal.
bot-stars-order-placed = ⭐ Bestellung #{ $order } ist aufgegeben: Bezahlen Sie { $stars } Stars mit der Rechnung unten. Bis dahin sind die Artikel für Sie reserviert.
bot-stars-order-cancelled = Diese Bestellung wurde storniert, daher wurde nichts abgebucht. Bitte bestellen Sie erneut.
bot-stars-order-paid-already = Diese Bestellung ist bereits bezahlt.
bot-stars-invoice-other-order = Diese Rechnung passt nicht zu ihrer Bestellung.
bot-stars-invoice-other-total = Diese Rechnung passt nicht zum Betrag der Bestellung.
bot-stars-order-expired = Die Zahlungsfrist dieser Bestellung ist abgelaufen, daher wurde nichts abgebucht. Bitte bestellen Sie erneut.
bot-stars-invoice-not-yours = Diese Rechnung gehört zu keiner Ihrer Bestellungen.
bot-payments-paused = Der Shop wird gewartet; Zahlungen sind pausiert. Bitte versuchen Sie es bald wieder.
bot-stars-paid = ✅ Bestellung #{ $order } ist bezahlt: { $stars } ⭐. Vielen Dank!
bot-stars-paid-already = Diese Zahlung wurde bereits auf Bestellung #{ $order } angerechnet.
bot-stars-to-wallet = Bestellung #{ $order } konnte nicht mehr bezahlt werden, daher wurde ihr Preis Ihrem Shop-Guthaben gutgeschrieben. Siehe /wallet.
bot-stars-unmatched = Wir haben eine Zahlung erhalten, die wir Bestellung #{ $order } nicht zuordnen konnten. Bitte wenden Sie sich mit dieser ID an den Support: { $charge }

## Guthaben

bot-wallet-balance = 💳 Guthaben: { $balance }
bot-wallet-latest = Zuletzt:
bot-topup-title = Guthaben aufladen
bot-topup-description = Schreibt Ihrem Shop-Guthaben { $amount } gut.
bot-topup-label = Aufladung
bot-topup-already = Diese Zahlung wurde bereits gutgeschrieben. Guthaben: { $balance }.
bot-topup-added = ✅ { $amount } wurden Ihrem Guthaben gutgeschrieben. Guthaben: { $balance }.
bot-topup-added-stars = ✅ { $amount } wurden Ihrem Guthaben für { $stars } ⭐ gutgeschrieben. Guthaben: { $balance }.
bot-topup-paused = Der Shop wird gewartet; Aufladungen sind pausiert. Bitte versuchen Sie es bald wieder.
bot-topup-unmatched = Wir haben eine Zahlung erhalten, die wir Ihrem Guthaben nicht zuordnen konnten. { $why } Es wurde nichts gutgeschrieben. Bitte wenden Sie sich mit dieser ID an den Support: { $charge }

# Die Admin-Bildschirme des Bots (/admin, /broadcast), seine Benachrichtigungen und die Prüfung der Aufladerechnungen.

## Admin-Bildschirme: jeder Admin liest sie in seiner eigenen Sprache.

bot-admin-not-allowed = Nicht erlaubt.
bot-admin-menu = Verwaltung. Der Wartungsmodus ist { $maintenance ->
        [on] AN
       *[off] aus
    }.
bot-admin-add-codes = ➕ Schlüssel hinzufügen
bot-admin-adjust-stock = 📦 Bestand ändern
bot-admin-low-stock = ⚠ Geringer Bestand
bot-admin-maintenance-turn-on = Wartung an
bot-admin-maintenance-turn-off = Wartung aus
bot-admin-broadcast = 📣 Rundnachricht
bot-admin-to-menu = ⬅ Menü
bot-admin-back = ⬅ Verwaltung
bot-admin-pick-digital = Wählen Sie ein digitales Produkt:
bot-admin-pick-physical = Wählen Sie ein physisches Produkt:
bot-admin-product-left = { $name } (noch { $available })
bot-admin-codes-ask = Schicken Sie die Schlüssel für „{ $name }“, einen pro Zeile (3–500 druckbare Zeichen, keine Leerzeichen). /cancel zum Abbrechen.
bot-admin-not-applied = Nicht übernommen: { $reason }.
bot-admin-codes-added = { $accepted } Schlüssel zu „{ $name }“ hinzugefügt; jetzt { $available } verfügbar.
bot-admin-codes-rejected = { $count ->
        [one] { $count } Zeile abgelehnt:
       *[other] { $count } Zeilen abgelehnt:
    }
bot-admin-codes-duplicate = Zeile { $line }: doppelt
bot-admin-codes-invalid = Zeile { $line }: ungültig
bot-admin-codes-more = … und { $count } weitere
bot-admin-stock-card = „{ $name }“: { $available } auf Lager.
bot-admin-stock-changed = Bestand { $delta }
bot-admin-stock-below-zero = Der Bestand kann nicht unter null fallen.
bot-admin-low-title = Produkte mit höchstens { $threshold } { $threshold ->
        [one] Einheit
       *[other] Einheiten
    }:
bot-admin-low-none = keine.
bot-admin-maintenance-on = Der Wartungsmodus ist an.
bot-admin-maintenance-off = Der Wartungsmodus ist aus.

## Rundnachrichten: der Text des Admins geht so hinaus, wie er geschrieben ist; hier steht nur, was der Bot dazu sagt.

bot-admin-broadcast-ask = Schicken Sie die Nachricht, die an alle Nutzer des Bots gehen soll (Text, höchstens { $max } Zeichen). Sie sehen sie, bevor sie hinausgeht. /cancel zum Abbrechen.
bot-admin-broadcast-not-kept = Nicht gespeichert: { $reason }. Schicken Sie sie noch einmal, oder /cancel.
bot-admin-broadcast-preview = Oben die Vorschau der Rundnachricht #{ $id }. An { $recipients } Nutzer des Bots senden (etwa { $minutes } Min. bei { $rate } Nachrichten pro Sekunde)?
bot-admin-broadcast-skipped = { $blocked ->
        [one] { $blocked } weiterer Nutzer hat
       *[other] { $blocked } weitere Nutzer haben
    } den Bot blockiert und { $blocked ->
        [one] wird
       *[other] werden
    } übersprungen.
bot-admin-broadcast-send = ✅ An { $recipients } senden
bot-admin-broadcast-cancel = ✖ Abbrechen
bot-admin-broadcast-going = 📣 Rundnachricht #{ $id } geht an { $queued } Nutzer hinaus. Ich melde mich hier, wenn sie fertig ist.
bot-admin-broadcast-cancelled = Rundnachricht #{ $id } abgebrochen; niemand hat sie erhalten.
bot-admin-broadcast-already = Rundnachricht #{ $id } ist bereits { $state ->
        [draft] ein Entwurf
        [sending] im Versand
        [done] fertig
       *[cancelled] abgebrochen
    }; es wurde nichts weiter getan.

## Benachrichtigungen: außerhalb jedes Gesprächs gesendet, in der Sprache, die der Empfänger gewählt hat.

bot-notify-view = Ansehen
bot-notify-restocked = 🔔 { $name } ist wieder auf Lager.
bot-notify-restocked-unnamed = 🔔 Ein Produkt, nach dem Sie gefragt haben, ist wieder auf Lager.
bot-notify-stars = { $stars } ⭐
bot-notify-paid = 💳 Zahlung für Bestellung #{ $order } erhalten: { $amount }. Vielen Dank!
bot-notify-shipped = 📦 Bestellung #{ $order } ist unterwegs.
bot-notify-shipped-note = 📦 Bestellung #{ $order } ist unterwegs ({ $note }).
bot-notify-delivered = ✅ Bestellung #{ $order } wurde zugestellt.
bot-notify-delivered-note = ✅ Bestellung #{ $order } wurde zugestellt ({ $note }).
bot-notify-cancelled = ❌ Bestellung #{ $order } wurde storniert.
bot-notify-cancelled-note = ❌ Bestellung #{ $order } wurde storniert ({ $note }).
bot-notify-cancelled-refund = { $amount } gingen zurück auf Ihr Guthaben.
bot-notify-refunded = ↩️ { $amount } aus Bestellung #{ $order } wurden Ihrem Guthaben erstattet.
bot-notify-refunded-stars = ↩️ { $stars } ⭐ aus Bestellung #{ $order } gingen zurück an Ihre Telegram Stars.
bot-notify-report = 📣 Rundnachricht #{ $id } ist fertig: { $sent } gesendet, { $failed } fehlgeschlagen
bot-notify-report-blocked = ({ $blocked } { $blocked ->
        [one] hat
       *[other] haben
    } den Bot blockiert)
bot-notify-report-unknown = { $unknown } unbekannt (Souk wurde beendet oder Telegram hat beim Senden nicht geantwortet; vielleicht zugestellt, daher nicht erneut gesendet)

## Aufladerechnungen: warum eine Vorabprüfung oder eine Zahlung nicht zu ihrer Rechnung passt.

bot-topup-not-issued = Diese Rechnung wurde nicht vom Shop ausgestellt.
bot-topup-other-user = Diese Rechnung gehört nicht Ihnen.
bot-topup-amount = Der Betrag passt nicht zu dieser Rechnung.
bot-topup-currency = Die Währung passt nicht zu dieser Rechnung.
bot-topup-expired = Diese Rechnung ist abgelaufen; fordern Sie unter /wallet eine neue an.

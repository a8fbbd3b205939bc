# API-Fehlermeldungen (das Feld `message`) auf Deutsch. Die IDs sind dieselben wie in
# en/errors.ftl; Feldnamen, Codes und Header bleiben so, wie die API sie schreibt.

## Form der Anfrage und Fehler des Frameworks

error-malformed-json = der Body ist kein gültiges JSON: { $reason }
error-body-not-object = der Body muss ein JSON-Objekt sein
error-field-missing = das Feld `{ $field }` fehlt
error-field-unknown = unbekanntes Feld `{ $field }`
error-field-not-accepted = ungültiger Wert im Feld `{ $field }`: { $reason }
error-invalid-id = { $field } muss eine positive 64-Bit-Ganzzahl sein
error-invalid-body = der Body konnte nicht gelesen werden: Er brach vorzeitig ab oder seine Kodierung ist fehlerhaft
error-payload-too-large = der Body ist größer, als dieser Server annimmt
error-request-timeout = die Anfrage ist nicht rechtzeitig angekommen
error-no-such-resource = diese Ressource gibt es nicht
error-mini-app-no-file = die Mini App hat keine Datei { $path }
error-no-route = keine Route für { $method } { $path }
error-method-not-allowed = diese Methode ist hier nicht erlaubt
error-method-not-allowed-here = { $method } ist hier nicht erlaubt; verwenden Sie { $allowed }
error-bad-request = diese Anfrage kann der Server nicht lesen
error-query-unreadable = der Query-String konnte nicht gelesen werden: { $reason }
error-query-name-nul = der Name eines Query-Parameters enthält NUL
error-limit-range = limit muss eine ganze Zahl von 1 bis { $max } sein
error-cursor-unknown = dieser cursor stammt nicht von diesem Server
error-value-unstorable = ein Wert in der Anfrage liegt außerhalb des zulässigen Bereichs oder enthält ein Zeichen, das nicht gespeichert werden kann

## Regeln für Felder

error-field-range = { $field } muss zwischen { $min } und { $max } liegen
error-field-length = { $field } muss { $min } bis { $max } Zeichen lang sein
error-field-printable-length = { $field } muss 1 bis { $max } druckbare Zeichen lang sein
error-field-at-most-chars = { $field } darf höchstens { $max } Zeichen lang sein
error-field-control-chars = { $field } darf keine Steuerzeichen enthalten
error-field-nul = { $field } darf kein NUL enthalten
error-field-one-of = { $field } muss einer dieser Werte sein: { $allowed }
error-field-positive = { $field } muss positiv sein
error-field-positive-id = { $field } muss eine positive ID sein
error-field-positive-integer = { $field } muss eine positive ganze Zahl sein
error-field-at-least-one = { $field } muss mindestens 1 sein

## Authentifizierung und Zugriff

error-token-missing = senden Sie `Authorization: Bearer <token>`
error-token-expired = das Token ist abgelaufen
error-token-invalid = das Token ist ungültig
error-token-sub = sub im Token ist keine Benutzer-ID
error-forbidden = dafür ist die Rolle { $role } nötig
error-signature-missing = der Header Souk-Signature fehlt
error-signature-mismatch = die Signatur stimmt nicht überein
error-signature-timestamp = die Signatur hat keinen gültigen Zeitstempel
error-signature-stale = der Zeitstempel der Signatur liegt außerhalb der Toleranz von { $minutes } Minuten
error-signature-no-v1 = die Signatur hat keinen v1-Wert
error-rate-limited = zu viele Anfragen der Klasse { $class }; versuchen Sie es in { $seconds } s erneut

## Verfügbarkeit

error-internal = interner Fehler; er wurde protokolliert
error-overloaded = gerade laufen zu viele Anfragen; versuchen Sie es gleich noch einmal
error-database-unavailable = die Datenbank ist nicht erreichbar; versuchen Sie es gleich noch einmal mit demselben Idempotency-Key, der nie zweimal angewendet wird
error-database-slow = die Datenbank hat nicht rechtzeitig geantwortet; versuchen Sie es gleich noch einmal
error-database-silent = die Datenbank antwortet nicht
error-shard-moving = dieser Teil des Shops zieht gerade auf einen anderen Knoten um; versuchen Sie es gleich noch einmal mit demselben Idempotency-Key, der nie zweimal angewendet wird
error-node-unreachable = der Knoten für diesen Teil des Shops hat nicht geantwortet; versuchen Sie es gleich noch einmal mit demselben Idempotency-Key, der nie zweimal angewendet wird
error-no-lease = dieser Knoten hält keine Cluster-Lease; er bedient wieder, sobald etcd eine erneuert
error-not-in-cluster = dieser Knoten gehört zu keinem Cluster
error-not-actor-message = keine Actor-Nachricht: { $reason }
error-cluster-bad-key = { $key } ist kein gültiger Schlüssel
error-cluster-unknown-message = { $message } ist keine Nachricht, die dieser Knoten annimmt
error-maintenance = der Shop wird gerade gewartet; versuchen Sie es bald wieder
# Die eigene Notiz eines Betreibers (PUT /v1/admin/maintenance), in jeder Sprache unverändert.
error-maintenance-note = { $note }
error-maintenance-message-length = eine Wartungsnachricht ist 1 bis { $max } Zeichen lang und einzeilig

## Idempotency-Key

error-idempotency-key-required = diese Anfrage bewegt Geld oder Ware: Senden Sie einen Idempotency-Key-Header (1 bis 255 druckbare ASCII-Zeichen)
error-idempotency-key-shape = der Idempotency-Key muss aus 1 bis 255 druckbaren ASCII-Zeichen bestehen
error-idempotency-key-reused = dieser Idempotency-Key wurde schon für eine andere Anfrage verwendet; nehmen Sie einen neuen
error-idempotency-key-in-use = für diesen Idempotency-Key gibt es bereits eine Antwort
error-idempotency-earlier-failed = eine frühere Anfrage mit diesem Idempotency-Key ist fehlgeschlagen; versuchen Sie es erneut
error-idempotency-answer-unreadable = die Antwort zu diesem Idempotency-Key konnte nicht gelesen werden; versuchen Sie es erneut
error-write-refused = die Datenbank hat den Schreibvorgang abgelehnt ({ $constraint })

## Katalog und Bestand

error-entity-not-found = { $entity ->
    [product] Produkt { $id } nicht gefunden
    [order] Bestellung { $id } nicht gefunden
    [user] Benutzer { $id } nicht gefunden
    [return] Rücksendung { $id } nicht gefunden
    [broadcast] Rundsendung { $id } nicht gefunden
   *[other] { $entity } { $id } nicht gefunden
}
error-no-such-category = diese Kategorie gibt es nicht
error-product-inactive = Produkt { $product } ist nicht im Verkauf
error-out-of-stock = von „{ $name }“ sind nur noch { $available } Stück übrig
error-stock-would-go-negative = der Bestand kann nicht unter null fallen: { $available } frei verfügbar, Änderung um { $delta } angefragt
error-wrong-stock-kind = der Bestand eines Produkts vom Typ { $kind } wird über { $expected } geändert
error-stock-delta-range = eine Bestandsänderung ist ungleich null und höchstens ±{ $max } Stück
error-codes-count = eine Änderung fügt 1 bis { $max } Codes hinzu
error-stock-body = senden Sie genau eines von quantity_delta (physische Ware) oder codes (digitale Ware)
error-options-count = höchstens { $max } Optionen
error-price-stars-range = price_stars muss eine ganze Zahl von Stars zwischen 1 und { $max } sein
error-image-url = image_url muss eine http(s)-URL sein

## Warenkorb, Kasse und Guthaben

error-cart-empty = der Warenkorb ist leer
error-insufficient-funds = nicht genug Guthaben: { $required } nötig, { $balance } verfügbar
error-balance-overflow = das Guthaben würde überlaufen
error-order-total-too-large = die Bestellsumme ist zu groß
error-shipping-address-needed = physische Ware wird versandt: Die Kasse braucht eine shipping_address
error-country-code = country muss ein Code nach ISO 3166-1 alpha-2 sein, etwa DE
error-unpaid-orders = ein Käufer darf höchstens { $max } Bestellungen haben, die auf eine externe Zahlung warten; { $held } zählen bereits (eine unbezahlt beendete Bestellung zählt noch eine Weile mit) und { $requested } weitere wurden angefragt; zahlen Sie mit dem Guthaben oder bezahlen Sie die offenen Bestellungen
error-unpaid-units = ein Käufer darf höchstens { $max } Stück Ware haben, die auf eine externe Zahlung warten; { $held } zählen bereits (eine unbezahlt beendete Bestellung zählt noch eine Weile mit) und { $requested } weitere wurden angefragt; zahlen Sie mit dem Guthaben oder bezahlen Sie die offenen Bestellungen
error-unpaid-product-units = ein Käufer darf höchstens { $max } Stück dieses Produkts haben, die auf eine externe Zahlung warten; { $held } zählen bereits (eine unbezahlt beendete Bestellung zählt noch eine Weile mit) und { $requested } weitere wurden angefragt; zahlen Sie mit dem Guthaben oder bezahlen Sie die offenen Bestellungen
error-baseline-no-promo = die Vergleichsvariante mit Zeilensperren nimmt keine Promo-Codes an
error-baseline-wallet-only = die Vergleichsvariante mit Zeilensperren nimmt nur Zahlungen mit dem Guthaben an

## Promo-Codes

error-no-such-promo = den Promo-Code { $code } gibt es nicht
error-promo-code-unusable = promo_code ist kein einlösbarer Promo-Code
error-promo-code-shape = ein Promo-Code besteht aus 3 bis 32 Buchstaben, Ziffern, „_“ oder „-“
error-promo-exists = den Promo-Code { $code } gibt es schon; ändern Sie ihn mit PATCH
error-promo-needs-actors = Promo-Codes brauchen die Actor-Engine
error-promo-percent-range = ein Prozent-Rabatt liegt zwischen 1 und 100
error-promo-fixed-range = ein fester Rabatt liegt zwischen 1 und { $max } kleinsten Währungseinheiten
error-promo-ends-before-start = ends_at muss nach starts_at liegen
error-promo-unknown = Promo-Code { $code }: diesen Promo-Code gibt es nicht
error-promo-inactive = Promo-Code { $code }: dieser Promo-Code ist abgeschaltet
error-promo-not-started = Promo-Code { $code }: dieser Promo-Code gilt noch nicht
error-promo-expired = Promo-Code { $code }: dieser Promo-Code ist abgelaufen
error-promo-below-minimum = Promo-Code { $code }: der Warenkorb liegt unter dem Mindestbetrag dieses Codes
error-promo-exhausted = Promo-Code { $code }: dieser Promo-Code ist aufgebraucht
error-promo-per-user-limit = Promo-Code { $code }: Sie haben diesen Promo-Code bereits verwendet

## Telegram Stars

error-stars-disabled = dieser Shop nimmt keine Telegram Stars an
error-stars-no-price = ein Produkt im Warenkorb hat keinen Preis in Stars
error-stars-physical = physische Ware kann nicht mit Stars bezahlt werden; zahlen Sie mit dem Guthaben oder per Karte
error-stars-free = nach dem Rabatt ist nichts mehr zu zahlen; zahlen Sie mit dem Guthaben
error-checkout-nothing-to-pay = nach dem Rabatt ist nichts mehr zu zahlen: bestellen Sie mit "payment": "wallet"
error-stars-no-invoice-link = die Bestellung ist aufgegeben, aber Telegram hat keinen Rechnungslink geliefert; senden Sie dieselbe Anfrage noch einmal (mit demselben Idempotency-Key), um einen neuen Link zu erhalten
error-stars-refund-not-stars = diese Bestellung wurde nicht mit Stars bezahlt; erstatten Sie sie über POST /v1/admin/orders/{"{"}order_id{"}"}/refunds
error-stars-refund-nothing-paid = für diese Bestellung ist keine Zahlung in Stars eingegangen, es gibt also nichts zu erstatten
error-stars-refund-unknown = Telegram hat auf die Erstattung nicht geantwortet; fragen Sie erneut: eine bereits erfolgte Erstattung wird nicht wiederholt
error-stars-refund-refused = Telegram hat die Erstattung abgelehnt: { $reason }
error-stars-refund-done = die Stars dieser Bestellung wurden bereits erstattet
error-stars-refund-in-progress = eine Erstattung dieser Bestellung läuft gerade; fragen Sie gleich noch einmal

## Bestellungen, Erstattungen und Rücksendungen

error-invalid-transition = eine Bestellung kann nicht von { $from } zu { $to } wechseln
error-transition-own-endpoint = für den Wechsel einer Bestellung zu { $to } gibt es einen eigenen Endpunkt
error-status-changed = der Status der Bestellung hat sich inzwischen geändert; lesen Sie sie neu
error-already-delivered = alle Artikel der Bestellung { $order } wurden geliefert, es gibt also nichts zu stornieren; der Shop kann sie stattdessen erstatten
error-refund-exceeds-paid = eine Erstattung von { $requested } ist mehr als die noch erstattbaren { $remaining }
error-refund-stars-order = diese Bestellung wurde mit Telegram Stars bezahlt: erstatten Sie sie über POST /v1/admin/orders/{"{"}order_id{"}"}/stars-refund
error-return-window = Rücksendungen werden innerhalb von { $days } { $days ->
    [one] Tag
   *[other] Tagen
} nach der Lieferung angenommen
error-return-lines-count = eine Rücksendung nennt 1 bis { $max } Positionen
error-return-physical-only = nur physische Ware wird zurückgenommen
error-return-product-not-in-order = Produkt { $product } ist nicht in dieser Bestellung
error-return-quantity-left = von Produkt { $product } können nur noch { $left } Stück zurückgesendet werden
error-return-product-twice = jedes Produkt darf nur einmal vorkommen
error-return-exchange-not-variant = Produkt { $other } ist keine andere Größe oder Farbe von Produkt { $product }
error-return-step-status = diese Rücksendung hat den Status { $status }; dieser Schritt braucht den Status { $allowed }

## Zahlungen und Webhooks

error-payments-no-secret = Zahlungsereignisse werden abgelehnt: Es ist kein Webhook-Secret konfiguriert
error-event-id-shape = event_id muss aus 1 bis 255 druckbaren ASCII-Zeichen bestehen
error-currency-code = currency muss ein Code aus drei Buchstaben sein
error-payment-target = ein Ereignis nennt genau eines von order_id und wallet_topup
error-amount-within = amount_minor darf höchstens { $max } von null entfernt sein
error-events-empty = events muss mindestens einen Ereignistyp nennen
error-event-type-unknown = unbekannter Ereignistyp „{ $name }“; bekannt sind: { $known }
error-event-id-pattern = event_id muss wie evt_42 aussehen
error-webhook-no-delivery = Webhook { $webhook } hat keine Zustellung des Ereignisses { $event }: Es gehört nicht zu seinen Ereignistypen oder wird nicht mehr aufbewahrt
error-url-too-long = url darf höchstens { $max } Zeichen lang sein
error-url-shape = url muss eine http(s)-URL mit Hostnamen oder IPv4-Adresse sein, mit optionalem Port, Pfad und Query, ohne Benutzernamen oder Fragment
error-url-not-absolute = url ist keine absolute URL: { $reason }
error-url-https-only = url muss im Produktivbetrieb https verwenden
error-url-scheme = url muss http oder https verwenden, nicht { $scheme }
error-url-credentials = url darf keinen Benutzernamen und kein Passwort enthalten; Souk weist sich mit der Signatur aus
error-url-fragment = url darf kein Fragment haben
error-url-no-host = url hat keinen Host
error-url-private = url muss auf eine öffentliche Adresse zeigen, nicht auf Loopback, private oder Link-Local-Adressen

## Benutzer, Telegram und Rundsendungen

error-language-unknown = die Sprache muss eine von en, ru, de sein
error-telegram-id-taken = es gibt bereits einen Benutzer mit dieser telegram_id
error-telegram-sign-in-off = die Anmeldung über Telegram ist nicht eingerichtet
error-init-data = initData ist ungültig oder zu alt
error-telegram-secret = X-Telegram-Bot-Api-Secret-Token fehlt oder ist falsch
error-telegram-update = ein Telegram-Update ist ein JSON-Objekt mit einer ganzzahligen update_id
error-telegram-updates-busy = frühere Updates dieses Benutzers werden noch verarbeitet
error-broadcast-empty = eine Rundsendung braucht Text
error-broadcast-too-long = eine Rundsendung hat höchstens { $max } Zeichen (Telegrams Grenze für eine Nachricht); diese hat { $chars }

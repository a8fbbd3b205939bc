# Сообщения об ошибках API (поле `message`), по-русски. Идентификаторы — как в en/errors.ftl;
# имена полей, коды и заголовки остаются такими, как их пишет API.

## Форма запроса и ошибки фреймворка

error-malformed-json = тело запроса — не корректный JSON: { $reason }
error-body-not-object = тело запроса должно быть JSON-объектом
error-field-missing = не хватает поля `{ $field }`
error-field-unknown = неизвестное поле `{ $field }`
error-field-not-accepted = недопустимое значение поля `{ $field }`: { $reason }
error-invalid-id = { $field } должно быть положительным 64-битным целым числом
error-invalid-body = не удалось прочитать тело запроса: оно оборвалось или его кодировка повреждена
error-payload-too-large = тело запроса больше, чем принимает этот сервер
error-request-timeout = запрос не пришёл вовремя
error-no-such-resource = такого ресурса нет
error-mini-app-no-file = в Mini App нет файла { $path }
error-no-route = нет маршрута для { $method } { $path }
error-method-not-allowed = этот метод здесь не разрешён
error-method-not-allowed-here = метод { $method } здесь не разрешён; используйте { $allowed }
error-bad-request = этот сервер не может прочитать такой запрос
error-query-unreadable = не удалось разобрать строку запроса: { $reason }
error-query-name-nul = имя параметра запроса содержит символ NUL
error-limit-range = limit должен быть целым числом от 1 до { $max }
error-cursor-unknown = этот cursor выдан не этим сервером
error-value-unstorable = значение в запросе вне допустимого диапазона или содержит символ, который нельзя сохранить

## Правила для полей

error-field-range = { $field } должно быть от { $min } до { $max }
error-field-length = { $field }: от { $min } до { $max } символов
error-field-printable-length = { $field }: от 1 до { $max } печатных символов
error-field-at-most-chars = { $field }: не больше { $max } символов
error-field-control-chars = { $field } не должно содержать управляющих символов
error-field-nul = { $field } не должно содержать символ NUL
error-field-one-of = { $field } должно быть одним из значений: { $allowed }
error-field-positive = { $field } должно быть положительным
error-field-positive-id = { $field } должно быть положительным идентификатором
error-field-positive-integer = { $field } должно быть положительным целым числом
error-field-at-least-one = { $field } должно быть не меньше 1

## Аутентификация и доступ

error-token-missing = передайте заголовок `Authorization: Bearer <token>`
error-token-expired = срок действия токена истёк
error-token-invalid = токен недействителен
error-token-sub = поле sub токена — не идентификатор пользователя
error-forbidden = для этого нужна роль { $role }
error-signature-missing = нет заголовка Souk-Signature
error-signature-mismatch = подпись не совпадает
error-signature-timestamp = в подписи нет корректной метки времени
error-signature-stale = метка времени подписи выходит за допустимые { $minutes } мин.
error-signature-no-v1 = в подписи нет значения v1
error-rate-limited = слишком много запросов класса { $class }; повторите через { $seconds } с

## Доступность

error-internal = внутренняя ошибка; она записана в журнал
error-overloaded = сейчас обрабатывается слишком много запросов; повторите чуть позже
error-database-unavailable = база данных недоступна; повторите чуть позже с тем же Idempotency-Key — он никогда не применяется дважды
error-database-slow = база данных не ответила вовремя; повторите чуть позже
error-database-silent = база данных не отвечает
error-shard-moving = эта часть магазина переезжает на другой узел; повторите чуть позже с тем же Idempotency-Key — он никогда не применяется дважды
error-node-unreachable = узел, обслуживающий эту часть магазина, не ответил; повторите чуть позже с тем же Idempotency-Key — он никогда не применяется дважды
error-no-lease = у этого узла нет аренды в кластере; он снова начнёт обслуживать запросы, когда etcd её продлит
error-not-in-cluster = этот узел не входит в кластер
error-not-actor-message = это не сообщение актора: { $reason }
error-cluster-bad-key = { $key } — недопустимый ключ
error-cluster-unknown-message = { $message } — сообщение, которое этот узел не принимает
error-maintenance = в магазине идут технические работы; попробуйте позже
# Заметка оператора (PUT /v1/admin/maintenance) показывается как есть на любом языке.
error-maintenance-note = { $note }
error-maintenance-message-length = сообщение о техработах — от 1 до { $max } символов в одну строку

## Idempotency-Key

error-idempotency-key-required = этот запрос двигает деньги или товар: передайте заголовок Idempotency-Key (от 1 до 255 печатных символов ASCII)
error-idempotency-key-shape = Idempotency-Key должен состоять из 1–255 печатных символов ASCII
error-idempotency-key-reused = этот Idempotency-Key уже использован с другим запросом; возьмите новый ключ
error-idempotency-key-in-use = у этого Idempotency-Key уже есть ответ
error-idempotency-earlier-failed = предыдущий запрос с этим Idempotency-Key не удался; повторите
error-idempotency-answer-unreadable = не удалось прочитать ответ для этого Idempotency-Key; повторите
error-write-refused = база данных отклонила запись ({ $constraint })

## Каталог и остатки

error-entity-not-found = { $entity ->
    [product] Товар { $id } не найден
    [order] Заказ { $id } не найден
    [user] Пользователь { $id } не найден
    [return] Возврат { $id } не найден
    [broadcast] Рассылка { $id } не найдена
   *[other] Объект «{ $entity }» { $id } не найден
}
error-no-such-category = такой категории нет
error-product-inactive = товар { $product } не продаётся
error-out-of-stock = «{ $name }» осталось только { $available } шт.
error-stock-would-go-negative = остаток не может стать меньше нуля: свободно { $available } шт., запрошено изменение на { $delta }
error-wrong-stock-kind = остаток товара типа { $kind } меняется через { $expected }
error-stock-delta-range = изменение остатка не может быть нулевым и не больше ±{ $max } шт.
error-codes-count = за раз можно добавить от 1 до { $max } кодов
error-stock-body = передайте ровно одно из полей: quantity_delta (физический товар) или codes (цифровой)
error-options-count = не больше { $max } опций
error-price-stars-range = price_stars — целое число звёзд от 1 до { $max }
error-image-url = image_url должен быть URL с http(s)

## Корзина, оформление заказа и кошелёк

error-cart-empty = корзина пуста
error-insufficient-funds = недостаточно средств: нужно { $required }, доступно { $balance }
error-balance-overflow = баланс переполнится
error-order-total-too-large = сумма заказа слишком велика
error-shipping-address-needed = физические товары доставляются: для оформления нужен shipping_address
error-country-code = country должен быть кодом ISO 3166-1 alpha-2, например DE
error-unpaid-orders = у одного покупателя может быть не больше { $max } заказов, ожидающих внешней оплаты; уже учтено { $held } (неоплаченный заказ ещё какое-то время учитывается), запрошено ещё { $requested }; оплатите из кошелька или оплатите открытые заказы
error-unpaid-units = у одного покупателя может быть не больше { $max } шт. товаров, ожидающих внешней оплаты; уже учтено { $held } (неоплаченный заказ ещё какое-то время учитывается), запрошено ещё { $requested }; оплатите из кошелька или оплатите открытые заказы
error-unpaid-product-units = у одного покупателя может быть не больше { $max } шт. этого товара, ожидающих внешней оплаты; уже учтено { $held } (неоплаченный заказ ещё какое-то время учитывается), запрошено ещё { $requested }; оплатите из кошелька или оплатите открытые заказы
error-baseline-no-promo = базовый режим с блокировкой строк не принимает промокоды
error-baseline-wallet-only = базовый режим с блокировкой строк принимает только оплату из кошелька

## Промокоды

error-no-such-promo = промокода { $code } нет
error-promo-code-unusable = promo_code — не действующий промокод
error-promo-code-shape = промокод — это от 3 до 32 букв, цифр, «_» или «-»
error-promo-exists = промокод { $code } уже существует; измените его через PATCH
error-promo-needs-actors = промокодам нужен движок на акторах
error-promo-percent-range = процентная скидка — от 1 до 100
error-promo-fixed-range = фиксированная скидка — от 1 до { $max } минимальных единиц валюты
error-promo-ends-before-start = ends_at должно быть позже starts_at
error-promo-unknown = промокод { $code }: такого промокода нет
error-promo-inactive = промокод { $code }: промокод отключён
error-promo-not-started = промокод { $code }: промокод ещё не действует
error-promo-expired = промокод { $code }: срок действия промокода истёк
error-promo-below-minimum = промокод { $code }: сумма корзины меньше минимальной для этого промокода
error-promo-exhausted = промокод { $code }: промокод уже израсходован
error-promo-per-user-limit = промокод { $code }: вы уже использовали этот промокод

## Telegram Stars

error-stars-disabled = этот магазин не принимает Telegram Stars
error-stars-no-price = у товара в корзине нет цены в звёздах
error-stars-physical = физические товары нельзя оплатить звёздами; оплатите из кошелька или картой
error-stars-free = после скидки платить нечего; оплатите из кошелька
error-checkout-nothing-to-pay = после скидки платить нечего: оформите заказ с "payment": "wallet"
error-stars-no-invoice-link = заказ оформлен, но Telegram не выдал ссылку на счёт; отправьте тот же запрос ещё раз (с тем же Idempotency-Key), чтобы получить новую ссылку
error-stars-refund-not-stars = этот заказ оплачен не звёздами; верните деньги через POST /v1/admin/orders/{"{"}order_id{"}"}/refunds
error-stars-refund-nothing-paid = оплата звёздами за этот заказ не поступала, поэтому возвращать нечего
error-stars-refund-unknown = Telegram не ответил на запрос возврата; спросите ещё раз: уже выполненный возврат не повторится
error-stars-refund-refused = Telegram отклонил возврат: { $reason }
error-stars-refund-done = звёзды за этот заказ уже возвращены
error-stars-refund-in-progress = возврат по этому заказу уже выполняется; спросите ещё раз через минуту

## Заказы, возвраты денег и товаров

error-invalid-transition = заказ не может перейти из статуса { $from } в { $to }
error-transition-own-endpoint = для перевода заказа в статус { $to } есть отдельный эндпоинт
error-status-changed = статус заказа тем временем изменился; запросите заказ заново
error-already-delivered = все товары заказа { $order } уже доставлены, поэтому отменять нечего; магазин может оформить возврат денег
error-refund-exceeds-paid = возврат { $requested } больше, чем оставшиеся к возврату { $remaining }
error-refund-stars-order = этот заказ оплачен звёздами Telegram: верните их через POST /v1/admin/orders/{"{"}order_id{"}"}/stars-refund
error-return-window = возврат принимается в течение { $days } { $days ->
    [one] дня
   *[other] дней
} после доставки
error-return-lines-count = в возврате должно быть от 1 до { $max } строк
error-return-physical-only = возвращаются только физические товары
error-return-product-not-in-order = товара { $product } нет в этом заказе
error-return-quantity-left = товар { $product } можно вернуть ещё только в количестве { $left } шт.
error-return-product-twice = каждый товар указывается один раз
error-return-exchange-not-variant = товар { $other } — не другой размер или цвет товара { $product }
error-return-step-status = возврат в статусе { $status }; для этого шага нужен статус { $allowed }

## Платежи и вебхуки

error-payments-no-secret = платёжные события не принимаются: секрет вебхука не настроен
error-event-id-shape = event_id — от 1 до 255 печатных символов ASCII
error-currency-code = currency должно быть трёхбуквенным кодом
error-payment-target = событие указывает ровно одно из полей: order_id или wallet_topup
error-amount-within = amount_minor должно быть в пределах { $max } от нуля
error-events-empty = в events нужен хотя бы один тип события
error-event-type-unknown = неизвестный тип события «{ $name }»; известны: { $known }
error-event-id-pattern = event_id должен выглядеть как evt_42
error-webhook-no-delivery = у вебхука { $webhook } нет доставки события { $event }: это не его тип событий или доставка уже не хранится
error-url-too-long = url — не длиннее { $max } символов
error-url-shape = url должен быть URL с http(s), именем хоста или адресом IPv4, необязательными портом, путём и строкой запроса, без имени пользователя и фрагмента
error-url-not-absolute = url — не абсолютный URL: { $reason }
error-url-https-only = в рабочем режиме url должен использовать https
error-url-scheme = url должен начинаться с http или https, а не с { $scheme }
error-url-credentials = url не должен содержать имя пользователя или пароль; Souk подтверждает себя подписью
error-url-fragment = url не должен содержать фрагмент
error-url-no-host = в url нет хоста
error-url-private = url должен указывать на публичный адрес, а не на loopback, частный или link-local

## Пользователи, Telegram и рассылки

error-language-unknown = язык должен быть одним из: en, ru, de
error-telegram-id-taken = пользователь с таким telegram_id уже есть
error-telegram-sign-in-off = вход через Telegram не настроен
error-init-data = initData недействительны или устарели
error-telegram-secret = заголовок X-Telegram-Bot-Api-Secret-Token отсутствует или неверен
error-telegram-update = обновление Telegram — это JSON-объект с целым update_id
error-telegram-updates-busy = предыдущие обновления этого пользователя ещё обрабатываются
error-broadcast-empty = в рассылке нужен текст
error-broadcast-too-long = рассылка — не больше { $max } символов (ограничение Telegram на одно сообщение); в этой { $chars }

# Экраны администратора в боте (/admin, /broadcast), уведомления и проверки счетов на пополнение.

## Экраны администратора: каждый администратор читает их на своём языке.

bot-admin-not-allowed = Нет доступа.
bot-admin-menu = Администрирование. Режим обслуживания { $maintenance ->
        [on] ВКЛЮЧЁН
       *[off] выключен
    }.
bot-admin-add-codes = ➕ Добавить ключи
bot-admin-adjust-stock = 📦 Изменить остаток
bot-admin-low-stock = ⚠ Мало на складе
bot-admin-maintenance-turn-on = Включить обслуживание
bot-admin-maintenance-turn-off = Выключить обслуживание
bot-admin-broadcast = 📣 Рассылка
bot-admin-to-menu = ⬅ Меню
bot-admin-back = ⬅ Администрирование
bot-admin-pick-digital = Выберите цифровой товар:
bot-admin-pick-physical = Выберите физический товар:
bot-admin-product-left = { $name } (осталось { $available })
bot-admin-codes-ask = Пришлите ключи для «{ $name }», по одному в строке (от 3 до 500 печатаемых символов, без пробелов). /cancel — отменить.
bot-admin-not-applied = Не применено: { $reason }.
bot-admin-codes-added = { $accepted ->
        [one] Добавлен { $accepted } ключ
        [few] Добавлено { $accepted } ключа
        [many] Добавлено { $accepted } ключей
       *[other] Добавлено { $accepted } ключа
    } к «{ $name }»; теперь в наличии: { $available }.
bot-admin-codes-rejected = { $count ->
        [one] Отклонена { $count } строка:
        [few] Отклонено { $count } строки:
        [many] Отклонено { $count } строк:
       *[other] Отклонено { $count } строки:
    }
bot-admin-codes-duplicate = строка { $line }: повтор
bot-admin-codes-invalid = строка { $line }: неверный ключ
bot-admin-codes-more = … и ещё { $count }
bot-admin-stock-card = «{ $name }»: на складе { $available } шт.
bot-admin-stock-changed = Остаток { $delta }
bot-admin-stock-below-zero = Остаток не может стать меньше нуля.
bot-admin-low-title = Товары, которых осталось не больше { $threshold } { $threshold ->
        [one] единицы
       *[other] единиц
    }:
bot-admin-low-none = таких нет.
bot-admin-maintenance-on = Режим обслуживания включён.
bot-admin-maintenance-off = Режим обслуживания выключен.

## Рассылки: текст администратора уходит как есть; здесь только то, что бот говорит вокруг него.

bot-admin-broadcast-ask = Пришлите сообщение для рассылки всем пользователям бота (текст, не длиннее { $max } символов). Перед отправкой вы увидите, как оно выглядит. /cancel — отменить.
bot-admin-broadcast-not-kept = Не сохранено: { $reason }. Пришлите ещё раз или /cancel.
bot-admin-broadcast-preview = Выше — предпросмотр рассылки №{ $id }. Отправить её { $recipients } { $recipients ->
        [one] пользователю
       *[other] пользователям
    } бота (примерно { $minutes } мин при скорости { $rate } сообщений в секунду)?
bot-admin-broadcast-skipped = Ещё { $blocked } { $blocked ->
        [one] пользователь заблокировал
        [few] пользователя заблокировали
        [many] пользователей заблокировали
       *[other] пользователя заблокировали
    } бота — они пропускаются.
bot-admin-broadcast-send = ✅ Отправить { $recipients }
bot-admin-broadcast-cancel = ✖ Отмена
bot-admin-broadcast-going = 📣 Рассылка №{ $id } отправляется { $queued } { $queued ->
        [one] пользователю
       *[other] пользователям
    }. Я сообщу здесь, когда она завершится.
bot-admin-broadcast-cancelled = Рассылка №{ $id } отменена; её никто не получил.
bot-admin-broadcast-already = Рассылка №{ $id } уже { $state ->
        [draft] в черновике
        [sending] отправляется
        [done] завершена
       *[cancelled] отменена
    }; больше ничего не сделано.

## Уведомления: приходят вне диалога, на языке, который выбрал получатель.

bot-notify-view = Открыть
bot-notify-restocked = 🔔 { $name } снова в наличии.
bot-notify-restocked-unnamed = 🔔 Товар, о котором вы просили сообщить, снова в наличии.
bot-notify-stars = { $stars } ⭐
bot-notify-paid = 💳 Оплата заказа №{ $order } получена: { $amount }. Спасибо!
bot-notify-shipped = 📦 Заказ №{ $order } уже в пути.
bot-notify-shipped-note = 📦 Заказ №{ $order } уже в пути ({ $note }).
bot-notify-delivered = ✅ Заказ №{ $order } доставлен.
bot-notify-delivered-note = ✅ Заказ №{ $order } доставлен ({ $note }).
bot-notify-cancelled = ❌ Заказ №{ $order } отменён.
bot-notify-cancelled-note = ❌ Заказ №{ $order } отменён ({ $note }).
bot-notify-cancelled-refund = { $amount } вернулись на ваш кошелёк.
bot-notify-refunded = ↩️ { $amount } за заказ №{ $order } возвращены на ваш кошелёк.
bot-notify-refunded-stars = ↩️ { $stars } ⭐ за заказ №{ $order } возвращены на ваш баланс Telegram Stars.
bot-notify-report = 📣 Рассылка №{ $id } завершена: доставлено { $sent }, не доставлено { $failed }
bot-notify-report-blocked = ({ $blocked } { $blocked ->
        [one] пользователь заблокировал
        [few] пользователя заблокировали
        [many] пользователей заблокировали
       *[other] пользователя заблокировали
    } бота)
bot-notify-report-unknown = неизвестно: { $unknown } (Souk остановился или Telegram не ответил при отправке; возможно, доставлено, поэтому повторно не отправляется)

## Счета на пополнение: почему запрос перед оплатой или платёж не совпадает со счётом.

bot-topup-not-issued = Этот счёт выставлен не магазином.
bot-topup-other-user = Этот счёт выставлен не вам.
bot-topup-amount = Сумма не совпадает с суммой счёта.
bot-topup-currency = Валюта не совпадает с валютой счёта.
bot-topup-expired = Срок действия счёта истёк; запросите новый в /wallet.

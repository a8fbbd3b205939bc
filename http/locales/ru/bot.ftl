# Тексты бота. Идентификаторы начинаются с `bot-`.

bot-language-name = Русский
bot-language-prompt = Выберите язык магазина:
bot-language-chosen = Теперь магазин говорит по-русски.

## Общее

bot-as-said = { $text }
bot-cart-empty = Ваша корзина пуста.
bot-order-is = Заказ #{ $order }: { $status }.
bot-payment-try-again = Магазин сейчас не может принять этот платёж. Попробуйте ещё раз.

## Физические товары: оплата картой с доставкой

bot-invoice-title-order = Ваш заказ
bot-invoice-goods = Товары
bot-invoice-tax = Налог
bot-delivery = Доставка
bot-delivery-free = Бесплатная доставка
bot-address-check = Проверьте адрес: { $problem }
bot-address-needed = Нужен адрес доставки.
bot-cart-changed = Корзина изменилась после выставления этого счёта. Оформите заказ заново.
bot-invoice-other-address = По этому счёту уже оформлен заказ #{ $order } на другой адрес. Оформите заказ заново.
bot-payment-already-received = Этот платёж уже получен.
bot-shipped-order-paid = ✅ Заказ #{ $order } оплачен: { $amount }. Спасибо! Он будет отправлен по адресу: { $address }.
bot-payment-to-wallet = Ваш платёж { $amount } уже не мог оплатить заказ, поэтому он зачислен на ваш кошелёк в магазине. См. /wallet.
bot-payment-unmatched = Мы получили платёж, который не удалось сопоставить с вашим заказом. Напишите в поддержку и укажите этот id: { $charge }

## Меню, справка и команды

bot-menu-welcome = Добро пожаловать в магазин! Что вы хотите сделать?
bot-help =
    Что я умею:
    /start — главное меню
    /catalog — категории и товары
    /cart — ваша корзина: − / + / удалить и оформление заказа
    /orders — ваши заказы; повторная отправка ключей любого из них
    /wallet — баланс, история и пополнение
    /language — язык, на котором я с вами говорю
    /cancel — отменить то, чего я жду
    /help — этот список
bot-help-admin =
    /admin — добавить коды, изменить остатки, мало на складе, техобслуживание
    /broadcast — отправить сообщение всем пользователям бота
bot-cancelled = Отменено.
bot-unknown-command = Я не знаю такой команды. /help — что я умею.
bot-not-understood = Я вас не понял. /help — что я умею.
bot-only-text = Я понимаю только текст и кнопки. /help — что я умею.
bot-stale = Эта кнопка устарела — вот меню
bot-error = Что-то пошло не так на нашей стороне; ничего не применено дважды. Попробуйте ещё раз через минуту.
bot-maintenance-browse = { $message } Смотреть каталог можно и сейчас.

## Кнопки

bot-button-catalog = 🛍 Каталог
bot-button-cart = 🛒 Корзина
bot-button-orders = 📦 Мои заказы
bot-button-wallet = 💳 Кошелёк
bot-button-language = 🌐 Язык
bot-button-admin = 🔧 Админ
bot-button-menu = ⬅ Меню
bot-button-back = ⬅ Назад
bot-button-categories = ⬅ Категории
bot-button-back-to-cart = ⬅ В корзину
bot-button-prev = ◀ Назад
bot-button-next = Вперёд ▶
bot-button-add = Добавить в корзину: { $count }
bot-button-watch = 🔔 Сообщить, когда появится
bot-button-watching = 🔔 Вы узнаете, когда товар появится
bot-button-checkout = ✅ Оформить заказ
bot-button-pay-wallet = 💳 Оплатить { $total } из кошелька
bot-button-pay-stars = ⭐ Оплатить { $stars } { $stars ->
        [one] звездой
       *[other] звёздами
    }
bot-button-pay-card = 📦 Оплатить { $total } картой, с доставкой
bot-button-keys-of = 🔑 Ключи заказа #{ $order }
bot-page-of = стр. { $page } из { $pages }

## Каталог и корзина

bot-catalog-empty = Каталог пока пуст.
bot-catalog-choose = Выберите категорию:
bot-category-empty = В этой категории сейчас ничего нет в продаже.
bot-category-products = Товары — стр. { $page } из { $pages }:
bot-product-price = Цена: { $price }
bot-product-price-stars = В звёздах: { $stars } ⭐
bot-product-in-stock = В наличии: { $count }
bot-product-sold-out = Сейчас распродано.
bot-product-in-cart = В вашей корзине: { $count }
bot-watch-set = Мы напишем вам, когда товар появится
bot-added = Добавлено — в корзине: { $count }
bot-cart-title = Ваша корзина:
bot-cart-subtotal = Сумма: { $amount }
bot-cart-discount = Скидка: { $amount }
bot-cart-shipping = Доставка: { $amount }
bot-cart-tax = Налог: { $amount }
bot-cart-total = Итого: { $amount }
bot-cart-total-stars = Или в звёздах: { $stars } ⭐

## Оформление и заказы

bot-confirm =
    Подтвердите заказ: { $lines } { $lines ->
        [one] позиция
        [few] позиции
       *[many] позиций
    }, итого { $total }.
    Баланс кошелька: { $balance }.
bot-paid-thanks = Оплачено — спасибо!
bot-order-paid = ✅ Заказ #{ $order } оплачен: { $total }.
bot-order-already = Заказ #{ $order } уже { $status }.
bot-an-item = товар
bot-refused-sold-out = К сожалению, «{ $name }» распродан. Удалите его из корзины и оформите заказ заново.
bot-refused-only-left = К сожалению, «{ $name }» осталось только { $count } шт. Уменьшите количество в корзине и оформите заказ заново.
bot-refused-funds = В кошельке { $balance }, а заказ стоит { $required }. Пополните кошелёк в /wallet и оформите заказ заново.
bot-refused-cart-empty = Ваша корзина пуста — платить не за что.
bot-keys-of = 🔑 Ваши ключи по заказу #{ $order }:
bot-keys-again = Вот ваши ключи ещё раз.
bot-orders-none = У вас пока нет заказов.
bot-orders-latest = Ваши последние заказы:
bot-status = { $status ->
    [pending_payment] ожидает оплаты
    [paid] оплачен
    [processing] собирается
    [shipped] отправлен
    [delivered] доставлен
    [cancelled] отменён
    [return_requested] запрошен возврат
    [returned] возвращён
    [refunded] деньги возвращены
   *[other] { $status }
}

## Заказы, оплаченные звёздами

bot-invoice-title = Заказ #{ $order }
bot-invoice-here = Вот ваш счёт.
bot-invoice-again = Вот ваш счёт ещё раз.
bot-stars-order-placed = ⭐ Заказ #{ $order } оформлен: оплатите { $stars } ⭐ по счёту ниже. До оплаты товары зарезервированы за вами.
bot-stars-order-cancelled = Этот заказ отменён, поэтому ничего не списано. Оформите заказ заново.
bot-stars-order-paid-already = Этот заказ уже оплачен.
bot-stars-invoice-other-order = Этот счёт не соответствует своему заказу.
bot-stars-invoice-other-total = Этот счёт не соответствует сумме заказа.
bot-stars-order-expired = Время на оплату этого заказа истекло, поэтому ничего не списано. Оформите заказ заново.
bot-stars-invoice-not-yours = Этот счёт выставлен не по вашему заказу.
bot-payments-paused = В магазине техобслуживание; платежи приостановлены. Попробуйте позже.
bot-stars-paid = ✅ Заказ #{ $order } оплачен: { $stars } ⭐. Спасибо!
bot-stars-paid-already = Этот платёж уже зачтён в заказ #{ $order }.
bot-stars-to-wallet = Заказ #{ $order } уже нельзя было оплатить, поэтому его стоимость зачислена на ваш кошелёк в магазине. См. /wallet.
bot-stars-unmatched = Мы получили платёж, который не удалось сопоставить с заказом #{ $order }. Напишите в поддержку и укажите этот id: { $charge }

## Кошелёк

bot-wallet-balance = 💳 Баланс: { $balance }
bot-wallet-latest = Последние операции:
bot-topup-title = Пополнение кошелька
bot-topup-description = Зачисляет { $amount } на ваш кошелёк в магазине.
bot-topup-label = Пополнение
bot-topup-already = Этот платёж уже зачислен. Баланс: { $balance }.
bot-topup-added = ✅ { $amount } зачислено на ваш кошелёк. Баланс: { $balance }.
bot-topup-added-stars = ✅ { $amount } зачислено на ваш кошелёк за { $stars } ⭐. Баланс: { $balance }.
bot-topup-paused = В магазине техобслуживание; пополнения приостановлены. Попробуйте позже.
bot-topup-unmatched = Мы получили платёж, который не удалось сопоставить с вашим кошельком. { $why } Ничего не зачислено. Напишите в поддержку и укажите этот id: { $charge }

# Тексты бота. Идентификаторы начинаются с `bot-`.

bot-language-name = Русский
bot-language-prompt = Выберите язык магазина:
bot-language-chosen = Теперь магазин говорит по-русски.

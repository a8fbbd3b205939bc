# The bot's texts. Ids start with `bot-`. Buttons carry ids in their callback data, never
# text, so Telegram's 64-byte limit on callback data does not depend on the language.

bot-language-name = English
bot-language-prompt = Choose the language of the shop:
bot-language-chosen = The shop now speaks English.

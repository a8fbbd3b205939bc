# Die Texte des Bots. IDs beginnen mit `bot-`.

bot-language-name = Deutsch
bot-language-prompt = Wählen Sie die Sprache des Shops:
bot-language-chosen = Der Shop spricht jetzt Deutsch.

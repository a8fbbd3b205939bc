-- The language a user chose in the bot (issue: Languages). NULL means never chosen: the bot
-- then follows the Telegram client's language_code. Codes are the languages Souk speaks
-- (`souk_http::i18n::Lang`); adding one widens this check.
ALTER TABLE users ADD COLUMN language text CHECK (language IN ('en', 'ru', 'de'));

-- The language of the user's Telegram app as the bot last saw it (one of Souk's, or English
-- for any other), written only when it changes: what notifications speak to a user who never
-- chose, since they are sent outside any conversation.
ALTER TABLE users ADD COLUMN telegram_language text
    CHECK (telegram_language IN ('en', 'ru', 'de'));

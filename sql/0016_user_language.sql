-- The language a user chose in the bot (issue: Languages). NULL means never chosen: the bot
-- then follows the Telegram client's language_code. Codes are the languages Souk speaks
-- (`souk_http::i18n::Lang`); adding one widens this check.
ALTER TABLE users ADD COLUMN language text CHECK (language IN ('en', 'ru', 'de'));

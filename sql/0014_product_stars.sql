-- A product's price in Telegram Stars, beside its price in the shop currency: digital goods
-- sold in the bot and the Mini App are paid in Stars when the shop enables it. Whole Stars.
ALTER TABLE products ADD COLUMN price_stars integer CHECK (price_stars BETWEEN 1 AND 100000);

-- The address a physical order ships to, as validated at checkout (name, line1, line2?,
-- city, postal_code, country). Null for orders placed without one.
ALTER TABLE orders ADD COLUMN shipping_address jsonb;

//! The demo catalog `cargo run --release` shows on an empty private database: two
//! categories, a digital product with license keys, two physical products with stock, a
//! demo customer with a wallet balance and an admin. Written in one transaction, before
//! any actor runs, with the same ledger rows a real credit would make (I2 holds).

use crate::db::DbError;
use tokio_postgres::Client;

pub struct Seeded {
    pub admin: i64,
    pub customer: i64,
}

/// Seeds only a database with no products; returns who was created.
pub async fn demo(client: &mut Client) -> Result<Option<Seeded>, DbError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('souk.seed'))", &[])
        .await?;
    let products: i64 = tx
        .query_one("SELECT count(*) FROM products", &[])
        .await?
        .try_get(0)?;
    if products > 0 {
        return Ok(None);
    }
    catalog(&tx).await?;
    let seeded = users(&tx).await?;
    tx.commit().await?;
    Ok(Some(seeded))
}

fn id(row: tokio_postgres::Row) -> Result<i64, tokio_postgres::Error> {
    row.try_get::<_, i64>(0)
}

/// Two categories, a digital game with 20 keys (and a price in Stars) and two physical goods
/// with their stock.
async fn catalog(tx: &tokio_postgres::Transaction<'_>) -> Result<(), DbError> {
    let keys = id(tx
        .query_one(
            "INSERT INTO categories (name) VALUES ('Game keys') RETURNING id",
            &[],
        )
        .await?)?;
    let apparel = id(tx
        .query_one(
            "INSERT INTO categories (name) VALUES ('Apparel') RETURNING id",
            &[],
        )
        .await?)?;
    let insert =
        "INSERT INTO products (category_id, name, description, kind, price_minor, stock_on_hand)
                  VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    let game = id(tx
        .query_one(
            insert,
            &[
                &keys,
                &"Starfall Deluxe (Steam key)",
                &"Instant delivery in your order.",
                &"digital",
                &1999_i64,
                &0_i64,
            ],
        )
        .await?)?;
    tx.execute(
        "INSERT INTO digital_items (product_id, code)
         SELECT $1, 'STAR-' || lpad(n::text, 4, '0') || '-' || substr(md5(random()::text), 1, 8) FROM generate_series(1, 20) n",
        &[&game],
    )
    .await?;
    // The game can also be paid in Telegram Stars, once the shop takes them.
    tx.execute(
        "UPDATE products SET price_stars = 100 WHERE id = $1",
        &[&game],
    )
    .await?;
    tx.query_one(
        insert,
        &[
            &apparel,
            &"Souk T-shirt (M, black)",
            &"Organic cotton.",
            &"physical",
            &2500_i64,
            &50_i64,
        ],
    )
    .await?;
    tx.query_one(
        insert,
        &[
            &apparel,
            &"Canvas tote bag",
            &"Carries a week of groceries.",
            &"physical",
            &1200_i64,
            &30_i64,
        ],
    )
    .await?;
    // Stock on hand always equals the sum of its movements (`souk check` verifies it).
    tx.execute(
        "INSERT INTO stock_movements (product_id, delta, reason)
         SELECT id, stock_on_hand, 'adjustment' FROM products WHERE kind = 'physical' AND stock_on_hand > 0",
        &[],
    )
    .await?;
    Ok(())
}

/// A demo admin and a demo customer with 100.00 in the wallet, credited through the ledger.
async fn users(tx: &tokio_postgres::Transaction<'_>) -> Result<Seeded, DbError> {
    let admin = id(tx
        .query_one(
            "INSERT INTO users (display_name) VALUES ('Demo admin') RETURNING id",
            &[],
        )
        .await?)?;
    let customer = id(tx
        .query_one("INSERT INTO users (display_name, balance_minor) VALUES ('Demo customer', 10000) RETURNING id", &[])
        .await?)?;
    tx.execute(
        "INSERT INTO wallet_transactions (user_id, kind, amount_minor, reason) VALUES ($1, 'credit', 10000, 'demo credit')",
        &[&customer],
    )
    .await?;
    Ok(Seeded { admin, customer })
}

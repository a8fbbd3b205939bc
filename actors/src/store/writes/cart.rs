//! Cart lines' one statement: lines set, removed or cleared, for one change or a whole
//! batch's.

use super::{ApplyError, Db};
use crate::domain::ids::{ProductId, UserId};
use crate::domain::quantity::Quantity;

/// One change to a user's cart.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CartChange {
    /// The line's quantity, or the line removed.
    Line {
        user: UserId,
        product: ProductId,
        quantity: Option<Quantity>,
    },
    /// Every line removed.
    Clear { user: UserId },
}

/// `$4`/`$5` name the lines to remove (a NULL product: all of the user's), `$1`..`$3` the
/// lines to set. Both touch only the rows of their own users.
const CART_SQL: &str = "
WITH gone AS (
    DELETE FROM cart_items c USING unnest($4::bigint[], $5::bigint[]) AS x(user_id, product_id)
    WHERE c.user_id = x.user_id AND (x.product_id IS NULL OR c.product_id = x.product_id)
)
INSERT INTO cart_items (user_id, product_id, quantity)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[])
ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = EXCLUDED.quantity, updated_at = now()";

/// Applies `changes`, whose users are distinct (one statement cannot set a row twice, and
/// a removal and a setting of one row in it would race).
pub(crate) async fn apply_all(tx: &Db, changes: &[CartChange]) -> Result<(), ApplyError> {
    let mut set = (Vec::new(), Vec::new(), Vec::new());
    let mut gone: (Vec<i64>, Vec<Option<i64>>) = (Vec::new(), Vec::new());
    for change in changes {
        match *change {
            CartChange::Line {
                user,
                product,
                quantity: Some(q),
            } => {
                set.0.push(user.get());
                set.1.push(product.get());
                set.2.push(q.get() as i32);
            }
            CartChange::Line {
                user,
                product,
                quantity: None,
            } => {
                gone.0.push(user.get());
                gone.1.push(Some(product.get()));
            }
            CartChange::Clear { user } => {
                gone.0.push(user.get());
                gone.1.push(None);
            }
        }
    }
    let stmt = tx.prepare_cached(CART_SQL).await?;
    tx.execute(&stmt, &[&set.0, &set.1, &set.2, &gone.0, &gone.1])
        .await?;
    Ok(())
}

//! Shards: every entity key belongs to one of a fixed number of shards, and every shard to
//! one live node at a time. Pure arithmetic: which shard a key is in, which node a shard
//! should live on, and the fencing token a node holds for it. The cluster driver (etcd) and
//! the group commit (Postgres) act on these answers.

use crate::domain::ids::{ProductId, PromoCode, UserId};
use std::fmt;

/// A shard's number, `0..count`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ShardId(u32);

impl ShardId {
    pub fn new(n: u32) -> ShardId {
        ShardId(n)
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What owns state: the key an actor is started for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntityKey {
    Product(ProductId),
    User(UserId),
    Promo(PromoCode),
}

/// A fencing token: the shard and the epoch its owner recorded in Postgres when it took
/// the shard. A write carries the tokens of the shards it changes and commits only while
/// they are still the recorded ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Fence {
    pub shard: ShardId,
    pub epoch: i64,
}

/// 64-bit FNV-1a: stable across Rust versions and platforms (std's hasher is not), which
/// matters because every node and every release must put a key in the same shard.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // FNV's low bits mix poorly for short keys; one round of a 64-bit finaliser
    // (MurmurHash3's) spreads them before the modulo.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash
}

/// The shard a key lives in, for a cluster of `count` shards (at least 1).
pub fn shard_of(key: &EntityKey, count: u32) -> ShardId {
    let hash = match key {
        EntityKey::Product(id) => fnv1a(&[b"product", &id.get().to_le_bytes()]),
        EntityKey::User(id) => fnv1a(&[b"user", &id.get().to_le_bytes()]),
        EntityKey::Promo(code) => fnv1a(&[b"promo", code.as_str().as_bytes()]),
    };
    ShardId((hash % u64::from(count.max(1))) as u32)
}

/// Which member should own each shard: rendezvous hashing with bounded load. Each shard
/// ranks the members by a hash of (shard, member) and goes to the best-ranked one that still
/// has room, where room is ⌊s/m⌋ shards and ⌈s/m⌉ for as many members as the remainder
/// needs: every member owns ⌊s/m⌋ or ⌈s/m⌉ shards, and a
/// join or leave moves few shards besides the ones it must. Every node computes the same
/// answer from the same member list (order does not matter). Empty members: nobody owns.
pub fn assign(count: u32, members: &[&str]) -> Vec<Option<usize>> {
    if members.is_empty() {
        return vec![None; count as usize];
    }
    // ⌊s/m⌋ each, and `extra` of them one more: the capacities add up to exactly `count`,
    // so every shard finds room.
    let floor = count / members.len() as u32;
    let mut extra = count % members.len() as u32;
    let mut load = vec![0u32; members.len()];
    let mut owners = vec![None; count as usize];
    // Shards go in the order of how strongly they prefer their first choice, so the
    // capacity bound bends the weakest preferences, not whichever shards come last.
    let mut ranked: Vec<(u32, Vec<(u64, usize)>)> = (0..count)
        .map(|shard| {
            let mut scores: Vec<(u64, usize)> = members
                .iter()
                .enumerate()
                .map(|(i, m)| (fnv1a(&[&shard.to_le_bytes(), m.as_bytes()]), i))
                .collect();
            scores.sort_unstable_by(|a, b| b.cmp(a));
            (shard, scores)
        })
        .collect();
    ranked.sort_unstable_by(|a, b| b.1[0].0.cmp(&a.1[0].0).then(a.0.cmp(&b.0)));
    for (shard, scores) in ranked {
        let chosen = scores
            .iter()
            .map(|&(_, i)| i)
            .find(|&i| load[i] < floor || (load[i] == floor && extra > 0))
            .unwrap_or(scores[0].1);
        if load[chosen] == floor {
            extra = extra.saturating_sub(1);
        }
        load[chosen] += 1;
        owners[shard as usize] = Some(chosen);
    }
    owners
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn counts(count: u32, members: &[&str]) -> Vec<u32> {
        let mut per = vec![0u32; members.len()];
        for owner in assign(count, members).into_iter().flatten() {
            per[owner] += 1;
        }
        per
    }

    #[test]
    fn keys_spread_over_shards_and_are_stable() {
        let mut per = [0u32; 16];
        for id in 1..=16_000 {
            let shard = shard_of(&EntityKey::User(UserId::from_db(id)), 16);
            per[shard.get() as usize] += 1;
        }
        assert!(per.iter().all(|&n| (800..=1200).contains(&n)), "{per:?}");
        // Pinned: a change here would move every key to another shard on upgrade.
        assert_eq!(
            shard_of(&EntityKey::Product(ProductId::from_db(1)), 256).get(),
            98
        );
    }

    #[test]
    fn nobody_owns_without_members() {
        assert!(assign(8, &[]).iter().all(Option::is_none));
    }

    proptest! {
        /// Every shard has exactly one owner, and every member owns ⌊s/m⌋ or ⌈s/m⌉ shards
        /// (well inside the ±20 % the cluster promises), in any member order.
        #[test]
        fn balanced_and_order_free(n in 1usize..8, count in 1u32..600, seed in 0u64..1000) {
            let names: Vec<String> = (0..n).map(|i| format!("node-{seed}-{i}")).collect();
            let members: Vec<&str> = names.iter().map(String::as_str).collect();
            let per = counts(count, &members);
            prop_assert_eq!(per.iter().sum::<u32>(), count);
            let (lo, hi) = (count / n as u32, count.div_ceil(n as u32));
            prop_assert!(per.iter().all(|&c| c == lo || c == hi), "{:?}", per);
            let mut reversed = members.clone();
            reversed.reverse();
            let a: Vec<Option<&str>> = assign(count, &members).into_iter().map(|o| o.map(|i| members[i])).collect();
            let b: Vec<Option<&str>> = assign(count, &reversed).into_iter().map(|o| o.map(|i| reversed[i])).collect();
            prop_assert_eq!(a, b);
        }

        /// A join moves few shards besides the ones the newcomer must take: at most about
        /// twice its fair share change hands.
        #[test]
        fn a_join_moves_little(n in 1usize..6, seed in 0u64..1000) {
            let names: Vec<String> = (0..=n).map(|i| format!("n{seed}-{i}")).collect();
            let before: Vec<&str> = names[..n].iter().map(String::as_str).collect();
            let after: Vec<&str> = names.iter().map(String::as_str).collect();
            let owner = |members: &[&str]| -> Vec<String> {
                assign(256, members).into_iter().map(|o| members[o.unwrap()].to_string()).collect()
            };
            let (a, b) = (owner(&before), owner(&after));
            let moved = a.iter().zip(&b).filter(|(x, y)| x != y).count();
            let fair = 256 / (n + 1);
            prop_assert!(moved <= 2 * fair + 8, "moved {} of 256 (fair share {})", moved, fair);
        }
    }
}

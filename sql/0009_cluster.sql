-- Several nodes: Postgres is the fencing authority. A node that takes a shard records its
-- claim's token (an etcd revision, which only grows) here before it loads any of the
-- shard's state; every group-commit batch checks, in its own transaction, that the shards
-- it writes still carry the tokens it holds. A node that was paused or partitioned and lost
-- its claim therefore cannot commit anything for that shard.
CREATE TABLE cluster_shards (
    shard integer PRIMARY KEY CHECK (shard >= 0),
    epoch bigint NOT NULL DEFAULT 0 CHECK (epoch >= 0),
    owner text,
    taken_at timestamptz
);

-- The number of shards is fixed when the cluster is created: every key's shard depends on
-- it. One row; a node configured with another number refuses to join.
CREATE TABLE cluster_meta (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    shards integer NOT NULL CHECK (shards > 0)
);

//! The cluster as this node sees it (admin): the live members and how many shards each
//! holds, and every shard's token as Postgres records it.

use crate::error::ApiResult;
use crate::extract::Admin;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use souk_actors::entity::ownership::Member;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/cluster", web::get().to(cluster));
}

#[derive(Serialize, utoipa::ToSchema)]
struct ClusterBody {
    /// `single` (no etcd configured: this node owns everything) or `cluster`.
    mode: &'static str,
    /// This node's name; `null` on a single node.
    node_id: Option<String>,
    /// The fixed number of shards keys are spread over (1 on a single node).
    shard_count: u32,
    /// Whether this node's etcd lease is surely alive (always on a single node).
    lease_alive: bool,
    /// Shards this node serves now.
    shards_served: u32,
    /// The live members as this node last saw them in etcd.
    members: Vec<MemberBody>,
    /// Each shard's token (epoch) and the node that recorded it, from Postgres.
    epochs: Vec<EpochBody>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct MemberBody {
    node_id: String,
    url: String,
    /// Shards whose claim this member holds.
    shards: u32,
}

#[derive(Serialize, utoipa::ToSchema)]
struct EpochBody {
    shard: u32,
    epoch: i64,
    owner: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/admin/cluster",
    summary = "Cluster members, their shards and every shard's epoch (admin)",
    tag = "operations",
    responses((status = 200, body = ClusterBody)),
    security(("bearer" = []))
)]
async fn cluster(_admin: Admin, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let ownership = &state.registry.deps.ownership;
    let epochs = state
        .bounded(souk_actors::store::fencing::epochs(&state.pool))
        .await?;
    let body = ClusterBody {
        mode: if ownership.node_id().is_some() {
            "cluster"
        } else {
            "single"
        },
        node_id: ownership.node_id().map(str::to_string),
        shard_count: ownership.shard_count(),
        lease_alive: ownership.lease_alive(),
        // Held shards serve only while the lease lives.
        shards_served: if ownership.lease_alive() {
            ownership.held().len() as u32
        } else {
            0
        },
        members: ownership
            .members()
            .into_iter()
            .map(
                |Member {
                     node_id,
                     url,
                     shards,
                 }| MemberBody {
                    node_id,
                    url,
                    shards,
                },
            )
            .collect(),
        epochs: epochs
            .into_iter()
            .map(|(shard, epoch, owner)| EpochBody {
                shard: shard.get(),
                epoch,
                owner,
            })
            .collect(),
    };
    Ok(HttpResponse::Ok().json(body))
}

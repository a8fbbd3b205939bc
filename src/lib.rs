//! The `souk` binary's library half: configuration, start-up, the private Postgres cluster,
//! migrations and the operator commands. Integration tests build the application from here.

pub mod backup;
pub mod bench;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod db;
pub mod logging;
pub mod pgcluster;
pub mod secret_strength;
pub mod seed;
pub mod shutdown;
pub mod startup;
pub mod telegram_cli;

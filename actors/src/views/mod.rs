//! Read models kept in memory: catalog pages and the dashboard's snapshot. They read
//! committed state through the store and change nothing.

pub mod catalog;
pub mod dashboard;

//! Read models: catalog pages (cached), the dashboard and the operations pages. They read
//! committed state through the store and change nothing.

pub mod catalog;
pub mod dashboard;
pub mod operations;

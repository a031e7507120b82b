pub mod client;
pub mod ids;

pub use client::{Client, NewClient};

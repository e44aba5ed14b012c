pub mod config;
pub mod event;
pub mod hosts;
pub mod orchestrators;
pub mod report;
pub mod request;
pub mod url;

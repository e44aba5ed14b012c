//! Git hosts and subscribers: what each wants for one commit status (PROTOCOL §2, §4).
//! Pure: URLs, bodies, state maps, and the parsing of their answers.

pub mod azure;
pub mod github;
pub mod subscribers;

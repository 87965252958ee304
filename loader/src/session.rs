//! The loader's database session: how it connects, and the settings every connection gets.

use pgshape_core::conn::{Session, Target};
use pgshape_core::Result;
use postgres::Client;

/// The loader's session: `synchronous_commit = off` is safe here, since a chunk and its ledger
/// row are kept or lost together, so a crash can only send a resume back over whole chunks.
pub fn session() -> Session {
    Session {
        application_name: "pgshape-loader".into(),
        settings: vec![("synchronous_commit".into(), "off".into())],
    }
}

/// A client as the loader connects.
pub fn connect(target: &Target) -> Result<Client> {
    target.connect(&session())
}

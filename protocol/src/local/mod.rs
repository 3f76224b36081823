//! The files on this machine that the hub and its clients must agree on: where the socket, the
//! state directory and the saved key are ([`location`]), the running hub's record and the state
//! lock ([`running`]), the saved key file ([`key_file`]) and atomic file replacement ([`atomic`]).
//!
//! The one exception to "no I/O besides the codec" in this crate. The daemon may not depend on
//! the client, and this crate is the only one both share, so a rule both sides follow lives here
//! once instead of twice. Only [`location`] is needed to speak the protocol; the rest is small,
//! blocking and free of the wire types.

pub mod atomic;
pub mod key_file;
pub mod location;
pub mod running;

//! Pictures and files shared in a conversation (issue 25) live here.
//!
//! - `media`: what an upload is (its type from its bytes alone), and for
//!   pictures the checks, thumbnails, placeholder and location removal
//!   done before anyone else can see them.

pub(crate) mod media;

//! strongroom-server

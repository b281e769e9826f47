//! strongroom-client

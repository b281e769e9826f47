//! strongroom-store

//! strongroom-api

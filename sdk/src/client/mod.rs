//! The client: connections, workflow handles, visibility.

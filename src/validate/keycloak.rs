//! keycloak

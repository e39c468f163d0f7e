//! Elm-style workstation state and `update`; talks to sync tasks only through messages.

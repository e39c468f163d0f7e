//! Background tokio tasks: pulling, proposing, posting; they report through messages.

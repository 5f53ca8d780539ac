"""Units of work: store queries and flow decisions put together, inside the caller's
transaction. Nothing here talks to Slack directly; outgoing messages go to the outbox or are
returned for the handler to send."""

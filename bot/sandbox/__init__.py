"""A Slack without Slack: the fake Web API (with Socket Mode) and the senders that deliver what
Slack would, signed over HTTP or in Socket Mode envelopes, that the tests and `partnerbot demo`
run against."""

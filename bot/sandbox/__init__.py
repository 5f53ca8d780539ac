"""A Slack without Slack: the fake Web API and the signed-request sender that the tests and
`partnerbot demo` run against."""

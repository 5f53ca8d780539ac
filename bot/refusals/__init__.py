"""What each feature says when it refuses something, one module per feature: each function
words one refusal and returns the `UserFacingError` a service or handler raises, for the one
error handler (bot/handlers/errors.py) to show."""

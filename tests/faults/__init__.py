"""Fault injection: a fake OpenAI-compatible server that misbehaves on purpose, and the tests that use it."""

"""Test helpers: a fake OpenAI-compatible server (`rubricate.testing.fake_openai`)."""

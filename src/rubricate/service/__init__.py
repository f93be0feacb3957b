"""The use cases, once: every interface calls these."""

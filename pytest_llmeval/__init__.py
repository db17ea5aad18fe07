"""pytest-llmeval: LLM evaluations as pytest tests."""

"""`tagengo extend`: single-turn conversations grown into multi-turn ones (follow-ups by an LLM playing the user)."""

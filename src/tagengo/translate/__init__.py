"""`tagengo translate`: parallel datasets (every message into --to languages) and MT-Bench question sets."""

"""`tagengo prefer`: preference pairs (prompt, chosen, rejected) from several models' answers
ranked by a judge, for DPO/ORPO training (docs/prefer.md)."""

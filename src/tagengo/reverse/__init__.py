"""`tagengo reverse`: instructions from natural monolingual text (the fragment is the answer)."""

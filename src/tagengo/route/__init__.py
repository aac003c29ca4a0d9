"""Per-language teacher routing: judge a pilot sample per language, send each language to its best teacher."""

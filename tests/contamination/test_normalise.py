from tagengo.contamination.normalise import exact_text, normalise


def test_exact_text_strips_only_the_ends():
    assert exact_text("  Why is the sky blue?\n") == "Why is the sky blue?"
    assert exact_text("Why is the  sky blue?") != exact_text("Why is the sky blue?")


def test_normalise_folds_case_width_and_punctuation():
    assert normalise("Who is the YOUNGEST?!") == "who is the youngest"
    assert normalise("who   is\tthe\nyoungest") == "who is the youngest"
    assert normalise("Ｐｙｔｈｏｎ") == "python"  # full-width (NFKC)
    assert normalise("ﾍﾞﾝ") == "ベン"  # half-width katakana and its voiced mark (NFKC)
    assert normalise("Straße") == normalise("STRASSE")  # case folding, not lower()
    assert normalise("a_b-c") == "a b c"  # the underscore is punctuation here


def test_normalise_keeps_words_order_and_combining_marks():
    assert normalise("Is Java faster than Python?") != normalise("Is Python faster than Java?")
    # A virama (Mn) and a Thai tone mark stay: they are part of the word, not separators.
    assert normalise("क्षि") == "क्षि"
    assert normalise("ก่อน") == "ก่อน"

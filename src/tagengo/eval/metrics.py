"""The metrics of tagengo's task groups, as lm-eval calls them.

lm-eval computes every number; these functions are what its task configs name (through the
``tagengo_eval_metrics.py`` shim written beside the generated task YAMLs, so plain
``lm_eval --include_path OUT/tasks`` computes the same numbers):

* ``rougeL``: ROUGE-L F1 (rouge-score's LCS), per item, averaged by lm-eval. rouge-score's own
  tokenizer keeps only ASCII letters and digits, which scores every German umlaut, Spanish
  accent or Japanese sentence as nothing; :func:`tokens` keeps the letters of every script
  (Unicode word characters, lower-cased) and splits scripts written without spaces (Chinese,
  Japanese, Thai, Lao, Khmer, Burmese) into characters, as multilingual ROUGE is usually run.
* ``bleu_13a`` / ``bleu_zh`` / ``bleu_char``: corpus BLEU (sacrebleu) over the ``(reference,
  prediction)`` pairs lm-eval's ``bleu`` item function passes through, with the tokenizer the
  target language needs: ``13a`` for space-separated scripts, ``zh`` for Chinese, ``char`` for
  Japanese, Korean, Thai and the other scripts without spaces (sacrebleu's ``ja-mecab`` and
  ``flores200`` tokenizers need extra packages or a download).
* ``chrf``: corpus chrF (sacrebleu, character 6-grams, beta 2), tokenizer-free.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: Scripts written without spaces between words: scored character by character.
_NO_SPACE = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u1780-\u17ff"  # Khmer
    "\u1000-\u109f"  # Burmese
)
_TOKEN = re.compile(rf"[{_NO_SPACE}]|[^\W{_NO_SPACE}]+", re.UNICODE)

#: sacrebleu tokenizer per target language (ISO 639-1); others get 13a.
BLEU_TOKENIZER: dict[str, str] = {
    "zh": "zh",
    "ja": "char",
    "ko": "char",
    "th": "char",
    "lo": "char",
    "km": "char",
    "my": "char",
}


def bleu_tokenizer(language: str) -> str:
    return BLEU_TOKENIZER.get(language, "13a")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens of any script; one token per character where words carry no spaces."""
    return _TOKEN.findall(text.lower())


class _Tokenizer:
    """What rouge-score's ``RougeScorer(tokenizer=...)`` calls."""

    def tokenize(self, text: str) -> list[str]:
        return tokens(text)


_scorer = None


def rougeL(references: Sequence[str], predictions: Sequence[str]) -> float:  # noqa: N802 (lm-eval's metric name)
    """ROUGE-L F1 of one prediction against its reference, in 0-100."""
    global _scorer
    if _scorer is None:
        from rouge_score.rouge_scorer import RougeScorer

        _scorer = RougeScorer(["rougeL"], tokenizer=_Tokenizer())
    return 100.0 * _scorer.score(references[0], predictions[0])["rougeL"].fmeasure


def _pairs(items: Sequence[Sequence[str]]) -> tuple[list[str], list[str]]:
    refs = [str(r[0] if isinstance(r, list | tuple) else r) for r, _ in items]
    preds = [str(p) for _, p in items]
    return refs, preds


def _bleu(items: Sequence[Sequence[str]], tokenize: str) -> float:
    import sacrebleu

    refs, preds = _pairs(items)
    return sacrebleu.corpus_bleu(preds, [refs], tokenize=tokenize).score


def bleu_13a(items: Sequence[Sequence[str]]) -> float:
    return _bleu(items, "13a")


def bleu_zh(items: Sequence[Sequence[str]]) -> float:
    return _bleu(items, "zh")


def bleu_char(items: Sequence[Sequence[str]]) -> float:
    return _bleu(items, "char")


def chrf(items: Sequence[Sequence[str]]) -> float:
    import sacrebleu

    refs, preds = _pairs(items)
    return sacrebleu.corpus_chrf(preds, [refs]).score

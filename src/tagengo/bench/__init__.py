"""Multilingual MT-Bench (MT-Bench-X): ``tagengo bench answer | judge | show``.

Modules, in the order data flows through them:

* FastChat's llm_judge files (questions, answers, judgments) are read and written field for
  field by ``tagengo.io.fastchat``, and bench folders (their language, references, file names)
  opened by ``tagengo.io.bench_layout``: other stages read them too;
* ``prompts``: judge_prompts.jsonl and roles; tagengo's own prompts live in
  ``tagengo/data/bench/judge_prompts.jsonl``, its question set beside them;
* ``answer``: two-turn answers from any client-layer backend (``hf_local``: a local
  transformers folder);
* ``judge``: single and pairwise judging, verdicts read as FastChat reads them (``verdicts``)
  under a judge policy (``policy``: ``fastchat`` by default, ``robust`` re-asks; the request key
  a verdict is reused by), and the language gate (``tagengo.lang.gate``; names and codes in
  ``tagengo.lang.bench_names``, on curate's table);
* ``scores`` (FastChat's show_result averages), ``stats`` (run medians, bootstrap, kappa,
  Spearman), ``agreement`` (human ratings), ``plots`` and ``show`` (tables and pictures);
* ``cli``: the click group ``command``. (The scripted judge server the tests and the benchmark
  use lives in ``tests/servers/scripted_judge.py``: test servers do not ship with the package.)
"""

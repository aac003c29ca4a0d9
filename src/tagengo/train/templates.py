"""Named chat templates (Jinja, as transformers' ``apply_chat_template`` renders them).

Used when a base model has no template of its own (a pretrained *base* model) or when a run
should train on a different format than the tokenizer's. The layouts are the published
ChatML and Llama 3 formats; the template text is our own. The special tokens they name must
exist in the tokenizer's vocabulary (ChatML's ``<|im_start|>``/``<|im_end|>`` are added when
missing, and the embedding matrix grows to match).
"""

from __future__ import annotations

CHATML = (
    "{% for m in messages %}"
    "{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

LLAMA3 = (
    "{{ bos_token }}"
    "{% for m in messages %}"
    "{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + m['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

#: name -> (Jinja template, special tokens it needs, end-of-turn token)
NAMED_TEMPLATES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "chatml": (CHATML, ("<|im_start|>", "<|im_end|>"), "<|im_end|>"),
    "llama3": (LLAMA3, ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"), "<|eot_id|>"),
}

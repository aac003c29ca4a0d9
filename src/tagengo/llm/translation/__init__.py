"""Translation as a model call: the prompt and the chatter cut from replies (``prompts``), the
spans kept verbatim (``protect``), the number check (``numbers``) and the checks every
translated message passes (``check``). `tagengo translate`, `tagengo reverse` and
`tagengo extend` share them, so they live a floor below the stages."""

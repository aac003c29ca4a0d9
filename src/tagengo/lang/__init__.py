"""Language services, one floor above the record type: the table of language codes and names
(:mod:`tagengo.lang.languages`), language identification (:mod:`tagengo.lang.langid`) and token
counting (:mod:`tagengo.lang.tokens`). Every stage asks here; none owns them."""

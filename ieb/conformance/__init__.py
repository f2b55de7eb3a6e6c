"""The conformance kit for vendors: the iStandaarden validation report (:mod:`.rapport`), retour
consistency checks (:mod:`.retourcheck`), the validation service (:mod:`.service`) and the scenario
suite against a vendor's sender (:mod:`.scenarios`, :mod:`.runner`). See docs/conformance.md."""

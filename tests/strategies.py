"""Shared hypothesis strategies (one place, as attrs keeps them), used by the property tests."""

from __future__ import annotations

import hypothesis.strategies as st

from registry.domain.validation import MAX_MODEL_NAME_LENGTH

# Names mix the troublesome with the ordinary: dots, unicode, spaces, quotes, backslashes, reserved-looking words.
model_names = st.one_of(
    st.sampled_from(["fraud", "churn", "a", "..", ".hidden", "é✓", "with space", "quote'd", "back\\slash", "LATEST"]),
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="/:"),
        min_size=1,
        max_size=20,
    ).filter(lambda s: s.strip() and len(s) <= MAX_MODEL_NAME_LENGTH),
)

alias_names = st.from_regex(r"[A-Za-z_\-][A-Za-z0-9_\-]{0,12}", fullmatch=True).filter(
    lambda a: a.lower() != "latest" and not (a[:1] in "vV" and a[1:].isdigit())
)

stages = st.sampled_from(["None", "Staging", "Production", "Archived", "staging", "PRODUCTION", "archived", "none"])

tag_keys = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=30).filter(
    lambda s: s.strip()
)

tag_values = st.text(max_size=50)

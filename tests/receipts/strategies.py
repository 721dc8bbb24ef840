"""Hypothesis strategies for the text that merchants and operators put on receipts."""

from __future__ import annotations

from hypothesis import strategies as st

# ASCII, common Chinese characters, full-width punctuation and a few symbols that
# screens and printers count differently (¥, é, ＡＢ, ideographic space).
MIXED_TEXT_CHARACTERS = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    st.sampled_from("（）：，。、；！？《》【】¥éＡＢ\u3000"),
)

mixed_text = st.text(MIXED_TEXT_CHARACTERS, min_size=1, max_size=80)
merchant_names = mixed_text.filter(lambda name: name.strip() != "")

"""Lines of a slip (settlement, reversal failure): a bilingual label, its value to the right."""

from __future__ import annotations

from pospay.receipts.columns import Measure, spread, wrap
from pospay.receipts.compose import PrintLine
from pospay.receipts.layout import Label, Style

# The least number of spaces between a label and its value on one line.
_GAP = 2


def label_lines(label: Label, width: int, measure: Measure) -> list[str]:
    """A bilingual label on one line if it fits, else Chinese then English, wrapped."""
    joined = f"{label.zh} {label.en}"
    if measure(joined) <= width:
        return [joined]
    return wrap(label.zh, width, measure) + wrap(label.en, width, measure)


def field_lines(
    label: Label, value: str, width: int, measure: Measure, style: Style = Style.NORMAL
) -> list[PrintLine]:
    """A label with its value right-aligned, the value on a line of its own if it does not
    fit beside the label (as it is, spacing kept), on lines of its own if it is long."""
    texts = label_lines(label, width, measure)
    if measure(texts[-1]) + _GAP + measure(value) <= width:
        texts[-1] = spread(texts[-1], value, width, measure)
    elif measure(value) <= width:
        texts.append(spread("", value, width, measure))
    else:
        texts += [spread("", line, width, measure) for line in wrap(value, width, measure)]
    return [PrintLine(text, style) for text in texts]

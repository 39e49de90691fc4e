"""The text of an HTML fragment as a post reader wants it: one line per paragraph, list item or
table row, so that a list of routes keeps each route with its own price.

The tree is walked with an explicit stack, never by recursion or by editing it, so a fragment
nested thousands of elements deep costs what a flat one of the same size costs.
"""

from __future__ import annotations

from bs4 import BeautifulSoup, CData, NavigableString, Tag

#: Elements that start a new line.
BLOCKS = frozenset({"p", "li", "br", "div", "tr", "blockquote", "dd", "dt", "h1", "h2", "h3",
                    "h4", "h5", "h6", "section", "article", "table", "ul", "ol"})  # fmt: skip
#: Elements whose text is not the post's.
HIDDEN = frozenset({"script", "style", "template", "noscript"})


def plain_text(html: str) -> str:
    """The text of ``html``, blank lines and runs of spaces removed."""
    soup = BeautifulSoup(html or "", "lxml")
    parts: list[str] = []
    stack: list[tuple[object, bool]] = [(soup, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            parts.append("\n")
        elif isinstance(node, Tag):
            if node.name in HIDDEN:
                continue
            if node.name in BLOCKS:
                parts.append("\n")
                stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.contents))
        elif type(node) in (NavigableString, CData):
            parts.append(str(node))
    lines = (" ".join(line.split()) for line in "".join(parts).splitlines())
    return "\n".join(line for line in lines if line)

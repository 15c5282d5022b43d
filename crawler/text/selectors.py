"""Per-site CSS/XPath selectors, as written in a source's ``[sources.selectors]`` table.

A value is XPath when it starts with ``/``, ``(`` or ``xpath:``; otherwise CSS
(``css:`` may be written to be explicit). Selectors are compiled once and reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cssselect import GenericTranslator, SelectorError
from lxml import etree

__all__ = ["Selector", "compile_selector"]

_CSS = GenericTranslator()


@dataclass(frozen=True)
class Selector:
    source: str
    xpath: etree.XPath

    def texts(self, tree: etree._Element) -> list[str]:
        """The text of every match: element text content, or the string value of an
        attribute/text node."""
        out: list[str] = []
        result = self.xpath(tree)
        if not isinstance(result, list):
            result = [result]
        for node in result:
            if isinstance(node, etree._Element):
                text = " ".join(t.strip() for t in node.itertext() if t.strip())
            else:
                text = str(node).strip()
            if text:
                out.append(text)
        return out


@lru_cache(maxsize=256)
def compile_selector(spec: str) -> Selector:
    """Compile ``spec``; raises ``ValueError`` naming what was expected."""
    expr = spec.strip()
    try:
        if expr.startswith("xpath:"):
            xpath = expr[len("xpath:") :].strip()
        elif expr.startswith(("/", "(")):
            xpath = expr
        else:
            css = expr.removeprefix("css:").strip()
            pseudo = None
            for suffix in ("::text", "::attr("):
                if suffix in css:
                    css, _, pseudo = css.partition("::")
            xpath = _CSS.css_to_xpath(css)
            if pseudo == "text":
                xpath += "//text()"
            elif pseudo and pseudo.startswith("attr("):
                xpath += "/@" + pseudo[5:].rstrip(")")
        return Selector(spec, etree.XPath(xpath))
    except (SelectorError, etree.XPathSyntaxError) as exc:
        raise ValueError(f"expected a valid CSS or XPath selector, got {spec!r} ({exc})") from None

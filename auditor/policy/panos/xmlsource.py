"""A PAN-OS configuration file read safely: a regular file within the ruleset limits, UTF-8,
parsed by defusedxml (no DTD, no entities), nesting and entries bounded, every element keeping
the line it started on so that a refusal can name it."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from auditor.documents.yamlsource import read_bytes
from auditor.errors import InputError, Problem

MAX_BYTES = 64 * 1024 * 1024  # as for the other ruleset dumps
MAX_ENTRIES = 1_000_000  # <entry> elements, counted before parsing
MAX_DEPTH = 64
LINE = " line"  # an attribute name no XML document can hold
_ENTRY = re.compile(rb"<entry[\s>/]")
_CONFIG = re.compile(r"<config[\s>]")


def looks_like_panos(text: str) -> bool:
    """XML whose first element is `<config ...>`, or `<response ...>` around one (the API's
    `show config running`)."""
    head = text.lstrip("\ufeff \t\r\n")
    if not head.startswith("<"):
        return False
    return _CONFIG.search(text[:4096]) is not None


def _track_lines(parser: DefusedXMLParser, builder: TreeBuilder, source: str) -> None:
    """Every element keeps the line it starts on (attribute LINE), and nesting is bounded:
    expat's element handlers go straight to the tree builder (defusedxml's DTD and entity
    handlers stay as they are)."""
    expat = parser.parser
    start, end = builder.start, builder.end
    depth = 0

    def on_start(tag: str, attributes: list[str]) -> None:
        nonlocal depth
        depth += 1
        line = expat.CurrentLineNumber
        if depth > MAX_DEPTH:
            message = f"nested deeper than {MAX_DEPTH} elements (no PAN-OS configuration is)"
            raise InputError([Problem(source, line, "config", message)])
        attrib = dict(zip(attributes[::2], attributes[1::2], strict=True))
        attrib[LINE] = str(line)
        start("{" + tag if "}" in tag else tag, attrib)

    def on_end(tag: str) -> None:
        nonlocal depth
        depth -= 1
        end("{" + tag if "}" in tag else tag)

    expat.StartElementHandler = on_start
    expat.EndElementHandler = on_end


def line_of(element: Element) -> int:
    return int(element.get(LINE, "0"))


def read_xml(path: Path) -> Element:
    """The `<config>` element of a PAN-OS configuration file."""
    display = str(path)
    raw = read_bytes(path, display, MAX_BYTES, "a PAN-OS configuration")
    return parse_xml(raw, display)


def parse_xml(raw: bytes, display: str) -> Element:
    for count, found in enumerate(_ENTRY.finditer(raw), 1):
        if count > MAX_ENTRIES:
            line = raw.count(b"\n", 0, found.start()) + 1
            message = f"more than {MAX_ENTRIES} entries in one file (no firewall holds as many)"
            raise InputError([Problem(display, line, "config", message)])
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError([Problem(display, line, "config", "not UTF-8 text")]) from None
    builder = TreeBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    _track_lines(parser, builder, display)
    try:
        parser.feed(raw)
        root = parser.close()
    except ParseError as exc:
        line = exc.position[0] if exc.position else 1
        message = f"not well-formed XML ({str(exc).split(':')[0]})"
        raise InputError([Problem(display, line, "config", message)]) from None
    except DefusedXmlException as exc:
        line = parser.parser.CurrentLineNumber
        message = f"{type(exc).__name__}: a DTD or entity (a PAN-OS configuration has none)"
        raise InputError([Problem(display, line, "config", message)]) from None
    config = root if root.tag == "config" else root.find("result/config")
    if config is None:
        message = f"<{root.tag}> holds no <config> (expected PAN-OS configuration XML)"
        raise InputError([Problem(display, line_of(root), "config", message)])
    return config

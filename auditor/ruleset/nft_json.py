"""The items of an `nft -j list ruleset` document, each with the line it starts on.

A listing with sets of a million elements is tens of megabytes on one line. What `nft -j`
writes (no backslash escapes, no 65-digit number, one `nftables` key) is checked in one pass
over the text with numpy: the nesting depth outside strings and where each item of the array
starts. Anything else takes the general path (`documents.jsonsource`: bounded parsing with
every check) and each item is decoded again to find its line. Both give the same items.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

from auditor.documents.jsonsource import MAX_DEPTH, MAX_NUMBER_DIGITS, parse_json
from auditor.errors import InputError, Problem
from auditor.ruleset.nft_shape import item_problem

_LONG_NUMBER = re.compile(rf"[0-9]{{{MAX_NUMBER_DIGITS + 1}}}")
# JSON allows these raw inside strings (the C0 controls it does not); a listing never holds one.
_RAW_CONTROL = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _refuse_constant(text: str) -> object:
    raise ValueError(text)


_PLAIN = json.JSONDecoder(parse_constant=_refuse_constant)


def items_with_lines(text: str, source: str) -> list[tuple[int, dict[str, object]]]:
    """The objects of the top-level `nftables` array, each with the line it starts on."""
    fast = _fast_items(text)
    if fast is not None:
        out = []
        for line, item in fast:
            problem = _shape(item, walk=False)
            if problem:
                raise InputError([Problem(source, line, "nft", problem)])
            out.append((line, item))
        return out
    return _general_items(text, source)


def _shape(item: object, walk: bool) -> str:
    if not isinstance(item, dict) or len(item) != 1:
        return "each item holds exactly one object"
    return item_problem(item, walk_strings=walk)


def _fast_items(text: str) -> list[tuple[int, dict[str, object]]] | None:
    """None when the text is not plainly what nft writes (the general path decides)."""
    if "\\" in text or text.count('"nftables"') != 1:
        return None
    if _LONG_NUMBER.search(text) or _RAW_CONTROL.search(text):
        return None
    import numpy as np  # noqa: PLC0415 - numpy (via pandas) only when an nft listing is read

    encoded = text.encode("utf-8")
    if len(encoded) != len(text):
        return None  # non-ASCII: offsets of bytes and characters differ; the general path
    raw = np.frombuffer(encoded, dtype=np.uint8)
    step = np.zeros(256, dtype=np.int8)
    step[[ord("["), ord("{")]] = 1
    step[[ord("]"), ord("}")]] = -1
    # Without escapes every quote opens or closes a string: brackets count where the number of
    # quotes before them is even. Only bracket positions are kept (a few per element).
    inside = np.bitwise_xor.accumulate(raw == ord('"'))
    at = np.flatnonzero(step[raw] != 0)
    at = at[~inside[at]]
    del inside
    moves = step[raw[at]]
    depth = np.cumsum(moves, dtype=np.int32)
    if len(depth) == 0 or int(depth.max()) > MAX_DEPTH:
        return None
    # Items open at depth 3: the outer object is 1, the `nftables` array 2.
    starts = at[(depth == 3) & (moves == 1)]
    newlines = np.flatnonzero(raw == ord("\n"))
    lines = np.searchsorted(newlines, starts) + 1
    del raw, at, moves, depth, starts, newlines, encoded
    try:
        document = _PLAIN.decode(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or list(document) != ["nftables"]:
        return None
    items = document["nftables"]
    if not isinstance(items, list) or len(lines) != len(items):
        return None  # an item that is not an object: the general path says which
    return [(int(line), item) for line, item in zip(lines, items, strict=True)]


def _general_items(text: str, source: str) -> list[tuple[int, dict[str, object]]]:
    try:
        document = parse_json(text, source)  # bounded: depth, number length, no NaN
    except InputError as exc:
        raise InputError([_nft_problem(p) for p in exc.problems]) from None
    if not isinstance(document, dict) or not isinstance(document.get("nftables"), list):
        raise InputError([Problem(source, 1, "nft", "expected an object with an 'nftables' array")])
    start = _array_start(text, source)
    decoder = json.JSONDecoder()
    out: list[tuple[int, dict[str, object]]] = []
    at = start + 1
    for item in document["nftables"]:
        while text[at] in " \t\r\n,":
            at += 1
        line = text.count("\n", 0, at) + 1
        _, at = decoder.raw_decode(text, at)
        problem = _shape(item, walk=True)
        if problem:
            raise InputError([Problem(source, line, "nft", problem)])
        out.append((line, item))
    return out


def _nft_problem(problem: Problem) -> Problem:
    message = problem.message.replace("not valid JSON:", "not JSON:", 1)
    return replace(problem, field="nft", message=message.replace("an auditor document", "nft -j"))


def _array_start(text: str, source: str) -> int:
    """Where the top-level `nftables` array opens: the keys of the outer object are walked in
    order (the key may come after others, and a second `nftables` key is refused: which one
    nft would read is not for us to guess)."""
    decoder = json.JSONDecoder()
    at = text.index("{") + 1
    found = -1
    while True:
        at = _skip(text, at)
        if text[at] == "}":
            return found
        key, at = decoder.raw_decode(text, at)
        at = _skip(text, at) + 1  # the colon
        at = _skip(text, at)
        if key == "nftables":
            if found >= 0:
                line = text.count("\n", 0, at) + 1
                raise InputError([Problem(source, line, "nft", "the 'nftables' key appears twice")])
            found = at
        _, at = decoder.raw_decode(text, at)
        at = _skip(text, at)
        if text[at] == ",":
            at += 1


def _skip(text: str, at: int) -> int:
    while text[at] in " \t\r\n":
        at += 1
    return at

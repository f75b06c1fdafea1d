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
from typing import Any

from auditor.documents.jsonsource import MAX_DEPTH, MAX_NUMBER_DIGITS, parse_json
from auditor.errors import InputError, Problem
from auditor.ruleset.nft_sets import PACK_MIN, Packed, Scan, element_count, pack
from auditor.ruleset.nft_shape import MAX_ELEMENTS, item_problem

# JSON allows these raw inside strings (the C0 controls it does not); a listing never holds one.
_RAW_CONTROL = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# A run of more digits than a number may have (in a string too): with every digit as "0", one
# substring search (a regular expression tries every position: 10 times slower on 60 MB).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * (MAX_NUMBER_DIGITS + 1)


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
    if "\x7f" in text or (not text.isascii() and _RAW_CONTROL.search(text)):
        return None
    try:
        encoded = text.encode("utf-8")  # offsets below are of bytes, never of characters
    except UnicodeEncodeError:
        return None
    if _LONG_RUN in encoded.translate(_DIGITS_AS_ZERO):  # a number longer than JSON allows
        return None
    import numpy as np  # noqa: PLC0415 - numpy (via pandas) only when an nft listing is read

    raw = np.frombuffer(encoded, dtype=np.uint8)
    step = np.zeros(256, dtype=np.int8)
    step[[ord("["), ord("{")]] = 1
    step[[ord("]"), ord("}")]] = -1
    tracked = step != 0
    tracked[ord(",")] = True  # commas: the separators of set elements
    # Without escapes every quote opens or closes a string: brackets count where the number of
    # quotes before them is even. Only bracket and comma positions are kept.
    quote = raw == ord('"')
    quotes = np.flatnonzero(quote)
    inside = np.bitwise_xor.accumulate(quote)
    del quote
    if np.any(inside[np.flatnonzero(raw < 0x20)]):
        return None  # a raw tab or line break in a string is no JSON: the general path says so
    at = np.flatnonzero(tracked[raw])
    at = at[~inside[at]]
    moves = step[raw[at]]
    depth = np.cumsum(moves, dtype=np.int32)
    if len(depth) == 0 or int(depth.max()) > MAX_DEPTH:
        return None
    # Items open at depth 3: the outer object is 1, the `nftables` array 2.
    starts = at[(depth == 3) & (moves == 1)]
    newlines = np.flatnonzero(raw == ord("\n"))
    lines = np.searchsorted(newlines, starts) + 1
    del newlines
    packed = _packed_sets(Scan(encoded, raw, inside, quotes), (at, moves, depth), starts)
    del raw, inside, at, moves, depth, quotes
    try:
        document = _PLAIN.decode(_without(encoded, packed).decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or list(document) != ["nftables"]:
        return None
    items = document["nftables"]
    if not isinstance(items, list) or len(lines) != len(items):
        return None  # an item that is not an object: the general path says which
    for number, (item, _, _, elements) in enumerate(packed):
        body = items[item].get("set") if isinstance(items[item], dict) else None
        if isinstance(body, dict) and body.get("elem") == _mark(number):
            body["elem"] = elements
    return [(int(line), item) for line, item in zip(lines, items, strict=True)]


_ELEM_KEY = re.compile(rb'"elem"[ \t\n\r]*:[ \t\n\r]*\[')
_SET_ITEM = re.compile(rb'\{[ \t\n\r]*"set"[ \t\n\r]*:')


def _packed_sets(
    scan: Scan, brackets: tuple[Any, Any, Any], starts: Any
) -> list[tuple[int, int, int, Packed]]:
    """The `elem` arrays of named sets read into arrays (`nft_sets.pack`): per set its item,
    the brackets that enclose the array in the text, the elements. Sets with few elements,
    or elements `pack` does not read, stay in the text for `json`. `brackets`: the position,
    move (1 opens, -1 closes, 0 a comma) and depth after it of each outside strings."""
    import numpy as np  # noqa: PLC0415

    text, quotes = scan.text, scan.quotes
    at, moves, depth = brackets
    closing = at[(depth == 4) & (moves == -1)]
    commas = at[(depth == 5) & (moves == 0)]
    out: list[tuple[int, int, int, Packed]] = []
    total = 0
    for key in _ELEM_KEY.finditer(text):
        quote = int(np.searchsorted(quotes, key.start()))
        bracket = key.end() - 1
        found = int(np.searchsorted(at, bracket))
        if quote % 2 or found >= len(at) or at[found] != bracket or depth[found] != 5:
            continue  # not the key of an item's body: the decoder reads it as it is
        item = int(np.searchsorted(starts, bracket)) - 1
        end_at = int(np.searchsorted(closing, bracket))
        if item < 0 or end_at >= len(closing) or not _SET_ITEM.match(text, int(starts[item])):
            continue
        end = int(closing[end_at])
        if text[end] != ord("]"):
            continue
        own = commas[np.searchsorted(commas, bracket) : np.searchsorted(commas, end)]
        count = element_count(text, bracket, end, len(own))
        total += count
        if count < PACK_MIN:
            continue
        if total > MAX_ELEMENTS:  # refused by the reader at this set: not worth reading
            elements: Packed | None = Packed(text, bracket, end, count)
        else:
            elements = pack(scan, bracket, end, own)
        if elements is not None:
            out.append((item, bracket, end, elements))
    return out


def _mark(number: int) -> str:
    """A string no listing without backslashes holds: where a set's elements were."""
    return f"\\elem{number}"


def _without(text: bytes, packed: list[tuple[int, int, int, Packed]]) -> bytes:
    """The text with the element arrays of `packed` replaced by placeholders."""
    pieces = []
    last = 0
    for number, (_, start, end, _) in enumerate(packed):
        pieces += [text[last:start], json.dumps(_mark(number)).encode()]
        last = end + 1
    pieces.append(text[last:])
    return b"".join(pieces)


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

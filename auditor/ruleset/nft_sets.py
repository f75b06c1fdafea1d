"""Named nft sets at scale: a million elements read into arrays, looked up through an index.

Reading (`pack`): the `elem` array of a named set, found by the numpy pass over the listing
(`nft_json`), is read without building a JSON tree. Each element's *skeleton* (its text with
the contents of value strings removed and each number reduced to one digit) is computed with
numpy; the elements are grouped by skeleton, one element of each group is decoded with `json`
(which checks its syntax, and so every element of the group: they differ only in their values),
and the values are gathered into arrays: per part of a concatenation its form (address, number,
prefix, range) and its raw tokens. Anything else (a float, a duplicate key, an element of
options nft does not write) leaves the set to the general path, which decodes it as before.

Compiling (`compile_packed`): for the fields of the key that uses the set (addresses, ports),
the tokens become numeric columns, checked as the general path checks each element (an
address `inet_pton` accepts, a prefix length in range, a range that does not end before it
starts); where they are not, the general path decodes the set and says what is wrong.

Looking up: one field, intervals merged with numpy and bisected (`Intervals`); a
concatenation, `ConcatIndex`.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Protocol

from auditor.ruleset.model import Intervals

Span = tuple[int, int]
PACK_MIN = 256  # elements from which a named set is read into arrays
_PARTS = 4  # parts of a concatenation read into arrays (more: the general path)
_WIDE = 64  # element starts one element may cover before it is kept aside
_BIG = 1 << 62  # values at or above: object arrays (IPv6), else int64
_UNIT_MAX = 512  # characters of an element's skeleton (more: the general path)
_CHUNK = 1 << 22  # characters of the listing gathered at a time (bounds the arrays)
_GROUPS = 64  # skeletons in one chunk (more: the general path)
# Forms of one part of an element.
_NONE, _STR, _INT, _PREFIX, _RANGE_STR, _RANGE_INT, _OTHER = range(7)
_WHITESPACE = b" \t\n\r"


class _Field(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def version(self) -> int: ...


class Packed:
    """The elements of a named set as arrays (`len` is their number). Iterating decodes the
    listing's text of the set with `json`, as the general path does."""

    __slots__ = ("_end", "_start", "_text", "arity", "count", "forms", "na", "nb", "sa", "sb")

    def __init__(self, text: bytes, start: int, end: int, count: int) -> None:
        self._text, self._start, self._end, self.count = text, start, end, count
        self.arity: Any = None  # uint8 per element: 0 a plain element, k a concatenation of k
        self.forms: list[Any] = []  # per part: uint8 form per element
        self.sa: list[Any] = []  # per part: first string token (bytes array) or None
        self.sb: list[Any] = []  # second string token
        self.na: list[Any] = []  # per part: first number (int64) or None
        self.nb: list[Any] = []

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[object]:
        return iter(self.decoded())

    def decoded(self) -> list[object]:
        """The elements as `json` reads them."""
        out = json.loads(self._text[self._start : self._end + 1])
        assert isinstance(out, list)
        return out


def element_count(text: bytes, start: int, end: int, separators: int) -> int:
    """Elements of the array between brackets `start` and `end` with `separators` commas."""
    for at in range(start + 1, end):
        if text[at] not in _WHITESPACE:
            return separators + 1
    return 0


class Scan(NamedTuple):
    """The listing as the numpy pass saw it: its text (UTF-8) and bytes, where the number of
    quotes so far is odd (an opening quote and a string's contents), every quote's position."""

    text: bytes
    raw: Any
    inside: Any
    quotes: Any


def pack(scan: Scan, start: int, end: int, commas: Any) -> Packed | None:
    """The elements of the array between brackets `start` and `end` (`commas`: its own
    separators), or None: the general path."""
    import numpy as np  # noqa: PLC0415 - numpy only when a large set is read

    count = len(commas) + 1
    firsts = np.concatenate(([start + 1], commas + 1))
    lasts = np.concatenate((commas, [end]))
    chunks: list[_Chunk] = []
    at = 0
    while at < count:  # chunks of elements, so the per-character arrays stay small
        stop = int(np.searchsorted(firsts, firsts[at] + _CHUNK, side="right"))
        stop = max(stop, at + 1)
        chunk = _Chunk(scan, firsts[at:stop], lasts[at:stop])
        if not chunk.read():
            return None
        chunks.append(chunk)
        at = stop
    return _joined(Packed(scan.text, start, end, count), chunks)


def _joined(packed: Packed, chunks: list[_Chunk]) -> Packed:
    import numpy as np  # noqa: PLC0415

    width = max(len(c.forms) for c in chunks)
    for chunk in chunks:
        chunk.widen(width)
    packed.arity = np.concatenate([c.arity for c in chunks])
    packed.forms = [np.concatenate([c.forms[j] for c in chunks]) for j in range(width)]
    for name in _TOKENS:
        for j in range(width):
            columns = [getattr(c, name)[j] for c in chunks]
            if all(column is None for column in columns):
                getattr(packed, name).append(None)
                continue
            dtype = np.int64 if name in ("na", "nb") else "S1"
            filled = [
                column if column is not None else np.zeros(len(c.arity), dtype=dtype)
                for column, c in zip(columns, chunks, strict=True)
            ]
            getattr(packed, name).append(np.concatenate(filled))
    return packed


_TOKENS = ("sa", "sb", "na", "nb")


class _Chunk:
    """Consecutive elements of one set (`firsts`, `lasts`: where each starts and ends)."""

    def __init__(self, scan: Scan, firsts: Any, lasts: Any) -> None:
        import numpy as np  # noqa: PLC0415

        self.scan, self.firsts, self.lasts = scan, firsts, lasts
        self.lo, self.hi = int(firsts[0]), int(lasts[-1])
        self.seg = scan.raw[self.lo : self.hi]
        self.arity = np.zeros(len(firsts), dtype=np.uint8)
        self.forms: list[Any] = []
        self.sa: list[Any] = []
        self.sb: list[Any] = []
        self.na: list[Any] = []
        self.nb: list[Any] = []

    def widen(self, width: int) -> None:
        import numpy as np  # noqa: PLC0415

        while len(self.forms) < width:
            self.forms.append(np.zeros(len(self.firsts), dtype=np.uint8))
            for name in _TOKENS:
                getattr(self, name).append(None)

    def read(self) -> bool:
        """Group the elements by skeleton and gather each group's tokens (False: the general
        path)."""
        import numpy as np  # noqa: PLC0415

        units = self._units()
        if units is None:
            return False
        unit_at, unit_len, skeleton = units
        width = int(unit_len.max())
        if width > _UNIT_MAX or width == 0:
            return False
        rows = _gather(skeleton, unit_at, unit_len, width)
        weights = np.random.default_rng(18).integers(1, 1 << 55, width, dtype=np.int64)
        digest = rows.astype(np.int64) @ weights  # wraps around: a hash, checked below
        _, reps, group = np.unique(digest, return_index=True, return_inverse=True)
        group = group.reshape(-1)
        if len(reps) > _GROUPS or not np.array_equal(rows, rows[reps[group]]):
            return False  # many skeletons, or two with one digest: the general path
        del rows
        return all(self._group(int(rep), np.flatnonzero(group == g)) for g, rep in enumerate(reps))

    def _units(self) -> tuple[Any, Any, Any] | None:
        """Each element's skeleton: its text without the contents of value strings (keys
        stay) and all but the first digit of each number outside strings."""
        import numpy as np  # noqa: PLC0415

        seg, lo, size = self.seg, self.lo, self.hi - self.lo
        quotes = self.scan.quotes
        q = quotes[np.searchsorted(quotes, lo) : np.searchsorted(quotes, self.hi)] - lo
        key = _keys(seg, q[1::2]) if len(q) % 2 == 0 else None
        if key is None:
            return None
        opens, closes = q[0::2], q[1::2]
        self.vopens, self.vcloses = opens[~key], closes[~key]
        content = self.scan.inside[lo : self.hi] & (seg != ord('"'))
        if np.any((seg == ord("-")) & ~content):
            return None  # a sign: -0 and -5 share a skeleton, the general path refuses -5
        digit = ((seg - np.uint8(ord("0"))) < 10) & ~content
        if np.any(key):
            marks = np.zeros(size + 1, dtype=np.int8)
            marks[opens[key] + 1] = 1
            marks[closes[key]] -= 1
            content &= ~np.cumsum(marks[:size], dtype=np.int8).astype(bool)
            del marks
        follows = np.zeros(size, dtype=bool)
        follows[1:] = digit[:-1]
        run_first = digit & ~follows
        leads = np.zeros(size, dtype=bool)
        leads[:-1] = digit[1:]
        if np.any(run_first & leads & (seg == ord("0"))):
            return None  # a number with a leading zero is no JSON: the general path says so
        self.run_starts = np.flatnonzero(run_first)
        self.run_ends = np.flatnonzero(digit & ~leads) + 1
        content |= digit & follows
        del follows, leads, digit
        kept = np.flatnonzero(~content)
        del content
        skeleton = seg[kept]
        skeleton[run_first[kept]] = ord("0")
        unit_at = np.searchsorted(kept, self.firsts - lo)
        return unit_at, np.searchsorted(kept, self.lasts - lo) - unit_at, skeleton

    def _group(self, rep: int, members: Any) -> bool:
        """The tokens of the elements sharing the skeleton of element `rep`, which `json`
        decodes (its syntax, so theirs, is checked there)."""
        import numpy as np  # noqa: PLC0415

        try:
            value = json.loads(self.scan.text[int(self.firsts[rep]) : int(self.lasts[rep])])
        except (ValueError, RecursionError):
            return False
        template = _template(value)
        if template is None:
            return False
        arity, forms, tokens = template
        lo = self.lo
        string_first = np.searchsorted(self.vopens, self.firsts[members] - lo)
        number_first = np.searchsorted(self.run_starts, self.firsts[members] - lo)
        first, last = int(self.firsts[rep]) - lo, int(self.lasts[rep]) - lo
        vopens, runs = self.vopens, self.run_starts
        strings = int(np.searchsorted(vopens, last)) - int(np.searchsorted(vopens, first))
        numbers = int(np.searchsorted(runs, last)) - int(np.searchsorted(runs, first))
        kinds = [t[0] for t in tokens]
        if (kinds.count("S"), kinds.count("N")) != (strings, numbers):
            return False  # a duplicate key json dropped, a float: the general path
        self.arity[members] = arity
        self.widen(len(forms))
        s_at = n_at = 0
        for kind, part, role in tokens:
            if kind == "S":
                index = string_first + s_at
                s_at += 1
                if part >= 0:
                    opens, closes = self.vopens[index], self.vcloses[index]
                    column = _gather(self.seg, opens + 1, closes - opens - 1)
                    values = column.view(f"S{column.shape[1]}").reshape(-1)
                    self._put("s" + role, part, members, values)
            else:
                index = number_first + n_at
                n_at += 1
                if part >= 0:
                    starts, ends = self.run_starts[index], self.run_ends[index]
                    if int((ends - starts).max()) > 18:
                        return False
                    digits = _gather(self.seg, starts, ends - starts)
                    self._put("n" + role, part, members, _number(digits, ends - starts))
        for j, form in enumerate(forms):
            self.forms[j][members] = form
        return True

    def _put(self, name: str, part: int, rows: Any, values: Any) -> None:
        import numpy as np  # noqa: PLC0415

        column = getattr(self, name)[part]
        if column is None:
            column = np.zeros(len(self.firsts), dtype=values.dtype)
        elif column.dtype.kind == "S" and column.dtype.itemsize < values.dtype.itemsize:
            column = column.astype(values.dtype)
        column[rows] = values
        getattr(self, name)[part] = column


def _keys(seg: Any, closes: Any) -> Any:
    """Which strings (by closing quote) are keys: a colon follows them, after blanks."""
    import numpy as np  # noqa: PLC0415

    blank = np.zeros(256, dtype=bool)
    blank[list(_WHITESPACE)] = True
    after = closes + 1
    for _ in range(16):
        ahead = np.where(after < len(seg), seg[np.minimum(after, len(seg) - 1)], np.uint8(0))
        spaced = blank[ahead]
        if not spaced.any():
            return ahead == ord(":")
        after += spaced
    return None  # long runs of blanks: not what nft writes


def _gather(data: Any, at: Any, length: Any, width: int | None = None) -> Any:
    """Rows of `data[at : at + length]`, zero-padded to the longest (or `width`)."""
    import numpy as np  # noqa: PLC0415

    width = max(int(length.max()) if width is None else width, 1)
    padded = np.concatenate((data, np.zeros(width, dtype=np.uint8)))
    rows = np.lib.stride_tricks.sliding_window_view(padded, width)[at]
    rows[np.arange(width) >= length[:, None]] = 0
    return rows


def _number(digits: Any, length: Any) -> Any:
    import numpy as np  # noqa: PLC0415

    value = np.zeros(len(digits), dtype=np.int64)
    for column in range(digits.shape[1]):
        here = column < length
        value = np.where(here, value * 10 + (digits[:, column].astype(np.int64) - 48), value)
    return value


def _template(value: object) -> tuple[int, list[int], list[tuple[str, int, str]]] | None:
    """The element's arity, the form of each part and its value tokens in document order
    (kind S/N, part or -1 when the evaluator does not read it, role a/b); None: not one of
    the shapes read into arrays."""
    tokens: list[tuple[str, int, str]] = []
    if type(value) is not dict or "elem" not in value:
        got = _item(value, tokens)
        return None if got is None else (got[0], got[1], tokens)
    inner = value["elem"]
    if type(inner) is not dict or "val" not in inner:
        return None
    got = None
    for key, sub in value.items():  # in document order, as the tokens are
        if key != "elem":
            if not _ignored(sub, tokens):
                return None
            continue
        for inner_key, inner_sub in inner.items():
            if inner_key == "val":
                got = _item(inner_sub, tokens)
                if got is None:
                    return None
            elif not _ignored(inner_sub, tokens):
                return None
    return None if got is None else (got[0], got[1], tokens)


def _item(item: object, tokens: list[tuple[str, int, str]]) -> tuple[int, list[int]] | None:
    if type(item) is dict and "concat" in item:
        parts = item["concat"]
        if len(item) != 1 or type(parts) is not list or not 1 <= len(parts) <= _PARTS:
            return None
        forms = []
        for j, part in enumerate(parts):
            form = _part(part, j, tokens)
            if form is None:
                return None
            forms.append(form)
        return len(parts), forms
    form = _part(item, 0, tokens)
    return None if form is None else (0, [form])


def _part(part: object, j: int, tokens: list[tuple[str, int, str]]) -> int | None:
    if type(part) is str:
        tokens.append(("S", j, "a"))
        return _STR
    if type(part) is int:
        if part < 0:
            return None
        tokens.append(("N", j, "a"))
        return _INT
    if type(part) is not dict or len(part) != 1:
        return _OTHER if _ignored(part, tokens) else None
    ((key, body),) = part.items()
    prefix = key == "prefix" and type(body) is dict and list(body) == ["addr", "len"]
    if prefix and type(body["addr"]) is str and type(body["len"]) is int and body["len"] >= 0:
        tokens += [("S", j, "a"), ("N", j, "b")]
        return _PREFIX
    if key == "range" and type(body) is list and len(body) == 2:
        if all(type(v) is str for v in body):
            tokens += [("S", j, "a"), ("S", j, "b")]
            return _RANGE_STR
        if all(type(v) is int and v >= 0 for v in body):
            tokens += [("N", j, "a"), ("N", j, "b")]
            return _RANGE_INT
    return _OTHER if _ignored(part, tokens) else None


def _ignored(value: object, tokens: list[tuple[str, int, str]]) -> bool:
    """Value tokens not read (an element's timeout, comment, counter): False when `value`
    holds a number the skeleton does not tell apart (a float, a negative number)."""
    if type(value) is str:
        tokens.append(("S", -1, ""))
    elif type(value) is int:
        if value < 0:
            return False
        tokens.append(("N", -1, ""))
    elif type(value) is dict:
        return all(_ignored(v, tokens) for v in value.values())
    elif type(value) is list:
        return all(_ignored(v, tokens) for v in value)
    elif value is not None and type(value) is not bool:
        return False
    return True


def compile_packed(packed: Packed, fields: Sequence[_Field]) -> Columns | None:
    """The elements as numeric columns for a key of `fields` (addresses, ports), or None:
    the general path decodes the set (another field, or an element it refuses)."""
    import numpy as np  # noqa: PLC0415

    arity = len(fields) if len(fields) > 1 else 0
    if packed.count < PACK_MIN or len(packed.forms) < len(fields):
        return None
    plain = packed.arity == 0
    if arity == 0 and not np.all(plain | (packed.arity == 1)):
        return None
    if arity and not np.all(packed.arity == arity):
        return None
    columns = []
    for j, field in enumerate(fields):
        got = _column(packed, j, field)
        if got is None:
            return None
        columns.append(got)
    return Columns(columns)


def _column(packed: Packed, j: int, field: _Field) -> tuple[Any, Any] | None:
    import numpy as np  # noqa: PLC0415

    forms = packed.forms[j]
    present = np.unique(forms)
    if field.kind == "port":
        if not set(present.tolist()) <= {_INT, _RANGE_INT}:
            return None
        lo = packed.na[j]
        hi = np.where(forms == _RANGE_INT, packed.nb[j], lo) if packed.nb[j] is not None else lo
        if int(hi.max()) > 65535 or np.any(lo > hi):
            return None
        return lo, hi
    if field.kind != "addr" or not set(present.tolist()) <= {_STR, _PREFIX, _RANGE_STR}:
        return None
    bits = 32 if field.version == 4 else 128
    first = _addresses(packed.sa[j], field.version)
    if first is None:
        return None
    lo = hi = first
    if _RANGE_STR in present:
        second = _addresses(packed.sb[j], field.version, forms == _RANGE_STR)
        if second is None:
            return None
        hi = np.where(forms == _RANGE_STR, second, first)
    if _PREFIX in present:
        is_prefix = forms == _PREFIX
        length = packed.nb[j]
        if np.any(is_prefix & (length > bits)):
            return None
        if bits == 32:
            host = (np.int64(1) << (32 - np.where(is_prefix, length, 32))) - 1
            lo = np.where(is_prefix, first & ~host, lo)
            hi = np.where(is_prefix, first | host, hi)
        else:
            lo, hi = lo.copy(), hi.copy()
            for at in np.flatnonzero(is_prefix).tolist():
                span = (1 << (128 - int(length[at]))) - 1
                lo[at], hi[at] = first[at] & ~span, first[at] | span
    if np.any(lo > hi):
        return None
    return lo, hi


def _addresses(tokens: Any, version: int, rows: Any = None) -> Any:
    """The addresses of `tokens` (bytes), or None when one is not an address (for `rows`
    only when given; the others are 0)."""
    import numpy as np  # noqa: PLC0415

    if tokens is None:
        return None
    if version == 4:
        return _ipv4(tokens, rows)
    out = np.zeros(len(tokens), dtype=object)
    family = socket.AF_INET6
    texts = tokens.tolist()
    wanted = range(len(texts)) if rows is None else np.flatnonzero(rows).tolist()
    try:
        for at in wanted:
            out[at] = int.from_bytes(socket.inet_pton(family, texts[at].decode()), "big")
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return out


def _ipv4(tokens: Any, rows: Any = None) -> Any:
    """Dotted quads as `inet_pton` reads them (four decimal octets 0-255, no leading zero),
    vectorised; None when one is not."""
    import numpy as np  # noqa: PLC0415

    width = tokens.dtype.itemsize
    chars = tokens.view(np.uint8).reshape(len(tokens), width)
    if width > 15:
        if np.any(chars[:, 15:] != 0 if rows is None else chars[rows, 15:] != 0):
            return None
        chars = chars[:, :15]
    value = np.zeros(len(tokens), dtype=np.int64)
    octet = np.zeros(len(tokens), dtype=np.int64)
    digits = np.zeros(len(tokens), dtype=np.int64)
    dots = np.zeros(len(tokens), dtype=np.int64)
    bad = np.zeros(len(tokens), dtype=bool)
    for column in range(chars.shape[1]):
        ch = chars[:, column]
        is_digit = (ch >= ord("0")) & (ch <= ord("9"))
        is_dot = ch == ord(".")
        bad |= ~(is_digit | is_dot | (ch == 0))
        bad |= is_digit & (digits > 0) & (octet == 0)  # a leading zero
        octet = np.where(is_digit, octet * 10 + ch.astype(np.int64) - ord("0"), octet)
        digits += is_digit
        bad |= octet > 255
        bad |= is_dot & (digits == 0)
        value = np.where(is_dot, value * 256 + octet, value)
        octet = np.where(is_dot, 0, octet)
        digits = np.where(is_dot, 0, digits)
        dots += is_dot
    bad |= (digits == 0) | (dots != 3)
    if np.any(bad if rows is None else bad & rows):
        return None
    return value * 256 + octet


class Columns(Sequence[tuple[Span, ...]]):
    """The elements of a compiled set: per field the first and last values (numpy arrays);
    indexing and iterating give them as the general path's tuples."""

    __slots__ = ("columns",)

    def __init__(self, columns: Sequence[tuple[Any, Any]]) -> None:
        self.columns = tuple(columns)

    def __len__(self) -> int:
        return len(self.columns[0][0])

    def __getitem__(self, at: int) -> tuple[Span, ...]:  # type: ignore[override]
        return tuple((int(lo[at]), int(hi[at])) for lo, hi in self.columns)

    def __iter__(self) -> Iterator[tuple[Span, ...]]:
        lists = [zip(lo.tolist(), hi.tolist(), strict=True) for lo, hi in self.columns]
        return zip(*lists, strict=True)

    def intervals(self) -> Intervals:
        """One field: the elements as merged, sorted intervals."""
        import numpy as np  # noqa: PLC0415

        ((lo, hi),) = self.columns
        if lo.dtype == object:
            return Intervals(zip(lo.tolist(), hi.tolist(), strict=True))
        order = np.lexsort((hi, lo))
        lo, hi = lo[order], hi[order]
        reach = np.maximum.accumulate(hi)
        starts = np.ones(len(lo), dtype=bool)
        starts[1:] = lo[1:] > reach[:-1] + 1
        firsts = np.flatnonzero(starts)
        return Intervals.merged(lo[firsts].tolist(), np.maximum.reduceat(hi, firsts).tolist())


def columns_of(elements: Sequence[tuple[Span, ...]]) -> Columns:
    """Numeric elements (tuples of spans, the general path's) as columns."""
    import numpy as np  # noqa: PLC0415

    out = []
    for j in range(len(elements[0])):
        lo = [e[j][0] for e in elements]
        hi = [e[j][1] for e in elements]
        big = max(hi) >= _BIG or min(lo) < 0
        dtype: Any = object if big else np.int64
        out.append((np.array(lo, dtype=dtype), np.array(hi, dtype=dtype)))
    return Columns(out)


class ConcatIndex:
    """An index over the elements of a concatenated set (`ip daddr . tcp dport @s`), so a
    packet is looked up, not compared with each of a million elements: the elements sorted
    by the start of their first field, with the running maximum of its end, give the few
    whose first field can hold the value (those starting inside one element's span). An
    element that covers the starts of very many others (a `0.0.0.0/0 . 22` among narrow
    ones) is kept aside and tested for every packet. `hit(values)` for numeric values."""

    __slots__ = ("_capped", "_first", "_reach", "_rest", "_wide")

    def __init__(self, columns: Columns) -> None:
        import numpy as np  # noqa: PLC0415

        (lo, hi), rest = columns.columns[0], columns.columns[1:]
        order = np.argsort(lo, kind="stable")
        lo, hi = lo[order], hi[order]
        covered = np.searchsorted(lo, hi, side="right") - np.searchsorted(lo, lo, side="right")
        wide = covered > _WIDE
        narrow = ~wide
        others = [(r[0][order], r[1][order]) for r in rest]
        self._wide = [(lo[wide], hi[wide]), *((r[0][wide], r[1][wide]) for r in others)]
        self._first = (lo[narrow], hi[narrow])
        self._reach = np.maximum.accumulate(hi[narrow]) if np.any(narrow) else hi[narrow]
        self._rest = [(r[0][narrow], r[1][narrow]) for r in others]
        # int64 columns: a value above every bound is compared as _BIG (no overflow)
        self._capped = [c[0].dtype != object for c in columns.columns]

    def hit(self, values: Sequence[int]) -> bool:
        values = [
            _BIG if capped and value >= _BIG else value
            for capped, value in zip(self._capped, values, strict=True)
        ]
        first = values[0]
        lo, hi = self._first
        stop = int(lo.searchsorted(first, side="right"))
        start = int(self._reach.searchsorted(first, side="left"))
        if stop - start > 8:
            ok = hi[start:stop] >= first
            for (rlo, rhi), value in zip(self._rest, values[1:], strict=True):
                ok &= (rlo[start:stop] <= value) & (rhi[start:stop] >= value)
            if ok.any():
                return True
        else:  # the usual few candidates: compared one by one, cheaper than arrays
            for at in range(start, stop):
                if hi[at] >= first and all(
                    rlo[at] <= value <= rhi[at]
                    for (rlo, rhi), value in zip(self._rest, values[1:], strict=True)
                ):
                    return True
        wlo, whi = self._wide[0]
        if len(wlo) == 0:
            return False
        ok = (wlo <= first) & (whi >= first)
        for (rlo, rhi), value in zip(self._wide[1:], values[1:], strict=True):
            ok &= (rlo <= value) & (rhi >= value)
        return bool(ok.any())

# SPDX-License-Identifier: GPL-3.0-or-later
"""Orrery satellite glue: runs one analyst script over a query's rows.

Embedded in orrery-satellite (a GResource) and run by its C side, which
receives the job from the engine, calls run_job() and sends the result. The
per-row loops live in the builtin module _orrery (orr-satellite-module.c).

Input: InputDataSet (the name the engine gives) is a pandas DataFrame with
the query's columns in order, their names as given (duplicates kept) and a
RangeIndex. Column types:

    Orrery type   pandas column                    NULL becomes
    -----------   ------------------------------   --------------------------
    BOOL          bool                             nullable "boolean", <NA>
    INT16/32/64   int16/int32/int64                nullable Int16/32/64, <NA>
    FLOAT32/64    float32/float64                  NaN
    DECIMAL       float64 = unscaled / 10**scale   NaN
    TEXT          object of str                    None
    BINARY        object of bytes                  None
    DATE          object of datetime.date          None
    TIME          object of datetime.time          None
    TIMESTAMP     datetime64[ns]                   NaT
                  object of datetime.datetime      None
                  when a value lies outside 1677-09-21 .. 2262-04-11

The C side converts each batch as it arrives (InputBuilder), while the
engine fetches the next one: fixed-width columns are copied into buffers
that grow by doubling and are trimmed in place at the end (no final
concatenation), text and binary values are decoded into object arrays.

Output: OutputDataSet must be a pandas DataFrame; its index is ignored and
its column labels become names with str(). Column types:

    pandas column                              Orrery type
    ----------------------------------------   -------------------------
    bool, "boolean"                            BOOL
    int8, int16, uint8 (and Int8, ...)         INT16
    int32, uint16                              INT32
    int64, uint32, uint64 when it fits         INT64
    float16, float32                           FLOAT32 (NaN is NULL)
    float64                                    FLOAT64 (NaN is NULL)
    datetime64 (tz-aware: in UTC)              TIMESTAMP, microseconds
    object/string, by their non-NULL values:
      str -> TEXT; bytes, bytearray, memoryview -> BINARY;
      datetime.datetime, pd.Timestamp -> TIMESTAMP; datetime.date -> DATE;
      datetime.time -> TIME; bool -> BOOL; int -> INT64;
      float, Decimal, ints mixed with floats -> FLOAT64;
      only None/NaN/NA/NaT -> TEXT of NULLs
    category                                   as the values it holds

NaN cannot travel as a value: a NaN float is a NULL. +/-inf travel as they
are. Other dtypes (timedelta, complex, period, interval, ...) and columns
mixing kinds of values are errors that name the column.

Parameters are bound as variables (a leading "@" is dropped): INT* -> int,
FLOAT*/DECIMAL -> float, TEXT -> str, BOOL -> bool, BINARY -> bytes, DATE ->
datetime.date, TIME -> datetime.time, TIMESTAMP -> datetime.datetime, NULL ->
None. Output parameters are read back from the same variables.
"""

import builtins
import datetime
import decimal
import faulthandler
import gc
import io
import linecache
import math
import os
import sys
import traceback
import types

import numpy as np
import pandas as pd

import _orrery


def _(message):
    """Orrery's message in the user's language: the catalog was loaded by
    the zygote before any sandbox (_orrery.gettext)."""
    return _orrery.gettext(message)

SCRIPT_FILENAME = "<script>"

BOOL = _orrery.BOOL
INT16 = _orrery.INT16
INT32 = _orrery.INT32
INT64 = _orrery.INT64
FLOAT32 = _orrery.FLOAT32
FLOAT64 = _orrery.FLOAT64
DECIMAL = _orrery.DECIMAL
TEXT = _orrery.TEXT
BINARY = _orrery.BINARY
DATE = _orrery.DATE
TIME = _orrery.TIME
TIMESTAMP = _orrery.TIMESTAMP

_NUMPY_TYPES = {
    BOOL: np.bool_,
    INT16: np.int16,
    INT32: np.int32,
    INT64: np.int64,
    FLOAT32: np.float32,
    FLOAT64: np.float64,
    DECIMAL: np.int64,
    DATE: np.int32,
    TIME: np.int64,
    TIMESTAMP: np.int64,
}

_INT_RANGES = {
    INT16: ("int16", -(2**15), 2**15 - 1),
    INT32: ("int32", -(2**31), 2**31 - 1),
    INT64: ("int64", -(2**63), 2**63 - 1),
}

# What an output parameter's declared type is called in messages.
_DECLARED = {
    BOOL: "bool",
    INT16: "int",
    INT32: "int",
    INT64: "int",
    FLOAT32: "float",
    FLOAT64: "float",
    DECIMAL: "decimal",
    TEXT: "text",
    BINARY: "binary",
    DATE: "date",
    TIME: "time",
    TIMESTAMP: "timestamp",
}

_EPOCH_DATE = datetime.date(1970, 1, 1)
_EPOCH = datetime.datetime(1970, 1, 1)
_ONE_US = datetime.timedelta(microseconds=1)
_US_PER_DAY = 86_400_000_000
# Microsecond timestamps whose nanoseconds fit in datetime64[ns] (whose
# int64 minimum is NaT).
_NS_MIN_US = -(2**63 - 1) // 1000 + 1
_NS_MAX_US = (2**63 - 1) // 1000
_NAT = np.iinfo(np.int64).min

# Arguments: NA, NaT, np.integer, np.floating, np.bool_, np.datetime64, Decimal.
_orrery.setup(pd.NA, pd.NaT, np.integer, np.floating, np.bool_, np.datetime64, decimal.Decimal)

try:
    faulthandler.enable(sys.__stderr__)
except (AttributeError, ValueError, OSError):
    pass


class _OrreryError(Exception):
    kind = "OrreryError"

    def reply(self):
        return ("error", self.kind, str(self), "", 0)


class _InputError(_OrreryError):
    kind = "OrreryInputError"


class _OutputError(_OrreryError):
    kind = "OrreryOutputError"


# ------------------------------------------------------------ streams


class _BinaryStream(io.RawIOBase):
    """sys.stdout.buffer: bytes are shown as UTF-8 text."""

    def __init__(self, fileno):
        super().__init__()
        self._fileno = fileno

    def writable(self):
        return True

    def write(self, data):
        data = bytes(data)
        _orrery.write(self._fileno, data.decode("utf-8", "replace"))
        return len(data)

    def flush(self):
        _orrery.flush()


class _Stream(io.TextIOBase):
    """sys.stdout or sys.stderr of the script: text goes to the engine as
    STDOUT or STDERR messages while the script runs."""

    def __init__(self, fileno, name):
        super().__init__()
        self._fileno = fileno
        self._name = name
        self._buffer = _BinaryStream(fileno)

    @property
    def name(self):
        return self._name

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "backslashreplace"

    @property
    def buffer(self):
        return self._buffer

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        _orrery.write(self._fileno, text)
        return len(text)

    def flush(self):
        _orrery.flush()


# ------------------------------------------------------------ input


def _fixed_values(parts, dtype):
    views = [np.frombuffer(mapping, dtype, n, col[1]) for mapping, n, col in parts]
    if not views:
        return np.empty(0, dtype)
    if len(views) == 1:
        return views[0]
    return np.concatenate(views)


def _null_mask(parts):
    """True where a row is NULL, or None when no row is."""
    if not any(col[0] >= 0 for _, _, col in parts):
        return None
    masks = []
    for mapping, n, col in parts:
        if col[0] < 0:
            masks.append(np.zeros(n, np.bool_))
        else:
            bits = np.frombuffer(mapping, np.uint8, (n + 7) // 8, col[0])
            masks.append(np.unpackbits(bits, count=n, bitorder="little") == 0)
    return masks[0] if len(masks) == 1 else np.concatenate(masks)


def _object_values(parts, n_total, typ):
    out = np.empty(n_total, dtype=object)
    start = 0
    for mapping, n, col in parts:
        validity_off, values_off, data_off, data_len = col
        if typ in (TEXT, BINARY):
            _orrery.decode_varlen(out, start, mapping, values_off, data_off, data_len,
                                  n, validity_off, typ == BINARY)
        else:
            _orrery.decode_temporal(out, start, mapping, values_off, n, validity_off, typ)
        start += n
    return out


def _input_column(typ, scale, parts, n_total):
    if typ in (TEXT, BINARY, DATE, TIME):
        return _object_values(parts, n_total, typ)

    values = _fixed_values(parts, _NUMPY_TYPES[typ])
    mask = _null_mask(parts)

    if typ == BOOL:
        return values if mask is None else pd.arrays.BooleanArray(values, mask)
    if typ in (INT16, INT32, INT64):
        return values if mask is None else pd.arrays.IntegerArray(values, mask)
    if typ == DECIMAL:
        values = values.astype(np.float64) / (10.0 ** scale)
    if typ in (FLOAT32, FLOAT64, DECIMAL):
        if mask is not None:
            # A private copy-on-write mapping: only pages with NULLs get copied.
            values[mask] = np.nan
        return values
    if typ == TIMESTAMP:
        valid = values if mask is None else values[~mask]
        if valid.size and (valid.min() < _NS_MIN_US or valid.max() > _NS_MAX_US):
            return _object_values(parts, n_total, typ)
        ns = values * 1000
        if mask is not None:
            ns[mask] = _NAT
        return ns.view("datetime64[ns]")
    raise ValueError(_("unknown column type {typ}").format(typ=typ))


class _ColumnBuilder:
    """One input column, filled batch by batch as the batches arrive (while
    the engine fetches the next one) into a buffer that grows by doubling
    and is trimmed in place at the end: no final concatenation."""

    def __init__(self, typ, scale):
        self.typ = typ
        self.scale = scale
        self.objects = typ in (TEXT, BINARY, DATE, TIME)
        self.dtype = object if self.objects else (
            np.float64 if typ == DECIMAL else _NUMPY_TYPES[typ])
        self.values = None
        self.mask = None
        # TIMESTAMP: every value fits datetime64[ns] so far (the buffer then
        # holds nanoseconds); else the column is rebuilt as objects at the end.
        self.in_ns_range = True

    def _reserve(self, need):
        cap = 0 if self.values is None else len(self.values)
        if need <= cap:
            return
        cap = max(need, cap * 2, 1024)
        if self.values is None:
            self.values = np.empty(cap, self.dtype)
        elif self.objects:
            grown = np.empty(cap, object)
            grown[:len(self.values)] = self.values
            self.values = grown
        else:
            # realloc(): large buffers move by remapping pages, not copying.
            self.values.resize(cap, refcheck=False)
        if self.mask is not None:
            self.mask.resize(cap, refcheck=False)

    def add(self, mapping, n, col, start):
        validity_off, values_off, data_off, data_len = col
        self._reserve(start + n)
        end = start + n
        mask = None
        if validity_off >= 0:
            bits = np.frombuffer(mapping, np.uint8, (n + 7) // 8, validity_off)
            mask = np.unpackbits(bits, count=n, bitorder="little") == 0
            if self.mask is None:
                self.mask = np.zeros(len(self.values), np.bool_)
            self.mask[start:end] = mask
        elif self.mask is not None:
            self.mask[start:end] = False

        typ = self.typ
        if typ in (TEXT, BINARY):
            _orrery.decode_varlen(self.values, start, mapping, values_off, data_off, data_len,
                                  n, validity_off, typ == BINARY)
            return
        if self.objects:
            _orrery.decode_temporal(self.values, start, mapping, values_off, n, validity_off, typ)
            return
        view = np.frombuffer(mapping, _NUMPY_TYPES[typ], n, values_off)
        out = self.values[start:end]
        if typ == DECIMAL:
            np.divide(view, 10.0 ** self.scale, out=out)
        else:
            out[:] = view
        if typ in (FLOAT32, FLOAT64, DECIMAL) and mask is not None:
            out[mask] = np.nan
        elif typ == TIMESTAMP and self.in_ns_range:
            valid = out if mask is None else out[~mask]
            if valid.size and (valid.min() < _NS_MIN_US or valid.max() > _NS_MAX_US):
                self.in_ns_range = False
                return
            out *= 1000
            if mask is not None:
                out[mask] = _NAT

    def finish(self, n_total, parts):
        """The column's array; @parts (the batches, kept only when a
        TIMESTAMP column may need them) rebuild an out-of-range one."""
        if self.typ == TIMESTAMP and not self.in_ns_range:
            return _object_values(parts, n_total, TIMESTAMP)
        if self.values is None:
            return _input_column(self.typ, self.scale, [], 0)
        self.values.resize(n_total, refcheck=False)
        mask = None
        if self.mask is not None:
            self.mask.resize(n_total, refcheck=False)
            mask = self.mask if self.mask.any() else None
        typ = self.typ
        if typ == BOOL and mask is not None:
            return pd.arrays.BooleanArray(self.values, mask)
        if typ in (INT16, INT32, INT64) and mask is not None:
            return pd.arrays.IntegerArray(self.values, mask)
        if typ == TIMESTAMP:
            return self.values.view("datetime64[ns]")
        return self.values


class InputBuilder:
    """Builds the input frame while it arrives: add() converts each batch
    (called by the C side for every BATCH), finish() makes the frame."""

    def __init__(self, schema):
        self.schema = schema
        self.n_rows = 0
        self.columns = [_ColumnBuilder(typ, scale) for _name, typ, _precision, scale in schema]
        # Batches are dropped once converted, unless a TIMESTAMP column may
        # turn out to need them again (a value outside datetime64[ns]).
        self.keep = any(typ == TIMESTAMP for _name, typ, _precision, _scale in schema)
        self.pieces = []
        self.error = None
        # A lone batch stays as it came: its numeric columns are then
        # zero-copy views of its (copy-on-write) memory. It is converted
        # when a second one arrives.
        self.first = None
        self.n_batches = 0

    def add(self, piece):
        if piece[1] == 0:
            return
        self.n_batches += 1
        if self.n_batches == 1:
            self.first = piece
            return
        if self.first is not None:
            first, self.first = self.first, None
            self._convert(first)
        self._convert(piece)

    def _convert(self, piece):
        mapping, n, cols = piece
        if self.keep:
            self.pieces.append(piece)
        if self.error is not None:
            return
        for i, column in enumerate(self.columns):
            try:
                column.add(mapping, n, cols[i], self.n_rows)
            except (ValueError, OverflowError) as exc:
                self.error = (i, exc)
                return
        self.n_rows += n

    def finish(self, input_name):
        if self.first is not None:
            first, self.first = self.first, None
            return _build_input(input_name, self.schema, [first])
        arrays = {}
        for i, (name, _typ, _precision, _scale) in enumerate(self.schema):
            try:
                if self.error is not None and self.error[0] == i:
                    raise self.error[1]
                parts = [(mapping, n, cols[i]) for mapping, n, cols in self.pieces if n > 0]
                arrays[i] = self.columns[i].finish(self.n_rows, parts)
            except (ValueError, OverflowError) as exc:
                raise _InputError(_("Column “{name}” of {input_name}: {error}").format(
                    name=name, input_name=input_name, error=exc)) from None
        self.pieces = []
        frame = pd.DataFrame(arrays, index=pd.RangeIndex(self.n_rows), copy=False)
        frame.columns = pd.Index([field[0] for field in self.schema], dtype=object)
        return frame


def _build_input(input_name, schema, pieces):
    if isinstance(pieces, InputBuilder):
        return pieces.finish(input_name)
    n_total = sum(n for _, n, _ in pieces)
    arrays = {}
    for i, (name, typ, _precision, scale) in enumerate(schema):
        parts = [(mapping, n, cols[i]) for mapping, n, cols in pieces if n > 0]
        try:
            arrays[i] = _input_column(typ, scale, parts, n_total)
        except (ValueError, OverflowError) as exc:
            raise _InputError(_("Column “{name}” of {input_name}: {error}").format(
                name=name, input_name=input_name, error=exc)) from None
    # copy=False: no consolidation into 2-D blocks, the views stay views.
    frame = pd.DataFrame(arrays, index=pd.RangeIndex(n_total), copy=False)
    frame.columns = pd.Index([field[0] for field in schema], dtype=object)
    return frame


def _variable_name(param_name):
    return param_name[1:] if param_name.startswith("@") else param_name


def _param_value(name, typ, raw):
    if raw is None:
        return None
    try:
        if typ == DATE:
            return _EPOCH_DATE + datetime.timedelta(days=raw)
        if typ == TIME:
            if not 0 <= raw < _US_PER_DAY:
                raise ValueError(_("{raw} µs is outside one day").format(raw=raw))
            return datetime.time(raw // 3_600_000_000, raw // 60_000_000 % 60,
                                 raw // 1_000_000 % 60, raw % 1_000_000)
        if typ == TIMESTAMP:
            return _EPOCH + datetime.timedelta(microseconds=raw)
    except (ValueError, OverflowError) as exc:
        raise _InputError(_("Parameter “{name}”: {error}").format(name=name, error=exc)) from None
    if typ in (FLOAT32, FLOAT64, DECIMAL):
        return float(raw)
    return raw


# ------------------------------------------------------------ output


def _unsupported(where, dtype):
    return _OutputError(_("{where} has dtype {dtype}, which Orrery cannot return; "
                          "convert it (for example with .astype(str))").format(where=where, dtype=dtype))


def _join_names(names):
    if len(names) == 1:
        return names[0]
    return _("{names} and {last}").format(names=", ".join(names[:-1]), last=names[-1])


def _object_column(where, name, values, mask=None):
    values = np.ascontiguousarray(values, dtype=object)
    nulls = np.zeros(len(values), np.bool_)
    kinds = _orrery.classify(values, nulls)

    if _orrery.KIND_DATETIME64 in kinds:
        # Rare: numpy datetime64 scalars in an object column.
        values = values.copy()
        for i in np.flatnonzero(~nulls):
            if isinstance(values[i], np.datetime64):
                values[i] = values[i].astype("datetime64[us]").item()
        kinds = _orrery.classify(values, nulls)
    if mask is not None:
        nulls |= mask

    present = set(kinds)
    if not present or present == {_orrery.KIND_STR}:
        typ = TEXT
    elif present == {_orrery.KIND_BYTES}:
        typ = BINARY
        if memoryview in kinds[_orrery.KIND_BYTES]:
            values = np.array([bytes(v) if isinstance(v, memoryview) else v for v in values],
                              dtype=object)
    elif present == {_orrery.KIND_BOOL}:
        typ = BOOL
    elif present == {_orrery.KIND_INT}:
        typ = INT64
    elif present <= {_orrery.KIND_INT, _orrery.KIND_FLOAT, _orrery.KIND_DECIMAL}:
        typ = FLOAT64
    elif present == {_orrery.KIND_DATETIME}:
        typ = TIMESTAMP
    elif present == {_orrery.KIND_DATE}:
        typ = DATE
    elif present == {_orrery.KIND_TIME}:
        typ = TIME
    else:
        names = []
        for kind in sorted(kinds):
            for t in kinds[kind]:
                if t.__name__ not in names:
                    names.append(t.__name__)
        if len(names) == 1:
            raise _OutputError(_("{where} holds {type} values, which Orrery cannot return; "
                                 "convert it (for example with .astype(str))").format(where=where, type=names[0]))
        raise _OutputError(_("{where} mixes {types} values; "
                             "convert it to one type (for example with .astype(str))").format(
                                 where=where, types=_join_names(names)))

    if typ in (TEXT, BINARY):
        return (name, typ, values, nulls if nulls.any() else None)
    out = np.empty(len(values), _NUMPY_TYPES[typ])
    try:
        _orrery.convert(values, nulls, out, typ)
    except (ValueError, OverflowError, TypeError) as exc:
        raise _OutputError(_("{where}: {error}").format(where=where, error=exc)) from None
    return (name, typ, out, nulls if nulls.any() else None)


def _numpy_column(where, name, values, mask):
    dtype = values.dtype
    kind, size = dtype.kind, dtype.itemsize
    if kind == "b":
        typ = BOOL
    elif kind == "i":
        typ = INT16 if size <= 2 else INT32 if size == 4 else INT64
    elif kind == "u":
        typ = INT16 if size == 1 else INT32 if size == 2 else INT64
        if size == 8:
            big = values > np.uint64(2**63 - 1)
            if mask is not None:
                big &= ~mask
            if big.any():
                raise _OutputError(_("{where} holds values above {max}, "
                                     "which do not fit in a 64-bit integer").format(where=where, max=2**63 - 1))
    elif kind == "f":
        typ = FLOAT32 if size <= 4 else FLOAT64
        values = np.ascontiguousarray(values, _NUMPY_TYPES[typ])
        nan = np.isnan(values)
        if nan.any():
            mask = nan if mask is None else (mask | nan)
    elif kind == "M":
        nat = np.isnat(values)
        values = values.astype("datetime64[us]").view(np.int64)
        if nat.any():
            mask = nat if mask is None else (mask | nat)
        typ = TIMESTAMP
    elif kind == "O":
        return _object_column(where, name, values, mask)
    else:
        raise _unsupported(where, dtype)
    values = np.ascontiguousarray(values, _NUMPY_TYPES[typ])
    return (name, typ, values, mask)


def _output_column(output_name, name, series):
    where = _("Column “{name}” of {output_name}").format(name=name, output_name=output_name)
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _object_column(where, name, series.astype(object).to_numpy(dtype=object))
    if isinstance(dtype, pd.DatetimeTZDtype):
        naive = series.dt.tz_convert("UTC").dt.tz_localize(None)
        return _numpy_column(where, name, naive.to_numpy(), None)
    if isinstance(dtype, pd.StringDtype):
        return _object_column(where, name, series.to_numpy(dtype=object, na_value=None))
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        kind = getattr(dtype, "kind", None)
        numpy_dtype = getattr(dtype, "numpy_dtype", None)
        if kind in ("b", "i", "u", "f") and numpy_dtype is not None:
            # Nullable BooleanDtype, Int*/UInt*, Float*.
            mask = np.asarray(series.isna(), dtype=np.bool_)
            fill = False if kind == "b" else np.nan if kind == "f" else 0
            values = series.to_numpy(dtype=numpy_dtype, na_value=fill)
            return _numpy_column(where, name, values, mask if mask.any() else None)
        raise _unsupported(where, dtype)
    return _numpy_column(where, name, series.to_numpy(), None)


def _output_frame(output_name, namespace):
    if output_name not in namespace:
        raise _OutputError(_("{output_name} is not defined; assign a pandas DataFrame to it").format(
            output_name=output_name))
    frame = namespace[output_name]
    if not isinstance(frame, pd.DataFrame):
        raise _OutputError(_("{output_name} must be a pandas DataFrame, not {type}").format(
            output_name=output_name, type=type(frame).__name__))
    return frame


def _concat_outputs(output_name, frames):
    """The results of several runs (partitions, chunks) as one, by position."""
    frames = [frame for frame in frames if frame.shape[1] > 0]
    if len(frames) <= 1:
        return frames[0] if frames else pd.DataFrame()
    width = frames[0].shape[1]
    for frame in frames[1:]:
        if frame.shape[1] != width:
            raise _OutputError(_("{output_name} has {width} columns in one run of the script and "
                                 "{other} in another; every partition and chunk must "
                                 "return the same columns").format(
                                     output_name=output_name, width=width, other=frame.shape[1]))
    combined = pd.concat([frame.set_axis(range(width), axis=1) for frame in frames],
                         ignore_index=True)
    combined.columns = frames[0].columns
    return combined


def _build_output(output_name, frame):
    if frame.shape[1] == 0:
        return [], 0
    columns = [
        _output_column(output_name, str(label), frame.iloc[:, i])
        for i, label in enumerate(frame.columns)
    ]
    return columns, len(frame)


def _timestamp_us(value):
    if value.tzinfo is not None and value.utcoffset() is not None:
        value = value - value.utcoffset()
    plain = datetime.datetime(value.year, value.month, value.day, value.hour,
                              value.minute, value.second, value.microsecond)
    return (plain - _EPOCH) // _ONE_US


def _output_param(name, typ, namespace):
    value = namespace.get(_variable_name(name))
    if value is None or value is pd.NA or value is pd.NaT:
        return (name, typ, None)
    mismatch = _OutputError(_("Output parameter “{name}” is declared {declared} "
                              "but the script left {type}").format(
                                  name=name, declared=_DECLARED[typ], type=type(value).__name__))
    is_bool = isinstance(value, (bool, np.bool_))

    if typ in _INT_RANGES:
        if is_bool or not isinstance(value, (int, np.integer)):
            raise mismatch
        raw = int(value)
        type_name, low, high = _INT_RANGES[typ]
        if not low <= raw <= high:
            raise _OutputError(_("Output parameter “{name}” holds {value}, "
                                 "outside the range of {type} ({low} to {high})").format(
                                     name=name, value=raw, type=type_name, low=low, high=high))
    elif typ in (FLOAT32, FLOAT64, DECIMAL):
        if is_bool or not isinstance(value, (int, float, np.integer, np.floating, decimal.Decimal)):
            raise mismatch
        try:
            raw = float(value)
        except OverflowError:
            raise _OutputError(_("Output parameter “{name}” holds {value}, "
                                 "too large for a float").format(name=name, value=value)) from None
        if math.isnan(raw):
            raw = None
    elif typ == TEXT:
        if not isinstance(value, str):
            raise mismatch
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _OutputError(_("Output parameter “{name}” holds text that cannot be encoded "
                                 "as UTF-8 (a lone surrogate)").format(name=name)) from None
        if "\0" in value:
            raise _OutputError(_("Output parameter “{name}” holds a NUL character, "
                                 "which text parameters cannot carry").format(name=name))
        raw = value
    elif typ == BINARY:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise mismatch
        raw = bytes(value)
    elif typ == BOOL:
        if not is_bool:
            raise mismatch
        raw = bool(value)
    elif typ == DATE:
        if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
            raise mismatch
        raw = (value - _EPOCH_DATE).days
    elif typ == TIME:
        if not isinstance(value, datetime.time):
            raise mismatch
        raw = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
    elif typ == TIMESTAMP:
        if not isinstance(value, datetime.datetime):
            raise mismatch
        raw = _timestamp_us(value)
    else:
        raise mismatch
    return (name, typ, raw)


# ------------------------------------------------------------ running


def _safe_str(obj):
    try:
        return str(obj)
    except BaseException:  # noqa: B036 - a broken __str__ must not hide the error
        return f"<{type(obj).__name__} object whose str() failed>"


def _script_error(exc):
    """The error of an exception that left the script: the traceback starts
    at the script's first frame, the line is that of its innermost frame."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != SCRIPT_FILENAME:
        tb = tb.tb_next
    line = 0
    frame = tb
    while frame is not None:
        if frame.tb_frame.f_code.co_filename == SCRIPT_FILENAME:
            line = frame.tb_lineno
        frame = frame.tb_next
    try:
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    except BaseException:  # noqa: B036
        text = "".join(traceback.format_exception_only(type(exc), exc))
    message = _safe_str(exc.code) if isinstance(exc, SystemExit) else _safe_str(exc)
    return ("error", type(exc).__name__, message, text, line)


def _compile(script):
    try:
        return compile(script, SCRIPT_FILENAME, "exec", dont_inherit=True), None
    except SyntaxError as exc:
        text = "".join(traceback.format_exception_only(type(exc), exc))
        return None, ("error", type(exc).__name__, exc.msg or _safe_str(exc), text, exc.lineno or 0)
    except (ValueError, MemoryError, RecursionError) as exc:
        text = "".join(traceback.format_exception_only(type(exc), exc))
        return None, ("error", type(exc).__name__, _safe_str(exc), text, 0)


def _execute(script, namespace):
    code, error = _compile(script)
    if error is not None:
        return error
    # A process the script forked that comes back here instead of exiting
    # (a fork bomb's children) must not answer for the job on its socket.
    job_process = os.getpid()
    try:
        exec(code, namespace)
    except SystemExit as exc:
        if os.getpid() != job_process:
            os._exit(exc.code if isinstance(exc.code, int) else 1)
        if exc.code is not None and exc.code != 0:
            return _script_error(exc)
    except BaseException as exc:  # noqa: B036 - KeyboardInterrupt too is the script's error
        if os.getpid() != job_process:
            os._exit(1)
        return _script_error(exc)
    if os.getpid() != job_process:
        os._exit(0)
    return None


def _sqlserver_input(frame, schema):
    """InputDataSet typed as SQL Server Machine Learning Services types it:
    tinyint and smallint arrive as int32, real as float64, date as
    datetime64[ns] (dates beyond 1677..2262 stay datetime.date objects).
    bigint stays int64, where SQL Server gives float64 and loses digits."""
    for i, (_name, typ, _precision, _scale) in enumerate(schema):
        column = frame.iloc[:, i]
        if typ == INT16:
            frame.isetitem(i, column.astype("Int32" if isinstance(column.dtype, pd.Int16Dtype) else np.int32))
        elif typ == FLOAT32:
            frame.isetitem(i, column.astype(np.float64))
        elif typ == DATE:
            try:
                frame.isetitem(i, pd.to_datetime(column))
            except (ValueError, OverflowError):
                pass
    return frame


def _column_positions(frame, input_name, names, what):
    """Positions of the columns @names (exact, else case-insensitive)."""
    labels = [str(label) for label in frame.columns]
    positions = []
    for name in names:
        found = [i for i, label in enumerate(labels) if label == name]
        if not found:
            found = [i for i, label in enumerate(labels) if label.casefold() == name.casefold()]
        if len(found) != 1:
            if not found:
                message = _("{what} “{name}” matches no column of {input_name} (its columns: {columns})")
            else:
                message = _("{what} “{name}” matches several columns of {input_name} (its columns: {columns})")
            raise _InputError(message.format(what=what, name=name, input_name=input_name,
                                             columns=", ".join(labels) or _("none")))
        positions.append(found[0])
    return positions


def _runs(frame, input_name, partition_by, order_by, rows_per_read):
    """The input data sets the script runs over, in order: one per partition
    (rows with equal values in the partition columns, NULLs together),
    sorted by the partition then the order columns (NULLs first, as SQL
    Server sorts), each cut into chunks of rows_per_read rows."""
    keys = _column_positions(frame, input_name, partition_by, _("Partition column"))
    order = _column_positions(frame, input_name, order_by, _("Order column"))
    by = keys + [k for k in order if k not in keys]
    if by and len(frame) > 1:
        positional = frame.set_axis(range(frame.shape[1]), axis=1)
        try:
            ranks = positional.sort_values(by=by, na_position="first", kind="mergesort").index
        except TypeError as exc:
            raise _InputError(_("The rows of {input_name} cannot be sorted by {columns}: {error}").format(
                input_name=input_name, columns=", ".join(str(frame.columns[k]) for k in by),
                error=exc)) from None
        frame = frame.iloc[np.asarray(ranks)].reset_index(drop=True)
    groups = [frame]
    if keys:
        if len(frame) == 0:
            return []
        positional = pd.DataFrame({j: frame.iloc[:, k] for j, k in enumerate(keys)})
        codes = positional.groupby(list(range(len(keys))), sort=False, dropna=False).ngroup()
        bounds = [0, *(np.flatnonzero(np.diff(codes.to_numpy())) + 1), len(frame)]
        groups = [frame.iloc[start:end].reset_index(drop=True)
                  for start, end in zip(bounds[:-1], bounds[1:])]
    if rows_per_read:
        groups = [group.iloc[start:start + rows_per_read].reset_index(drop=True)
                  for group in groups
                  for start in range(0, max(len(group), 1), rows_per_read)]
    return groups


def run_job(script, input_name, output_name, schema, pieces, params,
            partition_by=(), order_by=(), rows_per_read=0, sqlserver_types=False):
    """Runs one job. schema: [(name, type, precision, scale)]; pieces: one
    (mapping, n_rows, [(validity_off, values_off, data_off, data_len)]) per
    batch, validity_off -1 when the column has no NULL in it; params:
    [(name, type, is_output, raw value)].

    Returns ("error", kind, message, traceback, line) or ("ok", n_rows,
    [(name, type, values, mask)], [(name, type, raw value)]) where values is
    a contiguous numpy array in the wire's layout (object for TEXT/BINARY)
    and mask flags the NULL rows (or is None).

    With partition_by, order_by or rows_per_read (SQL Server's partitioned
    and streamed runs), the script runs once per partition or chunk, each
    time in a fresh namespace; the results are concatenated and the output
    parameters are those of the last run."""
    try:
        frame = _build_input(input_name, schema, pieces)
        if sqlserver_types:
            frame = _sqlserver_input(frame, schema)
        if partition_by or order_by or rows_per_read:
            runs = _runs(frame, input_name, partition_by, order_by, rows_per_read)
        else:
            runs = [frame]
        bound = [(name, _param_value(name, typ, raw)) for name, typ, _out, raw in params]
    except _OrreryError as exc:
        return exc.reply()
    del pieces, frame
    linecache.cache[SCRIPT_FILENAME] = (len(script), None, script.splitlines(True), SCRIPT_FILENAME)

    saved = (sys.stdin, sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    sys.stdin = io.StringIO()
    sys.stdout = sys.__stdout__ = _Stream(1, "<stdout>")
    sys.stderr = sys.__stderr__ = _Stream(2, "<stderr>")
    try:
        namespace = {}
        outputs = []
        while runs:
            module = types.ModuleType("__main__")
            namespace = module.__dict__
            namespace["__builtins__"] = builtins
            namespace[input_name] = runs.pop(0)
            namespace[output_name] = pd.DataFrame()
            for name, value in bound:
                namespace[_variable_name(name)] = value
            sys.modules["__main__"] = module
            error = _execute(script, namespace)
            if error is not None:
                return error
            try:
                outputs.append(_output_frame(output_name, namespace))
            except _OrreryError as exc:
                return exc.reply()
        try:
            columns, n_rows = _build_output(output_name, _concat_outputs(output_name, outputs))
            out_params = [_output_param(name, typ, namespace)
                          for name, typ, is_output, _raw in params if is_output]
        except _OrreryError as exc:
            return exc.reply()
        return ("ok", n_rows, columns, out_params)
    finally:
        _orrery.flush()
        sys.stdin, sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__ = saved


def prepare_zygote():
    """Called once in the zygote before it forks: returns the versions for
    READY and moves every object to the permanent generation, so that the
    children's garbage collector does not copy the pages it would touch."""
    gc.collect()
    gc.freeze()
    return (np.__version__, pd.__version__)


def after_fork(environment=None):
    """Called in each forked child: numpy's global generator was seeded once
    in the zygote and would give every job the same numbers. A sandboxed
    child replaced its C environment; os.environ is the zygote's copy."""
    np.random.seed()
    if environment is not None:
        os.environ.clear()
        os.environ.update(environment)

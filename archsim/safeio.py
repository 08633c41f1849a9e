"""Reading user files with limits: every failure is one project error naming the file.

In:  a path, what the file is meant to be (for the message) and the error class to raise.
Out: ``read_text`` (UTF-8 text, size-limited), ``load_yaml`` (safe YAML: no Python objects,
     duplicate keys rejected, size and alias expansion bounded), ``load_json`` (size-limited,
     strict: no NaN/Infinity), ``load_npz`` (numpy archives without pickles, corrupt or
     truncated archives reported as input errors).

Limits (documented in docs/cli.md): :data:`MAX_TEXT_BYTES` per text file (YAML, JSON, CSV),
:data:`MAX_YAML_NODES` YAML nodes after alias expansion (a "billion laughs" document fails at
once, before anything is built), :data:`MAX_NPZ_BYTES` of arrays in one archive.  Other modules
reading user input use these helpers so a new input type gets the same checks.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

import yaml

from archsim.errors import ArchsimError, InputFileError

__all__ = [
    "MAX_NPZ_BYTES",
    "MAX_TEXT_BYTES",
    "MAX_YAML_NODES",
    "load_json",
    "load_npz",
    "load_yaml",
    "parse_yaml",
    "read_text",
]

MAX_TEXT_BYTES = 16 << 20  # 16 MiB: design points are ~2 KB, graph.json of ResNet-34 ~0.2 MB
MAX_YAML_NODES = 100_000  # YAML nodes after expanding aliases (shipped files: < 500)
MAX_NPZ_BYTES = 4 << 30  # 4 GiB of uncompressed arrays in one arrays.npz

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parser when available


class _StrictLoader(_BaseLoader):
    """Safe YAML loader that rejects duplicate mapping keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key (a list or mapping used as a key)
            raise loader.error_class(
                f"{loader.name}: line {key_node.start_mark.line + 1}: a mapping key must be a "
                "plain value, not a list or mapping") from None
        if first is not None:
            raise loader.error_class(
                f"{loader.name}: duplicate key {key!r} at line {key_node.start_mark.line + 1} "
                f"(first at line {first})"
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _expanded_size(root: yaml.Node, limit: int, name: str, error: type[Exception]) -> int:
    """Nodes of the document once every alias is expanded (memoised: linear in the document);
    raises ``error`` above ``limit`` or for a recursive alias."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            if isinstance(node, yaml.MappingNode):
                kids = [c for pair in node.value for c in pair]
            else:
                kids = node.value
            total = 1 + sum(size[id(c)] for c in kids)
            if total > limit:
                raise error(f"{name}: more than {limit:,} YAML nodes once aliases are expanded "
                            f"(an alias bomb?) at line {node.start_mark.line + 1}")
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            raise error(f"{name}: recursive YAML alias at line {node.start_mark.line + 1}")
        if isinstance(node, yaml.ScalarNode):
            size[key] = 1
            continue
        on_path.add(key)
        stack.append((node, True))
        kids = ([c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode)
                else node.value)
        for c in kids:
            if id(c) in on_path:
                raise error(f"{name}: recursive YAML alias at line {c.start_mark.line + 1}")
            if id(c) not in size:
                stack.append((c, False))
    return size.get(id(root), 1)


def read_text(path: str | Path, what: str = "file", error: type[Exception] = InputFileError,
              max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of ``path`` (at most ``max_bytes``); every failure raises ``error``
    naming the file: missing, a folder, unreadable, too big, not UTF-8."""
    path = Path(path)
    try:
        if not path.exists():
            raise error(f"{path}: no such file (expected a {what})")
        if path.is_dir():
            raise error(f"{path}: is a folder, expected a {what}")
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise error(f"{path}: {what} larger than the limit of {max_bytes:,} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: {what} is not UTF-8 text (byte {exc.start}: "
                    f"{data[exc.start:exc.start + 1]!r})") from None


def parse_yaml(text: str, name: str, error: type[Exception] = InputFileError,
               max_nodes: int = MAX_YAML_NODES) -> Any:
    """Parse YAML ``text`` safely (plain data only), rejecting duplicate keys, documents that
    expand to more than ``max_nodes`` nodes and recursive aliases; errors name ``name``."""
    loader = _StrictLoader(text)
    loader.name = name
    loader.error_class = error
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, max_nodes, name, error)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        msg = " ".join(str(exc).split())
        raise error(f"{name}: not valid YAML: {msg[:300]}") from None
    except RecursionError:
        raise error(f"{name}: YAML nested too deeply") from None
    finally:
        loader.dispose()


def load_yaml(path: str | Path, what: str = "YAML file", error: type[Exception] = InputFileError,
              max_bytes: int = MAX_TEXT_BYTES, max_nodes: int = MAX_YAML_NODES) -> Any:
    """Read and parse a YAML file with the limits of :func:`read_text` and :func:`parse_yaml`."""
    return parse_yaml(read_text(path, what, error, max_bytes), str(path), error, max_nodes)


def _no_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a number JSON allows")


def load_json(path: str | Path, what: str = "JSON file", error: type[Exception] = InputFileError,
              max_bytes: int = MAX_TEXT_BYTES, allow_nan: bool = False) -> Any:
    """Read and parse a JSON file (``NaN``/``Infinity`` rejected unless ``allow_nan``)."""
    text = read_text(path, what, error, max_bytes)
    try:
        if allow_nan:
            return json.loads(text)
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise error(f"{path}: {what} is not valid JSON: {' '.join(str(exc).split())[:200]}") \
            from None


def load_npz(path: str | Path, what: str = "array archive",
             error: type[Exception] = InputFileError,
             max_bytes: int = MAX_NPZ_BYTES) -> dict[str, Any]:
    """Every array of a ``.npz`` file (``allow_pickle=False``: object arrays are refused); a
    truncated, corrupt, empty or oversized archive raises ``error`` naming the file."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: no such file (expected a {what})")
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(i.file_size for i in zf.infolist())
        if total > max_bytes:
            raise error(f"{path}: {what} holds {total:,} bytes, more than the limit of "
                        f"{max_bytes:,}")
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except ArchsimError:
        raise
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error,
            NotImplementedError, RuntimeError) as exc:
        msg = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise error(f"{path}: {what} is corrupt or truncated ({msg})") from None

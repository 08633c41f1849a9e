"""A mapping as data: frozen, typed, per-layer records the mapper turns into a Schedule.

In:  plain data (a parsed ``mapping.yaml``) or records built by a plan generator
     (:mod:`archsim.mapping.heuristic`, :mod:`archsim.mapping.search`).
Out: a :class:`MappingPlan` -- one :class:`LayerPlan` per GEMM layer (conv, linear, and
     matmul: a product of two activations, its filter split at most its heads, no split_k)
     -- and its YAML text (:func:`plan_yaml`); :func:`load_plan` reads a file strictly (the
     project's schema, :mod:`archsim.design.schema`): a bad value is a :class:`PlanError` naming the
     layer and the field.

A :class:`LayerPlan` says, for one layer:
  - ``dataflow``: ``os`` | ``ws`` | ``is`` for this layer alone;
  - ``tile_first``, ``tile_count``: the contiguous tile range it runs on;
  - the spatial partition: output pixels into ``split_pixels`` ranges, filters into
    ``split_channels`` ranges and the reduction (input channels) into ``split_k`` ranges; the
    blocks go to the range's tiles in order (round-robin when there are more blocks than tiles).
    With ``split_k > 1`` every block computes partial sums (``tile.pe_array.acc_bits`` wide)
    that stay in its tile's output buffer; the tile of the first reduction part pulls the
    others over the mesh and adds them on its vector unit (timed and priced like every other
    transfer and vector op);
  - the temporal tiling: a block is cut into chunks of at most ``chunk_pixels`` output pixels x
    ``chunk_channels`` filters (any positive integers; every chunk must fit the tile buffers);
  - ``loop_order``: ``channel_major`` (a filter chunk stays loaded while the pixel chunks pass:
    weights fetched once per block, inputs once per chunk) or ``pixel_major`` (a pixel chunk
    stays while the filter chunks pass: weights re-fetched per chunk when there are several
    filter chunks, inputs kept when ``keep_inputs``);
  - ``input_buffer``, ``weight_buffer``: ``double`` (a chunk uses half of the tile's input /
    weight buffer, so the next chunk's fetch overlaps this chunk's compute) or ``single`` (a
    chunk may use the whole buffer; its fetch waits until the buffer is free: a chunk that
    fetches inputs holds the whole input buffer from its fetch to its compute end, a weight
    set holds the whole weight buffer until the last chunk using it has computed).  On a
    buffer the design point does not double-buffer (``double_buffered: false``) ``single`` is
    what the buffer does and ``double`` is an error (docs/mapping.md);
  - ``output_buffer``: likewise for the output buffer: ``single`` lets a chunk's outputs use
    the whole buffer; such a chunk's compute starts once the previous chunk's outputs are
    written back, and the next chunk's compute waits for its write-back (matmul layers too:
    their outputs are written back like any layer's);
  - ``group``: layers sharing a group id with other layers are pipelined: they run at the same
    time on their own tiles and hand over outputs through the tiles' output buffers; a layer
    alone in its group runs after its producers finish, outputs to the edge memory.
Plan-wide: ``keep_inputs`` (consecutive chunks of a tile that read the same input region
keep it in the input buffer instead of fetching it again) and ``min_vector_elements``
(element-wise nodes are cut over channels into tasks of at least this many elements, on the
tiles of their producer's group).  What happens to zero weights is not a mapping choice: it is
the design point's ``tile.sparsity`` mode.  ``label`` is the mapping name runs
report (kept by a replay so the summary is identical); ``dataflow`` the run's dataflow (the
summary's, and the one the cost model prices LUT reads for).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from archsim.design.schema import SchemaError, dump, field_, parse
from archsim.errors import MappingError

__all__ = ["BUFFER_MODES", "LOOP_ORDERS", "LayerPlan", "MappingPlan", "PlanError", "load_plan",
           "parse_plan", "plan_yaml"]

LOOP_ORDERS = ("channel_major", "pixel_major")
BUFFER_MODES = ("double", "single")


class PlanError(MappingError):
    """An invalid mapping plan (names the file, the layer and the field)."""


@dataclass(frozen=True, kw_only=True)
class LayerPlan:
    layer: str = field_(min_len=1, doc="GEMM node name (conv, linear or matmul) in the "
                       "workload graph")
    dataflow: Literal["os", "ws", "is"] = field_("ws", doc="this layer's dataflow")
    tile_first: int = field_(0, ge=0, doc="first tile of the layer's contiguous tile range")
    tile_count: int = field_(1, gt=0, doc="tiles in the range")
    split_pixels: int = field_(1, gt=0, doc="output-pixel ranges (spatial)")
    split_channels: int = field_(1, gt=0, doc="filter ranges (spatial)")
    split_k: int = field_(1, gt=0, doc="reduction ranges; > 1: partial sums reduced over the mesh")
    chunk_pixels: int = field_(gt=0, doc="output pixels per chunk (temporal tile)")
    chunk_channels: int = field_(gt=0, doc="filters per chunk (temporal tile)")
    loop_order: Literal["channel_major", "pixel_major"] = field_(
        "channel_major", doc="chunk order inside a block")
    group: int = field_(ge=0, doc="pipelining group id (shared id: pipelined together)")
    input_buffer: Literal["double", "single"] = field_(
        "double", doc="chunks use half (double) or the whole (single) input buffer")
    weight_buffer: Literal["double", "single"] = field_(
        "double", doc="chunks use half (double) or the whole (single) weight buffer")
    output_buffer: Literal["double", "single"] = field_(
        "double", doc="chunks use half (double) or the whole (single) output buffer")

    @property
    def blocks(self) -> int:
        return self.split_pixels * self.split_channels * self.split_k


@dataclass(frozen=True, kw_only=True)
class MappingPlan:
    version: Literal[1] = field_(1, doc="plan format version")
    label: str = field_("plan", min_len=1, doc="mapping name reported by runs")
    generator: str = field_("file", doc="what made the plan (heuristic, search, file)")
    dataflow: Literal["os", "ws", "is"] = field_("ws", doc="the run's dataflow (reports, "
                                                 "cost model); layers carry their own")
    keep_inputs: bool = field_(False, doc="reuse an input region already in the input buffer")
    min_vector_elements: int = field_(4096, gt=0, doc="element-wise tasks not cut smaller")
    layers: tuple[LayerPlan, ...] = field_(default_factory=tuple, doc="one per GEMM layer")

    def _check(self) -> None:
        seen: set[str] = set()
        for lp in self.layers:
            if lp.layer in seen:
                raise ValueError(f"layer {lp.layer!r} is planned twice")
            seen.add(lp.layer)

    def layer(self, name: str) -> LayerPlan | None:
        for lp in self.layers:
            if lp.layer == name:
                return lp
        return None

    def by_layer(self) -> dict[str, LayerPlan]:
        return {lp.layer: lp for lp in self.layers}


def _issue_text(data: Any, path: tuple, message: str) -> str:
    """``layer 'conv1' (layers[3]): field 'chunk_pixels': message`` when the path is a layer's."""
    if len(path) >= 2 and path[0] == "layers" and isinstance(path[1], int):
        name = None
        try:
            name = data["layers"][path[1]].get("layer")
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
        who = f"layer {name!r} (layers[{path[1]}])" if name else f"layers[{path[1]}]"
        rest = ".".join(str(p) for p in path[2:]) or "<entry>"
        return f"{who}: field {rest!r}: {message}"
    return f"field {('.'.join(str(p) for p in path) or '<root>')!r}: {message}"


def parse_plan(data: Any, source: str = "<mapping>") -> MappingPlan:
    """Validate plain data into a :class:`MappingPlan` (every problem named, see module doc)."""
    try:
        return parse(MappingPlan, data, source)
    except SchemaError as exc:
        text = "; ".join(f"{source}: {_issue_text(data, p, m)}" for p, m in exc.issues)
        raise PlanError(text) from None


def load_plan(path: str | Path) -> MappingPlan:
    """Read a ``mapping.yaml`` (see :func:`plan_yaml`) strictly."""
    from archsim.safeio import load_yaml  # size, encoding and alias-expansion limits

    p = Path(path)
    data = load_yaml(p, "mapping file", error=PlanError)
    if not isinstance(data, dict):
        raise PlanError(f"{p}: a mapping file is a YAML mapping (version, label, layers, ...)")
    return parse_plan(data, str(p))


def plan_yaml(plan: MappingPlan) -> str:
    """The plan as YAML text (layers one flow-style line each); ``load_plan`` reads it back."""
    d = dump(plan, json=True)
    layers = d.pop("layers")
    head = yaml.safe_dump(d, sort_keys=False)
    lines = [head.rstrip("\n"), "layers:"]
    for lp in layers:
        body = ", ".join(f"{k}: {yaml.safe_dump(v, default_flow_style=True).strip()}"
                         .replace("\n...", "") for k, v in lp.items())
        lines.append(f"- {{{body}}}")
    if not layers:
        lines[-1] = "layers: []"
    return "\n".join(lines) + "\n"

"""Greedy decoding replayed from CUDA graphs.

On a GPU the decoder step is bound by kernel launches, not arithmetic (about 220 µs per step at any batch up
to 320 rows on an H200, Triton kernels or not). ``GreedyGraph`` captures a few steps of the greedy loop once
per shape (rows, encoder columns) and replays them: the launches of a whole chunk cost one replay, and the
early exit syncs with the host once per chunk.

The loop body is ``decode.greedy_loop``'s (``decode.greedy_advance``), on static buffers (a captured
graph reads and writes fixed addresses): the same operations in the same order, so the results are those of
``decode.greedy_decode``, bit for bit when the batch fills the graph's rows; with padded rows the matrix
products may round differently in the last bit (log-probs agree to fp32 tolerance). With ``capture=False``
(CPU) the same body runs eagerly on the same buffers; that is how the CPU tests check the bookkeeping (padded
rows, chunks, the last short chunk, the early exit) against ``greedy_decode_ref``. Batches are padded to a
power of two rows, and masked memories (additive attention) to a power of two of encoder columns, so a few
graphs serve every batch size and line width.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import torch

from ..alphabet import SOS_TOKEN
from ..decode import GreedyOutput, greedy_advance
from ..model import AdditiveMemory
from ..ops import on_device_of


def _rows_dim(t: torch.Tensor) -> int:
    """Memory tensors are [T, N, H] (encoder outputs, attention keys) or [N] (valid columns)."""
    return 1 if t.dim() == 3 else 0


def _fields(memory) -> tuple[torch.Tensor, ...]:
    return tuple(memory) if isinstance(memory, tuple) else (memory,)


def _rebuild(like, fields: tuple[torch.Tensor, ...]):
    return type(like)(*fields) if isinstance(like, tuple) else fields[0]


def padded_rows(n: int) -> int:
    """Rows of the graph that serves a batch of ``n``: the next power of two."""
    return 1 << max(0, n - 1).bit_length()


def padded_columns(t: int) -> int:
    """Encoder columns of the graph that serves a masked memory of ``t`` columns: the next power of two, 16 at
    least (a variable-width model's lines are a few to a few hundred columns)."""
    return max(16, padded_rows(t))


class GreedyGraph:
    """Greedy decoding of up to ``rows`` lines over ``memory`` shaped like ``memory_like``, ``chunk`` steps per
    replay.

    Args:
        decoder: the ``Decoder`` wrapper in eval mode (its ``greedy_step`` is captured).
        memory_like: a decoder memory (``Decoder.memory``) with ``rows`` rows; only shapes and dtypes are used.
        rows: lines per call (batches with fewer are padded with finished rows).
        chunk: decode steps per replay, and so between two early-exit checks.
        capture: record CUDA graphs (needs CUDA tensors); False runs the same body eagerly.
        pool: a CUDA graph memory pool shared with other graphs (``torch.cuda.graph_pool_handle()``).
    """

    def __init__(self, decoder, memory_like, rows: int, chunk: int = 4, capture: bool = True, pool=None):
        fields = _fields(memory_like)
        device = fields[0].device
        hidden_size = fields[0].shape[-1]
        self.decoder, self.rows, self.chunk, self.capture, self.pool = decoder, rows, chunk, capture, pool
        self.memory = _rebuild(memory_like, tuple(torch.zeros_like(f) for f in fields))
        self.hidden = torch.zeros(1, rows, hidden_size, device=device, dtype=fields[0].dtype)
        self.tokens = torch.full((rows,), SOS_TOKEN, dtype=torch.long, device=device)
        self.done = torch.zeros(rows, dtype=torch.bool, device=device)
        self.lengths = torch.zeros(rows, dtype=torch.long, device=device)
        self.confidence = torch.ones(rows, dtype=torch.float32, device=device)
        self.out_tokens = torch.zeros(rows, chunk, dtype=torch.long, device=device)
        self.out_logp = torch.zeros(rows, chunk, dtype=torch.float32, device=device)
        self._graphs: dict[int, torch.cuda.CUDAGraph] = {}
        self._read: torch.cuda.Event | None = None  # when the last caller's copies of the buffers were made

    def _body(self, steps: int) -> None:
        """``steps`` iterations of ``decode.greedy_loop`` on the static buffers."""
        for i in range(steps):
            best, best_logp, hidden = self.decoder.greedy_step(self.tokens, self.hidden, self.memory)
            best, best_logp = greedy_advance(best, best_logp, self.done, self.lengths, self.confidence)
            self.out_tokens[:, i] = best
            self.out_logp[:, i] = best_logp
            self.tokens.copy_(best)
            self.hidden.copy_(hidden)

    def _record(self, steps: int) -> None:
        """Records the graph of ``steps`` steps: warm-up on a side stream (Triton compiles, cuBLAS picks its
        kernels), then capture. Both run the body on the current state, which the caller resets after."""
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):
                self._body(steps)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # thread_local: another thread's CUDA work (a Recognizer is called from many) does not void the capture
        with torch.cuda.graph(graph, pool=self.pool, capture_error_mode="thread_local"):
            self._body(steps)
        self._graphs[steps] = graph

    def _reset(self, memory, n: int) -> None:
        if self._read is not None:  # a caller on another stream may still be copying the last results out
            torch.cuda.current_stream().wait_event(self._read)
        for static, new in zip(_fields(self.memory), _fields(memory)):
            d = _rows_dim(static)
            static[tuple(slice(0, size) for size in new.shape)].copy_(new)  # columns past new's are masked
            if n < self.rows:  # padding rows repeat line 0: valid inputs, finished from the start
                pad = static.narrow(d, n, self.rows - n)
                pad.copy_(static.narrow(d, 0, 1).expand_as(pad))
        self.hidden.zero_()
        self.tokens.fill_(SOS_TOKEN)
        self.done.zero_()
        self.done[n:] = True
        self.lengths.zero_()
        self.confidence.fill_(1.0)

    def __call__(self, memory, n: int, max_len: int) -> GreedyOutput:
        """Decodes the ``n`` lines of ``memory`` (a decoder memory with ``n <= rows`` rows) for at most
        ``max_len`` steps; stops after the chunk in which every line has ended."""
        if not 1 <= n <= self.rows:
            raise ValueError(f"this graph decodes 1 to {self.rows} lines, got {n}")
        chunks = [min(self.chunk, max_len - t) for t in range(0, max_len, self.chunk)]
        self._reset(memory, n)
        if self.capture and not set(chunks) <= set(self._graphs):
            for steps in set(chunks) - set(self._graphs):
                self._record(steps)
            self._reset(memory, n)
        tokens, logps = [], []
        for steps in chunks:
            if self.capture:
                self._graphs[steps].replay()
            else:
                self._body(steps)
            tokens.append(self.out_tokens[:n, :steps].clone())
            logps.append(self.out_logp[:n, :steps].clone())
            if bool(self.done.all()):  # the one host sync per chunk
                break
        out = GreedyOutput(torch.cat(tokens, 1), torch.cat(logps, 1), self.lengths[:n].clone(),
                           self.confidence[:n].clone())
        if self.capture:
            self._read = torch.cuda.Event()
            self._read.record()
        return out


class GraphCache:
    """The ``GreedyGraph`` of each (rows, memory shapes, dtype), most recently used kept, ``size`` at most.
    A graph's buffers are static: concurrent callers (a thread-safe ``Recognizer``) take turns."""

    def __init__(self, size: int = 16, chunk: int = 4, capture: bool = True):
        self.size, self.chunk, self.capture = size, chunk, capture
        self._graphs: OrderedDict[tuple, GreedyGraph] = OrderedDict()
        self._pool = torch.cuda.graph_pool_handle() if capture else None
        self._lock = threading.Lock()

    def decode(self, decoder, memory, max_len: int) -> GreedyOutput:
        # on the memory's GPU: capture, side streams and replays bind to the current device
        with self._lock, on_device_of(_fields(memory)[0]):
            return self._decode(decoder, memory, max_len)

    def _decode(self, decoder, memory, max_len: int) -> GreedyOutput:
        fields = _fields(memory)
        n = fields[0].shape[_rows_dim(fields[0])]
        rows = padded_rows(n)
        # Masked memories (additive attention) also pad their columns: one graph per power of two of them
        # instead of one per width bucket. Columns past a line's length get weight 0 whatever they hold.
        columns = padded_columns(fields[0].shape[0]) if isinstance(memory, AdditiveMemory) else fields[0].shape[0]
        shapes = tuple(tuple(rows if i == _rows_dim(f) else columns if f.dim() == 3 and i == 0 else size
                             for i, size in enumerate(f.shape)) for f in fields)
        key = (rows, shapes, fields[0].dtype, fields[0].device, id(decoder))
        graph = self._graphs.get(key)
        if graph is None:
            like = _rebuild(memory, tuple(f.new_zeros(s) for f, s in zip(fields, shapes)))
            graph = GreedyGraph(decoder, like, rows, self.chunk, self.capture, self._pool)
            self._graphs[key] = graph
            if len(self._graphs) > self.size:
                self._graphs.popitem(last=False)
        self._graphs.move_to_end(key)
        return graph(memory, n, max_len)

"""The original recognizer, module for module: CNN -> two BiLSTMs -> GRU decoder with fixed-slot attention.

Module and attribute names are those of ``crnn/seq2seq.py`` in the original project, so its ``encoder.pth``
and ``decoder.pth`` state_dicts load unchanged (see ``checkpoint.py``). Shapes: B images, T encoder columns,
H hidden size, V classes.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from . import ops
from .config import ModelConfig


_WINOGRAD = contextvars.ContextVar("fastocr_winograd", default=False)


@contextlib.contextmanager
def winograd_convolutions(enabled: bool = True):
    """Within it (in this thread), ``Conv3x3`` layers on the CPU in float32 without autograd run by Winograd
    F(4x4, 3x3) (``ops.conv3x3_winograd``): 2.2x faster than oneDNN's direct convolution on the CNN's deep
    layers, which already run at the cores' FMA peak, with values within ~1e-5 relative of it. The engine turns
    it on for CPU inference (``Recognizer(winograd=...)``); training, export and the reference never see it."""
    token = _WINOGRAD.set(enabled)
    try:
        yield
    finally:
        _WINOGRAD.reset(token)


class Conv3x3(nn.Conv2d):
    """``nn.Conv2d(in, out, 3, 1, 1)``, the same parameters and state_dict (checkpoints load unchanged), run by
    Winograd within ``winograd_convolutions()``."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(in_channels, out_channels, 3, 1, 1)
        self._winograd_weight: tuple | None = None  # ((weight's storage, version), ops.winograd_weight of it)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (_WINOGRAD.get() and x.device.type == "cpu" and x.dtype == torch.float32 and not torch.is_grad_enabled()
                and ops.winograd_unusable() is None):
            return ops.conv3x3_winograd(x, self._transformed_weight(), self.bias)
        return super().forward(x)

    def __getstate__(self):  # copies and pickles leave the cache behind: 4x the weight, redone on first use
        return {**super().__getstate__(), "_winograd_weight": None}

    def _transformed_weight(self) -> torch.Tensor:
        """The transformed weight, redone whenever the weight changes (an optimizer step or load_state_dict bumps
        its version; ``.to()`` gives it new storage)."""
        key = (self.weight.data_ptr(), self.weight._version)
        if self._winograd_weight is None or self._winograd_weight[0] != key:
            self._winograd_weight = (key, ops.winograd_weight(self.weight))
        return self._winograd_weight[1]


class CNN(nn.Module):
    """VGG-style feature extractor: [B, C, 32, W] -> [B, 512, 1, W // 4 + 1]. The first convolution stays
    direct: on 3 channels Winograd's transforms cost more than the multiplies they save."""

    def __init__(self, channel_size: int):
        super().__init__()
        self.cnn = nn.Sequential(
            nn.Conv2d(channel_size, 64, 3, 1, 1), nn.ReLU(True), nn.MaxPool2d(2, 2),
            Conv3x3(64, 128), nn.ReLU(True), nn.MaxPool2d(2, 2),
            Conv3x3(128, 256), nn.BatchNorm2d(256), nn.ReLU(True),
            Conv3x3(256, 256), nn.ReLU(True), nn.MaxPool2d((2, 2), (2, 1), (0, 1)),
            Conv3x3(256, 512), nn.BatchNorm2d(512), nn.ReLU(True),
            Conv3x3(512, 512), nn.ReLU(True), nn.MaxPool2d((2, 2), (2, 1), (0, 1)),
            nn.Conv2d(512, 512, 2, 1, 0), nn.BatchNorm2d(512), nn.ReLU(True),
        )  # fmt: skip

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.cnn(images)

    def receptive_field(self) -> tuple[int, int]:
        """(left, right): output column j reads input columns 4j - left .. 4j + right, and no others."""
        lo = hi = 0
        for k, s, p in reversed(_widthwise(self.cnn)):
            lo, hi = lo * s - p, hi * s - p + k - 1
        return -lo, hi

    def stage_starts(self) -> tuple[int, ...]:
        """The layers where ``forward_padded`` swaps the columns that see padding alone for a padding canvas's:
        after each pooling but the first (at full and half width, the copy costs more than the convolutions it
        saves: measured with benchmarks/bench_encoder.py)."""
        return tuple(i + 1 for i, layer in enumerate(self.cnn) if isinstance(layer, nn.MaxPool2d))[1:]

    def padding_maps(self, canvas: torch.Tensor) -> dict[int, torch.Tensor]:
        """The feature maps [1, C, H, W_i] of ``canvas`` [1, C, 32, W] (padding alone) at the input of layer i,
        for i in 0, the ``stage_starts`` and the end: what ``forward_padded`` takes the columns of padding from."""
        keep, maps, x = {*self.stage_starts(), len(self.cnn)}, {0: canvas}, canvas
        for i, layer in enumerate(self.cnn, 1):
            x = layer(x)
            if i in keep:
                maps[i] = x
        return maps

    def padding_columns(self, maps: dict[int, torch.Tensor]) -> torch.Tensor:
        """The padding canvas's feature columns [T, 512], from ``padding_maps``' last map."""
        return maps[len(self.cnn)][0, :, 0].t()

    def forward_padded(self, images: torch.Tensor, width: int | torch.Tensor,
                       maps: dict[int, torch.Tensor]) -> torch.Tensor:
        """``forward`` of lines on canvases of padding whose pixels end by ``width`` px, computing only the
        columns whose receptive fields reach them: [B, 512, 1, R], R <= W // 4 + 1; the columns from R on are
        those of ``maps``' last map. Reads ``images`` [B, C, 32, >= width] up to ``width`` px only.

        Stage by stage (``stage_starts``), each reads its input only as far as its output's R columns need, the
        input's columns beyond the previous stage's R coming from ``maps``: the deep convolutions skip the
        padding too, not only the final columns (11% less CNN time on scene words than one stage).
        ``width`` may be a 0-d int64 tensor: the ONNX export traces the widths as values of the graph."""
        bounds = [0, *self.stage_starts(), len(self.cnn)]
        layout = torch.channels_last if images.is_contiguous(memory_format=torch.channels_last) else None
        x, reach = images, width
        for lo, hi in zip(bounds, bounds[1:]):
            layers = _widthwise(self.cnn[lo:hi])
            out_reach = reach
            for k, s, p in layers:  # the output columns that read some input column before reach
                out_reach = (out_reach - 1 + p) // s + 1
            out_reach = _at_most(out_reach, maps[hi].shape[3])
            need = out_reach
            for k, s, p in reversed(layers):  # the input columns those output columns read
                need = (need - 1) * s - p + k
            need = _at_most(need, maps[lo].shape[3])
            x = _columns(x, 0, _at_most(reach, need))  # nothing past reach is read: padding comes from the maps
            if isinstance(need, torch.Tensor) or need > reach:
                x = torch.cat([x, _columns(maps[lo], reach, need).expand(x.shape[0], -1, -1, -1)], 3)
            x = self.cnn[lo:hi](x.contiguous(memory_format=layout) if layout else x.contiguous())
            x, reach = _columns(x, 0, out_reach), out_reach
        return x


def _at_most(a, b):
    """min for ints, or for 0-d tensors traced into an ONNX graph."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return torch.minimum(torch.as_tensor(a), torch.as_tensor(b))
    return min(a, b)


def _columns(x: torch.Tensor, start, stop) -> torch.Tensor:
    """x[..., start:stop]; with 0-d tensor bounds, a gather the ONNX export keeps dynamic (a traced slice
    would bake the bounds in)."""
    if isinstance(start, torch.Tensor) or isinstance(stop, torch.Tensor):
        return x.index_select(3, torch.arange(torch.as_tensor(start), torch.as_tensor(stop)))
    return x[..., start:stop]


def _widthwise(layers) -> list[tuple[int, int, int]]:
    """(kernel, stride, padding) along the width of each convolution and pooling in ``layers``."""
    return [tuple(v if isinstance(v, int) else v[1] for v in (layer.kernel_size, layer.stride, layer.padding))
            for layer in layers if isinstance(layer, (nn.Conv2d, nn.MaxPool2d))]


@functools.cache
def cnn_receptive_field() -> tuple[int, int]:
    """The CNN's (left, right) reach in input px around 4 * column (``CNN.receptive_field``)."""
    with torch.device("meta"):  # the layers' shapes alone: no weights allocated
        return CNN(3).receptive_field()


def padding_extent(widths: torch.Tensor, canvas: int, step: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Lines right-padded beyond ``widths`` px [B] on a canvas ``canvas`` px wide -> (``first_pad`` [B], the first
    CNN column whose receptive field holds padding alone; ``need`` [B], the px an ONNX encoder run must be given
    for every column before ``first_pad`` to see all it reads, rounded up to ``step`` (fewer shapes) and at most
    ``canvas``). Columns from ``first_pad`` on are the same in every line (``Encoder.columns_padded``, and the
    ONNX encoder's ``first_pad`` input); ``widest_line`` inverts ``first_pad``."""
    left, right = cnn_receptive_field()
    first_pad = torch.div(torch.as_tensor(widths).cpu() + left + 3, 4, rounding_mode="floor")
    need = (torch.div(4 * (first_pad - 1) + right + step, step, rounding_mode="floor") * step).clamp(max=canvas)
    return first_pad, need


def widest_line(first_pad):
    """The widest line, in px, whose ``padding_extent`` is ``first_pad`` (an int or a tensor traced into ONNX):
    ``first_pad`` = floor((w + left + 3) / 4) holds for w up to 4 * first_pad - left."""
    return 4 * first_pad - cnn_receptive_field()[0]


class BidirectionalLSTM(nn.Module):
    """A time-major BiLSTM followed by a per-step Linear(2*hidden -> out), named ``embedding`` as in the original."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int):
        super().__init__()
        self.rnn = nn.LSTM(input_size, hidden_size, bidirectional=True)
        self.embedding = nn.Linear(hidden_size * 2, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [T, B, in] -> [T, B, out]
        recurrent, _ = self.rnn(x)
        return self.embedding(recurrent)

    def forward_packed(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``forward`` over sequences of several lengths at once: [T, B, in] with sequence b in its first
        ``lengths[b]`` steps (both directions read those steps alone) -> [T, B, out], garbage past each length."""
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
        recurrent, _ = nn.utils.rnn.pad_packed_sequence(self.rnn(packed)[0], total_length=x.shape[0])
        return self.embedding(recurrent)


class Encoder(nn.Module):
    """Images [B, C, 32, W] -> encoder outputs [T, B, H], T = W // 4 + 1."""

    def __init__(self, channel_size: int, hidden_size: int):
        super().__init__()
        self.cnn = CNN(channel_size)
        self.rnn = nn.Sequential(
            BidirectionalLSTM(512, hidden_size, hidden_size),
            BidirectionalLSTM(hidden_size, hidden_size, hidden_size),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.rnn(self.columns(images))  # [T, B, H]

    def columns(self, images: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
        """The CNN's feature columns [T, B, 512], ``chunk`` images at a time."""
        step = chunk or images.shape[0]
        conv = torch.cat([self.cnn(images[i : i + step]) for i in range(0, images.shape[0], step)])  # [B, 512, 1, T]
        if conv.shape[2] != 1:
            raise ValueError(f"images must be 32 px high (CNN output height 1), got input height {images.shape[2]}")
        return conv.squeeze(2).permute(2, 0, 1)

    def columns_padded(self, images: torch.Tensor, widths: torch.Tensor, maps: dict[int, torch.Tensor],
                       chunk: int | None = None) -> torch.Tensor:
        """``columns`` of lines right-padded with one value beyond ``widths`` px, computing only what depends on
        each line's own pixels (``CNN.forward_padded``): a column whose receptive field holds padding alone is
        the same in every line, that of ``maps`` (``CNN.padding_maps`` of a canvas of padding alone). Lines go
        through in order of width, ``chunk`` at a time, each pass reaching as far as its widest line (to the
        pixel: rounding the widths up to 8 px, for fewer shapes in oneDNN's caches, read 5% fewer lines/s on
        scene words, even from cold caches). Short lines on wide fixed canvases (scene words at 280 px, Chinese
        lines at 560) skip most of the CNN's work."""
        first_pad, _ = padding_extent(widths, images.shape[3])
        reach = widths.cpu().clamp(max=images.shape[3])
        out = self.cnn.padding_columns(maps)[:, None, :].expand(-1, images.shape[0], -1).clone()  # [T, B, 512]
        order = torch.argsort(reach, stable=True)
        for start in range(0, len(order), chunk or len(order)):
            idx = order[start : start + (chunk or len(order))]
            width = int(reach[idx].max())
            conv = self.cnn.forward_padded(images[idx.to(images.device), :, :, :width], width, maps)
            cols = conv.squeeze(2).permute(2, 0, 1)  # [R, n, 512]
            keep = (torch.arange(cols.shape[0])[:, None] < first_pad[idx][None, :]).to(out.device)
            rows = idx.to(out.device)
            out[: cols.shape[0], rows] = torch.where(keep[..., None], cols, out[: cols.shape[0], rows])
        return out

    def forward_mixed(self, canvases: list[torch.Tensor], chunk: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Lines on canvases of several widths, with one pass of each BiLSTM: each canvas [B_i, C, 32, W_i]
        goes through the CNN alone, then the BiLSTMs read each line's own T_i columns (packed sequences), so a
        line gets the outputs ``forward`` gives it on its canvas, without a pass per width.

        Returns outputs [T_max, B, H] (lines in the canvases' order; past a line's T_i, garbage no attention
        reads) and the columns T_i of each line [B]."""
        parts = [self.columns(c, chunk) for c in canvases]  # [T_i, B_i, 512]
        columns = torch.tensor([p.shape[0] for p in parts for _ in range(p.shape[1])])
        x = parts[0].new_zeros(int(columns.max()), len(columns), parts[0].shape[2])
        start = 0
        for p in parts:
            x[: p.shape[0], start : start + p.shape[1]] = p
            start += p.shape[1]
        for layer in self.rnn:
            x = layer.forward_packed(x, columns)
        return x, columns.to(x.device)


def _combine_gru(dec: nn.Module, embedded: torch.Tensor, context: torch.Tensor, hidden: torch.Tensor):
    """The step after attention, shared by both decoders: x = relu(attn_combine([e; c])), h' = GRU(x, h).

    The GRU goes through ``ops.gru_step`` (Triton on CUDA inference, else the very op ``nn.GRU`` calls);
    the output of a one-step GRU is its new hidden state, which the output layer reads. Returns h' [N, H].
    """
    x = F.relu(dec.attn_combine(torch.cat((embedded, context), 1)))  # [N, H]
    gru = dec.gru
    return ops.gru_step(x, hidden[0], gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0,
                        train=gru.training)  # [N, H]


class _DecoderHeads(nn.Module):
    """The output heads of both decoders; each decoder defines ``advance`` (attention + GRU) and ``out``."""

    def forward(self, tokens: torch.Tensor, hidden: torch.Tensor, memory):
        """Returns (log-probs [N, V] in float32, new hidden [1, N, H], attention weights [N, T]).

        The log-softmax runs in float32 whatever the model's dtype, as greedy's head does (``logits_argmax``):
        beam search and constraints then compare the same scores greedy decoding sees, not bf16/fp16-rounded
        ones that tie and drift."""
        h_new, attn_weights = self.advance(tokens, hidden, memory)
        return F.log_softmax(self.out(h_new).float(), dim=1), h_new.unsqueeze(0), attn_weights

    def greedy_step(self, tokens: torch.Tensor, hidden: torch.Tensor, memory):
        """Returns (best ids [N], their log-probs [N], new hidden [1, N, H]): greedy decoding's step, whose
        fused head (``ops.logits_argmax``) never writes the [N, V] log-probs on CUDA."""
        h_new, _ = self.advance(tokens, hidden, memory)
        best, best_logp = ops.logits_argmax(h_new, self.out.weight, self.out.bias)
        return best, best_logp, h_new.unsqueeze(0)


class AttnDecoderRNN(_DecoderHeads):
    """One decoder step with the original fixed-slot attention (the scores never look at the encoder outputs).

    Step, for previous tokens y [N], hidden h [1, N, H], encoder outputs E [T, N, H]:
        e = dropout(embedding(y)); a = softmax(attn([e; h])); c = a . E
        x = relu(attn_combine([e; c])); h' = GRU(x, h); logp = log_softmax(out(h'))
    """

    def __init__(self, hidden_size: int, output_size: int, dropout_p: float = 0.1, max_length: int = 71):
        super().__init__()
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.max_length = max_length
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attn = nn.Linear(hidden_size * 2, max_length)
        self.attn_combine = nn.Linear(hidden_size * 2, hidden_size)
        self.dropout = nn.Dropout(dropout_p)
        self.gru = nn.GRU(hidden_size, hidden_size)
        self.out = nn.Linear(hidden_size, output_size)

    def advance(self, tokens: torch.Tensor, hidden: torch.Tensor, encoder_outputs: torch.Tensor):
        """Returns (new hidden [N, H], attention weights [N, T])."""
        embedded = self.dropout(self.embedding(tokens))  # [N, H]
        context, attn_weights = ops.attn_slot(embedded, hidden[0], self.attn.weight, self.attn.bias,
                                              encoder_outputs)  # [N, H], [N, T]
        return _combine_gru(self, embedded, context, hidden), attn_weights

    def memory(self, encoder_outputs: torch.Tensor, lengths=None) -> torch.Tensor:
        """What each step attends over: the encoder outputs themselves (the slots are fixed, so no mask)."""
        return encoder_outputs


class AdditiveMemory(NamedTuple):
    """Per-image attention state of the additive decoder, computed once before the decode loop."""

    values: torch.Tensor  # [T, N, H] encoder outputs
    keys: torch.Tensor  # [T, N, H] attn_key(values)
    lengths: torch.Tensor  # [N] valid columns

    def repeat_rows(self, k: int) -> AdditiveMemory:
        return AdditiveMemory(self.values.repeat_interleave(k, 1), self.keys.repeat_interleave(k, 1),
                              self.lengths.repeat_interleave(k, 0))


class AdditiveAttnDecoderRNN(_DecoderHeads):
    """The decoder step with additive attention over variable-length encoder outputs.

    Step: e = dropout(embedding(y)); a = masked softmax_t(v . tanh(W_k E_t + W_q h)); c = a . E;
    x = relu(attn_combine([e; c])); h' = GRU(x, h); logp = log_softmax(out(h')). Same modules as the
    original otherwise, so an original encoder (and embedding/GRU/out) can warm-start it.
    """

    def __init__(self, hidden_size: int, output_size: int, dropout_p: float = 0.1):
        super().__init__()
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attn_key = nn.Linear(hidden_size, hidden_size, bias=False)
        self.attn_query = nn.Linear(hidden_size, hidden_size)
        self.attn_v = nn.Linear(hidden_size, 1, bias=False)
        self.attn_combine = nn.Linear(hidden_size * 2, hidden_size)
        self.dropout = nn.Dropout(dropout_p)
        self.gru = nn.GRU(hidden_size, hidden_size)
        self.out = nn.Linear(hidden_size, output_size)

    def memory(self, encoder_outputs: torch.Tensor, lengths: torch.Tensor | None) -> AdditiveMemory:
        if lengths is None:
            lengths = torch.full((encoder_outputs.shape[1],), encoder_outputs.shape[0], device=encoder_outputs.device)
        return AdditiveMemory(encoder_outputs, self.attn_key(encoder_outputs), lengths)

    def advance(self, tokens: torch.Tensor, hidden: torch.Tensor, memory: AdditiveMemory):
        """Returns (new hidden [N, H], attention weights [N, T])."""
        embedded = self.dropout(self.embedding(tokens))  # [N, H]
        context, attn_weights = ops.attn_additive(
            memory.keys, self.attn_query(hidden[0]), self.attn_v.weight[0], memory.values, memory.lengths
        )  # [N, H], [N, T]
        return _combine_gru(self, embedded, context, hidden), attn_weights


class Decoder(nn.Module):
    """The original wrapper: its attribute ``decoder`` gives the ``decoder.`` prefix of ``decoder.pth`` keys."""

    def __init__(self, hidden_size: int, output_size: int, dropout_p: float = 0.1, max_length: int = 71,
                 attention: str = "slot"):
        super().__init__()
        self.hidden_size = hidden_size
        if attention == "slot":
            self.decoder = AttnDecoderRNN(hidden_size, output_size, dropout_p, max_length)
        else:
            self.decoder = AdditiveAttnDecoderRNN(hidden_size, output_size, dropout_p)

    def forward(self, tokens: torch.Tensor, hidden: torch.Tensor, memory):
        return self.decoder(tokens, hidden, memory)

    def greedy_step(self, tokens: torch.Tensor, hidden: torch.Tensor, memory):
        return self.decoder.greedy_step(tokens, hidden, memory)

    def memory(self, encoder_outputs: torch.Tensor, lengths: torch.Tensor | None = None, rows_per_image: int = 1):
        """The decoder's attention state for encoder outputs [T, B, H], repeated for K rows per image."""
        mem = self.decoder.memory(encoder_outputs, lengths)
        if rows_per_image == 1:
            return mem
        if isinstance(mem, AdditiveMemory):
            return mem.repeat_rows(rows_per_image)
        return mem.repeat_interleave(rows_per_image, dim=1)

    def init_hidden(self, batch_size: int, device=None) -> torch.Tensor:
        return torch.zeros(1, batch_size, self.hidden_size, device=device)


class OCRModel(nn.Module):
    """Encoder + decoder for one ModelConfig and alphabet size. State dict keys: ``encoder.*``, ``decoder.decoder.*``."""

    def __init__(self, config: ModelConfig, num_classes: int, dropout_p: float = 0.0):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config.num_channels, config.hidden_size)
        self.decoder = Decoder(config.hidden_size, num_classes, dropout_p, config.num_slots, config.attention)

    @property
    def num_classes(self) -> int:
        return self.decoder.decoder.output_size

    def encoder_lengths(self, widths: torch.Tensor, total: int) -> torch.Tensor:
        return encoder_lengths(widths, total)


def encoder_lengths(widths: torch.Tensor, total: int | torch.Tensor) -> torch.Tensor:
    """Encoder columns that see each line's pixels: floor(w / 4) + 1 of the batch's ``total`` (or of each
    line's own, a tensor, for lines on canvases of several widths)."""
    return (widths // 4 + 1).clamp(max=total)

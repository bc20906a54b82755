"""A fastocr model as ONNX graphs: the encoder and one decoder step, with dynamic batch and width.

An exported folder holds ``encoder.onnx`` (images -> what every decoder step attends over), ``decoder_step.onnx``
(one step: previous tokens and hidden state -> log-probs, the best token, the new hidden state), optionally
``encoder.int8.onnx`` (``quantize.py``) and ``fastocr-onnx.json`` (``manifest.py``: the alphabet, preprocessing
constants and the decoding loop's settings), so any ONNX runtime can read lines without fastocr or PyTorch
(docs/onnx.md shows the loop in a dozen lines of numpy).

The graphs are traced from the very modules ``Recognizer`` runs (the ops take their PyTorch reference paths on
CPU), so the exported step computes the reference's operations; ``tests/onnx`` checks texts and log-probs.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from ..alphabet import Alphabet
from ..errors import FastOCRError
from ..files import atomic_write_bytes
from ..model import AdditiveMemory, OCRModel, widest_line
from . import manifest

OPSET = 17  # ONNX Runtime >= 1.14 runs it; LSTM, GRU-free step and masked softmax need nothing newer


class EncoderGraph(nn.Module):
    """images [B, C, 32, W] -> values [T, B, H] (and keys ``W_k values`` [T, B, H] for additive attention, which
    the original computes once per image, not per step).

    A fixed-width model's encoder also takes ``first_pad`` [B] (``model.padding_extent``): its images may be cut
    to any width that covers each line's own columns, and the CNN computes only what the lines' pixels reach,
    stage by stage, the rest coming from the feature maps of a canvas of padding alone computed at export
    (``CNN.forward_padded``, as the torch backend's ``skip_padding``). The pixels' reach is read back from the
    largest ``first_pad`` (the widest line it allows); whole canvases with ``first_pad`` = T read as the plain
    encoder does."""

    def __init__(self, model: OCRModel):
        super().__init__()
        self.encoder = model.encoder
        self.decoder = model.decoder.decoder
        self.additive = model.config.variable_width
        if not self.additive:
            cfg = model.config
            canvas = torch.full((1, cfg.num_channels, cfg.img_height, cfg.img_width), -1.0)
            with torch.no_grad():
                maps = self.encoder.cnn.padding_maps(canvas)
            self.map_layers = sorted(maps)
            for layer, feature_map in maps.items():
                self.register_buffer(f"padding_{layer}", feature_map)

    def forward(self, images: torch.Tensor, first_pad: torch.Tensor | None = None):
        if self.additive:
            values = self.encoder(images)
            return values, self.decoder.attn_key(values)
        maps = {layer: getattr(self, f"padding_{layer}") for layer in self.map_layers}
        padding = self.encoder.cnn.padding_columns(maps)  # [T, 512]
        widest = first_pad.max()  # at T: whole canvases, of any width
        reach = torch.where(widest >= padding.shape[0], maps[0].shape[3], widest_line(widest)).clamp(min=1)
        conv = self.encoder.cnn.forward_padded(images, reach, maps)  # [B, 512, 1, R]
        columns = conv.squeeze(2).permute(2, 0, 1)  # [R, B, 512]
        padding = padding[:, None, :].expand(-1, images.shape[0], -1)  # [T, B, 512]
        columns = torch.cat([columns, padding[columns.shape[0] :]])
        keep = torch.arange(padding.shape[0])[:, None] < first_pad[None, :]
        return self.encoder.rnn(torch.where(keep[..., None], columns, padding))


class StepGraph(nn.Module):
    """One decoder step: (tokens [N], hidden [N, H], values [T, N, H][, keys [T, N, H], lengths [N]]) ->
    (log-probs [N, V] float32, best token [N], its log-prob [N], new hidden [N, H])."""

    def __init__(self, model: OCRModel):
        super().__init__()
        self.decoder = model.decoder.decoder
        self.additive = model.config.variable_width

    def forward(self, tokens, hidden, values, keys=None, lengths=None):
        memory = AdditiveMemory(values, keys, lengths) if self.additive else values
        logp, h_new, _ = self.decoder(tokens, hidden.unsqueeze(0), memory)
        best_logp, best = logp.max(dim=1)  # ties go to the lower id, as greedy's head (ops.logits_argmax)
        return logp, best, best_logp, h_new[0]


def _to_onnx(module: nn.Module, args: tuple, input_names: list[str], output_names: list[str],
             dynamic_axes: dict[str, dict[int, str]]) -> bytes:
    """The TorchScript-based exporter: torch.export's bakes the encoder's sequence length into its reshapes."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # the exporter's own notices (its deprecation, traced shape checks) say nothing to a user here;
        # export runs in the caller's thread, never in the loader threads
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, buffer, dynamo=False, opset_version=OPSET, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes, do_constant_folding=True)
    return buffer.getvalue()


def export_graphs(model: OCRModel) -> dict[str, bytes]:
    """The encoder and decoder-step graphs of ``model`` (any dtype or device: exported in fp32 on the CPU)."""
    try:
        import onnx  # noqa: F401 -- torch's exporter writes its protos with it
    except ImportError as e:
        raise FastOCRError("exporting to ONNX needs the onnx package: pip install 'fastocr[onnx]'") from e
    model = _fp32_cpu_copy(model)
    cfg, H = model.config, model.config.hidden_size
    B, T = 2, cfg.num_slots if not cfg.variable_width else 9
    images = torch.zeros(B, cfg.num_channels, cfg.img_height, (T - 1) * 4)
    memory_names = ["values", "keys"] if cfg.variable_width else ["values"]
    memory_axes = {name: {0: "columns", 1: "rows"} for name in memory_names}
    if not cfg.variable_width:  # the slot model reads a fixed width: only the batch varies
        memory_axes = {"values": {1: "rows"}}
    if cfg.variable_width:
        encoder = _to_onnx(EncoderGraph(model).eval(), (images,), ["images"], memory_names,
                           {"images": {0: "batch", 3: "width"}, **memory_axes})
    else:  # traced at a width short of the canvas, so the columns' count stays a dynamic dimension; lines that
        # first_pad allows within it
        images = torch.zeros(B, cfg.num_channels, cfg.img_height, cfg.img_width // 2)
        encoder = _to_onnx(EncoderGraph(model).eval(), (images, torch.full((B,), T // 2)), ["images", "first_pad"],
                           memory_names, {"images": {0: "batch", 3: "width"}, "first_pad": {0: "batch"},
                                          **memory_axes})

    step_inputs = [torch.zeros(B, dtype=torch.long), torch.zeros(B, H), torch.zeros(T, B, H)]
    step_names = ["tokens", "hidden", "values"]
    if cfg.variable_width:
        step_inputs += [torch.zeros(T, B, H), torch.full((B,), T, dtype=torch.long)]
        step_names += ["keys", "lengths"]
    step_outputs = ["logp", "best", "best_logp", "hidden_out"]
    step_axes = {name: {0: "rows"} for name in step_names + step_outputs} | memory_axes
    step = _to_onnx(StepGraph(model).eval(), tuple(step_inputs), step_names, step_outputs, step_axes)
    return {manifest.ENCODER: encoder, manifest.DECODER_STEP: step}


def _fp32_cpu_copy(model: OCRModel) -> OCRModel:
    """An fp32 CPU copy in eval mode (the caller's model keeps its device, dtype and mode)."""
    clone = OCRModel(model.config, model.num_classes)
    clone.load_state_dict({k: v.detach().float().cpu() for k, v in model.state_dict().items()})
    return clone.eval()


def export_onnx(model: OCRModel, alphabet: Alphabet, out_dir: str | os.PathLike) -> Path:
    """Writes ``model``'s graphs and manifest into ``out_dir`` (created; files written atomically). Returns it."""
    if model.num_classes != alphabet.num_classes:
        raise FastOCRError(f"model has {model.num_classes} classes, alphabet gives {alphabet.num_classes}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FastOCRError(f"{out}: exists and is not a folder; give a folder for the exported graphs")
    out.mkdir(parents=True, exist_ok=True)
    for name, data in export_graphs(model).items():
        atomic_write_bytes(out / name, data)
    manifest.write(out, model.config, alphabet, int8=False)
    return out

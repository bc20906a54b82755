"""The original project's inference, rebuilt from SPEC.md as an independent oracle (batch 1, eager, greedy).

Written separately from ``fastocr.model`` on purpose: if both were wrong the same way, parity would prove
nothing. Module names follow SPEC.md §1 so the same state_dicts load into both.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

SOS, EOS = 0, 1


def _conv(i, o, k=3, p=1):
    return nn.Conv2d(i, o, k, 1, p)


class OrigCNN(nn.Module):
    def __init__(self):
        super().__init__()
        pool = lambda: nn.MaxPool2d((2, 2), (2, 1), (0, 1))
        self.cnn = nn.Sequential(
            _conv(3, 64), nn.ReLU(True), nn.MaxPool2d(2, 2),
            _conv(64, 128), nn.ReLU(True), nn.MaxPool2d(2, 2),
            _conv(128, 256), nn.BatchNorm2d(256), nn.ReLU(True),
            _conv(256, 256), nn.ReLU(True), pool(),
            _conv(256, 512), nn.BatchNorm2d(512), nn.ReLU(True),
            _conv(512, 512), nn.ReLU(True), pool(),
            _conv(512, 512, 2, 0), nn.BatchNorm2d(512), nn.ReLU(True),
        )  # fmt: skip


class OrigBiLSTM(nn.Module):
    def __init__(self, i, h, o):
        super().__init__()
        self.rnn = nn.LSTM(i, h, bidirectional=True)
        self.embedding = nn.Linear(2 * h, o)

    def forward(self, x):
        r, _ = self.rnn(x)
        T, b, h = r.shape
        return self.embedding(r.reshape(T * b, h)).reshape(T, b, -1)


class OrigEncoder(nn.Module):
    def __init__(self, hidden=256):
        super().__init__()
        self.cnn = OrigCNN()
        self.rnn = nn.Sequential(OrigBiLSTM(512, hidden, hidden), OrigBiLSTM(hidden, hidden, hidden))

    def forward(self, x):
        conv = self.cnn.cnn(x)
        assert conv.shape[2] == 1
        return self.rnn(conv.squeeze(2).permute(2, 0, 1))


class OrigAttnDecoder(nn.Module):
    def __init__(self, hidden=256, classes=5991, slots=71):
        super().__init__()
        self.embedding = nn.Embedding(classes, hidden)
        self.attn = nn.Linear(2 * hidden, slots)
        self.attn_combine = nn.Linear(2 * hidden, hidden)
        self.gru = nn.GRU(hidden, hidden)
        self.out = nn.Linear(hidden, classes)

    def forward(self, y, h, enc):
        e = self.embedding(y)
        a = F.softmax(self.attn(torch.cat((e, h[0]), 1)), dim=1)
        c = torch.bmm(a.unsqueeze(1), enc.permute(1, 0, 2))
        x = F.relu(self.attn_combine(torch.cat((e, c.squeeze(1)), 1)).unsqueeze(0))
        out, h = self.gru(x, h)
        return F.log_softmax(self.out(out[0]), dim=1), h


class OrigDecoder(nn.Module):
    def __init__(self, hidden=256, classes=5991, slots=71):
        super().__init__()
        self.decoder = OrigAttnDecoder(hidden, classes, slots)


def orig_transform(path, img_width: int = 280) -> torch.Tensor:
    """SPEC §2: PIL RGB -> cv2 resize to height 32 (squash at >= 280, its --img_width) -> zero pad -> /255, -0.5,
    /0.5."""
    img = np.array(Image.open(path).convert("RGB"))
    h, w, c = img.shape
    width = int(w * 32 / h)
    if width >= img_width:
        img = cv2.resize(img, (img_width, 32))
    else:
        img = cv2.resize(img, (width, 32))
        pad = np.zeros((32, img_width, c), dtype=img.dtype)
        pad[:32, :width, :] = img
        img = pad
    t = torch.from_numpy(img).permute(2, 0, 1).contiguous().float().div(255)
    return t.sub_(0.5).div_(0.5)


def orig_infer(encoder, decoder, alphabet: str, path, max_length: int = 20, img_width: int = 280) -> tuple[str, float]:
    """SPEC §4: one image, greedy, at most 20 steps, prob = product of the argmax probabilities incl. EOS."""
    image = orig_transform(path, img_width).unsqueeze(0)
    enc = encoder(image)
    y = torch.zeros(1).long()
    h = torch.zeros(1, 1, 256)
    prob = 1.0
    words = []
    for _ in range(max_length):
        logp, h = decoder.decoder(y, h, enc)
        probs = torch.exp(logp)
        _, topi = logp.data.topk(1)
        ni = topi.squeeze(1)
        y = ni
        prob *= probs[:, ni]
        if ni == EOS:
            break
        words.append(alphabet[int(ni) - 2])
    return "".join(words), prob.item()

# The PyTorch side of bench/peer.ts (run by it with Debian's /usr/bin/python3; not a benchmark of its own).
#
# Builds exactly the layer lists bench/peer.ts sends (the Pawprint models' layers, read from the built tfjs
# models) and times them on request, so both sides are timed interleaved in one run. Protocol: one JSON object
# per line on stdin, one JSON answer per line on stdout:
#   {"cmd": "setup", "key": k, "workload": {...}, "variant": "nchw" | "channels-last", "batch": 32, "size": 160}
#       -> {"ok": true, "params": n}      (builds the model, runs one warm-up step)
#   {"cmd": "time", "key": k, "steps": n} -> {"ok": true, "seconds": [...], "loss": x}
#   {"cmd": "quit"}
# Inputs are seeded random pixels 0..255 (speed does not depend on image content), as on the Pawprint side.
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass  # already set


def tf_same_pads(size, kernel, stride):
    """TensorFlow 'same' padding (before, after) for one spatial axis; asymmetric for even sides at stride 2."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Rescale(nn.Module):
    def __init__(self, scale, offset):
        super().__init__()
        self.scale = scale
        self.offset = offset

    def forward(self, x):
        return x * self.scale + self.offset


class SamePadConv(nn.Module):
    """A conv (or depthwise conv) with TF 'same' padding, bias and an optional ReLU6: one folded MobileNetV2 op."""

    def __init__(self, cin, cout, kernel, stride, groups, size, relu6):
        super().__init__()
        top, bottom = tf_same_pads(size, kernel, stride)
        self.pad = (top, bottom, top, bottom)
        symmetric = top == bottom
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=top if symmetric else 0, groups=groups, bias=True)
        self.explicit = not symmetric
        self.relu6 = relu6

    def forward(self, x):
        if self.explicit:
            x = F.pad(x, self.pad)
        x = self.conv(x)
        return F.relu6(x) if self.relu6 else x


class Block(nn.Module):
    def __init__(self, ops, residual):
        super().__init__()
        self.ops = nn.Sequential(*ops)
        self.residual = residual

    def forward(self, x):
        y = self.ops(x)
        return x + y if self.residual else y


def build_cnn(layers, size):
    mods = []
    c, h, w = 3, size, size
    for layer in layers:
        t = layer["type"]
        if t == "rescaling":
            mods.append(Rescale(layer["scale"], layer["offset"]))
        elif t == "conv2d":
            kh, kw = layer["kernel"]
            if layer["padding"] == "same":
                raise ValueError("same padding in the CNN presets is not mirrored here")
            mods.append(nn.Conv2d(c, layer["filters"], (kh, kw), layer["strides"]))
            c = layer["filters"]
            h = (h - kh) // layer["strides"][0] + 1
            w = (w - kw) // layer["strides"][1] + 1
            if layer["activation"] == "relu":
                mods.append(nn.ReLU())
        elif t == "maxPool":
            ph, pw = layer["pool"]
            sh, sw = layer["strides"]
            mods.append(nn.MaxPool2d((ph, pw), (sh, sw)))
            h = (h - ph) // sh + 1
            w = (w - pw) // sw + 1
        elif t == "flatten":
            mods.append(nn.Flatten())
            c, h, w = c * h * w, 1, 1
        elif t == "dense":
            mods.append(nn.Linear(c, layer["units"]))
            c = layer["units"]
            if layer["activation"] == "relu":
                mods.append(nn.ReLU())
        elif t == "dropout":
            mods.append(nn.Dropout(layer["rate"]))
        else:
            raise ValueError(f"layer type {t} is not mirrored")
    return nn.Sequential(*mods)


def build_mobilenet(spec, size):
    mods = []
    side = size
    stem = spec["firstFilters"]
    mods.append(SamePadConv(3, stem, 3, 2, 1, side, True))
    side = math.ceil(side / 2)
    for b in spec["blocks"]:
        ops = []
        if b["expand"]:
            ops.append(SamePadConv(b["inChannels"], b["expandedChannels"], 1, 1, 1, side, True))
        e = b["expandedChannels"] if b["expand"] else b["inChannels"]
        ops.append(SamePadConv(e, e, 3, b["stride"], e, side, True))
        side = math.ceil(side / b["stride"])
        ops.append(SamePadConv(e, b["outChannels"], 1, 1, 1, side, False))
        mods.append(Block(ops, b["residual"]))
    mods.append(SamePadConv(spec["blocks"][-1]["outChannels"], spec["lastFilters"], 1, 1, 1, side, True))
    return nn.Sequential(*mods)


class Case:
    def __init__(self, workload, variant, batch, size):
        torch.manual_seed(7)
        self.kind = workload["kind"]
        self.channels_last = variant == "channels-last"
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        if self.kind == "train":
            self.model = build_cnn(workload["layers"], size).to(memory_format=fmt)
            self.model.train()
            self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3, eps=1e-7)
            self.x = (torch.rand(batch, 3, size, size) * 255).contiguous(memory_format=fmt)
            self.y = (torch.rand(batch, 1) > 0.5).float()
        else:
            self.model = build_mobilenet(workload["spec"], size).to(memory_format=fmt)
            self.model.eval()
            # uint8 HWC pixels in, as the extractor gets them; preprocessing is part of the timed work.
            self.pixels = torch.randint(0, 256, (batch, size, size, 3), dtype=torch.uint8)
        self.params = sum(p.numel() for p in self.model.parameters())
        self.step()

    def step(self):
        if self.kind == "train":
            self.opt.zero_grad(set_to_none=True)
            logits = self.model(self.x)
            loss = F.binary_cross_entropy_with_logits(logits, self.y)
            loss.backward()
            self.opt.step()
            return loss.item()
        with torch.inference_mode():
            x = self.pixels.permute(0, 3, 1, 2).float() / 127.5 - 1.0
            x = x.contiguous(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)
            m = self.model(x)
            pooled = torch.cat([torch.amax(m, dim=(2, 3)), torch.mean(m, dim=(2, 3))], 1)
            return float(pooled.numpy().sum())


def main():
    cases = {}
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["cmd"] == "quit":
                break
            if req["cmd"] == "setup":
                case = Case(req["workload"], req["variant"], req["batch"], req["size"])
                cases[req["key"]] = case
                reply = {"ok": True, "params": case.params}
            elif req["cmd"] == "time":
                case = cases[req["key"]]
                seconds = []
                value = float("nan")
                for _ in range(req["steps"]):
                    t0 = time.perf_counter()
                    value = case.step()
                    seconds.append(time.perf_counter() - t0)
                reply = {"ok": True, "seconds": seconds, "value": value}
            elif req["cmd"] == "info":
                reply = {"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
                         "config": torch.__config__.show(), "python": sys.version.split()[0]}
            else:
                reply = {"ok": False, "error": f"unknown command {req['cmd']}"}
        except Exception as e:  # the bench prints this reason and carries on without the row
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

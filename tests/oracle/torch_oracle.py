#!/usr/bin/env python3
"""PyTorch oracle for NeuralSurgery graphs (tests/oracle/README.md describes requests and responses).

Builds the model of a graph JSON (Core's GraphJson, format "neuralsurgery.graph" version 1) with torch.nn,
loads weights with load_state_dict(strict=True), and runs one of the modes:

  names     state_dict names, shapes and dtypes of the torch model (no weights needed)
  forward   outputs (and optionally every node value)
  grad      outputs and every parameter gradient (seeds per output, or the sum of the outputs)
  adam_step one torch.optim.Adam step; the updated state_dict
  gradmap   paper 001 section 2.3.1: per feature slot a one-hot input and a backward pass; per parameter
            element, the set of slots whose pass gave it a non-zero gradient

Only the standard library and torch are used; safetensors are read and written by hand.
"""

import json
import math
import struct
import sys
import time
import traceback

import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT_NAME = "neuralsurgery.graph"
FORMAT_VERSION = 1
REQUEST_VERSION = 1

OP_KINDS = ("call", "activation", "softmax", "log_softmax", "dropout", "add", "sub", "mul", "div", "concat", "stack",
            "max", "mean", "sum", "reshape", "flatten", "unsqueeze", "squeeze", "narrow", "slice", "transpose",
            "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
            "adaptive_avg_pool1d", "adaptive_avg_pool2d", "matmul", "permute", "scale", "fill", "arange")
LAYER_KINDS = ("Linear", "Embedding", "EmbeddingBag", "Conv1d", "Conv2d", "LSTM", "GRU", "LayerNorm", "BatchNorm1d", "BatchNorm2d", "GroupNorm", "AttentionProjection", "ConvTranspose1d", "ConvTranspose2d", "Tensor")
ACTIVATIONS = ("identity", "relu", "tanh", "sigmoid", "gelu", "silu", "elu", "leaky_relu", "softplus", "exp", "abs", "neg", "square", "sin", "cos", "sqrt", "rsqrt", "log")


class OracleError(Exception):
    """Bad input: the message names the file, node, op or tensor and what was expected."""


# ------------------------------------------------------------------------------------------ safetensors

_ST_DTYPES = {
    "F64": (torch.float64, 8), "F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8), "I32": (torch.int32, 4), "I16": (torch.int16, 2), "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1), "BOOL": (torch.bool, 1),
}
_ST_NAMES = {v[0]: k for k, v in _ST_DTYPES.items()}


def read_safetensors(path):
    """Header: u64 little-endian length, JSON {name: {dtype, shape, data_offsets}}, then raw little-endian data."""
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise OracleError(f"safetensors file '{path}': cannot read ({e.strerror})")
    if len(blob) < 8:
        raise OracleError(f"safetensors file '{path}': {len(blob)} bytes; expected at least the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise OracleError(f"safetensors file '{path}': header length {n} exceeds the file ({len(blob)} bytes)")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise OracleError(f"safetensors file '{path}': header is not JSON ({e})")
    data = memoryview(blob)[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info.get("dtype")
        if dtype not in _ST_DTYPES:
            raise OracleError(f"safetensors file '{path}': tensor '{name}' has dtype {dtype!r}; expected one of {sorted(_ST_DTYPES)}")
        tdtype, size = _ST_DTYPES[dtype]
        shape = [int(d) for d in info["shape"]]
        begin, end = info["data_offsets"]
        count = math.prod(shape)
        if end - begin != count * size or end > len(data) or begin < 0:
            raise OracleError(f"safetensors file '{path}': tensor '{name}' {dtype}{shape} has offsets [{begin}, {end}); expected {count * size} bytes inside the {len(data)}-byte data section")
        raw = bytes(data[begin:end])
        t = torch.frombuffer(bytearray(raw), dtype=tdtype) if count > 0 else torch.empty(0, dtype=tdtype)
        tensors[name] = t.reshape(shape).clone()
    return tensors


def write_safetensors(path, tensors, metadata=None):
    """Writes tensors in the given order, 8-byte aligned header as the safetensors reference writer does."""
    header = {}
    chunks = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        if t.dtype not in _ST_NAMES:
            raise OracleError(f"response tensor '{name}' has dtype {t.dtype}, which safetensors cannot hold")
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() > 0 else b""
        header[name] = {"dtype": _ST_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


# ------------------------------------------------------------------------------------------ graph

def eval_dim(text, symbols, where):
    """Evaluates a Dim string ("64", "B", "2*N+4", "-1") with the request's symbol sizes."""
    text = str(text)
    total = 0
    i = 0
    terms = []
    cur = ""
    for ch in text:
        if ch in "+-" and cur:
            terms.append(cur)
            cur = ch
        else:
            cur += ch
    if cur:
        terms.append(cur)
    for term in terms:
        sign = -1 if term.startswith("-") else 1
        term = term.lstrip("+-")
        coef, _, sym = term.rpartition("*") if "*" in term else ("1", "", term)
        if sym.isdigit():
            total += sign * int(coef) * int(sym)
        else:
            if sym not in symbols:
                raise OracleError(f"{where}: dimension '{text}' uses symbol '{sym}', which the request does not bind (symbols: {symbols})")
            total += sign * int(coef) * int(symbols[sym])
        i += 1
    return total


def shape_of(dims, symbols, where):
    return [eval_dim(d, symbols, where) for d in dims]


def parse_ref(text):
    source, sep, index = text.rpartition(":")
    if sep and index.isdigit() and source:
        return (source, int(index))
    return (text, 0)


def ref_text(ref):
    return ref[0] if ref[1] == 0 else f"{ref[0]}:{ref[1]}"


def load_graph(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            g = json.load(f)
    except OSError as e:
        raise OracleError(f"graph file '{path}': cannot read ({e.strerror})")
    except json.JSONDecodeError as e:
        raise OracleError(f"graph file '{path}': not JSON ({e})")
    if g.get("format") != FORMAT_NAME or g.get("version") != FORMAT_VERSION:
        raise OracleError(f"graph file '{path}': format {g.get('format')!r} version {g.get('version')!r}; expected {FORMAT_NAME!r} version {FORMAT_VERSION}")
    for n in g["nodes"]:
        kind = n["op"]["kind"]
        if kind not in OP_KINDS:
            raise OracleError(f"graph file '{path}': node '{n['id']}' has op kind {kind!r}; the oracle knows {', '.join(OP_KINDS)}")
    for m in g["modules"]:
        kind = m["spec"]["kind"]
        if kind not in LAYER_KINDS:
            raise OracleError(f"graph file '{path}': module '{m['path']}' has layer kind {kind!r}; the oracle knows {', '.join(LAYER_KINDS)}")
    return g


# ------------------------------------------------------------------------------------------ model

def make_layer(spec):
    k = spec["kind"]
    if k == "Linear":
        return nn.Linear(spec["inFeatures"], spec["outFeatures"], bias=spec["bias"])
    if k == "Embedding":
        return nn.Embedding(spec["numEmbeddings"], spec["embeddingDim"])
    if k == "EmbeddingBag":
        return nn.EmbeddingBag(spec["numEmbeddings"], spec["embeddingDim"], mode=spec["mode"], include_last_offset=spec["includeLastOffset"])
    if k == "Conv1d":
        return nn.Conv1d(spec["inChannels"], spec["outChannels"], spec["kernelSize"], stride=spec["stride"], padding=spec["padding"],
                         dilation=spec["dilation"], groups=spec["groups"], bias=spec["bias"])
    if k == "Conv2d":
        pair = lambda name: tuple(int(v) for v in spec[name])
        return nn.Conv2d(spec["inChannels"], spec["outChannels"], pair("kernelSize"), stride=pair("stride"), padding=pair("padding"),
                         dilation=pair("dilation"), groups=spec["groups"], bias=spec["bias"])
    if k in ("LSTM", "GRU"):
        cls = nn.LSTM if k == "LSTM" else nn.GRU
        return cls(spec["inputSize"], spec["hiddenSize"], num_layers=spec["numLayers"], bias=spec["bias"],
                   batch_first=spec["batchFirst"], bidirectional=spec["bidirectional"])
    if k == "LayerNorm":
        shape = [int(d) for d in spec["normalizedShape"]]
        if spec["elementwiseAffine"] and not spec["bias"]:
            # torch < 2.1 has no bias=False; remove the bias parameter so the state_dict matches.
            m = nn.LayerNorm(shape, eps=spec["eps"], elementwise_affine=True)
            m.bias = None
            return m
        return nn.LayerNorm(shape, eps=spec["eps"], elementwise_affine=spec["elementwiseAffine"])
    if k == "GroupNorm":
        return nn.GroupNorm(spec["numGroups"], spec["numChannels"], eps=spec["eps"], affine=spec["affine"])
    if k == "ConvTranspose1d":
        return nn.ConvTranspose1d(spec["inChannels"], spec["outChannels"], spec["kernelSize"], stride=spec["stride"], padding=spec["padding"],
                                  output_padding=spec["outputPadding"], groups=spec["groups"], bias=spec["bias"], dilation=spec["dilation"])
    if k == "ConvTranspose2d":
        pair = lambda name: tuple(int(v) for v in spec[name])
        return nn.ConvTranspose2d(spec["inChannels"], spec["outChannels"], pair("kernelSize"), stride=pair("stride"), padding=pair("padding"),
                                  output_padding=pair("outputPadding"), groups=spec["groups"], bias=spec["bias"], dilation=pair("dilation"))
    if k == "AttentionProjection":
        return AttentionProjection(spec["embedDim"], spec["bias"])
    if k in ("BatchNorm1d", "BatchNorm2d"):
        cls = nn.BatchNorm1d if k == "BatchNorm1d" else nn.BatchNorm2d
        return cls(spec["numFeatures"], eps=spec["eps"], momentum=spec["momentum"], affine=spec["affine"],
                              track_running_stats=spec["trackRunningStats"])
    raise OracleError(f"unknown layer kind {k!r}")


class AttentionProjection(nn.Module):
    """nn.MultiheadAttention's packed input projection alone (its out_proj is a Linear of the graph's own)."""

    def __init__(self, embed_dim, bias):
        super().__init__()
        self.embed_dim = embed_dim
        self.in_proj_weight = nn.Parameter(torch.zeros(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim)) if bias else None


def build_model(graph, dtype):
    """A module tree whose state_dict names are the graph's module paths joined with '.' (TorchSharp = PyTorch)."""
    root = nn.Module()
    layers = {}
    for m in graph["modules"]:
        parts = m["path"].split(".")
        parent = root
        for p in parts[:-1]:
            child = parent._modules.get(p)
            if child is None:
                child = nn.Module()
                parent.add_module(p, child)
            parent = child
        if parts[-1] in parent._modules:
            raise OracleError(f"module '{m['path']}' is declared twice")
        if m["spec"]["kind"] == "Tensor":
            # A tensor field: a Parameter or buffer of the parent module, named by the last path segment.
            value = torch.zeros([int(d) for d in m["spec"]["dims"]])
            if m["spec"]["buffer"]:
                parent.register_buffer(parts[-1], value)
            else:
                parent.register_parameter(parts[-1], nn.Parameter(value))
            layers[m["path"]] = ((parent, parts[-1]), m["spec"])
            continue
        layer = make_layer(m["spec"])
        parent.add_module(parts[-1], layer)
        layers[m["path"]] = (layer, m["spec"])
    root.to(dtype)
    for layer, spec in layers.values():
        if spec["kind"] in ("BatchNorm1d", "BatchNorm2d") and layer.num_batches_tracked is not None:
            layer.num_batches_tracked = layer.num_batches_tracked.to(torch.int64)
    check_layout(graph, root)
    return root, layers


def check_layout(graph, root):
    """The torch model's state_dict must be the graph's parameter list: same names, shapes, dtypes."""
    sd = root.state_dict()
    expected = {p["name"]: p for p in graph["parameters"]}
    for name in expected:
        if name not in sd:
            raise OracleError(f"layout: the graph lists state_dict entry '{name}' but torch.nn's model has no such entry (it has {sorted(sd)})")
    for name, t in sd.items():
        if name not in expected:
            raise OracleError(f"layout: torch.nn's model has state_dict entry '{name}' that the graph does not list")
        shape = [int(d) for d in expected[name]["shape"]]
        if list(t.shape) != shape:
            raise OracleError(f"layout: state_dict entry '{name}' is {list(t.shape)} in torch.nn but {shape} in the graph")


def load_weights(root, graph, weights, dtype, path):
    sd = root.state_dict()
    declared = {p["name"]: p for p in graph["parameters"]}
    for name in declared:
        if name not in weights:
            p = declared[name]
            raise OracleError(f"weights file '{path}': missing tensor '{name}' ({p['role']} of module '{p['module']}', expected shape {[int(d) for d in p['shape']]} {p['dtype']})")
    for name, t in weights.items():
        if name not in sd:
            raise OracleError(f"weights file '{path}': tensor '{name}' is not a state_dict entry of the graph's model (entries: {sorted(sd)})")
        want = list(sd[name].shape)
        if list(t.shape) != want:
            p = declared[name]
            raise OracleError(f"weights file '{path}': tensor '{name}' has shape {list(t.shape)}; module '{p['module']}' expects {want}")
        want_dtype = "int64" if declared[name]["dtype"] == "int64" else None
        if want_dtype == "int64" and t.dtype != torch.int64:
            raise OracleError(f"weights file '{path}': tensor '{name}' has dtype {t.dtype}; expected int64")
        if want_dtype is None and not t.dtype.is_floating_point:
            raise OracleError(f"weights file '{path}': tensor '{name}' has dtype {t.dtype}; expected a floating-point dtype")
    converted = {n: (t if declared[n]["dtype"] == "int64" else t.to(dtype)) for n, t in weights.items()}
    root.load_state_dict(converted, strict=True)


# ------------------------------------------------------------------------------------------ execution

class Options:
    """Knobs of one run. The gradmap ones follow paper 001 section 2.3.1 (see README)."""

    def __init__(self, raw, mode):
        raw = raw or {}
        known = {"dtype", "training", "values", "lr", "betas", "eps", "weight_decay", "amsgrad", "init", "seed", "avg_pool",
                 "loss", "gate_bias", "table2", "slots", "positive_low", "positive_high"}
        for k in raw:
            if k not in known:
                raise OracleError(f"options: unknown option {k!r}; known: {', '.join(sorted(known))}")
        self.dtype = {"float32": torch.float32, "float64": torch.float64}.get(raw.get("dtype", "float64" if mode == "gradmap" else "float32"))
        if self.dtype is None:
            raise OracleError(f"options: dtype {raw.get('dtype')!r}; expected 'float32' or 'float64'")
        self.training = bool(raw.get("training", False))
        self.values = bool(raw.get("values", False))
        self.lr = float(raw.get("lr", 1e-3))
        self.betas = tuple(raw.get("betas", (0.9, 0.999)))
        self.eps = float(raw.get("eps", 1e-8))
        self.weight_decay = float(raw.get("weight_decay", 0.0))
        self.amsgrad = bool(raw.get("amsgrad", False))
        self.init = raw.get("init", "given" if mode != "gradmap" else "positive")
        if self.init not in ("given", "random", "positive"):
            raise OracleError(f"options: init {self.init!r}; expected 'given', 'random' or 'positive'")
        self.seed = int(raw.get("seed", 0))
        self.avg_pool = bool(raw.get("avg_pool", False))
        self.loss = raw.get("loss", "outputs")
        if self.loss not in ("outputs", "all_values", "sum_outputs", "given"):
            raise OracleError(f"options: loss {self.loss!r}; expected 'outputs', 'all_values', 'sum_outputs' or 'given'")
        self.gate_bias = bool(raw.get("gate_bias", False))
        self.table2 = bool(raw.get("table2", False))
        self.slots = raw.get("slots")
        self.positive_low = float(raw.get("positive_low", 0.1))
        self.positive_high = float(raw.get("positive_high", 1.0))


class Executor:
    """Runs a graph's nodes in order. In gradmap runs (one_hot=True) an Embedding reads a one-hot float view of
    its categorical input (docs/mirror.md: an embedding lookup is a product with a one-hot input)."""

    def __init__(self, graph, layers, symbols, opts, gradmap=False):
        self.g = graph
        self.layers = layers
        self.symbols = symbols
        self.o = opts
        self.gradmap = gradmap
        self.footnote5 = []

    def is_field(self, operand):
        """Whether a value is parameter rows read in forward: a call of a Tensor module, a narrow of one, or an
        Embedding looking up an arange (a learned position table)."""
        source = parse_ref(operand)[0]
        for n in self.g["nodes"]:
            if n["id"] == source:
                kind = n["op"]["kind"]
                if kind == "narrow":
                    return self.is_field(n["operands"][0])
                if kind != "call":
                    return False
                layer = self.layers[n["op"]["module"]][1]["kind"]
                return layer == "Tensor" or (layer == "Embedding" and self.is_arange(n["operands"][0]))
        return False

    def is_arange(self, operand):
        source = parse_ref(operand)[0]
        return any(n["id"] == source and n["op"]["kind"] == "arange" for n in self.g["nodes"])

    def run(self, inputs, masks=None):
        env = {}
        for inp in self.g["inputs"]:
            env[(inp["name"], 0)] = inputs[inp["name"]]
        for node in self.g["nodes"]:
            args = []
            for o in node["operands"]:
                ref = parse_ref(o)
                if ref not in env:
                    raise OracleError(f"node '{node['id']}': operand '{o}' is no input or earlier node output")
                args.append(env[ref])
            try:
                outs = self.node(node, args, masks)
            except OracleError:
                raise
            except RuntimeError as e:
                shapes = ", ".join(f"'{o}' {list(a.shape)}" for o, a in zip(node["operands"], args))
                raise OracleError(f"node '{node['id']}' ({node['op']['kind']}): torch failed on operands {shapes}: {str(e).splitlines()[0]}")
            want = [shape_of(s, self.symbols, f"node '{node['id']}'") for s in node["outputShapes"]]
            if len(outs) != len(want):
                raise OracleError(f"node '{node['id']}' ({node['op']['kind']}): torch gave {len(outs)} outputs; the graph declares {len(want)}")
            for i, (t, w) in enumerate(zip(outs, want)):
                if list(t.shape) != w:
                    raise OracleError(f"node '{node['id']}' ({node['op']['kind']}) output {i}: torch gave shape {list(t.shape)}; the graph declares {w}")
                env[(node["id"], i)] = t
        return env

    # ----- ops

    def node(self, node, a, masks):
        op = node["op"]
        k = op["kind"]
        if k == "call":
            return self.call(node, op["module"], a)
        if k == "activation":
            return [self.activation(op["activation"], a[0], node)]
        if k in ("softmax", "log_softmax"):
            if self.o.table2:
                # Table-2 surrogate: every element depends on its whole axis, and is positive iff some element of
                # the axis is; softmax itself gives 1/n at an all-zero axis, a value that carries no feature.
                return [a[0] + a[0].sum(dim=op["axis"], keepdim=True)]
            f = torch.log_softmax if k == "log_softmax" else torch.softmax
            return [f(a[0], dim=op["axis"])]
        if k == "dropout":
            mask = None if masks is None else masks.get("dropout." + node["id"])
            if mask is None or op["p"] == 0:
                return [a[0]]
            return [a[0] * mask.to(a[0].dtype) / (1.0 - op["p"])]
        if k in ("add", "sub") and self.o.gate_bias:
            # A tensor field added to data is Table 2's x + w row, like a bias: it counts only where the data is non-zero.
            fields = [self.is_field(o) for o in node["operands"]]
            if fields[0] != fields[1]:
                w, x = (a[0], a[1]) if fields[0] else (a[1], a[0])
                x, w = torch.broadcast_tensors(x, w)
                return [x + w * (x != 0).to(x.dtype)]
        if k == "add":
            return [a[0] + a[1]]
        if k == "sub":
            # Table-2 surrogate: x1 - x2 is not positive when only x2 carries the feature (Table 2 lists + only).
            return [a[0] + a[1]] if self.o.table2 else [a[0] - a[1]]
        if k == "mul":
            if self.gradmap:
                x, y = torch.broadcast_tensors(a[0], a[1])
                if bool(((x != 0) ^ (y != 0)).any()):
                    # Paper 001 footnote 5: a product of values with mutually exclusive features is zero, so the
                    # gradient cannot trace what the boolean map's union records.
                    self.footnote5.append(node["id"])
            return [a[0] * a[1]]
        if k == "div":
            # Table-2 surrogate: the product (its support is x's and y's together, as the mirror's union says).
            return [a[0] * a[1]] if self.o.table2 else [a[0] / a[1]]
        if k == "concat":
            return [torch.cat(a, dim=op["axis"])]
        if k == "stack":
            return [torch.stack(a, dim=op["axis"])]
        if k in ("max", "mean", "sum"):
            axis, keep = op["axis"], op["keepDim"]
            if k == "max" and not self.o.avg_pool:
                return [torch.max(a[0], dim=axis, keepdim=keep).values]
            if k == "sum":
                return [torch.sum(a[0], dim=axis, keepdim=keep)]
            # max -> mean is paper 001's avg-pool remedy (section 2.3.1): max passes gradient to one element only.
            return [torch.mean(a[0], dim=axis, keepdim=keep)]
        if k == "reshape":
            target = [eval_dim(d, self.symbols, f"node '{node['id']}' (reshape)") for d in op["target"]]
            return [a[0].reshape(target)]
        if k == "flatten":
            if a[0].dim() == 0:
                return [a[0].reshape(1)]
            return [torch.flatten(a[0], op["startAxis"], op["endAxis"])]
        if k == "unsqueeze":
            return [a[0].unsqueeze(op["axis"])]
        if k == "squeeze":
            if a[0].shape[op["axis"]] != 1:
                raise OracleError(f"node '{node['id']}' (squeeze): operand has shape {list(a[0].shape)}; expected size 1 on axis {op['axis']}")
            return [a[0].squeeze(op["axis"])]
        if k == "narrow":
            return [a[0].narrow(op["axis"], op["start"], op["length"])]
        if k == "slice":
            index = [slice(None)] * a[0].dim()
            index[op["axis"]] = slice(op["start"], op["end"], op["step"])
            return [a[0][tuple(index)]]
        if k == "transpose":
            return [a[0].transpose(op["axis0"], op["axis1"])]
        if k == "matmul":
            return [torch.matmul(a[0], a[1])]
        if k == "scale":
            # Table-2 surrogate: an added constant would make elements without features non-zero (as sigmoid(0)).
            offset = 0.0 if self.o.table2 else op.get("offset", 0.0)
            return [a[0] * op["factor"] + offset]
        if k == "arange":
            end = op["end"] if isinstance(op["end"], int) else eval_dim(op["end"], self.symbols, f"node '{node['id']}' (arange)")
            return [torch.arange(int(op["start"]), end, dtype=torch.int64)]
        if k == "fill":
            shape = [eval_dim(d, self.symbols, f"node '{node['id']}' (fill)") for d in op["shape"]]
            return [torch.full(shape, float(op["value"]), dtype=self.o.dtype)]
        if k == "permute":
            return [a[0].permute(*[int(d) for d in op["dims"]])]
        if k in ("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d"):
            return [self.pool(node, op, k, a[0])]
        if k.startswith("adaptive_"):
            d = len(op["output"])
            size = tuple(int(v) for v in op["output"])
            if k.startswith("adaptive_max") and not self.o.avg_pool:
                return [(F.adaptive_max_pool1d if d == 1 else F.adaptive_max_pool2d)(a[0], size)]
            # adaptive max -> adaptive avg under the avg-pool remedy (every window element gets gradient).
            return [(F.adaptive_avg_pool1d if d == 1 else F.adaptive_avg_pool2d)(a[0], size)]
        raise OracleError(f"node '{node['id']}': unknown op kind {k!r}")

    def pool(self, node, op, k, x):
        """torch.nn.functional's pooling (ceil_mode False; avg with count_include_pad True, the defaults)."""
        d = len(op["kernel"])
        kernel, stride, padding, dilation = (tuple(int(v) for v in op[f]) for f in ("kernel", "stride", "padding", "dilation"))
        if k.startswith("max") and self.o.avg_pool:
            return self.window_mean(x, d, kernel, stride, padding, dilation)
        if k.startswith("max"):
            return (F.max_pool1d if d == 1 else F.max_pool2d)(x, kernel, stride, padding, dilation)
        if any(v != 1 for v in dilation):
            raise OracleError(f"node '{node['id']}' ({k}): dilation {list(dilation)}; torch's avg pooling has none (expected all 1)")
        return (F.avg_pool1d if d == 1 else F.avg_pool2d)(x, kernel, stride, padding)

    @staticmethod
    def window_mean(x, d, kernel, stride, padding, dilation):
        """The avg-pool remedy for max pooling: the mean over each window's in-bounds elements (padding excluded),
        by unfold, which has dilation (avg_pool has not)."""
        lead = x.shape[:x.dim() - d]
        planes = x.reshape((-1, 1) + tuple(x.shape[x.dim() - d:]))
        if d == 1:
            planes = planes.unsqueeze(2)
            kernel, stride, padding, dilation = (1,) + kernel, (1,) + stride, (0,) + padding, (1,) + dilation
        h, w = planes.shape[2], planes.shape[3]
        out_h = (h + 2 * padding[0] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
        out_w = (w + 2 * padding[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
        sums = F.unfold(planes, kernel, dilation=dilation, padding=padding, stride=stride).sum(dim=1)
        counts = F.unfold(torch.ones_like(planes[:1]), kernel, dilation=dilation, padding=padding, stride=stride).sum(dim=1)
        y = (sums / counts).reshape(tuple(lead) + ((out_w,) if d == 1 else (out_h, out_w)))
        return y

    def activation(self, kind, x, node):
        if kind not in ACTIVATIONS:
            raise OracleError(f"node '{node['id']}' (activation): unknown activation {kind!r}; expected one of {', '.join(ACTIVATIONS)}")
        if kind == "identity":
            return x
        if kind == "relu":
            return F.relu(x)
        if kind == "tanh":
            return torch.tanh(x)
        if kind == "sigmoid":
            # Table-2 surrogate: sigmoid(0) = 1/2 is a value that carries no feature; shifting keeps f'.
            return torch.sigmoid(x) - 0.5 if self.o.table2 else torch.sigmoid(x)
        if kind == "gelu":
            return F.gelu(x)
        if kind == "silu":
            return F.silu(x)
        if kind == "elu":
            return F.elu(x)
        if kind == "leaky_relu":
            return F.leaky_relu(x)
        if kind == "softplus":
            return F.softplus(x) - math.log(2.0) if self.o.table2 else F.softplus(x)
        # Table-2 surrogates shift f(0) != 0 to 0 as for sigmoid and softplus, keeping f'.
        if kind == "exp":
            return torch.exp(x) - 1.0 if self.o.table2 else torch.exp(x)
        if kind == "abs":
            return torch.abs(x)
        if kind == "neg":
            return -x
        if kind == "square":
            return x * x
        if kind == "sin":
            return torch.sin(x)
        if kind == "cos":
            return torch.cos(x) - 1.0 if self.o.table2 else torch.cos(x)
        # Positive arguments only; the Table-2 surrogate is the identity (0 at 0, positive where x is, finite slope).
        if kind in ("sqrt", "rsqrt", "log") and self.o.table2:
            return x
        if kind == "sqrt":
            return torch.sqrt(x)
        if kind == "rsqrt":
            return torch.rsqrt(x)
        if kind == "log":
            return torch.log(x)
        raise OracleError(f"node '{node['id']}': activation {kind!r}")

    def bias_add(self, pre, bias, shape):
        """pre + bias; with gate_bias the bias counts only where pre is non-zero (Table 2's x + w row)."""
        b = bias.reshape(shape)
        if self.o.gate_bias:
            return pre + b * (pre != 0).to(pre.dtype)
        return pre + b

    def call(self, node, path, a):
        layer, spec = self.layers[path]
        k = spec["kind"]
        if k == "Tensor":
            parent, name = layer
            return [getattr(parent, name)]
        x = a[0]
        where = f"node '{node['id']}' ({k} '{path}')"
        if k == "Linear":
            pre = F.linear(x, layer.weight)
            return [pre if layer.bias is None else self.bias_add(pre, layer.bias, [-1])]
        if k == "Embedding":
            if self.gradmap:
                if not x.is_floating_point():
                    # Positions (an arange) are indices, not a one-hot input: their one-hot view carries no feature.
                    x = F.one_hot(x, layer.num_embeddings).to(layer.weight.dtype)
                return [torch.matmul(x, layer.weight)]
            if x.dtype != torch.int64:
                raise OracleError(f"{where}: operand '{node['operands'][0]}' has dtype {x.dtype}; expected int64 indices")
            if x.numel() > 0 and (int(x.min()) < 0 or int(x.max()) >= layer.num_embeddings):
                raise OracleError(f"{where}: index {int(x.max()) if int(x.max()) >= layer.num_embeddings else int(x.min())} is outside [0, {layer.num_embeddings})")
            return [layer(x)]
        if k == "EmbeddingBag":
            offsets = a[1] if len(a) > 1 else None
            if self.gradmap:
                # The one-hot view (as for Embedding), then each bag's rows reduced; max reads as mean (the max->avg
                # remedy of paper 001 section 2.3.1, as for a max reduction).
                lookup = torch.matmul(x, layer.weight)
                mode = "mean" if spec["mode"] == "max" else spec["mode"]
                if offsets is None:
                    return [lookup.sum(1) if mode == "sum" else lookup.mean(1)]
                bounds = [int(v) for v in offsets] + ([] if spec["includeLastOffset"] else [lookup.shape[0]])
                rows = []
                for s_, e_ in zip(bounds[:-1], bounds[1:]):
                    part = lookup[s_:e_]
                    rows.append(torch.zeros(lookup.shape[1], dtype=lookup.dtype) if e_ <= s_ else (part.sum(0) if mode == "sum" else part.mean(0)))
                return [torch.stack(rows)]
            for t_ in [x] + ([offsets] if offsets is not None else []):
                if t_.dtype != torch.int64:
                    raise OracleError(f"{where}: operand has dtype {t_.dtype}; expected int64 indices")
            if x.numel() > 0 and (int(x.min()) < 0 or int(x.max()) >= layer.num_embeddings):
                raise OracleError(f"{where}: index outside [0, {layer.num_embeddings})")
            return [layer(x) if offsets is None else layer(x, offsets)]
        if k in ("ConvTranspose1d", "ConvTranspose2d"):
            f = F.conv_transpose1d if k == "ConvTranspose1d" else F.conv_transpose2d
            pre = f(x, layer.weight, None, layer.stride, layer.padding, layer.output_padding, layer.groups, layer.dilation)
            return [pre if layer.bias is None else self.bias_add(pre, layer.bias, [-1, 1] if k == "ConvTranspose1d" else [-1, 1, 1])]
        if k == "AttentionProjection":
            if not (self.o.table2 or self.o.gate_bias):
                # PyTorch's own packed projection, as multi_head_attention_forward calls it.
                return list(F._in_projection_packed(a[0], a[1], a[2], layer.in_proj_weight, layer.in_proj_bias))
            e = layer.embed_dim
            outs = []
            for r in range(3):
                pre = F.linear(a[r], layer.in_proj_weight[r * e:(r + 1) * e])
                outs.append(pre if layer.in_proj_bias is None else self.bias_add(pre, layer.in_proj_bias[r * e:(r + 1) * e], [-1]))
            return outs
        if k == "Conv1d":
            pre = F.conv1d(x, layer.weight, None, layer.stride, layer.padding, layer.dilation, layer.groups)
            return [pre if layer.bias is None else self.bias_add(pre, layer.bias, [-1, 1])]
        if k == "Conv2d":
            pre = F.conv2d(x, layer.weight, None, layer.stride, layer.padding, layer.dilation, layer.groups)
            return [pre if layer.bias is None else self.bias_add(pre, layer.bias, [-1, 1, 1])]
        if k in ("LSTM", "GRU"):
            if self.o.table2:
                return self.recurrent_surrogate(layer, spec, a)
            if len(a) == 1:
                out, state = layer(x)
            elif k == "LSTM":
                out, state = layer(x, (a[1], a[2]))
            else:
                out, state = layer(x, a[1])
            return [out, state[0], state[1]] if k == "LSTM" else [out, state]
        if k == "LayerNorm":
            if self.o.table2:
                # Table-2 surrogate: centring makes elements negative; x + mean keeps the mixing of the block.
                dims = tuple(range(-len(layer.normalized_shape), 0))
                y = x + x.mean(dim=dims, keepdim=True)
                if layer.weight is not None:
                    y = y * layer.weight
                if layer.bias is not None:
                    y = self.bias_add(y, layer.bias, list(layer.normalized_shape))
                return [y]
            if self.o.gate_bias and layer.bias is not None:
                y = F.layer_norm(x, layer.normalized_shape, layer.weight, None, layer.eps)
                return [self.bias_add(y, layer.bias, list(layer.normalized_shape))]
            return [layer(x)]
        if k == "GroupNorm":
            shape = [-1] + [1] * (x.dim() - 2)
            if self.o.table2:
                # Table-2 surrogate, as for LayerNorm: x + the group's mean keeps the mixing of the group.
                xg = x.reshape(x.shape[0], layer.num_groups, -1)
                y = (xg + xg.mean(dim=2, keepdim=True)).reshape(x.shape)
                if layer.weight is not None:
                    y = self.bias_add(y * layer.weight.reshape(shape), layer.bias, shape)
                return [y]
            if self.o.gate_bias and layer.bias is not None:
                y = F.group_norm(x, layer.num_groups, layer.weight, None, layer.eps)
                return [self.bias_add(y, layer.bias, shape)]
            return [layer(x)]
        if k in ("BatchNorm1d", "BatchNorm2d"):
            shape = [-1] + [1] * (x.dim() - 2)
            if self.gradmap:
                # The mirror reads BatchNorm in its eval form (docs/mirror.md); running statistics are 0 and 1.
                y = x / math.sqrt(1.0 + layer.eps)
                if layer.weight is not None:
                    y = y * layer.weight.reshape(shape)
                if layer.bias is not None:
                    y = self.bias_add(y, layer.bias, shape)
                return [y]
            layer.train(self.o.training)
            return [layer(x)]
        raise OracleError(f"{where}: unknown layer kind")

    def recurrent_surrogate(self, layer, spec, a):
        """LSTM/GRU with gates replaced by sums (Table-2 surrogate). Per step, every gate row's pre-activation
        W_ih x + W_hh h (+ biases) carries the union G of the step (docs/mirror.md); the cell keeps the
        recurrence (c' = c + i + f + g, h' = c' + o; GRU h' = h + r + z + n), so parameter rows and columns see
        what they see in the real cell, and every value is positive exactly where its set is non-empty."""
        lstm = spec["kind"] == "LSTM"
        gates = 4 if lstm else 3
        hidden = spec["hiddenSize"]
        dirs = 2 if spec["bidirectional"] else 1
        x = a[0]
        unbatched = x.dim() == 2
        if unbatched:
            x = x.unsqueeze(1)
        elif spec["batchFirst"]:
            x = x.transpose(0, 1)
        steps, batch = x.shape[0], x.shape[1]
        zeros = x.new_zeros(spec["numLayers"] * dirs, batch, hidden)

        def state(i):
            if len(a) <= i:
                return zeros
            s = a[i]
            return s.unsqueeze(1) if unbatched else s

        h0 = state(1)
        c0 = state(2) if lstm else None
        hn, cn = [], []
        inp = x
        for l in range(spec["numLayers"]):
            outs = []
            for d in range(dirs):
                sfx = f"_l{l}" + ("_reverse" if d == 1 else "")
                w_ih = getattr(layer, "weight_ih" + sfx)
                w_hh = getattr(layer, "weight_hh" + sfx)
                b_ih = getattr(layer, "bias_ih" + sfx) if spec["bias"] else None
                b_hh = getattr(layer, "bias_hh" + sfx) if spec["bias"] else None
                h = h0[l * dirs + d]
                c = c0[l * dirs + d] if lstm else None
                seq = [None] * steps
                order = range(steps - 1, -1, -1) if d == 1 else range(steps)
                for t in order:
                    pre = F.linear(inp[t], w_ih) + F.linear(h, w_hh)
                    if b_ih is not None:
                        # Both bias vectors add into the same pre-activation (docs/mirror.md, recurrent layers).
                        gate = (pre != 0).to(pre.dtype) if self.o.gate_bias else 1.0
                        pre = pre + (b_ih + b_hh) * gate
                    blocks = pre.reshape(batch, gates, hidden)
                    if lstm:
                        c = c + blocks[:, 0] + blocks[:, 1] + blocks[:, 2]
                        h = c + blocks[:, 3]
                    else:
                        h = h + blocks[:, 0] + blocks[:, 1] + blocks[:, 2]
                    seq[t] = h
                outs.append(torch.stack(seq, 0))
                hn.append(h)
                if lstm:
                    cn.append(c)
            inp = torch.cat(outs, dim=-1)
        out = inp
        h_n = torch.stack(hn, 0)
        c_n = torch.stack(cn, 0) if lstm else None
        if unbatched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if lstm else None
        elif spec["batchFirst"]:
            out = out.transpose(0, 1)
        return [out, h_n, c_n] if lstm else [out, h_n]


# ------------------------------------------------------------------------------------------ requests

def bind_symbols(graph, given, inputs):
    """Symbols from the request; plain symbols left unbound are read off the input tensors."""
    symbols = {str(k): int(v) for k, v in (given or {}).items()}
    if inputs is not None:
        for inp in graph["inputs"]:
            t = inputs.get(inp["name"])
            if t is None:
                continue
            for d, size in zip(inp["shape"], t.shape):
                if str(d).isidentifier() and d not in symbols:
                    symbols[d] = int(size)
    return symbols


def check_inputs(graph, inputs, symbols, path):
    for inp in graph["inputs"]:
        name = inp["name"]
        if name not in inputs:
            raise OracleError(f"inputs file '{path}': missing input '{name}' ({inp['role']}, shape {inp['shape']})")
        want = shape_of(inp["shape"], symbols, f"input '{name}'")
        t = inputs[name]
        if list(t.shape) != want:
            raise OracleError(f"inputs file '{path}': input '{name}' has shape {list(t.shape)}; expected {want} (graph shape {inp['shape']}, symbols {symbols})")
        if inp["role"] in ("categorical", "offsets") and t.dtype != torch.int64:
            raise OracleError(f"inputs file '{path}': {inp['role']} input '{name}' has dtype {t.dtype}; expected int64")
        if inp["role"] not in ("categorical", "offsets") and not t.dtype.is_floating_point:
            raise OracleError(f"inputs file '{path}': input '{name}' has dtype {t.dtype}; expected floating point")


def outputs_of(graph, env):
    return {o["name"]: env[parse_ref(o["value"])] for o in graph["outputs"]}


def prepare(req):
    graph = load_graph(req["graph"])
    mode = req["mode"]
    opts = Options(req.get("options"), mode)
    model, layers = build_model(graph, opts.dtype)
    return graph, mode, opts, model, layers


def run_names(graph, model):
    sd = model.state_dict()
    params = dict(model.named_parameters())
    return {}, {"state_dict": [{"name": n, "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
                                "buffer": n not in params} for n, t in sd.items()]}


def run_numeric(req, graph, mode, opts, model, layers):
    if "weights" not in req:
        raise OracleError(f"mode '{mode}' needs 'weights' (a safetensors file of the graph's state_dict)")
    weights = read_safetensors(req["weights"])
    load_weights(model, graph, weights, opts.dtype, req["weights"])
    inputs_all = read_safetensors(req["inputs"]) if "inputs" in req else {}
    inputs = {i["name"]: inputs_all[i["name"]] for i in graph["inputs"] if i["name"] in inputs_all}
    symbols = bind_symbols(graph, req.get("symbols"), inputs)
    check_inputs(graph, inputs, symbols, req.get("inputs", "<none>"))
    inputs = {n: (t if t.dtype == torch.int64 else t.to(opts.dtype)) for n, t in inputs.items()}
    for name, t in inputs.items():
        if t.dtype.is_floating_point:
            t.requires_grad_(mode != "forward")
    ex = Executor(graph, layers, symbols, opts)
    with torch.set_grad_enabled(mode != "forward"):
        env = ex.run(inputs, inputs_all)
    outs = outputs_of(graph, env)
    result = {f"output.{n}": t for n, t in outs.items()}
    if opts.values:
        for node in graph["nodes"]:
            for i in range(len(node["outputShapes"])):
                result[f"value.{ref_text((node['id'], i))}"] = env[(node["id"], i)]
    if mode == "forward":
        return result, {"symbols": symbols}
    # grad / adam_step: seeds 'seed.<output>' from the inputs file, else the loss is the sum of every output.
    tensors, seeds = [], []
    for name, t in outs.items():
        seed = inputs_all.get("seed." + name)
        if seed is not None:
            if list(seed.shape) != list(t.shape):
                raise OracleError(f"inputs file '{req['inputs']}': seed 'seed.{name}' has shape {list(seed.shape)}; output '{name}' has {list(t.shape)}")
            seeds.append(seed.to(t.dtype))
        else:
            seeds.append(torch.ones_like(t))
        tensors.append(t)
    params = dict(model.named_parameters())
    for p in params.values():
        p.grad = None
    torch.autograd.backward(tensors, seeds)
    for name, p in params.items():
        result[f"grad.{name}"] = p.grad if p.grad is not None else torch.zeros_like(p)
    for name, t in inputs.items():
        if t.dtype.is_floating_point:
            result[f"input_grad.{name}"] = t.grad if t.grad is not None else torch.zeros_like(t)
    if mode == "grad":
        return result, {"symbols": symbols}
    opt = torch.optim.Adam(model.parameters(), lr=opts.lr, betas=opts.betas, eps=opts.eps, weight_decay=opts.weight_decay, amsgrad=opts.amsgrad)
    opt.step()
    for name, t in model.state_dict().items():
        result[f"param.{name}"] = t
    return result, {"symbols": symbols}


def feature_axis(inp):
    """The axis a feature input's schema features sit on: 'featureAxis' when given, else the last."""
    return int(inp.get("featureAxis", len(inp["shape"]) - 1))


def feature_slots(graph, layers):
    """Slots in FeatureSpace.FromGraph order: feature inputs by index on their feature axis (the last one unless
    'featureAxis' says otherwise), categorical inputs by value."""
    slots = []
    vocab = {}
    for node in graph["nodes"]:
        if node["op"]["kind"] == "call" and layers[node["op"]["module"]][1]["kind"] in ("Embedding", "EmbeddingBag"):
            vocab[parse_ref(node["operands"][0])[0]] = layers[node["op"]["module"]][1]["numEmbeddings"]
    for inp in graph["inputs"]:
        if inp["role"] == "features":
            for j in range(int(inp["shape"][feature_axis(inp)])):
                slots.append((inp["name"], j))
        elif inp["role"] == "categorical":
            if inp["name"] not in vocab:
                raise OracleError(f"categorical input '{inp['name']}' is read by no Embedding")
            for v in range(vocab[inp["name"]]):
                slots.append((inp["name"], v))
    return slots, vocab


def even_offsets(graph, layers, inp, shapes):
    """Bag offsets spread evenly over the flat index input, as the C# gradient mapper draws them (BagOffsets)."""
    for node in graph["nodes"]:
        if len(node["operands"]) == 2 and parse_ref(node["operands"][1])[0] == inp["name"]:
            spec = layers[node["op"]["module"]][1]
            length = 1
            for d in shapes[parse_ref(node["operands"][0])[0]]:
                length *= d
            count = shapes[inp["name"]][0]
            bags = count - 1 if spec["includeLastOffset"] else count
            values = [0] + sorted(i * length // max(bags, 1) for i in range(1, count))
            if spec["includeLastOffset"]:
                values[-1] = length
            return torch.tensor(values, dtype=torch.int64)
    raise OracleError(f"offsets input '{inp['name']}' is read by no EmbeddingBag")


def init_gradmap(model, layers, opts):
    """Paper 001 section 2.3.1: 'random' is torch's default init; 'positive' draws every non-bias weight from
    U(low, high) / fan_in with low > 0 (paper 001 section 2.3.1: strictly positive weights, inputs of sigmoid and
    tanh kept out of saturation). Biases are zero in both (Table 2's x + w row assumes the bias does not make an
    output non-zero on its own), BatchNorm's running statistics are 0 and 1."""
    gen = torch.Generator().manual_seed(opts.seed)
    torch.manual_seed(opts.seed)
    with torch.no_grad():
        for layer, spec in layers.values():
            if spec["kind"] == "Tensor":
                # A tensor field starts as its factory made it (zeros unless ones or randn); with the positive remedy,
                # like any non-bias weight (the C# initializer does the same, fan-in = numel / rows).
                parent, name = layer
                t = getattr(parent, name)
                if opts.init == "positive":
                    u = torch.rand(t.shape, generator=gen, dtype=torch.float64) * (opts.positive_high - opts.positive_low) + opts.positive_low
                    if t.dim() >= 2:
                        u = u / (t.numel() // t.shape[0])
                    t.copy_(u.to(t.dtype))
                elif spec["init"] == "ones":
                    t.fill_(1.0)
                elif spec["init"] == "normal":
                    t.copy_(torch.randn(t.shape, generator=gen, dtype=torch.float64).to(t.dtype))
                else:
                    t.zero_()
                continue
            if isinstance(layer, nn.LayerNorm) and layer.bias is None:
                if layer.weight is not None:
                    layer.weight.fill_(1.0)  # reset_parameters would touch the removed bias
            elif hasattr(layer, "reset_parameters"):
                layer.reset_parameters()
            for name, p in layer.named_parameters():
                if "bias" in name:
                    p.zero_()
                elif opts.init == "positive":
                    u = torch.rand(p.shape, generator=gen, dtype=torch.float64) * (opts.positive_high - opts.positive_low) + opts.positive_low
                    if p.dim() >= 2 and not isinstance(layer, (nn.Embedding, nn.EmbeddingBag)):
                        # Divided by the fan-in so pre-activations stay in sigmoid/tanh's unsaturated range (the
                        # paper's third remedy); an Embedding's input is one-hot, its fan-in is 1.
                        u = u / (p.numel() // p.shape[0])
                    p.copy_(u.to(p.dtype))


def run_gradmap(req, graph, opts, model, layers):
    if opts.init == "given":
        if "weights" not in req:
            raise OracleError("gradmap with init 'given' needs 'weights'")
        weights = read_safetensors(req["weights"])
        load_weights(model, graph, weights, opts.dtype, req["weights"])
    else:
        init_gradmap(model, layers, opts)
    symbols = {str(k): int(v) for k, v in (req.get("symbols") or {}).items()}
    for inp in graph["inputs"]:
        for d in inp["shape"]:
            for part in str(d).replace("-", "+").replace("*", "+").split("+"):
                if part.isidentifier() and part not in symbols:
                    symbols[part] = 2  # TraceOptions.DefaultSymbolSize
    slots, vocab = feature_slots(graph, layers)
    wanted = range(len(slots)) if opts.slots is None else [int(s) for s in opts.slots]
    params = [(n, p) for n, p in model.named_parameters()]
    shapes = {i["name"]: shape_of(i["shape"], symbols, f"input '{i['name']}'") for i in graph["inputs"]}
    gen = torch.Generator().manual_seed(opts.seed + 1)
    given_c = read_safetensors(req["inputs"]) if opts.loss == "given" and "inputs" in req else {}
    weights_c = {}  # positive loss weights per value: dC/dy != 0 for every element (eq. 4's assumption)
    bits = {n: torch.zeros(p.numel(), (len(slots) + 7) // 8, dtype=torch.uint8) for n, p in params}
    footnote5 = {}
    ex = Executor(graph, layers, symbols, opts, gradmap=True)
    started = time.perf_counter()
    for s in wanted:
        if s < 0 or s >= len(slots):
            raise OracleError(f"options: slot {s} is outside [0, {len(slots)})")
        name, index = slots[s]
        inputs = {}
        for inp in graph["inputs"]:
            shape = shapes[inp["name"]]
            if inp["role"] == "offsets":
                inputs[inp["name"]] = even_offsets(graph, layers, inp, shapes)
                continue
            if inp["role"] == "categorical":
                shape = shape + [vocab[inp["name"]]]
            t = torch.zeros(shape, dtype=opts.dtype)
            if inp["name"] == name:
                # One-hot at every position (the mirror unions over positions), along the input's feature axis.
                axis = feature_axis(inp) if inp["role"] == "features" else t.dim() - 1
                t.narrow(axis, index, 1).fill_(1.0)
            inputs[inp["name"]] = t
        ex.footnote5 = []
        env = ex.run(inputs)
        if opts.loss == "given":
            values = [(("output", o["name"]), env[parse_ref(o["value"])]) for o in graph["outputs"]]
        elif opts.loss in ("outputs", "sum_outputs"):
            values = [(parse_ref(o["value"]), env[parse_ref(o["value"])]) for o in graph["outputs"]]
        else:
            # Every node's value, but not parameter rows read as a value (a tensor field, a narrow of one, a position
            # table's lookup of an arange): their gradient would be the loss weight, not an interaction.
            values = [((n["id"], i), env[(n["id"], i)]) for n in graph["nodes"] for i in range(len(n["outputShapes"]))
                      if not ex.is_field(n["id"])]
        loss = 0
        for key, v in values:
            if not v.requires_grad:
                continue
            if key not in weights_c and opts.loss == "given":
                # c from the inputs file (seed.OUTPUT), e.g. the weights the C# GradientMapper used.
                out_name = key[1]
                if "seed." + out_name not in given_c:
                    raise OracleError(f"loss 'given' needs 'seed.{out_name}' in the inputs file")
                weights_c[key] = given_c["seed." + out_name].to(v.dtype).reshape(v.shape)
            elif key not in weights_c and opts.loss == "sum_outputs":
                # The plain sum of the outputs (ones as seeds); the C# GradientMapper now uses positive random weights (loss: given).
                weights_c[key] = torch.ones(v.shape, dtype=v.dtype)
            elif key not in weights_c:
                weights_c[key] = (torch.rand(v.shape, generator=gen, dtype=torch.float64) + 0.5).to(v.dtype)
            loss = loss + (v * weights_c[key]).sum()
        if isinstance(loss, int):
            grads = [None] * len(params)
        else:
            grads = torch.autograd.grad(loss, [p for _, p in params], allow_unused=True)
        byte, shift = s // 8, s % 8
        for (n, p), g in zip(params, grads):
            if g is not None:
                column = bits[n][:, byte]
                column |= (g.reshape(-1) != 0).to(torch.uint8) << shift
        if ex.footnote5:
            footnote5[s] = sorted(set(ex.footnote5))
    elapsed = time.perf_counter() - started
    # Per parameter element a set id; the table of sets goes to the summary.
    table = {}
    sets = []
    result = {}
    for n, p in params:
        uniq, inverse = torch.unique(bits[n], dim=0, return_inverse=True)
        ids = torch.empty(uniq.shape[0], dtype=torch.int32)
        for r in range(uniq.shape[0]):
            row = bytes(uniq[r].tolist())
            key = row
            if key not in table:
                members = [8 * b + k for b, v in enumerate(row) for k in range(8) if v >> k & 1]
                table[key] = len(sets)
                sets.append(members)
            ids[r] = table[key]
        result[f"gradmap.{n}"] = ids[inverse].reshape(p.shape) if p.numel() > 0 else torch.zeros(p.shape, dtype=torch.int32)
    summary = {
        "slots": [[n, i] for n, i in slots],
        "traced": list(wanted),
        "sets": sets,
        "footnote5": {str(k): v for k, v in footnote5.items()},
        "symbols": symbols,
        "seconds": elapsed,
    }
    return result, summary


# ------------------------------------------------------------------------------------------ unit removal

def run_remove_units(req, graph, opts, model, layers):
    """Issue 15: removes units of one layer by hand. Which indices a removal touches is followed here, in Python,
    through the graph's values (concat offsets, elementwise ops, reductions, norms) independently of Core's tracer;
    the state_dict is sliced with torch indexing and, with meanReplacement, each consumer's removed columns times
    its input mean over the given inputs are added to its bias (paper 002 eq. 1.6)."""
    removal = req.get("removal")
    if not isinstance(removal, dict) or "module" not in removal or "units" not in removal:
        raise OracleError("mode 'remove_units' needs 'removal': {\"module\": PATH, \"units\": [...], \"meanReplacement\": bool}")
    target = removal["module"]
    units = sorted(int(u) for u in removal["units"])
    if target not in layers:
        raise OracleError(f"removal: the graph has no module '{target}'")
    layer, spec = layers[target]
    width = {"Linear": spec.get("outFeatures"), "LSTM": spec.get("hiddenSize"), "GRU": spec.get("hiddenSize")}.get(spec["kind"])
    if width is None:
        raise OracleError(f"removal: module '{target}' is a {spec['kind']}; the oracle removes units of Linear, LSTM and GRU layers")
    if spec["kind"] in ("LSTM", "GRU") and (spec["numLayers"] != 1 or spec["bidirectional"]):
        raise OracleError(f"removal: module '{target}' has several layers or directions")
    if any(u < 0 or u >= width for u in units):
        raise OracleError(f"removal: units {units} outside 0..{width - 1} of '{target}'")

    weights = read_safetensors(req["weights"])
    load_weights(model, graph, weights, opts.dtype, req["weights"])
    inputs_all = read_safetensors(req["inputs"])
    inputs = {i["name"]: inputs_all[i["name"]].to(opts.dtype) for i in graph["inputs"]}
    symbols = bind_symbols(graph, req.get("symbols"), inputs)
    with torch.no_grad():
        env = Executor(graph, layers, symbols, opts).run(inputs)

    # marks: value -> (axis, sorted positions carrying removed units)
    marks = {}
    dropped = {}  # (module, parameter local name) -> {axis: positions}
    consumers = []  # (module, spec, positions, node)

    def drop(module, name, axis, positions):
        dropped.setdefault((module, name), {}).setdefault(axis, set()).update(positions)

    def rank_of(node_id, i=0):
        return env[(node_id, i)].dim()

    for node in graph["nodes"]:
        op = node["op"]
        k = op["kind"]
        refs = [parse_ref(o) for o in node["operands"]]
        marked = [(i, marks[r]) for i, r in enumerate(refs) if r in marks]
        out_rank = rank_of(node["id"])
        if k == "call" and op["module"] == target:
            if marked:
                raise OracleError(f"node '{node['id']}': the removed layer reads its own units")
            for i in range(len(node["outputShapes"])):
                marks[(node["id"], i)] = (rank_of(node["id"], i) - 1, units)
            continue
        if not marked:
            continue
        if k == "call":
            m, mspec = layers[op["module"]]
            axis, pos = marked[0][1]
            x_rank = env[refs[0]].dim()
            if mspec["kind"] in ("Linear", "LSTM", "GRU"):
                if axis != x_rank - 1:
                    raise OracleError(f"node '{node['id']}': '{op['module']}' reads removed units on axis {axis}, not its feature axis")
                consumers.append((op["module"], mspec, pos, node))
                continue
            if mspec["kind"] in ("BatchNorm1d", "LayerNorm"):
                channel = 1 if mspec["kind"] == "BatchNorm1d" else x_rank - 1
                if axis != channel:
                    raise OracleError(f"node '{node['id']}': '{op['module']}' normalises over the removed units' axis")
                for name in ("weight", "bias", "running_mean", "running_var"):
                    drop(op["module"], name, 0, pos)
                marks[(node["id"], 0)] = (axis, pos)
                continue
            raise OracleError(f"node '{node['id']}': the oracle does not follow removed units into a {mspec['kind']}")
        if k in ("activation", "dropout", "scale", "add", "sub", "mul"):
            result = set()
            out_axis = None
            for i, (axis, pos) in marked:
                a = axis + (out_rank - env[refs[i]].dim())
                if out_axis is not None and a != out_axis:
                    raise OracleError(f"node '{node['id']}': removed units on two axes")
                out_axis = a
                result.update(pos)
            marks[(node["id"], 0)] = (out_axis, sorted(result))
            continue
        if k == "concat":
            cat_axis = op["axis"] % out_rank
            result, offset, out_axis = set(), 0, None
            for i, r in enumerate(refs):
                if r in marks:
                    axis, pos = marks[r]
                    out_axis = axis
                    result.update(p + offset if axis == cat_axis else p for p in pos)
                offset += env[r].shape[cat_axis]
            marks[(node["id"], 0)] = (out_axis, sorted(result))
            continue
        if k in ("max", "mean", "sum"):
            axis, pos = marked[0][1]
            reduced = op["axis"] % env[refs[0]].dim()
            if reduced == axis:
                raise OracleError(f"node '{node['id']}': reduces over the removed units")
            marks[(node["id"], 0)] = (axis - (0 if op["keepDim"] or reduced > axis else 1), pos)
            continue
        raise OracleError(f"node '{node['id']}': the oracle does not follow removed units through {k!r}")

    for o in graph["outputs"]:
        if parse_ref(o["value"]) in marks:
            raise OracleError(f"removal: output '{o['name']}' carries removed units")

    # The removed layer's own slices.
    if spec["kind"] == "Linear":
        drop(target, "weight", 0, units)
        drop(target, "bias", 0, units)
    else:
        gates = 4 if spec["kind"] == "LSTM" else 3
        rows = [g * width + u for g in range(gates) for u in units]
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            drop(target, name, 0, rows)
        drop(target, "weight_hh_l0", 1, units)

    sd = {n: t.detach().clone() for n, t in model.state_dict().items()}
    mean_replacement = bool(removal.get("meanReplacement", False))
    for module, mspec, pos, node in consumers:
        weight = "weight" if mspec["kind"] == "Linear" else "weight_ih_l0"
        bias = "bias" if mspec["kind"] == "Linear" else "bias_ih_l0"
        drop(module, weight, 1, pos)
        full = f"{module}.{bias}"
        if mean_replacement and full in sd:
            x = env[parse_ref(node["operands"][0])]
            mean = x.reshape(-1, x.shape[-1]).mean(0)
            cols = torch.tensor(pos, dtype=torch.int64)
            sd[full] += sd[f"{module}.{weight}"].index_select(1, cols) @ mean.index_select(0, cols)

    result = {}
    for name, t in sd.items():
        module, local = name.rsplit(".", 1)
        for axis, pos in sorted(dropped.get((module, local), {}).items()):
            keep = torch.tensor([i for i in range(t.shape[axis]) if i not in pos], dtype=torch.int64)
            t = t.index_select(axis, keep)
        result[f"param.{name}"] = t
    summary = {"consumers": [{"module": c[0], "columns": c[2]} for c in consumers], "symbols": symbols}
    return result, summary


def handle(req):
    if not isinstance(req, dict):
        raise OracleError("request: expected a JSON object")
    for key in ("graph", "mode", "output", "summary"):
        if key not in req:
            raise OracleError(f"request: missing {key!r}")
    if req["mode"] not in ("names", "forward", "grad", "adam_step", "gradmap", "remove_units"):
        raise OracleError(f"request: mode {req['mode']!r}; expected names, forward, grad, adam_step, gradmap or remove_units")
    started = time.perf_counter()
    graph, mode, opts, model, layers = prepare(req)
    if mode == "names":
        tensors, summary = run_names(graph, model)
    elif mode == "gradmap":
        tensors, summary = run_gradmap(req, graph, opts, model, layers)
    elif mode == "remove_units":
        tensors, summary = run_remove_units(req, graph, opts, model, layers)
    else:
        tensors, summary = run_numeric(req, graph, mode, opts, model, layers)
    write_safetensors(req["output"], tensors)
    summary.update({"ok": True, "mode": mode, "graph": graph["name"], "tensors": list(tensors), "total_seconds": time.perf_counter() - started})
    return summary


def main(argv):
    if len(argv) != 2:
        print("usage: torch_oracle.py REQUEST.json", file=sys.stderr)
        return 2
    try:
        with open(argv[1], "r", encoding="utf-8") as f:
            top = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        print(f"oracle: request file '{argv[1]}': {e}", file=sys.stderr)
        return 2
    if top.get("version") != REQUEST_VERSION:
        print(f"oracle: request file '{argv[1]}': version {top.get('version')!r}; expected {REQUEST_VERSION}", file=sys.stderr)
        return 2
    torch.set_num_threads(int(top.get("threads", 1)))
    requests = top.get("requests", [])
    failed = 0
    for i, req in enumerate(requests):
        try:
            summary = handle(req)
        except OracleError as e:
            failed += 1
            summary = {"ok": False, "error": str(e)}
            print(f"oracle: request {i} ({req.get('graph', '?') if isinstance(req, dict) else '?'}): {e}", file=sys.stderr)
        except Exception as e:  # a bug here, not bad input: keep the trace
            failed += 1
            summary = {"ok": False, "error": f"internal error: {type(e).__name__}: {e}"}
            print(f"oracle: request {i}: internal error\n{traceback.format_exc()}", file=sys.stderr)
        if isinstance(req, dict) and "summary" in req:
            with open(req["summary"], "w", encoding="utf-8") as f:
                json.dump(summary, f)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

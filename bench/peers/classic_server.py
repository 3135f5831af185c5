"""The classic way to serve a model, for comparison: FastAPI + PyTorch, one request at a time, the GPU-server habit of
a global lock around generate(). It serves ModelMeter's demo models from the same files (model.onnx's weights,
vocab.json and merges.txt), greedy, with a key/value cache, so its answers can be compared token for token.

Run with Debian's packages (python3-torch, python3-fastapi, python3-uvicorn):
    /usr/bin/python3 bench/peers/classic_server.py src/ModelMeter.Server/models 8500
POST /v1/generate/{model} {"prompt": "...", "max_tokens": 32} -> {"model", "text", "output_tokens", "latency_seconds"}.
Written for this comparison; it knows only the GPT-2 shape the demo models have.
"""
import json, math, os, re, struct, sys, threading, time

import torch
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel


def read_varint(data, i):
    value, shift = 0, 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def fields(data):
    """(field number, wire type, value) of a protobuf message; length-delimited values as memoryviews."""
    i, view = 0, memoryview(data)
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 1:
            value, i = view[i:i + 8], i + 8
        elif wire == 2:
            length, i = read_varint(data, i)
            value, i = view[i:i + length], i + length
        elif wire == 5:
            value, i = view[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def onnx_weights(path):
    """The float initializers of an ONNX model by name (ModelProto.graph = 7, GraphProto.initializer = 5)."""
    with open(path, "rb") as f:
        model = f.read()
    graph = next(bytes(v) for n, w, v in fields(model) if n == 7)
    weights = {}
    for n, w, v in fields(graph):
        if n != 5:
            continue
        dims, kind, name, raw = [], None, None, None
        for fn, fw, fv in fields(bytes(v)):
            if fn == 1:
                dims.extend([fv] if fw == 0 else list(struct.unpack(f"<{len(fv) // 8}q", fv)))
            elif fn == 2:
                kind = fv
            elif fn == 8:
                name = bytes(fv).decode()
            elif fn == 9:
                raw = bytes(fv)
        if kind == 1 and raw is not None:  # FLOAT
            weights[name] = torch.frombuffer(bytearray(raw), dtype=torch.float32).reshape(dims)
    return weights


def bytes_to_unicode():
    visible = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes, extra = visible[:], 0
    for b in range(256):
        if b not in visible:
            visible.append(b)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(visible, map(chr, codes)))


class Gpt2Tokenizer:
    # GPT-2's pattern with ASCII classes (no `regex` module on Debian's default python): enough for ASCII prompts.
    pattern = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")

    def __init__(self, directory):
        with open(os.path.join(directory, "vocab.json"), encoding="utf-8") as f:
            self.vocab = json.load(f)
        self.inverse = {v: k for k, v in self.vocab.items()}
        with open(os.path.join(directory, "merges.txt"), encoding="utf-8") as f:
            merges = [tuple(line.split()) for line in f.read().split("\n")[1:] if line and not line.startswith("#")]
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        self.encoder = bytes_to_unicode()
        self.decoder = {v: k for k, v in self.encoder.items()}

    def bpe(self, word):
        parts = list(word)
        while len(parts) > 1:
            pairs = [(self.ranks.get((a, b), math.inf), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            rank, i = min(pairs)
            if rank == math.inf:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        return parts

    def encode(self, text):
        ids = []
        for piece in self.pattern.findall(text):
            word = "".join(self.encoder[b] for b in piece.encode("utf-8"))
            ids.extend(self.vocab[p] for p in self.bpe(word))
        return ids

    def decode(self, ids):
        return bytes(self.decoder[c] for i in ids for c in self.inverse[i]).decode("utf-8", errors="replace")


class Gpt2:
    def __init__(self, directory):
        with open(os.path.join(directory, "config.json")) as f:
            config = json.load(f)
        self.layers, self.heads, self.width = config["n_layer"], config["n_head"], config["n_embd"]
        self.eos = config["eos_token_id"]
        self.w = onnx_weights(os.path.join(directory, "model.onnx"))
        self.tokenizer = Gpt2Tokenizer(directory)

    def linear(self, x, name):
        return x @ self.w[f"{name}.weight"] + self.w[f"{name}.bias"]

    def norm(self, x, name):
        return torch.nn.functional.layer_norm(x, (self.width,), self.w[f"{name}.weight"], self.w[f"{name}.bias"], 1e-5)

    def step(self, ids, cache):
        """Logits of the last position of `ids` (new tokens), given the cache of earlier ones; the cache grows."""
        past = cache[0][0].shape[2] if cache else 0
        positions = torch.arange(past, past + len(ids))
        h = self.w["transformer.wte.weight"][ids] + self.w["transformer.wpe.weight"][positions]
        split = lambda t: t.view(len(ids), self.heads, self.width // self.heads).transpose(0, 1).unsqueeze(0)
        for i in range(self.layers):
            p = f"transformer.h.{i}"
            x = self.norm(h, f"{p}.ln_1")
            q, k, v = (split(self.linear(x, f"{p}.attn.{n}")) for n in "qkv")
            if cache and len(cache) > i:
                k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
                cache[i] = (k, v)
            else:
                cache.append((k, v))
            scores = q @ k.transpose(-1, -2) / math.sqrt(self.width // self.heads)
            causal = torch.arange(k.shape[2]).unsqueeze(0) <= positions.unsqueeze(1)
            attended = torch.softmax(scores.masked_fill(~causal, -1e9), -1) @ v
            h = h + self.linear(attended.squeeze(0).transpose(0, 1).reshape(len(ids), self.width), f"{p}.attn.c_proj")
            up = self.linear(self.norm(h, f"{p}.ln_2"), f"{p}.mlp.c_fc")
            h = h + self.linear(torch.nn.functional.gelu(up), f"{p}.mlp.c_proj")
        last = self.norm(h[-1:], "transformer.ln_f")
        return (last @ self.w["transformer.wte.weight"].T)[0]

    @torch.no_grad()
    def generate(self, prompt, max_tokens):
        ids = self.tokenizer.encode(prompt) or [self.eos]
        cache, out = [], []
        logits = self.step(torch.tensor(ids), cache)
        while len(out) < max_tokens:
            token = int(torch.argmax(logits))
            if token == self.eos:
                break
            out.append(token)
            if len(out) < max_tokens:
                logits = self.step(torch.tensor([token]), cache)
        return out


class Request(BaseModel):
    prompt: str
    max_tokens: int = 50


models = {name: Gpt2(os.path.join(sys.argv[1], name)) for name in sorted(os.listdir(sys.argv[1]))
          if os.path.exists(os.path.join(sys.argv[1], name, "model.onnx"))}
lock = threading.Lock()
app = FastAPI()


@app.post("/v1/generate/{model}")
def generate(model: str, request: Request):
    if model not in models:
        raise HTTPException(404, f"unknown model {model}")
    started = time.monotonic()
    with lock:  # one request at a time, as the classic server does
        tokens = models[model].generate(request.prompt, request.max_tokens)
    return {"model": model, "text": models[model].tokenizer.decode(tokens), "output_tokens": len(tokens),
            "latency_seconds": time.monotonic() - started}


if __name__ == "__main__":
    torch.set_num_threads(os.cpu_count() or 1)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]) if len(sys.argv) > 2 else 8500, log_level="warning")

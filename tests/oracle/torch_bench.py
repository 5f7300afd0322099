#!/usr/bin/env python3
"""PyTorch CPU column of the exec bench (tests/NeuralSurgery.Benchmarks exec; issue 5: "benchmarks against PyTorch
CPU on this machine, side by side in one run").

usage: torch_bench.py REQUEST.json  ->  prints one JSON object on stdout

REQUEST: {"threads": T, "matmul": N, "runs": R, "graph": PATH, "weights": PATH, "inputs": PATH,
          "heads": [NAME, ...], "lr": LR}
Times, as medians of R runs after warm-up: torch.mm of two N×N float32 matrices, and one training step of the graph
(the model torch_oracle.py builds from the same graph JSON, weights and inputs as the C# side: train-mode forward,
cross-entropy with class 0 on every head, backward, torch.optim.Adam step). torch.set_num_threads(T) matches our
thread count so the comparison is core for core.
"""

import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torch_oracle as o  # noqa: E402


def median_ms(fn, runs, warm=3):
    for _ in range(warm):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main(argv):
    with open(argv[1], "r", encoding="utf-8") as f:
        req = json.load(f)
    torch.set_num_threads(int(req["threads"]))
    runs = int(req.get("runs", 10))
    result = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    n = int(req["matmul"])
    g = torch.Generator().manual_seed(0)
    a = torch.rand(n, n, generator=g) * 2 - 1
    b = torch.rand(n, n, generator=g) * 2 - 1
    c = torch.empty(n, n)
    result["matmul_ms"] = median_ms(lambda: torch.mm(a, b, out=c), runs)

    graph = o.load_graph(req["graph"])
    opts = o.Options({"training": True}, "adam_step")
    model, layers = o.build_model(graph, torch.float32)
    o.load_weights(model, graph, o.read_safetensors(req["weights"]), torch.float32, req["weights"])
    model.train()
    raw = o.read_safetensors(req["inputs"])
    inputs = {i["name"]: (raw[i["name"]] if raw[i["name"]].dtype == torch.int64 else raw[i["name"]].float()) for i in graph["inputs"]}
    symbols = o.bind_symbols(graph, None, inputs)
    ex = o.Executor(graph, layers, symbols, opts)
    opt = torch.optim.Adam(model.parameters(), lr=float(req.get("lr", 1e-4)))
    heads = req["heads"]
    parts = {"forward": [], "backward": [], "adam": []}

    def step():
        t0 = time.perf_counter()
        outs = o.outputs_of(graph, ex.run(inputs))
        loss = sum(F.cross_entropy(outs[h], torch.zeros(outs[h].shape[0], dtype=torch.int64)) for h in heads)
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        parts["forward"].append((t1 - t0) * 1000)
        parts["backward"].append((t2 - t1) * 1000)
        parts["adam"].append((t3 - t2) * 1000)

    result["step_ms"] = median_ms(step, runs)
    for k, v in parts.items():
        result[k + "_ms"] = statistics.median(v[3:])
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

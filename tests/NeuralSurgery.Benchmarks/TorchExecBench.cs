using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Oracle;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using RefTensor = NeuralSurgery.Runtime.Reference.Tensor;
using TorchTensor = TorchSharp.torch.Tensor;

namespace NeuralSurgery.Benchmarks;

/// <summary>Medians of one side of the exec comparison, in ms.</summary>
internal sealed record ExecTimes(double MatMul, double Forward, double Backward, double Adam, double Step);

/// <summary>
/// The baseline of <c>exec</c> (issue 5: "side by side in one run"): TorchSharp CPU (libtorch 2.10) in the same
/// process, on the same workloads: torch.mm of the same two matrices, and one training step of the same graph
/// (interpreted node by node over TorchSharp modules: nn.Linear, nn.Embedding, nn.LSTM, ...) with the same weights,
/// inputs, loss (cross-entropy with class 0 on every head) and torch.optim.Adam settings, with
/// torch.set_num_threads equal to the reference executor's thread count (Environment.ProcessorCount). Before
/// timing, its forward (train mode) and gradients are checked against the reference executor's. A python3 that
/// can import torch (tests/oracle/torch_bench.py) adds an informational column; ratios are ours / TorchSharp.
/// </summary>
internal static class TorchExecBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static bool Compare(
        int size,
        int runs,
        float[] a,
        float[] b,
        float[] oursProduct,
        ExecTimes ours,
        ModelGraph graph,
        StateDict weights,
        IReadOnlyDictionary<string, RefTensor> inputs,
        IReadOnlyList<string> heads,
        double lr)
    {
        var threads = Environment.ProcessorCount;
        try
        {
            torch.set_num_threads(threads);
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException or InvalidOperationException)
        {
            Console.WriteLine($"TorchSharp column skipped: libtorch did not load ({e.GetBaseException().Message})");
            return false;
        }

        var torchVersion = typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "?";
        var libtorch = string.Join('.', torch.__version__.Split('.').Take(3));
        Console.WriteLine($"TorchSharp {torchVersion} CPU (libtorch {libtorch}), torch.get_num_threads() = {torch.get_num_threads()}, reference executor threads (Environment.ProcessorCount) = {threads}");

        var (mm, mmAgreement) = MatMul(size, runs, a, b, oursProduct);
        Console.WriteLine($"torch.mm agreement with MatMul.Multiply: max relative difference {mmAgreement:E2} ({(mmAgreement < 1e-4 ? "agree" : "DIFFER")})");
        var (step, forwardAgreement, gradAgreement) = TrainingStep(runs, graph, weights, inputs, heads, lr);
        var agree = mmAgreement < 1e-4 && forwardAgreement < 1e-4 && gradAgreement < 1e-4;
        Console.WriteLine($"training step agreement with the reference executor (same weights and inputs, train mode): forward outputs max relative difference {forwardAgreement:E2}, parameter gradients {gradAgreement:E2} ({(agree ? "agree" : "DIFFER")}, tolerance 1e-4)");
        var theirs = step with { MatMul = mm };
        var python = PythonColumn(size, runs, graph, weights, inputs, heads, lr);

        Console.WriteLine();
        Console.WriteLine($"side by side with TorchSharp {torchVersion} CPU (libtorch {libtorch}), {torch.get_num_threads()} threads each, medians; ratio = ours / TorchSharp (goal ≤ 2)");
        var pyHeader = python is null ? string.Empty : $" {"py " + python.Value.Version + " ms",16}";
        Console.WriteLine($"{"work",-36} {"ours ms",9} {"TorchSharp ms",14} {"ratio",7}{pyHeader}");
        void Row(string name, double o, double t, double? p) =>
            Console.WriteLine($"{name,-36} {o.ToString("F1", Inv),9} {t.ToString("F1", Inv),14} {(o / t).ToString("F2", Inv),6}x{(p is { } v ? " " + v.ToString("F1", Inv).PadLeft(16) : string.Empty)}");
        Row($"matmul {size}x{size}x{size} float32", ours.MatMul, theirs.MatMul, python?.Times.MatMul);
        Row("training step: forward + loss", ours.Forward, theirs.Forward, python?.Times.Forward);
        Row("training step: backward", ours.Backward, theirs.Backward, python?.Times.Backward);
        Row("training step: Adam", ours.Adam, theirs.Adam, python?.Times.Adam);
        Row("training step (all three)", ours.Step, theirs.Step, python?.Times.Step);
        return agree;
    }

    private static (double Ms, double Agreement) MatMul(int n, int runs, float[] a, float[] b, float[] oursProduct)
    {
        using var ta = torch.tensor(a, [n, n], ScalarType.Float32);
        using var tb = torch.tensor(b, [n, n], ScalarType.Float32);
        void Mm()
        {
            using var c = torch.mm(ta, tb);
        }

        Measure.WarmUp(Mm, 3, 500);
        var (ms, _) = Measure.Repeat(Mm, runs, 2000, 100);
        using var product = torch.mm(ta, tb);
        var theirs = product.data<float>().ToArray();
        var worst = 0.0;
        for (var i = 0; i < theirs.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(theirs[i] - oursProduct[i]) / (1 + Math.Abs(oursProduct[i])));
        }

        return (ms, worst);
    }

    private static (ExecTimes Times, double ForwardAgreement, double GradAgreement) TrainingStep(
        int runs, ModelGraph graph, StateDict weights, IReadOnlyDictionary<string, RefTensor> inputs, IReadOnlyList<string> heads, double lr)
    {
        var model = new TorchGraphModel(graph, weights);
        var torchInputs = new Dictionary<string, TorchTensor>(StringComparer.Ordinal);
        var symbols = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            var t = inputs[input.Name];
            var shape = t.ShapeArray().Select(d => (long)d).ToArray();
            torchInputs[input.Name] = input.Role == InputRole.Categorical
                ? torch.tensor(t.Data.Select(v => (long)v).ToArray(), shape, ScalarType.Int64)
                : torch.tensor((float[])t.Data.Clone(), shape, ScalarType.Float32);
            for (var i = 0; i < input.Shape.Rank; i++)
            {
                if (input.Shape[i].IsPlainSymbol)
                {
                    symbols[input.Shape[i].Terms[0].Symbol] = shape[i];
                }
            }
        }

        var batch = inputs[graph.Inputs[0].Name].Dim(0);
        using var target = torch.zeros([batch], ScalarType.Int64);
        TorchTensor Loss(IReadOnlyDictionary<string, TorchTensor> outputs)
        {
            TorchTensor? total = null;
            foreach (var head in heads)
            {
                var l = torch.nn.functional.cross_entropy(outputs[head], target);
                total = total is null ? l : total + l;
            }

            return total!;
        }

        // Agreement, before any step: the reference executor's train-mode forward and gradients of the same loss.
        var reference = ReferenceModel.Load(graph, weights);
        reference.Training = true;
        var pass = reference.Forward(inputs);
        var refGrads = new Dictionary<string, RefTensor>(StringComparer.Ordinal);
        foreach (var head in heads)
        {
            refGrads[head] = Losses.CrossEntropy(pass.Outputs[head], RefTensor.Zeros(batch)).Gradient;
        }

        var refParamGrads = reference.Backward(pass, refGrads).Parameters;
        double forwardAgreement, gradAgreement = 0;
        using (var scope = torch.NewDisposeScope())
        {
            var outputs = model.Forward(torchInputs, symbols, training: true);
            forwardAgreement = graph.Outputs.Max(o => MaxRelative(outputs[o.Name], pass.Outputs[o.Name].Data));
            Loss(outputs).backward();
            foreach (var (name, p) in model.Parameters)
            {
                var g = p.grad;
                gradAgreement = Math.Max(gradAgreement, g is null ? double.PositiveInfinity : MaxRelative(g, refParamGrads[name].Data));
            }
        }

        var optimizer = torch.optim.Adam(model.Parameters.Select(p => p.Value), lr);
        double forwardMs = 0, backwardMs = 0, adamMs = 0;
        void Step()
        {
            var sw = Stopwatch.StartNew();
            using (var scope = torch.NewDisposeScope())
            {
                var outputs = model.Forward(torchInputs, symbols, training: true);
                var loss = Loss(outputs);
                forwardMs = sw.Elapsed.TotalMilliseconds;
                sw.Restart();
                optimizer.zero_grad();
                loss.backward();
                backwardMs = sw.Elapsed.TotalMilliseconds;
            }

            sw.Restart();
            optimizer.step();
            adamMs = sw.Elapsed.TotalMilliseconds;
        }

        Measure.WarmUp(Step, 3, 1000);
        var parts = new List<(double F, double B, double A)>();
        var (stepMs, _) = Measure.Repeat(
            () =>
            {
                Step();
                parts.Add((forwardMs, backwardMs, adamMs));
            },
            runs,
            3000,
            200);
        foreach (var t in torchInputs.Values)
        {
            t.Dispose();
        }

        var times = new ExecTimes(
            0,
            Measure.Median(parts.Select(p => p.F).ToList()),
            Measure.Median(parts.Select(p => p.B).ToList()),
            Measure.Median(parts.Select(p => p.A).ToList()),
            stepMs);
        return (times, forwardAgreement, gradAgreement);
    }

    /// <summary>max |theirs − ours| / (1 + |ours|) over the elements.</summary>
    private static double MaxRelative(TorchTensor theirs, float[] ours)
    {
        var values = theirs.detach().contiguous().data<float>().ToArray();
        if (values.Length != ours.Length)
        {
            return double.PositiveInfinity;
        }

        var worst = 0.0;
        for (var i = 0; i < values.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(values[i] - ours[i]) / (1 + Math.Abs(ours[i])));
        }

        return worst;
    }

    /// <summary>Informational column: tests/oracle/torch_bench.py in a python3 that can import torch, when there is one.</summary>
    private static (string Version, ExecTimes Times)? PythonColumn(int size, int runs, ModelGraph graph, StateDict weights, IReadOnlyDictionary<string, RefTensor> inputs, IReadOnlyList<string> heads, double lr)
    {
        var python = TorchOracle.FindPython();
        if (python is null)
        {
            Console.WriteLine("python torch column skipped: no python3 can import torch (optional; scripts/install-torch.sh installs it)");
            return null;
        }

        var script = Path.Combine(AppContext.BaseDirectory, "oracle", "torch_bench.py");
        var dir = Path.Combine(Path.GetTempPath(), "ns-torch-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "graph.json"), GraphJson.Write(graph));
            weights.Save(Path.Combine(dir, "weights.safetensors"), CheckpointFormat.Safetensors);
            var sd = new StateDict();
            foreach (var input in graph.Inputs)
            {
                var t = inputs[input.Name];
                var shape = t.ShapeArray().Select(d => (long)d).ToArray();
                if (input.Role == InputRole.Categorical)
                {
                    sd.Add(input.Name, t.Data.Select(v => (long)v).ToArray(), shape);
                }
                else
                {
                    sd.Add(input.Name, (float[])t.Data.Clone(), shape);
                }
            }

            sd.Save(Path.Combine(dir, "inputs.safetensors"), CheckpointFormat.Safetensors);
            var request = new JsonObject
            {
                ["threads"] = Environment.ProcessorCount,
                ["matmul"] = size,
                ["runs"] = runs,
                ["graph"] = Path.Combine(dir, "graph.json"),
                ["weights"] = Path.Combine(dir, "weights.safetensors"),
                ["inputs"] = Path.Combine(dir, "inputs.safetensors"),
                ["heads"] = new JsonArray(heads.Select(h => (JsonNode)h!).ToArray()),
                ["lr"] = lr,
            };
            File.WriteAllText(Path.Combine(dir, "request.json"), request.ToJsonString());
            using var p = Process.Start(new ProcessStartInfo(python, [script, Path.Combine(dir, "request.json")]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                Console.WriteLine($"python torch column failed (exit {p.ExitCode}): {stderr.Result.Trim()}");
                return null;
            }

            using var doc = JsonDocument.Parse(stdout);
            var r = doc.RootElement;
            double T(string name) => r.GetProperty(name).GetDouble();
            return (r.GetProperty("torch").GetString() ?? "?", new ExecTimes(T("matmul_ms"), T("forward_ms"), T("backward_ms"), T("adam_ms"), T("step_ms")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary>
/// A <see cref="ModelGraph"/> run on TorchSharp: one torch.nn module per graph module (state_dict names are the
/// graph's, weights copied from a state dict), nodes evaluated in order as tests/oracle/torch_oracle.py's Executor does.
/// </summary>
internal sealed class TorchGraphModel
{
    private readonly ModelGraph _graph;
    private readonly Dictionary<string, nn.Module> _modules = new(StringComparer.Ordinal);

    public TorchGraphModel(ModelGraph graph, StateDict weights)
    {
        _graph = graph;
        foreach (var m in graph.Modules)
        {
            nn.Module module = m.Spec switch
            {
                LinearSpec s => nn.Linear(s.InFeatures, s.OutFeatures, s.Bias),
                EmbeddingSpec s => nn.Embedding(s.NumEmbeddings, s.EmbeddingDim),
                Conv1dSpec s => nn.Conv1d(s.InChannels, s.OutChannels, s.KernelSize, s.Stride, s.Padding, s.Dilation, groups: s.Groups, bias: s.Bias),
                RecurrentSpec { Cell: RecurrentKind.Lstm } s => nn.LSTM(s.InputSize, s.HiddenSize, s.NumLayers, s.Bias, s.BatchFirst, bidirectional: s.Bidirectional),
                RecurrentSpec s => nn.GRU(s.InputSize, s.HiddenSize, s.NumLayers, s.Bias, s.BatchFirst, bidirectional: s.Bidirectional),
                LayerNormSpec s => nn.LayerNorm(s.NormalizedShape.ToArray(), s.Eps, s.ElementwiseAffine, s.Bias),
                BatchNorm1dSpec s => nn.BatchNorm1d(s.NumFeatures, s.Eps, s.Momentum, s.Affine, s.TrackRunningStats),
                _ => throw new NotSupportedException($"module '{m.Path}': layer kind {m.Spec.Kind} has no TorchSharp form here"),
            };
            _modules[m.Path] = module;
        }

        using (torch.no_grad())
        {
            foreach (var (path, module) in _modules)
            {
                foreach (var (name, t) in module.state_dict())
                {
                    var full = path + "." + name;
                    var info = weights.Find(full) ?? throw new InvalidOperationException($"weights have no tensor '{full}'");
                    using var source = info.DType == DType.Int64
                        ? torch.tensor(weights.Int64(full).ToArray(), t.shape, ScalarType.Int64)
                        : torch.tensor(weights.Float32(full).ToArray(), t.shape, ScalarType.Float32);
                    t.copy_(source);
                }
            }
        }

        Parameters = _modules.SelectMany(kv => kv.Value.named_parameters().Select(p => (kv.Key + "." + p.name, p.parameter))).ToList();
    }

    /// <summary>Trainable parameters by state_dict name, in module order.</summary>
    public IReadOnlyList<(string Name, Parameter Value)> Parameters { get; }

    public Dictionary<string, TorchTensor> Forward(IReadOnlyDictionary<string, TorchTensor> inputs, IReadOnlyDictionary<string, long> symbols, bool training)
    {
        var env = new Dictionary<ValueRef, TorchTensor>();
        foreach (var input in _graph.Inputs)
        {
            env[new ValueRef(input.Name)] = inputs[input.Name];
        }

        foreach (var node in _graph.Nodes)
        {
            var a = node.Operands.Select(o => env[o]).ToArray();
            var outs = Node(node, a, symbols, training);
            for (var i = 0; i < outs.Length; i++)
            {
                env[new ValueRef(node.Id, i)] = outs[i];
            }
        }

        return _graph.Outputs.ToDictionary(o => o.Name, o => env[o.Value], StringComparer.Ordinal);
    }

    private TorchTensor[] Node(GraphNode node, TorchTensor[] a, IReadOnlyDictionary<string, long> symbols, bool training)
    {
        switch (node.Op)
        {
            case CallOp call:
                return Call(call.Module, a, training);
            case ActivationOp act:
                return [act.Activation switch
                {
                    ActivationKind.Identity => a[0],
                    ActivationKind.Relu => nn.functional.relu(a[0]),
                    ActivationKind.Tanh => torch.tanh(a[0]),
                    ActivationKind.Sigmoid => torch.sigmoid(a[0]),
                    ActivationKind.Gelu => nn.functional.gelu(a[0]),
                    ActivationKind.Silu => nn.functional.silu(a[0]),
                    ActivationKind.Elu => nn.functional.elu(a[0], 1.0),
                    ActivationKind.LeakyRelu => nn.functional.leaky_relu(a[0]),
                    ActivationKind.Softplus => nn.functional.softplus(a[0]),
                    ActivationKind.Exp => torch.exp(a[0]),
                    ActivationKind.Abs => torch.abs(a[0]),
                    ActivationKind.Neg => torch.neg(a[0]),
                    ActivationKind.Square => torch.square(a[0]),
                    ActivationKind.Sin => torch.sin(a[0]),
                    ActivationKind.Cos => torch.cos(a[0]),
                    ActivationKind.Sqrt => torch.sqrt(a[0]),
                    ActivationKind.Rsqrt => torch.rsqrt(a[0]),
                    ActivationKind.Log => torch.log(a[0]),
                    _ => throw new NotSupportedException($"node '{node.Id}': activation {act.Activation}"),
                }];
            case SoftmaxOp s:
                return [s.Log ? nn.functional.log_softmax(a[0], s.Axis) : nn.functional.softmax(a[0], s.Axis)];
            case DropoutOp d:
                return [nn.functional.dropout(a[0], d.P, training)];
            case BinaryOp b:
                return [b.Operation switch
                {
                    BinaryKind.Add => a[0] + a[1],
                    BinaryKind.Sub => a[0] - a[1],
                    BinaryKind.Div => a[0] / a[1],
                    _ => a[0] * a[1],
                }];
            case ConcatOp c:
                return [torch.cat(a, c.Axis)];
            case StackOp s:
                return [torch.stack(a, s.Axis)];
            case ReduceOp r:
                return [r.Reduction switch
                {
                    ReduceKind.Max => a[0].max(r.Axis, r.KeepDim).values,
                    ReduceKind.Mean => a[0].mean([r.Axis], r.KeepDim),
                    _ => a[0].sum(r.Axis, r.KeepDim),
                }];
            case ReshapeOp r:
                return [a[0].reshape(r.Target.Select(d => d.Evaluate(s => symbols[s])).ToArray())];
            case FlattenOp f:
                return [a[0].dim() == 0 ? a[0].reshape(1) : a[0].flatten(f.StartAxis, f.EndAxis)];
            case UnsqueezeOp u:
                return [a[0].unsqueeze(u.Axis)];
            case SqueezeOp s:
                return [a[0].squeeze(s.Axis)];
            case NarrowOp n:
                return [a[0].narrow(n.Axis, n.Start, n.Length.IsConstant ? n.Length.Constant : throw new NotSupportedException($"narrow to {n.Length}: the benchmark runs graphs with constant sizes"))];
            case SliceOp s:
                return [a[0].slice(s.Axis, s.Start, s.End, s.Step)];
            case TransposeOp t:
                return [a[0].transpose(t.Axis0, t.Axis1)];
            default:
                throw new NotSupportedException($"node '{node.Id}': op {node.Op.Kind} has no TorchSharp form here");
        }
    }

    private TorchTensor[] Call(string path, TorchTensor[] a, bool training)
    {
        var module = _modules[path];
        module.train(training);
        switch (module)
        {
            case Linear l:
                return [l.forward(a[0])];
            case Embedding e:
                return [e.forward(a[0])];
            case Conv1d c:
                return [c.forward(a[0])];
            case LSTM lstm:
                {
                    var (output, h, c) = a.Length >= 3 ? lstm.forward(a[0], (a[1], a[2])) : lstm.forward(a[0]);
                    return [output, h, c];
                }

            case GRU gru:
                {
                    var (output, h) = a.Length >= 2 ? gru.forward(a[0], a[1]) : gru.forward(a[0]);
                    return [output, h];
                }

            case LayerNorm n:
                return [n.forward(a[0])];
            case BatchNorm1d n:
                return [n.forward(a[0])];
            default:
                throw new NotSupportedException($"module '{path}': {module.GetType().Name}");
        }
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Training;

namespace NeuralSurgery.Oracle;

/// <summary>Adam's hyper-parameters, handed to our <see cref="Adam"/> and to torch.optim.Adam alike.</summary>
public sealed record AdamSettings(double Lr = 1e-2, double Beta1 = 0.9, double Beta2 = 0.999, double Eps = 1e-8, double WeightDecay = 0.1)
{
    public void AddTo(JsonObject o)
    {
        o["lr"] = Lr;
        o["betas"] = new JsonArray(Beta1, Beta2);
        o["eps"] = Eps;
        o["weight_decay"] = WeightDecay;
    }
}

/// <summary>
/// One case run by the C# reference executor: the weights and inputs it started from (what the oracle gets), and
/// what it computed: outputs, parameter and input gradients under random output seeds, and the state_dict after
/// one Adam step (running statistics included, as the train-mode forward moved them).
/// </summary>
public sealed class ExecutorRun
{
    public required string Name { get; init; }

    public required ModelGraph Graph { get; init; }

    public required bool Training { get; init; }

    public required StateDict Weights { get; init; }

    /// <summary>Graph inputs, <c>seed.OUTPUT</c> and, in train mode, <c>dropout.NODE</c> masks.</summary>
    public required StateDict OracleInputs { get; init; }

    public required Dictionary<string, float[]> Outputs { get; init; }

    public required Dictionary<string, float[]> ParameterGradients { get; init; }

    public required Dictionary<string, float[]> InputGradients { get; init; }

    /// <summary>Null when the graph has no parameters (torch.optim.Adam refuses an empty parameter list).</summary>
    public required StateDict? AfterAdam { get; init; }

    public required AdamSettings Adam { get; init; }

    public OracleRequest Request(AdamSettings? oracleAdam = null)
    {
        var options = new JsonObject { ["dtype"] = "float64", ["training"] = Training };
        (oracleAdam ?? Adam).AddTo(options);
        return new OracleRequest(Graph, AfterAdam is null ? "grad" : "adam_step") { Weights = Weights, Inputs = OracleInputs, Options = options };
    }
}

/// <summary>Worst element of one compared tensor.</summary>
public sealed record TensorDisagreement(string Tensor, long Index, double Ours, double Torch, double Tolerance, long Failing, long Count);

/// <summary>
/// Runs a graph through <see cref="ReferenceModel"/> and compares with the PyTorch oracle's float64 run of the same
/// graph, weights and inputs.
/// </summary>
/// <remarks>
/// The criterion for an element is |ours − torch| ≤ rtol · max(|torch|, s) + floor with rtol = 1e-5 (issue 5),
/// s the largest |torch| of the same tensor and floor = 1e-6. Why not plain |ours − torch| ≤ rtol · |torch|: our
/// kernels run in float32, and the rounding error of a dot product, a sum over the batch or a recurrence is
/// relative to the size of its terms, not of its result; an element that comes out small because its terms cancel
/// (a gradient summed over a batch, a mean-centred value) carries an absolute error set by the tensor's scale. The
/// floor covers tensors that are zero in exact arithmetic, where float32 leaves rounding noise of a few ε times
/// the O(1) terms that cancelled (inputs, weights and seeds here are O(1)): the gradient of a Linear bias feeding
/// a train-mode BatchNorm is 4.8e-7 in float32 and 3e-15 in torch's float64. The oracle runs in float64, so the
/// difference measures our error only.
/// </remarks>
public static class ExecutorComparison
{
    public const double RelativeTolerance = 1e-5;

    public const double Floor = 1e-6;

    private static readonly Dim B = Dim.Batch;
    private static readonly Dim N = Dim.Symbol("N");

    public static long Size(string symbol) => symbol switch { "B" => 3, "N" => 3, "T" => 3, _ => 2 };

    /// <summary>
    /// Torch.nn's default init (our <see cref="ReferenceModel.Initialize"/>), then every parameter moved by
    /// U(−0.2, 0.2) and running statistics drawn away from 0 and 1, so that no weight is a trivial 1 or 0 and
    /// eval-mode BatchNorm really uses its buffers.
    /// </summary>
    public static ReferenceModel InitModel(ModelGraph graph, int seed)
    {
        var model = ReferenceModel.Initialize(graph, seed);
        var rng = new Random(seed + 7919);
        foreach (var (_, p) in model.Parameters)
        {
            for (var i = 0; i < p.Length; i++)
            {
                p.Data[i] += (float)((rng.NextDouble() - 0.5) * 0.4);
            }
        }

        foreach (var (name, t) in model.Buffers)
        {
            var variance = name.EndsWith("running_var", StringComparison.Ordinal);
            for (var i = 0; i < t.Length; i++)
            {
                t.Data[i] = variance ? (float)(0.5 + rng.NextDouble()) : (float)(rng.NextDouble() - 0.5);
            }
        }

        return model;
    }

    /// <summary>Runs <paramref name="graph"/> forward (in train or eval mode), backward under random output seeds, and one Adam step.</summary>
    public static ExecutorRun Run(string name, ModelGraph graph, bool training, int seed, AdamSettings? adam = null)
    {
        adam ??= new AdamSettings();
        var model = InitModel(graph, seed);
        var weights = model.ToStateDict();
        var rng = new Random(seed);
        var oracleInputs = new StateDict();
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            var shape = input.Shape.Evaluate(Size).Select(d => (int)d).ToArray();
            var t = input.Role == InputRole.Offsets ? BagOffsets.For(graph, input, Size, rng) : Tensor.Zeros(shape);
            var vocab = input.Role == InputRole.Categorical ? Vocabulary(graph, input.Name) : 0;
            for (var i = 0; i < t.Length && input.Role != InputRole.Offsets; i++)
            {
                t.Data[i] = input.Role == InputRole.Categorical ? rng.Next(vocab) : (float)((rng.NextDouble() * 2) - 1);
            }

            inputs[input.Name] = t;
            var longShape = shape.Select(d => (long)d).ToArray();
            if (input.Role is InputRole.Categorical or InputRole.Offsets)
            {
                oracleInputs.Add(input.Name, t.Data.Select(v => (long)v).ToArray(), longShape);
            }
            else
            {
                oracleInputs.Add(input.Name, (float[])t.Data.Clone(), longShape);
            }
        }

        model.Training = training;
        model.DropoutSeed = seed;
        var pass = model.Forward(inputs);
        var outputs = pass.Outputs.ToDictionary(kv => kv.Key, kv => (float[])kv.Value.Data.Clone(), StringComparer.Ordinal);
        var seeds = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (outName, value) in pass.Outputs)
        {
            var s = Tensor.Zeros(value.ShapeArray());
            for (var i = 0; i < s.Length; i++)
            {
                s.Data[i] = (float)((rng.NextDouble() * 2) - 1);
            }

            seeds[outName] = s;
            oracleInputs.Add("seed." + outName, (float[])s.Data.Clone(), s.ShapeArray().Select(d => (long)d).ToArray());
        }

        // Train-mode dropout: our mask is drawn from our own seed; the oracle applies it explicitly
        // (tests/oracle/README.md), so both runs use the same mask without sharing a random stream. It is read off
        // our output (kept ⇔ non-zero); where the input itself is 0 the bit only matters to the gradient of an
        // exact zero, which the random inputs do not produce.
        if (training)
        {
            foreach (var node in graph.Nodes.Where(n => n.Op is DropoutOp { P: > 0 }))
            {
                var y = pass.Value(new ValueRef(node.Id));
                oracleInputs.Add("dropout." + node.Id, y.Data.Select(v => v != 0 ? 1f : 0f).ToArray(), y.ShapeArray().Select(d => (long)d).ToArray());
            }
        }

        var grads = model.Backward(pass, seeds);
        var parameterGradients = grads.Parameters.ToDictionary(kv => kv.Key, kv => (float[])kv.Value.Data.Clone(), StringComparer.Ordinal);
        var inputGradients = grads.Inputs.ToDictionary(kv => kv.Key, kv => (float[])kv.Value.Data.Clone(), StringComparer.Ordinal);
        StateDict? after = null;
        if (model.Parameters.Count > 0)
        {
            new Adam(model.Parameters, adam.Lr, adam.Beta1, adam.Beta2, adam.Eps, adam.WeightDecay).Step(grads.Parameters);
            after = model.ToStateDict();
        }

        return new ExecutorRun
        {
            Name = name,
            Graph = graph,
            Training = training,
            Weights = weights,
            OracleInputs = oracleInputs,
            Outputs = outputs,
            ParameterGradients = parameterGradients,
            InputGradients = inputGradients,
            AfterAdam = after,
            Adam = adam,
        };
    }

    public static int Vocabulary(ModelGraph graph, string input)
    {
        var vocab = long.MaxValue;
        foreach (var node in graph.Nodes)
        {
            if (node.Op is CallOp call && graph.FindModule(call.Module)!.Spec is EmbeddingSpec e && node.Operands.Any(o => o.Source == input))
            {
                vocab = Math.Min(vocab, e.NumEmbeddings);
            }
        }

        return vocab == long.MaxValue ? 1 : (int)vocab;
    }

    /// <summary>Every response tensor against ours; an empty list means agreement.</summary>
    public static List<TensorDisagreement> Compare(ExecutorRun run, StateDict torch, out int comparedTensors)
    {
        var bad = new List<TensorDisagreement>();
        var compared = 0;
        void One(string what, ReadOnlySpan<float> ours, string torchName)
        {
            compared++;
            if (torch.Find(torchName) is null)
            {
                bad.Add(new TensorDisagreement(what + " (missing from the oracle's response)", -1, double.NaN, double.NaN, 0, 1, 1));
                return;
            }

            var t = ReadDoubles(torch, torchName);
            if (t.Length != ours.Length)
            {
                bad.Add(new TensorDisagreement($"{what} (ours has {ours.Length} elements, torch {t.Length})", -1, double.NaN, double.NaN, 0, 1, 1));
                return;
            }

            if (Check(what, ours, t) is { } d)
            {
                bad.Add(d);
            }
        }

        foreach (var (name, v) in run.Outputs)
        {
            One("output " + name, v, "output." + name);
        }

        foreach (var (name, v) in run.ParameterGradients)
        {
            One("gradient " + name, v, "grad." + name);
        }

        foreach (var (name, v) in run.InputGradients)
        {
            One("input gradient " + name, v, "input_grad." + name);
        }

        if (run.AfterAdam is { } after)
        {
            foreach (var info in after.Tensors)
            {
                if (info.DType == DType.Int64)
                {
                    compared++;
                    var ours = after.Int64(info.Name)[0];
                    var theirs = torch.Find("param." + info.Name) is null ? long.MinValue : torch.Int64("param." + info.Name)[0];
                    if (ours != theirs)
                    {
                        bad.Add(new TensorDisagreement("after Adam " + info.Name, 0, ours, theirs, 0, 1, 1));
                    }

                    continue;
                }

                One("after Adam " + info.Name, after.Float32(info.Name), "param." + info.Name);
            }
        }

        comparedTensors = compared;
        return bad;
    }

    /// <summary>The worst element under the mixed criterion, or null when every element passes.</summary>
    public static TensorDisagreement? Check(string what, ReadOnlySpan<float> ours, double[] torch)
    {
        double scale = 0;
        foreach (var v in torch)
        {
            scale = Math.Max(scale, Math.Abs(v));
        }

        long failing = 0, worstIndex = -1;
        double worstRatio = 1;
        for (var i = 0; i < torch.Length; i++)
        {
            var tol = (RelativeTolerance * Math.Max(Math.Abs(torch[i]), scale)) + Floor;
            var diff = Math.Abs(ours[i] - torch[i]);
            if (!(diff <= tol))
            {
                failing++;
                var ratio = double.IsNaN(diff) ? double.PositiveInfinity : diff / tol;
                if (worstIndex < 0 || ratio > worstRatio)
                {
                    worstRatio = ratio;
                    worstIndex = i;
                }
            }
        }

        return failing == 0 ? null : new TensorDisagreement(what, worstIndex, ours[(int)worstIndex], torch[worstIndex], (RelativeTolerance * Math.Max(Math.Abs(torch[worstIndex]), scale)) + Floor, failing, torch.Length);
    }

    public static double[] ReadDoubles(StateDict dict, string name)
    {
        var info = dict.Find(name)!;
        return info.DType switch
        {
            DType.Float64 => dict.Float64(name).ToArray(),
            DType.Float32 => dict.Float32(name).ToArray().Select(v => (double)v).ToArray(),
            DType.Int64 => dict.Int64(name).ToArray().Select(v => (double)v).ToArray(),
            _ => throw new InvalidOperationException($"response tensor '{name}' has dtype {info.DType}"),
        };
    }

    public static string Describe(ExecutorRun run, IEnumerable<TensorDisagreement> bad)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{run.Name} ({(run.Training ? "train" : "eval")}):");
        foreach (var d in bad)
        {
            sb.AppendLine();
            sb.Append(CultureInfo.InvariantCulture, $"  {d.Tensor}: {d.Failing} of {d.Count} elements outside tolerance; worst [{d.Index}] ours {d.Ours:G9}, torch {d.Torch:G9}, |diff| {Math.Abs(d.Ours - d.Torch):G3} > {d.Tolerance:G3}");
        }

        return sb.ToString();
    }

    /// <summary>A graph of one builder expression with output "y".</summary>
    public static ModelGraph One(Func<GraphBuilder, GraphValue> body) => Graph(b => b.Output("y", body(b)));

    public static ModelGraph Graph(Action<GraphBuilder> body)
    {
        var b = new GraphBuilder("case");
        body(b);
        return b.Build();
    }

    /// <summary>Small graphs that together use every op and layer kind of the IR with their variants (the same list as the gradient checks).</summary>
    public static IReadOnlyList<(string Name, ModelGraph Graph)> OpCases()
    {
        var cases = new List<(string, ModelGraph)>
        {
            ("linear", One(b => b.Linear("fc", b.FeatureInput("x", B, 4), 3))),
            ("linear_rank3_no_bias", One(b => b.Linear("fc", b.FeatureInput("x", B, N, 4), 5, bias: false))),
            ("linear_shared_twice", One(b => b.Add(b.Linear("fc", b.FeatureInput("x", B, 4), 3), b.Linear("fc", b.FeatureInput("y", B, 4), 3)))),
            ("embedding", One(b => b.Mul(b.Embedding("emb", b.CategoricalInput("c", B, N), 4, 3), b.FeatureInput("x", B, N, 3)))),
            ("embedding_bag_rows_sum", One(b => b.Linear("fc", b.EmbeddingBag("bag", b.CategoricalInput("c", B, N), null, 5, 3, BagReduction.Sum), 2))),
            ("embedding_bag_offsets_mean", One(b => b.Linear("fc", b.EmbeddingBag("bag", b.CategoricalInput("c", Dim.Symbol("T")), b.OffsetsInput("offsets", B), 5, 3), 2))),
            ("embedding_bag_offsets_max_last", One(b => b.EmbeddingBag("bag", b.CategoricalInput("c", Dim.Symbol("T")), b.OffsetsInput("offsets", B), 6, 4, BagReduction.Max, includeLastOffset: true))),
            ("conv1d", One(b => b.Conv1d("conv", b.FeatureInput("x", B, 4, 9), 6, 3, stride: 2, padding: 1, dilation: 2, groups: 2))),
            ("conv1d_unbatched_no_bias", One(b => b.Conv1d("conv", b.FeatureInput("x", 3, 5), 2, 2, padding: 2, bias: false))),
            ("conv1d_depthwise", One(b => b.Conv1d("conv", b.FeatureInput("x", B, 3, 6), 3, 3, groups: 3))),
            ("conv2d", One(b => b.Call(b.Module("conv", new Conv2dSpec(4, 6, 3, 2, StrideH: 2, StrideW: 1, PaddingH: 1, PaddingW: 2, DilationH: 1, DilationW: 2, Groups: 2)), b.FeatureInput("x", B, 4, 7, 6))[0])),
            ("conv2d_unbatched_no_bias", One(b => b.Conv2d("conv", b.FeatureInput("x", 3, 4, 5), 2, 2, padding: 1, bias: false))),
            ("conv2d_depthwise_stride", One(b => b.Conv2d("conv", b.FeatureInput("x", B, 3, 6, 5), 3, 3, stride: 2, groups: 3))),
            ("batch_norm2d", One(b => b.BatchNorm2d("bn", b.FeatureInput("x", B, 3, 2, 3)))),
            ("group_norm_image", One(b => b.GroupNorm("gn", b.FeatureInput("x", B, 6, 2, 3), 3))),
            ("group_norm_signal_no_affine", One(b => b.GroupNorm("gn", b.FeatureInput("x", B, 4, 5), 2, eps: 1e-3, affine: false))),
            ("group_norm_per_channel", One(b => b.Linear("fc", b.Flatten(b.GroupNorm("gn", b.FeatureInput("x", B, 3, 4), 3), 1), 2))),
            ("batch_norm2d_no_affine", One(b => b.Call(b.Module("bn", new BatchNorm2dSpec(2, Affine: false)), b.FeatureInput("x", B, 2, 3, 2))[0])),
            ("batch_norm2d_no_stats", One(b => b.Call(b.Module("bn", new BatchNorm2dSpec(2, Momentum: 0.3, TrackRunningStats: false)), b.FeatureInput("x", B, 2, 3, 2))[0])),
            ("max_pool2d_padding", One(b => b.Pool(b.FeatureInput("x", B, 2, 5, 6), PoolKind.Max, [3, 2], stride: [2, 1], padding: [1, 1]))),
            ("max_pool2d_dilation_unbatched", One(b => b.Pool(b.FeatureInput("x", 2, 7, 5), PoolKind.Max, [2, 2], stride: [1, 2], dilation: [2, 1]))),
            ("max_pool1d", One(b => b.Pool(b.FeatureInput("x", B, 3, 7), PoolKind.Max, [3], stride: [2], padding: [1]))),
            ("avg_pool2d_padding", One(b => b.Pool(b.FeatureInput("x", B, 2, 5, 6), PoolKind.Avg, [3, 2], stride: [2, 2], padding: [1, 1]))),
            ("avg_pool1d_unbatched", One(b => b.Pool(b.FeatureInput("x", 3, 7), PoolKind.Avg, [2], stride: [1], padding: [1]))),
            ("adaptive_avg_pool2d", One(b => b.AdaptivePool(b.FeatureInput("x", B, 2, 7, 5), PoolKind.Avg, 3, 2))),
            ("adaptive_max_pool2d", One(b => b.AdaptivePool(b.FeatureInput("x", B, 2, 7, 5), PoolKind.Max, 3, 4))),
            ("adaptive_avg_pool1d_unbatched", One(b => b.AdaptivePool(b.FeatureInput("x", 2, 7), PoolKind.Avg, 4))),
            ("adaptive_max_pool1d", One(b => b.AdaptivePool(b.FeatureInput("x", B, 2, 5), PoolKind.Max, 3))),
            ("matmul_broadcast_batch", One(b => b.MatMul(b.Linear("q", b.FeatureInput("x", B, 3, 4), 5), b.Linear("k", b.FeatureInput("y", 5, 2), 2)))),
            ("attention_scores", One(b =>
            {
                // softmax(q·kᵀ)·v over a sequence, heads split by a reshape and a permute.
                var x = b.FeatureInput("x", B, 3, 4);
                var q = b.Permute(b.Reshape(b.Linear("q", x, 4), B, 3, 2, 2), 0, 2, 1, 3);   // [B, 2, 3, 2]
                var k = b.Permute(b.Reshape(b.Linear("k", x, 4), B, 3, 2, 2), 0, 2, 3, 1);   // [B, 2, 2, 3]
                var v = b.Permute(b.Reshape(b.Linear("v", x, 4), B, 3, 2, 2), 0, 2, 1, 3);   // [B, 2, 3, 2]
                return b.MatMul(b.Softmax(b.Scale(b.MatMul(q, k), 0.7071), 3), v);         // [B, 2, 3, 2]
            })),
            ("attention_projection_cross", One(b =>
            {
                // Query from one sequence, key and value from another (cross-attention), no bias.
                var q = b.FeatureInput("q", 3, B, 4);
                var kv = b.FeatureInput("kv", 5, B, 4);
                var p = b.Call(b.Module("mha", new AttentionProjectionSpec(4, 2, Bias: false)), q, kv, kv);
                return b.Add(b.MatMul(b.Transpose(p[0], 0, 1), b.Permute(p[1], 1, 2, 0)), b.Fill(0, B, 3, 5)); // [B, 3, 5]
            })),
            ("multihead_attention", One(b =>
            {
                // nn.MultiheadAttention as the reader builds it: packed projection, heads [B, H, T, d], softmax(q·kᵀ/√d + mask)·v, out_proj.
                var x = b.FeatureInput("x", 3, B, 4);
                var mask = b.StateInput("mask", 3, 3);
                var p = b.Call(b.Module("attn", new AttentionProjectionSpec(4, 2)), x, x, x);
                GraphValue Heads(GraphValue t) => b.Permute(b.Reshape(t, 3, B, 2, 2), 1, 2, 0, 3);
                var weights = b.Softmax(b.Add(b.Scale(b.MatMul(Heads(p[0]), b.Transpose(Heads(p[1]), 2, 3)), 0.7071067811865476), mask), 3);
                var joined = b.Reshape(b.Permute(b.MatMul(weights, Heads(p[2])), 2, 0, 1, 3), 3, B, 4);
                return b.Linear("attn.out_proj", joined, 4);
            })),
            ("tensor_fields", One(b =>
            {
                // An RMSNorm-style scale, a position table added, a projection matrix on either side; one is a buffer.
                var x = b.FeatureInput("x", B, 3, 4);
                var scaled = b.Mul(x, b.Tensor("scale", [4], init: TensorInit.Ones));
                var placed = b.Add(b.Tensor("positions", [3, 4], buffer: true), scaled);
                return b.MatMul(b.Tensor("mix", [2, 3]), b.MatMul(placed, b.Tensor("projection", [4, 5])));
            })),
            ("scale_one_minus", One(b => b.Scale(b.Activation(b.Linear("fc", b.FeatureInput("x", B, 4), 3), ActivationKind.Sigmoid), -1, 1))),
            ("lstm_state_made_in_forward", One(b =>
            {
                var x = b.FeatureInput("x", B, 3, 2);
                var (y, _, _) = b.Lstm("lstm", x, 4, batchFirst: true, h0: b.Fill(0, 1, B, 4), c0: b.Fill(0.5, 1, B, 4));
                return y;
            })),
            ("channel_features_conv2d", One(b => b.Conv2d("conv", b.FeatureInputAt("x", 1, B, 3, 4, 4), 2, 3, padding: 1))),
            ("small_cnn_max_pool", One(b =>
            {
                // conv → bn → relu → pool → flatten → linear.
                var c = b.Activation(b.BatchNorm2d("bn", b.Conv2d("conv", b.FeatureInput("x", B, 2, 7, 7), 4, 3, padding: 1, groups: 2)), ActivationKind.Relu);
                return b.Linear("fc", b.Flatten(b.Pool(c, PoolKind.Max, [3, 3], stride: [2, 2], padding: [1, 1]), 1), 3);
            })),
            ("small_cnn_avg_adaptive", One(b =>
            {
                var c = b.Activation(b.BatchNorm2d("bn", b.Conv2d("conv", b.FeatureInput("x", B, 3, 8, 7), 4, 3, stride: 2, padding: 1)), ActivationKind.Relu);
                var p = b.AdaptivePool(b.Pool(c, PoolKind.Avg, [2, 2], stride: [1, 1], padding: [1, 1]), PoolKind.Max, 2, 3);
                return b.Linear("fc", b.Flatten(p, 1), 2);
            })),
            ("lstm_states", Lstm(layers: 1, bidirectional: false, batchFirst: false)),
            ("lstm_two_layers_bidirectional", Lstm(layers: 2, bidirectional: true, batchFirst: false)),
            ("lstm_batch_first", Lstm(layers: 1, bidirectional: true, batchFirst: true)),
            ("lstm_unbatched_no_state", Graph(b =>
            {
                var (o, h, c) = b.Lstm("lstm", b.FeatureInput("x", 4, 3), 3, numLayers: 2);
                b.Output("y", o).StateOutput("h_n", h).StateOutput("c_n", c);
            })),
            ("gru_states", Gru(layers: 1, bidirectional: false, batchFirst: false, bias: true)),
            ("gru_two_layers_bidirectional", Gru(layers: 2, bidirectional: true, batchFirst: true, bias: true)),
            ("gru_no_bias", Gru(layers: 1, bidirectional: false, batchFirst: false, bias: false)),
            ("layer_norm", One(b => b.LayerNorm("ln", b.FeatureInput("x", B, 5), 5))),
            ("layer_norm_two_axes", One(b => b.LayerNorm("ln", b.FeatureInput("x", B, 3, 4), 3, 4))),
            ("layer_norm_no_affine", One(b => b.Call(b.Module("ln", new LayerNormSpec(NeuralSurgery.Collections.EquatableArray.Create(4L), ElementwiseAffine: false)), b.FeatureInput("x", B, 4))[0])),
            ("layer_norm_no_bias", One(b => b.Call(b.Module("ln", new LayerNormSpec(NeuralSurgery.Collections.EquatableArray.Create(4L), Bias: false)), b.FeatureInput("x", B, 4))[0])),
            ("batch_norm", One(b => b.BatchNorm1d("bn", b.Linear("fc", b.FeatureInput("x", B, 3), 4)))),
            ("batch_norm_3d", One(b => b.BatchNorm1d("bn", b.FeatureInput("x", B, 3, 5)))),
            ("batch_norm_no_stats", One(b => b.Call(b.Module("bn", new BatchNorm1dSpec(4, TrackRunningStats: false)), b.FeatureInput("x", B, 4))[0])),
            ("batch_norm_no_affine", One(b => b.Call(b.Module("bn", new BatchNorm1dSpec(4, Affine: false)), b.FeatureInput("x", B, 4))[0])),
            ("dropout", One(b => b.Dropout(b.Linear("fc", b.FeatureInput("x", B, 6), 5), 0.3))),
            ("softmax_last", One(b => b.Softmax(b.FeatureInput("x", B, 5), -1))),
            ("softmax_middle", One(b => b.Softmax(b.FeatureInput("x", B, 4, 3), 1))),
            ("log_softmax_first", One(b => b.Softmax(b.FeatureInput("x", B, 4), 0, log: true))),
            ("add_broadcast", One(b => b.Add(b.FeatureInput("x", B, 3, 4), b.FeatureInput("y", 3, 1)))),
            ("sub_broadcast_both", One(b => b.Sub(b.FeatureInput("x", B, 1, 4), b.FeatureInput("y", 3, 1)))),
            ("mul_broadcast", One(b => b.Mul(b.FeatureInput("x", 1, 4), b.FeatureInput("y", B, 3, 4)))),
            ("mul_same_operand", One(b =>
            {
                var x = b.FeatureInput("x", B, 4);
                return b.Mul(x, x);
            })),
            ("concat", One(b => b.Concat(1, b.FeatureInput("x", B, 2, 3), b.FeatureInput("y", B, 4, 3)))),
            ("concat_last_repeated", One(b =>
            {
                var x = b.FeatureInput("x", B, 2);
                return b.Concat(-1, x, b.FeatureInput("y", B, 3), x);
            })),
            ("stack", One(b => b.Stack(1, b.FeatureInput("x", B, 3), b.FeatureInput("y", B, 3)))),
            ("max", One(b => b.Max(b.FeatureInput("x", B, N, 4), 1))),
            ("max_keepdim_last", One(b => b.Max(b.FeatureInput("x", B, 5), 1, keepDim: true))),
            ("mean", One(b => b.Mean(b.FeatureInput("x", B, N, 4), 1, keepDim: true))),
            ("sum", One(b => b.Sum(b.FeatureInput("x", B, 3, 4), 2))),
            ("views", One(b =>
            {
                var x = b.FeatureInput("x", B, 2, 6);
                var r = b.Reshape(x, B, 3, 4);
                var f = b.Flatten(r, 1);
                var u = b.Unsqueeze(f, 1);
                return b.Linear("fc", b.Squeeze(u, 1), 2);
            })),
            ("narrow", One(b => b.Linear("fc", b.Narrow(b.FeatureInput("x", B, 6), 1, 2, 3), 2))),
            ("slice_step", One(b => b.Linear("fc", b.Slice(b.FeatureInput("x", B, 7, 2), 1, 1, 7, 2), 2))),
            ("transpose", One(b => b.Linear("fc", b.Transpose(b.FeatureInput("x", B, 3, 4), 0, 1), 2))),
            ("transpose_inner", One(b => b.Linear("fc", b.Transpose(b.FeatureInput("x", B, 3, 4), 1, 2), 2))),
        };
        foreach (var kind in Enum.GetValues<ActivationKind>())
        {
            // Through a Linear so inputs spread over both sides of each kink; the square root, its reciprocal and the log
            // see a positive value, as in a normalisation (x² + 0.5).
            cases.Add(("activation_" + kind, One(b =>
            {
                var pre = b.Linear("fc", b.FeatureInput("x", B, 4), 6);
                return b.Activation(kind is ActivationKind.Sqrt or ActivationKind.Rsqrt or ActivationKind.Log ? b.Scale(b.Activation(pre, ActivationKind.Square), 1, 0.5) : pre, kind);
            })));
        }

        // Later kinds go last: a case's seed follows its position, so earlier cases keep theirs.
        cases.Add(("conv_transpose2d_upsampling", One(b => b.ConvTranspose("up", b.FeatureInput("x", B, 4, 3, 2), 2, 4, 3, stride: 2, padding: 1, outputPadding: 1, groups: 2))));
        cases.Add(("conv_transpose2d_dilated_unbatched", One(b => b.ConvTranspose("up", b.FeatureInput("x", 2, 3, 3), 2, 2, 2, dilation: 2, outputPadding: 1, bias: false))));
        cases.Add(("div_by_a_positive_statistic", One(b =>
        {
            // RMSNorm-style: x / sqrt(mean(x²) + eps), the divisor broadcast along the features.
            var x = b.Linear("fc", b.FeatureInput("x", B, 4), 5);
            return b.Div(x, b.Activation(b.Scale(b.Mean(b.Activation(x, ActivationKind.Square), 1, keepDim: true), 1, 1e-3), ActivationKind.Sqrt));
        })));
        cases.Add(("learned_positions", One(b =>
        {
            // A token encoder plus rows 1..3 of a learned position table, broadcast over the batch.
            var x = b.Linear("fc", b.FeatureInput("x", B, 3, 2), 4);
            return b.Add(x, b.Embedding("wpe", b.Arange(1, 4), 6, 4));
        })));
        cases.Add(("conv_transpose1d_decoder", One(b => b.Linear("head", b.Flatten(b.ConvTranspose("up", b.FeatureInput("x", B, 3, 4), 1, 2, 3, stride: 3, padding: 1), 1), 2))));
        return cases;
    }

    private static ModelGraph Lstm(int layers, bool bidirectional, bool batchFirst) => Graph(b =>
    {
        var d = bidirectional ? 2 : 1;
        var x = batchFirst ? b.FeatureInput("x", B, 4, 3) : b.FeatureInput("x", 4, B, 3);
        var h0 = b.StateInput("h0", layers * d, B, 2);
        var c0 = b.StateInput("c0", layers * d, B, 2);
        var (o, h, c) = b.Lstm("lstm", x, 2, layers, batchFirst, bidirectional, h0: h0, c0: c0);
        b.Output("y", o).StateOutput("h_n", h).StateOutput("c_n", c);
    });

    private static ModelGraph Gru(int layers, bool bidirectional, bool batchFirst, bool bias) => Graph(b =>
    {
        var d = bidirectional ? 2 : 1;
        var x = batchFirst ? b.FeatureInput("x", B, 4, 3) : b.FeatureInput("x", 4, B, 3);
        var h0 = b.StateInput("h0", layers * d, B, 3);
        var (o, h) = b.Gru("gru", x, 3, layers, batchFirst, bidirectional, bias, h0);
        b.Output("y", o).StateOutput("h_n", h);
    });
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Tests.Support;

/// <summary>Limits of <see cref="RandomGraphs"/>: small, because the reference tracer works per scalar.</summary>
public sealed record RandomGraphOptions
{
    public static RandomGraphOptions Default { get; } = new();

    /// <summary>At most this many nodes (a composite step may not cross it).</summary>
    public int MaxNodes { get; init; } = 12;

    /// <summary>Largest size the generator picks (feature widths, out features, hidden sizes, vocabularies).</summary>
    public int MaxDim { get; init; } = 6;

    /// <summary>Largest constant size a derived axis may reach (concat, merge, bidirectional outputs).</summary>
    public int MaxDerivedDim { get; init; } = 12;

    /// <summary>Largest element count of any value with every symbol at <see cref="SymbolSizeForLimits"/>.</summary>
    public long MaxElements { get; init; } = 256;

    public long SymbolSizeForLimits { get; init; } = 3;

    public int MaxRank { get; init; } = 4;
}

/// <summary>
/// A seeded generator of small valid graphs for property tests that compare tracers. Over many seeds it uses
/// every op and layer of the IR with their variants (<see cref="Traits"/> names what a graph exercises).
/// Symbolic dimensions are <c>B</c> (batch) and <c>N</c> (set or sequence size). Deterministic for a seed.
/// </summary>
public sealed class RandomGraphs
{
    private static readonly Dim B = Dim.Batch;
    private static readonly Dim N = Dim.Symbol("N");
    // The first nine kinds are drawn from the main stream as they always were (tests name seeds); an identity drawn
    // there becomes one of the later kinds (or stays) by a stream of its own, so every graph keeps its structure.
    private static readonly ActivationKind[] Activations = ((ActivationKind[])Enum.GetValues(typeof(ActivationKind))).Take(9).ToArray();
    private static readonly ActivationKind[] PositiveDomain = [ActivationKind.Sqrt, ActivationKind.Rsqrt, ActivationKind.Log];
    private static readonly ActivationKind[] LaterActivations = ((ActivationKind[])Enum.GetValues(typeof(ActivationKind))).Skip(9).Except(PositiveDomain).Prepend(ActivationKind.Identity).ToArray();
    private static readonly ReduceKind[] Reductions = (ReduceKind[])Enum.GetValues(typeof(ReduceKind));

    private Random _rng;
    /// <summary>Draws added after the main stream was fixed (later activations, GroupNorm, shift offsets): seeds keep their graphs.</summary>
    private readonly Random _side;
    private readonly RandomGraphOptions _o;
    private readonly GraphBuilder _b;
    private readonly List<Live> _pool = [];
    private readonly Dictionary<string, int> _names = new(StringComparer.Ordinal);
    private readonly List<(string Module, LinearSpec Spec)> _linears = [];
    private readonly List<(string Module, EmbeddingSpec Spec)> _embeddings = [];
    private readonly List<(GraphValue Input, long Vocabulary)> _categoricals = [];
    private int _nodes;

    private RandomGraphs(Random rng, RandomGraphOptions options, string name)
    {
        _rng = rng;
        _side = new Random(name.Aggregate(17, (h, c) => unchecked((h * 31) + c)) & 0x7fffffff); // stable across processes
        _o = options;
        _b = new GraphBuilder(name);
    }

    /// <summary>The graph of a seed, with <see cref="RandomGraphOptions.Default"/>.</summary>
    public static ModelGraph Generate(int seed) => Generate(seed, RandomGraphOptions.Default);

    public static ModelGraph Generate(int seed, RandomGraphOptions options) =>
        Generate(new Random(seed), options, "random_" + seed.ToString(CultureInfo.InvariantCulture).Replace('-', 'm'));

    public static ModelGraph Generate(Random rng, RandomGraphOptions options, string name = "random")
    {
        _ = rng ?? throw new ArgumentNullException(nameof(rng));
        _ = options ?? throw new ArgumentNullException(nameof(options));
        return new RandomGraphs(rng, options, name).Run();
    }

    private sealed class Live(GraphValue value, bool isRecurrentState = false)
    {
        public GraphValue V { get; } = value;

        public Shape Shape => V.Shape;

        public bool IsNode => !IsInput;

        public bool IsInput { get; init; }

        public bool IsRecurrentState { get; } = isRecurrentState;

        public bool Used { get; set; }
    }

    private sealed record Step(string Name, int Cost, Func<bool> Apply);

    private ModelGraph Run()
    {
        NewFeatureInput();
        if (_rng.Next(3) == 0)
        {
            NewFeatureInput();
        }

        Step[] steps =
        [
            new("linear", 2, TryLinear),
            new("embedding", 1, TryEmbedding),
            new("conv1d", 2, TryConv1d),
            new("recurrent", 3, TryRecurrent),
            new("layer_norm", 1, TryLayerNorm),
            new("batch_norm", 2, TryBatchNorm),
            new("dropout", 1, TryDropout),
            new("activation", 1, TryActivation),
            new("softmax", 1, TrySoftmax),
            new("binary", 2, TryBinary),
            new("concat", 1, TryConcat),
            new("concat_groups", 3, TryConcatGroups),
            new("stack", 1, TryStack),
            new("reduce", 1, TryReduce),
            new("pool_set", 3, TryPoolSet),
            new("reshape", 1, TryReshape),
            new("flatten", 1, TryFlatten),
            new("unsqueeze", 1, TryUnsqueeze),
            new("squeeze", 2, TrySqueeze),
            new("narrow", 1, TryNarrow),
            new("slice", 1, TrySlice),
            new("transpose", 1, TryTranspose),
        ];

        var target = 1 + _rng.Next(_o.MaxNodes);
        for (var attempt = 0; attempt < 200 && _nodes < target; attempt++)
        {
            var step = steps[_rng.Next(steps.Length)];
            if (_nodes + step.Cost <= _o.MaxNodes)
            {
                step.Apply();
            }
        }

        if (_nodes == 0)
        {
            var x = _pool.First(l => LastConstant(l.Shape));
            Add(_b.Linear(NextName("fc"), Use(x), 1 + _rng.Next(_o.MaxDim)));
        }

        var outputs = 0;
        foreach (var live in _pool.Where(l => l.IsNode && !l.Used))
        {
            if (live.IsRecurrentState)
            {
                if (_rng.Next(2) == 0)
                {
                    _b.StateOutput(NextName("state"), live.V);
                }
            }
            else
            {
                _b.Output(NextName("y"), live.V);
                outputs++;
            }
        }

        if (outputs == 0)
        {
            _b.Output(NextName("y"), _pool.Last(l => l.IsNode && !l.IsRecurrentState).V);
        }

        // Images (Conv2d, BatchNorm2d, pooling) come last, drawn from a stream of their own, so every graph keeps
        // the nodes it had before they existed (tests name seeds) and may gain an image chain with one more output.
        _rng = new Random(_rng.Next());
        if (_nodes < _o.MaxNodes && _rng.Next(5) < 2 && ImageChain() is { } image)
        {
            _b.Output(NextName("y"), image);
        }

        // Permute and matmul, and inputs with their features on the channel axis, likewise from a stream of their own.
        _rng = new Random(_rng.Next());
        if (_nodes < _o.MaxNodes && _rng.Next(3) == 0 && MixChain() is { } mixed)
        {
            _b.Output(NextName("y"), mixed);
        }

        // Tensor fields (Parameters and buffers) meeting data, from a stream of their own too.
        _rng = new Random(_rng.Next());
        if (_nodes + 2 <= _o.MaxNodes && _rng.Next(3) == 0 && TensorField() is { } fielded)
        {
            _b.Output(NextName("y"), fielded);
        }

        // A constant scale (x * 0.5, scores / sqrt(d)); positive, so a value stays non-zero exactly where it carries features.
        _rng = new Random(_rng.Next());
        if (_nodes < _o.MaxNodes && _rng.Next(4) == 0 && Pick(l => !l.IsRecurrentState, preferUnused: false) is { } scaled)
        {
            // Sometimes with an added constant too (x + eps, 1 - x), drawn from the side stream.
            var offset = _side.Next(2) == 0 ? 0 : Math.Round(_side.NextDouble() - 0.5, 3);
            _b.Output(NextName("y"), Add(_b.Scale(Use(scaled), 0.5 + _rng.NextDouble(), offset)));
        }

        // A zero tensor made in forward (an initial state), added to a live value of its shape: it carries nothing.
        _rng = new Random(_rng.Next());
        if (_nodes + 2 <= _o.MaxNodes && _rng.Next(4) == 0 && Pick(l => !l.IsRecurrentState, preferUnused: false) is { } shifted)
        {
            _nodes++;
            _b.Output(NextName("y"), Add(_b.Add(Use(shifted), _b.Fill(0, shifted.Shape.Dims.ToArray()))));
        }

        // Bags of indices (EmbeddingBag: rows of a [B, N] input, or runs of a flat [T] input cut by offsets).
        _rng = new Random(_rng.Next());
        if (_nodes < _o.MaxNodes && _rng.Next(4) == 0)
        {
            _b.Output(NextName("y"), Bag());
        }

        // A MultiheadAttention's packed projection: query, key and value of one width (self- or cross-attention).
        _rng = new Random(_rng.Next());
        if (_nodes < _o.MaxNodes && _rng.Next(4) == 0 && Pick(l => !l.IsRecurrentState && LastConstant(l.Shape) && l.Shape.Rank >= 2, preferUnused: false) is { } query)
        {
            var width = query.Shape[query.Shape.Rank - 1].Value;
            var heads = Enumerable.Range(1, (int)width).Where(h => width % h == 0).ToList();
            GraphValue Other() => Pick(l => !l.IsRecurrentState && l.Shape.Rank >= 1 && LastConstant(l.Shape) && l.Shape[l.Shape.Rank - 1].Value == width, preferUnused: false) is { } o && _rng.Next(2) == 0 ? Use(o) : query.V;
            var key = Other();
            var value = _rng.Next(2) == 0 ? key : Other();
            var module = _b.Module(NextName("mha"), new AttentionProjectionSpec(width, heads[_rng.Next(heads.Count)], _rng.Next(4) != 0));
            _nodes++;
            foreach (var projected in _b.Call(module, Use(query), key, value))
            {
                _b.Output(NextName("y"), projected);
            }
        }

        // A normalisation by a positive statistic (x / sqrt(x² + c), rsqrt, log of a positive value), own stream:
        // the positive-domain functions only ever see square(y)·1 + c with c > 0, as in RMSNorm.
        _rng = new Random(_rng.Next());
        if (_nodes + 4 <= _o.MaxNodes && _rng.Next(4) == 0 && Pick(l => !l.IsRecurrentState, preferUnused: false) is { } normed)
        {
            var x = Use(normed);
            var positive = _b.Scale(_b.Activation(x, ActivationKind.Square), 1, 0.25 + _rng.NextDouble());
            _nodes += 2;
            if (_rng.Next(2) == 0)
            {
                _b.Output(NextName("y"), Add(_b.Div(x, positive)));
            }
            else
            {
                _nodes++;
                _b.Output(NextName("y"), Add(_b.Mul(x, _b.Activation(positive, PositiveDomain[_rng.Next(PositiveDomain.Length)]))));
            }
        }

        // A learned position table read through an arange of known length, from a stream of its own.
        _rng = new Random(_rng.Next());
        if (_nodes + 2 <= _o.MaxNodes && _rng.Next(5) == 0)
        {
            // Added to a value whose last two axes are [positions, width] when there is one (x + wpe(arange(T))).
            var addend = Pick(l => !l.IsRecurrentState && l.Shape.Rank >= 2 && LastConstant(l.Shape) && l.Shape[l.Shape.Rank - 2].IsConstant && l.Shape[l.Shape.Rank - 2].Value <= 4, preferUnused: false);
            var length = addend is null ? 1 + _rng.Next(3) : addend.Shape[addend.Shape.Rank - 2].Value;
            var width = addend is null ? 1 + _rng.Next(4) : addend.Shape[addend.Shape.Rank - 1].Value;
            var start = _rng.Next(2);
            var positions = _b.Embedding(NextName("pos"), _b.Arange(start, start + length), start + length + _rng.Next(3), width);
            _nodes += 2;
            if (addend is not null && _nodes < _o.MaxNodes)
            {
                _b.Output(NextName("y"), Add(_b.Add(Use(addend), positions)));
            }
            else
            {
                // Position rows are not data later steps may read: an output of their own.
                _b.Output(NextName("y"), positions);
            }
        }

        // A transposed convolution (a decoder's upsampling) over a channel axis, from a stream of its own.
        _rng = new Random(_rng.Next());
        if (_nodes < _o.MaxNodes && _rng.Next(4) == 0 && TransposedConvolution() is { } upsampled)
        {
            _b.Output(NextName("y"), upsampled);
        }

        return _b.Build();
    }

    /// <summary>ConvTranspose1d on [B, C, L] or [C, L], ConvTranspose2d on [B, C, H, W] or [C, H, W]; null when nothing fits.</summary>
    private GraphValue? TransposedConvolution()
    {
        var x = Pick(l => !l.IsRecurrentState && l.Shape.Rank is >= 2 and <= 4 && l.Shape[l.Shape.Rank == 4 ? 1 : 0].IsConstant && l.Shape.Rank <= _o.MaxRank, preferUnused: false);
        if (x is null)
        {
            return null;
        }

        var rank = x.Shape.Rank;
        var d = rank == 4 ? 2 : rank == 2 ? 1 : 1 + _rng.Next(2);
        var channels = x.Shape[rank - d - 1];
        if (!channels.IsConstant)
        {
            return null;
        }

        var kernel = 1 + _rng.Next(3);
        var stride = 1 + _rng.Next(2);
        var dilation = 1 + _rng.Next(2);
        var padding = _rng.Next(kernel);
        var outputPadding = _rng.Next(Math.Max(stride, dilation));
        var groups = Enumerable.Range(1, (int)channels.Value).Where(g => channels.Value % g == 0).ToList();
        var g = groups[_rng.Next(groups.Count)];
        var outChannels = g * (1 + _rng.Next(3));
        var spec = d == 1
            ? ConvTransposeSpec.OneD(channels.Value, outChannels, kernel, stride, padding, outputPadding, dilation, g, _rng.Next(4) != 0)
            : new ConvTransposeSpec(2, channels.Value, outChannels, kernel, kernel, stride, stride, padding, padding, outputPadding, outputPadding, dilation, dilation, g, _rng.Next(4) != 0);
        // The output shape by the IR's own rule: it must fit the graph's size limits and keep a position.
        if (spec.Problems().Any())
        {
            return null;
        }

        try
        {
            var probe = new GraphBuilder("probe");
            var shape = probe.Call(probe.Module("deconv", spec), probe.StateInput("x", x.Shape.Dims.ToArray()))[0].Shape;
            if (!Fits(shape))
            {
                return null;
            }
        }
        catch (GraphException)
        {
            return null;
        }

        return Add(_b.Call(_b.Module(NextName("deconv"), spec), Use(x))[0]);
    }

    private GraphValue Bag()
    {
        string[] modes = [BagReduction.Sum, BagReduction.Mean, BagReduction.Max];
        var flat = _rng.Next(2) == 0;
        var indices = _b.CategoricalInput(NextName("c"), flat ? [N] : [B, N]);
        var offsets = flat ? _b.OffsetsInput(NextName("offsets"), B) : (GraphValue?)null;
        _nodes++;
        return _b.EmbeddingBag(NextName("bag"), indices, offsets, 2 + _rng.Next(4), 1 + _rng.Next(4), modes[_rng.Next(3)], includeLastOffset: flat && _rng.Next(3) == 0);
    }

    // ----- steps -----

    private bool TryLinear()
    {
        var x = Pick(l => LastConstant(l.Shape));
        if (x is null)
        {
            return false;
        }

        var inFeatures = x.Shape[x.Shape.Rank - 1].Value;
        var shared = _linears.Where(m => m.Spec.InFeatures == inFeatures).ToList();
        GraphValue y;
        if (shared.Count > 0 && _rng.Next(2) == 0)
        {
            // Weight sharing, like one encoder applied to two unit sets.
            var (module, spec) = shared[_rng.Next(shared.Count)];
            if (!Fits(x.Shape.With(x.Shape.Rank - 1, spec.OutFeatures)))
            {
                return false;
            }

            y = Add(_b.Linear(module, Use(x), spec.OutFeatures, spec.Bias));
        }
        else
        {
            y = Add(Linear(Use(x)));
        }

        if (_rng.Next(5) < 2)
        {
            Add(_b.Activation(Use(y), RandomActivation()));
        }

        return true;
    }

    private bool TryEmbedding()
    {
        if (_categoricals.Count > 0 && _rng.Next(3) == 0)
        {
            // A second table over an existing categorical input (same vocabulary).
            var (input, vocabulary) = _categoricals[_rng.Next(_categoricals.Count)];
            Add(_b.Embedding(NextName("emb"), input, vocabulary, 1 + _rng.Next(4)));
            return true;
        }

        EmbedNew(_rng.Next(3) switch
        {
            0 => [B],
            1 => [B, N],
            _ => [_rng.Next(2) == 0 ? N : Dim.Of(2 + _rng.Next(3))],
        });
        return true;
    }

    private bool TryConv1d()
    {
        var x = Pick(l => l.Shape.Rank is 2 or 3 && l.Shape[l.Shape.Rank - 2].IsConstant && ConvLengthOk(l.Shape[l.Shape.Rank - 1]));
        GraphValue input;
        var transposed = false;
        if (x is not null)
        {
            input = x.V;
        }
        else
        {
            x = Pick(l => l.Shape.Rank == 3 && LastConstant(l.Shape) && ConvLengthOk(l.Shape[1]));
            if (x is null)
            {
                return false;
            }

            input = Add(_b.Transpose(Use(x), 1, 2));
            transposed = true;
        }

        var channels = input.Shape[input.Shape.Rank - 2].Value;
        var length = input.Shape[input.Shape.Rank - 1];
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var kernel = 1 + _rng.Next(3);
            var dilation = _rng.Next(3) == 0 ? 2 : 1;
            var padding = _rng.Next(3) == 0 ? 0 : _rng.Next(3);
            var stride = length.IsConstant && _rng.Next(2) == 0 ? 2 : 1;
            var divisors = Enumerable.Range(1, (int)channels).Where(g => channels % g == 0).ToList();
            var groups = _rng.Next(2) == 0 ? 1 : divisors[_rng.Next(divisors.Count)];
            var outChannels = groups * (1 + _rng.Next(Math.Max(1, _o.MaxDim / groups)));
            var bias = _rng.Next(4) != 0;
            var shrink = (2 * padding) - (dilation * (kernel - 1));
            // The receptive field must fit: a negative numerator has no output (PyTorch raises).
            var outLength = length.IsConstant ? (length.Value + shrink - 1 < 0 ? 0 : ((length.Value + shrink - 1) / stride) + 1) : -1;
            if ((length.IsConstant && outLength < 1) || (!length.IsConstant && shrink < 0) || outLength > _o.MaxDerivedDim)
            {
                continue;
            }

            var outShape = input.Shape.With(input.Shape.Rank - 2, outChannels).With(input.Shape.Rank - 1, length.IsConstant ? Dim.Of(outLength) : length + shrink);
            if (!Fits(outShape))
            {
                continue;
            }

            Add(_b.Conv1d(NextName("conv"), Use(input), outChannels, kernel, stride, padding, dilation, groups, bias));
            return true;
        }

        return transposed; // a transpose without its conv stays: a valid node of its own
    }

    private bool TryRecurrent()
    {
        var x = Pick(l => l.Shape.Rank is 2 or 3 && LastConstant(l.Shape));
        if (x is null)
        {
            return false;
        }

        var lstm = _rng.Next(2) == 0;
        var hidden = 1 + _rng.Next(4);
        var layers = _rng.Next(10) < 3 ? 2 : 1;
        var bidirectional = _rng.Next(10) < 3;
        var batchFirst = _rng.Next(2) == 0;
        var bias = _rng.Next(5) != 0;
        var shape = x.Shape;
        while (hidden > 1 && !Fits(shape.With(shape.Rank - 1, hidden * (bidirectional ? 2 : 1))))
        {
            hidden--;
        }

        bidirectional &= Fits(shape.With(shape.Rank - 1, hidden * 2));
        var directions = bidirectional ? 2 : 1;
        var stateShape = shape.Rank == 3
            ? Shape.Of(Dim.Of(layers * directions), shape[batchFirst ? 0 : 1], Dim.Of(hidden))
            : Shape.Of(layers * directions, hidden);
        var input = Use(x);

        GraphValue? h0 = null, c0 = null;
        var mode = _rng.Next(20);
        if (mode < 7)
        {
            h0 = State("h", stateShape);
            c0 = lstm ? State("c", stateShape) : null;
        }
        else if (mode < 13 && _nodes + 3 <= _o.MaxNodes)
        {
            // An initial state computed from features: a Linear of a [batch, k] value ([k] when unbatched), then
            // unsqueezed to [1, batch, H], or stacked to [L·D, batch, H] for several layers or directions.
            Dim[] lead = shape.Rank == 3 ? [stateShape[1]] : [];
            var source = Pick(l => l.Shape.Rank == lead.Length + 1 && l.Shape.Dims.Take(lead.Length).SequenceEqual(lead) && LastConstant(l.Shape) && !l.IsRecurrentState)?.V;
            if (source is null && lead.All(d => d.IsConstant || d.IsPlainSymbol))
            {
                source = Input(_b.FeatureInput(NextName("x"), [.. lead, Dim.Of(1 + _rng.Next(_o.MaxDim))]));
            }

            if (source is { } src)
            {
                var h = Add(_b.Linear(NextName("fc"), Use(src), hidden));
                var copies = layers * directions;
                h0 = Add(copies == 1 && _rng.Next(3) != 0 ? _b.Unsqueeze(h, 0) : _b.Stack(0, Enumerable.Repeat(h, copies).ToArray()));
                c0 = lstm ? (_rng.Next(2) == 0 ? h0 : State("c", stateShape)) : null;
            }
        }

        if (lstm)
        {
            var (output, h, c) = _b.Lstm(NextName("lstm"), input, hidden, layers, batchFirst, bidirectional, bias, h0, c0);
            _nodes++;
            _pool.Add(new Live(output));
            _pool.Add(new Live(h, isRecurrentState: true));
            _pool.Add(new Live(c, isRecurrentState: true));
        }
        else
        {
            var (output, h) = _b.Gru(NextName("gru"), input, hidden, layers, batchFirst, bidirectional, bias, h0);
            _nodes++;
            _pool.Add(new Live(output));
            _pool.Add(new Live(h, isRecurrentState: true));
        }

        return true;
    }

    private bool TryLayerNorm()
    {
        var x = Pick(l => LastConstant(l.Shape));
        if (x is null)
        {
            return false;
        }

        var s = x.Shape;
        var last = s[s.Rank - 1].Value;
        long[] normalized = s.Rank >= 2 && s[s.Rank - 2].IsConstant && _rng.Next(3) == 0 ? [s[s.Rank - 2].Value, last] : [last];
        var affine = _rng.Next(6) != 0;
        var bias = _rng.Next(6) != 0;
        var spec = new LayerNormSpec(normalized, ElementwiseAffine: affine, Bias: bias);
        Add(_b.Call(_b.Module(NextName("ln"), spec), Use(x))[0]);
        return true;
    }

    private bool TryBatchNorm()
    {
        var x = Pick(l => l.Shape.Rank is 2 or 3 && l.Shape[1].IsConstant);
        GraphValue input;
        if (x is not null)
        {
            input = Use(x);
        }
        else
        {
            x = Pick(l => l.Shape.Rank == 3 && LastConstant(l.Shape));
            if (x is null)
            {
                return false;
            }

            input = Add(_b.Transpose(Use(x), 1, 2));
        }

        var spec = new BatchNorm1dSpec(input.Shape[1].Value, Affine: _rng.Next(6) != 0, TrackRunningStats: _rng.Next(6) != 0);
        Add(_b.Call(_b.Module(NextName("bn"), spec), input)[0]);
        return true;
    }

    private bool TryDropout()
    {
        var x = Pick(_ => true);
        if (x is null)
        {
            return false;
        }

        Add(_b.Dropout(Use(x), _rng.Next(2) == 0 ? 0.1 : 0.5));
        return true;
    }

    private bool TryActivation()
    {
        var x = Pick(_ => true);
        if (x is null)
        {
            return false;
        }

        Add(_b.Activation(Use(x), RandomActivation()));
        return true;
    }

    private bool TrySoftmax()
    {
        var x = Pick(l => l.Shape.Rank >= 1);
        if (x is null)
        {
            return false;
        }

        var axis = _rng.Next(x.Shape.Rank) - (_rng.Next(2) == 0 ? 0 : x.Shape.Rank);
        Add(_b.Softmax(Use(x), axis, log: _rng.Next(2) == 0));
        return true;
    }

    private bool TryBinary()
    {
        var x = Pick(l => l.Shape.Rank >= 1);
        if (x is null)
        {
            return false;
        }

        GraphValue a = x.V, other;
        switch (_rng.Next(4))
        {
            case 0:
            {
                // x - mean(x, axis, keepdim): broadcasting against a size-1 axis.
                var axis = _rng.Next(a.Shape.Rank);
                other = Add(_b.Reduce(a, RandomReduction(), axis, keepDim: true));
                break;
            }

            case 1:
            {
                // A new feature input of a broadcastable shape: a suffix of x's shape, some axes set to 1.
                var keep = 1 + _rng.Next(a.Shape.Rank);
                var dims = a.Shape.Dims.Skip(a.Shape.Rank - keep).Select(d => _rng.Next(3) == 0 || !(d.IsConstant || d.IsPlainSymbol) ? Dim.Of(1) : d).ToArray();
                if (!dims[dims.Length - 1].IsConstant)
                {
                    dims[dims.Length - 1] = 1;
                }

                other = Input(_b.FeatureInput(NextName("x"), dims));
                break;
            }

            default:
            {
                var partner = Pick(l => Broadcast(l.Shape, a.Shape) is { } r && Fits(r), preferUnused: false) ?? x;
                other = Use(partner);
                break;
            }
        }

        Use(x);
        var (left, right) = _rng.Next(2) == 0 ? (a, other) : (other, a);
        Add(_rng.Next(3) switch
        {
            0 => _b.Add(left, right),
            1 => _b.Sub(left, right),
            _ => _b.Mul(left, right),
        });
        return true;
    }

    private bool TryConcat()
    {
        var x = Pick(l => l.Shape.Rank >= 1);
        if (x is null)
        {
            return false;
        }

        var s = x.Shape;
        var axis = _rng.Next(s.Rank);
        var partners = _pool
            .Where(l => l.Shape.Rank == s.Rank && Enumerable.Range(0, s.Rank).All(i => i == axis || l.Shape[i] == s[i]))
            .ToList();
        var operands = new List<GraphValue> { x.V };
        var count = 1 + _rng.Next(2);
        for (var i = 0; i < count; i++)
        {
            var p = partners.Count > 0 && _rng.Next(4) != 0 ? partners[_rng.Next(partners.Count)] : x;
            operands.Add(p.V);
        }

        var total = operands.Aggregate(Dim.Of(0), (acc, o) => acc + o.Shape[axis]);
        while (!Fits(s.With(axis, total)) && operands.Count > 2)
        {
            total -= operands[operands.Count - 1].Shape[axis];
            operands.RemoveAt(operands.Count - 1);
        }

        if (!Fits(s.With(axis, total)))
        {
            return false;
        }

        foreach (var o in operands)
        {
            MarkUsed(o);
        }

        Add(_b.Concat(axis - (_rng.Next(2) == 0 ? 0 : s.Rank), operands.ToArray()));
        return true;
    }

    /// <summary>Two (or three) groups encoded separately (Linear or Embedding), concatenated along the feature axis.</summary>
    private bool TryConcatGroups()
    {
        // Budget: one node per group, the concat, then optional ReLUs and a third group while they fit.
        Dim[] leading = _rng.Next(3) == 0 ? [B, N] : [B];
        var count = _rng.Next(4) == 0 && _nodes + 4 <= _o.MaxNodes ? 3 : 2;
        var pending = count + 1;
        var room = (int)Math.Min(_o.MaxDerivedDim, _o.MaxElements / new Shape(leading).Evaluate(_ => _o.SymbolSizeForLimits).Aggregate(1L, (p, d) => p * d));
        var groups = new List<GraphValue>();
        var existing = Pick(l => l.Shape.Rank == leading.Length + 1 && LastConstant(l.Shape) && l.Shape.Dims.Take(leading.Length).SequenceEqual(leading) && !l.IsRecurrentState);
        groups.Add(Encode(existing is not null && _rng.Next(2) == 0 ? existing.V : NewInput()));
        for (var i = 1; i < count; i++)
        {
            groups.Add(_rng.Next(4) == 0 ? Embed() : Encode(NewInput()));
        }

        foreach (var g in groups)
        {
            MarkUsed(g);
        }

        Add(_b.Concat(-1, groups.ToArray()));
        return true;

        GraphValue NewInput() => Input(_b.FeatureInput(NextName("x"), [.. leading, Dim.Of(1 + _rng.Next(_o.MaxDim))]));

        // Width left for this group: the others still to come get at least 1 each.
        int Room() => room - (count - groups.Count - 1);

        GraphValue Embed()
        {
            pending--;
            var e = EmbedNew(leading, Room());
            room -= (int)e.Shape[e.Shape.Rank - 1].Value;
            return e;
        }

        GraphValue Encode(GraphValue v)
        {
            pending--;
            var y = Add(Linear(v, Room()));
            room -= (int)y.Shape[y.Shape.Rank - 1].Value;
            return _rng.Next(2) == 0 && _nodes + pending + 1 <= _o.MaxNodes ? Add(_b.Relu(Use(y))) : y;
        }
    }

    private bool TryReduce()
    {
        var x = Pick(l => l.Shape.Rank >= 2);
        if (x is null)
        {
            return false;
        }

        Add(_b.Reduce(Use(x), RandomReduction(), _rng.Next(x.Shape.Rank), keepDim: _rng.Next(5) < 2));
        return true;
    }

    /// <summary>A set input [B, N, F], optionally encoded per unit, pooled over the set axis.</summary>
    private bool TryPoolSet()
    {
        var x = Input(_b.FeatureInput(NextName("x"), B, N, 1 + _rng.Next(_o.MaxDim)));
        if (_rng.Next(3) != 0)
        {
            x = Add(Linear(Use(x)));
            if (_rng.Next(2) == 0)
            {
                x = Add(_b.Relu(Use(x)));
            }
        }

        Add(_b.Reduce(Use(x), RandomReduction(), _rng.Next(2) == 0 ? 1 : -2, keepDim: _rng.Next(4) == 0));
        return true;
    }

    private bool TryStack()
    {
        var x = Pick(l => l.Shape.Rank < _o.MaxRank);
        if (x is null)
        {
            return false;
        }

        var partners = _pool.Where(l => l.Shape == x.Shape && l.V.Ref != x.V.Ref).ToList();
        var operands = new List<GraphValue> { x.V };
        var count = 1 + _rng.Next(2);
        for (var i = 0; i < count; i++)
        {
            operands.Add((partners.Count > 0 && _rng.Next(3) != 0 ? partners[_rng.Next(partners.Count)] : x).V);
        }

        if (!Fits(x.Shape.Insert(0, operands.Count)))
        {
            operands.RemoveAt(operands.Count - 1);
            if (!Fits(x.Shape.Insert(0, operands.Count)))
            {
                return false;
            }
        }

        foreach (var o in operands)
        {
            MarkUsed(o);
        }

        var axis = _rng.Next(x.Shape.Rank + 1);
        Add(_b.Stack(_rng.Next(2) == 0 ? axis : axis - (x.Shape.Rank + 1), operands.ToArray()));
        return true;
    }

    private bool TryReshape()
    {
        switch (_rng.Next(3))
        {
            case 0:
            {
                // Split the feature axis [..., w] into [..., k, w/k].
                var x = Pick(l => l.Shape.Rank < _o.MaxRank && LastConstant(l.Shape) && Divisors(l.Shape[l.Shape.Rank - 1].Value).Count > 0);
                if (x is null)
                {
                    return false;
                }

                var s = x.Shape;
                var w = s[s.Rank - 1].Value;
                var ks = Divisors(w);
                var k = ks[_rng.Next(ks.Count)];
                var target = s.Dims.Take(s.Rank - 1).Concat([Dim.Of(k), Dim.Of(w / k)]).ToArray();
                Add(_b.Reshape(Use(x), InferOne(target)));
                return true;
            }

            case 1:
            {
                // Merge two adjacent axes (at most one symbolic).
                var x = Pick(l => l.Shape.Rank >= 2 && MergeAxes(l.Shape).Count > 0);
                if (x is null)
                {
                    return false;
                }

                var s = x.Shape;
                var options = MergeAxes(s);
                var a = options[_rng.Next(options.Count)];
                var merged = s[a].IsConstant ? s[a + 1] * s[a].Value : s[a] * s[a + 1].Value;
                var target = s.Dims.Take(a).Concat([merged]).Concat(s.Dims.Skip(a + 2)).ToArray();
                Add(_b.Reshape(Use(x), InferOne(target)));
                return true;
            }

            default:
            {
                // [d0, -1]: everything after the first axis into one (at most one symbolic factor there).
                var x = Pick(l => l.Shape.Rank >= 2 && l.Shape.Dims.Skip(1).Count(d => !d.IsConstant) <= 1 && RestFits(l.Shape));
                if (x is null)
                {
                    return false;
                }

                Add(_b.Reshape(Use(x), x.Shape[0], Dim.Of(-1)));
                return true;
            }
        }
    }

    private bool TryFlatten()
    {
        var x = Pick(l => l.Shape.Rank >= 2 && MergeAxes(l.Shape).Count > 0);
        if (x is null)
        {
            return false;
        }

        var s = x.Shape;
        var options = new List<(int Start, int End)>();
        for (var start = 0; start < s.Rank; start++)
        {
            for (var end = start + 1; end < s.Rank; end++)
            {
                var range = s.Dims.Skip(start).Take(end - start + 1).ToList();
                var merged = range.Where(d => d.IsConstant).Aggregate(1L, (p, d) => p * d.Value);
                var symbolic = range.Where(d => !d.IsConstant).ToList();
                var dim = symbolic.Count == 0 ? Dim.Of(merged) : symbolic[0] * merged;
                if (symbolic.Count <= 1 && Fits(new Shape(s.Dims.Take(start).Concat([dim]).Concat(s.Dims.Skip(end + 1)))))
                {
                    options.Add((start, end));
                }
            }
        }

        if (options.Count == 0)
        {
            return false;
        }

        var (st, en) = options[_rng.Next(options.Count)];
        Add(_rng.Next(3) == 0 && en == s.Rank - 1 ? _b.Flatten(Use(x), st) : _b.Flatten(Use(x), st, en));
        return true;
    }

    private bool TryUnsqueeze()
    {
        var x = Pick(l => l.Shape.Rank < _o.MaxRank);
        if (x is null)
        {
            return false;
        }

        Add(_b.Unsqueeze(Use(x), _rng.Next(x.Shape.Rank + 1)));
        return true;
    }

    private bool TrySqueeze()
    {
        var x = Pick(l => l.Shape.Dims.Any(d => d == Dim.Of(1)) && l.Shape.Rank >= 2);
        if (x is not null)
        {
            var ones = Enumerable.Range(0, x.Shape.Rank).Where(i => x.Shape[i] == Dim.Of(1)).ToList();
            Add(_b.Squeeze(Use(x), ones[_rng.Next(ones.Count)]));
            return true;
        }

        x = Pick(l => l.Shape.Rank >= 2);
        if (x is null)
        {
            return false;
        }

        var axis = _rng.Next(x.Shape.Rank);
        Add(_b.Squeeze(Add(_b.Reduce(Use(x), RandomReduction(), axis, keepDim: true)), axis));
        return true;
    }

    private bool TryNarrow()
    {
        var x = Pick(l => ConstantAxes(l.Shape, 2).Count > 0);
        if (x is null)
        {
            return false;
        }

        var axes = ConstantAxes(x.Shape, 2);
        var axis = axes[_rng.Next(axes.Count)];
        var d = x.Shape[axis].Value;
        var start = _rng.Next((int)d);
        var length = 1 + _rng.Next((int)(d - start));
        Add(_b.Narrow(Use(x), axis, _rng.Next(3) == 0 ? start - d : start, length));
        return true;
    }

    private bool TrySlice()
    {
        var x = Pick(l => ConstantAxes(l.Shape, 2).Count > 0);
        if (x is null)
        {
            return false;
        }

        var axes = ConstantAxes(x.Shape, 2);
        var axis = axes[_rng.Next(axes.Count)];
        var d = x.Shape[axis].Value;
        var step = _rng.Next(5) < 3 ? 2 + _rng.Next(2) : 1;
        var start = _rng.Next((int)d - 1);
        var end = start + 1 + _rng.Next((int)(d - start));
        long? s = _rng.Next(4) switch
        {
            0 when start == 0 => null,
            1 => start - d,
            _ => start,
        };
        long? e = _rng.Next(4) switch
        {
            0 when end == d => null,
            1 when end < d => end - d,
            _ => end,
        };
        Add(_b.Slice(Use(x), axis, s, e, step));
        return true;
    }

    private bool TryTranspose()
    {
        var x = Pick(l => l.Shape.Rank >= 2);
        if (x is null)
        {
            return false;
        }

        var a0 = _rng.Next(x.Shape.Rank);
        var a1 = (a0 + 1 + _rng.Next(x.Shape.Rank - 1)) % x.Shape.Rank;
        Add(_b.Transpose(Use(x), a0, a1 - (_rng.Next(3) == 0 ? x.Shape.Rank : 0)));
        return true;
    }

    // ----- images -----

    /// <summary>
    /// A source of rank 2 to 4 (a new [B, C, H, W] or [C, H, W] input, a [.., w] value reshaped to [.., C, H, W'], a
    /// rank-3 value as it is or unsqueezed), then one to four of Conv2d, BatchNorm2d, activation, pooling and
    /// adaptive pooling in random order, sometimes ending in flatten and Linear. Null when nothing fits the budget.
    /// </summary>
    private GraphValue? ImageChain()
    {
        if (ImageSource() is not { } x)
        {
            return null;
        }

        var steps = 1 + _rng.Next(4);
        var applied = 0;
        for (var attempt = 0; attempt < 16 && applied < steps && _nodes < _o.MaxNodes; attempt++)
        {
            var y = _rng.Next(6) switch
            {
                0 or 1 => TryConv2d(x),
                2 => TryBatchNorm2d(x),
                3 => x.Shape.Rank >= 3 ? Add(_b.Activation(x, RandomActivation())) : (GraphValue?)null,
                4 => TryPool(x),
                _ => TryAdaptivePool(x),
            };
            if (y is { } next)
            {
                x = next;
                applied++;
            }
        }

        if (applied == 0)
        {
            // Adaptive pooling to the sizes it has always fits (the source fits): the chain needs a node of its own.
            x = TryAdaptivePool(x, keepSizes: true)!.Value;
        }

        // A small CNN's head: flatten and Linear, where the flattened width is a size the generator allows.
        var rest = x.Shape.Dims.Skip(1).ToList();
        if (_nodes + 2 <= _o.MaxNodes && x.Shape.Rank >= 3 && _rng.Next(3) == 0 && rest.All(d => d.IsConstant)
            && rest.Aggregate(1L, (p, d) => p * d.Value) <= _o.MaxDerivedDim)
        {
            x = Add(Linear(Add(_b.Flatten(x, 1))));
        }

        return x;
    }

    /// <summary>
    /// A value of rank ≥ 2 (an existing one, or a new [B, C, H, W] input whose features are its channels), permuted
    /// and/or multiplied by a transpose of itself or by another value of matching shape. Null when nothing fits.
    /// </summary>
    private GraphValue? MixChain()
    {
        GraphValue x;
        if (_rng.Next(3) == 0)
        {
            var c = 1 + _rng.Next(3);
            var h = 1 + _rng.Next(3);
            var w = 1 + _rng.Next(3);
            if (!Fits(Shape.Of(B, c, h, w)))
            {
                return null;
            }

            x = Input(_b.FeatureInputAt(NextName("img"), 1, B, c, h, w));
        }
        else if (Pick(l => l.Shape.Rank is >= 2 and <= 4 && !l.IsRecurrentState && l.Shape.Dims.Skip(l.Shape.Rank - 2).All(d => d.IsConstant)) is { } live)
        {
            x = Use(live);
        }
        else
        {
            return null;
        }

        var applied = false;
        if (_nodes < _o.MaxNodes && _rng.Next(2) == 0)
        {
            // A random permutation that keeps the last two axes constant (so a matmul can follow).
            var rank = x.Shape.Rank;
            var dims = Enumerable.Range(0, rank).OrderBy(_ => _rng.Next()).ToArray();
            if (dims.Skip(rank - 2).All(d => x.Shape[d].IsConstant) && Fits(new Shape(dims.Select(d => x.Shape[d]))))
            {
                x = Add(_b.Permute(x, dims));
                applied = true;
            }
        }

        var r = x.Shape.Rank;
        if (_nodes + 2 <= _o.MaxNodes && x.Shape[r - 1].IsConstant && x.Shape[r - 2].IsConstant)
        {
            var other = Pick(l => l.Shape.Rank == r && l.Shape[r - 2] == x.Shape[r - 1] && l.Shape[r - 1].IsConstant && !l.IsRecurrentState
                && l.V.Ref != x.Ref && BatchBroadcasts(l.Shape, x.Shape), preferUnused: false);
            if (other is not null && _rng.Next(2) == 0 && Fits(x.Shape.With(r - 1, other.Shape[r - 1])))
            {
                return Add(_b.MatMul(x, Use(other)));
            }

            var product = x.Shape.With(r - 1, x.Shape[r - 2]);
            if (Fits(product))
            {
                // x · xᵀ: a Gram matrix, every element reading two rows.
                return Add(_b.MatMul(x, Add(_b.Transpose(x, r - 2, r - 1))));
            }
        }

        return applied ? x : null;
    }

    /// <summary>
    /// A live value with a constant last axis meets a tensor field: scaled or shifted by one of its shape's trailing
    /// axes (an RMSNorm weight, a position table), or multiplied by a [last, k] matrix on either side.
    /// </summary>
    private GraphValue? TensorField()
    {
        var x = Pick(l => l.Shape.Rank >= 1 && LastConstant(l.Shape) && !l.IsRecurrentState && Enumerable.Range(0, l.Shape.Rank).All(a => l.Shape[a].IsConstant || a < l.Shape.Rank - 2), preferUnused: false);
        if (x is null)
        {
            return null;
        }

        var s = x.Shape;
        var last = s[s.Rank - 1].Value;
        var name = NextName("w");
        var buffer = _rng.Next(4) == 0;
        GraphValue Field(long[] dims)
        {
            _nodes++;
            return _b.Tensor(name, dims, buffer);
        }

        switch (_rng.Next(4))
        {
            case 0:
                return Add(_b.Mul(Use(x), Field([last])));
            case 1:
            {
                // A table over the last two axes, or one broadcast along the second to last.
                long[] dims = s.Rank >= 2 && s[s.Rank - 2].IsConstant && _rng.Next(2) == 0 ? [s[s.Rank - 2].Value, last] : [1, last];
                return Fits(Shape.Of(dims)) ? Add(_b.Add(Field(dims), Use(x))) : null;
            }

            case 2 when s.Rank >= 2:
            {
                var k = 1 + _rng.Next(4);
                return Fits(s.With(s.Rank - 1, k)) ? Add(_b.MatMul(Use(x), Field([last, k]))) : null;
            }

            default:
            {
                if (s.Rank < 2 || !s[s.Rank - 2].IsConstant)
                {
                    return null;
                }

                var rows = 1 + _rng.Next(4);
                return Fits(s.With(s.Rank - 2, rows)) ? Add(_b.MatMul(Field([rows, s[s.Rank - 2].Value]), Use(x))) : null;
            }
        }
    }

    private static bool BatchBroadcasts(Shape a, Shape b) =>
        Enumerable.Range(0, a.Rank - 2).All(i => a[i] == b[i] || a[i] == Dim.Of(1) || b[i] == Dim.Of(1));

    private GraphValue? ImageSource()
    {
        var c = 1 + _rng.Next(3);
        var h = 2 + _rng.Next(4);
        var w = 2 + _rng.Next(4);
        switch (_rng.Next(5))
        {
            case 0:
                return Fits(Shape.Of(B, c, h, w)) ? Input(_b.FeatureInput(NextName("x"), B, c, h, w)) : null;
            case 1:
                return Input(_b.FeatureInput(NextName("x"), c, h, w));
            case 2:
            {
                // [.., w] as [.., C, H, W'] with C·H·W' = w (factors may be 1).
                var x = Pick(l => l.Shape.Rank == 2 && LastConstant(l.Shape) && !l.IsRecurrentState, preferUnused: false);
                if (x is null || _nodes + 2 > _o.MaxNodes)
                {
                    return null;
                }

                var width = x.Shape[1].Value;
                var factors = Enumerable.Range(1, (int)width).Where(f => width % f == 0).ToList();
                var channels = factors[_rng.Next(factors.Count)];
                var rest = Enumerable.Range(1, (int)(width / channels)).Where(f => width / channels % f == 0).ToList();
                var height = rest[_rng.Next(rest.Count)];
                return Add(_b.Reshape(Use(x), x.Shape[0], Dim.Of(channels), Dim.Of(height), Dim.Of(width / channels / height)));
            }

            case 3:
            {
                // A rank-3 value as it is: a 1-D pooling input, or [C, H, W] for Conv2d when its first axis is constant.
                var x = Pick(l => l.Shape.Rank == 3 && LastConstant(l.Shape) && !l.IsRecurrentState, preferUnused: false);
                return x is null ? null : Use(x);
            }

            default:
            {
                var x = Pick(l => l.Shape.Rank == 3 && LastConstant(l.Shape) && !l.IsRecurrentState && (l.Shape[1].IsConstant || l.Shape[1].IsPlainSymbol), preferUnused: false);
                if (x is null || _nodes + 2 > _o.MaxNodes)
                {
                    return null;
                }

                return Add(_b.Unsqueeze(Use(x), 1));
            }
        }
    }

    private GraphValue? TryConv2d(GraphValue x)
    {
        var s = x.Shape;
        if (s.Rank is not (3 or 4) || !s[s.Rank - 3].IsConstant)
        {
            return null;
        }

        var channels = s[s.Rank - 3].Value;
        for (var attempt = 0; attempt < 20; attempt++)
        {
            long[] kernel = [1 + _rng.Next(3), 1 + _rng.Next(3)];
            long[] stride = [1, 1], padding = [0, 0], dilation = [1, 1];
            var outShape = s;
            var ok = true;
            for (var axis = 0; axis < 2 && ok; axis++)
            {
                var length = s[s.Rank - 2 + axis];
                dilation[axis] = kernel[axis] > 1 && _rng.Next(4) == 0 ? 2 : 1;
                padding[axis] = _rng.Next(3) == 0 ? 0 : _rng.Next(2);
                stride[axis] = length.IsConstant && _rng.Next(3) == 0 ? 2 : 1;
                var shrink = (2 * padding[axis]) - (dilation[axis] * (kernel[axis] - 1));
                if (length.IsConstant)
                {
                    var n = Windows.OutputLength(length.Value, kernel[axis], stride[axis], padding[axis], dilation[axis]);
                    ok = n >= 1;
                    outShape = outShape.With(s.Rank - 2 + axis, n);
                }
                else
                {
                    // A symbolic length only passes through stride 1 without shrinking (it must stay >= 1 at any size).
                    ok = length.IsPlainSymbol && shrink >= 0;
                    outShape = outShape.With(s.Rank - 2 + axis, length + shrink);
                }
            }

            var divisors = Enumerable.Range(1, (int)channels).Where(g => channels % g == 0).ToList();
            var groups = _rng.Next(2) == 0 ? 1 : divisors[_rng.Next(divisors.Count)];
            var outChannels = groups * (1 + _rng.Next(Math.Max(1, 4 / groups)));
            outShape = outShape.With(s.Rank - 3, outChannels);
            if (!ok || !Fits(outShape))
            {
                continue;
            }

            var spec = new Conv2dSpec(channels, outChannels, kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1], groups, _rng.Next(4) != 0);
            return Add(_b.Call(_b.Module(NextName("conv2d"), spec), x)[0]);
        }

        return null;
    }

    private GraphValue? TryBatchNorm2d(GraphValue x)
    {
        if (x.Shape.Rank != 4 || !x.Shape[1].IsConstant)
        {
            return null;
        }

        var spec = new BatchNorm2dSpec(x.Shape[1].Value, Affine: _rng.Next(6) != 0, TrackRunningStats: _rng.Next(6) != 0);

        // A GroupNorm in its place, chosen by the side stream so the main stream draws what it always drew.
        if (_side.Next(3) == 0)
        {
            var channels = x.Shape[1].Value;
            var groups = Enumerable.Range(1, (int)channels).Where(g => channels % g == 0).ToList();
            return Add(_b.GroupNorm(NextName("gn"), x, groups[_side.Next(groups.Count)], affine: spec.Affine));
        }

        return Add(_b.Call(_b.Module(NextName("bn2d"), spec), x)[0]);
    }

    /// <summary>Max or avg pooling over the last one or two constant axes; dilation only for max (torch's avg has none).</summary>
    private GraphValue? TryPool(GraphValue x)
    {
        var s = x.Shape;
        var d = s.Rank switch
        {
            2 => 1,
            4 => 2,
            _ => 1 + _rng.Next(2),
        };
        if (s.Rank < d + 1 || s.Rank > d + 2 || Enumerable.Range(s.Rank - d, d).Any(a => !s[a].IsConstant))
        {
            return null;
        }

        var kind = _rng.Next(2) == 0 ? PoolKind.Max : PoolKind.Avg;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            long[] kernel = new long[d], stride = new long[d], padding = new long[d], dilation = new long[d];
            var outShape = s;
            var ok = true;
            for (var axis = 0; axis < d; axis++)
            {
                kernel[axis] = 1 + _rng.Next(3);
                stride[axis] = 1 + _rng.Next(3);
                padding[axis] = _rng.Next((int)(kernel[axis] / 2) + 1);
                dilation[axis] = kind == PoolKind.Max && kernel[axis] > 1 && _rng.Next(4) == 0 ? 2 : 1;
                var n = Windows.OutputLength(s[s.Rank - d + axis].Value, kernel[axis], stride[axis], padding[axis], dilation[axis]);
                ok &= n >= 1;
                outShape = outShape.With(s.Rank - d + axis, Math.Max(n, 1));
            }

            if (ok && Fits(outShape))
            {
                return Add(_b.Pool(x, kind, kernel, stride, padding, dilation));
            }
        }

        return null;
    }

    /// <summary>Adaptive max or avg pooling of the last one or two axes (symbolic ones too) to sizes up to one more than the length.</summary>
    private GraphValue? TryAdaptivePool(GraphValue x, bool keepSizes = false)
    {
        var s = x.Shape;
        var d = s.Rank switch
        {
            2 => 1,
            4 => 2,
            _ => 1 + _rng.Next(2),
        };
        if (s.Rank < d + 1 || s.Rank > d + 2)
        {
            return null;
        }

        var output = new long[d];
        for (var axis = 0; axis < d; axis++)
        {
            var length = s[s.Rank - d + axis];
            var most = length.IsConstant ? Math.Min(length.Value + 1, _o.MaxDerivedDim) : 3;
            output[axis] = keepSizes && length.IsConstant ? length.Value : 1 + _rng.Next((int)most);
        }

        var outShape = s;
        for (var axis = 0; axis < d; axis++)
        {
            outShape = outShape.With(s.Rank - d + axis, output[axis]);
        }

        return Fits(outShape) ? Add(_b.AdaptivePool(x, _rng.Next(2) == 0 ? PoolKind.Max : PoolKind.Avg, output)) : null;
    }

    // ----- helpers -----

    private void NewFeatureInput()
    {
        var f = Dim.Of(1 + _rng.Next(_o.MaxDim));
        Dim[] shape = _rng.Next(5) switch
        {
            0 => [B, f],
            1 => [B, N, f],
            2 => [B, 2 + _rng.Next(_o.MaxDim - 1), f],
            3 => [N, f],
            _ => _rng.Next(2) == 0 ? [B, f] : [B, N, f],
        };
        Input(_b.FeatureInput(NextName("x"), shape));
    }

    private GraphValue EmbedNew(Dim[] shape, int maxDim = 4)
    {
        var shared = _embeddings.Where(e => e.Spec.EmbeddingDim <= maxDim).ToList();
        if (shared.Count > 0 && _rng.Next(2) == 0)
        {
            // One table for two index inputs of the same vocabulary.
            var (module, spec) = shared[_rng.Next(shared.Count)];
            var sharedInput = _b.CategoricalInput(NextName("idx"), shape);
            _categoricals.Add((sharedInput, spec.NumEmbeddings));
            return Add(_b.Embedding(module, sharedInput, spec.NumEmbeddings, spec.EmbeddingDim));
        }

        var vocabulary = 2 + _rng.Next(_o.MaxDim - 1);
        var input = _b.CategoricalInput(NextName("idx"), shape);
        _categoricals.Add((input, vocabulary));

        var name = NextName("emb");
        var dim = 1 + _rng.Next(Math.Min(4, maxDim));
        _embeddings.Add((name, new EmbeddingSpec(vocabulary, dim)));
        return Add(_b.Embedding(name, input, vocabulary, dim));
    }

    private GraphValue Linear(GraphValue x, int maxOut = int.MaxValue)
    {
        var name = NextName("fc");
        var outFeatures = 1 + _rng.Next(Math.Max(1, Math.Min(_o.MaxDim, maxOut)));
        while (outFeatures > 1 && !Fits(x.Shape.With(x.Shape.Rank - 1, outFeatures)))
        {
            outFeatures--;
        }

        var spec = new LinearSpec(x.Shape[x.Shape.Rank - 1].Value, outFeatures, _rng.Next(10) < 7);
        _linears.Add((name, spec));
        return _b.Linear(name, Use(x), spec.OutFeatures, spec.Bias);
    }

    private GraphValue State(string stem, Shape shape) => _b.StateInput(NextName(stem), shape.Dims.ToArray());

    private GraphValue Input(GraphValue v)
    {
        _pool.Add(new Live(v) { IsInput = true });
        return v;
    }

    private GraphValue Add(GraphValue v)
    {
        _nodes++;
        _pool.Add(new Live(v));
        return v;
    }

    private GraphValue Use(Live l)
    {
        l.Used = true;
        return l.V;
    }

    private GraphValue Use(GraphValue v)
    {
        MarkUsed(v);
        return v;
    }

    private void MarkUsed(GraphValue v)
    {
        foreach (var l in _pool.Where(l => l.V.Ref == v.Ref))
        {
            l.Used = true;
        }
    }

    /// <summary>A random live value satisfying <paramref name="ok"/> and the size limits, preferring unused ones.</summary>
    private Live? Pick(Func<Live, bool> ok, bool preferUnused = true)
    {
        var candidates = _pool.Where(l => ok(l) && Fits(l.Shape)).ToList();
        if (candidates.Count == 0)
        {
            return null;
        }

        if (preferUnused && _rng.Next(4) != 0)
        {
            var unused = candidates.Where(l => !l.Used).ToList();
            if (unused.Count > 0)
            {
                return unused[_rng.Next(unused.Count)];
            }
        }

        return candidates[_rng.Next(candidates.Count)];
    }

    private bool Fits(Shape s)
    {
        if (s.Rank > _o.MaxRank)
        {
            return false;
        }

        long elements = 1;
        foreach (var d in s.Dims)
        {
            if (d.IsConstant && d.Value > _o.MaxDerivedDim)
            {
                return false;
            }

            var v = d.Evaluate(_ => _o.SymbolSizeForLimits);
            if (v < 1)
            {
                return false;
            }

            elements *= v;
        }

        return elements <= _o.MaxElements;
    }

    private bool RestFits(Shape s)
    {
        var rest = s.Dims.Skip(1).ToList();
        var constant = rest.Where(d => d.IsConstant).Aggregate(1L, (p, d) => p * d.Value);
        var symbolic = rest.FirstOrDefault(d => !d.IsConstant);
        return Fits(Shape.Of(s[0], symbolic is null ? Dim.Of(constant) : symbolic * constant));
    }

    private List<int> MergeAxes(Shape s) =>
        Enumerable.Range(0, s.Rank - 1)
            .Where(a => s[a].IsConstant || s[a + 1].IsConstant)
            .Where(a => Fits(new Shape(s.Dims.Take(a).Concat([s[a].IsConstant ? s[a + 1] * s[a].Value : s[a] * s[a + 1].Value]).Concat(s.Dims.Skip(a + 2)))))
            .ToList();

    /// <summary>Replaces one dimension by -1 half of the time.</summary>
    private Dim[] InferOne(Dim[] target)
    {
        if (_rng.Next(2) == 0)
        {
            target[_rng.Next(target.Length)] = Dim.Of(-1);
        }

        return target;
    }

    private bool ConvLengthOk(Dim length) => length.IsConstant || length.IsPlainSymbol;

    private string NextName(string stem)
    {
        _names.TryGetValue(stem, out var n);
        _names[stem] = n + 1;
        return stem + n.ToString(CultureInfo.InvariantCulture);
    }

    private ActivationKind RandomActivation()
    {
        var kind = Activations[_rng.Next(Activations.Length)];
        return kind == ActivationKind.Identity ? LaterActivations[_side.Next(LaterActivations.Length)] : kind;
    }

    private ReduceKind RandomReduction() => Reductions[_rng.Next(Reductions.Length)];

    private static bool LastConstant(Shape s) => s.Rank >= 1 && s[s.Rank - 1].IsConstant;

    private static List<int> ConstantAxes(Shape s, long min) =>
        Enumerable.Range(0, s.Rank).Where(i => s[i].IsConstant && s[i].Value >= min).ToList();

    /// <summary>Proper divisors k of w with 1 &lt; k &lt; w.</summary>
    private static List<long> Divisors(long w) => Enumerable.Range(2, (int)Math.Max(0, w - 2)).Select(k => (long)k).Where(k => w % k == 0).ToList();

    /// <summary>PyTorch broadcasting of two shapes, or null.</summary>
    public static Shape? Broadcast(Shape a, Shape b)
    {
        var rank = Math.Max(a.Rank, b.Rank);
        var dims = new Dim[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i < rank - a.Rank ? Dim.Of(1) : a[i - (rank - a.Rank)];
            var db = i < rank - b.Rank ? Dim.Of(1) : b[i - (rank - b.Rank)];
            if (da == db || db == Dim.Of(1))
            {
                dims[i] = da;
            }
            else if (da == Dim.Of(1))
            {
                dims[i] = db;
            }
            else
            {
                return null;
            }
        }

        return new Shape(dims);
    }

    // ----- traits and description -----

    /// <summary>
    /// What a graph exercises, read off its structure: layer kinds with variants (<c>Linear.nobias</c>,
    /// <c>LSTM.bidirectional</c>, …), op kinds with variants (<c>slice.step</c>, <c>reshape.split_features</c>,
    /// <c>concat.groups</c>, <c>pool.set_input</c>, …). Property tests assert coverage over many seeds.
    /// </summary>
    public static IReadOnlyCollection<string> Traits(ModelGraph graph)
    {
        _ = graph ?? throw new ArgumentNullException(nameof(graph));
        var traits = new SortedSet<string>(StringComparer.Ordinal);
        var origins = new Dictionary<ValueRef, HashSet<string>>();
        var encoded = new Dictionary<ValueRef, bool>();
        var inputs = graph.Inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            if (input.Role == InputRole.Features && input.FeatureAxis >= 0)
            {
                traits.Add("input.channel_features");
            }

            origins[new ValueRef(input.Name)] = input.Role is InputRole.State or InputRole.Offsets ? [] : [input.Name];
            encoded[new ValueRef(input.Name)] = false;
        }

        var calls = graph.Nodes.Where(n => n.Op is CallOp).GroupBy(n => ((CallOp)n.Op).Module).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            var shapes = node.Operands.Select(graph.ShapeOf).ToList();
            var from = new HashSet<string>(node.Operands.SelectMany(o => origins[o]), StringComparer.Ordinal);
            var isEncoded = node.Operands.Any(o => encoded[o]);
            switch (node.Op)
            {
                case CallOp call:
                {
                    var spec = graph.FindModule(call.Module)!.Spec;
                    isEncoded = true;
                    var kind = spec.Kind;
                    traits.Add(kind);
                    if (calls[call.Module] > 1)
                    {
                        traits.Add(kind + ".shared");
                    }

                    switch (spec)
                    {
                        case LinearSpec l:
                            traits.Add(l.Bias ? "Linear.bias" : "Linear.nobias");
                            break;
                        case GroupNormSpec gn:
                            AddIf(gn.NumGroups > 1, "GroupNorm.groups");
                            break;
                        case AttentionProjectionSpec attention:
                            AddIf(attention.NumHeads > 1, "AttentionProjection.heads");
                            AddIf(node.Operands[0] != node.Operands[1], "AttentionProjection.cross");
                            break;
                        case EmbeddingSpec { Bag: { } bag }:
                            traits.Add("EmbeddingBag." + bag.Mode + (node.Operands.Count == 2 ? ".offsets" : ".rows"));
                            AddIf(bag.IncludeLastOffset, "EmbeddingBag.include_last_offset");
                            break;
                        case EmbeddingSpec:
                            traits.Add("Embedding.rank" + shapes[0].Rank.ToString(CultureInfo.InvariantCulture));
                            if (graph.Nodes.Count(n => n.Op is CallOp && n.Operands.Count > 0 && n.Operands[0] == node.Operands[0]) > 1)
                            {
                                traits.Add("Embedding.same_input_twice");
                            }

                            break;
                        case Conv1dSpec c:
                            AddIf(c.Stride > 1, "Conv1d.stride");
                            AddIf(c.Padding > 0, "Conv1d.padding");
                            AddIf(c.Dilation > 1, "Conv1d.dilation");
                            AddIf(c.Groups > 1, "Conv1d.groups");
                            AddIf(c.Groups > 1 && c.Groups == c.InChannels, "Conv1d.depthwise");
                            AddIf(!c.Bias, "Conv1d.nobias");
                            AddIf(shapes[0].Rank == 2, "Conv1d.unbatched");
                            AddIf(!shapes[0][shapes[0].Rank - 1].IsConstant, "Conv1d.symbolic_length");
                            break;
                        case RecurrentSpec r:
                            traits.Add(kind + (r.NumLayers > 1 ? ".multilayer" : ".single_layer"));
                            AddIf(r.Bidirectional, kind + ".bidirectional");
                            AddIf(r.BatchFirst && shapes[0].Rank == 3, kind + ".batch_first");
                            AddIf(!r.BatchFirst && shapes[0].Rank == 3, kind + ".sequence_first");
                            AddIf(shapes[0].Rank == 2, kind + ".unbatched");
                            AddIf(!r.Bias, kind + ".nobias");
                            if (node.Operands.Count == 1)
                            {
                                traits.Add(kind + ".no_initial_state");
                            }
                            else
                            {
                                var stateInputs = node.Operands.Skip(1).All(o => inputs.TryGetValue(o.Source, out var i) && i.Role == InputRole.State);
                                traits.Add(kind + (stateInputs ? ".state_input" : ".computed_state"));
                            }

                            break;
                        case LayerNormSpec n:
                            AddIf(n.NormalizedShape.Count > 1, "LayerNorm.multi_axis");
                            AddIf(!n.ElementwiseAffine, "LayerNorm.no_affine");
                            AddIf(n.ElementwiseAffine && !n.Bias, "LayerNorm.nobias");
                            break;
                        case BatchNorm1dSpec bn:
                            traits.Add("BatchNorm1d.rank" + shapes[0].Rank.ToString(CultureInfo.InvariantCulture));
                            AddIf(!bn.Affine, "BatchNorm1d.no_affine");
                            AddIf(!bn.TrackRunningStats, "BatchNorm1d.no_running_stats");
                            break;
                        case BatchNorm2dSpec bn:
                            AddIf(!bn.Affine, "BatchNorm2d.no_affine");
                            AddIf(!bn.TrackRunningStats, "BatchNorm2d.no_running_stats");
                            break;
                        case ConvTransposeSpec t:
                            AddIf(t.StrideW > 1, kind + ".stride");
                            AddIf(t.PaddingW > 0, kind + ".padding");
                            AddIf(t.OutputPaddingW > 0, kind + ".output_padding");
                            AddIf(t.DilationW > 1, kind + ".dilation");
                            AddIf(t.Groups > 1, kind + ".groups");
                            AddIf(!t.Bias, kind + ".nobias");
                            AddIf(shapes[0].Rank == t.Dimensions + 1, kind + ".unbatched");
                            AddIf(!shapes[0][shapes[0].Rank - 1].IsConstant, kind + ".symbolic_length");
                            break;
                        case Conv2dSpec c:
                            AddIf(c.StrideH > 1 || c.StrideW > 1, "Conv2d.stride");
                            AddIf(c.PaddingH > 0 || c.PaddingW > 0, "Conv2d.padding");
                            AddIf(c.DilationH > 1 || c.DilationW > 1, "Conv2d.dilation");
                            AddIf(c.KernelH != c.KernelW || c.StrideH != c.StrideW || c.PaddingH != c.PaddingW, "Conv2d.asymmetric");
                            AddIf(c.Groups > 1, "Conv2d.groups");
                            AddIf(c.Groups > 1 && c.Groups == c.InChannels, "Conv2d.depthwise");
                            AddIf(!c.Bias, "Conv2d.nobias");
                            AddIf(shapes[0].Rank == 3, "Conv2d.unbatched");
                            AddIf(!shapes[0][shapes[0].Rank - 2].IsConstant, "Conv2d.symbolic_height");
                            break;
                    }

                    break;
                }

                case ActivationOp a:
                    traits.Add("activation." + a.Activation);
                    break;

                case BinaryOp:
                    traits.Add(node.Op.Kind);
                    AddIf(shapes[0].Rank != shapes[1].Rank, "binary.broadcast_rank");
                    AddIf(BroadcastsOne(shapes[0], shapes[1]), "binary.broadcast_one");
                    AddIf(node.Operands[0] == node.Operands[1], "binary.same_operand");
                    break;

                case ConcatOp c:
                {
                    traits.Add("concat");
                    AddIf(c.Axis != shapes[0].Rank - 1, "concat.nonlast");
                    var groups = node.Operands.Where(o => encoded[o] && origins[o].Count > 0).Select(o => origins[o]).ToList();
                    var disjoint = groups.Where((g, i) => groups.Where((_, j) => j != i).Any(h => !g.Overlaps(h))).Count();
                    AddIf(disjoint >= 2, "concat.groups");
                    break;
                }

                case ReduceOp r:
                {
                    traits.Add(node.Op.Kind);
                    traits.Add(r.KeepDim ? "reduce.keepdim" : "reduce.drop");
                    var d = shapes[0][r.Axis];
                    if (!d.IsConstant)
                    {
                        traits.Add("reduce.symbolic_axis");
                        var pooled = from.Any(name => inputs[name].Role == InputRole.Features && inputs[name].Shape.Rank >= 3 && inputs[name].Shape[inputs[name].Shape.Rank - 2] == d);
                        AddIf(pooled, "pool.set_input");
                    }

                    break;
                }

                case ReshapeOp rs:
                {
                    traits.Add("reshape");
                    AddIf(rs.Target.Any(t => t == Dim.Of(-1)), "reshape.infer");
                    var input = shapes[0];
                    var output = node.OutputShapes[0];
                    var split = output.Rank == input.Rank + 1
                        && input.Dims.Take(input.Rank - 1).SequenceEqual(output.Dims.Take(input.Rank - 1))
                        && input[input.Rank - 1].IsConstant
                        && output[output.Rank - 1].IsConstant && output[output.Rank - 2].IsConstant
                        && output[output.Rank - 1].Value > 1 && output[output.Rank - 2].Value > 1;
                    AddIf(split, "reshape.split_features");
                    AddIf(output.Rank < input.Rank, "reshape.merge");
                    break;
                }

                case PoolOp p:
                {
                    traits.Add(p.Kind);
                    AddIf(p.Padding.Any(v => v > 0), "pool.padding");
                    AddIf(p.Dilation.Any(v => v > 1), "pool.dilation");
                    AddIf(!p.Stride.SequenceEqual(p.Kernel), "pool.stride_not_kernel");
                    AddIf(shapes[0].Rank == p.Dimensions + 1, "pool.unbatched");
                    break;
                }

                case AdaptivePoolOp p:
                {
                    traits.Add(p.Kind);
                    var lengths = shapes[0].Dims.Skip(shapes[0].Rank - p.Dimensions).ToList();
                    AddIf(lengths.Zip(p.Output).Any(t => t.First.IsConstant && t.First.Value % t.Second != 0), "adaptive.non_dividing");
                    AddIf(lengths.Zip(p.Output).Any(t => t.First.IsConstant && t.First.Value < t.Second), "adaptive.upsampling");
                    AddIf(lengths.Any(l => !l.IsConstant), "adaptive.symbolic");
                    break;
                }

                case MatMulOp:
                    traits.Add("matmul");
                    AddIf(shapes[0].Rank != shapes[1].Rank || !shapes[0].Dims.Take(shapes[0].Rank - 2).SequenceEqual(shapes[1].Dims.Take(shapes[1].Rank - 2)), "matmul.broadcast");
                    break;

                case PermuteOp:
                    traits.Add("permute");
                    break;

                case ScaleOp scale:
                    traits.Add("scale");
                    AddIf(scale.Offset != 0, "scale.offset");
                    break;

                case FillOp:
                    traits.Add("fill");
                    break;

                case SliceOp s:
                    traits.Add("slice");
                    AddIf(s.Step > 1, "slice.step");
                    break;

                case SoftmaxOp or DropoutOp or StackOp or FlattenOp or UnsqueezeOp or SqueezeOp or NarrowOp or TransposeOp:
                    traits.Add(node.Op.Kind);
                    break;
            }

            for (var i = 0; i < node.OutputShapes.Count; i++)
            {
                origins[new ValueRef(node.Id, i)] = from;
                encoded[new ValueRef(node.Id, i)] = isEncoded;
            }
        }

        foreach (var output in graph.Outputs)
        {
            traits.Add(output.SchemaOutput is null ? "output.state" : "output");
        }

        return traits;

        void AddIf(bool condition, string trait)
        {
            if (condition)
            {
                traits.Add(trait);
            }
        }
    }

    private static bool BroadcastsOne(Shape a, Shape b)
    {
        var rank = Math.Min(a.Rank, b.Rank);
        for (var i = 1; i <= rank; i++)
        {
            var da = a[a.Rank - i];
            var db = b[b.Rank - i];
            if (da != db && (da == Dim.Of(1) || db == Dim.Of(1)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A compact listing of a graph: inputs, modules, nodes with operands and shapes, outputs.</summary>
    public static string Describe(ModelGraph graph)
    {
        _ = graph ?? throw new ArgumentNullException(nameof(graph));
        var sb = new StringBuilder();
        sb.Append("graph ").Append(graph.Name).Append('\n');
        foreach (var i in graph.Inputs)
        {
            sb.Append("  input ").Append(i.Name).Append(' ').Append(i.Shape).Append(' ').Append(i.Role.ToString().ToLowerInvariant()).Append('\n');
        }

        foreach (var m in graph.Modules)
        {
            sb.Append("  module ").Append(m.Path).Append(' ').Append(SpecText(m.Spec)).Append('\n');
        }

        foreach (var n in graph.Nodes)
        {
            sb.Append("  ").Append(n.Id).Append(" = ").Append(OpText(n.Op))
                .Append('(').Append(string.Join(", ", n.Operands)).Append(") -> ")
                .Append(string.Join(", ", n.OutputShapes)).Append('\n');
        }

        foreach (var o in graph.Outputs)
        {
            sb.Append("  output ").Append(o.Name).Append(" = ").Append(o.Value).Append(o.SchemaOutput is null ? " (state)" : string.Empty).Append('\n');
        }

        return sb.ToString();
    }

    private static string SpecText(LayerSpec spec) => spec switch
    {
        LinearSpec l => Inv($"Linear({l.InFeatures} -> {l.OutFeatures}{(l.Bias ? string.Empty : ", no bias")})"),
        EmbeddingSpec { Bag: { } bag } e => Inv($"EmbeddingBag({e.NumEmbeddings} x {e.EmbeddingDim}, {bag.Mode}{(bag.IncludeLastOffset ? ", include_last_offset" : "")})"),
        EmbeddingSpec e => Inv($"Embedding({e.NumEmbeddings} x {e.EmbeddingDim})"),
        Conv1dSpec c => Inv($"Conv1d({c.InChannels} -> {c.OutChannels}, k {c.KernelSize}, s {c.Stride}, p {c.Padding}, d {c.Dilation}, g {c.Groups}{(c.Bias ? string.Empty : ", no bias")})"),
        RecurrentSpec r => Inv($"{r.Kind}({r.InputSize} -> {r.HiddenSize}, layers {r.NumLayers}{(r.Bidirectional ? ", bidirectional" : string.Empty)}{(r.BatchFirst ? ", batch_first" : string.Empty)}{(r.Bias ? string.Empty : ", no bias")})"),
        LayerNormSpec n => Inv($"LayerNorm([{string.Join(", ", n.NormalizedShape)}]{(n.ElementwiseAffine ? (n.Bias ? string.Empty : ", no bias") : ", no affine")})"),
        BatchNormSpec b => Inv($"{b.Kind}({b.NumFeatures}{(b.Affine ? string.Empty : ", no affine")}{(b.TrackRunningStats ? string.Empty : ", no running stats")})"),
        Conv2dSpec c => Inv($"Conv2d({c.InChannels} -> {c.OutChannels}, k {c.KernelH}x{c.KernelW}, s {c.StrideH}x{c.StrideW}, p {c.PaddingH}x{c.PaddingW}, d {c.DilationH}x{c.DilationW}, g {c.Groups}{(c.Bias ? string.Empty : ", no bias")})"),
        GroupNormSpec g => Inv($"GroupNorm({g.NumGroups} groups of {g.NumChannels}{(g.Affine ? string.Empty : ", no affine")})"),
        ConvTransposeSpec t => Inv($"{t.Kind}({t.InChannels} -> {t.OutChannels}, k {t.KernelH}x{t.KernelW}, s {t.StrideH}x{t.StrideW}, p {t.PaddingH}x{t.PaddingW}, op {t.OutputPaddingH}x{t.OutputPaddingW}, d {t.DilationH}x{t.DilationW}, g {t.Groups}{(t.Bias ? string.Empty : ", no bias")})"),
        AttentionProjectionSpec a => Inv($"AttentionProjection({a.EmbedDim}, {a.NumHeads} heads{(a.Bias ? string.Empty : ", no bias")})"),
        _ => spec.ToString(),
    };

    private static string OpText(NodeOp op) => op switch
    {
        CallOp c => c.Module,
        ActivationOp a => a.Activation.ToString().ToLowerInvariant(),
        SoftmaxOp s => Inv($"{s.Kind}[axis {s.Axis}]"),
        DropoutOp d => Inv($"dropout[p {d.P}]"),
        ConcatOp c => Inv($"concat[axis {c.Axis}]"),
        StackOp s => Inv($"stack[axis {s.Axis}]"),
        ReduceOp r => Inv($"{r.Kind}[axis {r.Axis}{(r.KeepDim ? ", keepdim" : string.Empty)}]"),
        ReshapeOp r => "reshape[" + string.Join(", ", r.Target) + "]",
        FlattenOp f => Inv($"flatten[{f.StartAxis}..{f.EndAxis}]"),
        UnsqueezeOp u => Inv($"unsqueeze[{u.Axis}]"),
        SqueezeOp s => Inv($"squeeze[{s.Axis}]"),
        NarrowOp n => Inv($"narrow[axis {n.Axis}, start {n.Start}, length {n.Length}]"),
        SliceOp s => Inv($"slice[axis {s.Axis}, {s.Start}:{s.End}:{s.Step}]"),
        TransposeOp t => Inv($"transpose[{t.Axis0}, {t.Axis1}]"),
        PoolOp p => $"{p.Kind}[k {Pair(p.Kernel)}, s {Pair(p.Stride)}, p {Pair(p.Padding)}, d {Pair(p.Dilation)}]",
        AdaptivePoolOp p => $"{p.Kind}[{Pair(p.Output)}]",
        _ => op.Kind,
    };

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Pair(IEnumerable<long> values) => string.Join("x", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));
}

using System;
using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// The TorchSharp sequence-to-sequence example's shape: token embeddings scaled by √d (a width the constructor keeps
// in a private field), a sinusoidal position buffer built in the constructor and cut to the sequence length in
// forward, a TransformerEncoder with a mask. v2 knows a new word and has a new action.

[SurgeryModel("translator.v1.features.yaml")]
public sealed partial class TranslatorV1 : Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding tokens = Embedding(5, 8);
    private readonly SinePositions positions = new SinePositions(8);
    private readonly TransformerEncoder encoder = TransformerEncoder(TransformerEncoderLayer(8, 2, 16, 0.1), 1);
    private readonly Linear head = Linear(8, 2);
    private long width;

    public TranslatorV1() : base(nameof(TranslatorV1))
    {
        width = 8;
        RegisterComponents();
    }

    public override Tensor forward(Tensor t, Tensor mask) =>
        head.forward(encoder.call(positions.forward(tokens.forward(t) * MathF.Sqrt(width)), mask).mean([0]));
}

[SurgeryModel("translator.v2.features.yaml")]
[SurgeryFrom(typeof(TranslatorV1))]
public sealed partial class TranslatorV2 : Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding tokens = Embedding(6, 8);
    private readonly SinePositions positions = new SinePositions(8);
    private readonly TransformerEncoder encoder = TransformerEncoder(TransformerEncoderLayer(8, 2, 16, 0.1), 1);
    private readonly Linear head = Linear(8, 3);
    private long width;

    public TranslatorV2() : base(nameof(TranslatorV2))
    {
        width = 8;
        RegisterComponents();
    }

    public override Tensor forward(Tensor t, Tensor mask) =>
        head.forward(encoder.call(positions.forward(tokens.forward(t) * MathF.Sqrt(width)), mask).mean([0]));
}

/// <summary>Sinusoidal positions [maxLen, 1, d], a buffer sliced to the input's length.</summary>
public sealed class SinePositions : Module<Tensor, Tensor>
{
    private Tensor table;

    public SinePositions(long dmodel, int maxLen = 32) : base(nameof(SinePositions))
    {
        var pe = torch.zeros(new long[] { maxLen, dmodel });
        var position = torch.arange(0, maxLen, 1).unsqueeze(1);
        var divTerm = (torch.arange(0, dmodel, 2) * (-Math.Log(10000.0) / dmodel)).exp();
        pe[TensorIndex.Ellipsis, TensorIndex.Slice(0, null, 2)] = (position * divTerm).sin();
        pe[TensorIndex.Ellipsis, TensorIndex.Slice(1, null, 2)] = (position * divTerm).cos();
        table = pe.unsqueeze(0).transpose(0, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor t) => t + table[TensorIndex.Slice(null, t.shape[0]), TensorIndex.Slice()];
}

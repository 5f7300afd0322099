using NeuralSurgery.Graph;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NeuralSurgery.Benchmarks.Repro;

/// <summary>
/// Paper 002's small CNN (thesis appendix C.1, section 2.2): conv 1→8 k5, max-pool 2, ReLU, conv 8→16 k5, max-pool 2,
/// ReLU, fc 256→32, ReLU, fc 32→10, on 28×28 images. The widths are constructor arguments so that a pruned model is
/// the same class, narrower; every layer is invoked with <c>call</c> so forward hooks (MRS, input means) see it.
/// </summary>
public sealed class PaperCnn : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly Conv2d conv2;
    private readonly Linear fc1;
    private readonly Linear fc2;

    public PaperCnn(long c1 = 8, long c2 = 16, long hidden = 32) : base(nameof(PaperCnn))
    {
        (C1, C2, Hidden) = (c1, c2, hidden);
        conv1 = nn.Conv2d(1, c1, 5);
        conv2 = nn.Conv2d(c1, c2, 5);
        fc1 = nn.Linear(c2 * 4 * 4, hidden);
        fc2 = nn.Linear(hidden, 10);
        RegisterComponents();
    }

    public long C1 { get; }

    public long C2 { get; }

    public long Hidden { get; }

    /// <summary>The prunable layers by state_dict path (the output layer is not pruned: its units are the classes).</summary>
    public nn.Module<Tensor, Tensor> Layer(string path) => path switch
    {
        "conv1" => conv1,
        "conv2" => conv2,
        "fc1" => fc1,
        _ => throw new System.ArgumentException($"'{path}' is not a prunable layer of PaperCnn; expected conv1, conv2 or fc1", nameof(path)),
    };

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.relu(nn.functional.max_pool2d(conv1.call(input), 2));
        x = nn.functional.relu(nn.functional.max_pool2d(conv2.call(x), 2));
        x = nn.functional.relu(fc1.call(x.flatten(1)));
        return fc2.call(x).MoveToOuterDisposeScope();
    }

    /// <summary>The same network as a graph (what the generator would read from the class), for unit-removal plans.</summary>
    public static ModelGraph Graph(long c1, long c2, long hidden)
    {
        var b = new GraphBuilder(nameof(PaperCnn));
        var image = b.FeatureInputAt("image", 1, Dim.Batch, 1, 28, 28);
        var x = b.Relu(b.Pool(b.Conv2d("conv1", image, c1, 5), PoolKind.Max, [2, 2]));
        x = b.Relu(b.Pool(b.Conv2d("conv2", x, c2, 5), PoolKind.Max, [2, 2]));
        x = b.Relu(b.Linear("fc1", b.Flatten(x, 1), hidden));
        b.Output("logits", b.Linear("fc2", x, 10));
        return b.Build();
    }

    /// <summary>Parameters of the network at these widths.</summary>
    public static long Parameters(long c1, long c2, long hidden) =>
        (c1 * 25) + c1 + (c2 * c1 * 25) + c2 + (c2 * 16 * hidden) + hidden + (hidden * 10) + 10;
}

/// <summary>LeNet-300-100 (paper 003 section 4.1): 784-300-100-10 with ReLU.</summary>
public sealed class LeNet300 : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1 = nn.Linear(784, 300);
    private readonly Linear fc2 = nn.Linear(300, 100);
    private readonly Linear fc3 = nn.Linear(100, 10);

    public LeNet300() : base(nameof(LeNet300)) => RegisterComponents();

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.relu(fc1.call(input.flatten(1)));
        x = nn.functional.relu(fc2.call(x));
        return fc3.call(x).MoveToOuterDisposeScope();
    }
}

using NeuralSurgery.Graph;

namespace NeuralSurgery.Tests.Graph;

/// <summary>Graphs shared by the graph IR and graph JSON tests.</summary>
internal static class TestGraphs
{
    public static readonly Dim B = Dim.Batch;
    public static readonly Dim N = Dim.Symbol("N");
    public static readonly Dim M = Dim.Symbol("M");

    /// <summary>x[B, 4] -> fc1(8) -> relu -> fc2(2) -> y.</summary>
    public static ModelGraph Mlp(long hidden = 8)
    {
        var b = new GraphBuilder("Mlp");
        var x = b.FeatureInput("x", B, 4);
        var h = b.Relu(b.Linear("fc1", x, hidden));
        b.Output("y", b.Linear("fc2", h, 2));
        return b.Build();
    }

    /// <summary>A graph that uses every op kind and every layer kind, with symbolic dims.</summary>
    public static ModelGraph Everything()
    {
        var b = new GraphBuilder("Everything");
        var x = b.FeatureInput("x", B, 16);
        var tokens = b.CategoricalInput("tokens", B, 10);
        var items = b.FeatureInput("items", B, N, 4);
        var others = b.FeatureInput("others", B, M, 4);
        var h0 = b.StateInput("h0", 1, B, 12);
        var c0 = b.StateInput("c0", 1, B, 12);

        // Embedding -> LSTM with initial states -> bidirectional 2-layer GRU.
        var emb = b.Embedding("emb", tokens, 100, 8);                                       // [B, 10, 8]
        var (lstmOut, lstmH, _) = b.Lstm("lstm", emb, 12, batchFirst: true, h0: h0, c0: c0); // [B, 10, 12]
        var (gruOut, gruH) = b.Gru("gru", lstmOut, 6, numLayers: 2, batchFirst: true, bidirectional: true); // [B, 10, 12], [4, B, 6]

        // Conv1d with padding, stride and groups, then BatchNorm1d.
        var channels = b.Transpose(gruOut, 1, 2);                                               // [B, 12, 10]
        var conv = b.Conv1d("conv", channels, 6, 3, stride: 2, padding: 1, groups: 3);          // [B, 6, 5]
        var bn = b.BatchNorm1d("bn", conv);
        var flat = b.Flatten(b.Activation(bn, ActivationKind.Gelu));                            // [B, 30]
        var ln = b.LayerNorm("ln", flat);

        // Elementwise ops with a Linear (no bias) on the dense input.
        var fc = b.Linear("fc", x, 30, bias: false);
        var mixed = b.Mul(b.Sub(b.Add(ln, fc), b.Sigmoid(fc)), b.Tanh(ln));
        var dropped = b.Dropout(mixed, 0.1);

        // Sets: concat along a symbolic axis, reshape with -1 and symbolic dims, reductions.
        var all = b.Concat(1, items, others);                                                   // [B, M+N, 4]
        var pooled = b.Max(all, 1);                                                             // [B, 4]
        var meanPooled = b.Mean(all, 1, keepDim: true);                                         // [B, 1, 4]
        var summed = b.Sum(b.Squeeze(meanPooled, 1), 1, keepDim: true);                        // [B, 1]
        var wide = b.Reshape(items, B, -1);                                                     // [B, 4*N]
        var back = b.Reshape(wide, B, N, 4);                                                    // [B, N, 4]
        var setSum = b.Sum(back, 1);                                                            // [B, 4]
        var grid = b.Reshape(x, B, 4, -1);                                                      // [B, 4, 4]
        var gridRows = b.Flatten(grid, 1, 2);                                                   // [B, 16]

        // Narrow, slice with step, stack, unsqueeze, softmax, log-softmax, other activations.
        var narrowed = b.Narrow(gridRows, 1, 2, 4);                                             // [B, 4]
        var sliced = b.Slice(x, 1, 1, 15, 3);                                                   // [B, 5]
        var stacked = b.Stack(1, pooled, setSum, narrowed);                                     // [B, 3, 4]
        var joined = b.Concat(1, b.Flatten(stacked), sliced, summed, b.Unsqueeze(b.Sum(dropped, 1), 1)); // [B, 19]
        var act = b.Activation(b.Activation(b.Activation(joined, ActivationKind.Silu), ActivationKind.Elu), ActivationKind.LeakyRelu);
        var act2 = b.Activation(b.Activation(act, ActivationKind.Softplus), ActivationKind.Identity);
        foreach (var kind in new[] { ActivationKind.Exp, ActivationKind.Abs, ActivationKind.Neg, ActivationKind.Square, ActivationKind.Sin, ActivationKind.Cos })
        {
            act2 = b.Activation(act2, kind);
        }

        // Positive-domain functions and division on a positive value (x² + 1), as a normalisation computes them.
        var positive = b.Scale(b.Activation(act2, ActivationKind.Square), 1, 1);
        act2 = b.Div(b.Mul(b.Activation(positive, ActivationKind.Rsqrt), b.Activation(positive, ActivationKind.Log)), b.Activation(positive, ActivationKind.Sqrt));

        // Images: Conv2d (groups, padding), BatchNorm2d, max pooling, adaptive avg pooling; 1-D pooling on the grid.
        var image = b.Reshape(x, B, 2, 2, 4);                                                   // [B, 2, 2, 4]
        var conv2d = b.Conv2d("conv2d", image, 4, 3, padding: 1, groups: 2);                   // [B, 4, 2, 4]
        var pooled2d = b.Pool(b.GroupNorm("gn", b.BatchNorm2d("bn2d", conv2d), 2), PoolKind.Max, [2, 2], stride: [1, 2], padding: [1, 1]); // [B, 4, 3, 3]
        var adaptive = b.AdaptivePool(pooled2d, PoolKind.Avg, 2, 1);                            // [B, 4, 2, 1]
        var rows = b.AdaptivePool(b.Pool(grid, PoolKind.Avg, [2], padding: [1]), PoolKind.Max, 2); // [B, 4, 2]
        b.Output("image", b.Concat(1, b.Flatten(adaptive, 1), b.Flatten(rows, 1)));            // [B, 16]

        // Attention-style mixing: a permuted grid times itself.
        var turned = b.Permute(grid, 0, 2, 1);                                                  // [B, 4, 4]
        b.Output("gram", b.Add(b.Scale(b.MatMul(turned, grid), 0.25), b.Fill(1.5, B, 1, 4)));  // [B, 4, 4]
        // Transposed convolutions: a 2-D one upsampling the image (stride, padding, output padding, groups), a 1-D one on the grid.
        b.Output("upsampled", b.ConvTranspose("deconv2d", conv2d, 2, 2, 3, stride: 2, padding: 1, outputPadding: 1, groups: 2)); // [B, 2, 4, 8]
        b.Output("stretched", b.ConvTranspose("deconv1d", grid, 1, 3, 2, stride: 2, dilation: 2, bias: false));              // [B, 3, 9]
        var qkv = b.Call(b.Module("attention", new AttentionProjectionSpec(4, 2)), turned, grid, grid); // 3 x [B, 4, 4]
        b.Output("attended", b.Add(b.MatMul(qkv[0], b.Transpose(qkv[1], 1, 2)), qkv[2]));      // [B, 4, 4]

        // Tensor fields: a scale Parameter (RMSNorm-style), a position buffer, a projection matrix.
        var scaled = b.Mul(pooled, b.Tensor("scale", [4], init: TensorInit.Ones));              // [B, 4]
        var placed = b.Add(b.Tensor("positions", [1, 4], buffer: true), scaled);                 // [B, 4]
        b.Output("projected", b.MatMul(placed, b.Tensor("projection", [4, 3], init: TensorInit.Normal))); // [B, 3]
        b.Output("learned_positions", b.Embedding("wpe", b.Arange(0, N), 20, 4));                  // [N, 4]: rows 0..N-1 of a position table
        b.Output("positioned", b.Add(items, b.Narrow(b.Tensor("table", [20, 4], buffer: true), 0, 1, N)));    // [B, N, 4]: rows 1..N of a table
        var head = b.Linear("head", b.Relu(act2), 3);
        b.Output("probs", b.Softmax(head, -1));
        b.Output("logp", b.Softmax(head, 1, log: true), "log_probs");
        b.StateOutput("h", lstmH);
        b.StateOutput("g", gruH);
        return b.Build();
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Growth;

/// <summary>
/// A FIFO buffer of one layer's post-activations and inputs, filled by forward hooks while the model trains (paper 004
/// appendix A: "post-activations ... tracked for each layer in a FIFO buffer ... sized to contain more samples than
/// neurons"). Rows are samples (every position of a sequence or set is one), columns are units (the last axis). The
/// buffer lives on the layer's device; the activation function (what follows the layer in forward) is given, since
/// the hooks see the layer's output before it.
/// </summary>
public sealed class ActivationBuffer : IDisposable
{
    private readonly Func<Tensor, Tensor> _activation;
    private readonly List<Action> _removers = [];
    private Tensor? _inputs;
    private Tensor? _outputs;
    private long _next;
    private bool _disposed;

    /// <summary>
    /// Hooks <paramref name="layer"/> (named <paramref name="name"/> in messages) and keeps its last
    /// <paramref name="capacity"/> samples. Hooks run only when the layer is invoked through <c>call</c>.
    /// </summary>
    public ActivationBuffer(nn.Module<Tensor, Tensor> layer, string name, long width, long capacity, Func<Tensor, Tensor>? activation = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(name);
        if (capacity <= width)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"layer '{name}': a buffer of {capacity} samples for {width} units; the effective dimension needs more samples than units (paper 004 appendix A)");
        }

        TorchSharpNative.EnsureLoaded();
        Name = name;
        Width = width;
        Capacity = capacity;
        _activation = activation ?? (t => t.alias());
        var pre = layer.register_forward_pre_hook((_, x) =>
        {
            if (Capturing)
            {
                Push(ref _inputs, x, isInput: true);
            }

            return x;
        });
        var post = layer.register_forward_hook((_, _, y) =>
        {
            if (Capturing)
            {
                using var a = _activation(y.detach());
                Push(ref _outputs, a, isInput: false);
            }

            return y;
        });
        _removers.Add(pre.remove);
        _removers.Add(post.remove);
    }

    public string Name { get; }

    public long Width { get; }

    public long Capacity { get; }

    /// <summary>Whether the hooks record; off while the owner runs its own probes.</summary>
    public bool Capturing { get; set; } = true;

    /// <summary>Samples held (at most <see cref="Capacity"/>).</summary>
    public long Count { get; private set; }

    /// <summary>Whether the buffer holds <see cref="Capacity"/> samples.</summary>
    public bool IsFull => Count == Capacity;

    /// <summary>The post-activations held, <c>[Count, Width]</c> (a new tensor, oldest first not guaranteed).</summary>
    public Tensor Activations() => Take(_outputs);

    /// <summary>The layer inputs held, <c>[Count, inputs]</c>, row for row with <see cref="Activations"/>.</summary>
    public Tensor Inputs() => Take(_inputs);

    public void Clear()
    {
        Count = 0;
        _next = 0;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var r in _removers)
        {
            r();
        }

        _inputs?.Dispose();
        _outputs?.Dispose();
    }

    private Tensor Take(Tensor? store)
    {
        if (store is null || Count == 0)
        {
            throw new InvalidOperationException($"layer '{Name}': the activation buffer is empty; run the model (invoking the layer with call) before measuring");
        }

        return store.narrow(0, 0, Count).clone();
    }

    /// <summary>Writes the batch's rows at the ring's cursor; inputs come first in a call, so they set where the rows go and outputs follow them.</summary>
    private void Push(ref Tensor? store, Tensor value, bool isInput)
    {
        using var noGrad = no_grad();
        using var rows = value.detach().reshape(-1, value.shape[^1]);
        if (store is null)
        {
            store = zeros([Capacity, rows.shape[1]], rows.dtype, rows.device);
            store.DetachFromDisposeScope();
        }

        if (!isInput && rows.shape[1] != Width)
        {
            throw new InvalidOperationException($"layer '{Name}': its output has {rows.shape[1]} units; the buffer was made for {Width}");
        }

        var n = rows.shape[0];
        var start = isInput ? _next : (_next - Math.Min(n, Capacity) + Capacity) % Capacity;
        using var last = n > Capacity ? rows.narrow(0, n - Capacity, Capacity) : rows.alias();
        var k = last.shape[0];
        var first = Math.Min(k, Capacity - start);
        store.narrow(0, start, first).copy_(last.narrow(0, 0, first));
        if (k > first)
        {
            store.narrow(0, 0, k - first).copy_(last.narrow(0, first, k - first));
        }

        if (isInput)
        {
            _next = (start + k) % Capacity;
            Count = Math.Min(Capacity, Count + k);
        }
    }
}

// Signature-only fixture of TorchSharp (see Fixture.cs): the module types of TorchSharp.Modules.
using System;
using System.Collections;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace TorchSharp.Modules
{
    /// <summary>A tensor registered as a module parameter.</summary>
    public class Parameter : Tensor
    {
        protected Parameter()
        {
        }
    }

    public sealed class Linear : nn.Module<Tensor, Tensor>
    {
        private Linear()
            : base(nameof(Linear))
        {
        }

        public Parameter? bias { get => throw Fixture.NotAvailable(); set => throw Fixture.NotAvailable(); }

        public Parameter weight { get => throw Fixture.NotAvailable(); set => throw Fixture.NotAvailable(); }

        public override Tensor forward(Tensor tensor) => throw Fixture.NotAvailable();
    }

    public sealed class Embedding : nn.Module<Tensor, Tensor>
    {
        private Embedding()
            : base(nameof(Embedding))
        {
        }

        public Parameter weight { get => throw Fixture.NotAvailable(); set => throw Fixture.NotAvailable(); }

        public override Tensor forward(Tensor input) => throw Fixture.NotAvailable();
    }

    public sealed class Conv1d : nn.Module<Tensor, Tensor>
    {
        private Conv1d()
            : base(nameof(Conv1d))
        {
        }

        public Parameter? bias { get => throw Fixture.NotAvailable(); set => throw Fixture.NotAvailable(); }

        public Parameter weight { get => throw Fixture.NotAvailable(); set => throw Fixture.NotAvailable(); }

        public override Tensor forward(Tensor input) => throw Fixture.NotAvailable();
    }

    /// <summary>Returns (output, h_n, c_n); the initial state is an optional (h0, c0) tuple.</summary>
    public sealed class LSTM : nn.Module<Tensor, (Tensor, Tensor)?, (Tensor, Tensor, Tensor)>
    {
        private LSTM()
            : base(nameof(LSTM))
        {
        }

        public override (Tensor, Tensor, Tensor) forward(Tensor input, (Tensor, Tensor)? h0_c0 = null) => throw Fixture.NotAvailable();

        public new (Tensor, Tensor, Tensor) call(Tensor input, (Tensor, Tensor)? h0_c0 = null) => throw Fixture.NotAvailable();

        public void flatten_parameters() => throw Fixture.NotAvailable();
    }

    /// <summary>Returns (output, h_n); the initial state is an optional h0.</summary>
    public sealed class GRU : nn.Module<Tensor, Tensor?, (Tensor, Tensor)>
    {
        private GRU()
            : base(nameof(GRU))
        {
        }

        public override (Tensor, Tensor) forward(Tensor input, Tensor? h0 = null) => throw Fixture.NotAvailable();

        public new (Tensor, Tensor) call(Tensor input, Tensor? h0 = null) => throw Fixture.NotAvailable();

        public void flatten_parameters() => throw Fixture.NotAvailable();
    }

    public sealed class LayerNorm : nn.Module<Tensor, Tensor>
    {
        private LayerNorm()
            : base(nameof(LayerNorm))
        {
        }

        public override Tensor forward(Tensor tensor) => throw Fixture.NotAvailable();
    }

    public sealed class BatchNorm1d : nn.Module<Tensor, Tensor>
    {
        private BatchNorm1d()
            : base(nameof(BatchNorm1d))
        {
        }

        public override Tensor forward(Tensor input) => throw Fixture.NotAvailable();
    }

    public sealed class Dropout : nn.Module<Tensor, Tensor>
    {
        private Dropout()
            : base(nameof(Dropout))
        {
        }

        public override Tensor forward(Tensor tensor) => throw Fixture.NotAvailable();
    }

    public sealed class ReLU : nn.Module<Tensor, Tensor>
    {
        private ReLU()
            : base(nameof(ReLU))
        {
        }

        public override Tensor forward(Tensor tensor) => throw Fixture.NotAvailable();
    }

    public sealed class Tanh : nn.Module<Tensor, Tensor>
    {
        private Tanh()
            : base(nameof(Tanh))
        {
        }

        public override Tensor forward(Tensor tensor) => throw Fixture.NotAvailable();
    }

    public sealed class Sigmoid : nn.Module<Tensor, Tensor>
    {
        private Sigmoid()
            : base(nameof(Sigmoid))
        {
        }

        public override Tensor forward(Tensor tensor) => throw Fixture.NotAvailable();
    }

    public sealed class GELU : nn.Module<Tensor, Tensor>
    {
        private GELU()
            : base(nameof(GELU))
        {
        }

        public override Tensor forward(Tensor tensor) => throw Fixture.NotAvailable();
    }

    public sealed class Identity : nn.Module<Tensor, Tensor>
    {
        private Identity()
            : base(nameof(Identity))
        {
        }

        public override Tensor forward(Tensor tensor) => throw Fixture.NotAvailable();
    }

    public sealed class Flatten : nn.Module<Tensor, Tensor>
    {
        private Flatten()
            : base(nameof(Flatten))
        {
        }

        public override Tensor forward(Tensor tensor) => throw Fixture.NotAvailable();
    }

    /// <summary>Children are named 0, 1, … by position, or by the names of (string, Module) tuples.</summary>
    public sealed class Sequential : nn.Module<Tensor, Tensor>
    {
        private Sequential()
            : base(nameof(Sequential))
        {
        }

        public void append(nn.Module<Tensor, Tensor> module) => throw Fixture.NotAvailable();

        public override Tensor forward(Tensor tensor) => throw Fixture.NotAvailable();
    }

    /// <summary>Children are named 0, 1, … by position.</summary>
    public sealed class ModuleList<T> : nn.Module, IList<T>
        where T : nn.Module
    {
        private ModuleList()
            : base(nameof(ModuleList<T>))
        {
        }

        public int Count => throw Fixture.NotAvailable();

        public bool IsReadOnly => throw Fixture.NotAvailable();

        public T this[int index] { get => throw Fixture.NotAvailable(); set => throw Fixture.NotAvailable(); }

        public void Add(T item) => throw Fixture.NotAvailable();

        public void Clear() => throw Fixture.NotAvailable();

        public bool Contains(T item) => throw Fixture.NotAvailable();

        public void CopyTo(T[] array, int arrayIndex) => throw Fixture.NotAvailable();

        public IEnumerator<T> GetEnumerator() => throw Fixture.NotAvailable();

        public int IndexOf(T item) => throw Fixture.NotAvailable();

        public void Insert(int index, T item) => throw Fixture.NotAvailable();

        public bool Remove(T item) => throw Fixture.NotAvailable();

        public void RemoveAt(int index) => throw Fixture.NotAvailable();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

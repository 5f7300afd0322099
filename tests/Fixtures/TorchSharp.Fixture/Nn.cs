// Signature-only fixture of TorchSharp (see Fixture.cs): torch.nn module base classes and factories.
using System;
using System.Collections.Generic;
using TorchSharp.Modules;

namespace TorchSharp
{
    public static partial class torch
    {
        public static partial class nn
        {
            /// <summary>Base of every module; <see cref="RegisterComponents"/> scans fields into the state_dict.</summary>
            public abstract class Module : IDisposable
            {
                protected Module(string name)
                {
                }

                public bool training => throw Fixture.NotAvailable();

                public string GetName() => throw Fixture.NotAvailable();

                public virtual Module train(bool train = true) => throw Fixture.NotAvailable();

                public virtual Module eval() => throw Fixture.NotAvailable();

                public void Dispose()
                {
                    Dispose(true);
                    GC.SuppressFinalize(this);
                }

                protected virtual void Dispose(bool disposing) => throw Fixture.NotAvailable();

                protected virtual void RegisterComponents() => throw Fixture.NotAvailable();

                public virtual void register_module(string name, Module submodule) => throw Fixture.NotAvailable();
            }

            public abstract class Module<T, TResult> : Module
            {
                protected Module(string name)
                    : base(name)
                {
                }

                public abstract TResult forward(T input);

                public TResult call(T input) => throw Fixture.NotAvailable();
            }

            public abstract class Module<T1, T2, TResult> : Module
            {
                protected Module(string name)
                    : base(name)
                {
                }

                public abstract TResult forward(T1 input1, T2 input2);

                public TResult call(T1 input1, T2 input2) => throw Fixture.NotAvailable();
            }

            public abstract class Module<T1, T2, T3, TResult> : Module
            {
                protected Module(string name)
                    : base(name)
                {
                }

                public abstract TResult forward(T1 input1, T2 input2, T3 input3);

                public TResult call(T1 input1, T2 input2, T3 input3) => throw Fixture.NotAvailable();
            }

            public abstract class Module<T1, T2, T3, T4, TResult> : Module
            {
                protected Module(string name)
                    : base(name)
                {
                }

                public abstract TResult forward(T1 input1, T2 input2, T3 input3, T4 input4);

                public TResult call(T1 input1, T2 input2, T3 input3, T4 input4) => throw Fixture.NotAvailable();
            }

            public abstract class Module<T1, T2, T3, T4, T5, TResult> : Module
            {
                protected Module(string name)
                    : base(name)
                {
                }

                public abstract TResult forward(T1 input1, T2 input2, T3 input3, T4 input4, T5 input5);

                public TResult call(T1 input1, T2 input2, T3 input3, T4 input4, T5 input5) => throw Fixture.NotAvailable();
            }

            public static Parameter Parameter(Tensor data, bool requires_grad = true) => throw Fixture.NotAvailable();

            public static Linear Linear(long inputSize, long outputSize, bool hasBias = true, Device? device = null, ScalarType? dtype = null) => throw Fixture.NotAvailable();

            public static Embedding Embedding(long num_embeddings, long embedding_dims, long? padding_idx = null, double? max_norm = null, double norm_type = 2.0, bool scale_grad_by_freq = false, bool sparse = false, Device? device = null, ScalarType? dtype = null) => throw Fixture.NotAvailable();

            public static Conv1d Conv1d(long in_channels, long out_channels, long kernel_size, long stride = 1, long padding = 0, long dilation = 1, PaddingModes padding_mode = PaddingModes.Zeros, long groups = 1, bool bias = true, Device? device = null, ScalarType? dtype = null) => throw Fixture.NotAvailable();

            public static LSTM LSTM(long inputSize, long hiddenSize, long numLayers = 1, bool bias = true, bool batchFirst = false, double dropout = 0.0, bool bidirectional = false, Device? device = null, ScalarType? dtype = null) => throw Fixture.NotAvailable();

            public static GRU GRU(long inputSize, long hiddenSize, long numLayers = 1, bool bias = true, bool batchFirst = false, double dropout = 0.0, bool bidirectional = false, Device? device = null, ScalarType? dtype = null) => throw Fixture.NotAvailable();

            public static LayerNorm LayerNorm(long normalized_shape, double eps = 1e-05, bool elementwise_affine = true, bool bias = true, Device? device = null, ScalarType? dtype = null) => throw Fixture.NotAvailable();

            public static LayerNorm LayerNorm(long[] normalized_shape, double eps = 1e-05, bool elementwise_affine = true, bool bias = true, Device? device = null, ScalarType? dtype = null) => throw Fixture.NotAvailable();

            public static BatchNorm1d BatchNorm1d(long num_features, double eps = 1e-05, double momentum = 0.1, bool affine = true, bool track_running_stats = true, Device? device = null, ScalarType? dtype = null) => throw Fixture.NotAvailable();

            public static Dropout Dropout(double p = 0.5, bool inplace = false) => throw Fixture.NotAvailable();

            public static ReLU ReLU(bool inplace = false) => throw Fixture.NotAvailable();

            public static Tanh Tanh() => throw Fixture.NotAvailable();

            public static Sigmoid Sigmoid() => throw Fixture.NotAvailable();

            public static GELU GELU() => throw Fixture.NotAvailable();

            public static Identity Identity() => throw Fixture.NotAvailable();

            public static Flatten Flatten(long start_dim = 1, long end_dim = -1) => throw Fixture.NotAvailable();

            public static Sequential Sequential() => throw Fixture.NotAvailable();

            public static Sequential Sequential(params (string name, Module<Tensor, Tensor> submodule)[] modules) => throw Fixture.NotAvailable();

            public static Sequential Sequential(params Module<Tensor, Tensor>[] modules) => throw Fixture.NotAvailable();

            public static Sequential Sequential(IEnumerable<(string name, Module<Tensor, Tensor> submodule)> modules) => throw Fixture.NotAvailable();

            public static Sequential Sequential(IEnumerable<Module<Tensor, Tensor>> modules) => throw Fixture.NotAvailable();

            public static ModuleList<T> ModuleList<T>(params T[] modules)
                where T : Module => throw Fixture.NotAvailable();

            public static partial class functional
            {
                public static Tensor relu(Tensor x, bool inplace = false) => throw Fixture.NotAvailable();

                public static Tensor tanh(Tensor x) => throw Fixture.NotAvailable();

                public static Tensor sigmoid(Tensor x) => throw Fixture.NotAvailable();

                public static Tensor gelu(Tensor x) => throw Fixture.NotAvailable();

                public static Tensor softmax(Tensor input, long dim, ScalarType? dtype = null) => throw Fixture.NotAvailable();

                public static Tensor log_softmax(Tensor input, long dim, ScalarType? dtype = null) => throw Fixture.NotAvailable();

                public static Tensor dropout(Tensor input, double p = 0.5, bool training = true, bool inplace = false) => throw Fixture.NotAvailable();
            }
        }
    }
}

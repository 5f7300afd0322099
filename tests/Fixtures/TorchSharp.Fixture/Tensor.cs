// Signature-only fixture of TorchSharp (see Fixture.cs): torch.Tensor and torch.TensorIndex.
using System;

namespace TorchSharp
{
    public static partial class torch
    {
        public partial class Tensor : IDisposable
        {
            protected Tensor()
            {
            }

            public long[] shape => throw Fixture.NotAvailable();

            public long Dimensions => throw Fixture.NotAvailable();

            public Tensor this[long i1] => throw Fixture.NotAvailable();

            public Tensor this[params TensorIndex[] indices] => throw Fixture.NotAvailable();

            public long size(int dim) => throw Fixture.NotAvailable();

            public Tensor view(params long[] shape) => throw Fixture.NotAvailable();

            public Tensor reshape(params long[] shape) => throw Fixture.NotAvailable();

            public Tensor flatten(long start_dim = 0, long end_dim = -1) => throw Fixture.NotAvailable();

            public Tensor unsqueeze(long dim) => throw Fixture.NotAvailable();

            public Tensor squeeze(long? dim = null) => throw Fixture.NotAvailable();

            public Tensor narrow(long dim, long start, long length) => throw Fixture.NotAvailable();

            public Tensor transpose(long dim0, long dim1) => throw Fixture.NotAvailable();

            public Tensor contiguous() => throw Fixture.NotAvailable();

            public Tensor max() => throw Fixture.NotAvailable();

            public (Tensor values, Tensor indexes) max(long dim, bool keepdim = false) => throw Fixture.NotAvailable();

            public Tensor mean() => throw Fixture.NotAvailable();

            public Tensor mean(long[] dimensions, bool keepdim = false, ScalarType? type = null) => throw Fixture.NotAvailable();

            public Tensor sum(ScalarType? type = null) => throw Fixture.NotAvailable();

            public Tensor sum(long dim, bool keepdim = false, ScalarType? type = null) => throw Fixture.NotAvailable();

            public Tensor sum(long[] dim, bool keepdim = false, ScalarType? type = null) => throw Fixture.NotAvailable();

            public Tensor relu() => throw Fixture.NotAvailable();

            public Tensor tanh() => throw Fixture.NotAvailable();

            public Tensor sigmoid() => throw Fixture.NotAvailable();

            public Tensor softmax(long dim, ScalarType? dtype = null) => throw Fixture.NotAvailable();

            public Tensor log_softmax(long dim, ScalarType? dtype = null) => throw Fixture.NotAvailable();

            public Tensor exp() => throw Fixture.NotAvailable();

            public Tensor abs() => throw Fixture.NotAvailable();

            public Tensor matmul(Tensor target) => throw Fixture.NotAvailable();

            public Tensor MoveToOuterDisposeScope() => throw Fixture.NotAvailable();

            public void Dispose()
            {
                Dispose(true);
                GC.SuppressFinalize(this);
            }

            protected virtual void Dispose(bool disposing) => throw Fixture.NotAvailable();

            public static Tensor operator +(Tensor left, Tensor right) => throw Fixture.NotAvailable();

            public static Tensor operator +(Tensor left, Scalar right) => throw Fixture.NotAvailable();

            public static Tensor operator +(Scalar left, Tensor right) => throw Fixture.NotAvailable();

            public static Tensor operator -(Tensor left, Tensor right) => throw Fixture.NotAvailable();

            public static Tensor operator -(Tensor left, Scalar right) => throw Fixture.NotAvailable();

            public static Tensor operator -(Scalar left, Tensor right) => throw Fixture.NotAvailable();

            public static Tensor operator *(Tensor left, Tensor right) => throw Fixture.NotAvailable();

            public static Tensor operator *(Tensor left, Scalar right) => throw Fixture.NotAvailable();

            public static Tensor operator *(Scalar left, Tensor right) => throw Fixture.NotAvailable();

            public static Tensor operator /(Tensor left, Tensor right) => throw Fixture.NotAvailable();

            public static Tensor operator /(Tensor left, Scalar right) => throw Fixture.NotAvailable();

            public static Tensor operator /(Scalar left, Tensor right) => throw Fixture.NotAvailable();

            public static Tensor operator -(Tensor tensor) => throw Fixture.NotAvailable();
        }

        /// <summary>One index of <c>x[...]</c>, as in Python: an integer, a slice, <c>...</c>, or a new axis.</summary>
        public sealed class TensorIndex
        {
            private TensorIndex()
            {
            }

            public static TensorIndex Ellipsis => throw Fixture.NotAvailable();

            public static TensorIndex Colon => throw Fixture.NotAvailable();

            public static TensorIndex None => throw Fixture.NotAvailable();

            public static TensorIndex Single(long? index) => throw Fixture.NotAvailable();

            public static TensorIndex Slice(long? start = null, long? stop = null, long? step = null) => throw Fixture.NotAvailable();

            public static implicit operator TensorIndex(long value) => throw Fixture.NotAvailable();
        }
    }
}

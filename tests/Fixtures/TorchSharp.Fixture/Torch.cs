// Signature-only fixture of TorchSharp (see Fixture.cs): the static class torch and its tensor functions.
using System;
using System.Collections.Generic;

namespace TorchSharp
{
    public static partial class torch
    {
        /// <summary>c10 ScalarType codes.</summary>
        public enum ScalarType : sbyte
        {
            Byte = 0,
            Int8 = 1,
            Int16 = 2,
            Int32 = 3,
            Int64 = 4,
            Float16 = 5,
            Float32 = 6,
            Float64 = 7,
            ComplexFloat32 = 9,
            ComplexFloat64 = 10,
            Bool = 11,
            QInt8 = 12,
            QUInt8 = 13,
            QInt32 = 14,
            BFloat16 = 15,
        }

        public sealed class Device
        {
            private Device()
            {
            }
        }

        public static DisposeScope NewDisposeScope() => throw Fixture.NotAvailable();

        public static Tensor cat(IList<Tensor> tensors, long dim = 0) => throw Fixture.NotAvailable();

        public static Tensor concat(IList<Tensor> tensors, long dim = 0) => throw Fixture.NotAvailable();

        public static Tensor concatenate(IList<Tensor> tensors, long dim = 0) => throw Fixture.NotAvailable();

        public static Tensor stack(IEnumerable<Tensor> tensors, long dim = 0) => throw Fixture.NotAvailable();

        public static Tensor tanh(Tensor input) => throw Fixture.NotAvailable();

        public static Tensor sigmoid(Tensor input) => throw Fixture.NotAvailable();

        public static Tensor exp(Tensor input) => throw Fixture.NotAvailable();

        public static Tensor mean(Tensor input, long[] dims, bool keepdim = false, ScalarType? type = null) => throw Fixture.NotAvailable();

        public static Tensor sum(Tensor input, long dim, bool keepdim = false, ScalarType? type = null) => throw Fixture.NotAvailable();

        public static Tensor narrow(Tensor input, long dim, long start, long length) => throw Fixture.NotAvailable();

        public static Tensor matmul(Tensor input, Tensor other) => throw Fixture.NotAvailable();

        public static Tensor zeros(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) => throw Fixture.NotAvailable();

        public static Tensor zeros(long size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) => throw Fixture.NotAvailable();
    }
}

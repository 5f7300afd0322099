// Signature-only fixture of TorchSharp (namespace TorchSharp), release line 0.105-0.107.
// It exists because TorchSharp cannot be restored from this machine's package registry: tests compile
// TorchSharp-shaped model code against it so the model reader sees the same symbols it sees in a user's build.
// Every body throws NotImplementedException; nothing in src/ references this assembly. Names, parameter names
// and defaults follow TorchSharp (/work/shared/TORCHSHARP.md) so that models written against this fixture
// compile against the real package.
using System;

namespace TorchSharp
{
    /// <summary>Thrown by every member: this assembly has signatures only.</summary>
    internal static class Fixture
    {
        public static NotImplementedException NotAvailable() =>
            new("TorchSharp.Fixture has signatures only; reference the TorchSharp package to run models.");
    }

    /// <summary>A scalar operand of tensor arithmetic (<c>x * 2.0</c>).</summary>
    public sealed class Scalar : IDisposable
    {
        private Scalar()
        {
        }

        public static implicit operator Scalar(byte value) => throw Fixture.NotAvailable();

        public static implicit operator Scalar(short value) => throw Fixture.NotAvailable();

        public static implicit operator Scalar(int value) => throw Fixture.NotAvailable();

        public static implicit operator Scalar(long value) => throw Fixture.NotAvailable();

        public static implicit operator Scalar(float value) => throw Fixture.NotAvailable();

        public static implicit operator Scalar(double value) => throw Fixture.NotAvailable();

        public static implicit operator Scalar(bool value) => throw Fixture.NotAvailable();

        public void Dispose() => throw Fixture.NotAvailable();
    }

    /// <summary>What <c>torch.NewDisposeScope()</c> returns.</summary>
    public sealed class DisposeScope : IDisposable
    {
        private DisposeScope()
        {
        }

        public void Dispose() => throw Fixture.NotAvailable();
    }

    /// <summary>Names a field's state_dict entry instead of the field name (read by <c>RegisterComponents()</c>).</summary>
    [AttributeUsage(AttributeTargets.Field)]
    public sealed class ComponentNameAttribute : Attribute
    {
        public string Name { get; set; } = string.Empty;
    }

    public enum PaddingModes
    {
        Zeros = 0,
        Reflect = 1,
        Replicate = 2,
        Circular = 3,
    }
}

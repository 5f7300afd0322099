using System;
using System.Globalization;

namespace NeuralSurgery.Tracing;

/// <summary>What the indices of a key space identify.</summary>
public enum KeySpaceKind
{
    /// <summary>Feature slots of the <see cref="FeatureSpace"/>; these keys are features too.</summary>
    Slots,

    /// <summary>Output units of a layer (Linear rows, Conv1d channels, Embedding dims, recurrent hidden units).</summary>
    Units,

    /// <summary>Rows of one gate block of a recurrent layer.</summary>
    Gate,
}

/// <summary>
/// A named origin of indices (DESIGN.md section 5): slot ids, or the units of one layer such as
/// <c>fc1</c>, <c>lstm.l0</c> (hidden units) and <c>lstm.l0.f</c> (rows of the forget gate).
/// </summary>
public sealed record KeySpace(int Id, KeySpaceKind Kind, string Module, string Name, long Size, int Layer = 0, bool Reverse = false, string? Gate = null);

/// <summary>
/// An affine run of keys: offset <c>k</c> of a run carries key <c>Start + k * Stride</c> of space
/// <see cref="Space"/>. Stride 0 is a key constant over the run (after broadcasting).
/// </summary>
public readonly struct KeySeq : IEquatable<KeySeq>, IComparable<KeySeq>
{
    public KeySeq(int space, long start, long stride)
    {
        Space = space;
        Start = start;
        Stride = stride;
    }

    public int Space { get; }

    public long Start { get; }

    public long Stride { get; }

    public long At(long offset) => Start + (offset * Stride);

    public KeySeq Shift(long offset, long step = 1) => new(Space, At(offset), Stride * step);

    public int CompareTo(KeySeq other)
    {
        var c = Space.CompareTo(other.Space);
        if (c != 0)
        {
            return c;
        }

        c = Start.CompareTo(other.Start);
        return c != 0 ? c : Stride.CompareTo(other.Stride);
    }

    public bool Equals(KeySeq other) => Space == other.Space && Start == other.Start && Stride == other.Stride;

    public override bool Equals(object? obj) => obj is KeySeq other && Equals(other);

    public override int GetHashCode() => unchecked((((Space * 397) ^ Start.GetHashCode()) * 397) ^ Stride.GetHashCode());

    public override string ToString() => string.Format(CultureInfo.InvariantCulture, "k{0}:{1}+{2}i", Space, Start, Stride);

    public static bool operator ==(KeySeq left, KeySeq right) => left.Equals(right);

    public static bool operator !=(KeySeq left, KeySeq right) => !left.Equals(right);

    public static bool operator <(KeySeq left, KeySeq right) => left.CompareTo(right) < 0;

    public static bool operator >(KeySeq left, KeySeq right) => left.CompareTo(right) > 0;

    public static bool operator <=(KeySeq left, KeySeq right) => left.CompareTo(right) <= 0;

    public static bool operator >=(KeySeq left, KeySeq right) => left.CompareTo(right) >= 0;
}

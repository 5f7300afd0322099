using System;
using System.IO;

namespace NeuralSurgery.Runtime.Tuning;

/// <summary>
/// A sparse Δ patch file is truncated, corrupt or not a patch; or a patch does not fit the tensors it is applied to.
/// The message names the file (or the tensor) and what was expected. An <see cref="IOException"/>, so a command line
/// reports it as bad input.
/// </summary>
public sealed class PatchFormatException : IOException
{
    public PatchFormatException()
    {
    }

    public PatchFormatException(string message)
        : base(message)
    {
    }

    public PatchFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A patch was applied to another base checkpoint than the one it was made from: the content hashes differ
/// (paper 000 section 6.4 assumes the receiver already holds w_i; applying Δ to anything else is silently wrong).
/// </summary>
public sealed class PatchBaseMismatchException : IOException
{
    public PatchBaseMismatchException()
    {
    }

    public PatchBaseMismatchException(string message)
        : base(message)
    {
    }

    public PatchBaseMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public PatchBaseMismatchException(string patch, string @base, string expectedHash, string actualHash)
        : base($"{patch}: the patch was made for a base checkpoint with content hash {expectedHash}, but {@base} has content hash {actualHash}; apply it to the checkpoint it was created from")
    {
        ExpectedHash = expectedHash;
        ActualHash = actualHash;
    }

    /// <summary>The base hash recorded in the patch (hex).</summary>
    public string? ExpectedHash { get; }

    /// <summary>The hash of the checkpoint it was applied to (hex).</summary>
    public string? ActualHash { get; }
}

using System;

namespace NeuralSurgery.Runtime.Reference;

/// <summary>
/// The reference executor cannot run: a weight missing or of the wrong shape, an input missing or of the wrong
/// shape, an index out of a vocabulary. The message names the tensor, input or node and says what was expected.
/// </summary>
public sealed class ReferenceExecutionException : Exception
{
    public ReferenceExecutionException(string message)
        : base(message)
    {
    }

    public ReferenceExecutionException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public ReferenceExecutionException()
    {
    }
}

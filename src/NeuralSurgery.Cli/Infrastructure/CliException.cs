using System;

namespace NeuralSurgery.Cli.Infrastructure;

/// <summary>A user error found by the command line itself (bad option value, unsupported input); exit code 1.</summary>
internal sealed class CliException : Exception
{
    public CliException(string message)
        : base(message)
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public CliException()
    {
    }
}

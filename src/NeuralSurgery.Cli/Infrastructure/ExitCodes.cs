namespace NeuralSurgery.Cli.Infrastructure;

/// <summary>The tool's exit codes: scripts rely on them.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>Bad input: a missing or corrupt file, an invalid schema, graph or plan, a refused overwrite.</summary>
    public const int UserError = 1;

    /// <summary>A bug: an exception nobody expected. The message names its type.</summary>
    public const int InternalError = 2;

    /// <summary>
    /// A check ran on good input and found a difference (<c>surgery verify</c>: an output beyond the tolerance). Its
    /// own code so that a script can tell "not equivalent" from "could not check" (1) and from a bug (2).
    /// </summary>
    public const int CheckFailed = 3;
}

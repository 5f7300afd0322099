namespace NeuralSurgery.Cli.Infrastructure;

/// <summary>The tool's exit codes: scripts rely on them.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>Bad input: a missing or corrupt file, an invalid schema, graph or plan, a refused overwrite.</summary>
    public const int UserError = 1;

    /// <summary>A bug: an exception nobody expected. The message names its type.</summary>
    public const int InternalError = 2;
}

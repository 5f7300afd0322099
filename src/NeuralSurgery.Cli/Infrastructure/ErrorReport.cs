using System;
using System.IO;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Runtime.Tuning;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Cli.Infrastructure;

/// <summary>
/// Turns an exception into an exit code and one line on stderr. User errors are the exception types the libraries
/// document for bad input (each message names the file, the tensor or the feature); anything else is a bug and
/// says which exception type it was.
/// </summary>
internal static class ErrorReport
{
    public static bool IsUserError(Exception exception) => exception is
        CliException
        or IOException // missing files, refused overwrites, CheckpointFormatException
        or UnauthorizedAccessException
        or SchemaException
        or JsonFormatException
        or GraphException // a graph that does not fit its schema, or that the mirror cannot follow
        or PlanException
        or PlanApplicationException
        or TrainingDataException // data that does not fit the model's inputs (names the file and the tensor)
        or OperationCanceledException;

    /// <summary>Writes the error line and returns the exit code.</summary>
    public static int Report(Exception exception, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(error);
        exception = Unwrap(exception);
        if (IsUserError(exception))
        {
            var message = exception is OperationCanceledException ? "cancelled" : exception.Message;
            error.WriteLine("error: " + OneLine(message));
            return ExitCodes.UserError;
        }

        error.WriteLine($"internal error ({exception.GetType().FullName}): {OneLine(exception.Message)}");
        return ExitCodes.InternalError;
    }

    /// <summary>Parallel work wraps the real error; the user wants the one inside.</summary>
    private static Exception Unwrap(Exception exception)
    {
        while (exception is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            exception = aggregate.InnerExceptions[0];
        }

        return exception;
    }

    /// <summary>One line, with the control characters of names read from files escaped.</summary>
    internal static string OneLine(string text) =>
        TerminalText.Escape(text.ReplaceLineEndings(" ").Trim());
}

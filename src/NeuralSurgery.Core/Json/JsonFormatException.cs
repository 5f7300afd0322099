using System;
using System.Globalization;
using System.Text;

namespace NeuralSurgery.Json;

/// <summary>
/// A JSON document that is not a valid NeuralSurgery file. The message names the file (when known), the
/// JSON path of the offending element (<c>$.nodes[3].op.axis</c>) or the line and byte position of a syntax
/// error, and what was expected.
/// </summary>
public sealed class JsonFormatException : Exception
{
    public JsonFormatException()
        : base("The JSON document is not valid.")
    {
    }

    public JsonFormatException(string message)
        : base(message)
    {
    }

    public JsonFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal JsonFormatException(string? filePath, string? jsonPath, long? lineNumber, long? bytePositionInLine, string detail, Exception? innerException)
        : base(Format(filePath, jsonPath, lineNumber, bytePositionInLine, detail), innerException)
    {
        FilePath = filePath;
        JsonPath = jsonPath;
        LineNumber = lineNumber;
        BytePositionInLine = bytePositionInLine;
        Detail = detail;
    }

    /// <summary>The file the document was read from, when the caller named it.</summary>
    public string? FilePath { get; }

    /// <summary>JSON path of the offending element (<c>$.nodes[3].op.axis</c>); null for syntax errors and graph errors.</summary>
    public string? JsonPath { get; }

    /// <summary>1-based line of a syntax error; null otherwise.</summary>
    public long? LineNumber { get; }

    /// <summary>1-based byte position within <see cref="LineNumber"/> of a syntax error; null otherwise.</summary>
    public long? BytePositionInLine { get; }

    /// <summary>What was wrong, without the file and location prefix.</summary>
    public string? Detail { get; }

    private static string Format(string? filePath, string? jsonPath, long? lineNumber, long? bytePositionInLine, string detail)
    {
        var sb = new StringBuilder();
        if (!string.IsNullOrEmpty(filePath))
        {
            sb.Append(filePath).Append(": ");
        }

        if (lineNumber is { } line)
        {
            sb.Append("line ").Append(line.ToString(CultureInfo.InvariantCulture));
            if (bytePositionInLine is { } position)
            {
                sb.Append(", byte ").Append(position.ToString(CultureInfo.InvariantCulture));
            }

            sb.Append(": ");
        }

        if (!string.IsNullOrEmpty(jsonPath))
        {
            sb.Append(jsonPath).Append(": ");
        }

        return sb.Append(detail).ToString();
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;

namespace NeuralSurgery.Cli.Infrastructure;

/// <summary>Numbers, sizes and shapes as the tool prints them; always in the invariant culture.</summary>
internal static class Format
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>"1 input", "3 inputs".</summary>
    public static string Plural(long count, string noun) => Count(count) + " " + noun + (count == 1 ? string.Empty : "s");

    public static string Bytes(long bytes)
    {
        if (bytes < 1024)
        {
            return bytes.ToString(CultureInfo.InvariantCulture) + " B";
        }

        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < Units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return value.ToString("0.0", CultureInfo.InvariantCulture) + " " + Units[unit];
    }

    /// <summary>A share in [0, 1] as a percentage; never rounds a partial share up to 100 % or down to 0 %.</summary>
    public static string Share(double share)
    {
        var percent = share * 100;
        var text = percent.ToString("0.00", CultureInfo.InvariantCulture);
        if (text == "100.00" && share < 1)
        {
            text = "99.99";
        }
        else if (text == "0.00" && share > 0)
        {
            text = "0.01";
        }

        return text + " %";
    }

    public static string Shape(IEnumerable<long> dims) =>
        "[" + string.Join(", ", Strings(dims)) + "]";

    /// <summary>A difference: "0" when exact, otherwise 4 significant digits ("1.234e-05").</summary>
    public static string Difference(double value) =>
        value == 0 ? "0"
        : double.IsPositiveInfinity(value) ? "inf"
        : value.ToString("G4", CultureInfo.InvariantCulture);

    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static IEnumerable<string> Strings(IEnumerable<long> dims)
    {
        foreach (var d in dims)
        {
            yield return d.ToString(CultureInfo.InvariantCulture);
        }
    }
}

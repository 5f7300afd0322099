using System.Globalization;

namespace NeuralSurgery.Schema;

/// <summary>The naming rule shared by inputs, outputs, features, categorical values and the model.</summary>
internal static class SchemaNames
{
    /// <summary>Letters, digits and '_' only, so every name can become a C# identifier or a dotted path part.</summary>
    public static bool IsValidName(string name) => name.Length > 0 && FirstInvalidChar(name) < 0;

    /// <summary>The index of the first character that is not a letter, digit or '_', or -1.</summary>
    public static int FirstInvalidChar(string name)
    {
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (!(char.IsLetter(c) || char.IsDigit(c) || c == '_'))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>A readable form of a character for messages: <c>'-'</c>, <c>a space</c>, <c>U+0009</c>.</summary>
    public static string DescribeChar(char c) => c switch
    {
        ' ' => "a space",
        '\t' => "a tab",
        _ when char.IsControl(c) || char.IsWhiteSpace(c) || char.IsSurrogate(c) =>
            "U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture),
        _ => "'" + c + "'",
    };
}

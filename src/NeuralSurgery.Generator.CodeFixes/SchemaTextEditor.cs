using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis.Text;
using NeuralSurgery.Schema;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace NeuralSurgery.Generator.CodeFixes;

/// <summary>One insertion into a schema file and the feature names it adds.</summary>
internal sealed class SchemaEdit(TextChange change, ImmutableArray<string> names)
{
    public TextChange Change { get; } = change;

    public ImmutableArray<string> Names { get; } = names;
}

/// <summary>
/// Text edits to a feature schema that keep the user's file as written: one insertion after the last entry, in the
/// style (block <c>- name</c> lines or a flow <c>[a, b]</c> list) and indentation already used, comments untouched.
/// </summary>
/// <remarks>
/// Core's <see cref="FeatureSchemaReader"/> validates the file and gives widths and names; its locations cover a
/// feature's name only, so the extent of a list entry and the style of a list come from YamlDotNet's node marks
/// (the same parser Core uses). An edit is offered only for a schema that reads without errors.
/// </remarks>
internal static class SchemaTextEditor
{
    /// <summary>Placeholder names for new slots: <c>feature_{slot}</c>, to be renamed by the user.</summary>
    private static string PlaceholderName(int slot) => "feature_" + slot.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Appends features to dense input <paramref name="inputName"/> until it is <paramref name="width"/> wide: one
    /// single-slot feature per missing slot, named <c>feature_{slot}</c> after the slot it occupies. Null when the
    /// schema does not read, the input is not dense, it is already that wide, or its list cannot be edited as text.
    /// </summary>
    public static SchemaEdit? AppendFeatures(string text, string path, string inputName, int width)
    {
        if (Read(text, path) is not { } read
            || read.Schema.FindInput(inputName) is not { Kind: InputKind.Dense } input
            || input.Width >= width
            || FindInputValue(read.Root, inputName) is not YamlMappingNode inputNode
            || Child(inputNode, "features") is not YamlSequenceNode features
            || IsShared(features))
        {
            return null;
        }

        var taken = new HashSet<string>(input.Features.Select(f => f.Name), StringComparer.Ordinal);
        var names = NewNames(input.Width, width, taken);
        var change = features.Style == SequenceStyle.Flow
            ? AppendToFlowList(read, features, names)
            : AppendToBlockList(read, features, names);
        return change is { } c ? new SchemaEdit(c, names) : null;
    }

    /// <summary>
    /// Appends a dense input <paramref name="inputName"/> of <paramref name="width"/> single-slot features
    /// (<c>feature_0</c> …) after the last input, laid out like the existing dense inputs. Null when the schema does
    /// not read, already has that input, or its inputs are not a block mapping.
    /// </summary>
    public static SchemaEdit? AppendInput(string text, string path, string inputName, int width)
    {
        if (width < 1
            || Read(text, path) is not { } read
            || read.Schema.FindInput(inputName) is not null
            || Child(read.Root, "inputs") is not YamlMappingNode { Style: not MappingStyle.Flow } inputs
            || inputs.Children.Count == 0)
        {
            return null;
        }

        var last = inputs.Children.Last();
        var keyPrefix = LinePrefix(read, last.Key);
        if (!IsBlank(keyPrefix))
        {
            return null;
        }

        var names = NewNames(0, width, new HashSet<string>(StringComparer.Ordinal));
        var nl = read.NewLine;
        var sb = new StringBuilder();
        sb.Append(keyPrefix).Append(inputName).Append(':').Append(nl);
        AppendFeaturesEntry(sb, read, inputs, keyPrefix, names);

        return new SchemaEdit(InsertAfterLine(read, EndOf(last.Value), sb.ToString()), names);
    }

    /// <summary>
    /// <c>features:</c> with <paramref name="names"/>, copying the layout of the last dense input that has a block
    /// <c>features:</c> key (its key indentation, block or flow list, list indentation); two more spaces than the
    /// input and a flow list when there is none to copy.
    /// </summary>
    private static void AppendFeaturesEntry(StringBuilder sb, Reading read, YamlMappingNode inputs, string keyPrefix, IReadOnlyList<string> names)
    {
        var nl = read.NewLine;
        foreach (var entry in inputs.Children.Reverse())
        {
            if (entry.Value is not YamlMappingNode { Style: not MappingStyle.Flow } value)
            {
                continue;
            }

            var featuresKey = value.Children.Keys.OfType<YamlScalarNode>().FirstOrDefault(k => k.Value == "features");
            if (featuresKey is null || value.Children[featuresKey] is not YamlSequenceNode { Children.Count: > 0 } list || IsShared(list))
            {
                continue;
            }

            var featuresPrefix = LinePrefix(read, featuresKey);
            if (!IsBlank(featuresPrefix) || LinePrefix(read, entry.Key) != keyPrefix)
            {
                continue;
            }

            if (list.Style == SequenceStyle.Flow)
            {
                sb.Append(featuresPrefix).Append("features: [").Append(string.Join(FlowSeparator(read, list), names)).Append(']').Append(nl);
                return;
            }

            var itemPrefix = LinePrefix(read, list.Children[0]);
            if (!IsDashPrefix(itemPrefix))
            {
                continue;
            }

            sb.Append(featuresPrefix).Append("features:").Append(nl);
            foreach (var name in names)
            {
                sb.Append(itemPrefix).Append(name).Append(nl);
            }

            return;
        }

        sb.Append(keyPrefix).Append("  features: [").Append(string.Join(", ", names)).Append(']').Append(nl);
    }

    /// <summary><c>[a, b]</c> becomes <c>[a, b, feature_2]</c>: the names go after the last entry, with the list's own separator.</summary>
    private static TextChange? AppendToFlowList(Reading read, YamlSequenceNode list, IReadOnlyList<string> names)
    {
        var separator = FlowSeparator(read, list);
        if (list.Children.Count == 0)
        {
            // The closing bracket is the last character of the list's span.
            var close = read.Offset(list.End) - 1;
            if (close < 0 || close >= read.Text.Length || read.Text[close] != ']')
            {
                return null;
            }

            return new TextChange(new TextSpan(close, 0), string.Join(separator, names));
        }

        var end = read.Offset(EndOf(list.Children.Last()));
        return new TextChange(new TextSpan(end, 0), separator + string.Join(separator, names));
    }

    /// <summary>
    /// New <c>- name</c> lines after the line the last entry ends on (so a comment at its end stays there), with
    /// the last entry's indentation and dash spacing.
    /// </summary>
    private static TextChange? AppendToBlockList(Reading read, YamlSequenceNode list, IReadOnlyList<string> names)
    {
        if (list.Children.Count == 0)
        {
            return null;
        }

        var last = list.Children.Last();
        var prefix = LinePrefix(read, last);
        if (!IsDashPrefix(prefix))
        {
            return null;
        }

        var sb = new StringBuilder();
        foreach (var name in names)
        {
            sb.Append(prefix).Append(name).Append(read.NewLine);
        }

        return InsertAfterLine(read, EndOf(last), sb.ToString());
    }

    /// <summary>
    /// Inserts <paramref name="lines"/> (each ending with a line break) at the start of the line after the one
    /// holding <paramref name="end"/>; at the end of a file without a final line break, the break moves first.
    /// </summary>
    private static TextChange InsertAfterLine(Reading read, Mark end, string lines)
    {
        var text = read.Text;
        var newLine = text.IndexOf('\n', Math.Min(read.Offset(end), text.Length));
        if (newLine >= 0)
        {
            return new TextChange(new TextSpan(newLine + 1, 0), lines);
        }

        return new TextChange(new TextSpan(text.Length, 0), read.NewLine + lines.Substring(0, lines.Length - read.NewLine.Length));
    }

    /// <summary>
    /// Where a node's text ends: a scalar's or flow collection's own end; for a block collection, the furthest end
    /// of what it contains (YamlDotNet places a block collection's end at the next token, past comments and blank lines).
    /// </summary>
    private static Mark EndOf(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode { Style: not MappingStyle.Flow } mapping when mapping.Children.Count > 0:
                return mapping.Children.SelectMany(kv => new[] { EndOf(kv.Key), EndOf(kv.Value) }).OrderBy(m => m.Index).Last();
            case YamlSequenceNode { Style: not SequenceStyle.Flow } sequence when sequence.Children.Count > 0:
                return sequence.Children.Select(EndOf).OrderBy(m => m.Index).Last();
            default:
                return node.End;
        }
    }

    /// <summary><c>", "</c> unless the list already separates entries with a bare comma.</summary>
    private static string FlowSeparator(Reading read, YamlSequenceNode list)
    {
        if (list.Children.Count < 2)
        {
            return ", ";
        }

        var comma = read.Text.IndexOf(',', read.Offset(EndOf(list.Children[0])));
        return comma >= 0 && comma + 1 < read.Text.Length && read.Text[comma + 1] != ' ' && read.Text[comma + 1] != '\n' && read.Text[comma + 1] != '\r'
            ? ","
            : ", ";
    }

    /// <summary>Names for slots <paramref name="from"/> to <paramref name="to"/> − 1, each unique among <paramref name="taken"/>.</summary>
    private static ImmutableArray<string> NewNames(int from, int to, HashSet<string> taken)
    {
        var names = ImmutableArray.CreateBuilder<string>(to - from);
        for (var slot = from; slot < to; slot++)
        {
            var name = PlaceholderName(slot);
            for (var k = 2; taken.Contains(name); k++)
            {
                name = PlaceholderName(slot) + "_" + k.ToString(CultureInfo.InvariantCulture);
            }

            taken.Add(name);
            names.Add(name);
        }

        return names.MoveToImmutable();
    }

    /// <summary>The text from the start of the node's line to the node.</summary>
    private static string LinePrefix(Reading read, YamlNode node)
    {
        var start = Math.Min(read.Offset(node.Start), read.Text.Length);
        var lineStart = read.Text.LastIndexOf('\n', Math.Max(start - 1, 0)) + 1;
        if (start == 0)
        {
            lineStart = 0;
        }

        return read.Text.Substring(lineStart, start - lineStart);
    }

    private static bool IsBlank(string s) => s.All(c => c == ' ');

    /// <summary>Spaces, a dash, at least one space: a block list entry's start.</summary>
    private static bool IsDashPrefix(string s)
    {
        var trimmed = s.TrimStart(' ');
        return trimmed.Length >= 2 && trimmed[0] == '-' && trimmed.Substring(1).All(c => c == ' ');
    }

    /// <summary>An anchored list may be aliased elsewhere; editing it as text would change those uses too.</summary>
    private static bool IsShared(YamlNode node) => !node.Anchor.IsEmpty;

    private static YamlNode? Child(YamlMappingNode mapping, string key)
    {
        foreach (var entry in mapping.Children)
        {
            if (entry.Key is YamlScalarNode { Value: { } k } && k == key)
            {
                return entry.Value;
            }
        }

        return null;
    }

    private static YamlNode? FindInputValue(YamlMappingNode root, string inputName) =>
        Child(root, "inputs") is YamlMappingNode inputs ? Child(inputs, inputName) : null;

    private static Reading? Read(string text, string path)
    {
        var result = FeatureSchemaReader.Parse(text, path);
        if (!result.Success || result.Schema is null)
        {
            return null;
        }

        // Core ignores a byte order mark the decoder left in; marks count from after it.
        var bom = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text.Substring(bom)));
        }
        catch (YamlException)
        {
            return null;
        }

        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            return null;
        }

        var newLine = text.Contains("\r\n") ? "\r\n" : "\n";
        return new Reading(text, bom, newLine, result.Schema, root);
    }

    private sealed class Reading(string text, int bom, string newLine, FeatureSchema schema, YamlMappingNode root)
    {
        public string Text { get; } = text;

        public string NewLine { get; } = newLine;

        public FeatureSchema Schema { get; } = schema;

        public YamlMappingNode Root { get; } = root;

        public int Offset(Mark mark) => (int)mark.Index + bom;
    }
}

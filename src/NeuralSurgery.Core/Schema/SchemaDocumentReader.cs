using System;
using System.Collections.Generic;
using System.Globalization;
using NeuralSurgery.Collections;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;
using static System.FormattableString;

namespace NeuralSurgery.Schema;

/// <summary>
/// Walks the YAML representation model of one schema file by hand, building the model and collecting
/// diagnostics. After an error it carries on with the next key or entry, so one pass reports all it can.
/// </summary>
internal sealed class SchemaDocumentReader
{
    private const string TopLevel = "at the top level";

    private static readonly string[] TopLevelKeys = { "model", "version", "inputs", "outputs", "renames", "arguments", "factory" };
    private static readonly string[] InputKeys = { "features", "categorical", "set", "axes" };
    private static readonly string[] FeatureKeys = { "name", "width" };
    private static readonly string[] OutputKeys = { "features" };

    private readonly string _path;
    private readonly List<SchemaDiagnostic> _diagnostics;

    public SchemaDocumentReader(string path, List<SchemaDiagnostic> diagnostics)
    {
        _path = path;
        _diagnostics = diagnostics;
    }

    public void ReportYamlException(YamlException exception, string text, AnchorAlias? unknownAlias)
    {
        if (exception is AnchorNotFoundException && unknownAlias is not null)
        {
            var anchor = unknownAlias.Value.Value;
            Report(
                SchemaErrorCodes.YamlSyntax,
                $"invalid YAML: alias '*{anchor}' refers to an anchor that is not declared before it; expected '&{anchor}' on an earlier node",
                Loc(unknownAlias.Start, unknownAlias.End));
            return;
        }

        var detail = exception.Message.TrimEnd('.', ' ');

        // The representation model throws this for duplicate keys the parser filter cannot see (alias keys).
        if (detail.StartsWith("Duplicate key", StringComparison.Ordinal))
        {
            Report(
                SchemaErrorCodes.DuplicateName,
                "a key appears more than once in a mapping (" + detail + "); expected each key once",
                Loc(exception.Start, exception.End));
            return;
        }

        var location = Loc(exception.Start, exception.End);

        // YamlDotNet reports a tab in indentation at the start of the enclosing mapping (often line 1);
        // point at the tab itself, which is what the user has to fix.
        if (detail.IndexOf("tab", StringComparison.Ordinal) >= 0 && FindIndentationTab(text) is { } tab)
        {
            location = tab;
        }

        Report(SchemaErrorCodes.YamlSyntax, "invalid YAML: " + detail + "; expected well-formed YAML", location);
    }

    public void ReportParserFailure(Exception exception, Mark lastEnd)
    {
        var detail = exception.Message.TrimEnd('.', ' ');
        Report(
            SchemaErrorCodes.YamlSyntax,
            $"invalid YAML: the YAML parser stopped after this point ({exception.GetType().Name}: {detail}); expected well-formed YAML",
            Loc(lastEnd, lastEnd));
    }

    /// <summary>The first tab in the leading whitespace of a line, or null.</summary>
    private SourceLocation? FindIndentationTab(string text)
    {
        var line = 1;
        var column = 1;
        var inIndentation = true;
        foreach (var c in text)
        {
            if (c == '\n')
            {
                line++;
                column = 1;
                inIndentation = true;
                continue;
            }

            if (inIndentation && c == '\t')
            {
                return new SourceLocation(_path, line, column, line, column + 1);
            }

            inIndentation &= c == ' ';
            column++;
        }

        return null;
    }

    public void ReportDuplicateKey(DuplicateKey duplicate)
    {
        var path = duplicate.MappingPath;
        var key = duplicate.Key;
        var first = "(first at " + At(duplicate.First) + ")";
        string message;
        if (path.Length == 1 && path[0] == "inputs")
        {
            message = $"input '{key}' is declared more than once {first}; expected unique input names";
        }
        else if (path.Length == 1 && path[0] == "outputs")
        {
            message = $"output '{key}' is declared more than once {first}; expected unique output names";
        }
        else if (path.Length == 1 && path[0] == "arguments")
        {
            message = $"argument '{key}' is given more than once {first}; expected one value per constructor parameter";
        }
        else if (path.Length == 1 && path[0] == "renames")
        {
            message = $"rename source '{key}' is declared more than once {first}; expected each old name to be renamed once";
        }
        else
        {
            message = $"key '{key}' appears more than once {DescribeMappingPath(path)} {first}; expected each key once";
        }

        Report(SchemaErrorCodes.DuplicateName, message, Loc(duplicate.Start, duplicate.End));
    }

    public FeatureSchema? ReadStream(YamlStream stream)
    {
        var documents = stream.Documents;
        if (documents.Count == 0)
        {
            Report(
                SchemaErrorCodes.InvalidValue,
                "the file holds no YAML document; expected one mapping with the keys 'model', 'version' and 'inputs'",
                new SourceLocation(_path, 1, 1, 1, 1));
            return null;
        }

        if (documents.Count > 1)
        {
            Report(
                SchemaErrorCodes.InvalidValue,
                Invariant($"the file holds {documents.Count} YAML documents; expected exactly one"),
                Loc(documents[1].RootNode));
        }

        return ReadRoot(documents[0].RootNode);
    }

    private FeatureSchema? ReadRoot(YamlNode root)
    {
        if (root is not YamlMappingNode mapping)
        {
            Report(
                SchemaErrorCodes.InvalidValue,
                $"the document is {Describe(root)}; expected a mapping with the keys 'model', 'version' and 'inputs'",
                Loc(root));
            return null;
        }

        string? model = null;
        int? version = null;
        var sawModel = false;
        var sawVersion = false;
        var sawInputs = false;
        var inputs = new List<SchemaInput>();
        var outputs = new List<SchemaOutput>();
        var renames = new List<RenameEntry>();
        var arguments = new List<SchemaArgument>();
        string? factory = null;
        SourceLocation? factoryLocation = null;

        foreach (var pair in mapping.Children)
        {
            var key = ReadKey(pair.Key, TopLevel);
            switch (key)
            {
                case null:
                    break;
                case "model":
                    sawModel = true;
                    model = ReadName(pair.Value, "model", string.Empty, "'model'");
                    break;
                case "version":
                    sawVersion = true;
                    version = ReadVersion(pair.Value);
                    break;
                case "inputs":
                    sawInputs = true;
                    ReadInputs(pair.Key, pair.Value, inputs);
                    break;
                case "outputs":
                    ReadOutputs(pair.Value, outputs);
                    break;
                case "renames":
                    ReadRenames(pair.Value, renames);
                    break;
                case "arguments":
                    ReadArguments(pair.Value, arguments);
                    break;
                case "factory":
                    factory = ReadName(pair.Value, "factory", string.Empty, "'factory'");
                    factoryLocation = Loc(pair.Value);
                    break;
                default:
                    ReportUnknownKey(pair.Key, key, TopLevel, TopLevelKeys);
                    break;
            }
        }

        var start = Loc(mapping.Start, mapping.Start);
        if (!sawModel)
        {
            Report(SchemaErrorCodes.InvalidValue, "missing required key 'model' at the top level; expected the model class name, e.g. 'model: Policy'", start);
        }

        if (!sawVersion)
        {
            Report(SchemaErrorCodes.InvalidValue, "missing required key 'version' at the top level; expected a non-negative integer, e.g. 'version: 2'", start);
        }

        if (!sawInputs)
        {
            Report(SchemaErrorCodes.InvalidValue, "missing required key 'inputs' at the top level; expected a mapping from input names to their features", start);
        }

        var renameModels = new RenameChecker(this, inputs, outputs).Check(renames);

        if (model is null || version is null)
        {
            return null;
        }

        return new FeatureSchema(
            model,
            version.Value,
            inputs.ToEquatableArray(),
            outputs.ToEquatableArray(),
            renameModels.ToEquatableArray(),
            _path)
        {
            Arguments = arguments.ToEquatableArray(),
            Factory = factory,
            FactoryLocation = factory is null ? null : factoryLocation,
        };
    }

    private int? ReadVersion(YamlNode node)
    {
        if (node is YamlScalarNode scalar
            && IsPlain(scalar)
            && int.TryParse(scalar.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            return version;
        }

        Report(SchemaErrorCodes.InvalidValue, $"'version' is {Show(node)}; expected a non-negative integer", Loc(node));
        return null;
    }

    private void ReadInputs(YamlNode keyNode, YamlNode node, List<SchemaInput> inputs)
    {
        if (IsNull(node) || node is YamlMappingNode { Children.Count: 0 })
        {
            Report(SchemaErrorCodes.EmptyDeclaration, "'inputs' declares no inputs; expected at least one input", ValueLoc(keyNode, node));
            return;
        }

        ReadDeclarations(node, "inputs", "input", inputs, ReadInput);
    }

    private SchemaInput ReadInput(string name, YamlNode keyNode, YamlNode node)
    {
        var owner = $"input '{name}'";
        var location = Loc(keyNode);
        if (DeclarationMapping(node, owner, location, "a mapping with 'features' or 'categorical'") is not { } mapping)
        {
            return new SchemaInput(name, InputKind.Dense, false, EquatableArray<SchemaFeature>.Empty, EquatableArray<string>.Empty, location);
        }

        var features = new List<SchemaFeature>();
        var values = new List<string>();
        var isSet = false;
        YamlNode? setKey = null;
        YamlNode? axesKey = null;
        YamlNode? axesValue = null;
        var axes = new List<string>();
        YamlNode? featuresKey = null;
        YamlNode? categoricalKey = null;
        foreach (var pair in mapping.Children)
        {
            var key = ReadKey(pair.Key, "in " + owner);
            switch (key)
            {
                case null:
                    break;
                case "features":
                    ReportIfBoth(owner, categoricalKey, pair.Key);
                    featuresKey = pair.Key;
                    ReadFeatures(pair.Key, pair.Value, owner, features);
                    break;
                case "categorical":
                    ReportIfBoth(owner, featuresKey, pair.Key);
                    categoricalKey = pair.Key;
                    ReadCategorical(pair.Key, pair.Value, owner, values);
                    break;
                case "set":
                    setKey = pair.Key;
                    isSet = ReadBool(pair.Value, owner);
                    break;
                case "axes":
                    axesKey = pair.Key;
                    axesValue = pair.Value;
                    ReadAxes(pair.Value, owner, axes);
                    break;
                default:
                    ReportUnknownKey(pair.Key, key, "in " + owner, InputKeys);
                    break;
            }
        }

        if (featuresKey is null && categoricalKey is null)
        {
            Report(SchemaErrorCodes.InvalidValue, $"{owner} has neither 'features' nor 'categorical'; expected exactly one of them", location);
        }

        if (axesKey is not null && setKey is not null)
        {
            Report(SchemaErrorCodes.InvalidValue, $"{owner} has both 'set' and 'axes'; expected one of them ('axes: [batch, N, features]' says what 'set: true' says)", Loc(axesKey));
        }

        var categorical = featuresKey is null && categoricalKey is not null;
        if (axesValue is not null && axes.Count > 0)
        {
            // A feature input says where its features sit; an index input has no feature axis (its one-hot view adds
            // the vocabulary last), so its axes are all batch, sizes or names: [tokens] for EmbeddingBag's flat input.
            var featureAxes = axes.FindAll(a => a == "features").Count;
            var batch = axes.FindAll(a => a == "batch").Count;
            if (categorical ? featureAxes != 0 || batch > 1 : featureAxes != 1 || batch > 1)
            {
                Report(
                    SchemaErrorCodes.InvalidValue,
                    Invariant($"'axes' of {owner} has {featureAxes} 'features' and {batch} 'batch' entries; expected ") +
                    (categorical ? "no 'features' (an index input's vocabulary is not an axis of its tensor) and 'batch' at most once" : "'features' exactly once and 'batch' at most once"),
                    Loc(axesValue));
                axes.Clear();
            }
        }

        return categorical
            ? new SchemaInput(name, InputKind.Categorical, isSet, EquatableArray<SchemaFeature>.Empty, values.ToEquatableArray(), location, axes.ToEquatableArray())
            : new SchemaInput(name, InputKind.Dense, isSet, features.ToEquatableArray(), EquatableArray<string>.Empty, location, axes.ToEquatableArray());
    }

    /// <summary>Most axes an input may declare (images and videos need at most 5).</summary>
    private const int MaxAxes = 8;

    /// <summary>
    /// <c>axes: [batch, features, 28, 28]</c>: where the feature axis sits among the input's axes. An entry is
    /// <c>batch</c>, <c>features</c> (exactly once), a fixed size (an integer >= 1) or a name (a size known only at run
    /// time, such as a sequence length).
    /// </summary>
    private void ReadAxes(YamlNode node, string owner, List<string> axes)
    {
        const string expected = "a list such as [batch, features, 28, 28]: 'batch', 'features' (once), sizes >= 1 or names";
        if (node is not YamlSequenceNode sequence || sequence.Children.Count == 0 || sequence.Children.Count > MaxAxes)
        {
            Report(SchemaErrorCodes.InvalidValue, $"'axes' of {owner} is {Show(node)}; expected {expected}, at most {MaxAxes} axes", Loc(node));
            return;
        }

        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var entry = sequence.Children[i];
            string? axis = null;
            if (entry is YamlScalarNode scalar && IsPlain(scalar) && scalar.Value is { Length: > 0 } text)
            {
                if (text is "features" or "batch")
                {
                    axis = text;
                }
                else if (char.IsDigit(text[0]))
                {
                    axis = long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var size) && size >= 1 && size <= int.MaxValue
                        ? size.ToString(CultureInfo.InvariantCulture)
                        : null;
                }
                else if (NeuralSurgery.Graph.Dim.IsIdentifier(text))
                {
                    axis = text;
                }
            }

            if (axis is null)
            {
                Report(SchemaErrorCodes.InvalidValue, Invariant($"axis {i + 1} of {owner} is {Show(entry)}; expected 'batch', 'features', an integer size >= 1 or a name"), Loc(entry));
                return;
            }

            axes.Add(axis);
        }
    }

    /// <summary>The mapping of an input or output declaration, or null (reported) when it is empty or not a mapping.</summary>
    private YamlMappingNode? DeclarationMapping(YamlNode node, string owner, SourceLocation location, string expected)
    {
        if (IsNull(node))
        {
            Report(SchemaErrorCodes.EmptyDeclaration, $"{owner} is empty; expected {expected}", location);
            return null;
        }

        if (node is not YamlMappingNode mapping)
        {
            Report(SchemaErrorCodes.InvalidValue, $"{owner} is {Describe(node)}; expected {expected}", Loc(node));
            return null;
        }

        return mapping;
    }

    private void ReportIfBoth(string owner, YamlNode? earlierKey, YamlNode laterKey)
    {
        if (earlierKey is not null)
        {
            Report(SchemaErrorCodes.InvalidValue, $"{owner} declares both 'features' and 'categorical'; expected exactly one of them", Loc(laterKey));
        }
    }

    private bool ReadBool(YamlNode node, string owner)
    {
        if (node is YamlScalarNode scalar && IsPlain(scalar))
        {
            switch (scalar.Value)
            {
                case "true" or "True" or "TRUE":
                    return true;
                case "false" or "False" or "FALSE":
                    return false;
            }
        }

        Report(SchemaErrorCodes.InvalidValue, $"'set' of {owner} is {Show(node)}; expected true or false", Loc(node));
        return false;
    }

    private void ReadFeatures(YamlNode keyNode, YamlNode node, string owner, List<SchemaFeature> features)
    {
        if (ListOf(keyNode, node, owner, "features", "feature", "feature names") is not { } sequence)
        {
            return;
        }

        var seen = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        var offset = 0;
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var entry = sequence.Children[i];
            YamlScalarNode? nameNode;
            var width = 1;
            switch (entry)
            {
                case YamlScalarNode scalar:
                    nameNode = scalar;
                    break;
                case YamlMappingNode mapping:
                    nameNode = ReadFeatureMapping(mapping, i, owner, out width);
                    break;
                default:
                    Report(
                        SchemaErrorCodes.InvalidValue,
                        Invariant($"feature entry {i + 1} of {owner} is {Describe(entry)}; expected a name or a mapping {{ name, width }}"),
                        Loc(entry));
                    continue;
            }

            if (nameNode is null)
            {
                continue;
            }

            if (ReadUniqueName(nameNode, "feature", owner, seen, SchemaErrorCodes.DuplicateName, "unique feature names") is not { } name)
            {
                continue;
            }

            features.Add(new SchemaFeature(name, width, offset, Loc(nameNode)));
            offset += width;
        }
    }

    /// <summary>
    /// The entries of the list <paramref name="key"/> ('features' or 'categorical') of <paramref name="owner"/>,
    /// or null (reported) when it is empty or not a list.
    /// </summary>
    private YamlSequenceNode? ListOf(YamlNode keyNode, YamlNode node, string owner, string key, string item, string items)
    {
        if (IsNull(node) || node is YamlSequenceNode { Children.Count: 0 })
        {
            Report(SchemaErrorCodes.EmptyDeclaration, $"{owner} has an empty '{key}' list; expected at least one {item}", ValueLoc(keyNode, node));
            return null;
        }

        if (node is not YamlSequenceNode sequence)
        {
            Report(SchemaErrorCodes.InvalidValue, $"'{key}' of {owner} is {Describe(node)}; expected a list of {items}", Loc(node));
            return null;
        }

        return sequence;
    }

    /// <summary>
    /// The name of a list entry, recorded with its location in <paramref name="seen"/>; null (reported) when it
    /// is not a valid name or repeats an earlier entry.
    /// </summary>
    private string? ReadUniqueName(YamlScalarNode node, string kind, string owner, Dictionary<string, SourceLocation> seen, string duplicateId, string expected)
    {
        var name = node.Value ?? string.Empty;
        var location = Loc(node);
        if (!CheckName(name, node, kind, " in " + owner))
        {
            return null;
        }

        if (seen.TryGetValue(name, out var first))
        {
            Report(
                duplicateId,
                $"{kind} '{name}' in {owner} is declared more than once (first at {At(first)}); expected {expected}",
                location);
            return null;
        }

        seen.Add(name, location);
        return name;
    }

    /// <summary>Reads <c>{ name, width }</c>; returns the name node (null when missing) and the width (1 when invalid).</summary>
    private YamlScalarNode? ReadFeatureMapping(YamlMappingNode mapping, int index, string owner, out int width)
    {
        width = 1;
        YamlScalarNode? nameNode = null;
        var hasName = false;
        foreach (var pair in mapping.Children)
        {
            if (pair.Key is YamlScalarNode { Value: "name" })
            {
                hasName = true;
                nameNode = pair.Value as YamlScalarNode;
                if (nameNode is null)
                {
                    Report(
                        SchemaErrorCodes.InvalidValue,
                        Invariant($"'name' of feature entry {index + 1} of {owner} is {Describe(pair.Value)}; expected a feature name"),
                        Loc(pair.Value));
                }
            }
        }

        var label = nameNode is null
            ? Invariant($"feature entry {index + 1}")
            : $"feature '{nameNode.Value}'";

        foreach (var pair in mapping.Children)
        {
            var key = ReadKey(pair.Key, $"in {label} of {owner}");
            switch (key)
            {
                case null or "name":
                    break;
                case "width":
                    width = ReadWidth(pair.Value, $"{label} in {owner}");
                    break;
                default:
                    ReportUnknownKey(pair.Key, key, $"in {label} of {owner}", FeatureKeys);
                    break;
            }
        }

        if (!hasName)
        {
            Report(
                SchemaErrorCodes.InvalidValue,
                $"{label} of {owner} has no 'name'; expected a mapping {{ name: ..., width: ... }}",
                Loc(mapping));
        }

        return nameNode;
    }

    private int ReadWidth(YamlNode node, string subject)
    {
        if (node is YamlScalarNode scalar
            && IsPlain(scalar)
            && int.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var width)
            && width >= 1)
        {
            return width;
        }

        Report(SchemaErrorCodes.InvalidWidth, $"{subject} has width {Show(node)}; expected an integer >= 1", Loc(node));
        return 1;
    }

    private void ReadCategorical(YamlNode keyNode, YamlNode node, string owner, List<string> values)
    {
        if (ListOf(keyNode, node, owner, "categorical", "value", "values") is not { } sequence)
        {
            return;
        }

        var seen = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var entry = sequence.Children[i];
            if (entry is not YamlScalarNode scalar)
            {
                Report(
                    SchemaErrorCodes.InvalidValue,
                    Invariant($"categorical entry {i + 1} of {owner} is {Describe(entry)}; expected a value name"),
                    Loc(entry));
                continue;
            }

            if (ReadUniqueName(scalar, "categorical value", owner, seen, SchemaErrorCodes.DuplicateCategoricalValue, "unique values") is { } value)
            {
                values.Add(value);
            }
        }
    }

    private void ReadOutputs(YamlNode node, List<SchemaOutput> outputs)
    {
        if (IsNull(node))
        {
            return;
        }

        ReadDeclarations(node, "outputs", "output", outputs, ReadOutput);
    }

    /// <summary>
    /// Reads the section <paramref name="section"/> ('inputs' or 'outputs'): a mapping from names of
    /// <paramref name="kind"/> to their declarations, each checked and read by <paramref name="read"/>.
    /// </summary>
    private void ReadDeclarations<T>(YamlNode node, string section, string kind, List<T> declarations, Func<string, YamlNode, YamlNode, T> read) =>
        ReadEntries(node, section, $"a mapping from {kind} names to their features", (name, keyNode, value) =>
        {
            CheckName(name, keyNode, kind, string.Empty);
            declarations.Add(read(name, keyNode, value));
        });

    /// <summary>
    /// Hands each entry of the top-level section <paramref name="section"/> with a scalar key to
    /// <paramref name="readEntry"/> (name, key node, value node), in order; reports a value that is not a mapping.
    /// </summary>
    private void ReadEntries(YamlNode node, string section, string expected, Action<string, YamlNode, YamlNode> readEntry)
    {
        if (node is not YamlMappingNode mapping)
        {
            Report(SchemaErrorCodes.InvalidValue, $"'{section}' is {Describe(node)}; expected {expected}", Loc(node));
            return;
        }

        foreach (var pair in mapping.Children)
        {
            var name = ReadKey(pair.Key, $"in '{section}'");
            if (name is not null)
            {
                readEntry(name, pair.Key, pair.Value);
            }
        }
    }

    private SchemaOutput ReadOutput(string name, YamlNode keyNode, YamlNode node)
    {
        var owner = $"output '{name}'";
        var location = Loc(keyNode);
        var features = new List<SchemaFeature>();
        if (DeclarationMapping(node, owner, location, "a mapping with 'features'") is { } mapping)
        {
            var sawFeatures = false;
            foreach (var pair in mapping.Children)
            {
                var key = ReadKey(pair.Key, "in " + owner);
                switch (key)
                {
                    case null:
                        break;
                    case "features":
                        sawFeatures = true;
                        ReadFeatures(pair.Key, pair.Value, owner, features);
                        break;
                    default:
                        ReportUnknownKey(pair.Key, key, "in " + owner, OutputKeys);
                        break;
                }
            }

            if (!sawFeatures)
            {
                Report(SchemaErrorCodes.InvalidValue, $"{owner} has no 'features'; expected a list of its features", location);
            }
        }

        return new SchemaOutput(name, features.ToEquatableArray(), location);
    }

    private void ReadRenames(YamlNode node, List<RenameEntry> renames)
    {
        if (IsNull(node))
        {
            return;
        }

        ReadEntries(node, "renames", "a mapping from old names to new names", (from, keyNode, value) =>
        {
            var valid = CheckRenameName(from, keyNode, $"old name '{from}' in 'renames'");
            if (value is not YamlScalarNode toNode)
            {
                Report(
                    SchemaErrorCodes.InvalidValue,
                    $"the new name for '{from}' in 'renames' is {Describe(value)}; expected 'name' or 'scope.name'",
                    Loc(value));
                return;
            }

            var to = toNode.Value ?? string.Empty;
            valid &= CheckRenameName(to, toNode, $"new name '{to}' for '{from}' in 'renames'");
            renames.Add(new RenameEntry(from, to, keyNode, toNode, valid));
        });
    }

    private void ReadArguments(YamlNode node, List<SchemaArgument> arguments)
    {
        if (IsNull(node))
        {
            return;
        }

        ReadEntries(node, "arguments", "a mapping from constructor parameter names to values", (name, keyNode, value) =>
        {
            if (CheckName(name, keyNode, "argument", " in 'arguments'") && ReadArgumentValue(value, $"argument '{name}'") is { } read)
            {
                arguments.Add(new SchemaArgument(name, read, Loc(keyNode)));
            }
        });
    }

    /// <summary>
    /// A value of the arguments block: a scalar (integer, number, boolean or string), a list of integers, or a
    /// mapping of member names to values (a config object); null (reported) for anything else.
    /// </summary>
    private SchemaValue? ReadArgumentValue(YamlNode node, string subject)
    {
        const string Expected = "expected an integer, a number, true or false, a string, a list of integers, or a mapping of member names to values";
        switch (node)
        {
            case YamlScalarNode scalar when IsNull(scalar):
                Report(SchemaErrorCodes.InvalidValue, $"{subject} is empty; {Expected}", Loc(node));
                return null;
            case YamlScalarNode scalar when !IsPlain(scalar):
                return SchemaValue.OfString(scalar.Value ?? string.Empty, Loc(node));
            case YamlScalarNode scalar:
            {
                var text = scalar.Value ?? string.Empty;
                if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
                {
                    return SchemaValue.OfBool(text[0] is 't' or 'T', text, Loc(node));
                }

                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
                {
                    return SchemaValue.OfInteger(integer, text, Loc(node));
                }

                if (LooksNumeric(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && !double.IsInfinity(number))
                {
                    return SchemaValue.OfFloat(number, text, Loc(node));
                }

                return SchemaValue.OfString(text, Loc(node));
            }

            case YamlSequenceNode sequence:
            {
                var values = new List<long>();
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    var entry = sequence.Children[i];
                    if (entry is YamlScalarNode element
                        && IsPlain(element)
                        && long.TryParse(element.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
                    {
                        values.Add(value);
                        continue;
                    }

                    Report(SchemaErrorCodes.InvalidValue, Invariant($"element {i + 1} of {subject} is {Show(entry)}; expected a list of unquoted integers"), Loc(entry));
                    return null;
                }

                return SchemaValue.OfIntegers(values.ToEquatableArray(), Loc(node));
            }

            case YamlMappingNode mapping:
            {
                var members = new List<SchemaArgument>();
                foreach (var pair in mapping.Children)
                {
                    var name = ReadKey(pair.Key, "in " + subject);
                    if (name is not null
                        && CheckName(name, pair.Key, "member", " of " + subject)
                        && ReadArgumentValue(pair.Value, $"member '{name}' of {subject}") is { } value)
                    {
                        members.Add(new SchemaArgument(name, value, Loc(pair.Key)));
                    }
                }

                return SchemaValue.OfMapping(members.ToEquatableArray(), Loc(node));
            }

            default:
                Report(SchemaErrorCodes.InvalidValue, $"{subject} is {Describe(node)}; {Expected}", Loc(node));
                return null;
        }
    }

    /// <summary>A plain scalar that is meant as a number: digits with an optional sign, point and exponent.</summary>
    private static bool LooksNumeric(string text)
    {
        var digits = false;
        foreach (var c in text)
        {
            if (c is >= '0' and <= '9')
            {
                digits = true;
            }
            else if (c is not ('+' or '-' or '.' or 'e' or 'E'))
            {
                return false;
            }
        }

        return digits;
    }

    private bool CheckRenameName(string name, YamlNode node, string subject)
    {
        var parts = name.Split('.');
        if (parts.Length > 2)
        {
            Report(SchemaErrorCodes.InvalidValue, $"{subject} has more than one '.'; expected 'name' or 'scope.name'", Loc(node));
            return false;
        }

        foreach (var part in parts)
        {
            if (part.Length == 0)
            {
                Report(SchemaErrorCodes.InvalidValue, $"{subject} has an empty part; expected 'name' or 'scope.name'", Loc(node));
                return false;
            }

            if (!CheckChars(part, node, subject, "'name' or 'scope.name' made of letters, digits and '_'"))
            {
                return false;
            }
        }

        return true;
    }

    private string? ReadName(YamlNode node, string kind, string owner, string keyDescription)
    {
        if (node is not YamlScalarNode scalar)
        {
            Report(SchemaErrorCodes.InvalidValue, $"{keyDescription} is {Describe(node)}; expected a name", Loc(node));
            return null;
        }

        var name = scalar.Value ?? string.Empty;
        return CheckName(name, scalar, kind, owner) ? name : null;
    }

    /// <summary>Reports an empty name or one with characters other than letters, digits and '_'.</summary>
    private bool CheckName(string name, YamlNode node, string kind, string owner)
    {
        if (name.Length == 0)
        {
            Report(SchemaErrorCodes.InvalidValue, $"{kind} name{owner} is empty; expected a name of letters, digits and '_'", Loc(node));
            return false;
        }

        return CheckChars(name, node, $"{kind} name '{name}'{owner}", "only letters, digits and '_'");
    }

    /// <summary>Reports the first character of <paramref name="text"/> other than a letter, digit or '_'; false when there is one.</summary>
    private bool CheckChars(string text, YamlNode node, string subject, string expected)
    {
        var bad = SchemaNames.FirstInvalidChar(text);
        if (bad < 0)
        {
            return true;
        }

        Report(SchemaErrorCodes.InvalidValue, $"{subject} contains {SchemaNames.DescribeChar(text[bad])}; expected {expected}", Loc(node));
        return false;
    }

    /// <summary>The text of a scalar key, or null (reported) for a sequence or mapping used as a key.</summary>
    private string? ReadKey(YamlNode key, string context)
    {
        if (key is YamlScalarNode scalar)
        {
            return scalar.Value ?? string.Empty;
        }

        Report(SchemaErrorCodes.InvalidValue, $"a key {context} is {Describe(key)}; expected a plain name", Loc(key));
        return null;
    }

    private void ReportUnknownKey(YamlNode keyNode, string key, string context, string[] allowed) =>
        Report(
            SchemaErrorCodes.UnknownKey,
            $"unknown key '{key}' {context}; expected one of: {string.Join(", ", allowed)}",
            Loc(keyNode));

    internal void Report(string id, string message, SourceLocation location) =>
        _diagnostics.Add(new SchemaDiagnostic(id, message, location));

    internal SourceLocation Loc(YamlNode node) => Loc(node.Start, node.End);

    internal SourceLocation Loc(Mark start, Mark end)
    {
        var line = ToPosition(start.Line);
        var column = ToPosition(start.Column);
        var endLine = Math.Max(ToPosition(end.Line), line);
        var endColumn = endLine == line ? Math.Max(ToPosition(end.Column), column) : ToPosition(end.Column);
        return new SourceLocation(_path, line, column, endLine, endColumn);
    }

    /// <summary>The value's span, or the key's when the value is an empty (null) scalar with no text of its own.</summary>
    private SourceLocation ValueLoc(YamlNode key, YamlNode value) =>
        value is YamlScalarNode { Value: null or "" } ? Loc(key) : Loc(value);

    private static int ToPosition(long value) => value < 1 ? 1 : value > int.MaxValue ? int.MaxValue : (int)value;

    private static string At(Mark mark) =>
        Invariant($"line {ToPosition(mark.Line)}, column {ToPosition(mark.Column)}");

    private static string At(SourceLocation location) =>
        Invariant($"line {location.Line}, column {location.Column}");

    private static string DescribeMappingPath(string[] path)
    {
        if (path.Length == 0)
        {
            return TopLevel;
        }

        if (path.Length == 2 && path[0] is "inputs" or "outputs")
        {
            return $"in {(path[0] == "inputs" ? "input" : "output")} '{path[1]}'";
        }

        if (path.Length == 4 && path[0] is "inputs" or "outputs" && path[2] == "features" && path[3] == "[]")
        {
            return $"in a feature of {(path[0] == "inputs" ? "input" : "output")} '{path[1]}'";
        }

        return "in '" + string.Join(".", path) + "'";
    }

    private static bool IsPlain(YamlScalarNode scalar) => scalar.Style is ScalarStyle.Plain or ScalarStyle.Any;

    /// <summary>An empty value or YAML's null (<c>~</c>, <c>null</c>), unquoted.</summary>
    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode scalar
        && IsPlain(scalar)
        && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL";

    private static string Describe(YamlNode node) => node switch
    {
        YamlSequenceNode => "a sequence",
        YamlMappingNode => "a mapping",
        YamlScalarNode scalar when IsNull(scalar) => "empty",
        YamlScalarNode scalar => $"the scalar '{scalar.Value}'",
        _ => "an alias",
    };

    /// <summary>How a value reads in a message: numbers bare, text quoted, collections by kind.</summary>
    private static string Show(YamlNode node)
    {
        if (node is not YamlScalarNode scalar)
        {
            return Describe(node);
        }

        if (IsNull(scalar))
        {
            return "empty";
        }

        var value = scalar.Value ?? string.Empty;
        if (!IsPlain(scalar))
        {
            return $"'{value}' (a quoted string)";
        }

        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? value : $"'{value}'";
    }
}

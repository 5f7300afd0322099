using System;
using System.Collections.Generic;
using YamlDotNet.RepresentationModel;

namespace NeuralSurgery.Schema;

/// <summary>
/// A rename as read from YAML, before it is checked against the schema. <c>Valid</c> says both sides are
/// syntactically valid names (otherwise that was already reported and the rename is not checked further).
/// </summary>
internal sealed record RenameEntry(string From, string To, YamlNode FromNode, YamlNode ToNode, bool Valid);

/// <summary>
/// Checks renames against the inputs and outputs of the same schema: the new name must name something
/// declared here (NS0007), and the old name must be gone from the scope the new one lives in, unless
/// another rename takes it over, as in a swap (NS0008).
/// </summary>
internal sealed class RenameChecker
{
    private readonly SchemaDocumentReader _reader;
    private readonly List<Scope> _scopes = new();

    public RenameChecker(SchemaDocumentReader reader, List<SchemaInput> inputs, List<SchemaOutput> outputs)
    {
        _reader = reader;
        foreach (var input in inputs)
        {
            var members = input.Kind == InputKind.Categorical ? (IEnumerable<string>)input.Values : FeatureNames(input.Features);
            _scopes.Add(new Scope("input", input.Name, input.Kind == InputKind.Categorical ? "categorical value" : "feature", members));
        }

        foreach (var output in outputs)
        {
            _scopes.Add(new Scope("output", output.Name, "feature", FeatureNames(output.Features)));
        }
    }

    public List<SchemaRename> Check(List<RenameEntry> renames)
    {
        var result = new List<SchemaRename>(renames.Count);
        for (var i = 0; i < renames.Count; i++)
        {
            var rename = renames[i];
            result.Add(new SchemaRename(rename.From, rename.To, Span(rename)));
            if (rename.Valid)
            {
                Check(rename, i, renames);
            }
        }

        return result;
    }

    private void Check(RenameEntry rename, int index, List<RenameEntry> renames)
    {
        var arrow = $"rename '{rename.From}' -> '{rename.To}'";

        // Where the new name lives: the top level (an input or output) and/or inside inputs and outputs.
        var targetIsTopLevel = false;
        var targetScopes = new List<Scope>();
        var toParts = rename.To.Split('.');
        if (toParts.Length == 2)
        {
            var named = ScopesNamed(toParts[0]);
            if (named.Count == 0)
            {
                _reader.Report(
                    SchemaErrorCodes.RenameTargetNotFound,
                    $"{arrow} points nowhere: this schema has no input or output named '{toParts[0]}'; expected the new name of something declared in this schema",
                    _reader.Loc(rename.ToNode));
            }
            else
            {
                targetScopes.AddRange(named.FindAll(s => s.Members.Contains(toParts[1])));
                if (targetScopes.Count == 0)
                {
                    var scope = named[0];
                    _reader.Report(
                        SchemaErrorCodes.RenameTargetNotFound,
                        $"{arrow} points nowhere: {scope.Describe()} has no {scope.MemberKind} '{toParts[1]}'; expected a {scope.MemberKind} declared in {scope.Describe()}",
                        _reader.Loc(rename.ToNode));
                }
            }
        }
        else
        {
            targetIsTopLevel = ScopesNamed(rename.To).Count > 0;
            targetScopes.AddRange(_scopes.FindAll(s => s.Members.Contains(rename.To)));
            if (!targetIsTopLevel && targetScopes.Count == 0)
            {
                _reader.Report(
                    SchemaErrorCodes.RenameTargetNotFound,
                    $"{arrow} points nowhere: no input, output, feature or categorical value is named '{rename.To}'; expected the new name of something declared in this schema",
                    _reader.Loc(rename.ToNode));
            }
        }

        var conflict = FindSourceConflict(rename.From, targetIsTopLevel, targetScopes);
        if (conflict is not null && !IsTakenOver(rename.From, index, renames))
        {
            _reader.Report(
                SchemaErrorCodes.InvalidValue,
                $"{arrow} renames something that still exists: '{rename.From}' is declared as {conflict}; expected the old name to be gone (or renamed by another rename, as in a swap)",
                _reader.Loc(rename.FromNode));
        }
    }

    /// <summary>Describes where the old name is still declared, in the scope the rename concerns, or null.</summary>
    private string? FindSourceConflict(string from, bool targetIsTopLevel, List<Scope> targetScopes)
    {
        var parts = from.Split('.');
        if (parts.Length == 2)
        {
            foreach (var scope in ScopesNamed(parts[0]))
            {
                if (scope.Members.Contains(parts[1]))
                {
                    return $"a {scope.MemberKind} of {scope.Describe()}";
                }
            }

            return null;
        }

        if (targetIsTopLevel)
        {
            var named = ScopesNamed(from);
            if (named.Count > 0)
            {
                return "an " + named[0].Kind;
            }
        }

        foreach (var scope in targetScopes)
        {
            if (scope.Members.Contains(from))
            {
                return $"a {scope.MemberKind} of {scope.Describe()}";
            }
        }

        return null;
    }

    /// <summary>Whether another rename gives the old name to something else (a swap or a shift).</summary>
    private static bool IsTakenOver(string from, int index, List<RenameEntry> renames)
    {
        for (var i = 0; i < renames.Count; i++)
        {
            if (i != index && renames[i].Valid && SameName(renames[i].To, from))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Equal, or equal once the scope is dropped from the qualified one of the two.</summary>
    private static bool SameName(string a, string b)
    {
        if (string.Equals(a, b, StringComparison.Ordinal))
        {
            return true;
        }

        var aDot = a.IndexOf('.');
        var bDot = b.IndexOf('.');
        if ((aDot < 0) == (bDot < 0))
        {
            return false;
        }

        return string.Equals(a.Substring(aDot + 1), b.Substring(bDot + 1), StringComparison.Ordinal);
    }

    private List<Scope> ScopesNamed(string name) =>
        _scopes.FindAll(s => string.Equals(s.Name, name, StringComparison.Ordinal));

    private SourceLocation Span(RenameEntry rename)
    {
        var source = _reader.Loc(rename.FromNode);
        var to = _reader.Loc(rename.ToNode);
        return source with { EndLine = to.EndLine, EndColumn = to.EndColumn };
    }

    private static IEnumerable<string> FeatureNames(IEnumerable<SchemaFeature> features)
    {
        foreach (var feature in features)
        {
            yield return feature.Name;
        }
    }

    private sealed class Scope
    {
        public Scope(string kind, string name, string memberKind, IEnumerable<string> members)
        {
            Kind = kind;
            Name = name;
            MemberKind = memberKind;
            Members = new HashSet<string>(members, StringComparer.Ordinal);
        }

        /// <summary>"input" or "output".</summary>
        public string Kind { get; }

        public string Name { get; }

        /// <summary>"feature" or "categorical value".</summary>
        public string MemberKind { get; }

        public HashSet<string> Members { get; }

        public string Describe() => $"{Kind} '{Name}'";
    }
}

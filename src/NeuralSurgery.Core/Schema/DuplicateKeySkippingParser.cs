using System;
using System.Collections.Generic;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace NeuralSurgery.Schema;

/// <summary>
/// Wraps YamlDotNet's parser and drops the second and later occurrences of a scalar key in a mapping
/// (the key and its whole value), remembering each one.
/// </summary>
/// <remarks>
/// The representation model throws on the first duplicate key, which would stop the reader after one error.
/// Filtering the events instead lets <see cref="YamlDotNet.RepresentationModel.YamlStream"/> load the rest
/// of the file, so duplicates are reported alongside every other error.
/// </remarks>
internal sealed class DuplicateKeySkippingParser : IParser
{
    /// <summary>
    /// The deepest nesting of mappings and sequences read. A schema needs about four levels; YAML nested thousands
    /// deep is hostile input, refused with a diagnostic at the first collection past the limit.
    /// </summary>
    public const int MaxDepth = 64;

    private readonly IParser _inner;
    private readonly List<Frame> _frames = new();
    private readonly HashSet<string> _anchors = new(StringComparer.Ordinal);

    public DuplicateKeySkippingParser(IParser inner) => _inner = inner;

    /// <summary>The duplicates dropped so far, in file order.</summary>
    public List<DuplicateKey> Duplicates { get; } = new();

    /// <summary>
    /// The first alias whose anchor was not declared before it. YamlDotNet's exception for it carries no
    /// position, so the reader takes the alias's span from here.
    /// </summary>
    public AnchorAlias? UnknownAlias { get; private set; }

    public ParsingEvent? Current => _inner.Current;

    /// <summary>The end of the last event the inner parser produced: where parsing got to.</summary>
    public Mark LastEnd { get; private set; } = Mark.Empty;

    public bool MoveNext()
    {
        if (!Advance())
        {
            return false;
        }

        while (Top is { IsMapping: true, ExpectingKey: true } top && _inner.Current is Scalar key)
        {
            var value = key.Value ?? string.Empty;
            if (!top.Keys.TryGetValue(value, out var first))
            {
                top.Keys.Add(value, key.Start);
                break;
            }

            Duplicates.Add(new DuplicateKey(value, top.Path, first, key.Start, key.End));

            // Drop the key, then its value node, and look at whatever follows (another key or the mapping end).
            if (!Advance() || !SkipNode() || !Advance())
            {
                return false;
            }
        }

        Track(_inner.Current!);
        return true;
    }

    private bool Advance()
    {
        if (!_inner.MoveNext())
        {
            return false;
        }

        LastEnd = _inner.Current!.End;
        return true;
    }

    private Frame? Top => _frames.Count == 0 ? null : _frames[_frames.Count - 1];

    /// <summary>Consumes the node whose first event is current, leaving its last event current.</summary>
    private bool SkipNode()
    {
        var depth = 0;
        do
        {
            switch (_inner.Current)
            {
                case MappingStart or SequenceStart:
                    depth++;
                    break;
                case MappingEnd or SequenceEnd:
                    depth--;
                    break;
            }

            if (depth == 0)
            {
                return true;
            }
        }
        while (Advance());

        return false;
    }

    private void Track(ParsingEvent current)
    {
        if (current is NodeEvent { Anchor.IsEmpty: false } node)
        {
            _anchors.Add(node.Anchor.Value);
        }

        switch (current)
        {
            case Scalar scalar:
                FillSlot(scalar.Value);
                break;
            case AnchorAlias alias:
                if (UnknownAlias is null && !_anchors.Contains(alias.Value.Value))
                {
                    UnknownAlias = alias;
                }

                FillSlot(null);
                break;
            case MappingStart or SequenceStart:
                if (_frames.Count >= MaxDepth)
                {
                    // Before the representation model recurses into it (a stack overflow that would take the
                    // compiler down with the generator) and before paths of quadratic total length are built.
                    throw new YamlException(
                        current.Start,
                        current.End,
                        $"collections nest more than {MaxDepth} levels deep here; a feature schema nests at most a few (inputs, an input, its features, a feature)");
                }

                var path = ChildPath();
                FillSlot(null);
                _frames.Add(new Frame(current is MappingStart, path));
                break;
            case MappingEnd or SequenceEnd:
                if (_frames.Count > 0)
                {
                    _frames.RemoveAt(_frames.Count - 1);
                }

                break;
        }
    }

    /// <summary>A node took the next slot of the enclosing collection: a key or a value in a mapping.</summary>
    private void FillSlot(string? scalarKey)
    {
        if (Top is { IsMapping: true } top)
        {
            if (top.ExpectingKey)
            {
                top.CurrentKey = scalarKey;
            }

            top.ExpectingKey = !top.ExpectingKey;
        }
    }

    private string[] ChildPath()
    {
        var top = Top;
        if (top is null)
        {
            return Array.Empty<string>();
        }

        var segment = !top.IsMapping ? "[]" : top.ExpectingKey ? "?" : top.CurrentKey ?? "?";
        var path = new string[top.Path.Length + 1];
        Array.Copy(top.Path, path, top.Path.Length);
        path[top.Path.Length] = segment;
        return path;
    }

    private sealed class Frame
    {
        public Frame(bool isMapping, string[] path)
        {
            IsMapping = isMapping;
            Path = path;
        }

        public bool IsMapping { get; }

        /// <summary>Keys leading here from the root; "[]" for a sequence item, "?" for an unnamed slot.</summary>
        public string[] Path { get; }

        public bool ExpectingKey { get; set; } = true;

        public string? CurrentKey { get; set; }

        public Dictionary<string, Mark> Keys { get; } = new(StringComparer.Ordinal);
    }
}

/// <summary>A duplicate mapping key dropped by <see cref="DuplicateKeySkippingParser"/>.</summary>
internal sealed record DuplicateKey(string Key, string[] MappingPath, Mark First, Mark Start, Mark End);
